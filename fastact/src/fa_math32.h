/*
 * fa_math32.h -- elementary functions in single precision for the float32
 * kernels that are single precision throughout (fa_kernels32.h): eight lanes
 * per AVX2 register where double has four, no conversion to double and back.
 *
 * The same rules as fa_math.h: branch-free, no libm calls, every argument
 * clamped so that no intermediate overflows (or turns subnormal where the
 * result is not).  What makes single precision accurate enough is that no
 * result is formed from a rounded e^x: the exponential is kept as the exact
 * pair 2^k (1 + p), p = e^r - 1 from a polynomial whose own error is far
 * below an ULP, and every quotient is one division corrected by its exact
 * residual (fa32_div2), so a kernel rounds about once at the end.
 *
 * Error-free products use the fused multiply-add where the target has one and
 * Dekker's splitting where it has not (x86-64 baseline), so every SIMD level
 * meets the same bounds (tests/test_generated.py compares the levels); they
 * and the error-free sums are in fa_eft.h.
 *
 * The exponential's parts, one line each (errors as in fa_math.h: measured
 * on 4 million random arguments against long double libm):
 *
 *   fa32_reduce(x, &k)        x = k ln2 + r, |r| <= ln2/2 (+ rounding), k an
 *                             integer-valued float, |x| <= 350
 *   fa32_expm1_poly(r)        e^r - 1, |r| <= 0.36, Taylor to r^8: remainder
 *                             below 2.2e-10 of e^r (0.004 ULP)
 *   fa32_pow2(k)              2^k exactly, integer-valued k in [-126, 127]
 *   fa32_exp_parts(x, &k)     e^x as the exact pair 2^k (1 + p), x in
 *                             [-350, 88]: 4.3e-8 relative (4.0e-8 with FMA)
 */
#ifndef FA_MATH32_H
#define FA_MATH32_H
#include "fa_math.h"
#include "fa_eft.h"

#if FA_HAVE_FMA
#define FA_FMAF(a, b, c) FA_FMA_F(a, b, c)
#else
#define FA_FMAF(a, b, c) ((a) * (b) + (c))
#endif

FA_INLINE uint32_t fa_f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
FA_INLINE float fa_u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/* (n + nl) / (d + dl) with one rounding and an error far below it: the
 * reciprocal's quotient is corrected by its exact residual.  d in
 * [2^-60, 2^60], |nl| <= ulp(n), |dl| <= ulp(d). */
FA_INLINE float fa32_div2(float n, float nl, float d, float dl) {
    float y = 1.0f / d;
    float q = n * y;
    float pl, ph = fa32_two_prod(q, d, &pl);
    float rem = ((n - ph) - pl) + (nl - q * dl);     /* n - ph is exact */
    return FA_FMAF(rem, y, q);
}

/* 1.5 * 2^23: adding it rounds a float of magnitude < 2^22 to an integer */
#define FA32_MAGIC 12582912.0f
#define FA32_LOG2E 1.44269504088896341f
/* ln 2 = FA32_LN2_HI + FA32_LN2_LO; k * FA32_LN2_HI is exact for |k| < 512 */
#define FA32_LN2_HI 0.693145751953125f
#define FA32_LN2_LO 1.42860682030941723212e-6f

/* x = k ln2 + r, |r| <= ln2/2 (+ rounding), k an integer-valued float;
 * |x| <= 350 */
FA_INLINE float fa32_reduce(float x, float *kf) {
    float k = FA_FMAF(x, FA32_LOG2E, FA32_MAGIC) - FA32_MAGIC;
    *kf = k;
    float r = FA_FMAF(-k, FA32_LN2_HI, x);
    return FA_FMAF(-k, FA32_LN2_LO, r);
}

/* e^r - 1 for |r| <= 0.36: Taylor series to r^8 (remainder below 2.2e-10,
 * 0.004 ULP of e^r) */
FA_INLINE float fa32_expm1_poly(float r) {
    float q = 1.0f / 40320.0f;
    q = FA_FMAF(q, r, 1.0f / 5040.0f);
    q = FA_FMAF(q, r, 1.0f / 720.0f);
    q = FA_FMAF(q, r, 1.0f / 120.0f);
    q = FA_FMAF(q, r, 1.0f / 24.0f);
    q = FA_FMAF(q, r, 1.0f / 6.0f);
    q = FA_FMAF(q, r, 0.5f);
    return FA_FMAF(r * r, q, r);
}

/* 2^k for an integer-valued float k in [-126, 127], from the bits */
FA_INLINE float fa32_pow2(float kf) {
    uint32_t k = fa_f2u(kf + FA32_MAGIC) - fa_f2u(FA32_MAGIC);
    return fa_u2f((k + 127u) << 23);
}

/* e^x = 2^k (1 + p) for x in [-350, 88]: returns p, k in *kf */
FA_INLINE float fa32_exp_parts(float x, float *kf) {
    return fa32_expm1_poly(fa32_reduce(x, kf));
}

#endif
