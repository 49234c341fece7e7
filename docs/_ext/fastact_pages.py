"""Sphinx extension: the pages and figures generated from fastact itself.

At ``builder-inited`` it writes, into the gitignored ``docs/_generated`` and
``docs/activations``:

* one page per registry entry (definition, derivative, the prose of
  ``docs/prose/<name>.rst``, plots of f and f' drawn by :mod:`fastact.plot`,
  properties measured on the function, cost relative to ReLU timed by
  fastact's benchmark, accuracy measured by ``fastact verify``'s metric, the
  PyTorch equivalent);
* the activation index with the measured table;
* the API reference of every public callable, from its numpydoc docstring;
* the figures of the guides.

(The examples' pages are sphinx-gallery's, from ``examples/``.)

A registry entry without prose stops the build: no activation goes
undocumented.  Every number comes from the installed fastact at build time.
"""

from __future__ import annotations

import io
import os

import numpy as np

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # docs/
GEN = os.path.join(HERE, "_generated")
PAGES = os.path.join(HERE, "activations")


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    old = open(path).read() if os.path.exists(path) else None
    if old != text:
        with open(path, "w") as f:
            f.write(text)


# ---- measurements ------------------------------------------------------------------

def _best(fn, repeats=5, min_time=0.02):
    """Best seconds per call: batches of about min_time, repeated (the
    benchmark's own timer)."""
    from fastact.tools.bench import best_time
    return best_time(fn, min_time=min_time * repeats, repeats=repeats)[0]


def costs():
    """Time of each forward relative to ReLU's (n = 10**5, float32, out=, one
    thread: the work per element, not how well the machine's cores are shared
    at the moment).  ReLU is timed again next to each function and the best
    of its times is used, so a busy moment cannot make it look slow."""
    import fastact

    x = np.random.default_rng(0).standard_normal(100_000).astype(np.float32) * 3
    out = np.empty_like(x)
    res, relu = {}, float("inf")
    with fastact.threads(1):
        for act in fastact.ACTIVATIONS.values():
            p = act.typical_params
            relu = min(relu, _best(lambda: fastact.relu(x, out=out)))
            res[act.name] = _best(lambda: act.forward(x, **p, out=out))
    return {k: v / relu for k, v in res.items()}


def properties(act):
    """Shape properties measured on a fine grid of [-50, 50] (and +-inf)."""
    p = act.typical_params
    x = np.linspace(-50, 50, 200_001)
    y = act.forward(x, **p)
    with np.errstate(all="ignore"):
        at_inf = act.forward(np.array([-np.inf, np.inf]), **p)
    lo, hi = min(at_inf.min(), y.min()), max(at_inf.max(), y.max())
    d = np.diff(y)
    rng = np.random.default_rng(1).standard_normal(100_000)
    rtext = f"{_fmt(lo)} to {_fmt(hi)}"
    i = int(np.argmin(y))
    if y[i] < at_inf.min() and 0 < i < y.size - 1:
        rtext += f" (minimum {y[i]:.4g} at x = {x[i]:.4g})"
    return {
        "range": rtext,
        "bounded": "yes" if np.isfinite(lo) and np.isfinite(hi) else
                   ("below" if np.isfinite(lo) else ("above" if np.isfinite(hi) else "no")),
        "monotonic": "yes" if np.all(d >= 0) else "no",
        "smooth": "no (kinks at " + ", ".join(f"{k:g}" for k in act.kinks) + ")"
                  if act.kinks else "yes",
        "zero-centred": _centred(float(np.mean(act.forward(rng, **p)))),
        "sparse output": f"{np.mean(act.forward(rng, **p) == 0):.0%} exact zeros on N(0, 1) input",
    }


def _centred(mean):
    verdict = "yes" if abs(mean) < 0.05 else "no"
    return f"{verdict} (mean output {mean:.3f} on N(0, 1) input)"


def _fmt(v):
    if np.isinf(v):
        return "-∞" if v < 0 else "∞"
    return f"{v:.4g}"


