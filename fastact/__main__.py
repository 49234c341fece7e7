"""Command line: ``python -m fastact {info,bench,verify,profile,plot} ...``."""

from __future__ import annotations

import sys

USAGE = """\
usage: python -m fastact COMMAND [options]

commands:
  info     version, OpenMP, threads, SIMD level, NumPy
  bench    time every activation against NumPy/SciPy (and torch, jax)
  verify   measure the error in ULP of every function against mpmath
  profile  count instructions an element with callgrind (and torch, jax)
  plot     draw activations (needs the 'plot' extra)

'python -m fastact COMMAND --help' describes each.
"""


def info() -> int:
    import numpy as np

    import fastact
    from fastact import _ufuncs

    print(f"fastact {fastact.__version__}")
    if fastact.openmp_enabled():
        print(f"OpenMP: on ({_openmp_runtime()})")
    else:
        print("OpenMP: OFF -- a serial build: every call runs on one thread "
              "(rebuild with a compiler that has OpenMP; see README.md)")
    print(f"threads: {fastact.get_num_threads()}")
    if fastact.openmp_enabled():
        print(f"idle workers: {_ufuncs.WAIT_POLICY}; calls back off to one "
              f"thread while the workers are kept waiting")
    print(f"SIMD: {_ufuncs.SIMD_LEVEL} (built: {', '.join(_ufuncs.SIMD_BUILT)}; "
          f"FASTACT_SIMD forces one)")
    print(f"NumPy: {np.__version__}")
    ext = ", ".join(d.name for d in _ufuncs.EXT_DTYPES)
    print(f"ml_dtypes loops: {ext or 'none (ml_dtypes not installed)'}")
    print(f"clock: {_clock_text()}")
    print(f"activations: {len(fastact.ACTIVATIONS)} "
          f"({', '.join(fastact.ACTIVATIONS)})")
    return 0


def _clock_text() -> str:
    """What one core runs at, measured (the nominal clock of /proc/cpuinfo is
    not what a busy core runs at)."""
    from fastact import _cpu

    ghz = _cpu.clock_ghz()
    if ghz is None:
        return "not measured here (no dependent-add chain for this CPU)"
    return f"about {ghz:.1f} GHz (a chain of dependent integer adds on one core)"


def _openmp_runtime() -> str:
    """The OpenMP library the extension loaded, from /proc/self/maps."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "omp" in line.split("/")[-1]}
    except OSError:
        return "runtime unknown"
    names = sorted({p.rsplit("/", 1)[-1] for p in libs})
    return ", ".join(names) if names else "runtime unknown"


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    cmd, rest = argv[0], argv[1:]
    if cmd == "info":
        return info()
    if cmd == "bench":
        from fastact.tools import bench
        return bench.main(rest)
    if cmd == "verify":
        from fastact.tools import verify
        return verify.main(rest)
    if cmd == "profile":
        from fastact.tools import profile
        return profile.main(rest)
    if cmd == "plot":
        from fastact import plot
        return plot.main(rest)
    print(f"unknown command {cmd!r}\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
