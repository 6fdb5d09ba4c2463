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
    return (int16_t)kiln_sat16(v);
}

/* gates[i] (add: plus gates[i], saturated) + acc[i] rescaled by r and saturated, i < n */
static void rescale_gate(int16_t *gates, const int32_t *acc, int32_t n, const kiln_rescale_t *r, int32_t add)
{
    int32_t i;
    if (r->fast && add) { /* the common cases, without a branch per element */
        for (i = 0; i < n; ++i) gates[i] = sat16(gates[i] + sat16(kiln_rq(acc[i], r->q)));
    } else if (r->fast) {
        for (i = 0; i < n; ++i) gates[i] = sat16(kiln_rq(acc[i], r->q));
    } else {
        for (i = 0; i < n; ++i) gates[i] = sat16((add ? gates[i] : 0) + sat16(kiln_rescale(acc[i], r)));
    }
}

/* The four gates' FCs of one batch for int8 activations (gates: input, forget, cell, output, n each):
 * all four gates' input weights as one packed matrix through the DSP FC loop, rescaled per gate to
 * int16 at 2^-12, then the recurrent ones likewise, added with saturation. acc: 4 n words. */
static void gates_fc_s8(const kiln_lstm_q_params_t *p, const int8_t *x, const int8_t *h, int16_t *gates,
                        int32_t *acc)
{
    const kiln_lstm_dims_t *d = &p->dims;
    const int32_t n = d->n_cell;
    int32_t k;
    memcpy(acc, p->bias_in, (size_t)(4 * n) * sizeof(int32_t));
    kiln_fc_s8_acc(x, p->packed_in, d->n_input, 4 * n, acc);
    for (k = 0; k < 4; ++k) rescale_gate(gates + k * n, acc + k * n, n, &p->rq_in[k], 0);
    if (p->bias_rec != NULL) {
        memcpy(acc, p->bias_rec, (size_t)(4 * n) * sizeof(int32_t));
    } else {
        memset(acc, 0, (size_t)(4 * n) * sizeof(int32_t));
    }
    kiln_fc_s8_acc(h, p->packed_rec, n, 4 * n, acc);
    for (k = 0; k < 4; ++k) rescale_gate(gates + k * n, acc + k * n, n, &p->rq_rec[k], 1);
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

/* a * b (both int16) rescaled by r, clamped to [lo, hi] */
static int32_t mul_q(int32_t a, int32_t b, const kiln_rescale_t *r, int32_t lo, int32_t hi)
{
    return kiln_clamp_i32(kiln_rescale(a * b, r), lo, hi);
}

/* The cell and hidden states of one batch after a step, from its gates (f forget, ig input, g cell,
 * o output; all at 2^-15); tc: n int16 of room. */
static void update_q(const kiln_lstm_q_params_t *p, void *h, int16_t *c, int32_t act16, const int16_t *f,
                     const int16_t *ig, const int16_t *g, const int16_t *o, int16_t *tc)
{
    const int32_t n = p->dims.n_cell, clip = p->cell_clip;
    const kiln_sigmoid_s16_params_t cell_tanh = {p->tanh_mult, p->tanh_shift, 1};
    int32_t i;
    for (i = 0; i < n; ++i) {
        const int32_t kept = kiln_sat16(kiln_rescale(f[i] * c[i], &p->forget));
        const int32_t added = kiln_sat16(kiln_rescale(ig[i] * g[i], &p->input));
        int32_t v = kiln_sat16(kept + added);
        if (clip >= 0) v = kiln_clamp_i32(v, -clip, clip); /* a clip under one step is 0 */
        c[i] = (int16_t)v;
    }
    kiln_sigmoid_s16(c, tc, n, &cell_tanh, p->sigmoid_table);
    for (i = 0; i < n; ++i) {
        const int32_t v = mul_q(tc[i], o[i], &p->hidden, p->hidden_min, p->hidden_max);
        if (act16) {
            ((int16_t *)h)[i] = (int16_t)v;
        } else {
            ((int8_t *)h)[i] = (int8_t)v;
        }
    }
}

static const kiln_sigmoid_s16_params_t gate_sigmoid = {3, 0, 0}, gate_tanh = {3, 0, 1}; /* inputs at 2^-12 */

/* One int8 step of one batch. scratch: 4 n int16 gates, then 4 n words (the FC sums, then tanh(c)). */
static void step_s8(const kiln_lstm_q_params_t *p, const int8_t *x, int8_t *h, int16_t *c, int16_t *scratch)
{
    const int32_t n = p->dims.n_cell;
    int16_t *ig = scratch, *f = scratch + n, *g = scratch + 2 * n, *o = scratch + 3 * n;
    int32_t *acc = (int32_t *)(void *)(scratch + 4 * n);
    gates_fc_s8(p, x, h, scratch, acc);
    kiln_sigmoid_s16(ig, ig, 2 * n, &gate_sigmoid, p->sigmoid_table); /* input and forget gates */
    kiln_sigmoid_s16(g, g, n, &gate_tanh, p->sigmoid_table);
    kiln_sigmoid_s16(o, o, n, &gate_sigmoid, p->sigmoid_table);
    update_q(p, h, c, 0, f, ig, g, o, (int16_t *)(void *)acc);
}

/* One int16 step of one batch. scratch: 5 n int16. */
static void step_s16(const kiln_lstm_q_params_t *p, const int16_t *x, int16_t *h, int16_t *c, int16_t *scratch)
{
    const int32_t n = p->dims.n_cell;
    int16_t *gates = scratch, *tmp = scratch + 4 * n;
    int32_t k;
    for (k = 0; k < 4; ++k) {
        gate_fc_s16(p, k, x, h, gates + k * n, tmp);
        kiln_sigmoid_s16(gates + k * n, gates + k * n, n, k == 2 ? &gate_tanh : &gate_sigmoid, p->sigmoid_table);
    }
    update_q(p, h, c, 1, gates + n, gates, gates + 2 * n, gates + 3 * n, tmp);
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
            const void *x = (const char *)in + row * d->n_input * size;
            if (act16) {
                step_s16(p, (const int16_t *)x, (int16_t *)h, cell + b * n, scratch);
            } else {
                step_s8(p, (const int8_t *)x, (int8_t *)h, cell + b * n, scratch);
            }
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
