/* Start-up: the vector table, and a reset handler that turns the FPU on, copies .data from
 * flash, zeroes .bss and calls main(). Symbols from mps2_an386.ld. */
#include <stddef.h>
#include <stdint.h>

#include "mps2_an386.h"

extern uint32_t __data_rom[], __data_start[], __data_end[], __bss_start[], __bss_end[], __stack_top[];

int main(void);
void reset_handler(void);
void fault_handler(void);

void reset_handler(void)
{
    uint32_t *from = __data_rom, *to = __data_start;
    CPACR |= 0xFUL << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    while (to < __data_end) *to++ = *from++;
    for (to = __bss_start; to < __bss_end; ++to) *to = 0u;
    (void)main();
    for (;;) {
    }
}

void fault_handler(void)
{
    for (;;) {
    }
}

typedef void (*handler_t)(void);

__attribute__((section(".isr_vector"), used)) static const handler_t vectors[16] = {
    (handler_t)(uintptr_t)__stack_top, reset_handler,
    fault_handler, fault_handler, fault_handler, fault_handler, fault_handler, /* NMI .. UsageFault */
    NULL, NULL, NULL, NULL,
    fault_handler, fault_handler, NULL, fault_handler, /* SVC, DebugMon, -, PendSV */
    port_systick_handler,
};
