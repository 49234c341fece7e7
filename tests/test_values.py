"""Values against fastact.reference in ULP of the output dtype, derivatives
against finite differences, and backward against grad_output * grad."""

import numpy as np
import pytest

from fastact import ACTIVATIONS
from helpers import call, param_sets, reference, ulp_error

# error bounds in ULP of the output dtype against the float64 reference.  The
# float64 reference is itself a composition of library calls that loses tens
# of ULP near derivative roots and more in far tails (where the kernels are
# the exact ones), so float64 is checked loosely here, on |x| <= 8, to catch
# gross mistakes; its real bound is tested against mpmath in test_accuracy.py
BOUND = {np.float16: 1.0, np.float32: 2.0, np.float64: 256.0}

CELLS = [(name, i) for name, act in ACTIVATIONS.items()
         for i in range(len(param_sets(act)))]


def points(act, dtype):
    """Dense points over the interesting span and kinks, and the tails."""
    lo, hi = act.span
    xs = [np.linspace(lo, hi, 4001)]
    for k in act.kinks:
        xs.append(k + np.linspace(-1e-3, 1e-3, 201))
    fmax = float(np.finfo(dtype).max)
    # tails up to where the float64 reference is still exact to far below
    # the dtype's ULP (mpmath covers the rest of the range in test_accuracy)
    tail_hi = min(fmax, 1e30) if dtype != np.float64 else 8.0
    mags = np.geomspace(1e-6, tail_hi, 2001)
    xs += [mags, -mags, np.linspace(-tail_hi, tail_hi, 2001) if dtype == np.float64
           else np.linspace(-30, 30, 2001)]
    x = np.concatenate(xs).astype(dtype)
    return np.unique(x[np.isfinite(x)])


def _floor(act, kind):
    return 2.0 ** -6 if (act.grad_has_root and kind != "forward") else None


@pytest.mark.parametrize("name,pset", CELLS, ids=[f"{n}-p{i}" for n, i in CELLS])
def test_matches_reference(name, pset, kind, dtype):
    act = ACTIVATIONS[name]
    params = param_sets(act)[pset]
    x = points(act, dtype)
    rng = np.random.default_rng(1)
    g = rng.uniform(-2, 2, x.shape).astype(dtype) if kind == "backward" else None
    y = call(act, kind, x, g, **params)
    assert y.dtype == dtype
    r = reference(act, kind, x, g, **params)
    bound = BOUND[dtype] + (0.5 if kind == "backward" and dtype != np.float64 else 0)
    err = ulp_error(y, r, dtype, floor=_floor(act, kind))
    # piecewise functions: at a kink only the convention is checked (below)
    worst = int(np.argmax(err))
    assert err[worst] <= bound, (
        f"{act.name} {kind} {np.dtype(dtype).name} {params}: "
        f"{err[worst]:.3g} ULP at x={x[worst]!r}: got {y[worst]!r}, want {r[worst]!r}")


@pytest.mark.parametrize("name,x,expected", [
    ("relu", 0.0, 0.0), ("relu6", 0.0, 0.0), ("relu6", 6.0, 0.0),
    ("leaky_relu", 0.0, 0.01), ("elu", 0.0, 1.0), ("celu", 0.0, 1.0),
    ("hard_sigmoid", -3.0, 0.0), ("hard_sigmoid", 3.0, 0.0),
    ("hard_tanh", -1.0, 0.0), ("hard_tanh", 1.0, 0.0),
    ("hard_swish", -3.0, -0.5), ("hard_swish", 3.0, 1.5),
    ("prelu", 0.0, 0.25),
])
def test_derivative_convention_at_kinks(name, x, expected):
    act = ACTIVATIONS[name]
    for dtype in (np.float32, np.float64):
        y = call(act, "grad", np.array([x], dtype=dtype))
        assert y[0] == np.asarray(expected, dtype=dtype), (name, x, y)


def test_grad_matches_finite_differences(act):
    x = np.linspace(act.span[0], act.span[1], 1201)
    for k in act.kinks:
        x = x[np.abs(x - k) > 1e-3]
    for params in param_sets(act):
        h = 1e-6 * np.maximum(1.0, np.abs(x))
        fd = (call(act, "forward", x + h, **params)
              - call(act, "forward", x - h, **params)) / (2 * h)
        d = call(act, "grad", x, **params)
        np.testing.assert_allclose(d, fd, rtol=1e-6, atol=1e-8,
                                   err_msg=f"{act.name} {params}")


