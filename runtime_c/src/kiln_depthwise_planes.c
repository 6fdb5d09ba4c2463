/* int8 DEPTHWISE_CONV_2D on planes: any depth multiplier, kernel size, stride, dilation, padding.
 *
 * A depthwise output channel is a 2-D convolution of one input channel's plane. Row by row, the
 * kernel copies the input rows each output row needs (every channel), widened to int16, into a
 * ring of rows in scratch (the planes), with the zero point in the padding around the image, then
 * walks that output row of every output channel with the channel's weights, bias and
 * requantization in registers; the output may overlap the input (planes.overlap). Across a row of the
 * plane, two neighbouring values are one int16 pair, the operand of SMLAD against a pair of
 * weights: one load serves two taps, and with stride 1 two output pixels (the word under pixel k's
 * taps 0-1 is under pixel k+1's taps -1-0). The copy costs about two instructions a value, shared
 * by every output channel of the input channel (the depth multiplier) and every tap over it.
 *
 * Dilation: a plane row holds its columns by phase (x mod d, then x / d), so within one phase the
 * taps of a pixel are adjacent. The weights (planes.pack in the compiler) are doubled, and so is
 * the bias, so the sum is twice TFLite's: kiln_rq's own doubling is already done. */
#include "kiln_dsp.h"
#include "kiln_fixedpoint.h"
#include "kiln_runtime.h"

#if KILN_DSP
#define MAC(x, w, a) __smlad((x), (w), (a))     /* x.lo * w.lo + x.hi * w.hi + a */
#define MAC_BT(x, w, a) __smlabt((x), (w), (a)) /* x.lo * w.hi + a */
#define MAC_TB(x, w, a) __smlatb((x), (w), (a)) /* x.hi * w.lo + a */
#define MAC_BB(x, w, a) __smlabb((x), (w), (a)) /* x.lo * w.lo + a */
#else
#define MAC(x, w, a) ((a) + kiln_lo16(x) * kiln_lo16(w) + kiln_hi16(x) * kiln_hi16(w))
#define MAC_BT(x, w, a) ((a) + kiln_lo16(x) * kiln_hi16(w))
#define MAC_TB(x, w, a) ((a) + kiln_hi16(x) * kiln_lo16(w))
#define MAC_BB(x, w, a) ((a) + kiln_lo16(x) * kiln_lo16(w))
#endif

/* The stream's words per kernel row, by path: two for a 3-wide kernel walked two pixels at a time
 * (S1, stride 1: {w0 w1}, {w1 w2}; S2, stride 2: {w0 w1}, {w2 0}); for other widths the pairs of
 * taps from an even first column (E: {w0 w1} {w2 w3}...) and from an odd one (O: {0 w0} {w1 w2}...),
 * interleaved at stride 1 (W1: E0 O0 E1 O1...), E only at stride 2 without dilation (W2), else E
 * then O (ANY: the per-pixel walk). planes.path and planes.pack in the compiler mirror this. */
enum { PATH_S1, PATH_S2, PATH_W1, PATH_W2, PATH_ANY };

typedef struct {
    const int32_t *stream;   /* this output channel's: bias, {m, e, c}, then the weights */
    const int16_t *const *rows; /* the kernel rows' plane rows */
    int8_t *out;             /* its first output pixel of the row */
    int32_t out_step;        /* bytes between output pixels */
    int32_t base;            /* the channel's plane in each ring slot */
    int32_t k_h, k_w, stride, dil, sub; /* sub: int16 per phase of a plane row */
    int32_t path, per_row;
    int32_t fast, simple, out_zp, act_min, act_max;
} row_job_t;

/* TFLite's own requantization (a layer kiln_rq cannot do exactly): out of line, rare. */
__attribute__((noinline)) static int32_t out_exact(int32_t acc2, const int32_t *q, const row_job_t *j)
{
    return kiln_mul_by_qm(acc2 >> 1, q[0], q[2]) + j->out_zp;
}

static inline int8_t out8(int32_t acc2, const int32_t *q, const row_job_t *j)
{
    int32_t v;
    if (j->simple) return (int8_t)kiln_sat8(kiln_smmlar(acc2, q[0], q[1] + (acc2 >> 31)) >> q[2]);
    v = j->fast ? kiln_smmlar(acc2, q[0], q[1] + (acc2 >> 31)) >> q[2] : out_exact(acc2, q, j);
    return (int8_t)kiln_clamp_i32(v, j->act_min, j->act_max);
}

/* Two int16 of a plane row as one word: p is 4-byte aligned (an even index in an aligned row) and
 * the word may alias the int16 stores that filled it. */
typedef uint32_t __attribute__((may_alias, aligned(4))) plane_word_t;

static inline uint32_t word_at(const int16_t *p)
{
    return *(const plane_word_t *)(const void *)p;
}

#define MAX_ROWS 32 /* kernel rows (planes.MAX_ROWS in the compiler) */

/* Which loop walks the layer's rows (planes.path in the compiler). */
static int32_t path_of(const kiln_conv_geometry_t *g)
{
    if (g->k_w == 3 && g->stride_w == 1) return PATH_S1;
    if (g->k_w == 3 && g->stride_w == 2 && g->dil_w == 1) return PATH_S2;
    if (g->stride_w == 1) return PATH_W1;
    if (g->stride_w == 2 && g->dil_w == 1) return PATH_W2;
    return PATH_ANY;
}

/* int16 per phase of a plane row: past the last column any path reads, even (planes.sub_width). */
static int32_t sub_width(const kiln_conv_geometry_t *g, int32_t path)
{
    const int32_t need = path == PATH_S1   ? (g->out_w + g->dil_w - 1) / g->dil_w + 3
                         : path == PATH_S2 ? 2 * g->out_w + 4
                                           : g->stride_w * (g->out_w - 1) / g->dil_w + g->k_w + 1;
    return (need + 1) & ~1;
}

/* Two output pixels of any kernel (PATH_ANY), whose taps start at column at[k] of the phase row at
 * base[k]: each sums the pairs from the even column at or before its start, with the weights from an
 * even first tap or from an odd one (the stream's E and O words). Pixels of the same parity share
 * each weight word's load. acc: both sums, from the bias. */
static void pixels_any(const row_job_t *j, const int32_t *base, const int32_t *at, int32_t *acc)
{
    const int32_t ne = (j->k_w + 1) / 2, no = j->k_w / 2 + 1, odd0 = at[0] & 1, odd1 = at[1] & 1;
    const int32_t *w0 = j->stream + 4 + (odd0 ? ne : 0), *w1 = j->stream + 4 + (odd1 ? ne : 0);
    const int32_t n0 = odd0 ? no : ne, n1 = odd1 ? no : ne;
    const int32_t off0 = base[0] + at[0] - odd0, off1 = base[1] + at[1] - odd1;
    int32_t a0 = acc[0], a1 = acc[1], r, t;
    if (odd0 == odd1) { /* one load of each pair of weight words for both pixels (LDRD) */
        for (r = 0; r < j->k_h; ++r, w0 += j->per_row) {
            const int16_t *x = j->rows[r] + off0, *y = j->rows[r] + off1;
            for (t = 0; t + 2 <= n0; t += 2, x += 4, y += 4) {
                const uint32_t wa = (uint32_t)w0[t], wb = (uint32_t)w0[t + 1];
                a0 = MAC(word_at(x + 2), wb, MAC(word_at(x), wa, a0));
                a1 = MAC(word_at(y + 2), wb, MAC(word_at(y), wa, a1));
            }
            if (t < n0) a0 = MAC(word_at(x), (uint32_t)w0[t], a0), a1 = MAC(word_at(y), (uint32_t)w0[t], a1);
        }
    } else {
        for (r = 0; r < j->k_h; ++r, w0 += j->per_row, w1 += j->per_row) {
            const int16_t *x = j->rows[r] + off0, *y = j->rows[r] + off1;
            for (t = 0; t < n0; ++t) a0 = MAC(word_at(x + 2 * t), (uint32_t)w0[t], a0);
            for (t = 0; t < n1; ++t) a1 = MAC(word_at(y + 2 * t), (uint32_t)w1[t], a1);
        }
    }
    acc[0] = a0, acc[1] = a1;
}

