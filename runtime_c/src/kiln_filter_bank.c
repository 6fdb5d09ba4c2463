/* The front end's spectral stages as TFLite Micro's signal library computes them (energy.cc,
 * filter_bank.cc, filter_bank_square_root.cc, filter_bank_spectral_subtraction.cc,
 * pcan_argc_fixed.cc, filter_bank_log.cc, log.cc): unsigned integer arithmetic that wraps where
 * its C wraps, so the results are equal bit for bit. */
#include <math.h>

#include "kiln_fixedpoint.h"
#include "kiln_runtime.h"

void kiln_energy_s16(const int16_t *bins, uint32_t *out, int32_t n, int32_t start, int32_t end)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        if (i < start || i >= end) {
            out[i] = 0; /* TFLite Micro leaves these unwritten; its models zero them after */
        } else {
            const int32_t re = bins[2 * i], im = bins[2 * i + 1];
            out[i] = (uint32_t)(re * re) + (uint32_t)(im * im); /* 2^31 for two -32768s, as its int32 sum wraps */
        }
    }
}

/* Each channel's band: its energies x weight accumulate into the channel, x unweight into the
 * next one's running sum (64-bit, the int16 weight sign-extended and wrapping as the uint64 product
 * of TFLite Micro's C does). Channel -1's sum is computed and dropped. */
void kiln_filter_bank_u32(const uint32_t *in, uint64_t *out, const kiln_filter_bank_params_t *p)
{
    uint64_t weighted = 0, unweighted = 0;
    int32_t c, j;
    for (c = 0; c <= p->channels; ++c) {
        const uint32_t *x = in + p->freq_starts[c];
        const int16_t *w = p->weights + p->weight_starts[c], *u = p->unweights + p->weight_starts[c];
        const int32_t width = p->widths[c];
        for (j = 0; j < width; ++j) {
            weighted += (uint64_t)(int64_t)w[j] * x[j];
            unweighted += (uint64_t)(int64_t)u[j] * x[j];
        }
        if (c > 0) out[c - 1] = weighted;
        weighted = unweighted;
        unweighted = 0;
    }
}

#if !defined(KILN_SQRT_BITWISE) && ((defined(__ARM_FP) && (__ARM_FP & 4)) || defined(__x86_64__) || defined(__aarch64__))
#define KILN_SQRT_FLOAT 1
#else
#define KILN_SQRT_FLOAT 0
#endif

#if !KILN_SQRT_FLOAT
/* Sqrt32 / Sqrt64: bit-by-bit integer square root from the highest even bit of a `width`-bit
 * number (the bit length counted as in that width), rounded up when the remainder exceeds the root
 * unless the root is already `cap`. Sqrt64 takes the 32-bit path when the upper word is clear, as
 * TFLite Micro does (and with its slight error near 2^32). */
static uint64_t isqrt(uint64_t num, int32_t width, uint64_t cap)
{
    const uint32_t hi = (uint32_t)(num >> 32);
    uint64_t res = 0, bit;
    int32_t top, iterations;
    if (num == 0) return 0;
    top = (int32_t)(width == 64 ? 32u - kiln_msb32(hi) : 32u - kiln_msb32((uint32_t)num)) | 1; /* leading zeros, odd */
    bit = (uint64_t)1 << (width - 1 - top);
    iterations = (width - 1 - top) / 2 + 1;
    while (iterations--) {
        if (num >= res + bit) {
            num -= res + bit;
            res = (res >> 1) + bit;
        } else {
            res >>= 1;
        }
        bit >>= 2;
    }
    if (num > res && res != cap) ++res;
    return res;
}

static uint32_t sqrt64(uint64_t num)
{
    return (num >> 32) == 0 ? (uint32_t)isqrt(num, 32, 0xFFFFu) : (uint32_t)isqrt(num, 64, 0xFFFFFFFFu);
}

