/* Not a header of its own: kiln_fft.c includes it once per sample type, having defined
 *   KF_T      the sample type, KF_CPX its complex type, KF_SUF the internal functions' suffix (s16...)
 *   KF_RFFT_NAME, KF_IRFFT_NAME   the public functions' names (kiln_rfft_s16...; the runtime copier
 *             finds them in these #defines)
 *   KF_FIXED  1 for fixed point: KF_PROD (the product type), KF_FRACBITS, KF_SAMP_MAX
 *   KF_ADD(a, b), KF_SUB(a, b), KF_NEG(a)   sums as KISS FFT's C computes them (int16 samples add in
 *             int, exactly; int32 ones wrap in 32 bits; floats add as floats)
 *   KF_PACKED 1 to take the radix-2 and radix-4 butterflies and the real split from bfly2_packed,
 *             bfly4_packed and split_packed (int16 on the DSP extension: both halves of a complex
 *             value in one register), defined before the include; 0 or undefined otherwise
 * and undefines them all at its end, ready for the next type's.
 *
 * The butterflies follow KISS FFT v130 (what TFLite Micro builds) operation for operation: every
 * stage divides by its radix (C_FIXDIV), products round half up (sround), and each store into a
 * sample wraps as the C conversion does. */

#define KF_CAT2(a, b) a##_##b
#define KF_CAT(a, b) KF_CAT2(a, b)
#define KF(name) KF_CAT(name, KF_SUF)

#if KF_FIXED
#define KF_SROUND(x) ((KF_T)(((x) + ((KF_PROD)1 << (KF_FRACBITS - 1))) >> KF_FRACBITS))
#define KF_SMUL(a, b) ((KF_PROD)(a) * (b))
#define KF_S_MUL(a, b) KF_SROUND(KF_SMUL(a, b))
#define KF_HALF(x) ((x) >> 1)
#define KF_DIV(c, k)                                                                                   \
    do {                                                                                               \
        (c).r = KF_SROUND(KF_SMUL((c).r, KF_SAMP_MAX / (k)));                                          \
        (c).i = KF_SROUND(KF_SMUL((c).i, KF_SAMP_MAX / (k)));                                          \
    } while (0)
#define KF_MUL(m, a, b)                                                                                \
    do {                                                                                               \
        (m).r = KF_SROUND(KF_SMUL((a).r, (b).r) - KF_SMUL((a).i, (b).i));                              \
        (m).i = KF_SROUND(KF_SMUL((a).r, (b).i) + KF_SMUL((a).i, (b).r));                              \
    } while (0)
#define KF_MULBYSCALAR(c, s)                                                                           \
    do {                                                                                               \
        (c).r = KF_SROUND(KF_SMUL((c).r, s));                                                          \
        (c).i = KF_SROUND(KF_SMUL((c).i, s));                                                          \
    } while (0)
#else
#define KF_S_MUL(a, b) ((a) * (b))
#define KF_HALF(x) ((x) * 0.5f)
#define KF_DIV(c, k) ((void)0)
#define KF_MUL(m, a, b)                                                                                \
    do {                                                                                               \
        (m).r = (a).r * (b).r - (a).i * (b).i;                                                         \
        (m).i = (a).r * (b).i + (a).i * (b).r;                                                         \
    } while (0)
#define KF_MULBYSCALAR(c, s)                                                                           \
    do {                                                                                               \
        (c).r *= (s);                                                                                  \
        (c).i *= (s);                                                                                  \
    } while (0)
#endif

#define KF_CADD(res, a, b)                                                                             \
    do {                                                                                               \
        (res).r = (KF_T)KF_ADD((a).r, (b).r);                                                          \
        (res).i = (KF_T)KF_ADD((a).i, (b).i);                                                          \
    } while (0)
#define KF_CSUB(res, a, b)                                                                             \
    do {                                                                                               \
        (res).r = (KF_T)KF_SUB((a).r, (b).r);                                                          \
        (res).i = (KF_T)KF_SUB((a).i, (b).i);                                                          \
    } while (0)

#if !KF_PACKED
static void KF(bfly2)(KF_CPX *out, int32_t fstride, const KF_CPX *tw, int32_t m)
{
    KF_CPX *out2 = out + m, t;
    const KF_CPX *tw1 = tw;
    do {
        KF_DIV(*out, 2);
        KF_DIV(*out2, 2);
        KF_MUL(t, *out2, *tw1);
        tw1 += fstride;
        KF_CSUB(*out2, *out, t);
        KF_CADD(*out, *out, t);
        ++out2;
        ++out;
    } while (--m);
}

