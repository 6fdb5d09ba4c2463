/* Bare-metal support for QEMU's riscv32 virt machine, run with -bios none (the CPU starts in
 * machine mode at 0x80000000).
 *
 * Written from the RISC-V privileged specification (mtvec, mcause, mepc, mtval; the instret
 * counter of the Zicntr extension) and QEMU's virt machine (hw/riscv/virt.c memory map):
 *   - start code: gp and sp from riscv_virt.ld, the trap vector, .data copied, .bss zeroed, main;
 *   - UART0: a 16550 at 0x10000000 (THR/RBR at +0, LSR at +5: bit 0 data ready, bit 5 THR empty);
 *   - timer: instret, which QEMU's -icount makes the count of executed instructions;
 *   - exit: the SiFive test device at 0x100000 (0x5555: pass; code << 16 | 0x3333: fail with code).
 */
#include "board.h"

#define REG8(addr) (*(volatile uint8_t *)(addr))
#define REG32(addr) (*(volatile uint32_t *)(addr))

#define UART_THR REG8(0x10000000UL)
#define UART_RBR REG8(0x10000000UL)
#define UART_LSR REG8(0x10000005UL)
#define UART_LSR_DR 0x01u
#define UART_LSR_THRE 0x20u
#define TEST_DEVICE REG32(0x00100000UL)

/* Symbols from riscv_virt.ld */
extern uint32_t kiln_data_load[], kiln_data_start[], kiln_data_end[];
extern uint32_t kiln_bss_start[], kiln_bss_end[];

int main(void);
void kiln_reset(void);
void kiln_trap(void);

/* gp and sp before any C runs; gp without linker relaxation (it would be computed from itself). */
__asm__(".section .text.kiln_start, \"ax\", @progbits\n"
        ".globl kiln_start\n"
        "kiln_start:\n"
        ".option push\n"
        ".option norelax\n"
        "    la gp, __global_pointer$\n"
        ".option pop\n"
        "    la sp, kiln_stack_top\n"
        "    la t0, kiln_trap\n"
        ".option push\n"
        ".option arch, +zicsr\n"
        "    csrw mtvec, t0\n"
        ".option pop\n"
        "    j kiln_reset\n"
        ".text\n");

/* The copy loops are volatile so that the compiler does not turn them into memcpy/memset calls
 * before .data exists. */
void kiln_reset(void)
{
    volatile uint32_t *src = kiln_data_load;
    volatile uint32_t *dst = kiln_data_start;
    while (dst < kiln_data_end) *dst++ = *src++;
    for (dst = kiln_bss_start; dst < kiln_bss_end;) *dst++ = 0u;
    board_exit(main());
}

/* ---- UART0 ---- */

int board_getc(void)
{
    if ((UART_LSR & UART_LSR_DR) == 0u) return -1;
    return (int)UART_RBR;
}

void board_putc(char c)
{
    while ((UART_LSR & UART_LSR_THRE) == 0u) {
    }
    UART_THR = (uint8_t)c;
}

/* ---- instret ---- */

uint64_t board_ticks64(void)
{
    uint32_t hi, lo, again;
    do { /* the high word again: a carry between the two reads would pair the wrong halves */
        __asm__ volatile("rdinstreth %0" : "=r"(hi));
        __asm__ volatile("rdinstret %0" : "=r"(lo));
        __asm__ volatile("rdinstreth %0" : "=r"(again));
    } while (hi != again);
    return ((uint64_t)hi << 32) | lo;
}

uint32_t kiln_timer_read(void)
{
    uint32_t lo;
    __asm__ volatile("rdinstret %0" : "=r"(lo));
    return lo;
}

/* ---- exit and traps ---- */

void board_exit(int code)
{
    TEST_DEVICE = code == 0 ? 0x5555u : (((uint32_t)code << 16) | 0x3333u);
    for (;;) {
    }
}

/* mtvec's target (direct mode: 4-byte aligned). It never returns, so an ordinary function does. */
__attribute__((aligned(4))) void kiln_trap(void)
{
    uint32_t cause, pc, value;
    /* the CSR instructions by name need Zicsr in -march, which would take picolibc's multilib away */
    __asm__ volatile(".option push\n.option arch, +zicsr\ncsrr %0, mcause\n.option pop" : "=r"(cause));
    __asm__ volatile(".option push\n.option arch, +zicsr\ncsrr %0, mepc\n.option pop" : "=r"(pc));
    __asm__ volatile(".option push\n.option arch, +zicsr\ncsrr %0, mtval\n.option pop" : "=r"(value));
    board_puts("ERROR fault: trap cause ");
    board_put_u32(cause);
    board_puts(" mepc ");
    board_put_u32(pc);
    board_puts(" mtval ");
    board_put_u32(value);
    board_putc('\n');
    board_exit(BOARD_EXIT_FAULT);
}

void board_init(void)
{
    /* QEMU's 16550 needs no set-up to send and receive; the counter runs from reset */
}
