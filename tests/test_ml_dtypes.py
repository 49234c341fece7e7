"""ml_dtypes' bfloat16 and float8 types: fastact computes them through its
float32 kernels and rounds once to the input's type (src/fa_ext.h).

Every activation, kind and type is checked over every input (65,536 for
bfloat16, 256 for each float8) against the float64 reference: within 1 ULP of
the output type for every finite input; NaN and the infinities give what the
float32 loop gives (NaN, and the limits), in the output type; a result
past the largest finite value overflows as ml_dtypes does (to inf, or to NaN
in float8_e4m3fn, which has no infinities)."""

import numpy as np
import pytest

import fastact
from fastact import ACTIVATIONS, _ufuncs
from fastact.tools import verify
from helpers import KINDS, call, reference, run_code

ml_dtypes = pytest.importorskip("ml_dtypes")

#: name -> (mantissa bits, smallest normal exponent, largest finite, has inf)
FORMATS = {
    "bfloat16": (7, -126, float(ml_dtypes.finfo(ml_dtypes.bfloat16).max), True),
    "float8_e4m3fn": (3, -6, 448.0, False),
    "float8_e5m2": (2, -14, 57344.0, True),
}


def all_values(name):
    t = getattr(ml_dtypes, name)
    bits = np.arange(1 << (16 if name == "bfloat16" else 8),
                     dtype=np.uint16 if name == "bfloat16" else np.uint8)
    return bits.view(t)


def ulp(r, name):
    """The spacing of the format at the exact value r (float64)."""
    m, emin, _, _ = FORMATS[name]
    with np.errstate(divide="ignore"):
        e = np.floor(np.log2(np.abs(r)))
    e = np.where(np.isfinite(e), np.maximum(e, emin), emin)
    return np.ldexp(1.0, (e - m).astype(int))


def test_the_loops_are_registered():
    names = {d.name for d in _ufuncs.EXT_DTYPES}
    assert names == set(FORMATS)


@pytest.mark.parametrize("name", list(FORMATS))
def test_conversions_match_ml_dtypes(name):
    """Rounding float32 to the format (nearest even, overflow as ml_dtypes)
    and widening back, on random bit patterns and every float16 value."""
    fmt = _ufuncs.EXT_FORMATS[name]
    t = getattr(ml_dtypes, name)
    rng = np.random.default_rng(1)
    x = np.concatenate([
        rng.integers(0, 1 << 32, 1 << 18, dtype=np.uint64).astype(np.uint32).view(np.float32),
        np.arange(1 << 16, dtype=np.uint16).view(np.float16).astype(np.float32),
        all_values(name).astype(np.float32)])
    codes, back = _ufuncs._ext_codec(x, fmt)
    with np.errstate(all="ignore"):
        want = x.astype(t)
    wcodes = want.view(np.uint16 if name == "bfloat16" else np.uint8).astype(np.uint32)
    nan = np.isnan(want.astype(np.float32))
    assert np.array_equal(np.isnan(back), nan)
    assert np.array_equal(codes[~nan], wcodes[~nan])
    np.testing.assert_array_equal(back[~nan], want.astype(np.float32)[~nan])


@pytest.mark.parametrize("name", list(FORMATS))
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("act", list(ACTIVATIONS.values()), ids=list(ACTIVATIONS))
def test_every_input_within_one_ulp_of_its_type(act, kind, name):
    m, emin, big, has_inf = FORMATS[name]
    t = getattr(ml_dtypes, name)
    x = all_values(name)
    # grad_output in [-2, 2], as fastact verify measures every backward
    g = np.random.default_rng(2).uniform(-2, 2, x.size).astype(t)
    params = act.typical_params
    x_before = x.copy()
    with np.errstate(all="ignore"):
        y = call(act, kind, x, g, **params)
    assert y.dtype == np.dtype(t), (act.name, kind, y.dtype)
    assert np.array_equal(x.view(np.uint8), x_before.view(np.uint8))  # untouched
    with np.errstate(invalid="ignore"):   # ml_dtypes' casts of NaN warn
        x64, g64 = x.astype(np.float64), g.astype(np.float64)
    # NaN and the infinities: what the float32 loop gives, in this type (the
    # limits, checked for float32 by test_special.py)
    special = ~np.isfinite(x64)
    with np.errstate(all="ignore"):
        x32, g32 = x[special].astype(np.float32), g[special].astype(np.float32)
        y32 = call(act, kind, x32, g32, **params)
    with np.errstate(invalid="ignore"):
        want = y32.astype(t).astype(np.float32)
        np.testing.assert_array_equal(y[special].astype(np.float32), want)
    x, g, y = x[~special], g[~special], y[~special]
    x64, g64 = x64[~special], g64[~special]
    with np.errstate(all="ignore"):
        r = np.asarray(reference(act, kind, x64, g64, **params), dtype=np.float64)
    y64 = y.astype(np.float64)
    # NaN in (or a NaN reference), NaN out
    nan = np.isnan(r)
    assert np.all(np.isnan(y64[nan])), (act.name, kind, x64[nan & ~np.isnan(y64)][:5])
    # past the largest finite value (half an ULP beyond it): inf, or e4m3fn's NaN
    over = ~nan & (np.abs(r) >= big + ulp(np.float64(big), name) / 2)
    if has_inf:
        assert np.array_equal(y64[over], np.copysign(np.inf, r[over])), act.name
    else:
        assert np.all(np.isnan(y64[over])), act.name
    ok = ~nan & ~over
    floor = None
    if act.grad_has_root and kind != "forward":
        floor = verify.ROOT_FLOOR * np.abs(g64[ok])
    mag = np.abs(r[ok]) if floor is None else np.maximum(np.abs(r[ok]), floor)
    with np.errstate(invalid="ignore"):
        err = np.where(y64[ok] == r[ok], 0.0, np.abs(y64[ok] - r[ok]) / ulp(mag, name))
    worst = int(np.argmax(err))
    assert err[worst] <= 1.0, (act.name, kind, name, float(err[worst]),
                               float(x64[ok][worst]), float(y64[ok][worst]),
                               float(r[ok][worst]))


