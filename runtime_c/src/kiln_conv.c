/* CONV_2D and DEPTHWISE_CONV_2D kernels.
 *
 * int8 convolution works on two output pixels at a time: each pixel is a list of taps (pointers
 * to its input pixels, read in place, or to a vector of zero points outside the image; or one
 * im2col column for narrow inputs), and every output channel is a dot product over them. On Cortex-M
 * with the DSP extension the dot product takes four bytes per load and two MACs per SMLAD;
 * elsewhere it is plain C. Both give exactly TFLite Micro's results: the integer sums are the
 * same, only their order differs. */
#include <string.h>

#include "kiln_fixedpoint.h"
#include "kiln_runtime.h"

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
#define KILN_DSP 1
#else
#define KILN_DSP 0
#endif

static int8_t requantize(int32_t acc, const kiln_conv_s8_params_t *p, int32_t oc)
{
    acc = kiln_mul_by_qm(acc, p->mult[oc], p->shift[oc]) + p->out_zp;
    return (int8_t)kiln_clamp_i32(acc, p->act_min, p->act_max);
}

#if KILN_DSP
static uint32_t load32(const int8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4); /* a single (unaligned) LDR on Cortex-M4/M7 */
    return v;
}

/* Rotate right by 8 (gcc's arm_acle.h has no __ror); gcc folds it into SXTB16's ROR operand. */
static uint32_t ror8(uint32_t x)
{
    return (x >> 8) | (x << 24);
}
#endif

/* Two output pixels, all output channels: out{0,1}[oc] = requantize(bias[oc] + sum over taps t of
 * seg{0,1}[t] . filter[oc][t]). A tap is `len` contiguous input bytes (one pixel's channels, or a
 * whole im2col column); taps outside the image point at a vector of input zero points. out1 may
 * be NULL for an odd last pixel. */
static void dot_two_pixels(const int8_t *const *seg0, const int8_t *const *seg1, int32_t taps, int32_t len,
                           const int8_t *filter, const int32_t *bias, int8_t *out0, int8_t *out1,
                           const kiln_conv_s8_params_t *p)
{
    const int32_t n_out = p->g.out_c;
    const int32_t k = taps * len;
    int32_t oc = 0, t, i;
    if (out1 == NULL) seg1 = seg0;
#if KILN_DSP
    /* Two filter rows by two pixels: four accumulators, 16 MACs per 4-byte step. */
    for (; oc + 2 <= n_out; oc += 2) {
        int32_t a00 = bias[oc], a01 = bias[oc], a10 = bias[oc + 1], a11 = bias[oc + 1];
        for (t = 0; t < taps; ++t) {
            const int8_t *x0p = seg0[t], *x1p = seg1[t];
            const int8_t *w0 = filter + oc * k + t * len;
            const int8_t *w1 = w0 + k;
            for (i = 0; i + 4 <= len; i += 4) {
                const uint32_t x0 = load32(x0p + i), x1 = load32(x1p + i);
                const uint32_t v0 = load32(w0 + i), v1 = load32(w1 + i);
                const int32_t x0e = __sxtb16(x0), x0o = __sxtb16(ror8(x0));
                const int32_t x1e = __sxtb16(x1), x1o = __sxtb16(ror8(x1));
                const int32_t v0e = __sxtb16(v0), v0o = __sxtb16(ror8(v0));
                const int32_t v1e = __sxtb16(v1), v1o = __sxtb16(ror8(v1));
                a00 = __smlad(x0e, v0e, a00);
                a00 = __smlad(x0o, v0o, a00);
                a01 = __smlad(x1e, v0e, a01);
                a01 = __smlad(x1o, v0o, a01);
                a10 = __smlad(x0e, v1e, a10);
                a10 = __smlad(x0o, v1o, a10);
                a11 = __smlad(x1e, v1e, a11);
                a11 = __smlad(x1o, v1o, a11);
            }
            for (; i < len; ++i) {
                a00 += x0p[i] * w0[i];
                a01 += x1p[i] * w0[i];
                a10 += x0p[i] * w1[i];
                a11 += x1p[i] * w1[i];
            }
        }
        out0[oc] = requantize(a00, p, oc);
        out0[oc + 1] = requantize(a10, p, oc + 1);
        if (out1 != NULL) {
            out1[oc] = requantize(a01, p, oc);
            out1[oc + 1] = requantize(a11, p, oc + 1);
        }
    }
#endif
    for (; oc < n_out; ++oc) {
        int32_t a0 = bias[oc], a1 = bias[oc];
        for (t = 0; t < taps; ++t) {
            const int8_t *w = filter + oc * k + t * len;
            for (i = 0; i < len; ++i) {
                a0 += seg0[t][i] * w[i];
                a1 += seg1[t][i] * w[i];
            }
        }
        out0[oc] = requantize(a0, p, oc);
        if (out1 != NULL) out1[oc] = requantize(a1, p, oc);
    }
}

