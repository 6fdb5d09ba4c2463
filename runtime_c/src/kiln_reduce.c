/* Reductions over any set of axes (ops/reduce.py): SUM, MEAN, REDUCE_MAX, REDUCE_MIN, ARG_MAX,
 * ARG_MIN, as TFLite Micro's reference Reduce walks them. */
#include <float.h>
#include <math.h>

#include "kiln_fixedpoint.h"
#include "kiln_runtime.h"

static int32_t offset_of(int32_t index, int32_t n, const int32_t *dims, const int32_t *stride)
{
    int32_t off = 0, d;
    for (d = n - 1; d >= 0; --d) {
        off += (index % dims[d]) * stride[d];
        index /= dims[d];
    }
    return off;
}

static float value_f(const void *in, int32_t type, int32_t at)
{
    switch (type) {
    case KILN_RT_I8: return (float)((const int8_t *)in)[at];
    case KILN_RT_I16: return (float)((const int16_t *)in)[at];
    default: return ((const float *)in)[at];
    }
}

static int32_t value_i(const void *in, int32_t type, int32_t at)
{
    return type == KILN_RT_I8 ? (int32_t)((const int8_t *)in)[at] : (int32_t)((const int16_t *)in)[at];
}

void kiln_reduce(const void *in, void *out, const kiln_reduce_t *p)
{
    int32_t outs = 1, o, r, d;
    for (d = 0; d < p->nk; ++d) outs *= p->kdims[d];
    for (o = 0; o < outs; ++o) {
        const int32_t base = offset_of(o, p->nk, p->kdims, p->kstride);
        if (p->kind == KILN_RED_ARGMAX || p->kind == KILN_RED_ARGMIN) {
            float best = value_f(in, p->type, base);
            int32_t at = 0;
            for (r = 1; r < p->count; ++r) {
                const float v = value_f(in, p->type, base + r * p->rstride[0]);
                if (p->kind == KILN_RED_ARGMAX ? v > best : v < best) {
                    best = v;
                    at = r;
                }
            }
            ((int32_t *)out)[o] = at;
        } else if (p->type == KILN_RT_F32) {
            float acc = p->kind == KILN_RED_MAX ? -FLT_MAX : (p->kind == KILN_RED_MIN ? FLT_MAX : 0.0f);
            for (r = 0; r < p->count; ++r) {
                const float v = ((const float *)in)[base + offset_of(r, p->nr, p->rdims, p->rstride)];
                if (p->kind == KILN_RED_MAX) acc = v > acc ? v : acc;
                else if (p->kind == KILN_RED_MIN) acc = v < acc ? v : acc;
                else acc += v;
            }
            ((float *)out)[o] = p->kind == KILN_RED_MEAN ? acc / (float)p->count : acc;
        } else {
            const int32_t lo = p->type == KILN_RT_I8 ? -128 : -32768, hi = p->type == KILN_RT_I8 ? 127 : 32767;
            int32_t acc = p->kind == KILN_RED_MAX ? lo : (p->kind == KILN_RED_MIN ? hi : 0), v;
            for (r = 0; r < p->count; ++r) {
                v = value_i(in, p->type, base + offset_of(r, p->nr, p->rdims, p->rstride));
                if (p->kind == KILN_RED_MAX) acc = v > acc ? v : acc;
                else if (p->kind == KILN_RED_MIN) acc = v < acc ? v : acc;
                else acc += v;
            }
            if (p->kind == KILN_RED_SUM || p->kind == KILN_RED_MEAN) {
                acc = kiln_mul_by_qm(acc - p->in_zp * p->count, p->mult, p->shift) + p->out_zp;
                acc = kiln_clamp_i32(acc, lo, hi);
            }
            if (p->type == KILN_RT_I8) ((int8_t *)out)[o] = (int8_t)acc;
            else ((int16_t *)out)[o] = (int16_t)acc;
        }
    }
}

void kiln_l2norm_f32(const float *in, float *out, int32_t rows, int32_t depth)
{
    int32_t r, k;
    for (r = 0; r < rows; ++r, in += depth, out += depth) {
        float sq = 0.0f, norm;
        for (k = 0; k < depth; ++k) sq += in[k] * in[k];
        norm = sqrtf(sq);
        norm = norm > 1e-6f ? norm : 1e-6f;
        for (k = 0; k < depth; ++k) out[k] = in[k] / norm;
    }
}

/* gemmlowp's SaturatingRoundingMultiplyByPOT for 0 < e < 31 */
static int32_t sat_pot(int32_t x, int e)
{
    const int32_t threshold = (INT32_C(1) << (31 - e)) - 1;
    return x > threshold ? INT32_MAX : x < -threshold ? INT32_MIN : x * (INT32_C(1) << e);
}

