"""The benchmark (fastact's main job) and its peers: what it times is right."""

import os

import numpy as np
import pytest

import fastact
from fastact.tools import bench, peers
from helpers import call

ACTS = list(fastact.ACTIVATIONS.values())


def test_best_time_reports_best_and_median():
    calls = []
    best, median = bench.best_time(lambda: calls.append(1), min_time=0.005, repeats=3)
    assert 0 < best <= median
    assert len(calls) >= 2 + 3


def test_settle_clears_a_back_off_from_earlier_rows_and_keeps_the_setting():
    u = fastact._ufuncs
    old = u._set_adaptive(True)
    try:
        u._par_report(0, 16, 2)      # a late call: backing off
        assert u._backoff_remaining() > 0 and not u._par_allowed()
        bench.settle([])            # no peers: nothing to settle
        assert u._backoff_remaining() > 0
        bench.settle(["a peer"])
        assert u._backoff_remaining() == 0 and u._par_allowed()
        assert u._parallel_stats()["backoff_ns"] == 0
        u._set_adaptive(False)
        bench.settle(["a peer"])
        assert u._set_adaptive(False) is False
    finally:
        u._set_adaptive(old)


def test_user_call_passes_what_it_is_given_without_unpacking():
    seen = []

    def f(*args, **kw):
        seen.append((args, kw))

    x, g, o = np.ones(3), np.zeros(3), np.empty(3)
    bench.user_call(f, (g, x), {"alpha": 2.0}, o)()
    bench.user_call(f, (x,), {})()
    assert seen[0][0] == (g, x) and seen[0][1] == {"alpha": 2.0, "out": o}
    assert seen[1][0] == (x,) and seen[1][1] == {}
    # written out: no *args/**kwargs unpacking (CALL_FUNCTION_EX) in the timed call
    import dis
    ops = {i.opname for i in dis.get_instructions(bench.user_call(f, (g, x), {"a": 1}, o))}
    assert "CALL_FUNCTION_EX" not in ops and "DICT_MERGE" not in ops
    # the ufunc writes into out exactly as fastact.elu(x, alpha=2.0, out=o) would
    x = np.linspace(-3, 3, 11)
    want = fastact.elu(x, alpha=2.0)
    bench.user_call(fastact.elu, (x,), {"alpha": 2.0}, o := np.empty_like(x))()
    assert np.array_equal(o, want)


def test_run_times_every_kind_and_agrees_with_the_reference():
    rows = bench.run(only=["gelu", "leaky_relu"], sizes=(2000,), dtypes=("float32",),
                     kinds=("forward", "grad", "backward"), repeats=2,
                     min_time=0.002, progress=False, scaling=True)
    assert len(rows) == 6
    for r in rows:
        assert r["agrees"], r
        for key in ("fastact", "fastact_fresh", "roofline", "reference"):
            assert r[key] > 0
        assert r["vs_best_peer"] is None
        if fastact.get_num_threads() > 1:
            assert r["one_thread"] > 0
    text = bench.format_table(rows)
    assert "leaky_relu" in text and "NO" not in text


def test_scaling_alternates_one_thread_and_the_default(monkeypatch):
    # a second core that goes away for a while must not land on one side of
    # the ratio only: the rounds alternate, and each side keeps its best
    seen = []
    fake = {1: iter([5.0, 4.0, 6.0]), 2: iter([3.0, 2.5, 2.0])}

    def best_time(call, min_time, repeats):
        # the count the block asked for (a serial build runs every call on
        # one thread, but the rounds alternate all the same)
        n = fastact._ufuncs._get_local()
        seen.append(n)
        return next(fake[n]), None

    monkeypatch.setattr(bench, "best_time", best_time)
    with fastact.threads(2):
        one, nt = bench._scaling(lambda: None, 2.2, 0.01, 3)
    assert seen == [1, 2] * bench.SCALING_ROUNDS
    assert (one, nt) == (4.0, 2.0)
    row = {"one_thread": one, "threads_best": nt, "fastact": 2.2}
    assert bench.scaling_ratio(row) == 2.0


