/* Helium (MVE) helpers shared by the int8 kernels' Helium paths (only where kiln_dsp.h sets
 * KILN_MVE): a dot product of four byte runs against one, and kiln_rq on four lanes. */
#ifndef KILN_MVE_H
#define KILN_MVE_H

#include "kiln_dsp.h"
#include "kiln_fixedpoint.h"

#if KILN_MVE
/* bias + a[i] . b over k bytes, for i = 0..3, as the lanes of one vector: per 16 bytes one load of
 * b, one of each a[i] and four VMLADAVA (each multiplies 16 byte pairs and adds them to a scalar).
 * A k that is not a multiple of 16 ends with predicated loads, unless the caller zero-padded the
 * a[i] to a multiple of 16 and b may be read that far: then it passes k rounded up. */
static inline int32x4_t kiln_dot4_mve(const int8_t *const *a, const int8_t *b, int32_t k, int32_t bias)
{
    const int8_t *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3];
    int32_t s0 = bias, s1 = bias, s2 = bias, s3 = bias, trips = k >> 4, n = k & 15;
    int32x4_t v;
    while (trips-- > 0) { /* a count down, so that gcc walks the pointers with post-increments */
        const int8x16_t bv = vldrbq_s8(b);
        s0 = vmladavaq_s8(s0, vldrbq_s8(a0), bv);
        s1 = vmladavaq_s8(s1, vldrbq_s8(a1), bv);
        s2 = vmladavaq_s8(s2, vldrbq_s8(a2), bv);
        s3 = vmladavaq_s8(s3, vldrbq_s8(a3), bv);
        b += 16, a0 += 16, a1 += 16, a2 += 16, a3 += 16;
    }
    if (n > 0) { /* the last bytes: lanes past k load as zeros, so their products add nothing */
        const mve_pred16_t pr = vctp8q((uint32_t)n);
        const int8x16_t bv = vldrbq_z_s8(b, pr);
        s0 = vmladavaq_s8(s0, vldrbq_z_s8(a0, pr), bv);
        s1 = vmladavaq_s8(s1, vldrbq_z_s8(a1, pr), bv);
        s2 = vmladavaq_s8(s2, vldrbq_z_s8(a2, pr), bv);
        s3 = vmladavaq_s8(s3, vldrbq_z_s8(a3, pr), bv);
    }
    v = vdupq_n_s32(s0);
    v = vsetq_lane_s32(s1, v, 1);
    v = vsetq_lane_s32(s2, v, 2);
    return vsetq_lane_s32(s3, v, 3);
}

/* kiln_rq (kiln_fixedpoint.h) lane by lane, with each lane's m, -e and c: SMMLAR(2 acc, m)'s rounded
 * high word is VQRDMULH(acc, m)'s (the doubling inside it; m > 0, so it never saturates), and VSHL
 * by a negative count is the arithmetic shift right. */
static inline int32x4_t kiln_rq_mve(int32x4_t acc, int32x4_t m, int32x4_t neg_e, int32x4_t c)
{
    const int32x4_t hi = vqrdmulhq_s32(acc, m);
    return vshlq_s32(vaddq_s32(vaddq_s32(hi, c), vshrq_n_s32(acc, 31)), neg_e);
}

/* kiln_rq_mve with one channel's constants for all four lanes, as scalar register operands */
static inline int32x4_t kiln_rq_n_mve(int32x4_t acc, int32_t m, int32_t neg_e, int32_t c)
{
    const int32x4_t hi = vqrdmulhq_n_s32(acc, m);
    return vshlq_r_s32(vaddq_s32(vaddq_n_s32(hi, c), vshrq_n_s32(acc, 31)), neg_e);
}

/* kiln_mul_by_qm (TFLite's MultiplyByQuantizedMultiplier) on four lanes with one multiplier and
 * shift: the left shift as C's (wrapping), SRDHM as VQRDMULH (the multiplier is 0 or at least 2^30,
 * so it never saturates), and the rounding divide (ties away from zero) as VRSHL's ties-up rounding
 * of v - [v < 0] (saturating: INT32_MIN divides exactly either way). */
static inline int32x4_t kiln_mul_by_qm_mve(int32x4_t x, int32_t mult, int32_t shift)
{
    int32x4_t v = vqrdmulhq_n_s32(vshlq_r_s32(x, shift > 0 ? shift : 0), mult);
    if (shift < 0) v = vrshlq_n_s32(vqaddq_s32(v, vshrq_n_s32(v, 31)), shift);
    return v;
}
#endif

#endif
