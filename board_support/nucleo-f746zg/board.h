/* Board support for the NUCLEO-F746ZG (STM32F746ZG: Cortex-M7 with FPv5 single precision FPU).
 *
 * The same API as board_support/qemu-m4/board.h, so that the standalone runner
 * (board_support/qemu-m4/main.c) builds against it unchanged:
 *   - output on USART3 (PD8 TX, PD9 RX), the ST-LINK virtual COM port, 115200 8N1, polled;
 *   - ticks are core clock cycles from DWT->CYCCNT (216 MHz), extended to 64 bits: the SysTick
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

/* USART3 (PD8/PD9, the ST-LINK virtual COM port), polled. */
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
 * clock the start-up code reached (216 MHz, or 16 MHz when the PLL could not be started). */
extern volatile int32_t board_exit_code;
uint32_t board_cpu_hz(void);

#endif
