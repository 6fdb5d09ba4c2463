/* MEAN over height and width, NHWC, as TFLite Micro's QuantizedMeanOrSum for int8. */
#include "kiln_fixedpoint.h"
#include "kiln_runtime.h"

void kiln_mean_hw_s8(const int8_t *in, int8_t *out, int32_t batches, int32_t h, int32_t w, int32_t c,
                     const kiln_mean_s8_params_t *p)
{
    const int32_t n = h * w;
    int32_t b, ch, i;
    for (b = 0; b < batches; ++b) {
        const int8_t *img = in + b * n * c;
        for (ch = 0; ch < c; ++ch) {
            int32_t sum = 0, v;
            for (i = 0; i < n; ++i) sum += img[i * c + ch];
            v = kiln_mul_by_qm(sum - p->in_zp * n, p->mult, p->shift) + p->out_zp;
            out[b * c + ch] = (int8_t)kiln_clamp_i32(v, -128, 127);
        }
    }
}

void kiln_mean_hw_f32(const float *in, float *out, int32_t batches, int32_t h, int32_t w, int32_t c)
{
    const int32_t n = h * w;
    int32_t b, ch, i;
    for (b = 0; b < batches; ++b) {
        for (ch = 0; ch < c; ++ch) {
            float sum = 0.0f;
            for (i = 0; i < n; ++i) sum += in[(b * n + i) * c + ch];
            out[b * c + ch] = sum / (float)n;
        }
    }
}
