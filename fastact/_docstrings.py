"""numpydoc docstrings of every public callable, derived from the registry.

Kept apart from the kernels (as scipy.special does): the ufuncs get theirs at
creation in ``_ufuncs``, the parameterized wrappers in ``_wrappers``.
"""

from __future__ import annotations

from ._registry import ACTIVATIONS

_X_DOC = """\
x : array_like
    Input values. float16, float32 and float64 run native loops (float16 is
    computed in double precision and rounded once; float32 too, or with
    kernels of its own for the transcendental functions, within 2 ULP);
    integer and bool inputs are cast to a floating type by NumPy's rules."""

_G_DOC = """\
grad_output : array_like
    Gradient of the loss with respect to the activation's output; broadcasts
    against ``x``."""

_OUT_DOC = """\
out : ndarray, None, or tuple of ndarray and None, optional
    Where to write the result, as for any ufunc. It may be ``x`` itself (in
    place); the input is never modified otherwise.
where : array_like, optional
    Ufunc mask: where False, ``out`` keeps its value.
**kwargs
    Other ufunc keywords (``casting``, ``order``, ``dtype``, ``subok``)."""


def _split(name: str):
    """(activation, kind) for a public callable name."""
    for act in ACTIVATIONS.values():
        if name == act.name:
            return act, "forward"
        if name == act.name + "_grad":
            return act, "grad"
        if name == act.name + "_backward":
            return act, "backward"
        for extra, _, _, _ in act.extras:
            if name == extra:
                return act, extra
    raise KeyError(name)


def _param_doc(act) -> str:
    lines = []
    for p in act.params:
        default = "required" if p.default is None else f"default {p.default!r}"
        lines.append(f"{p.name} : float or array_like, {default}\n"
                     f"    {p.doc[0].upper() + p.doc[1:]}. May be an array that "
                     "broadcasts against ``x``.")
    return "\n".join(lines)


def _example_args(act, kind: str) -> tuple[str, str]:
    """(call arguments, reference expression) for the doctest example."""
    pargs = ", ".join(
        f"{name}={value!r}" for name, value in act.typical_params.items())
    suffix = (", " + pargs) if pargs else ""
    if kind == "forward":
        return "x" + suffix, f"fastact.reference.{act.name}(x{suffix})"
    if kind == "grad":
        return "x" + suffix, f"fastact.reference.{act.name}_grad(x{suffix})"
    return ("g, x" + suffix,
            f"g * fastact.reference.{act.name}_grad(x{suffix})")


def public_doc(name: str) -> str:
    """The full docstring of a public callable."""
    act, kind = _split(name)
    if kind not in ("forward", "grad", "backward"):
        return _extra_doc(act, kind)
    params = _param_doc(act)
    head = {
        "forward": f"{act.summary}\n\n.. math::\n\n    f(x) = {act.formula}",
        "grad": f"Derivative of :func:`{act.name}` with respect to x.\n\n"
                f".. math::\n\n    f'(x) = {act.derivative}",
        "backward": f"Backward pass of :func:`{act.name}`: ``grad_output * "
                    f"{act.name}_grad(x)``, fused in one pass.\n\n"
                    f".. math::\n\n    g \\cdot f'(x), \\quad f'(x) = {act.derivative}",
    }[kind]
    args = [_G_DOC] if kind == "backward" else []
    args.append(_X_DOC)
    if params:
        args.append(params)
    args.append(_OUT_DOC)
    call, ref = _example_args(act, kind)
    returned = {"forward": "f(x)", "grad": "f'(x)",
                "backward": "grad_output * f'(x)"}[kind]
    kinks = ""
    if act.kinks and kind != "forward":
        pts = ", ".join(repr(k) for k in act.kinks)
        kinks = (f"\nAt the kink point(s) {pts} the derivative takes the value "
                 "of the side the formula names (PyTorch's convention).\n")
    see = [act.name, act.name + "_grad", act.name + "_backward"]
    see.remove(name)
    lines = [
        head, "", "Parameters", "----------", "\n".join(args), "",
        "Returns", "-------", "y : ndarray or scalar",
        f"    {returned}, elementwise, in the floating dtype of ``x``.", "",
        "See Also", "--------",
        ", ".join(see) + f", fastact.reference.{act.name}", "",
        "Notes", "-----",
        f"PyTorch equivalent: ``{act.torch}``"
        + (f" ({act.torch_note})." if act.torch_note else "."),
        kinks,
        "Examples", "--------",
        ">>> import numpy as np, fastact",
        ">>> x = np.linspace(-4.0, 4.0, 17)",
    ]
    if kind == "backward":
        lines.append(">>> g = np.full_like(x, 0.5)")
    lines += [
        f">>> y = fastact.{name}({call})",
        f">>> bool(np.allclose(y, {ref}, rtol=1e-13, atol=1e-300))",
        "True",
        ">>> out = np.empty_like(x)",
        f">>> fastact.{name}({call}, out=out) is out",
        "True",
    ]
    return "\n".join(lines) + "\n"


def _extra_doc(act, name: str) -> str:
    if name == "prelu_weight_backward":
        return """\
Elementwise gradient of :func:`prelu` with respect to its weight.

.. math::

    \\frac{\\partial L}{\\partial w} = g \\cdot \\min(x, 0)

Parameters
----------
grad_output : array_like
    Gradient of the loss with respect to the PReLU output.
x : array_like
    The PReLU input.
out : ndarray, optional
    Where to write the result, as for any ufunc.
**kwargs
    Other ufunc keywords (``where``, ``casting``, ``order``, ``dtype``).

Returns
-------
y : ndarray
    ``grad_output * min(x, 0)``, elementwise. The weight's gradient is its sum
    over the axes the weight was broadcast along.

Examples
--------
A per-channel weight of shape ``(C, 1, 1)`` applied to ``x`` of shape
``(N, C, H, W)``:

>>> import numpy as np, fastact
>>> rng = np.random.default_rng(0)
>>> x = rng.standard_normal((2, 3, 4, 4))
>>> g = rng.standard_normal(x.shape)
>>> w = np.full((3, 1, 1), 0.25)
>>> gw = fastact.prelu_weight_backward(g, x).sum(axis=(0, 2, 3), keepdims=True)[0]
>>> gw.shape == w.shape
True
>>> bool(np.allclose(gw, (g * np.minimum(x, 0)).sum(axis=(0, 2, 3))[:, None, None]))
True
"""
    raise KeyError(name)


def ufunc_doc(name: str) -> str:
    """Docstring of the ufunc object ``fastact._ufuncs.<name>``."""
    if name in ("_stream_copy", "_stream_add"):
        return ("Internal: the memory roofline of the benchmark (the same "
                "loops, threads and bytes as an activation, no arithmetic).\n")
    if name.startswith("_default_"):
        public = name[len("_default_"):]
        act, _ = _split(public)
        pv = ", ".join(f"{p.name}={p.default!r}" for p in act.params)
        return (f"Internal: fastact.{public} at {pv} (PyTorch's defaults), "
                "without the parameter operand; the wrapper calls it when no "
                f"parameter is given.\n\nSee fastact.{public} for the documented "
                "interface.\n")
    act, kind = _split(name)
    if act.params and kind in ("forward", "grad", "backward"):
        # the public callable is a wrapper taking the parameter by keyword
        pn = ", ".join(act.param_names)
        return (f"Ufunc behind fastact.{name}: the parameter(s) {pn} are "
                f"float64 input(s) after x.\n\nSee fastact.{name} for the "
                "documented interface.\n")
    return public_doc(name)
