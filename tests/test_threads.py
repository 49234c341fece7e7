"""Thread control (the count: set_num_threads, threads(), the environment
variables, threadpoolctl; OpenMP's wait policy), the parallel driver (chunks,
workers, back-off), and the serial and threaded paths giving identical
bytes.  (Python threads, fork and multiprocessing: test_concurrency.py.)"""

import json
import os
import threading

import numpy as np
import pytest

import fastact
from fastact._codegen import THRESHOLD_CHEAP, THRESHOLD_TRANSCENDENTAL, THRESHOLD_VECTOR32
from helpers import PARALLEL, call, run_code

# sizes on both sides of the serial thresholds (transcendental and cheap kernels)
SIZES = (1000, THRESHOLD_TRANSCENDENTAL - 1, THRESHOLD_TRANSCENDENTAL + 1,
         THRESHOLD_CHEAP - 1, THRESHOLD_CHEAP + 3, 300_001)


# ---- the count: set_num_threads, threads(), the environment ------------------------

def test_openmp_is_on_in_this_build():
    if os.environ.get("FASTACT_EXPECT_NO_OPENMP"):
        assert not fastact.openmp_enabled()
        assert fastact.get_num_threads() == 1
    else:
        assert fastact.openmp_enabled()


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


@pytest.mark.parametrize("leave", ["normally", "by_exception"])
def test_threads_context_manager_restores(leave):
    """threads(n) sets the count for its block and restores the one before
    it however the block is left (an exception goes through)."""
    before = fastact.get_num_threads()

    def block():
        with fastact.threads(1) as n:
            assert n == 1 and fastact.get_num_threads() == 1
            if leave == "by_exception":
                raise RuntimeError

    if leave == "by_exception":
        with pytest.raises(RuntimeError):
            block()
    else:
        block()
    assert fastact.get_num_threads() == before


def test_threads_context_in_two_python_threads_restores_the_original():
    fastact.set_num_threads(2)
    try:
        a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
        seen = {}

        def a():
            with fastact.threads(1):
                a_in.set()
                b_in.wait(10)
                seen["a"] = fastact.get_num_threads()
            a_out.set()

        def b():
            a_in.wait(10)
            with fastact.threads(2):
                b_in.set()
                a_out.wait(10)

        ta, tb = threading.Thread(target=a), threading.Thread(target=b)
        ta.start(), tb.start()
        ta.join(30), tb.join(30)
        # the count set before both blocks (a serial build always reports 1)
        assert fastact.get_num_threads() == (2 if fastact.openmp_enabled() else 1)
        assert seen["a"] == 1                  # and each block saw its own count
    finally:
        fastact.set_num_threads(2)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", None, True])
def test_invalid_counts(bad):
    with pytest.raises(ValueError):
        fastact.set_num_threads(bad)
    with pytest.raises(ValueError):
        with fastact.threads(bad):
            pass


def test_environment_variables():
    if not fastact.openmp_enabled():
        pytest.skip("serial build")
    code = "import fastact; print(fastact.get_num_threads())"
    r = run_code(code, setenv={"FASTACT_NUM_THREADS": "1"})
    assert r.stdout.strip() == "1", r.stderr
    r = run_code(code, setenv={"OMP_NUM_THREADS": "1"})
    assert r.stdout.strip() == "1", r.stderr
    r = run_code("import fastact", setenv={"FASTACT_NUM_THREADS": "zero"})
    assert r.returncode != 0 and "FASTACT_NUM_THREADS" in r.stderr


# ---- threadpoolctl -----------------------------------------------------------------

def test_threadpoolctl_limits_fastact(follow_openmp):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if not PARALLEL:
        pytest.skip("serial build or one core")
    outside = fastact.get_num_threads()
    assert outside > 1
    x = np.random.default_rng(1).standard_normal(2**18 + 123)   # threaded
    want = fastact.gelu(x)
    with threadpoolctl.threadpool_limits(1, user_api="openmp"):
        assert fastact.get_num_threads() == 1
        assert fastact.gelu(x).tobytes() == want.tobytes()
        # fastact's own setting wins over threadpoolctl (documented)
        with fastact.threads(2):
            assert fastact.get_num_threads() == 2
        assert fastact.get_num_threads() == 1
    assert fastact.get_num_threads() == outside
    with threadpoolctl.threadpool_limits(limits={"openmp": 2}):
        assert fastact.get_num_threads() == 2


