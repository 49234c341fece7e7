"""fastact's benchmarks for airspeed velocity, generated from the registry.

Every family below takes its list of functions from
``fastact.ACTIVATIONS``, so an activation is benchmarked the moment it is
registered; the check at the end of this module fails the import (and so the
whole asv run) if a registry entry is missing from any family or has no
callable to time.

Families:

* ``Activations.time_call``: function x kind x dtype x size x threads, output
  preallocated (``out=``);
* ``Layouts.time_call``: fresh output against ``out=``, and a strided input;
* ``Parameters.time_call``: the parameterized functions at their default and
  at another parameter value;
* ``Accuracy.track_max_ulp``: the maximum error in ULP on a fixed sample
  (float16: all 65,536 inputs; float32: 2**16 random bit patterns plus a grid)
  against the float64 NumPy/SciPy reference, so accuracy is plotted over
  commits like speed;
* ``Ratios.track_time_vs_reference`` (n = 10**5) and
  ``Ratios.track_time_vs_roofline`` (n = 10**7): fastact's time over the
  reference's and over a streaming copy's, measured in one process, which
  survive the machine's noise better than absolute times (lower is better, as
  asv assumes for every benchmark);
* ``Memory.peakmem_fresh_output`` and ``Memory.track_allocated_outputs``: a
  fresh-output call allocates one output array and no hidden temporaries;
* ``NarrowTypes.time_call`` (with ml_dtypes): bfloat16 and the float8 types.
"""

import time
import tracemalloc

import numpy as np

import fastact
from fastact import ACTIVATIONS

NAMES = list(ACTIVATIONS)
PARAMETERIZED = [n for n, a in ACTIVATIONS.items() if a.params]
KINDS = ["forward", "grad", "backward"]
DTYPES = ["float16", "float32", "float64"]
SIZES = [1_000, 100_000, 10_000_000]
THREADS = ["1", "all"]
ALL_THREADS = fastact.get_num_threads()

_INPUTS = {}


def inputs(dtype, n, stride=1):
    """x (normal, sd 3) and grad_output for (dtype, n), fixed seed, built once
    per process; a stride > 1 gives views of every stride-th element."""
    key = (dtype, n, stride)
    if key not in _INPUTS:
        if len(_INPUTS) > 4:
            _INPUTS.clear()
        rng = np.random.default_rng(20261124)
        block = 1 << 16
        x = np.resize(rng.standard_normal(block) * 3, n * stride).astype(dtype)
        g = np.resize(rng.standard_normal(block), n * stride).astype(dtype)
        _INPUTS[key] = (x[::stride], g[::stride])
    return _INPUTS[key]


def default_params(act):
    """PyTorch's defaults (prelu's weight has none: its first sample)."""
    return {p.name: (p.default if p.default is not None else p.samples[0])
            for p in act.params}


def other_params(act):
    """Each parameter at its first non-default sample value."""
    out = default_params(act)
    for p in act.params:
        others = [s for s in p.samples if s != out[p.name]]
        if others:
            out[p.name] = others[0]
    return out


def _callable(name, kind):
    return getattr(ACTIVATIONS[name], kind)


def _args(kind, x, g):
    return (g, x) if kind == "backward" else (x,)


class Activations:
    """Time of one call with a preallocated output."""

    params = [NAMES, KINDS, DTYPES, SIZES, THREADS]
    param_names = ["function", "kind", "dtype", "n", "threads"]
    timeout = 120
    # 1,080 combinations: no warm-up, one round of a few samples each, so that
    # `asv continuous` (two commits) stays affordable; the ratios below are
    # the low-noise signal
    warmup_time = 0.0
    rounds = 1
    repeat = (1, 5, 2.0)

    def setup(self, name, kind, dtype, n, threads):
        x, g = inputs(dtype, n)
        self.args = _args(kind, x, g)
        self.out = np.empty_like(x)
        self.f = _callable(name, kind)
        self.kw = default_params(ACTIVATIONS[name])
        fastact.set_num_threads(1 if threads == "1" else ALL_THREADS)

    def teardown(self, *args):
        fastact.set_num_threads(ALL_THREADS)

    def time_call(self, name, kind, dtype, n, threads):
        self.f(*self.args, **self.kw, out=self.out)


