#include "kiln_fixedpoint.h"
#include "kiln_mve.h"
#include "kiln_runtime.h"

/* Walks the collapsed broadcast shape and hands each innermost row to a row function (shared by
 * every binary family: kiln_binary.c, kiln_prelu.c). */
void kiln_bcast_walk(const kiln_bcast_t *s, const char *a, size_t asz, const char *b, size_t bsz, char *out,
                     size_t osz, kiln_row_fn row, const void *params)
{
    int32_t idx[6] = {0, 0, 0, 0, 0, 0};
    const int32_t last = s->ndim - 1;
    const int32_t n = s->dims[last];
    int32_t rows = 1, r, d;
    for (d = 0; d < last; ++d) {
        rows *= s->dims[d];
    }
    for (r = 0; r < rows; ++r) {
        int32_t ao = 0, bo = 0;
        for (d = 0; d < last; ++d) {
            ao += idx[d] * s->a_stride[d];
            bo += idx[d] * s->b_stride[d];
        }
        row(a + (size_t)ao * asz, b + (size_t)bo * bsz, out + (size_t)r * (size_t)n * osz, n,
            s->a_stride[last], s->b_stride[last], params);
        for (d = last - 1; d >= 0; --d) { /* odometer step */
            if (++idx[d] < s->dims[d]) break;
            idx[d] = 0;
        }
    }
}

/* MultiplyByQuantizedMultiplier(v << left_shift, m, -e) for one input value v (offset added):
 * q = {m, e, c, mask} with c = 2^(e-1) and mask = -1 for e >= 1 (RDBPOT's rounding, ties away
 * from zero), c = mask = 0 for e = 0. |v| <= 255, so 2 * (v << 20) fits in int32 and SRDHM is
 * one SMMLAR (as in kiln_rq). */
static inline int32_t add_side(int32_t v, int32_t left_shift, const int32_t *q)
{
    return kiln_smmlar(v * (INT32_C(1) << (left_shift + 1)), q[0], q[2] + ((v >> 31) & q[3])) >> q[1];
}

/* TFLite's general quantized ADD and SUB (sign -1), every type: each side offset, shifted left and
 * rescaled to the common scale, the sum rescaled to the output's. int8 with left shift 20 (the fast
 * path above when the compiler proved it exact), int16 with 15 (65535 << 15 still fits in int32). */
static inline int32_t side_a(int32_t x, const kiln_add_s8_params_t *p)
{
    return kiln_mul_by_qm((p->a_offset + x) * (INT32_C(1) << p->left_shift), p->a_mult, p->a_shift);
}

static inline int32_t side_b(int32_t y, const kiln_add_s8_params_t *p)
{
    return kiln_mul_by_qm((p->b_offset + y) * (INT32_C(1) << p->left_shift), p->b_mult, p->b_shift);
}

static inline int32_t addsub_q(int32_t x, int32_t y, int32_t sign, const kiln_add_s8_params_t *p)
{
    const int32_t r = kiln_mul_by_qm(side_a(x, p) + sign * side_b(y, p), p->out_mult, p->out_shift) + p->out_offset;
    return kiln_clamp_i32(r, p->act_min, p->act_max);
}

#if KILN_MVE
/* add_side on four lanes: SMMLAR(v << (ls + 1), m) is VQRDMULH(v << ls, m) (the doubling is the
 * shift's last bit; m > 0 never saturates), the mask keeps the rounding's -1 for negative values
 * where e >= 1. Every constant a scalar register operand. */
static inline int32x4_t add_side_mve(int32x4_t v, int32_t ls, int32_t m, int32_t neg_e, int32_t c, int32x4_t mask)
{
    const int32x4_t hi = vqrdmulhq_n_s32(vshlq_r_s32(v, ls), m);
    return vshlq_r_s32(vaddq_s32(vaddq_n_s32(hi, c), vandq_s32(vshrq_n_s32(v, 31), mask)), neg_e);
}

/* The fast path of ADD (SUB: sub) over a row without broadcast, four elements a step. The constants
 * in locals first: the int8 stores could alias the parameter block for all the compiler knows. */
