"""The C kernels, compiled here at other optimization levels, give what the
installed ufuncs give on every special input.

Whether a NaN or an infinity survives a clamp, a bit-level 2^k or a select
can depend on how the compiler lowers it, not only on the C: a softplus whose
clamps passed NaN at -O3 returned 710.19 for NaN at -O1 (and in one scalar
loop at -O3 with beta built in).  So every kernel the ufuncs call (the
registry's expressions, from ``fastact._codegen``) is compiled into a small
program with the project's flags at -O1, -O2 and -O3, for every SIMD level
this CPU runs, with each parameter once a constant the compiler sees and once
a value it does not, and run on the special values: NaN, infinities, signed
zeros, subnormals, the overflow and underflow edges and the kinks.

At the level the ufuncs were built for, the program must give their values
bit for bit; at the others (FMA or not changes last bits) NaN and infinity
must come out in the same places with the same signs.
"""

import os
import shlex
import shutil
import subprocess
import sys

import numpy as np
import pytest

import fastact
from fastact import _codegen, _ufuncs

SRC = os.path.join(os.path.dirname(fastact.__file__), "src")


def _compiler():
    """$CC (which may carry flags), else gcc or cc; [] when there is none."""
    found = shutil.which("gcc") or shutil.which("cc")
    return shlex.split(os.environ.get("CC", "")) or ([found] if found else [])


CC = _compiler()

pytestmark = pytest.mark.skipif(
    not CC or not os.path.exists(os.path.join(SRC, "fa_kernels32.h"))
    or sys.platform == "win32",
    reason="needs a C compiler and the kernel headers")

#: x: the special values of both dtypes, each sign (float32 takes them
#: rounded: 1e300 is an infinity there)
_MAGNITUDES = [np.inf, 0.0, 5e-324, 1e-310, 1e-300, 1.4e-45, 1e-40, 1e-30, 1e-8, 0.25,
               0.5, 1.0, 1.5, 2.9999999, 3.0, 6.0, 10.0, 20.0, 40.0, 87.5, 88.8, 104.0,
               120.0, 700.0, 710.0, 746.0, 1e4, 1e10, 3.4e38, 1e300, 1.7e308]
X = np.array([np.nan] + _MAGNITUDES + [-m for m in _MAGNITUDES])
#: grad_output, crossed with every x
G = np.array([1.0, -2.5, np.nan, 0.0, -0.0, np.inf, -np.inf, 1e-300, 3e38])

_NP = {"d": np.float64, "f": np.float32}


def _cases():
    """(ufunc spec, dtype char, parameter mode) for every loop the ufuncs run."""
    out = []
    for spec in _codegen.ufunc_specs():
        if spec.name.startswith("_stream"):
            continue
        for t in ("d", "f"):
            for mode in (("const", "var") if spec.params else ("const",)):
                out.append((spec, t, mode))
    return out


CASES = _cases()


def _typical(spec):
    """The parameter values the program and the ufunc are given."""
    if not spec.params:
        return []
    params = fastact.ACTIVATIONS[spec.activation].typical_params
    return [params[p] for p in spec.params]


def _tables(t):
    """x alone (X1), and every g with every x (G2, X2), in dtype t."""
    with np.errstate(over="ignore"):
        return {"X1": X.astype(_NP[t]), "G2": np.tile(G, X.size).astype(_NP[t]),
                "X2": np.repeat(X, G.size).astype(_NP[t])}


def _operands(spec):
    """The tables a case reads: x, or (grad_output, x)."""
    vals = [i for i in spec.inputs if i not in spec.params]
    assert len(vals) in (1, 2) and len(spec.params) <= 4, spec
    return ["X1"] if len(vals) == 1 else ["G2", "X2"]


def _program():
    """C source: one function a case (its parameters built in as constants, or
    read through a volatile so the compiler cannot see them), the inputs as
    tables, and a main that writes every output to stdout in case order."""
    lines = ["#include <math.h>", "#include <stddef.h>", "#include <stdio.h>",
             "typedef ptrdiff_t npy_intp;", '#include "fa_kernels32v.h"', ""]
    # the vector kernels' loops (FA32V_UNARY / FA32V_BACKWARD), as the
    # generated module instantiates them
    lines += [ln.strip() for ln in _codegen._kernel_decls(_codegen.load_registry())
              if ln.strip().startswith("FA32V_")]
    for t in ("d", "f"):
        for name, arr in _tables(t).items():
            body = ", ".join(_c_literal(v, t) for v in arr)
            lines.append(f"static const {_codegen.DTYPES[t][1]} {name}_{t}"
                         f"[{arr.size}] = {{{body}}};")
    lines.append("static volatile double PV[4];")
    main = ["", "int main(void) {"]
    for k, (spec, t, mode) in enumerate(CASES):
        ct = _codegen.DTYPES[t][1]
        vals = [i for i in spec.inputs if i not in spec.params]
        # float32 loops call the float32 kernel, or widen to double
        vt, expr = _codegen.kernel_call(spec, t)
        args = ", ".join([f"const {ct} *in{j}" for j in range(len(vals))]
                         + [f"{ct} *out", "int n"])
        lines.append(f"__attribute__((noinline)) static void k{k}({args}) {{")
        for i, (p, v) in enumerate(zip(spec.params, _typical(spec))):
            value = repr(float(v)) if mode == "const" else f"PV[{i}]"
            lines.append(f"    const double {p} = {value};")
        if t == "f" and spec.vec32:
            # float32 runs the vector kernel's loop over the whole array when
            # the parameters are the defaults it has built in, as the ufunc
            # loop does (_codegen._run_function), else the scalar kernel
            ins = "".join(f"(char *)in{j}, 4, " for j in range(len(vals)))
            at = " && ".join(f"{p} == {v!r}" for p, v in zip(spec.params, spec.vec32_at))
            lines.append(f"    if ({at or 1}) {{ {spec.vec32}({ins}(char *)out, 4, n); "
                         "return; }")
        lines.append("    for (int i = 0; i < n; i++) {")
        for j, v in enumerate(vals):
            lines.append(f"        {vt} {v} = in{j}[i];")
        lines += [f"        out[i] = ({ct})({expr});", "    }", "}"]
        tables = _operands(spec)
        n = _tables(t)[tables[0]].size
        sets = "".join(f"PV[{i}] = {float(v)!r}; " for i, v in enumerate(_typical(spec)))
        main.append(f"    {{ static {ct} o[{n}]; {sets}k{k}("
                    + "".join(f"{tb}_{t}, " for tb in tables)
                    + f"o, {n}); fwrite(o, sizeof o, 1, stdout); }}")
    return "\n".join(lines + main + ["    return 0;", "}", ""])


