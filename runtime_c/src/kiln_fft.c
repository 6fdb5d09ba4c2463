/* RFFT, IRFFT and FFT auto-scale as TFLite Micro's signal library computes them (rfft.cc,
 * irfft.cc: KISS FFT v130's real FFT in int16, int32 and float; fft_auto_scale.cc). One body,
 * kiln_fft_template.h, instantiated per sample type: the fixed-point types need KISS FFT's exact
 * rounding and wrapping to equal TFLite Micro bit for bit. */
#include <stddef.h>
#include <string.h>

#include "kiln_dsp.h"
#include "kiln_fixedpoint.h"
#include "kiln_runtime.h"

#if KILN_DSP
/* int16 on the DSP extension: a complex value is one word (re in the low half), so the wrapping
 * int16 sums are SADD16/SSUB16 (and SASX/SSAX for the radix-4 rotations), the complex product
 * SMUSD/SMUADX, and the rounding shifts and stage divisions keep KISS FFT's exact arithmetic. */
static inline uint32_t ld(const kiln_cpx_s16_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline void st(kiln_cpx_s16_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

/* The halves' ((x + 2^14) >> 15) as a pair: the low one shifted down, the high one kept in place. */
static inline uint32_t round_pair(int32_t lo, int32_t hi)
{
    return (((uint32_t)hi << 1) & 0xFFFF0000u) | ((uint32_t)(lo >> 15) & 0xFFFFu);
}

/* C_FIXDIV: each half x -> (x (32767 / radix) + 2^14) >> 15 */
static inline uint32_t pdiv(uint32_t c, int32_t k)
{
    return round_pair(__smlabb((int32_t)c, k, 16384), __smlatb((int32_t)c, k, 16384));
}

/* C_MUL: (a.r b.r - a.i b.i, a.r b.i + a.i b.r), each rounded from Q30 to Q15 (|sums| < 2^31) */
static inline uint32_t pmul(uint32_t a, uint32_t b)
{
    return round_pair(__smusd((int32_t)a, (int32_t)b) + 16384, __smuadx((int32_t)a, (int32_t)b) + 16384);
}

#define PADD(a, b) ((uint32_t)__sadd16((int32_t)(a), (int32_t)(b)))
#define PSUB(a, b) ((uint32_t)__ssub16((int32_t)(a), (int32_t)(b)))

static void bfly2_packed(kiln_cpx_s16_t *out, int32_t fstride, const kiln_cpx_s16_t *tw, int32_t m)
{
    int32_t k;
    for (k = 0; k < m; ++k) {
        const uint32_t a = pdiv(ld(out + k), 16383), b = pdiv(ld(out + k + m), 16383);
        const uint32_t t = pmul(b, ld(tw + k * fstride));
        st(out + k + m, PSUB(a, t));
        st(out + k, PADD(a, t));
    }
}

static void bfly4_packed(kiln_cpx_s16_t *out, int32_t fstride, const kiln_cpx_s16_t *tw, int32_t m, int32_t inverse)
{
    const int32_t m2 = 2 * m, m3 = 3 * m;
    int32_t k;
    for (k = 0; k < m; ++k) {
        kiln_cpx_s16_t *o = out + k;
        const uint32_t f0 = pdiv(ld(o), 8191), f1 = pdiv(ld(o + m), 8191);
        const uint32_t f2 = pdiv(ld(o + m2), 8191), f3 = pdiv(ld(o + m3), 8191);
        const uint32_t s0 = pmul(f1, ld(tw + k * fstride)), s1 = pmul(f2, ld(tw + 2 * k * fstride));
        const uint32_t s2 = pmul(f3, ld(tw + 3 * k * fstride));
        const uint32_t s5 = PSUB(f0, s1), o0 = PADD(f0, s1), s3 = PADD(s0, s2), s4 = PSUB(s0, s2);
        /* forward: out[m] = (s5.r + s4.i, s5.i - s4.r) (SSAX), out[m3] = (s5.r - s4.i, s5.i + s4.r) (SASX) */
        const uint32_t ssax = (uint32_t)__ssax((int32_t)s5, (int32_t)s4), sasx = (uint32_t)__sasx((int32_t)s5, (int32_t)s4);
        st(o + m2, PSUB(o0, s3));
        st(o, PADD(o0, s3));
        st(o + m, inverse ? sasx : ssax);
        st(o + m3, inverse ? ssax : sasx);
    }
}

/* kiss_fftr's split of bins k and n - k (k = 1 .. n/2) with SHADD16/SHSUB16 for its exact halvings */
static void split_packed(kiln_cpx_s16_t *freq, const kiln_cpx_s16_t *tmp, const kiln_cpx_s16_t *super, int32_t n)
{
    int32_t k;
    for (k = 1; k <= n / 2; ++k) {
        const uint32_t x = ld(tmp + n - k), conj = (x & 0xFFFFu) | (PSUB(0u, x) & 0xFFFF0000u);
        const uint32_t fpk = pdiv(ld(tmp + k), 16383), fpnk = pdiv(conj, 16383);
        const uint32_t f1k = PADD(fpk, fpnk), tw = pmul(PSUB(fpk, fpnk), ld(super + k - 1));
        st(freq + k, (uint32_t)__shadd16((int32_t)f1k, (int32_t)tw));
        st(freq + n - k, (uint32_t)__shsub16((int32_t)((f1k & 0xFFFFu) | (tw & 0xFFFF0000u)),
                                             (int32_t)((tw & 0xFFFFu) | (f1k & 0xFFFF0000u))));
    }
}
#define KF_PACKED 1
#else
#define KF_PACKED 0
#endif

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

/* int32: sums wrap in 32 bits (as the int32 arithmetic of KISS FFT's C does), products in int64,
 * Q31 twiddles */
#define KF_T int32_t
#define KF_CPX kiln_cpx_s32_t
#define KF_SUF s32
#define KF_RFFT_NAME kiln_rfft_s32
#define KF_IRFFT_NAME kiln_irfft_s32
#define KF_FIXED 1
#define KF_PROD int64_t
#define KF_FRACBITS 31
#define KF_SAMP_MAX 2147483647
#define KF_ADD(a, b) ((int32_t)((uint32_t)(a) + (uint32_t)(b)))
#define KF_SUB(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)))
#define KF_NEG(a) ((int32_t)(0u - (uint32_t)(a)))
#include "kiln_fft_template.h"

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
    int32_t i, shift;
    for (i = 0; i < n; ++i) {
        const int16_t v = in[i];
        if (v > max)
            max = v;
        else if (-v > max)
            max = (int16_t)-v;
    }
    shift = 16 - (int32_t)kiln_msb32((uint32_t)(int32_t)max) - 1;
    if (shift <= 0) shift = 0;
    for (i = 0; i < n; ++i) out[i] = (int16_t)(in[i] * (1 << shift));
    return shift;
}
