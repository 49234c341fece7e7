/*
 * fa_kernels.h -- the scalar kernels of every activation, in double precision.
 *
 * For each registry entry NAME there is fa_NAME(x[, p]) and fa_NAME_grad(x[, p])
 * (the exact GELU's in fa_normal.h, which this file includes);
 * the ufunc loops (generated from fastact/_registry.py) call them for float64,
 * and for float16 (and float32 where the registry lists no float32 kernel of
 * its own, fa_kernels32.h) on the value widened to double and rounded once at
 * the end, so narrow dtypes get (nearly) correctly rounded results for free.
 * Backward is grad_output * fa_NAME_grad(x) in the loop, one product rounding.
 *
 * Rules every kernel follows (CONTRIBUTING.md, "Adding an activation"; the
 * stable forms are explained in docs/guides/stability.rst, and
 * tests/test_special.py and tests/test_kernels_c.py check NaN, the
 * infinities and the floating-point flags):
 *  - branch-free: ternary selects only, so loops vectorize; with
 *    -fno-trapping-math both arms of a select are evaluated for every lane, so
 *    every intermediate stays finite for every finite input (arguments are
 *    clamped where a far tail would overflow);
 *  - NaN in gives NaN out: selects are written so NaN falls through to an arm
 *    that propagates it (`x > 0 ? a : b` sends NaN to b);
 *  - the stable form: exp(-|x|) instead of exp(x), expm1/log1p near 0,
 *    sigma(x)*sigma(-x) instead of s*(1-s), m*e^x rounded once where e^x is
 *    subnormal but the product is not, and arguments of an exponential formed
 *    in double-double where the exponent's rounding error would be amplified
 *    (k*x with k = 1.702, the cubic of gelu_tanh, beta*x, x/alpha).
 */
#ifndef FA_KERNELS_H
#define FA_KERNELS_H
#include "fa_math.h"
#include "fa_roots.h"

/* ---- small helpers ---------------------------------------------------- */

/* min(x, 0) and max(x, 0), keeping NaN */
FA_INLINE double fa_minz(double x) { return x > 0.0 ? 0.0 : x; }
FA_INLINE double fa_maxz(double x) { return x < 0.0 ? 0.0 : x; }
/* clamp keeping NaN */
FA_INLINE double fa_clamp(double x, double lo, double hi) {
    x = x < lo ? lo : x;
    return x > hi ? hi : x;
}
/* v, or NaN when x is NaN (for piecewise-constant derivatives) */
FA_INLINE double fa_nan_or(double x, double v) { return x != x ? x : v; }

/* ---- piecewise-linear family ------------------------------------------ */

FA_INLINE double fa_relu(double x) { return x < 0.0 ? 0.0 : x; }
FA_INLINE double fa_relu_grad(double x) { return x > 0.0 ? 1.0 : fa_nan_or(x, 0.0); }

FA_INLINE double fa_relu6(double x) { return fa_clamp(x, 0.0, 6.0); }
FA_INLINE double fa_relu6_grad(double x) {
    return ((x > 0.0) & (x < 6.0)) ? 1.0 : fa_nan_or(x, 0.0);
}

FA_INLINE double fa_leaky_relu(double x, double a) { return x > 0.0 ? x : a * x; }
FA_INLINE double fa_leaky_relu_grad(double x, double a) {
    return x > 0.0 ? 1.0 : fa_nan_or(x, a);
}

FA_INLINE double fa_prelu(double x, double w) { return fa_leaky_relu(x, w); }
FA_INLINE double fa_prelu_grad(double x, double w) { return fa_leaky_relu_grad(x, w); }

FA_INLINE double fa_hard_sigmoid(double x) {
    /* (x + 3) is exact near the lower corner (Sterbenz), so no cancellation */
    return fa_clamp(x + 3.0, 0.0, 6.0) / 6.0;
}
FA_INLINE double fa_hard_sigmoid_grad(double x) {
    return ((x > -3.0) & (x < 3.0)) ? 1.0 / 6.0 : fa_nan_or(x, 0.0);
}

FA_INLINE double fa_hard_tanh(double x) { return fa_clamp(x, -1.0, 1.0); }
FA_INLINE double fa_hard_tanh_grad(double x) {
    return ((x > -1.0) & (x < 1.0)) ? 1.0 : fa_nan_or(x, 0.0);
}

