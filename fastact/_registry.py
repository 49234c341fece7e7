"""The one table of activations.

Everything else is derived from this module: the ufunc loops generated at build
time (``fastact/_codegen.py`` reads this file without importing the package), the
public names in ``fastact``, the tests and their parameters, the benchmarks and
their PyTorch and JAX peers, the mpmath oracle, and the documentation pages.

Adding an activation means one :class:`Activation` entry here, one pair of
scalar kernels ``fa_<name>`` / ``fa_<name>_grad`` in ``fastact/src/fa_kernels.h``,
its NumPy/SciPy twin in ``fastact/reference.py`` and its page's prose in
``docs/prose/<name>.rst``: CONTRIBUTING.md has the checklist.

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
    #: PyTorch, as a user writes it with the defaults (names: torch, x, the
    #: parameters and ``constants``): printed in the docs, and timed by
    #: ``bench --compare torch`` where ``aten`` names no forward (its
    #: backward then through autograd)
    torch: str = ""
    #: what the docs add to the PyTorch equivalent (a difference in behaviour)
    torch_note: str = ""
    #: the ATen calls a training step runs, forward and backward, which the
    #: bench times (names: the ATen operators, torch, x, g = grad_output, the
    #: parameters and ``constants``, and s, the value the forward saves for
    #: the backward, ``aten_saved``); one operator a call, whose out=
    #: overload the bench finds in its schema.  "": the ``torch`` expression
    aten: tuple[str, str] = ("", "")
    aten_saved: str = ""
    #: JAX (names: jax, jnp, nn = jax.nn, x, the parameters and constants)
    jax: str = ""
    #: f and f' exactly, in mpmath (names: mp, x, the parameters and
    #: constants as mpf, sig(t) = 1/(1 + e^-t)): the float64 oracle of the
    #: accuracy tests and ``verify`` (``fastact/tools/mpref.py``)
    mpmath: tuple[str, str] = ("", "")
    #: named constants of the function, as decimal strings to full precision,
    #: for the expressions above and ``fastact.reference`` (the C kernels
    #: carry them as double literals)
    constants: tuple[tuple[str, str], ...] = ()
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
    def constant_values(self) -> dict:
        """``constants`` as floats."""
        return {k: float(v) for k, v in self.constants}

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
        aten=("clamp_min(x, 0)", "threshold_backward(g, x, 0)"),
        jax="nn.relu(x)",
        mpmath=("x if x > 0 else 0", "1 if x > 0 else 0"),
        span=(-3.0, 3.0),
        textbook=("np.maximum(x, 0)",
                  "(x > 0) * np.ones_like(x)")),
    Activation(
        "relu6", "ReLU capped at 6.",
        r"\min(\max(0, x), 6)",
        r"\begin{cases} 1 & 0 < x < 6 \\ 0 & \text{otherwise} \end{cases}",
        kinks=(0.0, 6.0), float32=_F32_ALL, transcendental=False,
        torch="torch.nn.functional.relu6(x)",
        aten=("hardtanh(x, 0.0, 6.0)", "hardtanh_backward(g, x, 0.0, 6.0)"),
        jax="nn.relu6(x)",
        mpmath=("min(max(x, 0), 6)", "1 if 0 < x < 6 else 0"), span=(-2.0, 8.0),
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
        aten=("leaky_relu(x, negative_slope)",
              "leaky_relu_backward(g, x, negative_slope, False)"),
        jax="nn.leaky_relu(x, negative_slope)",
        mpmath=("x if x > 0 else negative_slope * x", "1 if x > 0 else negative_slope"),
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
        torch="torch.nn.functional.prelu(x, torch.full((1,), weight, dtype=x.dtype))",
        aten=("", "_prelu_kernel_backward(g, x, torch.full((1,), weight, dtype=x.dtype))[0]"),
        jax="jnp.where(x >= 0, x, weight * x)",
        mpmath=("x if x > 0 else weight * x", "1 if x > 0 else weight"), span=(-3.0, 3.0),
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
        aten=("elu(x, alpha, 1.0, 1.0)", "elu_backward(g, alpha, 1.0, 1.0, False, x)"),
        jax="nn.elu(x, alpha)",
        mpmath=("x if x > 0 else alpha * mp.expm1(x)", "1 if x > 0 else alpha * mp.exp(x)"),
        textbook=("np.where(x > 0, x, alpha * (np.exp(x) - 1))",
                  "np.where(x > 0, 1, alpha * np.exp(x))")),
    Activation(
        "selu", "Scaled exponential linear unit (self-normalizing).",
        r"\lambda \begin{cases} x & x > 0 \\ \alpha (e^x - 1) & x \le 0 \end{cases},"
        r"\ \lambda \approx 1.0507,\ \alpha \approx 1.6733",
        r"\lambda \begin{cases} 1 & x > 0 \\ \alpha e^x & x \le 0 \end{cases}",
        kinks=(0.0,), float32=_F32_ALL, float32_vector=_F32_ALL,
        torch="torch.nn.functional.selu(x)",
        aten=("elu(x, selu_alpha, selu_lambda, 1.0)",
              "elu_backward(g, selu_alpha, selu_lambda, 1.0, False, x)"),
        jax="nn.selu(x)",
        mpmath=("selu_lambda * x if x > 0 else selu_lambda * selu_alpha * mp.expm1(x)",
                "selu_lambda if x > 0 else selu_lambda * selu_alpha * mp.exp(x)"),
        constants=(("selu_lambda", "1.0507009873554804934193349852946"),
                   ("selu_alpha", "1.6732632423543772848170429916717")),
        textbook=("selu_lambda * np.where(x > 0, x, selu_alpha * (np.exp(x) - 1))",
                  "selu_lambda * np.where(x > 0, 1, selu_alpha * np.exp(x))")),
    Activation(
        "celu", "Continuously differentiable exponential linear unit.",
        r"\max(0, x) + \min\left(0, \alpha (e^{x/\alpha} - 1)\right)",
        r"\begin{cases} 1 & x > 0 \\ e^{x/\alpha} & x \le 0 \end{cases}",
        params=(Param("alpha", 1.0, "scale of the negative side; must be nonzero",
                      nonzero=True, samples=(0.5, 2.0)),),
        kinks=(0.0,), float32=_F32_ALL, float32_vector=_F32_ALL,
        torch="torch.nn.functional.celu(x, alpha=1.0)",
        aten=("elu(x, alpha, 1.0, 1 / alpha)", "elu_backward(g, alpha, 1.0, 1 / alpha, False, x)"),
        jax="nn.celu(x, alpha)",
        mpmath=("x if x > 0 else alpha * mp.expm1(x / alpha)",
                "1 if x > 0 else mp.exp(x / alpha)"),
        textbook=("np.maximum(0, x) + np.minimum(0, alpha * (np.exp(x / alpha) - 1))",
                  "np.where(x > 0, 1, np.exp(x / alpha))")),
    Activation(
        "sigmoid", "Logistic sigmoid.",
        r"\sigma(x) = \frac{1}{1 + e^{-x}}",
        r"\sigma(x)\,\sigma(-x)",
        float32=_F32_ALL, float32_vector=_F32_ALL,
        torch="torch.sigmoid(x)",
        aten=("sigmoid(x)", "sigmoid_backward(g, s)"),
        aten_saved="sigmoid(x)",
        jax="nn.sigmoid(x)",
        mpmath=("sig(x)", "sig(x) * sig(-x)"), span=(-8.0, 8.0),
        textbook=("1 / (1 + np.exp(-x))",
                  "1 / (1 + np.exp(-x)) * (1 - 1 / (1 + np.exp(-x)))")),
    Activation(
        "log_sigmoid", "Logarithm of the logistic sigmoid.",
        r"\log \sigma(x) = -\operatorname{softplus}(-x)",
        r"\sigma(-x)",
        float32=_F32_ALL, float32_vector=_F32_ALL,
        torch="torch.nn.functional.logsigmoid(x)",
        aten=("log_sigmoid_forward(x)[0]", "log_sigmoid_backward(g, x, s)"),
        aten_saved="log_sigmoid_forward(x)[1]",
        jax="nn.log_sigmoid(x)",
        mpmath=("-mp.log1p(mp.exp(-x))", "sig(-x)"), span=(-8.0, 4.0),
        textbook=("np.log(1 / (1 + np.exp(-x)))",
                  "1 - 1 / (1 + np.exp(-x))")),
    Activation(
        "hard_sigmoid", "Piecewise-linear sigmoid.",
        r"\frac{\operatorname{relu6}(x + 3)}{6}",
        r"\begin{cases} 1/6 & -3 < x < 3 \\ 0 & \text{otherwise} \end{cases}",
        kinks=(-3.0, 3.0), float32=_F32_ALL, float32_backward_kernel=True,
        transcendental=False,
        torch="torch.nn.functional.hardsigmoid(x)",
        aten=("hardsigmoid(x)", "hardsigmoid_backward(g, x)"),
        jax="nn.hard_sigmoid(x)",
        mpmath=("min(max(x + 3, 0), 6) / 6", "1 / mp.mpf(6) if -3 < x < 3 else 0"),
        textbook=("np.clip(x / 6 + 0.5, 0, 1)",
                  "((x > -3) & (x < 3)) / np.asarray(6, x.dtype)")),
    Activation(
        "tanh", "Hyperbolic tangent.",
        r"\tanh x", r"\operatorname{sech}^2 x",
        float32=_F32_ALL, float32_vector=_F32_ALL,
        torch="torch.tanh(x)",
        aten=("tanh(x)", "tanh_backward(g, s)"),
        aten_saved="tanh(x)",
        jax="jnp.tanh(x)",
        mpmath=("mp.tanh(x)", "mp.sech(x) ** 2"), span=(-4.0, 4.0),
        textbook=("np.tanh(x)",
                  "1 - np.tanh(x) ** 2")),
    Activation(
        "hard_tanh", "Piecewise-linear tanh, clipped to [-1, 1].",
        r"\min(\max(x, -1), 1)",
        r"\begin{cases} 1 & -1 < x < 1 \\ 0 & \text{otherwise} \end{cases}",
        kinks=(-1.0, 1.0), float32=_F32_ALL, transcendental=False,
        torch="torch.nn.functional.hardtanh(x)",
        aten=("hardtanh(x, -1.0, 1.0)", "hardtanh_backward(g, x, -1.0, 1.0)"),
        jax="nn.hard_tanh(x)",
        mpmath=("min(max(x, -1), 1)", "1 if -1 < x < 1 else 0"), span=(-3.0, 3.0),
        textbook=("np.clip(x, -1, 1)",
                  "((x > -1) & (x < 1)) * np.ones_like(x)")),
    Activation(
        "softsign", "Softsign, a rational sigmoid-like function.",
        r"\frac{x}{1 + |x|}", r"\frac{1}{(1 + |x|)^2}",
        float32=_F32_EXACT, transcendental=False,
        torch="torch.nn.functional.softsign(x)",
        jax="nn.soft_sign(x)",
        mpmath=("x / (1 + abs(x))", "1 / (1 + abs(x)) ** 2"),
        textbook=("x / (1 + np.abs(x))",
                  "1 / (1 + np.abs(x)) ** 2")),
    Activation(
        "softplus", "Smooth approximation of ReLU.",
        r"\frac{1}{\beta} \log\left(1 + e^{\beta x}\right)",
        r"\sigma(\beta x)",
        params=(Param("beta", 1.0, "sharpness; must be nonzero", nonzero=True,
                      samples=(0.5, 2.0)),),
        float32=_F32_ALL, float32_vector=_F32_ALL,
        torch="torch.nn.functional.softplus(x, beta=1.0)",
        torch_note="PyTorch also switches to x above threshold=20; fastact is exact "
                   "everywhere",
        aten=("softplus(x, beta, 20.0)", "softplus_backward(g, x, beta, 20.0)"),
        jax="nn.softplus(beta * x) / beta",
        mpmath=("mp.log1p(mp.exp(beta * x)) / beta", "sig(beta * x)"),
        textbook=("np.log(1 + np.exp(beta * x)) / beta",
                  "1 / (1 + np.exp(-beta * x))")),
    Activation(
        "silu", "Sigmoid-weighted linear unit (swish).",
        r"x\,\sigma(x)", r"\sigma(x) + x\,\sigma(x)\,\sigma(-x)",
        grad_has_root=True, aliases=("swish",),
        float32=_F32_ALL, float32_vector=_F32_ALL, torch="torch.nn.functional.silu(x)",
        aten=("silu(x)", "silu_backward(g, x)"),
        jax="nn.silu(x)",
        mpmath=("x * sig(x)", "sig(x) * (1 + x * sig(-x))"),
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
        aten=("hardswish(x)", "hardswish_backward(g, x)"),
        jax="nn.hard_swish(x)",
        mpmath=("x * min(max(x + 3, 0), 6) / 6",
                "0 if x < -3 else (1 if x > 3 else (2 * x + 3) / 6)"),
        textbook=("x * np.clip(x + 3, 0, 6) / 6",
                  "np.where(x < -3, 0, np.where(x > 3, 1, (2 * x + 3) / 6))")),
    Activation(
        "mish", "Self-regularized non-monotonic activation.",
        r"x \tanh(\operatorname{softplus}(x))",
        r"\tanh(s) + x\,\operatorname{sech}^2(s)\,\sigma(x),\ s = \operatorname{softplus}(x)",
        grad_has_root=True, float32=_F32_ALL, float32_vector=_F32_ALL,
        torch="torch.nn.functional.mish(x)",
        aten=("mish(x)", "mish_backward(g, x)"),
        jax="nn.mish(x)",
        mpmath=("x * mp.tanh(mp.log1p(mp.exp(x)))",
                "mp.tanh(mp.log1p(mp.exp(x))) + x * mp.sech(mp.log1p(mp.exp(x))) ** 2 "
                "* sig(x)"),
        textbook=("x * np.tanh(np.log(1 + np.exp(x)))",
                  "np.tanh(np.log(1 + np.exp(x))) + x * (1 - np.tanh(np.log(1 + "
                  "np.exp(x))) ** 2) / (1 + np.exp(-x))")),
    Activation(
        "gelu", "Gaussian error linear unit (exact, through the normal CDF).",
        r"x\,\Phi(x) = \frac{x}{2} \operatorname{erfc}\left(-\frac{x}{\sqrt 2}\right)",
        r"\Phi(x) + x\,\varphi(x)",
        grad_has_root=True, float32=_F32_ALL, float32_vector=_F32_ALL,
        torch="torch.nn.functional.gelu(x)",
        aten=("gelu(x, approximate='none')", "gelu_backward(g, x, approximate='none')"),
        jax="nn.gelu(x, approximate=False)",
        mpmath=("x * mp.ncdf(x)", "mp.ncdf(x) + x * mp.npdf(x)"),
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
        aten=("gelu(x, approximate='tanh')", "gelu_backward(g, x, approximate='tanh')"),
        jax="nn.gelu(x, approximate=True)",
        mpmath=("x * sig(2 * mp.sqrt(2 / mp.pi) * (x + k * x ** 3))",
                "sig(2 * mp.sqrt(2 / mp.pi) * (x + k * x ** 3)) + x "
                "* sig(2 * mp.sqrt(2 / mp.pi) * (x + k * x ** 3)) "
                "* sig(-(2 * mp.sqrt(2 / mp.pi) * (x + k * x ** 3))) "
                "* 2 * mp.sqrt(2 / mp.pi) * (1 + 3 * k * x * x)"),
        constants=(("k", "0.044715"),),
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
        jax="x * nn.sigmoid(k * x)",
        mpmath=("x * sig(k * x)", "sig(k * x) * (1 + k * x * sig(-k * x))"),
        constants=(("k", "1.702"),),
        textbook=("x / (1 + np.exp(-1.702 * x))",
                  "1 / (1 + np.exp(-1.702 * x)) * (1 + 1.702 * x * (1 - 1 / (1 + "
                  "np.exp(-1.702 * x))))")),
)

#: name -> Activation, read-only
ACTIVATIONS = types.MappingProxyType({a.name: a for a in _TABLE})

#: alias -> canonical name
ALIASES = types.MappingProxyType(
    {alias: a.name for a in _TABLE for alias in a.aliases})
