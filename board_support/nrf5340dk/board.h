/* Board support for the nRF5340 DK (nRF5340 application core: Cortex-M33 with FPU and DSP).
 *
 * The same API as board_support/qemu-m4/board.h, so that the standalone runner
 * (board_support/qemu-m4/main.c) builds against it unchanged:
 *   - output on UARTE0 (P0.20 TX, P0.22 RX), the J-Link OB's first virtual COM port (VCOM0),
 *     115200 8N1, through EasyDMA from a line buffer in RAM;
 *   - ticks are core clock cycles from DWT->CYCCNT (128 MHz), extended to 64 bits: the SysTick
 *     interrupt samples the counter every 2^24 cycles and counts its wraps;
 *   - board_exit() cannot end a process on hardware: it waits for the UART to drain, stores the
 *     code in board_exit_code and stops in a loop.
 * Nothing here allocates; there is no printf. */
#ifndef KILN_BOARD_H
#define KILN_BOARD_H

#include <stdint.h>

/* Exit codes, as on the QEMU boards; on hardware they are left in board_exit_code. */
enum {
    BOARD_EXIT_OK = 0,
    BOARD_EXIT_MODEL_ERROR = 1,   /* run() returned a KILN_ERR_* code */
    BOARD_EXIT_MISMATCH = 2,      /* the profiled run gave other outputs than the plain run */
    BOARD_EXIT_BAD_BUILD = 3,     /* the record sizes built in do not match the model */
    BOARD_EXIT_TIMER_OVERFLOW = 4,/* an inference took 2^32 cycles or more, or the cycle counter is dead */
    BOARD_EXIT_FAULT = 5          /* a fault or unexpected exception */
};

void board_init(void); /* UART and cycle counter; the clock is set up before main (startup.c) */

/* UARTE0 (P0.20/P0.22, VCOM0); output is buffered until a newline or 64 bytes. */
void board_putc(char c);
int board_getc(void); /* a received byte, or -1 when none is waiting (for the RPC firmware) */
void board_puts(const char *s);
void board_put_u32(uint32_t v);                   /* decimal */
void board_put_hex(const uint8_t *p, uint32_t n); /* two lowercase hex digits per byte */

/* DWT->CYCCNT as a free-running 64-bit count of core cycles: 2^32 * wraps + CYCCNT. */
uint64_t board_ticks64(void);
uint32_t kiln_timer_read(void);     /* CYCCNT itself, the hook KILN_PROFILE code calls */
uint32_t board_ticks_to_wrap(void); /* cycles left before CYCCNT wraps */
uint32_t board_wraps(void);
#define BOARD_TICK_PERIOD_BITS 32

void board_exit(int code);                   /* drains the UART, then stops (never returns) */
void board_fail(int code, const char *what); /* prints "ERROR <what>" and exits with code */

/* Hardware only: the last exit code (-1 while running), for a debugger to read, and the
 * CPU clock the start-up code set (128 MHz). */
extern volatile int32_t board_exit_code;
uint32_t board_cpu_hz(void);

#endif
