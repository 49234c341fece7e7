"""The one table of activations.

Everything else is derived from this module: the ufunc loops generated at build
time (``fastact/_codegen.py`` reads this file without importing the package), the
public names in ``fastact``, the tests, the benchmarks and the documentation pages.

Adding an activation means one :class:`Activation` entry here and one pair of
scalar kernels ``fa_<name>`` / ``fa_<name>_grad`` in ``fastact/src/fa_kernels.h``
(and its twin in ``fastact/reference.py``).

This module must only import the standard library: ``setup.py`` executes it.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field

__all__ = ["Param", "Activation", "ACTIVATIONS", "ALIASES", "KINDS"]

#: the three callables every activation has, by suffix
KINDS = ("forward", "grad", "backward")


@dataclass(frozen=True)
class Param:
    """A parameter of a parameterized activation (a ufunc input after ``x``)."""

    name: str
    #: default value (PyTorch's); ``None`` means required
    default: float | None
    doc: str
    #: a scalar zero makes the function undefined: rejected with ValueError
    nonzero: bool = False
    #: values the accuracy tests and benchmarks try besides the default
    samples: tuple[float, ...] = ()

    @property
    def typical(self) -> float:
        """The default, or the first sample where there is none."""
        return self.default if self.default is not None else self.samples[0]


@dataclass(frozen=True)
class Activation:
    """One activation function: what it is, where it bends, how to check it."""

    name: str
    #: one-line description (docstring summary)
    summary: str
    #: LaTeX of f(x) and of f'(x)
    formula: str
    derivative: str
    params: tuple[Param, ...] = ()
    #: points where f' jumps (or f has a corner); grads are only checked by
    #: convention there and finite differences stay away from them
    kinks: tuple[float, ...] = ()
    #: f' has an interior root where the terms that cancel are O(1): accuracy
    #: of the derivative is measured against ulp(max(|r|, 2**-6))
    grad_has_root: bool = False
    #: uses exp/log/erf: the costly kind (benchmarks and thread thresholds)
    transcendental: bool = True
    #: other public names bound to the same ufuncs
    aliases: tuple[str, ...] = ()
    #: the PyTorch equivalent and its defaults
    torch: str = ""
    #: (lo, hi) of the region where the function is interesting to look at
    span: tuple[float, float] = (-6.0, 6.0)
    #: the one-line NumPy formulas people write for f and f' (names: np, erf,
    #: x and the parameters), evaluated in the input's dtype: what
    #: ``verify --compare numpy`` measures fastact against
    textbook: tuple[str, str] = ("", "")
    #: extra elementwise ufuncs beyond forward/grad/backward:
    #: (public name, input names, C expression in those names, summary)
    extras: tuple[tuple[str, tuple[str, ...], str, str], ...] = field(default=())
    #: the kinds whose float32 loops call kernels of their own,
    #: ``fa32_<name>`` / ``fa32_<name>_grad`` in ``fastact/src/fa_kernels32.h``
    #: (single precision, or double with float32-sized series; backward is then
    #: the float32 product of grad_output and the float32 derivative); the
    #: other kinds widen float32 to double and call the float64 kernel.
    #: Optional: a speed-up, proven by the exhaustive sweep.
    float32: tuple[str, ...] = ()
    #: float32 backward is a kernel of its own, ``fa32_<name>_backward(g, x[, p])``
    #: (with "backward" in ``float32``), for piecewise functions whose f' is no
    #: float32 number (0.01, 1/6, (2x + 3)/6): the float64 kernel's g f',
    #: formed in double and rounded once, with the selects in single precision
    float32_backward_kernel: bool = False
    #: the kinds (of those in ``float32``) whose float32 loops run vector
    #: kernels in single precision, ``fv32_<name>`` / ``fv32_<name>_grad`` in
    #: ``fastact/src/fa_kernels32v.h`` (16 lanes on AVX-512, 8 on AVX2; the
    #: scalar float32 kernel where the build has no vector layer).  For a
    #: parameterized entry the kernel has PyTorch's defaults built in and
    #: serves the calls whose parameters are those values, one per call
    float32_vector: tuple[str, ...] = ()

    # ---- derived names -------------------------------------------------
    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params if p.default is not None}

    @property
    def typical_params(self) -> dict:
        """One value for every parameter (:attr:`Param.typical`): what examples,
        plots, benchmarks and most tests call the function with."""
        return {p.name: p.typical for p in self.params}

    def param_sets(self, samples: bool = True) -> list[dict]:
        """Parameter dicts to test and measure the function at: the typical
        ones first, then each parameter's samples in turn (``samples=False``:
        the typical ones alone)."""
        base = self.typical_params
        out = [base]
        if samples:
            for p in self.params:
                out += [{**base, p.name: s} for s in p.samples if s != base[p.name]]
        return out

    @property
    def has_defaults(self) -> bool:
        """Parameterized, and every parameter has PyTorch's default: such an
        activation also gets ufuncs with the defaults built in."""
        return bool(self.params) and all(p.default is not None for p in self.params)

    def callable_name(self, kind: str) -> str:
        return {"forward": self.name, "grad": self.name + "_grad",
                "backward": self.name + "_backward"}[kind]

    # ---- the public callables, resolved lazily (the registry is importable
    # ---- before the compiled extension exists)
    @property
    def forward(self):
        return _public(self.callable_name("forward"))

    @property
    def grad(self):
        return _public(self.callable_name("grad"))

    @property
    def backward(self):
        return _public(self.callable_name("backward"))

    @property
    def reference(self):
        """``(forward, derivative)`` from :mod:`fastact.reference`."""
        import importlib

        ref = importlib.import_module("fastact.reference")
        return getattr(ref, self.name), getattr(ref, self.name + "_grad")


def _public(name):
    import importlib

    return getattr(importlib.import_module("fastact"), name)


_ALPHA = Param("alpha", 1.0, "the value the negative side saturates to, -alpha",
               samples=(0.5, 2.0))

#: float32 kernels for every kind (see Activation.float32)
_F32_ALL = ("forward", "grad", "backward")
#: piecewise functions whose float32 kernels return the float64 kernel's value
#: exactly; backward stays in double where g * f' would round twice, unless
#: the entry has a float32 backward kernel of its own (float32_backward_kernel)
_F32_EXACT = ("forward", "grad")

_TABLE = (
    Activation(
        "relu", "Rectified linear unit.",
        r"\max(0, x)",
        r"\begin{cases} 1 & x > 0 \\ 0 & x \le 0 \end{cases}",
        kinks=(0.0,), float32=_F32_ALL, transcendental=False,
        torch="torch.nn.functional.relu(x)",
        span=(-3.0, 3.0),
        textbook=("np.maximum(x, 0)",
                  "(x > 0) * np.ones_like(x)")),
    Activation(
        "relu6", "ReLU capped at 6.",
        r"\min(\max(0, x), 6)",
        r"\begin{cases} 1 & 0 < x < 6 \\ 0 & \text{otherwise} \end{cases}",
        kinks=(0.0, 6.0), float32=_F32_ALL, transcendental=False,
        torch="torch.nn.functional.relu6(x)", span=(-2.0, 8.0),
        textbook=("np.minimum(np.maximum(x, 0), 6)",
                  "((x > 0) & (x < 6)) * np.ones_like(x)")),
    Activation(
        "leaky_relu", "Leaky rectified linear unit.",
        r"\begin{cases} x & x > 0 \\ a x & x \le 0 \end{cases}",
        r"\begin{cases} 1 & x > 0 \\ a & x \le 0 \end{cases}",
        params=(Param("negative_slope", 0.01, "slope a of the negative side",
                      samples=(0.2,)),),
        kinks=(0.0,), float32=_F32_ALL, float32_backward_kernel=True,
        transcendental=False,
        torch="torch.nn.functional.leaky_relu(x, negative_slope=0.01)",
        span=(-3.0, 3.0),
        textbook=("np.where(x > 0, x, negative_slope * x)",
                  "np.where(x > 0, 1, negative_slope) * np.ones_like(x)")),
    Activation(
        "prelu", "Parametric ReLU with a learned (per-channel) weight.",
        r"\begin{cases} x & x > 0 \\ w x & x \le 0 \end{cases}",
        r"\begin{cases} 1 & x > 0 \\ w & x \le 0 \end{cases}",
        params=(Param("weight", None,
                      "learned slope w of the negative side; broadcasts against x",
                      samples=(0.25,)),),
        kinks=(0.0,), float32=_F32_ALL, float32_backward_kernel=True,
        transcendental=False,
        torch="torch.nn.functional.prelu(x, weight)", span=(-3.0, 3.0),
        extras=(("prelu_weight_backward", ("grad_output", "x"),
                 "grad_output * fa_minz(x)",
                 "Elementwise gradient of PReLU with respect to its weight."),),
        textbook=("np.where(x > 0, x, weight * x)",
                  "np.where(x > 0, 1, weight) * np.ones_like(x)")),
    Activation(
        "elu", "Exponential linear unit.",
        r"\begin{cases} x & x > 0 \\ \alpha (e^x - 1) & x \le 0 \end{cases}",
        r"\begin{cases} 1 & x > 0 \\ \alpha e^x & x \le 0 \end{cases}",
        params=(_ALPHA,), kinks=(0.0,),
        float32=_F32_ALL, float32_vector=_F32_ALL,
        torch="torch.nn.functional.elu(x, alpha=1.0)",
        textbook=("np.where(x > 0, x, alpha * (np.exp(x) - 1))",
                  "np.where(x > 0, 1, alpha * np.exp(x))")),
    Activation(
        "selu", "Scaled exponential linear unit (self-normalizing).",
        r"\lambda \begin{cases} x & x > 0 \\ \alpha (e^x - 1) & x \le 0 \end{cases},"
        r"\ \lambda \approx 1.0507,\ \alpha \approx 1.6733",
        r"\lambda \begin{cases} 1 & x > 0 \\ \alpha e^x & x \le 0 \end{cases}",
        kinks=(0.0,), float32=_F32_ALL, float32_vector=_F32_ALL,
        torch="torch.nn.functional.selu(x)",
        textbook=("1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * "
                  "(np.exp(x) - 1))",
                  "1.0507009873554805 * np.where(x > 0, 1, 1.6732632423543772 * "
                  "np.exp(x))")),
    Activation(
        "celu", "Continuously differentiable exponential linear unit.",
        r"\max(0, x) + \min\left(0, \alpha (e^{x/\alpha} - 1)\right)",
        r"\begin{cases} 1 & x > 0 \\ e^{x/\alpha} & x \le 0 \end{cases}",
        params=(Param("alpha", 1.0, "scale of the negative side; must be nonzero",
                      nonzero=True, samples=(0.5, 2.0)),),
        kinks=(0.0,), float32=_F32_ALL, float32_vector=_F32_ALL,
        torch="torch.nn.functional.celu(x, alpha=1.0)",
        textbook=("np.maximum(0, x) + np.minimum(0, alpha * (np.exp(x / alpha) - 1))",
                  "np.where(x > 0, 1, np.exp(x / alpha))")),
    Activation(
        "sigmoid", "Logistic sigmoid.",
        r"\sigma(x) = \frac{1}{1 + e^{-x}}",
        r"\sigma(x)\,\sigma(-x)",
        float32=_F32_ALL, float32_vector=_F32_ALL,
        torch="torch.sigmoid(x)", span=(-8.0, 8.0),
        textbook=("1 / (1 + np.exp(-x))",
                  "1 / (1 + np.exp(-x)) * (1 - 1 / (1 + np.exp(-x)))")),
    Activation(
        "log_sigmoid", "Logarithm of the logistic sigmoid.",
        r"\log \sigma(x) = -\operatorname{softplus}(-x)",
        r"\sigma(-x)",
        float32=_F32_ALL, float32_vector=_F32_ALL,
        torch="torch.nn.functional.logsigmoid(x)", span=(-8.0, 4.0),
        textbook=("np.log(1 / (1 + np.exp(-x)))",
                  "1 - 1 / (1 + np.exp(-x))")),
    Activation(
        "hard_sigmoid", "Piecewise-linear sigmoid.",
        r"\frac{\operatorname{relu6}(x + 3)}{6}",
        r"\begin{cases} 1/6 & -3 < x < 3 \\ 0 & \text{otherwise} \end{cases}",
        kinks=(-3.0, 3.0), float32=_F32_ALL, float32_backward_kernel=True,
        transcendental=False,
        torch="torch.nn.functional.hardsigmoid(x)",
        textbook=("np.clip(x / 6 + 0.5, 0, 1)",
                  "((x > -3) & (x < 3)) / np.asarray(6, x.dtype)")),
    Activation(
        "tanh", "Hyperbolic tangent.",
        r"\tanh x", r"\operatorname{sech}^2 x",
        float32=_F32_ALL, float32_vector=_F32_ALL,
        torch="torch.tanh(x)", span=(-4.0, 4.0),
        textbook=("np.tanh(x)",
                  "1 - np.tanh(x) ** 2")),
    Activation(
        "hard_tanh", "Piecewise-linear tanh, clipped to [-1, 1].",
        r"\min(\max(x, -1), 1)",
        r"\begin{cases} 1 & -1 < x < 1 \\ 0 & \text{otherwise} \end{cases}",
        kinks=(-1.0, 1.0), float32=_F32_ALL, transcendental=False,
        torch="torch.nn.functional.hardtanh(x)", span=(-3.0, 3.0),
        textbook=("np.clip(x, -1, 1)",
                  "((x > -1) & (x < 1)) * np.ones_like(x)")),
    Activation(
        "softsign", "Softsign, a rational sigmoid-like function.",
        r"\frac{x}{1 + |x|}", r"\frac{1}{(1 + |x|)^2}",
        float32=_F32_EXACT, transcendental=False,
        torch="torch.nn.functional.softsign(x)",
        textbook=("x / (1 + np.abs(x))",
                  "1 / (1 + np.abs(x)) ** 2")),
    Activation(
        "softplus", "Smooth approximation of ReLU.",
        r"\frac{1}{\beta} \log\left(1 + e^{\beta x}\right)",
        r"\sigma(\beta x)",
        params=(Param("beta", 1.0, "sharpness; must be nonzero", nonzero=True,
                      samples=(0.5, 2.0)),),
        float32=_F32_ALL, float32_vector=_F32_ALL,
        torch="torch.nn.functional.softplus(x, beta=1.0)  "
              "(PyTorch also switches to x above threshold=20; fastact is exact "
              "everywhere)",
        textbook=("np.log(1 + np.exp(beta * x)) / beta",
                  "1 / (1 + np.exp(-beta * x))")),
    Activation(
        "silu", "Sigmoid-weighted linear unit (swish).",
        r"x\,\sigma(x)", r"\sigma(x) + x\,\sigma(x)\,\sigma(-x)",
        grad_has_root=True, aliases=("swish",),
        float32=_F32_ALL, float32_vector=_F32_ALL, torch="torch.nn.functional.silu(x)",
        textbook=("x / (1 + np.exp(-x))",
                  "1 / (1 + np.exp(-x)) * (1 + x * (1 - 1 / (1 + np.exp(-x))))")),
    Activation(
        "hard_swish", "Piecewise-polynomial swish.",
        r"x\,\frac{\operatorname{relu6}(x + 3)}{6}",
        r"\begin{cases} 0 & x < -3 \\ (2x + 3)/6 & -3 \le x \le 3 \\ 1 & x > 3"
        r"\end{cases}",
        kinks=(-3.0, 3.0), grad_has_root=True, float32=_F32_ALL,
        float32_backward_kernel=True, transcendental=False,
        torch="torch.nn.functional.hardswish(x)",
        textbook=("x * np.clip(x + 3, 0, 6) / 6",
                  "np.where(x < -3, 0, np.where(x > 3, 1, (2 * x + 3) / 6))")),
    Activation(
        "mish", "Self-regularized non-monotonic activation.",
        r"x \tanh(\operatorname{softplus}(x))",
        r"\tanh(s) + x\,\operatorname{sech}^2(s)\,\sigma(x),\ s = \operatorname{softplus}(x)",
        grad_has_root=True, float32=_F32_ALL, float32_vector=_F32_ALL,
        torch="torch.nn.functional.mish(x)",
        textbook=("x * np.tanh(np.log(1 + np.exp(x)))",
                  "np.tanh(np.log(1 + np.exp(x))) + x * (1 - np.tanh(np.log(1 + "
                  "np.exp(x))) ** 2) / (1 + np.exp(-x))")),
    Activation(
        "gelu", "Gaussian error linear unit (exact, through the normal CDF).",
        r"x\,\Phi(x) = \frac{x}{2} \operatorname{erfc}\left(-\frac{x}{\sqrt 2}\right)",
        r"\Phi(x) + x\,\varphi(x)",
        grad_has_root=True, float32=_F32_ALL, float32_vector=_F32_ALL,
        torch="torch.nn.functional.gelu(x)",
        textbook=("0.5 * x * (1 + erf(x / np.sqrt(2)))",
                  "0.5 * (1 + erf(x / np.sqrt(2))) + x * np.exp(-x ** 2 / 2) / "
                  "np.sqrt(2 * np.pi)")),
    Activation(
        "gelu_tanh", "GELU, tanh approximation.",
        r"\frac{x}{2}\left(1 + \tanh\left(\sqrt{2/\pi}\,(x + 0.044715 x^3)\right)\right)",
        r"\frac{1}{2}(1 + t) + \frac{x}{2}(1 - t^2)\sqrt{2/\pi}\,(1 + 3 \cdot 0.044715 x^2),"
        r"\ t = \tanh\left(\sqrt{2/\pi}\,(x + 0.044715 x^3)\right)",
        grad_has_root=True,
        float32=_F32_ALL, float32_vector=_F32_ALL,
        torch="torch.nn.functional.gelu(x, approximate='tanh')",
        textbook=("0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** "
                  "3)))",
                  "0.5 * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))) "
                  "+ 0.5 * x * (1 - np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x "
                  "** 3)) ** 2) * np.sqrt(2 / np.pi) * (1 + 3 * 0.044715 * x ** 2)")),
    Activation(
        "gelu_sigmoid", "GELU, sigmoid approximation (quick_gelu).",
        r"x\,\sigma(1.702 x)",
        r"\sigma(1.702 x) + 1.702 x\,\sigma(1.702 x)\,\sigma(-1.702 x)",
        grad_has_root=True, aliases=("quick_gelu",),
        float32=_F32_ALL, float32_vector=_F32_ALL, torch="x * torch.sigmoid(1.702 * x)",
        textbook=("x / (1 + np.exp(-1.702 * x))",
                  "1 / (1 + np.exp(-1.702 * x)) * (1 + 1.702 * x * (1 - 1 / (1 + "
                  "np.exp(-1.702 * x))))")),
)

#: name -> Activation, read-only
ACTIVATIONS = types.MappingProxyType({a.name: a for a in _TABLE})

#: alias -> canonical name
ALIASES = types.MappingProxyType(
    {alias: a.name for a in _TABLE for alias in a.aliases})
