#include <string.h>

#include "kiln_dsp.h"
#include "kiln_fixedpoint.h"
#include "kiln_mve.h"
#include "kiln_runtime.h"

#if KILN_DSP
/* One step, 16 MACs: 4 bytes of the input by the same 4 bytes of four weight rows, whose 4-byte
 * chunks alternate at w (two rows per LDRD). */
#define MAC_1X4_STEP                                                                              \
    "ldr    %[t], [%[x]], #4\n\t"                                            \
    "sxtb16 %[xo], %[t], ror #8\n\t"                                         \
    "sxtb16 %[xe], %[t]\n\t"                                                 \
    "ldrd   %[t], %[u], [%[w]], #8\n\t"                                      \
    "sxtb16 %[vo], %[t], ror #8\n\t"                                         \
    "sxtb16 %[t], %[t]\n\t"                                                  \
    "smlad  %[a0], %[xe], %[t], %[a0]\n\t"                                   \
    "smlad  %[a0], %[xo], %[vo], %[a0]\n\t"                                  \
    "sxtb16 %[vo], %[u], ror #8\n\t"                                         \
    "sxtb16 %[u], %[u]\n\t"                                                  \
    "smlad  %[a1], %[xe], %[u], %[a1]\n\t"                                   \
    "smlad  %[a1], %[xo], %[vo], %[a1]\n\t"                                  \
    "ldrd   %[t], %[u], [%[w]], #8\n\t"                                      \
    "sxtb16 %[vo], %[t], ror #8\n\t"                                         \
    "sxtb16 %[t], %[t]\n\t"                                                  \
    "smlad  %[a2], %[xe], %[t], %[a2]\n\t"                                   \
    "smlad  %[a2], %[xo], %[vo], %[a2]\n\t"                                  \
    "sxtb16 %[vo], %[u], ror #8\n\t"                                         \
    "sxtb16 %[u], %[u]\n\t"                                                  \
    "smlad  %[a3], %[xe], %[u], %[a3]\n\t"                                   \
    "smlad  %[a3], %[xo], %[vo], %[a3]\n\t"

/* trips x BODY: steps of 16 MACs, advancing x_ and w. Assembly for the same reason as in
 * kiln_conv.c; 21 instructions per step and 2 per trip. */
#define MAC_1X4_ASM(trips, BODY)                                                                  \
    do {                                                                                          \
        int32_t n_ = (trips), t_, u_, xe_, xo_, vo_;                                              \
        __asm__ volatile("1:\n\t" BODY                                                            \
                         "subs   %[n], %[n], #1\n\t"                                              \
                         "bne    1b\n\t"                                                          \
                         : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x_), \
                           [w] "+r"(w), [n] "+r"(n_), [t] "=&r"(t_), [u] "=&r"(u_), [xe] "=&r"(xe_), \
                           [xo] "=&r"(xo_), [vo] "=&r"(vo_)                                       \
                         :                                                                        \
                         : "cc", "memory");                                                       \
    } while (0)

/* steps x 16 MACs with ASM (MAC_1X4_ASM or MAC_1X4_ASM16) and its STEP: one input vector (4 bytes
 * per step) by four weight rows; two steps per trip when their number is even (not at -Os: one
 * loop body is smaller). Advances the weights. MAC_1X4_LOOP4 takes four steps a trip where their
 * number allows (the loop's SUBS/BNE is 2 instructions a trip): only in the both16 kernel, because
 * a third copy of the loop inlined into the others made gcc lay out small layers worse (sine_int8
 * +46 instructions, fc 37 -> 11 +12). */
#if defined(__OPTIMIZE_SIZE__)
#define MAC_1X4_UNROLL 0
#else
#define MAC_1X4_UNROLL 1
#endif
#define MAC_1X4_LOOP(ASM, STEP, x_start, steps)                                                   \
    do {                                                                                          \
        const int8_t *x_ = (x_start);                                                             \
        if (MAC_1X4_UNROLL && ((steps) & 1) == 0) {                                               \
            ASM((steps) / 2, STEP STEP);                                                          \
        } else {                                                                                  \
            ASM((steps), STEP);                                                                   \
        }                                                                                         \
    } while (0)
#define MAC_1X4_LOOP4(ASM, STEP, x_start, steps)                                                  \
    do {                                                                                          \
        if (MAC_1X4_UNROLL && ((steps) & 3) == 0) {                                               \
            const int8_t *x_ = (x_start);                                                         \
            ASM((steps) / 4, STEP STEP STEP STEP);                                                \
        } else {                                                                                  \
            MAC_1X4_LOOP(ASM, STEP, x_start, steps);                                              \
        }                                                                                         \
    } while (0)
#endif

#if KILN_DSP
/* The same 16 MACs with the weights stored pre-widened (the _w16 kernel): per step, each row's two words of
 * int16 pairs (depth bytes 0 and 2, then 1 and 3), two rows per LDM into r8-r11. 13 instructions
 * per step instead of 21, for twice the weights' flash. */
