"""The exact values: every activation and derivative in mpmath, rounded once.

Used by ``python -m fastact verify`` and the accuracy tests as the float64
oracle (mpmath is a test dependency, imported here lazily).  Each formula is the
mathematical definition written so that the working precision (40 digits by
default) is never eaten by cancellation: x sigma(2u) rather than
(x/2)(1 + tanh u), sigma(x) sigma(-x) rather than s (1 - s), and so on; mpmath's
unbounded exponent range takes care of overflow and underflow.  Results are
rounded to the nearest double once, including into the subnormal range.

Results are cached on disk (``FASTACT_CACHE_DIR``, default
``~/.cache/fastact``), keyed by function, kind, parameters, precision and the
bytes of the inputs, and computed in parallel processes for large inputs.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np

_SELU_LAMBDA = "1.0507009873554804934193349852946"
_SELU_ALPHA = "1.6732632423543772848170429916717"


def _defs(mp):
    """name -> (forward, derivative) as functions of an mpf and params."""
    one = mp.mpf(1)

    def sig(t):
        return one / (one + mp.exp(-t))

    def step(cond):
        return one if cond else mp.mpf(0)

    k_qg = mp.mpf("1.702")
    c_gt = mp.sqrt(2 / mp.pi)
    k_gt = mp.mpf("0.044715")
    lam, alp = mp.mpf(_SELU_LAMBDA), mp.mpf(_SELU_ALPHA)

    def softplus(x, beta=1.0):
        b = mp.mpf(beta)
        return mp.log1p(mp.exp(b * x)) / b

    def mish_parts(x):
        sp = mp.log1p(mp.exp(x))
        return sp, mp.tanh(sp)

    def gt_u2(x):
        return 2 * c_gt * (x + k_gt * x ** 3)

    return {
        "relu": (lambda x: x if x > 0 else mp.mpf(0), lambda x: step(x > 0)),
        "relu6": (lambda x: min(max(x, 0), 6), lambda x: step(0 < x < 6)),
        "leaky_relu": (lambda x, negative_slope=0.01: x if x > 0 else mp.mpf(negative_slope) * x,
                       lambda x, negative_slope=0.01: one if x > 0 else mp.mpf(negative_slope)),
        "prelu": (lambda x, weight: x if x > 0 else mp.mpf(weight) * x,
                  lambda x, weight: one if x > 0 else mp.mpf(weight)),
        "elu": (lambda x, alpha=1.0: x if x > 0 else mp.mpf(alpha) * mp.expm1(x),
                lambda x, alpha=1.0: one if x > 0 else mp.mpf(alpha) * mp.exp(x)),
        "selu": (lambda x: lam * x if x > 0 else lam * alp * mp.expm1(x),
                 lambda x: lam if x > 0 else lam * alp * mp.exp(x)),
        "celu": (lambda x, alpha=1.0: x if x > 0 else mp.mpf(alpha) * mp.expm1(x / mp.mpf(alpha)),
                 lambda x, alpha=1.0: one if x > 0 else mp.exp(x / mp.mpf(alpha))),
        "sigmoid": (sig, lambda x: sig(x) * sig(-x)),
        "log_sigmoid": (lambda x: -mp.log1p(mp.exp(-x)), lambda x: sig(-x)),
        "hard_sigmoid": (lambda x: min(max(x + 3, 0), 6) / 6,
                         lambda x: one / 6 if -3 < x < 3 else mp.mpf(0)),
        "tanh": (mp.tanh, lambda x: mp.sech(x) ** 2),
        "hard_tanh": (lambda x: min(max(x, -1), 1), lambda x: step(-1 < x < 1)),
        "softsign": (lambda x: x / (1 + abs(x)), lambda x: 1 / (1 + abs(x)) ** 2),
        "softplus": (softplus, lambda x, beta=1.0: sig(mp.mpf(beta) * x)),
        "silu": (lambda x: x * sig(x), lambda x: sig(x) * (1 + x * sig(-x))),
        "hard_swish": (lambda x: x * min(max(x + 3, 0), 6) / 6,
                       lambda x: mp.mpf(0) if x < -3 else (one if x > 3 else (2 * x + 3) / 6)),
        "mish": (lambda x: x * mish_parts(x)[1],
                 lambda x: mish_parts(x)[1] + x * mp.sech(mish_parts(x)[0]) ** 2 * sig(x)),
        "gelu": (lambda x: x * mp.ncdf(x), lambda x: mp.ncdf(x) + x * mp.npdf(x)),
        "gelu_tanh": (lambda x: x * sig(gt_u2(x)),
                      lambda x: sig(gt_u2(x)) + x * sig(gt_u2(x)) * sig(-gt_u2(x))
                      * 2 * c_gt * (1 + 3 * k_gt * x * x)),
        "gelu_sigmoid": (lambda x: x * sig(k_qg * x),
                         lambda x: sig(k_qg * x) * (1 + k_qg * x * sig(-k_qg * x))),
    }


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
    f, d = _defs(mp)[name]
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