static void add_s8_row_mve(const int8_t *a, const int8_t *b, int8_t *o, int32_t n, const kiln_add_s8_params_t *p,
                           int sub)
{
    const int32_t a_off = p->a_offset, b_off = p->b_offset, ls = p->left_shift;
    const int32_t am = p->a_q[0], ae = -p->a_q[1], ac = p->a_q[2], bm = p->b_q[0], be = -p->b_q[1], bc = p->b_q[2];
    const int32_t om = p->out_q[0], oe = -p->out_q[1], oc = p->out_q[2];
    const int32x4_t amask = vdupq_n_s32(p->a_q[3]), bmask = vdupq_n_s32(p->b_q[3]);
    const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
    int32_t i;
    for (i = 0; i < n; i += 4) {
        const mve_pred16_t pr = vctp32q((uint32_t)(n - i));
        const int32x4_t x = add_side_mve(vaddq_n_s32(vldrbq_z_s32(a + i, pr), a_off), ls, am, ae, ac, amask);
        const int32x4_t y = add_side_mve(vaddq_n_s32(vldrbq_z_s32(b + i, pr), b_off), ls, bm, be, bc, bmask);
        const int32x4_t sum = sub ? vsubq_s32(x, y) : vaddq_s32(x, y);
        vstrbq_p_s32(o + i, vminq_s32(vmaxq_s32(kiln_rq_n_mve(sum, om, oe, oc), lo), hi), pr);
    }
}

/* MUL over a row without broadcast: the offset values' products rescaled on four lanes */
static void mul_s8_row_mve(const int8_t *a, const int8_t *b, int8_t *o, int32_t n, const kiln_mul_s8_params_t *p)
{
    const int32_t a_off = p->a_offset, b_off = p->b_offset, out_off = p->out_offset, mult = p->mult, shift = p->shift;
    const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
    int32_t i;
    for (i = 0; i < n; i += 4) {
        const mve_pred16_t pr = vctp32q((uint32_t)(n - i));
        const int32x4_t x = vaddq_n_s32(vldrbq_z_s32(a + i, pr), a_off);
        const int32x4_t y = vaddq_n_s32(vldrbq_z_s32(b + i, pr), b_off);
        const int32x4_t r = vaddq_n_s32(kiln_mul_by_qm_mve(vmulq_s32(x, y), mult, shift), out_off);
        vstrbq_p_s32(o + i, vminq_s32(vmaxq_s32(r, lo), hi), pr);
    }
}
#endif

static void add_s8_row(const void *a_, const void *b_, void *o_, int32_t n, int32_t sa, int32_t sb,
                       const void *p_)
{
    const int8_t *a = (const int8_t *)a_;
    const int8_t *b = (const int8_t *)b_;
    int8_t *o = (int8_t *)o_;
    const kiln_add_s8_params_t *p = (const kiln_add_s8_params_t *)p_;
    int32_t i;
    if (p->fast) { /* the same sums as below, each rescaled in a few instructions */
        const int32_t a_off = p->a_offset, b_off = p->b_offset, ls = p->left_shift;
#if KILN_MVE
        if (sa == 1 && sb == 1) {
            add_s8_row_mve(a, b, o, n, p, 0);
            return;
        }
#endif
        const int32_t lo = p->act_min, hi = p->act_max;
        if (lo == -128 && hi == 127) {
            /* every constant in a local: through p, gcc reloaded eleven of them per element (the
             * int8 stores may alias the parameter block for all it knows) */
            const int32_t aq[4] = {p->a_q[0], p->a_q[1], p->a_q[2], p->a_q[3]};
            const int32_t bq[4] = {p->b_q[0], p->b_q[1], p->b_q[2], p->b_q[3]};
            const int32_t oq[3] = {p->out_q[0], p->out_q[1], p->out_q[2]};
            for (i = 0; i < n; ++i) {
                const int32_t sum = add_side(a_off + a[i * sa], ls, aq) + add_side(b_off + b[i * sb], ls, bq);
                o[i] = (int8_t)kiln_sat8(kiln_rq(sum, oq));
            }
        } else {
            for (i = 0; i < n; ++i) {
                const int32_t sum = add_side(a_off + a[i * sa], ls, p->a_q) + add_side(b_off + b[i * sb], ls, p->b_q);
                o[i] = (int8_t)kiln_clamp_i32(kiln_rq(sum, p->out_q), lo, hi);
            }
        }
        return;
    }
    for (i = 0; i < n; ++i) o[i] = (int8_t)addsub_q(a[i * sa], b[i * sb], 1, p);
}

