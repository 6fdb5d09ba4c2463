/* Data movement for PAD, CONCATENATION, STRIDED_SLICE, TRANSPOSE and the other layout operators:
 * one strided N-d copy (kiln_copy_t, its dimensions merged by the compiler where contiguous). */
#include <string.h>

#include "kiln_runtime.h"

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define KILN_LITTLE_ENDIAN 1
#else
#define KILN_LITTLE_ENDIAN 0
#endif

/* A gather of n bytes s[0], s[ss], s[2 ss], ... into contiguous o: four loads packed into one
 * word store where o is word-aligned (a transpose's inner loop). */
static void gather_bytes(char *o, const char *s, int32_t n, int32_t ss)
{
    int32_t i = 0;
#if KILN_LITTLE_ENDIAN
    for (; i < n && ((size_t)(o + i) & 3u) != 0u; ++i) o[i] = s[i * ss];
    for (; i + 4 <= n; i += 4) {
        const uint8_t *p = (const uint8_t *)s + i * ss;
        *(uint32_t *)(void *)(o + i) = (uint32_t)p[0] | ((uint32_t)p[ss] << 8) | ((uint32_t)p[2 * ss] << 16) |
                                       ((uint32_t)p[3 * ss] << 24);
    }
#endif
    for (; i < n; ++i) o[i] = s[i * ss];
}

/* A byte transpose: m output rows of n bytes (dstep apart), output row j column i taken from
 * s[i * ss + j]. Blocks of 4 x 4 bytes move as four word loads, a transpose in registers and four
 * word stores when everything is word-aligned; the edges byte by byte. Returns 0 (nothing done)
 * when the alignment does not allow it. */
static int transpose_bytes(char *o, const char *s, int32_t m, int32_t dstep, int32_t n, int32_t ss)
{
#if KILN_LITTLE_ENDIAN
    int32_t j, i;
    const int32_t m4 = m & ~3, n4 = n & ~3;
    if (m4 == 0 || n4 == 0 || ((((size_t)o | (size_t)s | (size_t)(uint32_t)dstep | (size_t)(uint32_t)ss) & 3u) != 0u)) {
        return 0;
    }
    for (j = 0; j < m4; j += 4) {
        char *orow = o + j * dstep;
        const char *scol = s + j;
        for (i = 0; i < n4; i += 4) {
            const char *sp = scol + i * ss;
            const uint32_t w0 = *(const uint32_t *)(const void *)sp;
            const uint32_t w1 = *(const uint32_t *)(const void *)(sp + ss);
            const uint32_t w2 = *(const uint32_t *)(const void *)(sp + 2 * ss);
            const uint32_t w3 = *(const uint32_t *)(const void *)(sp + 3 * ss);
            /* bytes 0 and 2 of w0 and w1 interleaved, then bytes 1 and 3; the same for w2 and w3 */
            const uint32_t t0 = (w0 & 0x00FF00FFu) | ((w1 & 0x00FF00FFu) << 8);
            const uint32_t t1 = ((w0 >> 8) & 0x00FF00FFu) | (w1 & 0xFF00FF00u);
            const uint32_t t2 = (w2 & 0x00FF00FFu) | ((w3 & 0x00FF00FFu) << 8);
            const uint32_t t3 = ((w2 >> 8) & 0x00FF00FFu) | (w3 & 0xFF00FF00u);
            *(uint32_t *)(void *)(orow + i) = (t0 & 0xFFFFu) | (t2 << 16);
            *(uint32_t *)(void *)(orow + dstep + i) = (t1 & 0xFFFFu) | (t3 << 16);
            *(uint32_t *)(void *)(orow + 2 * dstep + i) = (t0 >> 16) | (t2 & 0xFFFF0000u);
            *(uint32_t *)(void *)(orow + 3 * dstep + i) = (t1 >> 16) | (t3 & 0xFFFF0000u);
        }
        for (i = n4; i < n; ++i) { /* the last columns of these four rows */
            orow[i] = scol[i * ss];
            orow[dstep + i] = scol[i * ss + 1];
            orow[2 * dstep + i] = scol[i * ss + 2];
            orow[3 * dstep + i] = scol[i * ss + 3];
        }
    }
    for (j = m4; j < m; ++j) gather_bytes(o + j * dstep, s + j, n, ss);
    return 1;
#else
    (void)o; (void)s; (void)m; (void)dstep; (void)n; (void)ss;
    return 0;
#endif
}

/* One row of n elements between strided places: a load and a store per element for the common
 * sizes (the planner aligns every tensor to its element size), memcpy for the others. */
