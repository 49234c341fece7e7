"""Generate ``fastact/_ufuncs_<level>.pyx`` from the registry.

Run by ``setup.py`` at build time, once per instruction-set level (the output,
``fastact/_ufuncs_<level>.pyx``, is a build product, not committed), or by hand:
``python fastact/_codegen.py baseline avx2`` writes the files next to this one.

What every module shares (the runtime's declarations, the Python-level thread
and streaming controls, ``_make_ufunc``) is plain Cython in
``fastact/_ufuncs_runtime.pxi``, which the generated module includes after its
directives and ``SIMD_LEVEL``; this script writes only what varies by level and
by function: the kernels' declarations and, for every ufunc derived from
``fastact/_registry.py`` and every dtype (float16, float32, float64):

* ``_run_<ufunc>_<t>``: a typed ``nogil`` loop over one contiguous or strided
  run, calling the scalar kernel from ``src/fa_kernels.h`` (inlined, so the
  contiguous branch vectorizes), or for float32, where the registry entry
  lists the kind in ``float32``, the float32 kernel from ``src/fa_kernels32.h``;
* ``_chunk_<ufunc>_<t>`` (memory-bound functions only): one thread's share of
  a run; when the call moves more bytes than the caches hold into an output
  already in memory, it computes blocks into a stack buffer and writes them
  out with streaming stores (``fa_nt_store`` in ``src/fa_runtime.h``),
  otherwise it is ``_run_`` itself;
* ``_span_<ufunc>_<t>``: elements ``[lo, lo + cnt)`` of a NumPy call;
* ``_loop_<ufunc>_<t>``: the NumPy inner loop, which hands its span function
  to ``fa_drive`` (``src/fa_runtime.h``): serial below the function's
  threshold, otherwise in chunks over OpenMP threads.

Only the standard library is used here, so setup.py can run it before NumPy or
Cython are importable.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass, replace

HERE = os.path.dirname(os.path.abspath(__file__))

#: the kernels' compile flags (setup.py builds with them, and so does the test
#: that compiles the kernels at several optimization levels): never
#: -ffast-math, never -march=native (see setup.py)
BASE_FLAGS = ["-O3", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off",
              "-Wno-unused-function", "-Wno-unreachable-code"]

#: instruction-set levels compiled on x86-64; the import picks the best one the
#: CPU has (fastact/_ufuncs.py).  The baseline uses the compiler's default
#: target, so the package also builds where these flags do not exist.
SIMD_LEVELS = {
    "baseline": [],
    "avx2": ["-march=x86-64-v3"],
    "avx512": ["-march=x86-64-v4", "-mprefer-vector-width=512"],
}

#: dtype char -> (NumPy type number name, C element type, load, store)
DTYPES = {
    "e": ("NPY_FLOAT16", "npy_uint16", "fa_h2d({})", "fa_d2h({})"),
    "f": ("NPY_FLOAT", "float", "<double>({})", "<float>({})"),
    "d": ("NPY_DOUBLE", "double", "({})", "({})"),
}

#: below this many elements a loop runs serially (one OpenMP region costs a few
#: microseconds; NumPy hands casted inputs over in 8192-element buffers, which
#: must stay serial)
THRESHOLD_CHEAP = 1 << 16
THRESHOLD_TRANSCENDENTAL = 1 << 14
#: the float32 vector kernels cost 0.3-0.6 ns an element, as little as the
#: cheap functions: below 2^16 elements (30 us) a call is over before a worker
#: woken from sleep (tens of microseconds) can take a chunk
THRESHOLD_VECTOR32 = 1 << 16

#: dtype char -> bytes an element
ITEMSIZE = {"e": 2, "f": 4, "d": 8}

#: the stack buffer a block is computed into before its streaming store (it
#: stays in L1 next to the inputs' lines)
NT_BLOCK_BYTES = 4096


@dataclass(frozen=True)
class UfuncSpec:
    name: str
    #: input names, in order; those in ``params`` are float64 parameters
    inputs: tuple[str, ...]
    params: tuple[str, ...]
    expr: str
    threshold: int
    summary: str
    #: the expression for float32 with float32 kernels (fa_kernels32.h), whose
    #: value inputs are float; "" means float32 widens to double and uses expr
    expr32: str = ""
    #: whether large calls write their output with streaming stores: worth it
    #: when the loop waits on memory (1.1-1.3x), a loss of 5-13% when it waits
    #: on arithmetic (the transcendental functions, measured)
    stream: bool = True
    #: the name NumPy reports (errors, repr, duck-array dispatch); "" means
    #: ``name``.  The ufuncs at default parameters carry their public name.
    ufunc_name: str = ""
    #: the registry entry the ufunc comes from ("" for the roofline loops)
    activation: str = ""
    #: the float32 run is this array function of src/fa_kernels32v.h (vector
    #: kernels in single precision; Activation.float32_vector), "" if none.
    #: With ``params``, only when they are one value each, equal to
    #: ``vec32_at`` (the defaults the kernel has built in)
    vec32: str = ""
    vec32_at: tuple[float, ...] = ()

    @property
    def nin(self) -> int:
        return len(self.inputs)

    def threshold_for(self, t: str) -> int:
        """The serial threshold of the loop for dtype char t: float16 and
        float32 runs of a vector kernel are as cheap as the cheap functions."""
        if t in "ef" and self.vec32 and not self.params:
            return max(self.threshold, THRESHOLD_VECTOR32)
        return self.threshold


def load_registry():
    path = os.path.join(HERE, "_registry.py")
    spec = importlib.util.spec_from_file_location("_fastact_registry", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look the module up
    spec.loader.exec_module(mod)
    return mod


def ufunc_specs(registry=None) -> list[UfuncSpec]:
    reg = registry or load_registry()
    out = []
    for act in reg.ACTIVATIONS.values():
        params = act.param_names
        thr = THRESHOLD_TRANSCENDENTAL if act.transcendental else THRESHOLD_CHEAP
        args = ", ".join(("x",) + params)
        def k32(kind, expr):
            if kind not in act.float32:
                return ""
            if kind == "backward" and act.float32_backward_kernel:
                return f"fa32_{act.name}_backward(grad_output, {args})"
            return expr.replace("fa_", "fa32_")
        def v32(kind):
            return "fa32v_" + act.callable_name(kind) if kind in act.float32_vector else ""
        fwd = f"fa_{act.name}({args})"
        grad = f"fa_{act.name}_grad({args})"
        bwd = f"grad_output * {grad}"
        stream = not act.transcendental
        at = tuple(float(p.default) for p in act.params) if act.float32_vector else ()
        out.append(UfuncSpec(act.name, ("x",) + params, params, fwd, thr,
                             act.summary, k32("forward", fwd), stream,
                             activation=act.name, vec32=v32("forward"), vec32_at=at))
        out.append(UfuncSpec(act.name + "_grad", ("x",) + params, params, grad, thr,
                             f"Derivative of {act.name}.", k32("grad", grad), stream,
                             activation=act.name, vec32=v32("grad"), vec32_at=at))
        out.append(UfuncSpec(act.name + "_backward", ("grad_output", "x") + params,
                             params, bwd, thr, f"Backward pass of {act.name}.",
                             k32("backward", bwd), stream, activation=act.name,
                             vec32=v32("backward"), vec32_at=at))
        if act.has_defaults:
            # the same at PyTorch's default parameters, baked in: the wrappers
            # call these when no parameter is given (one operand fewer for
            # NumPy to broadcast: about 0.5 us less a call here)
            lits = ", ".join(["x"] + [repr(float(p.default)) for p in act.params])
            for spec in out[-3:]:
                expr = spec.expr.replace(args, lits)
                out.append(replace(
                    spec, name="_default_" + spec.name,
                    inputs=tuple(i for i in spec.inputs if i not in params), params=(),
                    expr=expr, expr32=spec.expr32.replace(args, lits),
                    summary=f"{spec.name} at PyTorch's default parameters.",
                    ufunc_name=spec.name))
                assert args not in expr
        for name, inputs, expr, summary in act.extras:
            used = tuple(i for i in inputs if i in params)
            out.append(UfuncSpec(name, tuple(inputs), used, expr, thr, summary,
                                 stream=stream, activation=act.name))
    out.extend(ROOFLINE)
    return out


#: not activations: a copy and an add through the same loops and threads, the
#: memory roofline the benchmark compares every kernel with (same bytes moved,
#: no arithmetic to speak of; float32 stays float, as NumPy's own copy and add)
ROOFLINE = (
    UfuncSpec("_stream_copy", ("x",), (), "x", THRESHOLD_CHEAP,
              "Copy x through fastact's loops (the one-input roofline).", expr32="x"),
    UfuncSpec("_stream_add", ("grad_output", "x"), (), "grad_output + x",
              THRESHOLD_CHEAP,
              "grad_output + x through fastact's loops (the two-input roofline).",
              expr32="grad_output + x"),
)


def _kernel_decls(reg) -> list[str]:
    lines = ["    double fa_minz(double) noexcept nogil"]
    for act in reg.ACTIVATIONS.values():
        sig = ", ".join(["double"] * (1 + len(act.params)))
        lines.append(f"    double fa_{act.name}({sig}) noexcept nogil")
        lines.append(f"    double fa_{act.name}_grad({sig}) noexcept nogil")
    lines.append("")
    lines.append('cdef extern from "fa_kernels32.h":')
    for act in reg.ACTIVATIONS.values():
        if act.float32:
            sig = ", ".join(["float"] + ["double"] * len(act.params))
            lines.append(f"    float fa32_{act.name}({sig}) noexcept nogil")
            lines.append(f"    float fa32_{act.name}_grad({sig}) noexcept nogil")
        if act.float32_backward_kernel:
            sig = ", ".join(["float", "float"] + ["double"] * len(act.params))
            lines.append(f"    float fa32_{act.name}_backward({sig}) noexcept nogil")
    # the vector kernels' loops, instantiated for the kinds the registry names
    # (src/fa_kernels32v.h: FA32V_UNARY for forward and grad, FA32V_BACKWARD)
    inst, decls = [], []
    for act in reg.ACTIVATIONS.values():
        assert not act.float32_vector or all(p.default is not None for p in act.params)
        at = "".join(f", {float(p.default)!r}" for p in act.params) if act.float32_vector else ""
        for kind in act.float32_vector:
            fn = act.callable_name(kind)
            if kind == "backward":
                inst.append(f"    FA32V_BACKWARD({act.name}{at})")
                decls.append(f"    void fa32v_{fn}(char *, npy_intp, char *, npy_intp, "
                             "char *, npy_intp, npy_intp) noexcept nogil")
            else:
                inst.append(f"    FA32V_UNARY({fn}{at})")
                decls.append(f"    void fa32v_{fn}(char *, npy_intp, char *, npy_intp, "
                             "npy_intp) noexcept nogil")
    lines += ["", "cdef extern from *:", '    """', '    #include "fa_kernels32v.h"']
    lines += inst + ['    """'] + decls
    return lines