#define MAC_1X4_MACS16 /* the four rows' two words each, by the input's pairs in xe, xo */          \
    "ldmia  %[w]!, {r8, r9, r10, r11}\n\t"                                   \
    "smlad  %[a0], %[xe], r8, %[a0]\n\t"                                     \
    "smlad  %[a0], %[xo], r9, %[a0]\n\t"                                     \
    "smlad  %[a1], %[xe], r10, %[a1]\n\t"                                    \
    "smlad  %[a1], %[xo], r11, %[a1]\n\t"                                    \
    "ldmia  %[w]!, {r8, r9, r10, r11}\n\t"                                   \
    "smlad  %[a2], %[xe], r8, %[a2]\n\t"                                     \
    "smlad  %[a2], %[xo], r9, %[a2]\n\t"                                     \
    "smlad  %[a3], %[xe], r10, %[a3]\n\t"                                    \
    "smlad  %[a3], %[xo], r11, %[a3]\n\t"
#define MAC_1X4_STEP16                                                                            \
    "ldr    %[xo], [%[x]], #4\n\t"                                           \
    "sxtb16 %[xe], %[xo]\n\t"                                                \
    "sxtb16 %[xo], %[xo], ror #8\n\t" MAC_1X4_MACS16

/* The same with the input widened too (the _w16x kernel: per step, its two words of int16 pairs
 * from scratch by one LDRD): 12 instructions per step. */
#define MAC_1X4_STEP16X "ldrd   %[xe], %[xo], [%[x]], #8\n\t" MAC_1X4_MACS16

#define MAC_1X4_ASM16(trips, BODY)                                                                \
    do {                                                                                          \
        int32_t n_ = (trips), xe_, xo_;                                                           \
        register int32_t r8_ __asm__("r8"), r9_ __asm__("r9"), r10_ __asm__("r10"), r11_ __asm__("r11"); \
        __asm__ volatile("1:\n\t" BODY                                                            \
                         "subs   %[n], %[n], #1\n\t"                                              \
                         "bne    1b\n\t"                                                          \
                         : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x_), \
                           [w] "+r"(w32), [n] "+r"(n_), [xe] "=&r"(xe_), [xo] "=&r"(xo_),          \
                           "=&r"(r8_), "=&r"(r9_), "=&r"(r10_), "=&r"(r11_)                        \
                         :                                                                        \
                         : "cc", "memory");                                                       \
    } while (0)
#endif

#if KILN_DSP
/* The same 16 MACs from INT4 weights (the _s4 kernel), stored as w + 8 (0..15): per step two words
 * of nibbles, rows 0 and 1 (low, high nibble of each byte) then rows 2 and 3. Masked, the low
 * nibbles are bytes of w + 8 and the high ones bytes of 16 (w + 8): UXTB16 widens pairs of either
 * for SMLAD. The odd rows' sums come out 16 times too (rows4_s4 divides them back, exactly), and
 * the driver starts every sum at bias - 8 * sum(x), which takes the 8 back out. 24 instructions
 * per step (21 for int8 weights). */
#define MAC_1X4_NIBBLES(row, ra, rb)                                                              \
    "and    %[vo], %[" row "], #0x0F0F0F0F\n\t"                            \
    "and    %[" row "], %[" row "], #0xF0F0F0F0\n\t"                       \
    "uxtb16 %[q], %[vo]\n\t"                                               \
    "smlad  %[" ra "], %[xe], %[q], %[" ra "]\n\t"                         \
    "uxtb16 %[vo], %[vo], ror #8\n\t"                                      \
    "smlad  %[" ra "], %[xo], %[vo], %[" ra "]\n\t"                        \
    "uxtb16 %[q], %[" row "]\n\t"                                          \
    "smlad  %[" rb "], %[xe], %[q], %[" rb "]\n\t"                         \
    "uxtb16 %[" row "], %[" row "], ror #8\n\t"                            \
    "smlad  %[" rb "], %[xo], %[" row "], %[" rb "]\n\t"
#define MAC_1X4_STEP4                                                                             \
    "ldr    %[xo], [%[x]], #4\n\t"                                         \
    "sxtb16 %[xe], %[xo]\n\t"                                              \
    "sxtb16 %[xo], %[xo], ror #8\n\t"                                      \
    "ldrd   %[t], %[u], [%[w]], #8\n\t"                                    \
    MAC_1X4_NIBBLES("t", "a0", "a1")                                                              \
    MAC_1X4_NIBBLES("u", "a2", "a3")

#define MAC_1X4_ASM4(trips, BODY)                                                                 \
    do {                                                                                          \
        int32_t n_ = (trips), t_, u_, xe_, xo_, vo_, q_;                                          \
        __asm__ volatile("1:\n\t" BODY                                                            \
                         "subs   %[n], %[n], #1\n\t"                                              \
                         "bne    1b\n\t"                                                          \
                         : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x_), \
                           [w] "+r"(w), [n] "+r"(n_), [t] "=&r"(t_), [u] "=&r"(u_), [xe] "=&r"(xe_), \
                           [xo] "=&r"(xo_), [vo] "=&r"(vo_), [q] "=&r"(q_)                        \
                         :                                                                        \
                         : "cc", "memory");                                                       \
    } while (0)
#endif

/* TFLite's exact rescaling, or kiln_rq where the compiler proved it exact; then the clamp. */
static int8_t requantize(int32_t acc, const int32_t *q, int32_t fast, int32_t out_zp, int32_t act_min, int32_t act_max)
{
    const int32_t v = fast ? kiln_rq(acc, q) : kiln_mul_by_qm(acc, q[0], q[1]) + out_zp;
    return (int8_t)kiln_clamp_i32(v, act_min, act_max);
}

