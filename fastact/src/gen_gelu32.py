"""Generate fastact/src/fa_gelu32.h: piecewise polynomials for the float32
vector GELU and its derivative (fa_kernels32v.h).

    python fastact/src/gen_gelu32.py > fastact/src/fa_gelu32.h

Both kernels write their result through e^(-a^2/2), a = |x|, times a smooth
factor of a held as 32 polynomials of degree 5, one per interval:

    interval j of a: the exponent and top three mantissa bits of a + 1, so
    a in [0, 1) is cut into 8 pieces, [1, 3) into 8, [3, 7) and [7, 15) too;

    polynomial j in s = a - c_j, c_j the centre: where the function is
    closest to a float32 (its constant term's rounding is the one error the
    other coefficients cannot take up); 0 on the first interval, where G
    vanishes (its constant term is then 0 and G keeps its relative
    accuracy down to the least subnormal a) and gelu'(0) = 1/2 exactly; for
    gelu', its zero on the intervals next to the zero, so that gelu' is
    small there with a small error.

The factors (a >= 0, Phi the normal CDF):

    gelu:   G(a) = a Phi(-a) e^(a^2/2)          gelu = max(x, 0) - e G
    gelu':  D(a) = Phi(-a) e^(a^2/2) - a phi(0)
                                          gelu' = e D (x < 0), 1 - e D (x >= 0)

with e = e^(-a^2/2).  The fit is least squares at Chebyshev nodes, weighted
for the error the kernel is judged by (relative, or against 2^-6 near the
zero of gelu'); the coefficients are rounded to float32 one at a time, from
the constant term up, each time refitting the ones not yet rounded.  The
comment block of the header reports the resulting error of each table.
tests/test_generated.py checks that the committed header is what this script
writes.
"""

import mpmath as mp
import numpy as np

mp.mp.dps = 30
NI, DEG, NODES = 32, 5, 160
FLOOR = 2.0 ** -6         # the derivative's error floor (its zero)


def f32(v):
    return float(np.float32(v))


def interval(j):
    e, k = divmod(j, 8)
    return 2.0 ** e * (1 + k / 8) - 1, 2.0 ** e * (1 + (k + 1) / 8) - 1


def slot(i):
    """the interval table entry i holds: the kernels index the tables by the
    bits of a + 1 shifted right by 20, whose low five bits (all a permute
    reads) are 24 + j modulo 32 for interval j (the exponent of a + 1 is
    127 + j // 8)"""
    return (i + 8) % NI


def root():
    """the zero of gelu', a = |x|: Phi(-a) e^(a^2/2) = a phi(0)"""
    return mp.findroot(lambda a: D(a), 0.75)


def G(a):
    return a * mp.ncdf(-a) * mp.exp(a * a / 2)


def Q(a):
    """G(a) / a"""
    return mp.ncdf(-a) * mp.exp(a * a / 2)


def D(a):
    return mp.ncdf(-a) * mp.exp(a * a / 2) - a / mp.sqrt(2 * mp.pi)


def fit(func, lo, hi, c, weight, deg=DEG):
    """float32 coefficients of a degree-deg polynomial in s = a - c"""
    pad = (hi - lo) * 1e-3
    t = np.cos(np.pi * (np.arange(NODES) + 0.5) / NODES)
    a = (lo + hi) / 2 + (hi - lo + 2 * pad) / 2 * t
    a = a[a >= 0]
    y = np.array([float(func(mp.mpf(v))) for v in a])
    w = np.array([weight(v, yv) for v, yv in zip(a, y)])
    s = a - c
    h = max(abs(s).max(), 1e-30)
    u = s / h
    coef = []
    for i in range(deg + 1):
        rest = y - sum(ck * s ** k for k, ck in enumerate(coef))
        V = np.stack([u ** k for k in range(i, deg + 1)], axis=1)
        b = np.linalg.lstsq(V * w[:, None], rest * w, rcond=None)[0]
        coef.append(f32(b[0] / h ** i))
    poly = sum(ck * s ** k for k, ck in enumerate(coef))
    return coef, float(np.max(np.abs(poly - y) * w))


def centre(func, lo, hi):
    """a centre in the middle half of [lo, hi], on a grid of 2^-12, where
    func is closest to a float32 (the constant term's rounding is the one
    the other coefficients cannot take up)"""
    best = None
    for k in range(int(np.ceil((3 * lo + hi) / 4 * 4096)), int((lo + 3 * hi) / 4 * 4096)):
        c = k / 4096
        v = func(mp.mpf(c))
        e = abs(v - f32(v)) / abs(v)
        if best is None or e < best[0]:
            best = (e, c)
    return best[1]


def tables():
    r = float(root())
    rc = f32(r)
    out = {}
    for name in ("fwd", "grad"):
        rows, errs = [], []
        for j in range(NI):
            lo, hi = interval(j)
            c = None
            if j == 0:
                c = 0.0
            elif name == "grad" and lo - 0.1 < r < hi + 0.1:
                c = rc
            if name == "fwd":
                func, weight = G, (lambda a, y: 1 / abs(y))
            else:
                func, weight = D, (lambda a, y: 1 / max(abs(y), FLOOR * np.exp(a * a / 2)))
            if c is None:
                c = centre(func, lo, hi)
            if name == "fwd" and j == 0:
                # G = a Q(a): a constant term of 0, relative error that of Q
                coef, err = fit(Q, lo, hi, c, weight, DEG - 1)
                coef = [0.0] + coef
            else:
                coef, err = fit(func, lo, hi, c, weight)
            rows.append([c] + coef)
            errs.append(err)
        out[name] = rows, errs
    return out, rc


def main():
    t, rc = tables()
    lines = []
    for name in ("fwd", "grad"):
        rows, errs = t[name]
        lines.append(f"/* {name}: largest weighted fit error {max(errs):.2e} "
                     f"(interval {int(np.argmax(errs))}) */")
        lines.append(f"static const float FA_GELU32_{name.upper()}[{DEG + 2}][{NI}] = {{")
        for k in range(DEG + 2):
            # entry i holds interval (i + 8) mod 32: see the header comment
            vals = ", ".join(f"{rows[j][k]!r}f" if rows[j][k] != 0 else "0.0f"
                             for j in (slot(i) for i in range(NI)))
            lines.append(f"    {{{vals}}},")
        lines.append("};")
    body = "\n".join(lines)
    print(f'''\
/*
 * fa_gelu32.h -- the tables of the float32 vector GELU and GELU'.
 * GENERATED by fastact/src/gen_gelu32.py -- do not edit.
 *
 * Row 0 holds the centres c_j, rows 1..{DEG + 1} the coefficients of s^0..s^{DEG},
 * s = a - c_j, for the {NI} intervals of a = |x| chosen by the bits of a + 1:
 * interval j at entry (j + 24) mod 32, the low five bits of those bits
 * shifted right by 20 (the exponent of a + 1 is 127 + j / 8).
 * The forward table holds G(a), the derivative's D(a) (see the generator).
 */
#ifndef FA_GELU32_H
#define FA_GELU32_H

#define FA_GELU32_ROOT {rc!r}f      /* the zero of gelu', -x */

{body}

#endif''')


if __name__ == "__main__":
    main()
