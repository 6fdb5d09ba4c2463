/* Binary element-wise operators of every type, one row function over kiln_bcast_walk: MAXIMUM,
 * MINIMUM, the comparisons, LOGICAL_AND/OR, SQUARED_DIFFERENCE, DIV, FLOOR_DIV, FLOOR_MOD; and
 * LOGICAL_NOT and SELECT_V2 (ops/binary.py). */
#include <math.h>
#include <string.h>

#include "kiln_fixedpoint.h"
#include "kiln_runtime.h"

#define ROW(T, OT, EXPR)                                          \
    do {                                                          \
        const T *x_ = (const T *)a_;                              \
        const T *y_ = (const T *)b_;                              \
        OT *o_ = (OT *)out_;                                      \
        for (i = 0; i < n; ++i) {                                 \
            const T u = x_[i * sa];                               \
            const T v = y_[i * sb];                               \
            o_[i] = (OT)(EXPR);                                   \
        }                                                         \
    } while (0)

/* the comparison OPER on every type; int8 with different scales through TFLite's rescaling tables */
#define COMPARE(OPER)                                                                        \
    switch (p->type) {                                                                       \
    case KILN_BT_F32: ROW(float, bool, u OPER v); break;                                     \
    case KILN_BT_I8: ROW(int8_t, bool, u OPER v); break;                                     \
    case KILN_BT_I16: ROW(int16_t, bool, u OPER v); break;                                   \
    case KILN_BT_I32: ROW(int32_t, bool, u OPER v); break;                                   \
    case KILN_BT_I64: ROW(int64_t, bool, u OPER v); break;                                   \
    case KILN_BT_BOOL: ROW(bool, bool, u OPER v); break;                                     \
    default: ROW(int8_t, bool, p->lut_a[u + 128] OPER p->lut_b[v + 128]); break;             \
    }

/* EXPR on every numeric type, the output of the input's type */
#define SAME(EXPR)                                                                           \
    switch (p->type) {                                                                       \
    case KILN_BT_F32: ROW(float, float, EXPR); break;                                        \
    case KILN_BT_I8: ROW(int8_t, int8_t, EXPR); break;                                       \
    case KILN_BT_I16: ROW(int16_t, int16_t, EXPR); break;                                    \
    case KILN_BT_I64: ROW(int64_t, int64_t, EXPR); break;                                    \
    default: ROW(int32_t, int32_t, EXPR); break;                                             \
    }

static float clampf(float v, const kiln_binary_t *p)
{
    v = v < p->act_min ? p->act_min : v;
    return p->act_max < v ? p->act_max : v;
}

/* TFLite's FloorMod: the remainder takes the divisor's sign */
static float floor_mod_f32(float x, float y)
{
    const float r = fmodf(x, y);
    return (r != 0.0f && ((y < 0.0f) != (r < 0.0f))) ? r + y : r;
}

static int32_t floor_mod_i32(int32_t x, int32_t y)
{
    int32_t r;
    if (y == 0 || (x == INT32_MIN && y == -1)) return 0;
    r = x % y;
    return (r != 0 && ((y < 0) != (r < 0))) ? r + y : r;
}

static int32_t floor_div_i32(int32_t x, int32_t y)
{
    int32_t q;
    if (y == 0 || (x == INT32_MIN && y == -1)) return 0;
    q = x / y;
    return (x % y != 0 && ((x < 0) != (y < 0))) ? q - 1 : q;
}

static int32_t div_i32(int32_t x, int32_t y)
{
    return (y == 0 || (x == INT32_MIN && y == -1)) ? 0 : x / y;
}

/* (u - v)^2 wrapping in 32 bits, as int32 arithmetic on the target does (no undefined overflow) */
static int32_t sqdiff_i32(int32_t u, int32_t v)
{
    const uint32_t d = (uint32_t)u - (uint32_t)v;
    return (int32_t)(d * d);
}

/* int32 arithmetic wraps as the target's does (no undefined overflow), then the activation */
static int32_t arith_i32(int32_t op, int32_t u, int32_t v, const kiln_binary_t *p)
{
    const uint32_t a = (uint32_t)u, b = (uint32_t)v;
    const uint32_t r = op == KILN_BIN_ADD ? a + b : (op == KILN_BIN_SUB ? a - b : a * b);
    const int32_t s = (int32_t)(r > (uint32_t)INT32_MAX ? -(int32_t)(~r) - 1 : (int32_t)r);
    return kiln_clamp_i32(s, p->iact_min, p->iact_max);
}

