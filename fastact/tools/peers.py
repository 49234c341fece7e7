"""PyTorch and JAX, timed on the same inputs as fastact (``bench --compare``).

Both come from the ``bench`` extra and are imported only when asked for.  Each
peer is given its best chance:

* **PyTorch** (CPU, the same thread count as fastact): the ATen kernel a
  training step runs, with its ``out=`` variant where ATen has one (``*.out``
  and ``*_backward.grad_input``).  Where ATen's backward takes the forward's
  saved output instead of x (sigmoid, tanh, log_sigmoid's buffer), the timed
  call computes that output from x (``out=``, into a buffer made once) and
  then runs the backward: fastact's backward is a function of (g, x), and this
  is the cheapest way ATen computes the same thing.  Functions
  PyTorch builds from several ops (softsign, gelu_sigmoid, prelu's backward)
  run as a user would write them: composite forward, autograd backward.
* **JAX** (CPU, ``jax.jit``, compile time excluded, float64 enabled): the
  ``jax.nn`` function, and ``jax.vjp`` of it for the backward, fused by XLA.
  JAX cannot write into a given array, so it is compared with fastact's
  fresh-output call.

``time_call`` returns ``{"out": seconds or None, "fresh": seconds}``.
"""

from __future__ import annotations

import contextlib

import numpy as np

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


# ---- PyTorch --------------------------------------------------------------------

