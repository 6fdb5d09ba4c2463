/* Integer rescaling shared by all int8 kernels: TFLite Micro's (gemmlowp's) double rounding. */
#ifndef KILN_FIXEDPOINT_H
#define KILN_FIXEDPOINT_H

#include <stdint.h>

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

static inline int32_t kiln_clamp_i32(int32_t x, int32_t lo, int32_t hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

#endif
