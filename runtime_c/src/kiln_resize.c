/* Kiln runtime: RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR over NHWC tensors. The source rows,
 * columns and weights of every output row and column come from tables worked out at compile time
 * (server/kiln/compiler/ops/resize.py), so the kernels only gather and blend. */
#include <string.h>

#include "kiln_runtime.h"

void kiln_resize_nearest(const void *input, void *output, const int32_t *rows, const int32_t *cols,
                         const kiln_resize_params_t *p)
{
    const char *in = (const char *)input;
    char *out = (char *)output;
    int32_t b, y, x;
    for (b = 0; b < p->batches; ++b) {
        for (y = 0; y < p->out_h; ++y) {
            const char *row = in + rows[y];
            for (x = 0; x < p->out_w; ++x) {
                memcpy(out, row + cols[x], (size_t)p->depth);
                out += p->depth;
            }
        }
        in += p->batch;
    }
}

void kiln_resize_bilinear_f32(const float *input, float *output, const int32_t *yi, const float *yw,
                              const int32_t *xi, const float *xw, const kiln_resize_params_t *p)
{
    int32_t b, y, x, c;
    for (b = 0; b < p->batches; ++b) {
        for (y = 0; y < p->out_h; ++y) {
            const float *r0 = input + yi[2 * y], *r1 = input + yi[2 * y + 1];
            const float wy0 = yw[2 * y], wy1 = yw[2 * y + 1];
            for (x = 0; x < p->out_w; ++x) {
                const float *a = r0 + xi[2 * x], *bb = r1 + xi[2 * x];
                const float *cc = r0 + xi[2 * x + 1], *d = r1 + xi[2 * x + 1];
                const float wx0 = xw[2 * x], wx1 = xw[2 * x + 1];
                for (c = 0; c < p->depth; ++c) {
                    *output++ = a[c] * wy0 * wx0 + bb[c] * wy1 * wx0 + cc[c] * wy0 * wx1 + d[c] * wy1 * wx1;
                }
            }
        }
        input += p->batch;
    }
}

void kiln_resize_bilinear_s8(const int8_t *input, int8_t *output, const int32_t *yi, const int32_t *yw,
                             const int32_t *xi, const int32_t *xw, const kiln_resize_params_t *p)
{
    int32_t b, y, x, c;
    for (b = 0; b < p->batches; ++b) {
        for (y = 0; y < p->out_h; ++y) {
            const int8_t *r0 = input + yi[2 * y], *r1 = input + yi[2 * y + 1];
            const int32_t wy0 = yw[2 * y], wy1 = yw[2 * y + 1];
            for (x = 0; x < p->out_w; ++x) {
                const int8_t *a = r0 + xi[2 * x], *bb = r1 + xi[2 * x];
                const int8_t *cc = r0 + xi[2 * x + 1], *d = r1 + xi[2 * x + 1];
                /* 10 fractional bits per axis; an axis's absolute weights sum to at most 2048: |s| < 2^30 */
                const int32_t w00 = wy0 * xw[2 * x], w10 = wy1 * xw[2 * x];
                const int32_t w01 = wy0 * xw[2 * x + 1], w11 = wy1 * xw[2 * x + 1];
                for (c = 0; c < p->depth; ++c) {
                    const int32_t s = a[c] * w00 + bb[c] * w10 + cc[c] * w01 + d[c] * w11;
                    /* divide by 2^20 rounding half away from zero */
                    *output++ = (int8_t)(s >= 0 ? (s + (1 << 19)) >> 20 : -((-s + (1 << 19)) >> 20));
                }
            }
        }
        input += p->batch;
    }
}
