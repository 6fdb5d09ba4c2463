/* Cortex-M DSP-extension helpers shared by the int8 kernels (only under __ARM_FEATURE_DSP).
 * A 4-byte word of int8 values is split into its even and odd bytes as 16-bit pairs, which
 * SMLAD multiplies and adds two at a time. */
#ifndef KILN_DSP_H
#define KILN_DSP_H

#include <stdint.h>
#include <string.h>

/* The Cortex-M path's inline assembly needs 14 free registers: an optimized build without a
 * frame pointer (gcc's default from -O1 on). Unoptimized builds (-O0, debugging) take the portable
 * C path, with the same results; with -fno-omit-frame-pointer, define KILN_PORTABLE. */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && defined(__OPTIMIZE__) && !defined(KILN_PORTABLE)
#include <arm_acle.h>
#define KILN_DSP 1

/* A word from any address (Cortex-M4/M7 LDR allows unaligned addresses). */
static inline uint32_t kiln_load32(const int8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Bytes 0 and 2, sign-extended to two halfwords. */
static inline int32_t kiln_even(uint32_t x)
{
    return __sxtb16(x);
}

/* Bytes 1 and 3: SXTB16 with its ROR #8 operand, which gcc's arm_acle.h cannot express. */
static inline int32_t kiln_odd(uint32_t x)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}

/* acc + kiln_even(x) and acc + kiln_odd(x), halfword by halfword: one SXTAB16 each. */
static inline uint32_t kiln_add_even(uint32_t acc, uint32_t x)
{
    return __sxtab16(acc, x);
}

static inline uint32_t kiln_add_odd(uint32_t acc, uint32_t x)
{
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(acc), "r"(x));
    return r;
}
#else
#define KILN_DSP 0
#endif

/* Helium, the M-profile vector extension (Cortex-M55, M85): its integer part. Kernels with a Helium
 * path take it where the compiler was given such a CPU (-mcpu=cortex-m55), optimizing; the same
 * results as their other paths. KILN_NO_MVE keeps them on the DSP path (to compare the two). */
/* The assembly loops' lower clamp of a fused ReLU whose zero is above -128 (the upper one is SSAT's
 * 127): register A raised to register LO, three instructions. */
#define KILN_ASM_CLAMP_LO(A, LO) "cmp    " A ", " LO "\n\t" "it     lt\n\t" "movlt  " A ", " LO "\n\t"

#if KILN_DSP && defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1) && !defined(KILN_NO_MVE)
#include <arm_mve.h>
#define KILN_MVE 1
#else
#define KILN_MVE 0
#endif

/* A body shared by the public entry points of several weight formats: copied into each (so the
 * format's loops are called directly and inlined), except at -Os, where one copy serves all. */
#if defined(__GNUC__) && !defined(__OPTIMIZE_SIZE__)
#define KILN_SPECIALIZE __attribute__((always_inline)) inline
#else
#define KILN_SPECIALIZE
#endif

/* Two int16 in a word, low half first (the portable form of SXTB16's result), and back. */
static inline uint32_t kiln_pair16(int32_t lo, int32_t hi)
{
    return ((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16);
}

/* The halves as signed values: a conversion to int16_t, which gcc and clang define as modulo 2^16
 * (as every int8/int16 narrowing in the runtime), is one sign-extension (SXTH, or ASR for the high
 * half) where the arithmetic form took five instructions on Armv6-M. */
static inline int32_t kiln_lo16(uint32_t x)
{
    return (int16_t)(uint16_t)(x & 0xFFFFu);
}

static inline int32_t kiln_hi16(uint32_t x)
{
    return (int16_t)(uint16_t)(x >> 16);
}

#endif
