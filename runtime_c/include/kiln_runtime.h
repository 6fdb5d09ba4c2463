/* Kernels called by generated code. Portable C99; the caller owns every buffer.
 * One signature shape: inputs, outputs, then sizes and a constant parameter block. */
#ifndef KILN_RUNTIME_H
#define KILN_RUNTIME_H

#include <float.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kiln_model.h"

/* A rescaling the compiler chose (quantmath.rescaling): q = {m, e, c} for kiln_rq when fast (it
 * proved kiln_rq equal to TFLite's for every value the kernel can pass), else {multiplier, shift,
 * zero point} for TFLite's MultiplyByQuantizedMultiplier plus the zero point; kiln_rescale applies it. */
typedef struct {
    int32_t q[3], fast;
} kiln_rescale_t;

/* ---- broadcasting: up to 6 collapsed dimensions, element strides (0 repeats) ---- */
typedef struct {
    int32_t ndim;
    int32_t dims[6];
    int32_t a_stride[6];
    int32_t b_stride[6];
} kiln_bcast_t;

/* A row function gets n elements of a (stride sa), b (stride sb), the output (contiguous). */
typedef void (*kiln_row_fn)(const void *a, const void *b, void *out, int32_t n, int32_t sa, int32_t sb,
                            const void *params);
/* Calls row for every innermost row of the broadcast (kiln_elementwise.c); element sizes in bytes. */
void kiln_bcast_walk(const kiln_bcast_t *s, const char *a, size_t asz, const char *b, size_t bsz, char *out,
                     size_t osz, kiln_row_fn row, const void *params);

/* For the kernels' own use: defines a kiln_row_fn `name` computing o[i] = EXPR over a row, x and y
 * the elements of a (type TA) and b (TB), the output of type TO, p the parameter block (type P). */
#define KILN_BINARY_ROW_T(name, TA, TB, TO, P, EXPR)                                                   \
    static void name(const void *a_, const void *b_, void *o_, int32_t n, int32_t sa, int32_t sb,     \
                     const void *p_)                                                                   \
    {                                                                                                  \
        const TA *a = (const TA *)a_;                                                                  \
        const TB *b = (const TB *)b_;                                                                  \
        TO *o = (TO *)o_;                                                                              \
        const P *p = (const P *)p_;                                                                    \
        int32_t i;                                                                                     \
        (void)p;                                                                                       \
        for (i = 0; i < n; ++i) {                                                                      \
            const TA x = a[i * sa];                                                                    \
            const TB y = b[i * sb];                                                                    \
            o[i] = (TO)(EXPR);                                                                         \
        }                                                                                              \
    }
#define KILN_BINARY_ROW(name, T, P, EXPR) KILN_BINARY_ROW_T(name, T, T, T, P, EXPR)

/* the operator families' kernels, one header each */
#include "kiln_elementwise.h"
#include "kiln_maths.h"
#include "kiln_movement.h"
#include "kiln_reduce.h"
#include "kiln_layers.h"
#include "kiln_signal.h"
#include "kiln_int16.h"

/* ---- profiling: compiles to nothing unless KILN_PROFILE is defined ---- */
#ifdef KILN_PROFILE
uint32_t kiln_timer_read(void); /* platform hook: a free-running tick counter */
#define KILN_PROFILE_OP(ticks, i, call)                                  \
    do {                                                                 \
        const uint32_t kiln_t0_ = kiln_timer_read();                     \
        call;                                                            \
        if ((ticks) != NULL) (ticks)[i] = kiln_timer_read() - kiln_t0_;  \
    } while (0)
#else
#define KILN_PROFILE_OP(ticks, i, call) call
#endif

/* ---- TFLite_Detection_PostProcess (kiln_detection.c): float box encodings [num_boxes][encoding_stride]
 * ({y, x, h, w} first), scores [num_boxes][classes_with_background], anchors [num_boxes][4]; outputs
 * out_rows boxes {ymin, xmin, ymax, xmax}, classes, scores, and the count; the caller's scratch as
 * ops/detection.py sizes it ---- */
typedef struct {
    int32_t num_boxes, encoding_stride, num_classes, classes_with_background;
    int32_t max_detections, categories, detections_per_class, regular, out_rows;
    float score_threshold, iou_threshold, y_scale, x_scale, h_scale, w_scale;
} kiln_detection_params_t;
void kiln_detection_postprocess(const float *encodings, const float *scores, const float *anchors, float *out_boxes,
                                float *out_classes, float *out_scores, float *out_num,
                                const kiln_detection_params_t *p, void *scratch);

