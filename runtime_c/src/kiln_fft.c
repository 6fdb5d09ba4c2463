/* RFFT, IRFFT and FFT auto-scale as TFLite Micro's signal library computes them (rfft.cc,
 * irfft.cc: KISS FFT v130's real FFT in int16, int32 and float; fft_auto_scale.cc). One body,
 * kiln_fft_template.h, instantiated per sample type: the fixed-point types need KISS FFT's exact
 * rounding and wrapping to equal TFLite Micro bit for bit. */
#include <stddef.h>

#include "kiln_runtime.h"

/* int16: samples add in int (exact), products in int32, Q15 twiddles */
#define KF_T int16_t
#define KF_CPX kiln_cpx_s16_t
#define KF_SUF s16
#define KF_RFFT_NAME kiln_rfft_s16
#define KF_IRFFT_NAME kiln_irfft_s16
#define KF_FIXED 1
#define KF_PROD int32_t
#define KF_FRACBITS 15
#define KF_SAMP_MAX 32767
#define KF_ADD(a, b) ((int32_t)(a) + (int32_t)(b))
#define KF_SUB(a, b) ((int32_t)(a) - (int32_t)(b))
#define KF_NEG(a) (-(int32_t)(a))
#include "kiln_fft_template.h"
#undef KF_T
#undef KF_CPX
#undef KF_SUF
#undef KF_RFFT_NAME
#undef KF_IRFFT_NAME
#undef KF_PROD
#undef KF_FRACBITS
#undef KF_SAMP_MAX
#undef KF_ADD
#undef KF_SUB
#undef KF_NEG

/* int32: sums wrap in 32 bits (as the int32 arithmetic of KISS FFT's C does), products in int64,
 * Q31 twiddles */
#define KF_T int32_t
#define KF_CPX kiln_cpx_s32_t
#define KF_SUF s32
#define KF_RFFT_NAME kiln_rfft_s32
#define KF_IRFFT_NAME kiln_irfft_s32
#define KF_PROD int64_t
#define KF_FRACBITS 31
#define KF_SAMP_MAX 2147483647
#define KF_ADD(a, b) ((int32_t)((uint32_t)(a) + (uint32_t)(b)))
#define KF_SUB(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)))
#define KF_NEG(a) ((int32_t)(0u - (uint32_t)(a)))
#include "kiln_fft_template.h"
#undef KF_T
#undef KF_CPX
#undef KF_SUF
#undef KF_RFFT_NAME
#undef KF_IRFFT_NAME
#undef KF_FIXED
#undef KF_PROD
#undef KF_FRACBITS
#undef KF_SAMP_MAX
#undef KF_ADD
#undef KF_SUB
#undef KF_NEG

/* float */
#define KF_T float
#define KF_CPX kiln_cpx_f32_t
#define KF_SUF f32
#define KF_RFFT_NAME kiln_rfft_f32
#define KF_IRFFT_NAME kiln_irfft_f32
#define KF_FIXED 0
#define KF_ADD(a, b) ((a) + (b))
#define KF_SUB(a, b) ((a) - (b))
#define KF_NEG(a) (-(a))
#include "kiln_fft_template.h"

/* fft_auto_scale.cc: the largest magnitude (TFLite Micro's loop, whose -(-32768) stays -32768 in
 * int16 and so scales by nothing), its bit length (32 for 0, as its GCC path counts it), and the
 * shift that brings it to 15 bits. */
int32_t kiln_fft_auto_scale_s16(const int16_t *in, int16_t *out, int32_t n)
{
    int16_t max = 0;
    int32_t i, bits = 0, shift;
    uint32_t m;
    for (i = 0; i < n; ++i) {
        const int16_t v = in[i];
        if (v > max)
            max = v;
        else if (-v > max)
            max = (int16_t)-v;
    }
    m = (uint32_t)(int32_t)max;
    if (m == 0) bits = 32;
    while (m) {
        m >>= 1;
        ++bits;
    }
    shift = 16 - bits - 1;
    if (shift <= 0) shift = 0;
    for (i = 0; i < n; ++i) out[i] = (int16_t)(in[i] * (1 << shift));
    return shift;
}