/* A row of every output channel of a 3x3 layer with kiln_rq and no clamp narrower than int8 (the
 * common layer), at stride 1 or 2: the channels' plane rows are row_bytes apart, each input
 * channel's `dm` output channels (the depth multiplier) read the same rows, their streams follow
 * one another and their outputs are neighbours. One call a row: the per-channel set-up is a few
 * loads and stores, where a call per channel cost 70 instructions (dw 3x3 16x16x32: 512 calls). */
typedef struct {
    const int32_t *stream; /* the first output channel's */
    int8_t *out;           /* its first output pixel of the row */
    int32_t dm_left;       /* the frame's count of output channels left of the input channel: dm */
    int32_t total;         /* output channels */
    int32_t next;          /* from a row's end (after the pixel pairs) to the next input channel's row */
    int32_t row_bytes;     /* bytes between the input channels' plane rows */
    int32_t pairs_bytes;   /* bytes of a plane row the pixel pairs walk: (n & ~1) * 2 or * 4 */
    int32_t odd;           /* n & 1: a last pixel alone */
    int32_t dm;            /* output channels per input channel (the depth multiplier) */
    int32_t out_step;      /* bytes between output pixels */
    const int16_t *x0, *x1, *x2; /* the first input channel's kernel rows */
    int32_t lo;            /* the lower clamp (the _relu routines: a fused ReLU whose zero is above -128) */
} rows3_t;

#if KILN_DSP
/* In assembly: gcc spilled a third of its loop around the 14 live values (47 and 54 instructions per
 * two pixels at stride 1 and 2, now 33 and 36). Registers in the pixel loop: the kernel rows r0-r2,
 * sums r3 r4, loaded words r5 r12, output lr, the six weight words r6-r11. The frame: the channel's
 * [0] bias, [4] m, [8] c, [12] e (its stream's order: one LDM, one STM), [16] out_step, [20] the
 * loop's end, then the job from [24] (rows3_t's stream .. dm), [60] the input channel's rows, [72]
 * the lower clamp, which CLAMP2 / CLAMP1 apply after SSAT (the _relu routines; "" without one).
 * ROW_S1/ROW_S2 are one kernel row of a step (see row_pairs), the first one starting sum r3 from the
 * bias (S: r4); TAIL one kernel row of an odd last pixel into r3. */
#define ROWS3_BODY(ROW, TAIL, ROWS, CLOSE, CLAMP2, CLAMP1)                                              \
    __asm__ volatile(                                                                                   \
        "push   {r4-r11, lr}\n\t"                                                                       \
        "sub    sp, sp, #80\n\t"                                                                        \
        "ldm    r0!, {r1, r2, r3, r4, r5, r6, r7, r8, r9, r10}\n\t"                                     \
        "add    r12, sp, #24\n\t"                                                                       \
        "stm    r12, {r1, r2, r3, r4, r5, r6, r7, r8, r9}\n\t" /* [24] stream .. [56] dm */              \
        "str    r10, [sp, #16]\n\t"                                                                     \
        "ldm    r0, {r0, r1, r2, r3}\n\t"                                                               \
        "str    r3, [sp, #72]\n\t" /* lo */                                                              \
        "add    r3, sp, #60\n\t"                                                                        \
        "stm    r3, {r0, r1, r2}\n\t" /* [60] the input channel's rows */                              \
        "4:\n\t" /* an output channel: its rows, constants and output */                              \
        ROWS                                                                                            \
        "ldrd   r3, lr, [sp, #24]\n\t" /* the stream, the output */                                    \
        "ldm    r3!, {r5, r6, r7, r8}\n\t" /* bias, m, c, e */                                          \
        "stm    sp, {r5, r6, r7, r8}\n\t"                                                               \
        "ldm    r3!, {r6, r7, r8, r9, r10, r11}\n\t"                                                    \
        "add    r4, lr, #1\n\t"                                                                         \
        "strd   r3, r4, [sp, #24]\n\t" /* the next output channel's */                                 \
        "ldr    r5, [sp, #48]\n\t"                                                                      \
        "add    r5, r0, r5\n\t"                                                                         \
        "str    r5, [sp, #20]\n\t"                                                                      \
        "cmp    r0, r5\n\t"                                                                             \
        "beq    2f\n\t"                                                                                 \
        "1:\n\t"                                                                                        \
        "ldr    r4, [sp, #0]\n\t" ROW("r0", "r6", "r7", "r4") ROW("r1", "r8", "r9", "r3")                \
        ROW("r2", "r10", "r11", "r3")                                                                   \
        "ldrd   r5, r12, [sp, #4]\n\t"                                                                  \
        "add    r12, r12, r3, asr #31\n\t"                                                              \
        "smmlar r3, r3, r5, r12\n\t"                                                                    \
        "ldr    r12, [sp, #8]\n\t"                                                                      \
        "add    r12, r12, r4, asr #31\n\t"                                                              \
        "smmlar r4, r4, r5, r12\n\t"                                                                    \
        "ldrd   r5, r12, [sp, #12]\n\t"                                                                 \
        "asr    r3, r3, r5\n\t"                                                                         \
        "asr    r4, r4, r5\n\t"                                                                         \
        "ssat   r3, #8, r3\n\t"                                                                         \
        "ssat   r4, #8, r4\n\t" CLAMP2                                                                  \
        "strb   r3, [lr]\n\t"                                                                           \
        "strb   r4, [lr, r12]\n\t"                                                                      \
        "add    lr, lr, r12, lsl #1\n\t"                                                                \
        "ldr    r5, [sp, #20]\n\t"                                                                      \
        "cmp    r0, r5\n\t"                                                                             \
        "bne    1b\n\t"                                                                                 \
        "2:\n\t"                                                                                        \
        "ldr    r5, [sp, #52]\n\t"                                                                      \
        "cbz    r5, 3f\n\t"                                                                             \
        "ldr    r3, [sp, #0]\n\t" TAIL("r0", "r6", "r7") TAIL("r1", "r8", "r9") TAIL("r2", "r10", "r11")  \
        "ldrd   r5, r12, [sp, #4]\n\t"                                                                  \
        "add    r12, r12, r3, asr #31\n\t"                                                              \
        "smmlar r3, r3, r5, r12\n\t"                                                                    \
        "ldr    r5, [sp, #12]\n\t"                                                                      \
        "asr    r3, r3, r5\n\t"                                                                         \
        "ssat   r3, #8, r3\n\t" CLAMP1                                                                  \
        "strb   r3, [lr]\n\t"                                                                           \
        "3:\n\t" CLOSE /* the next output channel (4b), or the end (5f) */                            \
        "5:\n\t"                                                                                        \
        "add    sp, sp, #80\n\t"                                                                        \
        "pop    {r4-r11, pc}\n\t")
/* From one output channel to the next. At depth multiplier 1 (ROWS_DM1, CLOSE_DM1) the rows stay in
 * r0-r2, moved on to the next input channel's after each channel; with a multiplier (ROWS_DM,
 * CLOSE_DM) each output channel reloads its input channel's rows from the frame ([60], one LDM),
 * moved on after the multiplier's channels. [32]: output channels left of the input channel,
 * [36]: output channels left in all. */
#define ROWS_DM1 ""
#define CLOSE_DM1                                                                                       \
    "ldrd   r4, r5, [sp, #36]\n\t" /* output channels left, next */                                   \
    "add    r0, r0, r5\n\t"                                                                             \
    "add    r1, r1, r5\n\t"                                                                             \
    "add    r2, r2, r5\n\t"                                                                             \
    "subs   r4, r4, #1\n\t"                                                                             \
    "str    r4, [sp, #36]\n\t"                                                                          \
    "bne    4b\n\t"
#define ROWS_DM                                                                                         \
    "add    r0, sp, #60\n\t"                                                                            \
    "ldm    r0, {r0, r1, r2}\n\t"
#define CLOSE_DM                                                                                        \
    "ldr    r4, [sp, #32]\n\t"                                                                          \
    "subs   r4, r4, #1\n\t"                                                                             \
    "str    r4, [sp, #32]\n\t"                                                                          \
    "bne    4b\n\t"                                                                                     \
    "ldr    r4, [sp, #36]\n\t"                                                                          \
    "ldr    r3, [sp, #56]\n\t"                                                                          \
    "subs   r4, r4, r3\n\t"                                                                             \
    "beq    5f\n\t"                                                                                     \
    "str    r4, [sp, #36]\n\t"                                                                          \
    "str    r3, [sp, #32]\n\t"                                                                          \
    "ldr    r4, [sp, #44]\n\t" /* row_bytes */                                                          \
    "add    r3, sp, #60\n\t"                                                                            \
    "ldm    r3, {r0, r1, r2}\n\t"                                                                       \
    "add    r0, r0, r4\n\t"                                                                             \
    "add    r1, r1, r4\n\t"                                                                             \
    "add    r2, r2, r4\n\t"                                                                             \
    "stm    r3, {r0, r1, r2}\n\t"                                                                       \
    "b      4b\n\t"