def test_backward_is_grad_times_grad_output(act, dtype):
    """backward(g, x) is g * grad(x), bit for bit: formed in double precision
    and rounded once (to float32, then float16 for half precision), or, where
    float32 has backward kernels (Activation.float32), the float32 product of
    g and the float32 grad -- except where that kernel is one of its own
    (Activation.float32_backward_kernel), which gives the double product
    rounded once.  float16 then runs the float32 kernel (the test below)."""
    rng = np.random.default_rng(7)
    x = (rng.standard_normal(5000) * 4).astype(dtype)
    g = rng.standard_normal(5000).astype(dtype)
    for params in param_sets(act):
        b = call(act, "backward", x, g, **params)
        if "backward" in act.float32 and dtype == np.float16:
            want = call(act, "backward", x.astype(np.float32), g.astype(np.float32),
                        **params)
        elif ("backward" in act.float32 and not act.float32_backward_kernel
                and dtype == np.float32):
            want = g * call(act, "grad", x, **params)
        else:
            d64 = call(act, "grad", x.astype(np.float64), **params)
            want = g.astype(np.float64) * d64
            if dtype != np.float64:
                want = want.astype(np.float32)
        np.testing.assert_array_equal(b, want.astype(dtype),
                                      err_msg=f"{act.name} {params}")


HALF32 = [(name, i, kind) for name, act in ACTIVATIONS.items()
          for i in range(len(param_sets(act))) for kind in act.float32]


@pytest.mark.parametrize("name,pset,kind", HALF32,
                         ids=[f"{n}-p{i}-{k}" for n, i, k in HALF32])
def test_float16_is_the_float32_kernel_rounded_once(name, pset, kind):
    """Where float32 has kernels of its own, float16 converts its inputs to
    float32 exactly, runs them and rounds the result once: bit for bit, over
    all 65,536 float16 inputs (g a fixed mix of magnitudes for backward),
    contiguous and strided."""
    act = ACTIVATIONS[name]
    params = param_sets(act)[pset]
    x = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16)
    g = None
    if kind == "backward":
        g = np.random.default_rng(13).permutation(x)
        g[np.isnan(g)] = 1.0
    with np.errstate(all="ignore"):
        want = call(act, kind, x.astype(np.float32),
                    None if g is None else g.astype(np.float32), **params)
        want = want.astype(np.float16)
        for strided in (False, True):
            def lay(a):
                return a if a is None or not strided else np.repeat(a, 2)[::2]
            out = np.empty(2 * x.size, np.float16)[::2] if strided else None
            y = call(act, kind, lay(x), lay(g), **params, out=out)
            same = (y.view(np.uint16) == want.view(np.uint16)) | (np.isnan(y) & np.isnan(want))
            bad = np.flatnonzero(~same)
            assert bad.size == 0, (f"{name} {kind} {params} strided={strided}: "
                                   f"{bad.size} differ, first at x={x[bad[0]]!r}")


EXACT32 = [(name, i, kind) for name, act in ACTIVATIONS.items() if not act.transcendental
           for i in range(len(param_sets(act))) for kind in act.float32]


def _float32_classes(act):
    """Every class of float32 input: zeros, subnormals, the normal boundary,
    the kinks and their neighbours, the extremes, infinities, NaN, 2**20
    random bit patterns and the function's span."""
    f = np.float32
    specials = [0.0, 1e-45, 1.1754942e-38, 1.1754944e-38, 1e-30, 1e-7, 0.5, 1.0, 2.0,
                3.0, 6.0, 1e7, 3.4028235e38, np.inf]
    kinks = [f(k) for k in act.kinks]
    near = [np.nextafter(k, f(d)) for k in kinks for d in (-np.inf, np.inf)]
    base = np.array(specials + kinks + near, dtype=f)
    rng = np.random.default_rng(11)
    bits = rng.integers(0, 1 << 32, 1 << 20, dtype=np.uint64).astype(np.uint32)
    lo, hi = act.span
    return np.concatenate([base, -base, [f(np.nan)], bits.view(f),
                           np.linspace(lo, hi, 100001, dtype=f)])


@pytest.mark.parametrize("name,pset,kind", EXACT32,
                         ids=[f"{n}-p{i}-{k}" for n, i, k in EXACT32])
def test_float32_kernels_of_piecewise_functions_are_the_float64_value(name, pset, kind):
    """The piecewise functions' float32 kernels (selects in single precision,
    a product with 1/6 for a division by 6) return the float64 kernel's value
    rounded to float32, bit for bit, NaN for NaN."""
    act = ACTIVATIONS[name]
    params = param_sets(act)[pset]
    x = _float32_classes(act)
    g = None
    if kind == "backward":
        # g of every magnitude, into the subnormals and up to overflow, and
        # the special values
        rng = np.random.default_rng(12)
        g = rng.standard_normal(x.size) * np.exp2(rng.integers(-150, 126, x.size))
        g[::97] = rng.choice([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -3e38],
                             g[::97].size)
        g = g.astype(np.float32)
    with np.errstate(all="ignore"):
        y = call(act, kind, x, g, **params)
        want = call(act, kind, x.astype(np.float64),
                    None if g is None else g.astype(np.float64), **params)
        want = want.astype(np.float32)
    same = (y.view(np.uint32) == want.view(np.uint32)) | (np.isnan(y) & np.isnan(want))
    bad = np.flatnonzero(~same)
    assert bad.size == 0, (f"{name} {kind} {params}: {bad.size} differ, first at "
                           f"x={x[bad[0]]!r}: {y[bad[0]]!r} != {want[bad[0]]!r}")
