"""The ufunc contract, one behaviour per test: out=, where=, dtype=, casting=,
order=, broadcasting of parameters, layouts, 0-d and empty, NumPy's casting
rules, duck arrays, input untouched.  (Input that must fail is
test_robustness.py's; the streaming-store path is test_streaming.py's.)"""

import numpy as np
import pytest

import fastact
from fastact import ACTIVATIONS
from helpers import call, param_sets

RNG = np.random.default_rng(42)
BASE = (RNG.standard_normal((6, 7)) * 3).astype(np.float64)


def _expected(act, kind, x, g=None):
    """The same call on a fresh contiguous copy in native byte order: every
    layout must give the values of the contiguous loop, bit for bit (float32
    has kernels of its own, so the float64 result is not the reference here;
    the accuracy tests compare dtypes)."""
    dt = x.dtype.newbyteorder("=")
    xc = np.ascontiguousarray(x, dtype=dt)
    gc = None if g is None else np.ascontiguousarray(g, dtype=dt)
    return call(act, kind, xc, gc)


def _layouts(dtype):
    a = BASE.astype(dtype)
    big = np.repeat(np.repeat(a, 2, axis=0), 3, axis=1)
    swapped = a.astype(a.dtype.newbyteorder())
    ro = a.copy()
    ro.flags.writeable = False
    return {
        "C": a,
        "F": np.asfortranarray(a),
        "transposed": a.T,
        "strided": big[::2, ::3],
        "negative": a[::-1, ::-2],
        "byteswapped": swapped,
        "readonly": ro,
    }


@pytest.mark.parametrize("layout", list(_layouts(np.float64)))
def test_layouts(act, kind, dtype, layout):
    x = _layouts(dtype)[layout]
    g = _layouts(dtype)["negative"][: x.shape[0], : x.shape[1]] if kind == "backward" else None
    if g is not None and g.shape != x.shape:
        g = np.resize(g, x.shape)
    before = x.copy()
    y = call(act, kind, x, g)
    assert y.shape == x.shape
    assert y.dtype == np.dtype(dtype).newbyteorder("=")
    want = _expected(act, kind, x, g).astype(dtype)
    np.testing.assert_array_equal(y, want, err_msg=f"{act.name} {kind} {layout}")
    np.testing.assert_array_equal(x, before)  # input untouched


def test_long_strided_runs_equal_contiguous(act, kind, dtype):
    """Strided runs longer than the loops' gather block (several blocks and a
    part of one), with the parameters as strided arrays too (not at their
    defaults, so float32 leaves its vector kernels): bit for bit the
    contiguous call's values, the input untouched."""
    n = 1000
    x = (RNG.standard_normal(3 * n) * 4).astype(dtype)[::3]
    g = (RNG.standard_normal(2 * n)).astype(dtype)[::-2] if kind == "backward" else None
    params = {p.name: np.repeat(param_sets(act)[-1][p.name], 2 * n)[::2]
              for p in act.params}
    before = x.copy()
    y = call(act, kind, x, g, **params)
    want = call(act, kind, np.ascontiguousarray(x),
                None if g is None else np.ascontiguousarray(g),
                **{k: np.ascontiguousarray(v) for k, v in params.items()})
    np.testing.assert_array_equal(y, want, err_msg=f"{act.name} {kind}")
    np.testing.assert_array_equal(x, before)


DEFAULTED = [a.name for a in ACTIVATIONS.values() if a.has_defaults]


@pytest.mark.parametrize("name", DEFAULTED)
def test_default_parameters_give_the_values_of_the_parameter_operand(name, kind, dtype):
    """Called without its parameters, a wrapper runs the ufunc with PyTorch's
    defaults baked in; its values are those of the ufunc given the defaults as
    an operand, bit for bit, and errors still name the public function."""
    act = ACTIVATIONS[name]
    f = getattr(act, kind)
    baked = getattr(fastact._ufuncs, "_default_" + f.__name__)
    assert f.__globals__["_ud"] is baked and baked.__name__ == f.__name__
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.standard_normal(5000) * 6, [0.0, -0.0, np.inf, -np.inf, np.nan,
                                                         1e-30, -1e-30, 30.0, -30.0]])
    x = x.astype(dtype)
    pv = [np.float64(p.default) for p in act.params]
    with np.errstate(all="ignore"):
        if kind == "backward":
            g = rng.standard_normal(x.size).astype(dtype)
            y, want = f(g, x), f.ufunc(g, x, *pv)
            out = np.empty_like(x)
            assert f(g, x, out=out) is out
        else:
            y, want = f(x), f.ufunc(x, *pv)
            out = np.empty_like(x)
            assert f(x, out=out) is out
            # the default spelled out takes the same path and values
            np.testing.assert_array_equal(f(x, *[float(v) for v in pv]), want)
    np.testing.assert_array_equal(y, want)
    np.testing.assert_array_equal(out, want)
    assert y.dtype == want.dtype
    with pytest.raises(TypeError, match=f.__name__):
        f(np.ones(3, dtype=np.complex128)) if kind != "backward" else f(
            np.ones(3, dtype=np.complex128), np.ones(3, dtype=np.complex128))


def test_out_argument(act, kind, dtype):
    x = BASE.astype(dtype)
    out = np.full_like(x, 7)
    y = call(act, kind, x, out=out)
    assert y is out
    np.testing.assert_array_equal(out, call(act, kind, x))


def test_in_place(act, kind, dtype):
    x = BASE.astype(dtype)
    want = call(act, kind, x)
    x2 = x.copy()
    y = call(act, kind, x2, out=x2)
    assert y is x2
    np.testing.assert_array_equal(x2, want)


