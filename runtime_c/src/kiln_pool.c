/* AVERAGE_POOL_2D and MAX_POOL_2D, as TFLite: windows clipped to the image, int8 averages
 * rounded half away from zero, in the input's quantization. */
#include "kiln_dsp.h"
#include "kiln_fixedpoint.h"
#include "kiln_mve.h"
#include "kiln_runtime.h"

typedef struct {
    int32_t y0, x0;         /* window origin in the image (may be negative) */
    int32_t ys, ye, xs, xe; /* the part inside the image, relative to the origin */
} window_t;

static window_t window(const kiln_pool_geometry_t *g, int32_t oy, int32_t ox)
{
    window_t w;
    w.y0 = oy * g->stride_h - g->pad_top;
    w.x0 = ox * g->stride_w - g->pad_left;
    w.ys = w.y0 < 0 ? -w.y0 : 0;
    w.ye = g->in_h - w.y0 < g->k_h ? g->in_h - w.y0 : g->k_h;
    w.xs = w.x0 < 0 ? -w.x0 : 0;
    w.xe = g->in_w - w.x0 < g->k_w ? g->in_w - w.x0 : g->k_w;
    return w;
}

/* Offset of tap (ky, kx) of window w, channel 0, in batch b. */
static int32_t at(const kiln_pool_geometry_t *g, int32_t b, const window_t *w, int32_t ky, int32_t kx)
{
    return ((b * g->in_h + w->y0 + ky) * g->in_w + w->x0 + kx) * g->channels;
}

/* The integer pools AVG and MAX for one element type T (int8, int16): TFLite's integer AveragePool and
 * MaxPool. */
#define KILN_INT_POOLS(T, AVG, MAX, LOWEST)                                                                        \
    void AVG(const T *in, T *out, const kiln_pool_geometry_t *g, int32_t act_min, int32_t act_max)               \
    {                                                                                                            \
        int32_t b, oy, ox, c, ky, kx;                                                                            \
        for (b = 0; b < g->batches; ++b)                                                                         \
            for (oy = 0; oy < g->out_h; ++oy)                                                                    \
                for (ox = 0; ox < g->out_w; ++ox) {                                                              \
                    const window_t w = window(g, oy, ox);                                                        \
                    const int32_t count = (w.ye - w.ys) * (w.xe - w.xs);                                         \
                    T *dst = out + ((b * g->out_h + oy) * g->out_w + ox) * g->channels;                          \
                    for (c = 0; c < g->channels; ++c) {                                                          \
                        int32_t acc = 0;                                                                         \
                        for (ky = w.ys; ky < w.ye; ++ky) {                                                       \
                            const T *p = in + at(g, b, &w, ky, w.xs) + c;                                        \
                            for (kx = w.xs; kx < w.xe; ++kx, p += g->channels) acc += *p;                        \
                        }                                                                                        \
                        if (count > 0) acc = kiln_div_round(acc, count);                                         \
                        dst[c] = (T)kiln_clamp_i32(acc, act_min, act_max);                                       \
                    }                                                                                            \
                }                                                                                                \
    }                                                                                                            \
                                                                                                                 \
    void MAX(const T *in, T *out, const kiln_pool_geometry_t *g, int32_t act_min, int32_t act_max)               \
    {                                                                                                            \
        int32_t b, oy, ox, c, ky, kx;                                                                            \
        for (b = 0; b < g->batches; ++b)                                                                         \
            for (oy = 0; oy < g->out_h; ++oy)                                                                    \
                for (ox = 0; ox < g->out_w; ++ox) {                                                              \
                    const window_t w = window(g, oy, ox);                                                        \
                    T *dst = out + ((b * g->out_h + oy) * g->out_w + ox) * g->channels;                          \
                    for (c = 0; c < g->channels; ++c) {                                                          \
                        int32_t best = LOWEST;                                                                   \
                        for (ky = w.ys; ky < w.ye; ++ky)                                                         \
                            for (kx = w.xs; kx < w.xe; ++kx) {                                                   \
                                const int32_t v = in[at(g, b, &w, ky, kx) + c];                                  \
                                best = v > best ? v : best;                                                      \
                            }                                                                                    \
                        dst[c] = (T)kiln_clamp_i32(best, act_min, act_max);                                      \
                    }                                                                                            \
                }                                                                                                \
    }

