# The static part of the ufunc modules fastact/_ufuncs_<level>.pyx.  The
# generated module (fastact/_codegen.py) sets its directives, docstring and
# SIMD_LEVEL, includes this file, then declares the kernels and writes the
# loops and the ufuncs of every function.
#
# Here: the declarations of the C runtime (src/fa_runtime.h: threads, the
# floating-point flags, streaming stores, the ml_dtypes loops; src/fa_ufunc.h:
# the type resolver; src/fa_half.h: float16 conversions), the module's
# Python-level controls (threads, back-off, streaming threshold, and hooks for
# the tests), and _make_ufunc, which the generated code calls once a ufunc.
# Plain Cython, compiled once per SIMD level.

cimport numpy as cnp
from numpy cimport npy_intp, npy_uint16

cnp.import_array()
cnp.import_ufunc()

cdef extern from "fa_runtime.h":
    int fa_openmp_enabled() noexcept nogil
    int fa_omp_max_threads() noexcept nogil
    int fa_get_tl_threads() noexcept nogil
    void fa_set_tl_threads(int) noexcept nogil
    int fa_get_requested() noexcept nogil
    void fa_set_requested(int) noexcept nogil
    int fa_get_serial_only() noexcept nogil
    void fa_set_serial_only() noexcept nogil
    void fa_fe_clear() noexcept nogil
    int fa_fe_test() noexcept nogil
    void fa_fe_raise(int) noexcept nogil
    long long fa_fp_control() noexcept nogil
    int fa_fe_audit(int, char **, const npy_intp *, npy_intp, npy_intp, int, const char *) noexcept nogil
    int fa_nt_worth(npy_intp, const char *) noexcept nogil
    npy_intp fa_nt_head(const char *, npy_intp) noexcept nogil
    void fa_nt_store(char *, const char *, npy_intp) noexcept nogil
    void fa_nt_fence() noexcept nogil
    int fa_nt_available() noexcept nogil
    npy_intp fa_get_nt_min_bytes() noexcept nogil
    void fa_set_nt_min_bytes(npy_intp) noexcept nogil
    ctypedef void (*fa_span_fn)(char **, const npy_intp *, npy_intp, npy_intp,
                                int, void *) noexcept nogil
    void fa_drive(fa_span_fn, char **, const npy_intp *, npy_intp, int, int, int,
                  const char *, void *) noexcept nogil
    int fa_threads_for(npy_intp, npy_intp) noexcept nogil
    unsigned int fa_ext_encode(float, int) noexcept nogil
    float fa_ext_decode(unsigned int, int) noexcept nogil
    int fa_ext_register(object, int, int, cnp.PyUFuncGenericFunction, int, unsigned,
                        npy_intp) except -1
    int fa_par_allowed() noexcept nogil
    void fa_par_report(long long, long long, int, long long, long long) noexcept nogil
    long long fa_par_used, fa_par_adaptive, fa_par_regions, fa_par_late
    long long fa_par_skipped, fa_par_chunks, fa_par_worker_chunks
    long long fa_par_until_ns, fa_par_backoff_ns, fa_par_probe
    long long fa_now_ns() noexcept nogil

cdef extern from "fa_ufunc.h":
    void fa_set_type_resolver(object)

cdef extern from "fa_half.h":
    double fa_h2d(npy_uint16) noexcept nogil
    npy_uint16 fa_d2h(double) noexcept nogil
    float fa_half_to_float(npy_uint16) noexcept nogil
    npy_uint16 fa_float_to_half(float) noexcept nogil
    void fa_halves_to_floats(const npy_uint16 *, float *, long) noexcept nogil
    void fa_floats_to_halves(const float *, npy_uint16 *, long) noexcept nogil

# ---- threads ----------------------------------------------------------------
# fa_threads_for (src/fa_runtime.h) decides each call's thread count from the
# per-block count, set_num_threads() (fa_get_requested: 0 follows OpenMP,
# OMP_NUM_THREADS and threadpoolctl), the serial-after-fork flag (libgomp's
# pool does not survive fork(), GCC bugs 58378, 60035) and the back-off; all
# of it lives in C, read and written atomically.


def _set_requested(int n):
    fa_set_requested(n)


def _get_requested():
    return fa_get_requested()


def _set_local(int n):
    """Per-thread count (0: none), for the threads() context manager."""
    fa_set_tl_threads(n)


def _get_local():
    return fa_get_tl_threads()


def _omp_max_threads():
    return fa_omp_max_threads()


