/* CONV_2D and DEPTHWISE_CONV_2D kernels.
 *
 * int8 convolution works on two output pixels at a time. Each pixel is a list of taps: pointers
 * to its input pixels, read in place (or to a vector of zero points outside the image), or one
 * im2col column for inputs whose channel count is not a multiple of 4. Every tap is a multiple
 * of 4 bytes long, and the compiler packed the filter for this loop: output channels in pairs,
 * their 4-byte chunks interleaved, so one pointer walks it. On Cortex-M with the DSP extension
 * each 4-byte step is 16 MACs through SMLAD; elsewhere the same loop is plain C. The integer
 * sums equal TFLite Micro's, only their order differs. */
#include <string.h>

#include "kiln_dsp.h"
#include "kiln_fixedpoint.h"
#include "kiln_runtime.h"

typedef struct { /* per-call constants kept in locals: int8 stores may alias anything */
    const int32_t *mult, *shift;
    int32_t out_zp, act_min, act_max;
} requant_t;

static requant_t requant_of(const kiln_conv_s8_params_t *p)
{
    requant_t r;
    r.mult = p->mult;
    r.shift = p->shift;
    r.out_zp = p->out_zp;
    r.act_min = p->act_min;
    r.act_max = p->act_max;
    return r;
}

static inline int8_t requantize(int32_t acc, const requant_t *r, int32_t oc)
{
    acc = kiln_mul_by_qm(acc, r->mult[oc], r->shift[oc]) + r->out_zp;
    return (int8_t)kiln_clamp_i32(acc, r->act_min, r->act_max);
}

#if KILN_DSP
#define MAC_2X2_STEP                                                                              \
    "ldr    %[t], [%[x0]], #4\n\t"                                           \
    "sxtb16 %[x0o], %[t], ror #8\n\t"                                        \
    "sxtb16 %[x0e], %[t]\n\t"                                                \
    "ldr    %[t], [%[x1]], #4\n\t"                                           \
    "sxtb16 %[x1o], %[t], ror #8\n\t"                                        \
    "sxtb16 %[x1e], %[t]\n\t"                                                \
    "ldr    %[t], [%[w]], #4\n\t"                                            \
    "sxtb16 %[vo], %[t], ror #8\n\t"                                         \
    "sxtb16 %[t], %[t]\n\t"                                                  \
    "smlad  %[a00], %[x0e], %[t], %[a00]\n\t"                                \
    "smlad  %[a00], %[x0o], %[vo], %[a00]\n\t"                               \
    "smlad  %[a01], %[x1e], %[t], %[a01]\n\t"                                \
    "smlad  %[a01], %[x1o], %[vo], %[a01]\n\t"                               \
    "ldr    %[t], [%[w]], #4\n\t"                                            \
    "sxtb16 %[vo], %[t], ror #8\n\t"                                         \
    "sxtb16 %[t], %[t]\n\t"                                                  \
    "smlad  %[a10], %[x0e], %[t], %[a10]\n\t"                                \
    "smlad  %[a10], %[x0o], %[vo], %[a10]\n\t"                               \
    "smlad  %[a11], %[x1e], %[t], %[a11]\n\t"                                \
    "smlad  %[a11], %[x1o], %[vo], %[a11]\n\t"                               \

/* steps x 16 MACs: pixels x0/x1 (4 bytes per step each) by two output channels whose 4-byte
 * filter chunks alternate at w. Written in assembly because gcc spills this loop's 14 live
 * registers to the stack; here it is 21-22 instructions per 16 MACs. Advances w. */
#define MAC_2X2_LOOP(x0_start, x1_start, w, steps) MAC_2X2_ASM(x0_start, x1_start, w, steps, MAC_2X2_STEP)
/* Two steps per loop trip, for an even number of steps. */
#define MAC_2X2_LOOP_EVEN(x0_start, x1_start, w, steps) \
    MAC_2X2_ASM(x0_start, x1_start, w, (steps) / 2, MAC_2X2_STEP MAC_2X2_STEP)
#define MAC_2X2_ASM(x0_start, x1_start, w, steps, BODY)                                           \
    do {                                                                                          \
        const int8_t *x0_ = (x0_start), *x1_ = (x1_start);                                        \
        int32_t n_ = (steps), t_, vo_, x0e_, x0o_, x1e_, x1o_;                                    \
        __asm__ volatile("1:\n\t"                                                                  \
                         BODY                                                             \
                         "subs   %[n], %[n], #1\n\t"                                              \
                         "bne    1b\n\t"                                                          \
                         : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11),   \
                           [x0] "+r"(x0_), [x1] "+r"(x1_), [w] "+r"(w), [n] "+r"(n_), [t] "=&r"(t_), \
                           [vo] "=&r"(vo_), [x0e] "=&r"(x0e_), [x0o] "=&r"(x0o_), [x1e] "=&r"(x1e_),  \
                           [x1o] "=&r"(x1o_)                                                      \
                         :                                                                        \
                         : "cc", "memory");                                                       \
    } while (0)
