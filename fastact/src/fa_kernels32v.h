/*
 * fa_kernels32v.h -- float32 kernels in single precision at full SIMD width,
 * over the vector layer of fa_vec32.h, and the loops that run them.
 *
 * The registry's ``float32_vector`` kinds name the kernels here; the
 * generated float32 loop of such a kind is one call:
 *
 *     fa32v_<ufunc>(char *x, npy_intp sx, char *out, npy_intp so, npy_intp n)
 *     fa32v_<ufunc>(char *g, npy_intp sg, char *x, ..., n)   (backward)
 *
 * Contiguous runs go straight through the vector kernel; strided runs are
 * gathered into blocks on the stack first, so a value never depends on the
 * layout it came in (the tests compare layouts bit for bit).  Where the
 * build has no vector layer (FV_WIDTH 0: the x86-64 baseline without FMA,
 * ARM for now) the same loops call the scalar float32 kernels.
 *
 * The exponential helpers, one line each (errors measured on 4 million random
 * arguments against long double libm, the same at the avx2 and avx512 levels):
 *
 *   fv_exp_reduce(x)          x = n ln2 + r + d, x in [-110, 0]: r rounded, d
 *                             its low part; 2^n e^(r + d) is e^x to 1.6e-11
 *   fv_expm1_q(r), fv_expm1_poly(r)   e^r - 1 = r + r^2 q(r), |r| <= 0.35:
 *                             q's error 4.8e-9 of e^r, 3.0e-8 once evaluated
 *   fv_exp2i(m, kmax)         2^m exactly, integer-valued m in [-kmax, 0]
 *                             (fa_vec32.h, with fv_ldexp: a 2^m rounded once)
 *   fv_logistic(t), fv_logistic_lo(t, tl), fv_logistic_r(m, r)
 *                             the logistic core below, t in [0, 110]:
 *                             sigma(-t) = Y 2^-k within 0.95 float32 ULP
 *   fv_expm1_parts(x)         expm1(x) = (tn - 1) + tn P, x in [-30, 0]:
 *                             8.0e-8 relative before the caller's rounding
 *   fv_scaled_exp(x, chi, clo)  (chi + clo) e^x rounded once, x in [-110, 0]:
 *                             0.85 float32 ULP (chi = 1, clo = 0, x >= -87)
 *   fv_log1p_exp_neg(x)       log1p(e^-|x|), |x| in [0, 110]: 1.55 float32 ULP
 *   fv_gelu_core(a, ...)      e^(-a^2/2) T(a), T from the tables of
 *                             fa_gelu32.h (GELU and GELU' only)
 *
 * ---- the logistic core ---------------------------------------------------
 * For t = |x| in [0, 110] (clamped: sigma(-110) is below half the least
 * subnormal), e^t = 2^k (1 + p), |r| <= ln2/2, and with A = 2^-k
 *
 *     sigma(-t) = A / (1 + p + A) = A Y,      sigma(t) = 1 - A Y,
 *
 * Y = 1/D.  D = (1 + A) + p is kept as an exact pair D + Dl, and Y comes
 * from the reciprocal estimate y (rcp14 on AVX-512; a division on AVX2) and
 * its residual c = 1 - y (D + Dl), Y = y + y c.  Nothing is divided, the
 * exponential is never rounded as a value, and A multiplies exactly (a power
 * of two: as two factors, 2^-k1 2^-k2, so that the one rounding of a
 * subnormal result is the last one).  The errors: p about 2^-27 relative
 * (a degree-6 polynomial, minimax on [-0.35, 0.35] with float32
 * coefficients, and the float32 reduction), Y's rounding half an ULP.
 *
 * sigma'(t) = u - u^2 (u = sigma(-t)) takes u's error once; SiLU' keeps the
 * unrounded y, c where x sigma(-x) cancels against 1 (its root near -1.278):
 * 1 - t + t u with 1 - t exact there (Sterbenz) and t A y an exact product
 * inside the fused multiply-add.
 *
 * Every kernel is checked over all 2^32 inputs against the float64 kernels
 * (python -m fastact verify --exhaustive --only NAME).
 */
#ifndef FA_KERNELS32V_H
#define FA_KERNELS32V_H
#include "fa_vec32.h"
#include "fa_eft.h"
#include "fa_kernels32.h"

#if FV_WIDTH
#include "fa_gelu32.h"

#define FV32_TMAX 110.0f
#define FV32_MAGIC 12582912.0f                /* 1.5 * 2^23 */
#define FV32_LOG2E 1.44269504088896341f
#define FV32_LN2_HI 0.693145751953125f        /* k * HI exact for k < 512 */
#define FV32_LN2_LO 1.42860682030941723212e-6f

/* x clamped to [-lim, lim] (NaN stays NaN) */
FA_INLINE fv fv_clampc(fv x, float lim) {
    return fv_minc(fv_maxc(x, fv_set(-lim)), fv_set(lim));
}

/* e^r - 1 for |r| <= 0.35: r + r^2 q(r), q minimax for the relative error of
 * e^r (4.8e-9 with these float32 coefficients) */
FA_INLINE fv fv_expm1_q(fv r) {
    fv q = fv_set(0.0013813161058351398f);
    q = fv_fma(q, r, fv_set(0.008369410410523415f));
    q = fv_fma(q, r, fv_set(0.04166845604777336f));
    q = fv_fma(q, r, fv_set(0.16666515171527863f));
    return fv_fma(q, r, fv_set(0.4999999403953552f));
}
FA_INLINE fv fv_expm1_poly(fv r) { return fv_fma(fv_mul(r, r), fv_expm1_q(r), r); }

/* the reduction x = n ln2 + r + d for x in [-110, 0]: n = round(x log2 e),
 * x - n ln2_hi exact, r that minus n ln2_lo rounded, d its low part (to
 * first order).  Callers that drop d get r as the one rounding. */
