"""Pure NumPy/SciPy twins of every fastact kernel.

This module is the documentation of what each compiled kernel computes, the
oracle the tests compare against, and the baseline the benchmark times. It is
written to be read first and to be fast second, but every function is in the
numerically stable form: the one-line textbook formulas lose every digit in the
tails (see the notes on each function), and an oracle that is wrong where the
kernels are right would be worse than none.

Every activation ``name`` has ``name(x, [params])`` and ``name_grad(x, [params])``
(df/dx), with PyTorch's parameter defaults; ``backward(name, grad_output, x,
**params)`` is ``grad_output * name_grad(x, **params)``. Results are float64
(or the floating dtype NumPy computes ``x`` in); the tests round them to the
dtype under test.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from ._registry import ACTIVATIONS as _ACTS

__all__ = []  # filled at the bottom

#: the registry's constants (``Activation.constants``)
SELU_LAMBDA = _ACTS["selu"].constant_values["selu_lambda"]
SELU_ALPHA = _ACTS["selu"].constant_values["selu_alpha"]
_SQRT_2_OVER_PI = 0.7978845608028654   # sqrt(2/pi)
_GELU_TANH_K = _ACTS["gelu_tanh"].constant_values["k"]
_QUICK_GELU_K = _ACTS["gelu_sigmoid"].constant_values["k"]


def _f(x):
    """x as a floating array (integers and bools become float64)."""
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def _sigmoid_pair(t):
    """(sigma(t), sigma(-t)) without overflow: with e = exp(-|t|), one of the
    two is 1/(1+e) and the other e/(1+e)."""
    e = np.exp(-np.abs(t))
    r = 1.0 / (1.0 + e)
    pos = t >= 0
    return np.where(pos, r, e * r), np.where(pos, e * r, r)


def _nan_keep(x, v):
    """v, with NaN where x is NaN (piecewise-constant derivatives)."""
    return np.where(np.isnan(x), x, v)


# ---- piecewise-linear ----------------------------------------------------------

def relu(x):
    """max(0, x); NaN stays NaN (np.maximum propagates it)."""
    x = _f(x)
    return np.maximum(x, 0)


def relu_grad(x):
    """1 for x > 0, else 0 (0 at the kink, PyTorch's convention)."""
    x = _f(x)
    return _nan_keep(x, (x > 0).astype(x.dtype))


def relu6(x):
    """min(max(0, x), 6)."""
    return np.minimum(np.maximum(_f(x), 0), 6)


def relu6_grad(x):
    """1 on 0 < x < 6, else 0."""
    x = _f(x)
    return _nan_keep(x, ((x > 0) & (x < 6)).astype(x.dtype))


def leaky_relu(x, negative_slope=0.01):
    """x for x > 0, negative_slope * x otherwise."""
    x = _f(x)
    return np.where(x > 0, x, negative_slope * x)


def leaky_relu_grad(x, negative_slope=0.01):
    """1 for x > 0, negative_slope otherwise (also at 0)."""
    x = _f(x)
    return _nan_keep(x, np.where(x > 0, 1.0, negative_slope * np.ones_like(x)))


def prelu(x, weight):
    """leaky_relu with a learned slope that broadcasts (per channel)."""
    return leaky_relu(x, weight)


def prelu_grad(x, weight):
    return leaky_relu_grad(x, weight)


def prelu_weight_backward(grad_output, x):
    """d loss / d weight, elementwise: grad_output * min(x, 0); sum it over
    the axes the weight was broadcast along."""
    x = _f(x)
    return grad_output * np.minimum(x, 0)


def hard_sigmoid(x):
    """relu6(x + 3) / 6."""
    return relu6(_f(x) + 3) / 6


def hard_sigmoid_grad(x):
    """1/6 on -3 < x < 3, else 0."""
    x = _f(x)
    return _nan_keep(x, np.where((x > -3) & (x < 3), 1 / 6, 0.0))


def hard_tanh(x):
    """Clip to [-1, 1] (NaN propagates)."""
    return np.minimum(np.maximum(_f(x), -1), 1)


def hard_tanh_grad(x):
    """1 on -1 < x < 1, else 0."""
    x = _f(x)
    return _nan_keep(x, ((x > -1) & (x < 1)).astype(x.dtype))


def hard_swish(x):
    """x * relu6(x + 3) / 6, written per piece so huge |x| cannot overflow."""
    x = _f(x)
    c = np.clip(x, -3, 3)
    return np.where(x > 3, x, np.where(x < -3, 0.0, c * (c + 3) / 6))


def hard_swish_grad(x):
    """0 for x < -3, 1 for x > 3, (2x + 3)/6 in between (PyTorch's)."""
    x = _f(x)
    c = np.clip(x, -3, 3)
    return np.where(x > 3, 1.0, np.where(x < -3, 0.0, (2 * c + 3) / 6))


def softsign(x):
    """x / (1 + |x|); +-inf give +-1."""
    x = _f(x)
    with np.errstate(invalid="ignore"):
        y = x / (1 + np.abs(x))
    return np.where(np.isinf(x), np.sign(x), y)


def softsign_grad(x):
    """(1 / (1 + |x|))**2: squaring the reciprocal, never (1+|x|)**2, which
    overflows for |x| > 1e154."""
    r = 1 / (1 + np.abs(_f(x)))
    return r * r


# ---- exponential linear units ------------------------------------------------

def elu(x, alpha=1.0):
    """x for x > 0, alpha * (e^x - 1) otherwise: expm1, exact near 0."""
    x = _f(x)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def elu_grad(x, alpha=1.0):
    """1 for x > 0, alpha * e^x otherwise (alpha at 0)."""
    x = _f(x)
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0)))


