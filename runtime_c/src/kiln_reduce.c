/* Reductions over any set of axes (ops/reduce.py): SUM, MEAN, REDUCE_MAX, REDUCE_MIN, ARG_MAX,
 * ARG_MIN, as TFLite Micro's reference Reduce walks them. */
#include <float.h>
#include <math.h>

#include "kiln_fixedpoint.h"
#include "kiln_runtime.h"

/* One row of a reduction: n elements `stride` apart folded into *acc by OP (sum, max or min). */
#define KILN_REDUCE_ROW(name, T, ACC, OP)                                                              \
    static void name(const void *in, int32_t n, int32_t stride, ACC *acc)                             \
    {                                                                                                  \
        const T *x = (const T *)in;                                                                    \
        ACC a = *acc;                                                                                  \
        int32_t k;                                                                                     \
        for (k = 0; k < n; ++k, x += stride) {                                                         \
            const ACC v = (ACC)*x;                                                                     \
            a = OP;                                                                                    \
        }                                                                                              \
        *acc = a;                                                                                      \
    }

KILN_REDUCE_ROW(sum_i8, int8_t, int32_t, a + v)
KILN_REDUCE_ROW(max_i8, int8_t, int32_t, v > a ? v : a)
KILN_REDUCE_ROW(min_i8, int8_t, int32_t, v < a ? v : a)
KILN_REDUCE_ROW(sum_i16, int16_t, int32_t, a + v)
KILN_REDUCE_ROW(max_i16, int16_t, int32_t, v > a ? v : a)
KILN_REDUCE_ROW(min_i16, int16_t, int32_t, v < a ? v : a)
KILN_REDUCE_ROW(sum_f32, float, float, a + v)
KILN_REDUCE_ROW(max_f32, float, float, v > a ? v : a)
KILN_REDUCE_ROW(min_f32, float, float, v < a ? v : a)

typedef void (*row_i_fn)(const void *in, int32_t n, int32_t stride, int32_t *acc);
typedef void (*row_f_fn)(const void *in, int32_t n, int32_t stride, float *acc);

/* The index of the first largest (largest = 1) or smallest (0) of n values `stride` apart. */
#define KILN_ARG_ROW(name, T)                                                                          \
    static int32_t name(const void *in, int32_t n, int32_t stride, int32_t largest)                   \
    {                                                                                                  \
        const T *x = (const T *)in;                                                                    \
        T best = x[0];                                                                                 \
        int32_t at = 0, k;                                                                             \
        if (largest) {                                                                                 \
            for (k = 1, x += stride; k < n; ++k, x += stride) {                                        \
                if (*x > best) { best = *x; at = k; }                                              \
            }                                                                                          \
        } else {                                                                                       \
            for (k = 1, x += stride; k < n; ++k, x += stride) {                                        \
                if (*x < best) { best = *x; at = k; }                                              \
            }                                                                                          \
        }                                                                                              \
        return at;                                                                                     \
    }

KILN_ARG_ROW(arg_i8, int8_t)
KILN_ARG_ROW(arg_i16, int16_t)
KILN_ARG_ROW(arg_f32, float)

typedef int32_t (*arg_fn)(const void *in, int32_t n, int32_t stride, int32_t largest);

/* Calls row(in + base + offset of each innermost reduced row) over the reduced axes: an odometer
 * over the outer reduced dimensions, pointers moved by their strides (no divisions). */
static void walk_reduced(const char *in, int32_t esize, const kiln_reduce_t *p, row_i_fn ri, int32_t *acci,
                         row_f_fn rf, float *accf)
{
    int32_t idx[6] = {0, 0, 0, 0, 0, 0};
    const int32_t last = p->nr - 1;
    int32_t rows = 1, r, d;
    for (d = 0; d < last; ++d) rows *= p->rdims[d];
    for (r = 0; r < rows; ++r) {
        if (ri) ri(in, p->rdims[last], p->rstride[last], acci);
        else rf(in, p->rdims[last], p->rstride[last], accf);
        for (d = last - 1; d >= 0; --d) {
            in += (size_t)p->rstride[d] * (size_t)esize;
            if (++idx[d] < p->rdims[d]) break;
            in -= (size_t)p->rstride[d] * (size_t)p->rdims[d] * (size_t)esize;
            idx[d] = 0;
        }
    }
}