typedef struct { fv n, r, d; } fv_red;
FA_INLINE fv_red fv_exp_reduce(fv x) {
    const fv magic = fv_set(FV32_MAGIC);
    fv_red o;
    o.n = fv_sub(fv_fma(x, fv_set(FV32_LOG2E), magic), magic);
    fv r1 = fv_fnma(o.n, fv_set(FV32_LN2_HI), x);         /* exact */
    o.r = fv_fnma(o.n, fv_set(FV32_LN2_LO), r1);
    o.d = fv_fnma(o.n, fv_set(FV32_LN2_LO), fv_sub(r1, o.r));
    return o;
}

/* the core above: t in [0, 110] or NaN.  Returns Y (rounded once); y, c its
 * unrounded parts, m = -k and A = 2^-k (0 or subnormal when k is large: then 1 - A Y
 * and D need no A); D + Dl = 1 + A + p exactly, and p. */
typedef struct { fv Y, y, c, A, m, D, Dl, p; } fv_logi;

/* after the reduction: e^t = 2^-m (1 + p(r)) */
FA_INLINE fv_logi fv_logistic_r(fv m, fv r) {
    fv_logi o;
    const fv one = fv_set(1.0f);
    o.m = m;
    fv p = fv_expm1_poly(r);
    o.A = fv_exp2i(o.m, 60);
    fv sl, s = fv_fast_two_sum(one, o.A, &sl);          /* 1 + A = s + sl */
    fv D = fv_fast_two_sum(s, p, &o.Dl);                 /* |s| > |p| */
    o.Dl = fv_add(o.Dl, sl);
    o.D = D;
    o.p = p;
    o.y = fv_rcp(D);
    o.c = fv_fnma(o.y, o.Dl, fv_fnma(o.y, D, one));        /* 1 - y (D + Dl) */
    o.Y = fv_fma(o.y, o.c, o.y);
    return o;
}

FA_INLINE fv fv_logistic_m(fv t) {                            /* -k */
    const fv magic = fv_set(FV32_MAGIC);
    return fv_sub(magic, fv_fma(t, fv_set(FV32_LOG2E), magic));
}

FA_INLINE fv_logi fv_logistic(fv t) {
    fv m = fv_logistic_m(t);
    fv r = fv_fma(m, fv_set(FV32_LN2_HI), t);
    return fv_logistic_r(m, fv_fma(m, fv_set(FV32_LN2_LO), r));
}

/* the same for t + tl, |tl| <= 2^-23 t: the low part joins the reduction's,
 * r = (t - k ln2_hi) + (tl - k ln2_lo) rounded once as above */
FA_INLINE fv_logi fv_logistic_lo(fv t, fv tl) {
    fv m = fv_logistic_m(t);
    fv r = fv_fma(m, fv_set(FV32_LN2_HI), t);
    return fv_logistic_r(m, fv_add(r, fv_fma(m, fv_set(FV32_LN2_LO), tl)));
}

/* |x| clamped to [0, lim] (NaN stays NaN) */
FA_INLINE fv fv_absc(fv x, float lim) { return fv_minc(fv_abs(x), fv_set(lim)); }
/* u 2^-k rounded once: sigma(-t) for u = Y */
FA_INLINE fv fv_scale(fv_logi L, fv u) { return fv_ldexp(u, L.m); }

FA_INLINE fv fv32_sigmoid(fv x) {
    fv_logi L = fv_logistic(fv_absc(x, FV32_TMAX));
    fv neg = fv_scale(L, L.Y);
    fv pos = fv_fnma(L.A, L.Y, fv_set(1.0f));
    return fv_sel(fv_lt(x, fv_set(0.0f)), neg, pos);
}

/* softplus' at beta = 1 */
FA_INLINE fv fv32_softplus_grad(fv x) { return fv32_sigmoid(x); }

/* sigma(t) sigma(-t) = u - u^2 */
FA_INLINE fv fv32_sigmoid_grad(fv x) {
    fv_logi L = fv_logistic(fv_absc(x, FV32_TMAX));
    fv u = fv_scale(L, L.Y);
    return fv_fnma(u, u, u);
}

/* tanh: for a = |x| >= 0.625, 1 - 2 sigma(-2a) = 1 - 2 A Y in one rounding
 * (2 A Y <= 0.45: Y's half ULP weighs at most 0.8 of the result's); below,
 * a + a z P(z), z = a^2, P least squares on [0, 0.625] (4.7e-9 of the
 * result), rounded once.  The small arm's a is clamped too, so that an
 * infinite x raises nothing there.  x's sign is put back last (-0 stays
 * -0). */
FA_INLINE fv fv32_tanh(fv x) {
    const fv cut = fv_set(0.625f);
    fv a = fv_abs(x);
    fv_logi L = fv_logistic(fv_minc(fv_add(a, a), fv_set(FV32_TMAX)));
    fv big = fv_fnma(fv_add(L.A, L.A), L.Y, fv_set(1.0f));
    fv as = fv_minc(a, cut);
    fv z = fv_mul(as, as);
    fv P = fv_set(-0.0057249353267252445f);
    P = fv_fma(P, z, fv_set(0.02065912075340748f));
    P = fv_fma(P, z, fv_set(-0.053746771067380905f));
    P = fv_fma(P, z, fv_set(0.13331542909145355f));
    P = fv_fma(P, z, fv_set(-0.3333328664302826f));
    fv small = fv_fma(fv_mul(as, z), P, as);
    return fv_or(fv_sel(fv_lt(a, cut), small, big), fv_and(x, fv_set(-0.0f)));
}

/* 1 - tanh^2 = 4 sigma(2|x|) sigma(-2|x|) = 4 A Y (1 - A Y); to first order
 * in c, Y (1 - A Y) = y (1 - A y) + y c (1 - 2 A y), whose first term is one
 * fused multiply-add (A y exact): two roundings, both at the result's scale */
FA_INLINE fv fv32_tanh_grad(fv x) {
    fv t = fv_mul(fv_absc(x, 0.5f * FV32_TMAX), fv_set(2.0f));
    fv_logi L = fv_logistic(t);
    fv Ay = fv_mul(L.A, L.y);
    fv w1 = fv_fnma(Ay, L.y, L.y);
    fv w = fv_fma(fv_mul(L.y, L.c), fv_fnma(Ay, fv_set(2.0f), fv_set(1.0f)), w1);
    return fv_scale(L, fv_mul(w, fv_set(4.0f)));
}

