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
 *   FA_THREAD_LOCAL  a variable with one instance per thread.
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

#endif
