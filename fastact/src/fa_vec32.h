/*
 * fa_vec32.h -- a thin layer of float32 vector operations, so that the
 * single-precision kernels (fa_kernels32v.h) are written once and compiled
 * at each SIMD level's full width: 16 lanes with AVX-512 (the avx512 build),
 * 8 with AVX2 and FMA (the avx2 build).  Other targets (the x86-64 baseline,
 * ARM for now) define FV_WIDTH 0 and the kernels' loops call the scalar
 * float32 kernels instead (fa_kernels32.h).
 *
 * Why not plain C: GCC vectorizes the scalar kernels, but it has no way to
 * say "reciprocal estimate" or "integer bits of a float lane", and the
 * kernels here are built on both; the vector types keep every step in
 * registers.
 *
 * Everything is quiet: comparisons use ordered, non-signalling predicates,
 * min/max are written so that a NaN operand comes through (x86 returns the
 * second operand when either is NaN), and integers are taken from the bits of
 * a float, never by conversion (cvtps2dq raises "invalid" on NaN).
 */
#ifndef FA_VEC32_H
#define FA_VEC32_H
#include <stdint.h>
#include "fa_port.h"

#if defined(__AVX512F__) && defined(__AVX512DQ__)
#include <immintrin.h>
#define FV_WIDTH 16
typedef __m512 fv;
typedef __m512i fvi;
typedef __mmask16 fvm;

FA_INLINE fv fv_set(float a) { return _mm512_set1_ps(a); }
FA_INLINE fv fv_load(const float *p) { return _mm512_loadu_ps(p); }
FA_INLINE void fv_store(float *p, fv a) { _mm512_storeu_ps(p, a); }
FA_INLINE fv fv_add(fv a, fv b) { return _mm512_add_ps(a, b); }
FA_INLINE fv fv_sub(fv a, fv b) { return _mm512_sub_ps(a, b); }
FA_INLINE fv fv_mul(fv a, fv b) { return _mm512_mul_ps(a, b); }
/* a b + c, c - a b and a b - c, rounded once */
FA_INLINE fv fv_fma(fv a, fv b, fv c) { return _mm512_fmadd_ps(a, b, c); }
FA_INLINE fv fv_fnma(fv a, fv b, fv c) { return _mm512_fnmadd_ps(a, b, c); }
FA_INLINE fv fv_fms(fv a, fv b, fv c) { return _mm512_fmsub_ps(a, b, c); }
FA_INLINE fv fv_abs(fv a) { return _mm512_abs_ps(a); }
FA_INLINE fv fv_or(fv a, fv b) { return _mm512_or_ps(a, b); }
FA_INLINE fv fv_and(fv a, fv b) { return _mm512_and_ps(a, b); }
/* min(a, c) and max(a, c) for a constant c: a NaN a comes out as itself */
FA_INLINE fv fv_minc(fv a, fv c) { return _mm512_min_ps(c, a); }
FA_INLINE fv fv_maxc(fv a, fv c) { return _mm512_max_ps(c, a); }
/* 1/a with a relative error below 2^-14 (rcp14) */
FA_INLINE fv fv_rcp(fv a) { return _mm512_rcp14_ps(a); }
FA_INLINE fvm fv_lt(fv a, fv b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
/* the lanes whose sign bit is set (-0 and negative NaNs too) */
FA_INLINE fvm fv_signm(fv a) { return _mm512_movepi32_mask(_mm512_castps_si512(a)); }
/* m ? a : b, lane by lane */
FA_INLINE fv fv_sel(fvm m, fv a, fv b) { return _mm512_mask_blend_ps(m, b, a); }
FA_INLINE fvi fv_bits(fv a) { return _mm512_castps_si512(a); }
FA_INLINE fv fv_frombits(fvi a) { return _mm512_castsi512_ps(a); }
FA_INLINE fvi fvi_set(int32_t a) { return _mm512_set1_epi32(a); }
FA_INLINE fvi fvi_sub(fvi a, fvi b) { return _mm512_sub_epi32(a, b); }
FA_INLINE fvi fvi_min(fvi a, fvi b) { return _mm512_min_epi32(a, b); }
FA_INLINE fvi fvi_shl23(fvi a) { return _mm512_slli_epi32(a, 23); }
FA_INLINE fvi fvi_sra1(fvi a) { return _mm512_srai_epi32(a, 1); }
FA_INLINE fvi fvi_srl20(fvi a) { return _mm512_srli_epi32(a, 20); }
/* t[j] lane by lane for a table of 32 (only j's low 5 bits count) */
FA_INLINE fv fv_lookup32(const float *t, fvi j) {
    return _mm512_permutex2var_ps(_mm512_loadu_ps(t), j, _mm512_loadu_ps(t + 16));
}
/* a 2^m for integer-valued m in [-160, 0] (or NaN), rounded once, also
 * into the subnormals */
FA_INLINE fv fv_ldexp(fv a, fv m) { return _mm512_scalef_ps(a, m); }

#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define FV_WIDTH 8
typedef __m256 fv;
typedef __m256i fvi;
typedef __m256 fvm;

FA_INLINE fv fv_set(float a) { return _mm256_set1_ps(a); }
FA_INLINE fv fv_load(const float *p) { return _mm256_loadu_ps(p); }
FA_INLINE void fv_store(float *p, fv a) { _mm256_storeu_ps(p, a); }
FA_INLINE fv fv_add(fv a, fv b) { return _mm256_add_ps(a, b); }
FA_INLINE fv fv_sub(fv a, fv b) { return _mm256_sub_ps(a, b); }
FA_INLINE fv fv_mul(fv a, fv b) { return _mm256_mul_ps(a, b); }
FA_INLINE fv fv_fma(fv a, fv b, fv c) { return _mm256_fmadd_ps(a, b, c); }
FA_INLINE fv fv_fnma(fv a, fv b, fv c) { return _mm256_fnmadd_ps(a, b, c); }
FA_INLINE fv fv_fms(fv a, fv b, fv c) { return _mm256_fmsub_ps(a, b, c); }
FA_INLINE fv fv_abs(fv a) {
    return _mm256_and_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)));
}
FA_INLINE fv fv_or(fv a, fv b) { return _mm256_or_ps(a, b); }
FA_INLINE fv fv_and(fv a, fv b) { return _mm256_and_ps(a, b); }
FA_INLINE fv fv_minc(fv a, fv c) { return _mm256_min_ps(c, a); }
FA_INLINE fv fv_maxc(fv a, fv c) { return _mm256_max_ps(c, a); }
/* AVX2's estimate has only 12 bits (one correction would leave 2^-24): a
 * correctly rounded division (rcpps and a Newton step measured 5% slower) */
