/* Kiln runtime: BATCH_MATMUL. Operand layouts come as element strides and the broadcast batch
 * dimensions as per-matrix offset tables (server/kiln/ops/batch_matmul.py), so one loop nest per
 * type covers adj_x, adj_y and broadcasting. */
#include <string.h>

#include "kiln_dsp.h"
#include "kiln_fixedpoint.h"
#include "kiln_runtime.h"

void kiln_batch_matmul_f32(const float *lhs, const float *rhs, float *out, const kiln_batch_matmul_params_t *p)
{
    int32_t b, i, j, k;
    for (b = 0; b < p->batches; ++b) {
        const float *l0 = lhs + p->lhs_off[b], *r0 = rhs + p->rhs_off[b];
        for (i = 0; i < p->rows; ++i) {
            const float *l = l0 + i * p->l_row;
            for (j = 0; j < p->cols; ++j) {
                const float *r = r0 + j * p->r_col;
                float acc = 0.0f;
                for (k = 0; k < p->depth; ++k) acc += l[k * p->l_k] * r[k * p->r_k];
                *out++ = acc;
            }
        }
    }
}

/* sum a[k] * b[k] over n int16 values (n even, both word-aligned on the DSP path: SMLAD, two MACs
 * an instruction) */
static int32_t dot16(const int16_t *a, const int16_t *b, int32_t n)
{
    int32_t acc = 0, k = 0;
#if KILN_DSP
    for (; k + 2 <= n; k += 2) {
        uint32_t x, y;
        memcpy(&x, a + k, 4);
        memcpy(&y, b + k, 4);
        acc = __smlad(x, y, acc);
    }
#endif
    for (; k < n; ++k) acc += (int32_t)a[k] * b[k];
    return acc;
}

/* Two dot products of a with b0 and b1 at once: each word of a loaded once for both. */
static void dot16x2(const int16_t *a, const int16_t *b0, const int16_t *b1, int32_t n, int32_t *acc0, int32_t *acc1)
{
    int32_t s0 = 0, s1 = 0, k = 0;
#if KILN_DSP
    for (; k + 2 <= n; k += 2) {
        uint32_t x, y0, y1;
        memcpy(&x, a + k, 4);
        memcpy(&y0, b0 + k, 4);
        memcpy(&y1, b1 + k, 4);
        s0 = __smlad(x, y0, s0);
        s1 = __smlad(x, y1, s1);
    }
#endif
    for (; k < n; ++k) {
        s0 += (int32_t)a[k] * b0[k];
        s1 += (int32_t)a[k] * b1[k];
    }
    *acc0 = s0;
    *acc1 = s1;
}

/* Two rows a0, a1 by two columns b0, b1 at once (acc: a0.b0, a0.b1, a1.b0, a1.b1): each word
 * loaded once for two SMLADs. */
static void dot16_2x2(const int16_t *a0, const int16_t *a1, const int16_t *b0, const int16_t *b1, int32_t n,
                      int32_t *acc)
{
    int32_t s00 = 0, s01 = 0, s10 = 0, s11 = 0, k = 0;
#if KILN_DSP
    for (; k + 2 <= n; k += 2) {
        uint32_t x0, x1, y0, y1;
        memcpy(&x0, a0 + k, 4);
        memcpy(&x1, a1 + k, 4);
        memcpy(&y0, b0 + k, 4);
        memcpy(&y1, b1 + k, 4);
        s00 = __smlad(x0, y0, s00);
        s01 = __smlad(x0, y1, s01);
        s10 = __smlad(x1, y0, s10);
        s11 = __smlad(x1, y1, s11);
    }
#endif
    for (; k < n; ++k) {
        s00 += (int32_t)a0[k] * b0[k];
        s01 += (int32_t)a0[k] * b1[k];
        s10 += (int32_t)a1[k] * b0[k];
        s11 += (int32_t)a1[k] * b1[k];
    }
    acc[0] = s00, acc[1] = s01, acc[2] = s10, acc[3] = s11;
}

static int8_t requant_s8(int32_t acc, const kiln_batch_matmul_params_t *p)
{
    return (int8_t)kiln_clamp_i32(kiln_mul_by_qm(acc, p->multiplier, p->shift) + p->out_zp, p->act_min, p->act_max);
}

/* An activation rhs (rt: transposed into scratch, int16 less its zero point): rows in pairs by
 * columns in pairs (dot16_2x2), a last odd row two columns at a time, a last odd column alone. */
