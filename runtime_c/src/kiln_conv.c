/* CONV_2D and DEPTHWISE_CONV_2D kernels.
 *
 * int8 convolution works on two output pixels at a time. Each pixel is a list of taps: pointers
 * to its input pixels, read in place (or to a vector of zero points outside the image), or one
 * im2col column for inputs whose channel count is not a multiple of 4. Every tap is a multiple
 * of 4 bytes long, and the compiler packed the filter for this loop: output channels in pairs,
 * their 4-byte chunks interleaved, so one pointer walks it. Both pixels' taps are first widened
 * to int16 into scratch, once for all output channels. On Cortex-M with the DSP extension each
 * 4-byte step is 16 MACs through SMLAD; elsewhere the same loop is plain C. The integer sums
 * equal TFLite Micro's, only their order differs; requantization is kiln_rq where the compiler
 * proved it exact (kiln_fixedpoint.h), TFLite's exact path otherwise. */
#include <string.h>

#include "kiln_dsp.h"
#include "kiln_fixedpoint.h"
#include "kiln_mve.h"
#include "kiln_runtime.h"

/* At -Os code size comes first: the fast paths tested with KILN_FAST_PATHS are left out (the
 * general ones give the same results; kws must fit 8 KB beside its weights). */
#if defined(__OPTIMIZE_SIZE__)
#define KILN_FAST_PATHS 0
#else
#define KILN_FAST_PATHS 1
#endif

typedef struct { /* per-call constants kept in locals: int8 stores may alias anything */
    const int32_t *rq;
    int32_t simple; /* kiln_rq for every channel and no clamp narrower than int8's range */
    int32_t relu;   /* kiln_rq for every channel, a lower clamp above -128, no upper one below 127 */
    int32_t fast, out_zp, act_min, act_max;
} requant_t;

static requant_t requant_of(const kiln_conv_s8_params_t *p)
{
    requant_t r;
    r.rq = p->rq;
    r.fast = p->rq_fast;
    r.simple = p->rq_fast && p->act_min == -128 && p->act_max == 127;
    r.relu = KILN_FAST_PATHS && p->rq_fast && p->act_min > -128 && p->act_max == 127;
    r.out_zp = p->out_zp;
    r.act_min = p->act_min;
    r.act_max = p->act_max;
    return r;
}

/* Any layer, q = the channel's 3 words: TFLite's exact rescaling unless the compiler proved
 * kiln_rq exact, then the clamp. */
static int8_t requantize_general(int32_t acc, const int32_t *q, const requant_t *r)
{
    const int32_t v = r->fast ? kiln_rq(acc, q) : kiln_mul_by_qm(acc, q[0], q[1]) + r->out_zp;
    return (int8_t)kiln_clamp_i32(v, r->act_min, r->act_max);
}

/* kiln_rq and a clamp narrower than int8's (a fused ReLU whose zero is above -128, as PyTorch's
 * exports have): inline, a few instructions more than the simple path, where the call took ~25. */
static inline int8_t rq_clamp(int32_t acc, const int32_t *q, const requant_t *r)
{
    return (int8_t)kiln_clamp_i32(kiln_rq(acc, q), r->act_min, r->act_max);
}

/* One output: a few instructions for a layer with r->simple or r->fast, requantize_general
 * otherwise. */
static inline int8_t requantize(int32_t acc, const int32_t *q, const requant_t *r)
{
    return r->simple                    ? (int8_t)kiln_sat8(kiln_rq(acc, q))
           : KILN_FAST_PATHS && r->fast ? rq_clamp(acc, q, r)
                                        : requantize_general(acc, q, r);
}

/* One tap of two pixels (p0, p1: len bytes each, len % 4 == 0) widened to 16 bits: for each 4
 * bytes of depth, four words of two int16 each: pixel 0's bytes 0 and 2, its bytes 1 and 3, then
 * pixel 1's (SXTB16's even and odd halves, the operands of SMLAD). Returns xw after them. */
static inline uint32_t *widen_tap(const int8_t *p0, const int8_t *p1, int32_t len, uint32_t *xw)
{
    int32_t i;
    for (i = 0; i < len; i += 4, xw += 4) {
#if KILN_DSP
        const uint32_t v0 = kiln_load32(p0 + i), v1 = kiln_load32(p1 + i);
        xw[0] = (uint32_t)kiln_even(v0);
        xw[1] = (uint32_t)kiln_odd(v0);
        xw[2] = (uint32_t)kiln_even(v1);
        xw[3] = (uint32_t)kiln_odd(v1);
#else
        xw[0] = kiln_pair16(p0[i], p0[i + 2]);
        xw[1] = kiln_pair16(p0[i + 1], p0[i + 3]);
        xw[2] = kiln_pair16(p1[i], p1[i + 2]);
        xw[3] = kiln_pair16(p1[i + 1], p1[i + 3]);
#endif
    }
    return xw;
}

/* An odd number of steps: one more of zeros after them (the packed filter has zero weights). */
static inline void widen_pad(int32_t taps, int32_t len, uint32_t *xw)
{
    if ((taps * len / 4) & 1) {
        uint32_t *pad = xw + taps * len;
        pad[0] = pad[1] = pad[2] = pad[3] = 0;
    }
}

/* Both pixels' taps (seg0[t], seg1[t]) widened once, so that every pair of output channels reads
 * them without unpacking again. */
static void widen_two_pixels(const int8_t *const *seg0, const int8_t *const *seg1, int32_t taps, int32_t len,
                             uint32_t *xw)
{
    int32_t t;
    widen_pad(taps, len, xw);
    for (t = 0; t < taps; ++t) xw = widen_tap(seg0[t], seg1[t], len, xw);
}

#if KILN_DSP && KILN_FAST_PATHS
/* The same for two pixels whose windows lie inside the image: tap t at base + off[t] (the layer's
 * tap offsets), where tap_pointers' checks cost about 65 instructions a pixel. */
__attribute__((noinline)) static int widen_two_inside(const int8_t *image, int32_t oy0, int32_t ox0, int32_t oy1,
                                                      int32_t ox1, const kiln_conv_geometry_t *g, const int32_t *off,
                                                      uint32_t *xw)
{
    const int32_t y0 = oy0 * g->stride_h - g->pad_top, x0 = ox0 * g->stride_w - g->pad_left;
    const int32_t y1 = oy1 * g->stride_h - g->pad_top, x1 = ox1 * g->stride_w - g->pad_left;
    const int32_t span_h = (g->k_h - 1) * g->dil_h, span_w = (g->k_w - 1) * g->dil_w;
    const int32_t taps = g->k_h * g->k_w, len = g->in_c;
    const int8_t *base0, *base1;
    int32_t t;
    if (y0 < 0 || x0 < 0 || y1 + span_h >= g->in_h || x0 + span_w >= g->in_w || x1 < 0 || x1 + span_w >= g->in_w)
        return 0; /* (pixel 1 is at or below pixel 0's row) */
    base0 = image + (y0 * g->in_w + x0) * len;
    base1 = image + (y1 * g->in_w + x1) * len;
    widen_pad(taps, len, xw);
    for (t = 0; t < taps; ++t) xw = widen_tap(base0 + off[t], base1 + off[t], len, xw);
    return 1;
}

/* The byte offset of each tap from its window's first, for widen_two_inside. */
static void tap_offsets(const kiln_conv_geometry_t *g, int32_t *off)
{
    int32_t ky, kx;
    for (ky = 0; ky < g->k_h; ++ky)
        for (kx = 0; kx < g->k_w; ++kx) *off++ = (ky * g->dil_h * g->in_w + kx * g->dil_w) * g->in_c;
}
#endif

#if KILN_DSP
/* One 4-byte step of depth, 16 MACs: the widened pixels' four words (ldmia into r8-r11) by two
 * output channels. MAC_STEP8: the channels' int8 chunks (one LDRD, then SXTB16 into even and odd
 * halves), 14 instructions; MAC_STEP16: chunks stored pre-widened as int16 pairs (two LDRDs), 11. */
#define MAC_STEP8(A00, A01, A10, A11, X, W, T, U, VO)                                              \
    "ldmia  " X "!, {r8, r9, r10, r11}\n\t"                                                       \
    "ldrd   " T ", " U ", [" W "], #8\n\t"                                                        \
    "sxtb16 " VO ", " T ", ror #8\n\t"                                                            \
    "sxtb16 " T ", " T "\n\t"                                                                     \
    "smlad  " A00 ", r8, " T ", " A00 "\n\t"                                                      \
    "smlad  " A00 ", r9, " VO ", " A00 "\n\t"                                                     \
    "smlad  " A01 ", r10, " T ", " A01 "\n\t"                                                     \
    "smlad  " A01 ", r11, " VO ", " A01 "\n\t"                                                    \
    "sxtb16 " VO ", " U ", ror #8\n\t"                                                            \
    "sxtb16 " U ", " U "\n\t"                                                                     \
    "smlad  " A10 ", r8, " U ", " A10 "\n\t"                                                      \
    "smlad  " A10 ", r9, " VO ", " A10 "\n\t"                                                     \
    "smlad  " A11 ", r10, " U ", " A11 "\n\t"                                                     \
    "smlad  " A11 ", r11, " VO ", " A11 "\n\t"
#define MAC_STEP16(A00, A01, A10, A11, X, W, T, U, VO)                                             \
    "ldmia  " X "!, {r8, r9, r10, r11}\n\t"                                                       \
    "ldrd   " T ", " U ", [" W "], #8\n\t"                                                        \
    "smlad  " A00 ", r8, " T ", " A00 "\n\t"                                                      \
    "smlad  " A00 ", r9, " U ", " A00 "\n\t"                                                      \
    "smlad  " A01 ", r10, " T ", " A01 "\n\t"                                                     \
    "smlad  " A01 ", r11, " U ", " A01 "\n\t"                                                     \
    "ldrd   " T ", " U ", [" W "], #8\n\t"                                                        \
    "smlad  " A10 ", r8, " T ", " A10 "\n\t"                                                      \
    "smlad  " A10 ", r9, " U ", " A10 "\n\t"                                                      \
    "smlad  " A11 ", r10, " T ", " A11 "\n\t"                                                     \
    "smlad  " A11 ", r11, " U ", " A11 "\n\t"

/* Steps are even: two per trip, or one at -Os (smaller code); -Os also leaves out the unrolled
 * depthwise loop dw_blocks_3x3. */
#define KILN_CONV_PAIRS_ASM 1
#if defined(__OPTIMIZE_SIZE__)
#define STEPS_PER_TRIP 1
#define TRIP(STEP, ...) STEP(__VA_ARGS__)
#define KILN_DW_ASM 0
#else
#define STEPS_PER_TRIP 2
#define TRIP(STEP, ...) STEP(__VA_ARGS__) STEP(__VA_ARGS__)
#define KILN_DW_ASM 1
#endif

/* One channel pair's loop over all steps, in registers of gcc's choosing. */
#define MAC_2X2_LOOP(STEP, x_start, w, trips)                                                     \
    do {                                                                                          \
        const uint32_t *x_ = (x_start);                                                           \
        int32_t n_ = (trips), t_, u_, vo_;                                                        \
        register int32_t x0e_ __asm__("r8"), x0o_ __asm__("r9"), x1e_ __asm__("r10"), x1o_ __asm__("r11"); \
        __asm__ volatile("1:\n\t"                                                                 \
                         TRIP(STEP, "%[a00]", "%[a01]", "%[a10]", "%[a11]", "%[x]", "%[w]", "%[t]", "%[u]", "%[vo]") \
                         "subs   %[n], %[n], #1\n\t"                                              \
                         "bne    1b\n\t"                                                          \
                         : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11),     \
                           [x] "+r"(x_), [w] "+r"(w), [n] "+r"(n_), [t] "=&r"(t_), [u] "=&r"(u_),  \
                           [vo] "=&r"(vo_), "=&r"(x0e_), "=&r"(x0o_), "=&r"(x1e_), "=&r"(x1o_)     \
                         :                                                                        \
                         : "cc", "memory");                                                       \
    } while (0)

/* kiln_rq and SSAT of accumulator A with the channel's {m, e, c} in M, E, C; T is a temporary. */
#define RQ_SAT(A, M, E, C, T)                                                                     \
    "add    " T ", " C ", " A ", asr #31\n\t"                                                     \
    "lsl    " A ", " A ", #1\n\t"                                                                 \
    "smmlar " A ", " A ", " M ", " T "\n\t"                                                       \
    "asr    " A ", " A ", " E "\n\t"                                                              \
    "ssat   " A ", #8, " A "\n\t"

/* RQ_SAT, stored at *O++. */
#define RQ_STORE(A, M, E, C, O, T) RQ_SAT(A, M, E, C, T) "strb   " A ", [" O "], #1\n\t"

/* The same, then the lower clamp LO (a register) of a fused ReLU whose zero is above -128 (the
 * upper one is 127: SSAT's): three instructions more. */
#define RQ_LO_STORE(A, M, E, C, O, T, LO)                                                         \
    RQ_SAT(A, M, E, C, T) KILN_ASM_CLAMP_LO(A, LO)                                                \
    "strb   " A ", [" O "], #1\n\t"

#if KILN_CONV_PAIRS_ASM
/* What the whole-layer loops below read: the two pixels (widened), the trips, where the two
 * pixels' outputs go, and where the channel pairs of the filter stream end. */
typedef struct {
    const uint32_t *xw;
    int32_t trips;
    int8_t *o0, *o1;
    const int32_t *end;
    int32_t lo; /* the lower clamp (the _relu loops) */
} pairs_job_t;