/* Where each tap of output pixel (oy, ox) reads: in the image, or the zero-point vector. */
static void tap_pointers(const int8_t *image, int32_t oy, int32_t ox, const kiln_conv_s8_params_t *p,
                         const int8_t *zp_vector, const int8_t **seg)
{
    const kiln_conv_geometry_t *g = &p->g;
    int32_t ky, kx;
    for (ky = 0; ky < g->k_h; ++ky) {
        const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dil_h;
        for (kx = 0; kx < g->k_w; ++kx) {
            const int32_t ix = ox * g->stride_w - g->pad_left + kx * g->dil_w;
            const int inside = iy >= 0 && iy < g->in_h && ix >= 0 && ix < g->in_w;
            *seg++ = inside ? image + (iy * g->in_w + ix) * g->in_c : zp_vector;
        }
    }
}

/* One output pixel's receptive field, row-major (k_h, k_w, in_c); outside taps read zp. */
static void im2col_pixel(const int8_t *image, int32_t oy, int32_t ox, const kiln_conv_s8_params_t *p, int8_t *col)
{
    const kiln_conv_geometry_t *g = &p->g;
    int32_t ky, kx;
    for (ky = 0; ky < g->k_h; ++ky) {
        const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dil_h;
        for (kx = 0; kx < g->k_w; ++kx) {
            const int32_t ix = ox * g->stride_w - g->pad_left + kx * g->dil_w;
            if (iy >= 0 && iy < g->in_h && ix >= 0 && ix < g->in_w) {
                memcpy(col, image + (iy * g->in_w + ix) * g->in_c, (size_t)g->in_c);
            } else {
                memset(col, (int)(int8_t)p->in_zp, (size_t)g->in_c);
            }
            col += g->in_c;
        }
    }
}

/* scratch != NULL: im2col two pixels into it (2 * k_h * k_w * in_c bytes), for narrow inputs.
 * scratch == NULL: read taps in place; zp_vector holds in_c copies of the input zero point. */
void kiln_conv_s8(const int8_t *in, const int8_t *filter, const int32_t *bias, int8_t *out,
                  const kiln_conv_s8_params_t *p, int8_t *scratch, const int8_t *zp_vector)
{
    const kiln_conv_geometry_t *g = &p->g;
    const int32_t taps = g->k_h * g->k_w;
    const int32_t pixels = g->out_h * g->out_w;
    const int8_t *seg0[KILN_CONV_MAX_TAPS], *seg1[KILN_CONV_MAX_TAPS];
    int32_t b, px;
    for (b = 0; b < g->batches; ++b) {
        const int8_t *image = in + b * g->in_h * g->in_w * g->in_c;
        int8_t *dst = out + b * pixels * g->out_c;
        for (px = 0; px < pixels; px += 2) {
            const int two = px + 1 < pixels;
            int8_t *o1 = two ? dst + (px + 1) * g->out_c : NULL;
            if (scratch != NULL) {
                const int32_t k = taps * g->in_c;
                im2col_pixel(image, px / g->out_w, px % g->out_w, p, scratch);
                if (two) im2col_pixel(image, (px + 1) / g->out_w, (px + 1) % g->out_w, p, scratch + k);
                seg0[0] = scratch;
                seg1[0] = scratch + k;
                dot_two_pixels(seg0, seg1, 1, k, filter, bias, dst + px * g->out_c, o1, p);
            } else {
                tap_pointers(image, px / g->out_w, px % g->out_w, p, zp_vector, seg0);
                if (two) tap_pointers(image, (px + 1) / g->out_w, (px + 1) % g->out_w, p, zp_vector, seg1);
                dot_two_pixels(seg0, seg1, taps, g->in_c, filter, bias, dst + px * g->out_c, o1, p);
            }
        }
    }
}

