/*
 * fa_math.h -- elementary functions for fastact's scalar kernels (double precision).
 *
 * TEMPORARY libm-based version: it defines the API the kernels use.  It is to be
 * replaced by branch-free, vectorizable implementations with the same names and
 * contracts (see the contract comments below).
 */
#ifndef FA_MATH_H
#define FA_MATH_H
#include <math.h>
#include <stdint.h>
#include <string.h>

#define FA_INLINE static inline __attribute__((always_inline))

/* e^x */
FA_INLINE double fa_exp(double x) { return exp(x); }

/* m * e^x, rounded once: no intermediate rounding of a subnormal e^x
 * (|m| <= 2^64, m finite).  Used where e^x is subnormal but m*e^x is not. */
FA_INLINE double fa_exp_mul(double x, double m) {
    double h = exp(0.5 * x);
    return (m * h) * h;
}

/* e^x - 1 */
FA_INLINE double fa_expm1(double x) { return expm1(x); }

/* log(1 + x), x >= -1 */
FA_INLINE double fa_log1p(double x) { return log1p(x); }

/* tanh x */
FA_INLINE double fa_tanh(double x) { return tanh(x); }

#endif