/* sigma(-x) */
FA_INLINE fv fv32_log_sigmoid_grad(fv x) {
    fv_logi L = fv_logistic(fv_absc(x, FV32_TMAX));
    fv u = fv_scale(L, L.Y);
    fv v = fv_fnma(L.A, L.Y, fv_set(1.0f));
    return fv_sel(fv_lt(fv_set(0.0f), x), u, v);
}

/* ---- softplus, log_sigmoid -----------------------------------------------
 * softplus(x) = max(x, 0) + log1p(u), log_sigmoid(x) = min(x, 0) - log1p(u),
 * u = e^-|x| in (0, 1].  u = 2^n (1 + p(r)) as in the logistic core (n =
 * round(-|x| log2 e), rounded once, and once more only if subnormal).  Then
 * log1p(u) without rounding 1 + u: below 1/2, f = u; from 1/2, 1 + u =
 * 2 (1 + f) with f = (u - 1)/2 exact (Sterbenz), and ln 2 added last.  With
 * s = f/(2 + f) (|s| < 0.2),
 *
 *     log1p(f) = f - (f^2/2 - s (f^2/2 + R(s^2))),
 *
 * R(z) = z (c1 + c2 z + c3 z^2 + c4 z^3), least squares for the relative
 * error of R (3e-8; 1e-9 of the result): f is exact and the bracket is at
 * most a fifth of f, so its roundings (s from a reciprocal estimate and one
 * correction) weigh a fifth or less.  |x| is clamped to 110, where u is far
 * below half the least subnormal. */
FA_INLINE fv fv_log1p_exp_neg(fv x) {
    const fv one = fv_set(1.0f), half = fv_set(0.5f);
    fv nt = fv_maxc(fv_or(x, fv_set(-0.0f)), fv_set(-FV32_TMAX));      /* -|x| */
    fv_red e = fv_exp_reduce(nt);
    fv u = fv_ldexp(fv_add(one, fv_expm1_poly(e.r)), e.n);
    fvm big = fv_lt(fv_set(0.5f), u);
    fv f = fv_sel(big, fv_mul(fv_sub(u, one), half), u);
    fv d = fv_add(f, fv_set(2.0f));
    fv y = fv_rcp(d);
    fv s0 = fv_mul(f, y);
    fv s = fv_fma(y, fv_fnma(s0, d, f), s0);                /* f / (2 + f) */
    fv z = fv_mul(s, s);
    fv R = fv_set(0.23404553532600403f);
    R = fv_fma(R, z, fv_set(0.28556692600250244f));
    R = fv_fma(R, z, fv_set(0.39999833703041077f));
    R = fv_fma(R, z, fv_set(0.6666666865348816f));
    R = fv_mul(R, z);
    fv hf = fv_mul(fv_mul(f, f), half);
    fv L = fv_sub(f, fv_fnma(s, fv_add(hf, R), hf));
    return fv_sel(big, fv_add(L, fv_set(0.693147182464599609375f)), L);
}

/* softplus at beta = 1 */
FA_INLINE fv fv32_softplus(fv x) {
    return fv_add(fv_maxc(x, fv_set(0.0f)), fv_log1p_exp_neg(x));
}

/* -(log1p(u) - min(x, 0)), the bracket >= 0: -0 where log1p(u) rounds to 0 */
FA_INLINE fv fv32_log_sigmoid(fv x) {
    fv v = fv_sub(fv_log1p_exp_neg(x), fv_minc(x, fv_set(0.0f)));
    return fv_or(v, fv_set(-0.0f));
}

/* x sigma(t) for t = |x| (SiLU) or 1.702 |x| (gelu_sigmoid), its logistic
 * core L and xs, x clamped where the result is x or rounds to -0:
 * x - (xs A) Y for x >= 0 (xs A exact); below, (xs Y) 2^-k, Y's rounding
 * and the product's (2 ULP on all inputs; xs y as an exact pair, rounded
 * once, measured 1 ULP at three operations more).  The sign bit picks the
 * arm, so -0 gives -0. */
FA_INLINE fv fv_glu(fv x, fv xs, fv_logi L) {
    fv pos = fv_fnma(fv_mul(xs, L.A), L.Y, x);
    fv neg = fv_scale(L, fv_mul(xs, L.Y));
    return fv_sel(fv_signm(x), neg, pos);
}

/* silu'(t) = sigma(t) (1 + t sigma(-t)) at t + tl (t = |x|): with u = sigma(-t),
 * silu'(-t) = u q and silu'(t) = 1 - u q, q = 1 - t + t u.  q cancels near
 * the root (t = 1.278): with 1 - t - tl = m + ml exactly to first order
 * (1 - t exact there, Sterbenz; Fast2Sum below t = 1), q1 = m + t A y rounded
 * once (t A exact), and the rest first order in c and tl (tl (1 - u) the low
 * part of t's t u):
 *     W = u q / A = y q1 + y (ml + c (t A y + q1)),
 * rounded once; then u q = W 2^-k (one more rounding only if subnormal) and
 * 1 - u q = 1 - A W in one fused multiply-add, u q being at most 1/2.
 * has_lo is a constant: SiLU has no tl. */
FA_INLINE fv fv_glu_grad(fv x, fv t, fv tl, fv_logi L, int has_lo) {
    const fv one = fv_set(1.0f);
    fv m = fv_sub(one, t);
    fv ml = fv_sub(fv_sub(one, m), t);
    if (has_lo)
        ml = fv_fnma(tl, fv_fnma(L.A, L.Y, one), ml);
    fv tAy = fv_mul(fv_mul(t, L.A), L.y);
    fv q1 = fv_fma(fv_mul(t, L.A), L.y, m);
    fv corr = fv_fma(L.c, fv_add(tAy, q1), ml);
    fv W = fv_fma(L.y, q1, fv_mul(L.y, corr));
    return fv_sel(fv_lt(x, fv_set(0.0f)), fv_scale(L, W), fv_fnma(L.A, W, one));
}

