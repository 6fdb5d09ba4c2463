/* UNIDIRECTIONAL_SEQUENCE_LSTM as TFLite Micro computes it: per time step and batch, four gates
 *     gate = act(FC(x, W_gate) + bias_gate + FC(h, R_gate))   (act: sigmoid; tanh for the cell gate)
 * then the cell state c = forget * c + input * cell_gate (clipped when cell_clip > 0) and the
 * hidden state h = output * tanh(c), which is also the step's output. The hidden and cell states
 * are the model's variable tensors: updated in place, kept from one invocation to the next.
 *
 * Batches never mix, so each batch runs its own sequence of steps whatever the layout
 * (time-major [steps][batches][n] or batch-major [batches][steps][n]); the results are those of
 * TFLite Micro, which runs all batches of a step at once when time-major.
 *
 * Quantized (int8 or int16 activations, int8 weights, int16 cell state): each FC is rescaled on
 * its own to int16 at scale 2^-12 and the two are added with saturation, as TFLite Micro does; the
 * gates come out at scale 2^-15 (kiln_sigmoid_s16); the products are rescaled with TFLite's
 * double rounding and saturated to int16 (or the hidden state's type). */
#include <float.h>
#include <string.h>

#include "kiln_dsp.h"
#include "kiln_fixedpoint.h"
#include "kiln_runtime.h"

/* input x (an element step apart: n_input elements), output y: where step t of batch b lies */
static int32_t lstm_row(const kiln_lstm_dims_t *d, int32_t b, int32_t t)
{
    return d->time_major ? t * d->batches + b : b * d->steps + t;
}

/* ---------------------------------------------------------------- float32 */

static float clamp_f(float v)
{
    /* TFLite's activation range of NONE: [lowest, max] */
    return v < -FLT_MAX ? -FLT_MAX : (FLT_MAX < v ? FLT_MAX : v);
}

/* gate = act(W x + bias + R h), into gate; tmp holds R h */
static void gate_f32(const kiln_lstm_dims_t *d, const float *x, const float *h, const float *w, const float *r,
                     const float *bias, int32_t tanh_act, float *gate, float *tmp)
{
    const int32_t n = d->n_cell;
    int32_t i;
    kiln_fully_connected_f32(x, w, bias, gate, 1, d->n_input, n, -FLT_MAX, FLT_MAX);
    kiln_fully_connected_f32(h, r, NULL, tmp, 1, n, n, -FLT_MAX, FLT_MAX);
    for (i = 0; i < n; ++i) gate[i] = gate[i] + tmp[i];
    if (tanh_act) {
        kiln_tanh_f32(gate, gate, n);
    } else {
        kiln_logistic_f32(gate, gate, n);
    }
}

void kiln_lstm_f32(const float *in, float *out, float *hidden, float *cell, const kiln_lstm_f32_params_t *p,
                   float *scratch)
{
    const kiln_lstm_dims_t *d = &p->dims;
    const int32_t n = d->n_cell;
    float *f = scratch, *ig = scratch + n, *g = scratch + 2 * n, *tmp = scratch + 3 * n;
    int32_t b, t, i;
    for (b = 0; b < d->batches; ++b) {
        float *h = hidden + b * n, *c = cell + b * n;
        for (t = 0; t < d->steps; ++t) {
            const int32_t row = lstm_row(d, b, t);
            const float *x = in + row * d->n_input;
            gate_f32(d, x, h, p->w_in[1], p->w_rec[1], p->bias[1], 0, f, tmp);
            gate_f32(d, x, h, p->w_in[0], p->w_rec[0], p->bias[0], 0, ig, tmp);
            gate_f32(d, x, h, p->w_in[2], p->w_rec[2], p->bias[2], 1, g, tmp);
            for (i = 0; i < n; ++i) {
                float v = clamp_f(f[i] * c[i]) + clamp_f(ig[i] * g[i]);
                if (p->cell_clip > 0.0f) {
                    v = v < p->cell_clip ? v : p->cell_clip; /* std::max(std::min(clip, v), -clip) */
                    v = v < -p->cell_clip ? -p->cell_clip : v;
                }
                c[i] = v;
            }
            gate_f32(d, x, h, p->w_in[3], p->w_rec[3], p->bias[3], 0, ig, tmp); /* output gate */
            kiln_tanh_f32(c, f, n);
            for (i = 0; i < n; ++i) h[i] = clamp_f(f[i] * ig[i]);
            memcpy(out + row * n, h, (size_t)n * sizeof(float));
        }
    }
}