#else
/* With a hardware float unit: the same results from the exact floor root and the same rounding.
 * sqrtf of the number is within 2^-23 of the root (within 2^9 of it up to 2^32); one Newton step
 * on the exact remainder brings it within 2; the loops make it exact. About a fifth of the
 * bit-by-bit loop's instructions on Cortex-M4F. */
static uint64_t isqrt_rounded(uint64_t num, uint64_t cap)
{
    uint64_t r;
    float f;
    if (num == 0) return 0;
    f = sqrtf((float)num);
    r = f >= 4294967295.0f ? 0xFFFFFFFFu : (uint64_t)f;
    if (r > 0xFFFFFFu) { /* beyond float's exact integers: a Newton step on the exact remainder */
        const int64_t e = (int64_t)(num - r * r);
        const int64_t d = (int64_t)((float)e / (2.0f * (float)r));
        r = (uint64_t)((int64_t)r + d);
        if (r > 0xFFFFFFFFu) r = 0xFFFFFFFFu;
    }
    while (r * r > num) --r;
    while (r < 0xFFFFFFFFu && (r + 1) * (r + 1) <= num) ++r;
    if (num - r * r > r && r != cap) ++r; /* rounded up when the remainder exceeds the root */
    return r;
}

static uint32_t sqrt64(uint64_t num)
{
    return (uint32_t)isqrt_rounded(num, (num >> 32) == 0 ? 0xFFFFu : 0xFFFFFFFFu);
}
#endif

/* The shift is a run-time value (FFT auto-scale's); x86 takes a 32-bit shift count modulo 32, as
 * the reference runs there, so does this for counts outside 0..31 (C leaves them undefined). */
void kiln_filter_bank_sqrt(const uint64_t *in, uint32_t *out, int32_t n, const int32_t *shift)
{
    const uint32_t s = (uint32_t)*shift & 31u;
    int32_t i;
    for (i = 0; i < n; ++i) out[i] = sqrt64(in[i]) >> s;
}

void kiln_spectral_subtraction(const uint32_t *in, uint32_t *out, uint32_t *noise_out, uint32_t *noise,
                               const kiln_spectral_subtraction_params_t *p)
{
    int32_t i;
    for (i = 0; i < p->channels; ++i) {
        const uint32_t smoothing = p->smoothing[i & 1], one_minus = p->one_minus_smoothing[i & 1];
        const uint32_t scaled = in[i] << p->smoothing_bits;
        uint32_t estimate, floor_, subtracted;
        noise[i] = (uint32_t)(((uint64_t)scaled * smoothing + (uint64_t)noise[i] * one_minus) >> p->subtraction_bits);
        estimate = noise[i];
        if (estimate > scaled) {
            estimate = scaled;
            if (p->clamping) noise[i] = estimate;
        }
        floor_ = (uint32_t)(((uint64_t)in[i] * p->min_signal_remaining) >> p->subtraction_bits);
        subtracted = (scaled - estimate) >> p->smoothing_bits;
        out[i] = subtracted > floor_ ? subtracted : floor_;
        noise_out[i] = noise[i];
    }
}

/* WideDynamicFunction: the gain for a noise level, a quadratic per octave from the LUT (3 entries
 * per octave from offset 4 x bits - 6), in int32 arithmetic that wraps as TFLite Micro's does. */
static uint32_t pcan_gain(uint32_t x, const int16_t *lut)
{
    int32_t interval, frac, r;
    if (x <= 2) return (uint32_t)(int32_t)lut[x];
    interval = (int32_t)kiln_msb32(x);
    lut += 4 * interval - 6;
    frac = (int32_t)((interval < 11 ? x << (11 - interval) : x >> (interval - 11)) & 0x3FFu);
    r = ((int32_t)lut[2] * frac) >> 5;
    r = (int32_t)((uint32_t)r + ((uint32_t)lut[1] << 5));
    r = (int32_t)((uint32_t)r * (uint32_t)frac);
    r = (int32_t)((uint32_t)r + (1u << 14)) >> 15;
    r += lut[0];
    return (uint32_t)(int32_t)(int16_t)r; /* an int16 gain, sign-extended into the uint32 product */
}

