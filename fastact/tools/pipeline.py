"""``fastact bench --pipeline``: fastact inside the step of a dense layer.

A benchmark of one call on a quiet machine is not what a pipeline sees.  Here
every row is one step of a dense layer, timed call by call, many times:

* forward: ``Y = X @ W`` then ``A = act(Y)``;
* backward: ``Y = X @ W`` then ``dY = act_backward(G, Y)``;

in four settings:

* ``numpy``: NumPy's matmul (OpenBLAS and its own thread pool);
* ``torch``: PyTorch's matmul in the same process (its OpenMP pool), then
  fastact on the same memory;
* ``busy``: the NumPy step beside another Python thread that keeps a core busy
  (hashing, which runs without the GIL), with the BLAS on the cores that
  thread leaves;
* ``2proc``: the NumPy step in two processes at once, each with its BLAS on
  half the cores.

In the last two the BLAS gets the cores that are free, as one sets it
(``OPENBLAS_NUM_THREADS``, threadpoolctl) when a core is known to be taken;
fastact keeps its default.  Measured in a spawned process so that the
setting reaches OpenBLAS's pool.

Columns, medians (ms) of single steps with the best in brackets:
``default`` (fastact's default threads), ``one`` (``fastact.threads(1)``),
``parts`` (the matmul and the activation each timed alone in a loop, summed),
``torch`` (PyTorch's matmul and ATen's activation with ``out=``, PyTorch on
fastact's thread count).  The configurations are measured in interleaved
rounds, so a slow spell of the machine touches all of them, and each round
starts one configuration further on, so that none always follows the same
other (PyTorch's workers, say, spinning on after its own step).

Checks: ``default / one <= 1.05``, ``default / parts <= 1.2``, and
``default - torch <= max(0, parts - torch parts)`` (plus 5% of PyTorch's step
for the noise of the medians): the step is slower than PyTorch's by no more
than its parts are slower than PyTorch's parts alone.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import statistics
import sys
import threading
import time

import numpy as np

LAYERS = ((64, 256, 256), (256, 512, 1024), (1024, 1024, 4096))
QUICK_LAYERS = ((64, 256, 256), (256, 512, 1024))
SETTINGS = ("numpy", "torch", "busy", "2proc")
KINDS = ("forward", "backward")
LIMIT_ONE = 1.05
LIMIT_PARTS = 1.2
#: medians of single steps move a few per cent between rounds: the check
#: against PyTorch allows this share of PyTorch's step
TORCH_NOISE = 0.05
ROUNDS = 20


class Step:
    """The arrays of one layer and the calls timed on them."""

    def __init__(self, layer, dtype, kind, act, torch_mm, torch):
        import fastact

        b, d, h = layer
        rng = np.random.default_rng(0)
        dt = np.dtype(dtype)
        self.x = rng.standard_normal((b, d)).astype(dt)
        self.w = (rng.standard_normal((d, h)) / np.sqrt(d)).astype(dt)
        self.y = np.empty((b, h), dt)
        self.g = rng.standard_normal((b, h)).astype(dt)
        self.a = np.empty((b, h), dt)
        x, w, y, g, a = self.x, self.w, self.y, self.g, self.a
        if kind == "forward":
            f = getattr(fastact, act)
            self.act = lambda: f(y, out=a)  # noqa: E731
        else:
            f = getattr(fastact, act + "_backward")
            self.act = lambda: f(g, y, out=a)  # noqa: E731
        self.mm = lambda: np.matmul(x, w, out=y)  # noqa: E731
        self.torch = None
        if torch is not None:
            tx, tw, ty, tg, ta = (torch.from_numpy(v) for v in (x, w, y, g, a))
            aten = torch.ops.aten
            self.torch_mm = lambda: torch.matmul(tx, tw, out=ty)  # noqa: E731
            if kind == "forward":
                self.torch_act = lambda: aten.gelu.out(ty, out=ta) if act == "gelu" \
                    else getattr(aten, act).out(ty, out=ta)
            else:
                self.torch_act = lambda: aten.gelu_backward.grad_input(
                    tg, ty, grad_input=ta) if act == "gelu" \
                    else getattr(aten, act + "_backward").grad_input(tg, ty, grad_input=ta)
            if torch_mm:
                self.mm = self.torch_mm
            tmm, tact = self.torch_mm, self.torch_act
            self.torch = lambda: (tmm(), tact())  # noqa: E731
        mm, act_ = self.mm, self.act
        self.step = lambda: (mm(), act_())  # noqa: E731


def _samples(fn, n):
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _reps(step, budget):
    """Calls per round so that one configuration takes about budget seconds."""
    for _ in range(3):
        step.step()
    t0 = time.perf_counter()
    step.step()
    one = max(time.perf_counter() - t0, 1e-6)
    return int(min(100, max(2, budget / ROUNDS / one)))


def measure(layer, dtype, kind, setting, act="gelu", budget=0.4, barrier=None):
    """One row: {column: (best, median) seconds}."""
    import fastact

    torch = _torch()
    step = Step(layer, dtype, kind, act, setting == "torch", torch)
    calls = {"default": (step.step, None),
             "one": (step.step, "one"),
             "mm": (step.mm, None),
             "act": (step.act, None)}
    if step.torch is not None:
        calls.update(torch=(step.torch, None), torch_mm=(step.torch_mm, None),
                     torch_act=(step.torch_act, None))
    reps = _reps(step, budget)
    if barrier is not None:  # the other process measures the same row
        reps = 10 if max(layer) < 4096 else 3
    got = {k: [] for k in calls}
    busy = _Busy() if setting == "busy" else None
    try:
        order = list(calls)
        for r in range(ROUNDS):
            for k in order[r % len(order):] + order[:r % len(order)]:
                fn, ctx = calls[k]
                if barrier is not None:
                    barrier.wait()
                with fastact.threads(1) if ctx else contextlib.nullcontext():
                    fn()  # back to this configuration's steady state
                    got[k] += _samples(fn, reps)
    finally:
        if busy is not None:
            busy.stop()
    return {k: (min(v), statistics.median(v)) for k, v in got.items()}


class _Busy:
    """A Python thread keeping a core busy without holding the GIL."""

    def __init__(self):
        self.done = False
        self.data = bytes(1 << 22)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.done:
            hashlib.sha256(self.data).digest()

    def stop(self):
        self.done = True
        self.thread.join()


def _torch():
    try:
        import torch
    except ImportError:
        return None
    import fastact

    torch.set_num_threads(fastact.get_num_threads())
    return torch


def _child(args, barrier, queue):
    queue.put(measure(*args, barrier=barrier))


#: the variables that give a spawned process's BLAS its thread count.  Left
#: at every core, OpenBLAS splits a matmul evenly over its threads and waits
#: for the slowest: in two processes at once its workers crowd each other out
#: and a lone 256x512x1024 matmul takes 6 to 24 ms instead of 1.5; beside a
#: busy thread the worker that shares its core makes every other call 6 ms
#: instead of 2 (the median of a step then lands on either, whatever follows
#: the matmul: NumPy's copy, np.exp, a sleep or fastact alike)
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _cpus():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def blas_threads(setting):
    """The BLAS thread count of a setting measured in spawned processes: half
    the cores in each of the two of 2proc, the cores the busy thread leaves."""
    return max(1, _cpus() // 2 if setting == "2proc" else _cpus() - 1)


@contextlib.contextmanager
def blas_share(threads):
    """The environment in which processes started inside the block give their
    BLAS this many threads (BLAS_THREADS); this process's is restored."""
    saved = {v: os.environ.get(v) for v in BLAS_THREADS}
    os.environ.update(dict.fromkeys(BLAS_THREADS, str(threads)))
    try:
        yield
    finally:
        for v, old in saved.items():
            if old is None:
                del os.environ[v]
            else:
                os.environ[v] = old