/* ---- fully connected ---- */
typedef struct {
    int32_t batches, depth, units;
    const int32_t *rq; /* requantization, 3 words per unit when per_channel, else 3: {m, e, c} for
                        * kiln_rq when rq_fast, else {multiplier, shift, 0} (TFLite's exact path) */
    int32_t per_channel, rq_fast;
    int32_t out_zp, act_min, act_max;
} kiln_fc_s8_params_t;

/* weights packed by the compiler: rows in groups of four, 4-byte chunks interleaved; _w16: the
 * same pre-widened to int16 pairs in int32 words (kiln tune's "weights16" variant) */
void kiln_fully_connected_s8(const int8_t *in, const int8_t *packed, const int32_t *bias, int8_t *out,
                             const kiln_fc_s8_params_t *p);
void kiln_fully_connected_s8_w16(const int8_t *in, const int32_t *packed, const int32_t *bias, int8_t *out,
                                 const kiln_fc_s8_params_t *p);
/* The same with the input widened once into scratch (2 * (depth / 4) + depth % 4 words): the "both16" variant. */
void kiln_fully_connected_s8_w16x(const int8_t *in, const int32_t *packed, const int32_t *bias, int8_t *out,
                                  const kiln_fc_s8_params_t *p, uint32_t *scratch);
/* The same with the weights row after row as in the model (the "rows" variant): the portable loop
 * for CPUs without the DSP extension indexes the input and two rows with one register. */
void kiln_fully_connected_s8_rows(const int8_t *in, const int8_t *weights, const int32_t *bias, int8_t *out,
                                  const kiln_fc_s8_params_t *p);
/* acc[u] += the dot product of x (depth bytes) with row u of weights packed as for
 * kiln_fully_connected_s8 (units rows): the DSP FC loop for kernels that rescale on their own */
void kiln_fc_s8_acc(const int8_t *x, const int8_t *packed, int32_t depth, int32_t units, int32_t *acc);
/* INT4 weights kept two a byte (half the flash): per group of four rows and 4-byte chunk, a word of
 * rows 0 and 1 (low and high nibble of each byte) and a word of rows 2 and 3; tails and leftover
 * rows as int8 (kiln tune's "weights4" variant, the default for an INT4 model) */
void kiln_fully_connected_s4(const int8_t *in, const int8_t *packed, const int32_t *bias, int8_t *out,
                             const kiln_fc_s8_params_t *p);
/* 16x8: int16 activations, int8 weights [units][depth] with each row's groups of four stored as w0,
 * w2, w1, w3 in pairs of rows (see pack_rows_s16), an int64 bias and
 * accumulator (acc64) or TFLite Micro's int32 ones; mult/shift per unit when per_channel */
typedef struct {
    int32_t batches, depth, units;
    const int32_t *mult, *shift;
    int32_t per_channel, acc64, in_zp, out_zp, act_min, act_max;
} kiln_fc_s16_params_t;
void kiln_fully_connected_s16(const int16_t *in, const int8_t *weights, const void *bias, int16_t *out,
                              const kiln_fc_s16_params_t *p);
/* The same with the weights stored as int16 pairs (the "weights16" variant, pack_rows_s16_wide): rows
 * in groups of four, per four depth values each row's (w0, w1), (w2, w3); then each row's tail a
 * weight a word */
void kiln_fully_connected_s16_w16(const int16_t *in, const int32_t *weights, const void *bias, int16_t *out,
                                  const kiln_fc_s16_params_t *p);
/* 1 or 2 rows of weights in that layout by (x - in_zp) (depth values), added to 64-bit sums acc[];
 * returns the weights after them (the 16x8 FC and CONV_2D loop) */
const int8_t *kiln_fc_s16_rows(const int16_t *x, const int8_t *w, int32_t depth, int32_t rows, int32_t in_zp,
                               int64_t *acc);
void kiln_fully_connected_f32(const float *in, const float *weights, const float *bias, float *out,
                              int32_t batches, int32_t depth, int32_t units, float act_min, float act_max);

