/*
 * fa_half.h -- IEEE binary16 <-> binary32/64 conversions, branch-free so the
 * float16 loops vectorize like the others.  float16 activations are computed
 * in double precision and rounded once to float32, then once to float16: the
 * double rounding stays far below the 1 ULP float16 bound.
 */
#ifndef FA_HALF_H
#define FA_HALF_H
#include <stdint.h>
#include <string.h>

static inline __attribute__((always_inline)) float fa_bits_f32(uint32_t u) {
    float f; memcpy(&f, &u, 4); return f;
}
static inline __attribute__((always_inline)) uint32_t fa_f32_bits(float f) {
    uint32_t u; memcpy(&u, &f, 4); return u;
}

/* binary16 -> binary32, exact.  Normal numbers rebias the exponent; subnormals
 * are rebuilt by a float subtraction (exact); inf/NaN keep an all-ones exponent. */
static inline __attribute__((always_inline)) float fa_half_to_float(uint16_t h) {
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
static inline __attribute__((always_inline)) uint16_t fa_float_to_half(float f) {
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

static inline __attribute__((always_inline)) double fa_h2d(uint16_t h) {
    return (double)fa_half_to_float(h);
}
static inline __attribute__((always_inline)) uint16_t fa_d2h(double d) {
    return fa_float_to_half((float)d);
}
#endif
