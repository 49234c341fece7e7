"""fastact under concurrency: Python threads calling it at once, fork and
multiprocessing.  (Thread control, threadpoolctl's included, is
test_threads.py's.)

Everything that could hang (fork after OpenMP was used) runs in a subprocess
with a timeout, so a hang fails the test instead of hanging pytest.
"""

import os
import threading
import time

import numpy as np
import pytest

import fastact
from helpers import PARALLEL, run_code, run_python

# above both threading thresholds (fastact._codegen.THRESHOLD_*)
N_BIG = 2**18 + 123


# ---------------------------------------------------------------- Python threads

def _calls():
    rng = np.random.default_rng(5)
    x = rng.standard_normal(N_BIG) * 4
    g = rng.standard_normal(N_BIG)
    x32, x16 = x.astype(np.float32), x.astype(np.float16)
    w = np.where(rng.random(N_BIG) < 0.5, 0.1, 0.3)
    return [
        ("gelu", lambda out: fastact.gelu(x, out=out), x),
        ("gelu_grad32", lambda out: fastact.gelu_grad(x32, out=out), x32),
        ("mish16", lambda out: fastact.mish(x16, out=out), x16),
        ("relu", lambda out: fastact.relu(x, out=out), x),
        ("hard_swish32", lambda out: fastact.hard_swish(x32, out=out), x32),
        ("elu", lambda out: fastact.elu(x, alpha=0.5, out=out), x),
        ("prelu_w", lambda out: fastact.prelu(x, w, out=out), x),
        ("silu_backward", lambda out: fastact.silu_backward(g, x, out=out), x),
        ("strided", lambda out: fastact.tanh(x[::-3], out=out), x[::-3]),
    ]


def test_eight_python_threads_give_serial_bytes():
    calls = _calls()
    with fastact.threads(1):
        want = {name: fn(np.empty_like(like)) for name, fn, like in calls}
    inputs_before = {name: like.copy() for name, _, like in calls}
    nthreads, rounds = 8, 3
    barrier = threading.Barrier(nthreads)
    results, errors = {}, []

    def worker(tid):
        try:
            outs = {name: np.empty_like(like) for name, _, like in calls}
            for r in range(rounds):
                barrier.wait(timeout=60)
                order = calls[tid % len(calls):] + calls[:tid % len(calls)]
                for name, fn, _ in order:
                    y = fn(outs[name])
                    assert y is outs[name]
                    results[(tid, r, name)] = y.tobytes()
        except Exception as e:  # pragma: no cover - reported below
            errors.append((tid, repr(e)))

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(nthreads)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=120)
    print(f"\n8 threads x {rounds} rounds x {len(calls)} calls: "
          f"{time.perf_counter() - t0:.2f}s (fastact threads per call: "
          f"{fastact.get_num_threads()})")
    assert not any(t.is_alive() for t in ts), "a thread hung"
    assert not errors, errors
    assert len(results) == nthreads * rounds * len(calls)
    for (tid, r, name), b in results.items():
        assert b == want[name].tobytes(), (tid, r, name)
    for name, _, like in calls:  # shared inputs never written
        np.testing.assert_array_equal(like, inputs_before[name])


def test_thread_settings_changed_while_other_threads_compute():
    """The process-wide state the loops read (the requested count, the
    back-off, the streaming threshold) is changed by one thread while eight
    others compute: every result stays the serial bytes, nothing hangs."""
    calls = _calls()[:4]
    with fastact.threads(1):
        want = {name: fn(np.empty_like(like)).tobytes() for name, fn, like in calls}
    old_req, old_stream = fastact._ufuncs._get_requested(), fastact._ufuncs._stream_threshold()
    stop, errors = threading.Event(), []

    def compute(tid):
        try:
            outs = {name: np.empty_like(like) for name, _, like in calls}
            while not stop.is_set():
                for name, fn, _ in calls:
                    assert fn(outs[name]).tobytes() == want[name], name
        except Exception as e:  # pragma: no cover - reported below
            errors.append((tid, repr(e)))

    ts = [threading.Thread(target=compute, args=(i,)) for i in range(8)]
    for t in ts:
        t.start()
    try:
        deadline = time.perf_counter() + 3.0
        i = 0
        while time.perf_counter() < deadline:
            fastact.set_num_threads(1 + i % 3)
            fastact._ufuncs._par_report(0, 16, 2)   # a back-off now and then
            if fastact._ufuncs._stream_threshold():
                fastact._ufuncs._set_stream_threshold(0 if i % 2 else 1 << 25)
            i += 1
            time.sleep(0.001)
    finally:
        stop.set()
        for t in ts:
            t.join(timeout=120)
        fastact._ufuncs._set_requested(old_req)
        if old_stream:
            fastact._ufuncs._set_stream_threshold(old_stream)
        fastact._ufuncs._set_adaptive(True)
    assert not any(t.is_alive() for t in ts), "a thread hung"
    assert not errors, errors


