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

#endif