def accuracy(act):
    """Max ULP error: float16 over all inputs, float32 on 2**18 points."""
    from fastact.tools import verify

    p = act.typical_params
    x16 = verify.all_float16()
    x32 = verify.float32_sample(1 << 18)
    rows = []
    for kind in ("forward", "grad", "backward"):
        e16 = verify.measure(act, kind, "float16", x16, p)[0]
        e32 = verify.measure(act, kind, "float32", x32, p)[0]
        rows.append((kind, e16, e32))
    return rows


def gelu_approximation_errors():
    """Max |approximation - exact GELU| over [-10, 10], and where."""
    import fastact

    x = np.linspace(-10, 10, 2_000_001)
    exact = fastact.gelu(x)
    out = {}
    for name in ("gelu_tanh", "gelu_sigmoid"):
        for kind, f, e in (("f", getattr(fastact, name), exact),
                           ("f'", getattr(fastact, name + "_grad"), fastact.gelu_grad(x))):
            diff = np.abs(f(x) - e)
            i = int(np.argmax(diff))
            out[(name, kind)] = (diff[i], x[i])
    return out


# ---- pages -----------------------------------------------------------------------------

def _figure(name, names, derivative, xr, title=None):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import fastact.plot

    fig = fastact.plot.plot(names, derivative=derivative, x=xr)
    if title:
        fig.axes[0].set_title(title)
    path = os.path.join(GEN, name)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def activation_page(act, cost, props, acc, approx):
    prose_path = os.path.join(HERE, "prose", act.name + ".rst")
    if not os.path.exists(prose_path):
        raise RuntimeError(f"docs: activation {act.name!r} has no docs/prose/"
                           f"{act.name}.rst: write its derivation, pros and cons")
    p = act.typical_params
    shown = [(act.name, p)] if act.params else act.name
    lo, hi = act.span
    _figure(f"{act.name}.png", shown, False, (lo, hi), f"{act.name}(x)")
    import fastact.plot  # noqa: F401

    _figure_derivative(act, p, (lo, hi))
    title = f"{act.name}"
    lines = [f".. _act-{act.name}:", "", title, "=" * len(title), "",
             act.summary, "", "Definition", "----------", "", ".. math::", "",
             f"   f(x) = {act.formula}", "", "Derivative", "----------", "",
             ".. math::", "", f"   f'(x) = {act.derivative}", ""]
    if act.params:
        lines += ["Parameters", "----------", ""]
        for q in act.params:
            d = "required" if q.default is None else f"default ``{q.default!r}``"
            lines.append(f"* ``{q.name}`` ({d}): {q.doc}")
        lines.append("")
    lines += ["Where it comes from", "-------------------", "",
              f".. include:: ../prose/{act.name}.rst", ""]
    if act.name in ("gelu_tanh", "gelu_sigmoid"):
        ef, xf = approx[(act.name, "f")]
        ed, xd = approx[(act.name, "f'")]
        lines += ["Distance to the exact GELU", "--------------------------", "",
                  f"Measured at build time on 2,000,001 points of [-10, 10]: "
                  f"max :math:`|f - \\mathrm{{GELU}}|` = {ef:.3g} (at x = {xf:.4g}), "
                  f"max :math:`|f' - \\mathrm{{GELU}}'|` = {ed:.3g} (at x = {xd:.4g}).", ""]
    lines += ["Plots", "-----", "",
              f".. image:: ../_generated/{act.name}.png", f"   :alt: {act.name}(x)", "",
              f".. image:: ../_generated/{act.name}_grad.png",
              f"   :alt: derivative of {act.name}", "",
              "Properties", "----------", "",
              ".. list-table::", "   :widths: 30 70", ""]
    for k, v in props.items():
        lines += [f"   * - {k}", f"     - {v}"]
    lines += [f"   * - cost",
              f"     - {cost:.1f}x ReLU (forward, float32, n = 10\\ :sup:`5`, one "
              f"thread, ``out=``, measured when these pages were built)", ""]
    lines += ["Accuracy", "--------", "",
              "Maximum error in ULP against the exact value rounded to the dtype "
              "(``python -m fastact verify`` measures every dtype, parameter and "
              "kind; float64 against mpmath):", "",
              ".. list-table::", "   :header-rows: 1", "",
              "   * - kind", "     - float16 (all 65,536 inputs)",
              "     - float32 (262,144-point sample)"]
    for kind, e16, e32 in acc:
        lines += [f"   * - {kind}", f"     - {e16:g}", f"     - {e32:g}"]
    lines += ["", "Using it", "--------", "", ".. code-block:: python", "",
              "   import numpy as np, fastact", "   x = np.linspace(-3, 3, 7)"]
    args = "".join(f", {k}={v!r}" for k, v in p.items())
    lines += [f"   y = fastact.{act.name}(x{args})",
              f"   dy = fastact.{act.name}_grad(x{args})",
              f"   gx = fastact.{act.name}_backward(np.ones_like(x), x{args})", ""]
    lines += ["PyTorch equivalent: ``" + act.torch + "``"
              + (f" ({act.torch_note})." if act.torch_note else "."), ""]
    if act.aliases:
        lines += ["Also available as " + ", ".join(f"``fastact.{a}``" for a in act.aliases)
                  + ".", ""]
    lines += ["The one-line NumPy formula people write (what ``verify --compare numpy`` "
              "measures):", "", ".. code-block:: python", "",
              *(f"   {k} = {v}" for k, v in act.constants),
              f"   f  = {act.textbook[0]}", f"   df = {act.textbook[1]}", ""]
    return "\n".join(lines)


