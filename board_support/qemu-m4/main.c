/* Firmware runner for qemu-m4: runs one compiled model on the input records built into the
 * firmware and reports over UART0 in a line protocol that kiln.qemuboard parses.
 *
 * Build: -DKILN_MODEL=<name>_model, with the generated kiln_records.h (kiln.qemuboard) on the
 * include path. It includes the model's <name>.h and defines KILN_ARENA_BYTES, KILN_OP_COUNT,
 * kiln_outputs_t (the model's output struct), KILN_RECORD_COUNT, KILN_RECORD_BYTES and
 * kiln_records[]: the records back to back, each the model's inputs back to back. Sizes are
 * checked against the model's descriptor before anything runs.
 *
 * Output, one item a line (ticks are SysTick ticks, see board.c):
 *   KILN <model> ops <op_count> records <count>
 *   TIMER <ticks>                      two back-to-back timer reads: the cost of one measurement
 *   OUT <record> <output> <hex bytes>  from the plain run (op_ticks = NULL)
 *   TOTAL <record> <ticks>             measured around the plain run() call
 *   TICKS <record> <op> <ticks>        from a second, profiled run (KILN_PROFILE builds only)
 *   DONE
 * then exit status 0 through semihosting; on a failure "ERROR <what>" and a non-zero status
 * (board.h). */
#include <stdint.h>
#include <string.h>

#include "board.h"
#include "kiln_model.h"
#include "kiln_records.h"

extern const kiln_model_t KILN_MODEL;

#define NONZERO(n) ((n) > 0u ? (n) : 1u)

static union {
    uint8_t bytes[NONZERO(KILN_ARENA_BYTES)];
    uint64_t align;
} arena;

#define KILN_MAX_IO 16u

static union {
    uint8_t bytes[sizeof(kiln_outputs_t)];
    uint64_t align;
} plain_out, profiled_out;

#ifdef KILN_PROFILE
static uint32_t op_ticks[NONZERO(KILN_OP_COUNT)];
#endif

static void put_field(const char *tag, uint32_t a)
{
    board_puts(tag);
    board_putc(' ');
    board_put_u32(a);
}

static uint32_t output_bytes;

static void check_sizes(const kiln_model_t *m)
{
    uint32_t i, in = 0, out = 0;
    for (i = 0; i < m->input_count; ++i) in += m->inputs[i].bytes;
    for (i = 0; i < m->output_count; ++i) out += m->outputs[i].bytes;
    if (in != KILN_RECORD_BYTES || out > sizeof(kiln_outputs_t) || m->arena_bytes > KILN_ARENA_BYTES ||
        m->input_count > KILN_MAX_IO || m->output_count > KILN_MAX_IO || m->op_count != KILN_OP_COUNT) {
        board_fail(BOARD_EXIT_BAD_BUILD, "the built-in records do not match the model's sizes");
    }
    output_bytes = out;
}

/* Points ins/outs at one record's inputs and at an output block. */
static void bind(const kiln_model_t *m, const uint8_t *record, uint8_t *out_block, const void **ins,
                 void **outs)
{
    uint32_t i, pos = 0;
    for (i = 0; i < m->input_count; ++i) {
        ins[i] = record + pos;
        pos += m->inputs[i].bytes;
    }
    for (i = 0, pos = 0; i < m->output_count; ++i) {
        outs[i] = out_block + pos;
        pos += m->outputs[i].bytes;
    }
}

static uint32_t timed_run(const kiln_model_t *m, const void **ins, void **outs, uint32_t *ticks)
{
    uint64_t t0, t1;
    int rc;
    t0 = board_ticks64();
    rc = m->run((const void *const *)ins, (void *const *)outs, arena.bytes, sizeof arena.bytes, ticks);
    t1 = board_ticks64();
    if (rc != 0) {
        board_puts("ERROR the model returned error ");
        if (rc < 0) board_putc('-');
        board_put_u32(rc < 0 ? (uint32_t)(-(int32_t)rc) : (uint32_t)rc);
        board_putc('\n');
        board_exit(BOARD_EXIT_MODEL_ERROR);
    }
    if (t1 - t0 > 0xffffffffu) {
        board_fail(BOARD_EXIT_TIMER_OVERFLOW, "timer overflow: one inference took 2^32 ticks or more");
    }
    return (uint32_t)(t1 - t0);
}

int main(void)
{
    const kiln_model_t *m = &KILN_MODEL;
    const void *ins[NONZERO(KILN_MAX_IO)];
    void *outs[NONZERO(KILN_MAX_IO)];
    uint32_t r, i;
    uint64_t t0, t1;

    board_init();
    check_sizes(m);
    board_puts("KILN ");
    board_puts(m->name);
    put_field(" ops", m->op_count);
    put_field(" records", KILN_RECORD_COUNT);
    board_putc('\n');

    t0 = board_ticks64();
    t1 = board_ticks64();
    if (t1 < t0) board_fail(BOARD_EXIT_TIMER_OVERFLOW, "the timer went backwards");
    put_field("TIMER", (uint32_t)(t1 - t0));
    board_putc('\n');

    for (r = 0; r < KILN_RECORD_COUNT; ++r) {
        const uint8_t *record = kiln_records + (uint32_t)r * KILN_RECORD_BYTES;
        uint32_t total, pos = 0;

        bind(m, record, plain_out.bytes, ins, outs);
        total = timed_run(m, ins, outs, NULL);
        for (i = 0; i < m->output_count; ++i) {
            put_field("OUT", r);
            put_field("", i);
            board_putc(' ');
            board_put_hex(plain_out.bytes + pos, m->outputs[i].bytes);
            board_putc('\n');
            pos += m->outputs[i].bytes;
        }
        put_field("TOTAL", r);
        put_field("", total);
        board_putc('\n');

#ifdef KILN_PROFILE
        bind(m, record, profiled_out.bytes, ins, outs);
        (void)timed_run(m, ins, outs, op_ticks);
        if (memcmp(plain_out.bytes, profiled_out.bytes, output_bytes) != 0) {
            board_fail(BOARD_EXIT_MISMATCH, "the profiled run gave other outputs than the plain run");
        }
        for (i = 0; i < m->op_count; ++i) {
            put_field("TICKS", r);
            put_field("", i);
            put_field("", op_ticks[i]);
            board_putc('\n');
        }
#else
        (void)profiled_out;
#endif
    }
    board_puts("DONE\n");
    return BOARD_EXIT_OK;
}
