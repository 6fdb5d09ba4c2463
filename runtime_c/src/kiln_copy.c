/* Data movement for PAD, CONCATENATION and STRIDED_SLICE: one strided N-d copy. */
#include <string.h>

#include "kiln_runtime.h"

/* One row of n elements between strided places: a load and a store per element for the common
 * sizes (the planner aligns every tensor to its element size), memcpy for the others. */
static void strided_row(char *o, const char *s, int32_t n, int32_t ds, int32_t ss, int32_t elem)
{
    int32_t i;
    switch (elem) {
    case 1:
        for (i = 0; i < n; ++i) o[i * ds] = s[i * ss];
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

/* A contiguous row of `bytes`: short word-aligned rows (a concatenation's or a split's slices) in
 * a word loop, where a memcpy call would cost more than the copy; the rest through memcpy. */
static void contiguous_row(char *o, const char *s, size_t bytes)
{
    if (bytes <= 32u && ((((size_t)o | (size_t)s | bytes) & 3u) == 0u)) {
        /* unrolled by hand: compilers turn a word loop back into a memcpy call */
        uint32_t *ow = (uint32_t *)(void *)o;
        const uint32_t *sw = (const uint32_t *)(const void *)s;
        switch (bytes >> 2) {
        case 8: ow[7] = sw[7]; /* fallthrough */
        case 7: ow[6] = sw[6]; /* fallthrough */
        case 6: ow[5] = sw[5]; /* fallthrough */
        case 5: ow[4] = sw[4]; /* fallthrough */
        case 4: ow[3] = sw[3]; /* fallthrough */
        case 3: ow[2] = sw[2]; /* fallthrough */
        case 2: ow[1] = sw[1]; /* fallthrough */
        case 1: ow[0] = sw[0]; /* fallthrough */
        default: break;
        }
    } else {
        memcpy(o, s, bytes);
    }
}

void kiln_copy_nd(void *dst, const void *src, const kiln_copy_t *c)
{
    int32_t idx[6] = {0, 0, 0, 0, 0, 0};
    const int32_t last = c->ndim - 1;
    const int32_t n = c->dims[last];
    const int contiguous = c->dst_stride[last] == c->elem && c->src_stride[last] == c->elem;
    const size_t row_bytes = (size_t)n * (size_t)c->elem;
    char *o = (char *)dst;
    const char *s = (const char *)src;
    int32_t rows = 1, r, d;
    for (d = 0; d < last; ++d) rows *= c->dims[d];
    for (r = 0; r < rows; ++r) {
        if (contiguous) {
            contiguous_row(o, s, row_bytes);
        } else {
            strided_row(o, s, n, c->dst_stride[last], c->src_stride[last], c->elem);
        }
        /* odometer step over the outer dimensions, moving both pointers by their strides */
        for (d = last - 1; d >= 0; --d) {
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