class TorchPeer:
    name = "torch"

    def __init__(self, threads: int):
        import torch

        self.torch = torch
        torch.set_num_threads(threads)
        self.version = torch.__version__

    def _ops(self, name, p):
        """(forward(x, out), backward(g, x, out, saved)) with out=None meaning
        a fresh result; saved(x) gives two calls that compute what autograd
        keeps from the forward, into buffers made once and fresh, or None.
        An entry of None means no out= variant."""
        t = self.torch
        A = t.ops.aten
        F = t.nn.functional

        def elu_like(alpha, scale, in_scale):
            def fwd(x, o):
                if o is None:
                    return A.elu(x, alpha, scale, in_scale)
                return A.elu.out(x, alpha, scale, in_scale, out=o)

            def bwd(g, x, o, s):
                if o is None:
                    return A.elu_backward(g, alpha, scale, in_scale, False, x)
                return A.elu_backward.grad_input(g, alpha, scale, in_scale, False, x,
                                                 grad_input=o)
            return fwd, bwd, True, True, None

        def unary(op, bop, *args, saved=None, b_out=True):
            def fwd(x, o):
                return op(x, *args) if o is None else op.out(x, *args, out=o)

            def bwd(g, x, o, s):
                arg = x if saved is None else s
                if o is None or not b_out:
                    return bop(g, arg, *args)
                return bop.grad_input(g, arg, *args, grad_input=o)
            return fwd, bwd, True, b_out, saved

        def saved_by(op):
            def saved(x):
                b = t.empty_like(x)
                return (lambda: op.out(x, out=b)), (lambda: op(x))
            return saved

        def composite(f):
            def fwd(x, o):
                return f(x)

            def bwd(g, x, o, s):
                xr = x.detach().requires_grad_(True)
                return t.autograd.grad(f(xr), xr, g)[0]
            return fwd, bwd, False, False, None

        if name == "relu":
            def fwd(x, o):
                return t.clamp_min(x, 0) if o is None else t.clamp_min(x, 0, out=o)

            def bwd(g, x, o, s):
                if o is None:
                    return A.threshold_backward(g, x, 0)
                return A.threshold_backward.grad_input(g, x, 0, grad_input=o)
            return fwd, bwd, True, True, None
        if name == "relu6":
            return unary(A.hardtanh, A.hardtanh_backward, 0.0, 6.0)
        if name == "hard_tanh":
            return unary(A.hardtanh, A.hardtanh_backward, -1.0, 1.0)
        if name == "leaky_relu":
            slope = p["negative_slope"]

            def fwd(x, o):
                return (A.leaky_relu(x, slope) if o is None
                        else A.leaky_relu.out(x, slope, out=o))

            def bwd(g, x, o, s):
                if o is None:
                    return A.leaky_relu_backward(g, x, slope, False)
                return A.leaky_relu_backward.grad_input(g, x, slope, False, grad_input=o)
            return fwd, bwd, True, True, None
        if name == "elu":
            return elu_like(p["alpha"], 1.0, 1.0)
        if name == "celu":
            return elu_like(p["alpha"], 1.0, 1.0 / p["alpha"])
        if name == "selu":
            return elu_like(SELU_ALPHA, SELU_SCALE, 1.0)
        if name == "sigmoid":
            return unary(A.sigmoid, A.sigmoid_backward, saved=saved_by(A.sigmoid))
        if name == "tanh":
            return unary(A.tanh, A.tanh_backward, saved=saved_by(A.tanh))
        if name == "hard_sigmoid":
            return unary(A.hardsigmoid, A.hardsigmoid_backward)
        if name == "hard_swish":
            def fwd(x, o):
                return A.hardswish(x) if o is None else A.hardswish.out(x, out=o)

            def bwd(g, x, o, s):
                return (A.hardswish_backward(g, x) if o is None
                        else A.hardswish_backward.out(g, x, out=o))
            return fwd, bwd, True, True, None
        if name == "silu":
            return unary(A.silu, A.silu_backward)
        if name == "mish":
            return unary(A.mish, A.mish_backward, b_out=False)
        if name == "gelu":
            return self._gelu("none")
        if name == "gelu_tanh":
            return self._gelu("tanh")
        if name == "softplus":
            beta = p["beta"]
            return unary(A.softplus, A.softplus_backward, beta, 20.0)
        if name == "log_sigmoid":
            def fwd(x, o):
                if o is None:
                    return A.log_sigmoid_forward(x)[0]
                return A.log_sigmoid_forward.output(x, output=o, buffer=t.empty_like(x))[0]

            def bwd(g, x, o, s):
                if o is None:
                    return A.log_sigmoid_backward(g, x, s)
                return A.log_sigmoid_backward.grad_input(g, x, s, grad_input=o)
            def saved(x):
                b0, b1 = t.empty_like(x), t.empty_like(x)
                return ((lambda: A.log_sigmoid_forward.output(x, output=b0, buffer=b1)[1]),
                        (lambda: A.log_sigmoid_forward(x)[1]))
            return fwd, bwd, True, True, saved
        if name == "softsign":
            return composite(F.softsign)
        if name == "gelu_sigmoid":
            return composite(lambda x: x * t.sigmoid(1.702 * x))
        if name == "prelu":
            w = t.tensor([p["weight"]])

            def fwd(x, o):
                return F.prelu(x, w.to(x.dtype))

            def bwd(g, x, o, s):
                return A._prelu_kernel_backward(g, x, w.to(x.dtype))[0]
            return fwd, bwd, False, False, None
        return None

    def _gelu(self, approximate):
        A = self.torch.ops.aten

        def fwd(x, o):
            if o is None:
                return A.gelu(x, approximate=approximate)
            return A.gelu.out(x, approximate=approximate, out=o)

        def bwd(g, x, o, s):
            if o is None:
                return A.gelu_backward(g, x, approximate=approximate)
            return A.gelu_backward.grad_input(g, x, approximate=approximate, grad_input=o)
        return fwd, bwd, True, True, None

    def _calls(self, act, kind, x, g, params):
        """(call with out=, call with a fresh output, has out=, grad mode)."""
        ops = self._ops(act.name, params)
        if ops is None or x.dtype == np.float16:
            return None
        fwd, bwd, f_out, b_out, saved = ops
        t = self.torch
        with t.no_grad():
            tx, tg = t.from_numpy(x), t.from_numpy(g if kind == "backward" else np.ones_like(x))
            to = t.empty_like(tx)
            s_out, s_fresh = saved(tx) if saved is not None else (None, None)
        if kind == "forward":
            has_out = f_out
            call_out = lambda: fwd(tx, to)  # noqa: E731
            call_fresh = lambda: fwd(tx, None)  # noqa: E731
        else:
            has_out = b_out
            call_out = lambda: bwd(tg, tx, to, s_out and s_out())  # noqa: E731
            call_fresh = lambda: bwd(tg, tx, None, s_fresh and s_fresh())  # noqa: E731
        grad_mode = t.no_grad if has_out or kind == "forward" else t.enable_grad
        return call_out, call_fresh, has_out, grad_mode

    def values(self, act, kind, x, g, params):
        """What the timed call computes, as a NumPy array (for the tests)."""
        calls = self._calls(act, kind, x, g, params)
        if calls is None:
            return None
        with calls[3]():
            return calls[1]().detach().numpy()

    def compared_call(self, act, kind, x, g, params):
        """(call, context) of what the bench compares with fastact's out= call:
        ATen's out= variant where it has one, else a fresh output; the call
        runs inside the context (the grad mode it needs).  None if absent."""
        calls = self._calls(act, kind, x, g, params)
        if calls is None:
            return None
        call_out, call_fresh, has_out, grad_mode = calls
        return (call_out if has_out else call_fresh), grad_mode

    def time_call(self, act, kind, x, g, params, best_time, min_time, repeats):
        calls = self._calls(act, kind, x, g, params)
        if calls is None:
            return None
        call_out, call_fresh, has_out, grad_mode = calls
        with grad_mode():
            fresh, _ = best_time(call_fresh, min_time, repeats)
            out = best_time(call_out, min_time, repeats)[0] if has_out else None
        return {"out": out, "fresh": fresh}