static void matmul_rows_s8(const int8_t *l0, const int16_t *rt, int16_t *lrows, int8_t *out,
                           const kiln_batch_matmul_params_t *p)
{
    const int32_t depth = p->depth, cols = p->cols;
    int32_t i, j, k, t;
    for (i = 0; i < p->rows; i += 2) {
        const int32_t pair = i + 1 < p->rows;
        int8_t *o = out + i * cols;
        for (t = 0; t <= pair; ++t) {
            const int8_t *l = l0 + (i + t) * p->l_row;
            for (k = 0; k < depth; ++k) lrows[t * depth + k] = (int16_t)(l[k * p->l_k] - p->lhs_zp);
        }
        for (j = 0; j + 1 < cols; j += 2) {
            int32_t acc[4];
            if (pair) {
                dot16_2x2(lrows, lrows + depth, rt + j * depth, rt + (j + 1) * depth, depth, acc);
                o[cols + j] = requant_s8(acc[2], p);
                o[cols + j + 1] = requant_s8(acc[3], p);
            } else {
                dot16x2(lrows, rt + j * depth, rt + (j + 1) * depth, depth, &acc[0], &acc[1]);
            }
            o[j] = requant_s8(acc[0], p);
            o[j + 1] = requant_s8(acc[1], p);
        }
        if (j < cols) {
            for (t = 0; t <= pair; ++t) o[t * cols + j] = requant_s8(dot16(lrows + t * depth, rt + j * depth, depth), p);
        }
    }
}

/* A constant rhs (col_term) keeps its zero-point terms out of the MAC loop:
 * sum (l - lzp)(r - rzp) = sum l r - rzp * sum l + col_term[j], col_term = K lzp rzp - lzp * sum r.
 * An activation rhs is first transposed into scratch as int16 less its zero point, and the lhs
 * rows likewise two at a time, so the MAC loop reads contiguous int16 rows (matmul_rows_s8). */
void kiln_batch_matmul_s8(const int8_t *lhs, const int8_t *rhs, int8_t *out, const kiln_batch_matmul_params_t *p,
                          int16_t *scratch)
{
    int32_t b, i, j, k;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *l0 = lhs + p->lhs_off[b], *r0 = rhs + p->rhs_off[b];
        const int32_t *col_term = p->col_term ? p->col_term + p->rhs_off[b] / p->depth : NULL;
        int16_t *lrows = scratch, *rt = scratch ? scratch + 2 * p->depth : NULL;
        if (!col_term && (b == 0 || p->rhs_off[b] != p->rhs_off[b - 1])) { /* a new rhs matrix */
            for (j = 0; j < p->cols; ++j)
                for (k = 0; k < p->depth; ++k) rt[j * p->depth + k] = (int16_t)(r0[j * p->r_col + k * p->r_k] - p->rhs_zp);
        }
        if (!col_term) {
            matmul_rows_s8(l0, rt, lrows, out, p);
            out += p->rows * p->cols;
            continue;
        }
        for (i = 0; i < p->rows; ++i) {
            const int8_t *l = l0 + i * p->l_row;
            int32_t row_term = 0;
            if (p->rhs_zp != 0) {
                for (k = 0; k < p->depth; ++k) row_term += l[k * p->l_k];
                row_term *= -p->rhs_zp;
            }
            for (j = 0; j < p->cols; ++j) {
                const int8_t *r = r0 + j * p->r_col;
                int32_t acc = 0;
                if (col_term && p->l_k == 1) { /* a constant rhs is stored with r_k == 1 */
                    for (k = 0; k < p->depth; ++k) acc += l[k] * r[k];
                    acc += row_term + col_term[j];
                } else {
                    for (k = 0; k < p->depth; ++k) acc += l[k * p->l_k] * r[k];
                    acc += row_term + col_term[j];
                }
                *out++ = requant_s8(acc, p);
            }
        }
    }
}

void kiln_batch_matmul_s16(const int16_t *lhs, const int16_t *rhs, int16_t *out, const kiln_batch_matmul_params_t *p)
{
    int32_t b, i, j, k;
    for (b = 0; b < p->batches; ++b) {
        const int16_t *l0 = lhs + p->lhs_off[b], *r0 = rhs + p->rhs_off[b];
        for (i = 0; i < p->rows; ++i) {
            const int16_t *l = l0 + i * p->l_row;
            for (j = 0; j < p->cols; ++j) {
                const int16_t *r = r0 + j * p->r_col;
                int64_t acc = 0;
                for (k = 0; k < p->depth; ++k) acc += (int32_t)(l[k * p->l_k] - p->lhs_zp) * (int64_t)(r[k * p->r_k] - p->rhs_zp);
                *out++ = (int16_t)kiln_clamp_i32(kiln_mul_by_qm64(acc, p->multiplier, p->shift) + p->out_zp,
                                                 p->act_min, p->act_max);
            }
        }
    }
}

/* acc + the two int16 products of x and w's halves, in 64 bits: SMLALD where there is one. */
static inline int64_t smlald16(uint32_t x, uint32_t w, int64_t acc)
{
#if KILN_DSP
    return (int64_t)__smlald((int16x2_t)x, (int16x2_t)w, acc);
#else
    return acc + (int64_t)kiln_lo16(x) * kiln_lo16(w) + (int64_t)kiln_hi16(x) * kiln_hi16(w);
#endif
}

