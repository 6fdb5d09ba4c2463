/* Firmware runner for qemu-m4: runs one compiled model on the input records built into the
 * firmware and reports over UART0 in a line protocol that kiln.boards.qemu parses.
 *
 * Build: -DKILN_MODEL=<name>_model, with the generated kiln_records.h (kiln.boards.qemu) on the
 * include path. It includes the model's <name>.h and defines KILN_ARENA_BYTES, KILN_OP_COUNT,
 * kiln_outputs_t (the model's output struct), KILN_RECORD_COUNT, KILN_RECORD_BYTES,
 * KILN_RECORD_STRIDE and kiln_records.bytes[]: the records, each the model's inputs back to back
 * and starting 8-byte aligned (so that memcpy takes the same path whatever the layout). Sizes are
 * checked against the model's descriptor before anything runs. -DKILN_PROFILE adds a profiled
 * run per record; -DKILN_EXACT=1 measures exact instruction counts (below).
 *
 * Output, one item a line:
 *   KILN <model> ops <op_count> records <count>
 *   TIMER <ticks> <phases>             two back-to-back timer reads: the cost of one measurement
 *   OUT <record> <output> <hex bytes>  from a plain run (op_ticks = NULL)
 *   TOTAL <record> <ticks> <phases>    measured around the plain run() call
 *   TICKS <record> <op> <ticks> <phases>  from a profiled run (KILN_PROFILE builds only)
 *   DONE
 * then exit status 0 through semihosting; on a failure "ERROR <what>" and a non-zero status
 * (board.h).
 *
 * Ticks and phases. One SysTick tick is 40 instructions (board.c), so a single measurement is
 * only good to 40 instructions. Because QEMU runs with -icount shift=0, execution is exactly
 * repeatable, and KILN_EXACT measures each figure over PHASES = 40 back-to-back iterations whose
 * start points fall on all 40 offsets within a tick: for a window of D instructions starting at
 * offset x, the tick count is floor((x + D) / 40) - floor(x / 40), and its sum over the 40
 * offsets x = 0..39 (mod 40) is exactly D. Consecutive iterations start W instructions apart
 * (W: one iteration's length), so their offsets cover all 40 residues exactly when W is odd and
 * not a multiple of 5. W itself is exact: 40 iterations span 40 * W instructions, exactly W
 * ticks. A short delay loop in each iteration (3 instructions a step) adjusts W until it is prime
 * to 40. So with "<ticks> 40" the tick sum is the instruction count; "<ticks> 1" is a single
 * measurement (no KILN_EXACT, or an inference too long to repeat before the counter wraps).
 * In general a tick is N / D instructions (board.h: BOARD_TICK_NUM / BOARD_TICK_DEN, in lowest
 * terms; qemu-m55: 125 / 4): the tick count is then a function f of time with f(x + N) = f(x) + D,
 * so over PHASES = N iterations whose starts cover all N residues the sum telescopes to D * W,
 * the N iterations span D * W ticks, and W must be prime to N (N divides 10^9: its only prime
 * factors are 2 and 5).
 * A board whose timer counts instructions (board.h: BOARD_INSTRUCTIONS_PER_TICK 1) needs none of
 * this: its single readings, "<ticks> 1", are exact. */
#include <stdint.h>
#include <string.h>

#include "board.h"
#include "kiln_model.h"
#include "kiln_records.h"

extern const kiln_model_t KILN_MODEL;

#ifndef KILN_EXACT
#define KILN_EXACT 0
#endif
#if defined(BOARD_INSTRUCTIONS_PER_TICK) && BOARD_INSTRUCTIONS_PER_TICK == 1
#undef KILN_EXACT
#define KILN_EXACT 0 /* a counter of instructions (qemu-rv32's instret): every reading is exact already */
#endif
#ifndef KILN_TICK_LIMIT
#define KILN_TICK_LIMIT 0xffffffffu /* what a 32-bit figure holds; tests lower it to see the error */
#endif
#ifndef BOARD_TICK_NUM
#define BOARD_TICK_NUM 40u /* instructions per tick: SysTick at 25 MHz, one instruction per ns */
#define BOARD_TICK_DEN 1u
#endif
#define PHASES BOARD_TICK_NUM
#define KILN_MAX_IO 16u
#define NONZERO(n) ((n) > 0u ? (n) : 1u)