def _c_literal(v, t):
    if np.isnan(v):
        return "NAN"
    if np.isinf(v):
        return "INFINITY" if v > 0 else "-INFINITY"
    return float(v).hex() + ("f" if t == "f" else "")


def _levels():
    """SIMD levels this CPU runs, best last."""
    order = list(_codegen.SIMD_LEVELS)
    import platform
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return ["baseline"]
    best = fastact._cpu.best_level()
    return order[:order.index(best) + 1]


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    d = tmp_path_factory.mktemp("kernels_c")
    src = d / "kernels.c"
    src.write_text(_program())
    return d, src


def _expected():
    """The installed ufuncs' values, case by case."""
    out = []
    for spec, t, mode in CASES:
        u = getattr(_ufuncs, spec.name)
        ins = [_tables(t)[tb] for tb in _operands(spec)]
        ps = [np.float64(v) for v in _typical(spec)]
        with np.errstate(all="ignore"):
            out.append(u(*ins, *ps))
    return out


@pytest.mark.parametrize("opt", ["-O1", "-O2", "-O3"])
@pytest.mark.parametrize("level", _levels())
def test_kernels_compiled_again_give_the_ufuncs_values(program, level, opt):
    d, src = program
    exe = d / f"k_{level}{opt}"
    flags = [f for f in _codegen.BASE_FLAGS if not f.startswith("-O")]
    cmd = [*CC, opt, *flags, *_codegen.SIMD_LEVELS[level], f"-I{SRC}", str(src),
           "-o", str(exe), "-lm"]
    subprocess.run(cmd, check=True, capture_output=True)
    raw = subprocess.run([str(exe)], check=True, capture_output=True).stdout
    exact = level == _ufuncs.SIMD_LEVEL
    pos, bad = 0, []
    for (spec, t, mode), want in zip(CASES, _expected()):
        got = np.frombuffer(raw, dtype=_NP[t], count=want.size, offset=pos)
        pos += got.nbytes
        x = [_tables(t)[tb] for tb in _operands(spec)]
        if exact:
            same = (got.view(f"u{got.itemsize}") == want.view(f"u{got.itemsize}")) \
                | (np.isnan(got) & np.isnan(want))
        else:
            same = (np.isnan(got) == np.isnan(want)) \
                & (np.isposinf(got) == np.isposinf(want)) \
                & (np.isneginf(got) == np.isneginf(want))
        if not same.all():
            i = np.flatnonzero(~same)[0]
            bad.append(f"{spec.name} {t} {mode}: at " + ", ".join(repr(a[i]) for a in x)
                       + f" the program gives {got[i]!r}, the ufunc {want[i]!r} "
                       f"({(~same).sum()} of {same.size} differ)")
    assert pos == len(raw)
    assert not bad, f"{level} {opt}:\n" + "\n".join(bad)


#: every header, in the order the generated modules include them
HEADERS = ("fa_port.h", "fa_eft.h", "fa_math.h", "fa_math32.h", "fa_half.h", "fa_kernels.h",
           "fa_kernels32.h", "fa_kernels32v.h", "fa_runtime.h")

#: (compiler, target flags): GCC and Clang at each x86 level, and GCC for aarch64
_WARNING_BUILDS = [(cc, lv) for cc in ("gcc", "clang")
                   for lv in ([], ["-march=x86-64-v3"], ["-march=x86-64-v4"])] \
    + [("aarch64-linux-gnu-gcc", [])]


@pytest.mark.parametrize("cc, target", _WARNING_BUILDS,
                         ids=[f"{cc}{''.join(t)}" for cc, t in _WARNING_BUILDS])
@pytest.mark.parametrize("openmp", [True, False], ids=["openmp", "serial"])
def test_headers_compile_without_warnings(tmp_path, cc, target, openmp):
    """Every header compiles with -Wall -Wextra -Werror under GCC and Clang,
    with and without OpenMP, and for ARM64 (the project's flags after them,
    as in the build, which silence only unused static functions)."""
    import sysconfig
    if not shutil.which(cc):
        pytest.skip(f"no {cc}")
    src = tmp_path / "headers.c"
    src.write_text("#include <Python.h>\n"
                   + "".join(f'#include "{h}"\n' for h in HEADERS)
                   + "int fa_headers_used(void) { return (int)fa_par_used; }\n")
    cmd = [cc, "-c", "-Wall", "-Wextra", "-Werror", *_codegen.BASE_FLAGS, *target,
           *(["-fopenmp"] if openmp else []), f"-I{SRC}", f"-I{np.get_include()}",
           f"-I{sysconfig.get_paths()['include']}", str(src), "-o", str(tmp_path / "h.o")]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