/* ---------------------------------------------------------------- quantized */

static int16_t sat16(int32_t v)
{
    return (int16_t)kiln_clamp_i32(v, INT16_MIN, INT16_MAX);
}

/* int8 x by int8 weights [units][depth] into int16 at scale 2^-12: bias (zero points folded in)
 * plus the dot product in int32, TFLite's rescaling, saturated. */
static void fc_s8_s16(const int8_t *x, const int8_t *w, const int32_t *bias, int32_t depth, int32_t units,
                      int32_t mult, int32_t shift, int16_t *out)
{
    int32_t u, k;
    for (u = 0; u < units; ++u, w += depth) {
        int32_t acc = bias != NULL ? bias[u] : 0;
        k = 0;
#if KILN_DSP
        for (; k + 4 <= depth; k += 4) { /* two SMLADs per 4 bytes: even bytes, then odd ones */
            const uint32_t a = kiln_load32(x + k), v = kiln_load32(w + k);
            acc = __smlad(kiln_even(a), kiln_even(v), acc);
            acc = __smlad(kiln_odd(a), kiln_odd(v), acc);
        }
#endif
        for (; k < depth; ++k) acc += (int32_t)x[k] * w[k];
        out[u] = sat16(kiln_mul_by_qm(acc, mult, shift));
    }
}

/* The two FCs of a gate (input and recurrent) for one batch, saturated sum into gate. */
static void gate_fc_s8(const kiln_lstm_q_params_t *p, int32_t k, const int8_t *x, const int8_t *h, int16_t *gate,
                       int16_t *tmp)
{
    const kiln_lstm_dims_t *d = &p->dims;
    const int32_t n = d->n_cell;
    int32_t i;
    fc_s8_s16(x, (const int8_t *)p->w_in[k], (const int32_t *)p->b_in[k], d->n_input, n, p->mult_in[k],
              p->shift_in[k], gate);
    fc_s8_s16(h, (const int8_t *)p->w_rec[k], (const int32_t *)p->b_rec[k], n, n, p->mult_rec[k], p->shift_rec[k],
              tmp);
    for (i = 0; i < n; ++i) gate[i] = sat16((int32_t)gate[i] + tmp[i]);
}

static void gate_fc_s16(const kiln_lstm_q_params_t *p, int32_t k, const int16_t *x, const int16_t *h, int16_t *gate,
                        int16_t *tmp)
{
    const kiln_lstm_dims_t *d = &p->dims;
    const int32_t n = d->n_cell;
    kiln_fc_s16_params_t fc;
    int32_t i;
    fc.batches = 1, fc.depth = d->n_input, fc.units = n, fc.mult = &p->mult_in[k], fc.shift = &p->shift_in[k];
    fc.per_channel = 0, fc.acc64 = 1, fc.in_zp = p->in_zp, fc.out_zp = 0, fc.act_min = INT16_MIN;
    fc.act_max = INT16_MAX;
    kiln_fully_connected_s16(x, (const int8_t *)p->w_in[k], p->b_in[k], gate, &fc);
    fc.depth = n, fc.mult = &p->mult_rec[k], fc.shift = &p->shift_rec[k], fc.in_zp = p->h_zp;
    kiln_fully_connected_s16(h, (const int8_t *)p->w_rec[k], p->b_rec[k], tmp, &fc);
    for (i = 0; i < n; ++i) gate[i] = sat16((int32_t)gate[i] + tmp[i]);
}

/* MultiplyByQuantizedMultiplier(a * b) (both int16), plus zp, clamped to [lo, hi] */
static int32_t mul_q(int32_t a, int32_t b, int32_t mult, int32_t shift, int32_t zp, int32_t lo, int32_t hi)
{
    return kiln_clamp_i32(kiln_mul_by_qm(a * b, mult, shift) + zp, lo, hi);
}