FA_INLINE fv fv32_silu(fv x) {
    fv xs = fv_clampc(x, FV32_TMAX);
    return fv_glu(x, xs, fv_logistic(fv_abs(xs)));
}

FA_INLINE fv fv32_silu_grad(fv x) {
    fv t = fv_absc(x, FV32_TMAX);
    return fv_glu_grad(x, t, t, fv_logistic(t), 0);
}

/* gelu_sigmoid = x sigma(k x), k = 1.702 = KHI + KLO: k |x| = t + tl exactly
 * to first order (FMA), the low part carried into the exponential's
 * reduction, whose relative condition number is t.  |x| is clamped to 64
 * (t < 110): beyond, the result is x, or rounds to -0, and so is the
 * derivative 1 or 0. */
#define FV32_QG_HI 1.70200002193450927734375f
#define FV32_QG_LO -2.1934509319976314e-08f
FA_INLINE fv_logi fv_qg(fv a, fv *t, fv *tl) {
    *t = fv_mul(a, fv_set(FV32_QG_HI));
    *tl = fv_fma(a, fv_set(FV32_QG_LO), fv_fms(a, fv_set(FV32_QG_HI), *t));
    return fv_logistic_lo(*t, *tl);
}

FA_INLINE fv fv32_gelu_sigmoid(fv x) {
    fv t, tl, xs = fv_clampc(x, 64.0f);
    return fv_glu(x, xs, fv_qg(fv_abs(xs), &t, &tl));
}

FA_INLINE fv fv32_gelu_sigmoid_grad(fv x) {
    fv t, tl;
    fv_logi L = fv_qg(fv_absc(x, 64.0f), &t, &tl);
    return fv_glu_grad(x, t, tl, L, 1);
}

/* gelu_tanh = x sigma(t), t = 2u = C a (1 + k a^2) for a = |x| (C = 2 sqrt(2/pi),
 * k = 0.044715), and gelu_tanh'(x) = silu'-like with the slope factor s =
 * a t'(a) = C a (1 + 3k a^2) in place of t.  Both are formed as float pairs
 * (a^2, k a^2, 1 + k a^2 and the two products each with its error), so
 * that t + tl and s + sl are exact to about 2^-44 relative: t's error is
 * amplified t-fold by the exponential, and s's carries into the cancellation
 * 1 - s + s u about gelu_tanh''s root.  a is kept >= 2^-28 in the cubic
 * (nothing there underflows; t = C a to far below half an ULP of sigma) and
 * clamped to 10.9, where t < 110 and the results are x or 1, or round to -0. */
#define FV32_GT_C_HI 1.5957691669464111f
#define FV32_GT_C_LO -4.534068054340423e-08f
#define FV32_GT_K_HI 0.044714998453855515f
#define FV32_GT_K_LO 1.5461444347053543e-09f
#define FV32_GT_3K_HI 0.13414500653743744f
#define FV32_GT_3K_LO -6.537437258202772e-09f
#define FV32_GT_AMAX 10.9f

/* C a (1 + kk a^2) = v + vl, from a^2 = z + zl */
FA_INLINE fv fv_gt_cubic(fv a, fv z, fv zl, float khi, float klo, fv *vl) {
    const fv one = fv_set(1.0f), Khi = fv_set(khi);
    fv p = fv_mul(Khi, z);
    fv pl = fv_fma(fv_set(klo), z, fv_fma(Khi, zl, fv_fms(Khi, z, p)));
    fv wl, w = fv_two_sum(one, p, &wl);
    wl = fv_add(wl, pl);
    fv v = fv_mul(a, w);
    fv l = fv_fma(a, wl, fv_fms(a, w, v));
    fv c = fv_mul(fv_set(FV32_GT_C_HI), v);
    *vl = fv_fma(fv_set(FV32_GT_C_LO), v,
                 fv_fma(fv_set(FV32_GT_C_HI), l, fv_fms(fv_set(FV32_GT_C_HI), v, c)));
    return c;
}

/* a = |x| clamped: *ac = a kept >= 2^-28, a^2 = z + zl, and the logistic
 * core at t + tl */
FA_INLINE fv_logi fv_gt(fv a, fv *ac, fv *z, fv *zl) {
    fv tl, t;
    *ac = fv_maxc(a, fv_set(3.7252902984619141e-9f));
    *z = fv_mul(*ac, *ac);
    *zl = fv_fms(*ac, *ac, *z);
    t = fv_gt_cubic(*ac, *z, *zl, FV32_GT_K_HI, FV32_GT_K_LO, &tl);
    return fv_logistic_lo(t, tl);
}

FA_INLINE fv fv32_gelu_tanh(fv x) {
    fv ac, z, zl;
    fv xs = fv_clampc(x, FV32_GT_AMAX);
    return fv_glu(x, xs, fv_gt(fv_abs(xs), &ac, &z, &zl));
}

FA_INLINE fv fv32_gelu_tanh_grad(fv x) {
    fv ac, z, zl, sl;
    fv_logi L = fv_gt(fv_absc(x, FV32_GT_AMAX), &ac, &z, &zl);
    fv s = fv_gt_cubic(ac, z, zl, FV32_GT_3K_HI, FV32_GT_3K_LO, &sl);
    return fv_glu_grad(x, s, sl, L, 1);
}

/* ---- mish ----------------------------------------------------------------
 * mish = x tanh(softplus(x)) = x N/(N + 2), N = E (E + 2), E = e^x.  On the
 * logistic core at t = |x| (e^t = 2^k P, P = 1 + p, A = 2^-k, S = P + A =
 * D + Dl exactly), with numerator and denominator multiplied through:
 *
 *     x >= 0 (E = P/A):  mish = x - 2 x A^2 / Q,      Q = S^2 + A^2,
 *     x <  0 (E = A/P):  mish = x A M / R,            M = S + P = 2 + A + 2p,
 *                                                     R = S^2 + P^2,
 *
 * sums of positive terms, Q and R formed as pairs (to about 2^-40).  For
 * x >= 0 the subtrahend is at most 2/5 of x (at 0), rounded once, so its
 * rounding weighs at most 2/3 of the result's; 2 x A^2 is exact (x clamped
 * to 110).  For x < 0, M is an exact pair, x M a pair, and the quotient
 * x M / R rounded once from the reciprocal estimate and its residual, then
 * scaled by 2^-k.  |x| is clamped to 110, where mish(x) rounds to -0. */
