/* Kiln runtime: BATCH_MATMUL. Operand layouts come as element strides and the broadcast batch
 * dimensions as per-matrix offset tables (server/kiln/ops/batch_matmul.py), so one loop nest per
 * type covers adj_x, adj_y and broadcasting. */
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

/* With col_term (a constant rhs), the zero points leave the MAC loop:
 * sum (l - lzp)(r - rzp) = sum l r - rzp * sum l + col_term[j], col_term = K lzp rzp - lzp * sum r. */
void kiln_batch_matmul_s8(const int8_t *lhs, const int8_t *rhs, int8_t *out, const kiln_batch_matmul_params_t *p)
{
    int32_t b, i, j, k;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *l0 = lhs + p->lhs_off[b], *r0 = rhs + p->rhs_off[b];
        const int32_t *col_term = p->col_term ? p->col_term + p->rhs_off[b] / p->depth : NULL;
        for (i = 0; i < p->rows; ++i) {
            const int8_t *l = l0 + i * p->l_row;
            int32_t row_term = 0;
            if (col_term && p->rhs_zp != 0) {
                for (k = 0; k < p->depth; ++k) row_term += l[k * p->l_k];
                row_term *= -p->rhs_zp;
            }
            for (j = 0; j < p->cols; ++j) {
                const int8_t *r = r0 + j * p->r_col;
                int32_t acc = 0;
                if (col_term && p->l_k == 1) { /* a constant rhs is stored with r_k == 1 */
                    for (k = 0; k < p->depth; ++k) acc += l[k] * r[k];
                    acc += row_term + col_term[j];
                } else if (col_term) {
                    for (k = 0; k < p->depth; ++k) acc += l[k * p->l_k] * r[k];
                    acc += row_term + col_term[j];
                } else {
                    for (k = 0; k < p->depth; ++k) acc += (l[k * p->l_k] - p->lhs_zp) * (r[k * p->r_k] - p->rhs_zp);
                }
                acc = kiln_mul_by_qm(acc, p->multiplier, p->shift) + p->out_zp;
                *out++ = (int8_t)kiln_clamp_i32(acc, p->act_min, p->act_max);
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
                *out++ = (int16_t)kiln_clamp_i32(kiln_layers_mul_by_qm64(acc, p->multiplier, p->shift) + p->out_zp,
                                                 p->act_min, p->act_max);
            }
        }
    }
}