def test_where_mask(act, kind):
    x = BASE.copy()
    mask = RNG.random(x.shape) < 0.5
    out = np.full_like(x, -123.0)
    call(act, kind, x, out=out, where=mask)
    full = call(act, kind, x)
    np.testing.assert_array_equal(out[mask], full[mask])
    assert np.all(out[~mask] == -123.0)


def test_dtype_keyword(act, kind):
    x = BASE.copy()
    y = call(act, kind, x, dtype=np.float32)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, call(act, kind, x.astype(np.float32)))


def test_casting_keyword_is_passed_through(act):
    x = BASE.copy()
    out = np.empty(x.shape, dtype=np.float32)
    with pytest.raises(TypeError):  # float64 -> float32 output is not 'safe'
        call(act, "forward", x, out=out, casting="safe")
    call(act, "forward", x, out=out, casting="same_kind")


def test_order_keyword(act):
    y = call(act, "forward", BASE.copy(), order="F")
    assert y.flags.f_contiguous


def test_zero_dim_and_scalars(act, kind, dtype):
    x0 = np.array(0.75, dtype=dtype)
    y = call(act, kind, x0)
    assert np.ndim(y) == 0 and np.asarray(y).dtype == dtype
    assert call(act, kind, 0.75) == call(act, kind, np.float64(0.75))
    lst = call(act, kind, [0.5, -1.5])
    np.testing.assert_array_equal(lst, call(act, kind, np.array([0.5, -1.5])))


def test_python_scalars_give_float64_like_numpy(act, kind):
    """A Python float or int is a float64, as in np.sin(0.75), whatever the
    parameter is (a default, a float, a 0-d float64 array); next to an array
    it takes the array's dtype."""
    want = call(act, kind, np.float64(-0.75))
    for x in (-0.75, -3, np.float64(-0.75)):
        y = call(act, kind, x)
        assert np.asarray(y).dtype == np.float64, (x, y)
    for params in param_sets(act):
        as_arrays = {k: np.array(v) for k, v in params.items()}
        for p in (params, as_arrays):
            y = call(act, kind, -0.75, **p)
            assert np.asarray(y).dtype == np.float64, (p, y)
            assert y == call(act, kind, np.float64(-0.75), **params)
        y32 = call(act, kind, np.full(3, -0.75, dtype=np.float32), **as_arrays)
        assert y32.dtype == np.float32
    assert np.asarray(want).dtype == np.float64


def test_empty(act, kind, dtype):
    for shape in [(0,), (3, 0), (0, 4, 2)]:
        y = call(act, kind, np.empty(shape, dtype=dtype))
        assert y.shape == shape and y.dtype == dtype


def test_integer_and_bool_inputs_cast_like_numpy(act):
    for src in (np.int8, np.int32, np.int64, np.uint16, np.bool_):
        x = np.arange(-3, 4).astype(src)
        y = call(act, "forward", x)
        want = np.sin(x).dtype  # NumPy's rule for a float loop from this type
        assert y.dtype == want, (src, y.dtype)
        np.testing.assert_array_equal(y, call(act, "forward", x.astype(want)))


def test_parameter_defaults_follow_pytorch():
    x = np.linspace(-3, 3, 13)
    np.testing.assert_array_equal(fastact.leaky_relu(x), fastact.leaky_relu(x, 0.01))
    np.testing.assert_array_equal(fastact.leaky_relu(x),
                                  fastact.leaky_relu(x, negative_slope=0.01))
    for name in ("elu", "celu"):
        f = getattr(fastact, name)
        np.testing.assert_array_equal(f(x), f(x, alpha=1.0))
        np.testing.assert_array_equal(f(x), f(x, 1.0))
    np.testing.assert_array_equal(fastact.softplus(x), fastact.softplus(x, beta=1.0))
    with pytest.raises(TypeError):
        fastact.prelu(x)  # the weight is required


def test_parameter_broadcasts_per_channel():
    x = RNG.standard_normal((2, 3, 4))
    w = np.array([0.1, 0.2, 0.3])[:, None]
    y = fastact.prelu(x, w)
    np.testing.assert_array_equal(y, np.where(x > 0, x, w * x))
    g = RNG.standard_normal(x.shape)
    np.testing.assert_array_equal(fastact.prelu_backward(g, x, w),
                                  g * np.where(x > 0, 1.0, w * np.ones_like(x)))


def test_parameter_array_matches_scalar_calls():
    x = RNG.standard_normal((4, 5)) * 3
    alphas = np.array([0.5, 1.0, 2.0, 3.0])[:, None]
    for name in ("elu", "celu", "softplus", "leaky_relu"):
        f = getattr(fastact, name)
        y = f(x, alphas)
        for i, a in enumerate(alphas[:, 0]):
            np.testing.assert_array_equal(y[i], f(x[i], float(a)))


class Duck:
    """A minimal duck array: it must be given the ufunc, not a plain array."""

    def __init__(self, a):
        self.a = np.asarray(a)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        inputs = [i.a if isinstance(i, Duck) else i for i in inputs]
        return Duck(getattr(ufunc, method)(*inputs, **kwargs)), ufunc.__name__


def test_duck_arrays_dispatch(act, kind):
    x = np.linspace(-2, 2, 5)
    res = call(act, kind, Duck(x), Duck(np.ones(5)) if kind == "backward" else None)
    duck, name = res
    assert name == act.callable_name(kind)
    np.testing.assert_array_equal(duck.a, call(act, kind, x))
