/*
 * fa_runtime.h -- what the Cython loops need from C: OpenMP queries that also
 * compile without OpenMP, floating-point flag hand-over from worker threads,
 * and the ufunc type resolver that names the function and the dtype.
 */
#ifndef FA_RUNTIME_H
#define FA_RUNTIME_H
#include <Python.h>
#include <fenv.h>
#include <math.h>
#include <string.h>
#include <stdint.h>
#include <numpy/npy_common.h>
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
#if defined(_MSC_VER)
static __declspec(thread) int fa_tl_threads = 0;
#else
static _Thread_local int fa_tl_threads = 0;
#endif
static inline int fa_get_tl_threads(void) { return fa_tl_threads; }
static inline void fa_set_tl_threads(int n) { fa_tl_threads = n; }

static int fa_omp_max_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

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
#if defined(__x86_64__) && defined(__SSE2__) && (defined(__GNUC__) || defined(__clang__)) \
    && FE_INVALID == 0x01 && FE_DIVBYZERO == 0x04 && FE_OVERFLOW == 0x08 \
    && FE_UNDERFLOW == 0x10
/* x86-64: the kernels use SSE/AVX only, whose status lives in MXCSR, with the
 * same bit values as glibc's FE_* macros; reading and writing MXCSR directly
 * costs a few cycles where fe*except() also save and reload the x87 state. */
static inline void fa_fe_clear(void) {
    __builtin_ia32_ldmxcsr(__builtin_ia32_stmxcsr() & ~(unsigned)FA_FE_FLAGS);
}
static inline int fa_fe_test(void) {
    return (int)(__builtin_ia32_stmxcsr() & FA_FE_FLAGS);
}
static inline void fa_fe_raise(int flags) {
    if (flags)
        __builtin_ia32_ldmxcsr(__builtin_ia32_stmxcsr() | (unsigned)flags);
}
#else
static inline void fa_fe_clear(void) { feclearexcept(FA_FE_FLAGS); }
static inline int fa_fe_test(void) { return fetestexcept(FA_FE_FLAGS); }
static inline void fa_fe_raise(int flags) { if (flags) feraiseexcept(flags); }
#endif

#include "fa_half.h"

static inline double fa_load_as_double(const char *p, char t) {
    if (t == 'd') { double v; memcpy(&v, p, 8); return v; }
    if (t == 'f') { float v; memcpy(&v, p, 4); return (double)v; }
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
        for (i = lo; i < lo + n; i++) {
            uint16_t v;
            memcpy(&v, o + i * steps[nin], 2);
            if ((v & 0x7c00u) == 0x7c00u && !(v & 0x03ffu)) {
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
        if (isnan(y) && !nan_in)
            genuine |= FE_INVALID;
    }
    return (left & ~FA_FE_AUDITED) | genuine;
}

/* The floating-point control register (MXCSR on x86-64, FPCR on aarch64), for
 * the test that fastact never turns on flush-to-zero / denormals-are-zero;
 * -1 where it cannot be read. */
static long long fa_fp_control(void) {
#if defined(__x86_64__) || defined(__i386__)
    return (long long)__builtin_ia32_stmxcsr();
#elif defined(__aarch64__)
    unsigned long long fpcr;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
    return (long long)fpcr;
#else
    return -1;
#endif
}

#endif
