/* Bare-metal start-up for QEMU's riscv32 virt machine run with -bios none (machine mode from
 * 0x80000000), as Kiln's qemu-rv32 board: gp and sp, a trap vector, .data and .bss, C++ static
 * constructors, main; the 16550 UART at 0x10000000; the exit status through the SiFive test device
 * at 0x100000; instret as the "systick" cross-check (one tick per instruction under -icount). */
#include <stdint.h>

extern uint32_t __data_load__, __data_start__, __data_end__, __bss_start__, __bss_end__;
extern void __libc_init_array(void);
extern int main(void);
void reset_handler(void);
void trap_handler(void);

__asm__(".section .text.start, \"ax\", @progbits\n"
        ".globl _start\n"
        "_start:\n"
        ".option push\n.option norelax\n    la gp, __global_pointer$\n.option pop\n"
        "    la sp, __stack_top\n"
        "    la t0, trap_handler\n"
        ".option push\n.option arch, +zicsr\n    csrw mtvec, t0\n.option pop\n"
        "    j reset_handler\n"
        ".text\n");

#define UART_THR (*(volatile uint8_t *)0x10000000u)
#define UART_LSR (*(volatile uint8_t *)0x10000005u)
void uart_putc(char c) { while ((UART_LSR & 0x20u) == 0u) {} UART_THR = (uint8_t)c; }
void uart_puts(const char *s) { while (*s) uart_putc(*s++); }

static void qemu_exit(int code) {
  *(volatile uint32_t *)0x00100000u = code == 0 ? 0x5555u : (((uint32_t)code << 16) | 0x3333u);
  for (;;) {}
}

void systick_start(void) {}
uint64_t systick_read(void) {
  uint32_t hi, lo, again;
  do {
    __asm__ volatile("rdinstreth %0" : "=r"(hi));
    __asm__ volatile("rdinstret %0" : "=r"(lo));
    __asm__ volatile("rdinstreth %0" : "=r"(again));
  } while (hi != again);
  return ((uint64_t)hi << 32) | lo;
}

__attribute__((aligned(4))) void trap_handler(void) { uart_puts("\nFATAL trap\n"); qemu_exit(1); }

void reset_handler(void) {
  uint32_t *src = &__data_load__, *dst = &__data_start__;
  while (dst < &__data_end__) *dst++ = *src++;
  for (dst = &__bss_start__; dst < &__bss_end__;) *dst++ = 0;
  __libc_init_array();
  qemu_exit(main());
}
void *__dso_handle = 0; /* static C++ objects register destructors via __cxa_atexit */