static const row_i_fn ROWS_I8[] = {sum_i8, sum_i8, max_i8, min_i8};
static const row_i_fn ROWS_I16[] = {sum_i16, sum_i16, max_i16, min_i16};
static const row_f_fn ROWS_F32[] = {sum_f32, sum_f32, max_f32, min_f32};

void kiln_reduce(const void *in, void *out, const kiln_reduce_t *p)
{
    int32_t idx[6] = {0, 0, 0, 0, 0, 0};
    const int32_t esize = p->type == KILN_RT_I8 ? 1 : (p->type == KILN_RT_I16 ? 2 : 4);
    const int arg = p->kind == KILN_RED_ARGMAX || p->kind == KILN_RED_ARGMIN;
    const int32_t largest = p->kind == KILN_RED_ARGMAX;
    const int32_t lo = p->type == KILN_RT_I8 ? -128 : -32768, hi = p->type == KILN_RT_I8 ? 127 : 32767;
    const int32_t n = p->rdims[p->nr - 1], st = p->rstride[p->nr - 1];
    const int rescale = p->kind == KILN_RED_SUM || p->kind == KILN_RED_MEAN;
    /* the row functions for this kind and type, chosen once */
    const arg_fn af = p->type == KILN_RT_I8 ? arg_i8 : (p->type == KILN_RT_I16 ? arg_i16 : arg_f32);
    const row_i_fn ri = arg || p->type == KILN_RT_F32 ? NULL : (p->type == KILN_RT_I8 ? ROWS_I8 : ROWS_I16)[p->kind];
    const row_f_fn rf = arg || p->type != KILN_RT_F32 ? NULL : ROWS_F32[p->kind];
    const char *base = (const char *)in;
    int32_t outs = 1, o, d;
    for (d = 0; d < p->nk; ++d) outs *= p->kdims[d];
    for (o = 0; o < outs; ++o) {
        if (arg) { /* one reduced axis */
            ((int32_t *)out)[o] = af(base, p->count, p->rstride[0], largest);
        } else if (rf) {
            float acc = p->kind == KILN_RED_MAX ? -FLT_MAX : (p->kind == KILN_RED_MIN ? FLT_MAX : 0.0f);
            if (p->nr == 1) rf(base, n, st, &acc);
            else walk_reduced(base, 4, p, NULL, NULL, rf, &acc);
            ((float *)out)[o] = p->kind == KILN_RED_MEAN ? acc / (float)p->count : acc;
        } else {
            int32_t acc = p->kind == KILN_RED_MAX ? lo : (p->kind == KILN_RED_MIN ? hi : 0);
            if (p->nr == 1) ri(base, n, st, &acc);
            else walk_reduced(base, esize, p, ri, &acc, NULL, NULL);
            if (rescale) {
                acc = kiln_clamp_i32(kiln_mul_by_qm(acc - p->in_zp * p->count, p->mult, p->shift) + p->out_zp, lo, hi);
            }
            if (esize == 1) ((int8_t *)out)[o] = (int8_t)acc;
            else ((int16_t *)out)[o] = (int16_t)acc;
        }
        /* odometer step over the kept dimensions */
        for (d = p->nk - 1; d >= 0; --d) {
            base += (size_t)p->kstride[d] * (size_t)esize;
            if (++idx[d] < p->kdims[d]) break;
            base -= (size_t)p->kstride[d] * (size_t)p->kdims[d] * (size_t)esize;
            idx[d] = 0;
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
