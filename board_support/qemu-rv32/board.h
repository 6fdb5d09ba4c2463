/* Board support for QEMU's riscv32 virt machine (rv32imc code): the same interface as the Arm QEMU
 * boards' board.h, so the runners (../qemu-m4/main.c, rpc_main.c) build unchanged against it.
 * Nothing here allocates; there is no printf. */
#ifndef KILN_BOARD_H
#define KILN_BOARD_H

#include <stdint.h>

/* Exit codes (the virt machine's test device passes them to the host as QEMU's exit status). */
enum {
    BOARD_EXIT_OK = 0,
    BOARD_EXIT_MODEL_ERROR = 1,   /* run() returned a KILN_ERR_* code */
    BOARD_EXIT_MISMATCH = 2,      /* the profiled run gave other outputs than the plain run */
    BOARD_EXIT_BAD_BUILD = 3,     /* the record sizes built in do not match the model */
    BOARD_EXIT_TIMER_OVERFLOW = 4,/* an inference took 2^32 ticks or more */
    BOARD_EXIT_FAULT = 5          /* a trap: illegal instruction, misaligned or faulting access */
};

void board_init(void);

/* The 16550 UART at 0x10000000, polled. */
void board_putc(char c);
int board_getc(void); /* a received byte, or -1 when none is waiting */
void board_puts(const char *s);
void board_put_u32(uint32_t v);                   /* decimal */
void board_put_hex(const uint8_t *p, uint32_t n); /* two lowercase hex digits per byte */

/* The instret counter: executed instructions, exactly (64 bits, never wraps in practice). One
 * reading is exact, so the runner's phase-shifted repeats (SysTick boards) are not needed. */
uint64_t board_ticks64(void);
uint32_t kiln_timer_read(void); /* the low 32 bits, the hook KILN_PROFILE code calls */
#define BOARD_INSTRUCTIONS_PER_TICK 1u
/* -icount shift=0: one instruction per nanosecond of virtual time */
#define BOARD_TIMER_HZ 1000000000u

void board_exit(int code);
void board_fail(int code, const char *what); /* prints "ERROR <what>" and exits with code */

#endif