static void KF(bfly4)(KF_CPX *out, int32_t fstride, const KF_CPX *tw, int32_t m, int32_t inverse)
{
    const KF_CPX *tw1 = tw, *tw2 = tw, *tw3 = tw;
    KF_CPX s[6];
    int32_t k = m;
    const int32_t m2 = 2 * m, m3 = 3 * m;
    do {
        KF_DIV(out[0], 4);
        KF_DIV(out[m], 4);
        KF_DIV(out[m2], 4);
        KF_DIV(out[m3], 4);
        KF_MUL(s[0], out[m], *tw1);
        KF_MUL(s[1], out[m2], *tw2);
        KF_MUL(s[2], out[m3], *tw3);
        KF_CSUB(s[5], out[0], s[1]);
        KF_CADD(out[0], out[0], s[1]);
        KF_CADD(s[3], s[0], s[2]);
        KF_CSUB(s[4], s[0], s[2]);
        KF_CSUB(out[m2], out[0], s[3]);
        tw1 += fstride;
        tw2 += fstride * 2;
        tw3 += fstride * 3;
        KF_CADD(out[0], out[0], s[3]);
        if (inverse) {
            out[m].r = (KF_T)KF_SUB(s[5].r, s[4].i);
            out[m].i = (KF_T)KF_ADD(s[5].i, s[4].r);
            out[m3].r = (KF_T)KF_ADD(s[5].r, s[4].i);
            out[m3].i = (KF_T)KF_SUB(s[5].i, s[4].r);
        } else {
            out[m].r = (KF_T)KF_ADD(s[5].r, s[4].i);
            out[m].i = (KF_T)KF_SUB(s[5].i, s[4].r);
            out[m3].r = (KF_T)KF_SUB(s[5].r, s[4].i);
            out[m3].i = (KF_T)KF_ADD(s[5].i, s[4].r);
        }
        ++out;
    } while (--k);
}

#endif

static void KF(bfly3)(KF_CPX *out, int32_t fstride, const KF_CPX *tw, int32_t m)
{
    int32_t k = m;
    const int32_t m2 = 2 * m;
    const KF_CPX *tw1 = tw, *tw2 = tw;
    const KF_CPX epi3 = tw[fstride * m];
    KF_CPX s[5];
    do {
        KF_DIV(out[0], 3);
        KF_DIV(out[m], 3);
        KF_DIV(out[m2], 3);
        KF_MUL(s[1], out[m], *tw1);
        KF_MUL(s[2], out[m2], *tw2);
        KF_CADD(s[3], s[1], s[2]);
        KF_CSUB(s[0], s[1], s[2]);
        tw1 += fstride;
        tw2 += fstride * 2;
        out[m].r = (KF_T)KF_SUB(out[0].r, KF_HALF(s[3].r));
        out[m].i = (KF_T)KF_SUB(out[0].i, KF_HALF(s[3].i));
        KF_MULBYSCALAR(s[0], epi3.i);
        KF_CADD(out[0], out[0], s[3]);
        out[m2].r = (KF_T)KF_ADD(out[m].r, s[0].i);
        out[m2].i = (KF_T)KF_SUB(out[m].i, s[0].r);
        out[m].r = (KF_T)KF_SUB(out[m].r, s[0].i);
        out[m].i = (KF_T)KF_ADD(out[m].i, s[0].r);
        ++out;
    } while (--k);
}

