#include "kiln_dsp.h"
#include "kiln_fixedpoint.h"
#include "kiln_runtime.h"

#if KILN_DSP
/* steps x 16 MACs: one input vector (4 bytes per step) by four weight rows whose 4-byte chunks
 * alternate at w. Assembly for the same reason as in kiln_conv.c; 25 instructions per step. */
#define MAC_1X4_LOOP(x_start, w, steps)                                                           \
    do {                                                                                          \
        const int8_t *x_ = (x_start);                                                             \
        int32_t n_ = (steps), t_, xe_, xo_, vo_;                                                  \
        __asm__ volatile("1:\n\t"                                                                  \
                         "ldr    %[t], [%[x]], #4\n\t"                                            \
                         "sxtb16 %[xo], %[t], ror #8\n\t"                                         \
                         "sxtb16 %[xe], %[t]\n\t"                                                 \
                         "ldr    %[t], [%[w]], #4\n\t"                                            \
                         "sxtb16 %[vo], %[t], ror #8\n\t"                                         \
                         "sxtb16 %[t], %[t]\n\t"                                                  \
                         "smlad  %[a0], %[xe], %[t], %[a0]\n\t"                                   \
                         "smlad  %[a0], %[xo], %[vo], %[a0]\n\t"                                  \
                         "ldr    %[t], [%[w]], #4\n\t"                                            \
                         "sxtb16 %[vo], %[t], ror #8\n\t"                                         \
                         "sxtb16 %[t], %[t]\n\t"                                                  \
                         "smlad  %[a1], %[xe], %[t], %[a1]\n\t"                                   \
                         "smlad  %[a1], %[xo], %[vo], %[a1]\n\t"                                  \
                         "ldr    %[t], [%[w]], #4\n\t"                                            \
                         "sxtb16 %[vo], %[t], ror #8\n\t"                                         \
                         "sxtb16 %[t], %[t]\n\t"                                                  \
                         "smlad  %[a2], %[xe], %[t], %[a2]\n\t"                                   \
                         "smlad  %[a2], %[xo], %[vo], %[a2]\n\t"                                  \
                         "ldr    %[t], [%[w]], #4\n\t"                                            \
                         "sxtb16 %[vo], %[t], ror #8\n\t"                                         \
                         "sxtb16 %[t], %[t]\n\t"                                                  \
                         "smlad  %[a3], %[xe], %[t], %[a3]\n\t"                                   \
                         "smlad  %[a3], %[xo], %[vo], %[a3]\n\t"                                  \
                         "subs   %[n], %[n], #1\n\t"                                              \
                         "bne    1b\n\t"                                                          \
                         : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x_), \
                           [w] "+r"(w), [n] "+r"(n_), [t] "=&r"(t_), [xe] "=&r"(xe_), [xo] "=&r"(xo_), \
                           [vo] "=&r"(vo_)                                                        \
                         :                                                                        \
                         : "cc", "memory");                                                       \
    } while (0)
#endif

/* The weights are packed by the compiler (see pack_weights in ops/fully_connected.py): rows in
 * groups of four whose 4-byte chunks alternate, then each row's depth % 4 tail bytes; rows
 * left over after the last group are stored plainly. The input zero point is folded into bias,
 * so the loop is a plain dot product. Rescaling matches TFLite Micro's kernel bit for bit. */
void kiln_fully_connected_s8(const int8_t *in, const int8_t *packed, const int32_t *bias, int8_t *out,
                             const kiln_fc_s8_params_t *p)
{
    const int32_t depth = p->depth, units = p->units, chunks = depth / 4, tail = depth % 4;
    const int32_t out_zp = p->out_zp, act_min = p->act_min, act_max = p->act_max;
    const int32_t *mult = p->mult, *shift = p->shift;
    const int32_t per_channel = p->per_channel;
    int32_t b, u, d, k;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *x = in + b * depth;
        int8_t *y = out + b * units;
        const int8_t *w = packed;
        for (u = 0; u + 4 <= units; u += 4) {
            int32_t acc[4];
            int32_t a0 = bias[u], a1 = bias[u + 1], a2 = bias[u + 2], a3 = bias[u + 3];
#if KILN_DSP
            if (chunks > 0) MAC_1X4_LOOP(x, w, chunks);
#else
            for (d = 0; d < chunks * 4; d += 4, w += 16) {
                for (k = 0; k < 4; ++k) {
                    a0 += x[d + k] * w[k];
                    a1 += x[d + k] * w[4 + k];
                    a2 += x[d + k] * w[8 + k];
                    a3 += x[d + k] * w[12 + k];
                }
            }
#endif
            for (k = 0; k < tail; ++k) {
                const int32_t v = x[chunks * 4 + k];
                a0 += v * w[k];
                a1 += v * w[tail + k];
                a2 += v * w[2 * tail + k];
                a3 += v * w[3 * tail + k];
            }
            w += 4 * tail;
            acc[0] = a0;
            acc[1] = a1;
            acc[2] = a2;
            acc[3] = a3;
            for (k = 0; k < 4; ++k) {
                const int32_t m = per_channel ? u + k : 0;
                const int32_t v = kiln_mul_by_qm(acc[k], mult[m], shift[m]) + out_zp;
                y[u + k] = (int8_t)kiln_clamp_i32(v, act_min, act_max);
            }
        }
        for (; u < units; ++u, w += depth) {
            const int32_t m = per_channel ? u : 0;
            int32_t acc = bias[u], v;
            for (d = 0; d < depth; ++d) acc += x[d] * w[d];
            v = kiln_mul_by_qm(acc, mult[m], shift[m]) + out_zp;
            y[u] = (int8_t)kiln_clamp_i32(v, act_min, act_max);
        }
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
