/* Host runner: drives one compiled model from Python over stdin/stdout.
 *
 * stdin:  records, each the model's inputs back to back (sizes from the descriptor)
 * stdout: per record, the outputs back to back; with --profile, then op_count little-endian
 *         uint32 per-operator times in nanoseconds
 * --info prints the descriptor as JSON. Exit 0 at a clean end of input, 3 on a short record,
 * 4 when the model reports an error. Built with -DKILN_MODEL=<name>_model. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kiln_model.h"

extern const kiln_model_t KILN_MODEL;

#ifdef KILN_PROFILE
uint32_t kiln_timer_read(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}
#endif

static size_t read_full(void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        size_t r = fread((char *)buf + got, 1, n - got, stdin);
        if (r == 0) break;
        got += r;
    }
    return got;
}

static void print_info(const kiln_model_t *m)
{
    uint32_t i;
    printf("{\"name\": \"%s\", \"arena_bytes\": %lu, \"op_count\": %lu, \"inputs\": [", m->name,
           (unsigned long)m->arena_bytes, (unsigned long)m->op_count);
    for (i = 0; i < m->input_count; ++i) printf("%s%lu", i ? ", " : "", (unsigned long)m->inputs[i].bytes);
    printf("], \"outputs\": [");
    for (i = 0; i < m->output_count; ++i) printf("%s%lu", i ? ", " : "", (unsigned long)m->outputs[i].bytes);
    printf("]}\n");
}

/* Buffers are allocated at their exact sizes so that AddressSanitizer catches any overrun. */
static int serve(const kiln_model_t *m, int profile, void *arena, void **ins, void **outs, uint32_t *ticks)
{
    uint32_t i;
    for (;;) {
        int rc;
        for (i = 0; i < m->input_count; ++i) {
            size_t got = read_full(ins[i], m->inputs[i].bytes);
            if (got == 0 && i == 0) return 0;
            if (got != m->inputs[i].bytes) {
                fprintf(stderr, "runner: short input record (input %lu: %lu of %lu bytes)\n", (unsigned long)i,
                        (unsigned long)got, (unsigned long)m->inputs[i].bytes);
                return 3;
            }
        }
        rc = m->run((const void *const *)ins, outs, arena, m->arena_bytes, profile ? ticks : NULL);
        if (rc != KILN_OK) {
            fprintf(stderr, "runner: model returned error %d\n", rc);
            return 4;
        }
        for (i = 0; i < m->output_count; ++i) fwrite(outs[i], 1, m->outputs[i].bytes, stdout);
        if (profile) {
            for (i = 0; i < m->op_count; ++i) {
                unsigned char le[4];
                le[0] = (unsigned char)(ticks[i] & 0xffu);
                le[1] = (unsigned char)((ticks[i] >> 8) & 0xffu);
                le[2] = (unsigned char)((ticks[i] >> 16) & 0xffu);
                le[3] = (unsigned char)((ticks[i] >> 24) & 0xffu);
                fwrite(le, 1, 4, stdout);
            }
        }
        fflush(stdout);
    }
}

int main(int argc, char **argv)
{
    const kiln_model_t *m = &KILN_MODEL;
    const int profile = argc > 1 && strcmp(argv[1], "--profile") == 0;
    void *arena;
    void **ins, **outs;
    uint32_t *ticks, i;
    int rc = 5;
    if (argc > 1 && strcmp(argv[1], "--info") == 0) {
        print_info(m);
        return 0;
    }
    arena = malloc(m->arena_bytes > 0u ? m->arena_bytes : 1u); /* the runner allocates, not the model */
    ins = (void **)calloc(m->input_count, sizeof(void *));
    outs = (void **)calloc(m->output_count, sizeof(void *));
    ticks = (uint32_t *)calloc(m->op_count, sizeof(uint32_t));
    if (arena && ins && outs && ticks) {
        int ok = 1;
        for (i = 0; i < m->input_count; ++i) ok &= (ins[i] = malloc(m->inputs[i].bytes)) != NULL;
        for (i = 0; i < m->output_count; ++i) ok &= (outs[i] = malloc(m->outputs[i].bytes)) != NULL;
        if (ok) rc = serve(m, profile, arena, ins, outs, ticks);
        for (i = 0; i < m->input_count; ++i) free(ins[i]);
        for (i = 0; i < m->output_count; ++i) free(outs[i]);
    }
    free(arena);
    free((void *)ins);
    free((void *)outs);
    free(ticks);
    return rc;
}
