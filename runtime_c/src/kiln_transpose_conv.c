/* Kiln runtime: TRANSPOSE_CONV (NHWC input and output, weights [out_c][kh][kw][in_c]). Each output
 * pixel gathers the taps whose stride phase lands on it: output (oy, ox) takes input
 * ((oy + pad_h - fy) / stride_h, ...) for every fy of the right phase, so no scratch accumulator
 * is needed. One loop nest per type; TAPS walks the valid taps of an output pixel. */
#include "kiln_dsp.h"
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

/* sum x[c] * w[c] over n int8 values: on the DSP path four at a time (SXTB16 splits each word
 * into its even and odd bytes, SMLAD multiplies and adds them in pairs). */
static int32_t dot_s8(const int8_t *x, const int8_t *w, int32_t n)
{
    int32_t acc = 0, c = 0;
#if KILN_DSP
    for (; c + 4 <= n; c += 4) {
        const uint32_t xv = kiln_load32(x + c), wv = kiln_load32(w + c);
        acc = __smlad((uint32_t)kiln_even(xv), (uint32_t)kiln_even(wv), acc);
        acc = __smlad((uint32_t)kiln_odd(xv), (uint32_t)kiln_odd(wv), acc);
    }
#endif
    for (; c < n; ++c) acc += x[c] * w[c];
    return acc;
}

/* The input zero point comes out of the loop: sum (x - zp) w = sum x w - zp_wsum[oc][tap], with
 * zp_wsum = zp * (the sum of the tap's weights) from the compiler. Each output pixel's taps are
 * found once and walked for a block of up to 32 output channels, their sums on the stack. */
#define KILN_TCONV_BLOCK 32
void kiln_transpose_conv_s8(const int8_t *input, const int8_t *filter, const int32_t *bias, int8_t *output,
                            const kiln_transpose_conv_params_t *p)
{
    const int32_t taps_per_oc = p->k_h * p->k_w;
    int32_t b, oy, ox, oc0, k;
    for (b = 0; b < p->batches; ++b) {
        for (oy = 0; oy < p->out_h; ++oy) {
            const taps_t ry = axis_taps(oy, p->pad_h, p->stride_h, p->k_h, p->in_h);
            for (ox = 0; ox < p->out_w; ++ox) {
                const taps_t rx = axis_taps(ox, p->pad_w, p->stride_w, p->k_w, p->in_w);
                for (oc0 = 0; oc0 < p->out_c; oc0 += KILN_TCONV_BLOCK) {
                    const int32_t n = p->out_c - oc0 < KILN_TCONV_BLOCK ? p->out_c - oc0 : KILN_TCONV_BLOCK;
                    int32_t acc[KILN_TCONV_BLOCK], ty, tx;
                    for (k = 0; k < n; ++k) acc[k] = bias ? bias[oc0 + k] : 0;
                    for (ty = 0; ty < ry.n; ++ty) {
                        const int32_t fy = ry.first_f + ty * p->stride_h, iy = ry.first_i - ty;
                        for (tx = 0; tx < rx.n; ++tx) {
                            const int32_t fx = rx.first_f + tx * p->stride_w, ix = rx.first_i - tx;
                            const int32_t tap = fy * p->k_w + fx;
                            const int8_t *xp = input + (((b * p->in_h) + iy) * p->in_w + ix) * p->in_c;
                            const int8_t *wp = filter + (oc0 * taps_per_oc + tap) * p->in_c;
                            const int32_t *zw = p->zp_wsum + oc0 * taps_per_oc + tap;
                            for (k = 0; k < n; ++k, wp += taps_per_oc * p->in_c, zw += taps_per_oc) {
                                acc[k] += dot_s8(xp, wp, p->in_c) - *zw;
                            }
                        }
                    }
                    for (k = 0; k < n; ++k) {
                        const int32_t r = kiln_mul_by_qm(acc[k], p->multiplier[oc0 + k], p->shift[oc0 + k]) + p->out_zp;
                        *output++ = (int8_t)kiln_clamp_i32(r, p->act_min, p->act_max);
                    }
                }
            }
        }
    }
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
