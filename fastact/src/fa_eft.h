/*
 * fa_eft.h -- the error-free transformations: a sum or a product of two
 * floating-point numbers returned rounded, hi, with its rounding error in
 * *lo, so that hi + lo equals the exact result (round to nearest, and no
 * overflow on the way):
 *
 *   fa_two_sum(a, b, &lo)          double a + b, any order (Knuth, 6 operations)
 *   fa_fast_two_sum(a, b, &lo)     double a + b, |a| >= |b| or a = 0 (Dekker, 3)
 *   fa_two_prod(a, b, &lo)         double a b: lo by one fused multiply-add where
 *                                  the target has one, else Dekker's splitting
 *   fa32_fast_two_sum, fa32_two_prod   the same in float
 *   fv_two_sum, fv_fast_two_sum    the same on float32 vectors (fa_vec32.h), at
 *                                  the levels that have the vector layer
 *
 * The splitting (x86-64 baseline) gives the same lo as the fused
 * multiply-add, so every SIMD level meets the same bounds.  All of them are
 * exact only as written: the kernels are compiled with -ffp-contract=off and
 * never with -ffast-math (setup.py), either of which would fuse or reorder
 * the operations.
 */
#ifndef FA_EFT_H
#define FA_EFT_H
#include "fa_port.h"
#include "fa_vec32.h"

/* a + b = s + *lo exactly, for a and b in either order */
FA_INLINE double fa_two_sum(double a, double b, double *lo) {
    double s = a + b, bb = s - a;
    *lo = (a - (s - bb)) + (b - bb);
    return s;
}

/* a + b = s + *lo exactly, for |a| >= |b| (or a = 0) */
FA_INLINE double fa_fast_two_sum(double a, double b, double *lo) {
    double s = a + b;
    *lo = b - (s - a);
    return s;
}

/* Exact product a*b = hi + lo (|a|, |b| <= 1e300, no overflow of the split). */
FA_INLINE double fa_two_prod(double a, double b, double *lo) {
    double p = a * b;
#if FA_HAVE_FMA
    *lo = FA_FMA_D(a, b, -p);
#else
    const double split = 134217729.0;      /* 2^27 + 1, Dekker/Veltkamp */
    double ta = split * a, tb = split * b;
    double ah = ta - (ta - a), al = a - ah;
    double bh = tb - (tb - b), bl = b - bh;
    *lo = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
#endif
    return p;
}

/* a + b = hi + lo exactly, for |a| >= |b| (or a = 0) */
FA_INLINE float fa32_fast_two_sum(float a, float b, float *lo) {
    float s = a + b;
    *lo = b - (s - a);
    return s;
}

/* a*b = hi + lo exactly (|a|, |b| <= 2^100: the split cannot overflow) */
FA_INLINE float fa32_two_prod(float a, float b, float *lo) {
    float p = a * b;
#if FA_HAVE_FMA
    *lo = FA_FMA_F(a, b, -p);
#else
    const float split = 4097.0f;                     /* 2^12 + 1 */
    float ta = split * a, tb = split * b;
    float ah = ta - (ta - a), al = a - ah;
    float bh = tb - (tb - b), bl = b - bh;
    *lo = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
#endif
    return p;
}

#if FV_WIDTH
/* error-free sums: a + b = s + *lo exactly; fv_fast_two_sum needs |a| >= |b|
 * (or a's exponent at least b's), fv_two_sum takes either order */
FA_INLINE fv fv_fast_two_sum(fv a, fv b, fv *lo) {
    fv s = fv_add(a, b);
    *lo = fv_sub(b, fv_sub(s, a));
    return s;
}
FA_INLINE fv fv_two_sum(fv a, fv b, fv *lo) {
    fv s = fv_add(a, b), bv = fv_sub(s, a);
    *lo = fv_add(fv_sub(a, fv_sub(s, bv)), fv_sub(b, bv));
    return s;
}
#endif

#endif