/* The depth % 4 tail of four rows (int8, one row after the other) by the input's last bytes, into
 * the locals a0..a3 (a macro: a function taking their addresses costs the loops their registers). */
#define ROWS4_TAIL(xt, wt, tail)                                                                  \
    for (k = 0; k < (tail); ++k) {                                                                \
        const int32_t v_ = (xt)[k];                                                               \
        a0 += v_ * (wt)[k];                                                                       \
        a1 += v_ * (wt)[(tail) + k];                                                              \
        a2 += v_ * (wt)[2 * (tail) + k];                                                          \
        a3 += v_ * (wt)[3 * (tail) + k];                                                          \
    }

#if !KILN_DSP
/* Without the DSP extension (Armv6-M, RISC-V...): two rows of a group (their 4-byte chunks at w
 * and w + 4, a group's chunk 16 bytes) by the input, each input value loaded once for both. */
static void rows2_portable(const int8_t *x, const int8_t *w, int32_t chunks, int32_t *s0, int32_t *s1)
{
    int32_t a = *s0, b = *s1, c, v;
    for (c = 0; c < chunks; ++c, x += 4, w += 16) {
        v = x[0];
        a += v * w[0];
        b += v * w[4];
        v = x[1];
        a += v * w[1];
        b += v * w[5];
        v = x[2];
        a += v * w[2];
        b += v * w[6];
        v = x[3];
        a += v * w[3];
        b += v * w[7];
    }
    *s0 = a;
    *s1 = b;
}
#endif

/* Four rows of int8 weights (a group of pack_weights) by the input x (depth bytes) into acc[0..3];
 * returns the weights after the group. */
static KILN_SPECIALIZE const void *rows4_s8(int32_t *acc, const int8_t *x, const void *packed, int32_t depth)
{
    const int32_t chunks = depth / 4, tail = depth % 4;
    const int8_t *w = (const int8_t *)packed;
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3], d, k;
#if KILN_DSP
    if (chunks > 0) MAC_1X4_LOOP(MAC_1X4_ASM, MAC_1X4_STEP, x, chunks);
    (void)d;
#else
    /* two rows at a time: their sums, the input value, the pointers fit Thumb-1's eight registers */
    rows2_portable(x, w, chunks, &a0, &a1);
    rows2_portable(x, w + 8, chunks, &a2, &a3);
    w += 16 * chunks;
    (void)d;
#endif
    ROWS4_TAIL(x + chunks * 4, w, tail)
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
    return w + 4 * tail;
}

/* The portable form of one 4-byte step of the pre-widened layout: the input's pairs (bytes 0 and
 * 2, 1 and 3) by each of the four rows' two words at w32, into the locals a0..a3. */
#define ROWS4_PAIRS16(xe_, xo_, w32)                                                              \
    {                                                                                             \
        const uint32_t xe = (xe_), xo = (xo_);                                                    \
        for (k = 0; k < 4; ++k) {                                                                 \
            const uint32_t e = (uint32_t)(w32)[2 * k], o = (uint32_t)(w32)[2 * k + 1];             \
            const int32_t v = kiln_lo16(xe) * kiln_lo16(e) + kiln_hi16(xe) * kiln_hi16(e) +       \
                              kiln_lo16(xo) * kiln_lo16(o) + kiln_hi16(xo) * kiln_hi16(o);        \
            if (k == 0) a0 += v;                                                                  \
            else if (k == 1) a1 += v;                                                             \
            else if (k == 2) a2 += v;                                                             \
            else a3 += v;                                                                         \
        }                                                                                         \
    }

/* The depth % 4 tail of the pre-widened layout (a weight a word, row after row): input value VAL
 * (an expression of k) into a0..a3. */
#define ROWS4_TAIL16(VAL, w32, tail)                                                              \
    for (k = 0; k < (tail); ++k) {                                                                \
        const int32_t v_ = (VAL);                                                                 \
        a0 += v_ * (w32)[k];                                                                      \
        a1 += v_ * (w32)[(tail) + k];                                                             \
        a2 += v_ * (w32)[2 * (tail) + k];                                                         \
        a3 += v_ * (w32)[3 * (tail) + k];                                                         \
    }

/* The same with the weights pre-widened (int32 words; see pack_weights). */
static const void *rows4_s16(int32_t *acc, const int8_t *x, const void *packed, int32_t depth)
{
    const int32_t chunks = depth / 4, tail = depth % 4;
    const int32_t *w32 = (const int32_t *)packed;
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3], d, k;
#if KILN_DSP
    if (chunks > 0) MAC_1X4_LOOP(MAC_1X4_ASM16, MAC_1X4_STEP16, x, chunks);
    (void)d;
#else
    for (d = 0; d < chunks * 4; d += 4, w32 += 8) {
        ROWS4_PAIRS16(kiln_pair16(x[d], x[d + 2]), kiln_pair16(x[d + 1], x[d + 3]), w32)
    }
#endif
    ROWS4_TAIL16(x[chunks * 4 + k], w32, tail)
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
    return w32 + 4 * tail;
}

/* An input of depth int8 values widened for rows4_s16x: per 4-byte chunk, two words of int16 pairs
 * (bytes 0 and 2, then 1 and 3: SXTB16's halves), then the depth % 4 tail a value a word. Done
 * once per input, where rows4_s16 widened it again for every group of four rows. */
