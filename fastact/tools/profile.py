"""``python -m fastact profile``: instructions an element, counted by callgrind.

Wall-clock ratios on a shared machine swing from minute to minute; the number
of instructions a kernel executes hardly moves.  For every row (activation,
kind, dtype) this runs, on one thread, fastact, the peers (``--compare
torch,jax``) and the NumPy/SciPy reference under valgrind's callgrind, counts
the instructions of one call at two sizes, and prints

* instructions an element: the difference of the two counts over the
  difference of the sizes, so what a call costs whatever its size (Python,
  NumPy's dispatch, an allocation) drops out;
* fastact's cost of a call (the count at the small size less its elements'
  share and less what the counting itself costs), next to that of the
  cheapest NumPy ufunc call of the same shape: ``np.negative(x, out=o)`` for
  one input, ``np.add(g, x, out=o)`` for two (the ``numpy`` columns).

How it counts: callgrind starts with instrumentation off; a small C library
compiled on the spot (it needs ``valgrind/callgrind.h``) switches it on just
before a call and off just after, and dumps the count under a label the parent
reads back.  Callgrind runs every thread on one core and counts them all:
fastact and PyTorch run one thread, and whatever XLA's own threads do for a
JAX call is counted with it.  Hash randomization is off and the garbage
collector paused, so a rerun of the same build gives the same counts to a few
instructions: compare rows across commits with them.  Valgrind hides AVX-512
from the program, so fastact runs its AVX2 kernels there (or the level
``FASTACT_SIMD`` names).  JAX compiles each row at each size under valgrind:
``--compare jax`` takes about 40 minutes for the whole registry.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

import numpy as np

from .. import _registry

DEFAULT_SIZES = (1_000, 100_000)
# the tools whose fixed cost of a call the table shows
CALL_COST = ("fastact", "numpy")
# the label of the counts of an empty call: the harness's own instructions
HARNESS = "harness|"

HELPER_C = r"""
#include <valgrind/callgrind.h>
void fa_prof_start(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }
void fa_prof_stop(const char *label) {
    CALLGRIND_STOP_INSTRUMENTATION;
    CALLGRIND_DUMP_STATS_AT(label);
}
"""


class ProfileError(RuntimeError):
    """Valgrind, a C compiler or callgrind.h is missing, or callgrind failed."""


def _label(name, kind, dtype, tool, n):
    return f"{name}|{kind}|{dtype}|{tool}|{n}"


def read_counts(directory):
    """{label: instructions} from the dumps callgrind wrote into ``directory``:
    each dump names its trigger (``desc: Trigger: Client Request: LABEL``)
    and ends with ``totals: N``."""
    counts = {}
    for fname in sorted(os.listdir(directory)):
        if not fname.startswith("callgrind.out"):
            continue
        label = total = None
        with open(os.path.join(directory, fname)) as f:
            for line in f:
                if line.startswith("desc: Trigger: Client Request: "):
                    label = line.split(": ", 3)[3].strip()
                elif line.startswith("totals:"):
                    total = int(line.split()[1])
        if label is not None and total is not None:
            counts[label] = total
    return counts


def per_element(counts, sizes):
    """Rows from the counts: for each (name, kind, dtype) and tool counted at
    both sizes, instructions an element (the slope between the two sizes)
    and the fixed cost of a call (the count at the small size less the
    slope's share and less the harness's own count, the least of its dumps)."""
    lo, hi = sorted(sizes)[0], sorted(sizes)[-1]
    harness = min((c for label, c in counts.items() if label.startswith(HARNESS)),
                  default=0)
    rows = {}
    for label, total in counts.items():
        parts = label.split("|")
        if len(parts) != 5:
            continue            # the harness, or a dump this module did not label
        name, kind, dtype, tool, n = parts
        if int(n) != lo:
            continue
        high = counts.get(_label(name, kind, dtype, tool, hi))
        if high is None:
            continue
        slope = (high - total) / (hi - lo)
        row = rows.setdefault((name, kind, dtype), {"name": name, "kind": kind,
                                                    "dtype": dtype})
        row[tool] = slope
        row[tool + "_call"] = total - slope * lo - harness
    order = {n: i for i, n in enumerate(_registry.ACTIVATIONS)}
    kinds = {"forward": 0, "grad": 1, "backward": 2}
    return sorted(rows.values(), key=lambda r: (order.get(r["name"], 99),
                                                kinds.get(r["kind"], 9), r["dtype"]))


def format_table(rows, tools):
    from .bench import text_table

    shown = [t for t in tools if any(t in r for r in rows)]
    head = ["function", "kind", "dtype"]
    for t in shown:
        head.append(t)
        if t in CALL_COST:
            head.append(f"{t}/call")
    if "fastact" in shown:
        head += [f"{t}/fastact" for t in shown if t in ("torch", "jax")]
    lines = []
    for r in rows:
        cells = [r["name"], r["kind"], r["dtype"]]
        for t in shown:
            cells.append(f"{r[t]:.1f}" if t in r else "-")
            if t in CALL_COST:
                cells.append(f"{r[t + '_call']:,.0f}" if t in r else "-")
        if "fastact" in shown:
            for t in shown:
                if t in ("torch", "jax"):
                    ok = t in r and "fastact" in r and r["fastact"] > 0
                    cells.append(f"{r[t] / r['fastact']:.2f}" if ok else "-")
        lines.append(cells)
    return text_table(head, lines)


# ---- the program callgrind runs -------------------------------------------------

def _child(a) -> int:
    import ctypes

    from .. import _threads
    from . import bench, peers as _peers

    helper = ctypes.CDLL(a.helper)
    helper.fa_prof_start.restype = helper.fa_prof_stop.restype = None
    helper.fa_prof_stop.argtypes = [ctypes.c_char_p]
    _threads.set_num_threads(1)
    tools = a.tools.split(",")
    peers = _peers.make([t for t in tools if t in ("torch", "jax")], 1)
    if "reference" in tools:
        from .. import reference  # noqa: F401  (SciPy imported outside the counts)
    gc.disable()        # no collection inside a counted call

    # what counting costs: the ctypes calls around a call that does nothing
    for i in range(3):
        _count(helper, lambda: None, HARNESS + str(i))
    acts = [_registry.ACTIVATIONS[s] for s in a.only.split(",")]
    sizes = [int(s) for s in a.sizes.split(",")]
    kinds, dtypes = a.kinds.split(","), a.dtypes.split(",")
    bar = bench.Progress(len(acts) * len(kinds) * len(dtypes),
                          enabled=not a.no_progress)
    for act in acts:
        params = act.typical_params
        for kind in kinds:
            for dname in dtypes:
                bar.step(f"{act.name} {kind} {dname}")
                for n in sizes:
                    x, g = bench._inputs(n, np.dtype(dname))
                    out = np.empty_like(x)
                    f = getattr(act, kind)
                    args = (g, x) if kind == "backward" else (x,)
                    # as a user calls it: parameters left at their defaults
                    kw = {} if act.has_defaults else params
                    calls = {
                        "fastact": bench.user_call(f, args, kw, out),
                        "reference": bench.reference_call(act, kind, x, g, params),
                        "numpy": ((lambda: np.add(g, x, out=out)) if kind == "backward"
                                  else (lambda: np.negative(x, out=out))),
                    }
                    for tool in tools:
                        if tool in peers:
                            got = peers[tool].compared_call(act, kind, x, g, params)
                        else:
                            got = calls[tool], contextlib.nullcontext
                        if got is None:
                            continue
                        call, context = got
                        with context():
                            call()          # twice first: lazy set-up, JIT, page faults
                            call()
                            _count(helper, call, _label(act.name, kind, dname, tool, n))
    bar.close()
    return 0


def _count(helper, call, label):
    """Callgrind counts one call of ``call`` and dumps the count as ``label``."""
    label = label.encode()
    start, stop = helper.fa_prof_start, helper.fa_prof_stop
    start()
    call()
    stop(label)


# ---- the command ------------------------------------------------------------------

def compile_helper(directory) -> str:
    """Build the client-request library in ``directory``; its path."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise ProfileError("no C compiler (cc, gcc or $CC) to build the callgrind helper")
    src, lib = os.path.join(directory, "helper.c"), os.path.join(directory, "helper.so")
    with open(src, "w") as f:
        f.write(HELPER_C)
    res = subprocess.run(shlex.split(cc) + ["-O1", "-shared", "-fPIC", "-o", lib, src],
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise ProfileError("could not build the callgrind helper (is valgrind's "
                           "valgrind/callgrind.h installed?):\n" + res.stderr.strip())
    return lib


def profile(only, kinds, dtypes, tools, sizes=DEFAULT_SIZES, progress=False,
            timeout=None):
    """Run the rows under callgrind (progress on stderr); return the rows of
    :func:`per_element`."""
    import fastact

    valgrind = shutil.which("valgrind")
    if not valgrind:
        raise ProfileError("valgrind is not installed (Debian: apt install valgrind)")
    sizes = sorted(int(n) for n in sizes)
    with tempfile.TemporaryDirectory(prefix="fastact-profile-") as tmp:
        helper = compile_helper(tmp)
        # the child imports the fastact this process runs, from a neutral directory
        where = os.path.dirname(os.path.dirname(os.path.abspath(fastact.__file__)))
        env = dict(os.environ, PYTHONHASHSEED="0",
                   PYTHONPATH=where + os.pathsep + os.environ.get("PYTHONPATH", ""))
        if "jax" in tools:
            env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "")
                                + " --xla_cpu_multi_thread_eigen=false").strip()
        log = os.path.join(tmp, "valgrind.log")
        cmd = [valgrind, "--tool=callgrind", "--instr-atstart=no", f"--log-file={log}",
               f"--callgrind-out-file={os.path.join(tmp, 'callgrind.out')}",
               sys.executable, "-m", "fastact", "profile", "--child", "--helper", helper,
               "--only", ",".join(only), "--kinds", ",".join(kinds),
               "--dtypes", ",".join(dtypes), "--tools", ",".join(tools),
               "--sizes", ",".join(str(n) for n in sizes)]
        if not progress:
            cmd.append("--no-progress")
        try:
            res = subprocess.run(cmd, env=env, cwd=tmp, stdout=subprocess.DEVNULL,
                                 timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise ProfileError(f"callgrind took more than {timeout} s") from exc
        counts = read_counts(tmp)
        if res.returncode != 0 or not any(k.startswith(HARNESS) for k in counts):
            with open(log, errors="replace") as f:
                tail = f.read().strip().splitlines()[-20:]
            raise ProfileError(f"the program under callgrind failed (exit {res.returncode}"
                               ", or it counted nothing: is sys.executable a script?):\n"
                               + "\n".join(tail))
        return per_element(counts, sizes)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m fastact profile",
        description="Instructions an element of fastact, its peers and the "
                    "NumPy/SciPy reference, counted by valgrind's callgrind on one "
                    "thread (needs valgrind and a C compiler).")
    p.add_argument("--only", default="", help="comma-separated activation names "
                   "(default: all)")
    p.add_argument("--kinds", default="forward,backward",
                   help="any of forward,grad,backward")
    p.add_argument("--dtypes", default="float32,float64")
    p.add_argument("--compare", default="", help="peers to count beside fastact: torch,jax")
    p.add_argument("--no-reference", action="store_true",
                   help="leave out the NumPy/SciPy reference")
    p.add_argument("--sizes", default=",".join(str(n) for n in DEFAULT_SIZES),
                   help="the two sizes whose counts give the slope")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--helper", help=argparse.SUPPRESS)
    p.add_argument("--tools", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        return _child(a)

    names = list(dict.fromkeys(s for s in a.only.split(",") if s)) or list(
        _registry.ACTIVATIONS)
    unknown = sorted(set(names) - set(_registry.ACTIVATIONS))
    if unknown:
        p.error(f"unknown activation(s) {unknown}")
    kinds = list(dict.fromkeys(s for s in a.kinds.split(",") if s))
    bad = sorted(set(kinds) - {"forward", "grad", "backward"})
    if bad:
        p.error(f"unknown kind(s) {bad}: forward, grad, backward")
    sizes = sorted({int(float(s)) for s in a.sizes.split(",") if s})
    if len(sizes) != 2:
        p.error("--sizes takes two sizes, e.g. 1000,100000")
    dtypes = list(dict.fromkeys(s for s in a.dtypes.split(",") if s))
    bad = sorted(set(dtypes) - {"float32", "float64"})
    if bad or not dtypes:
        p.error(f"--dtypes takes float32 and/or float64, not {bad}")
    peers = list(dict.fromkeys(s for s in a.compare.split(",") if s))
    bad = sorted(set(peers) - {"torch", "jax"})
    if bad:
        p.error(f"unknown peer(s) {bad}: torch, jax")
    tools = ["fastact", *peers] + ([] if a.no_reference else ["reference"]) + ["numpy"]
    print(f"callgrind, one thread, sizes {sizes[0]:,} and {sizes[1]:,}: "
          "instructions an element; numpy: np.negative(x, out=o), np.add(g, x, "
          "out=o) for a backward; "
          "/call: the instructions of a call beyond its elements and beyond "
          "the counting's own", flush=True)
    try:
        rows = profile(names, kinds, dtypes, tools, sizes, progress=not a.no_progress)
    except ProfileError as exc:
        print(f"fastact profile: {exc}", file=sys.stderr)
        return 1
    print(format_table(rows, tools))
    return 0