def _figure_derivative(act, p, xr):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.6), layout="constrained")
    x = np.linspace(xr[0], xr[1], 1001)
    ax.plot(x, act.grad(x, **p), color="C1", label=f"{act.name}′")
    ax.axhline(0, color="0.6", linewidth=0.6)
    ax.axvline(0, color="0.6", linewidth=0.6)
    ax.set_xlabel("x")
    ax.set_title(f"{act.name}′(x)")
    ax.grid(True, alpha=0.3)
    fig.savefig(os.path.join(GEN, f"{act.name}_grad.png"), dpi=110)
    plt.close(fig)


def index_page(acts, cost_table):
    lines = ["Activations", "===========", "",
             "Every activation in :data:`fastact.ACTIVATIONS`, with its forward, "
             "derivative and fused backward. Cost is the forward's time relative "
             "to ReLU's (float32, n = 10\\ :sup:`5`, one thread, measured when "
             "these pages were built).", "", ".. list-table::", "   :header-rows: 1",
             "   :widths: 20 50 15 15", "", "   * - function", "     - summary",
             "     - cost vs ReLU", "     - parameters"]
    for act in acts:
        lines += [f"   * - :doc:`{act.name}`", f"     - {act.summary}",
                  f"     - {cost_table[act.name]:.1f}x",
                  "     - " + (", ".join(q.name for q in act.params) or "none")]
    lines += ["", ".. toctree::", "   :hidden:", ""]
    lines += [f"   {act.name}" for act in acts]
    return "\n".join(lines) + "\n"


def api_page():
    """``py:function`` entries for every public callable, from its docstring."""
    from sphinx.ext.napoleon import Config
    from sphinx.ext.napoleon.docstring import NumpyDocstring

    import fastact

    config = Config(napoleon_use_param=True, napoleon_use_rtype=True)
    lines = ["API reference", "=============", "",
             ".. module:: fastact", "",
             "Every activation ``name`` has ``name(x)``, ``name_grad(x)`` and "
             "``name_backward(grad_output, x)``. Parameter-free ones are "
             ":class:`numpy.ufunc` objects (``out=``, ``where=``, ``dtype=`` and "
             "broadcasting work as for ``np.exp``); parameterized ones are thin "
             "wrappers over ufuncs with the same keywords.", ""]
    public = [n for n in fastact.__all__ if callable(getattr(fastact, n, None))
              and not isinstance(getattr(fastact, n), type)]
    aliases = set()
    for alias in fastact.ALIASES:
        aliases |= {alias, alias + "_grad", alias + "_backward"}
    for name in public:
        if name in aliases:
            continue
        obj = getattr(fastact, name)
        doc = obj.__doc__ or ""
        body = doc.split("\n", 1)
        summary, rest = body[0], (body[1] if len(body) > 1 else "")
        if isinstance(obj, np.ufunc):
            sig = f"{name}({', '.join(['x' + str(i + 1) for i in range(obj.nin)])}" \
                  ", /, out=None, *, where=True, casting='same_kind', order='K', " \
                  "dtype=None)"
            # a ufunc docstring starts with its signature line: skip it
            if summary.startswith(name + "("):
                body = rest.lstrip("\n").split("\n", 1)
                summary, rest = body[0], (body[1] if len(body) > 1 else "")
        else:
            import inspect

            sig = name + str(inspect.signature(obj))
        text = str(NumpyDocstring(summary + "\n" + rest, config))
        lines += [f".. py:function:: {sig}", ""]
        lines += [("   " + ln) if ln.strip() else "" for ln in text.splitlines()]
        lines.append("")
    lines += ["Aliases: " + ", ".join(
        f"``{a}`` = ``{t}``" for a, t in fastact.ALIASES.items()) + " (with their "
        "``_grad`` and ``_backward``).", "",
        ".. py:data:: ACTIVATIONS", "",
        "   The registry: a read-only mapping from name to "
        "``fastact._registry.Activation``.", ""]
    return "\n".join(lines)