/* (the kernels a macro defines are found by codegen/cwriter.py's KILN_*( ... kiln_name ... ) rule) */
KILN_INT_POOLS(int16_t, kiln_avg_pool_s16, kiln_max_pool_s16, -32768)

/* int8: the same sums and maxima, four channels at a time on the DSP path, the rest one at a time
 * (at -Os only the latter: smaller code). */
#if KILN_DSP && !defined(__OPTIMIZE_SIZE__)
#define KILN_POOL_SIMD 1
#else
#define KILN_POOL_SIMD 0
#endif
static int8_t avg_s8(int32_t acc, int32_t count, int32_t act_min, int32_t act_max)
{
    if (count > 0) acc = kiln_div_round(acc, count);
    return (int8_t)kiln_clamp_i32(acc, act_min, act_max);
}

#if KILN_POOL_SIMD
/* Two int16 sums s of a window of count = 2^k taps, each divided with TFLite's rounding (half away
 * from zero): (s + count/2 - [s < 0]) >> k, which equals it for a power of two. SADD16 with zero
 * sets each halfword's GE flag where s >= 0, SEL takes half or half - 1 by it; the shifts come
 * with the halves' extraction (the low one by SBFX, the high one by ASR). */
static inline uint32_t pow2_rounding(uint32_t s, uint32_t half, uint32_t half_less_one)
{
    (void)__sadd16(s, 0u);
    return __sadd16(s, __sel(half, half_less_one));
}

/* Four channels' window sums as int16 halves (SXTAB16 of the even and the odd bytes): exact up to
 * 256 taps. p: the window's first tap (channel c); rows of cols taps, row_step bytes apart. */
__attribute__((always_inline)) static inline void sums4(const int8_t *p, int32_t rows, int32_t cols, int32_t C,
                                                        int32_t row_step, uint32_t *even, uint32_t *odd)
{
    uint32_t e = 0, o = 0;
    int32_t y, x;
    if (rows == 2 && cols == 2) { /* the common 2x2 window, unrolled */
        const uint32_t a = kiln_load32(p), b = kiln_load32(p + C);
        const uint32_t c = kiln_load32(p + row_step), d = kiln_load32(p + row_step + C);
        *even = kiln_add_even(kiln_add_even(kiln_add_even((uint32_t)kiln_even(a), b), c), d);
        *odd = kiln_add_odd(kiln_add_odd(kiln_add_odd((uint32_t)kiln_odd(a), b), c), d);
        return;
    }
    for (y = 0; y < rows; ++y, p += row_step) {
        const int8_t *q = p;
        for (x = 0; x < cols; ++x, q += C) {
            const uint32_t v = kiln_load32(q);
            e = kiln_add_even(e, v);
            o = kiln_add_odd(o, v);
        }
    }
    *even = e;
    *odd = o;
}
#endif

#if KILN_MVE
/* Helium: 8 channels a step, their window sums in int16 lanes (exact up to 256 taps; each tap one
 * widening load and one add); a power-of-two count divides on the vector with TFLite's rounding,
 * (s + count/2 - [s < 0]) >> k, any other lane by lane. Returns the channels done (a multiple of 8). */
static int32_t avg8_mve(const int8_t *origin, int32_t rows, int32_t cols, int32_t C, int32_t row_step, int32_t count,
                        int32_t act_min, int32_t act_max, int8_t *dst)
{
    const int pow2 = (count & (count - 1)) == 0;
    const int32_t k = 31 - kiln_clz32((uint32_t)count);
    const int16x8_t lo = vdupq_n_s16((int16_t)(act_min < -128 ? -128 : act_min));
    const int16x8_t hi = vdupq_n_s16((int16_t)(act_max > 127 ? 127 : act_max));
    int32_t c, y, x, i;
    for (c = 0; c + 8 <= C; c += 8) {
        const int8_t *p = origin + c;
        int16x8_t sum = vdupq_n_s16(0), v;
        for (y = 0; y < rows; ++y, p += row_step) {
            const int8_t *q = p;
            for (x = 0; x < cols; ++x, q += C) sum = vaddq_s16(sum, vldrbq_s16(q));
        }
        if (pow2 && k > 0) {
            v = vaddq_s16(vaddq_n_s16(sum, (int16_t)(count >> 1)), vshrq_n_s16(sum, 15));
            v = vshlq_r_s16(v, -k);
        } else if (pow2) {
            v = sum;
        } else {
            int16_t t[8];
            vst1q_s16(t, sum);
            for (i = 0; i < 8; ++i) t[i] = (int16_t)kiln_div_round(t[i], count);
            v = vld1q_s16(t);
        }
        vstrbq_s16(dst + c, vminq_s16(vmaxq_s16(v, lo), hi));
    }
    return c;
}
#endif