#endif

/* Two pixels, all output channels. seg{0,1}[t] point at tap t (len bytes, len % 4 == 0);
 * out1 may be NULL for an odd last pixel. */
static void dot_two_pixels(const int8_t *const *seg0, const int8_t *const *seg1, int32_t taps, int32_t len,
                           const int8_t *packed, const int32_t *bias, int8_t *out0, int8_t *out1,
                           int32_t n_out, const requant_t *r)
{
    int32_t oc, t, i;
    const int8_t *w = packed;
    if (out1 == NULL) seg1 = seg0;
    for (oc = 0; oc + 2 <= n_out; oc += 2) {
        int32_t a00 = bias[oc], a01 = bias[oc], a10 = bias[oc + 1], a11 = bias[oc + 1];
        for (t = 0; t < taps; ++t) {
#if KILN_DSP
            if ((len & 7) == 0) {
                MAC_2X2_LOOP_EVEN(seg0[t], seg1[t], w, len / 4);
            } else {
                MAC_2X2_LOOP(seg0[t], seg1[t], w, len / 4);
            }
#else
            const int8_t *x0p = seg0[t], *x1p = seg1[t];
            for (i = 0; i < len; i += 4, w += 8) {
                int32_t j;
                for (j = 0; j < 4; ++j) {
                    a00 += x0p[i + j] * w[j];
                    a01 += x1p[i + j] * w[j];
                    a10 += x0p[i + j] * w[4 + j];
                    a11 += x1p[i + j] * w[4 + j];
                }
            }
#endif
        }
        out0[oc] = requantize(a00, r, oc);
        out0[oc + 1] = requantize(a10, r, oc + 1);
        if (out1 != NULL) {
            out1[oc] = requantize(a01, r, oc);
            out1[oc + 1] = requantize(a11, r, oc + 1);
        }
    }
    if (oc < n_out) { /* an odd last channel: its filter row is stored plainly */
        int32_t a0 = bias[oc], a1 = bias[oc];
        for (t = 0; t < taps; ++t) {
            for (i = 0; i < len; ++i, ++w) {
                a0 += seg0[t][i] * *w;
                a1 += seg1[t][i] * *w;
            }
        }
        out0[oc] = requantize(a0, r, oc);
        if (out1 != NULL) out1[oc] = requantize(a1, r, oc);
    }
}

/* Where each tap of output pixel (oy, ox) reads: in the image, or the zero-point vector. */
static void tap_pointers(const int8_t *image, int32_t oy, int32_t ox, const kiln_conv_geometry_t *g,
                         const int8_t *zp_vector, const int8_t **seg)
{
    const int32_t in_h = g->in_h, in_w = g->in_w, in_c = g->in_c, k_h = g->k_h, k_w = g->k_w;
    const int32_t y0 = oy * g->stride_h - g->pad_top, x0 = ox * g->stride_w - g->pad_left;
    const int32_t dh = g->dil_h, dw = g->dil_w;
    int32_t ky, kx;
    for (ky = 0; ky < k_h; ++ky) {
        const int32_t iy = y0 + ky * dh;
        for (kx = 0; kx < k_w; ++kx) {
            const int32_t ix = x0 + kx * dw;
            const int inside = iy >= 0 && iy < in_h && ix >= 0 && ix < in_w;
            *seg++ = inside ? image + (iy * in_w + ix) * in_c : zp_vector;
        }
    }
}

/* One output pixel's receptive field as a column of k_h * k_w * in_c bytes (outside taps read
 * the zero point), then zeros up to len, the multiple of 4 the packed filter was padded to. */
static void im2col_pixel(const int8_t *image, int32_t oy, int32_t ox, const kiln_conv_geometry_t *g,
                         int32_t in_zp, int32_t len, int8_t *col)
{
    const int32_t in_h = g->in_h, in_w = g->in_w, in_c = g->in_c, k_h = g->k_h, k_w = g->k_w;
    const int32_t y0 = oy * g->stride_h - g->pad_top, x0 = ox * g->stride_w - g->pad_left;
    int8_t *const end = col + len;
    int32_t ky, kx, c;
    for (ky = 0; ky < k_h; ++ky) {
        const int32_t iy = y0 + ky * g->dil_h;
        for (kx = 0; kx < k_w; ++kx) {
            const int32_t ix = x0 + kx * g->dil_w;
            if (iy >= 0 && iy < in_h && ix >= 0 && ix < in_w) {
                const int8_t *src = image + (iy * in_w + ix) * in_c;
                for (c = 0; c < in_c; ++c) *col++ = src[c];
            } else {
                for (c = 0; c < in_c; ++c) *col++ = (int8_t)in_zp;
            }
        }
    }
    while (col < end) *col++ = 0;
}

