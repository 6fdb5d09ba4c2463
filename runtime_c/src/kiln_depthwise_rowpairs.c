/* int8 DEPTHWISE_CONV_2D, 3x3, depth multiplier 1 or 2, on pairs of rows ("rowpairs" variant).
 *
 * The input's rows are copied, two at a time, into a ring of int16 pairs in scratch: pair-row q
 * holds padded rows 2q and 2q + 1, each channel's two values in one word {row 2q, row 2q + 1},
 * four channels (a group) in four words. An output row whose top padded row is t reads pair-rows
 * q = t / 2 and q + 1: for even t with the weights {w0 w1} and {w2 0} (kernel rows), for odd t
 * {0 w0} and {w1 w2}. So a tap pair of four channels is one LDM of the four words, one LDM of the
 * four weight words and four SMLAD: 6 blocks of 16 bytes a pixel's group (36 MACs in 37
 * instructions), no SXTB16 or PKH in the pixel's loop (the copy does those once a value).
 *
 * The ring, per group of a pass (a chunk of the channels, as the compiler sized the scratch): for
 * each column position two slots of 16 bytes, slot q & 1 holding pair-row q. Pair-row q starts at
 * position q / 2 (it drifts one column every two pair-rows), so that the six blocks a pixel reads,
 * {q, col 0} {q + 1, col 0} {q, col 1} ... {q + 1, col 2}, are always 96 consecutive bytes whatever
 * the parity of q: one LDM walk. rowpairs.py in the compiler mirrors the layout (pack, scratch).
 *
 * The stream: its head, a group's ring in bytes (its region) and, for a still ring, the words from a
 * section to its copy for odd pair-rows (else 0: see below); then per group its four biases, its step
 * word (RP_ROW_BODY), the 24 weight words in the walk's order, the four channels' {m, e, c} (12
 * words): 41 words. Weights and biases are doubled
 * (kiln_rq's own doubling done; the compiler offers the layout only where kiln_rq is exact). For a
 * vertical stride that is odd, a second section with the odd-t weights follows.
 *
 * Depth multiplier 2: the ring's groups are the output's; the copy writes each input channel's
 * pairs twice (output channels 2c and 2c + 1), the rest is the same.
 *
 * A still ring (odd_q not 0, the "rowpairs_still" variant): pair-row q always at position 0, slot q & 1,
 * so the group's ring is only the positions a row reads (no drift; 384 B less on an 8x8x24 image,
 * 1 KB on 32x32x16 at stride 2). Where q is odd the walk meets {q + 1, col 0} {q, col 0} ...: the
 * stream holds each section twice, the second with each column's two blocks swapped: flash traded
 * for arena. Its padding positions are set once a pass (still_padding), not by each pair-row's copy.
 * The portable walk (row_c) keeps every ring still and reads an odd pair-row's blocks swapped.
 *
 * Dilation d (at stride 1, the same both ways; kiln_depthwise_conv_s8_rowpairs_dilated): the layer is
 * d * d undilated ones on the sub-images of each phase's rows and columns, walked with d times the
 * layer's pitches (rp_pitch_t); the ring is sized for phase 0, the largest. */
#include "kiln_dsp.h"
#include "kiln_fixedpoint.h"
#include "kiln_runtime.h"

#define GROUP_WORDS 41 /* a group's stream: 4 biases, its step word, 24 weights, 12 requantization words */
#define POS_BYTES 32   /* a column position: two slots of four int16 pairs */

typedef struct {
    const int32_t *stream; /* the pass's first group, in the row's section */
    const uint8_t *x;      /* the walk's start, less group 0's step (see RP_ROW_BODY) */
    int8_t *out;           /* pixel 0's first channel of the pass */
    int32_t out_step;      /* bytes from after a pixel's pass channels to the next pixel's */
    int8_t *out_end;       /* after the row's last pixel (out_step included) */
    uint32_t lo4, hi4;     /* the clamp, one byte a channel */
    int32_t swap;          /* (the portable walk) 1: each column's two blocks read the other way round */
} rp_job_t;

/* The copy of a pair-row (the assembly routines read these offsets: a 0, b 4, d 8, a_step 12, b_step
 * 16, n 20, region 24, left 28, right 32, zz 36, a_next 40, b_next 44, count 48). */
