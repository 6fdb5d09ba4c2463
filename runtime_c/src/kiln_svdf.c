/* SVDF as TFLite Micro's kernel computes it (svdf_common.cc): per invocation and batch,
 *     state[f] <- state[f][1:] ++ [FC(x, weights_feature)[f]]        (each filter's memory)
 *     out[u]   =  act(bias[u] + sum over its rank filters f of weights_time[f] . state[f])
 * The state is the model's variable tensor, kept between invocations. TFLite Micro shifts the
 * whole state array one place left and then overwrites each filter's newest place; so does this.
 *
 * Quantized (int8 input and output, int16 or int8 state): the feature FC is rescaled into the
 * state's type (clamped, then its zero point added, wrapping as TFLite Micro's store does); the
 * time products accumulate in int32; the unit sums are rescaled to int8 and clamped, with no fused
 * activation (TFLite Micro ignores it there). Float: the same sums in TFLite Micro's order. */
#include <math.h>
#include <string.h>

#include "kiln_dsp.h"
#include "kiln_fixedpoint.h"
#include "kiln_runtime.h"

/* Every element of the state one place left: bytes [0, total - size) <- [size, total). On
 * Cortex-M (little-endian, unaligned loads allowed) a word at a time from the aligned words
 * either side, for int16 and int8 states whose shift is not a whole word. */
static void shift_left(void *state, int32_t total, int32_t size)
{
#if KILN_DSP
    if (size < 4 && total >= 4 && ((uintptr_t)state & 3u) == 0) {
        uint32_t *w = (uint32_t *)state;
        const int32_t words = total / 4 - 1, right = 8 * size, left = 32 - right;
        int32_t i;
        uint32_t a = w[0];
        for (i = 0; i < words; ++i) {
            const uint32_t b = w[i + 1];
            w[i] = (a >> right) | (b << left);
            a = b;
        }
        memmove((char *)state + 4 * words, (char *)state + 4 * words + size, (size_t)(total - 4 * words - size));
        return;
    }
#endif
    if (total > size) memmove(state, (char *)state + size, (size_t)(total - size));
}

static float svdf_act(float v, int32_t act)
{
    switch (act) {
    case 1: return v < 0.0f ? 0.0f : v;
    case 2: return v < -1.0f ? -1.0f : (v > 1.0f ? 1.0f : v);
    case 3: return v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v);
    case 4: return tanhf(v);
    case 5: return signbit(v) ? 1.0f : 0.0f;
    default: return v;
    }
}

void kiln_svdf_f32(const float *in, float *state, float *out, const kiln_svdf_f32_params_t *p)
{
    const kiln_svdf_dims_t *d = &p->dims;
    const int32_t n_mem = d->memory, n_f = d->filters, units = d->filters / d->rank;
    int32_t b, f, u, r, k;
    shift_left(state, d->batches * n_f * n_mem * 4, 4);
    for (b = 0; b < d->batches; ++b) {
        const float *x = in + b * d->input_size;
        float *s = state + b * n_f * n_mem;
        for (f = 0; f < n_f; ++f) {
            const float *w = p->w_feature + f * d->input_size;
            float dot = 0.0f;
            for (k = 0; k < d->input_size; ++k) dot += w[k] * x[k];
            s[f * n_mem + n_mem - 1] = dot;
        }
        for (u = 0; u < units; ++u) {
            float total = p->bias != NULL ? p->bias[u] : 0.0f;
            for (r = 0; r < d->rank; ++r) {
                const int32_t f_ = u * d->rank + r;
                const float *w = p->w_time + f_ * n_mem, *m = s + f_ * n_mem;
                float dot = 0.0f;
                for (k = 0; k < n_mem; ++k) dot += w[k] * m[k];
                total += dot;
            }
            out[b * units + u] = svdf_act(total, p->act);
        }
    }
}