# ---- JAX --------------------------------------------------------------------------

class JaxPeer:
    name = "jax"

    def __init__(self, threads: int):
        import jax

        jax.config.update("jax_enable_x64", True)
        jax.config.update("jax_platforms", "cpu")
        self.jax = jax
        self.version = jax.__version__
        self._compiled = {}

    def _fn(self, name, p):
        import jax.numpy as jnp

        nn = self.jax.nn
        table = {
            "relu": nn.relu,
            "relu6": nn.relu6,
            "leaky_relu": lambda x: nn.leaky_relu(x, p.get("negative_slope", 0.01)),
            "prelu": lambda x: jnp.where(x >= 0, x, p.get("weight", 0.25) * x),
            "elu": lambda x: nn.elu(x, p.get("alpha", 1.0)),
            "selu": nn.selu,
            "celu": lambda x: nn.celu(x, p.get("alpha", 1.0)),
            "sigmoid": nn.sigmoid,
            "log_sigmoid": nn.log_sigmoid,
            "hard_sigmoid": nn.hard_sigmoid,
            "tanh": jnp.tanh,
            "hard_tanh": nn.hard_tanh,
            "softsign": nn.soft_sign,
            "softplus": lambda x: nn.softplus(p.get("beta", 1.0) * x) / p.get("beta", 1.0),
            "silu": nn.silu,
            "hard_swish": nn.hard_swish,
            "mish": getattr(nn, "mish", lambda x: x * jnp.tanh(nn.softplus(x))),
            "gelu": lambda x: nn.gelu(x, approximate=False),
            "gelu_tanh": lambda x: nn.gelu(x, approximate=True),
            "gelu_sigmoid": lambda x: x * nn.sigmoid(1.702 * x),
        }
        return table.get(name)

    def _call(self, act, kind, x, g, params):
        if x.dtype == np.float16:
            return None
        jax = self.jax
        key = (act.name, tuple(sorted(params.items())), kind)
        if key not in self._compiled:
            f = self._fn(act.name, params)
            if f is None:
                return None
            if kind == "forward":
                self._compiled[key] = jax.jit(f)
            else:
                self._compiled[key] = jax.jit(lambda g, x: jax.vjp(f, x)[1](g)[0])
        fn = self._compiled[key]
        jx = jax.device_put(x)
        jg = jax.device_put(g if kind == "backward" else np.ones_like(x))
        args = (jx,) if kind == "forward" else (jg, jx)
        return lambda: fn(*args).block_until_ready()

    def values(self, act, kind, x, g, params):
        """What the timed call computes, as a NumPy array (for the tests)."""
        call = self._call(act, kind, x, g, params)
        return None if call is None else np.asarray(call())

    def compared_call(self, act, kind, x, g, params):
        """(call, context) of what the bench times: the jit-compiled function
        with a fresh output (JAX cannot write into a given array)."""
        call = self._call(act, kind, x, g, params)
        return None if call is None else (call, contextlib.nullcontext)

    def time_call(self, act, kind, x, g, params, best_time, min_time, repeats):
        call = self._call(act, kind, x, g, params)
        if call is None:
            return None
        call()  # compile outside the timing
        fresh, _ = best_time(call, min_time, repeats)
        return {"out": None, "fresh": fresh}


def make(names, threads):
    """The peers named in ``names`` ("torch", "jax"), ready to time."""
    peers = {}
    for name in names:
        cls = {"torch": TorchPeer, "jax": JaxPeer}.get(name)
        if cls is None:
            raise SystemExit(f"fastact bench: unknown peer {name!r} (torch, jax)")
        try:
            peers[name] = cls(threads)
        except ImportError as exc:
            raise SystemExit(f"fastact bench --compare {name}: {exc}; install the "
                             "'bench' extra: pip install '.[bench]'") from exc
    return peers