/* Every channel pair of a layer whose requantization is kiln_rq with no clamp narrower than int8
 * (PAIRS_RQ) or only a lower one (PAIRS_RQ_RELU), for two pixels: per pair, the stream holds its two
 * biases, the weights, then both channels' {m, e, c}. All of it in assembly, because the 2x2 loop
 * needs all 14 registers and gcc, around it, spills and reloads the pointers and constants: 34
 * instructions per pair besides the MACs, against about 64. The job's fields live on the stack
 * ([sp] .. [sp, #20]).
 * Registers: a00 r0, a01 r1, a10 r2, a11 r3; w r4, x r5, n r6; the pixels r8-r11; t r12, u lr,
 * vo r7, which is also RQ_STORE's temporary. */
#define PAIRS_PRO                                                                                 \
    "push   {r4-r11, lr}\n\t"                                                                     \
    "mov    r4, r1\n\t"                                                                           \
    "ldm    r0, {r5, r6, r7, r8, r9, r10}\n\t"                                                    \
    "push   {r5, r6, r7, r8, r9, r10}\n\t" /* [sp] xw, trips, o0, o1, end, lo */
/* A channel pair's loop: its biases, the trips (LOOP; at -O2 SECOND, the second trip of two),
 * EPILOGUE's requantization and stores, then the next pair (TOP) until the stream's end. ENTRY may
 * jump into the loop. */
#define PAIRS_CHANNEL_LOOP(STEP, EPILOGUE, TOP, LOOP, ENTRY, SECOND)                              \
    TOP ":\n\t"                                                                                   \
    "ldrd   r5, r6, [sp]\n\t"                                                                     \
    "ldrd   r0, r2, [r4], #8\n\t" /* the two biases */                                            \
    "mov    r1, r0\n\t"                                                                           \
    "mov    r3, r2\n\t" ENTRY LOOP ":\n\t" PAIRS_TRIP(STEP) SECOND                                 \
    "subs   r6, r6, #1\n\t"                                                                       \
    "bne    " LOOP "b\n\t"                                                                        \
    "ldrd   r5, r6, [sp, #8]\n\t" EPILOGUE                                                        \
    "strd   r5, r6, [sp, #8]\n\t"                                                                 \
    "ldr    r6, [sp, #16]\n\t"                                                                    \
    "cmp    r4, r6\n\t"                                                                           \
    "bne    " TOP "b\n\t"
#define PAIRS_TRIP(STEP) TRIP(STEP, "r0", "r1", "r2", "r3", "r5", "r4", "r12", "lr", "r7")
#define PAIRS_EXIT "add    sp, sp, #24\n\t" "pop    {r4-r11, pc}\n\t"
#if STEPS_PER_TRIP == 2
/* At -O2 a channel pair's loop holds two trips (four steps: the loop's SUBS/BNE is 2 instructions in
 * 46, not in 24): the pair loop comes twice, the second entering its loop at the second trip, and
 * an odd number of trips takes that copy (chosen once per call); r6 counts trips two at a time. */
#define PAIRS_SIMPLE_BODY(STEP, EPILOGUE)                                                         \
    __asm__ volatile(PAIRS_PRO                                                                    \
                     "lsrs   r6, r6, #1\n\t" /* C: an odd number of trips */                      \
                     "adc    r6, r6, #0\n\t"                                                      \
                     "str    r6, [sp, #4]\n\t" /* the loop's count: trips / 2, rounded up */      \
                     "bcs    4f\n\t"                                                              \
                     PAIRS_CHANNEL_LOOP(STEP, EPILOGUE, "1", "2", "", "3:\n\t" PAIRS_TRIP(STEP))            \
                     "b      7f\n\t"                                                              \
                     PAIRS_CHANNEL_LOOP(STEP, EPILOGUE, "4", "5", "b      6f\n\t", "6:\n\t" PAIRS_TRIP(STEP)) \
                     "7:\n\t" PAIRS_EXIT)
#else
#define PAIRS_SIMPLE_BODY(STEP, EPILOGUE)                                                         \
    __asm__ volatile(PAIRS_PRO PAIRS_CHANNEL_LOOP(STEP, EPILOGUE, "1", "2", "", "") PAIRS_EXIT)
#endif
/* The four outputs of a channel pair: both channels' {m, e, c} at once, or with the lower clamp
 * (in r11) one channel's at a time. */
#define PAIRS_RQ                                                                                  \
    "ldmia  r4!, {r8, r9, r10, r11, r12, lr}\n\t" /* m0 e0 c0 m1 e1 c1 */                        \
    RQ_STORE("r0", "r8", "r9", "r10", "r5", "r7") RQ_STORE("r2", "r11", "r12", "lr", "r5", "r7")     \
    RQ_STORE("r1", "r8", "r9", "r10", "r6", "r7") RQ_STORE("r3", "r11", "r12", "lr", "r6", "r7")
#define PAIRS_RQ_RELU                                                                             \
    "ldr    r11, [sp, #20]\n\t"                                                                   \
    "ldmia  r4!, {r8, r9, r10}\n\t"                                                               \
    RQ_LO_STORE("r0", "r8", "r9", "r10", "r5", "r7", "r11")                                         \
    RQ_LO_STORE("r1", "r8", "r9", "r10", "r6", "r7", "r11")                                         \
    "ldmia  r4!, {r8, r9, r10}\n\t"                                                               \
    RQ_LO_STORE("r2", "r8", "r9", "r10", "r5", "r7", "r11")                                         \
    RQ_LO_STORE("r3", "r8", "r9", "r10", "r6", "r7", "r11")

/* One whole-layer loop: the filter format's STEP, the requantization RQ. */
#define PAIRS_KERNEL(name, STEP, RQ)                                                              \
    __attribute__((naked, noinline)) static void name(const pairs_job_t *job, const int32_t *stream) \
    {                                                                                             \
        (void)job;                                                                                \
        (void)stream;                                                                             \
        PAIRS_SIMPLE_BODY(STEP, RQ);                                                              \
    }

PAIRS_KERNEL(pairs_simple8, MAC_STEP8, PAIRS_RQ)
PAIRS_KERNEL(pairs_simple16, MAC_STEP16, PAIRS_RQ)
#if KILN_FAST_PATHS /* at -Os clamped layers requantize in C */
PAIRS_KERNEL(pairs_relu8, MAC_STEP8, PAIRS_RQ_RELU)
PAIRS_KERNEL(pairs_relu16, MAC_STEP16, PAIRS_RQ_RELU)
#endif

#endif

/* One channel pair's MACs for the other layers (requantized in C): acc holds a00 a01 a10 a11;
 * returns the stream after the weights. */
static const int32_t *pair_macs8(int32_t *acc, const uint32_t *xw, const int32_t *w, int32_t trips)
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    MAC_2X2_LOOP(MAC_STEP8, xw, w, trips);
    acc[0] = a00, acc[1] = a01, acc[2] = a10, acc[3] = a11;
    return w;
}

static const int32_t *pair_macs16(int32_t *acc, const uint32_t *xw, const int32_t *w, int32_t trips)
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    MAC_2X2_LOOP(MAC_STEP16, xw, w, trips);
    acc[0] = a00, acc[1] = a01, acc[2] = a10, acc[3] = a11;
    return w;
}
#endif

#if !KILN_DSP
/* The "rows" variant's loop, for CPUs without the DSP extension (Armv6-M, RISC-V): one channel for
 * both pixels, its weights in one run; per tap a negative index counting up to 0 from the taps'
 * and the weights' ends reaches all three (Thumb-1's LDRSB takes a register offset only), so a
 * pair of products is three loads, two multiplies, two adds and the index step, and the sums,
 * pointers and values fit the eight registers Thumb-1's arithmetic reaches. */
static void channel_rows(const int8_t *const *seg0, const int8_t *const *seg1, int32_t taps, int32_t len,
                         const int8_t *w, int32_t *a0, int32_t *a1)
{
    int32_t s0 = *a0, s1 = *a1, t, i;
    for (t = 0; t < taps; ++t) {
        const int8_t *e0 = seg0[t] + len, *e1 = seg1[t] + len;
        w += len;
        for (i = -len; i != 0; ++i) {
            const int32_t v = w[i];
            s0 += e0[i] * v;
            s1 += e1[i] * v;
        }
    }
    *a0 = s0;
    *a1 = s1;
}
#endif

#if KILN_DSP && !KILN_MVE
/* The "rows" format on a CPU with the DSP extension (code compiled for one without it, built for
 * one with it): the widened pixels against each channel's run of weights, in C (Helium reads the
 * format directly, conv_rows_mve). */
static const int32_t *pair_macs_rows(int32_t *acc, const uint32_t *xw, const int32_t *w, int32_t trips)
{
    const int32_t steps = trips * STEPS_PER_TRIP;
    const int8_t *b0 = (const int8_t *)w, *b1 = b0 + 4 * steps;
    int32_t i;
    for (i = 0; i < steps; ++i, xw += 4, b0 += 4, b1 += 4) {
        const int32_t e0 = kiln_lo16(xw[0]), e2 = kiln_hi16(xw[0]), o1 = kiln_lo16(xw[1]), o3 = kiln_hi16(xw[1]);
        const int32_t f0 = kiln_lo16(xw[2]), f2 = kiln_hi16(xw[2]), p1 = kiln_lo16(xw[3]), p3 = kiln_hi16(xw[3]);
        acc[0] += e0 * b0[0] + o1 * b0[1] + e2 * b0[2] + o3 * b0[3];
        acc[1] += f0 * b0[0] + p1 * b0[1] + f2 * b0[2] + p3 * b0[3];
        acc[2] += e0 * b1[0] + o1 * b1[1] + e2 * b1[2] + o3 * b1[3];
        acc[3] += f0 * b1[0] + p1 * b1[1] + f2 * b1[2] + p3 * b1[3];
    }
    return w + 2 * steps;
}
#endif

/* How a layer's filter is stored: int8, pre-widened to int16 pairs, or each channel's weights in
 * one run ("rows"). Each public entry point names one, so the linker keeps only the loops of the
 * formats a model uses. */
typedef struct {
#if KILN_DSP
#if KILN_CONV_PAIRS_ASM
    void (*pairs_simple)(const pairs_job_t *job, const int32_t *stream); /* NULL: pair_macs always */
#if KILN_FAST_PATHS
    void (*pairs_relu)(const pairs_job_t *job, const int32_t *stream);   /* NULL: pair_macs */
#endif
#endif
    const int32_t *(*pair_macs)(int32_t *acc, const uint32_t *xw, const int32_t *w, int32_t trips);
    int32_t wide;
#else
    /* Each format's loops reached only through its table, so that the linker keeps just the
     * loops of the formats a model uses (a CPU without DSP is often one with little flash): one
     * channel for both pixels in place (int8 chunks, rows: the second channel's weights start
     * second_at bytes after the first's, per step of 4 depth bytes) or a pair from the widened
     * pixels (pre-widened int16 pairs, with the widening). */
    void (*channel)(const int8_t *const *seg0, const int8_t *const *seg1, int32_t taps, int32_t len,
                    const int8_t *w, int32_t *a0, int32_t *a1);
    int32_t second_at_per_step, second_at;
    const int32_t *(*pair_wide)(int32_t *acc, const uint32_t *xw, const int32_t *w, int32_t steps);
    void (*widen)(const int8_t *const *seg0, const int8_t *const *seg1, int32_t taps, int32_t len, uint32_t *xw);
#endif
} filter_format_t;

#if KILN_DSP
#if KILN_CONV_PAIRS_ASM
#if KILN_FAST_PATHS /* at -Os clamped layers requantize in C */
#define PAIRS_RELU(f) f,
#else
#define PAIRS_RELU(f)
#endif
static const filter_format_t FILTER_S8 = {pairs_simple8, PAIRS_RELU(pairs_relu8) pair_macs8, 0};
static const filter_format_t FILTER_S16 = {pairs_simple16, PAIRS_RELU(pairs_relu16) pair_macs16, 1};
#if !KILN_MVE
static const filter_format_t FILTER_ROWS = {NULL, PAIRS_RELU(NULL) pair_macs_rows, 0};
#endif
#else
static const filter_format_t FILTER_S8 = {pair_macs8, 0};
static const filter_format_t FILTER_S16 = {pair_macs16, 1};
#if !KILN_MVE
static const filter_format_t FILTER_ROWS = {pair_macs_rows, 0};
#endif
#endif
#endif

#if !KILN_DSP
/* Without the DSP extension (Armv6-M, RISC-V...): one channel of a pair for both pixels, reading
 * the pixels' int8 taps where they are and the channel's 4 weights of each step (chunks of 8 bytes,
 * the pair's other channel in the second 4): two sums, two pixel pointers, the weights' pointer
 * and a few values fit the eight registers Thumb-1's arithmetic reaches. The widened copy the DSP
 * loops read is not made at all. */
static void channel_two_pixels(const int8_t *const *seg0, const int8_t *const *seg1, int32_t taps, int32_t len,
                               const int8_t *w, int32_t *a0, int32_t *a1)
{
    int32_t s0 = *a0, s1 = *a1, t, i;
    for (t = 0; t < taps; ++t) {
        const int8_t *p0 = seg0[t], *p1 = seg1[t];
        for (i = 0; i < len; i += 4, w += 8, p0 += 4, p1 += 4) {
            int32_t v = w[0];
            s0 += p0[0] * v;
            s1 += p1[0] * v;
            v = w[1];
            s0 += p0[1] * v;
            s1 += p1[1] * v;
            v = w[2];
            s0 += p0[2] * v;
            s1 += p1[2] * v;
            v = w[3];
            s0 += p0[3] * v;
            s1 += p1[3] * v;
        }
    }
    *a0 = s0;
    *a1 = s1;
}

/* Pre-widened int16 pairs (depth bytes 0 and 2, 1 and 3) against the widened pixels (see
 * widen_two_pixels): acc = {channel 0 pixel 0, pixel 1, channel 1 pixel 0, pixel 1}. */