FA_INLINE fv fv_rcp(fv a) { return _mm256_div_ps(_mm256_set1_ps(1.0f), a); }
FA_INLINE fvm fv_lt(fv a, fv b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
/* blendv looks at the sign bit only: the value is its own mask */
FA_INLINE fvm fv_signm(fv a) { return a; }
FA_INLINE fv fv_sel(fvm m, fv a, fv b) { return _mm256_blendv_ps(b, a, m); }
FA_INLINE fvi fv_bits(fv a) { return _mm256_castps_si256(a); }
FA_INLINE fv fv_frombits(fvi a) { return _mm256_castsi256_ps(a); }
FA_INLINE fvi fvi_set(int32_t a) { return _mm256_set1_epi32(a); }
FA_INLINE fvi fvi_sub(fvi a, fvi b) { return _mm256_sub_epi32(a, b); }
FA_INLINE fvi fvi_min(fvi a, fvi b) { return _mm256_min_epi32(a, b); }
FA_INLINE fvi fvi_shl23(fvi a) { return _mm256_slli_epi32(a, 23); }
FA_INLINE fvi fvi_sra1(fvi a) { return _mm256_srai_epi32(a, 1); }
FA_INLINE fvi fvi_srl20(fvi a) { return _mm256_srli_epi32(a, 20); }
/* four 8-entry permutes, and bits 3 and 4 of j (moved to the sign) pick */
FA_INLINE fv fv_lookup32(const float *t, fvi j) {
    fv p0 = _mm256_permutevar8x32_ps(_mm256_loadu_ps(t), j);
    fv p1 = _mm256_permutevar8x32_ps(_mm256_loadu_ps(t + 8), j);
    fv p2 = _mm256_permutevar8x32_ps(_mm256_loadu_ps(t + 16), j);
    fv p3 = _mm256_permutevar8x32_ps(_mm256_loadu_ps(t + 24), j);
    fv b3 = _mm256_castsi256_ps(_mm256_slli_epi32(j, 28));
    fv b4 = _mm256_castsi256_ps(_mm256_slli_epi32(j, 27));
    return _mm256_blendv_ps(_mm256_blendv_ps(p0, p1, b3),
                            _mm256_blendv_ps(p2, p3, b3), b4);
}
FA_INLINE fv fv_ldexp(fv a, fv m);      /* below: two exact factors */
#define FV_LDEXP_BY_BITS 1

#else
#define FV_WIDTH 0
#endif

#if FV_WIDTH
/* 2^-k for integer lanes k in [-126, 127]: the exponent field */
FA_INLINE fv fv_pow2neg(fvi k) { return fv_frombits(fvi_shl23(fvi_sub(fvi_set(127), k))); }
#ifdef FV_LDEXP_BY_BITS
/* k = -m as integer lanes, for integer-valued m in [-2^22, 0]: 1.5 2^23 - m
 * holds k in its low bits */
FA_INLINE fvi fv_negint(fv m) {
    const fv magic = fv_set(12582912.0f);
    return fvi_sub(fv_bits(fv_sub(magic, m)), fv_bits(magic));
}
/* a 2^m, m = -k, as (a 2^-k1) 2^-k2, k1 = floor(k/2): both factors normal,
 * the first product exact, so the one rounding (into the subnormals) is the
 * last */
FA_INLINE fv fv_ldexp(fv a, fv m) {
    fvi ki = fvi_min(fv_negint(m), fvi_set(160));
    fvi k1 = fvi_sra1(ki);
    return fv_mul(fv_mul(a, fv_pow2neg(k1)), fv_pow2neg(fvi_sub(ki, k1)));
}
#endif
/* 2^m for integer-valued m <= 0, exactly; below -kmax (kmax <= 126, a
 * constant) 2^-kmax where the exponent field is built from the bits, and
 * 2^m rounded (0 below the subnormals) where the hardware scales */
FA_INLINE fv fv_exp2i(fv m, int kmax) {
#ifdef FV_LDEXP_BY_BITS
    fvi k = fv_negint(m);
    return fv_pow2neg(kmax < 126 ? fvi_min(k, fvi_set(kmax)) : k);
#else
    (void)kmax;
    return fv_ldexp(fv_set(1.0f), m);
#endif
}
#endif

#endif
