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
    const int32_t *col_term; /* int8, constant rhs: K lzp rzp - lzp * sum_k R[k][j] per rhs matrix and column */
} kiln_batch_matmul_params_t;

void kiln_batch_matmul_f32(const float *lhs, const float *rhs, float *out, const kiln_batch_matmul_params_t *p);
/* scratch (an activation rhs only, NULL for a constant one): (2 + cols) * depth int16, word-aligned,
 * for two lhs rows and the rhs matrix transposed, each less its zero point */
void kiln_batch_matmul_s8(const int8_t *lhs, const int8_t *rhs, int8_t *out, const kiln_batch_matmul_params_t *p,
                          int16_t *scratch);
void kiln_batch_matmul_s16(const int16_t *lhs, const int16_t *rhs, int16_t *out, const kiln_batch_matmul_params_t *p);

/* TRANSPOSE_CONV: NHWC, weights [out_c][k_h][k_w][in_c]; padding as TFLite computes it. Quantized:
 * per output channel multiplier and shift (int16: zero points 0, 64-bit accumulator and rescale). */
typedef struct {
    int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c;
    int32_t k_h, k_w, stride_h, stride_w, pad_h, pad_w;
    int32_t in_zp, out_zp, act_min, act_max;
    float f_min, f_max;
    const int32_t *multiplier, *shift;
    const int32_t *zp_wsum; /* int8: in_zp * sum of the weights of each [out_c][k_h][k_w] tap */
} kiln_transpose_conv_params_t;

void kiln_transpose_conv_f32(const float *input, const float *filter, const float *bias, float *output,
                             const kiln_transpose_conv_params_t *p);
void kiln_transpose_conv_s8(const int8_t *input, const int8_t *filter, const int32_t *bias, int8_t *output,
                            const kiln_transpose_conv_params_t *p);
void kiln_transpose_conv_s16(const int16_t *input, const int8_t *filter, const int64_t *bias, int16_t *output,
                             const kiln_transpose_conv_params_t *p);

/* EMBEDDING_LOOKUP: n ids into rows x cols values of elem bytes; scale for the int8 -> float32 path. */
typedef struct {
    int32_t n, rows, cols, elem;
    float scale;
} kiln_embedding_params_t;

void kiln_embedding_lookup(const int32_t *ids, const void *values, void *output, const kiln_embedding_params_t *p);
void kiln_embedding_lookup_dequant_s8(const int32_t *ids, const int8_t *values, float *output,
                                      const kiln_embedding_params_t *p);

/* L2_POOL_2D (float32, NHWC). */
typedef struct {
    int32_t batches, in_h, in_w, c, out_h, out_w;
    int32_t f_h, f_w, s_h, s_w, pad_h, pad_w;
    float act_min, act_max;
} kiln_l2pool_params_t;

void kiln_l2pool_f32(const float *input, float *output, const kiln_l2pool_params_t *p);

/* UNIDIRECTIONAL_SEQUENCE_LSTM (kiln_lstm.c), TFLite Micro's: input [steps][batches][n_input] when
 * time_major, else [batches][steps][n_input]; output likewise with n_cell; hidden and cell states
 * [batches][n_cell], updated in place. Per gate k (0 input, 1 forget, 2 cell, 3 output): input
 * weights [n_cell][n_input], recurrent weights [n_cell][n_cell] as in the model. scratch: 4 * n_cell
 * elements of the cell type (float, int16), word-aligned. */
typedef struct {
    int32_t batches, steps, n_input, n_cell, time_major;
} kiln_lstm_dims_t;

typedef struct {
    kiln_lstm_dims_t dims;
    const float *w_in[4], *w_rec[4], *bias[4];
    float cell_clip; /* > 0: the cell state is clipped to [-cell_clip, cell_clip] */
} kiln_lstm_f32_params_t;

/* int8 (kiln_lstm_s8) or int16 (kiln_lstm_s16) activations, int8 weights, int16 cell state. Gate
 * FCs rescaled to int16 at scale 2^-12 by mult/shift (TFLite's MultiplyByQuantizedMultiplier).
 * s8: b_in int32 biases with the input zero point folded in, b_rec int32 -h_zp * sum of each
 * recurrent row (or NULL), in_zp and h_zp unused. s16: b_in the model's int64 biases, b_rec NULL,
 * the zero points subtracted by kiln_fully_connected_s16 (64-bit accumulator). */
typedef struct {
    kiln_lstm_dims_t dims;
    const int8_t *w_in[4], *w_rec[4];
    const void *b_in[4], *b_rec[4];
    int32_t mult_in[4], shift_in[4], mult_rec[4], shift_rec[4];
    int32_t in_zp, h_zp;
    int32_t forget_mult, forget_shift; /* forget gate x cell state -> cell state */
    int32_t input_mult, input_shift;   /* input gate x cell gate -> cell state */
    int32_t hidden_mult, hidden_shift, hidden_zp, hidden_min, hidden_max; /* tanh(cell) x output gate -> hidden */
    int32_t cell_clip;                 /* quantized (truncated); >= 0: clip the cell state to +-cell_clip, -1: none */
    int32_t tanh_mult, tanh_shift;     /* the cell state's rescaling for kiln_sigmoid_s16's tanh */
    const uint16_t *sigmoid_table;     /* kiln_sigmoid_s16's table */
} kiln_lstm_q_params_t;

void kiln_lstm_f32(const float *in, float *out, float *hidden, float *cell, const kiln_lstm_f32_params_t *p,
                   float *scratch);
void kiln_lstm_s8(const int8_t *in, int8_t *out, int8_t *hidden, int16_t *cell, const kiln_lstm_q_params_t *p,
                  int16_t *scratch);
void kiln_lstm_s16(const int16_t *in, int16_t *out, int16_t *hidden, int16_t *cell, const kiln_lstm_q_params_t *p,
                   int16_t *scratch);

#endif