FA_INLINE double fa_hard_swish(double x) {
    double c = fa_clamp(x, -3.0, 3.0);     /* both arms are evaluated */
    double mid = c * (c + 3.0) / 6.0;
    return x > 3.0 ? x : (x < -3.0 ? 0.0 : mid);
}
FA_INLINE double fa_hard_swish_grad(double x) {
    /* (2x + 3) is exact around the root -1.5 */
    double c = fa_clamp(x, -3.0, 3.0);
    double mid = (2.0 * c + 3.0) / 6.0;
    return x > 3.0 ? 1.0 : (x < -3.0 ? 0.0 : mid);
}

FA_INLINE double fa_softsign(double x) {
    /* clamped so that +-inf gives +-1 instead of inf/inf; the sign of zero
     * is kept */
    double c = fa_clamp(x, -1e300, 1e300);
    return c / (1.0 + fabs(c));
}
FA_INLINE double fa_softsign_grad(double x) {
    /* 1/(1+|x|) squared, never (1+|x|)^2 which overflows for huge |x| */
    double r = 1.0 / (1.0 + fabs(fa_clamp(x, -1e300, 1e300)));
    return r * r;
}

/* ---- exponential linear units ----------------------------------------- */

/* SELU's constants (Klambauer et al.), as PyTorch uses them */
#define FA_SELU_LAMBDA 1.0507009873554804934193349852946
#define FA_SELU_LAMBDA_ALPHA 1.7580993408473768599402175208123  /* lambda * alpha */

FA_INLINE double fa_elu(double x, double alpha) {
    return x > 0.0 ? x : alpha * fa_expm1(fa_minz(x));
}
/* The grads select the multiplier, not the result: for x > 0 the exponential
 * is e^0 = 1 exactly and m e^0 = m.  With the result selected instead
 * (x > 0 ? 1 : alpha e^x), GCC may give the exponential any argument in the
 * lanes it discards, and it merged the clamps so that they got -900: e^-900
 * underflows, and a subnormal product in half the lanes made the loop 1.7x
 * slower (C, n = 4096, one core). */
FA_INLINE double fa_elu_grad(double x, double alpha) {
    return fa_exp_nonpos_mul(x, x > 0.0 ? 1.0 : alpha);
}

FA_INLINE double fa_selu(double x) {
    return x > 0.0 ? FA_SELU_LAMBDA * x : FA_SELU_LAMBDA_ALPHA * fa_expm1(fa_minz(x));
}
FA_INLINE double fa_selu_grad(double x) {
    return fa_exp_nonpos_mul(x, x > 0.0 ? FA_SELU_LAMBDA : FA_SELU_LAMBDA_ALPHA);
}

/* x/alpha for x <= 0 as q + qlo (the division's remainder is exact), with x
 * clamped where e^(x/alpha) has long underflowed, so x/alpha cannot overflow */
FA_INLINE double fa_celu_arg(double x, double alpha, double *qlo) {
    double xm = fa_minz(x);
    double lim = -750.0 * fabs(alpha);
    xm = xm < lim ? lim : xm;
    double q = xm / alpha;
    double plo, p = fa_two_prod(q, alpha, &plo);
    *qlo = ((xm - p) - plo) / alpha;
    return q;
}
FA_INLINE double fa_celu(double x, double alpha) {
    double qlo, q = fa_celu_arg(x, alpha, &qlo);
    /* expm1 is well conditioned for q <= 0: the low part is not needed */
    return x > 0.0 ? x : alpha * fa_expm1(q);
}
FA_INLINE double fa_celu_grad(double x, double alpha) {
    /* for x > 0, q = qlo = 0 and e^0 = 1 exactly: no select (see fa_elu_grad) */
    double qlo, q = fa_celu_arg(x, alpha, &qlo);
    return fa_exp_mul_lo(q, qlo, 1.0);
}

/* ---- sigmoid family ----------------------------------------------------- */
/* With e = exp(-|x|) and r = 1/(1+e): sigma(|x|) = r, sigma(-|x|) = e*r, and
 * sigma(x)*sigma(-x) = e*r*r, none of which can overflow or cancel. */

/* e / (1 + e)^2 for 0 <= e <= 1, i.e. sigma(x) sigma(-x) with e = exp(-|x|):
 * 1 + e as an exact two-term sum, so only e, one square and one division
 * round */
FA_INLINE double fa_logistic_density(double e) {
    double dlo, d = fa_fast_two_sum(1.0, e, &dlo);   /* exact: |1| >= e */
    return e / (d * d) * (1.0 - 2.0 * dlo / d);
}

FA_INLINE double fa_sigmoid(double x) {
    double e = fa_expn(fabs(x)), r = 1.0 / (1.0 + e);
    return x < 0.0 ? e * r : r;
}
FA_INLINE double fa_sigmoid_grad(double x) {
    return fa_logistic_density(fa_expn(fabs(x)));
}