def kernel_call(u: UfuncSpec, t: str) -> tuple[str, str]:
    """(C type of the value inputs, C expression) that dtype t's loop computes
    an element with: float32 kernels take float values where the entry has
    them (parameters stay double), everything else works in double."""
    if t == "f" and u.expr32:
        return "float", u.expr32
    return "double", u.expr


#: float16 elements a block of the float16-through-float32 loops converts
HALF_BLOCK = 512


def _run_half_via_float(u: UfuncSpec) -> str:
    """The float16 loop of a function with float32 kernels: blocks converted
    exactly to float32, the float32 loop's kernel, each result rounded once
    to float16 (its float32 error, 2 ULP at most, is 2**-12 of a float16 ULP)."""
    ins = u.inputs
    vals = [i for i in ins if i not in u.params]
    args = ", ".join(f"char *p_{i}, npy_intp s_{i}" for i in ins)
    call = ", ".join(f"<char *>b_{i}, 4" if i in vals else f"p_{i} + i * s_{i}, s_{i}"
                     for i in ins)
    lines = [
        f"cdef void _run_{u.name}_e({args}, char *p_out, npy_intp s_out, "
        f"npy_intp n) noexcept nogil:",
        *[f"    cdef float b_{v}[{HALF_BLOCK}]" for v in vals + ["out"]],
        "    cdef npy_intp i = 0, j, m",
        "    while i < n:",
        f"        m = n - i if n - i < {HALF_BLOCK} else {HALF_BLOCK}",
    ]
    for v in vals:
        lines += [f"        if s_{v} == 2:",
                  f"            fa_halves_to_floats(<const npy_uint16 *>p_{v} + i, b_{v}, m)",
                  "        else:",
                  "            for j in range(m):",
                  f"                b_{v}[j] = fa_half_to_float((<const npy_uint16 *>"
                  f"(p_{v} + (i + j) * s_{v}))[0])"]
    lines += [f"        _run_{u.name}_f({call}, <char *>b_out, 4, m)",
              "        if s_out == 2:",
              "            fa_floats_to_halves(b_out, <npy_uint16 *>p_out + i, m)",
              "        else:",
              "            for j in range(m):",
              "                (<npy_uint16 *>(p_out + (i + j) * s_out))[0] = "
              "fa_float_to_half(b_out[j])",
              "        i += m"]
    return "\n".join(lines) + "\n"


