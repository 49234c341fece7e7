"""The exact values: every activation and derivative in mpmath, rounded once.

Used by ``python -m fastact verify`` and the accuracy tests as the float64
oracle (mpmath is a test dependency, imported here lazily).  The formulas are
the registry's (``Activation.mpmath``): the mathematical definitions, written
so that the working precision (40 digits by default) is never eaten by
cancellation: x sigma(2u) rather than (x/2)(1 + tanh u), sigma(x) sigma(-x)
rather than s (1 - s), and so on; mpmath's unbounded exponent range takes care
of overflow and underflow.  Results are
rounded to the nearest double once, including into the subnormal range.

Results are cached on disk (``FASTACT_CACHE_DIR``, default
``~/.cache/fastact``), keyed by function, kind, parameters, precision and the
bytes of the inputs, and computed in parallel processes for large inputs.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np

def functions(mp, act):
    """(f, f') of a registry entry as functions of an mpf x and keyword
    parameters, from its ``mpmath`` expressions (``Activation.mpmath``)."""
    one = mp.mpf(1)

    def sig(t):
        return one / (one + mp.exp(-t))

    consts = {k: mp.mpf(v) for k, v in act.constants}
    defaults = act.defaults

    def make(expr, kind):
        code = compile(expr, f"<{act.name} {kind} in mpmath>", "eval")

        def fn(x, **params):
            ns = {"mp": mp, "sig": sig, "x": x, **consts}
            ns.update((k, mp.mpf(v)) for k, v in {**defaults, **params}.items())
            return mp.mpf(eval(code, ns))  # noqa: S307 (the registry's text)
        return fn

    return make(act.mpmath[0], "f"), make(act.mpmath[1], "f'")


# mpmath's erfc cannot take arguments beyond ~1e150; there the exact GELU is x
# or 0 and its derivative 1 or 0 to far more than double precision, which is
# what the formula gives at this magnitude.
_FAR = 1.0e4


def _round_double(mp, v) -> float:
    """Round an mpf to the nearest double, once, also below the smallest
    normal (where float() could round twice)."""
    if not mp.isfinite(v):
        return float(v)
    if v != 0 and abs(v) < mp.mpf(2) ** -1022:
        return float(mp.nint(v * mp.mpf(2) ** 1074)) * 2.0 ** -1074
    return float(v)


def _eval_chunk(args):
    name, kind, params, dps, xs = args
    import mpmath as mp

    mp.mp.dps = dps
    from .._registry import ACTIVATIONS

    f, d = functions(mp, ACTIVATIONS[name])
    fn = f if kind == "forward" else d
    out = np.empty((2, len(xs)))      # the exact value as hi + lo doubles
    for i, x in enumerate(xs):
        x = float(x)
        if x != x:
            out[:, i] = np.nan
            continue
        try:
            v = fn(mp.mpf(x), **params)
        except (OverflowError, ValueError):
            far = mp.mpf(_FAR if x > 0 else -_FAR)
            v = fn(far, **params)
            if kind == "forward" and abs(v - far) < abs(far) * mp.mpf(2) ** -80:
                v = mp.mpf(x)                  # the identity tail: f(x) = x
        hi = _round_double(mp, v)
        out[0, i] = hi
        out[1, i] = _round_double(mp, v - hi) if mp.isfinite(v) and np.isfinite(hi) else 0.0
    return out


def _cache_dir():
    d = os.environ.get("FASTACT_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "fastact")
    try:
        os.makedirs(d, exist_ok=True)
    except OSError:
        return None
    return d


def exact(name, kind, xs, params=None, dps=40, processes=None):
    """f (kind="forward") or f' (kind="grad") of registry entry `name` at each
    float64 in xs, exact to `dps` digits and rounded to the nearest double."""
    return exact_dd(name, kind, xs, params, dps, processes)[0]


def exact_dd(name, kind, xs, params=None, dps=40, processes=None):
    """The exact values as two doubles (hi, lo), hi = round(v), lo =
    round(v - hi): enough to round a product g * v correctly."""
    params = dict(params or {})
    xs = np.ascontiguousarray(xs, dtype=np.float64).ravel()
    key = hashlib.sha1(repr((name, kind, sorted(params.items()), dps, 3)).encode()
                       + xs.tobytes()).hexdigest()
    cdir = _cache_dir()
    path = os.path.join(cdir, f"mpref-{name}-{kind}-{key[:20]}.npy") if cdir else None
    if path and os.path.exists(path):
        try:
            out = np.load(path)
            if out.shape == (2,) + xs.shape:
                return out
        except (OSError, ValueError):
            pass
    n = xs.size
    procs = processes or os.cpu_count() or 1
    if n < 4000 or procs == 1:
        out = _eval_chunk((name, kind, params, dps, xs))
    else:
        import multiprocessing as mpr

        parts = np.array_split(xs, procs * 4)
        ctx = mpr.get_context("fork" if hasattr(os, "fork") else "spawn")
        with ctx.Pool(procs) as pool:
            out = np.concatenate(pool.map(
                _eval_chunk, [(name, kind, params, dps, p) for p in parts]), axis=1)
    if path:
        tmp = path + f".{os.getpid()}.tmp.npy"
        try:
            np.save(tmp, out)
            os.replace(tmp, path)
        except OSError:
            pass
    return out


def exact_rounded(name, kind, xs, dtype, params=None, dps=40):
    """Like exact, rounded to float32/float16: through the double, which is
    fine for the ULP bounds (double rounding moves a result by at most a tiny
    fraction of a float32 ULP, and only at exact ties)."""
    return exact(name, kind, xs, params, dps).astype(dtype)