typedef struct {
    fv_logi L;
    fv xs, S, Sl, S2l;            /* x clamped; S = 1 + A + p, 2 S Sl */
    fv Q, Ql;                     /* x >= 0: S^2 + A^2 as a pair */
    fv Ph, Pl, PP, PPl, M, Ml, R, Rl; /* x < 0: P, P^2, M, R as pairs */
} fv_mish_t;

FA_INLINE fv_mish_t fv_mish_parts(fv x) {
    const fv one = fv_set(1.0f), two = fv_set(2.0f);
    fv_mish_t o;
    o.xs = fv_clampc(x, FV32_TMAX);
    o.L = fv_logistic(fv_abs(o.xs));
    o.S = o.L.D;
    o.Sl = o.L.Dl;
    o.S2l = fv_mul(fv_add(o.S, o.S), o.Sl);
    /* M = (2 + A) + 2p as an exact pair */
    fv m0l, m0 = fv_fast_two_sum(two, o.L.A, &m0l);
    o.M = fv_fast_two_sum(m0, fv_add(o.L.p, o.L.p), &o.Ml);
    o.Ml = fv_add(o.Ml, m0l);
    /* R = S^2 + P^2 = R + Rl: P = Ph + Pl exactly, P^2 = PP + PPl and
     * S^2 = SS + SSl to first order, SS + PP by Fast2Sum (S >= P) */
    o.Ph = fv_fast_two_sum(one, o.L.p, &o.Pl);
    o.PP = fv_mul(o.Ph, o.Ph);
    o.PPl = fv_fma(fv_add(o.Ph, o.Ph), o.Pl, fv_fms(o.Ph, o.Ph, o.PP));
    fv SS = fv_mul(o.S, o.S);
    fv SSl = fv_add(fv_fms(o.S, o.S, SS), o.S2l);
    o.R = fv_fast_two_sum(SS, o.PP, &o.Rl);
    o.Rl = fv_add(o.Rl, fv_add(SSl, o.PPl));
    /* Q = S^2 + A^2 = Q + Ql the same way (A^2 exact, or 0 when tiny) */
    fv AA = fv_mul(o.L.A, o.L.A);
    o.Q = fv_fast_two_sum(SS, AA, &o.Ql);
    o.Ql = fv_add(o.Ql, SSl);
    return o;
}

/* n/(d + dl) for d + dl > 0, from the reciprocal estimate and the residual of
 * n + nl: rounded once */
FA_INLINE fv fv_div_pair(fv n, fv nl, fv d, fv dl) {
    fv y = fv_rcp(d);
    fv q0 = fv_mul(n, y);
    return fv_fma(y, fv_fnma(q0, dl, fv_add(fv_fnma(q0, d, n), nl)), q0);
}

FA_INLINE fv fv32_mish(fv x) {
    fv_mish_t m = fv_mish_parts(x);
    fv_logi L = m.L;
    fv xAA = fv_mul(fv_mul(m.xs, L.A), fv_add(L.A, L.A));      /* 2 x A^2 */
    fv pos = fv_sub(x, fv_div_pair(xAA, fv_set(0.0f), m.Q, m.Ql));
    fv N = fv_mul(m.xs, m.M);
    fv Nl = fv_fma(m.xs, m.Ml, fv_fms(m.xs, m.M, N));
    /* x < 0 gives a negative result, and -0 keeps its sign */
    fv neg = fv_or(fv_scale(L, fv_div_pair(N, Nl, m.R, m.Rl)), fv_set(-0.0f));
    return fv_sel(fv_signm(x), neg, pos);
}

/* mish' = tanh(s) + x sech^2(s) sigma(x) (s = softplus(x)), in the terms
 * above:
 *     x >= 0:  1 - G (1 - h),   G = 2 A^2/Q <= 2/5,  h = 2 x P S/Q,
 *     x <  0:  A B / R^2,       B = M R + 4 x S P^2,
 * B cancelling about the root (x = -1.19): M R and 4 x S P^2 are formed as
 * pairs from the pairs M, R, S, P, their sum a pair too, and B/R^2 rounded
 * once from the pairs, then scaled by 2^-k. */
FA_INLINE fv fv32_mish_grad(fv x) {
    const fv one = fv_set(1.0f);
    fv_mish_t m = fv_mish_parts(x);
    fv_logi L = m.L;
    const fv zero = fv_set(0.0f);
    fv G = fv_div_pair(fv_mul(fv_add(L.A, L.A), L.A), zero, m.Q, m.Ql);
    fv h = fv_div_pair(fv_mul(fv_add(m.xs, m.xs), fv_mul(m.Ph, m.S)), zero, m.Q, m.Ql);
    fv pos = fv_fma(G, fv_sub(h, one), one);
    /* T1 = M R */
    fv T1 = fv_mul(m.M, m.R);
    fv T1l = fv_fma(m.M, m.Rl, fv_fma(m.Ml, m.R, fv_fms(m.M, m.R, T1)));
    /* U = S P^2 */
    fv U = fv_mul(m.S, m.PP);
    fv Ul = fv_fma(m.S, m.PPl, fv_fma(m.Sl, m.PP, fv_fms(m.S, m.PP, U)));
    /* T2 = 4 x U (x < 0) */
    fv x4 = fv_mul(m.xs, fv_set(4.0f));
    fv T2 = fv_mul(x4, U);
    fv T2l = fv_fma(x4, Ul, fv_fms(x4, U, T2));
    /* B = T1 + T2 as a pair (two-sum: either may be the larger) */
    fv Bl, B = fv_two_sum(T1, T2, &Bl);
    Bl = fv_add(Bl, fv_add(T1l, T2l));
    fv RR = fv_mul(m.R, m.R);
    fv RRl = fv_fma(fv_add(m.R, m.R), m.Rl, fv_fms(m.R, m.R, RR));
    fv neg = fv_scale(L, fv_div_pair(B, Bl, RR, RRl));
    return fv_sel(fv_signm(x), neg, pos);
}