#: elements a block of a strided call gathers (three buffers of 8-byte
#: elements at most: 6 KB of stack, in L1)
STRIDED_BLOCK = 256


def _run_function(u: UfuncSpec, t: str) -> str:
    _, ctype, load, store = DTYPES[t]
    ins = u.inputs
    vals = [i for i in ins if i not in u.params]
    if t == "e" and (u.expr32 or u.vec32):
        return _run_half_via_float(u)
    if t == "f" and u.vec32 and not u.params:
        args = ", ".join(f"char *p_{i}, npy_intp s_{i}" for i in ins)
        call = ", ".join(f"p_{i}, s_{i}" for i in ins)
        return (f"cdef void _run_{u.name}_{t}({args}, char *p_out, npy_intp s_out, "
                f"npy_intp n) noexcept nogil:\n"
                f"    {u.vec32}({call}, p_out, s_out, n)\n")
    vtype, expr = kernel_call(u, t)
    u = replace(u, expr=expr)
    if vtype == "float":
        load = store = "({})"       # float in, float out: no conversion
    args = ", ".join(f"char *p_{i}, npy_intp s_{i}" for i in ins)
    lines = [
        f"cdef void _run_{u.name}_{t}({args}, char *p_out, npy_intp s_out, "
        f"npy_intp n) noexcept nogil:",
        "    cdef npy_intp i",
        f"    cdef {vtype} {', '.join(vals)}",
        f"    cdef {ctype} *out = <{ctype} *>p_out",
    ]
    if u.params:
        lines.append(f"    cdef double {', '.join(u.params)}")
    for v in vals:
        lines.append(f"    cdef const {ctype} *a_{v} = <const {ctype} *>p_{v}")
    for p in u.params:
        lines.append(f"    cdef const double *a_{p} = <const double *>p_{p}")
    contiguous = " and ".join(
        [f"s_{v} == sizeof({ctype})" for v in vals] + [f"s_out == sizeof({ctype})"])
    if t == "f" and u.vec32:
        # the vector kernel has the defaults built in: it serves a call whose
        # parameters are those values (so elu(x) and elu(x, alpha=1.0) agree)
        at = " and ".join(f"s_{p} == 0 and a_{p}[0] == {v!r}"
                          for p, v in zip(u.params, u.vec32_at))
        call = ", ".join(f"p_{i}, s_{i}" for i in vals)
        lines += [f"    if {at}:", f"        {u.vec32}({call}, p_out, s_out, n)",
                  "        return"]
    store_c = "out[i] = " + store.format(u.expr)

    def body(indent, param_mode):
        pad = " " * indent
        b = [f"{pad}for i in range(n):"]
        for v in vals:
            b.append(f"{pad}    {v} = " + load.format(f"a_{v}[i]"))
        if param_mode == "array":
            for p in u.params:
                b.append(f"{pad}    {p} = a_{p}[i]")
        b.append(f"{pad}    {store_c}")
        return b

    if u.params:
        scalar = " and ".join(f"s_{p} == 0" for p in u.params)
        array = " and ".join(f"s_{p} == sizeof(double)" for p in u.params)
        lines.append(f"    if {contiguous} and {scalar}:")
        for p in u.params:
            lines.append(f"        {p} = a_{p}[0]")
        lines += body(8, "scalar")
        lines.append(f"    elif {contiguous} and {array}:")
        lines += body(8, "array")
        lines.append("    else:")
    else:
        lines.append(f"    if {contiguous}:")
        lines += body(8, None)
        lines.append("    else:")
    # any other layout: blocks gathered into contiguous buffers, run by the
    # contiguous loop above (this function again, so the kernel is compiled
    # once per loop rather than twice), the results scattered back
    bufs = [(v, ctype) for v in vals] + [(p, "double") for p in u.params]
    lines[1:1] = [f"    cdef {c} b_{v}[{STRIDED_BLOCK}]" for v, c in bufs] + [
        f"    cdef {ctype} b_out[{STRIDED_BLOCK}]", "    cdef npy_intp j = 0, m"]
    lines += ["        while j < n:",
              f"            m = n - j if n - j < {STRIDED_BLOCK} else {STRIDED_BLOCK}",
              "            for i in range(m):"]
    for v, c in bufs:
        lines.append(f"                b_{v}[i] = (<const {c} *>(p_{v} + (j + i) * s_{v}))[0]")
    call = ", ".join(f"<char *>b_{v}, sizeof({c})" for v, c in
                     [(i, dict(bufs)[i]) for i in ins])
    lines += [f"            _run_{u.name}_{t}({call}, <char *>b_out, sizeof({ctype}), m)",
              "            for i in range(m):",
              f"                (<{ctype} *>(p_out + (j + i) * s_out))[0] = b_out[i]",
              "            j += m"]
    return "\n".join(lines) + "\n"