static void widen_input(const int8_t *x, int32_t depth, uint32_t *xw)
{
    const int32_t chunks = depth / 4;
    int32_t i;
    for (i = 0; i < chunks; ++i) {
#if KILN_DSP
        const uint32_t v = kiln_load32(x + 4 * i);
        xw[2 * i] = (uint32_t)kiln_even(v);
        xw[2 * i + 1] = (uint32_t)kiln_odd(v);
#else
        xw[2 * i] = kiln_pair16(x[4 * i], x[4 * i + 2]);
        xw[2 * i + 1] = kiln_pair16(x[4 * i + 1], x[4 * i + 3]);
#endif
    }
    for (i = 4 * chunks; i < depth; ++i) xw[i - 2 * chunks] = (uint32_t)(int32_t)x[i];
}

/* rows4_s16 with the input already widened (x: widen_input's words). */
static const void *rows4_s16x(int32_t *acc, const int8_t *x, const void *packed, int32_t depth)
{
    const int32_t chunks = depth / 4, tail = depth % 4;
    const int32_t *w32 = (const int32_t *)packed, *xt = (const int32_t *)(const void *)x + 2 * chunks;
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3], k;
#if KILN_DSP
    if (chunks > 0) MAC_1X4_LOOP4(MAC_1X4_ASM16, MAC_1X4_STEP16X, x, chunks);
#else
    const uint32_t *xw = (const uint32_t *)(const void *)x;
    int32_t d;
    for (d = 0; d < chunks; ++d, w32 += 8) {
        ROWS4_PAIRS16(xw[2 * d], xw[2 * d + 1], w32)
    }
#endif
    ROWS4_TAIL16(xt[k], w32, tail)
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
    return w32 + 4 * tail;
}

/* The sum of 4 * words int8 values: on Cortex-M as unsigned bytes (x + 128) by USADA8, 3
 * instructions a word. */
static int32_t sum_s8(const int8_t *x, int32_t words)
{
    int32_t i, sum = 0;
#if KILN_DSP
    uint32_t acc = 0;
    for (i = 0; i < words; ++i) {
        uint32_t v;
        memcpy(&v, x + 4 * i, 4);
        __asm__("usada8 %0, %1, %2, %0" : "+r"(acc) : "r"(v ^ 0x80808080u), "r"(0u));
    }
    sum = (int32_t)acc - 512 * words;
#else
    for (i = 0; i < 4 * words; ++i) sum += x[i];
#endif
    return sum;
}

/* acc[4], a word the driver keeps over one input's rows, starts as this for each new input. */
#define ROWS4_NEW_INPUT INT32_MIN

/* The same with INT4 weights, two a byte as w + 8 (see pack_weights): per 4-byte chunk of the input,
 * a word holding rows 0 and 1 (low and high nibbles) and one holding rows 2 and 3; the tail as
 * int8. Its sums are of x * (w + 8): -8 * sum(x), worked out once per input into acc[4], takes the
 * 8 back out. */
static const void *rows4_s4(int32_t *acc, const int8_t *x, const void *packed, int32_t depth)
{
    const int32_t chunks = depth / 4, tail = depth % 4;
    const int8_t *w = (const int8_t *)packed;
    int32_t a0, a1, a2, a3, d, k;
    if (acc[4] == ROWS4_NEW_INPUT) acc[4] = -8 * sum_s8(x, chunks);
    a0 = a1 = a2 = a3 = 0;
#if KILN_DSP
    if (chunks > 0) MAC_1X4_LOOP(MAC_1X4_ASM4, MAC_1X4_STEP4, x, chunks);
    a1 >>= 4, a3 >>= 4; /* the high nibbles were 16 times their value: exact */
    (void)d;
#else
    for (d = 0; d < chunks * 4; d += 4, w += 8) {
        for (k = 0; k < 4; ++k) {
            const int32_t v = x[d + k];
            a0 += v * (int32_t)((uint8_t)w[k] & 15u);
            a1 += v * (int32_t)((uint8_t)w[k] >> 4);
            a2 += v * (int32_t)((uint8_t)w[4 + k] & 15u);
            a3 += v * (int32_t)((uint8_t)w[4 + k] >> 4);
        }
    }
#endif
    ROWS4_TAIL(x + chunks * 4, w, tail)
    acc[0] += a0 + acc[4], acc[1] += a1 + acc[4], acc[2] += a2 + acc[4], acc[3] += a3 + acc[4];
    return w + 4 * tail;
}

#if !KILN_MVE
/* Four rows stored one after the other (the "rows" variant), two at a time: per pair of products
 * one index register reaches the input and both rows (Thumb-1's LDRSB takes a register offset
 * only), so a pair is three loads, two multiplies, two adds and the index step. */
static const void *rows4_rows(int32_t *acc, const int8_t *x, const void *packed, int32_t depth)
{
    const int8_t *w = (const int8_t *)packed;
    int32_t r, d;
    for (r = 0; r < 4; r += 2) {
        /* a negative index counting up to 0 from the rows' and the input's ends: the loop's test is
         * the increment's own flags, and no register holds a bound */
        const int8_t *xe = x + depth, *e0 = w + (r + 1) * depth, *e1 = e0 + depth;
        int32_t a = acc[r], b = acc[r + 1];
        for (d = -depth; d != 0; ++d) {
            const int32_t v = xe[d];
            a += v * e0[d];
            b += v * e1[d];
        }
        acc[r] = a, acc[r + 1] = b;
    }
    return w + 4 * depth;
}
#endif