def test_compare_rounds_keep_each_sides_best(monkeypatch):
    # a later round improves whichever side it finds faster, and only that
    times = iter([1.0, 2.0])

    def best_time(call, min_time, repeats):
        return next(times), 9.0

    class Peer:
        def time_call(self, *args):
            return {"out": 0.5, "fresh": 3.0}

    monkeypatch.setattr(bench, "best_time", best_time)
    monkeypatch.setattr(bench, "settle", lambda peers: None)
    row = {"fastact": 1.5, "fastact_median": 1.6, "fastact_fresh": 1.8,
           "torch": {"out": 0.7, "fresh": 2.5}, "serial_calls": 0, "parallel_calls": 0}
    bench._another_round(row, {"torch": Peer()}, None, None, (), 0.01, 3)
    assert (row["fastact"], row["fastact_median"], row["fastact_fresh"]) == (1.0, 9.0, 1.8)
    assert row["torch"] == {"out": 0.5, "fresh": 2.5}


def test_compare_serial_share_counts_every_round(monkeypatch):
    # the '~' mark: calls run serially while backing off, over both rounds
    stats = iter([(0, 0), (0, 10), (0, 10), (10, 10)])   # (skipped, regions)

    def parallel_stats():
        skipped, regions = next(stats)
        return {"skipped": skipped, "regions": regions}

    monkeypatch.setattr(fastact._ufuncs, "_parallel_stats", parallel_stats)
    monkeypatch.setattr(bench, "best_time", lambda call, min_time, repeats: (1.0, 1.0))
    monkeypatch.setattr(bench, "settle", lambda peers: None)
    row = {"fastact_fresh": 1.0, "serial_calls": 0, "parallel_calls": 0}
    row["fastact"], _ = bench._time_ours(row, None, 0.01, 3)    # 10 in parallel
    bench._another_round(row, {}, None, None, (), 0.01, 3)      # 10 serially
    assert bench._serial_share(row) == 0.5
    assert "serial_calls" not in row and "parallel_calls" not in row


def test_peer_ratios_compare_like_with_like():
    row = {"fastact": 1.0, "fastact_fresh": 2.0,
           "torch": {"out": 3.0, "fresh": 8.0}, "jax": {"out": None, "fresh": 5.0}}
    assert bench.peer_ratios(row, "torch") == (3.0, "out")
    assert bench.peer_ratios(row, "jax") == (2.5, "fresh")
    assert bench.best_peer_ratio(row, ("torch", "jax")) == 2.5
    row["torch"] = {"out": None, "fresh": 3.0}   # no out= variant: fresh vs fresh
    assert bench.peer_ratios(row, "torch") == (1.5, "fresh")
    assert bench.peer_ratios(row, "nope") is None


def _row(name, kind, dtype, n, t, **kw):
    row = {"name": name, "kind": kind, "dtype": dtype, "n": n, "fastact": t,
           "fastact_fresh": 2 * t, "roofline": t, "reference": 10 * t,
           "vs_best_peer": None}
    row.update(kw)
    return row


def test_targets_count_the_rows_that_meet_each_one():
    rows = [
        # at the roofline, ahead of the peer, 1 us a call at 1e3
        _row("relu", "forward", "float32", 1000, 1e-6, vs_best_peer=1.5),
        _row("gelu", "forward", "float32", 1000, 3e-6, roofline=1e-6, vs_best_peer=0.5),
        # a grad row counts for the roofline, not against the peers
        _row("gelu", "grad", "float32", 100_000, 1e-4, reference=4e-3, one_thread=1.8e-4),
        _row("gelu", "grad", "float32", 1000, 1e-6, one_thread=0.5e-6),   # n too small
        _row("gelu", "backward", "float64", 100_000, 1e-4, roofline=0.7e-4,
             vs_best_peer=1.0, one_thread=1.5e-4, torch={"out": 1e-4, "fresh": 1.9e-4}),
        _row("relu", "backward", "float64", 100_000, 1e-5, vs_best_peer=2.0,
             torch={"out": 1e-5, "fresh": 4e-5}),
    ]
    assert fastact.tools.bench.targets(rows, ("torch",)) == [
        "roofline ratio >= 0.8 at n = 1e5: 2 of 3 (0.70-1.00)",
        "at or above the faster peer (forward, backward): 3 of 4 (0.50x-2.00x); "
        "float32 1e3: 1/2, float64 1e5: 2/2",
        "at or above PyTorch, fresh outputs, n = 1e5: 1 of 2 (0.95x-2.00x)",
        "one float32 forward call at n = 1e3 <= 1.0 us: 1 of 2 (1.00 us-3.00 us)",
        "threads over 1 thread >= 1.7x at n = 1e5 (transcendental): 1 of 2 (1.50x-1.80x)",
        "speed-up over the reference >= 30x at n = 1e5 (transcendental): "
        "1 of 2 (10.0x-40.0x)",
    ]
    # without peers or those sizes, only what the run timed
    assert fastact.tools.bench.targets(rows[2:3]) == [
        "roofline ratio >= 0.8 at n = 1e5: 1 of 1 (1.00-1.00)",
        "threads over 1 thread >= 1.7x at n = 1e5 (transcendental): 1 of 1 (1.80x-1.80x)",
        "speed-up over the reference >= 30x at n = 1e5 (transcendental): "
        "1 of 1 (40.0x-40.0x)"]
    assert fastact.tools.bench.targets([]) == []