def selu(x):
    """lambda * elu(x, alpha) with the self-normalizing constants."""
    x = _f(x)
    return np.where(x > 0, SELU_LAMBDA * x,
                    SELU_LAMBDA * SELU_ALPHA * np.expm1(np.minimum(x, 0)))


def selu_grad(x):
    x = _f(x)
    return np.where(x > 0, SELU_LAMBDA,
                    SELU_LAMBDA * SELU_ALPHA * np.exp(np.minimum(x, 0)))


def celu(x, alpha=1.0):
    """max(0, x) + min(0, alpha (e^(x/alpha) - 1)), with expm1."""
    x = _f(x)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        q = np.minimum(x, 0) / alpha
        return np.where(x > 0, x, alpha * np.expm1(q))


def celu_grad(x, alpha=1.0):
    """1 for x > 0, e^(x/alpha) otherwise."""
    x = _f(x)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return np.where(x > 0, 1.0, np.exp(np.minimum(x, 0) / alpha))


# ---- sigmoid family ------------------------------------------------------------

def sigmoid(x):
    """1 / (1 + e^-x), from the side that cannot overflow (scipy's expit)."""
    return special.expit(_f(x))


def sigmoid_grad(x):
    """sigma(x) * sigma(-x): s * (1 - s) cancels to 0 for large x."""
    s, t = _sigmoid_pair(_f(x))
    return s * t


def log_sigmoid(x):
    """-softplus(-x) = min(x, 0) - log1p(e^-|x|)."""
    x = _f(x)
    return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))


def log_sigmoid_grad(x):
    """sigma(-x)."""
    return _sigmoid_pair(_f(x))[1]


def tanh(x):
    return np.tanh(_f(x))


def tanh_grad(x):
    """sech^2 x = 4e / (1 + e)^2 with e = e^(-2|x|); 1 - tanh^2 is 0 from
    |x| ~ 19."""
    e = np.exp(-2 * np.minimum(np.abs(_f(x)), 1e4))
    return 4 * e / (1 + e) ** 2


def softplus(x, beta=1.0):
    """log(1 + e^(beta x)) / beta = max(x, 0) + log1p(e^-|beta x|) / beta for
    beta > 0 (and the mirror image for beta < 0): exact everywhere, no
    threshold, no overflow."""
    x = _f(x)
    beta = np.asarray(beta, dtype=np.float64)
    with np.errstate(over="ignore"):
        t = np.abs(beta * x)
    lin = np.where((x > 0) == (beta > 0), x, 0.0)
    return lin + np.log1p(np.exp(-t)) / beta