static void KF(bfly5)(KF_CPX *out, int32_t fstride, const KF_CPX *tw, int32_t m)
{
    KF_CPX *o0 = out, *o1 = out + m, *o2 = out + 2 * m, *o3 = out + 3 * m, *o4 = out + 4 * m;
    const KF_CPX ya = tw[fstride * m], yb = tw[fstride * 2 * m];
    KF_CPX s[13];
    int32_t u;
    for (u = 0; u < m; ++u) {
        KF_DIV(*o0, 5);
        KF_DIV(*o1, 5);
        KF_DIV(*o2, 5);
        KF_DIV(*o3, 5);
        KF_DIV(*o4, 5);
        s[0] = *o0;
        KF_MUL(s[1], *o1, tw[u * fstride]);
        KF_MUL(s[2], *o2, tw[2 * u * fstride]);
        KF_MUL(s[3], *o3, tw[3 * u * fstride]);
        KF_MUL(s[4], *o4, tw[4 * u * fstride]);
        KF_CADD(s[7], s[1], s[4]);
        KF_CSUB(s[10], s[1], s[4]);
        KF_CADD(s[8], s[2], s[3]);
        KF_CSUB(s[9], s[2], s[3]);
        o0->r = (KF_T)KF_ADD(o0->r, KF_ADD(s[7].r, s[8].r));
        o0->i = (KF_T)KF_ADD(o0->i, KF_ADD(s[7].i, s[8].i));
        s[5].r = (KF_T)KF_ADD(KF_ADD(s[0].r, KF_S_MUL(s[7].r, ya.r)), KF_S_MUL(s[8].r, yb.r));
        s[5].i = (KF_T)KF_ADD(KF_ADD(s[0].i, KF_S_MUL(s[7].i, ya.r)), KF_S_MUL(s[8].i, yb.r));
        s[6].r = (KF_T)KF_ADD(KF_S_MUL(s[10].i, ya.i), KF_S_MUL(s[9].i, yb.i));
        s[6].i = (KF_T)KF_SUB(KF_NEG(KF_S_MUL(s[10].r, ya.i)), KF_S_MUL(s[9].r, yb.i));
        KF_CSUB(*o1, s[5], s[6]);
        KF_CADD(*o4, s[5], s[6]);
        s[11].r = (KF_T)KF_ADD(KF_ADD(s[0].r, KF_S_MUL(s[7].r, yb.r)), KF_S_MUL(s[8].r, ya.r));
        s[11].i = (KF_T)KF_ADD(KF_ADD(s[0].i, KF_S_MUL(s[7].i, yb.r)), KF_S_MUL(s[8].i, ya.r));
        s[12].r = (KF_T)KF_ADD(KF_NEG(KF_S_MUL(s[10].i, yb.i)), KF_S_MUL(s[9].i, ya.i));
        s[12].i = (KF_T)KF_SUB(KF_S_MUL(s[10].r, yb.i), KF_S_MUL(s[9].r, ya.i));
        KF_CADD(*o2, s[11], s[12]);
        KF_CSUB(*o3, s[11], s[12]);
        ++o0;
        ++o1;
        ++o2;
        ++o3;
        ++o4;
    }
}

/* kf_work: a DFT of p * m points as p DFTs of m points of the decimated input, then one stage of
 * radix-p butterflies (the plan holds only radices 2 to 5: the compiler refuses the others, which
 * TFLite Micro cannot compute either). */
static void KF(work)(KF_CPX *out, const KF_CPX *f, int32_t fstride, const int32_t *factors, const kiln_fft_plan_t *st)
{
    KF_CPX *const beg = out;
    const int32_t p = factors[0], m = factors[1];
    const KF_CPX *const end = out + p * m;
    const KF_CPX *tw = (const KF_CPX *)st->twiddles;
    if (m == 1) {
        do {
            *out = *f;
            f += fstride;
        } while (++out != end);
    } else {
        do {
            KF(work)(out, f, fstride * p, factors + 2, st);
            f += fstride;
        } while ((out += m) != end);
    }
    switch (p) {
#if KF_PACKED
    case 2: bfly2_packed(beg, fstride, tw, m); break;
    case 4: bfly4_packed(beg, fstride, tw, m, st->inverse); break;
#else
    case 2: KF(bfly2)(beg, fstride, tw, m); break;
    case 4: KF(bfly4)(beg, fstride, tw, m, st->inverse); break;
#endif
    case 3: KF(bfly3)(beg, fstride, tw, m); break;
    default: KF(bfly5)(beg, fstride, tw, m); break;
    }
}

/* kiss_fftr: the n-point complex FFT of the even/odd samples as (re, im), then the split into
 * n + 1 bins of the 2n real samples. */
