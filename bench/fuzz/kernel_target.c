/* libFuzzer target for the C kernels: random tensors and parameters, within each kernel's
 * documented preconditions, given to a fast kernel and to the general (portable) kernel or a plain
 * reference of the same operator; their outputs must be equal. Built by bench/fuzz_kernels.py with
 * clang -fsanitize=fuzzer,address,undefined against runtime_c/src. The first byte picks the pair:
 *
 * 0. 16x8 DEPTHWISE_CONV_2D: kiln_depthwise_conv_s16 (filter packed as conv16x8.pack_depthwise:
 *    per block of four channels and tap two words of int16 pairs, then per tap the other channels
 *    a word each; multiplier 1 in blocks, any other a channel at a time) against kiln_conv_s16 with
 *    depthwise set (the raw [1, k_h, k_w, C] int8 filter, 64-bit sums), both with TFLite's 64-bit
 *    rescale (rq NULL). Any geometry: batches, sizes, channels, multiplier 1-3, kernel up to 5x5,
 *    strides 1-3, dilation 1-2, SAME or VALID, no clamp or RELU's. Sums stay within int32 (at most
 *    25 taps of |w| <= 127 and |x| <= 32768), the fast kernel's precondition.
 * 1. int8 DEPTHWISE_CONV_2D with a depth multiplier of 2-8: kiln_depthwise_conv_s8_multiplier
 *    (filter as conv.pack_multiplier, int16 pairs of taps; the input zero point folded into the
 *    bias, zp_vector for taps outside the image) against kiln_depthwise_conv_s8_general (TFLite's filter and bias, outside
 *    taps skipped); 1-5 input channels, the same geometries, any zero points and clamp.
 * 2. int8 FULLY_CONNECTED: kiln_fully_connected_s8 (weights as fully_connected.pack_weights: rows in
 *    groups of four with their 4-byte chunks alternating, then the rows' depth % 4 tails; leftover
 *    rows plainly) against a plain dot product and TFLite's rescale; batches 1-3, depth 1-70,
 *    units 1-19, per-tensor or per-channel, TFLite's exact rescale or kiln_rq with constants built
 *    as quantmath.requant_constants does (its precondition |2 acc| < 2^31 holds at these sizes).
 * 3. int8 DEPTHWISE_CONV_2D on planes: kiln_depthwise_conv_s8_planes, _wide1 or _wide2 by its path
 *    (its stream packed as planes.pack: per output channel 2 x the folded bias, {multiplier, 0,
 *    shift} in its {m, c, e} order, per kernel row the doubled weights as int16 pairs of the path's
 *    layout) against kiln_depthwise_conv_s8_general;
 *    multiplier 1-8, 1-5 input channels, the same geometries, zero points and clamp. Its scratch, the
 *    ring of rows, is allocated at exactly planes.scratch_bytes, so a read past it is an ASan report.
 * 4. int8 DEPTHWISE_CONV_2D on pairs of rows: kiln_depthwise_conv_s8_rowpairs (its stream packed as
 *    rowpairs.pack: per group of four channels 2 x the folded biases, the step word, the doubled
 *    weights of the walk's six blocks, {m, e, c}; a second section for odd top rows) against
 *    kiln_depthwise_conv_s8_general, both with kiln_rq (the layout's precondition); 3x3, multiplier
 *    1-2, 4-12 input channels, passes of 1 to all groups, the same sizes, strides, padding and
 *    clamp, dilation 2 (at stride 1) in half the runs, a still ring (the sections again, swapped) in
 *    half. Its ring is allocated at exactly rowpairs.scratch_bytes for its pass.
 *
 * A mismatch aborts (a finding), as does any ASan or UBSan report. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kiln_fixedpoint.h"
#include "kiln_runtime.h"

#define MAX_ELEMS (2 * 9 * 9 * 39)

static uint8_t byte_at(const uint8_t *d, size_t n, size_t i) { return n ? d[i % n] : 0; }

static int32_t out_size(int same, int32_t in, int32_t k, int32_t stride, int32_t dil)
{
    const int32_t span = (k - 1) * dil + 1;
    return same ? (in + stride - 1) / stride : (in - span + stride) / stride;
}

/* A depthwise geometry from data[0..9] (in_c and the multiplier already set in *g): batches 1-2,
 * sizes 1-9, kernel up to 5x5, strides 1-3, dilation 1-2, SAME or VALID; 0 when VALID's kernel
 * does not fit inside the image. */
