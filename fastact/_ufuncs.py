"""The ufuncs, from the kernel build that suits this CPU.

The same generated loops are compiled once per instruction-set level
(``_ufuncs_baseline``: the platform's default, SSE2 on x86-64;
``_ufuncs_avx2``: x86-64-v3, AVX2 + FMA; ``_ufuncs_avx512``: x86-64-v4) and
the best one the CPU supports is imported here. ``FASTACT_SIMD`` forces a level
(for tests and bug reports); asking for one the CPU cannot run is an error
rather than a crash.
"""

import importlib
import os

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
_module = importlib.import_module(f"{__name__}_{SIMD_LEVEL}")
globals().update({k: v for k, v in vars(_module).items()
                  if not k.startswith("__")})
