"""``python -m fastact verify``: the table, its comparisons and its errors."""

import numpy as np
import pytest

import fastact
from fastact import ACTIVATIONS
from fastact.tools import verify

ACTS = list(ACTIVATIONS.values())


def test_verify_prints_the_table_and_passes(capsys):
    rc = verify.main(["--only", "relu,gelu,softplus", "--dtypes", "float16",
                      "--kinds", "forward,grad,backward", "--no-progress",
                      "--compare", "numpy"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "numpy max ULP" in out and "FAIL" not in out
    # softplus at its default and two other betas, 3 kinds; relu, gelu: 3 kinds
    assert "15 of 15 cells within their bound" in out


def test_verify_rejects_unknown_names(capsys):
    with pytest.raises(SystemExit) as exc:
        verify.main(["--only", "gelu,nosuch"])
    assert exc.value.code == 2
    assert "nosuch" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="unknown comparison"):
        verify.run(only=["relu"], dtypes=("float16",), compare=("matlab",))


@pytest.mark.peers
@pytest.mark.parametrize("peer", ["torch", "jax"])
def test_verify_measures_a_peer_on_the_same_points(peer, capsys):
    """--compare torch / jax: the peer's column is measured, not echoed.  JAX
    (XLA on the CPU) flushes subnormal results to zero, so its elu of the
    largest subnormal float32 is off by millions of ULP, and PyTorch's float32
    sigmoid loses its left tail; fastact's own cells still pass."""
    pytest.importorskip(peer)
    name = {"torch": "sigmoid", "jax": "elu"}[peer]
    rc = verify.main(["--only", name, "--dtypes", "float32,float16", "--kinds",
                      "forward", "--defaults-only", "--no-progress", "--compare", peer])
    out = capsys.readouterr().out
    assert rc == 0 and f"{peer} max ULP" in out
    rows = [line.split() for line in out.splitlines() if line.strip().startswith(name)]
    by_dtype = {r[r.index("forward") + 1]: r for r in rows}
    f32 = by_dtype["float32"]
    assert float(f32[f32.index("pass") + 1]) > 1e5     # the peer's max ULP
    f16 = by_dtype["float16"]
    assert f16[f16.index("pass") + 1] == "-"            # no float16 loop compared


@pytest.mark.parametrize("act", ACTS, ids=[a.name for a in ACTS])
def test_textbook_formula_is_the_same_function(act):
    """The registry's one-line NumPy formulas (what verify --compare numpy
    measures) are the activation where they do not fail: in the body, in
    float64, they agree with fastact to a few ULP."""
    x = np.linspace(-4, 4, 4001)
    x = x[np.min(np.abs(x[:, None] - np.asarray(act.kinks or (99.0,))), axis=1) > 1e-3]
    g = np.full_like(x, 0.5)
    for params in act.param_sets():
        for kind in ("forward", "grad", "backward"):
            got = verify.textbook(act, kind, x, g, params)
            want = verify._fastact_call(act, kind, x, g, params)
            np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15,
                                       err_msg=f"{act.name} {kind} {params}")


def test_textbook_formulas_lose_the_tails_that_fastact_keeps():
    """The failures the comparison exists to show (functions.md)."""
    x = np.array([40.0], dtype=np.float32)
    sig = ACTIVATIONS["sigmoid"]
    assert verify.textbook(sig, "grad", x, None, {})[0] == 0      # 1 - 1 = 0
    assert fastact.sigmoid_grad(x)[0] > 0                          # sigma(x) sigma(-x)
    others = {"numpy": verify.textbook}
    err, worst, n = verify.measure(sig, "grad", np.float32, x, {}, others=others)
    assert err == 0 and n == 1
    assert others["numpy"][0] > 1e6   # every digit lost
    gelu = ACTIVATIONS["gelu"]
    x = np.array([-10.0])
    assert verify.textbook(gelu, "forward", x, None, {})[0] == 0  # 1 + erf(-7.07) = 0
    assert fastact.gelu(x)[0] == pytest.approx(-7.619853024160527e-23, rel=1e-15)


def test_exhaustive_sweep_takes_the_kinds_and_parameters_asked_for(monkeypatch, capsys):
    """--kinds and --defaults-only reach the sweep (a cell takes a minute, so
    the sweep itself is replaced by a recorder)."""
    seen = {}

    def fake(only=None, kinds=(), progress=True, on_row=None, all_params=True, **kw):
        seen.update(only=only, kinds=kinds, all_params=all_params)
        return [], 0.0

    monkeypatch.setattr(verify, "exhaustive_float32", fake)
    verify.main(["--exhaustive", "--only", "elu", "--kinds", "grad,backward",
                 "--defaults-only", "--no-progress"])
    assert seen == {"only": ["elu"], "kinds": ("grad",), "all_params": False}
    verify.main(["--exhaustive", "--only", "elu", "--no-progress"])
    assert seen["kinds"] == ("forward", "grad") and seen["all_params"] is True