/* ---- element-wise binary ---- */
typedef struct {
    int32_t a_offset, a_mult, a_shift;
    int32_t b_offset, b_mult, b_shift;
    int32_t left_shift;
    int32_t out_offset, out_mult, out_shift;
    int32_t act_min, act_max;
    int32_t fast; /* the compiler proved the constants below exact for every pair of inputs */
    int32_t a_q[4], b_q[4]; /* {m, e, c, sign mask}: (input + offset) << left_shift rescaled, see add_s8_row */
    int32_t out_q[3];       /* {m, e, c} for kiln_rq */
} kiln_add_s8_params_t;

typedef struct {
    int32_t a_offset, b_offset, out_offset;
    int32_t mult, shift;
    int32_t act_min, act_max;
} kiln_mul_s8_params_t;

void kiln_add_s8(const int8_t *a, const int8_t *b, int8_t *out, const kiln_bcast_t *shape,
                 const kiln_add_s8_params_t *p);
/* ADD and SUB (the "tables" variant): sides[value + 128] the first input's rescaled side,
 * sides[256 + value + 128] the second's (negated for SUB); p's out_q and fast for the output */
void kiln_addsub_s8_tables(const int8_t *a, const int8_t *b, int8_t *out, const kiln_bcast_t *shape,
                           const kiln_add_s8_params_t *p, const int32_t *sides);
void kiln_mul_s8(const int8_t *a, const int8_t *b, int8_t *out, const kiln_bcast_t *shape,
                 const kiln_mul_s8_params_t *p);
/* SUB takes ADD's parameters: both sides rescaled as for ADD, the second subtracted */
void kiln_sub_s8(const int8_t *a, const int8_t *b, int8_t *out, const kiln_bcast_t *shape,
                 const kiln_add_s8_params_t *p);
void kiln_sub_f32(const float *a, const float *b, float *out, const kiln_bcast_t *shape, float act_min,
                  float act_max);
/* int16 (TFLite Micro's 16-bit quantized path): ADD and SUB with left_shift 15, MUL with zero points 0 */
void kiln_add_s16(const int16_t *a, const int16_t *b, int16_t *out, const kiln_bcast_t *shape,
                  const kiln_add_s8_params_t *p);
void kiln_sub_s16(const int16_t *a, const int16_t *b, int16_t *out, const kiln_bcast_t *shape,
                  const kiln_add_s8_params_t *p);
void kiln_mul_s16(const int16_t *a, const int16_t *b, int16_t *out, const kiln_bcast_t *shape,
                  const kiln_mul_s8_params_t *p);
/* int8 DIV (TFLite Micro's): recip holds, for every int8 divisor value, TFLite's GetReciprocal of
 * |b - zero point| as {multiplier, bits over unit} */
typedef struct {
    int32_t a_offset, b_offset, out_offset, out_mult, out_shift, act_min, act_max;
    const int32_t *recip;
} kiln_div_s8_params_t;
void kiln_div_s8(const int8_t *a, const int8_t *b, int8_t *out, const kiln_bcast_t *shape,
                 const kiln_div_s8_params_t *p);
/* quantized SQUARED_DIFFERENCE on ADD's parameter block (left_shift 7 for int8, 0 for int16) */
void kiln_squared_difference_s8(const int8_t *a, const int8_t *b, int8_t *out, const kiln_bcast_t *shape,
                                const kiln_add_s8_params_t *p);
void kiln_squared_difference_s16(const int16_t *a, const int16_t *b, int16_t *out, const kiln_bcast_t *shape,
                                 const kiln_add_s8_params_t *p);
void kiln_add_f32(const float *a, const float *b, float *out, const kiln_bcast_t *shape, float act_min,
                  float act_max);
void kiln_mul_f32(const float *a, const float *b, float *out, const kiln_bcast_t *shape, float act_min,
                  float act_max);

/* ---- element-wise unary ---- */
void kiln_lut_s8(const int8_t *in, int8_t *out, int32_t n, const int8_t *table);
void kiln_clamp_f32(const float *in, float *out, int32_t n, float lo, float hi);
void kiln_logistic_f32(const float *in, float *out, int32_t n);
void kiln_tanh_f32(const float *in, float *out, int32_t n);

/* ---- softmax over the innermost dimension ---- */
void kiln_softmax_s8(const int8_t *in, int8_t *out, int32_t outer, int32_t depth, const int32_t *exp_table);
void kiln_softmax_f32(const float *in, float *out, int32_t outer, int32_t depth, float beta);

