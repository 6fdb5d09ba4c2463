#include <math.h>

#include "kiln_fixedpoint.h"
#include "kiln_runtime.h"

/* gemmlowp's SaturatingRoundingMultiplyByPOT for a positive exponent. */
static int32_t sat_shift_left(int32_t x, int e)
{
    const int32_t threshold = (int32_t)((UINT32_C(1) << (31 - e)) - 1u);
    if (x > threshold) return INT32_MAX;
    if (x < -threshold) return INT32_MIN;
    return x * (INT32_C(1) << e);
}

static int32_t rounding_half_sum(int32_t a, int32_t b)
{
    const int64_t sum = (int64_t)a + (int64_t)b;
    return (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
}

/* 1 / (1 + x) for x in [0, 1), Q0.31 in and out: Newton-Raphson in Q2.29, as gemmlowp. */
static int32_t one_over_one_plus_x(int32_t a)
{
    const int32_t half_denominator = rounding_half_sum(a, INT32_MAX);
    int32_t x = 1515870810 + kiln_srdhm(half_denominator, -1010580540);
    int i;
    for (i = 0; i < 3; ++i) {
        const int32_t one_minus = (INT32_C(1) << 29) - kiln_srdhm(half_denominator, x);
        x = x + sat_shift_left(kiln_srdhm(x, one_minus), 2);
    }
    return sat_shift_left(x, 1);
}

/* int8 in; int8 out (out_bits 8) or int16 out (out_bits 16, out16 set) */
static inline void softmax_s8_any(const int8_t *in, int8_t *out8, int16_t *out16, int32_t outer, int32_t depth,
                           const int32_t *exp_table, int out_bits)
{
    const int32_t out_min = out_bits == 8 ? -128 : -32768;
    const int32_t out_max = out_bits == 8 ? 127 : 32767;
    int32_t i, c;
    for (i = 0; i < outer; ++i) {
        const int8_t *x = in + i * depth;
        int32_t max = -128, sum = 0, headroom, scale, exponent;
        for (c = 0; c < depth; ++c) {
            max = x[c] > max ? x[c] : max;
        }
        for (c = 0; c < depth; ++c) {
            sum += kiln_rdbpot(exp_table[max - x[c]], 12); /* Q12.19 accumulator */
        }
        headroom = kiln_clz32((uint32_t)sum);
        scale = one_over_one_plus_x((int32_t)(((uint32_t)sum << headroom) - UINT32_C(0x80000000)));
        exponent = (12 - headroom) + 31 - out_bits;
        for (c = 0; c < depth; ++c) {
            const int32_t v = kiln_clamp_i32(kiln_rdbpot(kiln_srdhm(scale, exp_table[max - x[c]]), exponent) + out_min,
                                             out_min, out_max);
            if (out16 != NULL) {
                out16[i * depth + c] = (int16_t)v;
            } else {
                out8[i * depth + c] = (int8_t)v;
            }
        }
    }
}

/* int8 -> int8 keeps its own loop: the benchmark models' softmax, held to an exact instruction budget */
void kiln_softmax_s8(const int8_t *in, int8_t *out, int32_t outer, int32_t depth, const int32_t *exp_table)
{
    int32_t i, c;
    for (i = 0; i < outer; ++i) {
        const int8_t *x = in + i * depth;
        int8_t *y = out + i * depth;
        int32_t max = -128, sum = 0, headroom, scale, exponent;
        for (c = 0; c < depth; ++c) {
            max = x[c] > max ? x[c] : max;
        }
        for (c = 0; c < depth; ++c) {
            sum += kiln_rdbpot(exp_table[max - x[c]], 12); /* Q12.19 accumulator */
        }
        headroom = kiln_clz32((uint32_t)sum);
        scale = one_over_one_plus_x((int32_t)(((uint32_t)sum << headroom) - UINT32_C(0x80000000)));
        exponent = (12 - headroom) + 31 - 8;
        for (c = 0; c < depth; ++c) {
            const int32_t v = kiln_rdbpot(kiln_srdhm(scale, exp_table[max - x[c]]), exponent) - 128;
            y[c] = (int8_t)kiln_clamp_i32(v, -128, 127);
        }
    }
}

void kiln_softmax_s8_s16(const int8_t *in, int16_t *out, int32_t outer, int32_t depth, const int32_t *exp_table)
{
    softmax_s8_any(in, NULL, out, outer, depth, exp_table, 16);
}

/* TFLite's LUTLookup for int16: 512 steps of 128, linear interpolation */
static int32_t lut16(int32_t v, const int16_t *lut)
{
    const int32_t index = 256 + (v >> 7);
    const int32_t offset = v & 0x7f;
    const int32_t base = lut[index];
    const int32_t slope = (int32_t)lut[index + 1] - base;
    return (int16_t)(base + ((slope * offset + 64) >> 7));
}

void kiln_softmax_s16(const int16_t *in, int16_t *out, int32_t outer, int32_t depth,
                      const kiln_softmax_s16_params_t *p, const int16_t *exp_lut, const int16_t *recip_lut)
{
    int32_t i, c;
    for (i = 0; i < outer; ++i) {
        const int16_t *x = in + i * depth;
        int16_t *y = out + i * depth;
        int32_t max = -32768, sum = 0, recip, right_shift;
        int headroom;
        for (c = 0; c < depth; ++c) {
            max = x[c] > max ? x[c] : max;
        }
        for (c = 0; c < depth; ++c) { /* exps cached in the output, Q0.15 */
            const int32_t d = kiln_mul_by_qm((int32_t)x[c] - max, p->mult, p->shift) + 32767;
            y[c] = (int16_t)lut16(kiln_clamp_i32(d, -32768, 32767), exp_lut);
            sum += y[c];
        }
        headroom = kiln_clz32((uint32_t)sum);
        recip = (int32_t)((((int64_t)sum << (headroom - 1)) + (1 << 13)) >> 14) - ((1 << 15) + (1 << 16));
        recip = lut16(kiln_clamp_i32(recip, -32768, 32767), recip_lut);
        right_shift = 31 - headroom;
        for (c = 0; c < depth; ++c) {
            const int64_t r = ((int64_t)y[c] * recip + (INT64_C(1) << (right_shift - 1))) >> right_shift;
            y[c] = (int16_t)(r < 0 ? 0 : (r > 32767 ? 32767 : r));
        }
    }
}

void kiln_softmax_f32(const float *in, float *out, int32_t outer, int32_t depth, float beta)
{
    int32_t i, c;
    for (i = 0; i < outer; ++i) {
        const float *x = in + i * depth;
        float *y = out + i * depth;
        float max = -FLT_MAX, sum = 0.0f;
        for (c = 0; c < depth; ++c) {
            max = max < x[c] ? x[c] : max;
        }
        for (c = 0; c < depth; ++c) {
            y[c] = expf((x[c] - max) * beta);
            sum += y[c];
        }
        for (c = 0; c < depth; ++c) {
            y[c] = y[c] / sum;
        }
    }
}

/* ---- LOG_SOFTMAX: gemmlowp-style fixed point, as TFLite's LogSoftmaxQuantized ---- */

static int32_t wrap_add(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

static int32_t sat_i64(int64_t v)
{
    return v > INT32_MAX ? INT32_MAX : (v < INT32_MIN ? INT32_MIN : (int32_t)v);
}

/* SaturatingRoundingMultiplyByPOTParam for exponent >= 0 */
static int32_t sat_pot(int32_t x, int e)
{
    int32_t threshold;
    if (e == 0) return x;
    threshold = (int32_t)((UINT32_C(1) << (31 - e)) - 1u);
    if (x > threshold) return INT32_MAX;
    if (x < -threshold) return INT32_MIN;
    return (int32_t)((uint32_t)x << e);
}

/* log(x) for x >= 1 given in Q12.19 (raw), result in Q5.26: TFLite's
 * log_x_for_x_greater_than_or_equal_to_1<5, 12>, accumulating in Q6.25 */
static int32_t log_q12_to_q5(int32_t z_a)
{
    const int32_t log_2 = 1488522236, sqrt_sqrt_half = 1805811301, sqrt_half = 1518500250;
    const int32_t alpha_n = 117049297, alpha_d = 127690142, alpha_i = 1057819769, alpha_f = 638450708;
    const int32_t shifted_quarter = kiln_rdbpot(536870912, 6);
    const int z_a_headroom_plus_1 = kiln_clz32((uint32_t)z_a);
    const int32_t r_a_raw = sat_pot(kiln_srdhm(sat_pot(z_a, z_a_headroom_plus_1 - 1), sqrt_half), 1);
    const int32_t z_a_pow_2_adj = sat_i64((int64_t)sat_pot(12 - z_a_headroom_plus_1, 31 - 6) + shifted_quarter);
    const int32_t z_b = kiln_srdhm(z_a, sqrt_half);
    const int z_b_headroom = kiln_clz32((uint32_t)z_b) - 1;
    const int32_t r_b_raw = sat_pot(z_a, z_b_headroom);
    const int32_t z_b_pow_2_adj = sat_i64((int64_t)sat_pot(12 - z_b_headroom, 31 - 6) - shifted_quarter);
    const int32_t r = r_a_raw < r_b_raw ? r_a_raw : r_b_raw;
    const int32_t z_pow_2_adj = z_a_pow_2_adj > z_b_pow_2_adj ? z_a_pow_2_adj : z_b_pow_2_adj;
    const int32_t p = rounding_half_sum(r, sqrt_sqrt_half);
    const int32_t q1 = wrap_add(r, -sqrt_sqrt_half);
    const int32_t q = wrap_add(q1, q1);
    const int32_t common_sq = kiln_srdhm(q, q);
    const int32_t num = wrap_add(kiln_srdhm(q, r), kiln_srdhm(kiln_srdhm(q, common_sq), alpha_n));
    const int32_t denom_minus_one =
        wrap_add(kiln_srdhm(p, wrap_add(wrap_add(alpha_i, q), kiln_srdhm(alpha_d, common_sq))), kiln_srdhm(alpha_f, q));
    const int32_t recip_denom = one_over_one_plus_x(denom_minus_one);
    const int32_t num_scaled = kiln_rdbpot(num, 6);
    return sat_pot(wrap_add(kiln_srdhm(z_pow_2_adj, log_2), kiln_srdhm(num_scaled, recip_denom)), 1);
}

void kiln_log_softmax_s8(const int8_t *in, int8_t *out, int32_t outer, int32_t depth,
                         const kiln_log_softmax_s8_params_t *p, const int32_t *tables)
{
    const int32_t *exp_table = tables;     /* exp(diff) in Q0.31 for diff = 0..-255, 0 below diff_min */
    const int32_t *q5_table = tables + 256; /* diff rescaled to Q5.26 */
    int32_t i, c;
    for (i = 0; i < outer; ++i) {
        const int8_t *x = in + i * depth;
        int8_t *y = out + i * depth;
        int32_t max = -128, sum = 0, log_sum, adjusted_diff_min, v;
        for (c = 0; c < depth; ++c) {
            max = x[c] > max ? x[c] : max;
        }
        for (c = 0; c < depth; ++c) {
            sum = wrap_add(sum, kiln_rdbpot(exp_table[max - x[c]], 12)); /* Q12.19 */
        }
        log_sum = log_q12_to_q5(sum);
        adjusted_diff_min = kiln_mul_by_qm(wrap_add(log_sum, INT32_MIN), p->rev_mult, p->rev_shift);
        adjusted_diff_min = adjusted_diff_min > p->diff_min - 1 ? adjusted_diff_min : p->diff_min - 1;
        for (c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)x[c] - max;
            if (diff > adjusted_diff_min) {
                v = kiln_rdbpot(wrap_add(q5_table[-diff], -log_sum), 31 - 5 - 4) + 127;
                y[c] = (int8_t)kiln_clamp_i32(v, -128, 127);
            } else {
                y[c] = -128;
            }
        }
    }
}

void kiln_log_softmax_f32(const float *in, float *out, int32_t outer, int32_t depth)
{
    int32_t i, c;
    for (i = 0; i < outer; ++i) {
        const float *x = in + i * depth;
        float *y = out + i * depth;
        float max = -FLT_MAX, sum = 0.0f, log_sum;
        for (c = 0; c < depth; ++c) {
            max = max < x[c] ? x[c] : max;
        }
        for (c = 0; c < depth; ++c) {
            sum += expf(x[c] - max);
        }
        log_sum = logf(sum);
        for (c = 0; c < depth; ++c) {
            y[c] = x[c] - max - log_sum;
        }
    }
}
