/*
 * fa_math.h -- elementary functions for fastact's scalar kernels, in double
 * precision, written so that GCC vectorizes the loops that call them.
 *
 * The exponential family and its neighbours, one line each: what it computes,
 * where (arguments outside are clamped, NaN kept), and the largest error
 * measured on 4 million random arguments against long double libm, in ULP of
 * the double result (x86-64 baseline / the FMA levels where they differ):
 *
 *   fa_exp(x)                 e^x, x in [-900, 710]                     0.95
 *   fa_exp_mul(x, m)          m e^x rounded once (normal where e^x is
 *                             not), x in [-900, 710]              1.35 / 1.15
 *   fa_exp_mul_lo(x, xlo, m)  m e^(x + xlo), a double-double argument
 *                             (|xlo| tiny)                         1.5 / 1.35
 *   fa_expn(a)                e^-a, a in [0, 900]                       0.96
 *   fa_expn_mul(a, m)         m e^-a, a in [0, 900]                1.4 / 1.15
 *   fa_expn_mul_lo(a, alo, m) m e^-(a + alo), a in [0, 900]        1.5 / 1.25
 *   fa_exp_nonpos_mul(x, m)   m e^min(x, 0), x in [-900, 0]        1.4 / 1.15
 *   fa_expm1(x)               e^x - 1, x in [-60, 710]                  1.9
 *   fa_log1p(x)               log(1 + x), x >= -1                      1.95
 *   fa_tanh(x)                tanh x, from fa_expm1                    2.55
 *   their parts: fa_exp_reduce(_bits) x = k ln2 + r, |r| <= ln2/2; fa_exp_poly
 *   e^r - 1 (Taylor to r^13, 5e-18 relative); fa_exp_finish m e^r 2^k;
 *   fa_scale(_bits) m 2^k rounded once; fa_pow2d, fa_pow2_bits 2^k exactly.
 *
 * "Lite", sized for a float32 result (at the end; relative error):
 *
 *   fa_expm1_poly_lite(r)     e^r - 1, |r| <= ln2/2, Taylor to r^8:
 *                             remainder below 2.2e-10 of e^r
 *   fa_exp_lite(x)            e^x, x in [-700, 700]                  2.7e-10
 *   fa_expm1_lite(x)          e^x - 1, x in [-40, 0]                 6.6e-10
 *   fa_log1p_lite(e)          log(1 + e), e in [0, 1]                1.5e-11
 *   fa_logistic_lite(t, &r)   e^-t and r = 1/(1 + e^-t), t in [0, 700]:
 *                             2.7e-10 and 1.2e-10
 *
 * In single precision: fa_math32.h; on float32 vectors: fa_kernels32v.h.
 * The activations built on these are checked against mpmath to their ULP
 * bounds by tests/test_accuracy.py (python -m fastact verify).
 *
 * Why our own: calls into libm stop the vectorizer (one `call exp` per
 * element), glibc's vector math is only reachable under -ffast-math, and the
 * package must build on macOS and musl too.  Everything here is branch-free:
 * arithmetic, ternary selects, and bit moves through memcpy.  With
 * -fno-trapping-math both arms of a select are evaluated for every lane, so
 * every argument is clamped to a range where no intermediate can overflow;
 * the flags a loop leaves are audited anyway (fa_runtime.h).
 *
 * Polynomials are truncated Taylor series (coefficients 1/n! and 2/(2n+1),
 * exact to the last bit as written), evaluated in Horner form with FA_FMA,
 * which is a fused multiply-add where the target has one.  The error-free
 * sums and products are in fa_eft.h.
 */
#ifndef FA_MATH_H
#define FA_MATH_H
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "fa_port.h"
#include "fa_eft.h"

#ifndef FA_FMA
#if FA_HAVE_FMA
#define FA_FMA(a, b, c) FA_FMA_D(a, b, c)
#else
#define FA_FMA(a, b, c) ((a) * (b) + (c))
#endif
#endif