static int depthwise_geometry(const uint8_t *data, kiln_conv_geometry_t *g)
{
    int32_t span_h, span_w;
    const int same = data[9] & 1;
    g->batches = 1 + data[0] % 2;
    g->in_h = 1 + data[1] % 9;
    g->in_w = 1 + data[2] % 9;
    g->k_h = 1 + data[5] % 5;
    g->k_w = 1 + data[6] % 5;
    g->stride_h = 1 + data[7] % 3;
    g->stride_w = 1 + data[7] / 3 % 3;
    g->dil_h = 1 + data[8] % 2;
    g->dil_w = 1 + data[8] / 2 % 2;
    span_h = (g->k_h - 1) * g->dil_h + 1;
    span_w = (g->k_w - 1) * g->dil_w + 1;
    if (!same && (span_h > g->in_h || span_w > g->in_w)) return 0;
    g->out_c = g->in_c * g->depth_multiplier;
    g->out_h = out_size(same, g->in_h, g->k_h, g->stride_h, g->dil_h);
    g->out_w = out_size(same, g->in_w, g->k_w, g->stride_w, g->dil_w);
    g->pad_top = same ? ((g->out_h - 1) * g->stride_h + span_h - g->in_h) / 2 : 0;
    g->pad_left = same ? ((g->out_w - 1) * g->stride_w + span_w - g->in_w) / 2 : 0;
    if (g->pad_top < 0) g->pad_top = 0;
    if (g->pad_left < 0) g->pad_left = 0;
    return 1;
}

