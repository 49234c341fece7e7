"""The ufuncs, from the kernel build that suits this CPU.

The same generated loops are compiled once per instruction-set level
(``_ufuncs_baseline``: the platform's default, SSE2 on x86-64;
``_ufuncs_avx2``: x86-64-v3, AVX2 + FMA; ``_ufuncs_avx512``: x86-64-v4) and
the best one the CPU supports is imported here. ``FASTACT_SIMD`` forces a level
(for tests and bug reports); asking for one the CPU cannot run is an error
rather than a crash.

Loading the module loads the OpenMP runtime.  GNU libgomp reads how its idle
workers wait from the environment, once, when it is loaded; its default is
to spin for milliseconds after every parallel region, taking a core from
whatever the process does next (a NumPy matmul on OpenBLAS's threads, say).
When libgomp is not loaded yet and neither ``OMP_WAIT_POLICY`` nor
``GOMP_SPINCOUNT`` is set, fastact sets ``GOMP_SPINCOUNT`` for the moment of
loading it and then removes it again, so fastact's workers spin for tens of
microseconds (enough to catch back-to-back calls) and then sleep.  Other
OpenMP runtimes in the process (PyTorch's, scikit-learn's bundled copies)
load with their own settings.  A repaired wheel carries its own copy of
libgomp, which loads with fastact whatever else is loaded: it gets the
short spin unless the system's libgomp is already there.
"""

import importlib
import os
import re
import sys

from . import _cpu

_ORDER = _cpu.LEVELS


def _available():
    here = os.path.dirname(os.path.abspath(__file__))
    names = os.listdir(here)
    return [lv for lv in _ORDER
            if any(n.startswith(f"_ufuncs_{lv}.") and n.endswith((".so", ".pyd"))
                   for n in names)]


def _choose():
    built = _available()
    if not built:
        raise ImportError("fastact: no compiled kernel module found; "
                          "install with 'pip install .'")
    best = _cpu.best_level()
    forced = os.environ.get("FASTACT_SIMD", "").strip().lower()
    if forced:
        if forced not in _ORDER:
            raise ImportError(f"FASTACT_SIMD={forced!r}: expected one of "
                              f"{', '.join(_ORDER)}")
        if _ORDER.index(forced) > _ORDER.index(best):
            raise ImportError(f"FASTACT_SIMD={forced!r}: this CPU supports up to "
                              f"{best!r}")
        if forced not in built:
            raise ImportError(f"FASTACT_SIMD={forced!r}: this build has only "
                              f"{', '.join(built)}")
        return forced
    usable = [lv for lv in built if _ORDER.index(lv) <= _ORDER.index(best)]
    return usable[-1]


SIMD_LEVEL = _choose()
SIMD_BUILT = tuple(_available())
#: the spin count fastact gives libgomp's idle workers (iterations of a pause
#: loop, about 10-60 us here); libgomp's own default is 300,000
SPIN_COUNT = 1000


def _libgomp_loaded(vendored=False):
    """Whether the system's libgomp is mapped into the process (with
    vendored: also a copy a wheel carries under its own name,
    libgomp-<hash>.so, as a repaired fastact wheel does)."""
    pattern = re.compile(r"/libgomp(-[0-9a-f]+)?\.so" if vendored else r"/libgomp\.so")
    try:
        with open("/proc/self/maps") as f:
            return any(pattern.search(line) for line in f)
    except OSError:
        return True  # cannot tell: leave the runtime's setting alone


def _load(name):
    """Import the compiled module, with a short libgomp spin where fastact is
    the first to load the runtime (see the module docstring); returns the
    module and a sentence on the wait policy for `fastact info`."""
    user = [v for v in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT") if v in os.environ]
    if user:
        return importlib.import_module(name), "from the environment (" + ", ".join(
            f"{v}={os.environ[v]}" for v in user) + ")"
    if not sys.platform.startswith("linux") or _libgomp_loaded():
        return importlib.import_module(name), "the OpenMP runtime's default"
    os.environ["GOMP_SPINCOUNT"] = str(SPIN_COUNT)
    try:
        module = importlib.import_module(name)
    finally:
        del os.environ["GOMP_SPINCOUNT"]
    if _libgomp_loaded(vendored=True):
        return module, f"GOMP_SPINCOUNT={SPIN_COUNT} (set by fastact)"
    return module, "the OpenMP runtime's default"


_module, WAIT_POLICY = _load(f"{__name__}_{SIMD_LEVEL}")

#: ml_dtypes' narrow float types and their format numbers in src/fa_ext.h
EXT_FORMATS = {"bfloat16": 0, "float8_e4m3fn": 1, "float8_e5m2": 2}


def _register_ml_dtypes():
    """Loops for ml_dtypes' bfloat16 and float8 types, when it imports: the
    dtypes whose values fastact computes and returns in that type (NumPy would
    otherwise cast them to float32 and return float32)."""
    import numpy as np
    try:
        import ml_dtypes
    except ImportError:
        return ()
    except Exception as exc:  # installed, but built for another NumPy, say
        import warnings
        warnings.warn(f"fastact: ml_dtypes is installed but does not import ({exc!r}); "
                      "no bfloat16/float8 loops", RuntimeWarning, stacklevel=2)
        return ()
    done = []
    for name, fmt in EXT_FORMATS.items():
        t = getattr(ml_dtypes, name, None)
        if t is not None:
            _module._register_ext(np.dtype(t).num, fmt)
            done.append(np.dtype(t))
    return tuple(done)


#: the ml_dtypes types with loops of their own (empty without ml_dtypes)
EXT_DTYPES = _register_ml_dtypes()
globals().update({k: v for k, v in vars(_module).items()
                  if not k.startswith("__")})
