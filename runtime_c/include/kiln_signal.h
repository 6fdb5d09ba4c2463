/* TFLite Micro's signal library (its audio front end's custom operators), computed as its kernels
 * compute them: kiln_fft.c (RFFT, IRFFT, FFT auto-scale), kiln_filter_bank.c (energy, mel filter
 * bank, square root, spectral subtraction, PCAN, log), kiln_framing.c (window, framer, stacker,
 * delay, overlap-add). Operators that keep state between invocations get it from the caller (the
 * model's state area), all zero bytes meaning "just reset". */
#ifndef KILN_SIGNAL_H
#define KILN_SIGNAL_H

#include <stdbool.h>
#include <stdint.h>

/* ---- FFT (kiln_fft.c): KISS FFT's mixed-radix algorithm in its fixed-point arithmetic, which is
 * what TFLite Micro runs, so the int16 and int32 results are equal to its bit for bit ---- */
typedef struct {
    int16_t r, i;
} kiln_cpx_s16_t;
typedef struct {
    int32_t r, i;
} kiln_cpx_s32_t;
typedef struct {
    float r, i;
} kiln_cpx_f32_t;

/* A real FFT of fft_length = 2 n samples: a complex FFT of n points (radices 2, 3, 4, 5 as
 * `factors` lists them: p1, m1, p2, m2, ... with p * m the size of each stage) and a final split.
 * twiddles: n complex, super_twiddles: n / 2 complex, of the sample type, computed by the compiler
 * as KISS FFT computes them (kiln/compiler/ops/signal_fft.py). */
typedef struct {
    int32_t n, inverse;
    const int32_t *factors;
    const void *twiddles, *super_twiddles;
} kiln_fft_plan_t;

/* frames x in_len samples (in_len <= fft_length, zero-padded) -> frames x (n + 1) bins (re, im).
 * scratch: fft_length samples and n complex values of the sample type. */
void kiln_rfft_s16(const int16_t *in, int16_t *out, int32_t frames, int32_t in_len, const kiln_fft_plan_t *p,
                   void *scratch);
void kiln_rfft_s32(const int32_t *in, int32_t *out, int32_t frames, int32_t in_len, const kiln_fft_plan_t *p,
                   void *scratch);
void kiln_rfft_f32(const float *in, float *out, int32_t frames, int32_t in_len, const kiln_fft_plan_t *p,
                   void *scratch);
/* frames x (n + 1) bins (re, im; in_len values a frame) -> frames x fft_length samples.
 * scratch: n complex values of the sample type. */
void kiln_irfft_s16(const int16_t *in, int16_t *out, int32_t frames, int32_t in_len, const kiln_fft_plan_t *p,
                    void *scratch);
void kiln_irfft_s32(const int32_t *in, int32_t *out, int32_t frames, int32_t in_len, const kiln_fft_plan_t *p,
                    void *scratch);
void kiln_irfft_f32(const float *in, float *out, int32_t frames, int32_t in_len, const kiln_fft_plan_t *p,
                    void *scratch);
/* Scales n samples up by the largest power of two that keeps them in int16; returns the shift. */
int32_t kiln_fft_auto_scale_s16(const int16_t *in, int16_t *out, int32_t n);

/* ---- filter bank (kiln_filter_bank.c) ---- */
/* |bin|^2 of the int16 complex bins [start, end) (the others are written 0) */
void kiln_energy_s16(const int16_t *bins, uint32_t *out, int32_t n, int32_t start, int32_t end);

typedef struct {
    int32_t channels;
    const int16_t *weights, *unweights;                        /* [weight count] */
    const int16_t *freq_starts, *weight_starts, *widths;       /* [channels + 1] */
} kiln_filter_bank_params_t;
/* Triangular (mel) filters over the energies: each bin's energy x weight to its channel, x
 * unweight to the one before; channels + 1 sums of which the first is dropped. */
void kiln_filter_bank_u32(const uint32_t *in, uint64_t *out, const kiln_filter_bank_params_t *p);
/* out[i] = isqrt(in[i]) >> shift (TFLite Micro's rounded integer square root) */
void kiln_filter_bank_sqrt(const uint64_t *in, uint32_t *out, int32_t n, const int32_t *shift);

typedef struct {
    int32_t channels, smoothing_bits, subtraction_bits, clamping;
    uint32_t smoothing[2], one_minus_smoothing[2]; /* even channels [0], odd ones [1] */
    uint32_t min_signal_remaining;
} kiln_spectral_subtraction_params_t;
/* Noise reduction: a running noise estimate per channel (`noise`, the operator's state, zero at a
 * reset) subtracted from each channel, leaving at least min_signal_remaining of it. */
void kiln_spectral_subtraction(const uint32_t *in, uint32_t *out, uint32_t *noise_out, uint32_t *noise,
                               const kiln_spectral_subtraction_params_t *p);
/* Per-channel automatic gain control (PCAN) of n channels by their noise estimate. */
void kiln_pcan(const uint32_t *in, const uint32_t *noise, uint32_t *out, int32_t n, const int16_t *gain_lut,
               int32_t snr_shift);
/* out[i] = min(log(in[i] << correction_bits) x output_scale / 2^16, INT16_MAX), 0 for inputs <= 1 */
void kiln_filter_bank_log(const uint32_t *in, int16_t *out, int32_t n, int32_t output_scale,
                          int32_t correction_bits);

/* ---- framing (kiln_framing.c) ---- */
/* out = saturate16((in * window) >> shift), the window repeated over n / size frames */
void kiln_window_s16(const int16_t *in, const int16_t *window, int16_t *out, int32_t n, int32_t size, int32_t shift);

/* Framer: rows of steps x step new samples each, cut into frames of frame_size every step samples
 * (state per row: `capacity` samples and a count). valid: false while a row has not filled a frame. */
typedef struct {
    int32_t rows, steps, step, frame_size, capacity, prefill;
} kiln_framer_params_t;
void kiln_framer_s16(const int16_t *in, int16_t *out, bool *valid, uint8_t *state, const kiln_framer_params_t *p);

/* Stacker: each invocation's channels appended to a history of left + 1 + right frames (the first
 * frame repeated left times), output every step frames. */
typedef struct {
    int32_t channels, size, step_size; /* size = channels x (left + right + 1) */
    int32_t left;
} kiln_stacker_params_t;
void kiln_stacker_s16(const int16_t *in, int16_t *out, bool *valid, uint8_t *state, const kiln_stacker_params_t *p);

/* Delay: each row of `frame` samples delayed by `delay` samples (state: delay samples a row). */
void kiln_delay_s16(const int16_t *in, int16_t *out, int16_t *state, int32_t rows, int32_t frame, int32_t delay);

/* Overlap-add: rows x frames of frame_size samples, each added into the row's buffer (state:
 * frame_size samples a row) which then gives out its first step samples and moves on by step. */
void kiln_overlap_add_s16(const int16_t *in, int16_t *out, int16_t *state, int32_t rows, int32_t frames,
                          int32_t frame_size, int32_t step);
void kiln_overlap_add_f32(const float *in, float *out, float *state, int32_t rows, int32_t frames,
                          int32_t frame_size, int32_t step);

#endif