def softplus_grad(x, beta=1.0):
    """sigma(beta x)."""
    x = _f(x)
    with np.errstate(over="ignore", invalid="ignore"):
        return special.expit(beta * x)


# ---- gated linear units ----------------------------------------------------------

def silu(x):
    """x * sigma(x); sigma(x) via expit (no overflow)."""
    x = _f(x)
    return x * special.expit(x)


def silu_grad(x):
    """sigma(x) (1 + x sigma(-x))."""
    x = _f(x)
    s, t = _sigmoid_pair(x)
    return s * (1 + x * t)


def gelu_sigmoid(x):
    """x * sigma(1.702 x) (quick_gelu)."""
    x = _f(x)
    return x * special.expit(_QUICK_GELU_K * x)


def gelu_sigmoid_grad(x):
    """sigma(kx) (1 + kx sigma(-kx)), k = 1.702."""
    x = _f(x)
    kx = _QUICK_GELU_K * x
    s, t = _sigmoid_pair(kx)
    return s * (1 + kx * t)


def _tanh_softplus(x):
    """tanh(softplus(x)) = n / (n + 2), n = e^x (e^x + 2), in terms of
    e = e^-|x| so nothing overflows."""
    e = np.exp(-np.abs(x))
    pos = (1 + 2 * e) / (1 + 2 * e + 2 * e * e)
    n = e * (e + 2)
    return np.where(x >= 0, pos, n / (n + 2)), e


def mish(x):
    """x * tanh(softplus(x)); tanh(log(1 + e^x)) overflows e^x for x > 709."""
    x = _f(x)
    return x * _tanh_softplus(x)[0]


def mish_grad(x):
    """tanh(sp) + x sech^2(sp) sigma(x), sp = softplus(x)."""
    x = _f(x)
    t, _ = _tanh_softplus(x)
    return t + x * (1 - t * t) * special.expit(x)


def gelu(x):
    """x Phi(x) = (x/2) erfc(-x/sqrt 2): erfc, not 1 + erf, so the left tail
    keeps its digits (0.5 x (1 + erf(x/sqrt 2)) is 0 from x ~ -6)."""
    x = _f(x)
    return x * special.ndtr(x)


def gelu_grad(x):
    """Phi(x) + x phi(x), phi(x) = e^(-x^2/2) / sqrt(2 pi)."""
    x = _f(x)
    with np.errstate(over="ignore"):
        phi = np.exp(-0.5 * np.minimum(x * x, 1e4)) / np.sqrt(2 * np.pi)
    return special.ndtr(x) + np.where(np.abs(x) > 50, 0.0, x * phi)


def _gelu_tanh_u2(x):
    """2u = 2 sqrt(2/pi) (x + 0.044715 x^3), x clipped where sigma(2u) is
    already 0 or 1 so x^3 cannot overflow."""
    c = np.clip(x, -1e4, 1e4)
    return 2 * _SQRT_2_OVER_PI * (c + _GELU_TANH_K * c ** 3), c


def gelu_tanh(x):
    """(x/2)(1 + tanh u) = x sigma(2u): 1 + tanh u cancels for x < 0."""
    x = _f(x)
    u2, _ = _gelu_tanh_u2(x)
    return x * special.expit(u2)


def gelu_tanh_grad(x):
    """sigma(2u) + x sigma(2u) sigma(-2u) (2u)'."""
    x = _f(x)
    u2, c = _gelu_tanh_u2(x)
    s, t = _sigmoid_pair(u2)
    du2 = 2 * _SQRT_2_OVER_PI * (1 + 3 * _GELU_TANH_K * c * c)
    with np.errstate(invalid="ignore", over="ignore"):
        extra = np.where(t == 0, 0.0, x * s * t * du2)
    return s + extra


# ---- aliases and helpers ---------------------------------------------------------

swish, swish_grad = silu, silu_grad
quick_gelu, quick_gelu_grad = gelu_sigmoid, gelu_sigmoid_grad


def backward(name, grad_output, x, **params):
    """grad_output * name_grad(x, **params)."""
    return np.asarray(grad_output) * globals()[name + "_grad"](x, **params)


__all__ = sorted(n for n, v in globals().items()
                 if callable(v) and not n.startswith("_") and n not in ("annotations",))
