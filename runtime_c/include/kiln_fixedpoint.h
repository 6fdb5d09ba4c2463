/* Integer rescaling shared by all int8 kernels: TFLite Micro's (gemmlowp's) double rounding. */
#ifndef KILN_FIXEDPOINT_H
#define KILN_FIXEDPOINT_H

#include <stdint.h>

#include "kiln_dsp.h"
#include "kiln_runtime.h"

/* SaturatingRoundingDoublingHighMul: (a * b * 2) >> 32, rounded half away from zero.
 * The division by 2^31 truncates toward zero, written with shifts so that Cortex-M
 * needs no 64-bit division routine. */
static inline int32_t kiln_srdhm(int32_t a, int32_t b)
{
    int64_t ab, v, q;
    if (a == b && a == INT32_MIN) {
        return INT32_MAX;
    }
    ab = (int64_t)a * (int64_t)b;
    v = ab + (ab >= 0 ? (INT64_C(1) << 30) : (1 - (INT64_C(1) << 30)));
    q = v >= 0 ? (v >> 31) : -((-v) >> 31);
    return (int32_t)q;
}

/* RoundingDivideByPOT: x / 2^exponent, rounded to nearest, ties away from zero. */
static inline int32_t kiln_rdbpot(int32_t x, int exponent)
{
    const int32_t mask = (int32_t)((UINT32_C(1) << exponent) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* MultiplyByQuantizedMultiplier: x * multiplier * 2^(shift - 31), double rounding as TFLite.
 * Multipliers are never negative, so SRDHM's saturating case cannot occur, and its
 * sign-dependent nudge equals one floor shift of (x*m + 2^30): one SMLAL on Cortex-M. */
static inline int32_t kiln_mul_by_qm(int32_t x, int32_t multiplier, int32_t shift)
{
    const int left = shift > 0 ? shift : 0;
    const int right = shift > 0 ? 0 : -shift;
    const int64_t prod = (int64_t)(x * (int32_t)(INT32_C(1) << left)) * multiplier + (INT64_C(1) << 30);
    return kiln_rdbpot((int32_t)(prod >> 31), right);
}

/* TFLite's MultiplyByQuantizedMultiplier for a 64-bit accumulator (16x8 layers): the multiplier
 * reduced to 16 bits, one rounding shift (a floor division by a power of two that never shifts a
 * negative value). Worked out once per layer (kiln_qm64_of) and applied per output: a 64 x 32-bit
 * product (no library call), the rounding constant, and the shift taken as words: the shift of a
 * negative value floors, as TFLite's -((-(v + 1)) >> s) - 1 does, like the other kernels'. */
typedef struct {
    int32_t reduced, shift; /* the 16-bit multiplier; the right shift, 1 to 63 */
    int64_t round;
} kiln_qm64_t;

static inline kiln_qm64_t kiln_qm64_of(int32_t multiplier, int32_t shift)
{
    kiln_qm64_t q;
    q.reduced = multiplier < 0x7FFF0000 ? (multiplier + (1 << 15)) >> 16 : 0x7FFF;
    q.shift = 15 - shift;
    q.round = (int64_t)1 << (q.shift - 1);
    return q;
}

static inline int32_t kiln_qm64_apply(int64_t x, kiln_qm64_t q)
{
    const int64_t v = x * (int64_t)q.reduced + q.round;
    const uint32_t lo = (uint32_t)(uint64_t)v;
    const int32_t hi = (int32_t)(v >> 32);
    if (q.shift >= 32) return hi >> (q.shift - 32);
    return (int32_t)((lo >> q.shift) | ((uint32_t)hi << (32 - q.shift)));
}

static inline int32_t kiln_mul_by_qm64(int64_t x, int32_t multiplier, int32_t shift)
{
    return kiln_qm64_apply(x, kiln_qm64_of(multiplier, shift));
}

/* (c * 2^32 + a * b + 2^31) >> 32: the rounded high word of a * b, plus c (one SMMLAR on Cortex-M,
 * which gcc does not emit by itself). */
static inline int32_t kiln_smmlar(int32_t a, int32_t b, int32_t c)
{
#if KILN_DSP
    int32_t y;
    __asm__("smmlar %0, %1, %2, %3" : "=r"(y) : "r"(a), "r"(b), "r"(c));
    return y;
#elif defined(__ARM_ARCH_6M__)
    /* Armv6-M has no 32 x 32 -> 64 multiply (gcc would call __aeabi_lmul): the high word from the
     * 16-bit halves, exactly. a * b + 2^31 = hi 2^32 + (m1 + m2) 2^16 + lo + 2^31; each middle
     * product splits into its high half (whole multiples of 2^32) and low half, which join lo's
     * high half and the rounding 2^15 (in units of 2^16) in a sum below 2^18: its carry. */
    const uint32_t al = (uint32_t)a & 0xFFFFu, bl = (uint32_t)b & 0xFFFFu;
    const int32_t ah = a >> 16, bh = b >> 16;
    const int32_t m1 = ah * (int32_t)bl, m2 = (int32_t)al * bh;
    const uint32_t lo = al * bl;
    const uint32_t mid = (lo >> 16) + ((uint32_t)m1 & 0xFFFFu) + ((uint32_t)m2 & 0xFFFFu) + 0x8000u;
    return ah * bh + (m1 >> 16) + (m2 >> 16) + (int32_t)(mid >> 16) + c;
#else
    return (int32_t)(((int64_t)a * b + (INT64_C(1) << 31)) >> 32) + c;
#endif
}

/* MultiplyByQuantizedMultiplier(acc, m, -e) + zp in a few instructions, for the constants
 * q = {m, e, c} that the compiler chose per channel (kiln.compiler.quantmath.requant_constants) after
 * proving |2 * acc| < 2^31 for the channel and e >= 1. Then SRDHM(acc, m) is the rounded high
 * word of (2 * acc) * m, one SMMLAR; RDBPOT's rounding (ties away from zero) is adding
 * 2^(e-1) - [acc < 0] before the arithmetic shift by e; the zero point is added as zp * 2^e.
 * c = 2^(e-1) + zp * 2^e holds all three constants. */
static inline int32_t kiln_rq(int32_t acc, const int32_t *q)
{
    return kiln_smmlar(acc * 2, q[0], q[2] + (acc >> 31)) >> q[1];
}

/* A kiln_rescale_t (kiln_runtime.h) applied to acc */
static inline int32_t kiln_rescale(int32_t acc, const kiln_rescale_t *r)
{
    return r->fast ? kiln_rq(acc, r->q) : kiln_mul_by_qm(acc, r->q[0], r->q[1]) + r->q[2];
}

/* A 16x8 layer's sum plus its bias (i-th entry, or none), rescaled as TFLite Micro does: in 64
 * bits with an int64 bias (acc64), else in its wrapping int32 accumulator with an int32 bias. */
static inline int32_t kiln_rescale_16x8(int64_t acc, const void *bias, int32_t i, int32_t acc64, int32_t mult,
                                        int32_t shift)
{
    int32_t acc32;
    if (acc64) {
        if (bias) acc += ((const int64_t *)bias)[i];
        return kiln_mul_by_qm64(acc, mult, shift);
    }
    acc32 = (int32_t)(uint32_t)(uint64_t)acc;
    if (bias) acc32 = (int32_t)((uint32_t)acc32 + (uint32_t)((const int32_t *)bias)[i]);
    return kiln_mul_by_qm(acc32, mult, shift);
}

/* Leading zero bits of x (32 for 0): one CLZ where the compiler has it. */
static inline int32_t kiln_clz32(uint32_t x)
{
#if defined(__GNUC__)
    return x ? (int32_t)__builtin_clz(x) : 32;
#else
    int32_t n = 0;
    if (x == 0) return 32;
    while ((x & UINT32_C(0x80000000)) == 0) {
        x <<= 1;
        ++n;
    }
    return n;
#endif
}

/* The bit length of x as TFLite Micro's signal library counts it (MostSignificantBit32, whose GCC
 * path gives 32 for 0, not 0). */
static inline uint32_t kiln_msb32(uint32_t x)
{
    return x ? 32u - (uint32_t)kiln_clz32(x) : 32u;
}

/* Saturate to int16 (one SSAT on Cortex-M). */
static inline int32_t kiln_sat16(int32_t x)
{
#if KILN_DSP
    return __ssat(x, 16);
#else
    return x < -32768 ? -32768 : (x > 32767 ? 32767 : x);
#endif
}

/* Saturate to int8 (one SSAT on Cortex-M). */
static inline int32_t kiln_sat8(int32_t x)
{
#if KILN_DSP
    return __ssat(x, 8);
#else
    return x < -128 ? -128 : (x > 127 ? 127 : x);
#endif
}

/* acc / count rounded half away from zero (TFLite's average pooling), count > 0. A CPU without a
 * divide instruction (Armv6-M) shifts and subtracts: a few steps for a pool's small quotients, and
 * not libgcc's 460-byte __divsi3 in flash. */
static inline int32_t kiln_div_round(int32_t acc, int32_t count)
{
#if defined(__ARM_ARCH_6M__)
    uint32_t n = (acc < 0 ? 0u - (uint32_t)acc : (uint32_t)acc) + (uint32_t)count / 2u, q = 0u;
    uint32_t d = (uint32_t)count, bit = 1u;
    while (d < n && (d & UINT32_C(0x80000000)) == 0u) {
        d <<= 1;
        bit <<= 1;
    }
    for (; bit != 0u; d >>= 1, bit >>= 1) {
        if (n >= d) {
            n -= d;
            q |= bit;
        }
    }
    return acc < 0 ? -(int32_t)q : (int32_t)q;
#else
    return acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count; /* one SDIV */
#endif
}

static inline int32_t kiln_clamp_i32(int32_t x, int32_t lo, int32_t hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

#endif
