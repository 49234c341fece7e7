"""The functions the tests share (the fixtures are in conftest.py): calling an
activation with its parameters, the float64 reference of the same call, the
error in ULP, and running a child Python that imports the same fastact.

Import it as ``from helpers import call, reference, run_code``: pytest puts
this directory on ``sys.path``, and conftest.py, loaded before any test
module, has already chosen which fastact is imported (installed, or an
in-place build)."""

import os
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np

import fastact
import fastact.tools.verify
from fastact import ACTIVATIONS

DTYPES = (np.float16, np.float32, np.float64)
KINDS = ("forward", "grad", "backward")
NAMES = tuple(ACTIVATIONS)

#: calls can run on more than one thread here (an OpenMP build, cores to spare)
PARALLEL = fastact.openmp_enabled() and (os.cpu_count() or 1) > 1

#: |y - r| in ULP of the dtype at r rounded to it (shared with `verify`)
ulp_error = fastact.tools.verify.ulp_error


# ---- calling an activation ---------------------------------------------------------

def param_sets(act, include_samples=True):
    """Parameter dicts to test an activation at: the typical values first
    (the defaults, or the first sample of a required parameter), then the
    samples."""
    return act.param_sets(include_samples)


def public(act, kind):
    """The public callable of one kind: ``fastact.<name>[_grad|_backward]``."""
    return getattr(fastact, act.callable_name(kind))


def all_callables():
    """(public name, activation, kind) for every public callable."""
    return [(a.callable_name(k), a, k) for a in ACTIVATIONS.values() for k in KINDS]


def call(act, kind, x, g=None, *, own_defaults=False, **kw):
    """Call the public forward/grad/backward of `act` on x (and grad_output g
    for backward: ones like x if not given).  Parameters in `kw` are passed
    by keyword, the others take their typical values (or, with
    `own_defaults`, are left out: the function's own defaults); the other
    keywords (out=, where=, dtype=, ...) go to the call."""
    if own_defaults:
        params = {}
    else:
        params = param_sets(act, include_samples=False)[0]
    params.update({k: v for k, v in kw.items() if k in act.param_names})
    rest = {k: v for k, v in kw.items() if k not in act.param_names}
    f = public(act, kind)
    if kind == "backward":
        if g is None:
            g = np.ones_like(x)
        return f(g, x, **params, **rest)
    return f(x, **params, **rest)


def reference(act, kind, x, g=None, **params):
    """The NumPy/SciPy reference (``fastact.reference``) of the same call, in
    float64: x (and g) are widened first, parameters not given take their
    typical values."""
    ref_f, ref_g = act.reference
    p = param_sets(act, include_samples=False)[0]
    p.update(params)
    x64 = np.asarray(x, dtype=np.float64)
    if kind == "forward":
        return ref_f(x64, **p)
    d = ref_g(x64, **p)
    if kind == "grad":
        return d
    return np.asarray(g, dtype=np.float64) * d


# ---- child processes -------------------------------------------------------------

#: the variables that set a thread count: a child starts without them (with
#: fastact's defaults) unless a test sets them
THREAD_VARIABLES = ("FASTACT_NUM_THREADS", "OMP_NUM_THREADS")


def child_env(setenv=None):
    """Environment for a child Python that imports the same fastact as the
    tests (installed, or an in-place build) from any directory: this
    process's environment without the thread-count variables, then `setenv`
    (a value of None unsets the variable)."""
    env = dict(os.environ)
    parent = os.path.dirname(os.path.dirname(os.path.abspath(fastact.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([parent] + [p for p in [env.get("PYTHONPATH")] if p])
    for k in THREAD_VARIABLES:
        env.pop(k, None)
    for k, v in (setenv or {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def run(cmd, *, env=None, cwd=None, timeout=120, check=False):
    """Run a command, its output captured as text.  The result carries
    ``seconds``, the wall time; with `check`, a failure is an AssertionError
    that shows the end of both outputs."""
    cmd = [str(c) for c in cmd]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True,
                       timeout=timeout)
    r.seconds = time.perf_counter() - t0
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({r.returncode}) after "
                             f"{r.seconds:.0f}s:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
    return r


def run_python(*args, setenv=None, cwd=None, timeout=120, check=False):
    """Run ``python *args`` with this interpreter and the same fastact
    (:func:`child_env`), by default in the temporary directory (no source
    tree there to shadow the package)."""
    return run([sys.executable, *args], env=child_env(setenv),
               cwd=tempfile.gettempdir() if cwd is None else cwd,
               timeout=timeout, check=check)


def run_code(code, *argv, **kw):
    """Run `code` (dedented) in a child Python: ``python -c code *argv``;
    the keywords are :func:`run_python`'s."""
    return run_python("-c", textwrap.dedent(code), *argv, **kw)
