/* libFuzzer target for the C kernels: random tensors and parameters, within each kernel's
 * documented preconditions, given to a fast kernel and to the general (portable) kernel of the
 * same operator; their outputs must be equal. Built by bench/fuzz_kernels.py with clang
 * -fsanitize=fuzzer,address,undefined against runtime_c/src.
 *
 * 16x8 DEPTHWISE_CONV_2D: kiln_depthwise_conv_s16 (filter packed as conv16x8.pack_depthwise:
 * per block of four channels and tap two words of int16 pairs, then per tap the other channels
 * a word each; multiplier 1 in blocks, any other a channel at a time) against kiln_conv_s16 with
 * depthwise set (the raw [1, k_h, k_w, C] int8 filter, 64-bit sums), both with TFLite's 64-bit
 * rescale (rq NULL). Any geometry: batches, sizes, channels, multiplier 1-3, kernel up to 5x5,
 * strides 1-3, dilation 1-2, SAME or VALID, no clamp or RELU's. Sums stay within int32 (at most 25
 * taps of |w| <= 127 and |x| <= 32768), the fast kernel's precondition.
 *
 * A mismatch aborts (a finding), as does any ASan or UBSan report. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kiln_runtime.h"

#define MAX_ELEMS (2 * 9 * 9 * 39)

static uint8_t byte_at(const uint8_t *d, size_t n, size_t i) { return n ? d[i % n] : 0; }

static int32_t out_size(int same, int32_t in, int32_t k, int32_t stride, int32_t dil)
{
    const int32_t span = (k - 1) * dil + 1;
    return same ? (in + stride - 1) / stride : (in - span + stride) / stride;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int16_t in[MAX_ELEMS], out_fast[MAX_ELEMS * 3], out_ref[MAX_ELEMS * 3];
    static int8_t filter[25 * 39];
    static int32_t packed[25 * 39], mult[39], shift[39], zeros[20];
    static int64_t bias[39];
    kiln_conv_s16_params_t p;
    kiln_conv_geometry_t *g = &p.g;
    int32_t c, t, i, taps, channels, blocks, rest, span_h, span_w, same;
    const uint8_t *v;
    size_t nv;
    if (size < 16) return 0;
    memset(&p, 0, sizeof p);
    g->batches = 1 + data[0] % 2;
    g->in_h = 1 + data[1] % 9;
    g->in_w = 1 + data[2] % 9;
    g->in_c = 1 + data[3] % 13;
    g->depth_multiplier = data[4] % 4 == 3 ? 2 + data[4] / 4 % 2 : 1;
    g->k_h = 1 + data[5] % 5;
    g->k_w = 1 + data[6] % 5;
    g->stride_h = 1 + data[7] % 3;
    g->stride_w = 1 + data[7] / 3 % 3;
    g->dil_h = 1 + data[8] % 2;
    g->dil_w = 1 + data[8] / 2 % 2;
    same = data[9] & 1;
    span_h = (g->k_h - 1) * g->dil_h + 1;
    span_w = (g->k_w - 1) * g->dil_w + 1;
    if (!same && (span_h > g->in_h || span_w > g->in_w)) return 0; /* VALID needs the kernel inside */
    g->out_c = channels = g->in_c * g->depth_multiplier;
    g->out_h = out_size(same, g->in_h, g->k_h, g->stride_h, g->dil_h);
    g->out_w = out_size(same, g->in_w, g->k_w, g->stride_w, g->dil_w);
    g->pad_top = same ? ((g->out_h - 1) * g->stride_h + span_h - g->in_h) / 2 : 0;
    g->pad_left = same ? ((g->out_w - 1) * g->stride_w + span_w - g->in_w) / 2 : 0;
    if (g->pad_top < 0) g->pad_top = 0;
    if (g->pad_left < 0) g->pad_left = 0;
    p.acc64 = 1;
    p.depthwise = 1;
    p.act_min = (data[9] & 2) ? 0 : -32768;
    p.act_max = 32767;
    p.mult = mult;
    p.shift = shift;
    taps = g->k_h * g->k_w;
    v = data + 16;
    nv = size - 16;
    for (c = 0; c < channels; ++c) {
        mult[c] = (int32_t)(0x40000000u | ((uint32_t)byte_at(v, nv, 3 * c) << 22) | byte_at(v, nv, 3 * c + 1));
        shift[c] = -(int32_t)(byte_at(v, nv, 3 * c + 2) % 12) + 1;
        bias[c] = (int64_t)(int8_t)byte_at(v, nv, 5 * c + 7) * 4096 + byte_at(v, nv, c + 11);
    }
    for (i = 0; i < g->batches * g->in_h * g->in_w * g->in_c; ++i)
        in[i] = (int16_t)(byte_at(v, nv, 2 * i + 13) | (byte_at(v, nv, 2 * i + 14) << 8));
    for (i = 0; i < taps * channels; ++i) {
        filter[i] = (int8_t)byte_at(v, nv, 7 * i + 5);
        if (filter[i] == -128) filter[i] = -127; /* symmetric int8 weights */
    }
    /* the fast kernel's filter words */
    blocks = g->depth_multiplier == 1 ? channels / 4 : 0;
    rest = channels - 4 * blocks;
    i = 0;
    for (c = 0; c < blocks; ++c)
        for (t = 0; t < taps; ++t) {
            const int8_t *w = filter + t * channels + 4 * c;
            packed[i++] = (int32_t)(((uint32_t)(uint16_t)w[0]) | ((uint32_t)(uint16_t)w[1] << 16));
            packed[i++] = (int32_t)(((uint32_t)(uint16_t)w[2]) | ((uint32_t)(uint16_t)w[3] << 16));
        }
    for (t = 0; t < taps; ++t)
        for (c = 0; c < rest; ++c) packed[i++] = filter[t * channels + 4 * blocks + c];
    memset(zeros, 0, sizeof zeros);
    kiln_conv_s16(in, filter, bias, out_ref, &p, NULL);
    kiln_depthwise_conv_s16(in, packed, bias, out_fast, &p, (const int16_t *)(const void *)zeros);
    if (memcmp(out_ref, out_fast, sizeof(int16_t) * (size_t)(g->batches * g->out_h * g->out_w * channels)) != 0)
        abort(); /* the fast kernel differs from the general one */
    return 0;
}
