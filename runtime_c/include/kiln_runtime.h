/* Kernels called by generated code. Portable C99; the caller owns every buffer.
 * One signature shape: inputs, outputs, then sizes and a constant parameter block. */
#ifndef KILN_RUNTIME_H
#define KILN_RUNTIME_H

#include <float.h>
#include <stddef.h>
#include <stdint.h>

#include "kiln_model.h"

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

/* ---- broadcasting: up to 6 collapsed dimensions, element strides (0 repeats) ---- */
typedef struct {
    int32_t ndim;
    int32_t dims[6];
    int32_t a_stride[6];
    int32_t b_stride[6];
} kiln_bcast_t;

/* ---- fully connected ---- */
typedef struct {
    int32_t batches, depth, units;
    const int32_t *mult, *shift; /* one per unit when per_channel, else one */
    int32_t per_channel;
    int32_t out_zp, act_min, act_max;
} kiln_fc_s8_params_t;

void kiln_fully_connected_s8(const int8_t *in, const int8_t *weights, const int32_t *bias, int8_t *out,
                             const kiln_fc_s8_params_t *p);
void kiln_fully_connected_f32(const float *in, const float *weights, const float *bias, float *out,
                              int32_t batches, int32_t depth, int32_t units, float act_min, float act_max);

/* ---- element-wise binary ---- */
typedef struct {
    int32_t a_offset, a_mult, a_shift;
    int32_t b_offset, b_mult, b_shift;
    int32_t left_shift;
    int32_t out_offset, out_mult, out_shift;
    int32_t act_min, act_max;
} kiln_add_s8_params_t;

typedef struct {
    int32_t a_offset, b_offset, out_offset;
    int32_t mult, shift;
    int32_t act_min, act_max;
} kiln_mul_s8_params_t;

void kiln_add_s8(const int8_t *a, const int8_t *b, int8_t *out, const kiln_bcast_t *shape,
                 const kiln_add_s8_params_t *p);
void kiln_mul_s8(const int8_t *a, const int8_t *b, int8_t *out, const kiln_bcast_t *shape,
                 const kiln_mul_s8_params_t *p);
void kiln_add_f32(const float *a, const float *b, float *out, const kiln_bcast_t *shape, float act_min,
                  float act_max);
void kiln_mul_f32(const float *a, const float *b, float *out, const kiln_bcast_t *shape, float act_min,
                  float act_max);

/* ---- element-wise unary ---- */
void kiln_lut_s8(const int8_t *in, int8_t *out, int32_t n, const int8_t *table);
void kiln_clamp_f32(const float *in, float *out, int32_t n, float lo, float hi);
void kiln_logistic_f32(const float *in, float *out, int32_t n);
void kiln_tanh_f32(const float *in, float *out, int32_t n);
void kiln_quantize_f32_s8(const float *in, int8_t *out, int32_t n, float scale, int32_t zero_point);
void kiln_dequantize_s8_f32(const int8_t *in, float *out, int32_t n, double scale, int32_t zero_point);

/* ---- softmax over the innermost dimension ---- */
void kiln_softmax_s8(const int8_t *in, int8_t *out, int32_t outer, int32_t depth, const int32_t *exp_table);
void kiln_softmax_f32(const float *in, float *out, int32_t outer, int32_t depth, float beta);

#endif