/* A row left over after the last group of four (stored plainly, depth int8 weights at any
 * address) by the input: on Cortex-M a word of each per 4 MACs (SXTB16 pairs into SMLAD), where the
 * byte loop took 5 instructions a MAC. */
static int32_t row1_s8(int32_t acc, const int8_t *x, const int8_t *w, int32_t depth)
{
    int32_t d = 0;
#if KILN_DSP && !defined(__OPTIMIZE_SIZE__)
    for (; d + 4 <= depth; d += 4) {
        const uint32_t xv = kiln_load32(x + d), wv = kiln_load32(w + d);
        acc = __smlad(kiln_even(xv), kiln_even(wv), acc);
        acc = __smlad(kiln_odd(xv), kiln_odd(wv), acc);
    }
#endif
    for (; d < depth; ++d) acc += x[d] * w[d];
    return acc;
}

typedef const void *(*rows4_fn)(int32_t *acc, const int8_t *x, const void *packed, int32_t depth);

/* The weights are packed by the compiler (see pack_weights in ops/fully_connected.py): rows in
 * groups of four whose 4-byte chunks alternate, then each row's depth % 4 tail bytes; rows
 * left over after the last group are stored plainly. Pre-widened (wide), the groups are int32
 * words: per chunk, each row's two words of int16 pairs; the tail a weight a word; leftover rows
 * int8 as before. The input zero point is folded into bias, so the loop is a plain dot product.
 * Rescaling matches TFLite Micro's kernel bit for bit. */
static KILN_SPECIALIZE void fully_connected_s8(const int8_t *in, const void *packed, const int32_t *bias, int8_t *out,
                               const kiln_fc_s8_params_t *p, rows4_fn rows4, uint32_t *xw)
{
    const int32_t depth = p->depth, units = p->units;
    const int32_t out_zp = p->out_zp, act_min = p->act_min, act_max = p->act_max;
    const int32_t *rq = p->rq;
    const int32_t step = p->per_channel ? 3 : 0; /* words of rq per unit */
    const int32_t simple = p->rq_fast && act_min == -128 && act_max == 127;
    int32_t b, u, k;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *x = in + b * depth;
        int8_t *y = out + b * units;
        const void *w = packed;
        int32_t acc[5];
        acc[4] = ROWS4_NEW_INPUT; /* a rows4 function's own word, kept over this input's rows */
        for (u = 0; u + 4 <= units; u += 4) {
            for (k = 0; k < 4; ++k) acc[k] = bias[u + k];
            w = rows4(acc, xw != NULL ? (const int8_t *)(const void *)xw : x, w, depth); /* xw: widened x */
            if (simple) {
                for (k = 0; k < 4; ++k) y[u + k] = (int8_t)kiln_sat8(kiln_rq(acc[k], rq + (u + k) * step));
            } else {
                for (k = 0; k < 4; ++k) y[u + k] = requantize(acc[k], rq + (u + k) * step, p->rq_fast, out_zp, act_min, act_max);
            }
        }
        for (; u < units; ++u) {
            /* leftover rows are int8 in either format */
            const int32_t acc = row1_s8(bias[u], x, (const int8_t *)w, depth);
            w = (const int8_t *)w + depth;
#if defined(__OPTIMIZE_SIZE__)
            y[u] = requantize(acc, rq + u * step, p->rq_fast, out_zp, act_min, act_max);
#else
            y[u] = simple ? (int8_t)kiln_sat8(kiln_rq(acc, rq + u * step))
                          : requantize(acc, rq + u * step, p->rq_fast, out_zp, act_min, act_max);
#endif
        }
    }
}

void kiln_fully_connected_s8(const int8_t *in, const int8_t *packed, const int32_t *bias, int8_t *out,
                             const kiln_fc_s8_params_t *p)
{
    fully_connected_s8(in, packed, bias, out, p, rows4_s8, NULL);
}

void kiln_fully_connected_s8_w16(const int8_t *in, const int32_t *packed, const int32_t *bias, int8_t *out,
                                 const kiln_fc_s8_params_t *p)
{
    fully_connected_s8(in, packed, bias, out, p, rows4_s16, NULL);
}

/* scratch: widen_input's words for one input (2 * (depth / 4) + depth % 4, 4-byte aligned). */
void kiln_fully_connected_s8_w16x(const int8_t *in, const int32_t *packed, const int32_t *bias, int8_t *out,
                                  const kiln_fc_s8_params_t *p, uint32_t *scratch)
{
    kiln_fc_s8_params_t one = *p; /* input by input: each widened into scratch first */
    int32_t b;
    one.batches = 1;
    for (b = 0; b < p->batches; ++b) {
        widen_input(in + b * p->depth, p->depth, scratch);
        fully_connected_s8(in + b * p->depth, packed, bias, out + b * p->units, &one, rows4_s16x, scratch);
    }
}

#if KILN_MVE
/* Helium, the "rows" layout: four rows at a time against the input (kiln_dot4_mve: 16 bytes of input
 * loaded once for the four rows' 16), the four sums requantized as one vector (each lane its row's
 * constants, gathered from the table) and stored as one word. */
