"""Shared fixtures: everything is parametrized over the registry, so a new
activation is tested without new test code.  The shared functions (calling
an activation, the reference, child processes) are in helpers.py."""

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

from fastact import ACTIVATIONS  # noqa: E402
from helpers import DTYPES, KINDS, NAMES  # noqa: E402


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
def workers_always():
    """Parallel calls that never back off to one thread: the workers take
    chunks whatever the machine is doing (the tests of the threaded path)."""
    from fastact import _ufuncs

    old = _ufuncs._set_adaptive(False)
    try:
        yield _ufuncs
    finally:
        _ufuncs._set_adaptive(old)


@pytest.fixture
def follow_openmp():
    """Make fastact follow OpenMP's setting (no count of its own), as at import
    without FASTACT_NUM_THREADS; restored afterwards."""
    from fastact import _ufuncs

    if not hasattr(_ufuncs, "_get_requested"):
        pytest.skip("no private hook to reset fastact's own thread count")
    old = _ufuncs._get_requested()
    _ufuncs._set_requested(0)
    try:
        yield
    finally:
        _ufuncs._set_requested(old)


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