void kiln_avg_pool_s8(const int8_t *in, int8_t *out, const kiln_pool_geometry_t *g, int32_t act_min, int32_t act_max)
{
    const int32_t C = g->channels;
#if KILN_POOL_SIMD
    const int full = act_min <= -128 && act_max >= 127; /* an average of int8 values needs no clamp then */
#endif
    int32_t b, oy, ox, c, ky, kx;
    for (b = 0; b < g->batches; ++b)
        for (oy = 0; oy < g->out_h; ++oy)
            for (ox = 0; ox < g->out_w; ++ox) {
                const window_t w = window(g, oy, ox);
                const int32_t count = (w.ye - w.ys) * (w.xe - w.xs);
                int8_t *dst = out + ((b * g->out_h + oy) * g->out_w + ox) * C;
#if KILN_POOL_SIMD || KILN_MVE
                const int8_t *origin = in + at(g, b, &w, w.ys, w.xs);
                const int32_t rows = w.ye - w.ys, cols = w.xe - w.xs, row_step = g->in_w * C;
#endif
                c = 0;
#if KILN_MVE
                if (count > 0 && count <= 256) c = avg8_mve(origin, rows, cols, C, row_step, count, act_min, act_max, dst);
#endif
#if KILN_POOL_SIMD
                if (count > 0 && count <= 256 && (count & (count - 1)) == 0) { /* 2x2 windows, their edges */
                    const int32_t k = 31 - kiln_clz32((uint32_t)count);
                    const uint32_t half = (uint32_t)(count >> 1) * 0x10001u;
                    const uint32_t half1 = (uint32_t)((count >> 1) - 1) * 0x10001u; /* k = 0: -1 + [s >= 0] = 0 */
                    for (; c + 4 <= C; c += 4) {
                        uint32_t even, odd;
                        int32_t y0, y1, y2, y3;
                        sums4(origin + c, rows, cols, C, row_step, &even, &odd);
                        even = pow2_rounding(even, k ? half : 0u, k ? half1 : 0u);
                        odd = pow2_rounding(odd, k ? half : 0u, k ? half1 : 0u);
                        y0 = kiln_lo16(even) >> k, y2 = (int32_t)even >> (16 + k);
                        y1 = kiln_lo16(odd) >> k, y3 = (int32_t)odd >> (16 + k);
                        if (!full) {
                            y0 = kiln_clamp_i32(y0, act_min, act_max), y1 = kiln_clamp_i32(y1, act_min, act_max);
                            y2 = kiln_clamp_i32(y2, act_min, act_max), y3 = kiln_clamp_i32(y3, act_min, act_max);
                        }
                        dst[c] = (int8_t)y0, dst[c + 1] = (int8_t)y1, dst[c + 2] = (int8_t)y2, dst[c + 3] = (int8_t)y3;
                    }
                }
                for (; c + 4 <= C && count <= 256; c += 4) {
                    uint32_t even, odd;
                    sums4(origin + c, rows, cols, C, row_step, &even, &odd);
                    dst[c] = avg_s8(kiln_lo16(even), count, act_min, act_max);
                    dst[c + 1] = avg_s8(kiln_lo16(odd), count, act_min, act_max);
                    dst[c + 2] = avg_s8(kiln_hi16(even), count, act_min, act_max);
                    dst[c + 3] = avg_s8(kiln_hi16(odd), count, act_min, act_max);
                }
#endif
                for (; c < C; ++c) {
                    int32_t acc = 0;
                    for (ky = w.ys; ky < w.ye; ++ky) {
                        const int8_t *p = in + at(g, b, &w, ky, w.xs) + c;
                        for (kx = w.xs; kx < w.xe; ++kx, p += C) acc += *p;
                    }
                    dst[c] = avg_s8(acc, count, act_min, act_max);
                }
            }
}

