"""Plots of activations and their derivatives (needs matplotlib: the ``plot``
extra, ``pip install 'fastact[plot]'``).

>>> import fastact.plot
>>> fig = fastact.plot.plot(["gelu", "relu", ("leaky_relu", {"negative_slope": 0.1})],
...                         derivative=True)
>>> fig.savefig("activations.png")      # doctest: +SKIP

From the command line::

    python -m fastact plot gelu relu silu --derivative -o activations.png
    python -m fastact plot leaky_relu:negative_slope=0.1 elu:alpha=2 -o elu.svg
"""

from __future__ import annotations

import argparse

import numpy as np

from ._registry import ACTIVATIONS, ALIASES

__all__ = ["plot", "main"]


def _pyplot(backend=None):
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError("fastact.plot needs matplotlib: install the 'plot' extra "
                          "(pip install 'fastact[plot]')") from exc
    if backend:
        matplotlib.use(backend)
    import matplotlib.pyplot as plt

    return plt


def _spec(item):
    """(Activation, params dict, label) from a name or (name, params)."""
    if isinstance(item, str):
        name, params = item, {}
    else:
        try:
            name, params = item
        except (TypeError, ValueError):
            raise TypeError("fastact.plot: each function is a name or a (name, "
                            f"params) pair, got {item!r}") from None
        params = dict(params)
    name = ALIASES.get(name, name)
    if name not in ACTIVATIONS:
        raise ValueError(f"fastact.plot: unknown activation {name!r}; known: "
                         f"{', '.join(ACTIVATIONS)}")
    act = ACTIVATIONS[name]
    unknown = set(params) - set(act.param_names)
    if unknown:
        raise ValueError(f"fastact.plot: {name} has no parameter(s) {sorted(unknown)}; "
                         f"it takes {list(act.param_names) or 'none'}")
    full = act.typical_params
    full.update(params)
    label = name
    if params:
        label += "(" + ", ".join(f"{k}={v:g}" for k, v in params.items()) + ")"
    elif any(p.default is None for p in act.params):
        label += "(" + ", ".join(f"{k}={v:g}" for k, v in full.items()) + ")"
    return act, full, label


def plot(names, derivative=False, x=(-5, 5), ax=None, num=1001, **kwargs):
    """Draw activations (and their derivatives) on one axes.

    Parameters
    ----------
    names : str, (str, dict) or a list of them
        Activation names (or aliases) from :data:`fastact.ACTIVATIONS`; a
        ``(name, params)`` pair sets parameters, e.g.
        ``("leaky_relu", {"negative_slope": 0.1})``.
    derivative : bool
        Also draw each derivative f'(x), dashed, in the same colour.
    x : (float, float) or array_like
        The interval to draw (``num`` evenly spaced points), or the points.
    ax : matplotlib.axes.Axes, optional
        Draw into these axes; by default a new figure is made.
    num : int
        Number of points when ``x`` is an interval.
    **kwargs
        Passed to every :meth:`~matplotlib.axes.Axes.plot` call (``linewidth``,
        ``alpha``...).

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the axes.

    Raises
    ------
    ImportError
        If matplotlib is not installed (the ``plot`` extra).
    ValueError
        For an unknown activation or parameter.
    """
    single = isinstance(names, str) or (
        isinstance(names, tuple) and len(names) == 2 and isinstance(names[1], dict))
    specs = [_spec(n) for n in ([names] if single else names)]
    plt = _pyplot()
    xs = np.asarray(x, dtype=np.float64)
    if xs.shape == (2,):
        xs = np.linspace(xs[0], xs[1], num)
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    else:
        fig = ax.figure
    for act, params, label in specs:
        (line,) = ax.plot(xs, act.forward(xs, **params), label=label, **kwargs)
        if derivative:
            ax.plot(xs, act.grad(xs, **params), linestyle="--", color=line.get_color(),
                    label=f"{label}′", **kwargs)
    ax.axhline(0, color="0.6", linewidth=0.6, zorder=0)
    ax.axvline(0, color="0.6", linewidth=0.6, zorder=0)
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)" + (", f′(x) (dashed)" if derivative else ""))
    ax.grid(True, alpha=0.3)
    ax.legend(frameon=False)
    return fig


def _parse_name(text):
    """``name`` or ``name:p=v,q=w`` -> (name, params)."""
    name, _, rest = text.partition(":")
    params = {}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        if not eq:
            raise argparse.ArgumentTypeError(f"expected name:param=value, got {text!r}")
        try:
            params[key.strip()] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{key}={value!r} is not a number") from None
    return (name, params) if params else name


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m fastact plot",
        description="Draw activations (and derivatives) into an image file.")
    p.add_argument("names", nargs="+", type=_parse_name,
                   help="activation names; name:param=value,... sets parameters")
    p.add_argument("--derivative", action="store_true", help="also draw f'(x), dashed")
    p.add_argument("--x", nargs=2, type=float, default=(-5.0, 5.0), metavar=("LO", "HI"),
                   help="interval to draw (default -5 5)")
    p.add_argument("-o", "--output", default="activations.png",
                   help="image file; PNG, SVG or PDF by its extension")
    p.add_argument("--dpi", type=int, default=150)
    a = p.parse_args(argv)
    plt = _pyplot("Agg")
    try:
        fig = plot(a.names, derivative=a.derivative, x=tuple(a.x))
    except ValueError as exc:
        p.error(str(exc))
    fig.savefig(a.output, dpi=a.dpi)
    plt.close(fig)
    print(a.output)
    return 0