static const int32_t *pair_wide(int32_t *acc, const uint32_t *x, const int32_t *s, int32_t steps)
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3], i;
    for (i = 0; i < steps; ++i, x += 4, s += 4) {
        const int32_t w00 = kiln_lo16((uint32_t)s[0]), w02 = kiln_hi16((uint32_t)s[0]);
        const int32_t w01 = kiln_lo16((uint32_t)s[1]), w03 = kiln_hi16((uint32_t)s[1]);
        const int32_t w10 = kiln_lo16((uint32_t)s[2]), w12 = kiln_hi16((uint32_t)s[2]);
        const int32_t w11 = kiln_lo16((uint32_t)s[3]), w13 = kiln_hi16((uint32_t)s[3]);
        a00 += kiln_lo16(x[0]) * w00 + kiln_hi16(x[0]) * w02 + kiln_lo16(x[1]) * w01 + kiln_hi16(x[1]) * w03;
        a01 += kiln_lo16(x[2]) * w00 + kiln_hi16(x[2]) * w02 + kiln_lo16(x[3]) * w01 + kiln_hi16(x[3]) * w03;
        a10 += kiln_lo16(x[0]) * w10 + kiln_hi16(x[0]) * w12 + kiln_lo16(x[1]) * w11 + kiln_hi16(x[1]) * w13;
        a11 += kiln_lo16(x[2]) * w10 + kiln_hi16(x[2]) * w12 + kiln_lo16(x[3]) * w11 + kiln_hi16(x[3]) * w13;
    }
    acc[0] = a00, acc[1] = a01, acc[2] = a10, acc[3] = a11;
    return s;
}

static const filter_format_t FILTER_S8 = {channel_two_pixels, 0, 4, NULL, NULL};
static const filter_format_t FILTER_S16 = {NULL, 0, 0, pair_wide, widen_two_pixels};
static const filter_format_t FILTER_ROWS = {channel_rows, 4, 0, NULL, NULL};
#endif

/* Two pixels, all output channels: the pixels widened at xw (steps of 4 bytes of depth, see
 * widen_two_pixels, padded to an even count); seg{0,1}[t] point at their taps (len bytes, for an
 * odd last channel); out1 may be NULL for an odd last pixel. The stream (see pack_conv in
 * ops/conv.py): for each pair of output channels, the two biases, the weights (per step, each
 * channel's 4 bytes; or with wide, each channel's two words of int16 pairs), then each channel's
 * requantization {m, e, c}; for an odd last channel, its bias, its taps' weights plainly (padded
 * to a word) and its requantization. */