def test_roofline_is_at_least_as_fast_as_numpy_copy():
    # the roofline is the faster of NumPy's copy and fastact's own threaded
    # one, so it is not slower than NumPy's copy timed next to it.  Two
    # timings taken one after the other differ by up to 2x on a loaded machine
    # (this check failed once in CI while another test suite ran on the same
    # two cores), so it passes when any of five attempts holds.
    x = np.ones(1 << 18)
    out = np.empty_like(x)
    ratios = []
    for _ in range(5):
        rows = bench.run(only=["relu"], sizes=(1 << 18,), dtypes=("float64",),
                         kinds=("forward",), repeats=3, min_time=0.005,
                         progress=False)
        numpy_copy, _ = bench.best_time(lambda: np.copyto(out, x), 0.005, 3)
        ratios.append(rows[0]["roofline"] / numpy_copy)
        if ratios[-1] <= 1.5:
            break
    assert min(ratios) <= 1.5, ratios


@pytest.mark.parametrize("stream", [False, True], ids=["stores", "streaming"])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("n", [7, 1 << 18])   # serial and threaded loops
def test_roofline_loops_copy_and_add(dtype, n, stream, stream_threshold):
    """The loops the roofline is timed with (fastact's own copy and add,
    serial and threaded, with ordinary or streaming stores) compute them."""
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


def test_unknown_names_are_errors():
    with pytest.raises(SystemExit, match="unknown peer"):
        peers.make(["matlab"], 1)
    with pytest.raises(SystemExit, match="unknown activation"):
        bench.run(only=["nosuch"], sizes=(10,), progress=False)


def test_pipeline_bench_times_every_setting_and_checks(capsys):
    from fastact.tools import pipeline

    rc = bench.main(["--pipeline", "--layers", "16x32x64", "--dtypes", "float32",
                     "--settings", "numpy,busy,2proc", "--no-progress"])
    assert rc == 0
    out = capsys.readouterr().out
    rows = [ln.split() for ln in out.splitlines()
            if ln.split()[:1] in (["numpy"], ["busy"], ["2proc"])]
    assert [(r[0], r[3]) for r in rows] == [
        (s, k) for s in ("numpy", "busy", "2proc") for k in ("forward", "backward")]
    assert "met:" in out
    # the checks: default over one thread, over the parts, against PyTorch's
    r = {"default": (1.0, 1.0), "one": (1.0, 1.0), "mm": (0.5, 0.5), "act": (0.4, 0.4)}
    assert pipeline.checks(r) == (1.0, 1.0 / 0.9, None, True)
    r["default"] = (1.2, 1.2)
    assert not pipeline.checks(r)[3]
    r = dict(r, default=(1.0, 1.0), torch=(0.7, 0.7), torch_mm=(0.3, 0.3),
             torch_act=(0.3, 0.3))
    vs_one, vs_parts, vs_torch, ok = pipeline.checks(r)
    assert vs_torch == pytest.approx((1.0 - 0.7) - (0.9 - 0.6)) and ok
    # parts faster than PyTorch's allow the step no loss at all
    r = dict(r, torch=(0.97, 0.97), torch_mm=(0.6, 0.6), torch_act=(0.5, 0.5))
    assert pipeline.checks(r)[2] == pytest.approx(0.03) and pipeline.checks(r)[3]
    r = dict(r, torch=(0.9, 0.9))
    assert not pipeline.checks(r)[3]