/* One filter's memory (int16) by its time weights, in int32 (wrapping as TFLite's sum does). */
static inline int32_t time_dot_s16(const int16_t *w, const int16_t *m, int32_t n, int32_t acc)
{
    int32_t k = 0;
#if KILN_DSP
    for (; k + 2 <= n; k += 2) {
        acc = __smlad((int32_t)kiln_load32((const int8_t *)(w + k)), (int32_t)kiln_load32((const int8_t *)(m + k)), acc);
    }
#endif
    for (; k < n; ++k) acc = (int32_t)((uint32_t)acc + (uint32_t)((int32_t)w[k] * m[k]));
    return acc;
}

static inline int32_t time_dot_s8(const int8_t *w, const int8_t *m, int32_t n, int32_t acc)
{
    int32_t k;
    for (k = 0; k < n; ++k) acc += (int32_t)w[k] * m[k];
    return acc;
}

/* state8: the state and time weights are int8, else int16 (a constant once inlined) */
static KILN_SPECIALIZE void svdf_q(const int8_t *in, void *state, int8_t *out, const kiln_svdf_q_params_t *p,
                                   int32_t *acc, int32_t state8)
{
    const kiln_svdf_dims_t d = p->dims;
    const int32_t n_mem = d.memory, n_f = d.filters, rank = d.rank, units = d.filters / d.rank;
    const int32_t size = state8 ? 1 : 2;
    const kiln_rescale_t feature = p->feature, to_out = p->out; /* copies the stores cannot alias */
    const int32_t zp = p->state_zp;
    const int32_t *time_bias = p->time_bias, *bias = p->bias;
    const void *w_time = p->w_time;
    int32_t b, f, u, r;
    shift_left(state, d.batches * n_f * n_mem * size, size);
    for (b = 0; b < d.batches; ++b) {
        char *s = (char *)state + b * n_f * n_mem * size;
        memcpy(acc, p->feature_bias, (size_t)n_f * sizeof(int32_t));
        kiln_fc_s8_acc(in + b * d.input_size, p->feature_packed, d.input_size, n_f, acc);
        for (f = 0; f < n_f; ++f) {
            int32_t v = kiln_rescale(acc[f], &feature);
            v = (state8 ? kiln_sat8(v) : kiln_sat16(v)) + zp;
            if (state8) { /* TFLite Micro's store into int8 wraps a sum past its range */
                ((int8_t *)(void *)s)[f * n_mem + n_mem - 1] = (int8_t)(((v + 128) & 255) - 128);
            } else {
                ((int16_t *)(void *)s)[f * n_mem + n_mem - 1] = (int16_t)(((v + 32768) & 65535) - 32768);
            }
        }
        for (u = 0; u < units; ++u) {
            uint32_t total = bias != NULL ? (uint32_t)bias[u] : 0u;
            for (r = 0; r < rank; ++r) {
                const int32_t f_ = u * rank + r;
                const int32_t start = time_bias != NULL ? time_bias[f_] : 0;
                int32_t dot;
                if (state8) {
                    dot = time_dot_s8((const int8_t *)w_time + f_ * n_mem, (const int8_t *)(void *)s + f_ * n_mem,
                                      n_mem, start);
                } else {
                    dot = time_dot_s16((const int16_t *)w_time + f_ * n_mem, (const int16_t *)(void *)s + f_ * n_mem,
                                       n_mem, start);
                }
                total += (uint32_t)dot;
            }
            out[b * units + u] = (int8_t)kiln_sat8(kiln_rescale((int32_t)total, &to_out));
        }
    }
}

void kiln_svdf_s8(const int8_t *in, int16_t *state, int8_t *out, const kiln_svdf_q_params_t *p, int32_t *scratch)
{
    svdf_q(in, state, out, p, scratch, 0);
}

void kiln_svdf_s8_state8(const int8_t *in, int8_t *state, int8_t *out, const kiln_svdf_q_params_t *p,
                         int32_t *scratch)
{
    svdf_q(in, state, out, p, scratch, 1);
}