def _chunk_function(u: UfuncSpec, t: str) -> str:
    ctype = DTYPES[t][1]
    ins = u.inputs
    args = ", ".join(f"char *p_{i}, npy_intp s_{i}" for i in ins)
    whole = ", ".join(f"p_{i}, s_{i}" for i in ins)
    at = ", ".join(f"p_{i} + i * s_{i}, s_{i}" for i in ins)
    block = NT_BLOCK_BYTES // ITEMSIZE[t]
    return f"""\
cdef void _chunk_{u.name}_{t}({args}, char *p_out, npy_intp s_out, npy_intp n,
        int stream) noexcept nogil:
    cdef {ctype} buf[{block}]
    cdef npy_intp i, c, head = -1
    if stream and s_out == sizeof({ctype}):
        head = fa_nt_head(p_out, sizeof({ctype}))
    if head < 0 or head >= n:
        _run_{u.name}_{t}({whole}, p_out, s_out, n)
        return
    _run_{u.name}_{t}({whole}, p_out, s_out, head)
    i = head
    while i < n:
        c = n - i if n - i < {block} else {block}
        _run_{u.name}_{t}({at}, <char *>buf, sizeof({ctype}), c)
        fa_nt_store(p_out + i * sizeof({ctype}), <char *>buf, c * sizeof({ctype}))
        i += c
    fa_nt_fence()
"""


