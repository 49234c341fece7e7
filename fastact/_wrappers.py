"""Python front ends of the parameterized activations, generated from the registry.

Each is a thin function over the ufunc in ``fastact._ufuncs`` that takes the
parameter as a float64 input after ``x``: the parameter may be passed
positionally or by keyword, defaults to PyTorch's value, may be an array that
broadcasts against ``x``, and every ufunc keyword (``out``, ``where``, ``dtype``,
``casting``, ``order``) passes through; duck arrays dispatch through
``__array_ufunc__`` as with any ufunc.
"""

from __future__ import annotations

import numpy as np

from . import _ufuncs
from ._docstrings import public_doc
from ._registry import ACTIVATIONS


def _reject_zero(func: str, pname: str, value) -> None:
    """ValueError for a scalar parameter that makes ``func`` undefined."""
    if value.__class__ is float or value.__class__ is int:
        if value == 0:
            raise ValueError(f"fastact.{func}: {pname} must be nonzero, got {value!r}")
        return
    ndim = getattr(value, "ndim", None)
    if ndim == 0 or (ndim is None and not hasattr(value, "__len__")):
        try:
            zero = bool(value == 0)
        except (TypeError, ValueError):
            return
        if zero:
            raise ValueError(f"fastact.{func}: {pname} must be nonzero, got {value!r}")


def _dtype_as_signature(kwargs, nvalues, nparams):
    """``dtype=`` names the loop of the values and the output; the parameter
    inputs stay float64 (NumPy would otherwise ask for an all-``dtype`` loop,
    which a parameterized ufunc does not have)."""
    kwargs = dict(kwargs)
    dt = kwargs.pop("dtype")
    if dt is not None and "signature" not in kwargs:
        dt = np.dtype(dt)
        kwargs["signature"] = (dt,) * nvalues + (np.dtype(np.float64),) * nparams + (dt,)
    return kwargs


_TEMPLATE = '''\
def {name}({args}, out=None, **kwargs):
{checks}{scalars}{fast}{defaults}    if kwargs:
        if "dtype" in kwargs:
            kwargs = _dtype_as_signature(kwargs, {nvalues}, {nparams})
        return _uf({values}, {pnames}, out=out, **kwargs)
    if out is None:
        return _uf({values}, {pnames})
    return _uf({values}, {pnames}, out)
'''


def _make(act, kind):
    name = act.callable_name(kind)
    values = ["grad_output", "x"] if kind == "backward" else ["x"]
    params = [p.name if p.default is None else f"{p.name}={p.default!r}"
              for p in act.params]
    checks = "".join(
        f"    if {p.name}.__class__ is not float or {p.name} == 0.0:\n"
        f"        _reject_zero({name!r}, {p.name!r}, {p.name})\n"
        for p in act.params if p.nonzero)
    # a default parameter is passed as a cached read-only 0-d float64 array:
    # NumPy converts that faster than a Python float (0.5 against 0.7 us a call)
    defaults = "".join(
        f"    if {p.name} is _D_{p.name}:\n        {p.name} = _A_{p.name}\n"
        for p in act.params if p.default is not None)
    # Python floats and ints are weak in NumPy's promotion: next to a strong
    # float64 parameter array they would pick the first (float16) loop.  When
    # every value is one, they become float64, which is what NumPy's own
    # ufuncs give for them (np.exp(1.0) is a float64).
    cond = " and ".join(f"{v}.__class__ in _PY_SCALARS" for v in values)
    scalars = "".join(f"    if {cond}:\n" + "".join(
        f"        {v} = _f64({v})\n" for v in values))
    # every parameter at its default and no ufunc keyword: the ufunc with the
    # defaults baked in (same loops, same values, same name in errors)
    fast = ""
    if act.has_defaults:
        # the default object, or a Python float equal to it (elu(x, alpha=1.0))
        cond = " and ".join(f"({p.name} is _D_{p.name} or ({p.name}.__class__ is float "
                            f"and {p.name} == _D_{p.name}))" for p in act.params)
        fast = (f"    if {cond} and not kwargs:\n"
                f"        if out is None:\n"
                f"            return _ud({', '.join(values)})\n"
                f"        return _ud({', '.join(values)}, out)\n")
    src = _TEMPLATE.format(name=name, args=", ".join(values + params),
                           checks=checks, scalars=scalars, fast=fast, defaults=defaults,
                           values=", ".join(values),
                           pnames=", ".join(act.param_names),
                           nvalues=len(values), nparams=len(act.params))
    namespace = {"_uf": getattr(_ufuncs, name), "_ud": getattr(_ufuncs, "_default_" + name, None),
                 "_reject_zero": _reject_zero,
                 "_dtype_as_signature": _dtype_as_signature,
                 "_PY_SCALARS": (float, int), "_f64": np.float64}
    exec(compile(src, f"<fastact generated {name}>", "exec"), namespace)
    for p in act.params:
        if p.default is not None:
            arr = np.array(p.default, dtype=np.float64)
            arr.flags.writeable = False
            # the very object the signature holds as its default
            namespace[f"_D_{p.name}"] = namespace[name].__defaults__[
                [q.name for q in act.params].index(p.name)]
            namespace[f"_A_{p.name}"] = arr
    func = namespace[name]
    func.__doc__ = public_doc(name)
    func.__module__ = "fastact"
    func.__qualname__ = name
    func.ufunc = getattr(_ufuncs, name)
    return func


WRAPPERS = {}
for _act in ACTIVATIONS.values():
    if _act.params:
        for _kind in ("forward", "grad", "backward"):
            _f = _make(_act, _kind)
            WRAPPERS[_f.__name__] = _f
del _act, _kind, _f