void kiln_max_pool_s8(const int8_t *in, int8_t *out, const kiln_pool_geometry_t *g, int32_t act_min, int32_t act_max)
{
    const int32_t C = g->channels;
#if KILN_POOL_SIMD
    const uint32_t lo = 0x01010101u * (uint8_t)act_min, hi = 0x01010101u * (uint8_t)act_max;
#endif
    int32_t b, oy, ox, c, ky, kx;
    for (b = 0; b < g->batches; ++b)
        for (oy = 0; oy < g->out_h; ++oy)
            for (ox = 0; ox < g->out_w; ++ox) {
                const window_t w = window(g, oy, ox);
                int8_t *dst = out + ((b * g->out_h + oy) * g->out_w + ox) * C;
                c = 0;
#if KILN_MVE
                for (; c + 16 <= C; c += 16) { /* Helium: 16 channels a step, one VMAX a tap */
                    int8x16_t best = vdupq_n_s8(-128);
                    for (ky = w.ys; ky < w.ye; ++ky) {
                        const int8_t *p = in + at(g, b, &w, ky, w.xs) + c;
                        for (kx = w.xs; kx < w.xe; ++kx, p += C) best = vmaxq_s8(best, vldrbq_s8(p));
                    }
                    best = vminq_s8(vmaxq_s8(best, vdupq_n_s8((int8_t)act_min)), vdupq_n_s8((int8_t)act_max));
                    vstrbq_s8(dst + c, best);
                }
#endif
#if KILN_POOL_SIMD
                /* four bytes at a time: SSUB8 sets each byte's GE flag where a >= b, SEL takes those */
                for (; c + 4 <= C; c += 4) {
                    uint32_t best = 0x80808080u;
                    for (ky = w.ys; ky < w.ye; ++ky) {
                        const int8_t *p = in + at(g, b, &w, ky, w.xs) + c;
                        for (kx = w.xs; kx < w.xe; ++kx, p += C) {
                            const uint32_t v = kiln_load32(p);
                            (void)__ssub8(v, best);
                            best = __sel(v, best);
                        }
                    }
                    (void)__ssub8(best, lo); /* the clamp: at least act_min, at most act_max */
                    best = __sel(best, lo);
                    (void)__ssub8(hi, best);
                    best = __sel(best, hi);
                    memcpy(dst + c, &best, 4);
                }
#endif
                for (; c < C; ++c) {
                    int32_t best = -128;
                    for (ky = w.ys; ky < w.ye; ++ky)
                        for (kx = w.xs; kx < w.xe; ++kx) {
                            const int32_t v = in[at(g, b, &w, ky, kx) + c];
                            best = v > best ? v : best;
                        }
                    dst[c] = (int8_t)kiln_clamp_i32(best, act_min, act_max);
                }
            }
}

static float clampf(float v, float lo, float hi)
{
    v = v < lo ? lo : v;
    return hi < v ? hi : v;
}

void kiln_avg_pool_f32(const float *in, float *out, const kiln_pool_geometry_t *g, float act_min, float act_max)
{
    int32_t b, oy, ox, c, ky, kx;
    for (b = 0; b < g->batches; ++b)
        for (oy = 0; oy < g->out_h; ++oy)
            for (ox = 0; ox < g->out_w; ++ox) {
                const window_t w = window(g, oy, ox);
                const int32_t count = (w.ye - w.ys) * (w.xe - w.xs);
                float *dst = out + ((b * g->out_h + oy) * g->out_w + ox) * g->channels;
                for (c = 0; c < g->channels; ++c) {
                    float total = 0.0f;
                    for (ky = w.ys; ky < w.ye; ++ky)
                        for (kx = w.xs; kx < w.xe; ++kx) total += in[at(g, b, &w, ky, kx) + c];
                    dst[c] = clampf(count > 0 ? total / (float)count : 0.0f, act_min, act_max);
                }
            }
}

void kiln_max_pool_f32(const float *in, float *out, const kiln_pool_geometry_t *g, float act_min, float act_max)
{
    int32_t b, oy, ox, c, ky, kx;
    for (b = 0; b < g->batches; ++b)
        for (oy = 0; oy < g->out_h; ++oy)
            for (ox = 0; ox < g->out_w; ++ox) {
                const window_t w = window(g, oy, ox);
                float *dst = out + ((b * g->out_h + oy) * g->out_w + ox) * g->channels;
                for (c = 0; c < g->channels; ++c) {
                    float best = -FLT_MAX;
                    for (ky = w.ys; ky < w.ye; ++ky)
                        for (kx = w.xs; kx < w.xe; ++kx) {
                            const float v = in[at(g, b, &w, ky, kx) + c];
                            best = best < v ? v : best;
                        }
                    dst[c] = clampf(best, act_min, act_max);
                }
            }
}
