# cython: language_level=3
"""Which instruction-set level this CPU runs (for choosing the kernel build)."""

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

#: the levels, in the order fa_cpu_level() counts them
LEVELS = ("baseline", "avx2", "avx512")


def best_level():
    """The widest kernel level this CPU (and OS) supports."""
    return LEVELS[fa_cpu_level()]
