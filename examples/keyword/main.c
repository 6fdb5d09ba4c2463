/* A keyword spotter from raw samples, with nothing but Kiln's output: the front-end model turns
 * each 20 ms of 16 kHz PCM (320 samples) into 40 int8 log-mel features; the last 50 frames (one
 * second) go to the keyword model, whose highest score names the word.
 *
 * Host:    ./keyword yes.wav no.wav ...      (16-bit mono 16 kHz WAV files)
 * qemu-m4: built with -DKEYWORD_QEMU and the clips compiled in (clips.h, written by run.py); prints
 *          the instructions each stage takes, from SysTick (one tick is 40 instructions there). */
#include <stdint.h>
#include <string.h>

#include "frontend.h"
#include "keyword.h"

#define STEP 320
#define FRAMES 50
#define CHANNELS 40

static const char *const WORDS[] = {"silence", "yes", "no", "up", "down"};

typedef struct {
    uint64_t frontend, keyword; /* time in the two models: SysTick ticks (qemu-m4) or clock() (host) */
    int32_t frames;
} stage_times_t;

#ifdef KEYWORD_QEMU
#include "board.h"
#define NOW() board_ticks64()
#else
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#define NOW() ((uint64_t)clock())
#endif

/* Runs a clip through both models: the word's index, its scores in `scores`. The front end keeps
 * its state (framer, noise estimate) from clip to clip unless reset: each clip starts fresh here. */
static int classify(const int16_t *samples, int32_t n, int8_t scores[5], stage_times_t *t)
{
    static keyword_input_t history; /* [1][50][40][1]: the last 50 frames, oldest first */
    int8_t *const frames = (int8_t *)(void *)&history; /* its one field (named after the converter's tensor) */
    frontend_input_t in;
    frontend_output_t fe;
    keyword_output_t out;
    int32_t k, best = 0;
    uint64_t t0;
    memset(&history, 0, sizeof history);
    frontend_reset();
    for (k = 0; k + STEP <= n; k += STEP) {
        memcpy(in.samples, samples + k, sizeof in.samples);
        t0 = NOW();
        if (frontend_invoke(&in, &fe) != KILN_OK) return -1;
        t->frontend += NOW() - t0;
        t->frames++;
        memmove(frames, frames + CHANNELS, (FRAMES - 1) * CHANNELS);
        memcpy(frames + (FRAMES - 1) * CHANNELS, fe.features, CHANNELS);
    }
    t0 = NOW();
    if (keyword_invoke(&history, &out) != KILN_OK) return -1;
    t->keyword += NOW() - t0;
    for (k = 0; k < 5; ++k) {
        scores[k] = ((const int8_t *)(const void *)&out)[k];
        if (scores[k] > scores[best]) best = k;
    }
    return best;
}

#ifdef KEYWORD_QEMU
#include "clips.h" /* CLIP_COUNT, clip_names[], clip_samples[], clip_lengths[] */

int main(void)
{
    int32_t c, k;
    board_init();
    for (c = 0; c < CLIP_COUNT; ++c) {
        stage_times_t t = {0, 0, 0};
        int8_t scores[5];
        const int word = classify(clip_samples[c], clip_lengths[c], scores, &t);
        if (word < 0) board_fail(BOARD_EXIT_MODEL_ERROR, "a model returned an error");
        board_puts(clip_names[c]);
        board_puts(": ");
        board_puts(WORDS[word]);
        board_puts(" (scores");
        for (k = 0; k < 5; ++k) {
            board_puts(" ");
            board_put_u32((uint32_t)(scores[k] + 128));
        }
        board_puts("/255); front end ");
        board_put_u32((uint32_t)(t.frontend * 40u / (uint64_t)t.frames));
        board_puts(" instructions per 20 ms frame, keyword model ");
        board_put_u32((uint32_t)(t.keyword * 40u));
        board_puts(" instructions\n");
    }
    return 0;
}
#else
/* The samples of a 16-bit mono 16 kHz WAV file (malloc'd), or NULL with the reason printed. */
static int16_t *read_wav(const char *path, int32_t *n)
{
    unsigned char head[12], chunk[8], fmt[16];
    int16_t *samples = NULL;
    int ok_fmt = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "keyword: cannot open %s\n", path);
        return NULL;
    }
    if (fread(head, 1, 12, f) != 12 || memcmp(head, "RIFF", 4) != 0 || memcmp(head + 8, "WAVE", 4) != 0) {
        fprintf(stderr, "keyword: %s is not a WAV file (no RIFF/WAVE header at byte 0)\n", path);
        fclose(f);
        return NULL;
    }
    while (fread(chunk, 1, 8, f) == 8) {
        const uint32_t size = (uint32_t)chunk[4] | (uint32_t)chunk[5] << 8 | (uint32_t)chunk[6] << 16 |
                              (uint32_t)chunk[7] << 24;
        if (memcmp(chunk, "fmt ", 4) == 0 && size >= 16) {
            if (fread(fmt, 1, 16, f) != 16) break;
            /* PCM (1), one channel, 16000 Hz, 16 bits */
            ok_fmt = fmt[0] == 1 && fmt[2] == 1 && (fmt[4] | fmt[5] << 8 | fmt[6] << 16) == 16000 && fmt[14] == 16;
            if (!ok_fmt) {
                fprintf(stderr, "keyword: %s is not 16-bit mono 16 kHz PCM (its fmt chunk)\n", path);
                break;
            }
            fseek(f, (long)(size - 16 + (size & 1)), SEEK_CUR);
        } else if (memcmp(chunk, "data", 4) == 0 && ok_fmt) {
            *n = (int32_t)(size / 2);
            samples = (int16_t *)malloc(size + 2);
            if (!samples || fread(samples, 2, (size_t)*n, f) != (size_t)*n) {
                fprintf(stderr, "keyword: %s: its data chunk is shorter than it says\n", path);
                free(samples);
                samples = NULL;
            }
            break; /* samples are little-endian, as the host is */
        } else {
            fseek(f, (long)(size + (size & 1)), SEEK_CUR);
        }
    }
    if (!samples && ok_fmt) fprintf(stderr, "keyword: %s has no data chunk\n", path);
    fclose(f);
    return samples;
}

int main(int argc, char **argv)
{
    int a, k, failed = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: keyword FILE.wav...  (16-bit mono 16 kHz)\n");
        return 2;
    }
    for (a = 1; a < argc; ++a) {
        int32_t n = 0;
        int16_t *samples = read_wav(argv[a], &n);
        stage_times_t t = {0, 0, 0};
        int8_t scores[5];
        int word;
        if (!samples) {
            failed = 1;
            continue;
        }
        word = classify(samples, n, scores, &t);
        free(samples);
        if (word < 0) {
            fprintf(stderr, "keyword: %s: a model returned an error\n", argv[a]);
            failed = 1;
            continue;
        }
        printf("%s: %s (scores", argv[a], WORDS[word]);
        for (k = 0; k < 5; ++k) printf(" %d", scores[k] + 128);
        printf("/255); front end %.1f us per 20 ms frame, keyword model %.1f us\n",
               t.frames ? 1e6 * (double)t.frontend / CLOCKS_PER_SEC / t.frames : 0.0,
               1e6 * (double)t.keyword / CLOCKS_PER_SEC);
    }
    return failed;
}
#endif
