/* Unary maths and activations: float32 math.h functions, int16 rescaling with two slopes, CAST. */
#include <math.h>

#include "kiln_fixedpoint.h"
#include "kiln_runtime.h"

/* TFLite's RoundToNearest: halves to even. */
static float round_half_even(float v)
{
    const float f = floorf(v);
    const float diff = v - f;
    if (diff < 0.5f || (diff == 0.5f && fmodf(f, 2.0f) == 0.0f)) {
        return f;
    }
    return f + 1.0f;
}

#define KILN_MAP(expr)                   \
    for (i = 0; i < n; ++i) {            \
        const float v = in[i];           \
        out[i] = (expr);                 \
    }                                    \
    break

void kiln_map_f32(const float *in, float *out, int32_t n, int32_t fn)
{
    int32_t i;
    switch (fn) {
    case KILN_MAP_ABS: KILN_MAP(fabsf(v));
    case KILN_MAP_NEG: KILN_MAP(-v);
    case KILN_MAP_SQRT: KILN_MAP(sqrtf(v));
    case KILN_MAP_RSQRT: KILN_MAP(1.0f / sqrtf(v));
    case KILN_MAP_SQUARE: KILN_MAP(v * v);
    case KILN_MAP_EXP: KILN_MAP(expf(v));
    case KILN_MAP_LOG: KILN_MAP(logf(v));
    case KILN_MAP_SIN: KILN_MAP(sinf(v));
    case KILN_MAP_COS: KILN_MAP(cosf(v));
    case KILN_MAP_FLOOR: KILN_MAP(floorf(v));
    case KILN_MAP_CEIL: KILN_MAP(ceilf(v));
    case KILN_MAP_ROUND: KILN_MAP(round_half_even(v));
    /* v * min(6, max(0, v + 3)) / 6, with std::min/max's comparisons */
    case KILN_MAP_HARD_SWISH: KILN_MAP(v * (6.0f < (0.0f < v + 3.0f ? v + 3.0f : 0.0f)
                                             ? 6.0f : (0.0f < v + 3.0f ? v + 3.0f : 0.0f)) / 6.0f);
    case KILN_MAP_ELU: KILN_MAP(v < 0.0f ? expm1f(v) : v);
    default: break;
    }
}

#undef KILN_MAP

void kiln_leaky_relu_f32(const float *in, float *out, int32_t n, float alpha)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        const float v = in[i];
        out[i] = v > 0.0f ? v : v * alpha;
    }
}

void kiln_slopes_s16(const int16_t *in, int16_t *out, int32_t n, const kiln_slopes_params_t *p)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        const int32_t d = (int32_t)in[i] - p->in_zp;
        int32_t y;
        if (d >= 0) {
            y = kiln_mul_by_qm(d, p->pos_mult, p->pos_shift);
        } else {
            y = p->neg_out_sign * kiln_mul_by_qm(p->neg_in_sign * d, p->neg_mult, p->neg_shift);
        }
        out[i] = (int16_t)kiln_clamp_i32(y + p->out_zp, p->lo, p->hi);
    }
}

void kiln_abs_i16(const int16_t *in, int16_t *out, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        const int32_t v = in[i] < 0 ? -(int32_t)in[i] : (int32_t)in[i];
        out[i] = (int16_t)(v > INT16_MAX ? INT16_MIN : v);
    }
}

/* One value of kiln_sigmoid_s16; inlined into a loop per kind, so that tanh is a constant there */
static inline int16_t sigmoid_s16_one(int32_t x, int32_t mult, int32_t shift, int32_t round, int tanh,
                                       const uint16_t *table)
{
    const int frac = tanh ? 8 : 9; /* tanh reads the table at twice the rate */
    const uint32_t mask = (UINT32_C(1) << frac) - 1u;
    const int32_t d = (x * mult + round) >> shift;
    const uint32_t a = (uint32_t)(d < 0 ? -d : d);
    const uint32_t uh = a >> frac;
    uint32_t r;
    if (uh >= 255u) {
        r = tanh ? (UINT32_C(0xFFFF) << 8) : (UINT32_C(0x7FFF) << 10);
    } else {
        const uint32_t ua = table[uh], ub = table[uh + 1u];
        r = (ua << frac) + (a & mask) * (ub - ua);
    }
    if (tanh) { /* 2 sigmoid - 1 in Q0.15, rounded */
        const int32_t v = d >= 0 ? (int32_t)r - (INT32_C(1) << 23) + (1 << 7) : -(int32_t)r + (INT32_C(1) << 23) + (1 << 7) - 1;
        return (int16_t)(v >> 8);
    }
    r = d >= 0 ? r + (1u << 9) : (UINT32_C(1) << 25) - r + (1u << 9) - 1u;
    return (int16_t)(r >> 10);
}

