"""Shared fixtures: everything is parametrized over the registry, so a new
activation is tested without new test code."""

import os
import sys

import numpy as np
import pytest

# Test the installed package, not the source tree: drop the repository root
# that `python -m pytest` puts first on sys.path (an in-place build still
# works, since then the source tree *is* the installed package).
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if not any(f.startswith("_ufuncs") and f.endswith((".so", ".pyd"))
           for f in os.listdir(os.path.join(_ROOT, "fastact"))):
    sys.path[:] = [p for p in sys.path
                   if os.path.abspath(p or os.curdir) != _ROOT]

import fastact  # noqa: E402
import fastact.tools.verify  # noqa: E402
from fastact import ACTIVATIONS  # noqa: E402

DTYPES = (np.float16, np.float32, np.float64)
KINDS = ("forward", "grad", "backward")
NAMES = tuple(ACTIVATIONS)


@pytest.fixture
def workers_always():
    """Parallel calls that never back off to one thread: the workers take
    chunks whatever the machine is doing (the tests of the threaded path)."""
    from fastact import _ufuncs

    old = _ufuncs._set_adaptive(False)
    try:
        yield _ufuncs
    finally:
        _ufuncs._set_adaptive(old)


def param_sets(act, include_samples=True):
    """Parameter dicts to test an activation at: the defaults and samples."""
    return act.param_sets(include_samples)


def call(act, kind, x, g=None, **kw):
    """Call forward/grad/backward with the activation's parameters."""
    params = param_sets(act, include_samples=False)[0]
    params.update({k: v for k, v in kw.items() if k in act.param_names})
    rest = {k: v for k, v in kw.items() if k not in act.param_names}
    f = getattr(act, kind)
    if kind == "backward":
        if g is None:
            g = np.ones_like(x)
        return f(g, x, **params, **rest)
    return f(x, **params, **rest)


def reference(act, kind, x, g=None, **params):
    """The NumPy/SciPy reference in float64 for the same call."""
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


#: |y - r| in ULP of the dtype at r rounded to it (shared with `verify`)
ulp_error = fastact.tools.verify.ulp_error


@pytest.fixture(params=NAMES)
def act(request):
    return ACTIVATIONS[request.param]


@pytest.fixture(params=DTYPES, ids=lambda d: np.dtype(d).name)
def dtype(request):
    return request.param


@pytest.fixture(params=KINDS)
def kind(request):
    return request.param


@pytest.fixture
def stream_threshold():
    """A setter of the streaming-store threshold for one test, restored after
    it: ``stream_threshold(0)`` sends every call down the streaming path,
    ``stream_threshold(None)`` none.  Asking for streaming where the loops have
    none skips the test."""
    from fastact import _ufuncs
    old = _ufuncs._stream_threshold()

    def set_threshold(nbytes):
        if nbytes is not None and old == 0:
            pytest.skip("no streaming stores on this platform")
        _ufuncs._set_stream_threshold(1 << 62 if nbytes is None else nbytes)

    yield set_threshold
    _ufuncs._set_stream_threshold(old)


def subprocess_env(**extra):
    """Environment for a child Python that must import the same fastact as the
    tests (installed, or an in-place build), run from a neutral directory."""
    import fastact as _fa
    env = dict(os.environ, **extra)
    where = os.path.dirname(os.path.dirname(os.path.abspath(_fa.__file__)))
    env["PYTHONPATH"] = where + os.pathsep + env.get("PYTHONPATH", "")
    return env
