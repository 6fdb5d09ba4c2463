/* libFuzzer target for the device RPC server (runtime_c/rpc) with a compiled model behind it,
 * built by bench/fuzz_rpc.py with clang -fsanitize=fuzzer,address,undefined.
 *
 * The first input byte picks the mode:
 *   even: the rest is a raw byte stream fed to the server (the framing layer's own defences);
 *   odd:  the rest is a list of requests {type u8, length u8, payload[length]}, each framed with a
 *         correct CRC by this harness, so that the fuzzer reaches request dispatch; bit 1 of the
 *         mode byte puts a random bit flip into one frame.
 * The server serves two copies of the model (kiln_rpc_init_models) so SELECT_MODEL is reachable.
 * Answers go to a sink that reads every byte (ASan checks the bounds). A crash, an ASan/UBSan
 * report or kiln_platform_abort() (which only a bug reaches) is a finding. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kiln_frame.h"
#include "kiln_model.h"
#include "kiln_platform.h"
#include "kiln_rpc.h"

extern const kiln_model_t KILN_MODEL;

static const uint8_t *feed_at, *feed_end;
static uint32_t clock_ticks;
static volatile uint32_t sink_sum;

void kiln_platform_write(const uint8_t *data, size_t n)
{
    size_t i;
    for (i = 0; i < n; ++i) sink_sum += data[i];
}

int kiln_platform_read_byte(uint32_t timeout_ms)
{
    (void)timeout_ms;
    if (feed_at == NULL || feed_at >= feed_end) return KILN_PLATFORM_CLOSED;
    return *feed_at++;
}

uint32_t kiln_timer_read(void) { return clock_ticks += 7u; }
uint32_t kiln_timer_hz(void) { return 1000000u; }
void kiln_timer_start(void) {}
int kiln_timer_stop(uint32_t *elapsed)
{
    *elapsed = 100u;
    return 0;
}
void kiln_platform_abort(const char *why)
{
    (void)why;
    abort(); /* only a bug in kiln_rpc.c gets here: a finding */
}
void kiln_platform_log(const char *line) { (void)line; }

static kiln_rpc_server_t server;
static kiln_rpc_config_t models[2];

static void *exact(size_t n) { return malloc(n > 0 ? n : 1); } /* exact sizes: ASan sees any overrun */

static void setup(void)
{
    static int done;
    const kiln_model_t *m = &KILN_MODEL;
    int k;
    uint32_t i;
    if (done) return;
    done = 1;
    for (k = 0; k < 2; ++k) {
        void **ins = exact(sizeof(void *) * (m->input_count + 1u)), **outs = exact(sizeof(void *) * (m->output_count + 1u));
        for (i = 0; i < m->input_count; ++i) ins[i] = exact(m->inputs[i].bytes);
        for (i = 0; i < m->output_count; ++i) outs[i] = exact(m->outputs[i].bytes);
        models[k].model = m;
        models[k].arena = aligned_alloc(8, (m->arena_bytes + 7u) / 8u * 8u + 8u);
        models[k].arena_bytes = m->arena_bytes;
        models[k].inputs = (void *const *)ins;
        models[k].outputs = (void *const *)outs;
        models[k].op_ticks = exact(sizeof(uint32_t) * (m->op_count + 1u));
    }
}

static uint8_t framed[KILN_FRAME_MAX_WIRE_BYTES * 64];
static size_t framed_len;

static void to_framed(void *ctx, const uint8_t *bytes, size_t n)
{
    (void)ctx;
    if (n > sizeof framed - framed_len) n = sizeof framed - framed_len;
    memcpy(framed + framed_len, bytes, n);
    framed_len += n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size == 0) return 0;
    if (kiln_rpc_init_models(&server, models, 2) != 0) abort();
    if ((data[0] & 1u) == 0u) {
        feed_at = data + 1;
        feed_end = data + size;
    } else {
        size_t at = 1, frames = 0;
        uint8_t seq = 1;
        framed_len = 0;
        while (at + 2 <= size && frames < 64) {
            const uint8_t type = data[at], length = data[at + 1];
            const size_t n = length <= size - at - 2 ? length : size - at - 2;
            const size_t before = framed_len;
            (void)kiln_frame_write(seq++, type, data + at + 2, (uint16_t)n, to_framed, NULL);
            if ((data[0] & 2u) && frames == 0 && framed_len > before + 2) framed[before + 2] ^= 0x10u;
            at += 2 + n;
            ++frames;
        }
        feed_at = framed;
        feed_end = framed + framed_len;
    }
    while (kiln_rpc_poll(&server, 0) >= 0 && feed_at < feed_end) {
    }
    while (kiln_rpc_poll(&server, 1) > 0) { /* the last frame, and a NAK for one cut short */
    }
    feed_at = feed_end = NULL;
    return 0;
}
