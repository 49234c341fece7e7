"""``python -m fastact bench``: fastact's main job, timed on synthetic data.

For every activation (forward and backward; ``--kinds`` adds grad), float32 and
float64, and a few sizes, it times in one run:

* fastact writing into a preallocated output (``out=``), and with a fresh one;
* the NumPy/SciPy reference (:mod:`fastact.reference`);
* the memory roofline: the fastest streaming copy of the same bytes
  (``np.copyto`` for one input, ``np.add(g, x, out=o)`` for two);
* optionally PyTorch and JAX (``--compare torch,jax``; from the ``bench`` extra),

checks that fastact agrees with the reference, and prints elements per second
and ratios. Timings are the best of several repeats (and their spread): noise on
shared machines only ever makes a run slower.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from .. import _registry

DEFAULT_SIZES = (1_000, 100_000, 1_000_000, 10_000_000)
QUICK_SIZES = (1_000, 100_000, 1_000_000)


class Progress:
    """A one-line progress bar on stderr (no dependency)."""

    def __init__(self, total: int, stream=None, width: int = 30, enabled: bool = True):
        self.total, self.done, self.width = max(total, 1), 0, width
        self.stream = stream or sys.stderr
        self.t0 = time.perf_counter()
        self.enabled = enabled

    def step(self, label: str = "") -> None:
        self.done += 1
        if not self.enabled:
            return
        frac = self.done / self.total
        bar = "#" * int(frac * self.width)
        el = time.perf_counter() - self.t0
        self.stream.write(f"\r[{bar:<{self.width}}] {self.done}/{self.total} "
                          f"{el:5.0f}s {label[:40]:<40}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def best_time(fn, min_time: float = 0.05, repeats: int = 7, max_calls=10_000):
    """(best, median) seconds per call: calls are batched so one batch takes
    about min_time / repeats, then the batch is repeated."""
    fn()  # warm up (page faults of fresh outputs, lazy init, JIT)
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    number = int(min(max_calls, max(1, (min_time / repeats) / one)))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    times.sort()
    return times[0], times[len(times) // 2]


def _inputs(n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(n) * 3).astype(dtype)
    g = rng.standard_normal(n).astype(dtype)
    return x, g


def user_call(f, args, params, out=None):
    """``f(*args, **params, out=out)`` as a call with no arguments, written out
    the way a user writes it: ``f(x, negative_slope=0.01, out=o)``.

    Unpacking ``*args, **params`` at every call builds a tuple and a dict and
    sends the ufunc down CPython's dict-keyword path instead of vectorcall: at
    n = 1000 that measured about 0.2 us a call, a third of a relu call, and
    made fastact's fixed cost look 1,000 instructions above NumPy's."""
    names = [f"_a{i}" for i in range(len(args))]
    names += [f"{k}=_p_{k}" for k in params]
    if out is not None:
        names.append("out=_out")
    namespace = {"_f": f, "_out": out}
    namespace.update((f"_a{i}", a) for i, a in enumerate(args))
    namespace.update((f"_p_{k}", v) for k, v in params.items())
    return eval(f"lambda: _f({', '.join(names)})", namespace)


def reference_call(act, kind, x, g, params):
    """The NumPy/SciPy reference of one row, as a call with no arguments."""
    ref_f, ref_d = act.reference
    if kind == "forward":
        return lambda: ref_f(x, **params)
    if kind == "grad":
        return lambda: ref_d(x, **params)
    return lambda: g * ref_d(x, **params)


#: dtype -> (relative, absolute) tolerance of the agreement check: an ULP or
#: two of the type, and its smallest subnormal (the narrow types of ml_dtypes
#: are rounded once from float32 results: src/fa_ext.h)
AGREE_TOL = {"float32": (1e-6, 1e-9), "float16": (2.0 ** -10, 2.0 ** -24),
             "bfloat16": (2.0 ** -7, 2.0 ** -133),
             "float8_e4m3fn": (2.0 ** -3, 2.0 ** -9),
             "float8_e5m2": (2.0 ** -2, 2.0 ** -16)}


#: seconds to let a peer's idle workers stop spinning before fastact is timed
SETTLE_S = 0.01


def settle(peers):
    """Before timing fastact beside peers: let the peers' idle workers stop
    spinning (PyTorch's libgomp spins for milliseconds after each call, JAX's
    pool too), then clear fastact's back-off: a verdict reached while the
    peers or the previous row's short roofline copies were running (it can
    reach a quarter of a second) is not about this row.  Each library is
    timed on cores it has to itself; their interplay is what ``bench
    --pipeline`` measures."""
    from .. import _ufuncs

    if not peers:
        return
    time.sleep(SETTLE_S)
    _ufuncs._set_adaptive(_ufuncs._set_adaptive(True))


#: rounds of one-thread and default-thread timings the 1T/NT column takes
SCALING_ROUNDS = 3


def _scaling(call, threads_best, min_time, repeats):
    """(one thread's best, the default thread count's best): timed in
    alternating rounds, so that both see the same machine.  On a shared
    virtual machine the second core can be away for seconds at a time; one
    block of each, timed one after the other, then compared a row whose
    parallel half ran in such a gap with a serial half that did not."""
    from .. import _threads

    one = float("inf")
    for _ in range(SCALING_ROUNDS):
        with _threads.threads(1):
            one = min(one, best_time(call, min_time, repeats)[0])
        threads_best = min(threads_best, best_time(call, min_time, repeats)[0])
    return one, threads_best


def scaling_ratio(r):
    """one thread's time over the default thread count's (the 1T/NT column)"""
    return r["one_thread"] / r.get("threads_best", r["fastact"])


#: rounds of fastact's and the peers' timings in a --compare row
COMPARE_ROUNDS = 2


def _time_ours(row, ours, min_time, repeats):
    """best_time of fastact's call, counting in row the calls that could run in
    parallel ("parallel_calls") and those of them that ran serially while
    backing off ("serial_calls")."""
    from .. import _ufuncs

    before = _ufuncs._parallel_stats()
    t = best_time(ours, min_time, repeats)
    after = _ufuncs._parallel_stats()
    skipped = after["skipped"] - before["skipped"]
    row["serial_calls"] += skipped
    row["parallel_calls"] += skipped + after["regions"] - before["regions"]
    return t


def _serial_share(row):
    """The share of fastact's parallel calls, over every round, that ran on
    one thread while backing off (the '~' mark above 10%; a late call now and
    then is OS noise); takes the counts out of row."""
    skipped, calls = row.pop("serial_calls"), row.pop("parallel_calls")
    return skipped / calls if calls else 0.0


def _another_round(row, peers, ours, ours_fresh, call, min_time, repeats):
    """Time fastact (out= and fresh) and every peer once more, keeping each
    side's best: the rounds alternate, so a stretch of seconds in which the
    machine lost a core slows one round of every library, not one library's
    only timing."""
    settle(peers)
    best, median = _time_ours(row, ours, min_time, repeats)
    if best < row["fastact"]:
        row["fastact"], row["fastact_median"] = best, median
    row["fastact_fresh"] = min(row["fastact_fresh"], best_time(ours_fresh, min_time, repeats)[0])
    for pname, peer in peers.items():
        t = peer.time_call(*call, best_time, min_time, repeats)
        if t is None or pname not in row:
            continue
        row[pname] = {k: v if row[pname][k] is None else min(v, row[pname][k])
                      for k, v in t.items()}


def run(only=None, sizes=DEFAULT_SIZES, dtypes=("float32", "float64"),
        kinds=("forward", "backward"), compare=(), repeats=7, min_time=0.05,
        progress=True, stream=None, scaling=False):
    """Time everything; return a list of row dicts.

    ``scaling`` also times fastact on one thread (the ``1T/NT`` column,
    see `_scaling`)."""
    from .. import _threads, _ufuncs
    from . import peers as _peers
    from .. import reference  # noqa: F401  (SciPy import outside the timings)

    stream = stream or sys.stdout
    acts = [a for a in _registry.ACTIVATIONS.values()
            if not only or a.name in only]
    if only:
        missing = set(only) - {a.name for a in acts}
        if missing:
            raise SystemExit(f"fastact bench: unknown activation(s) {sorted(missing)}")
    threads = _threads.get_num_threads()
    peers = _peers.make(compare, threads)
    jobs = [(a, k, d, n) for a in acts for k in kinds for d in dtypes for n in sizes]
    bar = Progress(len(jobs), enabled=progress)
    rows = []
    cache = {}
    for act, kind, dname, n in jobs:
        bar.step(f"{act.name} {kind} {dname} n={n}")
        dtype = np.dtype(dname)
        if (n, dname) not in cache:
            cache.clear()
            cache[(n, dname)] = _inputs(n, dtype)
        x, g = cache[(n, dname)]
        out = np.empty_like(x)
        params = act.typical_params
        f = getattr(act, kind)
        args = (g, x) if kind == "backward" else (x,)

        ours = user_call(f, args, params, out)
        ours_fresh = user_call(f, args, params)

        ref = reference_call(act, kind, x, g, params)
        # the roofline: the faster of NumPy's streaming copy (or add) and the
        # same through fastact's own threaded loops
        if kind == "backward":
            roofs = (lambda: np.add(g, x, out=out),
                     lambda: _ufuncs._stream_add(g, x, out=out))
        else:
            roofs = (lambda: np.copyto(out, x),
                     lambda: _ufuncs._stream_copy(x, out=out))

        row = {"name": act.name, "kind": kind, "dtype": dname, "n": n,
               "serial_calls": 0, "parallel_calls": 0}
        settle(peers)
        row["fastact"], row["fastact_median"] = _time_ours(row, ours, min_time, repeats)
        row["fastact_fresh"], _ = best_time(ours_fresh, min_time, repeats)
        row["roofline"] = min(best_time(r, min_time, repeats)[0] for r in roofs)
        if scaling and threads > 1:
            row["one_thread"], row["threads_best"] = _scaling(ours, row["fastact"],
                                                              min_time, repeats)
        # the reference is slow: fewer repeats at large n
        row["reference"], _ = best_time(ref, min_time, 3 if n >= 10**6 else repeats,
                                        max_calls=100)
        ours()
        # agreement: against the reference evaluated in float64 (a float32
        # NumPy formula is itself only float32-accurate)
        x64, g64 = x.astype(np.float64), g.astype(np.float64)
        with np.errstate(all="ignore"):
            want = reference_call(act, kind, x64, g64, params)()
        tol, atol = AGREE_TOL.get(dname, (1e-12, 1e-15))
        if act.grad_has_root and kind != "forward":
            # measured as the accuracy bounds are, relative to max(|f'|, 2^-6)
            # (times |g| for backward): near the root the absolute error counts
            atol = atol + tol * 2.0 ** -6 * (1.0 if kind == "grad" else np.abs(g64))
        with np.errstate(invalid="ignore"):
            ok = bool(np.isclose(out.astype(np.float64), want, rtol=tol, atol=atol,
                                 equal_nan=True).all())
        row["agrees"] = bool(ok)
        for pname, peer in peers.items():
            t = peer.time_call(act, kind, x, g, params, best_time, min_time, repeats)
            if t is not None:
                row[pname] = t
        for _ in range(1, COMPARE_ROUNDS if peers else 1):
            _another_round(row, peers, ours, ours_fresh,
                           (act, kind, x, g, params), min_time, repeats)
        row["serial_share"] = _serial_share(row)
        row["vs_best_peer"] = best_peer_ratio(row, peers)
        rows.append(row)
    bar.close()
    return rows


def peer_ratios(row, peer):
    """(ratio, how) of a peer's time over fastact's for one row: with out= on
    both sides where the peer has it, else fresh output on both sides (how is
    "out" or "fresh"); None when the peer was not timed."""
    t = row.get(peer)
    if not t:
        return None
    if t.get("out") is not None:
        return t["out"] / row["fastact"], "out"
    return t["fresh"] / row["fastact_fresh"], "fresh"


def best_peer_ratio(row, peers):
    """The headline: speed relative to the faster peer (>= 1: fastact wins)."""
    ratios = [r[0] for r in (peer_ratios(row, p) for p in peers) if r is not None]
    return min(ratios) if ratios else None


def format_table(rows, peers=()):
    """A plain-text table: M elements/s and the ratios that matter."""
    head = ["function", "kind", "dtype", "n", "fastact Me/s", "spread",
            "vs reference", "roofline ratio", "fresh Me/s"]
    scaling = any("one_thread" in r for r in rows)
    if scaling:
        head.append("1T/NT")
    for p in peers:
        head.append(f"vs {p}")
        if p == "torch":
            head.append("vs torch fresh")
    if peers:
        head.append("vs best peer")
    head.append("agrees")
    lines = []
    for r in rows:
        n = r["n"]
        serial = "~" if r.get("serial_share", 0.0) > 0.1 else ""
        cells = [r["name"], r["kind"], r["dtype"], _size(n),
                 f"{n / r['fastact'] / 1e6:,.0f}{serial}",
                 f"{(r['fastact_median'] / r['fastact'] - 1) * 100:.0f}%",
                 f"{r['reference'] / r['fastact']:.1f}x",
                 f"{r['roofline'] / r['fastact']:.2f}",
                 f"{n / r['fastact_fresh'] / 1e6:,.0f}"]
        if scaling:
            cells.append(f"{scaling_ratio(r):.2f}x" if "one_thread" in r else "-")
        for p in peers:
            pr = peer_ratios(r, p)
            # '*': the peer has no out= for this call; fresh against fresh
            cells.append("-" if pr is None else
                         f"{pr[0]:.2f}x" + ("*" if p == "torch" and pr[1] == "fresh" else ""))
            if p == "torch":
                t = r.get(p)
                cells.append("-" if not t else f"{t['fresh'] / r['fastact_fresh']:.2f}x")
        if peers:
            v = r.get("vs_best_peer")
            cells.append("-" if v is None else f"{v:.2f}x")
        cells.append("yes" if r["agrees"] else "NO")
        lines.append(cells)
    return text_table(head, lines)


#: the speed targets (2 threads): roofline ratio at the largest n, one
#: float32 call at n = 1e3, 2 threads over 1 and the speed-up over the
#: reference at n = 1e5 for the transcendental functions
TARGET_ROOFLINE = 0.8
TARGET_CALL_US = 1.0
TARGET_SCALING = 1.7
TARGET_REFERENCE = 30.0


def _size(n):
    """1e7, as the table prints n."""
    return f"{n:.0e}".replace("e+0", "e")


def _count(rows, value, ok, fmt):
    """'k of m (lo-hi)': how many rows have a value that is ok, and the range."""
    if not rows:
        return "no rows"
    vals = [value(r) for r in rows]
    met = sum(1 for v in vals if ok(v))
    return f"{met} of {len(rows)} ({fmt(min(vals))}-{fmt(max(vals))})"


def targets(rows, peers=()):
    """The speed targets counted over one run's rows: a line each,
    with how many rows meet it and the range.  Targets whose rows the run did
    not time (a size, a peer, --scaling) are left out."""
    sizes = sorted({r["n"] for r in rows})
    if not sizes:
        return []
    big = sizes[-1]
    fb = [r for r in rows if r["kind"] != "grad"]
    trans = [r for r in rows if _registry.ACTIVATIONS[r["name"]].transcendental]
    ratio = "{:.2f}x".format
    lines = [f"roofline ratio >= {TARGET_ROOFLINE} at n = {_size(big)}: " + _count(
        [r for r in rows if r["n"] == big], lambda r: r["roofline"] / r["fastact"],
        lambda v: v >= TARGET_ROOFLINE, "{:.2f}".format)]
    if peers:
        rated = [r for r in fb if r.get("vs_best_peer") is not None]
        cells = []
        for d in sorted({r["dtype"] for r in rated}):
            for n in sizes:
                sel = [r for r in rated if r["dtype"] == d and r["n"] == n]
                if sel:
                    won = sum(1 for r in sel if r["vs_best_peer"] >= 1.0)
                    cells.append(f"{d} {_size(n)}: {won}/{len(sel)}")
        lines.append("at or above the faster peer (forward, backward): " + _count(
            rated, lambda r: r["vs_best_peer"], lambda v: v >= 1.0, ratio)
            + "; " + ", ".join(cells))
        if "torch" in peers:
            sel = [r for r in fb if r["n"] == big and r.get("torch")]
            lines.append(f"at or above PyTorch, fresh outputs, n = {_size(big)}: " + _count(
                sel, lambda r: r["torch"]["fresh"] / r["fastact_fresh"],
                lambda v: v >= 1.0, ratio))
    sel = [r for r in rows
           if r["n"] == 1000 and r["dtype"] == "float32" and r["kind"] == "forward"]
    if sel:
        lines.append(f"one float32 forward call at n = 1e3 <= {TARGET_CALL_US} us: " + _count(
            sel, lambda r: r["fastact"] * 1e6, lambda v: v <= TARGET_CALL_US,
            "{:.2f} us".format))
    # threads pay off at large n only: counted at the largest n timed so
    sel = [r for r in trans if "one_thread" in r]
    if sel:
        top = max(r["n"] for r in sel)
        sel = [r for r in sel if r["n"] == top]
        lines.append(f"threads over 1 thread >= {TARGET_SCALING}x at n = {_size(top)} "
                     "(transcendental): " + _count(
            sel, scaling_ratio, lambda v: v >= TARGET_SCALING,
            ratio))
    sel = [r for r in trans if r["n"] == 100_000]
    if sel:
        lines.append(f"speed-up over the reference >= {TARGET_REFERENCE:.0f}x at n = 1e5 "
                     "(transcendental): " + _count(
                         sel, lambda r: r["reference"] / r["fastact"],
                         lambda v: v >= TARGET_REFERENCE, "{:.1f}x".format))
    return lines


def text_table(head, lines):
    """Right-aligned plain-text columns under a header and a rule."""
    widths = [max(len(h), *(len(c[i]) for c in lines)) if lines else len(h)
              for i, h in enumerate(head)]
    fmt = lambda cells: "  ".join(c.rjust(w) for c, w in zip(cells, widths))  # noqa: E731
    return "\n".join([fmt(head), fmt(["-" * w for w in widths])] + [fmt(c) for c in lines])


def main(argv=None) -> int:
    if argv is not None and "--pipeline" in argv:
        from . import pipeline
        return pipeline.main(argv)
    p = argparse.ArgumentParser(
        prog="python -m fastact bench",
        description="Time every activation against the NumPy/SciPy reference "
                    "(and optionally PyTorch, JAX) and the memory roofline.")
    p.add_argument("--quick", action="store_true",
                   help="a short run: sizes 1e3..1e6, fewer repeats")
    p.add_argument("--only", default="",
                   help="comma-separated activation names (default: all)")
    p.add_argument("--sizes", default="",
                   help="comma-separated sizes, e.g. 1000,100000,10000000")
    p.add_argument("--dtypes", default="float32,float64",
                   help="any of float16, float32, float64, and with ml_dtypes "
                        "bfloat16, float8_e4m3fn, float8_e5m2")
    p.add_argument("--kinds", default="forward,backward",
                   help="any of forward,grad,backward")
    p.add_argument("--compare", default="",
                   help="peers to time side by side: torch,jax")
    p.add_argument("--threads", type=int, default=None,
                   help="thread count for fastact (and the peers)")
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--scaling", action="store_true",
                   help="also time fastact on one thread (column 1T/NT)")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--pipeline", action="store_true",
                   help="time a dense layer's step instead (matmul + activation, "
                        "beside other threads): see 'bench --pipeline --help'")
    a = p.parse_args(argv)
    from .. import _threads

    only = [s for s in a.only.split(",") if s] or None
    if a.sizes:
        sizes = tuple(int(float(s)) for s in a.sizes.split(","))
    else:
        sizes = QUICK_SIZES if a.quick else DEFAULT_SIZES
    repeats = a.repeats or (3 if a.quick else 7)
    min_time = 0.02 if a.quick else 0.1
    compare = tuple(s for s in a.compare.split(",") if s)
    if a.threads:
        _threads.set_num_threads(a.threads)
    import fastact

    from fastact import _cpu

    ghz = _cpu.clock_ghz()
    clock = "" if ghz is None else f", cores at about {ghz:.1f} GHz"
    print(f"fastact {fastact.__version__}: {fastact.get_num_threads()} thread(s), "
          f"OpenMP {'on' if fastact.openmp_enabled() else 'off'}, "
          f"NumPy {np.__version__}{clock}; best of {repeats} repeats")
    rows = run(only=only, sizes=sizes, dtypes=tuple(a.dtypes.split(",")),
               kinds=tuple(a.kinds.split(",")), compare=compare, repeats=repeats,
               min_time=min_time, progress=not a.no_progress, scaling=a.scaling)
    print(format_table(rows, compare))
    print("Me/s: million elements per second with out=; vs reference: speed-up "
          "over fastact.reference (NumPy/SciPy); roofline ratio: time of a "
          "streaming copy of the same bytes / fastact's time (1.0 = at the "
          "memory roofline: the faster of NumPy's and fastact's own threaded "
          "copy/add); spread: median over best."
          + (" 1T/NT: one thread's time over the default thread count's, each "
             f"the best of {SCALING_ROUNDS} alternating rounds." if a.scaling else "")
          + (" vs peer: the peer's time over fastact's, both with out= (torch), "
             "or both with a fresh output (jax; torch where marked *: ATen has no "
             "out= variant there), each side the best of "
             f"{COMPARE_ROUNDS} alternating rounds; vs best peer: against the "
             "faster of them. "
             "Each row's fastact timing starts after the peers' idle workers "
             "have stopped spinning, with no back-off carried over from earlier "
             "rows; ~: more than a tenth of its calls still ran on one thread, "
             "backing off from a busy core."
             if compare else ""))
    print("Targets, in this run:")
    for line in targets(rows, compare):
        print("  " + line)
    bad = [r for r in rows if not r["agrees"]]
    if bad:
        print(f"{len(bad)} row(s) disagree with the reference", file=sys.stderr)
        return 1
    return 0