/* ---- convolution, NHWC; filters [out_c, k_h, k_w, in_c] or depthwise [1, k_h, k_w, out_c] ---- */
typedef struct {
    int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c;
    int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_top, pad_left;
    int32_t depth_multiplier;
} kiln_conv_geometry_t;

typedef struct {
    kiln_conv_geometry_t g;
    int32_t in_zp; /* taps outside the image read as this (the input offset is folded into bias) */
    const int32_t *rq; /* per output channel, 3 words: {m, e, c} for kiln_rq when rq_fast,
                        * else {multiplier, shift, 0} for TFLite's exact path */
    int32_t rq_fast;
    int32_t out_zp, act_min, act_max;
    int32_t tap_len; /* CONV_2D with im2col: the column length, padded to a multiple of 4 */
} kiln_conv_s8_params_t;

/* 16x8 CONV_2D and DEPTHWISE_CONV_2D (filter [1][k_h][k_w][out_c] as in the model). CONV_2D's filter
 * [out_c][k_h][k_w][in_c] is packed as a 16x8 FC's [out_c][k_h * k_w * in_c] (kiln_fc_s16_rows's
 * layout), and each output pixel's taps copied to scratch (k_h * k_w * in_c int16; NULL for
 * DEPTHWISE_CONV_2D) to be its input.
 * int16 activations without zero points, per-channel mult/shift, an int64 bias and accumulator
 * (acc64) or TFLite Micro's int32 ones */
typedef struct {
    kiln_conv_geometry_t g;
    const int32_t *mult, *shift;
    int32_t acc64, act_min, act_max, depthwise;
    /* kiln_conv_s16_pairs: int16 words between output pixels, rows and batches, 0 for a dense
     * output (a TRANSPOSE_CONV stride phase writes every stride-th pixel) */
    int32_t out_px_step, out_row_step, out_batch_step;
    /* kiln_conv_s16_pairs, kiln_depthwise_conv_s16: per channel {M, bias} where the compiler proved
     * that the int32 sum plus the bias stays within int32 and TFLite's 64-bit rescale equals one
     * rounded high multiply by M (conv16x8.fast_rescale), else NULL */
    const int32_t *rq;
} kiln_conv_s16_params_t;
void kiln_conv_s16(const int16_t *in, const int8_t *filter, const void *bias, int16_t *out,
                   const kiln_conv_s16_params_t *p, int16_t *scratch);
/* 16x8 CONV_2D whose every channel's sum stays within int32 (the compiler checks sum |w| * 2^15):
 * two output pixels' taps copied to scratch (the depth k_h * k_w * in_c rounded up to a multiple
 * of 8, zeros outside the image and after the depth; 2 columns, then both interleaved: 8 * that
 * many bytes), then two output channels at a time by SMLAD on those int16 pairs, the int8 kernel's
 * loop. filter (conv16x8.pack_pairs): per pair of output channels (an odd last one with itself),
 * per step of 4 depth values, each channel's weights as two words of int16 pairs. */
void kiln_conv_s16_pairs(const int16_t *in, const int32_t *filter, const void *bias, int16_t *out,
                         const kiln_conv_s16_params_t *p, int16_t *scratch);

/* 16x8 DEPTHWISE_CONV_2D whose sums stay within int32 (under 512 taps), at most
 * KILN_CONV_MAX_TAPS taps: each output pixel's taps found once (zeros: in_c int16 zeros for those
 * outside the image; between the image's edges moved from the previous pixel's), then with depth
 * multiplier 1 four channels at a time by SMLABB / SMLATT (on Cortex-M at -O2, with rq, an even
 * in_c and word-aligned in and zeros: assembly loops reading a tap's four int16 by one LDRD).
 * filter (conv16x8.pack_depthwise): per block of four channels (multiplier 1), per tap, two words
 * of int16 pairs; then per tap the other output channels' weights, one a word. */
void kiln_depthwise_conv_s16(const int16_t *in, const int32_t *filter, const void *bias, int16_t *out,
                             const kiln_conv_s16_params_t *p, const int16_t *zeros);

/* The filter is packed by the compiler into one stream of words with each output channel pair's
 * biases (the input zero point folded in) and requantization beside its weights (see pack_conv;
 * p->rq is unused). Taps are read in place (scratch NULL; in_c a multiple of 4; zp_vector: in_c copies of the
 * input zero point, for taps outside the image; at most KILN_CONV_MAX_TAPS taps), or im2col'd
 * into scratch (2 * tap_len bytes, zp_vector unused). */