def test_pipeline_spawned_settings_give_the_blas_the_free_cores():
    """In the 2proc setting each process's OpenBLAS gets half the cores (both
    at every core crowd each other out), in the busy setting the cores the
    busy thread leaves; the caller's environment is kept."""
    import subprocess
    import sys

    from fastact.tools import pipeline

    before = {v: os.environ.get(v) for v in pipeline.BLAS_THREADS}
    code = ("import numpy, threadpoolctl; print([p['num_threads'] for p in "
            "threadpoolctl.threadpool_info() if p['user_api'] == 'blas'])")
    cpus = pipeline._cpus()
    assert pipeline.blas_threads("busy") == max(1, cpus - 1)
    assert pipeline.blas_threads("2proc") == max(1, cpus // 2)
    with pipeline.blas_share(pipeline.blas_threads("2proc")):
        got = subprocess.run([sys.executable, "-c", code], capture_output=True,
                             text=True, check=True).stdout
    assert {v: os.environ.get(v) for v in pipeline.BLAS_THREADS} == before
    assert eval(got) == [max(1, cpus // 2)]


def test_pipeline_rounds_rotate_and_warm_up_in_their_configuration(monkeypatch):
    """Each round starts one configuration further on (none always follows
    the same other), and every call of the 'one' configuration, its warm-up
    included, runs inside fastact.threads(1)."""
    from fastact.tools import pipeline

    log = []

    class Fake:
        def __init__(self, *args):
            self.torch = None

            def record(name):
                def call():
                    n = fastact._ufuncs._get_local()
                    log.append(name if name != "step" else ("one" if n == 1 else "default"))
                return call
            self.step, self.mm, self.act = record("step"), record("mm"), record("act")

    monkeypatch.setattr(pipeline, "Step", Fake)
    monkeypatch.setattr(pipeline, "_torch", lambda: None)
    monkeypatch.setattr(pipeline, "_reps", lambda step, budget: 3)
    monkeypatch.setattr(pipeline, "ROUNDS", 5)
    r = pipeline.measure((4, 4, 4), "float64", "forward", "numpy")
    assert set(r) == {"default", "one", "mm", "act"}
    # blocks of a warm-up and three timed calls, rounds of four blocks
    blocks = [log[i:i + 4] for i in range(0, len(log), 4)]
    assert all(len(set(b)) == 1 for b in blocks) and len(blocks) == 20
    starts = [blocks[i][0] for i in range(0, 20, 4)]
    assert starts == ["default", "one", "mm", "act", "default"]
    assert [b[0] for b in blocks[4:8]] == ["one", "mm", "act", "default"]


def test_pipeline_steps_compute_the_layer():
    from fastact.tools import pipeline

    for kind in ("forward", "backward"):
        st = pipeline.Step((8, 16, 32), "float64", kind, "silu", False, None)
        st.step()
        y = st.x @ st.w
        np.testing.assert_allclose(st.y, y)
        want = fastact.silu(y) if kind == "forward" else fastact.silu_backward(st.g, y)
        np.testing.assert_array_equal(st.a, want)


def _peer(name):
    # the peers come from the 'bench' extra: these tests are marked 'peers' and
    # run on purpose (python -m pytest -m peers), where it is installed
    return peers.make([name], fastact.get_num_threads())[name]


@pytest.mark.peers
@pytest.mark.parametrize("peer_name", ["torch", "jax"])
@pytest.mark.parametrize("kind", ["forward", "grad", "backward"])
@pytest.mark.parametrize("act", ACTS, ids=[a.name for a in ACTS])
def test_peer_computes_the_same_function(peer_name, kind, act):
    """The peer's timed call is the same activation (its own accuracy aside)."""
    peer = _peer(peer_name)
    rng = np.random.default_rng(3)
    x = rng.uniform(-5, 5, 999)
    x = x[np.all(np.abs(x[:, None] - np.asarray(act.kinks or [99.0])) > 1e-3, axis=1)]
    g = rng.standard_normal(x.size)
    params = act.typical_params
    got = peer.values(act, kind, x, g, params)
    assert got is not None
    want = call(act, kind, x, g, **params)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12)
    if peer_name == "torch":
        # the out= call the bench compares with, forward buffers included
        compared, context = peer.compared_call(act, kind, x, g, params)
        with context():
            np.testing.assert_allclose(np.asarray(compared().detach()), want,
                                       rtol=1e-6, atol=1e-12)
    t = peer.time_call(act, kind, x, g, params, bench.best_time, 0.002, 2)
    assert t["fresh"] > 0 and (t["out"] is None or t["out"] > 0)