class Layouts:
    """A fresh output against ``out=``, and a strided (every other element)
    input, at n = 10**6."""

    params = [NAMES, ["forward", "backward"], ["float32", "float64"],
              ["out=", "fresh output", "strided input"]]
    param_names = ["function", "kind", "dtype", "layout"]
    n = 1_000_000

    def setup(self, name, kind, dtype, layout):
        x, g = inputs(dtype, self.n, stride=2 if layout == "strided input" else 1)
        self.args = _args(kind, x, g)
        self.out = None if layout == "fresh output" else np.empty(self.n, dtype)
        self.f = _callable(name, kind)
        self.kw = default_params(ACTIVATIONS[name])

    def time_call(self, name, kind, dtype, layout):
        if self.out is None:
            self.f(*self.args, **self.kw)
        else:
            self.f(*self.args, **self.kw, out=self.out)


class Parameters:
    """The parameterized functions at their default and at another value."""

    params = [PARAMETERIZED, ["forward", "backward"], ["float32", "float64"],
              ["default", "other"]]
    warmup_time = 0.0
    param_names = ["function", "kind", "dtype", "parameter"]
    n = 1_000_000

    def setup(self, name, kind, dtype, which):
        act = ACTIVATIONS[name]
        x, g = inputs(dtype, self.n)
        self.args = _args(kind, x, g)
        self.out = np.empty_like(x)
        self.f = _callable(name, kind)
        self.kw = default_params(act) if which == "default" else other_params(act)

    def time_call(self, name, kind, dtype, which):
        self.f(*self.args, **self.kw, out=self.out)


class Accuracy:
    """Maximum error in ULP on a fixed sample (the verify metric)."""

    params = [NAMES, ["forward", "grad", "backward"], ["float16", "float32"]]
    param_names = ["function", "kind", "dtype"]
    unit = "ULP"
    timeout = 300

    def setup(self, name, kind, dtype):
        try:
            try:
                from fastact.tools import verify
            except ImportError:          # commits before the tools subpackage
                from fastact import _verify as verify
            self.measure = verify.measure
            if dtype == "float16":
                self.x = verify.all_float16()
            else:
                rng = np.random.default_rng(7)
                bits = rng.integers(0, 1 << 32, 1 << 16, dtype=np.uint64).astype(np.uint32)
                x = np.concatenate([bits.view(np.float32),
                                    np.linspace(-40, 40, 1 << 14, dtype=np.float32)])
                self.x = x[np.isfinite(x)]
        except (ImportError, AttributeError):
            raise NotImplementedError("this commit has no verify tool")

    def track_max_ulp(self, name, kind, dtype):
        act = ACTIVATIONS[name]
        return self.measure(act, kind, dtype, self.x, default_params(act))[0]


def _best(fn, repeats=5, min_time=0.02):
    """Best seconds per call (batches of calls, several repeats)."""
    fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    number = max(1, int(min_time / one))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