/* sum l[d] * c0[d] and l[d] * c1[d] over k int16, in 64 bits: two words of each a trip. */
static void dot_s16_two_columns(const int16_t *l, const int16_t *c0, const int16_t *c1, int32_t k, int64_t *acc)
{
    int64_t a0 = 0, a1 = 0;
    int32_t d;
    for (d = 0; d + 4 <= k; d += 4) {
        uint32_t x0, x1, u0, u1, v0, v1;
        memcpy(&x0, l + d, 4);
        memcpy(&x1, l + d + 2, 4);
        memcpy(&u0, c0 + d, 4);
        memcpy(&u1, c0 + d + 2, 4);
        memcpy(&v0, c1 + d, 4);
        memcpy(&v1, c1 + d + 2, 4);
        a0 = smlald16(x1, u1, smlald16(x0, u0, a0));
        a1 = smlald16(x1, v1, smlald16(x0, v0, a1));
    }
    for (; d < k; ++d) {
        a0 += (int32_t)l[d] * c0[d];
        a1 += (int32_t)l[d] * c1[d];
    }
    acc[0] = a0, acc[1] = a1;
}

/* One output: the 64-bit rescale, then the clamp (a BATCH_MATMUL has no fused activation: the
 * int16 range). */
static inline int16_t out_s16(int64_t acc, kiln_qm64_t q, const kiln_batch_matmul_params_t *p)
{
    return (int16_t)kiln_clamp_i32(kiln_qm64_apply(acc, q), p->act_min, p->act_max);
}

void kiln_batch_matmul_s16_rows(const int16_t *lhs, const int16_t *rhs, int16_t *out,
                                const kiln_batch_matmul_params_t *p, int16_t *scratch)
{
    const int32_t k = p->depth, n = p->cols;
    const kiln_qm64_t q = kiln_qm64_of(p->multiplier, p->shift);
    int32_t b, i, j, d;
    for (b = 0; b < p->batches; ++b) {
        const int16_t *l0 = lhs + p->lhs_off[b], *cols = rhs + p->rhs_off[b];
        if (scratch) { /* the rhs matrix as [cols][depth] */
            for (j = 0; j < n; ++j)
                for (d = 0; d < k; ++d) scratch[j * k + d] = cols[d * p->r_k + j * p->r_col];
            cols = scratch;
        }
        for (i = 0; i < p->rows; ++i, out += n) {
            const int16_t *l = l0 + i * p->l_row;
            int64_t acc[2];
            for (j = 0; j + 2 <= n; j += 2) {
                dot_s16_two_columns(l, cols + j * k, cols + (j + 1) * k, k, acc);
                out[j] = out_s16(acc[0], q, p);
                out[j + 1] = out_s16(acc[1], q, p);
            }
            if (j < n) { /* an odd last column, done as a pair with itself */
                dot_s16_two_columns(l, cols + j * k, cols + j * k, k, acc);
                out[j] = out_s16(acc[0], q, p);
            }
        }
    }
}

/* Column j of the rhs, depth values d..d+3 less the zero point (zeros past the depth). */
static void column4(const int8_t *rhs, const kiln_bmm_pack_t *p, int32_t j, int32_t d, int32_t *v)
{
    int32_t i;
    for (i = 0; i < 4; ++i) v[i] = d + i < p->depth ? rhs[(d + i) * p->r_k + j * p->r_col] - p->rhs_zp : 0;
}

void kiln_batch_matmul_pack_rhs_s8(const int8_t *rhs, const kiln_bmm_pack_t *p, int32_t *stream)
{
    int32_t j, s, c, v[4];
    for (j = 0; j + 1 < p->cols; j += 2) {
        int32_t *bias = stream, sum[2] = {0, 0};
        stream += 2;
        for (s = 0; s < p->steps; ++s) {
            for (c = 0; c < 2; ++c, stream += 2) {
                column4(rhs, p, j + c, 4 * s, v);
                sum[c] += v[0] + v[1] + v[2] + v[3];
                stream[0] = (int32_t)kiln_pair16(v[0], v[2]);
                stream[1] = (int32_t)kiln_pair16(v[1], v[3]);
            }
        }
        bias[0] = -p->lhs_zp * sum[0];
        bias[1] = -p->lhs_zp * sum[1];
        memcpy(stream, p->rq, 3 * sizeof(int32_t));
        memcpy(stream + 3, p->rq, 3 * sizeof(int32_t));
        stream += 6;
    }
    if (j < p->cols) { /* the odd last column: bias, its values as bytes, requantization */
        int8_t *bytes = (int8_t *)(void *)(stream + 1);
        int32_t sum = 0;
        for (s = 0; s < p->tap_len; s += 4) {
            column4(rhs, p, j, s, v);
            for (c = 0; c < 4; ++c) bytes[s + c] = (int8_t)v[c];
            sum += v[0] + v[1] + v[2] + v[3];
        }
        stream[0] = -p->lhs_zp * sum;
        stream += 1 + p->tap_len / 4;
        memcpy(stream, p->rq, 3 * sizeof(int32_t));
    }
}