/* ---- SELU', ELU', CELU' ------------------------------------------------------
 * SELU': lambda for x > 0, C e^x below (C = lambda alpha, a float pair Chi + Clo).
 * With n = round(x log2 e), r = x - n ln2 (exact in its high part, the low
 * part d carried to first order) and e^r = 1 + r + w:
 *     C e^x = 2^n (Chi + [Chi r + Chi (w + d) + Clo (1 + r)]),
 * the bracket's roundings at most half its size: one rounding after Chi,
 * one more only if the result is subnormal.  x is clamped to -110, where
 * C e^x is far below half the least subnormal. */
FA_INLINE fv fv_scaled_exp(fv x, float chi, float clo) {
    const fv Chi = fv_set(chi);
    fv_red R = fv_exp_reduce(fv_maxc(fv_minc(x, fv_set(0.0f)), fv_set(-FV32_TMAX)));
    fv wd = fv_fma(fv_mul(R.r, R.r), fv_expm1_q(R.r), R.d);
    fv lo = fv_fma(fv_set(clo), R.r, fv_set(clo));
    fv V = fv_add(Chi, fv_fma(Chi, R.r, fv_fma(Chi, wd, lo)));
    return fv_ldexp(V, R.n);
}

/* at alpha = 1 (the vector kernels' parameters are PyTorch's defaults):
 * elu' = celu' = 1 for x > 0, e^x below */
FA_INLINE fv fv32_elu_grad(fv x) {
    return fv_sel(fv_lt(fv_set(0.0f), x), fv_set(1.0f), fv_scaled_exp(x, 1.0f, 0.0f));
}
FA_INLINE fv fv32_celu_grad(fv x) { return fv32_elu_grad(x); }

FA_INLINE fv fv32_selu_grad(fv x) {
    fv e = fv_scaled_exp(x, 1.7580993175506592f, 2.3296717444054593e-08f);
    return fv_sel(fv_lt(fv_set(0.0f), x), fv_set(1.0507010221481323f), e);
}

/* ---- ELU, SELU, CELU ----------------------------------------------------------
 * expm1(x) for x <= 0 (clamped to -30, where it rounds to -1): with n =
 * round(x log2 e), r + d = x - n ln2 (r rounded, d its low part) and
 * P = r + (r^2 q(r) + d) = e^(r + d) - 1 rounded once,
 *
 *     expm1(x) = (2^n - 1) + 2^n P,
 *
 * 2^n - 1 exact (n >= -24, else it rounds to -1 as the result does) and
 * 2^n P a shift: one fused multiply-add, P's rounding weighing at most
 * 3/4 of the result's (n = 0: P is the result).  SELU's lambda alpha = Chi +
 * Clo multiplies as Chi (2^n - 1) = h + l exactly, then h + [Chi 2^n P + l +
 * Clo expm1(x)] rounded once more.  x > 0 returns x itself (lambda x for
 * SELU, as Lhi x + Llo x rounded once); -0 gives +0, as in float64. */
typedef struct { fv tn, P; } fv_em1;     /* expm1 = (tn - 1) + tn P */

FA_INLINE fv_em1 fv_expm1_parts(fv x) {
    fv_em1 o;
    fv_red R = fv_exp_reduce(fv_maxc(fv_minc(x, fv_set(0.0f)), fv_set(-30.0f)));
    o.P = fv_add(R.r, fv_fma(fv_mul(R.r, R.r), fv_expm1_q(R.r), R.d));
    o.tn = fv_exp2i(R.n, 126);
    return o;
}

/* at alpha = 1 (PyTorch's defaults): elu = celu = x for x >= 0, expm1(x)
 * below */
FA_INLINE fv fv32_elu(fv x) {
    fv_em1 E = fv_expm1_parts(x);
    fv em = fv_fma(E.tn, E.P, fv_sub(E.tn, fv_set(1.0f)));
    return fv_sel(fv_lt(fv_set(0.0f), x), x, em);
}
FA_INLINE fv fv32_celu(fv x) { return fv32_elu(x); }

FA_INLINE fv fv32_selu(fv x) {
    const fv Chi = fv_set(1.7580993175506592f), Clo = fv_set(2.3296717444054593e-08f);
    /* lambda = Lhi + Llo, Lhi rounded down so that Llo > 0: at x = +-inf
     * both products have x's sign (no inf - inf, no "invalid") */
    const fv Lhi = fv_set(1.0507009029388428f), Llo = fv_set(8.441664078873146e-08f);
    fv_em1 E = fv_expm1_parts(x);
    fv tm1 = fv_sub(E.tn, fv_set(1.0f));
    fv h = fv_mul(Chi, tm1);
    fv l = fv_fms(Chi, tm1, h);                          /* Chi (2^n - 1) = h + l */
    fv em = fv_fma(E.tn, E.P, tm1);
    fv neg = fv_add(h, fv_fma(fv_mul(Chi, E.tn), E.P, fv_fma(Clo, em, l)));
    fv pos = fv_fma(Lhi, x, fv_mul(Llo, x));
    return fv_sel(fv_lt(fv_set(0.0f), x), pos, neg);
}

