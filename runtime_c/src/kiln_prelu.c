/* PRELU: x >= 0 ? x : alpha * x, alpha broadcast against x (up to 6 collapsed dimensions). */
#include "kiln_fixedpoint.h"
#include "kiln_runtime.h"

/* Calls row() once per innermost row of the collapsed broadcast: element offsets of x, alpha, out. */
static void prelu_walk(const kiln_prelu_shape_t *s, void (*row)(int32_t xo, int32_t ao, int32_t oo, int32_t n,
                                                            int32_t sx, int32_t sa, void *ctx),
                       void *ctx)
{
    int32_t idx[6] = {0, 0, 0, 0, 0, 0};
    const int32_t last = s->ndim - 1;
    const int32_t n = s->dims[last];
    int32_t rows = 1, r, d;
    for (d = 0; d < last; ++d) {
        rows *= s->dims[d];
    }
    for (r = 0; r < rows; ++r) {
        int32_t xo = 0, ao = 0;
        for (d = 0; d < last; ++d) {
            xo += idx[d] * s->x_stride[d];
            ao += idx[d] * s->alpha_stride[d];
        }
        row(xo, ao, r * n, n, s->x_stride[last], s->alpha_stride[last], ctx);
        for (d = last - 1; d >= 0; --d) {
            if (++idx[d] < s->dims[d]) break;
            idx[d] = 0;
        }
    }
}

typedef struct {
    const void *x;
    const void *alpha;
    void *out;
    const kiln_prelu_params_t *p;
} prelu_ctx_t;

static int32_t prelu_q(int32_t x, int32_t a, const kiln_prelu_params_t *p)
{
    const int32_t v = x - p->in_zp;
    int32_t y;
    if (v >= 0) {
        y = kiln_mul_by_qm(v, p->mult1, p->shift1);
    } else {
        y = kiln_mul_by_qm(v * (a - p->alpha_zp), p->mult2, p->shift2);
    }
    return kiln_clamp_i32(y + p->out_zp, p->lo, p->hi);
}

static void row_s8(int32_t xo, int32_t ao, int32_t oo, int32_t n, int32_t sx, int32_t sa, void *ctx_)
{
    const prelu_ctx_t *ctx = (const prelu_ctx_t *)ctx_;
    const int8_t *x = (const int8_t *)ctx->x + xo;
    const int8_t *a = (const int8_t *)ctx->alpha + ao;
    int8_t *o = (int8_t *)ctx->out + oo;
    int32_t i;
    for (i = 0; i < n; ++i) {
        o[i] = (int8_t)prelu_q(x[i * sx], a[i * sa], ctx->p);
    }
}

static void row_s16(int32_t xo, int32_t ao, int32_t oo, int32_t n, int32_t sx, int32_t sa, void *ctx_)
{
    const prelu_ctx_t *ctx = (const prelu_ctx_t *)ctx_;
    const int16_t *x = (const int16_t *)ctx->x + xo;
    const int8_t *a = (const int8_t *)ctx->alpha + ao;
    int16_t *o = (int16_t *)ctx->out + oo;
    int32_t i;
    for (i = 0; i < n; ++i) {
        o[i] = (int16_t)prelu_q(x[i * sx], a[i * sa], ctx->p);
    }
}

static void row_f32(int32_t xo, int32_t ao, int32_t oo, int32_t n, int32_t sx, int32_t sa, void *ctx_)
{
    const prelu_ctx_t *ctx = (const prelu_ctx_t *)ctx_;
    const float *x = (const float *)ctx->x + xo;
    const float *a = (const float *)ctx->alpha + ao;
    float *o = (float *)ctx->out + oo;
    int32_t i;
    for (i = 0; i < n; ++i) {
        const float v = x[i * sx];
        o[i] = v >= 0.0f ? v : v * a[i * sa];
    }
}

void kiln_prelu_s8(const int8_t *x, const int8_t *alpha, int8_t *out, const kiln_prelu_shape_t *shape,
                   const kiln_prelu_params_t *p)
{
    prelu_ctx_t ctx;
    ctx.x = x;
    ctx.alpha = alpha;
    ctx.out = out;
    ctx.p = p;
    prelu_walk(shape, row_s8, &ctx);
}

void kiln_prelu_s16(const int16_t *x, const int8_t *alpha, int16_t *out, const kiln_prelu_shape_t *shape,
                    const kiln_prelu_params_t *p)
{
    prelu_ctx_t ctx;
    ctx.x = x;
    ctx.alpha = alpha;
    ctx.out = out;
    ctx.p = p;
    prelu_walk(shape, row_s16, &ctx);
}

void kiln_prelu_f32(const float *x, const float *alpha, float *out, const kiln_prelu_shape_t *shape)
{
    prelu_ctx_t ctx;
    ctx.x = x;
    ctx.alpha = alpha;
    ctx.out = out;
    ctx.p = NULL;
    prelu_walk(shape, row_f32, &ctx);
}
