"""Packaging: the committed tree builds an sdist, the sdist builds a wheel in a
clean virtual environment, and the installed wheel works from outside the
source tree -- with OpenMP, and with ``FASTACT_NO_OPENMP=1`` (serial build,
identical results); and the wheels CI builds cover the free-threaded
interpreter.

The builds compile the extension from scratch (minutes): those tests are
``slow``.  They need git, a C compiler and access to the package index that
pip is configured with.
"""

import glob
import json
import os
import shutil
import sys

import pytest

from helpers import run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SMOKE = r"""
import json, os, sys
import numpy as np
import fastact

out_dir = sys.argv[1]
rng = np.random.default_rng(2024)
x = rng.standard_normal(300_001) * 5      # above every threading threshold
g = rng.standard_normal(300_001)
results = {}
for name, act in fastact.ACTIVATIONS.items():
    p = act.typical_params
    for dt in (np.float16, np.float32, np.float64):
        xs, gs = x.astype(dt), g.astype(dt)
        results[f"{name}-{np.dtype(dt).name}"] = act.forward(xs, **p)
        results[f"{name}_grad-{np.dtype(dt).name}"] = act.grad(xs, **p)
        results[f"{name}_backward-{np.dtype(dt).name}"] = act.backward(gs, xs, **p)
np.savez(os.path.join(out_dir, "results.npz"), **results)
with fastact.threads(1):
    serial = fastact.gelu(x)
print(json.dumps({
    "file": fastact.__file__,
    "version": fastact.__version__,
    "openmp": fastact.openmp_enabled(),
    "threads": fastact.get_num_threads(),
    "serial_equals_default": serial.tobytes() == results["gelu-float64"].tobytes(),
    "gelu_1": float(fastact.gelu(1.0)),
    "cwd": os.getcwd(),
}))
"""


#: how long a build, an install or the test run may take (seconds)
LONG = 1800


def _clean_env(**extra):
    """The environment without anything that points Python at this tree."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "FASTACT_NO_OPENMP",
                        "FASTACT_NUM_THREADS", "OMP_NUM_THREADS", "FASTACT_SIMD",
                        "VIRTUAL_ENV", "PYTHONSTARTUP")}
    env.update(extra)
    return env


def _venv_python(venv):
    return os.path.join(venv, "Scripts" if os.name == "nt" else "bin", "python")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    if shutil.which("git") is None or not os.path.isdir(os.path.join(ROOT, ".git")):
        pytest.skip("needs git and a git checkout")
    return tmp_path_factory.mktemp("packaging")


@pytest.fixture(scope="module")
def sdist(workdir):
    """An sdist of the committed tree (a clone holds only committed files)."""
    src = workdir / "src"
    run(["git", "clone", "-q", ROOT, src], timeout=LONG, check=True)
    dist = workdir / "dist"
    try:
        import build  # noqa: F401
        cmd = [sys.executable, "-m", "build", "--sdist", "--outdir", str(dist), str(src)]
    except ImportError:  # pip-only fallback: setuptools' own sdist in the clone
        cmd = [sys.executable, "setup.py", "-q", "sdist", "--dist-dir", str(dist)]
    r = run(cmd, cwd=src, env=_clean_env(), timeout=LONG, check=True)
    files = glob.glob(str(dist / "fastact-*.tar.gz"))
    assert len(files) == 1, os.listdir(dist)
    print(f"\nsdist {os.path.basename(files[0])} in {r.seconds:.0f}s")
    import tarfile

    with tarfile.open(files[0]) as tf:
        names = tf.getnames()
    # what the build needs is in the sdist; build products are not
    for needed in ("setup.py", "pyproject.toml", "fastact/_registry.py",
                   "fastact/_codegen.py", "fastact/src/fa_kernels.h"):
        assert any(n.endswith("/" + needed) for n in names), needed
    assert not any(n.endswith((".so", ".pyd", ".o")) for n in names), names
    return files[0], str(src)


def _wheel_venv(workdir, sdist_path, tag, **build_env):
    """Build a wheel from the sdist and install it into a fresh venv."""
    venv = str(workdir / f"venv-{tag}")
    run([sys.executable, "-m", "venv", venv], timeout=LONG, check=True)
    py = _venv_python(venv)
    wheels = str(workdir / f"wheels-{tag}")
    env = _clean_env(PIP_DISABLE_PIP_VERSION_CHECK="1", **build_env)
    built = run([py, "-m", "pip", "wheel", "--no-cache-dir", "--no-deps",
                 "-w", wheels, sdist_path], cwd=workdir, env=env, timeout=LONG, check=True)
    whl = glob.glob(os.path.join(wheels, "fastact-*.whl"))
    assert len(whl) == 1, whl
    installed = run([py, "-m", "pip", "install", "-q", whl[0]], cwd=workdir,
                    env=_clean_env(PIP_DISABLE_PIP_VERSION_CHECK="1"), timeout=LONG,
                    check=True)
    print(f"\n[{tag}] wheel {os.path.basename(whl[0])} built in {built.seconds:.0f}s, "
          f"installed in {installed.seconds:.0f}s")
    return venv, whl[0]


def _smoke(workdir, venv, tag):
    """Run SMOKE with the venv's Python from a directory outside any source tree."""
    out = workdir / f"smoke-{tag}"
    out.mkdir()
    script = workdir / "smoke.py"
    script.write_text(SMOKE)
    r = run([_venv_python(venv), script, out], cwd=out, env=_clean_env(), timeout=600,
            check=True)
    info = json.loads(r.stdout.strip().splitlines()[-1])
    assert os.path.realpath(info["file"]).startswith(os.path.realpath(venv)), info
    assert abs(info["gelu_1"] - 0.8413447460685429) < 1e-15
    assert info["serial_equals_default"]
    return info, str(out / "results.npz")