/* PcanShrink: x^2 / 4 below 2, x - 1 above, from 12 fractional bits to 6 */
static uint32_t pcan_shrink(uint32_t x)
{
    return x < (2u << 12) ? (x * x) >> 20 : (x >> 6) - (1u << 6);
}

void kiln_pcan(const uint32_t *in, const uint32_t *noise, uint32_t *out, int32_t n, const int16_t *gain_lut,
               int32_t snr_shift)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        const uint32_t gain = pcan_gain(noise[i], gain_lut);
        out[i] = pcan_shrink((uint32_t)(((uint64_t)in[i] * gain) >> snr_shift));
    }
}

/* log.cc's table: round(2^16 (log2(1 + i/128) - i/128)), i = 0..128, and a pad */
static const uint16_t log_lut[130] = {
    0,    224,  442,  654,  861,  1063, 1259, 1450, 1636, 1817, 1992, 2163, 2329, 2490, 2646, 2797, 2944, 3087,
    3224, 3358, 3487, 3611, 3732, 3848, 3960, 4068, 4172, 4272, 4368, 4460, 4549, 4633, 4714, 4791, 4864, 4934,
    5001, 5063, 5123, 5178, 5231, 5280, 5326, 5368, 5408, 5444, 5477, 5507, 5533, 5557, 5578, 5595, 5610, 5622,
    5631, 5637, 5640, 5641, 5638, 5633, 5626, 5615, 5602, 5586, 5568, 5547, 5524, 5498, 5470, 5439, 5406, 5370,
    5332, 5291, 5249, 5203, 5156, 5106, 5054, 5000, 4944, 4885, 4825, 4762, 4697, 4630, 4561, 4490, 4416, 4341,
    4264, 4184, 4103, 4020, 3935, 3848, 3759, 3668, 3575, 3481, 3384, 3286, 3186, 3084, 2981, 2875, 2768, 2659,
    2549, 2437, 2323, 2207, 2090, 1971, 1851, 1729, 1605, 1480, 1353, 1224, 1094, 963,  830,  695,  559,  421,
    282,  142,  0,    0};

/* Log32: log2 as integer bits and a 16-bit fraction interpolated in the table, times ln 2 (45426
 * in Q16), times out_scale / 2^16, each rounded, in uint32 arithmetic that wraps as its does */
static uint32_t log32(uint32_t x, uint32_t out_scale)
{
    const uint32_t integer = kiln_msb32(x) - 1u;
    int32_t frac = (int32_t)((int64_t)x - ((int64_t)1 << integer));
    uint32_t seg, log2, loge;
    int32_t c0, c1, rel;
    if (integer < 16)
        frac = (int32_t)((uint32_t)frac << (16 - integer));
    else
        frac >>= integer - 16;
    seg = (uint32_t)frac >> 9;
    c0 = log_lut[seg];
    c1 = log_lut[seg + 1];
    rel = ((c1 - c0) * (frac - (int32_t)(512u * seg))) >> 16;
    log2 = (integer << 16) + (uint32_t)(frac + c0 + rel);
    loge = (uint32_t)(((uint64_t)45426u * log2 + 32768u) >> 16);
    return (out_scale * loge + 32768u) >> 16;
}

void kiln_filter_bank_log(const uint32_t *in, int16_t *out, int32_t n, int32_t output_scale, int32_t correction_bits)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        const uint32_t scaled = in[i] << correction_bits;
        if (scaled > 1) {
            const uint32_t v = log32(scaled, (uint32_t)output_scale);
            out[i] = (int16_t)(v < 32767u ? v : 32767u);
        } else {
            out[i] = 0;
        }
    }
}
