/*
 * fa_kernels32.h -- float32 kernels: fa32_NAME(x[, p]), fa32_NAME_grad and,
 * where the registry entry asks for it, fa32_NAME_backward(g, x[, p]).
 *
 * The float32 ufunc loops call these for the kinds the registry entry lists
 * in float32 (the others widen to double and call fa_kernels.h).
 * Two kinds of kernel, both rounded about once at the end, so that the
 * bound of 2 ULP holds with room (the exhaustive sweep over all 2^32 inputs
 * checks each one: python -m fastact verify --exhaustive --only NAME):
 *
 *  - single precision throughout (tanh): eight lanes per AVX2 register;
 *    the exponential stays the exact pair 2^k (1 + p) and the quotient is
 *    corrected by its exact residual (fa_math32.h).  Measured on one Zen 3
 *    core (AVX2, two FMA pipes), this pays only where the kernel is short:
 *    sigmoid and silu written this way (error-free products, a two-step
 *    scaling into the subnormals) took 3.4 and 4.3 ns an element against
 *    1.7 and 2.2 for the lite forms below; a sigmoid with one corrected
 *    division took 1.1-1.3 ns but is 2 ULP off, the textbook single
 *    precision formula 0.64 ns and 3 ULP off;
 *  - double precision with float32-sized polynomials ("lite": the rest, on
 *    fa_exp_lite and the other helpers at the end of fa_math.h):
 *    the float64 path carries double-double arguments, correction terms and
 *    series long enough for float64; a float32 result needs none of that, and
 *    with an 11-bit exponent nothing a float32 input produces (x^2, e^-120)
 *    overflows or turns subnormal before the final rounding.  Derivatives
 *    with an interior root need no special form: the cancellation leaves an
 *    absolute error near 1e-16, far below the 2^-6-relative floor.
 *
 * The rules of fa_kernels.h hold here too: branch-free, NaN propagates,
 * every intermediate finite for every input (arguments clamped).
 */
#ifndef FA_KERNELS32_H
#define FA_KERNELS32_H
#include <float.h>
#include "fa_math32.h"
#include "fa_kernels.h"

/* ---- piecewise functions: the float64 kernels' values, selects in single
 * precision --------------------------------------------------------------
 * The float64 kernels give these exactly (selects, and arithmetic that is
 * exact in double or rounded once), so float32 needs no other accuracy --
 * only the selects moved to single precision: compares on a float widened
 * to double make GCC compare in float and then widen every mask to 64-bit
 * lanes (vpmovsxdq, vperm2i128), which cost hard_swish half its speed.
 * Each kernel below returns, bit for bit, the float64 kernel's value rounded
 * to float32 (tests/test_values.py checks it on every class of float32 input;
 * all 2^32 inputs were checked once by hand, a few minutes a function). */

FA_INLINE float fa32_clampf(float x, float lo, float hi) {
    x = x < lo ? lo : x;
    return x > hi ? hi : x;
}
FA_INLINE float fa32_nan_or(float x, float v) { return x != x ? x : v; }

FA_INLINE float fa32_relu(float x) { return x < 0.0f ? 0.0f : x; }
FA_INLINE float fa32_relu_grad(float x) { return x > 0.0f ? 1.0f : fa32_nan_or(x, 0.0f); }

/* a x rounded once in double, as the float64 kernel has it (a is a double) */
FA_INLINE float fa32_leaky_relu(float x, double a) {
    float ax = (float)(a * (double)x);
    return x > 0.0f ? x : ax;
}
FA_INLINE float fa32_leaky_relu_grad(float x, double a) {
    return x > 0.0f ? 1.0f : fa32_nan_or(x, (float)a);
}
/* g f' with f' = a: the product g a in double, rounded once (g (float)a
 * would round twice); g itself where f' = 1 */
FA_INLINE float fa32_leaky_relu_backward(float g, float x, double a) {
    float ga = (float)((double)g * a);
    return x > 0.0f ? g : fa32_nan_or(x, ga);
}

FA_INLINE float fa32_prelu(float x, double w) { return fa32_leaky_relu(x, w); }
FA_INLINE float fa32_prelu_grad(float x, double w) { return fa32_leaky_relu_grad(x, w); }
FA_INLINE float fa32_prelu_backward(float g, float x, double w) {
    return fa32_leaky_relu_backward(g, x, w);
}

FA_INLINE float fa32_relu6(float x) { return fa32_clampf(x, 0.0f, 6.0f); }
FA_INLINE float fa32_relu6_grad(float x) {
    return ((x > 0.0f) & (x < 6.0f)) ? 1.0f : fa32_nan_or(x, 0.0f);
}