FA_INLINE uint64_t fa_d2u(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
FA_INLINE double fa_u2d(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }

/* 1.5 * 2^52: adding it rounds a double of magnitude < 2^51 to an integer,
 * which then sits in the low bits of the sum's mantissa */
#define FA_ROUND_MAGIC 6755399441055744.0
#define FA_LOG2E 1.4426950408889634074
/* ln 2 split so that k * FA_LN2_HI is exact for |k| < 2^11 */
#define FA_LN2_HI 6.93147180369123816490e-01
#define FA_LN2_LO 1.90821492927058770002e-10

/* e^r for |r| <= ln2/2 (+ a little): 1 + (r + r^2 q(r)), Taylor to r^13
 * (the remainder is below 5e-18 relative) */
FA_INLINE double fa_exp_poly(double r) {
    double q = 1.0 / 6227020800.0;                   /* 1/13! */
    q = FA_FMA(q, r, 1.0 / 479001600.0);             /* 1/12! */
    q = FA_FMA(q, r, 1.0 / 39916800.0);
    q = FA_FMA(q, r, 1.0 / 3628800.0);
    q = FA_FMA(q, r, 1.0 / 362880.0);
    q = FA_FMA(q, r, 1.0 / 40320.0);
    q = FA_FMA(q, r, 1.0 / 5040.0);
    q = FA_FMA(q, r, 1.0 / 720.0);
    q = FA_FMA(q, r, 1.0 / 120.0);
    q = FA_FMA(q, r, 1.0 / 24.0);
    q = FA_FMA(q, r, 1.0 / 6.0);
    q = FA_FMA(q, r, 0.5);
    return r * r * q + r;                            /* e^r - 1 */
}

/* 2^k for an integer-valued double k in [-1022, 1023], built from bits */
FA_INLINE double fa_pow2d(double kd) {
    uint64_t k = fa_d2u(kd + FA_ROUND_MAGIC) - fa_d2u(FA_ROUND_MAGIC);
    return fa_u2d((k + 1023) << 52);
}

/* m * 2^k rounded once, for integer-valued k in [-1100, 1100]: k is split in
 * two halves that are each a normal power of two; m * 2^k1 is exact (no
 * under/overflow for |m| in [2^-60, 2^60]) and the last product is the only
 * rounding, also when the result is subnormal or overflows.  (All integer
 * work is adds and left shifts of 64-bit lanes, which SSE2 has.) */
FA_INLINE double fa_scale(double m, double kd) {
    double k1 = (kd * 0.5 + FA_ROUND_MAGIC) - FA_ROUND_MAGIC;
    return (m * fa_pow2d(k1)) * fa_pow2d(kd - k1);
}

/* The exponential's k, kept where the rounding left it: the sum
 * x log2(e) + 1.5 * 2^52 holds k in the low bits of its mantissa, so its bit
 * pattern kb is 0x4338000000000000 + k (a positive integer for |k| < 2^51).
 * Its low 12 bits are k mod 4096, and shifting kb + 1023 left by 52 leaves
 * exactly the biased exponent of 2^k: powers of two from kb take one integer
 * add and one shift, where rebuilding them from k as a double takes a
 * floating add more, on the loop's longest chain. */
FA_INLINE double fa_pow2_bits(uint64_t kb) {          /* 2^k, k in [-1022, 1023] */
    return fa_u2d((kb + 1023) << 52);
}

/* m * 2^k rounded once (as fa_scale), with k from its bits: the halves
 * floor(k/2) and ceil(k/2) are kb >> 1 and kb - (kb >> 1) in their low 12
 * bits (0x4338000000000000 is even, so the shift floors k/2 for either sign
 * of k), both normal for k in [-2044, 2046].  Shifted into the exponent field
 * the bits can never form a NaN, whatever kb holds: a NaN argument stays NaN
 * through m, and no invalid operation is raised. */
FA_INLINE double fa_scale_bits(double m, uint64_t kb) {
    uint64_t h = kb >> 1;
    return (m * fa_u2d((h + 1023) << 52)) * fa_u2d((kb - h + 1023) << 52);
}

/* x clamped to where e^x is between 0 and inf, with room below for
 * fa_exp_mul's |m| <= 2^64 (NaN kept: x < lo is false) */
FA_INLINE double fa_exp_clamp(double x) {
    x = x < -900.0 ? -900.0 : x;
    return x > 710.0 ? 710.0 : x;
}

/* Range reduction: x = k ln2 + r, |r| <= ln2/2 (+ rounding); k returned as
 * an integer-valued double and as the bits kb described above */
FA_INLINE double fa_exp_reduce_bits(double x, double *kd, uint64_t *kb) {
    double t = FA_FMA(x, FA_LOG2E, FA_ROUND_MAGIC);
    double k = t - FA_ROUND_MAGIC;
    *kd = k;
    *kb = fa_d2u(t);
    double r = FA_FMA(-k, FA_LN2_HI, x);
    return FA_FMA(-k, FA_LN2_LO, r);
}

FA_INLINE double fa_exp_reduce(double x, double *kd) {
    uint64_t kb;
    return fa_exp_reduce_bits(x, kd, &kb);
}

/* m e^r 2^k from the reduced argument r and k's bits */
FA_INLINE double fa_exp_finish(double r, uint64_t kb, double m) {
    double p = fa_exp_poly(r);                       /* e^r - 1 */
    return fa_scale_bits(FA_FMA(m, p, m), kb);
}

/* m e^(x + xlo), for an argument known as a double-double (|xlo| tiny):
 * the low part joins the reduced argument, so no separate (1 + xlo) factor
 * rounds */
FA_INLINE double fa_exp_mul_lo(double x, double xlo, double m) {
    double kd;
    uint64_t kb;
    double r = fa_exp_reduce_bits(fa_exp_clamp(x), &kd, &kb) + xlo;
    return fa_exp_finish(r, kb, m);
}

FA_INLINE double fa_exp_mul(double x, double m) {
    double kd;
    uint64_t kb;
    double r = fa_exp_reduce_bits(fa_exp_clamp(x), &kd, &kb);
    return fa_exp_finish(r, kb, m);
}

FA_INLINE double fa_exp(double x) { return fa_exp_mul(x, 1.0); }

/* The same for a negated argument, m e^-(a + alo) with a >= 0 (or NaN), the
 * form every exponential of the sigmoid family, GELU and ELU takes: only the
 * lower clamp can act, and written on a it is one compare and one select.
 * The two-sided clamp of -|x| costs GCC nine instructions (it folds the
 * negation and the fabs into both compares), and in float64 sigmoid's loop
 * (measured in C at n = 4096 on one core) that, with fa_scale's floating
 * adds, was a quarter of the time.  The results are bit for bit those of
 * fa_exp_mul_lo(-a, -alo, m). */
FA_INLINE double fa_expn_mul_lo(double a, double alo, double m) {
    double kd;
    uint64_t kb;
    a = a > 900.0 ? 900.0 : a;
    double r = fa_exp_reduce_bits(-a, &kd, &kb) - alo;
    return fa_exp_finish(r, kb, m);
}

FA_INLINE double fa_expn_mul(double a, double m) {
    double kd;
    uint64_t kb;
    a = a > 900.0 ? 900.0 : a;
    double r = fa_exp_reduce_bits(-a, &kd, &kb);
    return fa_exp_finish(r, kb, m);
}

FA_INLINE double fa_expn(double a) { return fa_expn_mul(a, 1.0); }

/* m e^min(x, 0), the exponential of the ELU family's negative arm: x is
 * clamped to [-900, 0] (NaN kept), the lower bound first.  Measured in C
 * (n = 4096, one core) while the ELU grads still selected their result, the
 * other order and fa_expn_mul(-min(x, 0)) ran 1.6-2x slower and this order
 * a little faster than fa_exp_mul's two-sided clamp; part of that was the
 * discarded lanes' underflow that fa_elu_grad now avoids, and the orders
 * were not compared again after that change. */
FA_INLINE double fa_exp_nonpos_mul(double x, double m) {
    double kd;
    uint64_t kb;
    x = x < -900.0 ? -900.0 : x;
    x = x > 0.0 ? 0.0 : x;
    double r = fa_exp_reduce_bits(x, &kd, &kb);
    return fa_exp_finish(r, kb, m);
}

/* e^x - 1 = 2^k (e^r - 1) + (2^k - 1): both terms exact for |k| <= 53, one
 * rounding in the sum, and no cancellation near 0 (k = 0 there). */
FA_INLINE double fa_expm1(double x) {
    double xc = x < -60.0 ? -60.0 : x;               /* e^-60 < 2^-86: -1 */
    xc = xc > 710.0 ? 710.0 : xc;
    double kd;
    double r = fa_exp_reduce(xc, &kd);
    double p = fa_exp_poly(r);
    double t = fa_pow2d(kd > 1000.0 ? 1000.0 : kd);  /* must stay finite */
    double small = FA_FMA(t, p, t - 1.0);
    double big = fa_scale(p + 1.0, kd);              /* k > 1000: e^x alone */
    return kd > 1000.0 ? big : small;
}

/* log(1 + x).  u = 1 + x rounded, with the rounding error c carried as a
 * correction c/u; u = 2^k m with m in [sqrt(2)/2, sqrt(2)) read off the bits,
 * f = m - 1 exact, and log(1 + f) = f - (f^2/2 - s (f^2/2 + R)),
 * s = f / (2 + f), R = 2 atanh(s)/s - 2 as its Taylor series in s^2
 * (terms to s^20; |s| <= 0.1716 so the remainder is below 1e-18). */
FA_INLINE double fa_log1p(double x) {
    double xc = x > 1.7e308 ? 1.7e308 : x;           /* inf handled below */
    xc = xc < -1.0 ? -1.0 : xc;
    double u = 1.0 + xc;
    double uc = u == 0.0 ? 1.0 : u;                  /* log(0) selected below */
    uint64_t ub = fa_d2u(uc) + (0x3ff0000000000000ULL - 0x3fe6a09e667f3bcdULL);
    /* the exponent field as an exact double, without int64->double
     * conversion (not in SSE2/AVX2): 2^52 + e - (2^52 + 1023) */
    double kd = fa_u2d(0x4330000000000000ULL + (ub >> 52)) - 4503599627371519.0;
    double m = fa_u2d((ub & 0x000fffffffffffffULL) + 0x3fe6a09e667f3bcdULL);
    double f = m - 1.0;
    /* the part of x that 1 + x lost (exact as written), divided by u */
    double c = kd > 0.0 ? 1.0 - (uc - xc) : xc - (uc - 1.0);
    c = kd > 53.0 ? 0.0 : c / uc;
    double s = f / (2.0 + f), z = s * s;
    double R = 2.0 / 21.0;
    R = FA_FMA(R, z, 2.0 / 19.0);
    R = FA_FMA(R, z, 2.0 / 17.0);
    R = FA_FMA(R, z, 2.0 / 15.0);
    R = FA_FMA(R, z, 2.0 / 13.0);
    R = FA_FMA(R, z, 2.0 / 11.0);
    R = FA_FMA(R, z, 2.0 / 9.0);
    R = FA_FMA(R, z, 2.0 / 7.0);
    R = FA_FMA(R, z, 2.0 / 5.0);
    R = FA_FMA(R, z, 2.0 / 3.0);
    R = R * z;
    double hfsq = 0.5 * f * f;
    double lo = FA_FMA(kd, FA_LN2_LO, c);
    double y = kd * FA_LN2_HI + (f - (hfsq - (s * (hfsq + R) + lo)));
    y = u == 0.0 ? -INFINITY : y;                    /* log1p(-1) = -inf */
    y = x < -1.0 ? NAN : y;
    return x > 1.7e308 ? x : y;                      /* +inf */
}

/* tanh |x| = -e / (2 + e) with e = expm1(-2|x|), exact near 0 and 1 from
 * |x| = 20 on; the sign is copied from x (also for -0). */
FA_INLINE double fa_tanh(double x) {
    double a = fabs(x);
    a = a > 20.0 ? 20.0 : a;
    double e = fa_expm1(-2.0 * a);
    double t = -e / (2.0 + e);
    t = x != x ? x : t;
    return fa_u2d((fa_d2u(t) & 0x7fffffffffffffffULL) | (fa_d2u(x) & 0x8000000000000000ULL));
}

/* ---- float32-sized ("lite") ----------------------------------------------
 * For the float32 kernels that evaluate in double and round once at the end
 * (fa_kernels32.h): a float32 result needs neither double-double arguments
 * nor series long enough for float64, and with double's 11-bit exponent
 * nothing a float32 input produces overflows or turns subnormal before that
 * rounding.  Callers clamp the arguments to the ranges given. */

/* e^r - 1 for |r| <= ln2/2 (+ rounding): Taylor to r^8, remainder below
 * 2.2e-10 relative to e^r (0.004 float32 ULP) */
FA_INLINE double fa_expm1_poly_lite(double r) {
    double q = 1.0 / 40320.0;
    q = FA_FMA(q, r, 1.0 / 5040.0);
    q = FA_FMA(q, r, 1.0 / 720.0);
    q = FA_FMA(q, r, 1.0 / 120.0);
    q = FA_FMA(q, r, 1.0 / 24.0);
    q = FA_FMA(q, r, 1.0 / 6.0);
    q = FA_FMA(q, r, 0.5);
    return FA_FMA(r * r, q, r);
}

/* e^x for x in [-700, 700] (callers clamp) */
FA_INLINE double fa_exp_lite(double x) {
    double kd;
    uint64_t kb;
    double p = fa_expm1_poly_lite(fa_exp_reduce_bits(x, &kd, &kb));
    double s = fa_pow2_bits(kb);
    return FA_FMA(s, p, s);
}

/* e^x - 1 for x in [-40, 0] (or up to 700 where the caller allows
 * overflow): 2^k (e^r - 1) + (2^k - 1), both terms exact */
FA_INLINE double fa_expm1_lite(double x) {
    double kd;
    uint64_t kb;
    double p = fa_expm1_poly_lite(fa_exp_reduce_bits(x, &kd, &kb));
    double s = fa_pow2_bits(kb);
    return FA_FMA(s, p, s - 1.0);
}

/* log(1 + e) for e in [0, 1]: 2 atanh(s), s = e / (2 + e) <= 1/3, as its
 * series to s^19 (remainder below 2e-10 relative) */
FA_INLINE double fa_log1p_lite(double e) {
    double s = e / (2.0 + e), z = s * s;
    double q = 2.0 / 19.0;
    q = FA_FMA(q, z, 2.0 / 17.0);
    q = FA_FMA(q, z, 2.0 / 15.0);
    q = FA_FMA(q, z, 2.0 / 13.0);
    q = FA_FMA(q, z, 2.0 / 11.0);
    q = FA_FMA(q, z, 2.0 / 9.0);
    q = FA_FMA(q, z, 2.0 / 7.0);
    q = FA_FMA(q, z, 2.0 / 5.0);
    q = FA_FMA(q, z, 2.0 / 3.0);
    return FA_FMA(s * z, q, 2.0 * s);
}

/* e = e^-t, and r = 1/(1 + e) in *r, for t in [0, 700]: sigma(t) = r,
 * sigma(-t) = e r, sigma(t) sigma(-t) = e r^2 */
FA_INLINE double fa_logistic_lite(double t, double *r) {
    double e = fa_exp_lite(-t);
    *r = 1.0 / (1.0 + e);
    return e;
}

#endif