typedef struct {
    const int8_t *a, *b; /* rows 2q and 2q + 1 at the first image column's pixel (word-aligned) */
    uint8_t *d;          /* the group's block at position 0 */
    int32_t a_step, b_step; /* bytes to the next pixel (0: a padding row's zero-point words) */
    int32_t n;           /* the image's positions */
    int32_t region;      /* bytes between the groups' rings */
    int32_t left, right; /* padding positions before and after them */
    uint32_t zz;         /* the zero point as an int16 pair */
    int32_t a_next, b_next; /* bytes to the next groups' words (0 for a padding row) */
    int32_t count;       /* calls' worth of groups: the routine repeats for the next ones */
    int32_t lead, first; /* (C only) bytes from position 0 to the first the copy writes (a still ring's
                          * padding is set once: image_rows), and the image column there, in bytes */
} rp_copy_t;

typedef uint32_t __attribute__((may_alias, aligned(4))) rp_word_t;

#if KILN_DSP && !defined(__OPTIMIZE_SIZE__)
#define KILN_RP_ASM 1
/* One block of the walk: four channels' pairs of rows (r12) against their weights (lr). */
#define RP_BLOCK                                                                                  \
    "ldmia  r12!, {r4, r5, r6, r7}\n\t"                                                           \
    "ldmia  lr!, {r8, r9, r10, r11}\n\t"                                                          \
    "smlad  r0, r4, r8, r0\n\t"                                                                   \
    "smlad  r1, r5, r9, r1\n\t"                                                                   \
    "smlad  r2, r6, r10, r2\n\t"                                                                  \
    "smlad  r3, r7, r11, r3\n\t"

/* kiln_rq of a doubled sum A with {m, e, c} in M, E, C (r11 a temporary), saturated to int8 */
#define RP_RQ(A, M, E, C)                                                                         \
    "add    r11, " C ", " A ", asr #31\n\t"                                                       \
    "smmlar " A ", " A ", " M ", r11\n\t"                                                         \
    "asr    " A ", " A ", " E "\n\t"                                                              \
    "ssat   " A ", #8, " A "\n\t"

/* the four outputs: stored a byte each */
#define RP_STORE_SIMPLE                                                                           \
    "strb   r0, [r10], #1\n\t"                                                                    \
    "strb   r1, [r10], #1\n\t"                                                                    \
    "strb   r2, [r10], #1\n\t"                                                                    \
    "strb   r3, [r10], #1\n\t"

/* packed into one word and clamped a byte at a time (SSUB8 sets GE where the byte is at least the
 * bound, SEL keeps it there): any fused activation, four instructions more */
#define RP_STORE_CLAMP                                                                            \
    "bfi    r0, r1, #8, #8\n\t"                                                                   \
    "bfi    r0, r2, #16, #8\n\t"                                                                  \
    "bfi    r0, r3, #24, #8\n\t"                                                                  \
    "ldrd   r4, r5, [sp, #20]\n\t"                                                                \
    "ssub8  r6, r0, r4\n\t"                                                                       \
    "sel    r0, r0, r4\n\t"                                                                       \
    "ssub8  r6, r5, r0\n\t"                                                                       \
    "sel    r0, r0, r5\n\t"                                                                       \
    "str    r0, [r10], #4\n\t"

/* A row of pixels, every group of the pass: the job's fields copied to the stack ([sp] stream,
 * #4 x, #8 out, #12 out_step, #16 out_end, #20 lo4, #24 hi4). Each group's stream starts with its
 * biases and its step word: twice the bytes from where the walk stands to the group's first block,
 * plus 1 on the pass's last group (TST sets the flags the loop's branch reads, nothing between
 * sets them). Registers: sums r0-r3, the row pairs r4-r7, the weights r8-r11, the walk r12, the
 * stream lr; then the constants r4-r9, the output r10. 64 instructions a group of 36 MACs, 4 a
 * pixel (7 in passes: NEXT_PIXEL moves the output past the other passes' channels). */
