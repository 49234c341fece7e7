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

import ast
import contextlib
import functools

import numpy as np


def _names(expr):
    """The free names an expression reads."""
    return {n.id for n in ast.walk(ast.parse(expr, mode="eval"))
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _call_for(expr, name, fn):
    """expr with the name read as a call: s -> _s() (computed at every call)."""
    class Calls(ast.NodeTransformer):
        def visit_Name(self, node):
            if node.id != name:
                return node
            return ast.Call(ast.Name(fn, ast.Load()), [], [])
    tree = ast.fix_missing_locations(Calls().visit(ast.parse(expr, mode="eval")))
    return ast.unparse(tree)


# ---- PyTorch --------------------------------------------------------------------

class TorchPeer:
    name = "torch"

    def __init__(self, threads: int):
        import torch

        self.torch = torch
        torch.set_num_threads(threads)
        self.version = torch.__version__

    def _op(self, name, outs):
        """ATen operator `name`, called as given (outs None), or writing into
        outs through its out= overload (the schema names the out arguments;
        the first gets the result, the others scratch).  None: no overload."""
        packet = getattr(self.torch.ops.aten, name)
        if outs is None:
            return packet
        for overload in ("out", "grad_input", "output"):
            if overload in packet.overloads():
                op = getattr(packet, overload)
                out_args = [a.name for a in op._schema.arguments if a.is_out]
                kw = {a: outs[0] if i == 0 else self.torch.empty_like(outs[0])
                      for i, a in enumerate(out_args)}
                return functools.partial(op, **kw)
        return None

    def _compile(self, expr, values, outs=None, args=""):
        """The registry's expression as a function of args (the ATen
        operators bound to outs), or None when an operator has no out=."""
        ns = dict(values)
        for name in _names(expr) - set(ns) - {"torch"} - set(args.split(", ")):
            op = self._op(name, outs)
            if op is None:
                return None
            ns[name] = op
        ns["torch"] = self.torch
        return eval(f"lambda {args}: " + expr, ns)  # noqa: S307 (the registry's text)

    def _kind_calls(self, act, kind, tx, tg, params):
        """(call with out=, call with a fresh output) of forward or backward
        as the registry's ``aten`` (or ``torch``) names it; the out= one is
        None where ATen has no out= overload.  A backward that takes what the
        forward saved computes it first, into a buffer made once."""
        t = self.torch
        aten = act.aten[0 if kind == "forward" else 1]
        values = {"x": tx, "g": tg, **act.constant_values, **params}
        if not aten:
            f = self._compile(act.torch, values, args="x")
            if kind == "forward":
                return None, lambda: f(tx)

            def autograd():
                xr = tx.detach().requires_grad_(True)
                return t.autograd.grad(f(xr), xr, tg)[0]
            return None, autograd
        to = t.empty_like(tx)
        if act.aten_saved and "s" in _names(aten):
            aten = _call_for(aten, "s", "_s")
            s_out = self._compile(act.aten_saved, values, (t.empty_like(tx),))
            s_fresh = self._compile(act.aten_saved, values)
            out = self._compile(aten, {**values, "_s": s_out}, (to,))
            fresh = self._compile(aten, {**values, "_s": s_fresh})
        else:
            out = self._compile(aten, values, (to,))
            fresh = self._compile(aten, values)
        return out, fresh

    def _calls(self, act, kind, x, g, params):
        """(call with out=, call with a fresh output, has out=, grad mode)."""
        if x.dtype == np.float16 or not (act.aten[0] or act.torch):
            return None
        t = self.torch
        with t.no_grad():
            tx, tg = t.from_numpy(x), t.from_numpy(g if kind == "backward" else np.ones_like(x))
            call_out, call_fresh = self._kind_calls(act, kind, tx, tg, params)
        has_out = call_out is not None
        autograd = kind != "forward" and not act.aten[1]
        grad_mode = t.enable_grad if autograd else t.no_grad
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

    def _fn(self, act, params):
        """The registry's JAX expression as a function of x."""
        if not act.jax:
            return None
        ns = {"jax": self.jax, "jnp": self.jax.numpy, "nn": self.jax.nn,
              **act.constant_values, **params}
        return eval("lambda x: " + act.jax, ns)  # noqa: S307 (the registry's text)

    def _call(self, act, kind, x, g, params):
        if x.dtype == np.float16:
            return None
        jax = self.jax
        key = (act.name, tuple(sorted(params.items())), kind)
        if key not in self._compiled:
            f = self._fn(act, params)
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