#define ROW_S1(X, E, F, S)                                                                              \
    "ldrd   r5, r12, [" X "], #4\n\t"                                                                   \
    "smlad  r3, r5, " E ", " S "\n\t"                                                                   \
    "smlatb r4, r5, " E ", r4\n\t"                                                                      \
    "smlabt r3, r12, " F ", r3\n\t"                                                                     \
    "smlad  r4, r12, " F ", r4\n\t"
#define ROW_S2(X, E, F, S)                                                                              \
    "ldrd   r5, r12, [" X "], #8\n\t"                                                                   \
    "smlad  r3, r5, " E ", " S "\n\t"                                                                   \
    "ldr    r5, [" X "]\n\t"                                                                            \
    "smlabb r3, r12, " F ", r3\n\t"                                                                     \
    "smlad  r4, r12, " E ", r4\n\t"                                                                     \
    "smlabb r4, r5, " F ", r4\n\t"
#define TAIL_S1(X, E, F)                                                                                \
    "ldrd   r5, r12, [" X "]\n\t"                                                                       \
    "smlad  r3, r5, " E ", r3\n\t"                                                                      \
    "smlabt r3, r12, " F ", r3\n\t"
#define TAIL_S2(X, E, F)                                                                                \
    "ldrd   r5, r12, [" X "]\n\t"                                                                       \
    "smlad  r3, r5, " E ", r3\n\t"                                                                      \
    "smlabb r3, r12, " F ", r3\n\t"

/* A lower clamp after SSAT, for both sums (r3, r4) or the odd last pixel's (r3). */
#define CLAMP1_LO "ldr    r5, [sp, #72]\n\t" KILN_ASM_CLAMP_LO("r3", "r5")
#define CLAMP2_LO CLAMP1_LO KILN_ASM_CLAMP_LO("r4", "r5")
#define ROWS3_FUNCTION(name, ROW, TAIL, ROWS, CLOSE, CLAMP2, CLAMP1)                                    \
    __attribute__((naked, noinline)) static void name(const rows3_t *j)                                 \
    {                                                                                                   \
        (void)j;                                                                                        \
        ROWS3_BODY(ROW, TAIL, ROWS, CLOSE, CLAMP2, CLAMP1);                                             \
    }
ROWS3_FUNCTION(rows3_s1_dm1, ROW_S1, TAIL_S1, ROWS_DM1, CLOSE_DM1, "", "")
ROWS3_FUNCTION(rows3_s2_dm1, ROW_S2, TAIL_S2, ROWS_DM1, CLOSE_DM1, "", "")
ROWS3_FUNCTION(rows3_s1_dm, ROW_S1, TAIL_S1, ROWS_DM, CLOSE_DM, "", "")
ROWS3_FUNCTION(rows3_s2_dm, ROW_S2, TAIL_S2, ROWS_DM, CLOSE_DM, "", "")
ROWS3_FUNCTION(rows3_s1_dm1_relu, ROW_S1, TAIL_S1, ROWS_DM1, CLOSE_DM1, CLAMP2_LO, CLAMP1_LO)
ROWS3_FUNCTION(rows3_s2_dm1_relu, ROW_S2, TAIL_S2, ROWS_DM1, CLOSE_DM1, CLAMP2_LO, CLAMP1_LO)
ROWS3_FUNCTION(rows3_s1_dm_relu, ROW_S1, TAIL_S1, ROWS_DM, CLOSE_DM, CLAMP2_LO, CLAMP1_LO)
ROWS3_FUNCTION(rows3_s2_dm_relu, ROW_S2, TAIL_S2, ROWS_DM, CLOSE_DM, CLAMP2_LO, CLAMP1_LO)

/* The row routine of a layer: by stride, multiplier and clamp (lo above -128: a lower one only). */
typedef void (*rows3_fn)(const rows3_t *);
static rows3_fn rows3_for(int32_t stride, int32_t dm, int32_t lo)
{
    if (lo > -128) return stride == 1 ? (dm == 1 ? rows3_s1_dm1_relu : rows3_s1_dm_relu)
                                      : (dm == 1 ? rows3_s2_dm1_relu : rows3_s2_dm_relu);
    return stride == 1 ? (dm == 1 ? rows3_s1_dm1 : rows3_s1_dm) : (dm == 1 ? rows3_s2_dm1 : rows3_s2_dm);
}
#else
/* The same in C (the portable path): one channel's rows, weight words and requantization in locals. */
static void row_s1_3x3(const int16_t *x0, const int16_t *x1, const int16_t *x2, const int32_t *s, int32_t n,
                       int8_t *o, int32_t o_step)
{
    const uint32_t e0 = (uint32_t)s[4], f0 = (uint32_t)s[5], e1 = (uint32_t)s[6], f1 = (uint32_t)s[7];
    const uint32_t e2 = (uint32_t)s[8], f2 = (uint32_t)s[9];
    const int32_t bias = s[0], m = s[1], rc = s[2], sh = s[3];
    const int16_t *end = x0 + (n & ~1);
    for (; x0 != end; x0 += 2, x1 += 2, x2 += 2, o += 2 * o_step) {
        uint32_t A = word_at(x0), B = word_at(x0 + 2);
        int32_t a0 = MAC(A, e0, bias), a1 = MAC_TB(A, e0, bias);
        a0 = MAC_BT(B, f0, a0), a1 = MAC(B, f0, a1);
        A = word_at(x1), B = word_at(x1 + 2);
        a0 = MAC(A, e1, a0), a1 = MAC_TB(A, e1, a1);
        a0 = MAC_BT(B, f1, a0), a1 = MAC(B, f1, a1);
        A = word_at(x2), B = word_at(x2 + 2);
        a0 = MAC(A, e2, a0), a1 = MAC_TB(A, e2, a1);
        a0 = MAC_BT(B, f2, a0), a1 = MAC(B, f2, a1);
        o[0] = (int8_t)kiln_sat8(kiln_smmlar(a0, m, rc + (a0 >> 31)) >> sh);
        o[o_step] = (int8_t)kiln_sat8(kiln_smmlar(a1, m, rc + (a1 >> 31)) >> sh);
    }
    if (n & 1) {
        const uint32_t A = word_at(x0), B = word_at(x0 + 2), C = word_at(x1), D = word_at(x1 + 2);
        const uint32_t E = word_at(x2), F = word_at(x2 + 2);
        const int32_t a = MAC_BT(F, f2, MAC(E, e2, MAC_BT(D, f1, MAC(C, e1, MAC_BT(B, f0, MAC(A, e0, bias))))));
        o[0] = (int8_t)kiln_sat8(kiln_smmlar(a, m, rc + (a >> 31)) >> sh);
    }
}

/* row_pairs at stride 2 for a 3x3 kernel with kiln_rq and no clamp narrower than int8, its constants in locals. */
static void row_s2_3x3(const int16_t *x0, const int16_t *x1, const int16_t *x2, const int32_t *s, int32_t n,
                       int8_t *o, int32_t o_step)
{
    const uint32_t e0 = (uint32_t)s[4], f0 = (uint32_t)s[5], e1 = (uint32_t)s[6], f1 = (uint32_t)s[7];
    const uint32_t e2 = (uint32_t)s[8], f2 = (uint32_t)s[9];
    const int32_t bias = s[0], m = s[1], rc = s[2], sh = s[3];
    const int16_t *end = x0 + 2 * n;
    for (; x0 != end; x0 += 4, x1 += 4, x2 += 4, o += 2 * o_step) {
        uint32_t A = word_at(x0), B = word_at(x0 + 2), C;
        int32_t a0 = MAC(A, e0, bias), a1 = MAC(B, e0, bias);
        const int last = x0 + 2 == end; /* an odd count: the last pixel alone */
        C = word_at(x0 + 4);
        a0 = MAC_BB(B, f0, a0), a1 = MAC_BB(C, f0, a1);
        A = word_at(x1), B = word_at(x1 + 2), C = word_at(x1 + 4);
        a0 = MAC(A, e1, a0), a1 = MAC(B, e1, a1);
        a0 = MAC_BB(B, f1, a0), a1 = MAC_BB(C, f1, a1);
        A = word_at(x2), B = word_at(x2 + 2), C = word_at(x2 + 4);
        a0 = MAC(A, e2, a0), a1 = MAC(B, e2, a1);
        a0 = MAC_BB(B, f2, a0), a1 = MAC_BB(C, f2, a1);
        o[0] = (int8_t)kiln_sat8(kiln_smmlar(a0, m, rc + (a0 >> 31)) >> sh);
        if (last) break;
        o[o_step] = (int8_t)kiln_sat8(kiln_smmlar(a1, m, rc + (a1 >> 31)) >> sh);
    }
}

