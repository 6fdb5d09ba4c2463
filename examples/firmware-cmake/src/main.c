/* An application with two Kiln models. It calls each model the way firmware does (here once at
 * start, on a silent spectrogram and on x = 1.0), then loops: its own work would go in the loop,
 * beside kiln_rpc_poll(), which answers `kiln profile --port` / `kiln run --port` on UART0 for
 * either model (the host picks the model it compiled, by its SHA-256).
 *
 * The RPC server gets its own buffers: one arena the size of the larger model's (the host runs
 * one model at a time), and one input and output per model. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "keyword.h"
#include "kiln_platform.h"
#include "kiln_rpc.h"
#include "mps2_an386.h"
#include "sine.h"

#define RPC_ARENA_BYTES (KEYWORD_ARENA_BYTES > SINE_ARENA_BYTES ? KEYWORD_ARENA_BYTES : SINE_ARENA_BYTES)

static union {
    uint8_t bytes[RPC_ARENA_BYTES];
    uint64_t align; /* the arena must be 8-byte aligned */
} rpc_arena;
static sine_input_t rpc_sine_in;
static sine_output_t rpc_sine_out;
static keyword_input_t rpc_keyword_in;
static keyword_output_t rpc_keyword_out;
static uint32_t rpc_sine_ticks[SINE_OP_COUNT], rpc_keyword_ticks[KEYWORD_OP_COUNT];

/* one input and one output each: the struct is that tensor's buffer */
static void *const sine_ins[] = {&rpc_sine_in}, *const sine_outs[] = {&rpc_sine_out};
static void *const keyword_ins[] = {&rpc_keyword_in}, *const keyword_outs[] = {&rpc_keyword_out};

static const kiln_rpc_config_t models[] = {
    {&sine_model, rpc_arena.bytes, sizeof rpc_arena.bytes, sine_ins, sine_outs, rpc_sine_ticks},
    {&keyword_model, rpc_arena.bytes, sizeof rpc_arena.bytes, keyword_ins, keyword_outs, rpc_keyword_ticks},
};

static kiln_rpc_server_t rpc;

/* What the application itself computes (kept so that the calls are not optimized away). */
volatile int8_t app_sine, app_keyword;

int main(void)
{
    static sine_input_t x;
    static sine_output_t y;
    static keyword_input_t spectrogram;
    static keyword_output_t scores;
    port_init();

    x.x[0] = (int8_t)(1.0f / 0.0246399418f - 128.0f); /* x = 1.0 in the input's quantization */
    if (sine_invoke(&x, &y) == KILN_OK) app_sine = y.sin_x[0];
    memset(&spectrogram, 0, sizeof spectrogram);
    if (keyword_invoke(&spectrogram, &scores) == KILN_OK) app_keyword = scores.statefulpartitionedcall_1_0[0];

    if (kiln_rpc_init_models(&rpc, models, sizeof models / sizeof models[0]) != 0) {
        kiln_platform_abort("the RPC buffers do not fit the models");
    }
    kiln_rpc_announce(&rpc);
    for (;;) {
        (void)kiln_rpc_poll(&rpc, KILN_RPC_FRAME_GAP_MS); /* the application's own work would go here too */
    }
}
