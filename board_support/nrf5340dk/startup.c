/* Start-up for the nRF5340 DK's application core (Cortex-M33 with FPU and DSP, Secure state):
 * vector table, reset handler, clocks, flash cache, fault handler. Registers by address
 * (nrf5340_app.h), written from the nRF5340 Product Specification; no nrfx or MDK.
 *
 * Reset: FPU on (CPACR), VTOR at this table, the stack limit (MSPLIM) at the bottom of the stack,
 * .data copied and .bss zeroed, then:
 *   - the factory trims copied from FICR.TRIMCNF to their registers (as the MDK's SystemInit
 *     does; the list ends at the first erased address);
 *   - access-port protection: CTRL-AP APPROTECT.DISABLE and SECUREAPPROTECT.DISABLE loaded from
 *     UICR, as the MDK does by default. On revisions whose debug port locks at every reset unless
 *     the firmware opens it, this keeps the debugger (and the DWT cycle counter, which counts in
 *     Secure state only while secure non-invasive debug is allowed) usable after `nrfjprog
 *     --recover`, which writes the unprotected value to UICR;
 *   - HFCLK: HCLK128M divider 1, so the CPU runs at 128 MHz (the reset value is /2, 64 MHz); the
 *     source is the 32 MHz crystal (HFXO: HFCLKSRC = 1, HFCLKSTART), for an accurate baud rate,
 *     falling back to the internal oscillator (HFINT) if the crystal does not start in ~10 ms;
 *   - the flash cache (CACHE.ENABLE), invalidated first.
 * Then main(); its return value goes to board_exit(), which stops in a loop. The network core
 * stays held in reset (its reset value), so it draws nothing and touches nothing.
 *
 * Memory (nrf5340_app.ld): flash 1 MB at 0x00000000, the vector table at its start; RAM 512 KB at
 * 0x20000000, the stack at its bottom, guarded by MSPLIM. */
#include <stddef.h>

#include "board.h"
#include "nrf5340_app.h"

/* Symbols from nrf5340_app.ld */
extern uint32_t kiln_data_load[], kiln_data_start[], kiln_data_end[];
extern uint32_t kiln_bss_start[], kiln_bss_end[];
extern uint32_t kiln_stack_bottom[], kiln_stack_top[];

int main(void);
void kiln_reset_handler(void);
void kiln_systick_handler(void); /* board.c */
void kiln_fault_handler(void);
void kiln_fault_report(void);

uint32_t board_core_hz = 64000000u; /* after reset: HCLK128M / 2 */
const char *board_clock_source = "hfint";

/* ---- vector table: 16 system exceptions and the application core's 69 interrupts ---- */

typedef union {
    void (*handler)(void);
    void *stack;
} vector_t;

#define FAULT {.handler = kiln_fault_handler}
#define FAULT3 FAULT, FAULT, FAULT
#define FAULT11 FAULT3, FAULT3, FAULT3, FAULT, FAULT
#define FAULT23 FAULT11, FAULT11, FAULT
#define IRQ_COUNT 69

__attribute__((section(".vectors"), used)) static const vector_t vectors[16 + IRQ_COUNT] = {
    {.stack = kiln_stack_top},
    {.handler = kiln_reset_handler},
    FAULT, /* NMI */
    FAULT, /* HardFault */
    FAULT, /* MemManage */
    FAULT, /* BusFault */
    FAULT, /* UsageFault */
    FAULT, /* SecureFault */
    {.handler = NULL},
    {.handler = NULL},
    {.handler = NULL},
    FAULT, /* SVCall */
    FAULT, /* DebugMonitor */
    {.handler = NULL},
    FAULT, /* PendSV */
    {.handler = kiln_systick_handler},
    /* IRQ 0..68 (CRYPTOCELL is the last): none is enabled; one that fires anyway is reported */
    FAULT23, FAULT23, FAULT23,
};

/* ---- clocks ---- */

static void trims_apply(void)
{
    uint32_t n;
    for (n = 0; n < 32u; ++n) {
        const uint32_t addr = FICR_TRIMCNF_ADDR(n);
        if (addr == 0xFFFFFFFFu || addr == 0u) break;
        REG32(addr) = FICR_TRIMCNF_DATA(n);
    }
}

#define HFXO_SPINS 400000u /* ~10 ms at 64 MHz; the DK's crystal starts in well under 1 ms */

static void clock_init(void)
{
    uint32_t spins = HFXO_SPINS;
    CLOCK_HFCLKCTRL = 0u; /* HCLK128M / 1: 128 MHz */
    board_core_hz = 128000000u;
    CLOCK_HFCLKSRC = 1u; /* HFXO */
    CLOCK_EVENTS_HFCLKSTARTED = 0u;
    CLOCK_TASKS_HFCLKSTART = 1u;
    while (CLOCK_EVENTS_HFCLKSTARTED == 0u && --spins != 0u) {
    }
    if (spins == 0u) { /* stay on HFINT */
        CLOCK_TASKS_HFCLKSTOP = 1u;
        CLOCK_HFCLKSRC = 0u;
    } else {
        board_clock_source = "hfxo";
    }
    CLOCK_EVENTS_HFCLKSTARTED = 0u;
}

uint32_t board_cpu_hz(void)
{
    return board_core_hz;
}

/* Runs before .data and .bss exist: it touches neither, and no float code runs before the FPU
 * is enabled. The copy loops are volatile so that the compiler does not turn them into
 * memcpy/memset calls. */
void kiln_reset_handler(void)
{
    volatile uint32_t *src = kiln_data_load;
    volatile uint32_t *dst = kiln_data_start;
    SCB_CPACR |= (0xFUL << 20); /* CP10 and CP11: full access */
    SCB_VTOR = (uint32_t)(uintptr_t)vectors;
    __asm__ volatile("msr msplim, %0" : : "r"(kiln_stack_bottom));
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    while (dst < kiln_data_end) *dst++ = *src++;
    for (dst = kiln_bss_start; dst < kiln_bss_end;) *dst++ = 0u;
    trims_apply();
    CTRLAP_APPROTECT_DISABLE = UICR_APPROTECT;
    CTRLAP_SECUREAPPROTECT_DISABLE = UICR_SECUREAPPROTECT;
    clock_init();
    CACHE_INVALIDATE = 1u;
    CACHE_ENABLE = 1u;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    board_exit(main());
}

/* ---- faults ---- */

/* Entered on any fault or unexpected exception. The stack may be what failed (an overflow hits
 * MSPLIM, a UsageFault): lift the limit and start over at the stack's top, then report. */
__attribute__((naked)) void kiln_fault_handler(void)
{
    __asm__ volatile(
        "movs r0, #0\n\t"
        "msr msplim, r0\n\t"
        "ldr r0, =kiln_stack_top\n\t"
        "msr msp, r0\n\t"
        "b kiln_fault_report\n\t"
        ".ltorg");
}

__attribute__((used)) void kiln_fault_report(void)
{
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    board_uart_init(); /* the fault may come before main set the UART up */
    board_puts("ERROR fault: exception ");
    board_put_u32(ipsr & 0x1FFu);
    board_puts(" CFSR ");
    board_put_u32(SCB_CFSR);
    board_puts(" HFSR ");
    board_put_u32(SCB_HFSR);
    board_puts(" BFAR ");
    board_put_u32(SCB_BFAR);
    board_puts(" SFSR ");
    board_put_u32(SAU_SFSR);
    board_putc('\n');
    board_exit(BOARD_EXIT_FAULT);
}
