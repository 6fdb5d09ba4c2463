/* QUANTIZE and DEQUANTIZE between float32 and the integer types, and requantization between
 * integer types (ops/quantize.py; 8-bit to 8-bit goes through a compile-time table instead). */
#include <math.h>

#include "kiln_fixedpoint.h"
#include "kiln_runtime.h"

static int32_t quantize_one(float x, float scale, int32_t zero_point, int32_t lo, int32_t hi)
{
    float r = roundf(x / scale);
    r = r < -1.0e9f ? -1.0e9f : (r > 1.0e9f ? 1.0e9f : r); /* keep the conversion defined */
    return kiln_clamp_i32((int32_t)r + zero_point, lo, hi);
}

void kiln_quantize_f32(const float *in, void *out, int32_t out_type, int32_t n, float scale, int32_t zero_point)
{
    int32_t i;
    if (out_type == KILN_CAST_I8) {
        for (i = 0; i < n; ++i) ((int8_t *)out)[i] = (int8_t)quantize_one(in[i], scale, zero_point, -128, 127);
    } else {
        for (i = 0; i < n; ++i) ((int16_t *)out)[i] = (int16_t)quantize_one(in[i], scale, zero_point, -32768, 32767);
    }
}

void kiln_requantize(const void *in, void *out, int32_t n, const kiln_requantize_t *p)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        const int32_t v = kiln_mul_by_qm((int32_t)kiln_read_int(in, i, p->in_type) - p->in_zp, p->mult, p->shift) + p->out_zp;
        switch (p->out_type) {
        case KILN_CAST_I8: ((int8_t *)out)[i] = (int8_t)kiln_clamp_i32(v, -128, 127); break;
        case KILN_CAST_U8: ((uint8_t *)out)[i] = (uint8_t)kiln_clamp_i32(v, 0, 255); break;
        case KILN_CAST_I16: ((int16_t *)out)[i] = (int16_t)kiln_clamp_i32(v, -32768, 32767); break;
        default: ((int32_t *)out)[i] = v; break;
        }
    }
}

void kiln_dequantize(const void *in, int32_t in_type, float *out, int32_t n, double scale, int32_t zero_point)
{
    int32_t i;
    for (i = 0; i < n; ++i) out[i] = (float)(scale * (double)((int32_t)kiln_read_int(in, i, in_type) - zero_point));
}
