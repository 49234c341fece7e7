/*
 * fa_runtime.h -- what the Cython loops need from C: OpenMP queries that also
 * compile without OpenMP, floating-point flag hand-over from worker threads,
 * and the ufunc type resolver that names the function and the dtype.
 */
#ifndef FA_RUNTIME_H
#define FA_RUNTIME_H
#include <Python.h>
#include <fenv.h>
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

static int fa_omp_max_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* Worker threads have their own floating-point status: each clears it before
 * its chunk and reports it after, and the calling thread raises the union so
 * NumPy's errstate sees exactly what the serial path would have raised. */
#define FA_FE_FLAGS (FE_DIVBYZERO | FE_INVALID | FE_OVERFLOW | FE_UNDERFLOW)
static inline void fa_fe_clear(void) { feclearexcept(FA_FE_FLAGS); }
static inline int fa_fe_test(void) { return fetestexcept(FA_FE_FLAGS); }
static inline void fa_fe_raise(int flags) { if (flags) feraiseexcept(flags); }

#endif