#define RP_ROW_BODY(STORE, NEXT_PIXEL)                                                            \
    __asm__ volatile(                                                                             \
        "push   {r4-r11, lr}\n\t"                                                                 \
        "ldm    r0, {r1, r2, r3, r4, r5, r6, r7}\n\t"                                              \
        "push   {r1, r2, r3, r4, r5, r6, r7}\n\t"                                                  \
        "mov    r12, r2\n\t"                                                                      \
        "mov    lr, r1\n\t"                                                                       \
        "1:\n\t"                                                                                  \
        "ldmia  lr!, {r0, r1, r2, r3, r4}\n\t"                                                    \
        "add    r12, r12, r4, asr #1\n\t"                                                         \
        "tst    r4, #1\n\t" RP_BLOCK RP_BLOCK RP_BLOCK RP_BLOCK RP_BLOCK RP_BLOCK                  \
        "ldmia  lr!, {r4, r5, r6, r7, r8, r9}\n\t"                                                \
        "ldr    r10, [sp, #8]\n\t"                                                               \
        RP_RQ("r0", "r4", "r5", "r6") RP_RQ("r1", "r7", "r8", "r9")                                \
        "ldmia  lr!, {r4, r5, r6, r7, r8, r9}\n\t"                                                \
        RP_RQ("r2", "r4", "r5", "r6") RP_RQ("r3", "r7", "r8", "r9") STORE                          \
        "str    r10, [sp, #8]\n\t"                                                                \
        "beq    1b\n\t"                                                                           \
        "ldr    lr, [sp]\n\t" /* the pixel's groups done: the next pixel */ NEXT_PIXEL             \
        "ldr    r4, [sp, #16]\n\t"                                                                \
        "cmp    r10, r4\n\t"                                                                      \
        "bne    1b\n\t"                                                                           \
        "add    sp, sp, #28\n\t"                                                                  \
        "pop    {r4-r11, pc}\n\t")

/* the next pixel's output, in passes: out_step bytes on (in one pass it is where the pixel ended) */
#define RP_OUT_STEP "ldr    r4, [sp, #12]\n\t" "add    r10, r10, r4\n\t" "str    r10, [sp, #8]\n\t"

__attribute__((naked, noinline)) static void row_simple(const rp_job_t *job)
{
    (void)job;
    RP_ROW_BODY(RP_STORE_SIMPLE, "");
}

__attribute__((naked, noinline)) static void row_simple_passes(const rp_job_t *job)
{
    (void)job;
    RP_ROW_BODY(RP_STORE_SIMPLE, RP_OUT_STEP);
}

__attribute__((naked, noinline)) static void row_clamp(const rp_job_t *job)
{
    (void)job;
    RP_ROW_BODY(RP_STORE_CLAMP, "");
}

__attribute__((naked, noinline)) static void row_clamp_passes(const rp_job_t *job)
{
    (void)job;
    RP_ROW_BODY(RP_STORE_CLAMP, RP_OUT_STEP);
}
#else
#define KILN_RP_ASM 0
#endif

#if defined(__OPTIMIZE_SIZE__) /* apart: fewer registers live at once, smaller code */
#define KILN_RP_OUTLINE __attribute__((noinline))
#else /* inline in both entries (as a call, kws's copy setup cost 1,076 instructions more) */
#define KILN_RP_OUTLINE __attribute__((always_inline)) inline
#endif

#if KILN_DSP
#define MAC(x, w, a) __smlad((x), (w), (a))
#else
#define MAC(x, w, a) ((a) + kiln_lo16(x) * kiln_lo16(w) + kiln_hi16(x) * kiln_hi16(w))
#endif

