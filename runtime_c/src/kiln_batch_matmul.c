/* Kiln runtime: BATCH_MATMUL. Operand layouts come as element strides and the broadcast batch
 * dimensions as per-matrix offset tables (server/kiln/compiler/ops/batch_matmul.py), so one loop nest per
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

/* Two rows by two columns over `quads` steps of 4 depth values: x holds per step the two rows'
 * words of int16 pairs interleaved (row 0's first pair, row 1's, row 0's second, row 1's), w the
 * two columns' the same way; acc[row][column] (a00, a01, a10, a11) as 64-bit sums. */
typedef struct {
    const uint32_t *x, *w;
    int32_t quads;
    int64_t acc[4];
} bmm16_job_t;

#if KILN_DSP
/* SMLALD on all four sums: 8 instructions of loads and MACs per 8 MACs, 16 registers' worth of
 * operands (eight accumulator words, two pointers, four operands), so in assembly with the trip
 * count on the stack. Registers: sums r0-r7, x r8, w r9, operands r10-r12 and lr. */
#define BMM16_STEP                                                                                \
    "ldrd   r10, r11, [r8], #8\n\t"                                                               \
    "ldrd   r12, lr, [r9], #8\n\t"                                                                \
    "smlald r0, r1, r10, r12\n\t"                                                                 \
    "smlald r2, r3, r10, lr\n\t"                                                                  \
    "smlald r4, r5, r11, r12\n\t"                                                                 \
    "smlald r6, r7, r11, lr\n\t"
__attribute__((naked, noinline)) static void bmm16_2x2(bmm16_job_t *job)
{
    (void)job;
    __asm__ volatile(
        "push   {r4-r11, lr}\n\t"
        "ldm    r0, {r8, r9, r10}\n\t"
        "push   {r0, r10}\n\t" /* [sp] job, [sp, #4] trips left */
        "movs   r0, #0\n\t"
        "movs   r1, #0\n\t"
        "movs   r2, #0\n\t"
        "movs   r3, #0\n\t"
        "movs   r4, #0\n\t"
        "movs   r5, #0\n\t"
        "movs   r6, #0\n\t"
        "movs   r7, #0\n\t"
        "1:\n\t" BMM16_STEP BMM16_STEP
        "ldr    r10, [sp, #4]\n\t"
        "subs   r10, r10, #1\n\t"
        "str    r10, [sp, #4]\n\t"
        "bne    1b\n\t"
        "ldr    r10, [sp]\n\t"
        "add    r10, r10, #16\n\t" /* job->acc, 8-byte aligned after three words and padding */
        "stm    r10, {r0-r7}\n\t"
        "add    sp, sp, #8\n\t"
        "pop    {r4-r11, pc}\n\t");
}
#undef BMM16_STEP
#else
static void bmm16_2x2(bmm16_job_t *job)
{
    const uint32_t *x = job->x, *w = job->w;
    int64_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
    int32_t q;
    for (q = 0; q < 2 * job->quads; ++q, x += 2, w += 2) {
        a00 = smlald16(x[0], w[0], a00);
        a01 = smlald16(x[0], w[1], a01);
        a10 = smlald16(x[1], w[0], a10);
        a11 = smlald16(x[1], w[1], a11);
    }
    job->acc[0] = a00, job->acc[1] = a01, job->acc[2] = a10, job->acc[3] = a11;
}
#endif

/* Two vectors of k int16 (b may be a): as the interleaved words bmm16_2x2 walks, zeros after k. */
static void interleave_pairs(const int16_t *a, int32_t a_step, const int16_t *b, int32_t b_step, int32_t k,
                             int32_t padded, int16_t *dst)
{
    int32_t d;
    for (d = 0; d < padded; d += 2, dst += 4) {
        dst[0] = d < k ? a[d * a_step] : 0;
        dst[1] = d + 1 < k ? a[(d + 1) * a_step] : 0;
        dst[2] = d < k ? b[d * b_step] : 0;
        dst[3] = d + 1 < k ? b[(d + 1) * b_step] : 0;
    }
}

void kiln_batch_matmul_s16_rows(const int16_t *lhs, const int16_t *rhs, int16_t *out,
                                const kiln_batch_matmul_params_t *p, int16_t *scratch)
{
    const int32_t k = p->depth, n = p->cols, m = p->rows, padded = (k + 3) / 4 * 4;
    const kiln_qm64_t q = kiln_qm64_of(p->multiplier, p->shift);
    int16_t *rows = scratch, *cols = scratch + 2 * padded; /* a row pair, then every column pair */
    bmm16_job_t job;
    int32_t b, i, j;
    job.quads = padded / 4;
    for (b = 0; b < p->batches; ++b) {
        const int16_t *l0 = lhs + p->lhs_off[b], *r0 = rhs + p->rhs_off[b];
        for (j = 0; j < n; j += 2) { /* an odd last column paired with itself */
            const int16_t *c0 = r0 + j * p->r_col, *c1 = j + 1 < n ? c0 + p->r_col : c0;
            interleave_pairs(c0, p->r_k, c1, p->r_k, k, padded, cols + j * padded);
        }
        for (i = 0; i < m; i += 2) { /* an odd last row paired with itself */
            const int16_t *a = l0 + i * p->l_row;
            const int two = i + 1 < m;
            int16_t *y0 = out + (b * m + i) * n, *y1 = y0 + n;
            interleave_pairs(a, 1, two ? a + p->l_row : a, 1, k, padded, rows);
            job.x = (const uint32_t *)(const void *)rows;
            for (j = 0; j < n; j += 2) {
                job.w = (const uint32_t *)(const void *)(cols + j * padded);
                bmm16_2x2(&job);
                y0[j] = (int16_t)kiln_clamp_i32(kiln_qm64_apply(job.acc[0], q), p->act_min, p->act_max);
                if (two) y1[j] = (int16_t)kiln_clamp_i32(kiln_qm64_apply(job.acc[2], q), p->act_min, p->act_max);
                if (j + 1 == n) break;
                y0[j + 1] = (int16_t)kiln_clamp_i32(kiln_qm64_apply(job.acc[1], q), p->act_min, p->act_max);
                if (two) y1[j + 1] = (int16_t)kiln_clamp_i32(kiln_qm64_apply(job.acc[3], q), p->act_min, p->act_max);
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