static void rows3(const rows3_t *j, int32_t stride)
{
    const int32_t per_channel = 10, n = j->pairs_bytes / (2 * stride) + j->odd;
    const int32_t step = j->row_bytes / 2; /* int16 between the input channels' rows */
    const int32_t *s = j->stream;
    int8_t *o = j->out;
    int32_t k;
    for (k = 0; k < j->total; ++k, s += per_channel, ++o) {
        const int32_t c = k / j->dm;
        if (stride == 1) row_s1_3x3(j->x0 + c * step, j->x1 + c * step, j->x2 + c * step, s, n, o, j->out_step);
        else row_s2_3x3(j->x0 + c * step, j->x1 + c * step, j->x2 + c * step, s, n, o, j->out_step);
    }
}

static void rows3_s1(const rows3_t *j)
{
    rows3(j, 1);
}

static void rows3_s2(const rows3_t *j)
{
    rows3(j, 2);
}

typedef void (*rows3_fn)(const rows3_t *);
static rows3_fn rows3_for(int32_t stride, int32_t dm, int32_t lo)
{
    (void)dm, (void)lo; /* (never clamped here: fast3 needs the DSP routines for that) */
    return stride == 1 ? rows3_s1 : rows3_s2;
}
#endif

/* A row job for rows3_s1/s2: n pixels of `channels` input channels' rows (x, row_len int16 apart). */
static rows3_t rows3_job(const int16_t *const *x, const int32_t *stream, int8_t *out, int32_t n, int32_t stride,
                         int32_t out_step, int32_t row_len, int32_t channels, int32_t dm, int32_t lo)
{
    rows3_t j;
    j.stream = stream, j.out = out, j.dm_left = dm, j.total = channels * dm, j.dm = dm;
    j.pairs_bytes = (n & ~1) * 2 * stride, j.odd = n & 1;
    j.row_bytes = row_len * 2, j.next = row_len * 2 - j.pairs_bytes;
    j.out_step = out_step;
    j.x0 = x[0], j.x1 = x[1], j.x2 = x[2];
    j.lo = lo;
    return j;
}

/* Two pixels a step of a 3-wide kernel, any number of rows and any clamp. Stride 1 (k: pixel k of one
 * dilation phase, k even): per kernel row the words A = x[k..k+1], B = x[k+2..k+3]; pixel k is
 * A.{w0 w1} + B.lo w2, pixel k + 1 A.hi w0 + B.{w1 w2} (weights {w0 w1} {w1 w2}). Stride 2 (pixel p
 * at column 2p): A = x[2p..], B, C; pixel p is A.{w0 w1} + B.lo w2, pixel p + 1 B.{w0 w1} + C.lo w2
 * (weights {w0 w1} {w2 0}). An odd last pixel alone. */
__attribute__((noinline)) static void row_pairs(const row_job_t *j, int32_t base, int32_t n, int8_t *o,
                                                int32_t o_step)
{
    const int32_t stride = j->stride;
    const int32_t *q = j->stream + 1, bias = j->stream[0];
    int32_t k, r;
    for (k = 0; k < n; k += 2, o += 2 * o_step) {
        const int32_t *w = j->stream + 4;
        int32_t a0 = bias, a1 = bias;
        for (r = 0; r < j->k_h; ++r, w += 2) {
            const int16_t *x = j->rows[r] + base + stride * k;
            const uint32_t A = word_at(x), B = word_at(x + 2), w0 = (uint32_t)w[0], w1 = (uint32_t)w[1];
            a0 = MAC(A, w0, a0);
            if (stride == 1) {
                a0 = MAC_BT(B, w1, a0);
                a1 = MAC(B, w1, MAC_TB(A, w0, a1));
            } else {
                a0 = MAC_BB(B, w1, a0);
                if (k + 1 < n) a1 = MAC_BB(word_at(x + 4), w1, MAC(B, w0, a1));
            }
        }
        o[0] = out8(a0, q, j);
        if (k + 1 < n) o[o_step] = out8(a1, q, j);
    }
}

#if KILN_DSP
/* Every kernel row of W1's two pixels for constant KH and NE, in one statement: per row its plane row
 * (LDR from the row table, plus the pixels' offset), then NE steps of a plane word (LDR) and the
 * next E and O words (LDRD), both post-indexed. In C, gcc loaded each word alone at an offset; given
 * a statement a step or a row, it moved the sums between registers at each. rp: the row table
 * (moved on), w: the weights (moved on). */
#define ROWS_EO(rp, off, w, a0, a1, KH, NE)                                                             \
    do {                                                                                                \
        uint32_t X_, E_, O_;                                                                            \
        const int16_t *x_;                                                                              \
        __asm__(".rept %c[kh]\n\t"                                                                     \
                "ldr %[xp], [%[rp]], #4\n\t"                                                          \
                "add %[xp], %[xp], %[off]\n\t"                                                        \
                ".rept %c[ne]\n\t"                                                                     \
                "ldr %[X], [%[xp]], #4\n\t"                                                           \
                "ldrd %[E], %[O], [%[w]], #8\n\t"                                                     \
                "smlad %[a0], %[X], %[E], %[a0]\n\t"                                                  \
                "smlad %[a1], %[X], %[O], %[a1]\n\t"                                                  \
                ".endr\n\t"                                                                           \
                ".endr"                                                                               \
                : [X] "=&r"(X_), [E] "=&r"(E_), [O] "=&r"(O_), [xp] "=&r"(x_), [rp] "+r"(rp), [w] "+r"(w), \
                  [a0] "+r"(a0), [a1] "+r"(a1)                                                        \
                : [off] "r"(off), [kh] "i"(KH), [ne] "i"(NE)                                          \
                : "memory");                                                                          \
    } while (0)
/* One kernel row of W1's two pixels for a count known at run time (N > 0): ROWS_EO's steps in a
 * loop, two instructions a step more. */
#define ROW_EO_N(x, w, a0, a1, N)                                                                       \
    do {                                                                                                \
        uint32_t X_, E_, O_;                                                                            \
        int32_t n_ = (N);                                                                               \
        __asm__("1:\n\t"                                                                               \
                "ldr %[X], [%[x]], #4\n\t"                                                            \
                "ldrd %[E], %[O], [%[w]], #8\n\t"                                                     \
                "smlad %[a0], %[X], %[E], %[a0]\n\t"                                                  \
                "smlad %[a1], %[X], %[O], %[a1]\n\t"                                                  \
                "subs %[n], %[n], #1\n\t"                                                             \
                "bne 1b"                                                                              \
                : [X] "=&r"(X_), [E] "=&r"(E_), [O] "=&r"(O_), [x] "+r"(x), [w] "+r"(w), [a0] "+r"(a0),  \
                  [a1] "+r"(a1), [n] "+r"(n_)                                                         \
                :                                                                                     \
                : "cc", "memory");                                                                    \
    } while (0)
#else
#define STEP_EO(x, w, a0, a1)                                                                           \
    do {                                                                                                \
        const uint32_t X_ = word_at(x);                                                                 \
        a0 = MAC(X_, (uint32_t)(w)[0], a0), a1 = MAC(X_, (uint32_t)(w)[1], a1), x += 2, w += 2;         \
    } while (0)
#define ROW_EO_N(x, w, a0, a1, N)                                                                       \
    do {                                                                                                \
        int32_t t_;                                                                                     \
        for (t_ = 0; t_ < (N); ++t_) STEP_EO(x, w, a0, a1);                                             \
    } while (0)
#endif