# ---- guide figures -------------------------------------------------------------------

def gradient_figures():
    """Product of derivative magnitudes through depth, and dead ReLU units."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import fastact

    rng = np.random.default_rng(0)
    depth, width = 50, 256
    fig, ax = plt.subplots(figsize=(6.4, 4), layout="constrained")
    for name in ("sigmoid", "tanh", "relu", "gelu", "silu", "selu"):
        act = fastact.ACTIVATIONS[name]
        h = rng.standard_normal((512, width))
        logprod = np.zeros(512)
        curve = []
        for _ in range(depth):
            w = rng.standard_normal((width, width)) / np.sqrt(width)
            z = h @ w
            # one path through the network: the derivative of a random unit
            logprod += np.log10(np.abs(act.grad(z[:, 0])) + 1e-300)
            curve.append(np.median(logprod))
            h = act.forward(z)
        ax.plot(np.arange(1, depth + 1), curve, label=name)
    ax.set_xlabel("depth (layers)")
    ax.set_ylabel("median log10 |∏ f′(z)| along a path")
    ax.grid(True, alpha=0.3)
    ax.legend(frameon=False)
    fig.savefig(os.path.join(GEN, "gradients_depth.png"), dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6.4, 3.6), layout="constrained")
    for shift in (0.0, -1.0, -2.0):
        z = rng.standard_normal((10_000, 64)) + shift
        dead = np.mean(np.all(fastact.relu_grad(z) == 0, axis=0))
        frac = np.mean(fastact.relu_grad(z) == 0, axis=0)
        ax.hist(frac, bins=30, alpha=0.6,
                label=f"pre-activation mean {shift:g} ({dead:.0%} units dead)")
    ax.set_xlabel("fraction of inputs for which a ReLU unit passes no gradient")
    ax.set_ylabel("units")
    ax.legend(frameon=False, fontsize=8)
    fig.savefig(os.path.join(GEN, "dying_relu.png"), dpi=110)
    plt.close(fig)


def choosing_figure():
    """The decision flow of the choosing guide, drawn with matplotlib."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    boxes = {
        "start": (0.5, 0.93, "What does the layer need?"),
        "prob": (0.14, 0.72, "a probability or a gate?\n→ sigmoid (gates: LSTM)\n"
                             "→ log_sigmoid in losses"),
        "bounded": (0.5, 0.72, "bounded, zero-centred\n(recurrent state)?\n→ tanh"),
        "hidden": (0.86, 0.72, "a hidden layer of a\ndeep network?"),
        "cost": (0.62, 0.46, "cost matters most\n(phones, int8)?\n→ relu, relu6,\n"
                             "hard_swish, hard_sigmoid"),
        "smooth": (0.86, 0.2, "smooth & best accuracy?\n→ gelu (transformers)\n"
                              "→ silu (conv nets, LLM MLPs)\n→ mish"),
        "dead": (0.3, 0.2, "dying units with ReLU?\n→ leaky_relu, prelu, elu"),
        "mlp": (0.3, 0.46, "deep MLP, no\nnormalization layers?\n→ selu"),
    }
    arrows = [("start", "prob"), ("start", "bounded"), ("start", "hidden"),
              ("hidden", "cost"), ("hidden", "smooth"), ("hidden", "mlp"),
              ("cost", "dead")]
    fig, ax = plt.subplots(figsize=(8, 5.6), layout="constrained")
    ax.set_axis_off()
    for a, b in arrows:
        (x0, y0, _), (x1, y1, _) = boxes[a], boxes[b]
        ax.annotate("", xy=(x1, y1 + 0.06), xytext=(x0, y0 - 0.06),
                    arrowprops=dict(arrowstyle="->", color="0.4"))
    for key, (x, y, text) in boxes.items():
        ax.text(x, y, text, ha="center", va="center", fontsize=9,
                bbox=dict(boxstyle="round,pad=0.4", fc="#eef4fb" if key != "start"
                          else "#fde9c8", ec="0.5"))
    ax.set_xlim(0, 1)
    ax.set_ylim(0.05, 1.0)
    fig.savefig(os.path.join(GEN, "choosing.png"), dpi=110)
    plt.close(fig)


