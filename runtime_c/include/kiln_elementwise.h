/* Kiln runtime: binary element-wise, comparison, logical and select kernels beyond ADD, SUB and
 * MUL (included by kiln_runtime.h, after kiln_bcast_t). */
#ifndef KILN_ELEMENTWISE_H
#define KILN_ELEMENTWISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* kiln_binary: what to compute ... */
enum {
    KILN_BIN_MAX, KILN_BIN_MIN, KILN_BIN_EQ, KILN_BIN_NE, KILN_BIN_GT, KILN_BIN_GE, KILN_BIN_LT, KILN_BIN_LE,
    KILN_BIN_AND, KILN_BIN_OR, KILN_BIN_SQDIFF, KILN_BIN_DIV, KILN_BIN_FLOOR_DIV, KILN_BIN_FLOOR_MOD,
    KILN_BIN_ADD, KILN_BIN_SUB, KILN_BIN_MUL /* int32: wrapping, clamped to iact_min..iact_max */
};
/* ... on which element type: KILN_BT_I8_SCALED compares int8 values through the per-input tables
 * lut_a / lut_b (256 int32 each: TFLite's rescaled value of every int8 input), the others as they are */
enum { KILN_BT_F32, KILN_BT_I8, KILN_BT_I16, KILN_BT_I32, KILN_BT_I64, KILN_BT_BOOL, KILN_BT_I8_SCALED };

typedef struct {
    int32_t op, type;
    const int32_t *lut_a, *lut_b; /* KILN_BT_I8_SCALED only */
    float act_min, act_max;       /* KILN_BIN_DIV on float32: the fused activation */
    int32_t iact_min, iact_max;   /* KILN_BIN_ADD/SUB/MUL on int32: the fused activation */
} kiln_binary_t;

/* out = a (op) b over the broadcast shape (kiln_bcast_t, kiln_runtime.h) */
void kiln_binary(const void *a, const void *b, void *out, const kiln_bcast_t *shape, const kiln_binary_t *p);
void kiln_logical_not(const bool *in, bool *out, int32_t n);

/* SELECT_V2: out = cond ? x : y, the three broadcast to the output (up to 6 collapsed dimensions,
 * element strides, 0 repeats); elem bytes per element of x, y and out */
typedef struct {
    int32_t ndim, elem;
    int32_t dims[6];
    int32_t c_stride[6], x_stride[6], y_stride[6];
} kiln_select_t;

void kiln_select(const bool *cond, const void *x, const void *y, void *out, const kiln_select_t *s);

#endif