FA_INLINE float fa32_hard_tanh(float x) { return fa32_clampf(x, -1.0f, 1.0f); }
FA_INLINE float fa32_hard_tanh_grad(float x) {
    return ((x > -1.0f) & (x < 1.0f)) ? 1.0f : fa32_nan_or(x, 0.0f);
}

/* The float64 kernels divide by 6 (rounded once in double); a product with
 * the double nearest 1/6 can differ from that quotient in its last double
 * bit, but rounded to float32 the two agree on every float32 input in
 * [-3, 3] (checked for all 2^32 patterns, in hard_sigmoid, hard_swish and
 * hard_swish_grad), and a multiply costs a fraction of a division (4-lane
 * vdivpd was what these loops waited on). */
#define FA32_SIXTH (1.0 / 6.0)

FA_INLINE float fa32_hard_sigmoid(float x) {
    /* clamp(x + 3, 0, 6) is x + 3 at x clamped to [-3, 3] */
    return (float)(((double)fa32_clampf(x, -3.0f, 3.0f) + 3.0) * FA32_SIXTH);
}
FA_INLINE float fa32_hard_sigmoid_grad(float x) {
    return ((x > -3.0f) & (x < 3.0f)) ? (float)FA32_SIXTH : fa32_nan_or(x, 0.0f);
}
/* g/6 is g times the double 1/6, as in the float64 kernel; outside, g 0 is
 * exact in float (a signed zero, NaN for an infinite g) */
FA_INLINE float fa32_hard_sigmoid_backward(float g, float x) {
    float mid = (float)((double)g * FA32_SIXTH);
    return ((x > -3.0f) & (x < 3.0f)) ? mid : fa32_nan_or(x, g * 0.0f);
}

FA_INLINE float fa32_hard_swish(float x) {
    double c = fa32_clampf(x, -3.0f, 3.0f);
    float mid = (float)(c * (c + 3.0) * FA32_SIXTH);
    return x > 3.0f ? x : (x < -3.0f ? 0.0f : mid);
}
FA_INLINE float fa32_hard_swish_grad(float x) {
    double c = fa32_clampf(x, -3.0f, 3.0f);
    float mid = (float)((2.0 * c + 3.0) * FA32_SIXTH);
    return x > 3.0f ? 1.0f : (x < -3.0f ? 0.0f : mid);
}
/* g (2c + 3)/6 with the float64 kernel's division: its quotient, not the
 * product with 1/6 above, is what g multiplies there (the two may differ in
 * the last double bit, which g's product can carry into a float32 rounding) */
FA_INLINE float fa32_hard_swish_backward(float g, float x) {
    double c = fa32_clampf(x, -3.0f, 3.0f);
    float mid = (float)((double)g * ((2.0 * c + 3.0) / 6.0));
    return x > 3.0f ? g : (x < -3.0f ? g * 0.0f : mid);
}

/* x clamped to the finite floats: the float64 kernel's clamp to 1e300 */
FA_INLINE float fa32_softsign(float x) {
    double c = fa32_clampf(x, -FLT_MAX, FLT_MAX);
    return (float)(c / (1.0 + fabs(c)));
}
FA_INLINE float fa32_softsign_grad(float x) {
    double r = 1.0 / (1.0 + fabs((double)fa32_clampf(x, -FLT_MAX, FLT_MAX)));
    return (float)(r * r);
}

/* ---- exponential linear units (lite) ------------------------------------ */

FA_INLINE float fa32_elu(float xf, double alpha) {
    double x = xf, xm = fa_clamp(x, -40.0, 0.0);
    return (float)(x > 0.0 ? x : alpha * fa_expm1_lite(xm));
}
FA_INLINE float fa32_elu_grad(float xf, double alpha) {
    double x = xf, xm = fa_clamp(x, -700.0, 0.0);
    return (float)(x > 0.0 ? 1.0 : fa_nan_or(x, alpha * fa_exp_lite(xm)));
}

FA_INLINE float fa32_selu(float xf) {
    double x = xf, xm = fa_clamp(x, -40.0, 0.0);
    return (float)(x > 0.0 ? FA_SELU_LAMBDA * x
                           : FA_SELU_LAMBDA_ALPHA * fa_expm1_lite(xm));
}
FA_INLINE float fa32_selu_grad(float xf) {
    double x = xf, xm = fa_clamp(x, -700.0, 0.0);
    return (float)(x > 0.0 ? FA_SELU_LAMBDA
                           : fa_nan_or(x, FA_SELU_LAMBDA_ALPHA * fa_exp_lite(xm)));
}