#if !KILN_RP_ASM
/* The same in C, any CPU (kiln_rq is exact on the layer: depthwise.rowpairs_fit in the compiler). */
KILN_RP_OUTLINE static void row_c(const rp_job_t *j, const kiln_conv_s8_params_t *p)
{
    const uint8_t *x = j->x;
    int8_t *o = j->out;
    int32_t c, b;
    for (; o != j->out_end; o += j->out_step) {
        const int32_t *w;
        for (w = j->stream;; w += GROUP_WORDS, x += 6 * 16) {
            const rp_word_t *xv;
            x += w[4] >> 1; /* the step word */
            xv = (const rp_word_t *)(const void *)x;
            for (c = 0; c < 4; ++c) {
                const int32_t *q = w + 29 + 3 * c;
                int32_t acc = w[c], v;
                for (b = 0; b < 6; ++b) acc = (int32_t)MAC(xv[4 * (b ^ j->swap) + c], (uint32_t)w[5 + 4 * b + c], acc);
                v = kiln_smmlar(acc, q[0], q[2] + (acc >> 31)) >> q[1];
                *o++ = (int8_t)kiln_clamp_i32(v, p->act_min, p->act_max);
            }
            if (w[4] & 1) break; /* the pass's last group */
        }
        x += 6 * 16;
    }
}
#endif

#if KILN_RP_ASM
/* Four channels of rows a and b (registers A, B) as the pair-row's four words at D, D += 32:
 * PKHBT / PKHTB give bytes {a0 a1 b0 b1} and {a2 a3 b2 b3}, SXTB16 each channel's pair. */
#define RP_PUT(A, B, D)                                                                           \
    "pkhbt  r8, " A ", " B ", lsl #16\n\t"                                                        \
    "pkhtb  r9, " B ", " A ", asr #16\n\t"                                                        \
    "sxtb16 " A ", r8\n\t"                                                                        \
    "sxtb16 " B ", r8, ror #8\n\t"                                                                \
    "sxtb16 r8, r9\n\t"                                                                           \
    "sxtb16 r9, r9, ror #8\n\t"                                                                   \
    "stm    " D ", {" A ", " B ", r8, r9}\n\t"                                                    \
    "add    " D ", " D ", #32\n\t"


/* `count` (register R4) padding positions at D0 (and D1): the zero point's pairs */
#define RP_PADS(D1_STORE)                                                                         \
    "cbz    r4, 2f\n\t"                                                                           \
    "ldr    r5, [lr, #36]\n\t"                                                                    \
    "mov    r6, r5\n\t"                                                                           \
    "mov    r7, r5\n\t"                                                                           \
    "mov    r8, r5\n\t"                                                                           \
    "1:\n\t"                                                                                      \
    "stm    r2, {r5, r6, r7, r8}\n\t"                                                             \
    "add    r2, r2, #32\n\t" D1_STORE                                                             \
    "subs   r4, r4, #1\n\t"                                                                       \
    "bne    1b\n\t"                                                                               \
    "2:\n\t"
#define RP_PAD_D1 "stm    r3, {r5, r6, r7, r8}\n\t" "add    r3, r3, #32\n\t"

/* A pair-row's positions of `count` runs of groups (PUTS: two, the second's blocks at D1 = D +
 * region, or one), the padding ones too: 21 instructions a position of two groups (16 values).
 * The job (lr) keeps the next run's a, b and d. */
#define RP_COPY_BODY(LOADS, PUTS, D1_STORE)                                                       \
    __asm__ volatile("push   {r4-r11, lr}\n\t"                                                    \
                     "mov    lr, r0\n\t"                                                          \
                     "4:\n\t"                                                                     \
                     "ldm    lr, {r0, r1, r2, r10, r11, r12}\n\t"                                 \
                     "ldr    r3, [lr, #24]\n\t"                                                   \
                     "add    r3, r3, r2\n\t"                                                      \
                     "ldr    r4, [lr, #28]\n\t" RP_PADS(D1_STORE)                                 \
                     "cmp    r12, #0\n\t" /* (a pair-row of padding rows: positions all padding) */ \
                     "beq    5f\n\t"                                                              \
                     "tst    r12, #1\n\t" /* two positions a trip: an odd count enters halfway */ \
                     "beq    3f\n\t"                                                              \
                     "add    r12, r12, #1\n\t"                                                    \
                     "b      6f\n\t"                                                              \
                     "3:\n\t" LOADS                                                               \
                     "add    r0, r0, r10\n\t"                                                     \
                     "add    r1, r1, r11\n\t" PUTS                                                \
                     "6:\n\t" LOADS                                                               \
                     "add    r0, r0, r10\n\t"                                                     \
                     "add    r1, r1, r11\n\t" PUTS                                                \
                     "subs   r12, r12, #2\n\t"                                                    \
                     "bne    3b\n\t"                                                              \
                     "5:\n\t"                                                                     \
                     "ldr    r4, [lr, #32]\n\t" RP_PADS(D1_STORE)                                 \
                     "ldm    lr, {r0, r1, r2}\n\t" /* the next run */                             \
                     "ldrd   r4, r5, [lr, #40]\n\t"                                               \
                     "add    r0, r0, r4\n\t"                                                      \
                     "add    r1, r1, r5\n\t"                                                      \
                     "ldr    r4, [lr, #24]\n\t"                                                   \
                     "add    r2, r2, r4, lsl #1\n\t"                                              \
                     "stm    lr, {r0, r1, r2}\n\t"                                                \
                     "ldr    r4, [lr, #48]\n\t"                                                   \
                     "subs   r4, r4, #1\n\t"                                                      \
                     "str    r4, [lr, #48]\n\t"                                                   \
                     "bne    4b\n\t"                                                              \
                     "pop    {r4-r11, pc}\n\t")