static void fully_connected_rows_mve(const int8_t *in, const int8_t *w, const int32_t *bias, int8_t *out,
                                     const kiln_fc_s8_params_t *p)
{
    const int32_t depth = p->depth, units = p->units, step = p->per_channel ? 3 : 0;
    const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
    const int8_t *rows[4];
    int32_t b, u, k;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *x = in + b * depth;
        int8_t *y = out + b * units;
        for (u = 0; u < units; u += 4) {
            /* past the last row: the last again (computed twice, stored once) */
            const uint32x4_t lane = vminq_u32(vidupq_n_u32(0u, 1), vdupq_n_u32((uint32_t)(units - 1 - u)));
            const uint32x4_t at = vmulq_n_u32(lane, (uint32_t)step); /* each row's rq words */
            const int32_t *q = p->rq + step * u;
            int32x4_t acc, v;
            for (k = 0; k < 4; ++k) rows[k] = w + (u + k < units ? u + k : units - 1) * depth;
            acc = kiln_dot4_mve(rows, x, depth, 0);
            acc = vaddq_s32(acc, vldrwq_gather_shifted_offset_s32(bias + u, lane));
            if (p->rq_fast) {
                v = kiln_rq_mve(acc, vldrwq_gather_shifted_offset_s32(q, at),
                                vnegq_s32(vldrwq_gather_shifted_offset_s32(q + 1, at)),
                                vldrwq_gather_shifted_offset_s32(q + 2, at));
            } else { /* TFLite's exact path, row by row */
                int32_t r[4];
                vstrwq_s32(r, acc);
                for (k = 0; k < 4; ++k) {
                    const int32_t *qk = q + (u + k < units ? k : units - 1 - u) * step;
                    r[k] = kiln_mul_by_qm(r[k], qk[0], qk[1]) + p->out_zp;
                }
                v = vldrwq_s32(r);
            }
            v = vminq_s32(vmaxq_s32(v, lo), hi);
            vstrbq_p_s32(y + u, v, vctp32q((uint32_t)(units - u)));
        }
    }
}
#endif

void kiln_fully_connected_s8_rows(const int8_t *in, const int8_t *weights, const int32_t *bias, int8_t *out,
                                  const kiln_fc_s8_params_t *p)
{
#if KILN_MVE
    fully_connected_rows_mve(in, weights, bias, out, p);
#else
    fully_connected_s8(in, weights, bias, out, p, rows4_rows, NULL);
#endif
}

void kiln_fully_connected_s4(const int8_t *in, const int8_t *packed, const int32_t *bias, int8_t *out,
                             const kiln_fc_s8_params_t *p)
{
    fully_connected_s8(in, packed, bias, out, p, rows4_s4, NULL);
}

void kiln_fc_s8_acc(const int8_t *x, const int8_t *packed, int32_t depth, int32_t units, int32_t *acc)
{
    const void *w = packed;
    int32_t u;
    for (u = 0; u + 4 <= units; u += 4) w = rows4_s8(acc + u, x, w, depth);
    for (; u < units; ++u) {
        acc[u] = row1_s8(acc[u], x, (const int8_t *)w, depth);
        w = (const int8_t *)w + depth;
    }
}

/* Summation order is TFLite's (over depth, then bias), so float results match it exactly
 * when the compiler does not contract or reorder (no -ffast-math). */
void kiln_fully_connected_f32(const float *in, const float *weights, const float *bias, float *out,
                              int32_t batches, int32_t depth, int32_t units, float act_min, float act_max)
{
    int32_t b, u, d;
    for (b = 0; b < batches; ++b) {
        const float *x = in + b * depth;
        for (u = 0; u < units; ++u) {
            const float *w = weights + u * depth;
            float total = 0.0f;
            float v;
            for (d = 0; d < depth; ++d) {
                total += x[d] * w[d];
            }
            v = total + (bias != NULL ? bias[u] : 0.0f);
            v = v < act_min ? act_min : v;
            out[b * units + u] = act_max < v ? act_max : v;
        }
    }
}

/* The s16 kernel's weights (pack_rows_s16 in ops/fully_connected.py): rows in pairs, per group of
 * four depth values each row's four bytes stored as w0, w2, w1, w3, so that SXTB16 of the word
 * gives (w0, w1) and with ROR #8 (w2, w3): the pairs of a word of int16 input as it lies in memory;
 * then the two rows' depth % 4 tails in order. A last odd row alone, the same way. */
static const uint8_t s16_order[4] = {0, 2, 1, 3}; /* the input element of each weight in a group */

/* rows (1, 2 or 4) of such weights by (x - in_zp), added to the 64-bit sums acc[0..rows-1]; returns
 * the weights after them. On Cortex-M with in_zp 0 (16x8's usual symmetric input), a pair by SMLALD,
 * which adds two products at a time without overflow: 14 instructions per 8 MACs. */
