/* Bare-metal startup for QEMU mps2-an386 (Cortex-M4F), mps2-an385 running Armv6-M code (no FPU) and
 * mps3-an547 (Cortex-M55, Secure state, SAU off: all memory Secure): vector table, reset handler,
 * CMSDK UART0 (0x40004000) output, SysTick (processor clock, 24-bit, wraps counted in the
 * handler), semihosting exit. */
#include <stdint.h>
#include <string.h>

extern uint32_t __stack_top, __data_load__, __data_start__, __data_end__, __bss_start__, __bss_end__;
extern void __libc_init_array(void);
extern int main(void);

void Reset_Handler(void);
void HardFault_Handler(void);
void Default_Handler(void);
void SysTick_Handler(void);

__attribute__((section(".isr_vector"), used)) void (*const g_vectors[16 + 32])(void) = {
    (void (*)(void))(&__stack_top), Reset_Handler, Default_Handler, HardFault_Handler,
    HardFault_Handler, HardFault_Handler, HardFault_Handler, 0, 0, 0, 0,
    Default_Handler, Default_Handler, 0, Default_Handler, SysTick_Handler,
    [16 ... 47] = Default_Handler};

/* ---- UART0 (CMSDK APB UART) ---- */
#ifndef UART0_BASE
#define UART0_BASE 0x40004000u /* mps2; measure.py passes mps3-an547's (0x49303000) for the m55 */
#endif
#define UART0_DATA (*(volatile uint32_t *)(UART0_BASE + 0x0u))
#define UART0_STATE (*(volatile uint32_t *)(UART0_BASE + 0x4u))
#define UART0_CTRL (*(volatile uint32_t *)(UART0_BASE + 0x8u))
#define UART0_BAUDDIV (*(volatile uint32_t *)(UART0_BASE + 0x10u))
void uart_init(void) { UART0_BAUDDIV = 16; UART0_CTRL = 1; /* TX enable */ }
void uart_putc(char c) { while (UART0_STATE & 1u) {} UART0_DATA = (uint32_t)(unsigned char)c; }
void uart_puts(const char *s) { while (*s) uart_putc(*s++); }

/* ---- semihosting exit (SYS_EXIT, AArch32 form) ---- */
void semihost_exit(int code) {
  register uint32_t r0 __asm__("r0") = 0x18;
  register uint32_t r1 __asm__("r1") = code == 0 ? 0x20026u /* ApplicationExit */ : 0x20023u /* RunTimeErrorUnknown */;
  __asm__ volatile("bkpt 0xab" : : "r"(r0), "r"(r1) : "memory");
  for (;;) {}
}

/* ---- SysTick: CLKSOURCE=processor clock, reload 0xFFFFFF, interrupt on wrap ---- */
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
static volatile uint32_t systick_wraps;
void SysTick_Handler(void) { systick_wraps++; }
void systick_start(void) {
  SYST_CSR = 0; SYST_RVR = 0xFFFFFFu; SYST_CVR = 0; systick_wraps = 0;
  SYST_CSR = 7u; /* ENABLE | TICKINT | CLKSOURCE(processor) */
}
uint64_t systick_read(void) { /* elapsed ticks since systick_start */
  uint32_t w1, w2, v;
  do { w1 = systick_wraps; v = SYST_CVR; w2 = systick_wraps; } while (w1 != w2);
  return (uint64_t)w1 * 0x1000000u + (0xFFFFFFu - v);
}

void HardFault_Handler(void) { uart_puts("\nFATAL HardFault\n"); semihost_exit(1); }
void Default_Handler(void) { uart_puts("\nFATAL unexpected exception\n"); semihost_exit(1); }

void Reset_Handler(void) {
#ifdef __ARM_FP
  *(volatile uint32_t *)0xE000ED88u |= (0xFu << 20); /* CPACR: enable CP10/CP11 (FPU) */
  __asm__ volatile("dsb\n isb" ::: "memory");
#endif
  uint32_t *src = &__data_load__, *dst = &__data_start__;
  while (dst < &__data_end__) *dst++ = *src++;
  for (dst = &__bss_start__; dst < &__bss_end__;) *dst++ = 0;
  __libc_init_array();
  uart_init();
  int rc = main();
  semihost_exit(rc);
}
/* newlib-nano needs these for __libc_init_array with -nostartfiles */
void _init(void) {}
void _fini(void) {}
void *__dso_handle = 0; /* static C++ objects register destructors via __cxa_atexit */
