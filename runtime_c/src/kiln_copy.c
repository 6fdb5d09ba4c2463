/* Data movement for PAD, CONCATENATION and STRIDED_SLICE: one strided N-d copy. */
#include <string.h>

#include "kiln_runtime.h"

void kiln_copy_nd(void *dst, const void *src, const kiln_copy_t *c)
{
    int32_t idx[6] = {0, 0, 0, 0, 0, 0};
    const int32_t last = c->ndim - 1;
    const int32_t n = c->dims[last];
    const int contiguous = c->dst_stride[last] == c->elem && c->src_stride[last] == c->elem;
    int32_t rows = 1, r, d, i;
    for (d = 0; d < last; ++d) rows *= c->dims[d];
    for (r = 0; r < rows; ++r) {
        char *o = (char *)dst;
        const char *s = (const char *)src;
        for (d = 0; d < last; ++d) {
            o += idx[d] * c->dst_stride[d];
            s += idx[d] * c->src_stride[d];
        }
        if (contiguous) {
            memcpy(o, s, (size_t)n * (size_t)c->elem);
        } else {
            for (i = 0; i < n; ++i) memcpy(o + i * c->dst_stride[last], s + i * c->src_stride[last], (size_t)c->elem);
        }
        for (d = last - 1; d >= 0; --d) {
            if (++idx[d] < c->dims[d]) break;
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