const int8_t *kiln_fc_s16_rows(const int16_t *x, const int8_t *w, int32_t depth, int32_t rows, int32_t in_zp,
                               int64_t *acc)
{
    const int32_t groups = depth / 4, tail = depth % 4;
    int32_t r, g, k;
    if (rows == 4) { /* two pairs */
#if KILN_DSP
        /* Below 512 values a sum of int16 x int8 products stays within int32 (2^9 x 2^22): two pairs
         * at once with SMLAD into 32-bit sums, sharing the input's loads, 23 instructions per 16 MACs. */
        if (in_zp == 0 && depth < 512 && groups > 0) {
            const int8_t *wa = w, *wb = w + 2 * depth;
            const int16_t *xp = x;
            int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, n = groups;
            uint32_t xa, xb, t, v;
#define S16_ROW_STEP(A, W)                                                                            \
    "ldr    %[t], [%[" W "]], #4\n\t"                                                                 \
    "sxtb16 %[v], %[t]\n\t"                                                                          \
    "smlad  %[" A "], %[xa], %[v], %[" A "]\n\t"                                                      \
    "sxtb16 %[t], %[t], ror #8\n\t"                                                                  \
    "smlad  %[" A "], %[xb], %[t], %[" A "]\n\t"
            __asm__ volatile("1:\n\t"
                             "ldr    %[xa], [%[x]], #4\n\t"
                             "ldr    %[xb], [%[x]], #4\n\t"
                             S16_ROW_STEP("a0", "wa") S16_ROW_STEP("a1", "wa")
                             S16_ROW_STEP("a2", "wb") S16_ROW_STEP("a3", "wb")
                             "subs   %[n], %[n], #1\n\t"
                             "bne    1b\n\t"
                             : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(xp),
                               [wa] "+r"(wa), [wb] "+r"(wb), [n] "+r"(n), [xa] "=&r"(xa), [xb] "=&r"(xb),
                               [t] "=&r"(t), [v] "=&r"(v)
                             :
                             : "cc", "memory");
#undef S16_ROW_STEP
            for (k = 0; k < tail; ++k) { /* wa, wb: each pair's tails */
                const int32_t xv = x[4 * groups + k];
                a0 += wa[k] * xv, a1 += wa[tail + k] * xv, a2 += wb[k] * xv, a3 += wb[tail + k] * xv;
            }
            acc[0] += a0, acc[1] += a1, acc[2] += a2, acc[3] += a3;
            return w + 4 * depth;
        }
#endif
        w = kiln_fc_s16_rows(x, w, depth, 2, in_zp, acc);
        return kiln_fc_s16_rows(x, w, depth, 2, in_zp, acc + 2);
    }
#if KILN_DSP
    if (in_zp == 0 && rows == 2 && groups > 0) {
        uint32_t a0l = 0, a1l = 0, xa, xb, t, u, v;
        int32_t a0h = 0, a1h = 0, n;
        const int16_t *xp = x;
#define S16_PAIR_STEP                                                                             \
    "ldr    %[xa], [%[x]], #4\n\t"                                                                  \
    "ldr    %[xb], [%[x]], #4\n\t"                                                                  \
    "ldr    %[t], [%[w]], #4\n\t" /* not LDRD: the weights need not be word-aligned */             \
    "ldr    %[u], [%[w]], #4\n\t"                                                                   \
    "sxtb16 %[v], %[t]\n\t"                                                                         \
    "smlald %[a0l], %[a0h], %[xa], %[v]\n\t"                                                        \
    "sxtb16 %[t], %[t], ror #8\n\t"                                                                 \
    "smlald %[a0l], %[a0h], %[xb], %[t]\n\t"                                                        \
    "sxtb16 %[v], %[u]\n\t"                                                                         \
    "smlald %[a1l], %[a1h], %[xa], %[v]\n\t"                                                        \
    "sxtb16 %[u], %[u], ror #8\n\t"                                                                 \
    "smlald %[a1l], %[a1h], %[xb], %[u]\n\t"
#define S16_PAIR_ASM(trips, BODY)                                                                  \
    n = (trips);                                                                                  \
    __asm__ volatile("1:\n\t" BODY "subs   %[n], %[n], #1\n\t"                                      \
                     "bne    1b\n\t"                                                                 \
                     : [a0l] "+r"(a0l), [a0h] "+r"(a0h), [a1l] "+r"(a1l), [a1h] "+r"(a1h), [x] "+r"(xp), \
                       [w] "+r"(w), [n] "+r"(n), [xa] "=&r"(xa), [xb] "=&r"(xb), [t] "=&r"(t), [u] "=&r"(u), \
                       [v] "=&r"(v)                                                              \
                     :                                                                            \
                     : "cc", "memory")
        if (MAC_1X4_UNROLL && (groups & 1) == 0) { /* two groups a trip (one loop body at -Os) */
            S16_PAIR_ASM(groups / 2, S16_PAIR_STEP S16_PAIR_STEP);
        } else {
            S16_PAIR_ASM(groups, S16_PAIR_STEP);
        }
        acc[0] += (int64_t)(((uint64_t)(uint32_t)a0h << 32) | a0l);
        acc[1] += (int64_t)(((uint64_t)(uint32_t)a1h << 32) | a1l);
        for (k = 0; k < tail; ++k) {
            acc[0] += (int32_t)w[k] * x[4 * groups + k];
            acc[1] += (int32_t)w[tail + k] * x[4 * groups + k];
        }
        return w + 2 * tail;
    }
#endif
    for (r = 0; r < rows; ++r) {
        int64_t a = 0;
        for (g = 0; g < groups; ++g) {
            for (k = 0; k < 4; ++k) a += (int32_t)w[(g * rows + r) * 4 + k] * ((int32_t)x[4 * g + s16_order[k]] - in_zp);
        }
        for (k = 0; k < tail; ++k) a += (int32_t)w[groups * rows * 4 + r * tail + k] * ((int32_t)x[4 * groups + k] - in_zp);
        acc[r] += a;
    }
    return w + rows * depth;
}

