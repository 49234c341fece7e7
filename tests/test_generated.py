"""Generated sources are what their generators write (so nobody edits them by
hand, and a regenerated table is committed with its generator)."""

import os
import subprocess
import sys

import pytest

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
    # -I fastact: the static part the module includes (_ufuncs_runtime.pxi)
    subprocess.run([sys.executable, "-m", "cython", "-3",
                    "-I", os.path.join(_ROOT, "fastact", "src"),
                    "-I", os.path.join(_ROOT, "fastact"), "-o", str(out), str(pyx)],
                   check=True, cwd=str(tmp_path), timeout=600)
    c = out.read_text()
    assert "#define __Pyx_FREETHREADING_COMPATIBLE Py_MOD_GIL_NOT_USED" in c
    assert "{Py_mod_gil, __Pyx_FREETHREADING_COMPATIBLE}" in c
