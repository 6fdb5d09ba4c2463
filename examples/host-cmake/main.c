/* Runs both models once: the sine model's input from the first file, the keyword model's from the
 * second (raw tensor bytes, as numpy's tofile() writes them), and prints every output value, one
 * model a line: "sine: v ..." and "keyword: v ...". Exit status 1 on a bad file or a model error. */
#include <stdio.h>

#include "keyword.h"
#include "sine.h"

static int read_exactly(const char *path, void *buffer, size_t bytes)
{
    FILE *f = fopen(path, "rb");
    size_t got;
    if (f == NULL) {
        fprintf(stderr, "host_app: cannot open %s\n", path);
        return 0;
    }
    got = fread(buffer, 1, bytes, f);
    fclose(f);
    if (got != bytes) {
        fprintf(stderr, "host_app: %s holds %zu bytes, the model's input is %zu\n", path, got, bytes);
        return 0;
    }
    return 1;
}

static void print_values(const char *name, const int8_t *v, size_t n)
{
    size_t i;
    printf("%s:", name);
    for (i = 0; i < n; ++i) printf(" %d", v[i]);
    printf("\n");
}

int main(int argc, char **argv)
{
    static sine_input_t x;
    static sine_output_t y;
    static keyword_input_t spectrogram;
    static keyword_output_t scores;
    if (argc != 3) {
        fprintf(stderr, "usage: host_app SINE_INPUT.bin KEYWORD_INPUT.bin\n");
        return 2;
    }
    if (!read_exactly(argv[1], &x, sizeof x) || !read_exactly(argv[2], &spectrogram, sizeof spectrogram)) return 1;
    if (sine_invoke(&x, &y) != KILN_OK || keyword_invoke(&spectrogram, &scores) != KILN_OK) {
        fprintf(stderr, "host_app: a model failed\n");
        return 1;
    }
    print_values("sine", (const int8_t *)&y, sizeof y);
    print_values("keyword", (const int8_t *)&scores, sizeof scores);
    return 0;
}