def _loop_function(u: UfuncSpec, t: str) -> str:
    nargs = u.nin + 1
    at = ", ".join(f"args[{k}] + lo * steps[{k}], steps[{k}]" for k in range(nargs))
    # bytes the call reads and writes (parameters are broadcast scalars or as
    # many doubles as elements; count them as read)
    size = ITEMSIZE[t]
    moved = sum(8 if i in u.params else size for i in u.inputs) + size
    # loops that never stream call the run directly (no _chunk_ for them)
    run = f"_chunk_{u.name}_{t}" if u.stream else f"_run_{u.name}_{t}"
    tail = ", stream" if u.stream else ""
    stream = (f"fa_nt_worth(n * {moved}, args[{u.nin}] + (n // 2) * steps[{u.nin}])"
              if u.stream else "0")
    sig = "".join("d" if i in u.params else t for i in u.inputs) + t
    return f"""\
cdef void _span_{u.name}_{t}(char **args, const npy_intp *steps, npy_intp lo,
        npy_intp cnt, int stream, void *data) noexcept nogil:
    {run}({at}, cnt{tail})


cdef void _loop_{u.name}_{t}(char **args, const npy_intp *dims, const npy_intp *steps,
        void *data) noexcept nogil:
    cdef npy_intp n = dims[0]
    fa_drive(_span_{u.name}_{t}, args, steps, n, fa_threads_for(n, {u.threshold_for(t)}),
             {stream}, {u.nin}, b"{sig}", NULL)
"""


