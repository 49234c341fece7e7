"""How many OpenMP threads fastact's loops use.

Resolution order: ``set_num_threads``/``threads`` (or ``FASTACT_NUM_THREADS``
at import) if given; otherwise OpenMP's own setting, so ``OMP_NUM_THREADS`` and
``threadpoolctl.threadpool_limits(n, user_api="openmp")`` apply.  Loops below a
size threshold always run serially.
"""

from __future__ import annotations

import contextlib
import operator
import os

from . import _ufuncs

__all__ = ["set_num_threads", "get_num_threads", "threads", "openmp_enabled"]


def _validate(n, what="number of threads") -> int:
    if isinstance(n, bool):
        raise ValueError(f"{what} must be a positive integer, got {n!r}")
    try:
        n = operator.index(n)
    except TypeError:
        raise ValueError(f"{what} must be a positive integer, got {n!r}") from None
    if n < 1:
        raise ValueError(f"{what} must be a positive integer, got {n!r}")
    return n


def openmp_enabled() -> bool:
    """True when this build runs its loops with OpenMP threads."""
    return _ufuncs.openmp_enabled() and not _serial_forced()


def _serial_forced() -> bool:
    return os.environ.get("FASTACT_NO_OPENMP", "").strip().lower() not in (
        "", "0", "false", "no")


def set_num_threads(n: int) -> None:
    """Use ``n`` threads for large arrays (``n >= 1``).

    Overrides ``OMP_NUM_THREADS`` and threadpoolctl limits for fastact until
    changed again; ``threads`` does the same for a ``with`` block.
    """
    _ufuncs._set_requested(_validate(n))


def get_num_threads() -> int:
    """The number of threads a large call from this thread would use now."""
    if not openmp_enabled() or _ufuncs._serial_after_fork():
        return 1
    local = _ufuncs._get_local()
    if local > 0:
        return local
    req = _ufuncs._get_requested()
    return req if req > 0 else _ufuncs._omp_max_threads()


@contextlib.contextmanager
def threads(n: int):
    """Context manager: use ``n`` threads inside the block, then restore.

    The setting belongs to the calling Python thread, so concurrent blocks in
    different threads do not see or undo each other's counts.
    """
    n = _validate(n)
    old = _ufuncs._get_local()
    _ufuncs._set_local(n)
    try:
        yield n
    finally:
        _ufuncs._set_local(old)


def _init_from_environment() -> None:
    if _serial_forced():
        _ufuncs._set_requested(1)
        return
    env = os.environ.get("FASTACT_NUM_THREADS", "").strip()
    if env:
        try:
            value = int(env)
        except ValueError:
            raise ValueError(
                f"FASTACT_NUM_THREADS must be a positive integer, got {env!r}") from None
        _ufuncs._set_requested(_validate(value, "FASTACT_NUM_THREADS"))


_parent_had_threads = False


def _before_fork() -> None:
    # Any OpenMP runtime thread pool in the parent -- fastact's or another
    # library's sharing libgomp -- shows up as extra threads of the process.
    global _parent_had_threads
    try:
        _parent_had_threads = len(os.listdir("/proc/self/task")) > 1
    except OSError:  # no /proc: assume the worst
        _parent_had_threads = True


def _after_fork_in_child() -> None:
    _ufuncs._after_fork_in_child(_parent_had_threads)


_init_from_environment()
if hasattr(os, "register_at_fork"):
    # libgomp's thread pool does not survive fork() (GCC bugs 58378, 60035):
    # a child that starts a parallel region after the parent had one can hang.
    # A child forked from a process with threads runs fastact serially.
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)
