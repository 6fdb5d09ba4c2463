/* PRELU: x >= 0 ? x : alpha * x, alpha broadcast against x (the binary kernels' walk). */
#include "kiln_fixedpoint.h"
#include "kiln_runtime.h"

static int32_t prelu_q(int32_t x, int32_t a, const kiln_prelu_params_t *p)
{
    const int32_t v = x - p->in_zp;
    const int32_t y = v >= 0 ? kiln_mul_by_qm(v, p->mult1, p->shift1)
                             : kiln_mul_by_qm(v * (a - p->alpha_zp), p->mult2, p->shift2);
    return kiln_clamp_i32(y + p->out_zp, p->lo, p->hi);
}

KILN_BINARY_ROW_T(row_s8, int8_t, int8_t, int8_t, kiln_prelu_params_t, prelu_q(x, y, p))
KILN_BINARY_ROW_T(row_s16, int16_t, int8_t, int16_t, kiln_prelu_params_t, prelu_q(x, y, p))
KILN_BINARY_ROW_T(row_f32, float, float, float, void, x >= 0.0f ? x : x * y)

void kiln_prelu_s8(const int8_t *x, const int8_t *alpha, int8_t *out, const kiln_bcast_t *shape,
                   const kiln_prelu_params_t *p)
{
    kiln_bcast_walk(shape, (const char *)x, 1, (const char *)alpha, 1, (char *)out, 1, row_s8, p);
}

void kiln_prelu_s16(const int16_t *x, const int8_t *alpha, int16_t *out, const kiln_bcast_t *shape,
                    const kiln_prelu_params_t *p)
{
    kiln_bcast_walk(shape, (const char *)x, 2, (const char *)alpha, 1, (char *)out, 2, row_s16, p);
}

void kiln_prelu_f32(const float *x, const float *alpha, float *out, const kiln_bcast_t *shape)
{
    kiln_bcast_walk(shape, (const char *)x, 4, (const char *)alpha, 4, (char *)out, 4, row_f32, NULL);
}
