"""Generated sources are what their generators write (so nobody edits them by
hand, and a regenerated table is committed with its generator)."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "fastact", "src")


@pytest.mark.parametrize("gen,header", [("gen_normal.py", "fa_normal.h"),
                                        ("gen_roots.py", "fa_roots.h")])
def test_header_matches_generator(gen, header):
    pytest.importorskip("mpmath")
    if not os.path.exists(os.path.join(SRC, gen)):
        pytest.skip("source tree not available (testing an installed wheel)")
    out = subprocess.run([sys.executable, os.path.join(SRC, gen)], capture_output=True,
                         text=True, check=True, timeout=600).stdout
    with open(os.path.join(SRC, header)) as f:
        assert f.read() == out, f"{header} is stale: run python fastact/src/{gen} > fastact/src/{header}"


def test_ufunc_sources_are_generated_from_the_registry():
    sys.path.insert(0, os.path.join(ROOT, "fastact"))
    try:
        import _codegen
    finally:
        sys.path.pop(0)
    import fastact
    specs = _codegen.ufunc_specs()
    names = {s.name for s in specs}
    for act in fastact.ACTIVATIONS.values():
        for kind in ("forward", "grad", "backward"):
            assert act.callable_name(kind) in names
    assert set(fastact._ufuncs.UFUNC_NAMES) == names
    # besides the activations, only the benchmark's roofline loops
    assert {n for n in names if n.startswith("_")} == {"_stream_copy", "_stream_add"}


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("n", [7, 1 << 18])   # serial and threaded loops
def test_roofline_loops_copy_and_add(dtype, n):
    import numpy as np

    import fastact
    rng = np.random.default_rng(1)
    x = rng.standard_normal(n).astype(dtype)
    g = rng.standard_normal(n).astype(dtype)
    out = np.empty_like(x)
    fastact._ufuncs._stream_copy(x, out=out)
    assert np.array_equal(out, x)
    fastact._ufuncs._stream_add(g, x, out=out)
    assert np.array_equal(out, np.add(g, x))