typedef struct {
    float lo, hi;
} clamp_t;

static float clampf(float v, const clamp_t *c)
{
    v = v < c->lo ? c->lo : v;
    return c->hi < v ? c->hi : v;
}

static void f32_walk(const float *a, const float *b, float *out, const kiln_bcast_t *shape, float lo, float hi,
                     kiln_row_fn row)
{
    clamp_t c;
    c.lo = lo;
    c.hi = hi;
    kiln_bcast_walk(shape, (const char *)a, 4, (const char *)b, 4, (char *)out, 4, row, &c);
}

KILN_BINARY_ROW(add_f32_row, float, clamp_t, clampf(x + y, p))
KILN_BINARY_ROW(sub_f32_row, float, clamp_t, clampf(x - y, p))
KILN_BINARY_ROW(mul_f32_row, float, clamp_t, clampf(x * y, p))
KILN_BINARY_ROW(mul_s8_row, int8_t, kiln_mul_s8_params_t,
                kiln_clamp_i32(kiln_mul_by_qm((p->a_offset + x) * (p->b_offset + y), p->mult, p->shift) + p->out_offset,
                               p->act_min, p->act_max))

void kiln_add_s8(const int8_t *a, const int8_t *b, int8_t *out, const kiln_bcast_t *shape,
                 const kiln_add_s8_params_t *p)
{
    kiln_bcast_walk(shape, (const char *)a, 1, (const char *)b, 1, (char *)out, 1, add_s8_row, p);
}

typedef struct {
    const kiln_add_s8_params_t *p;
    const int32_t *sides;
} add_tables_t;

/* ADD or SUB from the compiler's tables (the "tables" variant): each input value's side, TFLite's
 * exact rescaling of (value + offset) << left_shift (the second input's negated for SUB), so an
 * element is two loads and the output's rescaling, where add_s8_row rescaled both sides. */
static void add_s8_row_tables(const void *a_, const void *b_, void *o_, int32_t n, int32_t sa, int32_t sb,
                              const void *t_)
{
    const add_tables_t *t = (const add_tables_t *)t_;
    const kiln_add_s8_params_t *p = t->p;
    const int32_t *ta = t->sides + 128, *tb = t->sides + 384; /* indexed by the int8 value */
    const int8_t *a = (const int8_t *)a_;
    const int8_t *b = (const int8_t *)b_;
    int8_t *o = (int8_t *)o_;
    const int32_t lo = p->act_min, hi = p->act_max;
    int32_t i;
    if (p->fast) {
        const int32_t oq[3] = {p->out_q[0], p->out_q[1], p->out_q[2]};
        if (sa == 1 && sb == 1 && lo == -128 && hi == 127) {
            for (i = 0; i < n; ++i) o[i] = (int8_t)kiln_sat8(kiln_rq(ta[a[i]] + tb[b[i]], oq));
            return;
        }
        for (i = 0; i < n; ++i) o[i] = (int8_t)kiln_clamp_i32(kiln_rq(ta[a[i * sa]] + tb[b[i * sb]], oq), lo, hi);
        return;
    }
    for (i = 0; i < n; ++i) {
        const int32_t v = kiln_mul_by_qm(ta[a[i * sa]] + tb[b[i * sb]], p->out_mult, p->out_shift) + p->out_offset;
        o[i] = (int8_t)kiln_clamp_i32(v, lo, hi);
    }
}

void kiln_addsub_s8_tables(const int8_t *a, const int8_t *b, int8_t *out, const kiln_bcast_t *shape,
                           const kiln_add_s8_params_t *p, const int32_t *sides)
{
    add_tables_t t;
    t.p = p;
    t.sides = sides;
    kiln_bcast_walk(shape, (const char *)a, 1, (const char *)b, 1, (char *)out, 1, add_s8_row_tables, &t);
}

