/* Kiln runtime: EMBEDDING_LOOKUP. Rows of `values` picked by int32 ids; an id out of range gives
 * a row of zeros (TFLite Micro fails the inference there) rather than reading out of bounds. */
#include <string.h>

#include "kiln_runtime.h"

void kiln_embedding_lookup(const int32_t *ids, const void *values, void *output, const kiln_embedding_params_t *p)
{
    const size_t row = (size_t)p->cols * (size_t)p->elem;
    char *out = (char *)output;
    int32_t i;
    for (i = 0; i < p->n; ++i, out += row) {
        if (ids[i] >= 0 && ids[i] < p->rows) {
            memcpy(out, (const char *)values + (size_t)ids[i] * row, row);
        } else {
            memset(out, 0, row);
        }
    }
}

void kiln_embedding_lookup_dequant_s8(const int32_t *ids, const int8_t *values, float *output,
                                      const kiln_embedding_params_t *p)
{
    int32_t i, c;
    for (i = 0; i < p->n; ++i, output += p->cols) {
        const int8_t *v;
        if (ids[i] < 0 || ids[i] >= p->rows) {
            for (c = 0; c < p->cols; ++c) output[c] = 0.0f;
            continue;
        }
        v = values + (size_t)ids[i] * (size_t)p->cols;
        for (c = 0; c < p->cols; ++c) output[c] = (float)v[c] * p->scale;
    }
}