def comparison_figure():
    names = ["relu", "gelu", "silu", "mish", "elu"]
    _figure("comparison.png", names, False, (-4, 3), "candidates for a hidden layer")
    _figure("comparison_grad.png", names, True, (-4, 3), "…and their derivatives")


def stability_table():
    """The textbook NumPy formula against fastact and mpmath at tail points
    (float64)."""
    import mpmath
    from scipy.special import erf

    import fastact

    mpmath.mp.dps = 40
    cases = [
        ("gelu", "forward", -10.0), ("gelu", "forward", -30.0),
        ("sigmoid", "grad", 40.0), ("tanh", "grad", 20.0),
        ("softplus", "forward", 800.0), ("softplus", "forward", -40.0),
        ("mish", "forward", -40.0), ("elu", "forward", -1e-10),
        ("gelu_tanh", "grad", 1e160), ("log_sigmoid", "forward", 40.0),
    ]
    from fastact.tools.mpref import functions
    exact = {(name, kind): functions(mpmath, fastact.ACTIVATIONS[name])[kind == "grad"]
             for name, kind, _ in cases}
    rows = []
    for name, kind, x in cases:
        act = fastact.ACTIVATIONS[name]
        xs = np.array([x])
        with np.errstate(all="ignore"):
            book = float(eval(act.textbook[0 if kind == "forward" else 1],
                              {"np": np, "erf": erf, "x": xs, **act.constant_values,
                               **act.typical_params})[0])
        f = act.forward if kind == "forward" else act.grad
        ours = float(f(xs, **act.typical_params)[0])
        ref = float(exact[(name, kind)](mpmath.mpf(x)))
        rows.append((f"{name}{'′' if kind == 'grad' else ''}({x:g})", ref, ours, book))
    lines = [".. list-table::", "   :header-rows: 1", "",
             "   * - value", "     - exact (mpmath, 40 digits)", "     - fastact",
             "     - textbook NumPy formula"]
    for label, ref, ours, book in rows:
        lines += [f"   * - {label}", f"     - {ref:.10g}", f"     - {ours:.10g}",
                  f"     - {book:.10g}"]
    return "\n".join(lines) + "\n"


# ---- Sphinx hook ---------------------------------------------------------------------

def generate(app=None):
    import fastact

    os.makedirs(GEN, exist_ok=True)
    acts = list(fastact.ACTIVATIONS.values())
    missing = [a.name for a in acts
               if not os.path.exists(os.path.join(HERE, "prose", a.name + ".rst"))]
    if missing:
        raise RuntimeError(f"docs: no docs/prose/<name>.rst for {missing}")
    cost_table = costs()
    approx = gelu_approximation_errors()
    for act in acts:
        _write(os.path.join(PAGES, act.name + ".rst"),
               activation_page(act, cost_table[act.name], properties(act),
                               accuracy(act), approx))
    _write(os.path.join(PAGES, "index.rst"), index_page(acts, cost_table))
    _write(os.path.join(GEN, "api.rst"), api_page())
    _write(os.path.join(GEN, "stability_table.rst"), stability_table())
    gradient_figures()
    choosing_figure()
    comparison_figure()


def setup(app):
    app.connect("builder-inited", generate)
    return {"version": "1", "parallel_read_safe": True}