/* Two pixels a step of a kernel other than 3 wide at stride 1 (PATH_W1: pixels adjacent in one
 * dilation phase's row) or at stride 2 without dilation (PATH_W2), the words under their taps loaded
 * once for both. W1: pixel i (even) sums X_t = x[i + 2t] against E_t, pixel i + 1 the same X_t
 * against O_t (the stream interleaves them: E0 O0 E1 O1..., an even width's last O alone). W2: pixel
 * p (column 2p) sums X_t against E_t, pixel p + 1 X_{t + 1} against E_t (E words only). An odd last
 * pixel alone. Inlined with the kernel's size constant for square 5x5, 7x7 and 9x9 (the loops
 * unrolled), else with it at run time. */
static inline __attribute__((always_inline)) void row_wide(const row_job_t *j, const int32_t *stream, int32_t base,
                                                           int32_t n, int8_t *o, int32_t o_step, const int32_t stride,
                                                           const int32_t kh, const int32_t ne, const int32_t no,
                                                           const int32_t simple)
{
    const int32_t *q = stream + 1, bias = stream[0], per_row = j->per_row;
    const int32_t m = q[0], c = q[1], e = q[2];
    const int16_t *const *rows = j->rows;
    int32_t i, r, t;
    for (i = 0; i + 1 < n; i += 2, o += 2 * o_step) {
        const int32_t *w = stream + 4;
        int32_t a0 = bias, a1 = bias;
#if KILN_DSP
        if (stride == 1 && __builtin_constant_p(kh) && __builtin_constant_p(ne) && ne == no) {
            const int16_t *const *rp = rows;
            const int32_t off = (base + i) * 2; /* bytes */
            ROWS_EO(rp, off, w, a0, a1, kh, ne);
            goto requantize;
        }
#endif
#pragma GCC unroll 9
        for (r = 0; r < kh; ++r) {
            const int16_t *x = rows[r] + base + stride * i;
            if (stride == 1) {
                ROW_EO_N(x, w, a0, a1, ne); /* (constant sizes: ROWS_EO above, on DSP) */
                if (no > ne) a1 = MAC(word_at(x), (uint32_t)w[0], a1), ++w; /* an even width's last O */
            } else {
                uint32_t X = word_at(x);
#pragma GCC unroll 8
                for (t = 0; t < ne; ++t) {
                    const uint32_t Y = word_at(x + 2 * t + 2), wt = (uint32_t)w[t];
                    a0 = MAC(X, wt, a0), a1 = MAC(Y, wt, a1), X = Y;
                }
                w += per_row;
            }
        }
#if KILN_DSP
    requantize:
#endif
        if (simple) {
            o[0] = (int8_t)kiln_sat8(kiln_smmlar(a0, m, c + (a0 >> 31)) >> e);
            o[o_step] = (int8_t)kiln_sat8(kiln_smmlar(a1, m, c + (a1 >> 31)) >> e);
        } else {
            o[0] = out8(a0, q, j);
            o[o_step] = out8(a1, q, j);
        }
    }
    if (i < n) {
        const int32_t *w = stream + 4;
        int32_t a0 = bias;
        for (r = 0; r < kh; ++r, w += per_row) {
            const int16_t *x = rows[r] + base + stride * i;
#pragma GCC unroll 8
            for (t = 0; t < ne; ++t) a0 = MAC(word_at(x + 2 * t), (uint32_t)w[stride == 1 ? 2 * t : t], a0);
        }
        o[0] = out8(a0, q, j);
    }
}

/* One output row (of one dilation phase at stride 1) of every output channel: the channels' plane rows
 * row_len apart (base: the first's), each input channel's dm output channels reading the same
 * rows, their streams per_channel words apart and their outputs neighbours. The square kernels'
 * constant forms, else the general one; `simple` at run time (a branch a pair). */
#define ROWS_WIDE(S, KH, NE, NO)                                                                        \
    do {                                                                                                \
        int32_t c_, m_;                                                                                 \
        for (c_ = 0; c_ < in_c; ++c_, base += row_len)                                                  \
            for (m_ = 0; m_ < dm; ++m_, stream += per_channel, ++o)                                     \
                row_wide(j, stream, base, n, o, o_step, S, KH, NE, NO, j->simple);                      \
    } while (0)
#define ROWS_WIDE_CASES(S)                                                                              \
    if (j->k_h == j->k_w) {                                                                             \
        switch (j->k_w) {                                                                               \
        case 5: ROWS_WIDE(S, 5, 3, 3); return;                                                          \
        case 7: ROWS_WIDE(S, 7, 4, 4); return;                                                          \
        case 9: if (S == 1) { ROWS_WIDE(S, 9, 5, 5); return; } break; /* (9x9 at stride 2: rare) */       \
        }                                                                                               \
    }                                                                                                   \
    ROWS_WIDE(S, j->k_h, (j->k_w + 1) / 2, j->k_w / 2 + 1)

__attribute__((noinline)) static void rows_wide_s1(const row_job_t *j, const int32_t *stream, int32_t base, int32_t n,
                                                   int8_t *o, int32_t o_step, int32_t in_c, int32_t dm,
                                                   int32_t row_len, int32_t per_channel)
{
    ROWS_WIDE_CASES(1);
}

#if KILN_DSP
/* Every kernel row of row_quads_w2's four pixels (constant KH; STEPS: NE steps), in one statement: per
 * row its plane row (LDR from the row table, plus the pixels' offset), its first three words (LDRD,
 * LDR), then per step the next word and the next weight word (both post-indexed) and four SMLADs, the
 * four words' registers taking turns. In C, gcc spilled the sums and reloaded the row table (a third
 * more instructions). rp: the row table, w: the weights (both moved on). */
#define Q_STEP(A, B, C, D)                                                                              \
    "ldr %[" D "], [%[xp]], #4\n\t"                                                                  \
    "ldr %[W], [%[w]], #4\n\t"                                                                       \
    "smlad %[a0], %[" A "], %[W], %[a0]\n\t"                                                          \
    "smlad %[a1], %[" B "], %[W], %[a1]\n\t"                                                          \
    "smlad %[a2], %[" C "], %[W], %[a2]\n\t"                                                          \
    "smlad %[a3], %[" D "], %[W], %[a3]\n\t"
#define Q_STEPS3 Q_STEP("X0", "X1", "X2", "X3") Q_STEP("X1", "X2", "X3", "X0") Q_STEP("X2", "X3", "X0", "X1")
#define Q_STEPS4 Q_STEPS3 Q_STEP("X3", "X0", "X1", "X2")
#define Q_STEPS5 Q_STEPS4 Q_STEP("X0", "X1", "X2", "X3")
#define QUAD_ROWS(STEPS, rp, off, w, a0, a1, a2, a3, KH)                                                 \
    do {                                                                                                \
        uint32_t X0_, X1_, X2_, X3_, W_;                                                                \
        const int16_t *x_;                                                                              \
        __asm__(".rept %c[kh]\n\t"                                                                    \
                "ldr %[xp], [%[rp]], #4\n\t"                                                          \
                "add %[xp], %[xp], %[off]\n\t"                                                        \
                "ldrd %[X0], %[X1], [%[xp]], #8\n\t"                                                  \
                "ldr %[X2], [%[xp]], #4\n\t" STEPS                                                   \
                ".endr"                                                                               \
                : [X0] "=&r"(X0_), [X1] "=&r"(X1_), [X2] "=&r"(X2_), [X3] "=&r"(X3_), [W] "=&r"(W_),       \
                  [xp] "=&r"(x_), [rp] "+r"(rp), [w] "+r"(w), [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), \
                  [a3] "+r"(a3)                                                                       \
                : [off] "r"(off), [kh] "i"(KH)                                                        \
                : "memory");                                                                          \
    } while (0)
#endif

/* One output row of one channel at stride 2 (PATH_W2) with kiln_rq, for constant KH rows of NE weight
 * words (E words: a square 5x5 or 7x7, or a two-channel CONV_2D's 3x6 or 5x10, depthwise.as_one_channel,
 * where word t of a pixel's row is its tap t's two channels), four pixels a step: pixel p + k reads
 * words X_k.. of the row from pixel p's, so per kernel row the four share NE + 3 loads and each weight
 * word's load serves four SMLADs (5x5: 4 + 6 * 3 instructions a row of four pixels; rows_wide's two
 * pixels, the requantization's constants on the stack and `simple` tested at every pixel, took 113 a
 * pair). The last n % 4 pixels one at a time. CLAMP: the layer's clamp after SSAT (a constant, so the
 * common layer has none to apply). */
