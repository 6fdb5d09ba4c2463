/* Kiln runtime: unary maths and activation kernels (included by kiln_runtime.h). */
#ifndef KILN_MATHS_H
#define KILN_MATHS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- float32 element-wise functions: fn is one of KILN_MAP_* ---- */
enum {
    KILN_MAP_ABS = 0, KILN_MAP_NEG, KILN_MAP_SQRT, KILN_MAP_RSQRT, KILN_MAP_SQUARE, KILN_MAP_EXP, KILN_MAP_LOG,
    KILN_MAP_SIN, KILN_MAP_COS, KILN_MAP_FLOOR, KILN_MAP_CEIL, KILN_MAP_ROUND, KILN_MAP_HARD_SWISH, KILN_MAP_ELU
};
void kiln_map_f32(const float *in, float *out, int32_t n, int32_t fn);
/* x > 0 ? x : alpha * x */
void kiln_leaky_relu_f32(const float *in, float *out, int32_t n, float alpha);

/* ---- quantized int16 with two slopes: d = x - in_zp; y = out_zp + (d >= 0 ? MBQM(d, pos) :
 * neg_out_sign * MBQM(neg_in_sign * d, neg)), clamped to [lo, hi] (RELU, RELU6, LEAKY_RELU, ABS;
 * MBQM rounds ties differently by sign, so where the sign flips matters) ---- */
typedef struct {
    int32_t in_zp, out_zp;
    int32_t pos_mult, pos_shift, neg_mult, neg_shift, neg_in_sign, neg_out_sign;
    int32_t lo, hi;
} kiln_slopes_params_t;
void kiln_slopes_s16(const int16_t *in, int16_t *out, int32_t n, const kiln_slopes_params_t *p);
/* ABS of plain (not quantized) int16, wrapping as TFLite Micro: |-32768| is -32768 */
void kiln_abs_i16(const int16_t *in, int16_t *out, int32_t n);

/* ---- int16 LOGISTIC (tanh = 0) and TANH (tanh = 1), TFLite Micro's: d = (x * mult + round) >> shift,
 * then sigmoid(i/24) in Q0.16 (table: 256 entries) interpolated; output scale 2^-15 ---- */
typedef struct {
    int32_t mult, shift, tanh;
} kiln_sigmoid_s16_params_t;
void kiln_sigmoid_s16(const int16_t *in, int16_t *out, int32_t n, const kiln_sigmoid_s16_params_t *p,
                      const uint16_t *table);

/* ---- SOFTMAX beyond int8 -> int8 (kiln_softmax_s8 in kiln_runtime.h): int8 in, int16 out (zero
 * point -32768, scale 1/65536), same exp table; int16 in and out with TFLite Micro's two 513-entry
 * tables (exp over [-10, 0], 1/(1+x) over [0, 1]) ---- */
typedef struct {
    int32_t mult, shift; /* input difference to [-65535, 0] ~ [-10, 0] */
} kiln_softmax_s16_params_t;
void kiln_softmax_s8_s16(const int8_t *in, int16_t *out, int32_t outer, int32_t depth, const int32_t *exp_table);
void kiln_softmax_s16(const int16_t *in, int16_t *out, int32_t outer, int32_t depth,
                      const kiln_softmax_s16_params_t *p, const int16_t *exp_lut, const int16_t *recip_lut);

/* ---- LOG_SOFTMAX over the innermost dimension; int8: output scale 16/256, zero point 127;
 * tables = exp(diff) in Q0.31 (256 words, 0 below diff_min) then diff in Q5.26 (256 words) ---- */
typedef struct {
    int32_t diff_min, rev_mult, rev_shift;
} kiln_log_softmax_s8_params_t;
void kiln_log_softmax_s8(const int8_t *in, int8_t *out, int32_t outer, int32_t depth,
                         const kiln_log_softmax_s8_params_t *p, const int32_t *tables);
void kiln_log_softmax_f32(const float *in, float *out, int32_t outer, int32_t depth);

/* ---- CAST: type codes KILN_CAST_*; integers narrow modulo 2^bits, float to integer truncates toward
 * zero and saturates to the target type (NaN: 0), anything to bool is != 0 ---- */
enum {
    KILN_CAST_I8 = 0, KILN_CAST_I16, KILN_CAST_I32, KILN_CAST_F32, KILN_CAST_BOOL, KILN_CAST_U8, KILN_CAST_I64, KILN_CAST_U32
};
void kiln_cast(const void *in, void *out, int32_t n, int32_t in_type, int32_t out_type);

/* element i of an integer or bool tensor of type t (KILN_CAST_*), for the kernels' own use */
static inline int64_t kiln_read_int(const void *p, int32_t i, int32_t t)
{
    switch (t) {
    case KILN_CAST_I8: return ((const int8_t *)p)[i];
    case KILN_CAST_I16: return ((const int16_t *)p)[i];
    case KILN_CAST_I32: return ((const int32_t *)p)[i];
    case KILN_CAST_BOOL: return ((const bool *)p)[i] ? 1 : 0;
    case KILN_CAST_U8: return ((const uint8_t *)p)[i];
    case KILN_CAST_I64: return ((const int64_t *)p)[i];
    case KILN_CAST_U32: return ((const uint32_t *)p)[i];
    default: return 0;
    }
}

/* ---- QUANTIZE and DEQUANTIZE (types as KILN_CAST_*), TFLite Micro's formulas:
 * float32 -> int8/int16: round(x / scale) (halves away from zero) + zero point, saturated;
 * integer -> integer: MBQM(x - in_zp, mult, shift) + out_zp, saturated to the output type;
 * int8/int16/uint8 -> float32: (float)(scale * (x - zero point)), scale in double ---- */
void kiln_quantize_f32(const float *in, void *out, int32_t out_type, int32_t n, float scale, int32_t zero_point);
typedef struct {
    int32_t in_type, out_type, mult, shift, in_zp, out_zp;
} kiln_requantize_t;
void kiln_requantize(const void *in, void *out, int32_t n, const kiln_requantize_t *p);
void kiln_dequantize(const void *in, int32_t in_type, float *out, int32_t n, double scale, int32_t zero_point);

/* ---- PRELU, alpha broadcast against x (kiln_bcast_t: a is x, b is alpha): v = x - in_zp;
 * y = out_zp + (v >= 0 ? MBQM(v, mult1) : MBQM(v * (alpha - alpha_zp), mult2)), clamped to [lo, hi] ---- */
typedef struct {
    int32_t in_zp, alpha_zp, out_zp;
    int32_t mult1, shift1, mult2, shift2;
    int32_t lo, hi;
} kiln_prelu_params_t;
void kiln_prelu_s8(const int8_t *x, const int8_t *alpha, int8_t *out, const kiln_bcast_t *shape,
                   const kiln_prelu_params_t *p);
void kiln_prelu_s16(const int16_t *x, const int8_t *alpha, int16_t *out, const kiln_bcast_t *shape,
                    const kiln_prelu_params_t *p);
void kiln_prelu_f32(const float *x, const float *alpha, float *out, const kiln_bcast_t *shape);

#endif
