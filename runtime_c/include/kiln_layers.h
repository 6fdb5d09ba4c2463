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
/* The same where the lhs rows are contiguous (not adj_x): two rows by two columns at a time by
 * SMLALD into exact 64-bit sums, both pairs interleaved a word at a time in scratch (the depth
 * rounded up to a multiple of 4, padded with zeros: a row pair, then every column pair of the rhs
 * matrix; 4 * padded * (1 + ceil(cols / 2)) bytes, word-aligned). */
void kiln_batch_matmul_s16_rows(const int16_t *lhs, const int16_t *rhs, int16_t *out,
                                const kiln_batch_matmul_params_t *p, int16_t *scratch);
/* int8 with an activation rhs on the convolution's kernel: one rhs matrix (element strides r_k,
 * r_col) packed at run time into the filter stream of kiln_conv_s8_w16 for a 1x1 convolution of
 * `cols` output channels over `depth` input channels (ops/conv.py pack_conv's layout): per pair of
 * columns their biases -lhs_zp * sum_k (R - rhs_zp), `steps` (even) steps of 4 depth values less
 * rhs_zp as int16 pairs, and rq (the 3 requantization words every column shares); an odd last
 * column (rhs_zp 0) as plain bytes, tap_len of them. */
typedef struct {
    int32_t depth, cols, r_k, r_col, rhs_zp, lhs_zp, tap_len, steps;
    const int32_t *rq;
} kiln_bmm_pack_t;
void kiln_batch_matmul_pack_rhs_s8(const int8_t *rhs, const kiln_bmm_pack_t *p, int32_t *stream);

/* TRANSPOSE_CONV: NHWC, weights [out_c][k_h][k_w][in_c]; padding as TFLite computes it. Quantized:
 * per output channel multiplier and shift (int16: zero points 0, 64-bit accumulator and rescale). */
typedef struct {
    int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c;
    int32_t k_h, k_w, stride_h, stride_w, pad_h, pad_w;
    int32_t in_zp, out_zp, act_min, act_max;
    float f_min, f_max;
    const int32_t *multiplier, *shift;
} kiln_transpose_conv_params_t;

void kiln_transpose_conv_f32(const float *input, const float *filter, const float *bias, float *output,
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
 * weights [n_cell][n_input], recurrent weights [n_cell][n_cell] as in the model. scratch, word-aligned:
 * 4 * n_cell elements of the cell type (float, int16), and for s8 24 * n_cell bytes. */
typedef struct {
    int32_t batches, steps, n_input, n_cell, time_major;
} kiln_lstm_dims_t;

typedef struct {
    kiln_lstm_dims_t dims;
    const float *w_in[4], *w_rec[4], *bias[4];
    float cell_clip; /* > 0: the cell state is clipped to [-cell_clip, cell_clip] */
} kiln_lstm_f32_params_t;

/* int8 (kiln_lstm_s8) or int16 (kiln_lstm_s16) activations, int8 weights, int16 cell state. Gate
 * FCs rescaled to int16 at scale 2^-12 (TFLite's MultiplyByQuantizedMultiplier).
 * s8: the four gates' weights as one [4 n_cell][n] matrix each for the input and the recurrent FC,
 * packed for kiln_fc_s8_acc (packed_in, packed_rec), and int32 biases [4 n_cell]: bias_in with the
 * input zero point folded in, bias_rec -h_zp * the sum of each recurrent row (or NULL); w_in, w_rec,
 * b_in, b_rec, in_zp and h_zp unused. s16: w_in, w_rec as in the model, b_in its int64 biases, b_rec
 * NULL, the zero points subtracted by kiln_fully_connected_s16 (64-bit accumulator). */
typedef struct {
    kiln_lstm_dims_t dims;
    const int8_t *w_in[4], *w_rec[4];
    const void *b_in[4], *b_rec[4];
    const int8_t *packed_in, *packed_rec;
    const int32_t *bias_in, *bias_rec;
    int32_t mult_in[4], shift_in[4], mult_rec[4], shift_rec[4]; /* s16: the gate FCs' rescaling */
    int32_t in_zp, h_zp;
    kiln_rescale_t rq_in[4], rq_rec[4]; /* s8: the gate FCs' rescaling */
    kiln_rescale_t forget;              /* forget gate x cell state -> cell state */
    kiln_rescale_t input;               /* input gate x cell gate -> cell state */
    kiln_rescale_t hidden;              /* tanh(cell) x output gate -> hidden (its zero point included) */
    int32_t hidden_min, hidden_max;
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

/* SVDF (kiln_svdf.c), TFLite Micro's: input [batches][input_size]; the state [batches][filters]
 * [memory], updated in place (a variable tensor: kept between invocations); output [batches][units],
 * units = filters / rank. Per invocation each filter's memory moves one place left, its newest
 * place takes the feature FC of the input, and each unit sums the rank time products (filter row of
 * weights_time . filter's memory) of its filters, plus its bias. */
typedef struct {
    int32_t batches, input_size, filters, rank, memory;
} kiln_svdf_dims_t;

/* act: the fused activation (0 none, 1 RELU, 2 RELU_N1_TO_1, 3 RELU6, 4 TANH, 5 SIGN_BIT) */
typedef struct {
    kiln_svdf_dims_t dims;
    const float *w_feature, *w_time, *bias; /* [filters][input_size], [filters][memory], [units] or NULL */
    int32_t act;
} kiln_svdf_f32_params_t;

/* int8 input and output, int16 (kiln_svdf_s8) or int8 (kiln_svdf_s8_state8) state and time weights.
 * The feature FC's weights packed for kiln_fc_s8_acc, feature_bias -input_zp * each row's sum;
 * time_bias -state_zp * each time row's sum (or NULL); bias [units] (or NULL). TFLite
 * Micro applies no fused activation to the int8 output, so neither does this. scratch: filters words. */
typedef struct {
    kiln_svdf_dims_t dims;
    const int8_t *feature_packed;
    const int32_t *feature_bias;
    const void *w_time;
    const int32_t *time_bias, *bias;
    kiln_rescale_t feature; /* feature FC -> state (before its clamp and zero point) */
    kiln_rescale_t out;     /* unit sums -> output (its zero point included) */
    int32_t state_zp;
} kiln_svdf_q_params_t;

void kiln_svdf_f32(const float *in, float *state, float *out, const kiln_svdf_f32_params_t *p);
void kiln_svdf_s8(const int8_t *in, int16_t *state, int8_t *out, const kiln_svdf_q_params_t *p, int32_t *scratch);
void kiln_svdf_s8_state8(const int8_t *in, int8_t *state, int8_t *out, const kiln_svdf_q_params_t *p,
                         int32_t *scratch);

#endif