__attribute__((naked, noinline)) static void copy_two_groups(rp_copy_t *c)
{
    (void)c;
    RP_COPY_BODY("ldrd   r4, r5, [r0]\n\t" "ldrd   r6, r7, [r1]\n\t",
                 RP_PUT("r4", "r6", "r2") RP_PUT("r5", "r7", "r3"), RP_PAD_D1);
}

/* Depth multiplier 2: one input group's four channels twice each, as two groups (16 values). */
__attribute__((naked, noinline)) static void copy_groups_x2(rp_copy_t *c)
{
    (void)c;
    RP_COPY_BODY("ldr    r4, [r0]\n\t" "ldr    r6, [r1]\n\t",
                 "pkhbt  r8, r4, r6, lsl #16\n\t"
                 "pkhtb  r9, r6, r4, asr #16\n\t"
                 "sxtb16 r4, r8\n\t"
                 "sxtb16 r6, r8, ror #8\n\t"
                 "sxtb16 r8, r9\n\t"
                 "sxtb16 r9, r9, ror #8\n\t"
                 "strd   r4, r4, [r2]\n\t"
                 "strd   r6, r6, [r2, #8]\n\t"
                 "add    r2, r2, #32\n\t"
                 "strd   r8, r8, [r3]\n\t"
                 "strd   r9, r9, [r3, #8]\n\t"
                 "add    r3, r3, #32\n\t",
                 RP_PAD_D1);
}

/* One group (an odd group count's last). */
__attribute__((naked, noinline)) static void copy_one_group(rp_copy_t *c)
{
    (void)c;
    RP_COPY_BODY("ldr    r4, [r0]\n\t" "ldr    r6, [r1]\n\t", RP_PUT("r4", "r6", "r2"), "");
}
#endif

/* Bytes between pixels and between rows of the image a pass reads and of its output: the layer's, or
 * at dilation d those of one phase's sub-image (d times the layer's). */
typedef struct {
    int32_t in_px, in_row, out_px, out_row;
} rp_pitch_t;

/* The image's padded row r at the pass's first channel (image: row 0's), or NULL for a padding row.
 * s: the image's geometry (the layer's, or a phase's sub-image's). */
static const int8_t *row_at(const int8_t *image, int32_t r, const kiln_conv_geometry_t *s, const rp_pitch_t *pt)
{
    r -= s->pad_top;
    return r >= 0 && r < s->in_h ? image + r * pt->in_row : 0;
}

#if KILN_RP_ASM
/* The pass's `groups` groups of one pair-row, c's a, b and d at its first: two at a time, then the
 * odd one (depth multiplier 2: an input group's channels twice, two groups a call). */
KILN_RP_OUTLINE static void copy_groups(rp_copy_t *c, int32_t groups, int32_t depth_multiplier)
{
    c->count = groups / 2;
    if (depth_multiplier == 2) { /* (groups even) */
        copy_groups_x2(c);
        return;
    }
    if (c->count > 0) copy_two_groups(c); /* (leaves a, b, d at the groups after) */
    if (groups & 1) {
        c->count = 1;
        copy_one_group(c);
    }
}
#endif

