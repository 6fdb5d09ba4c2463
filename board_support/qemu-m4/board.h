/* Board support for QEMU's mps2-an386 (Cortex-M4F), and the Arm QEMU boards that share it (board.json
 * says which): UART0 output, a SysTick tick counter, semihosting exit. Nothing here allocates; there
 * is no printf. */
#ifndef KILN_BOARD_H
#define KILN_BOARD_H

#include <stdint.h>

/* What differs between the machines (board.json's flags define KILN_MPS3_AN547 for qemu-m55).
 * A SysTick tick on the processor clock is BOARD_TICK_NUM / BOARD_TICK_DEN instructions under
 * -icount shift=0 (one instruction a nanosecond): 1e9 / clock in lowest terms. */
#if defined(KILN_MPS3_AN547)
#define BOARD_UART0_BASE 0x49303000UL /* the FPGA's UART0 (SSE-300 expansion), CMSDK APB UART */
#define BOARD_TIMER_HZ 32000000u      /* the SSE-300's system clock */
#define BOARD_TICK_NUM 125u           /* 31.25 instructions a tick */
#define BOARD_TICK_DEN 4u
#else
#define BOARD_UART0_BASE 0x40004000UL
#define BOARD_TIMER_HZ 25000000u /* SysTick on the processor clock in QEMU's mps2 machines */
#define BOARD_TICK_NUM 40u       /* 40 instructions a tick */
#define BOARD_TICK_DEN 1u
#endif

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

/* UART0 (CMSDK APB UART at BOARD_UART0_BASE), polled. */
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

void board_exit(int code);
void board_fail(int code, const char *what); /* prints "ERROR <what>" and exits with code */

#endif
