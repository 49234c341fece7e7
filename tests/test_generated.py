"""Generated sources are what their generators write (so nobody edits them by
hand, and a regenerated table is committed with its generator)."""

import os
import subprocess
import sys

import pytest

from helpers import run_code

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "fastact", "src")


@pytest.mark.parametrize("gen,header", [("gen_normal.py", "fa_normal.h"),
                                        ("gen_roots.py", "fa_roots.h"),
                                        ("gen_gelu32.py", "fa_gelu32.h")])
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
    # besides the activations, the benchmark's roofline loops and the ufuncs
    # at default parameters, which carry the public name
    defaulted = {"_default_" + act.callable_name(k) for act in fastact.ACTIVATIONS.values()
                 if act.has_defaults for k in ("forward", "grad", "backward")}
    assert {n for n in names if n.startswith("_")} == {"_stream_copy", "_stream_add"} | defaulted
    for n in defaulted:
        assert getattr(fastact._ufuncs, n).__name__ == n[len("_default_"):]


@pytest.mark.parametrize("stream", [False, True], ids=["stores", "streaming"])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("n", [7, 1 << 18])   # serial and threaded loops
def test_roofline_loops_copy_and_add(dtype, n, stream, stream_threshold):
    import numpy as np

    import fastact
    u = fastact._ufuncs
    stream_threshold(0 if stream else None)
    rng = np.random.default_rng(1)
    x = rng.standard_normal(n).astype(dtype)
    g = rng.standard_normal(n).astype(dtype)
    out = np.empty(n + 1, dtype=dtype)[1:]      # off the 16-byte alignment
    u._stream_copy(x, out=out)
    assert np.array_equal(out, x)
    u._stream_add(g, x, out=out)
    assert np.array_equal(out, np.add(g, x))


def test_streaming_threshold():
    import fastact
    u = fastact._ufuncs
    old = u._stream_threshold()
    if old == 0:
        pytest.skip("no streaming stores on this platform")
    assert old == 32 << 20
    with pytest.raises(ValueError):
        u._set_stream_threshold(-1)
    assert u._stream_threshold() == old


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
    import numpy as np

    import fastact
    from fastact import _cpu, _ufuncs
    from fastact.tools.verify import BOUNDS

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
    import platform

    from fastact import _cpu

    ghz = _cpu.clock_ghz(passes=2_000_000, repeats=3)
    if platform.machine().lower() in ("x86_64", "amd64", "aarch64", "arm64"):
        assert ghz is not None and 0.3 < ghz < 8.0, ghz
    else:
        assert ghz is None or 0.3 < ghz < 8.0


# ---- free-threaded Python ---------------------------------------------------------

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _first_line(text):
    return text.splitlines()[0]


def test_modules_say_they_run_without_the_gil():
    """Both compiled modules carry Cython's freethreading_compatible directive
    (their state is atomic C or set once at import), so importing fastact on a
    free-threaded CPython does not turn the GIL back on."""
    from fastact import _codegen

    header = "\n".join(_codegen.generate("baseline").splitlines()[:3])
    assert "freethreading_compatible=True" in header
    cpu = os.path.join(_ROOT, "fastact", "_cpu.pyx")
    if os.path.exists(cpu):
        with open(cpu) as f:
            assert "freethreading_compatible=True" in _first_line(f.read())


@pytest.mark.slow
def test_generated_c_declares_the_gil_not_used(tmp_path):
    """Cython turns the directive into the module slot Py_mod_gil =
    Py_MOD_GIL_NOT_USED (used by CPython 3.13+): checked on the C it writes."""
    pytest.importorskip("Cython")
    from fastact import _codegen

    pyx = tmp_path / "_ufuncs_baseline.pyx"
    pyx.write_text(_codegen.generate("baseline"))
    out = tmp_path / "_ufuncs_baseline.c"
    subprocess.run([sys.executable, "-m", "cython", "-3", "-I",
                    os.path.join(_ROOT, "fastact", "src"), "-o", str(out), str(pyx)],
                   check=True, cwd=str(tmp_path), timeout=600)
    c = out.read_text()
    assert "#define __Pyx_FREETHREADING_COMPATIBLE Py_MOD_GIL_NOT_USED" in c
    assert "{Py_mod_gil, __Pyx_FREETHREADING_COMPATIBLE}" in c


def test_wheel_configuration_builds_the_free_threaded_interpreter():
    """cibuildwheel's targets (pyproject.toml) include a free-threaded CPython
    beside the GIL builds: the modules declare that they run without the GIL."""
    tomllib = pytest.importorskip("tomllib")
    path = os.path.join(_ROOT, "pyproject.toml")
    if not os.path.exists(path):
        pytest.skip("run from an installed package without its pyproject.toml")
    with open(path, "rb") as f:
        build = tomllib.load(f)["tool"]["cibuildwheel"]["build"]
    assert "cp314t-*" in build and "cp314-*" in build and "cp310-*" in build