#if KILN_MVE
static void mul_s8_row_any(const void *a, const void *b, void *o, int32_t n, int32_t sa, int32_t sb, const void *p)
{
    if (sa == 1 && sb == 1) {
        mul_s8_row_mve((const int8_t *)a, (const int8_t *)b, (int8_t *)o, n, (const kiln_mul_s8_params_t *)p);
    } else {
        mul_s8_row(a, b, o, n, sa, sb, p);
    }
}
#define MUL_S8_ROW mul_s8_row_any
#else
#define MUL_S8_ROW mul_s8_row
#endif

void kiln_mul_s8(const int8_t *a, const int8_t *b, int8_t *out, const kiln_bcast_t *shape,
                 const kiln_mul_s8_params_t *p)
{
    kiln_bcast_walk(shape, (const char *)a, 1, (const char *)b, 1, (char *)out, 1, MUL_S8_ROW, p);
}

void kiln_add_f32(const float *a, const float *b, float *out, const kiln_bcast_t *shape, float act_min,
                  float act_max)
{
    f32_walk(a, b, out, shape, act_min, act_max, add_f32_row);
}

void kiln_mul_f32(const float *a, const float *b, float *out, const kiln_bcast_t *shape, float act_min,
                  float act_max)
{
    f32_walk(a, b, out, shape, act_min, act_max, mul_f32_row);
}

/* SUB: the two sides rescaled exactly as ADD's, then subtracted (TFLite's raw_sub). */
static void sub_s8_row(const void *a_, const void *b_, void *o_, int32_t n, int32_t sa, int32_t sb,
                       const void *p_)
{
    const int8_t *a = (const int8_t *)a_;
    const int8_t *b = (const int8_t *)b_;
    int8_t *o = (int8_t *)o_;
    const kiln_add_s8_params_t *p = (const kiln_add_s8_params_t *)p_;
    int32_t i;
#if KILN_MVE
    if (p->fast && sa == 1 && sb == 1) {
        add_s8_row_mve(a, b, o, n, p, 1);
        return;
    }
#endif
    for (i = 0; i < n; ++i) {
        if (p->fast) {
            const int32_t diff = add_side(p->a_offset + a[i * sa], p->left_shift, p->a_q) -
                                 add_side(p->b_offset + b[i * sb], p->left_shift, p->b_q);
            o[i] = (int8_t)kiln_clamp_i32(kiln_rq(diff, p->out_q), p->act_min, p->act_max);
        } else {
            o[i] = (int8_t)addsub_q(a[i * sa], b[i * sb], -1, p);
        }
    }
}

void kiln_sub_s8(const int8_t *a, const int8_t *b, int8_t *out, const kiln_bcast_t *shape,
                 const kiln_add_s8_params_t *p)
{
    kiln_bcast_walk(shape, (const char *)a, 1, (const char *)b, 1, (char *)out, 1, sub_s8_row, p);
}

void kiln_sub_f32(const float *a, const float *b, float *out, const kiln_bcast_t *shape, float act_min,
                  float act_max)
{
    f32_walk(a, b, out, shape, act_min, act_max, sub_f32_row);
}

/* int16 ADD, SUB (addsub_q) and MUL (zero points 0, as TFLite Micro requires) */
KILN_BINARY_ROW(add_s16_row, int16_t, kiln_add_s8_params_t, addsub_q(x, y, 1, p))
KILN_BINARY_ROW(sub_s16_row, int16_t, kiln_add_s8_params_t, addsub_q(x, y, -1, p))
KILN_BINARY_ROW(mul_s16_row, int16_t, kiln_mul_s8_params_t,
                kiln_clamp_i32(kiln_mul_by_qm((int32_t)x * y, p->mult, p->shift) + p->out_offset, p->act_min,
                               p->act_max))

void kiln_add_s16(const int16_t *a, const int16_t *b, int16_t *out, const kiln_bcast_t *shape,
                  const kiln_add_s8_params_t *p)
{
    kiln_bcast_walk(shape, (const char *)a, 2, (const char *)b, 2, (char *)out, 2, add_s16_row, p);
}

void kiln_sub_s16(const int16_t *a, const int16_t *b, int16_t *out, const kiln_bcast_t *shape,
                  const kiln_add_s8_params_t *p)
{
    kiln_bcast_walk(shape, (const char *)a, 2, (const char *)b, 2, (char *)out, 2, sub_s16_row, p);
}

