/* Kiln runtime: compute-layer kernels beyond convolution and fully connected: transposed
 * convolution, batch matmul, resizing, L2 pooling, embedding lookup (included by kiln_runtime.h). */
#ifndef KILN_LAYERS_H
#define KILN_LAYERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RESIZE_*: NHWC; depth and batch in bytes (nearest) or elements (bilinear); tables from the compiler. */
typedef struct {
    int32_t batches, out_h, out_w;
    int32_t depth; /* elements per pixel (bytes for kiln_resize_nearest) */
    int32_t batch; /* elements (bytes) per input batch */
} kiln_resize_params_t;

void kiln_resize_nearest(const void *input, void *output, const int32_t *rows, const int32_t *cols,
                         const kiln_resize_params_t *p);
void kiln_resize_bilinear_f32(const float *input, float *output, const int32_t *yi, const float *yw,
                              const int32_t *xi, const float *xw, const kiln_resize_params_t *p);
void kiln_resize_bilinear_s8(const int8_t *input, int8_t *output, const int32_t *yi, const int32_t *yw,
                             const int32_t *xi, const int32_t *xw, const kiln_resize_params_t *p);

/* BATCH_MATMUL: out[b][i][j] = sum_k (L - lhs_zp)(R - rhs_zp), L[i][k] at lhs_off[b] + i * l_row + k * l_k,
 * R[k][j] at rhs_off[b] + k * r_k + j * r_col (elements). Quantized fields unused for float. */
typedef struct {
    int32_t batches, rows, cols, depth;
    int32_t l_row, l_k, r_k, r_col;
    const int32_t *lhs_off, *rhs_off;
    int32_t lhs_zp, rhs_zp, multiplier, shift, out_zp, act_min, act_max;
} kiln_batch_matmul_params_t;

int32_t kiln_mul_by_qm64(int64_t x, int32_t multiplier, int32_t shift);
void kiln_batch_matmul_f32(const float *lhs, const float *rhs, float *out, const kiln_batch_matmul_params_t *p);
void kiln_batch_matmul_s8(const int8_t *lhs, const int8_t *rhs, int8_t *out, const kiln_batch_matmul_params_t *p);
void kiln_batch_matmul_s16(const int16_t *lhs, const int16_t *rhs, int16_t *out, const kiln_batch_matmul_params_t *p);

#endif
