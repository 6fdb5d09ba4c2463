/* Kiln runtime: shape and data-movement kernels beyond the strided copy (included by
 * kiln_runtime.h): gathers by run-time indices and fills with a value of any width. */
#ifndef KILN_MOVEMENT_H
#define KILN_MOVEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One to four words from s to o, both word-aligned (short rows, where a memcpy call costs more
 * than the copy); inlined with a constant count, the switch vanishes. */
static inline void kiln_copy_words(void *o, const void *s, int32_t words)
{
    uint32_t *ow = (uint32_t *)o;
    const uint32_t *sw = (const uint32_t *)s;
    switch (words) {
    case 4: ow[3] = sw[3]; /* fallthrough */
    case 3: ow[2] = sw[2]; /* fallthrough */
    case 2: ow[1] = sw[1]; /* fallthrough */
    default: ow[0] = sw[0]; break;
    }
}

/* GATHER: out[b, o, k, :] = params[b, o, indices[b, k], :] for batch b < batches, outer o < outer,
 * k < count; a row is inner_bytes long. An index outside 0..axis_size-1 gives a row of zeros
 * (TFLite Micro leaves that undefined). */
typedef struct {
    int32_t batches, outer, axis_size, count, inner_bytes;
} kiln_gather_t;

void kiln_gather(const void *params, const int32_t *indices, void *out, const kiln_gather_t *g);

/* GATHER_ND: for each of `slices` index tuples of `depth` int32s, out gets the slice_bytes at
 * params + sum(index[d] * strides[d]) (strides in bytes, bounds in dims); a tuple outside the
 * params gives zeros. */
typedef struct {
    int32_t slices, depth, slice_bytes;
    int32_t dims[8];
    int32_t strides[8];
} kiln_gather_nd_t;

void kiln_gather_nd(const void *params, const int32_t *indices, void *out, const kiln_gather_nd_t *g);

/* n elements of elem bytes each, every one a copy of *value (FILL with a run-time value). */
void kiln_fill_elems(void *dst, int32_t n, const void *value, int32_t elem);

/* BROADCAST_ARGS at run time: the broadcast of two shapes (na and nb int32 or int64 entries,
 * elem 4 or 8), right-aligned, into n = max(na, nb) entries. */
void kiln_broadcast_args(const void *a, int32_t na, const void *b, int32_t nb, void *out, int32_t elem);

#endif
