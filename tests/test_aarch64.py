"""The kernels on ARM64: cross-compiled and run under QEMU's user-mode
emulation (Debian: gcc-aarch64-linux-gnu, qemu-user), marked slow.

What a wheel built on ARM runs is the baseline level: the double kernels
and the scalar float32 kernels with fused multiply-adds (ARMv8 always has
them; the kernels test __ARM_FEATURE_FMA) and no x86 vector layer.  Every
loop of the registry (tests/test_kernels_c.py's program, each parameter
passed as a value the compiler cannot see) is checked

* on the special values: NaN and infinities where the ufuncs on this x86
  machine have them, with the same signs;
* on the dense samples of the accuracy tests (float32: about 1.3 million
  points; float64: 10**5 a function against mpmath), within the same ULP
  bounds.

Emulation checks the arithmetic, which QEMU implements bit for bit (IEEE
binary32/64 with fused multiply-add in software); it says nothing of speed.
"""

import os
import shutil
import subprocess

import numpy as np
import pytest

from fastact import ACTIVATIONS
from fastact.tools import verify

import test_kernels_c as kc

CROSS = shutil.which("aarch64-linux-gnu-gcc")
QEMU = shutil.which("qemu-aarch64") or shutil.which("qemu-aarch64-static")
OBJDUMP = shutil.which("aarch64-linux-gnu-objdump")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (CROSS and QEMU and OBJDUMP),
                       reason="needs gcc-aarch64-linux-gnu and qemu-user"),
]

#: the cases run on dense samples: each loop once, with its parameters as
#: values the compiler does not see ("var") where it has any
DENSE = [(k, spec, t) for k, (spec, t, mode) in enumerate(kc.CASES)
         if mode == ("var" if spec.params else "const")
         and spec.name.lstrip("_").removeprefix("default_") in
         {f"{spec.activation}{s}" for s in ("", "_grad", "_backward")}]


def _dense_main():
    """A main for the kernels of test_kernels_c's program: case k on n
    elements read from stdin (x, or grad_output then x), the parameters
    from the command line, the results to stdout."""
    lines = ["#include <stdlib.h>", "",
             "int main(int argc, char **argv) {",
             "    int k = atoi(argv[1]); long n = atol(argv[2]);",
             "    for (int i = 3; i < argc && i < 7; i++) PV[i - 3] = atof(argv[i]);",
             "    switch (k) {"]
    for k, spec, t in DENSE:
        ct = {"d": "double", "f": "float"}[t]
        nin = len(kc._operands(spec))
        lines.append(f"    case {k}: {{ {ct} *a = malloc(n * sizeof({ct}) * {nin + 1});"
                     f" if (fread(a, sizeof({ct}), n * {nin}, stdin) != (size_t)(n * {nin}))"
                     " return 2;"
                     f" k{k}(" + "".join(f"a + {j} * n, " for j in range(nin))
                     + f"a + {nin} * n, (int)n);"
                     f" fwrite(a + {nin} * n, sizeof({ct}), n, stdout); return 0; }}")
    lines += ["    }", "    return 1;", "}", ""]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def arm(tmp_path_factory):
    """The two programs, built for aarch64: (special-values exe, dense exe)."""
    d = tmp_path_factory.mktemp("aarch64")
    flags = [f for f in kc._codegen.BASE_FLAGS] + [f"-I{kc.SRC}", "-static"]
    src = kc._program()
    special, dense = d / "special.c", d / "dense.c"
    special.write_text(src)
    dense.write_text(src.split("\nint main(void) {")[0] + "\n" + _dense_main())
    out = []
    for s in (special, dense):
        exe = s.with_suffix("")
        subprocess.run([CROSS, *flags, str(s), "-o", str(exe), "-lm"], check=True,
                       capture_output=True)
        out.append(exe)
    return out


def _run(exe, *args, data=b""):
    return subprocess.run([QEMU, str(exe), *map(str, args)], input=data, check=True,
                          capture_output=True, timeout=600).stdout


