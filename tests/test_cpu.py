"""What fastact learns about the CPU it runs on (``fastact._cpu``): which
kernel build to import, one for each SIMD level (every level this CPU runs
imports with FASTACT_SIMD and agrees with the others; an unknown level is a
clear error), and the clock that ``fastact info`` and the bench header
report."""

import platform

import numpy as np

import fastact
from fastact import _cpu, _ufuncs
from fastact.tools.verify import BOUNDS
from helpers import run_code


_LEVEL_SCRIPT = r"""
import sys, numpy as np, fastact
from fastact import _ufuncs
from fastact.tools import verify
rng = np.random.default_rng(5)
res = {}
for dt in ("float16", "float32", "float64"):
    x = np.concatenate([rng.standard_normal(3000) * 4, rng.uniform(-60, 60, 1000)]).astype(dt)
    g = rng.standard_normal(x.size).astype(dt)
    res[("", "g", dt)] = g
    for act in fastact.ACTIVATIONS.values():
        p = act.typical_params
        res[(act.name, "f", dt)] = act.forward(x, **p)
        res[(act.name, "b", dt)] = act.backward(g, x, **p)
np.save(sys.argv[1], np.array([_ufuncs.SIMD_LEVEL, res], dtype=object), allow_pickle=True)
"""


def test_every_simd_level_imports_and_agrees(tmp_path):
    """Each kernel build this CPU can run is importable with FASTACT_SIMD and
    computes the same values as the others to within twice the dtype's ULP
    bound: each is within the bound of the exact value, on either side of it
    (FMA changes the rounding of intermediate steps, and float32 runs vector
    kernels of its own where the level has them; the accuracy suite itself
    is run per level in CI).  A derivative with an interior root is measured
    as the accuracy suite does, in ULPs of max(|f'|, 2^-6): backward is g f',
    so there in ULPs of max(|g f'|, |g| 2^-6)."""
    best = _cpu.best_level()
    levels = [lv for lv in _ufuncs.SIMD_BUILT if _cpu.LEVELS.index(lv) <= _cpu.LEVELS.index(best)]
    assert levels, "no kernel build can run here"
    results = {}
    for lv in levels:
        out = tmp_path / f"{lv}.npy"
        run_code(_LEVEL_SCRIPT, out, cwd=tmp_path, timeout=300, check=True,
                 setenv={"FASTACT_SIMD": lv})
        level, res = np.load(out, allow_pickle=True)
        assert level == lv
        results[lv] = res
    base = results[levels[0]]
    for lv in levels[1:]:
        for key, a in base.items():
            b = results[lv][key]
            dt = a.dtype
            bits = lambda v: v.view({2: np.int16, 4: np.int32, 8: np.int64}[dt.itemsize]).astype(np.int64)  # noqa: E731
            ordered = lambda i: np.where(i < 0, -(i & ((1 << (8 * dt.itemsize - 1)) - 1)), i)  # noqa: E731
            diff = np.abs(ordered(bits(a)) - ordered(bits(b)))
            name, kind, _ = key
            if kind == "b" and fastact.ACTIVATIONS[name].grad_has_root:
                g = base[("", "g", dt.name)]
                scale = np.maximum(np.abs(a), np.abs(g) * dt.type(2.0 ** -6))
                tiny = np.finfo(dt).smallest_subnormal
                ulp = np.maximum(np.spacing(scale.astype(dt)), tiny)
                diff = np.abs(a.astype(np.float64) - b.astype(np.float64)) / ulp
            assert diff.max() <= 2 * BOUNDS[dt.name], (lv, key, float(diff.max()))
    # a level that does not exist is a clear import error, not a crash
    r = run_code("import fastact", cwd=tmp_path, setenv={"FASTACT_SIMD": "sse9"})
    assert r.returncode != 0 and "FASTACT_SIMD='sse9'" in r.stderr


def test_clock_is_measured_where_the_chain_exists():
    """``fastact info`` and the bench header report the clock a busy core runs
    at, from a chain of dependent adds (the cycle arithmetic of the
    performance guide rests on it)."""
    ghz = _cpu.clock_ghz(passes=2_000_000, repeats=3)
    if platform.machine().lower() in ("x86_64", "amd64", "aarch64", "arm64"):
        assert ghz is not None and 0.3 < ghz < 8.0, ghz
    else:
        assert ghz is None or 0.3 < ghz < 8.0