FA_INLINE double fa_log_sigmoid(double x) {
    /* -softplus(-x) = min(x, 0) - log1p(exp(-|x|)) */
    return fa_minz(x) - fa_log1p(fa_expn(fabs(x)));
}
FA_INLINE double fa_log_sigmoid_grad(double x) {
    double e = fa_expn(fabs(x)), r = 1.0 / (1.0 + e);
    return x > 0.0 ? e * r : r;                    /* sigma(-x) */
}

/* tanh itself is fa_tanh from fa_math.h */
FA_INLINE double fa_tanh_grad(double x) {
    /* sech^2 x = 4e/(1+e)^2 with e = exp(-2|x|); 1 - tanh^2 would be 0 from
     * |x| ~ 19 */
    double a = fa_clamp(fabs(x), 0.0, 1000.0);      /* 2|x| must not overflow */
    return 4.0 * fa_logistic_density(fa_expn(2.0 * a));
}

/* |beta*x| as hi + lo, clamped where exp(-|beta x|) is 0 anyway */
FA_INLINE double fa_softplus_arg(double x, double beta, double *lo) {
    double ab = fabs(beta);
    double lim = 1e4 / ab;
    lim = lim > 1e300 ? 1e300 : lim;
    double xa = fabs(x);
    xa = xa > lim ? lim : xa;
    return fa_two_prod(xa, ab, lo);
}
FA_INLINE double fa_softplus(double x, double beta) {
    /* log(1 + e^(bx))/b = max(bx, 0)/b + log1p(e^(-|bx|))/b: exact everywhere,
     * no threshold switch and no overflow */
    double lo, t = fa_softplus_arg(x, beta, &lo);
    double e = fa_expn_mul_lo(t, lo, 1.0);
    double lin = ((x > 0.0) == (beta > 0.0)) ? x : 0.0;
    /* NaN by an explicit select: through the clamps above, whether a NaN x
     * survives depends on how GCC lowers them (at -O1, or at -O3 with beta a
     * constant 1.0 in the scalar loop, it came out as 710.19) */
    return fa_nan_or(x, lin + fa_log1p(e) / beta);
}
FA_INLINE double fa_softplus_grad(double x, double beta) {
    double lo, t = fa_softplus_arg(x, beta, &lo);
    double e = fa_expn_mul_lo(t, lo, 1.0), r = 1.0 / (1.0 + e);
    return (((x > 0.0) == (beta > 0.0)) | (x == 0.0)) ? r : e * r;   /* sigma(bx) */
}

/* ---- gated linear units ------------------------------------------------- */
/* For x < 0 the derivatives below are E (1 + E - T) / (1 + E)^2, with
 * E = exp(-T') a small exponential and T >= 0 (|x|, 1.702|x|, |x| (2u)'):
 * near the root 1 + E - T cancels, so it is formed from T as an exact
 * double-double and 1 - T by an exact two-sum; only E's own rounding is left
 * (the textbook sigma (1 + x sigma(-x)) multiplies sigma(-x)'s rounding by
 * |x| first). */
FA_INLINE double fa_glu_bracket(double E, double Th, double Tl) {
    double mlo, m = fa_two_sum(1.0, -Th, &mlo);          /* 1 - Th exactly */
    double b = (m + E) + (mlo - Tl);
    double dlo, d = fa_fast_two_sum(1.0, E, &dlo);       /* (1 + E) exactly */
    return b / (d * d) * (1.0 - 2.0 * dlo / d);
}

/* For x < 0 these are x * e^x * (...) with e^x subnormal below x ~ -708 while
 * the product is not: the product is formed by fa_exp_mul, rounded once.  The
 * multiplier's x is clamped where the result has underflowed to 0 anyway. */

FA_INLINE double fa_silu(double x) {
    double a = fabs(x), e = fa_expn(a), r = 1.0 / (1.0 + e);
    double xc = fa_clamp(x, -800.0, 0.0);   /* the x < 0 arm's x */
    return x >= 0.0 ? x * r : fa_expn_mul(a, xc * r);
}
FA_INLINE double fa_silu_grad(double x) {
    /* sigma(x) (1 + x sigma(-x)) */
    double a = fabs(x), e = fa_expn(a), r = 1.0 / (1.0 + e);
    double xp = fa_clamp(x, 0.0, 1e300);    /* x * e is 0, not inf * 0, at inf */
    double neg = fa_expn_mul(a, fa_glu_bracket(e, fa_clamp(a, 0.0, 800.0), 0.0));
    return fa_silu_grad_near_root(x, x >= 0.0 ? r * (1.0 + xp * e * r) : neg);
}