/* ---- GELU ------------------------------------------------------------------
 * Both kernels are e^(-a^2/2) T(a), a = |x|, with T one of the piecewise
 * polynomials of fa_gelu32.h (32 intervals by the bits of a + 1, degree 5 in
 * s = a - c_j, coefficients from two-register permutes):
 *
 *     gelu  = max(x, 0) - e G(a)          (G = a Phi(-a) e^(a^2/2))
 *     gelu' = e D(a) for x < 0, 1 - e D(a) for x >= 0
 *
 * so nothing cancels but x - eG for x > 0, where eG < gelu (eG -> x/2 as
 * x -> 0), and no erf, division or table of e^x is needed.  -a^2/2 = hh + ll
 * exactly (a (-a/2) and its FMA residual); with n = round(hh log2 e) the
 * reduction r = -a^2/2 - n ln2 is exact in its high part, and the low parts
 * (ll, the ln2 tail) join it in one rounding: e^(-a^2/2) = 2^n (1 + r + w),
 * w = r^2 q(r).  gelu takes T = c0 + s q1 rounded once and T + T (e^r - 1)
 * rounded once (2 ULP on all inputs; the exact pairs of gelu' below measured
 * 1 ULP there, at 20% more time).  For gelu', the product with T (c0 the
 * table's constant term, which the generator places on a float32) is
 * c0 + [c0 r + c0 w + s q1 e^r], q1 e^r kept as a pair q1e + q1l: the
 * bracket's roundings are at most half its size, so the result is c0 plus
 * the bracket rounded once, then scaled by 2^n in one more rounding only if
 * subnormal (fv_gelu_core returns that product, N).  On the first interval
 * c0 = 0 and c_0 = 0: G is s q1(s) with s = |x| itself (not floored below
 * like a), so eG keeps its relative accuracy down to the least subnormal x.
 * About gelu' zero, where c0 is tiny, N = s q1 e^r + c0 e^r, rounded once.
 * The polynomials' own error is below 2^-27 relative (gelu' : against
 * max(|gelu'|, 2^-6) about its zero, where the centres are the zero).
 *
 * x is clamped to [-14.75, 9] first: below, gelu and gelu' are far below half the
 * least subnormal; above, e G and e D are below half an ULP of the result (and
 * stay normal, so nothing raises "underflow").  a is kept >= 2^-28 for the
 * same reason (e^(-a^2/2) = 1 there). */
FA_INLINE fv fv_gelu_core(fv a, fv as, const float (*T)[32], int rooted) {
    const fv magic = fv_set(FV32_MAGIC);
    /* the interval, as fa_gelu32.h stores it: the permutes read the low
     * five bits */
    fvi j = fvi_srl20(fv_bits(fv_add(a, fv_set(1.0f))));
    /* exact: Sterbenz, and as itself on the first interval (centre 0) */
    fv s = fv_sub(as, fv_lookup32(T[0], j));
    fv q1 = fv_lookup32(T[6], j);
    q1 = fv_fma(q1, s, fv_lookup32(T[5], j));
    q1 = fv_fma(q1, s, fv_lookup32(T[4], j));
    q1 = fv_fma(q1, s, fv_lookup32(T[3], j));
    q1 = fv_fma(q1, s, fv_lookup32(T[2], j));            /* T = c0 + s q1 */
    fv c0 = fv_lookup32(T[1], j);
    /* -a^2/2 = hh + ll exactly (a/2 exact), and r = -a^2/2 - n ln2 rounded
     * once: its high part exact, the low parts (ll, the ln2 tail) added */
    fv an = fv_mul(a, fv_set(-0.5f));
    fv hh = fv_mul(a, an);
    fv ll = fv_fms(a, an, hh);
    fv n = fv_sub(fv_fma(hh, fv_set(FV32_LOG2E), magic), magic);
    fv r1 = fv_fnma(n, fv_set(FV32_LN2_HI), hh);        /* exact */
    fv r = fv_add(r1, fv_fnma(n, fv_set(FV32_LN2_LO), ll));
    fv rr = fv_mul(r, r), q = fv_expm1_q(r);
    if (!rooted) {
        /* gelu: T rounded, then T e^r */
        fv T = fv_fma(s, q1, c0);
        fv Er = fv_fma(rr, q, r);
        return fv_ldexp(fv_fma(T, Er, T), n);
    }
    fv w = fv_mul(rr, q);
    fv Er = fv_add(r, w);                                /* e^r - 1 */
    /* q1 e^r = q1e + q1l, the low part exact to first order (q1 - q1e is
     * exact: e^r is within a factor 1.5 of 1), so that s q1 e^r is rounded
     * once, in V */
    fv q1e = fv_fma(q1, Er, q1);
    fv q1l = fv_fma(q1, Er, fv_sub(q1, q1e));
    fv V = fv_add(c0, fv_fma(s, q1e, fv_fma(s, q1l, fv_fma(c0, r, fv_mul(c0, w)))));
    if (rooted) {
        /* centred on gelu's zero, c0 is tiny and s q1 the whole: one
         * rounding after the product */
        fv Vr = fv_fma(s, q1e, fv_fma(s, q1l, fv_fma(c0, Er, c0)));
        V = fv_sel(fv_lt(fv_abs(c0), fv_set(0x1p-20f)), Vr, V);
    }
    return fv_ldexp(V, n);
}

/* |x| clamped to [-14.75, 9] (NaN stays NaN) */
FA_INLINE fv fv_gelu_abs(fv x) {
    return fv_abs(fv_maxc(fv_minc(x, fv_set(9.0f)), fv_set(-14.75f)));
}

FA_INLINE fv fv_gelu_a(fv au) {
    return fv_maxc(au, fv_set(3.7252902984619141e-9f));       /* 2^-28 */
}

FA_INLINE fv fv32_gelu(fv x) {
    fv au = fv_gelu_abs(x);
    fv N = fv_gelu_core(fv_gelu_a(au), au, FA_GELU32_FWD, 0);
    /* max(x, -0) keeps x (+0, NaN) unless -0 is greater: -0 - N then gives
     * the sign of x to -0 and to an x < 0 whose result underflows */
    return fv_sub(fv_maxc(x, fv_set(-0.0f)), N);
}

FA_INLINE fv fv32_gelu_grad(fv x) {
    fv a = fv_gelu_a(fv_gelu_abs(x));
    fv N = fv_gelu_core(a, a, FA_GELU32_GRAD, 1);
    return fv_sel(fv_lt(x, fv_set(0.0f)), N, fv_sub(fv_set(1.0f), N));
}

#endif /* FV_WIDTH */

/* ---- the loops ------------------------------------------------------------
 * FA32V_UNARY(name): fa32v_<name>(x, sx, out, so, n) calling fv32_<name>,
 * or fa32_<name> without a vector layer; FA32V_BACKWARD(name):
 * fa32v_<name>_backward(g, sg, x, sx, out, so, n) = g f'(x), f' from
 * fv32_<name>_grad (fa32_<name>_grad).  Blocks of FA32V_BLOCK elements are
 * gathered for strided operands.  A parameterized function's kernels have
 * its defaults built in; the scalar fallback is handed them after the name:
 * FA32V_UNARY(elu_grad, 1.0). */
