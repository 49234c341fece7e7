"""``python -m fastact verify``: the maximum error in ULP of every function.

Error of a result y = |y - r| / ulp(r), r the exact value rounded to the
output dtype, ulp(r) the spacing of that dtype at r (the subnormal spacing
below the smallest normal).  Derivatives with an interior root (the registry's
``grad_has_root``) are measured against ulp(max(|r|, 2**-6)): near the root the
terms that cancel are that large.  Kink points are left out (their convention
is tested separately).

Where r comes from:

* float64: mpmath at 40 digits (``fastact.tools.mpref``, cached on disk);
* float32 and float16: :mod:`fastact.reference` evaluated in float64 and
  rounded.  That is exact enough by a wide margin: over the float32 range the
  float64 reference is within 2e-6 float32 ULP of the exact value at worst
  (near the derivative roots), as tests/test_accuracy.py checks against mpmath
  for every function, kind and parameter set.

Kinds: ``forward``, ``grad``, ``backward`` with grad_output = 1 (``backward1``)
and with random grad_output in [-2, 2] (``backward``); the latter is measured
against round(g * r') with r' the exact derivative, so it counts the one
product rounding.

Bounds: float16 <= 1 ULP over all 65,536 inputs; float32
<= 2 ULP (exhaustively with ``--exhaustive``); float64 <= 4 ULP on a dense
sample of at least 10**5 points a function.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from .. import _registry

BOUNDS = {"float16": 1.0, "float32": 2.0, "float64": 4.0}
ROOT_FLOOR = 2.0 ** -6
KINDS = ("forward", "grad", "backward1", "backward")


# ---- sample points -------------------------------------------------------

def all_float16():
    """Every finite float16 value."""
    x = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.float16)
    return x[np.isfinite(x)]


def float32_sample(n_random=1 << 20, seed=0):
    """A dense float32 sample: random bit patterns (every exponent equally
    likely), a fine grid over [-40, 40], and the neighbourhood of 0."""
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 1 << 32, n_random, dtype=np.uint64).astype(np.uint32)
    x = [bits.view(np.float32),
         np.linspace(-40, 40, 1 << 18, dtype=np.float32),
         np.linspace(-1, 1, 1 << 14, dtype=np.float32)]
    x = np.concatenate(x)
    return np.unique(x[np.isfinite(x)])


def switch_points(act):
    """Where the kernels change form or clamp: each is probed densely."""
    pts = [0.0, *act.kinks]
    if act.transcendental:
        pts += [-745.2, -745.0, -708.4, -708.0, -700.0, -40.0, -38.5, -37.5,
                -30.0, -20.0, 20.0, 30.0, 37.0, 700.0, 709.7, 710.0]
    if act.grad_has_root:
        pts += [-0.7518, -1.1924, -1.5, -0.6]   # gelu, mish, hard_swish, ...
    return sorted(set(pts))


def float64_sample(act, n_log=40_000, n_lin=20_000, per_binade=4, n_near0=5_000,
                   seed=0, scale=1):
    """At least 10**5 points (10**6 with scale=10): log-spaced magnitudes over
    the whole finite range (both signs), per_binade random points in each of the 2,098 binades
    (both signs: random mantissas, which log spacing alone visits only near
    its grid), random points dense near 0 (uniform in [-1e-2, 1e-2] and
    log-uniform magnitudes from 1e-8 to 1), the interesting span, a wide
    uniform band, and dense probes around every kink, root and switch point."""
    rng = np.random.default_rng(seed)
    n_log, n_lin, per_binade, n_near0 = (k * scale for k in (n_log, n_lin, per_binade,
                                                              n_near0))
    tiny = float(np.finfo(np.float64).smallest_subnormal)
    mags = np.geomspace(tiny, 1.7e308, n_log)
    exps = np.repeat(np.arange(-1074, 1024), per_binade)
    binades = np.ldexp(1.0 + rng.random(exps.size), exps)
    binades = np.where(exps < -1022, np.ldexp(rng.random(exps.size), -1022), binades)
    near0 = np.concatenate([rng.uniform(-1e-2, 1e-2, n_near0),
                            10.0 ** rng.uniform(-8, 0, n_near0)])
    lo, hi = act.span
    parts = [mags, -mags, binades, -binades, near0, -near0[n_near0:],
             np.linspace(lo, hi, n_lin),
             rng.uniform(-800, 800, n_lin // 2),
             rng.uniform(-45, 45, n_lin // 2)]
    for p in switch_points(act):
        parts.append(p + np.linspace(-1e-3, 1e-3, 401))
        parts.append(p * (1 + np.linspace(-1e-12, 1e-12, 41)) if p else
                     np.linspace(-1e-300, 1e-300, 41))
    x = np.unique(np.concatenate(parts))
    return x[np.isfinite(x)]


def _without_kinks(act, x):
    if not act.kinks:
        return x
    keep = np.ones(x.shape, dtype=bool)
    for k in act.kinks:
        keep &= x != np.float64(k)
    return x[keep]


# ---- error measurement --------------------------------------------------------

def ulp_error(y, r, dtype, floor=None):
    """|y - r| / ulp(r) in the given dtype (r in float64, already exact or
    exact to far below the dtype's ULP)."""
    dtype = np.dtype(dtype)
    y = np.asarray(y, dtype=np.float64)
    r = np.asarray(r, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        rr = r.astype(dtype).astype(np.float64)  # the exact value, rounded
        mag = np.abs(rr)
        if floor is not None:
            mag = np.maximum(mag, floor)
        sp = np.spacing(mag.astype(dtype)).astype(np.float64)
        tiny = float(np.finfo(dtype).smallest_subnormal)
        sp = np.where(np.isfinite(sp) & (sp > 0), sp, tiny)
        err = np.abs(y - rr) / sp
    same = (y == rr) | (np.isnan(y) & np.isnan(rr))
    err = np.where(same, 0.0, err)
    return np.where(np.isnan(err), np.inf, err)


def _fastact_call(act, kind, x, g, params):
    if kind == "forward":
        return act.forward(x, **params)
    if kind == "grad":
        return act.grad(x, **params)
    return act.backward(g, x, **params)


def _reference(act, kind, x64, g64, params, dtype):
    """r in float64 for this dtype's measurement (see the module docstring)."""
    if dtype == np.float64:
        from . import mpref
        base = "forward" if kind == "forward" else "grad"
        hi, lo = mpref.exact_dd(act.name, base, x64, params=params or None)
        if kind in ("backward", "backward1"):
            # round(g * (hi + lo)): the exact product, rounded once
            with np.errstate(all="ignore"):
                p = g64 * hi
                err = _two_prod_err(g64, hi, p)
                return p + (err + g64 * lo)
        return hi
    else:
        ref_f, ref_d = act.reference
        with np.errstate(all="ignore"):
            r = (ref_f if kind == "forward" else ref_d)(x64, **params)
    r = np.asarray(r, dtype=np.float64)
    if kind in ("backward", "backward1"):
        r = g64 * r
    return r


def _two_prod_err(a, b, p):
    """a * b - p exactly (Dekker), for p = fl(a * b) without overflow."""
    split = 134217729.0
    ta, tb = split * a, split * b
    ah = ta - (ta - a)
    al = a - ah
    bh = tb - (tb - b)
    bl = b - bh
    return ((ah * bh - p) + ah * bl + al * bh) + al * bl


def measure(act, kind, dtype, x, params, seed=0, others=None):
    """(max error, worst input, number of points) for one cell.

    ``others`` maps names to callables ``f(act, kind, x, g, params)`` whose
    results are measured on the same points against the same reference (the
    comparison with PyTorch and the textbook NumPy formula); their results go
    into that dict, replacing the callables, as (max error, worst input) or
    None where a callable returns None."""
    dtype = np.dtype(dtype)
    x = _without_kinks(act, np.asarray(x, dtype=dtype))
    rng = np.random.default_rng(seed)
    if kind == "backward":
        g = rng.uniform(-2, 2, x.shape).astype(dtype)
    else:
        g = np.ones_like(x)
    with np.errstate(all="ignore"):
        y = _fastact_call(act, kind, x, g, params)
    r = _reference(act, kind, x.astype(np.float64), g.astype(np.float64), params, dtype)
    err, worst = _max_error(act, kind, dtype, x, g, y, r)
    for name, f in list((others or {}).items()):
        with np.errstate(all="ignore"):
            yo = f(act, kind, x, g, params)
        others[name] = None if yo is None else _max_error(
            act, kind, dtype, x, g, np.asarray(yo).astype(dtype), r)
    return err, worst, int(x.size)


def _max_error(act, kind, dtype, x, g, y, r):
    """(max ULP error, its input) of results y against the reference r."""
    # Only results that differ from the rounded reference have an error:
    # measure those (most are exactly rounded, so this is most of the speed
    # of the exhaustive sweep).  NaN == NaN is False, so NaNs are measured.
    with np.errstate(over="ignore", invalid="ignore"):
        differ = np.flatnonzero(np.asarray(y) != r.astype(dtype))
    if differ.size == 0:
        return 0.0, (float(x[0]) if x.size else None)
    floor = None
    if act.grad_has_root and kind != "forward":
        # the spacing at max(|r|, 2**-6 |g|): g scales the cancelling terms
        floor = ROOT_FLOOR * np.abs(g[differ].astype(np.float64))
    err = ulp_error(np.asarray(y)[differ], r[differ], dtype, floor=floor)
    i = int(np.argmax(err))
    return float(err[i]), float(x[differ[i]])


def textbook(act, kind, x, g, params):
    """The one-line NumPy formula of the registry (``Activation.textbook``),
    evaluated in x's dtype as a user would."""
    from scipy.special import erf

    expr = act.textbook[0 if kind == "forward" else 1]
    ns = {"np": np, "erf": erf, "x": x, **act.constant_values, **params}
    y = eval(expr, ns)  # noqa: S307 (registry text)
    y = np.asarray(y).astype(x.dtype)
    return y if kind in ("forward", "grad") else (g * y).astype(x.dtype)


def _comparisons(names):
    """name -> callable(act, kind, x, g, params) for ``--compare``."""
    out = {}
    for name in names:
        if name == "numpy":
            out["numpy"] = textbook
        elif name in ("torch", "jax"):
            from .. import _threads
            from . import peers

            peer = peers.make([name], _threads.get_num_threads())[name]

            def peer_values(act, kind, x, g, params, peer=peer):
                if x.dtype == np.float16:
                    return None
                k = "forward" if kind == "forward" else "backward"
                return peer.values(act, k, x, g, params)
            out[name] = peer_values
        else:
            raise SystemExit(f"fastact verify: unknown comparison {name!r} "
                             "(numpy, torch, jax)")
    return out


def bound(dtype, kind):
    """The bound a cell must meet: the dtype's, plus the one product rounding
    for backward with a random grad_output (its reference is itself rounded
    from the exactly-rounded derivative)."""
    b = BOUNDS[np.dtype(dtype).name]
    return b + (0.5 if kind == "backward" else 0.0)


# ---- the table -----------------------------------------------------------------

def run(only=None, dtypes=("float16", "float32", "float64"), kinds=KINDS,
        all_params=True, progress=True, f32_points=1 << 20, compare=(), f64_scale=1):
    """Rows of every cell; ``f64_scale`` = 10 takes the float64 sample of at
    least 10**6 points a function (the long check, ``--float64-dense``)."""
    from .bench import Progress

    comparisons = _comparisons(compare)

    acts = [a for a in _registry.ACTIVATIONS.values() if not only or a.name in only]
    cells = [(a, k, d, p) for a in acts for d in dtypes for p in a.param_sets(all_params)
             for k in kinds]
    bar = Progress(len(cells), enabled=progress)
    rows = []
    samples = {}
    for act, kind, dname, params in cells:
        bar.step(f"{act.name} {kind} {dname}")
        key = (dname, act.name if dname == "float64" else None)
        if key not in samples:
            if dname == "float16":
                samples[key] = all_float16()
            elif dname == "float32":
                samples[key] = float32_sample(f32_points)
            else:
                samples.clear()
                samples[key] = float64_sample(act, scale=f64_scale)
        others = dict(comparisons)
        err, worst, n = measure(act, kind, dname, samples[key], params, others=others)
        b = bound(dname, kind)
        rows.append(dict(name=act.name, kind=kind, dtype=dname, params=params,
                         points=n, max_ulp=err, worst=worst, bound=b, ok=err <= b,
                         compare=others))
    bar.close()
    return rows


def _fmt_ulp(e):
    if e is None:
        return "-"
    if not np.isfinite(e):
        return "inf"
    return f"{e:.3g}" if e < 1e6 else f"{e:.1e}"


def format_rows(rows):
    head = ["function", "params", "kind", "dtype", "points", "max ULP", "worst x",
            "bound", "result"]
    compared = list(rows[0].get("compare") or {}) if rows else []
    head += [f"{c} max ULP" for c in compared]
    head += [f"{c} worst x" for c in compared]
    lines = []
    for r in rows:
        p = ",".join(f"{k}={v}" for k, v in r["params"].items())
        cells = [r["name"], p, r["kind"], r["dtype"], f"{r['points']:,}",
                 _fmt_ulp(r["max_ulp"]), f"{r['worst']:.6g}" if r["max_ulp"] > 0
                 else "-", f"{r['bound']:g}", "pass" if r["ok"] else "FAIL"]
        for c in compared:
            v = r["compare"].get(c)
            cells.append(_fmt_ulp(None if v is None else v[0]))
        for c in compared:
            v = r["compare"].get(c)
            cells.append("-" if v is None or not v[0] else f"{v[1]:.6g}")
        lines.append(cells)
    from .bench import text_table

    return text_table(head, lines)


# ---- the exhaustive float32 sweep -----------------------------------------------

def _sweep_chunk(args):
    name, kind, params, start, count = args
    import fastact
    from fastact import ACTIVATIONS
    fastact.set_num_threads(1)
    act = ACTIVATIONS[name]
    bits = np.arange(count, dtype=np.uint32)
    bits += np.uint32(start)
    x = bits.view(np.float32)
    x = x[np.isfinite(x)]
    err, worst, n = measure(act, kind, np.float32, x, params)
    return err, worst, n


def exhaustive_float32(only=None, kinds=("forward", "grad"), chunk=1 << 24,
                       processes=None, progress=True, on_row=None, all_params=True):
    """Every one of the 2**32 float32 inputs, in parallel chunks.

    backward with grad_output = 1 is the grad rounded the same way (tested bit
    for bit elsewhere), so forward and grad are swept."""
    import multiprocessing as mp

    from .bench import Progress

    acts = [a for a in _registry.ACTIVATIONS.values() if not only or a.name in only]
    starts = range(0, 1 << 32, chunk)
    jobs = [(a, k, p) for a in acts for p in a.param_sets(all_params) for k in kinds]
    bar = Progress(len(jobs) * len(starts), enabled=progress)
    rows = []
    ctx = mp.get_context("spawn")
    t0 = time.perf_counter()
    with ctx.Pool(processes or os.cpu_count()) as pool:
        for act, kind, params in jobs:
            tasks = [(act.name, kind, params, s, min(chunk, (1 << 32) - s)) for s in starts]
            best = (0.0, None, 0)
            total = 0
            for err, worst, n in pool.imap_unordered(_sweep_chunk, tasks):
                bar.step(f"{act.name} {kind}")
                total += n
                if err > best[0] or best[1] is None:
                    best = (err, worst, n)
            b = bound("float32", kind)
            rows.append(dict(name=act.name, kind=kind, dtype="float32", params=params,
                             points=total, max_ulp=best[0], worst=best[1], bound=b,
                             ok=best[0] <= b))
            if on_row is not None:
                on_row(rows[-1], time.perf_counter() - t0)
    bar.close()
    return rows, time.perf_counter() - t0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m fastact verify",
        description="Measure the maximum error in ULP of every function, kind "
                    "and dtype, against mpmath (float64) and the float64 "
                    "reference (float32, float16).")
    p.add_argument("--only", default="", help="comma-separated activation names")
    p.add_argument("--dtypes", default="float16,float32,float64")
    p.add_argument("--kinds", default=",".join(KINDS))
    p.add_argument("--exhaustive", action="store_true",
                   help="sweep all 2**32 float32 inputs (every core; long)")
    p.add_argument("--defaults-only", action="store_true",
                   help="only the default parameters")
    p.add_argument("--float64-dense", action="store_true",
                   help="float64 at 10**6 points or more a function against "
                        "mpmath (ten times the default sample; long the first "
                        "time, then cached)")
    p.add_argument("--compare", default="",
                   help="also measure, on the same points: numpy (the textbook "
                        "one-line formula), torch (PyTorch CPU), jax (JAX CPU, "
                        "jit); torch and jax come from the bench extra")
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    only = [s for s in a.only.split(",") if s] or None
    if only:
        unknown = sorted(set(only) - set(_registry.ACTIVATIONS))
        if unknown:
            p.error(f"unknown activation(s) {unknown}; known: "
                    f"{', '.join(_registry.ACTIVATIONS)}")
    if a.exhaustive:
        def on_row(row, elapsed):
            # a line per finished cell, so a long sweep's partial result is kept
            p = ",".join(f"{k}={v}" for k, v in row["params"].items())
            print(f"[{elapsed:7.0f} s] {row['name']} {p} {row['kind']}: "
                  f"{row['points']:,} inputs, max {row['max_ulp']:.3g} ULP at "
                  f"{row['worst']!r} ({'pass' if row['ok'] else 'FAIL'})",
                  file=sys.stderr, flush=True)

        # backward with grad_output = 1 is the grad: forward and grad only
        kinds = tuple(k for k in a.kinds.split(",") if k in ("forward", "grad"))
        rows, wall = exhaustive_float32(only=only, kinds=kinds, progress=not a.no_progress,
                                        on_row=on_row, all_params=not a.defaults_only)
        print(format_rows(rows))
        print(f"exhaustive float32 sweep: {wall:.0f} s wall on {os.cpu_count()} cores")
    else:
        rows = run(only=only, dtypes=tuple(a.dtypes.split(",")),
                   kinds=tuple(a.kinds.split(",")), all_params=not a.defaults_only,
                   progress=not a.no_progress,
                   compare=tuple(c for c in a.compare.split(",") if c),
                   f64_scale=10 if a.float64_dense else 1)
        print(format_rows(rows))
    bad = [r for r in rows if not r["ok"]]
    print(f"{len(rows) - len(bad)} of {len(rows)} cells within their bound")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