/* One depthwise output pixel on the border: taps outside the image are skipped (TFLite's rule). */
static void depthwise_border_pixel(const int8_t *image, const int8_t *filter, const int32_t *bias, int8_t *dst,
                                   int32_t oy, int32_t ox, const kiln_conv_s8_params_t *p)
{
    const kiln_conv_geometry_t *g = &p->g;
    const int32_t dm = g->depth_multiplier;
    int32_t ic, m, ky, kx;
    for (ic = 0; ic < g->in_c; ++ic) {
        for (m = 0; m < dm; ++m) {
            const int32_t oc = ic * dm + m;
            int32_t acc = bias[oc];
            for (ky = 0; ky < g->k_h; ++ky) {
                const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dil_h;
                if (iy < 0 || iy >= g->in_h) continue;
                for (kx = 0; kx < g->k_w; ++kx) {
                    const int32_t ix = ox * g->stride_w - g->pad_left + kx * g->dil_w;
                    if (ix < 0 || ix >= g->in_w) continue;
                    acc += (image[(iy * g->in_w + ix) * g->in_c + ic] - p->in_zp) *
                           filter[(ky * g->k_w + kx) * g->out_c + oc];
                }
            }
            dst[oc] = requantize(acc, p, oc);
        }
    }
}

/* An interior pixel with depth multiplier 1: every tap is inside, so the zero point is folded
 * into bias_folded and channels are contiguous in both the input and the filter. On Cortex-M
 * four channels go through each pair of word loads (SXTB16 + SMLABB/SMLATT). */
static void depthwise_interior_pixel(const int8_t *origin, const int8_t *filter, const int32_t *bias_folded,
                                     int8_t *dst, const kiln_conv_s8_params_t *p)
{
    const kiln_conv_geometry_t *g = &p->g;
    const int32_t c_n = g->in_c;
    const int32_t row = g->dil_h * g->in_w * c_n, col = g->dil_w * c_n;
    int32_t c = 0, ky, kx;
#if KILN_DSP
    for (; c + 4 <= c_n; c += 4) {
        int32_t a0 = bias_folded[c], a1 = bias_folded[c + 1], a2 = bias_folded[c + 2], a3 = bias_folded[c + 3];
        const int8_t *w = filter + c;
        for (ky = 0; ky < g->k_h; ++ky) {
            const int8_t *x = origin + ky * row + c;
            for (kx = 0; kx < g->k_w; ++kx, x += col, w += c_n) {
                const uint32_t xv = load32(x), wv = load32(w);
                const int32_t xe = __sxtb16(xv), xo = __sxtb16(ror8(xv));
                const int32_t we = __sxtb16(wv), wo = __sxtb16(ror8(wv));
                a0 = __smlabb(xe, we, a0);
                a2 = __smlatt(xe, we, a2);
                a1 = __smlabb(xo, wo, a1);
                a3 = __smlatt(xo, wo, a3);
            }
        }
        dst[c] = requantize(a0, p, c);
        dst[c + 1] = requantize(a1, p, c + 1);
        dst[c + 2] = requantize(a2, p, c + 2);
        dst[c + 3] = requantize(a3, p, c + 3);
    }
#endif
    for (; c < c_n; ++c) {
        int32_t acc = bias_folded[c];
        for (ky = 0; ky < g->k_h; ++ky) {
            const int8_t *x = origin + ky * row + c;
            const int8_t *w = filter + ky * g->k_w * c_n + c;
            for (kx = 0; kx < g->k_w; ++kx) acc += x[kx * col] * w[kx * c_n];
        }
        dst[c] = requantize(acc, p, c);
    }
}