#define KILN_CONV_MAX_TAPS 64
void kiln_conv_s8(const int8_t *in, const int32_t *packed, int8_t *out, const kiln_conv_s8_params_t *p,
                  int8_t *scratch, const int8_t *zp_vector);
/* The same writing output pixels out_steps[0] bytes apart, rows out_steps[1] and batches
 * out_steps[2] apart (one stride phase of a TRANSPOSE_CONV writes every stride-th pixel). */
void kiln_conv_s8_strided(const int8_t *in, const int32_t *packed, int8_t *out, const kiln_conv_s8_params_t *p,
                          int8_t *scratch, const int8_t *zp_vector, const int32_t *out_steps);
/* The same with the filter stored pre-widened as int16 pairs (kiln tune's "16" variants). */
void kiln_conv_s8_w16(const int8_t *in, const int32_t *packed, int8_t *out, const kiln_conv_s8_params_t *p,
                      int8_t *scratch, const int8_t *zp_vector);
/* The "rows" variant (CPUs without the DSP extension): per channel pair, each channel's weights in
 * one run (the same stream otherwise: biases, zero steps, requantization words). */
void kiln_conv_s8_rows(const int8_t *in, const int32_t *packed, int8_t *out, const kiln_conv_s8_params_t *p,
                       int8_t *scratch, const int8_t *zp_vector);
/* Depth multiplier 1: the filter is packed by the compiler into one stream of words (blocks of
 * four channels, pairs of taps as int16) with each channel's bias (the input zero point folded
 * in) and requantization (see pack_depthwise; p->rq is unused); zp_vector = in_c copies of in_zp
 * (at most KILN_CONV_MAX_TAPS taps). _general: any depth multiplier, TFLite's filter, bias, p->rq. */
void kiln_depthwise_conv_s8(const int8_t *in, const int32_t *packed, int8_t *out, const kiln_conv_s8_params_t *p,
                            const int8_t *zp_vector);
/* Depth multiplier 1 with TFLite's filter layout ("rows" variant, CPUs without DSP): the bias with
 * the input zero point folded in, p->rq, zp_vector as kiln_depthwise_conv_s8's. */
void kiln_depthwise_conv_s8_rows(const int8_t *in, const int8_t *filter, const int32_t *bias, int8_t *out,
                                 const kiln_conv_s8_params_t *p, const int8_t *zp_vector);
void kiln_depthwise_conv_s8_general(const int8_t *in, const int8_t *filter, const int32_t *bias, int8_t *out,
                                    const kiln_conv_s8_params_t *p);
/* Depth multiplier above 1, at most KILN_CONV_MAX_TAPS taps: bias with the input zero point folded
 * in, p->rq; zp_vector = in_c copies of in_zp; filter (conv.pack_multiplier): per block of 4
 * output channels (the last one shorter), per pair of taps (zero weights after an odd last tap),
 * each output's two weights as an int16 pair. */
void kiln_depthwise_conv_s8_multiplier(const int8_t *in, const int32_t *filter, const int32_t *bias, int8_t *out,
                                       const kiln_conv_s8_params_t *p, const int8_t *zp_vector);
/* Any depth multiplier on planes ("planes" variant; kiln_depthwise_planes.c): at most 32 kernel rows;
 * stream (planes.pack in the compiler): per output channel its bias with the input zero point
 * folded in, its {m, e, c} (p->rq's words), per kernel row its weights as int16 pairs, all doubled;
 * plane: scratch for a ring of the input's rows widened to int16 (planes.scratch_bytes). */
void kiln_depthwise_conv_s8_planes(const int8_t *in, const int32_t *stream, int8_t *out,
                                   const kiln_conv_s8_params_t *p, int16_t *plane);
/* The same for kernels other than 3 wide at stride 1 (_wide1) or at stride 2 without dilation
 * (_wide2): planes.path W1 / W2 in the compiler, whose streams interleave E and O words / hold E only. */
void kiln_depthwise_conv_s8_planes_wide1(const int8_t *in, const int32_t *stream, int8_t *out,
                                         const kiln_conv_s8_params_t *p, int16_t *plane);
void kiln_depthwise_conv_s8_planes_wide2(const int8_t *in, const int32_t *stream, int8_t *out,
                                         const kiln_conv_s8_params_t *p, int16_t *plane);