@pytest.mark.parametrize("name", list(FORMATS))
def test_casting_out_and_mixed_types_as_for_float16(name):
    t = getattr(ml_dtypes, name)
    x = np.array([-2.0, -0.5, 0.0, 0.5, 2.0], dtype=t)
    # out= of the same type; a strided view
    out = np.empty(5, dtype=t)
    assert fastact.silu(x, out=out) is out
    np.testing.assert_array_equal(out.astype(np.float32), fastact.silu(x).astype(np.float32))
    big = np.linspace(-3, 3, 40001).astype(t)
    np.testing.assert_array_equal(fastact.gelu(big[::-3]).astype(np.float32),
                                  fastact.gelu(big).astype(np.float32)[::-3])
    # with a float32 operand the float32 loop runs and float32 comes back
    assert fastact.gelu_backward(x.astype(np.float32), x).dtype == np.float32
    # parameterized wrappers keep the type
    assert fastact.elu(x, alpha=2.0).dtype == np.dtype(t)
    assert fastact.leaky_relu(x, 0.2).dtype == np.dtype(t)
    # a float32 out for a narrow input: the loop of the input's type, then
    # NumPy's cast, as for float16
    o32 = np.empty(5, np.float32)
    fastact.gelu(x, out=o32)
    np.testing.assert_array_equal(o32, fastact.gelu(x).astype(np.float32))


def test_large_arrays_use_threads_and_give_the_same_bytes(workers_always):
    x = np.random.default_rng(3).standard_normal(1 << 20).astype(ml_dtypes.bfloat16)
    with fastact.threads(1):
        one = fastact.mish(x)
    before = workers_always._parallel_stats()["regions"]
    with fastact.threads(2):
        two = fastact.mish(x)
    assert np.array_equal(one.view(np.uint16), two.view(np.uint16))
    if fastact.openmp_enabled():
        assert workers_always._parallel_stats()["regions"] == before + 1


@pytest.mark.parametrize("name, big", [("float8_e4m3fn", 448.0),
                                       ("float8_e5m2", 57344.0),
                                       ("bfloat16", 3.3895313892515355e38)])
def test_overflow_raises_like_numpy(name, big):
    t = getattr(ml_dtypes, name)
    x = np.array([big], t)
    at = np.array([1.5], t)                 # gelu'(1.5) = 1.1275
    with np.errstate(over="raise"):
        with pytest.raises(FloatingPointError, match="overflow"):
            fastact.gelu_backward(x, at)    # 1.1275 x: past the largest
        fastact.gelu(x)                     # x itself: in range, no flag
    with np.errstate(over="ignore"):
        y = fastact.gelu_backward(x, at).astype(np.float32)[0]
    assert (np.isnan(y) if name == "float8_e4m3fn" else y == np.inf)


def test_without_ml_dtypes_everything_else_works():
    code = ("import sys; sys.modules['ml_dtypes'] = None\n"
            "import numpy as np, fastact\n"
            "from fastact import _ufuncs\n"
            "assert _ufuncs.EXT_DTYPES == ()\n"
            "print(fastact.gelu(np.float32([1.0]))[0])\n")
    r = run_code(code)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith("0.841")