/* Pair-row q of the pass's `groups` groups into the ring: the padded rows 2q and 2q + 1 of the image
 * (image: its first pixel at the pass's first channel), every column position, the zero point
 * outside the image; in C where the assembly copy cannot (its words not aligned), and on CPUs
 * without it. t: the copy's fields that hold for the whole image (region, zz, the image's columns as
 * n, left, right, its rows' steps). */
KILN_RP_OUTLINE static void fill_pair_row(uint8_t *ring, const rp_copy_t *t, int32_t q, int32_t groups,
                                          const int8_t *image, const kiln_conv_geometry_t *s, const rp_pitch_t *pt,
                                          int32_t positions, uint32_t z4, int32_t still)
{
    const int8_t *a = row_at(image, 2 * q, s, pt), *b = row_at(image, 2 * q + 1, s, pt);
    /* position q / 2, slot q & 1: 32 * (q >> 1) + 16 * (q & 1) bytes (a still ring, and every ring of the
     * portable walk: position 0) */
    uint8_t *row = ring + 16 * (KILN_RP_ASM && !still ? q : q & 1);
    const int32_t x2 = s->depth_multiplier - 1, region_bytes = t->region;
    int32_t k, gi;
#if KILN_RP_ASM
    if (t->n > 0 && (a == 0 || b == 0)) { /* a padding row (image_rows copies two image rows itself) */
        const uint32_t zw[2] = {z4, z4};      /* its words the zero point's, read again at every position */
        rp_copy_t c = *t;
        c.a = a != 0 ? a + t->first : (const int8_t *)zw, c.a_step = a != 0 ? pt->in_px : 0;
        c.b = b != 0 ? b + t->first : (const int8_t *)zw, c.b_step = b != 0 ? pt->in_px : 0;
        c.a_next = a != 0 ? t->a_next : 0, c.b_next = b != 0 ? t->b_next : 0, c.d = row + t->lead;
        if (a == 0 && b == 0) c.left += c.n + c.right, c.n = 0, c.right = 0; /* (below the image: no loads) */
        if (((uintptr_t)c.a | (uintptr_t)c.b | (uint32_t)s->in_c) % 4 == 0) { /* (LDRD: words) */
            copy_groups(&c, groups, s->depth_multiplier);
            return;
        }
    }
#else
    (void)positions;
#endif
    for (gi = 0; gi < groups; ++gi) { /* (the zero point's pairs in the padding columns) */
        rp_word_t *d = (rp_word_t *)(void *)(row + gi * region_bytes);
        for (k = 0; k < positions; ++k, d += 8) {
            const int32_t ix = k - s->pad_left, at = ix * pt->in_px + (4 * gi >> x2);
            const int inside = (uint32_t)ix < (uint32_t)s->in_w;
            const int8_t *pa = a != 0 && inside ? a + at : (const int8_t *)&z4;
            const int8_t *pb = b != 0 && inside ? b + at : (const int8_t *)&z4;
            int32_t c;
            for (c = 0; c < 4; ++c) /* output channel c: input channel c / dm (dm 1 or 2) */
                d[c] = kiln_pair16(pa[c >> x2], pb[c >> x2]);
        }
    }
}

#if KILN_RP_ASM
/* A still ring's padding positions (before `from` and from `to` on, of `positions`), both slots of
 * each of the pass's `groups` groups: the zero point's pairs, which no pair-row's copy then writes. */
static void still_padding(uint8_t *ring, int32_t groups, int32_t region_bytes, int32_t from, int32_t to,
                          int32_t positions, uint32_t zz)
{
    int32_t gi, k;
    for (gi = 0; gi < groups; ++gi)
        for (k = from > 0 ? 0 : to; k < positions; k = k + 1 == from ? to : k + 1) { /* (skips the image's) */
            rp_word_t *d = (rp_word_t *)(void *)(ring + gi * region_bytes + POS_BYTES * k);
            d[0] = d[1] = d[2] = d[3] = d[4] = d[5] = d[6] = d[7] = zz; /* (POS_BYTES) */
        }
}
#endif

