/* The few registers of QEMU's mps2-an386 (Cortex-M4) this application uses: SysTick and the
 * coprocessor access register from the ARMv7-M Architecture Reference Manual, the UART from the
 * CMSDK APB UART's description (UART0 at 0x40004000 on the MPS2 boards). */
#ifndef MPS2_AN386_H
#define MPS2_AN386_H

#include <stdint.h>

#define MMIO(addr) (*(volatile uint32_t *)(addr))

#define CPACR MMIO(0xE000ED88UL)   /* bits 20-23: CP10/CP11 (the FPU) access */
#define SYSTICK_CTRL MMIO(0xE000E010UL)
#define SYSTICK_LOAD MMIO(0xE000E014UL)
#define SYSTICK_VAL MMIO(0xE000E018UL)
#define SYSTICK_ENABLE_CPUCLK_INT 7UL /* enable, interrupt on wrap, processor clock */
#define SYSTICK_HZ 25000000UL        /* the board's 25 MHz clock */

#define UART0_DATA MMIO(0x40004000UL)
#define UART0_STATE MMIO(0x40004004UL) /* bit 0: TX full, bit 1: RX full */
#define UART0_CTRL MMIO(0x40004008UL)  /* bit 0: TX enable, bit 1: RX enable */
#define UART0_BAUDDIV MMIO(0x40004010UL)

void port_init(void);           /* kiln_port.c: UART0 and the tick counter */
void port_systick_handler(void);

#endif