static void strided_row(char *o, const char *s, int32_t n, int32_t ds, int32_t ss, int32_t elem)
{
    int32_t i;
    switch (elem) {
    case 1:
        if (ds == 1) {
            gather_bytes(o, s, n, ss);
        } else {
            for (i = 0; i < n; ++i) o[i * ds] = s[i * ss];
        }
        break;
    case 2:
        for (i = 0; i < n; ++i) *(uint16_t *)(void *)(o + i * ds) = *(const uint16_t *)(const void *)(s + i * ss);
        break;
    case 4:
        for (i = 0; i < n; ++i) *(uint32_t *)(void *)(o + i * ds) = *(const uint32_t *)(const void *)(s + i * ss);
        break;
    default:
        for (i = 0; i < n; ++i) memcpy(o + i * ds, s + i * ss, (size_t)elem);
        break;
    }
}

/* m contiguous rows of `bytes` each, the rows dstep and sstep bytes apart. Short word-aligned rows
 * (a concatenation's or a split's channel slices) move as words in a loop per row size, where a
 * memcpy call per row would cost more than the copy (and compilers turn a plain word loop back
 * into one); the rest through memcpy. */
static inline void copy_rows(char *o, const char *s, int32_t m, int32_t dstep, int32_t sstep, int32_t bytes)
{
    int32_t j;
    const int aligned = ((((size_t)o | (size_t)s | (size_t)(uint32_t)dstep | (size_t)(uint32_t)sstep |
                           (size_t)(uint32_t)bytes) & 3u) == 0u);
    if (aligned && bytes > 0 && bytes <= 16) {
        switch (bytes >> 2) {
        case 1: for (j = 0; j < m; ++j, o += dstep, s += sstep) kiln_copy_words(o, s, 1); return;
        case 2: for (j = 0; j < m; ++j, o += dstep, s += sstep) kiln_copy_words(o, s, 2); return;
        case 3: for (j = 0; j < m; ++j, o += dstep, s += sstep) kiln_copy_words(o, s, 3); return;
        default: for (j = 0; j < m; ++j, o += dstep, s += sstep) kiln_copy_words(o, s, 4); return;
        }
    }
    for (j = 0; j < m; ++j, o += dstep, s += sstep) memcpy(o, s, (size_t)bytes);
}

/* The two innermost dimensions as a block of rows; an odometer over the outer ones. */
void kiln_copy_nd(void *dst, const void *src, const kiln_copy_t *c)
{
    int32_t idx[6] = {0, 0, 0, 0, 0, 0};
    const int32_t last = c->ndim - 1;
    const int32_t mid = last - 1; /* -1 for a single row */
    const int32_t n = c->dims[last];
    const int32_t m = mid >= 0 ? c->dims[mid] : 1;
    const int32_t dstep = mid >= 0 ? c->dst_stride[mid] : 0;
    const int32_t sstep = mid >= 0 ? c->src_stride[mid] : 0;
    const int contiguous = c->dst_stride[last] == c->elem && c->src_stride[last] == c->elem;
    char *o = (char *)dst;
    const char *s = (const char *)src;
    int32_t blocks = 1, b, d, j;
    for (d = 0; d < mid; ++d) blocks *= c->dims[d];
    for (b = 0; b < blocks; ++b) {
        if (contiguous) {
            copy_rows(o, s, m, dstep, sstep, n * c->elem);
        } else if (!(c->elem == 1 && c->dst_stride[last] == 1 && sstep == 1 &&
                     transpose_bytes(o, s, m, dstep, n, c->src_stride[last]))) {
            for (j = 0; j < m; ++j) {
                strided_row(o + j * dstep, s + j * sstep, n, c->dst_stride[last], c->src_stride[last], c->elem);
            }
        }
        /* odometer step over the outer dimensions, moving both pointers by their strides */
        for (d = mid - 1; d >= 0; --d) {
            o += c->dst_stride[d];
            s += c->src_stride[d];
            if (++idx[d] < c->dims[d]) break;
            o -= c->dst_stride[d] * c->dims[d];
            s -= c->src_stride[d] * c->dims[d];
            idx[d] = 0;
        }
    }
}

void kiln_fill_s8(int8_t *dst, int32_t n, int32_t value)
{
    memset(dst, (int)(int8_t)value, (size_t)n);
}

void kiln_fill_f32(float *dst, int32_t n, float value)
{
    int32_t i;
    for (i = 0; i < n; ++i) dst[i] = value;
}