static union {
    uint8_t bytes[NONZERO(KILN_ARENA_BYTES)];
    uint64_t align;
} arena;

/* a build that runs each record more than once */
#if defined(KILN_PROFILE) || KILN_EXACT
#define KILN_REPEATS 1
#else
#define KILN_REPEATS 0
#endif

static union {
    uint8_t bytes[sizeof(kiln_outputs_t)];
    uint64_t align;
} plain_out;
static uint32_t output_bytes;

#if KILN_REPEATS
static union {
    uint8_t bytes[sizeof(kiln_outputs_t)];
    uint64_t align;
} other_out;
/* A stateful model's state before the plain run of a record: every repeat of that record starts
 * from it again, so that it computes (and is timed on) exactly what the plain run did, and the
 * state after the last repeat is the state after the plain run. */
static union {
    uint8_t bytes[NONZERO(KILN_STATE_BYTES)];
    uint64_t align;
} saved_state;
static void save_state(const kiln_model_t *m)
{
    if (m->state != NULL) memcpy(saved_state.bytes, m->state, m->state_bytes);
}
static void restore_state(const kiln_model_t *m)
{
    if (m->state != NULL) memcpy(m->state, saved_state.bytes, m->state_bytes);
}
static uint32_t op_ticks[NONZERO(KILN_OP_COUNT)];
static uint32_t op_sums[NONZERO(KILN_OP_COUNT)];
#endif

enum { MODE_TIMER, MODE_PLAIN, MODE_PROFILED, MODE_CAL };

static void put_field(const char *tag, uint32_t a)
{
    board_puts(tag);
    board_putc(' ');
    board_put_u32(a);
}