/* 3x3, depth multiplier 1 or 2, in_c a multiple of 4, no dilation ("rowpairs" variant;
 * kiln_depthwise_rowpairs.c): the input's rows paired as int16 in a ring in scratch (rowpairs.scratch_bytes
 * in the compiler), `chunk` groups of four output channels a pass; stream (rowpairs.pack): per group its
 * biases, its weights as int16 pairs of kernel rows, its {m, e, c} (p->rq's words), doubled but those;
 * ahead of them a group's ring in bytes and, for a ring without drift ("rowpairs_still"), the words
 * to the stream's second copy, for odd pair-rows (else 0). */
void kiln_depthwise_conv_s8_rowpairs(const int8_t *in, const int32_t *stream, int8_t *out,
                                     const kiln_conv_s8_params_t *p, uint32_t *scratch, int32_t chunk);
/* The same at dilation d (both ways, stride 1): d * d undilated layers on the sub-images of each
 * phase's rows and columns, the ring sized for the first (the largest). */
void kiln_depthwise_conv_s8_rowpairs_dilated(const int8_t *in, const int32_t *stream, int8_t *out,
                                             const kiln_conv_s8_params_t *p, uint32_t *scratch, int32_t chunk);
/* INT4 filters: the packed stream kept in flash with its weights as nibbles (half the bytes) and
 * rebuilt into RAM before the kernel runs: runs of kind << 14 | twice << 13 | words, kind 0 words
 * stored as they are, 1, 2, 3 words of 4 int8, 2 int16 or 1 int32 values stored as nibbles, two a
 * byte, low first (kind 2 with `twice`: each value twice its nibble, planes' doubled weights). */
void kiln_expand_s4(int32_t *dst, const uint8_t *src, const uint16_t *runs, int32_t n_runs);
void kiln_conv_f32(const float *in, const float *filter, const float *bias, float *out,
                   const kiln_conv_geometry_t *g, float act_min, float act_max);
void kiln_depthwise_conv_f32(const float *in, const float *filter, const float *bias, float *out,
                             const kiln_conv_geometry_t *g, float act_min, float act_max);

/* ---- pooling, NHWC ---- */
typedef struct {
    int32_t batches, in_h, in_w, channels, out_h, out_w, k_h, k_w, stride_h, stride_w, pad_top, pad_left;
} kiln_pool_geometry_t;

void kiln_avg_pool_s8(const int8_t *in, int8_t *out, const kiln_pool_geometry_t *g, int32_t act_min, int32_t act_max);
void kiln_max_pool_s8(const int8_t *in, int8_t *out, const kiln_pool_geometry_t *g, int32_t act_min, int32_t act_max);
void kiln_avg_pool_s16(const int16_t *in, int16_t *out, const kiln_pool_geometry_t *g, int32_t act_min,
                       int32_t act_max);
void kiln_max_pool_s16(const int16_t *in, int16_t *out, const kiln_pool_geometry_t *g, int32_t act_min,
                       int32_t act_max);
void kiln_avg_pool_f32(const float *in, float *out, const kiln_pool_geometry_t *g, float act_min, float act_max);
void kiln_max_pool_f32(const float *in, float *out, const kiln_pool_geometry_t *g, float act_min, float act_max);

/* ---- data movement: a strided N-d copy (strides in bytes, may be negative) and fills ---- */
typedef struct {
    int32_t ndim, elem;
    int32_t dims[6];
    int32_t dst_stride[6];
    int32_t src_stride[6];
} kiln_copy_t;

void kiln_copy_nd(void *dst, const void *src, const kiln_copy_t *c);
void kiln_fill_s8(int8_t *dst, int32_t n, int32_t value);
void kiln_fill_f32(float *dst, int32_t n, float value);

/* ---- MEAN over height and width (NHWC); 1/(h*w) is folded into the multiplier ---- */
typedef struct {
    int32_t mult, shift, in_zp, out_zp;
} kiln_mean_s8_params_t;

void kiln_mean_hw_s8(const int8_t *in, int8_t *out, int32_t batches, int32_t h, int32_t w, int32_t c,
                     const kiln_mean_s8_params_t *p);
void kiln_mean_hw_f32(const float *in, float *out, int32_t batches, int32_t h, int32_t w, int32_t c);

#endif