/* TFLite's GetInvSqrtQuantizedMultiplierExp(value, kReverseShift): 1/sqrt(value) as a multiplier and
 * a (left) shift, by five Newton-Raphson steps in Q3.28 on value normalised into [2^27, 2^29). */
static void inv_sqrt_qm(int32_t value, int32_t *mult, int32_t *shift)
{
    int32_t s = 11, x = INT32_C(1) << 28, half_input, k;
    if (value <= 1) {
        *mult = INT32_MAX;
        *shift = 0;
        return;
    }
    while (value >= (INT32_C(1) << 29)) {
        value /= 4;
        ++s;
    }
    while (value < (INT32_C(1) << 27)) {
        value *= 4;
        --s;
    }
    half_input = kiln_rdbpot(value >> 1, 1);
    for (k = 0; k < 5; ++k) {
        const int32_t x3 = sat_pot(kiln_srdhm(kiln_srdhm(x, x), x), 6);
        const uint32_t d = (uint32_t)kiln_srdhm((INT32_C(1) << 28) + (INT32_C(1) << 27), x) -
                           (uint32_t)kiln_srdhm(half_input, x3);
        x = sat_pot((int32_t)d, 3);
    }
    x = kiln_srdhm(x, INT32_C(1518500250)); /* times sqrt(2) / 2 */
    if (s < 0) {
        x = (int32_t)((uint32_t)x << -s);
        s = 0;
    }
    *mult = x;
    *shift = -s;
}

void kiln_l2norm_s8(const int8_t *in, int8_t *out, int32_t rows, int32_t depth, int32_t zero_point)
{
    int32_t r, k;
    for (r = 0; r < rows; ++r, in += depth, out += depth) {
        int32_t acc = 0, mult, shift;
        for (k = 0; k < depth; ++k) acc += (in[k] - zero_point) * (in[k] - zero_point);
        inv_sqrt_qm(acc, &mult, &shift);
        for (k = 0; k < depth; ++k) { /* in units of 1/128 whatever the output's quantization, as TFLite Micro */
            out[k] = (int8_t)kiln_clamp_i32(kiln_mul_by_qm(in[k] - zero_point, mult, shift + 7), -128, 127);
        }
    }
}

void kiln_cumsum_f32(const float *in, float *out, int32_t outer, int32_t axis, int32_t inner, int32_t exclusive,
                     int32_t reverse)
{
    int32_t o, a, i;
    for (o = 0; o < outer; ++o) {
        for (i = 0; i < inner; ++i) {
            float acc = 0.0f;
            for (a = 0; a < axis; ++a) {
                const int32_t at = (o * axis + (reverse ? axis - 1 - a : a)) * inner + i;
                const float v = in[at];
                if (!exclusive) acc += v;
                out[at] = acc;
                if (exclusive) acc += v;
            }
        }
    }
}

void kiln_cumsum_s8(const int8_t *in, int8_t *out, int32_t outer, int32_t axis, int32_t inner, int32_t exclusive,
                    int32_t reverse, const int32_t *table, const kiln_add_n_s8_params_t *p)
{
    int32_t o, a, i;
    for (o = 0; o < outer; ++o) {
        for (i = 0; i < inner; ++i) {
            int32_t acc = p->base;
            for (a = 0; a < axis; ++a) {
                const int32_t at = (o * axis + (reverse ? axis - 1 - a : a)) * inner + i;
                const int32_t v = table[in[at] + 128];
                if (!exclusive) acc += v;
                out[at] = (int8_t)kiln_clamp_i32(kiln_mul_by_qm(acc, p->mult, p->shift) + p->out_zp, -128, 127);
                if (exclusive) acc += v;
            }
        }
    }
}

void kiln_add_n_f32(const float *const *ins, int32_t count, float *out, int32_t n)
{
    int32_t i, k;
    for (i = 0; i < n; ++i) {
        float acc = ins[0][i];
        for (k = 1; k < count; ++k) acc += ins[k][i];
        out[i] = acc;
    }
}

void kiln_add_n_s8(const int8_t *const *ins, int32_t count, int8_t *out, int32_t n, const int32_t *table,
                   const kiln_add_n_s8_params_t *p)
{
    int32_t i, k;
    for (i = 0; i < n; ++i) {
        int32_t acc = p->base;
        for (k = 0; k < count; ++k) acc += table[ins[k][i] + 128];
        out[i] = (int8_t)kiln_clamp_i32(kiln_mul_by_qm(acc, p->mult, p->shift) + p->out_zp, -128, 127);
    }
}