static inline __attribute__((always_inline)) void row_quads_w2(const int16_t *const *rows, int32_t base, const int32_t *s,
                                                               int32_t n, int8_t *o, int32_t o_step, int32_t lo,
                                                               int32_t hi, const int32_t KH, const int32_t NE,
                                                               const int32_t CLAMP)
{
    const int32_t bias = s[0], m = s[1], c = s[2], e = s[3];
    int32_t i, r, t, v0, v1, v2, v3;
    for (i = 0; i + 3 < n; i += 4, o += 4 * o_step) {
        int32_t a0 = bias, a1 = bias, a2 = bias, a3 = bias;
        const int32_t *w = s + 4;
#if KILN_DSP
        const int16_t *const *rp = rows;
        const int32_t off = (base + 2 * i) * 2; /* bytes */
        if (NE == 3) QUAD_ROWS(Q_STEPS3, rp, off, w, a0, a1, a2, a3, KH);
        else if (NE == 4) QUAD_ROWS(Q_STEPS4, rp, off, w, a0, a1, a2, a3, KH);
        else QUAD_ROWS(Q_STEPS5, rp, off, w, a0, a1, a2, a3, KH);
#else
        for (r = 0; r < KH; ++r) {
            const int16_t *x = rows[r] + base + 2 * i;
            for (t = 0; t < NE; ++t, ++w) {
                a0 = MAC(word_at(x + 2 * t), (uint32_t)*w, a0), a1 = MAC(word_at(x + 2 * t + 2), (uint32_t)*w, a1);
                a2 = MAC(word_at(x + 2 * t + 4), (uint32_t)*w, a2), a3 = MAC(word_at(x + 2 * t + 6), (uint32_t)*w, a3);
            }
        }
#endif
        v0 = kiln_sat8(kiln_smmlar(a0, m, c + (a0 >> 31)) >> e);
        v1 = kiln_sat8(kiln_smmlar(a1, m, c + (a1 >> 31)) >> e);
        v2 = kiln_sat8(kiln_smmlar(a2, m, c + (a2 >> 31)) >> e);
        v3 = kiln_sat8(kiln_smmlar(a3, m, c + (a3 >> 31)) >> e);
        if (CLAMP)
            v0 = kiln_clamp_i32(v0, lo, hi), v1 = kiln_clamp_i32(v1, lo, hi), v2 = kiln_clamp_i32(v2, lo, hi),
            v3 = kiln_clamp_i32(v3, lo, hi);
        o[0] = (int8_t)v0, o[o_step] = (int8_t)v1, o[2 * o_step] = (int8_t)v2, o[3 * o_step] = (int8_t)v3;
    }
    for (; i < n; ++i, o += o_step) { /* (alone: its neighbours' words may be past the plane row) */
        const int32_t *w = s + 4;
        int32_t a0 = bias;
        for (r = 0; r < KH; ++r)
            for (t = 0; t < NE; ++t, ++w) a0 = MAC(word_at(rows[r] + base + 2 * i + 2 * t), (uint32_t)*w, a0);
        v0 = kiln_sat8(kiln_smmlar(a0, m, c + (a0 >> 31)) >> e);
        o[0] = (int8_t)(CLAMP ? kiln_clamp_i32(v0, lo, hi) : v0);
    }
}

/* Every channel's row (as ROWS_WIDE) through row_quads_w2: one routine per shape and clamp (the
 * shapes: planes.QUAD_W2 in the compiler). */
#define ROWS_W2(name, KH, NE, CLAMP)                                                                    \
    __attribute__((noinline)) static void name(const row_job_t *j, const int32_t *stream, int32_t base, int32_t n, \
                                               int8_t *o, int32_t o_step, int32_t in_c, int32_t dm,     \
                                               int32_t row_len, int32_t per_channel)                    \
    {                                                                                                   \
        int32_t c_, m_;                                                                                 \
        for (c_ = 0; c_ < in_c; ++c_, base += row_len)                                                  \
            for (m_ = 0; m_ < dm; ++m_, stream += per_channel, ++o)                                     \
                row_quads_w2(j->rows, base, stream, n, o, o_step, j->act_min, j->act_max, KH, NE, CLAMP); \
    }
#define ROWS_W2_CLAMPS(name, KH, NE) ROWS_W2(name, KH, NE, 0) ROWS_W2(name##_clamped, KH, NE, 1)
#if !defined(__OPTIMIZE_SIZE__) /* (6 KB: at -Os rows_wide serves) */
#define KILN_ROWS_W2 1
ROWS_W2_CLAMPS(rows_w2_3x3w, 3, 3) /* 3x5, 3x6: a two-channel 3x3 */
ROWS_W2_CLAMPS(rows_w2_5x3w, 5, 3) /* 5x5 */
ROWS_W2_CLAMPS(rows_w2_5x5w, 5, 5) /* 5x9, 5x10: a two-channel 5x5 */
ROWS_W2_CLAMPS(rows_w2_7x4w, 7, 4) /* 7x7 */
#else
#define KILN_ROWS_W2 0
#endif

typedef void (*rows_fn)(const row_job_t *, const int32_t *, int32_t, int32_t, int8_t *, int32_t, int32_t, int32_t,
                        int32_t, int32_t);

/* PATH_W2's rows: row_quads_w2 for its shapes with kiln_rq (planes.quad_rows in the compiler), else
 * rows_wide. */
__attribute__((noinline)) static void rows_wide_s2(const row_job_t *j, const int32_t *stream, int32_t base, int32_t n,
                                                   int8_t *o, int32_t o_step, int32_t in_c, int32_t dm,
                                                   int32_t row_len, int32_t per_channel)
{
#if KILN_ROWS_W2
    static const struct {
        int8_t kh, ne;
        rows_fn f[2]; /* without a clamp narrower than int8's, with one */
    } w2[] = {{3, 3, {rows_w2_3x3w, rows_w2_3x3w_clamped}},
              {5, 3, {rows_w2_5x3w, rows_w2_5x3w_clamped}},
              {5, 5, {rows_w2_5x5w, rows_w2_5x5w_clamped}},
              {7, 4, {rows_w2_7x4w, rows_w2_7x4w_clamped}}};
    const int32_t ne = (j->k_w + 1) / 2;
    uint32_t k;
    for (k = 0; j->fast && k < sizeof w2 / sizeof w2[0]; ++k)
        if (w2[k].kh == j->k_h && w2[k].ne == ne) {
            w2[k].f[!j->simple](j, stream, base, n, o, o_step, in_c, dm, row_len, per_channel);
            return;
        }
#endif
    ROWS_WIDE_CASES(2);
}

/* One output row of one output channel. */
static void run_row(const row_job_t *j, int32_t out_w)
{
    int32_t phase, p;
    if (j->path == PATH_S2) { /* (a 3x3 kernel without a clamp: rows3_s2, from the caller) */
        row_pairs(j, j->base, out_w, j->out, j->out_step);
        return;
    }
    if (j->path == PATH_S1) { /* stride 1 (3x3 without a clamp: rows3_s1): pixels phase, phase + d... are adjacent */
        for (phase = 0; phase < j->dil && phase < out_w; ++phase) {
            const int32_t n = (out_w - phase + j->dil - 1) / j->dil, base = j->base + phase * j->sub;
            row_pairs(j, base, n, j->out + phase * j->out_step, j->dil * j->out_step);
        }
        return;
    }
    for (p = 0; p < out_w; p += 2) { /* pixels p and p + 1 (p again for an odd last one) */
        int32_t base[2], at[2], acc[2], k;
        for (k = 0; k < 2; ++k) {
            const int32_t x = (p + k < out_w ? p + k : p) * j->stride; /* padded column of the first tap */
            base[k] = j->base + (x % j->dil) * j->sub, at[k] = x / j->dil, acc[k] = j->stream[0];
        }
        pixels_any(j, base, at, acc);
        j->out[p * j->out_step] = out8(acc[0], j->stream + 1, j);
        if (p + 1 < out_w) j->out[(p + 1) * j->out_step] = out8(acc[1], j->stream + 1, j);
    }
}