/* x / alpha for x <= 0, clamped where e^(x/alpha) has long underflowed
 * (or, for alpha < 0, overflows float32 anyway) */
FA_INLINE double fa32_celu_arg(double x, double alpha, double lim) {
    return fa_clamp(fa_minz(x) / alpha, -lim, 700.0);
}
FA_INLINE float fa32_celu(float xf, double alpha) {
    double x = xf;
    return (float)(x > 0.0 ? x : alpha * fa_expm1_lite(fa32_celu_arg(x, alpha, 40.0)));
}
FA_INLINE float fa32_celu_grad(float xf, double alpha) {
    double x = xf;
    return (float)(x > 0.0 ? 1.0 : fa_nan_or(x, fa_exp_lite(fa32_celu_arg(x, alpha, 700.0))));
}

/* ---- tanh: single precision ----------------------------------------------- */

FA_INLINE float fa32_tanh(float x) {
    /* (1 - E)/(1 + E), E = e^-2|x| = s (1 + p): 1 - E and 1 + E from the
     * exact pair, one corrected division */
    float a = fabsf(x);
    a = a > 10.0f ? 10.0f : a;               /* tanh is 1 from 9.01 */
    float k, p = fa32_exp_parts(-2.0f * a, &k);
    float s = fa32_pow2(k), sp = s * p;
    float El, E = fa32_fast_two_sum(s, sp, &El);
    float nl, n = fa32_fast_two_sum(1.0f, -E, &nl);
    float dl, d = fa32_fast_two_sum(1.0f, E, &dl);
    float t = fa32_div2(n, nl - El, d, dl + El);
    return fa_u2f((fa_f2u(t) & 0x7fffffffu) | (fa_f2u(x) & 0x80000000u));
}

/* ---- the rest: lite -------------------------------------------------------- */

/* |x| clamped where e^-|x| no longer matters to a float32 result */
FA_INLINE double fa32_abs120(double x) { return fa_clamp(fabs(x), 0.0, 120.0); }

FA_INLINE float fa32_sigmoid(float xf) {
    double x = xf, r, e = fa_logistic_lite(fa32_abs120(x), &r);
    return (float)(x < 0.0 ? e * r : r);
}
FA_INLINE float fa32_sigmoid_grad(float xf) {
    double r, e = fa_logistic_lite(fa32_abs120(xf), &r);
    return (float)(e * r * r);
}

FA_INLINE float fa32_tanh_grad(float xf) {
    /* 4 E/(1 + E)^2, E = e^-2|x| */
    double r, e = fa_logistic_lite(2.0 * fa_clamp(fabs((double)xf), 0.0, 60.0), &r);
    return (float)(4.0 * e * r * r);
}

FA_INLINE float fa32_silu(float xf) {
    double x = xf, a = fa32_abs120(x), r, e = fa_logistic_lite(a, &r);
    double xc = fa_clamp(x, -120.0, 0.0);    /* the x < 0 arm's x */
    return (float)(x < 0.0 ? xc * e * r : x * r);
}
FA_INLINE float fa32_silu_grad(float xf) {
    double x = xf, a = fa32_abs120(x), r, e = fa_logistic_lite(a, &r);
    double xp = fa_clamp(x, 0.0, 120.0);     /* x e is 0, not inf * 0, at inf */
    return (float)(x >= 0.0 ? r * (1.0 + xp * e * r) : e * r * (1.0 - a * r));
}

FA_INLINE float fa32_log_sigmoid(float xf) {
    double x = xf;
    double a = fa_clamp(fabs(x), 0.0, 700.0);
    double y = fa_minz(x) - fa_log1p_lite(fa_exp_lite(-a));
    return (float)(x > 1e30 ? 0.0 : y);      /* -0 below inf: -e^-x rounded */
}
FA_INLINE float fa32_log_sigmoid_grad(float xf) {
    double x = xf, r, e = fa_logistic_lite(fa32_abs120(x), &r);
    return (float)(x > 0.0 ? e * r : r);
}

FA_INLINE float fa32_softplus(float xf, double beta) {
    double x = xf;
    double t = fa_clamp(fabs(beta * x), 0.0, 700.0);
    double lin = ((x > 0.0) == (beta > 0.0)) ? x : 0.0;
    return (float)(lin + fa_log1p_lite(fa_exp_lite(-t)) / beta);
}
FA_INLINE float fa32_softplus_grad(float xf, double beta) {
    double x = xf;
    double r, e = fa_logistic_lite(fa_clamp(fabs(beta * x), 0.0, 700.0), &r);
    return (float)((((x > 0.0) == (beta > 0.0)) | (x == 0.0)) ? r : e * r);
}

