"""fastact: fast and exact activation functions as NumPy ufuncs.

Every activation ``name`` in :data:`ACTIVATIONS` has three callables:
``name(x)``, its derivative ``name_grad(x)`` and the fused backward
``name_backward(grad_output, x)``.  Parameter-free ones are genuine
:class:`numpy.ufunc` objects; parameterized ones (leaky_relu, prelu, elu, celu,
softplus) are thin wrappers over ufuncs that take the parameter as an input.
"""

from ._registry import ACTIVATIONS, ALIASES
from . import _ufuncs
from ._threads import get_num_threads, openmp_enabled, set_num_threads, threads
from ._wrappers import WRAPPERS as _WRAPPERS

__version__ = "0.1.0"


def _public_names():
    names = {}
    for act in ACTIVATIONS.values():
        for kind in ("forward", "grad", "backward"):
            name = act.callable_name(kind)
            names[name] = _WRAPPERS.get(name) or getattr(_ufuncs, name)
        for extra in act.extras:
            names[extra[0]] = getattr(_ufuncs, extra[0])
    for alias, target in ALIASES.items():
        for suffix in ("", "_grad", "_backward"):
            names[alias + suffix] = names[target + suffix]
    return names


globals().update(_public_names())

__all__ = sorted(_public_names()) + [
    "ACTIVATIONS", "ALIASES", "set_num_threads", "get_num_threads", "threads",
    "openmp_enabled", "reference",
]


def __getattr__(name):
    # fastact.reference imports SciPy: loaded on first use, not at import
    if name == "reference":
        import importlib

        return importlib.import_module(".reference", __name__)
    raise AttributeError(f"module 'fastact' has no attribute {name!r}")