def openmp_enabled():
    """True when this build runs its loops with OpenMP."""
    return bool(fa_openmp_enabled())


def _parallel_was_used():
    return bool(fa_par_used)


def _parallel_stats():
    """What the parallel driver did in this process (fa_drive in
    src/fa_runtime.h): regions run, regions whose workers came late, calls run
    serially while backing off, chunks in all and chunks the workers took."""
    return dict(regions=fa_par_regions, late=fa_par_late, skipped=fa_par_skipped,
                chunks=fa_par_chunks, worker_chunks=fa_par_worker_chunks,
                backoff_ns=fa_par_backoff_ns)


def _backoff_remaining():
    """Seconds left of the back-off in force (0.0 when calls may run in
    parallel)."""
    cdef long long until = fa_par_until_ns
    if until == 0:
        return 0.0
    return max(0.0, (until - fa_now_ns()) * 1e-9)


def _set_adaptive(bint on):
    """Back off after contended calls (the default), or never (tests that need
    the workers to run); returns the previous setting."""
    global fa_par_adaptive, fa_par_until_ns, fa_par_backoff_ns, fa_par_probe
    old = bool(fa_par_adaptive)
    fa_par_adaptive = on
    fa_par_until_ns = 0
    fa_par_backoff_ns = 0
    fa_par_probe = 0
    return old


def _par_report(long long worker_chunks, long long nchunks, int nt,
                long long wait_ns=0, long long total_ns=0):
    """Report a parallel call as the driver does (for the tests of the
    back-off: how many of nchunks chunks the workers took, how long the
    calling thread waited for them after its last chunk, of the whole call)."""
    fa_par_report(worker_chunks, nchunks, nt, wait_ns, total_ns)


def _par_allowed():
    """Whether a call would run in parallel now, as the driver asks it."""
    return bool(fa_par_allowed())


def _after_fork_in_child(bint parent_had_threads):
    if fa_par_used or parent_had_threads:
        fa_set_serial_only()


def _serial_after_fork():
    return bool(fa_get_serial_only())


def _stream_threshold():
    """Bytes a call must read and write before its loops use streaming stores
    (0 when this platform has none in the loops)."""
    return fa_get_nt_min_bytes() if fa_nt_available() else 0


def _set_stream_threshold(npy_intp nbytes):
    """Set that threshold (the tests send small arrays down the streaming path)."""
    if nbytes < 0:
        raise ValueError("the streaming threshold is a number of bytes >= 0")
    fa_set_nt_min_bytes(nbytes)


def _ext_codec(x, int fmt):
    """x (float32) rounded to format fmt of src/fa_ext.h, as codes (uint32),
    and those codes widened back to float32: the conversions of the ml_dtypes
    loops, for the tests."""
    import numpy as np
    cdef cnp.ndarray xs = np.ascontiguousarray(x, dtype=np.float32)
    cdef cnp.ndarray codes = np.empty(xs.shape[0], dtype=np.uint32)
    cdef cnp.ndarray back = np.empty(xs.shape[0], dtype=np.float32)
    cdef float *px = <float *>cnp.PyArray_DATA(xs)
    cdef unsigned int *pc = <unsigned int *>cnp.PyArray_DATA(codes)
    cdef float *pb = <float *>cnp.PyArray_DATA(back)
    cdef npy_intp i
    if fmt < 0 or fmt > 2:
        raise ValueError("format 0, 1 or 2")
    for i in range(xs.shape[0]):
        pc[i] = fa_ext_encode(px[i], fmt)
        pb[i] = fa_ext_decode(pc[i], fmt)
    return codes, back


def _fp_control():
    """MXCSR (x86-64) or FPCR (aarch64) of the calling thread; -1 elsewhere."""
    return fa_fp_control()


# ---- ufunc construction -------------------------------------------------------
from fastact import _docstrings

# NumPy keeps the name and doc pointers: the bytes must live as long as the module
_KEEP = []


cdef object _make_ufunc(cnp.PyUFuncGenericFunction *funcs, void **data,
                        char *types, int nin, str name, str key):
    cdef bytes bname = name.encode()
    cdef bytes bdoc = _docstrings.ufunc_doc(key).encode()
    _KEEP.append(bname)
    _KEEP.append(bdoc)
    uf = cnp.PyUFunc_FromFuncAndData(funcs, data, types, 3, nin, 1,
                                     cnp.PyUFunc_None, bname, bdoc, 0)
    fa_set_type_resolver(uf)
    return uf