/* bias_folded (depth multiplier 1 only, else unused): bias - in_zp * sum of the channel's taps. */
void kiln_depthwise_conv_s8(const int8_t *in, const int8_t *filter, const int32_t *bias, int8_t *out,
                            const kiln_conv_s8_params_t *p, const int32_t *bias_folded)
{
    const kiln_conv_geometry_t *g = &p->g;
    const int32_t span_h = (g->k_h - 1) * g->dil_h, span_w = (g->k_w - 1) * g->dil_w;
    int32_t b, oy, ox;
    for (b = 0; b < g->batches; ++b) {
        const int8_t *image = in + b * g->in_h * g->in_w * g->in_c;
        for (oy = 0; oy < g->out_h; ++oy) {
            const int32_t iy = oy * g->stride_h - g->pad_top;
            const int inside_y = iy >= 0 && iy + span_h < g->in_h;
            for (ox = 0; ox < g->out_w; ++ox) {
                const int32_t ix = ox * g->stride_w - g->pad_left;
                int8_t *dst = out + ((b * g->out_h + oy) * g->out_w + ox) * g->out_c;
                if (inside_y && ix >= 0 && ix + span_w < g->in_w && bias_folded != NULL) {
                    depthwise_interior_pixel(image + (iy * g->in_w + ix) * g->in_c, filter, bias_folded, dst, p);
                } else {
                    depthwise_border_pixel(image, filter, bias, dst, oy, ox, p);
                }
            }
        }
    }
}

static float clampf(float v, float lo, float hi)
{
    v = v < lo ? lo : v;
    return hi < v ? hi : v;
}

/* Float kernels follow TFLite's loop order exactly (taps, then input channels), skipping taps
 * outside the image, so sums round the same way. */
void kiln_conv_f32(const float *in, const float *filter, const float *bias, float *out,
                   const kiln_conv_geometry_t *g, float act_min, float act_max)
{
    int32_t b, oy, ox, oc, ky, kx, ic;
    for (b = 0; b < g->batches; ++b) {
        for (oy = 0; oy < g->out_h; ++oy) {
            for (ox = 0; ox < g->out_w; ++ox) {
                for (oc = 0; oc < g->out_c; ++oc) {
                    float total = 0.0f;
                    for (ky = 0; ky < g->k_h; ++ky) {
                        const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dil_h;
                        for (kx = 0; kx < g->k_w; ++kx) {
                            const int32_t ix = ox * g->stride_w - g->pad_left + kx * g->dil_w;
                            const float *x, *w;
                            if (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w) continue;
                            x = in + ((b * g->in_h + iy) * g->in_w + ix) * g->in_c;
                            w = filter + ((oc * g->k_h + ky) * g->k_w + kx) * g->in_c;
                            for (ic = 0; ic < g->in_c; ++ic) total += x[ic] * w[ic];
                        }
                    }
                    out[((b * g->out_h + oy) * g->out_w + ox) * g->out_c + oc] =
                        clampf(total + (bias != NULL ? bias[oc] : 0.0f), act_min, act_max);
                }
            }
        }
    }
}

void kiln_depthwise_conv_f32(const float *in, const float *filter, const float *bias, float *out,
                             const kiln_conv_geometry_t *g, float act_min, float act_max)
{
    int32_t b, oy, ox, ic, m, ky, kx;
    for (b = 0; b < g->batches; ++b) {
        for (oy = 0; oy < g->out_h; ++oy) {
            for (ox = 0; ox < g->out_w; ++ox) {
                for (ic = 0; ic < g->in_c; ++ic) {
                    for (m = 0; m < g->depth_multiplier; ++m) {
                        const int32_t oc = ic * g->depth_multiplier + m;
                        float total = 0.0f;
                        for (ky = 0; ky < g->k_h; ++ky) {
                            const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dil_h;
                            for (kx = 0; kx < g->k_w; ++kx) {
                                const int32_t ix = ox * g->stride_w - g->pad_left + kx * g->dil_w;
                                if (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w) continue;
                                total += in[((b * g->in_h + iy) * g->in_w + ix) * g->in_c + ic] *
                                         filter[(ky * g->k_w + kx) * g->out_c + oc];
                            }
                        }
                        out[((b * g->out_h + oy) * g->out_w + ox) * g->out_c + oc] =
                            clampf(total + (bias != NULL ? bias[oc] : 0.0f), act_min, act_max);
                    }
                }
            }
        }
    }
}
