"""The float32 vector kernels (src/fa_kernels32v.h) behind the registry's
``float32_vector`` kinds: the same value for an element wherever it sits
(vector body, tail, strided block), the special inputs, quiet flags.

Their accuracy is the accuracy suite's (test_accuracy.py, every SIMD level
in CI) and the exhaustive sweep's; the agreement between levels is
test_cpu.py's."""

import numpy as np
import pytest

from fastact import ACTIVATIONS
from helpers import call

VEC = [(act, kind) for act in ACTIVATIONS.values() for kind in act.float32_vector]
IDS = [f"{a.name}-{k}" for a, k in VEC]


def _data(n, seed=3):
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.standard_normal(n // 2) * 6, rng.uniform(-120, 120, n - n // 2)])
    g = rng.standard_normal(n)
    return x.astype(np.float32), g.astype(np.float32)


def test_vector_kinds_are_float32_kinds():
    for act, kind in VEC:
        assert kind in act.float32, (act.name, kind)
        assert all(p.default is not None for p in act.params), (act.name, kind)


@pytest.mark.parametrize("act,kind", [(a, k) for a, k in VEC if a.params],
                         ids=[i for i, (a, k) in zip(IDS, VEC) if a.params])
def test_parameters_at_the_defaults_take_the_vector_kernel(act, kind):
    """The kernel has the defaults built in: passed as one value they give
    its bits; other values, or the defaults as an array, the scalar kernel
    (within the bound of the same values)."""
    x, g = _data(3000)
    base = call(act, kind, x, g, own_defaults=True)
    pv = {p.name: np.float64(p.default) for p in act.params}
    f = getattr(act, kind).ufunc
    args = (g, x) if kind == "backward" else (x,)
    np.testing.assert_array_equal(f(*args, *pv.values()).view(np.uint32), base.view(np.uint32))
    arr = [np.full(x.size, v) for v in pv.values()]
    other = f(*args, *arr)
    ulp = np.spacing(np.maximum(np.abs(base), np.float32(2.0 ** -6))).astype(np.float64)
    assert (np.abs(other.astype(np.float64) - base) <= 4 * ulp).all()


@pytest.mark.parametrize("act,kind", VEC, ids=IDS)
def test_every_length_and_offset_gives_the_same_bits(act, kind):
    """Tails of every length up to three vectors of 16, and unaligned starts,
    give what the element gives inside a long contiguous run."""
    x, g = _data(4096)
    full = call(act, kind, x, g, own_defaults=True)
    for start in (0, 1, 3, 7):
        for n in range(0, 50):
            part = call(act, kind, x[start:start + n], g[start:start + n], own_defaults=True)
            np.testing.assert_array_equal(part.view(np.uint32),
                                          full[start:start + n].view(np.uint32))


@pytest.mark.parametrize("act,kind", VEC, ids=IDS)
def test_strided_runs_and_out_give_the_same_bits(act, kind):
    x, g = _data(3001)
    full = call(act, kind, x, g, own_defaults=True)
    xs = np.empty(2 * x.size, np.float32)
    xs[::2] = x
    gs = np.empty(3 * x.size, np.float32)[::3]
    gs[:] = g
    out = np.full(2 * x.size, 7.0, np.float32)
    x0, g0 = xs.copy(), gs.copy()
    r = call(act, kind, xs[::2], gs, out=out[1::2], own_defaults=True)
    assert r is not None
    np.testing.assert_array_equal(out[1::2].view(np.uint32), full.view(np.uint32))
    assert (out[::2] == 7.0).all()                     # nothing written between
    np.testing.assert_array_equal(xs, x0)              # inputs untouched
    np.testing.assert_array_equal(gs, g0)
    rev = call(act, kind, x[::-1], g[::-1], own_defaults=True)
    np.testing.assert_array_equal(rev[::-1].view(np.uint32), full.view(np.uint32))


SPECIALS = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1e-45, -1e-45,
                     1.1754944e-38, 3.4028235e38, -3.4028235e38, 87.5, -87.5, 88.8,
                     -88.8, 103.9, -103.9, 104.0, -104.0, 110.0, -110.0, 120.0, -120.0,
                     -1.2784645], dtype=np.float32)


@pytest.mark.parametrize("act,kind", VEC, ids=IDS)
def test_special_inputs_raise_no_flags_and_match_float64(act, kind):
    """NaN in, NaN out; infinities give the limits; subnormal results and the
    extremes within a few ULP of the float64 values; and no floating-point
    flag but underflow (errstate raise turns any into an error), except the
    genuine overflow of a finite input whose result is beyond float32 (SELU
    at the largest float32), which must be raised."""
    x = np.tile(SPECIALS, 20)                 # the tail and the vector body
    g = np.ones_like(x)
    want = call(act, kind, x.astype(np.float64), g.astype(np.float64), own_defaults=True)
    with np.errstate(over="ignore", invalid="ignore"):
        genuine = bool((np.isinf(want.astype(np.float32)) & np.isfinite(x)).any())
    with np.errstate(divide="raise", over="ignore" if genuine else "raise", invalid="raise"):
        got = call(act, kind, x, g, own_defaults=True)
    if genuine:
        with np.errstate(over="raise"), pytest.raises(FloatingPointError):
            call(act, kind, x, g, own_defaults=True)
    nan = np.isnan(want)
    np.testing.assert_array_equal(np.isnan(got), nan)
    with np.errstate(over="ignore"):          # SELU's float64 value beyond float32
        w32 = want[~nan].astype(np.float32)
    same = got[~nan] == w32
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.where(same, 0.0, np.abs(got[~nan].astype(np.float64) - w32.astype(np.float64)))
    floor = np.float32(2.0 ** -6 if act.grad_has_root and kind != "forward" else 0.0)
    with np.errstate(over="ignore"):
        ulp = np.abs(np.spacing(np.maximum(np.abs(w32), floor)))
    ulp = np.where(np.isinf(w32), np.inf, np.maximum(ulp, np.float32(1e-45)))
    assert (diff <= 2 * ulp).all(), (x[~nan][np.argmax(diff / ulp)], float((diff / ulp).max()))


@pytest.mark.parametrize("act,kind", VEC, ids=IDS)
def test_negative_zero_keeps_the_float64_sign(act, kind):
    x = np.array([-0.0, 0.0] * 20, np.float32)
    r = call(act, kind, x, np.ones_like(x), own_defaults=True)
    want = call(act, kind, x.astype(np.float64), np.ones(x.size), own_defaults=True)
    np.testing.assert_array_equal(np.signbit(r), np.signbit(want.astype(np.float32)))


@pytest.mark.parametrize("act,kind", [(a, k) for a, k in VEC if k != "backward"],
                         ids=[i for i, (a, k) in zip(IDS, VEC) if k != "backward"])
def test_dense_grid_within_the_bound(act, kind):
    """Every 2^-12 from -16 to 16 and a log grid to 120 on both sides: the
    ranges where a kernel's reduction changes regime (GELU's tail below -12
    carries the low part of x^2 in its exponent)."""
    from fastact.tools import verify
    lin = np.arange(-16, 16, 2.0 ** -12)
    log = np.geomspace(1e-30, 120, 1 << 16)
    x = np.concatenate([lin, log, -log]).astype(np.float32)
    err, worst, _ = verify.measure(act, kind, "float32", x, {})
    assert err <= verify.bound("float32", kind), (act.name, kind, err, worst)