/* One image's rows (s: its geometry), every pass: the pair-rows each output row reads copied into the
 * ring (once each), then the row. region_bytes: a group's ring (at dilation, the largest phase's);
 * odd_q: the words from a section to its swapped copy for odd pair-rows q (0: the ring drifts). */
static inline __attribute__((always_inline)) void image_rows(const int8_t *in, int8_t *out, const kiln_conv_geometry_t *s,
                                                             const rp_pitch_t *pt, const int32_t *stream,
                                                             const kiln_conv_s8_params_t *p, uint8_t *ring, int32_t chunk,
                                                             int32_t region_bytes, int32_t odd_q)
{
    const int32_t groups = s->out_c / 4, section = groups * GROUP_WORDS;
    const int32_t positions = (s->out_w - 1) * s->stride_w + 3; /* padded columns the row reads */
    const uint32_t z4 = (uint8_t)p->in_zp * 0x01010101u;
    const int32_t span = s->out_w * pt->out_px, out_row = pt->out_row; /* (span: a row's output) */
    int32_t c0, oy;
    rp_copy_t copy; /* the copy's fields for every pair-row (the portable copy reads only the region) */
    copy.region = region_bytes;
#if KILN_RP_ASM
    copy.left = s->pad_left < positions ? s->pad_left : positions; /* the image's columns: left .. left + n - 1 */
    copy.n = (s->pad_left + s->in_w < positions ? s->pad_left + s->in_w : positions) - copy.left;
    copy.right = positions - copy.left - copy.n;
    copy.zz = kiln_pair16((int8_t)z4, (int8_t)z4);
    copy.a_step = copy.b_step = pt->in_px; /* (an image row's; fill_pair_row sets a padding row's) */
    copy.a_next = copy.b_next = 8 / s->depth_multiplier;
    copy.first = (copy.left - s->pad_left) * pt->in_px, copy.lead = 0;
    const int32_t pads = odd_q != 0 && copy.n > 0 ? copy.left : -1; /* a still ring: its padding set per pass */
    if (pads >= 0) copy.lead = POS_BYTES * copy.left, copy.left = copy.right = 0;
    const int simple = p->act_min == -128 && p->act_max == 127, passes = chunk < groups || pt->out_px != s->out_c;
    void (*const row_fn)(const rp_job_t *) = simple ? (passes ? row_simple_passes : row_simple)
                                                    : (passes ? row_clamp_passes : row_clamp);
#endif
    for (c0 = 0; c0 < groups; c0 += chunk) {
        const int32_t n = groups - c0 < chunk ? groups - c0 : chunk;
        int32_t next = 0; /* the next pair-row to copy */
        rp_job_t j;
        j.out_step = pt->out_px - 4 * n;
#if KILN_RP_ASM
        j.lo4 = (uint8_t)p->act_min * 0x01010101u, j.hi4 = (uint8_t)p->act_max * 0x01010101u;
        if (pads >= 0) still_padding(ring, n, region_bytes, pads, pads + copy.n, positions, copy.zz);
        /* the pair-rows of two image rows (q_lo .. q_lo + q_span), word-aligned: copied straight from here */
        const int8_t *image = in + (4 * c0 >> (s->depth_multiplier - 1)) + copy.first;
        const int32_t q_lo = (s->pad_top + 1) >> 1, q_span = ((s->in_h + s->pad_top - 2) >> 1) - q_lo;
        const int32_t straight = q_span >= 0 && copy.n > 0 && ((uintptr_t)image | (uint32_t)(pt->in_row | pt->in_px)) % 4 == 0;
        image += (2 * q_lo - s->pad_top) * pt->in_row; /* (pair-row q_lo's first row) */
#endif
        for (oy = 0; oy < s->out_h; ++oy) {
            const int32_t t = oy * s->stride_h, q = t >> 1;
            for (next = next > q ? next : q; next <= q + 1; ++next) { /* the pair-rows this row reads, once each */
#if KILN_RP_ASM
                if (straight && (uint32_t)(next - q_lo) <= (uint32_t)q_span) {
                    copy.a = image + (next - q_lo) * 2 * pt->in_row, copy.b = copy.a + pt->in_row;
                    copy.d = ring + 16 * (odd_q ? next & 1 : next) + copy.lead;
                    copy_groups(&copy, n, s->depth_multiplier);
                    continue;
                }
#endif
                fill_pair_row(ring, &copy, next, n, in + (4 * c0 >> (s->depth_multiplier - 1)), s, pt, positions, z4,
                              odd_q);
            }
#if KILN_RP_ASM
            j.stream = stream + ((t & 1) ? section : 0) + (-(q & 1) & odd_q) + c0 * GROUP_WORDS;
            j.x = ring + (odd_q ? 0 : 16 * q) - (j.stream[4] >> 1); /* (a still ring: position 0) */
#else /* the portable walk keeps every ring still (the stream's first copy, read swapped for odd q) */
            j.stream = stream + ((t & 1) ? section : 0) + c0 * GROUP_WORDS;
            j.x = ring - (j.stream[4] >> 1);
            j.swap = q & 1;
#endif
            j.out = out + oy * out_row + 4 * c0, j.out_end = j.out + span;
#if KILN_RP_ASM
            row_fn(&j);
#else
            row_c(&j, p);
#endif
        }
    }
}

