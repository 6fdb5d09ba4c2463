#include "kiln_fixedpoint.h"
#include "kiln_runtime.h"

/* The input zero point is folded into bias at compile time, so the inner loop is a plain dot
 * product. Rescaling matches TFLite Micro's reference kernel bit for bit. */
void kiln_fully_connected_s8(const int8_t *in, const int8_t *weights, const int32_t *bias, int8_t *out,
                             const kiln_fc_s8_params_t *p)
{
    int32_t b, u, d;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *x = in + b * p->depth;
        for (u = 0; u < p->units; ++u) {
            const int8_t *w = weights + u * p->depth;
            const int32_t m = p->per_channel ? u : 0;
            int32_t acc = bias[u];
            for (d = 0; d < p->depth; ++d) {
                acc += (int32_t)x[d] * (int32_t)w[d];
            }
            acc = kiln_mul_by_qm(acc, p->mult[m], p->shift[m]) + p->out_zp;
            out[b * p->units + u] = (int8_t)kiln_clamp_i32(acc, p->act_min, p->act_max);
        }
    }
}

/* Summation order is TFLite's (over depth, then bias), so float results match it exactly
 * when the compiler does not contract or reorder (no -ffast-math). */
void kiln_fully_connected_f32(const float *in, const float *weights, const float *bias, float *out,
                              int32_t batches, int32_t depth, int32_t units, float act_min, float act_max)
{
    int32_t b, u, d;
    for (b = 0; b < batches; ++b) {
        const float *x = in + b * depth;
        for (u = 0; u < units; ++u) {
            const float *w = weights + u * depth;
            float total = 0.0f;
            float v;
            for (d = 0; d < depth; ++d) {
                total += x[d] * w[d];
            }
            v = total + (bias != NULL ? bias[u] : 0.0f);
            v = v < act_min ? act_min : v;
            out[b * units + u] = act_max < v ? act_max : v;
        }
    }
}
