#include <math.h>

#include "kiln_fixedpoint.h"
#include "kiln_runtime.h"

static int count_leading_zeros(uint32_t x)
{
    int n = 0;
    if (x == 0) return 32;
    while ((x & UINT32_C(0x80000000)) == 0) {
        x <<= 1;
        ++n;
    }
    return n;
}

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
        headroom = count_leading_zeros((uint32_t)sum);
        scale = one_over_one_plus_x((int32_t)(((uint32_t)sum << headroom) - UINT32_C(0x80000000)));
        exponent = (12 - headroom) + 31 - 8;
        for (c = 0; c < depth; ++c) {
            const int32_t v = kiln_rdbpot(kiln_srdhm(scale, exp_table[max - x[c]]), exponent) - 128;
            y[c] = (int8_t)kiln_clamp_i32(v, -128, 127);
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
