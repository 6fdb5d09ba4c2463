#include <math.h>

#include "kiln_fixedpoint.h"
#include "kiln_runtime.h"

void kiln_lut_s8(const int8_t *in, int8_t *out, int32_t n, const int8_t *table)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        out[i] = table[(int32_t)in[i] + 128];
    }
}

void kiln_clamp_f32(const float *in, float *out, int32_t n, float lo, float hi)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        const float v = in[i];
        out[i] = v > hi ? hi : (v < lo ? lo : v);
    }
}

/* TFLite's reference logistic: exact 1 above the upper cutoff, exp(x) below the lower one. */
void kiln_logistic_f32(const float *in, float *out, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        const float v = in[i];
        if (v > 16.619047164916992188f) {
            out[i] = 1.0f;
        } else if (v < -9.0f) {
            out[i] = expf(v);
        } else {
            out[i] = 1.0f / (1.0f + expf(-v));
        }
    }
}

void kiln_tanh_f32(const float *in, float *out, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        out[i] = tanhf(in[i]);
    }
}