/* One step of one batch: the gates from x and h (act16 = 0: int8, 1: int16), then c and h in place. */
static void step_q(const kiln_lstm_q_params_t *p, const void *x, void *h, int16_t *c, int32_t act16,
                   int16_t *scratch)
{
    const int32_t n = p->dims.n_cell;
    int16_t *f = scratch, *ig = scratch + n, *g = scratch + 2 * n, *tmp = scratch + 3 * n;
    const kiln_sigmoid_s16_params_t sigmoid = {3, 0, 0}, gate_tanh = {3, 0, 1}; /* inputs at scale 2^-12 */
    const kiln_sigmoid_s16_params_t cell_tanh = {p->tanh_mult, p->tanh_shift, 1};
    const int32_t clip = p->cell_clip;
    int32_t i, k;
    for (k = 0; k < 3; ++k) { /* forget, input, cell gates */
        int16_t *gate = k == 0 ? f : (k == 1 ? ig : g);
        const int32_t which = k == 0 ? 1 : (k == 1 ? 0 : 2);
        if (act16) {
            gate_fc_s16(p, which, (const int16_t *)x, (const int16_t *)h, gate, tmp);
        } else {
            gate_fc_s8(p, which, (const int8_t *)x, (const int8_t *)h, gate, tmp);
        }
        kiln_sigmoid_s16(gate, gate, n, k == 2 ? &gate_tanh : &sigmoid, p->sigmoid_table);
    }
    for (i = 0; i < n; ++i) {
        const int32_t kept = mul_q(f[i], c[i], p->forget_mult, p->forget_shift, 0, INT16_MIN, INT16_MAX);
        const int32_t added = mul_q(ig[i], g[i], p->input_mult, p->input_shift, 0, INT16_MIN, INT16_MAX);
        int32_t v = kiln_clamp_i32(kept + added, INT16_MIN, INT16_MAX);
        if (clip >= 0) v = kiln_clamp_i32(v, -clip, clip); /* a clip under one step is 0 */
        c[i] = (int16_t)v;
    }
    if (act16) { /* output gate (from the old hidden state) */
        gate_fc_s16(p, 3, (const int16_t *)x, (const int16_t *)h, ig, tmp);
    } else {
        gate_fc_s8(p, 3, (const int8_t *)x, (const int8_t *)h, ig, tmp);
    }
    kiln_sigmoid_s16(ig, ig, n, &sigmoid, p->sigmoid_table);
    kiln_sigmoid_s16(c, f, n, &cell_tanh, p->sigmoid_table);
    for (i = 0; i < n; ++i) {
        const int32_t v = mul_q(f[i], ig[i], p->hidden_mult, p->hidden_shift, p->hidden_zp, p->hidden_min,
                                p->hidden_max);
        if (act16) {
            ((int16_t *)h)[i] = (int16_t)v;
        } else {
            ((int8_t *)h)[i] = (int8_t)v;
        }
    }
}

static void lstm_q(const void *in, void *out, void *hidden, int16_t *cell, const kiln_lstm_q_params_t *p,
                   int16_t *scratch, int32_t act16)
{
    const kiln_lstm_dims_t *d = &p->dims;
    const int32_t n = d->n_cell, size = act16 ? 2 : 1;
    int32_t b, t;
    for (b = 0; b < d->batches; ++b) {
        char *h = (char *)hidden + b * n * size;
        for (t = 0; t < d->steps; ++t) {
            const int32_t row = lstm_row(d, b, t);
            step_q(p, (const char *)in + row * d->n_input * size, h, cell + b * n, act16, scratch);
            memcpy((char *)out + row * n * size, h, (size_t)(n * size));
        }
    }
}

void kiln_lstm_s8(const int8_t *in, int8_t *out, int8_t *hidden, int16_t *cell, const kiln_lstm_q_params_t *p,
                  int16_t *scratch)
{
    lstm_q(in, out, hidden, cell, p, scratch, 0);
}

void kiln_lstm_s16(const int16_t *in, int16_t *out, int16_t *hidden, int16_t *cell, const kiln_lstm_q_params_t *p,
                   int16_t *scratch)
{
    lstm_q(in, out, hidden, cell, p, scratch, 1);
}