def test_threadpoolctl_lists_fastacts_openmp_runtime():
    pytest.importorskip("threadpoolctl")
    if not fastact.openmp_enabled():
        pytest.skip("serial build: no OpenMP runtime")
    r = run_code("""
        import json, numpy, scipy.special, threadpoolctl
        before = {i["filepath"] for i in threadpoolctl.threadpool_info()
                  if i["user_api"] == "openmp"}
        import fastact
        x = numpy.ones(2**18); fastact.gelu(x)
        after = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "openmp"]
        new = [i for i in after if i["filepath"] not in before]
        with threadpoolctl.threadpool_limits(1, user_api="openmp"):
            inside = fastact.get_num_threads()
        print(json.dumps({"new": new, "inside": inside,
                          "outside": fastact.get_num_threads()}))
    """)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout.strip().splitlines()[-1])
    assert info["new"], "importing fastact loaded no OpenMP runtime threadpoolctl sees"
    assert info["new"][0]["internal_api"] in ("openmp", "libgomp", "libomp", "libiomp")
    assert info["inside"] == 1
    assert info["outside"] == min(os.cpu_count() or 1, info["new"][0]["num_threads"])


# ---- one thread or two: the same bytes, the same flags -----------------------------

@pytest.mark.parametrize("n", SIZES)
def test_serial_and_threaded_paths_identical(act, kind, n, workers_always):
    """One thread and two give the same bytes, the workers taking chunks, in
    float64 and float32 and for a strided view (the same split); just above
    both thresholds also in float16, into out=, with a scalar parameter other
    than the default, and with an array of parameters (one value an
    element)."""
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n) * 5
    g = rng.standard_normal(n)
    dtypes, psets, with_out = (np.float64, np.float32), [], False
    if n == THRESHOLD_CHEAP + 3:
        dtypes, with_out = (np.float64, np.float32, np.float16), True
        for p in act.params:
            other = [s for s in p.samples if s != p.typical]
            if other:
                psets.append({p.name: other[0]})
            psets.append({p.name: rng.choice([p.typical, *p.samples], n)})

    def results(nthreads):
        with fastact.threads(nthreads):
            res = [call(act, kind, x.astype(dt), g.astype(dt)) for dt in dtypes]
            res += [call(act, kind, x, g, **ps) for ps in psets]
            if with_out:
                out = np.full(n, 7.0)
                assert call(act, kind, x, g, out=out) is out
                res.append(out)
        return res

    one = results(1)
    two = results(2)
    with fastact.threads(2):
        two_strided = call(act, kind, x[::-3], g[::-3])
    for a, b in zip(one, two, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(two_strided, one[0][::-3])


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


# ---- the parallel driver: chunks, workers, back-off (fa_drive) ---------------------

needs_openmp = pytest.mark.skipif(
    not fastact.openmp_enabled(), reason="a serial build has no workers")


@needs_openmp
def test_workers_take_chunks_and_bytes_match(workers_always):
    u = workers_always
    x = np.random.default_rng(1).standard_normal(1_000_003) * 8
    with fastact.threads(1):
        one = fastact.gelu(x)
    before = u._parallel_stats()
    for _ in range(20):
        with fastact.threads(2):
            two = fastact.gelu(x)
        np.testing.assert_array_equal(one, two)
    after = u._parallel_stats()
    assert after["regions"] - before["regions"] == 20
    # 2 threads x 8 chunks a call; some of them taken by the worker
    assert after["chunks"] - before["chunks"] == 20 * 16
    assert after["worker_chunks"] > before["worker_chunks"]
    assert fastact.get_num_threads() >= 1


@needs_openmp
def test_backoff_after_late_workers_runs_serially_then_recovers():
    u = fastact._ufuncs
    x = np.random.default_rng(2).standard_normal(300_001)
    with fastact.threads(1):
        one = fastact.silu(x)
    old = u._set_adaptive(True)
    try:
        u._set_adaptive(True)  # clears any back-off in force
        assert u._parallel_stats()["backoff_ns"] == 0
        # the worker took 1 of 16 chunks: late; then 0; then the caller none
        u._par_report(1, 16, 2)
        assert u._parallel_stats()["backoff_ns"] == 1_000_000
        u._par_report(0, 16, 2)
        assert u._parallel_stats()["backoff_ns"] == 2_000_000
        u._par_report(16, 16, 2)
        assert u._parallel_stats()["backoff_ns"] == 4_000_000
        for _ in range(12):
            u._par_report(16, 16, 2)
        assert u._parallel_stats()["backoff_ns"] == 256_000_000  # the cap
        assert 0.2 < u._backoff_remaining() <= 0.256
        # while backing off, a large call runs on the calling thread alone
        # and gives the same bytes; the thread count reported is unchanged
        before = u._parallel_stats()
        with fastact.threads(2):
            assert fastact.get_num_threads() == 2
            np.testing.assert_array_equal(fastact.silu(x), one)
        after = u._parallel_stats()
        assert after["regions"] == before["regions"]
        assert after["skipped"] == before["skipped"] + 1
        # a call with even shares ends the back-off at once and halves the
        # next one; 5 chunks of a fair 8 are near enough
        u._par_report(8, 16, 2)
        assert u._parallel_stats()["backoff_ns"] == 128_000_000
        assert u._backoff_remaining() == 0.0
        before = u._parallel_stats()
        with fastact.threads(2):
            np.testing.assert_array_equal(fastact.silu(x), one)
        assert u._parallel_stats()["skipped"] == before["skipped"]
        # (that call reported itself, late or not: start again from none)
        u._set_adaptive(True)
        for _ in range(3):
            u._par_report(0, 16, 2)
        assert u._parallel_stats()["backoff_ns"] == 4_000_000
        u._par_report(5, 16, 2)
        u._par_report(5, 16, 2)
        assert u._parallel_stats()["backoff_ns"] == 1_000_000
        u._par_report(8, 16, 2)
        assert u._parallel_stats()["backoff_ns"] == 0
        # three threads: the workers' fair share is 16 of 24 chunks
        u._par_report(7, 24, 3)
        assert u._parallel_stats()["backoff_ns"] == 1_000_000
    finally:
        u._set_adaptive(old)


@needs_openmp
def test_a_call_kept_waiting_for_its_worker_backs_off():
    """Even shares of chunks, but the calling thread waited at the end for a
    worker preempted in the middle of its last chunk: late.  A passing
    interrupt (under 0.2 ms) or a chunk's imbalance (under a quarter of the
    call) is not."""
    u = fastact._ufuncs
    old = u._set_adaptive(True)
    try:
        u._par_report(8, 16, 2, wait_ns=3_000_000, total_ns=3_200_000)
        assert u._parallel_stats()["backoff_ns"] == 1_000_000
        u._set_adaptive(True)
        u._par_report(8, 16, 2, wait_ns=150_000, total_ns=200_000)
        u._par_report(8, 16, 2, wait_ns=300_000, total_ns=2_000_000)
        assert u._parallel_stats()["backoff_ns"] == 0
        # the driver reports real calls: on a quiet machine they keep pace
        x = np.ones(1 << 20)
        before = u._parallel_stats()
        with fastact.threads(2):
            for _ in range(5):
                fastact.gelu(x)
        after = u._parallel_stats()
        assert after["regions"] - before["regions"] + after["skipped"] - before["skipped"] == 5
    finally:
        u._set_adaptive(old)


@needs_openmp
def test_first_call_after_a_backoff_is_a_probe():
    """The workers sleep through a back-off, so the call that ends it is
    late on any machine: it does not count, the one after it does."""
    import time
    u = fastact._ufuncs
    old = u._set_adaptive(True)
    try:
        u._par_report(0, 16, 2)
        assert u._parallel_stats()["backoff_ns"] == 1_000_000
        assert not u._par_allowed()
        time.sleep(0.002)
        assert u._par_allowed()                  # over: this call probes
        u._par_report(0, 16, 2)                  # late, but a probe's
        assert u._parallel_stats()["backoff_ns"] == 1_000_000
        assert u._par_allowed()
        u._par_report(1, 16, 2)                  # late with the workers awake
        assert u._parallel_stats()["backoff_ns"] == 2_000_000
        assert not u._par_allowed()
        time.sleep(0.003)
        assert u._par_allowed()
        u._par_report(8, 16, 2)                  # the probe kept pace: halve
        assert u._parallel_stats()["backoff_ns"] == 1_000_000
        assert u._par_allowed()
    finally:
        u._set_adaptive(old)


@needs_openmp
def test_adaptive_off_never_backs_off():
    u = fastact._ufuncs
    old = u._set_adaptive(False)
    try:
        u._par_report(0, 16, 2)
        assert u._parallel_stats()["backoff_ns"] == 0
        x = np.ones(300_001)
        before = u._parallel_stats()["regions"]
        with fastact.threads(2):
            fastact.gelu(x)
        assert u._parallel_stats()["regions"] == before + 1
    finally:
        u._set_adaptive(old)


@needs_openmp
@pytest.mark.parametrize("name, dtype, threshold", [
    ("gelu", np.float64, THRESHOLD_TRANSCENDENTAL),   # double kernels: 7 ns an element
    ("gelu", np.float32, THRESHOLD_VECTOR32),         # float32 vector kernels: 0.5 ns
    ("silu_backward", np.float16, THRESHOLD_VECTOR32),
    ("relu", np.float64, THRESHOLD_CHEAP),
])
def test_serial_below_the_loops_threshold(workers_always, name, dtype, threshold):
    """A call starts a parallel region from its loop's threshold on, not below:
    the float32 and float16 vector kernels wait for 2^16 elements, as cheap as
    the cheap functions, the double kernels go parallel from 2^14."""
    f = getattr(fastact, name)
    for n, regions in ((threshold - 1, 0), (threshold, 1)):
        args = [np.ones(n, dtype)] * f.nin
        before = workers_always._parallel_stats()["regions"]
        with fastact.threads(2):
            f(*args)
        assert workers_always._parallel_stats()["regions"] - before == regions, n


# ---- OpenMP's wait policy ----------------------------------------------------------

@needs_openmp
@pytest.mark.parametrize("env, expect", [
    ({}, "GOMP_SPINCOUNT=1000 (set by fastact)"),
    ({"OMP_WAIT_POLICY": "active"}, "from the environment (OMP_WAIT_POLICY=active)"),
    ({"GOMP_SPINCOUNT": "5"}, "from the environment (GOMP_SPINCOUNT=5)"),
])
def test_wait_policy_set_for_fastacts_runtime_only(env, expect):
    if not env and not fastact._ufuncs._libgomp_loaded(vendored=True):
        pytest.skip("this build's OpenMP runtime is not GNU libgomp")
    code = ("import os, fastact\n"
            "from fastact import _ufuncs\n"
            "print(_ufuncs.WAIT_POLICY)\n"
            "print(os.environ.get('GOMP_SPINCOUNT'), os.environ.get('OMP_WAIT_POLICY'))\n")
    r = run_code(code, setenv={"GOMP_SPINCOUNT": None, "OMP_WAIT_POLICY": None, **env})
    assert r.returncode == 0, r.stderr
    policy, seen = r.stdout.strip().splitlines()
    assert policy == expect
    # the variable fastact sets is gone again; the user's are untouched
    assert seen == f"{env.get('GOMP_SPINCOUNT')} {env.get('OMP_WAIT_POLICY')}"


@needs_openmp
def test_wait_policy_left_alone_when_libgomp_is_already_loaded():
    code = ("import ctypes, ctypes.util\n"
            "ctypes.CDLL('libgomp.so.1')\n"
            "from fastact import _ufuncs\n"
            "print(_ufuncs.WAIT_POLICY)\n")
    r = run_code(code, setenv={"GOMP_SPINCOUNT": None, "OMP_WAIT_POLICY": None})
    if r.returncode != 0 and "libgomp" in r.stderr:
        pytest.skip("no libgomp.so.1 to load by name (not a GNU OpenMP build)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "the OpenMP runtime's default"