#if KILN_DSP
/* {a.lo, b.lo} and {a.hi, b.hi}: one PKHBT, one PKHTB */
static inline uint32_t low_halves(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

static inline uint32_t high_halves(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("pkhtb %0, %2, %1, asr #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

/* Pixels a and b of one block of four channels, split by SXTB16 into channels 0 and 2, 1 and 3,
 * paired per channel (PKHBT, PKHTB): the four planes' words of that pair of columns. */
#define PUT_PAIR4(p, rl, x, y)                                                                          \
    do {                                                                                                \
        const uint32_t xe_ = (uint32_t)kiln_even(x), xo_ = (uint32_t)kiln_odd(x);                       \
        const uint32_t ye_ = (uint32_t)kiln_even(y), yo_ = (uint32_t)kiln_odd(y);                       \
        *(plane_word_t *)(void *)(p) = low_halves(xe_, ye_);                                            \
        *(plane_word_t *)(void *)((p) + (rl)) = low_halves(xo_, yo_);                                   \
        *(plane_word_t *)(void *)((p) + 2 * (rl)) = high_halves(xe_, ye_);                              \
        *(plane_word_t *)(void *)((p) + 3 * (rl)) = high_halves(xo_, yo_);                              \
    } while (0)

/* Pixels a and b (a_step, b_step: to the next block's; 0 for the zero point's word z) of every
 * block of four channels into their planes (p: the first channel's pair of columns). */
static void put_blocks4(uint8_t *p, int32_t rl, const int8_t *a, int32_t a_step, const int8_t *b, int32_t b_step,
                        int32_t blocks)
{
    for (; blocks; --blocks, a += a_step, b += b_step, p += 4 * rl) PUT_PAIR4(p, rl, kiln_load32(a), kiln_load32(b));
}

/* `pairs` pairs of pixels (s: the first one's, `step` bytes apart) of one block of four channels
 * into its four plane rows (p: the first one's, rl bytes apart), two columns a step: 16 instructions
 * a step, its few values in registers (in fill_blocks4's loop gcc spilled and reloaded them). */
__attribute__((noinline)) static void put_pairs4(uint8_t *p, int32_t rl, const int8_t *s, int32_t step, int32_t pairs)
{
    plane_word_t *d0 = (plane_word_t *)(void *)p, *d1 = (plane_word_t *)(void *)(p + rl);
    plane_word_t *d2 = (plane_word_t *)(void *)(p + 2 * rl), *d3 = (plane_word_t *)(void *)(p + 3 * rl);
    for (; pairs; --pairs, s += 2 * step) {
        const uint32_t x = kiln_load32(s), y = kiln_load32(s + step);
        const uint32_t xe = (uint32_t)kiln_even(x), xo = (uint32_t)kiln_odd(x);
        const uint32_t ye = (uint32_t)kiln_even(y), yo = (uint32_t)kiln_odd(y);
        *d0++ = low_halves(xe, ye), *d1++ = low_halves(xo, yo), *d2++ = high_halves(xe, ye), *d3++ = high_halves(xo, yo);
    }
}

/* n pixels (src: the first one's, `step` bytes apart) of every block of four channels into their
 * planes (d: the first channel's at the first pixel's column; the channels' rows row_len apart), two
 * columns a step. A first pixel at an odd column is paired with the zero point before it, an odd
 * last one with the zero point after it: the padding's own value, so every pair is an aligned word.
 * Those two columns every block at once, then the pairs between a block at a time (put_pairs4), or
 * where the row is short against the blocks (8 wide, 32 channels: 4% fewer) every block for a pair of
 * columns. */
static void fill_blocks4(int16_t *d, int32_t row_len, const int8_t *src, int32_t in_c, int32_t step, int32_t n,
                         int32_t zp)
{
    const int32_t rl = row_len * 2, head = ((uintptr_t)d & 2u) && n ? 1 : 0, pairs = (n - head) / 2;
    const int32_t tail = (n - head) & 1, blocks = in_c / 4;
    const uint32_t z4 = (uint8_t)zp * 0x01010101u;
    const int8_t *z = (const int8_t *)&z4;
    uint8_t *p0 = (uint8_t *)(d - head);
    int32_t b, k;
    if (head) put_blocks4(p0, rl, z, 0, src, 4, blocks), src += step, p0 += 4;
    if (blocks > pairs)
        for (k = pairs; k; --k, src += 2 * step, p0 += 4) put_blocks4(p0, rl, src, 4, src + step, 4, blocks);
    else {
        for (b = 0; b < blocks; ++b) put_pairs4(p0 + 4 * rl * b, rl, src + 4 * b, step, pairs);
        src += 2 * pairs * step, p0 += 4 * pairs;
    }
    if (tail) put_blocks4(p0, rl, src, 4, z, 0, blocks);
}

/* One channel (in_c 1) at dilation 2 into its plane row (the planes' layout: padded column X at phase
 * X & 1, index X >> 1). From an X that is a multiple of 4, four image values a step: SXTB16 gives
 * (x[X], x[X + 2]), phase 0's word, and with ROR #8 (x[X + 1], x[X + 3]), phase 1's (a value at a time took
 * 12 instructions a value). Out of line: inlined, it slowed fill_slot's other paths. */
__attribute__((noinline)) static void fill_row_dil2(int16_t *dst, const int8_t *src, int32_t in_w, int32_t pad_left,
                                                    int32_t sub, int32_t zp)
{
    int16_t *const ph[2] = {dst, dst + sub};
    const int32_t cols = 2 * sub, end = pad_left + in_w < cols ? pad_left + in_w : cols;
    int32_t X;
    for (X = 0; X < pad_left && X < cols; ++X) ph[X & 1][X >> 1] = (int16_t)zp;
    for (; X < end && (X & 3); ++X) ph[X & 1][X >> 1] = src[X - pad_left];
    for (; X + 4 <= end; X += 4) {
        const uint32_t v = kiln_load32(src + X - pad_left);
        *(plane_word_t *)(void *)(ph[0] + (X >> 1)) = (uint32_t)kiln_even(v);
        *(plane_word_t *)(void *)(ph[1] + (X >> 1)) = (uint32_t)kiln_odd(v);
    }
    for (; X < end; ++X) ph[X & 1][X >> 1] = src[X - pad_left];
    for (; X < cols; ++X) ph[X & 1][X >> 1] = (int16_t)zp;
}

/* n values of one channel whose pixels are adjacent (in_c 1) into its plane row: four a step. */
static void fill_run1(int16_t *d, const int8_t *src, int32_t n)
{
    if (((uintptr_t)d & 2u) && n) *d++ = *src++, --n;
    for (; n >= 4; n -= 4, src += 4, d += 4) {
        const uint32_t a = kiln_load32(src), e = (uint32_t)kiln_even(a), o = (uint32_t)kiln_odd(a);
        plane_word_t *w = (plane_word_t *)(void *)d;
        w[0] = low_halves(e, o), w[1] = high_halves(e, o);
    }
    for (; n; --n) *d++ = *src++;
}
#endif

/* n words of v at w, four a step (a word a step, gcc's loop took 4 instructions a word). */
static void fill_words(plane_word_t *w, uint32_t v, int32_t n)
{
    for (; n >= 4; n -= 4, w += 4) w[0] = v, w[1] = v, w[2] = v, w[3] = v;
    for (; n > 0; --n) *w++ = v;
}

/* n pixels (`step` bytes apart) of channel c into its plane row (d: the first pixel's column). */
static void fill_channel(int16_t *d, const int8_t *s, int32_t step, int32_t n)
{
    for (; n >= 2; n -= 2, s += 2 * step, d += 2) d[0] = s[0], d[1] = s[step];
    if (n) d[0] = s[0];
}

/* One padded row (y - pad_top of the image, or a row of zero points) of every channel's plane:
 * per dilation phase, the image's columns in it; the padding around them holds the zero point from
 * the start (the kernel's). */
__attribute__((noinline)) static void fill_slot(int16_t *slot, const int8_t *src, const kiln_conv_geometry_t *g,
                                                int32_t sub, int32_t zp)
{
    const int32_t d = g->dil_w, row_len = d * sub;
    int32_t c, phase;
    if (!src) { /* above or below the image: the zero point a word at a time */
        const uint32_t zz = kiln_pair16(zp, zp);
        const int32_t first = d == 1 ? g->pad_left & ~1 : 0;
        const int32_t words = d == 1 ? (g->pad_left + (g->in_w < row_len - g->pad_left ? g->in_w : row_len - g->pad_left) - first + 1) / 2
                                     : row_len / 2;
        for (c = 0; c < g->in_c; ++c) {
            plane_word_t *w = (plane_word_t *)(void *)(slot + c * row_len + first);
            fill_words(w, zz, words);
        }
        return;
    }
#if KILN_DSP
    if (d == 1) { /* (the phases' arithmetic below, without the divisions) */
        const int32_t n1 = g->in_w < row_len - g->pad_left ? g->in_w : row_len - g->pad_left;
        if (g->in_c == 1) {
            fill_run1(slot + g->pad_left, src, n1);
            return;
        }
        fill_blocks4(slot + g->pad_left, row_len, src, g->in_c, g->in_c, n1, zp);
        for (c = g->in_c & ~3; c < g->in_c; ++c) fill_channel(slot + c * row_len + g->pad_left, src + c, g->in_c, n1);
        return;
    }
    if (d == 2 && g->in_c == 1) {
        fill_row_dil2(slot, src, g->in_w, g->pad_left, sub, zp);
        return;
    }
#endif
    for (phase = 0; phase < d; ++phase) { /* padded columns phase, phase + d, ...: index k of the phase row */
        const int32_t k0 = g->pad_left > phase ? (g->pad_left - phase + d - 1) / d : 0, i0 = phase + k0 * d - g->pad_left;
        int32_t n = i0 < g->in_w ? (g->in_w - i0 + d - 1) / d : 0;
        int16_t *dst = slot + phase * sub + k0;
        const int8_t *from = src + i0 * g->in_c;
        c = 0;
        if (n > sub - k0) n = sub - k0;
        if (n <= 0) continue;
#if KILN_DSP
        fill_blocks4(dst, row_len, from, g->in_c, d * g->in_c, n, zp);
        c = g->in_c & ~3;
#endif
        for (; c < g->in_c; ++c) fill_channel(dst + c * row_len, from + c, d * g->in_c, n);
    }
}

/* The layer, its wide rows' routine (rows_wide_s1 / _s2 for PATH_W1 / W2, else none) given by each
 * entry point below: the compiler calls the one the layer's path needs, so a model of 3x3 layers
 * does not link rows_wide's 6 KB. */
static inline __attribute__((always_inline)) void planes_layer(const int8_t *in, const int32_t *stream, int8_t *out,
                                                               const kiln_conv_s8_params_t *p, int16_t *plane,
                                                               const int32_t wide)
{
    const kiln_conv_geometry_t g = p->g;
    const int32_t ring = (g.k_h - 1) * g.dil_h + 1;
    const int32_t path = path_of(&g), sub = sub_width(&g, path), row_len = g.dil_w * sub;
    const int32_t slot = g.in_c * row_len; /* a ring slot: one padded row of every channel's plane */
    const int16_t *rows[MAX_ROWS];
    row_job_t j;
    int32_t b, c, m, oy, r, phase, per_channel, fast3;
    rows3_fn row3;
    rows3_t one; /* fast3 with one phase: the job every row shares */
    j.k_h = g.k_h, j.k_w = g.k_w, j.stride = g.stride_w, j.dil = g.dil_w, j.sub = sub;
    j.path = path;
    j.per_row = path == PATH_S1 || path == PATH_S2 ? 2 : path == PATH_W2 ? (g.k_w + 1) / 2 : (g.k_w + 1) / 2 + g.k_w / 2 + 1;
    j.fast = p->rq_fast, j.simple = p->rq_fast && p->act_min == -128 && p->act_max == 127;
    j.out_zp = p->out_zp, j.act_min = p->act_min, j.act_max = p->act_max;
    j.out_step = g.out_c;
    j.rows = rows;
    per_channel = 4 + g.k_h * j.per_row;
    /* (stride 2 is without dilation); a lower clamp only: the _relu routines (assembly only) */
    fast3 = g.k_h == 3 && (path == PATH_S1 || path == PATH_S2) && (j.simple || (KILN_DSP && p->rq_fast && p->act_max == 127));
    row3 = wide ? (rows3_fn)0 : rows3_for(g.stride_w, g.depth_multiplier, p->act_min); /* (not linked when wide) */
    if (!(KILN_DSP && g.dil_w == 2 && g.in_c == 1)) { /* the padding columns of every slot, which fill_slot leaves
                                                         alone (fill_row_dil2 writes them) */
        const uint32_t zz = kiln_pair16(p->in_zp, p->in_zp);
        plane_word_t *w = (plane_word_t *)(void *)plane;
        fill_words(w, zz, ring * slot / 2);
    }
    if (fast3) { /* (the job of a layer of one phase: each row sets its rows and output) */
        const int16_t *const none[3] = {plane, plane, plane};
        one = rows3_job(none, stream, out, g.out_w, path == PATH_S2 ? 2 : 1, g.out_c, row_len, g.in_c,
                        g.depth_multiplier, p->act_min);
    }
    for (b = 0; b < g.batches; ++b) {
        const int8_t *image = in + b * g.in_h * g.in_w * g.in_c;
        int32_t filled = -1; /* the last padded row in the ring */
        /* row by row, every channel: the output row may overwrite input rows no later row reads */
        for (oy = 0; oy < g.out_h; ++oy) {
            const int32_t top = oy * g.stride_h, last = top + (g.k_h - 1) * g.dil_h;
            int32_t y = filled + 1 > top ? filled + 1 : top;
            for (; y <= last; ++y) {
                const int32_t iy = y - g.pad_top;
                fill_slot(plane + (y % ring) * slot, iy >= 0 && iy < g.in_h ? image + iy * g.in_w * g.in_c : (const int8_t *)0,
                          &g, sub, p->in_zp);
            }
            filled = last;
            for (r = 0; r < g.k_h; ++r) rows[r] = plane + ((top + r * g.dil_h) % ring) * slot;
            if (fast3) { /* the common 3x3 layer: every channel's row in one call (a call a phase) */
                int8_t *o = out + (b * g.out_h + oy) * g.out_w * g.out_c;
                if (path == PATH_S2 || g.dil_w == 1) { /* one phase: the job built once, its rows and output set */
                    one.out = o, one.x0 = rows[0], one.x1 = rows[1], one.x2 = rows[2];
                    row3(&one);
                    continue;
                }
                for (phase = 0; phase < g.dil_w && phase < g.out_w; ++phase) { /* stride 1: see run_row */
                    const int16_t *x[3] = {rows[0] + phase * sub, rows[1] + phase * sub, rows[2] + phase * sub};
                    const rows3_t r = rows3_job(x, stream, o + phase * g.out_c, (g.out_w - phase + g.dil_w - 1) / g.dil_w,
                                                1, g.dil_w * g.out_c, row_len, g.in_c, g.depth_multiplier, p->act_min);
                    row3(&r);
                }
                continue;
            }
            if (wide) { /* other widths at stride 1 and 2: a call a row (a phase) */
                int8_t *o = out + (b * g.out_h + oy) * g.out_w * g.out_c;
                if (wide == PATH_W2)
                    rows_wide_s2(&j, stream, 0, g.out_w, o, g.out_c, g.in_c, g.depth_multiplier, row_len, per_channel);
                for (phase = 0; wide == PATH_W1 && phase < g.dil_w && phase < g.out_w; ++phase)
                    rows_wide_s1(&j, stream, phase * sub, (g.out_w - phase + g.dil_w - 1) / g.dil_w, o + phase * g.out_c,
                                 g.dil_w * g.out_c, g.in_c, g.depth_multiplier, row_len, per_channel);
                continue;
            }
            for (c = 0; c < g.in_c; ++c) {
                j.base = c * row_len;
                for (m = 0; m < g.depth_multiplier; ++m) {
                    const int32_t oc = c * g.depth_multiplier + m;
                    j.stream = stream + oc * per_channel;
                    j.out = out + ((b * g.out_h + oy) * g.out_w) * g.out_c + oc;
                    run_row(&j, g.out_w);
                }
            }
        }
    }
}

void kiln_depthwise_conv_s8_planes(const int8_t *in, const int32_t *stream, int8_t *out,
                                   const kiln_conv_s8_params_t *p, int16_t *plane)
{
    planes_layer(in, stream, out, p, plane, 0);
}

void kiln_depthwise_conv_s8_planes_wide1(const int8_t *in, const int32_t *stream, int8_t *out,
                                         const kiln_conv_s8_params_t *p, int16_t *plane)
{
    planes_layer(in, stream, out, p, plane, PATH_W1);
}

void kiln_depthwise_conv_s8_planes_wide2(const int8_t *in, const int32_t *stream, int8_t *out,
                                         const kiln_conv_s8_params_t *p, int16_t *plane)
{
    planes_layer(in, stream, out, p, plane, PATH_W2);
}
