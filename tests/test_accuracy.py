"""Error bounds in ULP against the exact result, through the same code as
``python -m fastact verify``:

* float16: every one of the 65,536 inputs, <= 1 ULP;
* float32: a dense sample (about 1.3 million points), <= 2 ULP; the sweep of
  all 2**32 inputs is marked ``exhaustive`` (python -m pytest -m exhaustive, or
  python -m fastact verify --exhaustive);
* float64: at least 10**5 points a function over the whole finite range,
  against mpmath at 40 digits, <= 4 ULP.

Backward with a random grad_output gets the one product rounding on top.
"""

import numpy as np
import pytest

from fastact import ACTIVATIONS
from fastact.tools import verify
from helpers import reference

CELLS = [(name, kind, i)
         for name, act in ACTIVATIONS.items()
         for i, _ in enumerate(act.param_sets())
         for kind in verify.KINDS]


def _id(cell):
    name, kind, i = cell
    return f"{name}-{kind}" + (f"-p{i}" if i else "")


@pytest.fixture(scope="module")
def f32_points():
    return verify.float32_sample()


def _check(name, kind, i, dtype, x):
    act = ACTIVATIONS[name]
    params = act.param_sets()[i]
    err, worst, n = verify.measure(act, kind, dtype, x, params)
    b = verify.bound(dtype, kind)
    assert err <= b, (f"{name} {kind} {np.dtype(dtype).name} {params}: {err:.3g} ULP "
                      f"at x = {worst!r} (bound {b})")
    return n


@pytest.mark.parametrize("cell", CELLS, ids=_id)
def test_float16_exhaustive(cell):
    n = _check(*cell, np.float16, verify.all_float16())
    assert n >= 63_000


@pytest.mark.parametrize("cell", CELLS, ids=_id)
def test_float32_dense_sample(cell, f32_points):
    _check(*cell, np.float32, f32_points)


@pytest.mark.parametrize("cell", CELLS, ids=_id)
def test_float64_dense_sample_against_mpmath(cell):
    pytest.importorskip("mpmath")
    act = ACTIVATIONS[cell[0]]
    x = verify.float64_sample(act)
    assert x.size >= 100_000
    _check(*cell, np.float64, x)


#: float64 backward cells the 10**6-point sample measures above grad's bound
#: plus half an ULP: g f' is g times a grad within 4 ULP, and where g f' sits
#: in a lower binade than |g| f' suggests (or is subnormal, with a fixed
#: spacing) those ULP count up to twice
DENSE64_BACKWARD_MISSES = {
    "tanh": "5 ULP at x = -363: tanh' subnormal, its error times |g| <= 2",
    "gelu_sigmoid": "5 ULP at x = -0.492: a 3-ULP grad times g across a binade",
}


@pytest.mark.exhaustive
@pytest.mark.parametrize("cell", CELLS, ids=_id)
def test_float64_million_point_sample_against_mpmath(cell, request):
    """Ten times the default sample: random points in every binade, dense
    near 0, the span and the switch points (python -m fastact verify
    --dtypes float64 --float64-dense; the mpmath values are cached)."""
    pytest.importorskip("mpmath")
    if cell[1] == "backward" and cell[0] in DENSE64_BACKWARD_MISSES:
        request.applymarker(pytest.mark.xfail(
            strict=True, reason=DENSE64_BACKWARD_MISSES[cell[0]]))
    act = ACTIVATIONS[cell[0]]
    x = verify.float64_sample(act, scale=10)
    assert x.size >= 1_000_000
    _check(*cell, np.float64, x)


@pytest.mark.exhaustive
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_float32_exhaustive(name):
    rows, _ = verify.exhaustive_float32(only=[name], progress=False)
    bad = [r for r in rows if not r["ok"]]
    assert not bad, verify.format_rows(bad)


def _f32_oracle_points():
    rng = np.random.default_rng(3)
    bits = rng.integers(0, 1 << 32, 6000, dtype=np.uint64).astype(np.uint32)
    x = bits.view(np.float32)
    x = np.concatenate([x[np.isfinite(x)], np.linspace(-40, 40, 4000, dtype=np.float32)])
    return x.astype(np.float64)


@pytest.mark.parametrize("cell", [c for c in CELLS if c[1] in ("forward", "grad")], ids=_id)
def test_float64_reference_is_an_exact_oracle_for_float32(cell):
    """The float32/float16 rows are measured against fastact.reference in
    float64: that is sound because it is within a tiny fraction of a float32
    ULP of the exact (mpmath) value over the float32 range."""
    pytest.importorskip("mpmath")
    from fastact.tools import mpref
    name, kind, i = cell
    act = ACTIVATIONS[name]
    params = act.param_sets()[i]
    x = _f32_oracle_points()
    with np.errstate(all="ignore"):
        r = np.asarray(reference(act, kind, x, **params), dtype=np.float64)
    e = mpref.exact(name, kind, x, params=params or None)
    with np.errstate(all="ignore"):
        sp = np.spacing(np.abs(e).astype(np.float32)).astype(np.float64)
        sp = np.where(np.isfinite(sp) & (sp > 0), sp, float(np.finfo(np.float32).smallest_subnormal))
        err = np.where((r == e) | (np.isnan(r) & np.isnan(e)), 0.0, np.abs(r - e) / sp)
        err = np.where(np.abs(e) > float(np.finfo(np.float32).max), 0.0, err)
    assert np.nanmax(err) < 1e-3, (name, kind, params, float(np.nanmax(err)))