static int fuzz_dw16(const uint8_t *data, size_t size)
{
    static int16_t in[MAX_ELEMS], out_fast[MAX_ELEMS * 3], out_ref[MAX_ELEMS * 3];
    static int8_t filter[25 * 39];
    static int32_t packed[25 * 39], mult[39], shift[39], zeros[20];
    static int64_t bias[39];
    kiln_conv_s16_params_t p;
    kiln_conv_geometry_t *g = &p.g;
    int32_t c, t, i, taps, channels, blocks, rest;
    const uint8_t *v;
    size_t nv;
    if (size < 16) return 0;
    memset(&p, 0, sizeof p);
    g->in_c = 1 + data[3] % 13;
    g->depth_multiplier = data[4] % 4 == 3 ? 2 + data[4] / 4 % 2 : 1;
    if (!depthwise_geometry(data, g)) return 0;
    channels = g->out_c;
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

/* An int8 depthwise layer's values from v (g set): per output channel {multiplier, shift, 0} for
 * TFLite's exact rescale and a bias, the input, the filter (symmetric int8). */
static void random_dw8(const uint8_t *v, size_t nv, const kiln_conv_geometry_t *g, int32_t *rq, int32_t *bias,
                       int8_t *in, int8_t *filter)
{
    int32_t c, i;
    for (c = 0; c < g->out_c; ++c) {
        rq[3 * c] = (int32_t)(0x40000000u | ((uint32_t)byte_at(v, nv, 3 * c) << 22) | byte_at(v, nv, 3 * c + 1));
        rq[3 * c + 1] = -(int32_t)(byte_at(v, nv, 3 * c + 2) % 14);
        rq[3 * c + 2] = 0;
        bias[c] = (int32_t)(int8_t)byte_at(v, nv, 5 * c + 7) * 256 + byte_at(v, nv, c + 11);
    }
    for (i = 0; i < g->batches * g->in_h * g->in_w * g->in_c; ++i) in[i] = (int8_t)byte_at(v, nv, i + 13);
    for (i = 0; i < g->k_h * g->k_w * g->out_c; ++i) {
        filter[i] = (int8_t)byte_at(v, nv, 7 * i + 5);
        if (filter[i] == -128) filter[i] = -127;
    }
}

/* ---- 1: int8 depthwise, multiplier above 1 ---- */
static int fuzz_dw8_multiplier(const uint8_t *data, size_t size)
{
    enum { MAX_IN = 2 * 9 * 9 * 5, MAX_OC = 5 * 8 };
    static int8_t in[MAX_IN], out_fast[2 * 9 * 9 * MAX_OC], out_ref[2 * 9 * 9 * MAX_OC];
    static int8_t filter[25 * MAX_OC], zp_vector[8];
    static int32_t packed[13 * MAX_OC];
    static int32_t bias[MAX_OC], folded[MAX_OC], rq[3 * MAX_OC];
    kiln_conv_s8_params_t p;
    kiln_conv_geometry_t *g = &p.g;
    int32_t c, t, i, m, k, n, taps, dm, lo, hi;
    if (size < 16) return 0;
    memset(&p, 0, sizeof p);
    g->in_c = 1 + data[3] % 5;
    g->depth_multiplier = dm = 2 + data[4] % 7;
    if (!depthwise_geometry(data, g)) return 0;
    p.in_zp = (int8_t)data[10];
    p.out_zp = (int8_t)data[11];
    lo = (int8_t)data[12];
    hi = (int8_t)data[13];
    p.act_min = lo < hi ? lo : hi;
    p.act_max = lo < hi ? hi : lo;
    p.rq = rq;
    p.rq_fast = 0; /* TFLite's exact rescale: {multiplier, shift, 0} */
    taps = g->k_h * g->k_w;
    random_dw8(data + 16, size - 16, g, rq, bias, in, filter);
    /* pack_multiplier: per block of 4 output channels (the last one shorter), per pair of taps (a
     * zero weight after an odd last tap), each output's two weights as an int16 pair */
    i = 0;
    for (m = 0; m < g->out_c; m += 4) {
        n = g->out_c - m < 4 ? g->out_c - m : 4;
        for (t = 0; t < taps; t += 2)
            for (k = 0; k < n; ++k) {
                const int32_t w0 = filter[t * g->out_c + m + k];
                const int32_t w1 = t + 1 < taps ? filter[(t + 1) * g->out_c + m + k] : 0;
                packed[i++] = (int32_t)(((uint32_t)(uint16_t)w0) | ((uint32_t)(uint16_t)w1 << 16));
            }
    }
    for (c = 0; c < g->out_c; ++c) { /* bias - in_zp * sum(w): outside taps read in_zp and add nothing */
        folded[c] = bias[c];
        for (t = 0; t < taps; ++t) folded[c] -= p.in_zp * filter[t * g->out_c + c];
    }
    memset(zp_vector, p.in_zp, sizeof zp_vector);
    kiln_depthwise_conv_s8_general(in, filter, bias, out_ref, &p);
    kiln_depthwise_conv_s8_multiplier(in, packed, folded, out_fast, &p, zp_vector);
    if (memcmp(out_ref, out_fast, (size_t)(g->batches * g->out_h * g->out_w * g->out_c)) != 0) abort();
    return 0;
}

/* ---- 3: int8 depthwise on planes ---- */
enum { S1, S2, W1, W2, ANY }; /* planes.path */

static int32_t planes_path(const kiln_conv_geometry_t *g)
{
    if (g->k_w == 3) {
        if (g->stride_w == 1) return S1;
        if (g->stride_w == 2 && g->dil_w == 1) return S2;
    }
    return g->stride_w == 1 ? W1 : g->stride_w == 2 && g->dil_w == 1 ? W2 : ANY;
}

static int32_t planes_sub_width(const kiln_conv_geometry_t *g)
{
    const int32_t path = planes_path(g);
    const int32_t need = path == S1 ? (g->out_w + g->dil_w - 1) / g->dil_w + 3
                                    : (path == S2 ? 2 * g->out_w + 4 : g->stride_w * (g->out_w - 1) / g->dil_w + g->k_w + 1);
    return (need + 1) & ~1;
}

/* weight i of a kernel row, doubled, 0 outside the row */
static int32_t tap2(const int8_t *filter, const kiln_conv_geometry_t *g, int32_t row, int32_t i, int32_t oc)
{
    return i >= 0 && i < g->k_w ? 2 * filter[(row * g->k_w + i) * g->out_c + oc] : 0;
}

static int32_t pair16(int32_t lo, int32_t hi)
{
    return (int32_t)(((uint32_t)(uint16_t)lo) | ((uint32_t)(uint16_t)hi << 16));
}

static int fuzz_dw8_planes(const uint8_t *data, size_t size)
{
    enum { MAX_IN = 2 * 9 * 9 * 5, MAX_OC = 5 * 8 };
    static int8_t in[MAX_IN], out_fast[2 * 9 * 9 * MAX_OC], out_ref[2 * 9 * 9 * MAX_OC], filter[25 * MAX_OC];
    static int32_t stream[MAX_OC * (4 + 5 * 6)], bias[MAX_OC], rq[3 * MAX_OC];
    kiln_conv_s8_params_t p;
    kiln_conv_geometry_t *g = &p.g;
    int32_t c, t, i, r, taps, lo, hi, path;
    int16_t *ring;
    size_t ring_bytes;
    if (size < 16) return 0;
    memset(&p, 0, sizeof p);
    g->in_c = 1 + data[3] % 5;
    g->depth_multiplier = 1 + data[4] % 8;
    if (!depthwise_geometry(data, g)) return 0;
    p.in_zp = (int8_t)data[10];
    p.out_zp = (int8_t)data[11];
    lo = (int8_t)data[12];
    hi = (int8_t)data[13];
    p.act_min = data[14] & 1 ? -128 : (lo < hi ? lo : hi); /* half the runs without a clamp: the 3x3 row loops */
    p.act_max = data[14] & 1 ? 127 : (lo < hi ? hi : lo);
    p.rq = rq;
    p.rq_fast = 0;
    taps = g->k_h * g->k_w;
    random_dw8(data + 16, size - 16, g, rq, bias, in, filter);
    path = planes_path(g);
    i = 0;
    for (c = 0; c < g->out_c; ++c) {
        int32_t folded = bias[c];
        for (t = 0; t < taps; ++t) folded -= p.in_zp * filter[t * g->out_c + c];
        stream[i++] = 2 * folded, stream[i++] = rq[3 * c], stream[i++] = 0, stream[i++] = rq[3 * c + 1]; /* {m, c, e} */
        for (r = 0; r < g->k_h; ++r) {
            if (path == S1) { /* {w0 w1} {w1 w2} */
                stream[i++] = pair16(tap2(filter, g, r, 0, c), tap2(filter, g, r, 1, c));
                stream[i++] = pair16(tap2(filter, g, r, 1, c), tap2(filter, g, r, 2, c));
            } else if (path == S2) { /* {w0 w1} {w2 0} */
                stream[i++] = pair16(tap2(filter, g, r, 0, c), tap2(filter, g, r, 1, c));
                stream[i++] = pair16(tap2(filter, g, r, 2, c), 0);
            } else if (path == W1) { /* E0 O0 E1 O1 ...: pairs from an even first tap and an odd one */
                for (t = 0; t < g->k_w / 2 + 1; ++t) {
                    if (t < (g->k_w + 1) / 2)
                        stream[i++] = pair16(tap2(filter, g, r, 2 * t, c), tap2(filter, g, r, 2 * t + 1, c));
                    stream[i++] = pair16(tap2(filter, g, r, 2 * t - 1, c), tap2(filter, g, r, 2 * t, c));
                }
            } else { /* the E words, then (ANY) the O words */
                for (t = 0; t < (g->k_w + 1) / 2; ++t)
                    stream[i++] = pair16(tap2(filter, g, r, 2 * t, c), tap2(filter, g, r, 2 * t + 1, c));
                for (t = 0; path == ANY && t < g->k_w / 2 + 1; ++t)
                    stream[i++] = pair16(tap2(filter, g, r, 2 * t - 1, c), tap2(filter, g, r, 2 * t, c));
            }
        }
    }
    ring_bytes = (size_t)(((g->k_h - 1) * g->dil_h + 1) * g->in_c * g->dil_w * planes_sub_width(g)) * 2;
    ring = (int16_t *)malloc(ring_bytes);
    if (!ring) return 0;
    kiln_depthwise_conv_s8_general(in, filter, bias, out_ref, &p);
    if (path == W1) /* the entry the compiler calls for each path */
        kiln_depthwise_conv_s8_planes_wide1(in, stream, out_fast, &p, ring);
    else if (path == W2)
        kiln_depthwise_conv_s8_planes_wide2(in, stream, out_fast, &p, ring);
    else
        kiln_depthwise_conv_s8_planes(in, stream, out_fast, &p, ring);
    free(ring);
    if (memcmp(out_ref, out_fast, (size_t)(g->batches * g->out_h * g->out_w * g->out_c)) != 0) abort();
    return 0;
}

/* ---- 4: int8 depthwise on pairs of rows ---- */
static int fuzz_dw8_rowpairs(const uint8_t *data, size_t size)
{
    enum { MAX_IC = 12, MAX_OC = 24, GROUP_WORDS = 41 };
    static int8_t in[2 * 9 * 9 * MAX_IC], out_fast[2 * 9 * 9 * MAX_OC], out_ref[2 * 9 * 9 * MAX_OC];
    static int8_t filter[9 * MAX_OC];
    static int32_t stream[2 + 4 * MAX_OC / 4 * GROUP_WORDS], bias[MAX_OC], rq[3 * MAX_OC];
    kiln_conv_s8_params_t p;
    kiln_conv_geometry_t *g = &p.g;
    uint8_t geo[16];
    int32_t c, t, i, k, lo, hi, groups, chunk, parity, sections, positions, region, gr, d, ph_h, ph_w, still, sec;
    uint8_t *ring;
    if (size < 16) return 0;
    memset(&p, 0, sizeof p);
    memcpy(geo, data, sizeof geo);
    geo[5] = geo[6] = 2, geo[8] = data[8] & 1 ? 3 : 0; /* 3x3; dilation 2 both ways, then at stride 1 */
    if (geo[8]) geo[7] = 0;
    g->in_c = 4 * (1 + data[3] % 3);
    g->depth_multiplier = 1 + data[4] % 2;
    if (!depthwise_geometry(geo, g)) return 0;
    p.in_zp = (int8_t)data[10];
    p.out_zp = (int8_t)data[11];
    lo = (int8_t)data[12];
    hi = (int8_t)data[13];
    p.act_min = data[14] & 1 ? -128 : (lo < hi ? lo : hi); /* half the runs without a clamp */
    p.act_max = data[14] & 1 ? 127 : (lo < hi ? hi : lo);
    p.rq = rq;
    p.rq_fast = 1;
    random_dw8(data + 16, size - 16, g, rq, bias, in, filter);
    for (c = 0; c < g->out_c; ++c) { /* kiln_rq's {m, e, c}: c = 2^(e-1) + zp * 2^e */
        const int32_t e = 1 - rq[3 * c + 1];
        rq[3 * c + 1] = e;
        rq[3 * c + 2] = (1 << (e - 1)) + p.out_zp * (1 << e);
    }
    groups = g->out_c / 4;
    chunk = 1 + data[15] % groups;
    chunk = chunk / g->depth_multiplier * g->depth_multiplier; /* whole input groups */
    if (chunk == 0) chunk = g->depth_multiplier;
    d = g->dil_w, ph_h = (g->out_h + d - 1) / d, ph_w = (g->out_w + d - 1) / d; /* the largest phase */
    positions = (ph_w - 1) * g->stride_w + 3;
    still = data[14] >> 1 & 1; /* half the runs a still ring: no drift, the sections again swapped */
    region = 32 * (positions + (still ? 0 : (((ph_h - 1) * g->stride_h >> 1) + 2 - 1) >> 1));
    sections = g->stride_h % 2 && ph_h > 1 ? 2 : 1;
    stream[0] = region, stream[1] = still * sections * groups * GROUP_WORDS; /* the stream's head */
    i = 2;
    for (sec = 0; sec < (still ? 2 : 1) * sections; ++sec)
        for (gr = 0; gr < groups; ++gr) {
            const int32_t at = gr % chunk, in_pass = groups - gr / chunk * chunk < chunk ? groups - gr / chunk * chunk : chunk;
            const int32_t step = at == 0 ? 32 * g->stride_w - (in_pass - 1) * region - 96 : region - 96;
            for (c = 4 * gr; c < 4 * gr + 4; ++c) {
                int32_t folded = bias[c];
                for (t = 0; t < 9; ++t) folded -= p.in_zp * filter[t * g->out_c + c];
                stream[i++] = 2 * folded;
            }
            stream[i++] = 2 * step + (at == in_pass - 1);
            parity = sec % sections;
            for (k = 0; k < 3; ++k) /* blocks {q, k} and {q + 1, k}: kernel rows {0 1} {2 -} or {- 0} {1 2} */
                for (t = 0; t < 2; ++t) /* (swapped: {q + 1, k} first) */
                    for (c = 4 * gr; c < 4 * gr + 4; ++c) {
                        const int32_t r = sec >= sections ? 1 - t : t, top = parity ? 2 * r - 1 : 2 * r, w0 = top >= 0 ? filter[(top * 3 + k) * g->out_c + c] : 0;
                        const int32_t w1 = top + 1 <= 2 ? filter[((top + 1) * 3 + k) * g->out_c + c] : 0;
                        stream[i++] = pair16(2 * w0, 2 * w1);
                    }
            for (c = 4 * gr; c < 4 * gr + 4; ++c)
                stream[i++] = rq[3 * c], stream[i++] = rq[3 * c + 1], stream[i++] = rq[3 * c + 2];
        }
    ring = (uint8_t *)malloc((size_t)(chunk * region));
    if (!ring) return 0;
    kiln_depthwise_conv_s8_general(in, filter, bias, out_ref, &p);
    if (d > 1)
        kiln_depthwise_conv_s8_rowpairs_dilated(in, stream, out_fast, &p, (uint32_t *)(void *)ring, chunk);
    else
        kiln_depthwise_conv_s8_rowpairs(in, stream, out_fast, &p, (uint32_t *)(void *)ring, chunk);
    free(ring);
    if (memcmp(out_ref, out_fast, (size_t)(g->batches * g->out_h * g->out_w * g->out_c)) != 0) abort();
    return 0;
}

/* ---- 2: int8 fully connected ---- */
static int fuzz_fc8(const uint8_t *data, size_t size)
{
    enum { MAX_B = 3, MAX_D = 70, MAX_U = 19 };
    static int8_t in[MAX_B * MAX_D], w[MAX_U * MAX_D], packed[MAX_U * MAX_D], out_fast[MAX_B * MAX_U],
        out_ref[MAX_B * MAX_U];
    static int32_t bias[MAX_U], rq[3 * MAX_U], mult[MAX_U], shift[MAX_U];
    kiln_fc_s8_params_t p;
    int32_t b, u, d, k, i, q, lo, hi, chunks, groups;
    const uint8_t *v;
    size_t nv;
    if (size < 16) return 0;
    memset(&p, 0, sizeof p);
    p.batches = 1 + data[0] % MAX_B;
    p.depth = 1 + data[1] % MAX_D;
    p.units = 1 + data[2] % MAX_U;
    p.per_channel = data[3] & 1;
    p.rq_fast = (data[3] >> 1) & 1;
    p.out_zp = (int8_t)data[4];
    lo = (int8_t)data[5];
    hi = (int8_t)data[6];
    p.act_min = lo < hi ? lo : hi;
    p.act_max = lo < hi ? hi : lo;
    p.rq = rq;
    v = data + 16;
    nv = size - 16;
    for (u = 0; u < (p.per_channel ? p.units : 1); ++u) {
        mult[u] = (int32_t)(0x40000000u | ((uint32_t)byte_at(v, nv, 3 * u) << 22) | byte_at(v, nv, 3 * u + 1));
        shift[u] = -1 - (int32_t)(byte_at(v, nv, 3 * u + 2) % 13); /* kiln_rq needs a right shift */
        if (p.rq_fast) { /* {m, e, c}: c = 2^(e-1) + zp * 2^e */
            rq[3 * u] = mult[u];
            rq[3 * u + 1] = -shift[u];
            rq[3 * u + 2] = (1 << (-shift[u] - 1)) + p.out_zp * (1 << -shift[u]);
        } else {
            rq[3 * u] = mult[u];
            rq[3 * u + 1] = shift[u];
            rq[3 * u + 2] = 0;
        }
    }
    for (u = 0; u < p.units; ++u) bias[u] = (int32_t)(int8_t)byte_at(v, nv, 5 * u + 7) * 1024 + byte_at(v, nv, u + 11);
    for (i = 0; i < p.batches * p.depth; ++i) in[i] = (int8_t)byte_at(v, nv, i + 13);
    for (i = 0; i < p.units * p.depth; ++i) w[i] = (int8_t)byte_at(v, nv, 7 * i + 5);
    /* pack_weights */
    chunks = p.depth / 4;
    groups = p.units / 4;
    i = 0;
    for (u = 0; u < 4 * groups; u += 4) {
        for (d = 0; d < chunks; ++d)
            for (k = 0; k < 4; ++k) {
                memcpy(packed + i, w + (u + k) * p.depth + 4 * d, 4);
                i += 4;
            }
        for (k = 0; k < 4; ++k)
            for (d = 4 * chunks; d < p.depth; ++d) packed[i++] = w[(u + k) * p.depth + d];
    }
    memcpy(packed + i, w + 4 * groups * p.depth, (size_t)((p.units - 4 * groups) * p.depth));
    for (b = 0; b < p.batches; ++b)
        for (u = 0; u < p.units; ++u) {
            const int32_t c = p.per_channel ? u : 0;
            int32_t acc = bias[u];
            for (d = 0; d < p.depth; ++d) acc += in[b * p.depth + d] * w[u * p.depth + d];
            q = kiln_mul_by_qm(acc, mult[c], shift[c]) + p.out_zp;
            out_ref[b * p.units + u] = (int8_t)kiln_clamp_i32(q, p.act_min, p.act_max);
        }
    kiln_fully_connected_s8(in, packed, bias, out_fast, &p);
    if (memcmp(out_ref, out_fast, (size_t)(p.batches * p.units)) != 0) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    switch (data[0] % 5) {
    case 0: return fuzz_dw16(data + 1, size - 1);
    case 1: return fuzz_dw8_multiplier(data + 1, size - 1);
    case 3: return fuzz_dw8_planes(data + 1, size - 1);
    case 4: return fuzz_dw8_rowpairs(data + 1, size - 1);
    default: return fuzz_fc8(data + 1, size - 1);
    }
}
