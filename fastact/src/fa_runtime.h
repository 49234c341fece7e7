/*
 * fa_runtime.h -- what the generated ufunc modules need from C besides the
 * kernels (declared in fastact/_ufuncs_runtime.pxi):
 *  - OpenMP queries that also compile without OpenMP, and the thread counts:
 *    per Python thread (thread-local), process-wide and serial after fork
 *    (read and written atomically);
 *  - the floating-point flags a run leaves, audited against the data and
 *    handed over from the worker threads (fa_fe_audit);
 *  - streaming stores for outputs larger than the caches (fa_nt_*);
 *  - the driver every loop runs through (fa_drive), which splits a call over
 *    threads and backs off when its workers are kept waiting, and the thread
 *    count of a call (fa_threads_for);
 *  - the loops registered for ml_dtypes' types (fa_ext_register, over
 *    fa_ext.h);
 *  - the floating-point control register, read for the tests (fa_fp_control).
 */
#ifndef FA_RUNTIME_H
#define FA_RUNTIME_H
#include <Python.h>
#include <fenv.h>
#include <math.h>
#include <string.h>
#include <stdint.h>
#include <numpy/npy_common.h>
#include "fa_port.h"
#ifdef _OPENMP
#include <omp.h>
#endif

static int fa_openmp_enabled(void) {
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

/* The count set by `with fastact.threads(n):` is per Python thread (each
 * block sees its own), on top of the process-wide set_num_threads(). */
static FA_THREAD_LOCAL int fa_tl_threads = 0;
static inline int fa_get_tl_threads(void) { return fa_tl_threads; }
static inline void fa_set_tl_threads(int n) { fa_tl_threads = n; }

static int fa_omp_max_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* Relaxed atomic loads and stores of the shared counters below: several
 * Python threads may call at once, and each value stands alone (a lost
 * update only shifts a heuristic), so no ordering is needed. */
#if defined(__GNUC__) || defined(__clang__)
#define FA_LOAD(v) __atomic_load_n(&(v), __ATOMIC_RELAXED)
#define FA_STORE(v, x) __atomic_store_n(&(v), (x), __ATOMIC_RELAXED)
#define FA_ADD(v, x) ((void)__atomic_fetch_add(&(v), (x), __ATOMIC_RELAXED))
#else  /* MSVC: aligned 64-bit loads and stores are single instructions */
#define FA_LOAD(v) (*(volatile long long *)&(v))
#define FA_STORE(v, x) (*(volatile long long *)&(v) = (x))
#define FA_ADD(v, x) (*(volatile long long *)&(v) += (x))
#endif

/* The count set by set_num_threads() (0: follow OpenMP) and the flag of a
 * child forked after a parallel region (run serially): written by one Python
 * thread and read by the loops of every other, which free-threaded Python
 * runs at once, so each access is atomic. */
static long long fa_requested = 0, fa_serial_only = 0;
static inline int fa_get_requested(void) { return (int)FA_LOAD(fa_requested); }
static inline void fa_set_requested(int n) { FA_STORE(fa_requested, (long long)n); }
static inline int fa_get_serial_only(void) { return (int)FA_LOAD(fa_serial_only); }
static inline void fa_set_serial_only(void) { FA_STORE(fa_serial_only, 1LL); }

/* Floating-point flags, by design rather than by accident.
 *
 * The kernels are compiled with -fno-trapping-math so that GCC vectorizes
 * their selects, and under that flag the compiler may legally evaluate an
 * operation on lanes whose result is discarded (and it does: it can fold a
 * clamp away inside the arm that only sees in-range values, then hoist the
 * arm).  The overflow/invalid/divide flags a loop leaves are therefore not
 * trustworthy.  What NumPy's errstate should see is decided from the data
 * instead: when a run leaves any of those flags, they are cleared and
 * replaced by the genuine ones -- overflow where an output is infinite while
 * every input is finite, invalid where an output is NaN while no input is.
 * Runs that raise nothing (the common case) cost two status reads.
 *
 * Worker threads have their own status: each audits its own chunk and the
 * calling thread raises the union, so errstate sees what a serial run would.
 */
#define FA_FE_FLAGS (FE_DIVBYZERO | FE_INVALID | FE_OVERFLOW | FE_UNDERFLOW)
#define FA_FE_AUDITED (FE_DIVBYZERO | FE_INVALID | FE_OVERFLOW)
#if FA_HAVE_MXCSR && FE_INVALID == 0x01 && FE_DIVBYZERO == 0x04 && FE_OVERFLOW == 0x08 \
    && FE_UNDERFLOW == 0x10
/* x86-64: the kernels use SSE/AVX only, whose status lives in MXCSR, with the
 * same bit values as glibc's FE_* macros; reading and writing MXCSR directly
 * costs a few cycles where fe*except() also save and reload the x87 state. */
static inline void fa_fe_clear(void) {
    FA_SET_MXCSR(FA_MXCSR() & ~(unsigned)FA_FE_FLAGS);
}
static inline int fa_fe_test(void) {
    return (int)(FA_MXCSR() & FA_FE_FLAGS);
}
static inline void fa_fe_raise(int flags) {
    if (flags)
        FA_SET_MXCSR(FA_MXCSR() | (unsigned)flags);
}
#else
static inline void fa_fe_clear(void) { feclearexcept(FA_FE_FLAGS); }
static inline int fa_fe_test(void) { return fetestexcept(FA_FE_FLAGS); }
static inline void fa_fe_raise(int flags) { if (flags) feraiseexcept(flags); }
#endif

#include "fa_half.h"
#include "fa_ext.h"

/* the format of a type char: float16 'e', or ml_dtypes' 'b' (bfloat16),
 * '4' (float8_e4m3fn), '5' (float8_e5m2); -1 for float32/float64 */
static inline int fa_ext_fmt(char t) {
    return t == 'b' ? FA_BF16 : t == '4' ? FA_E4M3FN : t == '5' ? FA_E5M2 : -1;
}

static inline double fa_load_as_double(const char *p, char t) {
    if (t == 'd') { double v; memcpy(&v, p, 8); return v; }
    if (t == 'f') { float v; memcpy(&v, p, 4); return (double)v; }
    if (fa_ext_fmt(t) >= 0)
        return (double)fa_ext_decode(fa_ext_load(p, fa_ext_fmt(t)), fa_ext_fmt(t));
    { uint16_t v; memcpy(&v, p, 2); return fa_h2d(v); }
}

/* The flags a run over n elements should raise, given the flags it left.
 * elements [lo, lo + n) of the ufunc arguments; sig: one type char per
 * input then the output ('e', 'f' or 'd'). */
static int fa_fe_audit(int left, char **args, const npy_intp *steps,
                       npy_intp lo, npy_intp n, int nin, const char *sig)
{
    npy_intp i;
    int k, genuine = 0;
    if (sig[nin] == 'e' && !(left & FE_OVERFLOW)) {
        /* float16 results are rounded in software, which raises no flag:
         * look for an infinite result directly (a cheap pass over the bits) */
        const char *o = args[nin];
        if (steps[nin] == 2) {
            /* a loop the compiler vectorizes: no early exit */
            const uint16_t *v = (const uint16_t *)(const void *)(o + lo * 2);
            unsigned inf = 0;
            for (i = 0; i < n; i++)
                inf |= (v[i] & 0x7fffu) == 0x7c00u;
            if (inf)
                left |= FE_OVERFLOW;
        } else {
            for (i = lo; i < lo + n; i++) {
                uint16_t v;
                memcpy(&v, o + i * steps[nin], 2);
                if ((v & 0x7fffu) == 0x7c00u) {
                    left |= FE_OVERFLOW;
                    break;
                }
            }
        }
    }
    if (fa_ext_fmt(sig[nin]) >= 0 && !(left & FE_OVERFLOW)) {
        /* so are ml_dtypes' formats; e4m3fn overflows to NaN, not inf */
        for (i = lo; i < lo + n; i++) {
            double y = fa_load_as_double(args[nin] + i * steps[nin], sig[nin]);
            if (isinf(y) || (sig[nin] == '4' && isnan(y))) {
                left |= FE_OVERFLOW;
                break;
            }
        }
    }
    if (!(left & FA_FE_AUDITED))
        return left;
    for (i = lo; i < lo + n && genuine != (FE_OVERFLOW | FE_INVALID); i++) {
        int finite = 1, nan_in = 0;
        double y = fa_load_as_double(args[nin] + i * steps[nin], sig[nin]);
        if (!isinf(y) && !isnan(y))
            continue;
        for (k = 0; k < nin; k++) {
            double v = fa_load_as_double(args[k] + i * steps[k], sig[k]);
            finite &= isfinite(v) != 0;
            nan_in |= isnan(v) != 0;
        }
        if (isinf(y) && finite)
            genuine |= FE_OVERFLOW;
        if (isnan(y) && !nan_in && sig[nin] == '4' && finite)
            genuine |= FE_OVERFLOW;          /* e4m3fn's overflow is its NaN */
        else if (isnan(y) && !nan_in)
            genuine |= FE_INVALID;
    }
    return (left & ~FA_FE_AUDITED) | genuine;
}

/* Streaming stores for outputs larger than the caches.
 *
 * An ordinary store first reads the output's cache line from memory (the
 * "read for ownership"), so a kernel over arrays far larger than the last
 * level cache moves one line more per output line than it needs.  Above
 * fa_nt_min_bytes (bytes read plus written by the call), the loops compute a
 * block into a buffer on the stack (it stays in L1) and write it out with
 * non-temporal stores, which skip that read; below it the output is better
 * left in the cache for whatever reads it next.  Measured on a 2-core Zen 3
 * (both threads, n = 1e7): 1.1-1.3x for the memory-bound loops, and a loss of
 * up to 2x when everything fits in the 32 MiB L3 (hence the threshold).
 * SSE2's 16-byte stores are all x86-64 has everywhere, and the write-combining
 * buffers merge them into full lines; elsewhere the loops store as usual. */
#if defined(__x86_64__) && defined(__SSE2__)
#include <emmintrin.h>
#define FA_HAVE_NT 1
#else
#define FA_HAVE_NT 0
#endif

static long long fa_nt_min_bytes = 32LL << 20;

static inline int fa_nt_available(void) { return FA_HAVE_NT; }

/* Whether the page holding p is in memory.  A fresh output (out=None: NumPy
 * has just mapped it) is not, and there the streaming stores lose: the first
 * touch of each page makes the kernel zero it through the cache, so ordinary
 * stores find their lines there already (measured 0.8-1.0x with streaming).
 * Where this cannot be asked, the page is taken as resident. */
#if FA_HAVE_NT && (defined(__linux__) || defined(__APPLE__))
#include <sys/mman.h>
#include <unistd.h>
static int fa_page_resident(const char *p) {
    static long page = 0;
    if (page <= 0)
        page = sysconf(_SC_PAGESIZE);
    if (page <= 0)
        return 1;
    uintptr_t a = (uintptr_t)p & ~(uintptr_t)(page - 1);
#if defined(__APPLE__)
    char v = 0;
#else
    unsigned char v = 0;
#endif
    if (mincore((void *)a, (size_t)page, &v) != 0)
        return 1;
    return v & 1;
}
#else
static int fa_page_resident(const char *p) { (void)p; return 1; }
#endif

/* whether a call moving this many bytes, writing out[mid] at p_mid (an
 * element half way through the output), should use streaming stores */
static inline int fa_nt_worth(npy_intp bytes, const char *p_mid) {
    return FA_HAVE_NT && bytes >= FA_LOAD(fa_nt_min_bytes) && fa_page_resident(p_mid);
}

/* elements to store the ordinary way before p is 16-byte aligned; -1 when no
 * whole number of elements gets there (an output not aligned to its itemsize) */
static inline npy_intp fa_nt_head(const char *p, npy_intp itemsize) {
    npy_intp mis = (npy_intp)((uintptr_t)p & 15u);
    if (mis == 0)
        return 0;
    if ((16 - mis) % itemsize)
        return -1;
    return (16 - mis) / itemsize;
}

/* copy bytes from src (any alignment) to a 16-byte aligned dst, bypassing the
 * caches; a tail of fewer than 16 bytes is stored the ordinary way */
static inline void fa_nt_store(char *dst, const char *src, npy_intp bytes) {
#if FA_HAVE_NT
    npy_intp i = 0;
    for (; i + 64 <= bytes; i += 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(src + i + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(src + i + 32));
        __m128i d = _mm_loadu_si128((const __m128i *)(src + i + 48));
        _mm_stream_si128((__m128i *)(dst + i), a);
        _mm_stream_si128((__m128i *)(dst + i + 16), b);
        _mm_stream_si128((__m128i *)(dst + i + 32), c);
        _mm_stream_si128((__m128i *)(dst + i + 48), d);
    }
    for (; i + 16 <= bytes; i += 16)
        _mm_stream_si128((__m128i *)(dst + i),
                         _mm_loadu_si128((const __m128i *)(src + i)));
    if (i < bytes)
        memcpy(dst + i, src + i, (size_t)(bytes - i));
#else
    memcpy(dst, src, (size_t)bytes);
#endif
}

/* streaming stores are weakly ordered: fence them before another thread (or
 * NumPy, after the parallel region) reads the output */
static inline void fa_nt_fence(void) {
#if FA_HAVE_NT
    _mm_sfence();
#endif
}

static inline npy_intp fa_get_nt_min_bytes(void) {
    return (npy_intp)FA_LOAD(fa_nt_min_bytes);
}
static inline void fa_set_nt_min_bytes(npy_intp b) { FA_STORE(fa_nt_min_bytes, (long long)b); }

/* Running a loop on several threads without waiting on them.
 *
 * A parallel call is cut into about FA_CHUNKS_PER_THREAD chunks a thread,
 * handed out one at a time (OpenMP's dynamic schedule): the calling thread
 * starts on the first chunk at once and keeps taking chunks until none are
 * left, so a worker that is not running yet -- its core busy with another
 * library's threads (OpenBLAS after a matmul, PyTorch's pool), another
 * process, or a busy Python thread -- costs the call only its arrival at
 * the closing barrier, never its share of the work.
 *
 * That arrival can still take a scheduler tick (milliseconds), and a worker
 * woken while the other cores are busy is often put on the caller's own
 * core, where it preempts the caller.  Each call therefore counts the chunks
 * the calling thread and its workers took, and times how long the calling
 * thread waited at the end for a worker to finish its last chunk (a worker
 * preempted in the middle of one holds the call up for a time slice): when
 * either side took less than half its fair share, or that wait was over a
 * quarter of the call and over 0.2 ms (a time slice, not a passing
 * interrupt), the threads did not run side by side, and the calls that
 * follow run on the calling thread alone for a while (1 ms after the
 * first such call, doubling up to FA_BACKOFF_MAX_NS while they keep coming,
 * halving again with every call whose threads kept pace), then try again.
 * The first parallel call after a back-off is a probe whose lateness does not
 * count: its workers have slept through the serial calls and wake late on
 * any machine, so judged like the others a tight loop of calls, once backed
 * off, would stay serial for good.  The call after it finds them awake.  On
 * a quiet machine the shares stay near even and nothing backs off.  The
 * result does not depend on any of this: every element is computed by the
 * same kernel whichever thread takes its chunk.
 *
 * What the workers do between calls is libgomp's wait policy, which
 * fastact/_ufuncs.py sets to a short spin (GOMP_SPINCOUNT) when it is the
 * first to load the runtime, so that fastact's idle workers give their cores
 * back to the rest of the process after tens of microseconds instead of
 * milliseconds. */
#define FA_CHUNKS_PER_THREAD 8
#define FA_CHUNK_ALIGN 64          /* elements: chunks start on 64-byte lines */
#define FA_BACKOFF_MIN_NS 1000000LL
#define FA_BACKOFF_MAX_NS 256000000LL
#define FA_WAIT_MIN_NS 200000LL

/* process-wide state; counters are statistics for tests and `fastact info` */
static long long fa_par_until_ns = 0;     /* run serially until this time */
static long long fa_par_backoff_ns = 0;   /* the back-off in force or last used */
static long long fa_par_adaptive = 1;     /* 0: never back off (tests) */
static long long fa_par_probe = 0;        /* the next report is a probe's */
static long long fa_par_used = 0;         /* a parallel region ran (fork safety) */
static long long fa_par_regions = 0, fa_par_late = 0, fa_par_skipped = 0;
static long long fa_par_chunks = 0, fa_par_worker_chunks = 0;

static inline long long fa_now_ns(void) {
#ifdef _OPENMP
    return (long long)(omp_get_wtime() * 1e9);
#else
    return 0;
#endif
}

/* whether a call that may use nt > 1 threads should; a backed-off call
 * costs one clock read, any other none */
static inline int fa_par_allowed(void) {
    long long until = FA_LOAD(fa_par_until_ns);
    if (until == 0 || !FA_LOAD(fa_par_adaptive))
        return 1;
    if (fa_now_ns() < until) {
        FA_ADD(fa_par_skipped, 1);
        return 0;
    }
    /* the back-off is over: this call wakes the workers */
    FA_STORE(fa_par_until_ns, 0);
    FA_STORE(fa_par_probe, 1);
    return 1;
}

static void fa_par_report(long long worker_chunks, long long nchunks, int nt,
                          long long wait_ns, long long total_ns) {
    long long mine = nchunks - worker_chunks;
    int late = mine * 2 * nt < nchunks || worker_chunks * 2 * nt < nchunks * (nt - 1)
        || (wait_ns > FA_WAIT_MIN_NS && wait_ns * 4 > total_ns);
    FA_ADD(fa_par_regions, 1);
    FA_ADD(fa_par_chunks, nchunks);
    FA_ADD(fa_par_worker_chunks, worker_chunks);
    long long b = FA_LOAD(fa_par_backoff_ns);
    if (!late) {
        FA_STORE(fa_par_probe, 0);
        /* the threads ran side by side: parallel again from now on, and the
         * next back-off shorter (halved: one lucky call in a busy spell does
         * not reset it) */
        if (b) {
            FA_STORE(fa_par_until_ns, 0);
            FA_STORE(fa_par_backoff_ns, b / 2 >= FA_BACKOFF_MIN_NS ? b / 2 : 0);
        }
        return;
    }
    FA_ADD(fa_par_late, 1);
    if (!FA_LOAD(fa_par_adaptive))
        return;
    if (FA_LOAD(fa_par_probe)) {
        FA_STORE(fa_par_probe, 0);      /* the workers were asleep: next call */
        return;
    }
    b = b ? 2 * b : FA_BACKOFF_MIN_NS;
    if (b > FA_BACKOFF_MAX_NS)
        b = FA_BACKOFF_MAX_NS;
    FA_STORE(fa_par_backoff_ns, b);
    FA_STORE(fa_par_until_ns, fa_now_ns() + b);
}

/* one ufunc's elements [lo, lo + cnt): the generated _span_ functions */
typedef void (*fa_span_fn)(char **args, const npy_intp *steps, npy_intp lo,
                           npy_intp cnt, int stream, void *data);

/* The body of every generated ufunc loop: run f over n elements on nt
 * threads (serially when nt <= 1) and leave NumPy the floating-point flags a
 * serial run would (see fa_fe_audit). */
static void fa_drive(fa_span_fn f, char **args, const npy_intp *steps,
                     npy_intp n, int nt, int stream, int nin, const char *sig,
                     void *data)
{
    int before = fa_fe_test(), flags = 0;
#ifndef _OPENMP
    nt = 1;      /* a serial build: a count from threads(n) runs here too */
#endif
    fa_fe_clear();
    if (nt <= 1) {
        f(args, steps, 0, n, stream, data);
        flags = fa_fe_audit(fa_fe_test(), args, steps, 0, n, nin, sig);
        fa_fe_clear();
        fa_fe_raise(before | flags);
        return;
    }
#ifdef _OPENMP
    {
        npy_intp per, nchunks = (npy_intp)nt * FA_CHUNKS_PER_THREAD;
        long long wchunks = 0, start = fa_now_ns(), done = 0, end;
        per = ((n + nchunks - 1) / nchunks + FA_CHUNK_ALIGN - 1)
              / FA_CHUNK_ALIGN * FA_CHUNK_ALIGN;
        nchunks = (n + per - 1) / per;
        FA_STORE(fa_par_used, 1);
        #pragma omp parallel num_threads(nt) reduction(|:flags) reduction(+:wchunks)
        {
            npy_intp b;
            #pragma omp for schedule(dynamic, 1) nowait
            for (b = 0; b < nchunks; b++) {
                npy_intp lo = b * per, cnt = n - lo < per ? n - lo : per;
                fa_fe_clear();
                f(args, steps, lo, cnt, stream, data);
                flags |= fa_fe_audit(fa_fe_test(), args, steps, lo, cnt, nin, sig);
                fa_fe_clear();
                wchunks += omp_get_thread_num() != 0;
            }
            if (omp_get_thread_num() == 0)
                done = fa_now_ns();     /* no chunk left: now it waits */
        }
        end = fa_now_ns();
        fa_par_report(wchunks, (long long)nchunks, nt, end - done, end - start);
    }
#endif
    fa_fe_raise(before | flags);
}

/* How many threads a call over n elements uses: one below the loop's
 * threshold, in a child forked after a parallel region, or while backing off;
 * else the count of `with fastact.threads(n)`, set_num_threads(), or OpenMP's. */
static inline int fa_threads_for(npy_intp n, npy_intp threshold) {
    int nt;
    if (n < threshold || fa_get_serial_only())
        return 1;
    nt = fa_get_tl_threads();
    if (nt <= 0) {
        nt = fa_get_requested();
        if (nt <= 0)
            nt = fa_omp_max_threads();
    }
    if (nt > 1 && !fa_par_allowed())
        return 1;
    return nt;
}

/* The NumPy loop registered for an ml_dtypes type (fa_ext.h) */
static void fa_ext_loop(char **args, const npy_intp *dims, const npy_intp *steps,
                        void *data)
{
    fa_ext_data *d = (fa_ext_data *)data;
    fa_drive(fa_ext_span, args, steps, dims[0], fa_threads_for(dims[0], d->threshold),
             0, d->nin, d->sig, data);
}

/* Register fa_ext_loop on ufunc for the user type typenum in format fmt,
 * computed by f32 (the ufunc's float32 loop); inputs whose bit is set in
 * param_mask are float64 parameters.  -1 with an exception set on failure. */
static int fa_ext_register(PyObject *ufunc, int typenum, int fmt,
                           PyUFuncGenericFunction f32, int nin, unsigned param_mask,
                           npy_intp threshold)
{
    int types[FA_EXT_MAXARGS + 1], k;
    fa_ext_data *d;
    if (nin + 1 > FA_EXT_MAXARGS || fmt < 0 || fmt >= FA_NFMT) {
        PyErr_SetString(PyExc_ValueError, "fastact: cannot register this loop");
        return -1;
    }
    d = (fa_ext_data *)calloc(1, sizeof(fa_ext_data));  /* lives as long as the ufunc */
    if (d == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    d->f32 = f32;
    d->nin = nin;
    d->fmt = fmt;
    d->param_mask = param_mask;
    d->threshold = threshold;
    for (k = 0; k < nin; k++) {
        int param = (param_mask >> k) & 1;
        types[k] = param ? NPY_DOUBLE : typenum;
        d->sig[k] = param ? 'd' : fa_fmt_sig[fmt];
    }
    types[nin] = typenum;
    d->sig[nin] = fa_fmt_sig[fmt];
    if (PyUFunc_RegisterLoopForType((PyUFuncObject *)ufunc, typenum, fa_ext_loop,
                                    types, d) < 0) {
        free(d);
        return -1;
    }
    return 0;
}

/* The floating-point control register (MXCSR on x86-64, FPCR on aarch64), for
 * the test that fastact never turns on flush-to-zero / denormals-are-zero;
 * -1 where it cannot be read. */
static long long fa_fp_control(void) {
#if FA_HAVE_MXCSR
    return (long long)FA_MXCSR();
#elif FA_HAVE_FPCR
    return (long long)FA_FPCR();
#else
    return -1;
#endif
}

#endif
