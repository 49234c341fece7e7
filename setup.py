"""Build fastact's compiled extension.

* ``fastact/_ufuncs_<level>.pyx`` is generated from the registry
  (fastact/_codegen.py) once per SIMD level and cythonized here; neither it nor
  the C it becomes is committed.  It includes the static Cython of
  ``fastact/_ufuncs_runtime.pxi`` (committed, and shipped in the sdist).
* OpenMP is detected by compiling and running a small program; without it the
  package builds and runs serially.  ``FASTACT_NO_OPENMP=1`` forces that.
* Never ``-ffast-math`` (linking it turns on flush-to-zero for the whole
  process) and never ``-march=native``.  ``-fno-trapping-math`` lets GCC
  if-convert the kernels' selects (they are written so no arm can trap),
  ``-ffp-contract=off`` keeps the error-free transformations exact (the
  kernels use FMA explicitly where the target has it).
"""

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "fastact"))
import _codegen  # noqa: E402  (stdlib only; reads fastact/_registry.py)

sys.path.pop(0)

OPENMP_TEST = r"""
#include <omp.h>
#include <stdio.h>
int main(void) {
    int n = 0;
    #pragma omp parallel reduction(+:n)
    n += 1;
    printf("%d\n", n);
    return n >= 1 ? 0 : 1;
}
"""

#: (kept in fastact/_codegen.py, where the tests that compile the kernels read them)
BASE_FLAGS = _codegen.BASE_FLAGS


def _truthy(name):
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def openmp_flags(compiler_cmd):
    """(compile flags, link flags) that make a working OpenMP program, or None."""
    if _truthy("FASTACT_NO_OPENMP"):
        return None
    candidates = [(["-fopenmp"], ["-fopenmp"])]
    if sys.platform == "darwin":
        candidates.append((["-Xpreprocessor", "-fopenmp"], ["-lomp"]))
    tmp = tempfile.mkdtemp()
    try:
        src = os.path.join(tmp, "omp.c")
        exe = os.path.join(tmp, "omp")
        with open(src, "w") as f:
            f.write(OPENMP_TEST)
        for cflags, lflags in candidates:
            cmd = compiler_cmd + cflags + [src, "-o", exe] + lflags
            try:
                subprocess.run(cmd, check=True, capture_output=True, timeout=120)
                subprocess.run([exe], check=True, capture_output=True, timeout=60)
            except (OSError, subprocess.SubprocessError):
                continue
            return cflags, lflags
        return None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class BuildExt(build_ext):
    def build_extensions(self):
        # object files left in build/ may come from the other OpenMP setting
        self.force = True
        # one extension per SIMD level: compile them side by side
        if not self.parallel:
            self.parallel = os.cpu_count() or 1
        cc = self.compiler.compiler_so[:1] if hasattr(self.compiler, "compiler_so") \
            else [sysconfig.get_config_var("CC") or "cc"]
        omp = openmp_flags(cc)
        if omp is None:
            print("fastact: building WITHOUT OpenMP (loops run serially)")
        else:
            print(f"fastact: building with OpenMP ({' '.join(omp[0])})")
        for ext in self.extensions:
            # (the SIMD flags were set per extension in extensions())
            ext.extra_compile_args = (BASE_FLAGS + list(ext.extra_compile_args)
                                      + (omp[0] if omp else []))
            ext.extra_link_args = list(ext.extra_link_args) + (omp[1] if omp else [])
        super().build_extensions()


#: instruction-set levels compiled on x86-64 (fastact/_codegen.py)
SIMD_LEVELS = _codegen.SIMD_LEVELS


def simd_levels():
    """Levels to build: all on x86-64 with GCC/Clang, only the baseline
    elsewhere; FASTACT_SIMD_LEVELS=baseline,avx2 restricts (quick dev builds)."""
    import platform

    wanted = os.environ.get("FASTACT_SIMD_LEVELS", "").strip()
    if wanted:
        levels = [lv.strip() for lv in wanted.split(",") if lv.strip()]
        unknown = set(levels) - set(SIMD_LEVELS)
        if unknown or "baseline" not in levels:
            raise SystemExit(f"FASTACT_SIMD_LEVELS: need baseline, from {list(SIMD_LEVELS)}")
        return levels
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64") and sys.platform != "win32":
        return list(SIMD_LEVELS)
    return ["baseline"]


def extensions():
    import numpy
    from Cython.Build import cythonize

    common = dict(
        include_dirs=[numpy.get_include(), os.path.join("fastact", "src")],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_2_0_API_VERSION")],
        depends=[os.path.join("fastact", "src", h)
                 for h in os.listdir(os.path.join(HERE, "fastact", "src"))]
        + [os.path.join("fastact", _codegen.RUNTIME_PXI)],
    )
    exts = [Extension("fastact._cpu", ["fastact/_cpu.pyx"])]
    for level in simd_levels():
        _codegen.write(level)
        exts.append(Extension(f"fastact._ufuncs_{level}", [f"fastact/_ufuncs_{level}.pyx"],
                              extra_compile_args=SIMD_LEVELS[level], **common))
    return cythonize(exts, compiler_directives={"language_level": 3}, quiet=True)


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
