# cython: language_level=3, freethreading_compatible=True
"""Which instruction-set level this CPU runs (for choosing the kernel build),
and the clock its cores run at (for reading instruction counts as cycles)."""

cdef extern from *:
    """
    static int fa_cpu_level(void) {
    #if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
        int level = 0;
        __builtin_cpu_init();
        /* x86-64-v3: what GCC's -march=x86-64-v3 may emit */
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
            __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2") &&
            __builtin_cpu_supports("avx"))
            level = 1;
        /* x86-64-v4 */
        if (level == 1 && __builtin_cpu_supports("avx512f") &&
            __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512cd") &&
            __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
            level = 2;
        return level;
    #else
        return 0;
    #endif
    }
    """
    int fa_cpu_level()

cdef extern from *:
    """
    /* n passes of four integer adds, each waiting on the one before: one
     * cycle each on every x86-64 and AArch64 core, so the time of the chain
     * is 4n cycles.  Returns 0 where there is no such chain to run. */
    static int fa_add_chain(long n) {
    #if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
        unsigned long a = 0;
        for (long i = 0; i < n; i++)
            __asm__ volatile("add $1, %0\\n\\tadd $1, %0\\n\\tadd $1, %0\\n\\tadd $1, %0"
                             : "+r"(a));
        return 1;
    #elif (defined(__GNUC__) || defined(__clang__)) && defined(__aarch64__)
        unsigned long a = 0;
        for (long i = 0; i < n; i++)
            __asm__ volatile("add %0, %0, #1\\n\\tadd %0, %0, #1\\n\\t"
                             "add %0, %0, #1\\n\\tadd %0, %0, #1" : "+r"(a));
        return 1;
    #else
        (void)n;
        return 0;
    #endif
    }
    """
    int fa_add_chain(long n) nogil

#: the levels, in the order fa_cpu_level() counts them
LEVELS = ("baseline", "avx2", "avx512")


def best_level():
    """The widest kernel level this CPU (and OS) supports."""
    return LEVELS[fa_cpu_level()]


def clock_ghz(passes=20_000_000, repeats=5):
    """The clock one core runs at, in GHz, measured: the fastest of
    ``repeats`` timings of a chain of ``4 * passes`` dependent integer adds
    (one cycle each).  It is what the core runs at under load, boost
    included, which /proc/cpuinfo's nominal figure is not.  None where the
    chain cannot be built (not x86-64 or AArch64 with GCC or Clang)."""
    import time

    cdef long n = passes
    best = None
    with nogil:
        fa_add_chain(n)     # untimed: lets the core leave an idle clock
    for _ in range(repeats):
        t0 = time.perf_counter()
        with nogil:
            ok = fa_add_chain(n)
        t = time.perf_counter() - t0
        if not ok:
            return None
        best = t if best is None else min(best, t)
    return 4.0 * passes / best / 1e9 if best > 0 else None