/* 1.702 as a double-double: 1.702*|x| must be exact to the last bit before
 * it goes into exp(), whose relative condition number is |1.702 x| */
#define FA_QG_HI 1.702
#define FA_QG_LO 4.263256414560601e-17
FA_INLINE double fa_qg_arg(double x, double *lo) {
    double a = fa_clamp(fabs(x), 0.0, 1000.0);
    double plo, p = fa_two_prod(FA_QG_HI, a, &plo);
    *lo = plo + FA_QG_LO * a;
    return p;
}
FA_INLINE double fa_gelu_sigmoid(double x) {
    double lo, t = fa_qg_arg(x, &lo);
    double e = fa_expn_mul_lo(t, lo, 1.0), r = 1.0 / (1.0 + e);
    double xc = fa_clamp(x, -1000.0, 0.0);  /* the x < 0 arm's x */
    return x >= 0.0 ? x * r : fa_expn_mul_lo(t, lo, xc * r);
}
FA_INLINE double fa_gelu_sigmoid_grad(double x) {
    /* sigma(kx) (1 + kx sigma(-kx)) */
    double lo, t = fa_qg_arg(x, &lo);
    double e = fa_expn_mul_lo(t, lo, 1.0), r = 1.0 / (1.0 + e);
    double neg = fa_expn_mul_lo(t, lo, fa_glu_bracket(e, t, lo));
    return fa_gelu_sigmoid_grad_near_root(x, x >= 0.0 ? r * (1.0 + t * e * r) : neg);
}

FA_INLINE double fa_mish(double x) {
    /* tanh(softplus(x)) = n/(n+2) with n = e^x (e^x + 2); in terms of
     * e = exp(-|x|) that is (1+2e)/(1+2e+2e^2) for x >= 0 and
     * e(e+2)/(e(e+2)+2) for x < 0 -- nothing overflows */
    double a = fabs(x), e = fa_expn(a);
    double n = e * (e + 2.0);
    double xc = fa_clamp(x, -800.0, 0.0);   /* the x < 0 arm's x */
    double pos = x * ((1.0 + 2.0 * e) / (1.0 + 2.0 * e + 2.0 * e * e));
    return x >= 0.0 ? pos : fa_expn_mul(a, xc * (e + 2.0) / (n + 2.0));
}
FA_INLINE double fa_mish_grad(double x) {
    /* tanh(s) + x sech^2(s) sigma(x), s = softplus(x); with w = 1 + e^x,
     * sech^2(s) sigma(x) = 4 w e^x / (w^2 + 1)^2 */
    double a = fabs(x), e = fa_expn(a);
    double xc = fa_clamp(x, -800.0, 0.0);   /* the x < 0 arm's x */
    double xp = fa_clamp(x, 0.0, 1e300);
    double q = 1.0 + 2.0 * e + 2.0 * e * e;         /* x >= 0 */
    double pos = (1.0 + 2.0 * e) / q + xp * (4.0 * (1.0 + e) * e * e / (q * q));
    /* x < 0: e ((e+2) d + 4x(1+e)) / d^2, d = e^2 + 2e + 2; the bracket is
     * 4(1+x) + e (6 + 4x + e (4 + e)) with 1 + x and 6 + 4x exact, so only
     * e's rounding is left where it cancels near the root.  Plain double
     * arithmetic reached 5 ULP near x = -0.28, most of it d's rounding,
     * doubled in d^2: d is formed as an exact pair (d, dlo) and squared with
     * its low part: 3 ULP at most on a dense sample. */
    double s1lo, s1 = fa_two_sum(1.0, xc, &s1lo);
    double s6lo, s6 = fa_two_sum(6.0, 4.0 * xc, &s6lo);
    double br = FA_FMA(e, FA_FMA(e, 4.0 + e, s6), 4.0 * s1 + (4.0 * s1lo + e * s6lo));
    double ec = e > 1e-100 ? e : 1e-100;     /* no underflow in the errors */
#if FA_HAVE_FMA
    /* d = e w + 2 with w = e + 2 = (w, wl) exactly: the fused multiply-add's
     * residual e w + (2 - d) is exact to rounding (2 - d is exact for d in
     * [2, 5]), so the pair costs 7 operations instead of 11 */
    double wl, w = fa_fast_two_sum(2.0, ec, &wl);            /* 2 >= e */
    double d = FA_FMA(ec, w, 2.0);
    double dlo = FA_FMA(ec, wl, FA_FMA(ec, w, 2.0 - d));
#else
    double d2lo, d2 = fa_fast_two_sum(2.0, 2.0 * ec, &d2lo);  /* 2 >= 2e */
    double eelo, ee = fa_two_prod(ec, ec, &eelo);
    double dlo, d = fa_fast_two_sum(d2, ee, &dlo);          /* d2 >= 2 >= ee */
    dlo += d2lo + eelo;
#endif
    double neg = br / FA_FMA(d, d, 2.0 * d * dlo);  /* (d + dlo)^2 */
    return fa_mish_grad_near_root(x, x >= 0.0 ? pos : fa_expn_mul(a, neg));
}