def test_aarch64_kernels_use_fused_multiply_adds(arm):
    """The FMA paths are taken on ARM (ARMv8 compilers define
    __ARM_FEATURE_FMA, never __FMA__): each transcendental kernel the ufuncs
    call has fused multiply-adds in its machine code."""
    dis = subprocess.run([OBJDUMP, "-d", str(arm[1])], check=True, capture_output=True,
                         text=True).stdout
    fma, calls, fn = {}, {}, None
    for line in dis.splitlines():
        if line.endswith(">:"):
            fn = line.split("<", 1)[1][:-2].split(".")[0]   # k12.constprop.0 -> k12
            fma.setdefault(fn, 0)
            calls.setdefault(fn, set())
        elif fn and line.count("\t") >= 2:
            op = line.split("\t")[2].split()
            if op and op[0] in ("fmadd", "fmsub", "fnmadd", "fnmsub"):
                fma[fn] += 1
            elif op and op[0] in ("bl", "b") and "<" in line and "+" not in line:
                # a call or a tail call to another function's entry
                calls[fn].add(line.rsplit("<", 1)[1].rstrip(">").split(".")[0])

    def count(f, depth=3):
        return fma.get(f, 0) + (sum(count(c, depth - 1) for c in calls.get(f, ()))
                                if depth else 0)
    missing = [f"k{k} ({spec.name} {t})" for k, spec, t in DENSE
               if ACTIVATIONS[spec.activation].transcendental and not count(f"k{k}")]
    assert not missing, "no fused multiply-add in: " + ", ".join(missing)


def test_aarch64_special_values_like_the_ufuncs(arm):
    """NaN and infinities (and their signs) where the x86 ufuncs have them."""
    raw = _run(arm[0])
    pos, bad = 0, []
    for (spec, t, mode), want in zip(kc.CASES, kc._expected()):
        got = np.frombuffer(raw, dtype=kc._NP[t], count=want.size, offset=pos)
        pos += got.nbytes
        same = (np.isnan(got) == np.isnan(want)) & (np.isposinf(got) == np.isposinf(want)) \
            & (np.isneginf(got) == np.isneginf(want))
        if not same.all():
            i = np.flatnonzero(~same)[0]
            x = [kc._tables(t)[tb][i] for tb in kc._operands(spec)]
            bad.append(f"{spec.name} {t} {mode} at {x}: {got[i]!r}, x86 {want[i]!r}")
    assert pos == len(raw)
    assert not bad, "\n".join(bad)


@pytest.fixture(scope="module")
def samples():
    return {"f": verify.float32_sample()}


@pytest.mark.parametrize("k, spec, t", DENSE,
                         ids=[f"{spec.name}-{t}" for _, spec, t in DENSE])
def test_aarch64_within_the_bounds(arm, samples, k, spec, t):
    act = ACTIVATIONS[spec.activation]
    kind = next(kd for kd in ("backward", "grad") if spec.name.endswith("_" + kd)) \
        if spec.name.endswith(("_grad", "_backward")) else "forward"
    dtype = kc._NP[t]
    x = samples["f"] if t == "f" else verify.float64_sample(act)
    sets = act.param_sets() if spec.params else [act.typical_params]

    def on_arm(act, kind, x, g, params):
        ins = [x] if kind != "backward" else [g, x]
        data = b"".join(np.ascontiguousarray(a, dtype=dtype).tobytes() for a in ins)
        out = _run(arm[1], k, x.size, *[repr(float(params[p])) for p in spec.params],
                   data=data)
        return np.frombuffer(out, dtype=dtype)

    for params in sets:
        others = {"aarch64": on_arm}
        verify.measure(act, kind, dtype, x, params, others=others)
        err, worst = others["aarch64"]
        b = verify.bound(np.dtype(dtype), kind)
        assert err <= b, (f"{spec.name} {np.dtype(dtype).name} {params}: {err:.2f} ULP "
                          f"at {worst!r} on aarch64 (bound {b})")
