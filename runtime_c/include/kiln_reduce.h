/* Kiln runtime: reductions over any set of axes (included by kiln_runtime.h). */
#ifndef KILN_REDUCE_H
#define KILN_REDUCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { KILN_RED_SUM, KILN_RED_MEAN, KILN_RED_MAX, KILN_RED_MIN, KILN_RED_ARGMAX, KILN_RED_ARGMIN };
enum { KILN_RT_F32, KILN_RT_I8, KILN_RT_I16 };

/* Every output element reduces the input elements at base + the reduced axes' offsets, in the
 * input's order (so float sums add in TFLite's order). Axes kept and reduced are each collapsed
 * to at most 6 dimensions, strides in elements. Integer SUM and MEAN: (sum - in_zp * count)
 * rescaled by {mult, shift} (MEAN's 1/count folded in), plus out_zp, clamped. */
typedef struct {
    int32_t kind, type;
    int32_t nk, nr;
    int32_t kdims[6], kstride[6];
    int32_t rdims[6], rstride[6];
    int32_t count, in_zp, out_zp, mult, shift;
} kiln_reduce_t;

/* out: the input's type (SUM, MEAN, MAX, MIN) or int32 indices along the one reduced axis (ARG*) */
void kiln_reduce(const void *in, void *out, const kiln_reduce_t *p);

/* L2_NORMALIZATION on float32 rows of depth: x / max(sqrt(sum x^2), 1e-6), summed in order */
void kiln_l2norm_f32(const float *in, float *out, int32_t rows, int32_t depth);
/* L2_NORMALIZATION on int8 as TFLite Micro's: x - zero_point times the fixed-point inverse square
 * root of the row's sum of squares, written in units of 1/128 */
void kiln_l2norm_s8(const int8_t *in, int8_t *out, int32_t rows, int32_t depth, int32_t zero_point);

/* CUMSUM on float32 along an axis of `axis` elements between `outer` and `inner` ones: running
 * sums in order (reverse: from the end), exclusive ones start from 0 */
void kiln_cumsum_f32(const float *in, float *out, int32_t outer, int32_t axis, int32_t inner, int32_t exclusive,
                     int32_t reverse);

/* ADD_N on float32: out = in[0] + in[1] + ... in that order, n elements each */
void kiln_add_n_f32(const float *const *ins, int32_t count, float *out, int32_t n);
/* ADD_N on int8 (every input quantized alike): acc = base + sum table[in_k + 128], table holding
 * TFLite's rescaled value of every int8 input, then rescaled by {mult, shift} plus out_zp */
typedef struct {
    int32_t base, mult, shift, out_zp;
} kiln_add_n_s8_params_t;
void kiln_add_n_s8(const int8_t *const *ins, int32_t count, int8_t *out, int32_t n, const int32_t *table,
                   const kiln_add_n_s8_params_t *p);
/* CUMSUM on int8 as TFLite Micro's: ADD_N's rescaling, the running sum starting from base */
void kiln_cumsum_s8(const int8_t *in, int8_t *out, int32_t outer, int32_t axis, int32_t inner, int32_t exclusive,
                    int32_t reverse, const int32_t *table, const kiln_add_n_s8_params_t *p);

#endif
