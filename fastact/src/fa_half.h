/*
 * fa_half.h -- IEEE binary16 <-> binary32/64 conversions, branch-free so the
 * float16 loops vectorize like the others, and blocks of them through F16C
 * where the build has it.  A float16 activation with float32 kernels (the
 * registry's ``float32`` or ``float32_vector``) widens a block of inputs to
 * float32 exactly, runs them and rounds each result once to float16; one
 * without computes in double precision, rounded once to float32, then once
 * to float16.  Either way the float32 step's error (2 ULP at most) is 2^-12
 * of a float16 ULP, far below its 1 ULP bound.
 */
#ifndef FA_HALF_H
#define FA_HALF_H
#include <stdint.h>
#include <string.h>
#include "fa_port.h"

FA_INLINE float fa_bits_f32(uint32_t u) {
    float f; memcpy(&f, &u, 4); return f;
}
FA_INLINE uint32_t fa_f32_bits(float f) {
    uint32_t u; memcpy(&u, &f, 4); return u;
}

/* binary16 -> binary32, exact.  Normal numbers rebias the exponent; subnormals
 * are rebuilt by a float subtraction (exact); inf/NaN keep an all-ones exponent. */
FA_INLINE float fa_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t em = h & 0x7fffu;                       /* exponent and mantissa */
    uint32_t normal = (em << 13) + ((127u - 15u) << 23);
    uint32_t infnan = (em << 13) | 0x7f800000u;
    /* subnormal half: m * 2^-24 = float(0x3f000000 | m<<13)... done exactly as
     * (2^-14 + m*2^-24) - 2^-14 */
    float sub = fa_bits_f32((em << 13) + 0x38800000u) - fa_bits_f32(0x38800000u);
    uint32_t r = em >= 0x7c00u ? infnan : normal;
    r = em < 0x0400u ? fa_f32_bits(sub) : r;
    return fa_bits_f32(r | sign);
}

/* binary32 -> binary16, rounding to nearest even, overflow to inf, NaN kept
 * quiet, gradual underflow. */
FA_INLINE uint16_t fa_float_to_half(float f) {
    uint32_t u = fa_f32_bits(f);
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t a = u & 0x7fffffffu;
    /* normal range: rebias, then round the 13 dropped bits to nearest even
     * by adding 0xfff plus the lowest kept bit; a carry into the exponent is
     * the correct rounding up (up to inf at 65520). */
    uint32_t odd = (a >> 13) & 1u;
    uint32_t normal = (a - ((127u - 15u) << 23) + 0xfffu + odd) >> 13;
    /* below 2^-14: let the float adder round, by adding 0.5 (exponent -1)
     * which aligns the half subnormal quantum 2^-24 with float's last bit. */
    uint32_t sub = fa_f32_bits(fa_bits_f32(a) + 0.5f) - 0x3f000000u;
    uint32_t r = a < 0x38800000u ? sub : normal;
    r = a >= 0x47800000u ? 0x7c00u : r;              /* >= 65536: inf */
    r = a > 0x7f800000u ? (0x7e00u | ((a >> 13) & 0x3ffu)) : r;  /* NaN */
    return (uint16_t)(r | sign);
}

/* n of them at once, through F16C's conversions where the build has them
 * (the AVX2 and AVX-512 levels): the same values, rounded the same way
 * (to nearest even; NaN kept quiet with its payload's top bits) */
#ifdef __F16C__
#include <immintrin.h>
#endif
static inline void fa_halves_to_floats(const uint16_t *h, float *f, long n) {
    long i = 0;
#ifdef __F16C__
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(f + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))));
#endif
    for (; i < n; i++)
        f[i] = fa_half_to_float(h[i]);
}
static inline void fa_floats_to_halves(const float *f, uint16_t *h, long n) {
    long i = 0;
#ifdef __F16C__
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(h + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(f + i), _MM_FROUND_TO_NEAREST_INT));
#endif
    for (; i < n; i++)
        h[i] = fa_float_to_half(f[i]);
}

FA_INLINE double fa_h2d(uint16_t h) {
    return (double)fa_half_to_float(h);
}
FA_INLINE uint16_t fa_d2h(double d) {
    return fa_float_to_half((float)d);
}
#endif
