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


def compiler_kind(compiler):
    """'msvc', 'clang', 'gcc', or 'cc' (another Unix compiler)."""
    if compiler.compiler_type == "msvc":
        return "msvc"
    try:
        out = subprocess.run(compiler.compiler_so[:1] + ["--version"], capture_output=True,
                             text=True, timeout=60).stdout.lower()
    except (OSError, subprocess.SubprocessError):
        out = ""
    if "clang" in out:
        return "clang"
    return "gcc" if ("gcc" in out or "free software foundation" in out) else "cc"


def compile_flags(kind):
    """The kernels' flags for this compiler.  GCC and Clang: BASE_FLAGS, and
    no debug information (it made each module 10 MB instead of 3 and the
    build a third slower; FASTACT_DEBUG=1 keeps it).  MSVC: full
    optimization with IEEE semantics (its /fp:precise is the default)."""
    if kind == "msvc":
        return ["/O2", "/fp:precise"]
    return BASE_FLAGS + ["-g" if _truthy("FASTACT_DEBUG") else "-g0"]


def _libomp_prefixes():
    """Where an LLVM libomp may be on macOS: $LIBOMP_PREFIX, Homebrew's,
    conda's, this Python's prefix."""
    out = [os.environ.get("LIBOMP_PREFIX", "")]
    try:
        out.append(subprocess.run(["brew", "--prefix", "libomp"], capture_output=True,
                                  text=True, timeout=60).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    out += ["/opt/homebrew/opt/libomp", "/usr/local/opt/libomp",
            os.environ.get("CONDA_PREFIX", ""), sys.prefix]
    return [p for p in dict.fromkeys(out)
            if p and os.path.exists(os.path.join(p, "include", "omp.h"))]


def openmp_candidates(kind):
    """(compile flags, link flags) to try, in order."""
    if kind == "msvc":
        return [(["/openmp:llvm"], []), (["/openmp"], [])]
    out = [(["-fopenmp"], ["-fopenmp"])]
    if sys.platform == "darwin":      # Apple Clang: the driver has no -fopenmp
        out += [(["-Xpreprocessor", "-fopenmp", f"-I{p}/include"],
                 [f"-L{p}/lib", "-lomp", f"-Wl,-rpath,{p}/lib"]) for p in _libomp_prefixes()]
    return out


def openmp_flags(compiler, kind):
    """(compile flags, link flags) that build and run an OpenMP program with
    this compiler, or None."""
    if _truthy("FASTACT_NO_OPENMP"):
        return None
    tmp = tempfile.mkdtemp()
    try:
        src = os.path.join(tmp, "omp.c")
        with open(src, "w") as f:
            f.write(OPENMP_TEST)
        for cflags, lflags in openmp_candidates(kind):
            try:
                objs = compiler.compile([src], output_dir=tmp, extra_postargs=cflags)
                compiler.link_executable(objs, "omp", output_dir=tmp, extra_postargs=lflags)
            except Exception:            # CompileError, LinkError: not this one
                continue
            exe = os.path.join(tmp, "omp" + (".exe" if sys.platform == "win32" else ""))
            try:
                subprocess.run([exe], check=True, capture_output=True, timeout=60)
            except subprocess.CalledProcessError:
                continue
            except OSError:
                pass                     # a cross build: linking is the test
            return cflags, lflags
        return None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


SERIAL_WARNING = """
======================================================================
fastact: WARNING: no working OpenMP found for this compiler, so this
build runs every call on ONE thread.  To get threads: on macOS
`brew install libomp` (or conda's llvm-openmp, or LIBOMP_PREFIX=<dir>);
on Linux the compiler's OpenMP runtime (libgomp comes with GCC, libomp
with Clang).  `fastact info` says which build you have.
======================================================================
"""


class BuildExt(build_ext):
    def build_extensions(self):
        # object files left in build/ may come from the other OpenMP setting
        self.force = True
        # one extension per SIMD level: compile them side by side
        if not self.parallel:
            self.parallel = os.cpu_count() or 1
        kind = compiler_kind(self.compiler)
        omp = openmp_flags(self.compiler, kind)
        if omp is None:
            print(SERIAL_WARNING if not _truthy("FASTACT_NO_OPENMP")
                  else "fastact: building without OpenMP (FASTACT_NO_OPENMP)")
        else:
            print(f"fastact: building with OpenMP ({' '.join(omp[0])}), {kind}")
        for ext in self.extensions:
            # (the SIMD flags were set per extension in extensions())
            ext.extra_compile_args = (compile_flags(kind) + list(ext.extra_compile_args)
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
    exts = []
    # the widest level first: it compiles longest, and the modules are built
    # side by side, so the small ones fill in after it has started
    for level in reversed(simd_levels()):
        _codegen.write(level)
        exts.append(Extension(f"fastact._ufuncs_{level}", [f"fastact/_ufuncs_{level}.pyx"],
                              extra_compile_args=SIMD_LEVELS[level], **common))
    exts.append(Extension("fastact._cpu", ["fastact/_cpu.pyx"]))
    # one process a module (the generated ones take about 6 s each), where
    # multiprocessing forks: with spawn the children would run setup.py again
    procs = min(len(exts), os.cpu_count() or 1) if sys.platform.startswith("linux") else 0
    return cythonize(exts, compiler_directives={"language_level": 3}, quiet=True,
                     nthreads=procs)


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
