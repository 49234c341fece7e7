"""fastact.plot and ``python -m fastact plot``."""

import os
import sys

import numpy as np
import pytest

import fastact
from helpers import run_python

matplotlib = pytest.importorskip("matplotlib")   # in the test extra
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import fastact.plot  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_lines_are_fastact_values():
    fig = fastact.plot.plot(["gelu", "relu"], x=(-3, 3), num=301)
    ax = fig.axes[0]
    lines = [ln for ln in ax.get_lines() if ln.get_label() in ("gelu", "relu")]
    assert [ln.get_label() for ln in lines] == ["gelu", "relu"]
    x = np.linspace(-3, 3, 301)
    np.testing.assert_array_equal(lines[0].get_xdata(), x)
    np.testing.assert_array_equal(lines[0].get_ydata(), fastact.gelu(x))
    np.testing.assert_array_equal(lines[1].get_ydata(), fastact.relu(x))


def test_derivative_parameters_and_aliases():
    fig = fastact.plot.plot([("leaky_relu", {"negative_slope": 0.1}), "swish"],
                            derivative=True, x=np.array([-2.0, -1.0, 1.0]))
    by_label = {ln.get_label(): ln for ln in fig.axes[0].get_lines()}
    x = np.array([-2.0, -1.0, 1.0])
    f = by_label["leaky_relu(negative_slope=0.1)"]
    d = by_label["leaky_relu(negative_slope=0.1)′"]
    np.testing.assert_array_equal(f.get_ydata(), [-0.2, -0.1, 1.0])
    np.testing.assert_array_equal(d.get_ydata(), [0.1, 0.1, 1.0])
    assert d.get_linestyle() == "--" and d.get_color() == f.get_color()
    np.testing.assert_array_equal(by_label["silu′"].get_ydata(), fastact.silu_grad(x))


def test_single_pair_and_given_axes():
    fig, ax = plt.subplots()
    out = fastact.plot.plot(("elu", {"alpha": 2.0}), ax=ax, linewidth=3)
    assert out is fig
    (line,) = [ln for ln in ax.get_lines() if ln.get_label().startswith("elu")]
    assert line.get_linewidth() == 3
    assert line.get_ydata()[0] == pytest.approx(2.0 * np.expm1(-5.0))
    # prelu has no default weight: the plot names the one it used
    labels = [ln.get_label() for ln in fastact.plot.plot("prelu").axes[0].get_lines()]
    assert "prelu(weight=0.25)" in labels


def test_errors():
    with pytest.raises(ValueError, match="unknown activation 'nosuch'"):
        fastact.plot.plot(["gelu", "nosuch"])
    with pytest.raises(ValueError, match="no parameter"):
        fastact.plot.plot(("gelu", {"alpha": 1.0}))
    with pytest.raises(TypeError):
        fastact.plot.plot([42])


def test_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)   # import fails
    with pytest.raises(ImportError, match=r"fastact\[plot\]"):
        fastact.plot.plot("relu")


@pytest.mark.parametrize("ext,magic", [("png", b"\x89PNG"), ("svg", b"<?xml"),
                                       ("pdf", b"%PDF")])
def test_command_line_writes_each_format(tmp_path, ext, magic):
    out = tmp_path / f"act.{ext}"
    r = run_python("-m", "fastact", "plot", "gelu", "relu",
                   "leaky_relu:negative_slope=0.1", "--derivative", "--x", "-3", "3",
                   "-o", out, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert out.read_bytes()[:len(magic)] == magic


def test_command_line_rejects_unknown_names(tmp_path):
    r = run_python("-m", "fastact", "plot", "nosuch", "-o", tmp_path / "x.png",
                   cwd=tmp_path)
    assert r.returncode == 2 and "unknown activation" in r.stderr
    assert not os.path.exists(tmp_path / "x.png")