static void row(const void *a_, const void *b_, void *out_, int32_t n, int32_t sa, int32_t sb, const void *params)
{
    const kiln_binary_t *p = (const kiln_binary_t *)params;
    int32_t i;
    switch (p->op) {
    case KILN_BIN_MAX: SAME(u > v ? u : v); break;
    case KILN_BIN_MIN: SAME(u < v ? u : v); break;
    case KILN_BIN_EQ: COMPARE(==); break;
    case KILN_BIN_NE: COMPARE(!=); break;
    case KILN_BIN_GT: COMPARE(>); break;
    case KILN_BIN_GE: COMPARE(>=); break;
    case KILN_BIN_LT: COMPARE(<); break;
    case KILN_BIN_LE: COMPARE(<=); break;
    case KILN_BIN_AND: ROW(bool, bool, u && v); break;
    case KILN_BIN_OR: ROW(bool, bool, u || v); break;
    case KILN_BIN_SQDIFF:
        if (p->type == KILN_BT_F32) ROW(float, float, (u - v) * (u - v));
        else ROW(int32_t, int32_t, sqdiff_i32(u, v));
        break;
    case KILN_BIN_DIV:
        if (p->type == KILN_BT_F32) ROW(float, float, clampf(u / v, p));
        else ROW(int32_t, int32_t, div_i32(u, v));
        break;
    case KILN_BIN_FLOOR_DIV:
        if (p->type == KILN_BT_F32) ROW(float, float, floorf(u / v));
        else ROW(int32_t, int32_t, floor_div_i32(u, v));
        break;
    case KILN_BIN_ADD:
    case KILN_BIN_SUB:
    case KILN_BIN_MUL: ROW(int32_t, int32_t, arith_i32(p->op, u, v, p)); break;
    default: /* KILN_BIN_FLOOR_MOD */
        if (p->type == KILN_BT_F32) ROW(float, float, floor_mod_f32(u, v));
        else ROW(int32_t, int32_t, floor_mod_i32(u, v));
        break;
    }
}

static size_t type_bytes(int32_t type)
{
    switch (type) {
    case KILN_BT_I16: return 2u;
    case KILN_BT_F32:
    case KILN_BT_I32: return 4u;
    case KILN_BT_I64: return 8u;
    default: return 1u;
    }
}

void kiln_binary(const void *a, const void *b, void *out, const kiln_bcast_t *shape, const kiln_binary_t *p)
{
    const size_t in_bytes = type_bytes(p->type);
    const int compare = p->op >= KILN_BIN_EQ && p->op <= KILN_BIN_OR;
    kiln_bcast_walk(shape, (const char *)a, in_bytes, (const char *)b, in_bytes, (char *)out,
                    compare ? 1u : in_bytes, row, p);
}

void kiln_logical_not(const bool *in, bool *out, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; ++i) out[i] = !in[i];
}

void kiln_select(const bool *cond, const void *x, const void *y, void *out, const kiln_select_t *s)
{
    int32_t idx[6] = {0, 0, 0, 0, 0, 0};
    const int32_t last = s->ndim - 1;
    const size_t e = (size_t)s->elem;
    int32_t rows = 1, r, d, i;
    uint8_t *o = (uint8_t *)out;
    for (d = 0; d < last; ++d) rows *= s->dims[d];
    for (r = 0; r < rows; ++r) {
        int32_t co = 0, xo = 0, yo = 0;
        for (d = 0; d < last; ++d) {
            co += idx[d] * s->c_stride[d];
            xo += idx[d] * s->x_stride[d];
            yo += idx[d] * s->y_stride[d];
        }
        {
            const bool *c = cond + co;
            const uint8_t *xr = (const uint8_t *)x + (size_t)xo * e, *yr = (const uint8_t *)y + (size_t)yo * e;
            const int32_t cs = s->c_stride[last], xs = s->x_stride[last], ys = s->y_stride[last], n = s->dims[last];
            switch (s->elem) { /* a typed load and store per element (tensors are aligned to their type) */
            case 1:
                for (i = 0; i < n; ++i) o[i] = c[i * cs] ? xr[i * xs] : yr[i * ys];
                break;
            case 2:
                for (i = 0; i < n; ++i)
                    ((uint16_t *)(void *)o)[i] = c[i * cs] ? ((const uint16_t *)(const void *)xr)[i * xs]
                                                           : ((const uint16_t *)(const void *)yr)[i * ys];
                break;
            case 4:
                for (i = 0; i < n; ++i)
                    ((uint32_t *)(void *)o)[i] = c[i * cs] ? ((const uint32_t *)(const void *)xr)[i * xs]
                                                           : ((const uint32_t *)(const void *)yr)[i * ys];
                break;
            default:
                for (i = 0; i < n; ++i) memcpy(o + (size_t)i * e, c[i * cs] ? xr + (size_t)(i * xs) * e : yr + (size_t)(i * ys) * e, e);
                break;
            }
            o += (size_t)n * e;
        }
        for (d = last - 1; d >= 0; --d) {
            if (++idx[d] < s->dims[d]) break;
            idx[d] = 0;
        }
    }
}