void kiln_conv_s8(const int8_t *in, const int8_t *packed, const int32_t *bias, int8_t *out,
                  const kiln_conv_s8_params_t *p, int8_t *scratch, const int8_t *zp_vector)
{
    const kiln_conv_geometry_t g = p->g;
    const requant_t r = requant_of(p);
    const int32_t taps = g.k_h * g.k_w;
    const int32_t pixels = g.out_h * g.out_w;
    const int32_t col_len = p->tap_len; /* im2col: the padded column length */
    const int8_t *seg0[KILN_CONV_MAX_TAPS], *seg1[KILN_CONV_MAX_TAPS];
    int32_t b, px;
    for (b = 0; b < g.batches; ++b) {
        const int8_t *image = in + b * g.in_h * g.in_w * g.in_c;
        int8_t *dst = out + b * pixels * g.out_c;
        for (px = 0; px < pixels; px += 2) {
            const int two = px + 1 < pixels;
            int8_t *o0 = dst + px * g.out_c;
            int8_t *o1 = two ? o0 + g.out_c : NULL;
            if (scratch != NULL) {
                im2col_pixel(image, px / g.out_w, px % g.out_w, &g, p->in_zp, col_len, scratch);
                if (two) im2col_pixel(image, (px + 1) / g.out_w, (px + 1) % g.out_w, &g, p->in_zp, col_len, scratch + col_len);
                seg0[0] = scratch;
                seg1[0] = scratch + col_len;
                dot_two_pixels(seg0, seg1, 1, col_len, packed, bias, o0, o1, g.out_c, &r);
            } else {
                tap_pointers(image, px / g.out_w, px % g.out_w, &g, zp_vector, seg0);
                if (two) tap_pointers(image, (px + 1) / g.out_w, (px + 1) % g.out_w, &g, zp_vector, seg1);
                dot_two_pixels(seg0, seg1, taps, g.in_c, packed, bias, o0, o1, g.out_c, &r);
            }
        }
    }
}

#if KILN_DSP
/* taps x 4 MACs: four channels at byte offset c of every tap (seg: pointers to the taps) by the
 * packed filter words at w, into a0..a3. 13 instructions per tap. Advances w. */
#define DW_4CH_LOOP(seg_start, c, w, taps)                                                        \
    do {                                                                                          \
        const int8_t *const *s_ = (seg_start);                                                    \
        int32_t n_ = (taps), t_, xe_, xo_, wo_;                                                   \
        __asm__ volatile("1:\n\t"                                                                  \
                         "ldr    %[t], [%[s]], #4\n\t"                                            \
                         "ldr    %[t], [%[t], %[c]]\n\t"                                          \
                         "sxtb16 %[xo], %[t], ror #8\n\t"                                         \
                         "sxtb16 %[xe], %[t]\n\t"                                                 \
                         "ldr    %[t], [%[w]], #4\n\t"                                            \
                         "sxtb16 %[wo], %[t], ror #8\n\t"                                         \
                         "sxtb16 %[t], %[t]\n\t"                                                  \
                         "smlabb %[a0], %[xe], %[t], %[a0]\n\t"                                   \
                         "smlatt %[a2], %[xe], %[t], %[a2]\n\t"                                   \
                         "smlabb %[a1], %[xo], %[wo], %[a1]\n\t"                                  \
                         "smlatt %[a3], %[xo], %[wo], %[a3]\n\t"                                  \
                         "subs   %[n], %[n], #1\n\t"                                              \
                         "bne    1b\n\t"                                                          \
                         : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [s] "+r"(s_), \
                           [w] "+r"(w), [n] "+r"(n_), [t] "=&r"(t_), [xe] "=&r"(xe_), [xo] "=&r"(xo_), \
                           [wo] "=&r"(wo_)                                                        \
                         : [c] "r"(c)                                                             \
                         : "cc", "memory");                                                       \
    } while (0)
#endif

/* Depth multiplier 1: every tap of a pixel (the zero-point vector outside the image) against
 * the filter packed by the compiler: for each block of four channels, the taps' 4-byte words in
 * order; then, for each remaining channel, its taps. */