@pytest.fixture(scope="module")
def openmp_wheel(workdir, sdist):
    return _wheel_venv(workdir, sdist[0], "openmp")


@pytest.fixture(scope="module")
def serial_wheel(workdir, sdist):
    return _wheel_venv(workdir, sdist[0], "serial", FASTACT_NO_OPENMP="1")


@pytest.mark.slow
def test_sdist_wheel_installs_and_runs_outside_the_tree(workdir, openmp_wheel):
    import zipfile

    venv, whl = openmp_wheel
    with zipfile.ZipFile(whl) as zf:
        names = zf.namelist()
    assert any(n.startswith("fastact/_ufuncs") and n.endswith((".so", ".pyd"))
               for n in names), names
    assert not any(n.endswith((".pyx", ".c")) for n in names)
    # the type information ships with the package
    assert {"fastact/py.typed", "fastact/__init__.pyi"} <= set(names), names
    info, _ = _smoke(workdir, venv, "openmp")
    print(f"installed: {info['file']} openmp={info['openmp']} threads={info['threads']}")
    import fastact

    if fastact.openmp_enabled():  # a compiler with OpenMP here: the wheel has it too
        assert info["openmp"] is True


@pytest.mark.slow
def test_serial_build_identical_results(workdir, openmp_wheel, serial_wheel):
    import numpy as np

    info_s, res_s = _smoke(workdir, serial_wheel[0], "serial")
    assert info_s["openmp"] is False
    assert info_s["threads"] == 1
    # the extension of the serial wheel does not link an OpenMP runtime
    import zipfile

    with zipfile.ZipFile(serial_wheel[1]) as zf:
        sos = [n for n in zf.namelist() if n.endswith(".so")]
        blob = b"".join(zf.read(n) for n in sos)
    assert b"libgomp" not in blob and b"GOMP_parallel" not in blob
    info_o, res_o = _smoke(workdir, openmp_wheel[0], "openmp-cmp")
    a, b = np.load(res_s), np.load(res_o)
    assert sorted(a.files) == sorted(b.files)
    different = [k for k in a.files if a[k].tobytes() != b[k].tobytes()]
    assert not different, different
    print(f"serial wheel == OpenMP wheel on {len(a.files)} arrays "
          f"(OpenMP threads there: {info_o['threads']})")


@pytest.mark.slow
def test_project_tests_pass_against_installed_wheel(workdir, sdist, openmp_wheel):
    """The project's own default test selection, importing the installed wheel
    (conftest drops the unbuilt source root from sys.path)."""
    venv, whl = openmp_wheel
    py = _venv_python(venv)
    src = sdist[1]
    env = _clean_env(PIP_DISABLE_PIP_VERSION_CHECK="1")
    # the test extra as the package declares it
    run([py, "-m", "pip", "install", "-q", f"{whl}[test]"], cwd=workdir, env=env,
        timeout=LONG, check=True)
    # the clone has no compiled extension, so tests/conftest.py takes the
    # source root off sys.path and `import fastact` finds the wheel; check it
    (workdir / "where.py").write_text(
        "import os, sys\n"
        "sys.path.insert(0, os.path.join(sys.argv[1], 'tests'))\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "import conftest, fastact\n"
        "print(fastact.__file__)\n")
    r = run([py, workdir / "where.py", src], cwd=src, env=env, timeout=LONG, check=True)
    assert os.path.realpath(r.stdout.strip()).startswith(os.path.realpath(venv)), r.stdout
    tests = ["tests/test_contract.py", "tests/test_threads.py"]
    if os.path.exists(os.path.join(src, "fastact", "reference.py")):
        tests += ["tests/test_registry.py", "tests/test_values.py"]
    tests = [t for t in tests if os.path.exists(os.path.join(src, t))]
    r = run([py, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests],
            cwd=src, env=env, timeout=LONG, check=True)
    print(f"\nproject tests against the wheel: {r.stdout.strip().splitlines()[-1]} "
          f"({r.seconds:.0f}s)")


def test_wheel_configuration_builds_the_free_threaded_interpreter():
    """cibuildwheel's targets (pyproject.toml) include a free-threaded CPython
    beside the GIL builds (the modules declare that they run without the GIL:
    test_generated.py)."""
    tomllib = pytest.importorskip("tomllib")
    path = os.path.join(ROOT, "pyproject.toml")
    if not os.path.exists(path):
        pytest.skip("run from an installed package without its pyproject.toml")
    with open(path, "rb") as f:
        build = tomllib.load(f)["tool"]["cibuildwheel"]["build"]
    assert "cp314t-*" in build and "cp314-*" in build and "cp310-*" in build