#define FA32V_BLOCK 512

#if FV_WIDTH
#define FA32V_CONTIG1(name, ...)                                              \
    static void fa32v_c_##name(const float *x, float *o, npy_intp n) {        \
        npy_intp i = 0;                                                       \
        for (; i + 2 * FV_WIDTH <= n; i += 2 * FV_WIDTH) {                    \
            fv a = fv32_##name(fv_load(x + i));                               \
            fv b = fv32_##name(fv_load(x + i + FV_WIDTH));                    \
            fv_store(o + i, a);                                               \
            fv_store(o + i + FV_WIDTH, b);                                    \
        }                                                                     \
        for (; i + FV_WIDTH <= n; i += FV_WIDTH)                              \
            fv_store(o + i, fv32_##name(fv_load(x + i)));                     \
        if (i < n) {                                                          \
            float bx[FV_WIDTH] = {0}, bo[FV_WIDTH];                           \
            memcpy(bx, x + i, (size_t)(n - i) * 4);                           \
            fv_store(bo, fv32_##name(fv_load(bx)));                           \
            memcpy(o + i, bo, (size_t)(n - i) * 4);                           \
        }                                                                     \
    }
#define FA32V_CONTIG2(name, ...)                                              \
    static void fa32v_c_##name##_backward(const float *g, const float *x,     \
                                          float *o, npy_intp n) {             \
        npy_intp i = 0;                                                       \
        for (; i + 2 * FV_WIDTH <= n; i += 2 * FV_WIDTH) {                    \
            fv a = fv32_##name##_grad(fv_load(x + i));                        \
            fv b = fv32_##name##_grad(fv_load(x + i + FV_WIDTH));             \
            fv_store(o + i, fv_mul(fv_load(g + i), a));                       \
            fv_store(o + i + FV_WIDTH, fv_mul(fv_load(g + i + FV_WIDTH), b)); \
        }                                                                     \
        for (; i + FV_WIDTH <= n; i += FV_WIDTH)                              \
            fv_store(o + i, fv_mul(fv_load(g + i),                            \
                                   fv32_##name##_grad(fv_load(x + i))));      \
        if (i < n) {                                                          \
            float bg[FV_WIDTH] = {0}, bx[FV_WIDTH] = {0}, bo[FV_WIDTH];       \
            memcpy(bg, g + i, (size_t)(n - i) * 4);                           \
            memcpy(bx, x + i, (size_t)(n - i) * 4);                           \
            fv_store(bo, fv_mul(fv_load(bg), fv32_##name##_grad(fv_load(bx))));\
            memcpy(o + i, bo, (size_t)(n - i) * 4);                           \
        }                                                                     \
    }
#else
#define FA32V_CONTIG1(name, ...)                                              \
    static void fa32v_c_##name(const float *x, float *o, npy_intp n) {        \
        npy_intp i;                                                           \
        for (i = 0; i < n; i++) o[i] = fa32_##name(x[i], ##__VA_ARGS__);      \
    }
#define FA32V_CONTIG2(name, ...)                                              \
    static void fa32v_c_##name##_backward(const float *g, const float *x,     \
                                          float *o, npy_intp n) {             \
        npy_intp i;                                                           \
        for (i = 0; i < n; i++)                                               \
            o[i] = g[i] * fa32_##name##_grad(x[i], ##__VA_ARGS__);            \
    }
#endif

#define FA32V_UNARY(name, ...)                                                \
    FA32V_CONTIG1(name, ##__VA_ARGS__)                                        \
    static void fa32v_##name(char *px, npy_intp sx, char *po, npy_intp so,    \
                             npy_intp n) {                                    \
        float bx[FA32V_BLOCK], bo[FA32V_BLOCK];                               \
        npy_intp i, j, m;                                                     \
        if (sx == 4 && so == 4) {                                             \
            fa32v_c_##name((const float *)px, (float *)po, n);                \
            return;                                                           \
        }                                                                     \
        for (i = 0; i < n; i += m) {                                          \
            m = n - i < FA32V_BLOCK ? n - i : FA32V_BLOCK;                    \
            for (j = 0; j < m; j++)                                           \
                memcpy(bx + j, px + (i + j) * sx, 4);                         \
            fa32v_c_##name(bx, bo, m);                                        \
            for (j = 0; j < m; j++)                                           \
                memcpy(po + (i + j) * so, bo + j, 4);                         \
        }                                                                     \
    }

#define FA32V_BACKWARD(name, ...)                                             \
    FA32V_CONTIG2(name, ##__VA_ARGS__)                                        \
    static void fa32v_##name##_backward(char *pg, npy_intp sg, char *px,      \
                                        npy_intp sx, char *po, npy_intp so,   \
                                        npy_intp n) {                         \
        float bg[FA32V_BLOCK], bx[FA32V_BLOCK], bo[FA32V_BLOCK];              \
        npy_intp i, j, m;                                                     \
        if (sg == 4 && sx == 4 && so == 4) {                                  \
            fa32v_c_##name##_backward((const float *)pg, (const float *)px,   \
                                      (float *)po, n);                        \
            return;                                                           \
        }                                                                     \
        for (i = 0; i < n; i += m) {                                          \
            m = n - i < FA32V_BLOCK ? n - i : FA32V_BLOCK;                    \
            for (j = 0; j < m; j++) {                                         \
                memcpy(bg + j, pg + (i + j) * sg, 4);                         \
                memcpy(bx + j, px + (i + j) * sx, 4);                         \
            }                                                                 \
            fa32v_c_##name##_backward(bg, bx, bo, m);                         \
            for (j = 0; j < m; j++)                                           \
                memcpy(po + (i + j) * so, bo + j, 4);                         \
        }                                                                     \
    }

/* instantiated by the generated module, for the registry's float32_vector
 * kinds (fastact/_codegen.py) */

#endif
