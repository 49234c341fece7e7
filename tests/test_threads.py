"""Thread control, and the serial and threaded paths giving identical bytes."""

import os
import subprocess
import tempfile
import sys

import numpy as np
import pytest

import fastact
from conftest import call, subprocess_env

from fastact._codegen import THRESHOLD_CHEAP, THRESHOLD_TRANSCENDENTAL

# sizes on both sides of the serial thresholds (transcendental and cheap kernels)
SIZES = (1000, THRESHOLD_TRANSCENDENTAL - 1, THRESHOLD_TRANSCENDENTAL + 1,
         THRESHOLD_CHEAP - 1, THRESHOLD_CHEAP + 3, 300_001)


def test_openmp_is_on_in_this_build():
    if os.environ.get("FASTACT_EXPECT_NO_OPENMP"):
        assert not fastact.openmp_enabled()
        assert fastact.get_num_threads() == 1
    else:
        assert fastact.openmp_enabled()


@pytest.mark.parametrize("n", SIZES)
def test_serial_and_threaded_paths_identical(act, kind, n):
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n) * 5
    g = rng.standard_normal(n)
    with fastact.threads(1):
        one = call(act, kind, x, g)
        one32 = call(act, kind, x.astype(np.float32), g.astype(np.float32))
    with fastact.threads(2):
        two = call(act, kind, x, g)
        two32 = call(act, kind, x.astype(np.float32), g.astype(np.float32))
        # a strided view goes through the same split
        two_strided = call(act, kind, x[::-3], g[::-3])
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one32, two32)
    np.testing.assert_array_equal(two_strided, one[::-3])


def test_set_and_get_num_threads():
    old = fastact.get_num_threads()
    try:
        fastact.set_num_threads(1)
        assert fastact.get_num_threads() == 1
        if fastact.openmp_enabled():
            fastact.set_num_threads(3)
            assert fastact.get_num_threads() == 3
    finally:
        fastact.set_num_threads(old)


def test_threads_context_manager_restores():
    before = fastact.get_num_threads()
    with fastact.threads(1) as n:
        assert n == 1 and fastact.get_num_threads() == 1
    assert fastact.get_num_threads() == before


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", None, True])
def test_invalid_counts(bad):
    with pytest.raises(ValueError):
        fastact.set_num_threads(bad)
    with pytest.raises(ValueError):
        with fastact.threads(bad):
            pass


def _run(code, **env):
    full = subprocess_env(**env)
    return subprocess.run([sys.executable, "-c", code], env=full, capture_output=True,
                          text=True, timeout=120, cwd=tempfile.gettempdir())


def test_environment_variables():
    if not fastact.openmp_enabled():
        pytest.skip("serial build")
    r = _run("import fastact; print(fastact.get_num_threads())", FASTACT_NUM_THREADS="1")
    assert r.stdout.strip() == "1", r.stderr
    r = _run("import fastact; print(fastact.get_num_threads())", OMP_NUM_THREADS="1")
    assert r.stdout.strip() == "1", r.stderr
    r = _run("import fastact", FASTACT_NUM_THREADS="zero")
    assert r.returncode != 0 and "FASTACT_NUM_THREADS" in r.stderr


def test_fp_flags_from_worker_threads_reach_numpy():
    # a genuine overflow in the threaded path warns like the serial one
    # selu(x) = 1.0507 x overflows; only in the second half, which the
    # calling thread does not compute when the loop is split in two
    x = np.zeros(2**18)
    x[2**17:] = 1.75e308
    for nt in (1, 2):
        with fastact.threads(nt), np.errstate(over="raise"):
            with pytest.raises(FloatingPointError):
                fastact.selu(x)
