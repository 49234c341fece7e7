"""The registry is the one source of truth: it names exactly the required set,
and every name it lists exists publicly in every kind and dtype."""

import numpy as np
import pytest

import fastact
from fastact import ACTIVATIONS, ALIASES
from helpers import run_code

REQUIRED = {
    "relu", "relu6", "leaky_relu", "prelu", "elu", "selu", "celu", "sigmoid",
    "log_sigmoid", "hard_sigmoid", "tanh", "hard_tanh", "softsign", "softplus",
    "silu", "hard_swish", "mish", "gelu", "gelu_tanh", "gelu_sigmoid",
}


def test_registry_names_the_required_set():
    assert set(ACTIVATIONS) == REQUIRED
    assert ALIASES["swish"] == "silu"


def test_registry_is_read_only():
    with pytest.raises(TypeError):
        ACTIVATIONS["relu"] = None  # type: ignore[index]


def test_spec_fields(act):
    assert act.formula and act.derivative and act.summary and act.torch
    f, d = act.reference
    assert callable(f) and callable(d)
    for k in act.kinks:
        assert np.isfinite(k)
    assert act.forward is getattr(fastact, act.name)
    assert act.grad is getattr(fastact, act.name + "_grad")
    assert act.backward is getattr(fastact, act.name + "_backward")
    assert set(act.float32) <= {"forward", "grad", "backward"}
    # a float32 backward kernel of its own is one the float32 loop calls
    assert not act.float32_backward_kernel or "backward" in act.float32


def _free_names(expr):
    import ast
    return {n.id for n in ast.walk(ast.parse(expr, mode="eval"))
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


@pytest.mark.parametrize("field, allowed", [
    ("textbook", {"np", "erf", "x"}),
    ("mpmath", {"mp", "x", "sig", "min", "max", "abs"}),
    ("jax", {"jax", "jnp", "nn", "x"}),
    ("torch", {"torch", "x"}),
    ("aten", {"torch", "x", "g", "s"}),
    ("aten_saved", {"torch", "x"}),
])
def test_expressions_read_only_their_names(act, field, allowed):
    """The registry's expressions (what the tools evaluate) parse and read
    only the names their evaluators provide: the parameters, the constants
    and those of the field (ATen calls may also name ATen operators)."""
    exprs = getattr(act, field)
    exprs = (exprs,) if isinstance(exprs, str) else exprs
    if field in ("textbook", "mpmath", "jax", "torch"):
        assert all(exprs), f"{act.name}: {field} missing"
    known = allowed | set(act.param_names) | set(act.constant_values)
    for e in filter(None, exprs):
        names = _free_names(e)
        if field.startswith("aten"):
            # a call's function names an ATen operator
            import ast
            ops = {n.func.id for n in ast.walk(ast.parse(e, mode="eval"))
                   if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
            names -= ops
        assert names <= known, f"{act.name}.{field}: unknown {names - known}"
    # a backward that reads the forward's saved value names how to get it
    assert "s" not in _free_names(act.aten[1] or "0") or act.aten_saved


def test_public_names_for_every_kind(act, kind):
    name = act.callable_name(kind)
    f = getattr(fastact, name)
    assert name in fastact.__all__
    if act.params:
        assert callable(f) and isinstance(f.ufunc, np.ufunc)
        uf = f.ufunc
    else:
        assert isinstance(f, np.ufunc)
        uf = f
    nin = (2 if kind == "backward" else 1) + len(act.params)
    assert uf.nin == nin and uf.nout == 1
    assert uf.__name__ == name
    p = "d" * len(act.params)
    v = 2 if kind == "backward" else 1
    assert uf.types == [c * v + p + "->" + c for c in "efd"]


def test_aliases_are_the_same_objects():
    for alias, target in ALIASES.items():
        for suffix in ("", "_grad", "_backward"):
            assert getattr(fastact, alias + suffix) is getattr(fastact, target + suffix)


def test_prelu_weight_backward_is_a_ufunc():
    assert isinstance(fastact.prelu_weight_backward, np.ufunc)
    g = np.array([1.0, 2.0, 3.0])
    x = np.array([-2.0, 0.5, -0.25])
    np.testing.assert_array_equal(fastact.prelu_weight_backward(g, x),
                                  g * np.minimum(x, 0))


def test_docstrings(act, kind):
    f = getattr(fastact, act.callable_name(kind))
    doc = f.__doc__
    for section in ("Parameters", "Returns", "Examples", "out"):
        assert section in doc


def test_import_fastact_loads_no_tool_and_no_peer(tmp_path):
    """The tools (bench, verify, profile, peers, mpref) live in fastact.tools
    and load only when asked for; the library needs NumPy alone."""
    code = ("import sys, fastact; fastact.gelu(1.0); "
            "print(' '.join(sorted(m for m in sys.modules if m.startswith("
            "('fastact.tools', 'mpmath', 'torch', 'jax', 'scipy')))))")
    r = run_code(code, cwd=tmp_path, check=True)
    assert r.stdout.split() == []
    import fastact.tools.bench  # noqa: F401  (and they do load)


def test_param_sets_start_with_the_typical_values(act):
    sets = act.param_sets()
    assert sets[0] == act.typical_params == act.param_sets(samples=False)[0]
    assert len(act.param_sets(samples=False)) == 1
    assert len(sets) == 1 + sum(len([s for s in p.samples if s != p.typical])
                                for p in act.params)
    assert all(set(s) == set(act.param_names) for s in sets)
