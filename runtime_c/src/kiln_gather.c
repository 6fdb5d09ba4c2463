/* Gathers by run-time indices, fills and run-time shape arithmetic (ops/gather.py, ops/layout.py). */
#include <string.h>

#include "kiln_runtime.h"

/* One row: `words` words when the caller found everything word-aligned and the row short, else
 * memcpy. */
static inline void copy_row(uint8_t *o, const uint8_t *s, size_t bytes, int32_t words)
{
    if (words > 0) {
        kiln_copy_words(o, s, words);
    } else {
        memcpy(o, s, bytes);
    }
}

static int32_t short_words(const void *a, const void *b, int32_t bytes)
{
    return ((((size_t)a | (size_t)b | (size_t)(uint32_t)bytes) & 3u) == 0u && bytes <= 16) ? bytes / 4 : 0;
}

void kiln_gather(const void *params, const int32_t *indices, void *out, const kiln_gather_t *g)
{
    const int32_t words = short_words(params, out, g->inner_bytes);
    const uint8_t *p = (const uint8_t *)params;
    uint8_t *o = (uint8_t *)out;
    const size_t row = (size_t)g->inner_bytes;
    int32_t b, outer, k;
    for (b = 0; b < g->batches; ++b) {
        const int32_t *idx = indices + (size_t)b * (size_t)g->count;
        for (outer = 0; outer < g->outer; ++outer) {
            const uint8_t *base = p + ((size_t)b * (size_t)g->outer + (size_t)outer) * (size_t)g->axis_size * row;
            for (k = 0; k < g->count; ++k, o += row) {
                const int32_t i = idx[k];
                if (i >= 0 && i < g->axis_size) {
                    copy_row(o, base + (size_t)i * row, row, words);
                } else {
                    memset(o, 0, row);
                }
            }
        }
    }
}

void kiln_gather_nd(const void *params, const int32_t *indices, void *out, const kiln_gather_nd_t *g)
{
    const uint8_t *p = (const uint8_t *)params;
    uint8_t *o = (uint8_t *)out;
    int32_t words = short_words(params, out, g->slice_bytes);
    int32_t s, d;
    for (d = 0; d < g->depth; ++d) {
        if ((g->strides[d] & 3) != 0) words = 0;
    }
    for (s = 0; s < g->slices; ++s, o += g->slice_bytes, indices += g->depth) {
        size_t at = 0;
        int inside = 1;
        for (d = 0; d < g->depth; ++d) {
            const int32_t i = indices[d];
            inside &= (i >= 0 && i < g->dims[d]);
            at += inside ? (size_t)i * (size_t)g->strides[d] : 0u;
        }
        if (inside) {
            copy_row(o, p + at, (size_t)g->slice_bytes, words);
        } else {
            memset(o, 0, (size_t)g->slice_bytes);
        }
    }
}

void kiln_fill_elems(void *dst, int32_t n, const void *value, int32_t elem)
{
    uint8_t *o = (uint8_t *)dst;
    int32_t i;
    for (i = 0; i < n; ++i, o += elem) memcpy(o, value, (size_t)elem);
}

static int64_t dim_at(const void *shape, int32_t i, int32_t elem)
{
    if (elem == 8) {
        int64_t v;
        memcpy(&v, (const uint8_t *)shape + (size_t)i * 8u, 8u);
        return v;
    } else {
        int32_t v;
        memcpy(&v, (const uint8_t *)shape + (size_t)i * 4u, 4u);
        return v;
    }
}

void kiln_broadcast_args(const void *a, int32_t na, const void *b, int32_t nb, void *out, int32_t elem)
{
    const int32_t n = na > nb ? na : nb;
    int32_t i;
    for (i = 0; i < n; ++i) {
        const int64_t x = i < n - na ? 1 : dim_at(a, i - (n - na), elem);
        const int64_t y = i < n - nb ? 1 : dim_at(b, i - (n - nb), elem);
        const int64_t r = x == 1 ? y : x;
        if (elem == 8) {
            memcpy((uint8_t *)out + (size_t)i * 8u, &r, 8u);
        } else {
            const int32_t r32 = (int32_t)r;
            memcpy((uint8_t *)out + (size_t)i * 4u, &r32, 4u);
        }
    }
}
