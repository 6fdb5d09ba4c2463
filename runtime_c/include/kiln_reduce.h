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

#endif