static void KF(fftr)(const kiln_fft_plan_t *st, const KF_T *time, KF_CPX *freq, KF_CPX *tmp)
{
    const int32_t n = st->n;
    const KF_CPX *super = (const KF_CPX *)st->super_twiddles;
    KF_CPX tdc;
    int32_t k;
    KF(work)(tmp, (const KF_CPX *)(const void *)time, 1, st->factors, st);
    tdc = tmp[0];
    KF_DIV(tdc, 2);
    freq[0].r = (KF_T)KF_ADD(tdc.r, tdc.i);
    freq[n].r = (KF_T)KF_SUB(tdc.r, tdc.i);
    freq[n].i = freq[0].i = 0;
#if KF_PACKED
    split_packed(freq, tmp, super, n);
    (void)k;
#else
    for (k = 1; k <= n / 2; ++k) {
        KF_CPX fpk = tmp[k], fpnk, f1k, f2k, tw;
        fpnk.r = tmp[n - k].r;
        fpnk.i = (KF_T)KF_NEG(tmp[n - k].i);
        KF_DIV(fpk, 2);
        KF_DIV(fpnk, 2);
        KF_CADD(f1k, fpk, fpnk);
        KF_CSUB(f2k, fpk, fpnk);
        KF_MUL(tw, f2k, super[k - 1]);
        freq[k].r = (KF_T)KF_HALF(KF_ADD(f1k.r, tw.r));
        freq[k].i = (KF_T)KF_HALF(KF_ADD(f1k.i, tw.i));
        freq[n - k].r = (KF_T)KF_HALF(KF_SUB(f1k.r, tw.r));
        freq[n - k].i = (KF_T)KF_HALF(KF_SUB(tw.i, f1k.i));
    }
#endif
}

/* kiss_fftri: the inverse split into n complex values, then the n-point inverse FFT into the 2n
 * real samples. */
static void KF(fftri)(const kiln_fft_plan_t *st, const KF_CPX *freq, KF_T *time, KF_CPX *tmp)
{
    const int32_t n = st->n;
    const KF_CPX *super = (const KF_CPX *)st->super_twiddles;
    int32_t k;
    tmp[0].r = (KF_T)KF_ADD(freq[0].r, freq[n].r);
    tmp[0].i = (KF_T)KF_SUB(freq[0].r, freq[n].r);
    KF_DIV(tmp[0], 2);
    for (k = 1; k <= n / 2; ++k) {
        KF_CPX fk = freq[k], fnkc, fek, fok, t;
        fnkc.r = freq[n - k].r;
        fnkc.i = (KF_T)KF_NEG(freq[n - k].i);
        KF_DIV(fk, 2);
        KF_DIV(fnkc, 2);
        KF_CADD(fek, fk, fnkc);
        KF_CSUB(t, fk, fnkc);
        KF_MUL(fok, t, super[k - 1]);
        KF_CADD(tmp[k], fek, fok);
        KF_CSUB(tmp[n - k], fek, fok);
        tmp[n - k].i = (KF_T)KF_NEG(tmp[n - k].i);
    }
    KF(work)((KF_CPX *)(void *)time, tmp, 1, st->factors, st);
}

void KF_RFFT_NAME(const KF_T *in, KF_T *out, int32_t frames, int32_t in_len, const kiln_fft_plan_t *p,
                   void *scratch)
{
    const int32_t len = 2 * p->n;
    KF_T *work = (KF_T *)scratch;
    KF_CPX *tmp = (KF_CPX *)(void *)(work + len);
    int32_t f, i;
    for (f = 0; f < frames; ++f) {
        const KF_T *x = in + (size_t)f * (size_t)in_len;
        if (in_len < len) { /* zero-padded, as TFLite Micro pads its work area */
            for (i = 0; i < in_len; ++i) work[i] = x[i];
            for (; i < len; ++i) work[i] = 0;
            x = work;
        }
        KF(fftr)(p, x, (KF_CPX *)(void *)(out + (size_t)f * (size_t)(len + 2)), tmp);
    }
}

void KF_IRFFT_NAME(const KF_T *in, KF_T *out, int32_t frames, int32_t in_len, const kiln_fft_plan_t *p,
                    void *scratch)
{
    const int32_t len = 2 * p->n;
    int32_t f;
    for (f = 0; f < frames; ++f) {
        KF_T *y = out + (size_t)f * (size_t)len;
        KF(fftri)(p, (const KF_CPX *)(const void *)(in + (size_t)f * (size_t)in_len), y, (KF_CPX *)scratch);
#if !KF_FIXED
        { /* TFLite Micro's float IRFFT divides by fft_length (KISS FFT leaves it scaled) */
            int32_t i;
            for (i = 0; i < len; ++i) y[i] /= (float)len;
        }
#endif
    }
}

#undef KF_CAT2
#undef KF_CAT
#undef KF
#undef KF_SROUND
#undef KF_SMUL
#undef KF_S_MUL
#undef KF_HALF
#undef KF_DIV
#undef KF_MUL
#undef KF_MULBYSCALAR
#undef KF_CADD
#undef KF_CSUB
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
#undef KF_PACKED