static void dot_two_pixels(const uint32_t *xw, int32_t steps, const int8_t *const *seg0, const int8_t *const *seg1,
                           int32_t taps, int32_t len, const int32_t *stream, int8_t *out0, int8_t *out1,
                           int32_t n_out, const filter_format_t *f, const requant_t *r)
{
    int32_t k, t, i;
    const int32_t pairs = n_out / 2;
    int8_t *o0 = out0, *o1 = out1 != NULL ? out1 : out0; /* an odd last pixel: seg1 is seg0, same values */
    const int32_t *s = stream;
#if !KILN_DSP /* in locals: the int8 stores below may alias *f for all the compiler knows */
    void (*const channel)(const int8_t *const *, const int8_t *const *, int32_t, int32_t, const int8_t *, int32_t *,
                          int32_t *) = f->channel;
    int32_t second;
#endif
    steps += steps & 1;
#if !KILN_DSP
    second = f->second_at_per_step * steps + f->second_at;
#endif
#if KILN_DSP && KILN_CONV_PAIRS_ASM
#if KILN_FAST_PATHS
    if (pairs > 0 && (r->simple ? f->pairs_simple : r->relu ? f->pairs_relu : NULL) != NULL) {
#else
    if (pairs > 0 && r->simple && f->pairs_simple != NULL) {
#endif
        pairs_job_t job;
        job.xw = xw;
        job.trips = steps / STEPS_PER_TRIP;
        job.o0 = o0;
        job.o1 = o1;
        job.end = s + pairs * (2 + steps * (f->wide ? 4 : 2) + 6);
        job.lo = r->act_min;
#if KILN_FAST_PATHS
        (r->simple ? f->pairs_simple : f->pairs_relu)(&job, s);
#else
        f->pairs_simple(&job, s);
#endif
        s = job.end;
        o0 += 2 * pairs;
        o1 += 2 * pairs;
    } else
#endif
    for (k = 0; k < pairs; ++k, o0 += 2, o1 += 2) {
#if KILN_DSP
        int32_t acc[4];
        int32_t a00, a01, a10, a11;
        acc[0] = acc[1] = s[0];
        acc[2] = acc[3] = s[1];
        s = f->pair_macs(acc, xw, s + 2, steps / STEPS_PER_TRIP);
        a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
#else
        int32_t a00 = s[0], a01 = s[0], a10 = s[1], a11 = s[1];
        s += 2;
        if (channel != NULL) { /* int8 taps read in place, not widened (see channel_two_pixels, channel_rows) */
            const int8_t *w = (const int8_t *)s;
            channel(seg0, seg1, taps, len, w, &a00, &a01);
            channel(seg0, seg1, taps, len, w + second, &a10, &a11);
            s += 2 * steps;
        } else {
            int32_t acc[4];
            acc[0] = a00, acc[1] = a01, acc[2] = a10, acc[3] = a11;
            s = f->pair_wide(acc, xw, s, steps);
            a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
        }
#endif
        if (r->simple) { /* all four before the first store, which may alias s for all gcc knows */
            const int32_t y00 = kiln_sat8(kiln_rq(a00, s)), y01 = kiln_sat8(kiln_rq(a01, s));
            const int32_t y10 = kiln_sat8(kiln_rq(a10, s + 3)), y11 = kiln_sat8(kiln_rq(a11, s + 3));
            o0[0] = (int8_t)y00;
            o0[1] = (int8_t)y10;
            o1[0] = (int8_t)y01;
            o1[1] = (int8_t)y11;
        } else if (KILN_FAST_PATHS && r->fast) {
            const int8_t y00 = rq_clamp(a00, s, r), y01 = rq_clamp(a01, s, r);
            const int8_t y10 = rq_clamp(a10, s + 3, r), y11 = rq_clamp(a11, s + 3, r);
            o0[0] = y00;
            o0[1] = y10;
            o1[0] = y01;
            o1[1] = y11;
        } else {
            o0[0] = requantize_general(a00, s, r);
            o0[1] = requantize_general(a10, s + 3, r);
            o1[0] = requantize_general(a01, s, r);
            o1[1] = requantize_general(a11, s + 3, r);
        }
        s += 6;
    }
    if (2 * pairs < n_out) { /* an odd last channel: bias, weights plainly, requantization */
        const int32_t oc = 2 * pairs;
        int32_t a0 = s[0], a1 = s[0];
#if KILN_DSP && KILN_FAST_PATHS
        /* the pixels are widened already (xw: per step, pixel 0's even and odd pairs, then pixel 1's):
         * a word of the channel's weights, SXTB16 twice, four SMLAD */
        const int32_t *w = s + 1, *end = w + taps * len / 4;
        for (; w < end; ++w, xw += 4) {
            const uint32_t v = (uint32_t)*w;
            const int32_t we = kiln_even(v), wo = kiln_odd(v);
            a0 = __smlad((int32_t)xw[0], we, a0);
            a0 = __smlad((int32_t)xw[1], wo, a0);
            a1 = __smlad((int32_t)xw[2], we, a1);
            a1 = __smlad((int32_t)xw[3], wo, a1);
        }
        (void)t, (void)i, (void)seg0, (void)seg1;
#else
        const int8_t *w = (const int8_t *)(s + 1);
        for (t = 0; t < taps; ++t) {
            for (i = 0; i < len; ++i, ++w) {
                a0 += seg0[t][i] * *w;
                a1 += seg1[t][i] * *w;
            }
        }
#endif
        s += 1 + (taps * len + 3) / 4;
        out0[oc] = requantize(a0, s, r);
        if (out1 != NULL) out1[oc] = requantize(a1, s, r);
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
    for (ky = 0; ky < k_h; ++ky) { /* a row above or below the image, else each column's test */
        const int32_t iy = y0 + ky * dh;
        const int8_t *row;
        if (iy < 0 || iy >= in_h) {
            for (kx = 0; kx < k_w; ++kx) *seg++ = zp_vector;
            continue;
        }
        row = image + iy * in_w * in_c;
        for (kx = 0; kx < k_w; ++kx) {
            const int32_t ix = x0 + kx * dw;
            *seg++ = (uint32_t)ix < (uint32_t)in_w ? row + ix * in_c : zp_vector;
        }
    }
}

/* n bytes from src to dst, a word at a time (Cortex-M4/M7 LDR/STR allow unaligned addresses). */
static void copy_bytes(int8_t *dst, const int8_t *src, int32_t n)
{
    for (; n >= 4; n -= 4, src += 4, dst += 4) {
        uint32_t v;
        memcpy(&v, src, 4);
        memcpy(dst, &v, 4);
    }
    for (; n > 0; --n) *dst++ = *src++;
}

/* n bytes of the word v4's low byte (four copies of it) at dst, a word at a time: gcc turned the
 * byte loop into a call of memset, 20 instructions before the first byte. */
static void fill_bytes(int8_t *dst, uint32_t v4, int32_t n)
{
    for (; n >= 4; n -= 4, dst += 4) memcpy(dst, &v4, 4);
    if (n & 2) {
        const uint16_t h = (uint16_t)v4;
        memcpy(dst, &h, 2);
        dst += 2;
    }
    if (n & 1) *dst = (int8_t)v4;
}

/* im2col_pixel's column where the window crosses the image's edge (y0, x0: its top left tap). */
#if KILN_FAST_PATHS /* out of line, so that the inside path keeps a light prologue; at -Os one function */
#define IM2COL_BORDER_INLINE __attribute__((noinline))
#else
#define IM2COL_BORDER_INLINE __attribute__((always_inline)) inline
#endif
IM2COL_BORDER_INLINE static void im2col_border(const int8_t *image, int32_t y0, int32_t x0,
                                                    const kiln_conv_geometry_t *g, int32_t in_zp, int8_t *col)
{
    const int32_t in_h = g->in_h, in_w = g->in_w, in_c = g->in_c, k_h = g->k_h, k_w = g->k_w;
    const uint32_t zp4 = 0x01010101u * (uint8_t)in_zp;
    const int32_t row = k_w * in_c;
    int32_t ky, kx;
    if (g->dil_w == 1) { /* per row: zero points left of the image, the row's pixels, zero points right */
        const int32_t left = x0 < 0 ? (-x0 < k_w ? -x0 : k_w) : 0; /* taps left of the image */
        const int32_t over = x0 + k_w - in_w, right = over < 0 ? 0 : (over < k_w - left ? over : k_w - left);
        const int32_t inside = (k_w - left - right) * in_c;
        for (ky = 0; ky < k_h; ++ky, col += row) {
            const int32_t iy = y0 + ky * g->dil_h;
            if (iy < 0 || iy >= in_h) { /* a row above or below the image: all zero points */
                fill_bytes(col, zp4, row);
                continue;
            }
            fill_bytes(col, zp4, left * in_c);
            if (inside > 0) copy_bytes(col + left * in_c, image + (iy * in_w + x0 + left) * in_c, inside);
            fill_bytes(col + left * in_c + inside, zp4, right * in_c);
        }
        return;
    }
    for (ky = 0; ky < k_h; ++ky) {
        const int32_t iy = y0 + ky * g->dil_h;
        for (kx = 0; kx < k_w; ++kx, col += in_c) {
            const int32_t ix = x0 + kx * g->dil_w;
            if (iy >= 0 && iy < in_h && ix >= 0 && ix < in_w) {
                copy_bytes(col, image + (iy * in_w + ix) * in_c, in_c);
            } else {
                fill_bytes(col, zp4, in_c);
            }
        }
    }
}

/* k_h rows of 6 to 12 bytes (an RGB first layer's 9), step bytes apart in an image at least 12
 * bytes wide, into a column: three unaligned words a row, the excess (within the column: row >= 6)
 * overwritten by the next row; the last row by three words that overlap, inside it. copy_bytes'
 * loops cost ~30 instructions a row of 9. */
static inline void small_rows(int8_t *col, const int8_t *src, int32_t step, int32_t row, int32_t k_h)
{
    const int32_t mid = row - 4 < 4 ? row - 4 : 4;
    uint32_t a, b, c;
    for (; k_h > 1; --k_h, col += row, src += step) {
        memcpy(&a, src, 4), memcpy(&b, src + 4, 4), memcpy(&c, src + 8, 4);
        memcpy(col, &a, 4), memcpy(col + 4, &b, 4), memcpy(col + 8, &c, 4);
    }
    memcpy(&a, src, 4), memcpy(&b, src + mid, 4), memcpy(&c, src + row - 4, 4);
    memcpy(col, &a, 4), memcpy(col + mid, &b, 4), memcpy(col + row - 4, &c, 4);
}

/* One output pixel's receptive field as a column of k_h * k_w * in_c bytes (outside taps read
 * the zero point), then zeros up to len, the multiple of 4 the packed filter was padded to. */
__attribute__((noinline)) static void im2col_pixel(const int8_t *image, int32_t oy, int32_t ox,
                                                   const kiln_conv_geometry_t *g, int32_t in_zp, int32_t len,
                                                   int8_t *col)
{
    const int32_t y0 = oy * g->stride_h - g->pad_top, x0 = ox * g->stride_w - g->pad_left;
    const uint32_t zero = 0;
#if !defined(__OPTIMIZE_SIZE__) /* im2col_border does this too, with more checks: at -Os, smaller code */
    const int32_t row = g->k_w * g->in_c;
    if (g->dil_w == 1 && y0 >= 0 && y0 + (g->k_h - 1) * g->dil_h < g->in_h && x0 >= 0 && x0 + g->k_w <= g->in_w) {
        const int8_t *src = image + (y0 * g->in_w + x0) * g->in_c;
        const int32_t step = g->dil_h * g->in_w * g->in_c;
        int32_t ky;
        memcpy(col + len - 4, &zero, 4); /* the padding (under 4 bytes), before the taps overwrite the rest */
        if (row >= 6 && row <= 12 && g->in_w * g->in_c >= 12) {
            small_rows(col, src, step, row, g->k_h);
            return;
        }
        for (ky = 0; ky < g->k_h; ++ky, col += row, src += step) copy_bytes(col, src, row); /* contiguous rows */
        return;
    }
#endif
    memcpy(col + len - 4, &zero, 4);
    im2col_border(image, y0, x0, g, in_zp, col);
}

/* The two columns of a 1x1 convolution without padding: each pixel's in_c channels, then zeros up
 * to len (im2col_pixel's general walk cost 90 instructions a pixel for 13 channels). Out of line:
 * inlined, its registers slowed conv_s8's other paths. */
__attribute__((noinline)) static void pointwise_columns(const int8_t *px0, const int8_t *px1, int32_t in_c,
                                                        int32_t len, int8_t *col)
{
    const uint32_t zero = 0;
    memcpy(col + len - 4, &zero, 4);
    memcpy(col + 2 * len - 4, &zero, 4);
    copy_bytes(col, px0, in_c);
    copy_bytes(col + len, px1, in_c);
}

#if KILN_DSP && KILN_CONV_PAIRS_ASM && KILN_FAST_PATHS
/* A layer whose output pixels are in order (no out_steps), with an even number of output channels
 * and a requantization a pairs loop does, its taps copied (im2col) or a 1x1 layer's in place: per
 * pair of pixels its columns, their widening and the loop's call, the loop's job set once.
 * conv_s8's general walk cost ~160 instructions a pixel pair around them (0.4-0.6 a MAC at 8 input
 * channels). The caller checks the layer first, so that others pay no call; the checks again here
 * tell gcc what holds (without them the loops took 2 instructions more a pixel pair). Returns 0
 * where it does not apply. */
__attribute__((noinline)) static int ordered_pairs(const int8_t *in, const int32_t *packed, int8_t *out,
                                                   const kiln_conv_s8_params_t *p, int8_t *scratch,
                                                   const filter_format_t *f, const requant_t *r, int pointwise)
{
    void (*const loop)(const pairs_job_t *, const int32_t *) = r->simple ? f->pairs_simple
                                                               : r->relu ? f->pairs_relu
                                                                         : NULL;
    const kiln_conv_geometry_t *g = &p->g;
    const int32_t col_len = p->tap_len, len = col_len > 0 ? col_len : g->in_c, in_c = g->in_c;
    const int32_t pixels = g->out_h * g->out_w, out_c = g->out_c, row_px = g->stride_h * g->in_w;
    const int32_t steps = len / 4 + ((len / 4) & 1); /* padded to even, as the stream is */
    uint32_t *xw = (uint32_t *)(void *)(scratch + 2 * col_len);
    pairs_job_t job;
    int32_t b, px;
    if (loop == NULL || (out_c & 1) || (col_len == 0 && !pointwise)) return 0;
    job.xw = xw;
    job.trips = steps / STEPS_PER_TRIP;
    job.end = packed + out_c / 2 * (2 + steps * (f->wide ? 4 : 2) + 6);
    job.lo = r->act_min;
    widen_pad(1, len, xw);
    if (col_len == 0 && g->stride_h == 1 && g->stride_w == 1) { /* pixel px at in + px * in_c, images too */
        for (px = 0; px < g->batches * pixels; px += 2) {
            const int8_t *a = in + px * in_c;
            const int two = px + 1 < g->batches * pixels;
            widen_tap(a, two ? a + in_c : a, len, xw);
            job.o0 = out + px * out_c;
            job.o1 = two ? job.o0 + out_c : job.o0;
            loop(&job, packed);
        }
        return 1;
    }
    for (b = 0; b < g->batches; ++b) {
        const int8_t *image = in + b * g->in_h * g->in_w * in_c;
        int8_t *dst = out + b * pixels * out_c;
        int32_t oy0 = 0, ox0 = 0; /* pixel px; px + 1 (or px again for an odd last one) at oy1, ox1 */
        for (px = 0; px < pixels; px += 2) {
            const int two = px + 1 < pixels;
            const int32_t oy1 = two && ox0 + 1 == g->out_w ? oy0 + 1 : oy0;
            const int32_t ox1 = !two ? ox0 : ox0 + 1 < g->out_w ? ox0 + 1 : 0;
            const int8_t *a = image + (oy0 * row_px + ox0 * g->stride_w) * in_c;
            const int8_t *c = image + (oy1 * row_px + ox1 * g->stride_w) * in_c;
            if (col_len > 0 && pointwise) {
                pointwise_columns(a, c, in_c, col_len, scratch);
            } else if (col_len > 0) {
                im2col_pixel(image, oy0, ox0, g, p->in_zp, col_len, scratch);
                im2col_pixel(image, oy1, ox1, g, p->in_zp, col_len, scratch + col_len);
            }
            if (col_len > 0) a = scratch, c = scratch + col_len;
            widen_tap(a, c, len, xw);
            job.o0 = dst + px * out_c;
            job.o1 = two ? job.o0 + out_c : job.o0;
            loop(&job, packed);
            oy0 = ox1 + 1 < g->out_w ? oy1 : oy1 + 1;
            ox0 = ox1 + 1 < g->out_w ? ox1 + 1 : 0;
        }
    }
    return 1;
}
#endif

/* scratch: with im2col (p->tap_len > 0) the two pixels' columns (2 * tap_len bytes), then the
 * two pixels widened to 16 bits (4 * taps * len bytes, 4-byte aligned; see widen_two_pixels). */
static void conv_s8(const int8_t *in, const int32_t *packed, int8_t *out, const kiln_conv_s8_params_t *p,
                    int8_t *scratch, const int8_t *zp_vector, const filter_format_t *f, const int32_t *out_steps)
{
    const kiln_conv_geometry_t g = p->g;
    const requant_t r = requant_of(p);
    const int32_t col_len = p->tap_len; /* im2col: the padded column length; 0: taps in place */
    const int32_t taps = col_len > 0 ? 1 : g.k_h * g.k_w;
    const int32_t len = col_len > 0 ? col_len : g.in_c;
    const int32_t pixels = g.out_h * g.out_w;
    uint32_t *xw = (uint32_t *)(void *)(scratch + 2 * col_len);
    /* 1x1 taps read straight from the pixels where every output pixel's tap is inside the image (a
     * TRANSPOSE_CONV's stride phase may reach past it, where tap_pointers and im2col_pixel read the
     * zero point). Taps in place: the compiler passes no zero-point vector exactly then (conv.zp_vector);
     * im2col'd: checked here, on the fast path that copies the columns. */
    const int one_by_one = g.k_h == 1 && g.k_w == 1 && g.pad_top == 0 && g.pad_left == 0;
    const int pointwise = one_by_one && (col_len > 0 ? KILN_FAST_PATHS && (g.out_h - 1) * g.stride_h < g.in_h &&
                                                           (g.out_w - 1) * g.stride_w < g.in_w
                                                     : zp_vector == NULL);
    const int32_t px_step = out_steps ? out_steps[0] : g.out_c;
    const int32_t row_step = out_steps ? out_steps[1] : g.out_w * g.out_c;
    const int8_t *seg0[KILN_CONV_MAX_TAPS], *seg1[KILN_CONV_MAX_TAPS];
    int32_t b, px;
#if KILN_DSP && KILN_FAST_PATHS
    int32_t off[KILN_CONV_MAX_TAPS];
#if KILN_CONV_PAIRS_ASM
    if (out_steps == NULL && (col_len > 0 || pointwise) && !(g.out_c & 1) && (r.simple || r.relu) &&
        ordered_pairs(in, packed, out, p, scratch, f, &r, pointwise))
        return;
#endif
    if (col_len == 0 && !pointwise) tap_offsets(&g, off);
#endif
    for (b = 0; b < g.batches; ++b) {
        const int8_t *image = in + b * g.in_h * g.in_w * g.in_c;
        int8_t *dst = out + b * (out_steps ? out_steps[2] : pixels * g.out_c);
        int32_t oy0 = 0, ox0 = 0; /* pixel px */
        for (px = 0; px < pixels; px += 2) {
            int widened = 0;
            const int two = px + 1 < pixels;
            /* pixel px + 1, or px again for an odd last pixel: computed twice, stored once */
            const int32_t oy1 = !two ? oy0 : (ox0 + 1 < g.out_w ? oy0 : oy0 + 1);
            const int32_t ox1 = !two ? ox0 : (ox0 + 1 < g.out_w ? ox0 + 1 : 0);
            int8_t *o0 = dst + oy0 * row_step + ox0 * px_step;
            int8_t *o1 = two ? dst + oy1 * row_step + ox1 * px_step : NULL;
            if (col_len > 0) {
                if (KILN_FAST_PATHS && pointwise) {
                    pointwise_columns(image + (oy0 * g.stride_h * g.in_w + ox0 * g.stride_w) * g.in_c,
                                      image + (oy1 * g.stride_h * g.in_w + ox1 * g.stride_w) * g.in_c, g.in_c,
                                      col_len, scratch);
                } else {
                    im2col_pixel(image, oy0, ox0, &g, p->in_zp, col_len, scratch);
                    im2col_pixel(image, oy1, ox1, &g, p->in_zp, col_len, scratch + col_len);
                }
                seg0[0] = scratch;
                seg1[0] = scratch + col_len;
            } else if (pointwise) {
                seg0[0] = image + (oy0 * g.stride_h * g.in_w + ox0 * g.stride_w) * g.in_c;
                seg1[0] = image + (oy1 * g.stride_h * g.in_w + ox1 * g.stride_w) * g.in_c;
            } else {
#if KILN_DSP && KILN_FAST_PATHS
                widened = widen_two_inside(image, oy0, ox0, oy1, ox1, &g, off, xw);
#endif
                if (!widened) {
                    tap_pointers(image, oy0, ox0, &g, zp_vector, seg0);
                    tap_pointers(image, oy1, ox1, &g, zp_vector, seg1);
                }
            }
            oy0 = ox1 + 1 < g.out_w ? oy1 : oy1 + 1; /* the next pair's first pixel */
            ox0 = ox1 + 1 < g.out_w ? ox1 + 1 : 0;
#if KILN_DSP
            if (!widened) widen_two_pixels(seg0, seg1, taps, len, xw);
#else
            if (f->widen != NULL) f->widen(seg0, seg1, taps, len, xw); /* the other formats read the taps in place */
#endif
            dot_two_pixels(xw, taps * len / 4, seg0, seg1, taps, len, packed, o0, o1, g.out_c, f, &r);
        }
    }
}

#if KILN_MVE
/* TFLite's rescaling where kiln_rq is not exact: out of line, so that the common loop keeps its
 * registers */
__attribute__((noinline)) static int32x4_t rescale4_exact(int32x4_t acc, const int32_t *q, int32_t out_zp)
{
    return vaddq_n_s32(kiln_mul_by_qm_mve(acc, q[0], q[1]), out_zp);
}

static inline void store4_mve(int32x4_t acc, const int32_t *q, const requant_t *r, int8_t *o, uint32x4_t offs)
{
    int32x4_t v;
    if (r->fast) {
        v = kiln_rq_n_mve(acc, q[0], -q[1], q[2]);
    } else {
        v = rescale4_exact(acc, q, r->out_zp);
    }
    v = vminq_s32(vmaxq_s32(v, vdupq_n_s32(r->act_min)), vdupq_n_s32(r->act_max));
    vstrbq_scatter_offset_s32(o, offs, v);
}

/* Helium: the "rows" format (each output channel's weights in one run), four pixels at a time. Each
 * pixel is one column of k bytes: in place for a pointwise layer, else its taps copied to scratch
 * (im2col, outside taps as the zero point, which the folded bias cancels). Per channel, 16 bytes
 * of weights are loaded once against each column's 16 (kiln_dot4_mve); the four sums are
 * requantized as one vector and stored with one scatter.
 * scratch: four columns of k bytes (the plan's scratch holds at least that, see taps_layout). The
 * stream is kiln_conv_s8's with runs (pack_conv): per pair of channels their biases, each one's run
 * of weights (steps words, an even count), each one's requantization; an odd last channel's bias,
 * weights (padded to a word) and requantization. */
static void conv_rows_mve(const int8_t *in, const int32_t *stream, int8_t *out, const kiln_conv_s8_params_t *p,
                          int8_t *scratch)
{
    const kiln_conv_geometry_t g = p->g;
    const requant_t r = requant_of(p);
    const int32_t k = p->tap_len > 0 ? p->tap_len : g.k_h * g.k_w * g.in_c;
    const int32_t steps = (k / 4 + 1) & ~1, pairs = g.out_c / 2, pixels = g.out_h * g.out_w;
    const int pointwise = g.k_h == 1 && g.k_w == 1 && g.pad_top == 0 && g.pad_left == 0 && p->tap_len == 0 &&
                          (g.out_h - 1) * g.stride_h < g.in_h && (g.out_w - 1) * g.stride_w < g.in_w; /* see conv_s8 */
    /* Columns in scratch are zero-padded to a multiple of 16 (the plan leaves room for four, see
     * taps_layout), so the dot products need no predicated tail; a pointwise layer's pixels are
     * read in place when k is a multiple of 16, else copied too. The weights are then read up to
     * 12 bytes past a run, into the next run or the requantization words after it, against zeros. */
    const int32_t k16 = (k + 15) & ~15;
    const int in_place = pointwise && k == k16;
    const int8_t *col[4];
    int32_t b, px, i, j, ch;
    if (!in_place) memset(scratch, 0, (size_t)(4 * k16));
    for (b = 0; b < g.batches; ++b) {
        const int8_t *image = in + b * g.in_h * g.in_w * g.in_c;
        int8_t *dst = out + b * pixels * g.out_c;
        for (px = 0; px < pixels; px += 4) {
            uint32_t at[4];
            const int32_t *s = stream;
            int8_t *o;
            for (i = 0; i < 4; ++i) { /* past the last pixel: the last again, computed and stored twice */
                const int32_t q = px + i < pixels ? px + i : pixels - 1, oy = q / g.out_w, ox = q % g.out_w;
                at[i] = (uint32_t)(q * g.out_c);
                const int8_t *pixel = image + (oy * g.stride_h * g.in_w + ox * g.stride_w) * g.in_c;
                int8_t *copy = scratch + i * k16;
                if (in_place) {
                    col[i] = pixel;
                    continue;
                }
                if (pointwise) { /* the pad bytes stay zero: the stores are predicated to k */
                    for (j = 0; j < k; j += 16) {
                        const mve_pred16_t pr = vctp8q((uint32_t)(k - j));
                        vstrbq_p_s8(copy + j, vldrbq_z_s8(pixel + j, pr), pr);
                    }
                } else {
                    im2col_pixel(image, oy, ox, &g, p->in_zp, k, copy);
                }
                col[i] = copy;
            }
            o = dst + at[0];
            {
                const uint32x4_t offs = vsubq_n_u32(vldrwq_u32(at), at[0]);
                for (ch = 0; ch < pairs; ++ch, s += 2 + 2 * steps + 6) {
                    const int8_t *w = (const int8_t *)(s + 2);
                    store4_mve(kiln_dot4_mve(col, w, k16, s[0]), s + 2 + 2 * steps, &r, o + 2 * ch, offs);
                    store4_mve(kiln_dot4_mve(col, w + 4 * steps, k16, s[1]), s + 5 + 2 * steps, &r, o + 2 * ch + 1,
                               offs);
                }
                if (2 * pairs < g.out_c) { /* an odd last channel: bias, weights plainly, requantization */
                    store4_mve(kiln_dot4_mve(col, (const int8_t *)(s + 1), k16, s[0]), s + 1 + (k + 3) / 4, &r,
                               o + 2 * pairs, offs);
                }
            }
        }
    }
}
#endif

void kiln_conv_s8(const int8_t *in, const int32_t *packed, int8_t *out, const kiln_conv_s8_params_t *p,
                  int8_t *scratch, const int8_t *zp_vector)
{
    conv_s8(in, packed, out, p, scratch, zp_vector, &FILTER_S8, NULL);
}

void kiln_conv_s8_strided(const int8_t *in, const int32_t *packed, int8_t *out, const kiln_conv_s8_params_t *p,
                          int8_t *scratch, const int8_t *zp_vector, const int32_t *out_steps)
{
    conv_s8(in, packed, out, p, scratch, zp_vector, &FILTER_S8, out_steps);
}

void kiln_conv_s8_rows(const int8_t *in, const int32_t *packed, int8_t *out, const kiln_conv_s8_params_t *p,
                       int8_t *scratch, const int8_t *zp_vector)
{
#if KILN_MVE
    (void)zp_vector;
    conv_rows_mve(in, packed, out, p, scratch);
#else
    conv_s8(in, packed, out, p, scratch, zp_vector, &FILTER_ROWS, NULL);
#endif
}

void kiln_conv_s8_w16(const int8_t *in, const int32_t *packed, int8_t *out, const kiln_conv_s8_params_t *p,
                      int8_t *scratch, const int8_t *zp_vector)
{
    conv_s8(in, packed, out, p, scratch, zp_vector, &FILTER_S16, NULL);
}

#if KILN_DSP
/* pairs x 8 MACs: four channels at byte offset c of two taps at a time (seg: pointers to the taps)
 * by the packed filter words at w (per pair and channel, the two taps' weights as int16, first
 * tap low), into a0..a3. The two taps' words are interleaved by halves (PKHBT/PKHTB) so that
 * SXTB16 yields each channel's pair of taps, the operands of one SMLAD. 19 instructions per
 * pair. Advances w. */
#define DW_4CH_PAIR_LOOP(seg_start, offset, w, pairs)                                                  \
    do {                                                                                          \
        const int8_t *const *s_ = (seg_start);                                                    \
        int32_t n_ = (pairs), x_, y_, l_, w0_, w1_;                                               \
        __asm__ volatile("1:\n\t"                                                                  \
                         "ldr    %[x], [%[s]], #4\n\t"                                            \
                         "ldr    %[y], [%[s]], #4\n\t"                                            \
                         "ldr    %[x], [%[x], %[c]]\n\t"                                          \
                         "ldr    %[y], [%[y], %[c]]\n\t"                                          \
                         "pkhbt  %[l], %[x], %[y], lsl #16\n\t" /* bytes t0 t1 u0 u1 */          \
                         "pkhtb  %[y], %[y], %[x], asr #16\n\t" /* bytes t2 t3 u2 u3 */          \
                         "sxtb16 %[x], %[l]\n\t"                                                  \
                         "sxtb16 %[l], %[l], ror #8\n\t"                                          \
                         "ldrd   %[w0], %[w1], [%[w]], #8\n\t"                                    \
                         "smlad  %[a0], %[x], %[w0], %[a0]\n\t"                                   \
                         "smlad  %[a1], %[l], %[w1], %[a1]\n\t"                                   \
                         "sxtb16 %[x], %[y]\n\t"                                                  \
                         "sxtb16 %[y], %[y], ror #8\n\t"                                          \
                         "ldrd   %[w0], %[w1], [%[w]], #8\n\t"                                    \
                         "smlad  %[a2], %[x], %[w0], %[a2]\n\t"                                   \
                         "smlad  %[a3], %[y], %[w1], %[a3]\n\t"                                   \
                         "subs   %[n], %[n], #1\n\t"                                              \
                         "bne    1b\n\t"                                                          \
                         : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [s] "+r"(s_), \
                           [w] "+r"(w), [n] "+r"(n_), [x] "=&r"(x_), [y] "=&r"(y_), [l] "=&r"(l_), \
                           [w0] "=&r"(w0_), [w1] "=&r"(w1_)                                       \
                         : [c] "r"(offset)                                                        \
                         : "cc", "memory");                                                       \
    } while (0)
#endif

#ifndef KILN_CONV_PAIRS_ASM /* no DSP extension */
#define KILN_CONV_PAIRS_ASM 0
#define KILN_DW_ASM 0
#endif

#if KILN_DW_ASM
/* What dw_blocks_3x3 reads: the stream at the pixel's first block, the taps' pointers, where the
 * outputs go, where the blocks of four channels end in the stream, the taps' offset. */
typedef struct {
    const int32_t *stream;
    const int8_t *const *seg;
    int8_t *dst;
    const int32_t *end;
    int32_t offset;
    int32_t lo;     /* the lower clamp (dw_blocks_3x3_relu) */
    int32_t pixels; /* a run of pixels one stride apart, their taps all inside the image */
    int32_t adj;    /* from a pixel's offset after its blocks to the next pixel's: (stride - 1) * in_c */
} dw_job_t;

/* One pair of taps of four channels, 8 MACs in 14 instructions: both taps' pointers by one LDM,
 * the four weight words by another, no loop counter (the 3x3 pixel is unrolled). */
#define DW_PAIR                                                                                   \
    "ldmia  r5!, {r7, r12}\n\t"                                                                   \
    "ldr    r7, [r7, r6]\n\t"                                                                     \
    "ldr    r12, [r12, r6]\n\t"                                                                   \
    "pkhbt  lr, r7, r12, lsl #16\n\t"  /* bytes t0 t1 u0 u1 */                                  \
    "pkhtb  r12, r12, r7, asr #16\n\t" /* bytes t2 t3 u2 u3 */                                  \
    "sxtb16 r7, lr\n\t"                                                                           \
    "sxtb16 lr, lr, ror #8\n\t"                                                                   \
    "ldmia  r4!, {r8, r9, r10, r11}\n\t"                                                          \
    "smlad  r0, r7, r8, r0\n\t"                                                                   \
    "smlad  r1, lr, r9, r1\n\t"                                                                   \
    "sxtb16 r7, r12\n\t"                                                                          \
    "sxtb16 r12, r12, ror #8\n\t"                                                                 \
    "smlad  r2, r7, r10, r2\n\t"                                                                  \
    "smlad  r3, r12, r11, r3\n\t"

/* Every block of four channels of one pixel of a 3x3 depthwise layer whose requantization is
 * simple: per block, the stream holds the four biases, five pairs of taps' weights (the tenth tap
 * is zero: the ninth tap goes alone) and the four channels' {m, e, c}. 99 instructions per block of
 * 36 MACs, against 168 for the loop in C around DW_4CH_PAIR_LOOP. Registers: a0-a3 r0-r3, stream
 * r4, taps r5, offset r6, r7 r12 lr the taps' words, r8-r11 the weights, then the constants; on
 * the stack the job's seg, dst, end and lower clamp. */
/* The ninth tap alone (its pair's second weight is zero): one tap's four channels by SMLABB and
 * SMLATB against the low halves of the pair words, 9 instructions where a pair takes 14. */
#define DW_SINGLE                                                                                 \
    "ldr    r7, [r5]\n\t"                                                                         \
    "ldr    r7, [r7, r6]\n\t"                                                                     \
    "ldmia  r4!, {r8, r9, r10, r11}\n\t"                                                          \
    "sxtb16 r12, r7\n\t"                 /* channels 0 and 2 */                                   \
    "sxtb16 lr, r7, ror #8\n\t"          /* channels 1 and 3 */                                   \
    "smlabb r0, r12, r8, r0\n\t"                                                                  \
    "smlatb r2, r12, r10, r2\n\t"                                                                 \
    "smlabb r1, lr, r9, r1\n\t"                                                                   \
    "smlatb r3, lr, r11, r3\n\t"

#define DW_BLOCKS_3X3_BODY(EPILOGUE)                                                              \
    __asm__ volatile(                                                                             \
        "push   {r4-r11, lr}\n\t"                                                                 \
        "ldm    r0, {r4, r5, r7, r8, r9, r10, r11, r12}\n\t"                                      \
        "mov    r6, r9\n\t"                                                                       \
        "push   {r4, r5, r7, r8, r10, r11, r12}\n\t" /* [sp] stream, seg, dst, end, lo, pixels, adj */ \
        "1:\n\t"                                                                                  \
        "ldr    r5, [sp, #4]\n\t"                                                                 \
        "ldmia  r4!, {r0, r1, r2, r3}\n\t" DW_PAIR DW_PAIR DW_PAIR DW_PAIR DW_SINGLE               \
        "ldr    r5, [sp, #8]\n\t" EPILOGUE                                                        \
        "str    r5, [sp, #8]\n\t"                                                                 \
        "adds   r6, r6, #4\n\t"                                                                   \
        "ldr    lr, [sp, #12]\n\t"                                                                \
        "cmp    r4, lr\n\t"                                                                       \
        "bne    1b\n\t"                                                                           \
        "ldr    lr, [sp, #20]\n\t" /* the next pixel of the run: the stream again, the taps moved */ \
        "subs   lr, lr, #1\n\t"                                                                   \
        "beq    2f\n\t"                                                                           \
        "str    lr, [sp, #20]\n\t"                                                                \
        "ldr    r4, [sp]\n\t"                                                                     \
        "ldr    lr, [sp, #24]\n\t"                                                                \
        "add    r6, r6, lr\n\t"                                                                   \
        "b      1b\n\t"                                                                           \
        "2:\n\t"                                                                                  \
        "add    sp, sp, #28\n\t"                                                                  \
        "pop    {r4-r11, pc}\n\t")
#define DW_RQ                                                                                     \
    "ldmia  r4!, {r7, r8, r9, r10, r11, r12}\n\t"                                                 \
    RQ_STORE("r0", "r7", "r8", "r9", "r5", "lr") RQ_STORE("r1", "r10", "r11", "r12", "r5", "lr")     \
    "ldmia  r4!, {r7, r8, r9, r10, r11, r12}\n\t"                                                 \
    RQ_STORE("r2", "r7", "r8", "r9", "r5", "lr") RQ_STORE("r3", "r10", "r11", "r12", "r5", "lr")
/* with the lower clamp (in r12): the channels' {m, e, c} one at a time */
#define DW_RQ_RELU                                                                                \
    "ldr    r12, [sp, #16]\n\t"                                                                   \
    "ldmia  r4!, {r7, r8, r9, r10, r11}\n\t"                                                      \
    RQ_LO_STORE("r0", "r7", "r8", "r9", "r5", "lr", "r12")                                          \
    "ldr    r7, [r4], #4\n\t" /* m1 e1 c1 in r10, r11, r7 */                                      \
    RQ_LO_STORE("r1", "r10", "r11", "r7", "r5", "lr", "r12")                                        \
    "ldmia  r4!, {r7, r8, r9, r10, r11}\n\t"                                                      \
    RQ_LO_STORE("r2", "r7", "r8", "r9", "r5", "lr", "r12")                                          \
    "ldr    r7, [r4], #4\n\t"                                                                     \
    RQ_LO_STORE("r3", "r10", "r11", "r7", "r5", "lr", "r12")

__attribute__((naked, noinline)) static void dw_blocks_3x3(const dw_job_t *job)
{
    (void)job;
    DW_BLOCKS_3X3_BODY(DW_RQ);
}

/* The same for a layer whose only clamp is a lower one (job->lo): 12 instructions more a block. */
__attribute__((naked, noinline)) static void dw_blocks_3x3_relu(const dw_job_t *job)
{
    (void)job;
    DW_BLOCKS_3X3_BODY(DW_RQ_RELU);
}
#endif

/* Depth multiplier 1: every tap of a pixel (seg[t] + moved; the zero-point vector outside the
 * image; seg[taps] is one more, with zero weights, when taps is odd) against the stream packed by
 * the compiler (pack_depthwise): for each block of four channels, their four biases (the input
 * zero point folded in), for each pair of taps four words holding each channel's two weights as
 * int16, and the four channels' requantization (3 words each); then, for each remaining
 * channel, its bias, its taps' weights (a word each) and its requantization. */
static void depthwise_pixel(const int8_t *const *seg, int32_t moved, int32_t taps, int32_t channels,
                            const int32_t *stream, int8_t *dst, const requant_t *r, int32_t first)
{
    const int32_t *w = stream; /* at channel `first` (the channels before it done by dw_blocks_3x3) */
    const int32_t pairs = (taps + 1) / 2;
    int32_t c = first, t;
    for (; c + 4 <= channels; c += 4) {
        int32_t a0 = w[0], a1 = w[1], a2 = w[2], a3 = w[3];
        w += 4;
#if KILN_DSP
        DW_4CH_PAIR_LOOP(seg, c + moved, w, pairs);
#else
        for (t = 0; t < 2 * pairs; t += 2, w += 4) {
            const int8_t *x = seg[t] + moved + c, *y = seg[t + 1] + moved + c;
            a0 += x[0] * kiln_lo16((uint32_t)w[0]) + y[0] * kiln_hi16((uint32_t)w[0]);
            a1 += x[1] * kiln_lo16((uint32_t)w[1]) + y[1] * kiln_hi16((uint32_t)w[1]);
            a2 += x[2] * kiln_lo16((uint32_t)w[2]) + y[2] * kiln_hi16((uint32_t)w[2]);
            a3 += x[3] * kiln_lo16((uint32_t)w[3]) + y[3] * kiln_hi16((uint32_t)w[3]);
        }
#endif
        if (r->simple) {
            const int32_t y0 = kiln_sat8(kiln_rq(a0, w)), y1 = kiln_sat8(kiln_rq(a1, w + 3));
            const int32_t y2 = kiln_sat8(kiln_rq(a2, w + 6)), y3 = kiln_sat8(kiln_rq(a3, w + 9));
            dst[c] = (int8_t)y0;
            dst[c + 1] = (int8_t)y1;
            dst[c + 2] = (int8_t)y2;
            dst[c + 3] = (int8_t)y3;
        } else if (KILN_FAST_PATHS && r->fast) {
            const int8_t y0 = rq_clamp(a0, w, r), y1 = rq_clamp(a1, w + 3, r);
            const int8_t y2 = rq_clamp(a2, w + 6, r), y3 = rq_clamp(a3, w + 9, r);
            dst[c] = y0;
            dst[c + 1] = y1;
            dst[c + 2] = y2;
            dst[c + 3] = y3;
        } else {
            dst[c] = requantize_general(a0, w, r);
            dst[c + 1] = requantize_general(a1, w + 3, r);
            dst[c + 2] = requantize_general(a2, w + 6, r);
            dst[c + 3] = requantize_general(a3, w + 9, r);
        }
        w += 12;
    }
    for (; c < channels; ++c) {
        int32_t acc = *w++;
        for (t = 0; t < taps; ++t) acc += seg[t][moved + c] * *w++;
        dst[c] = requantize(acc, w, r);
        w += 3;
    }
}

/* Depth multiplier 1, the filter packed with biases and requantization (see depthwise_pixel);
 * zp_vector: in_c copies of the input zero point, read by taps outside the image. */
void kiln_depthwise_conv_s8(const int8_t *in, const int32_t *packed, int8_t *out, const kiln_conv_s8_params_t *p,
                            const int8_t *zp_vector)
{
    const kiln_conv_geometry_t g = p->g;
    const requant_t r = requant_of(p);
    const int32_t taps = g.k_h * g.k_w;
    const int32_t span_h = (g.k_h - 1) * g.dil_h, span_w = (g.k_w - 1) * g.dil_w;
    const int32_t step = g.stride_w * g.in_c;
    const int8_t *seg[KILN_CONV_MAX_TAPS + 1];
    const int32_t *rest = packed; /* the stream after the blocks the assembly does */
    int32_t b, oy, ox, done = 0;  /* ... and the channels they hold */
#if !defined(__OPTIMIZE_SIZE__)
    int32_t tap_off[KILN_CONV_MAX_TAPS], t; /* each tap's bytes from the first, inside the image */
    for (t = 0; t < taps; ++t) tap_off[t] = ((t / g.k_w) * g.dil_h * g.in_w + (t % g.k_w) * g.dil_w) * g.in_c;
#endif
#if KILN_DW_ASM /* 3x3: the blocks of four channels in assembly, its job set up once */
    void (*const blocks)(const dw_job_t *) = taps != 9 || g.out_c < 4 ? NULL
                                             : r.simple ? dw_blocks_3x3 : r.relu ? dw_blocks_3x3_relu : NULL;
    dw_job_t job;
    job.stream = packed;
    job.seg = seg;
    job.end = packed + g.out_c / 4 * (4 + 4 * 5 + 12);
    job.lo = r.act_min;
    job.adj = step - g.out_c / 4 * 4; /* (r6 moves 4 bytes a block) */
    if (blocks != NULL) rest = job.end, done = g.out_c / 4 * 4;
    /* the last output column whose taps are all inside the image's width */
    const int32_t last_inside = (g.in_w - 1 - span_w + g.pad_left) / g.stride_w;
#endif
    for (b = 0; b < g.batches; ++b) {
        const int8_t *image = in + b * g.in_h * g.in_w * g.in_c;
        /* an odd number of taps: one more with zero weights, read at the same offsets as the others
         * (moved by at most a row of the image), so within this image */
        seg[taps] = image;
        for (oy = 0; oy < g.out_h; ++oy) {
            const int32_t iy = oy * g.stride_h - g.pad_top;
            const int inside_y = iy >= 0 && iy + span_h < g.in_h;
            int prev_interior = 0;
            int32_t moved = 0; /* bytes every tap has moved right since tap_pointers */
            for (ox = 0; ox < g.out_w; ++ox) {
                int8_t *dst = out + ((b * g.out_h + oy) * g.out_w + ox) * g.out_c;
                const int interior = inside_y && ox * g.stride_w - g.pad_left >= 0 &&
                                     ox * g.stride_w - g.pad_left + span_w < g.in_w;
                if (interior && prev_interior) { /* one pixel to the right: every tap moves alike */
                    moved += step;
#if !defined(__OPTIMIZE_SIZE__) /* (at -Os, tap_pointers: smaller code) */
                } else if (interior) { /* the first tap, then the layer's offsets (tap_pointers: ~7 a tap) */
                    const int8_t *first = image + (iy * g.in_w + ox * g.stride_w - g.pad_left) * g.in_c;
                    for (t = 0; t < taps; ++t) seg[t] = first + tap_off[t];
                    moved = 0;
#endif
                } else {
                    tap_pointers(image, oy, ox, &g, zp_vector, seg);
                    moved = 0;
                }
                prev_interior = interior;
#if KILN_DW_ASM
                if (blocks != NULL) {
                    /* every channel in blocks: the row's interior pixels from here in one call */
                    const int32_t run = interior && done == g.out_c
                                            ? (last_inside < g.out_w - 1 ? last_inside : g.out_w - 1) - ox + 1 : 1;
                    job.dst = dst;
                    job.offset = moved;
                    job.pixels = run;
                    blocks(&job);
                    ox += run - 1, moved += (run - 1) * step;
                }
#endif
                if (done < g.out_c) depthwise_pixel(seg, moved, taps, g.out_c, rest, dst, &r, done);
            }
        }
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
            dst[oc] = requantize(acc, r->rq + 3 * oc, r);
        }
    }
}

#if KILN_MVE
/* Helium, depth multiplier 1 on the "rows" filter ([taps][C]): 8 channels of one pixel a pass. Per
 * tap, their inputs and weights load widened to int16 (the products fit), VMULLB and VMULLT
 * multiply the even and odd lanes into int32 sums. The even and odd sums are requantized (each
 * lane its channel's constants, gathered: {m, e, c} are 6 words apart for every other channel)
 * and narrowed back into channel order (VMOVNB, VMOVNT). Channels past the last multiple of 8
 * take the C loop. */
static inline void dw8_mve(const int8_t *const *seg, int32_t c, int32_t taps, const int8_t *f, int32_t stride,
                           const int32_t *bias, const int32_t *q, const requant_t *r, int8_t *dst)
{
    const uint32x4_t even = vidupq_n_u32(0u, 2), rq_even = vmulq_n_u32(even, 3u);
    int32x4_t ev = vldrwq_gather_shifted_offset_s32(bias, even), ov = vldrwq_gather_shifted_offset_s32(bias + 1, even);
    int16x8_t y = vdupq_n_s16(0);
    int32_t t, k;
    for (t = 0; t < taps; ++t, f += stride) {
        const int16x8_t xv = vldrbq_s16(seg[t] + c), wv = vldrbq_s16(f);
        ev = vaddq_s32(ev, vmullbq_int_s16(xv, wv));
        ov = vaddq_s32(ov, vmulltq_int_s16(xv, wv));
    }
    if (r->fast) {
        ev = kiln_rq_mve(ev, vldrwq_gather_shifted_offset_s32(q, rq_even),
                         vnegq_s32(vldrwq_gather_shifted_offset_s32(q + 1, rq_even)),
                         vldrwq_gather_shifted_offset_s32(q + 2, rq_even));
        ov = kiln_rq_mve(ov, vldrwq_gather_shifted_offset_s32(q + 3, rq_even),
                         vnegq_s32(vldrwq_gather_shifted_offset_s32(q + 4, rq_even)),
                         vldrwq_gather_shifted_offset_s32(q + 5, rq_even));
    } else {
        int32_t a[8]; /* a[k / 2 + 4 * (k & 1)]: channel k */
        vstrwq_s32(a, ev);
        vstrwq_s32(a + 4, ov);
        for (k = 0; k < 8; ++k) {
            a[k / 2 + 4 * (k & 1)] = kiln_mul_by_qm(a[k / 2 + 4 * (k & 1)], q[3 * k], q[3 * k + 1]) + r->out_zp;
        }
        ev = vldrwq_s32(a);
        ov = vldrwq_s32(a + 4);
    }
    y = vmovnbq_s32(y, vminq_s32(vmaxq_s32(ev, vdupq_n_s32(r->act_min)), vdupq_n_s32(r->act_max)));
    y = vmovntq_s32(y, vminq_s32(vmaxq_s32(ov, vdupq_n_s32(r->act_min)), vdupq_n_s32(r->act_max)));
    vstrbq_s16(dst, y);
}
#endif

/* Depth multiplier 1, the filter as the model has it ([k_h][k_w][C]: the "rows" variant, for CPUs
 * without the DSP extension) with the input zero point folded into bias and p->rq; zp_vector as
 * for kiln_depthwise_conv_s8. Per channel its taps' weights, C apart, against the taps at the
 * channel's byte: one sum, the tap pointers and the weights' pointer fit Thumb-1's registers. */
void kiln_depthwise_conv_s8_rows(const int8_t *in, const int8_t *filter, const int32_t *bias, int8_t *out,
                                 const kiln_conv_s8_params_t *p, const int8_t *zp_vector)
{
    const kiln_conv_geometry_t g = p->g;
    const requant_t r = requant_of(p);
    const int32_t taps = g.k_h * g.k_w, channels = g.out_c;
    const int32_t span_h = (g.k_h - 1) * g.dil_h, span_w = (g.k_w - 1) * g.dil_w;
    const int32_t step = g.stride_w * g.in_c;
    const int8_t *seg[KILN_CONV_MAX_TAPS];
    int32_t b, oy, ox, c, t;
    for (b = 0; b < g.batches; ++b) {
        const int8_t *image = in + b * g.in_h * g.in_w * g.in_c;
        for (oy = 0; oy < g.out_h; ++oy) {
            const int32_t iy = oy * g.stride_h - g.pad_top;
            const int inside_y = iy >= 0 && iy + span_h < g.in_h;
            int prev_interior = 0;
            for (ox = 0; ox < g.out_w; ++ox) {
                int8_t *dst = out + ((b * g.out_h + oy) * g.out_w + ox) * channels;
                const int interior = inside_y && ox * g.stride_w - g.pad_left >= 0 &&
                                     ox * g.stride_w - g.pad_left + span_w < g.in_w;
                if (interior && prev_interior) { /* one pixel to the right: every tap moves alike */
                    for (t = 0; t < taps; ++t) seg[t] += step;
                } else {
                    tap_pointers(image, oy, ox, &g, zp_vector, seg);
                }
                prev_interior = interior;
                c = 0;
#if KILN_MVE
                for (; c + 8 <= channels; c += 8) dw8_mve(seg, c, taps, filter + c, channels, bias + c, r.rq + 3 * c, &r, dst + c);
#endif
                for (; c < channels; ++c) { /* c indexes both the tap and its weight: one LDRSB each */
                    const int8_t *f = filter;
                    int32_t acc = bias[c];
                    for (t = 0; t < taps; ++t, f += channels) acc += seg[t][c] * f[c];
                    dst[c] = requantize(acc, r.rq + 3 * c, &r);
                }
            }
        }
    }
}

/* Any depth multiplier: TFLite's filter, bias and p->rq; taps outside the image are skipped. */
void kiln_depthwise_conv_s8_general(const int8_t *in, const int8_t *filter, const int32_t *bias, int8_t *out,
                                    const kiln_conv_s8_params_t *p)
{
    const kiln_conv_geometry_t g = p->g;
    const requant_t r = requant_of(p);
    int32_t b, oy, ox;
    for (b = 0; b < g.batches; ++b) {
        const int8_t *image = in + b * g.in_h * g.in_w * g.in_c;
        for (oy = 0; oy < g.out_h; ++oy) {
            for (ox = 0; ox < g.out_w; ++ox) {
                int8_t *dst = out + ((b * g.out_h + oy) * g.out_w + ox) * g.out_c;
                depthwise_pixel_general(image, filter, bias, dst, oy, ox, &g, p->in_zp, &r);
            }
        }
    }
}

/* x (two int16 halves) dotted with w's two int16 halves, plus acc: one SMLAD with the DSP extension. */
static inline int32_t dot_pair(uint32_t x, uint32_t w, int32_t acc)
{
#if KILN_DSP
    return __smlad(x, w, acc);
#else
    return acc + kiln_lo16(x) * kiln_lo16(w) + kiln_hi16(x) * kiln_hi16(w);
#endif
}

/* The pair of input channel c's values at taps 2j and 2j + 1, as int16 halves. */
#define TAP_PAIR(seg, j, c) kiln_pair16((seg)[2 * (j)][c], (seg)[2 * (j) + 1][c])

/* Four outputs' sums requantized and stored at o (q: their {m, e, c} rows). */
__attribute__((always_inline)) static inline void store4(int8_t *o, int32_t a0, int32_t a1, int32_t a2, int32_t a3, const int32_t *q, const requant_t *r)
{
    const int8_t y0 = requantize(a0, q, r), y1 = requantize(a1, q + 3, r);
    const int8_t y2 = requantize(a2, q + 6, r), y3 = requantize(a3, q + 9, r);
    o[0] = y0, o[1] = y1, o[2] = y2, o[3] = y3;
}

/* One block of four outputs: channel x's values against the first two outputs' weights, channel
 * y's against the last two (x == y: one input channel for the block). Returns the weights after it. */
__attribute__((always_inline)) static inline const int32_t *block4(const int8_t *const *seg, int32_t pairs, int32_t x, int32_t y, const int32_t *w,
                             const int32_t *bias, const int32_t *q, int8_t *o, const requant_t *r)
{
    int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3], j;
    for (j = 0; j < pairs; ++j, w += 4, seg += 2) {
        const uint32_t vx = kiln_pair16(seg[0][x], seg[1][x]), vy = kiln_pair16(seg[0][y], seg[1][y]);
        a0 = dot_pair(vx, (uint32_t)w[0], a0);
        a1 = dot_pair(vx, (uint32_t)w[1], a1);
        a2 = dot_pair(vy, (uint32_t)w[2], a2);
        a3 = dot_pair(vy, (uint32_t)w[3], a3);
    }
    store4(o, a0, a1, a2, a3, q, r);
    return w;
}