FA_INLINE float fa32_mish(float xf) {
    double x = xf;
    double a = fa32_abs120(x), e = fa_exp_lite(-a);
    double xc = fa_clamp(x, -120.0, 0.0);
    double pos = x * ((1.0 + 2.0 * e) / (1.0 + 2.0 * e + 2.0 * e * e));
    double neg = xc * e * (e + 2.0) / (e * (e + 2.0) + 2.0);
    return (float)(x >= 0.0 ? pos : neg);
}
FA_INLINE float fa32_mish_grad(float xf) {
    double x = xf;
    double a = fa32_abs120(x), e = fa_exp_lite(-a);
    double xc = fa_clamp(x, -120.0, 0.0), xp = fa_clamp(x, 0.0, 120.0);
    double q = 1.0 + 2.0 * e + 2.0 * e * e;
    double pos = (1.0 + 2.0 * e) / q + xp * (4.0 * (1.0 + e) * e * e / (q * q));
    double d = e * (e + 2.0) + 2.0;
    double br = 4.0 * (1.0 + xc) + e * ((6.0 + 4.0 * xc) + e * (4.0 + e));
    return (float)(x >= 0.0 ? pos : e * br / (d * d));
}

/* The gated units x sigma(T(x)) with T odd: for t = T(|x|), e = e^-t,
 * r = 1/(1 + e), and D = |x| T'(|x|):
 *   f  = x r (x >= 0),  x e r (x < 0);
 *   f' = r (1 + D e r) (x >= 0),  e r^2 (1 + e - D) (x < 0). */
FA_INLINE float fa32_glu(double x, double t) {
    double r, e = fa_logistic_lite(t, &r);
    double xc = fa_clamp(x, -1e4, 0.0);
    return (float)(x >= 0.0 ? x * r : xc * e * r);
}
FA_INLINE float fa32_glu_grad(double x, double t, double D) {
    double r, e = fa_logistic_lite(t, &r);
    return (float)(x >= 0.0 ? r * (1.0 + D * e * r) : e * r * r * (1.0 + e - D));
}

FA_INLINE float fa32_gelu_sigmoid(float xf) {
    double x = xf, a = fa_clamp(fabs(x), 0.0, 200.0);
    return fa32_glu(x, FA_QG_HI * a);
}
FA_INLINE float fa32_gelu_sigmoid_grad(float xf) {
    double x = xf, a = fa_clamp(fabs(x), 0.0, 200.0);
    return fa32_glu_grad(x, FA_QG_HI * a, FA_QG_HI * a);
}

FA_INLINE float fa32_gelu_tanh(float xf) {
    double x = xf, a = fa_clamp(fabs(x), 0.0, 20.0);
    return fa32_glu(x, FA_GT_C_HI * a * (1.0 + FA_GT_K_HI * a * a));
}
FA_INLINE float fa32_gelu_tanh_grad(float xf) {
    double x = xf, a = fa_clamp(fabs(x), 0.0, 20.0);
    double t = FA_GT_C_HI * a * (1.0 + FA_GT_K_HI * a * a);
    double D = FA_GT_C_HI * a * (1.0 + FA_GT_3K_HI * a * a);
    return fa32_glu_grad(x, t, D);
}

/* exact GELU through the Mills ratio (fa_normal.h): phi(x) R(|x|) = Phi(-|x|) */
FA_INLINE float fa32_gelu(float xf) {
    double x = xf, a = fa_clamp(fabs(x), 0.0, 15.0);  /* Phi(-15) |x| -> 0 */
    double ph = FA_INV_SQRT_2PI * fa_exp_lite(-0.5 * (a * a));   /* a^2 exact */
    double R = fa_mills_lite(a);
    double xc = fa_clamp(x, -15.0, 0.0);
    return (float)(x >= 0.0 ? x * (1.0 - ph * R) : ph * (xc * R));
}
FA_INLINE float fa32_gelu_grad(float xf) {
    double x = xf, a = fa_clamp(fabs(x), 0.0, 15.0);
    double ph = FA_INV_SQRT_2PI * fa_exp_lite(-0.5 * (a * a));
    double R = fa_mills_lite(a);
    return (float)(x >= 0.0 ? 1.0 + ph * (a - R) : fa_nan_or(x, ph * (R - a)));
}

#endif
