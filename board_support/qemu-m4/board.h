/* Board support for QEMU's mps2-an386 (Cortex-M4F): UART0 output, a SysTick tick counter,
 * semihosting exit. Nothing here allocates; there is no printf. */
#ifndef KILN_BOARD_H
#define KILN_BOARD_H

#include <stdint.h>

#ifndef KILN_SYSTICK_BITS
#define KILN_SYSTICK_BITS 24 /* the counter's width; a smaller value (tests) wraps more often */
#endif

/* Exit codes (semihosting SYS_EXIT_EXTENDED, seen by the host as QEMU's exit status). */
enum {
    BOARD_EXIT_OK = 0,
    BOARD_EXIT_MODEL_ERROR = 1,   /* run() returned a KILN_ERR_* code */
    BOARD_EXIT_MISMATCH = 2,      /* the profiled run gave other outputs than the plain run */
    BOARD_EXIT_BAD_BUILD = 3,     /* the record sizes built in do not match the model */
    BOARD_EXIT_TIMER_OVERFLOW = 4,/* an inference took 2^32 ticks or more; or an exact measurement failed */
    BOARD_EXIT_FAULT = 5          /* a fault or unexpected exception */
};

void board_init(void);

/* UART0 (CMSDK APB UART at 0x40004000), polled. */
void board_putc(char c);
int board_getc(void); /* a received byte, or -1 when none is waiting (polled, no FIFO) */
void board_puts(const char *s);
void board_put_u32(uint32_t v);                   /* decimal */
void board_put_hex(const uint8_t *p, uint32_t n); /* two lowercase hex digits per byte */

/* SysTick as a free-running counter: wraps of its 24-bit down counter are counted by its
 * interrupt and combined with the current value, so the count is 2^24 * wraps + elapsed. */
uint64_t board_ticks64(void);
uint32_t kiln_timer_read(void); /* the low 32 bits, the hook KILN_PROFILE code calls */
uint32_t board_ticks_to_wrap(void); /* ticks left before the counter's next wrap */
uint32_t board_wraps(void);
#define BOARD_TICK_PERIOD_BITS KILN_SYSTICK_BITS
#define BOARD_TIMER_HZ 25000000u /* SysTick on the processor clock in QEMU's mps2 machines */

void board_exit(int code);
void board_fail(int code, const char *what); /* prints "ERROR <what>" and exits with code */

#endif