void kiln_sigmoid_s16(const int16_t *in, int16_t *out, int32_t n, const kiln_sigmoid_s16_params_t *p,
                      const uint16_t *table)
{
    const int32_t mult = p->mult, shift = p->shift, round = shift > 0 ? (INT32_C(1) << (shift - 1)) : 0;
    int32_t i;
    if (p->tanh) {
        for (i = 0; i < n; ++i) out[i] = sigmoid_s16_one(in[i], mult, shift, round, 1, table);
    } else {
        for (i = 0; i < n; ++i) out[i] = sigmoid_s16_one(in[i], mult, shift, round, 0, table);
    }
}

/* float to an integer range [lo, hi] truncating toward zero, saturating, NaN to 0 (as TFLite
 * Micro's reference build behaves; C leaves out-of-range conversions undefined) */
static int64_t f32_to_int(float v, int64_t lo, int64_t hi)
{
    if (v != v) {
        return 0;
    }
    if (v <= (float)lo) {
        return lo;
    }
    if (v >= (float)hi) { /* (float)INT32_MAX is 2^31, (float)UINT32_MAX 2^32 */
        return hi;
    }
    return (int64_t)v;
}

/* integer narrowing modulo 2^bits, as C++'s static_cast between integer types */
static int32_t wrap(int64_t v, int bits)
{
    const uint32_t mask = (uint32_t)((UINT64_C(1) << bits) - 1u);
    const uint32_t u = (uint32_t)((uint64_t)v & mask);
    const uint32_t sign = UINT32_C(1) << (bits - 1);
    return u >= sign ? (int32_t)(u - sign) - (int32_t)(sign - 1u) - 1 : (int32_t)u;
}

void kiln_cast(const void *in, void *out, int32_t n, int32_t in_type, int32_t out_type)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        int64_t v;
        if (in_type == KILN_CAST_F32) {
            const float f = ((const float *)in)[i];
            if (out_type == KILN_CAST_F32) {
                ((float *)out)[i] = f;
                continue;
            }
            if (out_type == KILN_CAST_BOOL) {
                ((bool *)out)[i] = f != 0.0f;
                continue;
            }
            switch (out_type) {
            case KILN_CAST_I8: v = f32_to_int(f, INT8_MIN, INT8_MAX); break;
            case KILN_CAST_I16: v = f32_to_int(f, INT16_MIN, INT16_MAX); break;
            case KILN_CAST_U8: v = f32_to_int(f, 0, UINT8_MAX); break;
            case KILN_CAST_U32: v = f32_to_int(f, 0, UINT32_MAX); break;
            default: v = f32_to_int(f, INT32_MIN, INT32_MAX); break;
            }
        } else {
            v = kiln_read_int(in, i, in_type);
        }
        switch (out_type) {
        case KILN_CAST_I8: ((int8_t *)out)[i] = (int8_t)wrap(v, 8); break;
        case KILN_CAST_I16: ((int16_t *)out)[i] = (int16_t)wrap(v, 16); break;
        case KILN_CAST_I32: ((int32_t *)out)[i] = wrap(v, 32); break;
        case KILN_CAST_U8: ((uint8_t *)out)[i] = (uint8_t)((uint64_t)v & 0xFFu); break;
        case KILN_CAST_I64: ((int64_t *)out)[i] = v; break;
        case KILN_CAST_U32: ((uint32_t *)out)[i] = (uint32_t)((uint64_t)v & 0xFFFFFFFFu); break;
        case KILN_CAST_BOOL: ((bool *)out)[i] = v != 0; break;
        case KILN_CAST_F32: ((float *)out)[i] = (float)v; break;
        default: break;
        }
    }
}
