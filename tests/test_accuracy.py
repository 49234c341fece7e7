"""Error bounds in ULP (the accuracy issue), through the same code as
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

from fastact import ACTIVATIONS, _verify

CELLS = [(name, kind, i)
         for name, act in ACTIVATIONS.items()
         for i, _ in enumerate(_verify._params_list(act))
         for kind in _verify.KINDS]


def _id(cell):
    name, kind, i = cell
    return f"{name}-{kind}" + (f"-p{i}" if i else "")


@pytest.fixture(scope="module")
def f32_points():
    return _verify.float32_sample()


def _check(name, kind, i, dtype, x):
    act = ACTIVATIONS[name]
    params = _verify._params_list(act)[i]
    err, worst, n = _verify.measure(act, kind, dtype, x, params)
    b = _verify.bound(dtype, kind)
    assert err <= b, (f"{name} {kind} {np.dtype(dtype).name} {params}: {err:.3g} ULP "
                      f"at x = {worst!r} (bound {b})")
    return n


@pytest.mark.parametrize("cell", CELLS, ids=_id)
def test_float16_exhaustive(cell):
    n = _check(*cell, np.float16, _verify.all_float16())
    assert n >= 63_000


@pytest.mark.parametrize("cell", CELLS, ids=_id)
def test_float32_dense_sample(cell, f32_points):
    _check(*cell, np.float32, f32_points)


@pytest.mark.parametrize("cell", CELLS, ids=_id)
def test_float64_dense_sample_against_mpmath(cell):
    pytest.importorskip("mpmath")
    act = ACTIVATIONS[cell[0]]
    x = _verify.float64_sample(act)
    assert x.size >= 100_000
    _check(*cell, np.float64, x)


@pytest.mark.exhaustive
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_float32_exhaustive(name):
    rows, _ = _verify.exhaustive_float32(only=[name], progress=False)
    bad = [r for r in rows if not r["ok"]]
    assert not bad, _verify.format_rows(bad)