void kiln_mul_s16(const int16_t *a, const int16_t *b, int16_t *out, const kiln_bcast_t *shape,
                  const kiln_mul_s8_params_t *p)
{
    kiln_bcast_walk(shape, (const char *)a, 2, (const char *)b, 2, (char *)out, 2, mul_s16_row, p);
}

/* Quantized SQUARED_DIFFERENCE (TFLite Micro's): both sides to a common scale as ADD's (left shift
 * 7 for int8, 0 for int16), the difference squared, then rescaled to the output's scale. */
static inline int32_t sqdiff_q(int32_t x, int32_t y, const kiln_add_s8_params_t *p)
{
    const int32_t d = side_a(x, p) - side_b(y, p);
    return kiln_clamp_i32(kiln_mul_by_qm(d * d, p->out_mult, p->out_shift) + p->out_offset, p->act_min, p->act_max);
}

KILN_BINARY_ROW(sqdiff_s8_row, int8_t, kiln_add_s8_params_t, sqdiff_q(x, y, p))
KILN_BINARY_ROW(sqdiff_s16_row, int16_t, kiln_add_s8_params_t, sqdiff_q(x, y, p))

void kiln_squared_difference_s8(const int8_t *a, const int8_t *b, int8_t *out, const kiln_bcast_t *shape,
                                const kiln_add_s8_params_t *p)
{
    kiln_bcast_walk(shape, (const char *)a, 1, (const char *)b, 1, (char *)out, 1, sqdiff_s8_row, p);
}

void kiln_squared_difference_s16(const int16_t *a, const int16_t *b, int16_t *out, const kiln_bcast_t *shape,
                                 const kiln_add_s8_params_t *p)
{
    kiln_bcast_walk(shape, (const char *)a, 2, (const char *)b, 2, (char *)out, 2, sqdiff_s16_row, p);
}

/* int8 DIV as TFLite Micro's: the divisor's reciprocal from the table (TFLite's GetReciprocal of
 * |b - zero point|: multiplier and bits over unit, two words per int8 value), the numerator
 * shifted by its leading sign bits, and both shifts folded into the output's rescale. */
static int32_t clrsb32(int32_t x)
{
    uint32_t u = x < 0 ? ~(uint32_t)x : (uint32_t)x;
    int32_t n = 31;
    while (u) {
        u >>= 1;
        --n;
    }
    return n;
}

/* RoundingDivideByPOT for any exponent up to 62. Past 31 TFLite Micro's gemmlowp code shifts by
 * more than the word (undefined in C++); its x86 builds, the numerical reference, take the mask as
 * all ones and the shift count mod 32, and so does this: a tiny quotient (a small numerator over a
 * large divisor) comes out as TFLite Micro's, not as 0. */
static int32_t rdbpot_wide(int32_t x, int32_t e)
{
    if (e <= 31) return kiln_rdbpot(x, e);
    return (x >> (e & 31)) + (x > (x < 0 ? 0 : -1) ? 1 : 0);
}

static inline int32_t div_s8(int32_t a, int32_t b, const kiln_div_s8_params_t *p)
{
    const int32_t *recip = p->recip + 2 * (b + 128);
    int32_t x = p->a_offset + a;
    int32_t h, q;
    if (p->b_offset + b < 0) x = -x;
    h = clrsb32(x);
    q = kiln_srdhm((int32_t)((uint32_t)x << h), recip[0]);
    q = rdbpot_wide(kiln_srdhm(q, p->out_mult), recip[1] + h - p->out_shift) + p->out_offset;
    return kiln_clamp_i32(q, p->act_min, p->act_max);
}

KILN_BINARY_ROW(div_s8_row, int8_t, kiln_div_s8_params_t, div_s8(x, y, p))

void kiln_div_s8(const int8_t *a, const int8_t *b, int8_t *out, const kiln_bcast_t *shape,
                 const kiln_div_s8_params_t *p)
{
    kiln_bcast_walk(shape, (const char *)a, 1, (const char *)b, 1, (char *)out, 1, div_s8_row, p);
}
