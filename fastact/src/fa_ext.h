/*
 * fa_ext.h -- loops for the narrow float types of ml_dtypes (bfloat16,
 * float8_e4m3fn, float8_e5m2): each block of inputs is widened to float32
 * (exactly: every value of these types is a float32), the ufunc's own float32
 * loop computes it, and the result is rounded once, to nearest even, to the
 * output type.  The float32 kernels are within 2 float32 ULP, which is 2^-16
 * of a bfloat16 ULP, so the result is within 1 ULP of the output type.
 *
 * The types are ml_dtypes' legacy NumPy user dtypes; fastact registers these
 * loops for them with PyUFunc_RegisterLoopForType when ml_dtypes imports
 * (fastact/_ufuncs.py), and never needs it otherwise.
 */
#ifndef FA_EXT_H
#define FA_EXT_H
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <numpy/ndarraytypes.h>
#include <numpy/ufuncobject.h>

/* The formats: exponent and mantissa bits, bias, and how they end.
 * bfloat16 is float32's top half; e5m2 is IEEE-like (inf and NaNs at the top
 * exponent); e4m3fn has no infinities, one NaN pattern (S.1111.111) and
 * overflows to NaN, as ml_dtypes converts. */
enum { FA_BF16 = 0, FA_E4M3FN = 1, FA_E5M2 = 2, FA_NFMT = 3 };
typedef struct { int ebits, mbits, bias, ieee; } fa_fmt;
static const fa_fmt fa_fmts[FA_NFMT] = {{8, 7, 127, 1}, {4, 3, 7, 0}, {5, 2, 15, 1}};
static const char fa_fmt_sig[FA_NFMT] = {'b', '4', '5'};

static inline float fa_ext_decode(uint32_t c, int fmt) {
    if (fmt == FA_BF16) {
        uint32_t u = c << 16;
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    const fa_fmt *F = &fa_fmts[fmt];
    uint32_t emax = (1u << F->ebits) - 1, mmask = (1u << F->mbits) - 1;
    uint32_t e = (c >> F->mbits) & emax, m = c & mmask;
    float s = (c >> (F->ebits + F->mbits)) & 1 ? -1.0f : 1.0f;
    if (F->ieee && e == emax)
        return m ? NAN : s * INFINITY;
    if (!F->ieee && e == emax && m == mmask)
        return NAN;
    if (e == 0)
        return s * ldexpf((float)m, 1 - F->bias - F->mbits);
    return s * ldexpf((float)(m | (1u << F->mbits)), (int)e - F->bias - F->mbits);
}

/* float32 -> the format, rounded to nearest even */
static inline uint32_t fa_ext_encode(float v, int fmt) {
    uint32_t u;
    memcpy(&u, &v, 4);
    if (fmt == FA_BF16) {
        if ((u & 0x7fffffffu) > 0x7f800000u)        /* NaN: keep it quiet */
            return (u >> 16) | 0x0040u;
        return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    }
    const fa_fmt *F = &fa_fmts[fmt];
    uint32_t sign = (u >> 31) << (F->ebits + F->mbits);
    uint32_t nan = sign | ((1u << (F->ebits + F->mbits)) - 1);
    uint32_t inf = sign | (((1u << F->ebits) - 1) << F->mbits);
    float a = fabsf(v);
    if (isnan(v))
        return nan;
    if (isinf(a))
        return F->ieee ? inf : nan;
    int e;
    (void)frexpf(a, &e);                 /* a = f 2^e, f in [0.5, 1) */
    e -= 1;                              /* a = 1.m 2^e */
    if (e < 1 - F->bias)
        e = 1 - F->bias;                 /* subnormal: the fixed scale */
    /* a / 2^(e - mbits), to an integer by the FPU's own rounding (nearest
     * even); exact: a has 24 bits and the scale is a power of 2 */
    float q = rintf(ldexpf(a, F->mbits - e));
    uint32_t qi = (uint32_t)q, mmask = (1u << F->mbits) - 1;
    uint32_t emax = (1u << F->ebits) - 1, E, code;
    if (qi < (1u << F->mbits))           /* subnormal (e at its floor) */
        return sign | qi;
    if (qi == (2u << F->mbits)) {        /* rounded up to the next binade */
        qi >>= 1;
        e += 1;
    }
    E = (uint32_t)(e + F->bias);
    /* past the largest finite value: infinity (IEEE-like: the top exponent
     * is inf and NaN) or NaN (e4m3fn: only S.1111.111 is not finite) */
    if (E > emax || (F->ieee && E == emax))
        return F->ieee ? inf : nan;
    code = (E << F->mbits) | (qi & mmask);
    if (!F->ieee && code == ((emax << F->mbits) | mmask))
        return nan;
    return sign | code;
}

static inline uint32_t fa_ext_load(const char *p, int fmt) {
    if (fmt == FA_BF16) {
        uint16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    return (uint32_t)(unsigned char)*p;
}

static inline void fa_ext_store(char *p, uint32_t c, int fmt) {
    if (fmt == FA_BF16) {
        uint16_t v = (uint16_t)c;
        memcpy(p, &v, 2);
    } else {
        *p = (char)(unsigned char)c;
    }
}

#define FA_EXT_MAXARGS 8
#define FA_EXT_BLOCK 1024

/* what one registered loop needs: the ufunc's float32 loop, which inputs
 * are float64 parameters (passed through), and the format */
typedef struct {
    PyUFuncGenericFunction f32;
    int nin, fmt;
    unsigned param_mask;
    npy_intp threshold;
    char sig[FA_EXT_MAXARGS + 1];    /* for fa_fe_audit: 'b', '4', '5', 'd' */
} fa_ext_data;

/* elements [lo, lo + cnt) in blocks widened to float32 (an fa_span_fn of
 * fa_runtime.h, which includes this header) */
static void fa_ext_span(char **args, const npy_intp *steps, npy_intp lo, npy_intp cnt,
                        int stream, void *data)
{
    const fa_ext_data *d = (const fa_ext_data *)data;
    float buf[FA_EXT_MAXARGS][FA_EXT_BLOCK];
    char *a[FA_EXT_MAXARGS];
    npy_intp s[FA_EXT_MAXARGS], i, j, c;
    int k;
    (void)stream;
    for (i = lo; i < lo + cnt; i += c) {
        c = lo + cnt - i < FA_EXT_BLOCK ? lo + cnt - i : FA_EXT_BLOCK;
        for (k = 0; k < d->nin; k++) {
            if (d->param_mask >> k & 1) {
                a[k] = args[k] + i * steps[k];
                s[k] = steps[k];
                continue;
            }
            for (j = 0; j < c; j++)
                buf[k][j] = fa_ext_decode(
                    fa_ext_load(args[k] + (i + j) * steps[k], d->fmt), d->fmt);
            a[k] = (char *)buf[k];
            s[k] = sizeof(float);
        }
        a[d->nin] = (char *)buf[d->nin];
        s[d->nin] = sizeof(float);
        d->f32(a, &c, s, NULL);            /* serial: a block is below threshold */
        for (j = 0; j < c; j++)
            fa_ext_store(args[d->nin] + (i + j) * steps[d->nin],
                         fa_ext_encode(buf[d->nin][j], d->fmt), d->fmt);
    }
}

#endif