/* gelu_tanh = x sigma(2u), u = sqrt(2/pi) (x + 0.044715 x^3): the form
 * (x/2)(1 + tanh u) cancels for x < 0, and x^3 overflows for huge |x|.
 * 2|u| is formed in double-double (its rounding error would be amplified by
 * exp), from |x| clamped to 1000 where sigma(2u) is already 0 or 1. */
#define FA_GT_C_HI 1.5957691216057308       /* 2 sqrt(2/pi) */
#define FA_GT_C_LO (-9.96930880911092e-17)
#define FA_GT_K_HI 0.044715
#define FA_GT_K_LO 2.1960211427085595e-18
#define FA_GT_3K_HI 0.134145
#define FA_GT_3K_LO 6.58806342812567e-18
FA_INLINE double fa_gt_arg(double a, double *lo) {
    double slo, s = fa_two_prod(a, a, &slo);                 /* a^2 */
    double plo, p = fa_two_prod(FA_GT_K_HI, s, &plo);        /* k a^2 */
    plo += FA_GT_K_HI * slo + FA_GT_K_LO * s;
    double wlo, w = fa_two_sum(1.0, p, &wlo);                /* 1 + k a^2 */
    wlo += plo;
    double vlo, v = fa_two_prod(a, w, &vlo);                 /* a (1 + k a^2) */
    vlo += a * wlo;
    double tlo, t = fa_two_prod(FA_GT_C_HI, v, &tlo);
    *lo = tlo + FA_GT_C_HI * vlo + FA_GT_C_LO * v;
    return t;
}
FA_INLINE double fa_gelu_tanh(double x) {
    double a = fa_clamp(fabs(x), 0.0, 1000.0);
    double lo, t = fa_gt_arg(a, &lo);
    double e = fa_expn_mul_lo(t, lo, 1.0), r = 1.0 / (1.0 + e);
    double xc = fa_clamp(x, -1000.0, 0.0);  /* the x < 0 arm's x */
    return x >= 0.0 ? x * r : fa_expn_mul_lo(t, lo, xc * r);
}
FA_INLINE double fa_gelu_tanh_grad(double x) {
    /* sigma(2u) + x sigma(2u) sigma(-2u) (2u)', (2u)' = C (1 + 3 k x^2) */
    double a = fa_clamp(fabs(x), 0.0, 1000.0);
    double lo, t = fa_gt_arg(a, &lo);
    double e = fa_expn_mul_lo(t, lo, 1.0), r = 1.0 / (1.0 + e);
    /* D = |x| (2u)' = C a (1 + 3k a^2), in double-double for the bracket */
    double slo, sq = fa_two_prod(a, a, &slo);
    double plo, p = fa_two_prod(FA_GT_3K_HI, sq, &plo);
    plo += FA_GT_3K_HI * slo + FA_GT_3K_LO * sq;
    double wlo, w = fa_two_sum(1.0, p, &wlo);
    wlo += plo;
    double vlo, v = fa_two_prod(a, w, &vlo);
    vlo += a * wlo;
    double dlo, d = fa_two_prod(FA_GT_C_HI, v, &dlo);
    dlo += FA_GT_C_HI * vlo + FA_GT_C_LO * v;
    double neg = fa_expn_mul_lo(t, lo, fa_glu_bracket(e, d, dlo));
    return fa_gelu_tanh_grad_near_root(x, x >= 0.0 ? r * (1.0 + d * e * r) : neg);
}

/* ---- exact GELU ---------------------------------------------------------- */
#if defined(__has_include)
#if __has_include("fa_normal.h")
#include "fa_normal.h"
#define FA_HAVE_NORMAL 1
#endif
#endif
#ifndef FA_HAVE_NORMAL
/* fallback through libm's erfc (not vectorizable) */
FA_INLINE double fa_gelu(double x) { return 0.5 * x * erfc(-x * 0.70710678118654752440); }
FA_INLINE double fa_gelu_grad(double x) {
    double a = fa_clamp(x, -40.0, 40.0);
    return 0.5 * erfc(-x * 0.70710678118654752440)
           + x * 0.39894228040143267794 * fa_expn(0.5 * a * a);
}
#endif

#endif