def measure_apart(layer, dtype, kind, setting, act="gelu"):
    """A busy or 2proc row, measured in spawned processes whose BLAS has
    blas_threads(setting) threads: one process beside its busy thread, or two
    at once (started together at every configuration, reported as the worse
    of the two medians)."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    nproc = 2 if setting == "2proc" else 1
    barrier = ctx.Barrier(nproc) if nproc > 1 else None
    queue = ctx.Queue()
    args = (layer, dtype, kind, "numpy" if setting == "2proc" else setting, act)
    procs = [ctx.Process(target=_child, args=(args, barrier, queue)) for _ in range(nproc)]
    with blas_share(blas_threads(setting)):
        for p in procs:
            p.start()
    res = [queue.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    return {k: max((r[k] for r in res), key=lambda v: v[1]) for k in res[0]}


def checks(r):
    """(default/one, default/parts, torch check or None, all met)."""
    d, one = r["default"][1], r["one"][1]
    parts = r["mm"][1] + r["act"][1]
    vs_one, vs_parts = d / one, d / parts
    ok = vs_one <= LIMIT_ONE and vs_parts <= LIMIT_PARTS
    vs_torch = None
    if "torch" in r:
        tparts = r["torch_mm"][1] + r["torch_act"][1]
        # slower than PyTorch's step by no more than the parts are slower
        # than PyTorch's parts (not at all where they are as fast or faster)
        vs_torch = (d - r["torch"][1]) - max(0.0, parts - tparts)
        ok = ok and vs_torch <= TORCH_NOISE * r["torch"][1]
    return vs_one, vs_parts, vs_torch, ok


def _ms(v):
    return f"{v[1] * 1e3:.3f} ({v[0] * 1e3:.3f})"


def table(rows):
    from .bench import text_table

    head = ["setting", "layer BxDxH", "dtype", "step", "default", "one", "parts",
            "torch", "d/one", "d/parts", "vs torch", "met"]
    lines = []
    for (setting, layer, dtype, kind), r in rows:
        vs_one, vs_parts, vs_torch, ok = checks(r)
        parts = r["mm"][1] + r["act"][1]
        lines.append([setting, "x".join(map(str, layer)), dtype, kind,
                      _ms(r["default"]), _ms(r["one"]), f"{parts * 1e3:.3f}",
                      _ms(r["torch"]) if "torch" in r else "-",
                      f"{vs_one:.2f}", f"{vs_parts:.2f}",
                      "-" if vs_torch is None else f"{vs_torch * 1e3:+.3f}",
                      "yes" if ok else "NO"])
    return text_table(head, lines)


LEGEND = (
    "Medians of single steps in ms (best in brackets). default: fastact's default "
    "threads; one: fastact.threads(1); parts: the matmul and the activation each "
    "timed alone, summed; torch: PyTorch's matmul + ATen's activation (out=). "
    f"Met: default/one <= {LIMIT_ONE}, default/parts <= {LIMIT_PARTS}, and vs torch "
    f"(default - torch) - max(0, parts - torch's parts) <= {TORCH_NOISE:.0%} of torch. Settings: numpy (NumPy's "
    "matmul), torch (PyTorch's matmul, then fastact), busy (a Python thread "
    "hashing beside the caller, BLAS on the cores it leaves), 2proc (two processes "
    "at once, BLAS on half the cores in each; the worse of the two).")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m fastact bench --pipeline",
        description="fastact in the step of a dense layer, beside other threads.")
    p.add_argument("--pipeline", action="store_true")
    p.add_argument("--quick", action="store_true", help="the two smaller layers")
    p.add_argument("--activation", default="gelu")
    p.add_argument("--dtypes", default="float32,float64")
    p.add_argument("--settings", default=",".join(SETTINGS))
    p.add_argument("--kinds", default=",".join(KINDS))
    p.add_argument("--layers", default="",
                   help="e.g. 64x256x256,1024x1024x4096 (default: three sizes)")
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    import fastact

    layers = (tuple(tuple(int(v) for v in s.split("x")) for s in a.layers.split(","))
              if a.layers else QUICK_LAYERS if a.quick else LAYERS)
    settings = [s for s in a.settings.split(",") if s]
    for s in settings:
        if s not in SETTINGS:
            raise SystemExit(f"unknown setting {s!r} ({', '.join(SETTINGS)})")
    torch = _torch()
    print(f"fastact {fastact.__version__}: {fastact.get_num_threads()} thread(s), "
          f"NumPy {np.__version__}"
          + (f", PyTorch {torch.__version__}" if torch else ", no PyTorch")
          + f"; {a.activation}, {ROUNDS} interleaved rounds")
    if "torch" in settings and torch is None:
        settings.remove("torch")
    rows = []
    for setting in settings:
        for layer in layers:
            for dtype in a.dtypes.split(","):
                for kind in a.kinds.split(","):
                    if not a.no_progress:
                        print(f"  {setting} {layer} {dtype} {kind}", file=sys.stderr)
                    if setting in ("busy", "2proc"):
                        r = measure_apart(layer, dtype, kind, setting, a.activation)
                    else:
                        r = measure(layer, dtype, kind, setting, a.activation)
                    rows.append(((setting, layer, dtype, kind), r))
    print(table(rows))
    print(LEGEND)
    met = sum(checks(r)[3] for _, r in rows)
    print(f"met: {met} of {len(rows)} rows")
    return 0