/* A depth multiplier above 1 (at most KILN_CONV_MAX_TAPS taps): the output pixel's tap pointers
 * found once (zp_vector for taps outside the image, the zero point folded into the bias; a
 * zero-weight tap after an odd last one), then the output channels in blocks of four
 * (conv.pack_multiplier): per pair of taps, an input channel's two values become one int16 pair,
 * which each output takes with its pair of weights in one SMLAD. A multiple-of-4 multiplier's
 * block reads one input channel, a multiplier of 2 two; any other block (and a short last one)
 * pairs each output with its own channel's values. */
void kiln_depthwise_conv_s8_multiplier(const int8_t *in, const int32_t *filter, const int32_t *bias, int8_t *out,
                                       const kiln_conv_s8_params_t *p, const int8_t *zp_vector)
{
    const kiln_conv_geometry_t g = p->g;
    const requant_t r = requant_of(p);
    const int32_t dm = g.depth_multiplier, taps = g.k_h * g.k_w, pairs = (taps + 1) / 2;
    /* outputs in blocks that read one or two whole input channels */
    const int32_t fast = dm % 4 == 0 ? g.out_c : (dm == 2 ? g.out_c / 4 * 4 : 0);
    const int8_t *seg[KILN_CONV_MAX_TAPS + 1];
    int32_t b, oy, ox, oc, j, k;
    for (b = 0; b < g.batches; ++b) {
        const int8_t *image = in + b * g.in_h * g.in_w * g.in_c;
        for (oy = 0; oy < g.out_h; ++oy) {
            for (ox = 0; ox < g.out_w; ++ox) {
                int8_t *dst = out + ((b * g.out_h + oy) * g.out_w + ox) * g.out_c;
                const int32_t *w = filter;
                tap_pointers(image, oy, ox, &g, zp_vector, seg);
                seg[taps] = zp_vector; /* the odd last pair's second tap: its weights are zero */
                if (dm == 2) {
                    for (oc = 0; oc < fast; oc += 4) w = block4(seg, pairs, oc / 2, oc / 2 + 1, w, bias + oc,
                                                                r.rq + 3 * oc, dst + oc, &r);
                } else {
                    for (oc = 0; oc < fast; oc += 4) w = block4(seg, pairs, oc / dm, oc / dm, w, bias + oc,
                                                                r.rq + 3 * oc, dst + oc, &r);
                }
                for (oc = fast; oc < g.out_c; oc += 4) { /* each output its own channel's values */
                    const int32_t n = g.out_c - oc < 4 ? g.out_c - oc : 4;
                    int32_t acc[4], c[4];
                    for (k = 0; k < n; ++k) acc[k] = bias[oc + k], c[k] = (oc + k) / dm;
                    for (j = 0; j < pairs; ++j, w += n) {
                        for (k = 0; k < n; ++k) acc[k] = dot_pair(TAP_PAIR(seg, j, c[k]), (uint32_t)w[k], acc[k]);
                    }
                    for (k = 0; k < n; ++k) dst[oc + k] = requantize(acc[k], r.rq + 3 * (oc + k), &r);
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

/* 16x8 CONV_2D and DEPTHWISE_CONV_2D as TFLite Micro's reference kernels: taps outside the image
 * add nothing, no zero points, an int64 (or TFLite Micro's int32) accumulator. One output pixel at
 * a time, its taps read before its first write (conv.py's overlap rule for unit 1): CONV_2D copies
 * them all to scratch first, DEPTHWISE_CONV_2D reads each channel's just before its write. */
/* One output pixel's taps (k_h x k_w x in_c int16) into col, zeros outside the image (the 16x8
 * input has no zero point). */
static void im2col_s16(const int16_t *in, int16_t *col, const kiln_conv_geometry_t *g, int32_t b, int32_t oy,
                       int32_t ox)
{
    const size_t bytes = (size_t)g->in_c * sizeof(int16_t);
    int32_t ky, kx;
    for (ky = 0; ky < g->k_h; ++ky) {
        const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dil_h;
        for (kx = 0; kx < g->k_w; ++kx, col += g->in_c) {
            const int32_t ix = ox * g->stride_w - g->pad_left + kx * g->dil_w;
            if (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w) {
                memset(col, 0, bytes);
            } else {
                memcpy(col, in + ((b * g->in_h + iy) * g->in_w + ix) * g->in_c, bytes);
            }
        }
    }
}

static int16_t conv_s16_out(int64_t acc, const void *bias, int32_t oc, const kiln_conv_s16_params_t *p)
{
    return (int16_t)kiln_clamp_i32(kiln_rescale_16x8(acc, bias, oc, p->acc64, p->mult[oc], p->shift[oc]), p->act_min,
                                   p->act_max);
}

/* The same for an int32 sum, by the compiler's {M, bias} where it has them: (x * R + 2^(s-1)) >> s
 * with x = sum + bias is the rounded high word of x * (R << (32 - s)), one SMMULR. */
static inline int16_t conv_s16_out32(int32_t acc, const void *bias, int32_t oc, const kiln_conv_s16_params_t *p)
{
    if (p->rq) return (int16_t)kiln_clamp_i32(kiln_smmlar(acc + p->rq[2 * oc + 1], p->rq[2 * oc], 0), p->act_min, p->act_max);
    return conv_s16_out(acc, bias, oc, p);
}

void kiln_conv_s16(const int16_t *in, const int8_t *filter, const void *bias, int16_t *out,
                   const kiln_conv_s16_params_t *p, int16_t *scratch)
{
    const kiln_conv_geometry_t *g = &p->g;
    const int32_t depth = g->k_h * g->k_w * g->in_c;
    int32_t b, oy, ox, oc, ky, kx, rows;
    for (b = 0; b < g->batches; ++b)
        for (oy = 0; oy < g->out_h; ++oy)
            for (ox = 0; ox < g->out_w; ++ox) {
                int16_t *y = out + ((b * g->out_h + oy) * g->out_w + ox) * g->out_c;
                if (!p->depthwise) { /* the pixel's taps once, then a 16x8 FC of them per channel pair */
                    const int8_t *f = filter;
                    im2col_s16(in, scratch, g, b, oy, ox);
                    for (oc = 0; oc < g->out_c; oc += rows) {
                        const int32_t left = g->out_c - oc;
                        int64_t acc[4] = {0, 0, 0, 0};
                        int32_t j;
                        rows = left >= 4 ? 4 : (left >= 2 ? 2 : 1);
                        f = kiln_fc_s16_rows(scratch, f, depth, rows, 0, acc);
                        for (j = 0; j < rows; ++j) y[oc + j] = conv_s16_out(acc[j], bias, oc + j, p);
                    }
                    continue;
                }
                for (oc = 0; oc < g->out_c; ++oc) {
                    int64_t acc = 0;
                    for (ky = 0; ky < g->k_h; ++ky) {
                        const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dil_h;
                        if (iy < 0 || iy >= g->in_h) continue;
                        for (kx = 0; kx < g->k_w; ++kx) {
                            const int32_t ix = ox * g->stride_w - g->pad_left + kx * g->dil_w;
                            if (ix < 0 || ix >= g->in_w) continue;
                            acc += (int32_t)filter[(ky * g->k_w + kx) * g->out_c + oc] *
                                   (int32_t)in[((b * g->in_h + iy) * g->in_w + ix) * g->in_c + oc / g->depth_multiplier];
                        }
                    }
                    y[oc] = conv_s16_out(acc, bias, oc, p);
                }
            }
}

/* Two pixels by two output channels over `steps` steps of 4 depth values: xw holds per step
 * both pixels' two words of int16 pairs (pixel 0's, then pixel 1's), w per step both channels'
 * two words of weights; acc[channel][pixel] += the sums. The Cortex-M loop is the int8 kernel's
 * for int16 filters (MAC_STEP16, steps even). Returns w after the pair. */
static const int32_t *pair_macs_s16(int32_t *acc, const uint32_t *xw, const int32_t *w, int32_t steps)
{
#if KILN_DSP
    return pair_macs16(acc, xw, w, steps / STEPS_PER_TRIP);
#else
    int32_t s;
    for (s = 0; s < steps; ++s, xw += 4, w += 4) {
        acc[0] = dot_pair(xw[1], (uint32_t)w[1], dot_pair(xw[0], (uint32_t)w[0], acc[0]));
        acc[1] = dot_pair(xw[3], (uint32_t)w[1], dot_pair(xw[2], (uint32_t)w[0], acc[1]));
        acc[2] = dot_pair(xw[1], (uint32_t)w[3], dot_pair(xw[0], (uint32_t)w[2], acc[2]));
        acc[3] = dot_pair(xw[3], (uint32_t)w[3], dot_pair(xw[2], (uint32_t)w[2], acc[3]));
    }
    return w;
#endif
}

void kiln_conv_s16_pairs(const int16_t *in, const int32_t *filter, const void *bias, int16_t *out,
                         const kiln_conv_s16_params_t *p, int16_t *scratch)
{
    const kiln_conv_geometry_t *g = &p->g;
    const int32_t depth = g->k_h * g->k_w * g->in_c, steps = (depth + 7) / 8 * 2, col = 4 * steps;
    const int32_t pixels = g->out_h * g->out_w;
    const int32_t px_step = p->out_px_step ? p->out_px_step : g->out_c;
    const int32_t row_step = p->out_row_step ? p->out_row_step : g->out_w * g->out_c;
    int16_t *col0 = scratch, *col1 = scratch + col;
    uint32_t *xw = (uint32_t *)(void *)(scratch + 2 * col);
    int32_t b, px, i;
    for (i = depth; i < col; ++i) col0[i] = col1[i] = 0; /* the padding to whole steps */
    for (b = 0; b < g->batches; ++b) {
        int16_t *dst = out + b * (p->out_batch_step ? p->out_batch_step : pixels * g->out_c);
        for (px = 0; px < pixels; px += 2) {
            const int two = px + 1 < pixels; /* an odd last pixel is computed twice, stored once */
            const int32_t oy0 = px / g->out_w, ox0 = px % g->out_w;
            const int32_t oy1 = two ? (px + 1) / g->out_w : oy0, ox1 = two ? (px + 1) % g->out_w : ox0;
            int16_t *y0 = dst + oy0 * row_step + ox0 * px_step, *y1 = dst + oy1 * row_step + ox1 * px_step;
            const int32_t *w = filter;
            int32_t oc;
            im2col_s16(in, col0, g, b, oy0, ox0);
            im2col_s16(in, col1, g, b, oy1, ox1);
            for (i = 0; i < steps; ++i) { /* both columns interleaved a step (8 bytes) at a time */
                memcpy(xw + 4 * i, col0 + 4 * i, 8);
                memcpy(xw + 4 * i + 2, col1 + 4 * i, 8);
            }
            for (oc = 0; oc < g->out_c; oc += 2) {
                int32_t a[4] = {0, 0, 0, 0};
                w = pair_macs_s16(a, xw, w, steps); /* an odd last channel is stored as a pair with itself */
                y0[oc] = conv_s16_out32(a[0], bias, oc, p);
                if (two) y1[oc] = conv_s16_out32(a[1], bias, oc, p);
                if (oc + 1 == g->out_c) break;
                y0[oc + 1] = conv_s16_out32(a[2], bias, oc + 1, p);
                if (two) y1[oc + 1] = conv_s16_out32(a[3], bias, oc + 1, p);
            }
        }
    }
}

/* acc + the low (high) int16 halves of x and w multiplied: SMLABB (SMLATT). */
static inline int32_t smla_lo16(uint32_t x, uint32_t w, int32_t acc)
{
#if KILN_DSP
    return __smlabb((int32_t)x, (int32_t)w, acc);
#else
    return acc + kiln_lo16(x) * kiln_lo16(w);
#endif
}

static inline int32_t smla_hi16(uint32_t x, uint32_t w, int32_t acc)
{
#if KILN_DSP
    return __smlatt((int32_t)x, (int32_t)w, acc);
#else
    return acc + kiln_hi16(x) * kiln_hi16(w);
#endif
}

/* Where each tap of output pixel (oy, ox) reads its in_c int16: in the image, or zeros. */
static void tap_pointers_s16(const int16_t *image, int32_t oy, int32_t ox, const kiln_conv_geometry_t *g,
                             const int16_t *zeros, const int16_t **seg)
{
    const int32_t y0 = oy * g->stride_h - g->pad_top, x0 = ox * g->stride_w - g->pad_left;
    int32_t ky, kx;
    for (ky = 0; ky < g->k_h; ++ky) {
        const int32_t iy = y0 + ky * g->dil_h;
        for (kx = 0; kx < g->k_w; ++kx) {
            const int32_t ix = x0 + kx * g->dil_w;
            const int inside = iy >= 0 && iy < g->in_h && ix >= 0 && ix < g->in_w;
            *seg++ = inside ? image + (iy * g->in_w + ix) * g->in_c : zeros;
        }
    }
}

#if KILN_DW_ASM
/* What dw16_blocks(_3x3) read: the first block's filter words, the taps' pointers (word-aligned),
 * where the outputs go, where the blocks' filter words end, the bytes from each tap's pointer to
 * the first block's channels, the first block's {M, bias} pairs, the taps' pointers' end. */
typedef struct {
    const int32_t *w;
    const int16_t *const *seg;
    int16_t *dst;
    const int32_t *end;
    int32_t offset;
    const int32_t *rq;
    const int16_t *const *seg_end;
} dw16_job_t;

/* One tap of four channels, 4 MACs in 8 instructions: the tap's pointer, its four int16 by one
 * LDRD, the four weights (two int16 pairs) by another, a multiply per channel (OP: SMLA, or SMUL
 * for the first tap, which then needs no zeroed accumulators). */
#define DW16_TAP(BB, TT, ACC0, ACC1, ACC2, ACC3)                                                   \
    "ldr    r7, [r5], #4\n\t"                                                                     \
    "add    r7, r7, r6\n\t"                                                                       \
    "ldrd   r8, r9, [r7]\n\t"                                                                     \
    "ldrd   r10, r11, [r4], #8\n\t"                                                               \
    BB " r0, r8, r10" ACC0 "\n\t"                                                                 \
    TT " r1, r8, r10" ACC1 "\n\t"                                                                 \
    BB " r2, r9, r11" ACC2 "\n\t"                                                                 \
    TT " r3, r9, r11" ACC3 "\n\t"
#define DW16_TAP_FIRST DW16_TAP("smulbb", "smultt", "", "", "", "")
#define DW16_TAP_NEXT DW16_TAP("smlabb", "smlatt", ", r0", ", r1", ", r2", ", r3")

/* The four sums rescaled by {M, bias} (add, SMMULR), saturated to int16 and stored. */
#define DW16_RQ_STORE                                                                             \
    "ldmia  r12!, {r7, r8, r9, r10}\n\t"                                                          \
    "add    r0, r0, r8\n\t"                                                                       \
    "smmulr r0, r0, r7\n\t"                                                                       \
    "add    r1, r1, r10\n\t"                                                                      \
    "smmulr r1, r1, r9\n\t"                                                                       \
    "ldmia  r12!, {r7, r8, r9, r10}\n\t"                                                          \
    "add    r2, r2, r8\n\t"                                                                       \
    "smmulr r2, r2, r7\n\t"                                                                       \
    "add    r3, r3, r10\n\t"                                                                      \
    "smmulr r3, r3, r9\n\t"                                                                       \
    "ssat   r0, #16, r0\n\t"                                                                      \
    "ssat   r1, #16, r1\n\t"                                                                      \
    "ssat   r2, #16, r2\n\t"                                                                      \
    "ssat   r3, #16, r3\n\t"                                                                      \
    "strh   r0, [lr], #2\n\t"                                                                     \
    "strh   r1, [lr], #2\n\t"                                                                     \
    "strh   r2, [lr], #2\n\t"                                                                     \
    "strh   r3, [lr], #2\n\t"

/* Registers: sums r0-r3, filter r4, taps r5, offset r6, r7 the tap's pointer, r8-r11 its int16
 * and weights, {M, bias} r12, outputs lr; on the stack the job's seg, end and seg_end. */
#define DW16_PROLOGUE                                                                             \
    "push   {r4-r11, lr}\n\t"                                                                     \
    "ldr    r4, [r0]\n\t"                                                                         \
    "ldr    r1, [r0, #4]\n\t"                                                                     \
    "ldr    lr, [r0, #8]\n\t"                                                                     \
    "ldr    r2, [r0, #12]\n\t"                                                                    \
    "ldr    r6, [r0, #16]\n\t"                                                                    \
    "ldr    r12, [r0, #20]\n\t"                                                                   \
    "ldr    r3, [r0, #24]\n\t"                                                                    \
    "push   {r1, r2, r3}\n\t"
#define DW16_NEXT_BLOCK                                                                           \
    "adds   r6, r6, #8\n\t"                                                                       \
    "ldr    r7, [sp, #4]\n\t"                                                                     \
    "cmp    r4, r7\n\t"                                                                           \
    "bne    1b\n\t"                                                                               \
    "add    sp, sp, #12\n\t"                                                                      \
    "pop    {r4-r11, pc}\n\t"

/* Every block of four channels of one pixel of a 3x3 layer: 95 instructions per 36 MACs. */
__attribute__((naked, noinline)) static void dw16_blocks_3x3(const dw16_job_t *job)
{
    (void)job;
    __asm__ volatile(DW16_PROLOGUE
                     "1:\n\t"
                     "ldr    r5, [sp]\n\t" DW16_TAP_FIRST DW16_TAP_NEXT DW16_TAP_NEXT DW16_TAP_NEXT
                     DW16_TAP_NEXT DW16_TAP_NEXT DW16_TAP_NEXT DW16_TAP_NEXT DW16_TAP_NEXT
                     DW16_RQ_STORE DW16_NEXT_BLOCK);
}

/* The same for any number of taps: a loop over them, 11 instructions a tap. */
__attribute__((naked, noinline)) static void dw16_blocks(const dw16_job_t *job)
{
    (void)job;
    __asm__ volatile(DW16_PROLOGUE
                     "1:\n\t"
                     "ldr    r5, [sp]\n\t" DW16_TAP_FIRST
                     "b      3f\n\t"
                     "2:\n\t" DW16_TAP_NEXT
                     "3:\n\t"
                     "ldr    r7, [sp, #8]\n\t"
                     "cmp    r5, r7\n\t"
                     "bne    2b\n\t" DW16_RQ_STORE DW16_NEXT_BLOCK);
}
#endif

/* Four channels (from c) of one pixel in C: per tap two words of int16 pairs of the filter. */
static const int32_t *dw16_block_c(const int16_t *const *seg, int32_t taps, int32_t at, const int32_t *w,
                                   int32_t *a)
{
    int32_t t;
    a[0] = a[1] = a[2] = a[3] = 0;
    for (t = 0; t < taps; ++t) {
        const int16_t *x = seg[t] + at;
        uint32_t x01, x23;
        const uint32_t w01 = (uint32_t)*w++, w23 = (uint32_t)*w++;
        memcpy(&x01, x, 4);
        memcpy(&x23, x + 2, 4);
        a[0] = smla_lo16(x01, w01, a[0]);
        a[1] = smla_hi16(x01, w01, a[1]);
        a[2] = smla_lo16(x23, w23, a[2]);
        a[3] = smla_hi16(x23, w23, a[3]);
    }
    return w;
}

void kiln_depthwise_conv_s16(const int16_t *in, const int32_t *filter, const void *bias, int16_t *out,
                             const kiln_conv_s16_params_t *p, const int16_t *zeros)
{
    const kiln_conv_geometry_t *g = &p->g;
    const int32_t dm = g->depth_multiplier, channels = g->out_c, taps = g->k_h * g->k_w;
    const int32_t blocks = dm == 1 ? channels / 4 : 0; /* a multiplier above 1: a channel at a time */
    const int32_t *tail = filter + 2 * taps * blocks;
    const int32_t span_h = (g->k_h - 1) * g->dil_h, span_w = (g->k_w - 1) * g->dil_w;
    const int32_t step = g->stride_w * g->in_c;
#if KILN_DW_ASM
    const int clamp = p->act_min > -32768 || p->act_max < 32767;
    /* the unrolled loops read a tap's four int16 by LDRD: word-aligned pointers only */
    const int fast = blocks > 0 && p->rq != NULL && (g->in_c & 1) == 0 && (((uintptr_t)in | (uintptr_t)zeros) & 3u) == 0;
#endif
    const int16_t *seg[KILN_CONV_MAX_TAPS];
    int32_t b, oy, ox, c, t, i;
    for (b = 0; b < g->batches; ++b) {
        const int16_t *image = in + b * g->in_h * g->in_w * g->in_c;
        for (oy = 0; oy < g->out_h; ++oy) {
            const int32_t iy = oy * g->stride_h - g->pad_top;
            const int inside_y = iy >= 0 && iy + span_h < g->in_h;
            int prev_interior = 0;
            int32_t moved = 0; /* int16 every tap has moved right since tap_pointers_s16 */
            for (ox = 0; ox < g->out_w; ++ox) {
                int16_t *y = out + ((b * g->out_h + oy) * g->out_w + ox) * g->out_c;
                const int32_t ix = ox * g->stride_w - g->pad_left;
                const int interior = inside_y && ix >= 0 && ix + span_w < g->in_w;
                const int32_t *w = filter;
                if (interior && prev_interior) { /* one pixel to the right: every tap moves alike */
                    moved += step;
                } else {
                    tap_pointers_s16(image, oy, ox, g, zeros, seg);
                    moved = 0;
                }
                prev_interior = interior;
                c = 0;
#if KILN_DW_ASM
                if (fast) {
                    dw16_job_t job;
                    job.w = filter;
                    job.seg = seg;
                    job.dst = y;
                    job.end = filter + 2 * taps * blocks;
                    job.offset = 2 * moved;
                    job.rq = p->rq;
                    job.seg_end = seg + taps;
                    if (taps == 9) dw16_blocks_3x3(&job);
                    else dw16_blocks(&job);
                    c = 4 * blocks;
                    if (clamp)
                        for (i = 0; i < c; ++i) y[i] = (int16_t)kiln_clamp_i32(y[i], p->act_min, p->act_max);
                }
#endif
                for (; c < 4 * blocks; c += 4) { /* four channels: two words of each tap */
                    int32_t a[4];
                    w = dw16_block_c(seg, taps, moved + c, w, a);
                    for (i = 0; i < 4; ++i) y[c + i] = conv_s16_out32(a[i], bias, c + i, p);
                }
                for (; c < channels; ++c) { /* the last one to three channels (or all): a weight a word */
                    const int32_t rest = channels - 4 * blocks, j = c - 4 * blocks, ic = c / dm;
                    int32_t a = 0;
                    for (t = 0; t < taps; ++t) a += (int32_t)seg[t][moved + ic] * tail[t * rest + j];
                    y[c] = conv_s16_out32(a, bias, c, p);
                }
            }
        }
    }
}

/* A nibble's value (-8..7) from its four bits (the low four of v). */
static inline int32_t s4(uint32_t v)
{
    return (int32_t)((v & 15u) ^ 8u) - 8;
}

/* The nibble at position i of a run's bytes (low first). */
static int32_t nibble(const uint8_t *b, int32_t i)
{
    return s4((uint32_t)b[i >> 1] >> ((i & 1) * 4));
}

void kiln_expand_s4(int32_t *dst, const uint8_t *src, const uint16_t *runs, int32_t n_runs)
{
    int32_t r, i;
    for (r = 0; r < n_runs; ++r) {
        const int32_t kind = runs[r] >> 14, words = runs[r] & 0x1FFF, times = runs[r] & 0x2000 ? 2 : 1;
        if (kind == 0) { /* (short runs, as planes' four words a channel, a word at a time: memcpy's call costs more) */
            if (words < 8) {
                for (i = 0; i < words; ++i) memcpy(dst + i, src + 4 * i, 4);
            } else {
                memcpy(dst, src, 4u * (size_t)words);
            }
            src += 4 * words;
        } else if (kind == 1) { /* 4 int8 a word: one byte of nibbles makes two int8 bytes */
            uint8_t *d = (uint8_t *)(void *)dst;
            for (i = 0; i < 2 * words; ++i) {
                const uint32_t b = src[i]; /* (s4 in bytes: no sign extension needed) */
                d[2 * i] = (uint8_t)((b & 15u) ^ 8u) - 8u;
                d[2 * i + 1] = (uint8_t)((b >> 4) ^ 8u) - 8u;
            }
            src += 2 * words;
        } else if (kind == 2) { /* 2 int16 a word (twice the nibbles: planes' doubled weights) */
            for (i = 0; i < words; ++i) { /* a byte a word: its low nibble the low half */
                const int32_t lo = times * s4(src[i]), hi = times * s4((uint32_t)src[i] >> 4);
                dst[i] = (int32_t)(((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16));
            }
            src += words;
        } else { /* one value a word */
            for (i = 0; i < words; ++i) dst[i] = nibble(src, i);
            src += (words + 1) / 2;
        }
        dst += words;
    }
}
