/* The front end's framing stages as TFLite Micro's signal library computes them (window.cc,
 * framer.cc, stacker.cc, delay.cc, overlap_add.cc). Where TFLite Micro keeps a circular buffer,
 * this keeps the same samples in order at the start of the operator's state, with a count: the
 * outputs are the same, and a state of zero bytes is the state just after a reset. */
#include <string.h>

#include "kiln_fixedpoint.h"
#include "kiln_runtime.h"

void kiln_window_s16(const int16_t *in, const int16_t *window, int16_t *out, int32_t n, int32_t size, int32_t shift)
{
    int32_t i, k;
    for (i = 0; i < n; i += size)
        for (k = 0; k < size; ++k) out[i + k] = (int16_t)kiln_sat16(((int32_t)in[i + k] * window[k]) >> shift);
}

/* A row's state: the count of samples held, less the prefill (so that zero bytes are a reset
 * framer: `prefill` zero samples held), then the samples. */
typedef struct {
    int32_t held;
    int16_t samples[1];
} framer_row_t;

static size_t row_bytes(int32_t capacity)
{
    return (offsetof(framer_row_t, samples) + sizeof(int16_t) * (size_t)capacity + 7u) & ~(size_t)7u;
}

void kiln_framer_s16(const int16_t *in, int16_t *out, bool *valid, uint8_t *state, const kiln_framer_params_t *p)
{
    int32_t r, f;
    *valid = true;
    for (r = 0; r < p->rows; ++r) {
        framer_row_t *q = (framer_row_t *)(void *)(state + (size_t)r * row_bytes(p->capacity));
        for (f = 0; f < p->steps; ++f) {
            const int32_t frame = r * p->steps + f;
            int32_t held = q->held + p->prefill;
            int16_t *o = out + (size_t)frame * (size_t)p->frame_size;
            memcpy(q->samples + held, in + (size_t)frame * (size_t)p->step, sizeof(int16_t) * (size_t)p->step);
            held += p->step;
            if (held >= p->frame_size) {
                memcpy(o, q->samples, sizeof(int16_t) * (size_t)p->frame_size);
                held -= p->step;
                memmove(q->samples, q->samples + p->step, sizeof(int16_t) * (size_t)held);
            } else {
                memset(o, 0, sizeof(int16_t) * (size_t)p->frame_size); /* TFLite Micro leaves it unwritten */
                *valid = false;
            }
            q->held = held - p->prefill;
        }
    }
}

/* The stacker's state: the count held, whether the first frame came, then the samples. */
typedef struct {
    int32_t held, started;
    int16_t samples[1];
} stacker_state_t;

void kiln_stacker_s16(const int16_t *in, int16_t *out, bool *valid, uint8_t *state, const kiln_stacker_params_t *p)
{
    stacker_state_t *q = (stacker_state_t *)(void *)state;
    const size_t c = (size_t)p->channels;
    int32_t held = q->held, k;
    memcpy(q->samples + held, in, sizeof(int16_t) * c);
    held += p->channels;
    if (!q->started) { /* the first frame stands in for the left context before it */
        for (k = 0; k < p->left; ++k) {
            memcpy(q->samples + held, q->samples + held - p->channels, sizeof(int16_t) * c);
            held += p->channels;
        }
    }
    if (held >= p->size) {
        memcpy(out, q->samples, sizeof(int16_t) * (size_t)p->size);
        held -= p->step_size;
        memmove(q->samples, q->samples + p->step_size, sizeof(int16_t) * (size_t)held);
        *valid = true;
    } else {
        memset(out, 0, sizeof(int16_t) * (size_t)p->size); /* TFLite Micro leaves it unwritten */
        *valid = false;
    }
    q->held = held;
    q->started = 1;
}

void kiln_delay_s16(const int16_t *in, int16_t *out, int16_t *state, int32_t rows, int32_t frame, int32_t delay)
{
    int32_t r;
    for (r = 0; r < rows; ++r) {
        const int16_t *x = in + (size_t)r * (size_t)frame;
        int16_t *y = out + (size_t)r * (size_t)frame, *s = state + (size_t)r * (size_t)delay;
        if (delay >= frame) { /* out: the oldest `frame` held; held: the rest, then the input */
            memcpy(y, s, sizeof(int16_t) * (size_t)frame);
            memmove(s, s + frame, sizeof(int16_t) * (size_t)(delay - frame));
            memcpy(s + delay - frame, x, sizeof(int16_t) * (size_t)frame);
        } else { /* out: all held, then the input's start; held: the input's last `delay` */
            memcpy(y, s, sizeof(int16_t) * (size_t)delay);
            memcpy(y + delay, x, sizeof(int16_t) * (size_t)(frame - delay));
            memcpy(s, x + frame - delay, sizeof(int16_t) * (size_t)delay);
        }
    }
}

void kiln_overlap_add_s16(const int16_t *in, int16_t *out, int16_t *state, int32_t rows, int32_t frames,
                          int32_t frame_size, int32_t step)
{
    int32_t r, f, i;
    for (r = 0; r < rows; ++r) {
        int16_t *b = state + (size_t)r * (size_t)frame_size;
        for (f = 0; f < frames; ++f) {
            const int16_t *x = in + ((size_t)r * (size_t)frames + (size_t)f) * (size_t)frame_size;
            for (i = 0; i < frame_size; ++i) b[i] = (int16_t)kiln_sat16((int32_t)x[i] + b[i]);
            memcpy(out + ((size_t)r * (size_t)frames + (size_t)f) * (size_t)step, b, sizeof(int16_t) * (size_t)step);
            memmove(b, b + step, sizeof(int16_t) * (size_t)(frame_size - step));
            memset(b + frame_size - step, 0, sizeof(int16_t) * (size_t)step);
        }
    }
}

void kiln_overlap_add_f32(const float *in, float *out, float *state, int32_t rows, int32_t frames,
                          int32_t frame_size, int32_t step)
{
    int32_t r, f, i;
    for (r = 0; r < rows; ++r) {
        float *b = state + (size_t)r * (size_t)frame_size;
        for (f = 0; f < frames; ++f) {
            const float *x = in + ((size_t)r * (size_t)frames + (size_t)f) * (size_t)frame_size;
            for (i = 0; i < frame_size; ++i) b[i] += x[i];
            memcpy(out + ((size_t)r * (size_t)frames + (size_t)f) * (size_t)step, b, sizeof(float) * (size_t)step);
            memmove(b, b + step, sizeof(float) * (size_t)(frame_size - step));
            memset(b + frame_size - step, 0, sizeof(float) * (size_t)step);
        }
    }
}