static void check_sizes(const kiln_model_t *m)
{
    uint32_t i, in = 0, out = 0;
    for (i = 0; i < m->input_count; ++i) in += m->inputs[i].bytes;
    for (i = 0; i < m->output_count; ++i) out += m->outputs[i].bytes;
    if (in != KILN_RECORD_BYTES || out > sizeof(kiln_outputs_t) || m->arena_bytes > KILN_ARENA_BYTES ||
        m->state_bytes != KILN_STATE_BYTES ||
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

static void check_rc(int rc)
{
    if (rc != 0) {
        board_puts("ERROR the model returned error ");
        if (rc < 0) board_putc('-');
        board_put_u32(rc < 0 ? (uint32_t)(-(int32_t)rc) : (uint32_t)rc);
        board_putc('\n');
        board_exit(BOARD_EXIT_MODEL_ERROR);
    }
}

/* One inference, timed with the 64-bit count so that an overflow of the 32-bit figure is
 * caught rather than reported wrapped. */
static uint32_t timed_run(const kiln_model_t *m, const void **ins, void **outs, uint32_t *ticks)
{
    uint64_t t0, t1;
    int rc;
    t0 = board_ticks64();
    rc = m->run((const void *const *)ins, (void *const *)outs, arena.bytes, sizeof arena.bytes, ticks);
    t1 = board_ticks64();
    check_rc(rc);
    if (t1 - t0 > (uint64_t)KILN_TICK_LIMIT) {
        board_fail(BOARD_EXIT_TIMER_OVERFLOW, "timer overflow: one inference took 2^32 ticks or more");
    }
    return (uint32_t)(t1 - t0);
}

#if KILN_REPEATS
static void check_outputs(const uint8_t *got)
{
    if (memcmp(plain_out.bytes, got, output_bytes) != 0) {
        board_fail(BOARD_EXIT_MISMATCH, "a repeated or profiled run gave other outputs than the first run");
    }
}
#endif

#if KILN_EXACT
/* Exactly 3 * n + c instructions for n >= 1 (c fixed). */
static void delay_steps(uint32_t n)
{
    /* unified syntax: GCC puts Thumb-1 targets' (Armv6-M) inline assembly in divided syntax */
    __asm__ volatile(".syntax unified\n1:\n\tnop\n\tsubs %0, %0, #1\n\tbne 1b" : "+r"(n) : : "cc");
}

#ifdef KILN_SELFTEST
/* Blocks of known length for the timer's self-test: 0, 1000 and 1001 NOPs. */
__attribute__((noinline)) static void cal_0(void)
{
    __asm__ volatile("" ::: "memory");
}
__attribute__((noinline)) static void cal_1000(void)
{
    __asm__ volatile(".rept 1000\n\tnop\n\t.endr" ::: "memory");
}
__attribute__((noinline)) static void cal_1001(void)
{
    __asm__ volatile(".rept 1001\n\tnop\n\t.endr" ::: "memory");
}
static void (*volatile const cal_blocks[3])(void) = {cal_0, cal_1000, cal_1001};
#endif

/* iter: the PHASES iterations' span in ticks, BOARD_TICK_DEN * W */
static int prime_to_phases(uint32_t iter)
{
    const uint32_t w = iter / BOARD_TICK_DEN;
    return (PHASES % 2u != 0u || (w & 1u) != 0u) && (PHASES % 5u != 0u || w % 5u != 0u);
}

/* PHASES + 1 iterations of one measured window, each exactly as long as the others; returns the
 * sum of the window's ticks over the first PHASES (and of op_ticks into op_sums), and stores one
 * iteration's length in *iter_ticks: from the window's start in the first iteration to its start
 * in the last, PHASES * W instructions, which is exactly W ticks. Every iteration executes the
 * same instructions: no data-dependent branch, the bookkeeping stores through an index. */
static uint32_t starts[PHASES + 1u];

__attribute__((noinline)) static uint32_t iterate(const kiln_model_t *m, int mode, const void **ins, void **outs,
                                                  uint32_t steps, uint32_t *iter_ticks)
{
    uint32_t k, i, sum = 0, last = 0, t0, t1;
    for (i = 0; i < m->op_count; ++i) op_sums[i] = 0u;
    for (k = 0; k <= PHASES; ++k) {
        delay_steps(steps);
        if (mode == MODE_TIMER) {
            t0 = kiln_timer_read();
            t1 = kiln_timer_read();
#ifdef KILN_SELFTEST
        } else if (mode >= MODE_CAL) {
            void (*const block)(void) = cal_blocks[mode - MODE_CAL];
            t0 = kiln_timer_read();
            block();
            t1 = kiln_timer_read();
#endif
        } else {
            int rc;
            restore_state(m);
            t0 = kiln_timer_read();
            rc = m->run((const void *const *)ins, (void *const *)outs, arena.bytes, sizeof arena.bytes,
                        mode == MODE_PROFILED ? op_ticks : NULL);
            t1 = kiln_timer_read();
            check_rc(rc);
            if (mode == MODE_PROFILED) {
                for (i = 0; i < m->op_count; ++i) op_sums[i] += op_ticks[i];
            }
        }
        starts[k] = t0;
        last = t1 - t0;
        sum += last;
    }
    /* take the last iteration back out: it is there to time the one before it */
    sum -= last;
    if (mode == MODE_PROFILED) {
        for (i = 0; i < m->op_count; ++i) op_sums[i] -= op_ticks[i];
    }
    *iter_ticks = starts[PHASES] - starts[0];
    return sum;
}

/* The exact instruction count of one window (and of each operator's, when profiled); 0 when it
 * cannot be had: the PHASES iterations would not fit between two wraps of the counter, whose
 * interrupt would lengthen one of them. coarse: the window's ticks from a single run. */
static uint32_t exact(const kiln_model_t *m, int mode, const void **ins, void **outs, uint32_t coarse)
{
    uint32_t steps = 1, attempt, iter = 0, sum;
    const uint32_t span = (PHASES + 1u) * (coarse + 64u) + 256u; /* ticks the iterations take, and more */
    if (coarse > (1u << (BOARD_TICK_PERIOD_BITS - 1)) / PHASES || span >= (1u << BOARD_TICK_PERIOD_BITS) / 2u) {
        return 0u;
    }
    for (attempt = 0; attempt < 8u; ++attempt) {
        uint32_t wraps;
        while (board_ticks_to_wrap() <= span) {
            /* too close to a wrap: let it pass first */
        }
        wraps = board_wraps();
        sum = iterate(m, mode, ins, outs, steps, &iter);
        if (board_wraps() != wraps) continue; /* cannot happen given span; measure again */
        if (prime_to_phases(iter)) return sum;
        /* W grows by 3 a step: take the next step count that makes it prime to PHASES */
        do {
            ++steps;
            iter += 3u * BOARD_TICK_DEN;
        } while (!prime_to_phases(iter));
    }
    board_fail(BOARD_EXIT_TIMER_OVERFLOW, "exact measurement failed: no iteration length prime to the phases found");
    return 0u;
}
#endif

static void put_measure(const char *tag, uint32_t r, int with_r, uint32_t ticks, uint32_t phases)
{
    board_puts(tag);
    if (with_r) put_field("", r);
    put_field("", ticks);
    put_field("", phases);
    board_putc('\n');
}

int main(void)
{
    const kiln_model_t *m = &KILN_MODEL;
    const void *ins[KILN_MAX_IO];
    void *outs[KILN_MAX_IO];
    uint32_t r, i;
    uint64_t t0, t1;

    board_init();
    check_sizes(m);
    if (m->reset != NULL) m->reset(); /* a stateful model starts its sequence of records from its reset state */
    board_puts("KILN ");
    board_puts(m->name);
    put_field(" ops", m->op_count);
    put_field(" records", KILN_RECORD_COUNT);
    board_putc('\n');

    t0 = board_ticks64();
    t1 = board_ticks64();
    if (t1 < t0) board_fail(BOARD_EXIT_TIMER_OVERFLOW, "the timer went backwards");
#if KILN_EXACT
    {
        const uint32_t exact_timer = exact(m, MODE_TIMER, ins, outs, (uint32_t)(t1 - t0));
        if (exact_timer != 0u) {
            put_measure("TIMER", 0, 0, exact_timer, PHASES);
        } else {
            put_measure("TIMER", 0, 0, (uint32_t)(t1 - t0), 1);
        }
    }
#else
    put_measure("TIMER", 0, 0, (uint32_t)(t1 - t0), 1);
#endif

#if defined(KILN_SELFTEST) && KILN_EXACT
    for (i = 0; i < 3u; ++i) {
        const uint32_t cal = exact(m, MODE_CAL + (int)i, ins, outs, 64u);
        board_puts("CAL");
        put_measure("", i == 0u ? 0u : 1000u + (i - 1u), 1, cal, PHASES);
    }
#endif

    for (r = 0; r < KILN_RECORD_COUNT; ++r) {
        const uint8_t *record = kiln_records.bytes + (uint32_t)r * KILN_RECORD_STRIDE;
        uint32_t total, pos = 0, phases = 1;

        bind(m, record, plain_out.bytes, ins, outs);
#if KILN_REPEATS
        save_state(m);
#endif
        total = timed_run(m, ins, outs, NULL);
        for (i = 0; i < m->output_count; ++i) {
            put_field("OUT", r);
            put_field("", i);
            board_putc(' ');
            board_put_hex(plain_out.bytes + pos, m->outputs[i].bytes);
            board_putc('\n');
            pos += m->outputs[i].bytes;
        }
#if KILN_EXACT
        bind(m, record, other_out.bytes, ins, outs);
        {
            const uint32_t e = exact(m, MODE_PLAIN, ins, outs, total);
            if (e != 0u) {
                total = e;
                phases = PHASES;
                check_outputs(other_out.bytes);
            }
        }
#endif
        put_measure("TOTAL", r, 1, total, phases);

#ifdef KILN_PROFILE
        bind(m, record, other_out.bytes, ins, outs);
        restore_state(m);
        total = timed_run(m, ins, outs, op_ticks);
        check_outputs(other_out.bytes);
        for (i = 0; i < m->op_count; ++i) op_sums[i] = op_ticks[i];
        phases = 1;
#if KILN_EXACT
        if (exact(m, MODE_PROFILED, ins, outs, total) != 0u) {
            phases = PHASES;
            check_outputs(other_out.bytes);
        } else {
            for (i = 0; i < m->op_count; ++i) op_sums[i] = op_ticks[i];
        }
#endif
        for (i = 0; i < m->op_count; ++i) {
            board_puts("TICKS");
            put_field("", r);
            put_measure("", i, 1, op_sums[i], phases);
        }
#endif
    }
    board_puts("DONE\n");
    return BOARD_EXIT_OK;
}