# ---------------------------------------------------------------- fork

FORK_SCRIPT = """
import os, sys, time
import numpy as np
import fastact

x = np.random.default_rng(0).standard_normal(2**21) * 4
fastact.set_num_threads(2)
want = fastact.gelu(x)          # the parent runs a parallel region
want_elu = fastact.elu(x, 0.5)
threads_used_by_parent = fastact.get_num_threads()

pid = os.fork()
if pid == 0:
    try:
        t0 = time.perf_counter()
        y = fastact.gelu(x)
        y2 = fastact.elu(x, 0.5)
        dt = time.perf_counter() - t0
        ok = y.tobytes() == want.tobytes() and y2.tobytes() == want_elu.tobytes()
        os.write(1, f"CHILD {dt:.4f} {ok} {fastact.get_num_threads()}\\n".encode())
        os._exit(0 if ok else 3)
    except BaseException as e:
        os.write(1, f"CHILD-ERROR {e!r}\\n".encode())
        os._exit(4)
_, status = os.waitpid(pid, 0)
print("PARENT", threads_used_by_parent, os.waitstatus_to_exitcode(status),
      fastact.get_num_threads(), fastact.gelu(x).tobytes() == want.tobytes())
"""


def _field(out, tag):
    for line in out.splitlines():
        if line.startswith(tag + " "):
            return line.split()[1:]
    raise AssertionError(f"no {tag} line in output:\n{out}")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_fork_after_parallel_region_child_finishes():
    t0 = time.perf_counter()
    r = run_code(FORK_SCRIPT, timeout=60)
    elapsed = time.perf_counter() - t0
    assert r.returncode == 0, r.stdout + r.stderr
    dt, ok, child_threads = _field(r.stdout, "CHILD")
    parent_threads, child_rc, parent_after, parent_ok = _field(r.stdout, "PARENT")
    print(f"\nfork child: gelu+elu on 2**21 float64 in {float(dt) * 1e3:.1f} ms "
          f"(child threads {child_threads}, script {elapsed:.1f}s)")
    assert ok == "True" and child_rc == "0"
    assert child_threads == "1"       # the child runs serially
    assert parent_ok == "True"
    assert parent_after == parent_threads  # the parent keeps its threads
    assert float(dt) < 30


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_fork_from_a_single_threaded_process_keeps_threads():
    # a child forked from a process without threads can use OpenMP safely;
    # OpenBLAS is kept from starting its own threads at NumPy's import
    if not PARALLEL:
        pytest.skip("serial build or one core")
    r = run_code("""
        import os, numpy as np, fastact
        fastact.set_num_threads(2)
        fastact.gelu(np.ones(100))     # serial: below the threshold
        pid = os.fork()
        if pid == 0:
            x = np.linspace(-5, 5, 2**20)
            ok = fastact.gelu(x).tobytes() == fastact.gelu(x[::-1])[::-1].tobytes()
            os.write(1, f"CHILD {fastact.get_num_threads()} {ok}\\n".encode())
            os._exit(0)
        os.waitpid(pid, 0)
    """, timeout=60, setenv={"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "2"})
    assert r.returncode == 0, r.stderr
    assert _field(r.stdout, "CHILD") == ["2", "True"]


POOL_SCRIPT = """
import os, time, sys
import multiprocessing as mp
import numpy as np
import fastact

def work(seed):
    x = np.random.default_rng(seed).standard_normal(2**20) * 4
    t0 = time.perf_counter()
    y = fastact.gelu(x)
    g = fastact.softplus_grad(x.astype(np.float32), beta=2.0)
    dt = time.perf_counter() - t0
    return seed, os.getpid(), fastact.get_num_threads(), dt, y.tobytes(), g.tobytes()

if __name__ == "__main__":
    method = sys.argv[1]
    fastact.set_num_threads(2)
    x = np.random.default_rng(99).standard_normal(2**21)
    fastact.gelu(x)                  # the parent runs a parallel region first
    seeds = list(range(6))
    want = {}
    for s in seeds:
        xs = np.random.default_rng(s).standard_normal(2**20) * 4
        want[s] = (fastact.gelu(xs).tobytes(),
                   fastact.softplus_grad(xs.astype(np.float32), beta=2.0).tobytes())
    t0 = time.perf_counter()
    with mp.get_context(method).Pool(2) as pool:
        res = pool.map(work, seeds)
    total = time.perf_counter() - t0
    pids = {r[1] for r in res}
    ok = all((r[4], r[5]) == want[r[0]] for r in res)
    print("POOL", ok, max(r[3] for r in res), total, len(pids) >= 1,
          ",".join(sorted({str(r[2]) for r in res})), os.getpid() not in pids)
"""


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_multiprocessing_pool(method, tmp_path):
    import multiprocessing as mp

    if method not in mp.get_all_start_methods():
        pytest.skip(f"no {method} start method")
    script = tmp_path / "pool_script.py"
    script.write_text(POOL_SCRIPT)
    t0 = time.perf_counter()
    r = run_python(script, method, cwd=tmp_path)
    elapsed = time.perf_counter() - t0
    assert r.returncode == 0, r.stdout + r.stderr
    ok, child_max, pool_total, _, child_threads, not_parent = _field(r.stdout, "POOL")
    print(f"\nPool({method}): slowest child call {float(child_max) * 1e3:.1f} ms, "
          f"pool {float(pool_total):.2f}s, child threads {child_threads}, "
          f"script {elapsed:.1f}s")
    assert ok == "True" and not_parent == "True"
    if method == "fork":
        assert child_threads == "1"   # forked after a parallel region: serial
    elif PARALLEL:
        assert child_threads != "1"   # a spawned child is a fresh process


FORK_OTHER_OPENMP_SCRIPT = """
import ctypes, os, signal, sys, time
import numpy as np
import fastact                       # loads libgomp, runs no parallel region
gomp = ctypes.CDLL("libgomp.so.1")   # the same runtime fastact linked
libc = ctypes.CDLL(None)
fn = ctypes.cast(libc.getpid, ctypes.c_void_p)   # a harmless void (*)(void *)
gomp.GOMP_parallel.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint,
                               ctypes.c_uint]
gomp.GOMP_parallel(fn, None, 2, 0)   # another library runs an OpenMP region
x = np.random.default_rng(0).standard_normal(2**21)
want = np.asarray(fastact.gelu(x[:10]))
pid = os.fork()
if pid == 0:
    t0 = time.perf_counter()
    y = fastact.gelu(x)
    ok = y[:10].tobytes() == want.tobytes()
    os.write(1, f"CHILD {time.perf_counter() - t0:.4f} {ok}\\n".encode())
    os._exit(0)
deadline = time.monotonic() + 10  # the child needs ~0.1 s
while time.monotonic() < deadline:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        print("PARENT finished", os.waitstatus_to_exitcode(status))
        sys.exit(0)
    time.sleep(0.05)
os.kill(pid, signal.SIGKILL)
os.waitpid(pid, 0)
print("PARENT child-hung")
sys.exit(2)
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_fork_after_another_librarys_openmp_region():
    if not fastact.openmp_enabled():
        pytest.skip("serial build")
    import ctypes.util

    if not ctypes.util.find_library("gomp"):
        pytest.skip("fastact's OpenMP runtime here is not libgomp")
    r = run_code(FORK_OTHER_OPENMP_SCRIPT, timeout=90)
    print("\n" + r.stdout.strip())
    assert r.returncode == 0, r.stdout + r.stderr
    assert _field(r.stdout, "CHILD")[1] == "True"