/* The "weights16" layout (pack_rows_s16_wide in ops/fully_connected.py): rows in groups of four
 * (a last group of fewer), per group of four depth values each row's two words of int16 pairs
 * (w0, w1), (w2, w3), SMLAD's operands against the input's two words as they lie in memory; then
 * each row's depth % 4 tail, a weight a word. Adds rows (1-4) of them by (x - in_zp) to acc[];
 * returns the weights after them. */
static const void *s16_wide_rows(const int16_t *x, const void *weights, int32_t depth, int32_t rows, int32_t in_zp,
                                 int64_t *acc)
{
    const int32_t groups = depth / 4, tail = depth % 4;
    const int32_t *w = (const int32_t *)weights;
    int32_t g = 0, r, k;
#if KILN_DSP
    /* In blocks of 127 groups (508 values: int16 x int8 sums within int32, as kiln_fc_s16_rows),
     * 16 instructions per 16 MACs: no SXTB16, the weights' words by LDRD. */
    for (; rows == 4 && in_zp == 0 && g < groups;) {
        const int32_t n0 = groups - g < 127 ? groups - g : 127;
        const int16_t *xp = x + 4 * g;
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, n = n0;
        uint32_t xa, xb, t, v;
#define S16_WIDE_ROW(A)                                                                             \
    "ldrd   %[t], %[v], [%[w]], #8\n\t"                                                             \
    "smlad  %[" A "], %[xa], %[t], %[" A "]\n\t"                                                    \
    "smlad  %[" A "], %[xb], %[v], %[" A "]\n\t"
        __asm__ volatile("1:\n\t"
                         "ldr    %[xa], [%[x]], #4\n\t" /* (not LDRD: a batch may start at an odd int16) */
                         "ldr    %[xb], [%[x]], #4\n\t" S16_WIDE_ROW("a0") S16_WIDE_ROW("a1") S16_WIDE_ROW("a2")
                         S16_WIDE_ROW("a3")
                         "subs   %[n], %[n], #1\n\t"
                         "bne    1b\n\t"
                         : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(xp), [w] "+r"(w),
                           [n] "+r"(n), [xa] "=&r"(xa), [xb] "=&r"(xb), [t] "=&r"(t), [v] "=&r"(v)
                         :
                         : "cc", "memory");
#undef S16_WIDE_ROW
        acc[0] += a0, acc[1] += a1, acc[2] += a2, acc[3] += a3;
        g += n0;
    }
#endif
    for (; g < groups; ++g) { /* (rows of a last group, an input zero point, no DSP) */
        for (r = 0; r < rows; ++r, w += 2) {
            int64_t a = 0;
            for (k = 0; k < 4; ++k) {
                const uint32_t word = (uint32_t)w[k / 2];
                a += (int32_t)(int16_t)(k & 1 ? word >> 16 : word & 0xFFFFu) * ((int32_t)x[4 * g + k] - in_zp);
            }
            acc[r] += a;
        }
    }
    for (r = 0; r < rows; ++r)
        for (k = 0; k < tail; ++k, ++w) acc[r] += (int64_t)*w * ((int32_t)x[4 * groups + k] - in_zp);
    return w;
}

static const void *s16_rows(const int16_t *x, const void *w, int32_t depth, int32_t rows, int32_t in_zp, int64_t *acc)
{
    return kiln_fc_s16_rows(x, (const int8_t *)w, depth, rows, in_zp, acc);
}

/* Batch by batch, up to four rows at a time (the layout's groups: after the fours, rest_alone the
 * rest as one group, else in twos and ones), then TFLite Micro's rescaling. */
static void fully_connected_s16(const int16_t *in, const void *weights, const void *bias, int16_t *out,
                                const kiln_fc_s16_params_t *p,
                                const void *(*rows_of)(const int16_t *, const void *, int32_t, int32_t, int32_t,
                                                       int64_t *),
                                int rest_alone)
{
    int32_t b, u, j;
    for (b = 0; b < p->batches; ++b, in += p->depth, out += p->units) {
        const void *w = weights;
        for (u = 0; u < p->units; u += j) {
            int64_t sums[4] = {0, 0, 0, 0};
            const int32_t left = p->units - u, done = left >= 4 ? 4 : rest_alone ? left : left >= 2 ? 2 : 1;
            w = rows_of(in, w, p->depth, done, p->in_zp, sums);
            for (j = 0; j < done; ++j) {
                const int32_t k = p->per_channel ? u + j : 0;
                const int32_t r = kiln_rescale_16x8(sums[j], bias, u + j, p->acc64, p->mult[k], p->shift[k]);
                out[u + j] = (int16_t)kiln_clamp_i32(r + p->out_zp, p->act_min, p->act_max);
            }
        }
    }
}

void kiln_fully_connected_s16(const int16_t *in, const int8_t *weights, const void *bias, int16_t *out,
                              const kiln_fc_s16_params_t *p)
{
    fully_connected_s16(in, weights, bias, out, p, s16_rows, 0); /* (pack_rows_s16) */
}

void kiln_fully_connected_s16_w16(const int16_t *in, const int32_t *weights, const void *bias, int16_t *out,
                                  const kiln_fc_s16_params_t *p)
{
    fully_connected_s16(in, weights, bias, out, p, s16_wide_rows, 1); /* (pack_rows_s16_wide) */
}