class Ratios:
    """Speed as ratios measured side by side in one process."""

    params = [NAMES, ["forward", "backward"], ["float32", "float64"]]
    param_names = ["function", "kind", "dtype"]
    timeout = 300

    def _setup(self, name, kind, dtype, n):
        act = ACTIVATIONS[name]
        x, g = inputs(dtype, n)
        self.x, self.g = x, g
        self.out = np.empty_like(x)
        self.kw = default_params(act)
        f = getattr(act, kind)
        args = _args(kind, x, g)
        self.ours = lambda: f(*args, **self.kw, out=self.out)
        self.act, self.kind = act, kind

    # asv counts every increase as a regression (it has no "higher is
    # better"), so the ratios are time over time with fastact's on top:
    # lower is better, as for every other benchmark here.

    def track_time_vs_reference(self, name, kind, dtype):
        """fastact's time over the NumPy/SciPy reference's, n = 10**5 (0.05 is
        20x faster than the reference)."""
        self._setup(name, kind, dtype, 100_000)
        ref_f, ref_d = self.act.reference
        x, g, p = self.x, self.g, self.kw
        if self.kind == "forward":
            ref = lambda: ref_f(x, **p)  # noqa: E731
        else:
            ref = lambda: g * ref_d(x, **p)  # noqa: E731
        with np.errstate(all="ignore"):
            return _best(self.ours) / _best(ref, repeats=3)

    track_time_vs_reference.unit = "x reference time"

    def track_time_vs_roofline(self, name, kind, dtype):
        """fastact's time over the fastest streaming copy (or add, for two
        inputs) of the same bytes, n = 10**7: 1.0 is the memory roofline."""
        self._setup(name, kind, dtype, 10_000_000)
        x, g, out = self.x, self.g, self.out
        if self.kind == "forward":
            roofs = [lambda: np.copyto(out, x)]
            stream = getattr(fastact._ufuncs, "_stream_copy", None)
            if stream is not None:
                roofs.append(lambda: stream(x, out=out))
        else:
            roofs = [lambda: np.add(g, x, out=out)]
            stream = getattr(fastact._ufuncs, "_stream_add", None)
            if stream is not None:
                roofs.append(lambda: stream(g, x, out=out))
        roof = min(_best(r, repeats=3) for r in roofs)
        return _best(self.ours, repeats=3) / roof

    track_time_vs_roofline.unit = "x roofline time"


class Memory:
    """A fresh-output call allocates its output and nothing else."""

    params = [NAMES, ["float32", "float64"]]
    param_names = ["function", "dtype"]
    n = 10_000_000

    def setup(self, name, dtype):
        self.x, self.g = inputs(dtype, self.n)
        self.f = _callable(name, "forward")
        self.kw = default_params(ACTIVATIONS[name])

    def peakmem_fresh_output(self, name, dtype):
        self.f(self.x, **self.kw)

    def track_allocated_outputs(self, name, dtype):
        """Peak bytes NumPy allocated during the call, in output arrays
        (1.0: the output and no temporaries)."""
        tracemalloc.start()
        try:
            y = self.f(self.x, **self.kw)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        return peak / y.nbytes

    track_allocated_outputs.unit = "output arrays"


try:
    import ml_dtypes  # noqa: F401  (its types get loops of their own)
    from fastact import _ufuncs as _fa_ufuncs

    EXT_DTYPES = [d.name for d in _fa_ufuncs.EXT_DTYPES]
except ImportError:
    EXT_DTYPES = []

if EXT_DTYPES:
    class NarrowTypes:
        """ml_dtypes' bfloat16 and float8 types (computed through the float32
        kernels, rounded once): one call with out=, n = 10**5, default threads."""

        params = [NAMES, ["forward", "backward"], EXT_DTYPES]
        param_names = ["function", "kind", "dtype"]
        warmup_time = 0.0
        rounds = 1
        repeat = (1, 5, 2.0)

        def setup(self, name, kind, dtype):
            x, g = inputs(np.float32, 100_000)
            x, g = x.astype(dtype), g.astype(dtype)
            self.args = _args(kind, x, g)
            self.out = np.empty_like(x)
            self.f = _callable(name, kind)
            self.kw = default_params(ACTIVATIONS[name])

        def time_call(self, name, kind, dtype):
            self.f(*self.args, **self.kw, out=self.out)


def _check_every_activation_is_benchmarked():
    """Fail the import loudly if the registry and the benchmarks disagree."""
    families = (Activations, Layouts, Accuracy, Ratios, Memory)
    for cls in families + ((NarrowTypes,) if EXT_DTYPES else ()):
        missing = set(ACTIVATIONS) - set(cls.params[0])
        if missing:
            raise RuntimeError(f"asv: {cls.__name__} does not cover {sorted(missing)}")
    if set(Parameters.params[0]) != {n for n, a in ACTIVATIONS.items() if a.params}:
        raise RuntimeError("asv: Parameters does not cover every parameterized activation")
    for name, act in ACTIVATIONS.items():
        for kind in KINDS:
            if not callable(getattr(fastact, act.callable_name(kind), None)):
                raise RuntimeError(f"asv: fastact.{act.callable_name(kind)} "
                                   f"({name} {kind}) is missing: nothing to benchmark")


_check_every_activation_is_benchmarked()
