/* Kiln runtime: TRANSPOSE_CONV (NHWC input and output, weights [out_c][kh][kw][in_c]). Each output
 * pixel gathers the taps whose stride phase lands on it: output (oy, ox) takes input
 * ((oy + pad_h - fy) / stride_h, ...) for every fy of the right phase, so no scratch accumulator
 * is needed. One loop nest per type; TAPS walks the valid taps of an output pixel. */
#include "kiln_fixedpoint.h"
#include "kiln_runtime.h"

/* For output pixel (oy, ox) of batch b: runs BODY with xp (input pixel) and wp (the weights of
 * out_c oc at that tap), both pointing at in_c values. */
#define TAPS(T, WT, BODY)                                                                          \
    do {                                                                                           \
        int32_t fy, fx;                                                                            \
        for (fy = (oy + p->pad_h) % p->stride_h; fy < p->k_h; fy += p->stride_h) {                 \
            const int32_t iy = (oy + p->pad_h - fy) / p->stride_h;                                 \
            if (iy < 0) break; /* fy past oy + pad_h */                                            \
            if (iy >= p->in_h) continue;                                                           \
            for (fx = (ox + p->pad_w) % p->stride_w; fx < p->k_w; fx += p->stride_w) {             \
                const int32_t ix = (ox + p->pad_w - fx) / p->stride_w;                             \
                const T *xp;                                                                       \
                const WT *wp;                                                                      \
                if (ix < 0) break;                                                                 \
                if (ix >= p->in_w) continue;                                                       \
                xp = input + (((b * p->in_h) + iy) * p->in_w + ix) * p->in_c;                      \
                wp = filter + ((oc * p->k_h + fy) * p->k_w + fx) * p->in_c;                        \
                BODY                                                                               \
            }                                                                                      \
        }                                                                                          \
    } while (0)

void kiln_transpose_conv_f32(const float *input, const float *filter, const float *bias, float *output,
                             const kiln_transpose_conv_params_t *p)
{
    int32_t b, oy, ox, oc, c;
    for (b = 0; b < p->batches; ++b) {
        for (oy = 0; oy < p->out_h; ++oy) {
            for (ox = 0; ox < p->out_w; ++ox) {
                for (oc = 0; oc < p->out_c; ++oc) {
                    float acc = 0.0f;
                    TAPS(float, float, { for (c = 0; c < p->in_c; ++c) acc += xp[c] * wp[c]; });
                    if (bias) acc += bias[oc];
                    acc = acc < p->f_min ? p->f_min : acc;
                    *output++ = acc > p->f_max ? p->f_max : acc;
                }
            }
        }
    }
}

void kiln_transpose_conv_s8(const int8_t *input, const int8_t *filter, const int32_t *bias, int8_t *output,
                            const kiln_transpose_conv_params_t *p)
{
    int32_t b, oy, ox, oc, c;
    for (b = 0; b < p->batches; ++b) {
        for (oy = 0; oy < p->out_h; ++oy) {
            for (ox = 0; ox < p->out_w; ++ox) {
                for (oc = 0; oc < p->out_c; ++oc) {
                    int32_t acc = bias ? bias[oc] : 0;
                    TAPS(int8_t, int8_t, { for (c = 0; c < p->in_c; ++c) acc += (xp[c] - p->in_zp) * wp[c]; });
                    acc = kiln_mul_by_qm(acc, p->multiplier[oc], p->shift[oc]) + p->out_zp;
                    *output++ = (int8_t)kiln_clamp_i32(acc, p->act_min, p->act_max);
                }
            }
        }
    }
}

void kiln_transpose_conv_s16(const int16_t *input, const int8_t *filter, const int64_t *bias, int16_t *output,
                             const kiln_transpose_conv_params_t *p)
{
    int32_t b, oy, ox, oc, c;
    for (b = 0; b < p->batches; ++b) {
        for (oy = 0; oy < p->out_h; ++oy) {
            for (ox = 0; ox < p->out_w; ++ox) {
                for (oc = 0; oc < p->out_c; ++oc) {
                    int64_t acc = bias ? bias[oc] : 0;
                    TAPS(int16_t, int8_t, { for (c = 0; c < p->in_c; ++c) acc += (int32_t)xp[c] * wp[c]; });
                    *output++ = (int16_t)kiln_clamp_i32(kiln_mul_by_qm64(acc, p->multiplier[oc], p->shift[oc]),
                                                        p->act_min, p->act_max);
                }
            }
        }
    }
}
