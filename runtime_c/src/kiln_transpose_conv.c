/* Kiln runtime: TRANSPOSE_CONV (NHWC input and output, weights [out_c][kh][kw][in_c]) in float32
 * and 16x8 (int8 runs as one kiln_conv_s8 per stride phase: see ops/transpose_conv.py). Each output
 * pixel gathers the taps whose stride phase lands on it: output (oy, ox) takes input
 * ((oy + pad_h - fy) / stride_h, ...) for every fy of the right phase, so no scratch accumulator
 * is needed. One loop nest per type; TAPS walks the valid taps of an output pixel. */
#include "kiln_fixedpoint.h"
#include "kiln_runtime.h"

/* The taps of one output coordinate o along an axis: filter index f = first_f + t * stride and input
 * index first_i - t for t in [0, n). */
typedef struct {
    int32_t first_f, first_i, n;
} taps_t;

static taps_t axis_taps(int32_t o, int32_t pad, int32_t stride, int32_t k, int32_t in)
{
    taps_t r;
    int32_t f = (o + pad) % stride, i = (o + pad - f) / stride;
    while (i >= in && f < k) { /* taps landing past the input's end */
        f += stride;
        --i;
    }
    r.first_f = f;
    r.first_i = i;
    r.n = f < k ? ((k - 1 - f) / stride + 1 < i + 1 ? (k - 1 - f) / stride + 1 : i + 1) : 0;
    return r;
}

/* For output pixel (oy, ox) of batch b: runs BODY with xp (input pixel) and wp (the weights of
 * out_c oc at that tap), both pointing at in_c values, and tap (its index in [k_h][k_w]). */
#define TAPS(T, WT, BODY)                                                                          \
    do {                                                                                           \
        int32_t ty, tx;                                                                            \
        for (ty = 0; ty < ry.n; ++ty) {                                                            \
            const int32_t fy = ry.first_f + ty * p->stride_h, iy = ry.first_i - ty;               \
            for (tx = 0; tx < rx.n; ++tx) {                                                        \
                const int32_t fx = rx.first_f + tx * p->stride_w, ix = rx.first_i - tx;            \
                const int32_t tap = fy * p->k_w + fx;                                              \
                const T *xp = input + (((b * p->in_h) + iy) * p->in_w + ix) * p->in_c;             \
                const WT *wp = filter + (oc * p->k_h * p->k_w + tap) * p->in_c;                    \
                BODY                                                                               \
            }                                                                                      \
        }                                                                                          \
    } while (0)

/* The loop nest around TAPS: every output pixel and channel, in order. */
#define PIXELS(BODY)                                                                               \
    for (b = 0; b < p->batches; ++b) {                                                             \
        for (oy = 0; oy < p->out_h; ++oy) {                                                        \
            const taps_t ry = axis_taps(oy, p->pad_h, p->stride_h, p->k_h, p->in_h);               \
            for (ox = 0; ox < p->out_w; ++ox) {                                                    \
                const taps_t rx = axis_taps(ox, p->pad_w, p->stride_w, p->k_w, p->in_w);           \
                for (oc = 0; oc < p->out_c; ++oc) {                                                \
                    BODY                                                                           \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }

void kiln_transpose_conv_f32(const float *input, const float *filter, const float *bias, float *output,
                             const kiln_transpose_conv_params_t *p)
{
    int32_t b, oy, ox, oc, c;
    PIXELS({
        float acc = 0.0f;
        TAPS(float, float, { for (c = 0; c < p->in_c; ++c) acc += xp[c] * wp[c]; });
        if (bias) acc += bias[oc];
        acc = acc < p->f_min ? p->f_min : acc;
        *output++ = acc > p->f_max ? p->f_max : acc;
    })
}

void kiln_transpose_conv_s16(const int16_t *input, const int8_t *filter, const int64_t *bias, int16_t *output,
                             const kiln_transpose_conv_params_t *p)
{
    int32_t b, oy, ox, oc, c;
    PIXELS({
        int64_t acc = bias ? bias[oc] : 0;
        TAPS(int16_t, int8_t, { for (c = 0; c < p->in_c; ++c) acc += (int32_t)xp[c] * wp[c]; });
        *output++ = (int16_t)kiln_clamp_i32(kiln_mul_by_qm64(acc, p->multiplier[oc], p->shift[oc]), p->act_min, p->act_max);
    })
}
