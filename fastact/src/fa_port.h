/*
 * fa_port.h -- the compiler-dependent macros every other header uses, defined
 * once here for GCC, Clang and MSVC:
 *
 *   FA_INLINE        a function inlined at every call (the kernels and their
 *                    helpers: the loops vectorize only with them inlined);
 *   FA_HAVE_FMA      1 where the target fuses a multiply and an add in one
 *                    instruction, else 0;
 *   FA_FMA_D, FA_FMA_F   a b + c rounded once (double, float), defined only
 *                    where FA_HAVE_FMA is 1;
 *   FA_THREAD_LOCAL  a variable with one instance per thread;
 *   FA_MXCSR, FA_SET_MXCSR, FA_FPCR   the floating-point control registers
 *                    (x86-64 MXCSR, AArch64 FPCR), where FA_HAVE_MXCSR or
 *                    FA_HAVE_FPCR is 1.
 *
 * The code uses no alignment or restrict qualifiers (every load and store is
 * unaligned or goes through memcpy), so there are no macros for them.
 */
#ifndef FA_PORT_H
#define FA_PORT_H
#include <math.h>                      /* FP_FAST_FMA, fma, fmaf */

#if defined(_MSC_VER) && !defined(__clang__)
#define FA_INLINE static __forceinline
#else
#define FA_INLINE static inline __attribute__((always_inline))
#endif

/* Whether the target fuses a multiply and an add in one instruction, by what
 * each compiler says: x86 with FMA3 (__FMA__, the avx2 and avx512 levels),
 * ARM with VFPv4 or AArch64 (__ARM_FEATURE_FMA: GCC and Clang never define
 * __FMA__ there), or the C library's own word (FP_FAST_FMA). */
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA) || defined(FP_FAST_FMA)
#define FA_HAVE_FMA 1
#else
#define FA_HAVE_FMA 0
#endif
#if FA_HAVE_FMA && (defined(__GNUC__) || defined(__clang__))
#define FA_FMA_D(a, b, c) __builtin_fma((a), (b), (c))
#define FA_FMA_F(a, b, c) __builtin_fmaf((a), (b), (c))
#elif FA_HAVE_FMA
#define FA_FMA_D(a, b, c) fma((a), (b), (c))
#define FA_FMA_F(a, b, c) fmaf((a), (b), (c))
#endif

#if defined(_MSC_VER)
#define FA_THREAD_LOCAL __declspec(thread)
#else
#define FA_THREAD_LOCAL _Thread_local
#endif

/* The x86-64 SSE control and status register (the kernels' flags and
 * rounding live there): FA_MXCSR() reads it, FA_SET_MXCSR(v) writes it,
 * where FA_HAVE_MXCSR is 1. */
#if defined(__x86_64__) && defined(__SSE2__) && (defined(__GNUC__) || defined(__clang__))
#define FA_HAVE_MXCSR 1
#define FA_MXCSR() __builtin_ia32_stmxcsr()
#define FA_SET_MXCSR(v) __builtin_ia32_ldmxcsr(v)
#elif defined(_MSC_VER) && defined(_M_X64)
#include <xmmintrin.h>
#define FA_HAVE_MXCSR 1
#define FA_MXCSR() _mm_getcsr()
#define FA_SET_MXCSR(v) _mm_setcsr(v)
#else
#define FA_HAVE_MXCSR 0
#endif

/* AArch64's floating-point control register: FA_FPCR(), where FA_HAVE_FPCR
 * is 1. */
#if defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
#define FA_HAVE_FPCR 1
static inline unsigned long long fa_port_fpcr(void) {
    unsigned long long v;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(v));
    return v;
}
#define FA_FPCR() fa_port_fpcr()
#else
#define FA_HAVE_FPCR 0
#endif

#endif