void kiln_depthwise_conv_s8_rowpairs(const int8_t *in, const int32_t *stream, int8_t *out,
                                     const kiln_conv_s8_params_t *p, uint32_t *scratch, int32_t chunk)
{
    const kiln_conv_geometry_t *g = &p->g;
    const rp_pitch_t pt = {g->in_c, g->in_w * g->in_c, g->out_c, g->out_w * g->out_c};
    int32_t bt;
    for (bt = 0; bt < g->batches; ++bt, in += g->in_h * pt.in_row, out += g->out_h * pt.out_row)
        image_rows(in, out, g, &pt, stream + 2, p, (uint8_t *)scratch, chunk, stream[0], stream[1]);
}

/* Of n rows (or columns) with `pad` of padding before them read at dilation d, those of phase a < d:
 * the first image one (*first), how many there are (returned) and the padding before them (*before). */
static int32_t phase_of(int32_t n, int32_t pad, int32_t d, int32_t a, int32_t *first, int32_t *before)
{
    *before = (pad - a + d - 1) / d; /* (0 where pad <= a) */
    *first = a - pad + d * *before;
    return *first < n ? (n - *first + d - 1) / d : 0;
}

/* Dilation d (the same both ways, at stride 1): d * d undilated layers on the sub-images of each phase's
 * rows and columns (each writing the output rows and columns of the same phase), the ring sized for the
 * first, the largest. Apart, so that a model without dilation does not link it. */
void kiln_depthwise_conv_s8_rowpairs_dilated(const int8_t *in, const int32_t *stream, int8_t *out,
                                             const kiln_conv_s8_params_t *p, uint32_t *scratch, int32_t chunk)
{
    const kiln_conv_geometry_t *g = &p->g;
    const int32_t d = g->dil_w, region = stream[0], odd_q = stream[1];
    const rp_pitch_t pt = {d * g->in_c, d * g->in_w * g->in_c, d * g->out_c, d * g->out_w * g->out_c};
    const int32_t image_in = g->in_h * g->in_w * g->in_c, image_out = g->out_h * g->out_w * g->out_c;
    int32_t bt, a, b, y0, x0;
    kiln_conv_geometry_t s = *g; /* a phase's sub-image */
    for (bt = 0; bt < g->batches; ++bt, in += image_in, out += image_out) {
        for (a = 0; a < d; ++a) {
            s.in_h = phase_of(g->in_h, g->pad_top, d, a, &y0, &s.pad_top);
            s.out_h = (g->out_h - a + d - 1) / d;
            for (b = 0; b < d; ++b) { /* (a phase past the output has no rows or columns) */
                s.in_w = phase_of(g->in_w, g->pad_left, d, b, &x0, &s.pad_left);
                s.out_w = (g->out_w - b + d - 1) / d;
                if (s.out_h > 0 && s.out_w > 0)
                    image_rows(in + (y0 * g->in_w + x0) * g->in_c, out + (a * g->out_w + b) * g->out_c, &s, &pt,
                               stream + 2, p, (uint8_t *)scratch, chunk, region, odd_q);
            }
        }
    }
}