def _registration(u: UfuncSpec) -> str:
    nargs = u.nin + 1
    lines = [
        f"cdef cnp.PyUFuncGenericFunction _funcs_{u.name}[3]",
        f"cdef void *_data_{u.name}[3]",
        f"cdef char _types_{u.name}[{3 * nargs}]",
    ]
    for k, t in enumerate(DTYPES):
        lines.append(f"_funcs_{u.name}[{k}] = <cnp.PyUFuncGenericFunction>_loop_{u.name}_{t}")
        lines.append(f"_data_{u.name}[{k}] = NULL")
        for j, inp in enumerate(u.inputs + ("out",)):
            num = "NPY_DOUBLE" if inp in u.params else DTYPES[t][0]
            lines.append(f"_types_{u.name}[{k * nargs + j}] = cnp.{num}")
    lines.append(f"{u.name} = _make_ufunc(_funcs_{u.name}, _data_{u.name}, "
                 f"_types_{u.name}, {u.nin}, {u.ufunc_name or u.name!r}, {u.name!r})")
    return "\n".join(lines) + "\n"


#: the static Cython every module includes (cimports, the runtime's
#: declarations, the Python-level controls, _make_ufunc): a source file of its
#: own, next to the generated modules, so that Cython finds it relative to them
RUNTIME_PXI = "_ufuncs_runtime.pxi"

#: what precedes the include: the directives, the docstring and the level
PREAMBLE = '''\
# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, freethreading_compatible=True
#
# GENERATED by fastact/_codegen.py from fastact/_registry.py -- do not edit.
"""The ufunc loops of fastact (generated from the registry), {level} build."""

SIMD_LEVEL = "{level}"

include "{runtime}"

cdef extern from "fa_kernels.h":
{kernel_decls}

'''


def generate(level="baseline", registry=None) -> str:
    reg = registry or load_registry()
    specs = ufunc_specs(reg)
    parts = [PREAMBLE.format(kernel_decls="\n".join(_kernel_decls(reg)), level=level,
                             runtime=RUNTIME_PXI)]
    for u in specs:
        parts.append(f"\n# ---- {u.name} " + "-" * max(0, 70 - len(u.name)) + "\n")
        for t in DTYPES:
            parts.append(_run_function(u, t))
            parts.append("\n")
            if u.stream:
                parts.append(_chunk_function(u, t))
                parts.append("\n")
            parts.append(_loop_function(u, t))
            parts.append("\n")
        parts.append(_registration(u))
    parts.append("\nUFUNC_NAMES = (" + "".join(f"{u.name!r}, " for u in specs) + ")\n")
    parts.append(_ext_registration(specs))
    return "".join(parts)


def _ext_registration(specs) -> str:
    """``_register_ext(typenum, fmt)``: every ufunc's loop for one ml_dtypes
    type, computed by its float32 loop (``src/fa_ext.h``)."""
    lines = ["", "",
             "def _register_ext(int typenum, int fmt):",
             '    """Register every ufunc\'s loop for the NumPy user type typenum in',
             "    format fmt (0 bfloat16, 1 float8_e4m3fn, 2 float8_e5m2: src/fa_ext.h),",
             '    computed by its float32 loop and rounded once."""']
    for u in specs:
        if not u.activation:  # the roofline loops: float types of NumPy only
            continue
        mask = sum(1 << k for k, i in enumerate(u.inputs) if i in u.params)
        lines.append(f"    fa_ext_register({u.name}, typenum, fmt, _funcs_{u.name}[1], "
                     f"{u.nin}, {mask}, {u.threshold})")
    return "\n".join(lines) + "\n"


def write(level="baseline", path=None) -> str:
    path = path or os.path.join(HERE, f"_ufuncs_{level}.pyx")
    text = generate(level)
    old = None
    if os.path.exists(path):
        with open(path) as f:
            old = f.read()
    if old != text:  # keep the mtime when nothing changed (no needless rebuild)
        with open(path, "w") as f:
            f.write(text)
    return path


if __name__ == "__main__":
    for lv in sys.argv[1:] or ["baseline"]:
        print(write(lv))
