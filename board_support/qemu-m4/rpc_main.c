/* RPC firmware for the QEMU boards: serves the Kiln device protocol (docs/protocol.md) for one
 * compiled model over UART0, which QEMU connects to a TCP socket (-serial tcp:...,server=on).
 *
 * The real boards (nucleo-f746zg, nrf5340dk) build this same file against their own board.h.
 *
 * Build: the generated sources, the .c files of runtime_c/rpc, board.c and this file, with
 * -DKILN_MODEL=<name>_model -DKILN_PROFILE -DKILN_RPC_POOL_BYTES=<bytes> (kiln.boards.qemu.build_rpc
 * works the pool out from the model: arena, inputs, outputs and per-operator ticks, each 8-byte
 * aligned). All buffers are static; nothing is allocated. */
#include <stddef.h>
#include <stdint.h>

#include "board.h"
#include "kiln_model.h"
#include "kiln_platform.h"
#include "kiln_rpc.h"

#ifndef KILN_RPC_POOL_BYTES
#error "build with -DKILN_RPC_POOL_BYTES=<bytes> (kiln.boards.qemu.build_rpc does)"
#endif

#ifndef BOARD_TIMER_HZ
#define BOARD_TIMER_HZ board_cpu_hz() /* real boards: the DWT cycle counter runs at the CPU clock */
#endif

extern const kiln_model_t KILN_MODEL;

static union {
    uint8_t bytes[KILN_RPC_POOL_BYTES];
    uint64_t align;
} pool;

static kiln_rpc_server_t rpc;
static uint64_t timer_started;

/* ---- platform hooks (runtime_c/rpc/kiln_platform.h) ---- */

void kiln_platform_write(const uint8_t *data, size_t n)
{
    size_t i;
    for (i = 0; i < n; ++i) board_putc((char)data[i]);
}

int kiln_platform_read_byte(uint32_t timeout_ms)
{
    const uint64_t start = board_ticks64();
    const uint64_t limit = (uint64_t)timeout_ms * (BOARD_TIMER_HZ / 1000u);
    for (;;) {
        const int c = board_getc();
        if (c >= 0) return c;
        if (timeout_ms == 0u || board_ticks64() - start >= limit) return KILN_PLATFORM_TIMEOUT;
    }
}

uint32_t kiln_timer_hz(void)
{
    return BOARD_TIMER_HZ;
}

void kiln_timer_start(void)
{
    timer_started = board_ticks64();
}

int kiln_timer_stop(uint32_t *elapsed)
{
    const uint64_t d = board_ticks64() - timer_started;
    if (d > 0xFFFFFFFFu) return 1; /* an overflow is an error, not a wrong number */
    *elapsed = (uint32_t)d;
    return 0;
}

void kiln_platform_abort(const char *why)
{
    (void)why; /* UART0 is the RPC transport: nothing may be printed there */
    board_exit(BOARD_EXIT_BAD_BUILD);
}

void kiln_platform_log(const char *line)
{
    (void)line;
}

/* Carves n bytes, 8-byte aligned, from the pool; NULL when it is exhausted. */
static void *take(size_t *used, size_t n)
{
    void *p;
    const size_t at = (*used + 7u) & ~(size_t)7u;
    if (at + n > sizeof pool.bytes) return NULL;
    p = pool.bytes + at;
    *used = at + n;
    return p;
}

int main(void)
{
    static void *inputs[KILN_RPC_MAX_TENSORS];
    static void *outputs[KILN_RPC_MAX_TENSORS];
    const kiln_model_t *m = &KILN_MODEL;
    kiln_rpc_config_t cfg;
    size_t used = 0;
    uint32_t i;
    int ok = m->input_count <= KILN_RPC_MAX_TENSORS && m->output_count <= KILN_RPC_MAX_TENSORS;
    board_init();
    cfg.model = m;
    cfg.arena_bytes = m->arena_bytes;
    cfg.arena = take(&used, m->arena_bytes > 0u ? m->arena_bytes : 1u);
    for (i = 0; ok && i < m->input_count; ++i) ok = (inputs[i] = take(&used, m->inputs[i].bytes)) != NULL;
    for (i = 0; ok && i < m->output_count; ++i) ok = (outputs[i] = take(&used, m->outputs[i].bytes)) != NULL;
    cfg.inputs = (void *const *)inputs;
    cfg.outputs = (void *const *)outputs;
    cfg.op_ticks = (uint32_t *)take(&used, 4u * (m->op_count > 0u ? m->op_count : 1u));
    if (!ok || cfg.arena == NULL || cfg.op_ticks == NULL || kiln_rpc_init(&rpc, &cfg) != 0) {
        kiln_platform_abort("the buffer pool does not fit the model");
    }
    kiln_rpc_announce(&rpc);
    kiln_rpc_serve(&rpc);
    board_exit(BOARD_EXIT_OK);
    return 0;
}