static void depthwise_pixel(const int8_t *const *seg, int32_t taps, int32_t channels, const int8_t *packed,
                            const int32_t *bias_folded, int8_t *dst, const requant_t *r)
{
    const int8_t *w = packed;
    int32_t c, t;
    for (c = 0; c + 4 <= channels; c += 4) {
        int32_t a0 = bias_folded[c], a1 = bias_folded[c + 1], a2 = bias_folded[c + 2], a3 = bias_folded[c + 3];
#if KILN_DSP
        DW_4CH_LOOP(seg, c, w, taps);
#else
        for (t = 0; t < taps; ++t, w += 4) {
            const int8_t *x = seg[t] + c;
            a0 += x[0] * w[0];
            a1 += x[1] * w[1];
            a2 += x[2] * w[2];
            a3 += x[3] * w[3];
        }
#endif
        dst[c] = requantize(a0, r, c);
        dst[c + 1] = requantize(a1, r, c + 1);
        dst[c + 2] = requantize(a2, r, c + 2);
        dst[c + 3] = requantize(a3, r, c + 3);
    }
    for (; c < channels; ++c) {
        int32_t acc = bias_folded[c];
        for (t = 0; t < taps; ++t) acc += seg[t][c] * *w++;
        dst[c] = requantize(acc, r, c);
    }
}

/* Any depth multiplier: taps outside the image are skipped, as TFLite does. */
static void depthwise_pixel_general(const int8_t *image, const int8_t *filter, const int32_t *bias, int8_t *dst,
                                    int32_t oy, int32_t ox, const kiln_conv_geometry_t *g, int32_t in_zp,
                                    const requant_t *r)
{
    const int32_t dm = g->depth_multiplier, in_c = g->in_c, out_c = g->out_c, in_w = g->in_w;
    int32_t ic, m, ky, kx;
    for (ic = 0; ic < in_c; ++ic) {
        for (m = 0; m < dm; ++m) {
            const int32_t oc = ic * dm + m;
            int32_t acc = bias[oc];
            for (ky = 0; ky < g->k_h; ++ky) {
                const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dil_h;
                if (iy < 0 || iy >= g->in_h) continue;
                for (kx = 0; kx < g->k_w; ++kx) {
                    const int32_t ix = ox * g->stride_w - g->pad_left + kx * g->dil_w;
                    if (ix < 0 || ix >= in_w) continue;
                    acc += (image[(iy * in_w + ix) * in_c + ic] - in_zp) * filter[(ky * g->k_w + kx) * out_c + oc];
                }
            }
            dst[oc] = requantize(acc, r, oc);
        }
    }
}

/* bias_folded and zp_vector are given for depth multiplier 1 (bias - in_zp * sum of the
 * channel's taps; in_c copies of in_zp), NULL otherwise. */
void kiln_depthwise_conv_s8(const int8_t *in, const int8_t *filter, const int32_t *bias, int8_t *out,
                            const kiln_conv_s8_params_t *p, const int32_t *bias_folded, const int8_t *zp_vector)
{
    const kiln_conv_geometry_t g = p->g;
    const requant_t r = requant_of(p);
    const int32_t taps = g.k_h * g.k_w;
    const int32_t span_h = (g.k_h - 1) * g.dil_h, span_w = (g.k_w - 1) * g.dil_w;
    const int32_t step = g.stride_w * g.in_c;
    const int8_t *seg[KILN_CONV_MAX_TAPS];
    int32_t b, oy, ox;
    for (b = 0; b < g.batches; ++b) {
        const int8_t *image = in + b * g.in_h * g.in_w * g.in_c;
        for (oy = 0; oy < g.out_h; ++oy) {
            const int32_t iy = oy * g.stride_h - g.pad_top;
            const int inside_y = iy >= 0 && iy + span_h < g.in_h;
            int prev_interior = 0;
            for (ox = 0; ox < g.out_w; ++ox) {
                int8_t *dst = out + ((b * g.out_h + oy) * g.out_w + ox) * g.out_c;
                if (bias_folded != NULL) {
                    const int interior = inside_y && ox * g.stride_w - g.pad_left >= 0 &&
                                         ox * g.stride_w - g.pad_left + span_w < g.in_w;
                    if (interior && prev_interior) { /* one pixel to the right: every tap moves alike */
                        int32_t t;
                        for (t = 0; t < taps; ++t) seg[t] += step;
                    } else {
                        tap_pointers(image, oy, ox, &g, zp_vector, seg);
                    }
                    prev_interior = interior;
                    depthwise_pixel(seg, taps, g.out_c, filter, bias_folded, dst, &r);
                } else {
                    depthwise_pixel_general(image, filter, bias, dst, oy, ox, &g, p->in_zp, &r);
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
