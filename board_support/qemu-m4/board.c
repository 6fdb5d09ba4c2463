/* Bare-metal support for QEMU's mps2-an386 (ARM MPS2 AN386: Cortex-M4 with FPv4-SP FPU), shared by
 * the Arm QEMU boards (board.h has what differs: qemu-m55's mps3-an547 has its UART elsewhere and
 * a 32 MHz system clock; it runs in the Secure state, and with the SAU off all memory is Secure).
 *
 * Written from the ARMv7-M Architecture Reference Manual (vector table, SCB, SysTick, CPACR),
 * the CMSDK APB UART description and the ARM semihosting specification:
 *   - vector table and reset handler in C: enable the FPU, copy .data, zero .bss, call main;
 *   - UART0 at BOARD_UART0_BASE: polled transmit and receive (TX must be enabled in CTRL or QEMU stalls);
 *   - SysTick: RELOAD = 2^KILN_SYSTICK_BITS - 1, clocked by the processor clock
 *     (CLKSOURCE = 1), which QEMU's mps2 machines run at 25 MHz (mps3-an547: 32 MHz). Under
 *     `qemu-system-arm -icount shift=0` one instruction is one nanosecond of virtual time, so
 *     one tick is 40 executed instructions (31.25). (The mps2 reference clock, CLKSOURCE = 0, is 1 MHz in
 *     QEMU, SYST_CALIB.TENMS = 9999: one tick per 1000 instructions.) Wraps are counted in the
 *     SysTick interrupt and combined with the counter, see board_ticks64();
 *   - exit through semihosting SYS_EXIT_EXTENDED (needs -semihosting-config enable=on).
 */
#include "board.h"

#include <stddef.h>

#if KILN_SYSTICK_BITS < 8 || KILN_SYSTICK_BITS > 24
#error "KILN_SYSTICK_BITS must be 8..24"
#endif
#define SYSTICK_RELOAD ((1UL << KILN_SYSTICK_BITS) - 1UL)

#define REG32(addr) (*(volatile uint32_t *)(addr))

/* System control block and SysTick (ARMv7-M ARM, B3.2 and B3.3) */
#define SCB_ICSR REG32(0xE000ED04UL)
#define SCB_ICSR_PENDSTSET (1UL << 26)
#define SCB_CPACR REG32(0xE000ED88UL)
#define SCB_CFSR REG32(0xE000ED28UL)
#define SCB_HFSR REG32(0xE000ED2CUL)
#define SYST_CSR REG32(0xE000E010UL)
#define SYST_RVR REG32(0xE000E014UL)
#define SYST_CVR REG32(0xE000E018UL)
#define SYST_CSR_ENABLE (1UL << 0)
#define SYST_CSR_TICKINT (1UL << 1)
#define SYST_CSR_CLKSOURCE_CPU (1UL << 2)

/* CMSDK APB UART0 */
#define UART_DATA REG32(BOARD_UART0_BASE + 0x000UL)
#define UART_STATE REG32(BOARD_UART0_BASE + 0x004UL)
#define UART_CTRL REG32(BOARD_UART0_BASE + 0x008UL)
#define UART_BAUDDIV REG32(BOARD_UART0_BASE + 0x010UL)
#define UART_STATE_TXFULL (1UL << 0)
#define UART_STATE_RXFULL (1UL << 1)
#define UART_CTRL_TXEN (1UL << 0)
#define UART_CTRL_RXEN (1UL << 1)

/* Symbols from mps2_an386.ld */
extern uint32_t kiln_data_load[], kiln_data_start[], kiln_data_end[];
extern uint32_t kiln_bss_start[], kiln_bss_end[];
extern uint32_t kiln_stack_top[];

int main(void);
void kiln_reset_handler(void);
void kiln_systick_handler(void);
void kiln_fault_handler(void);

/* ---- vector table ---- */

typedef union {
    void (*handler)(void);
    void *stack;
} vector_t;

__attribute__((section(".vectors"), used)) static const vector_t vectors[16] = {
    {.stack = kiln_stack_top},
    {.handler = kiln_reset_handler},
    {.handler = kiln_fault_handler}, /* NMI */
    {.handler = kiln_fault_handler}, /* HardFault */
    {.handler = kiln_fault_handler}, /* MemManage */
    {.handler = kiln_fault_handler}, /* BusFault */
    {.handler = kiln_fault_handler}, /* UsageFault */
    {.handler = NULL},
    {.handler = NULL},
    {.handler = NULL},
    {.handler = NULL},
    {.handler = kiln_fault_handler}, /* SVCall */
    {.handler = kiln_fault_handler}, /* DebugMonitor */
    {.handler = NULL},
    {.handler = kiln_fault_handler}, /* PendSV */
    {.handler = kiln_systick_handler},
    /* external interrupts are never enabled, so the table stops here */
};

/* Runs before .data and .bss exist: it touches neither, and no float code runs before the
 * FPU is enabled. The copy loops are volatile so that the compiler does not turn them into
 * memcpy/memset calls. */
void kiln_reset_handler(void)
{
    volatile uint32_t *src = kiln_data_load;
    volatile uint32_t *dst = kiln_data_start;
    SCB_CPACR |= (0xFUL << 20); /* CP10 and CP11: full access (the FPU, and Helium on the M55) */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    while (dst < kiln_data_end) *dst++ = *src++;
    for (dst = kiln_bss_start; dst < kiln_bss_end;) *dst++ = 0u;
    board_exit(main());
}

/* ---- UART0 ---- */

int board_getc(void)
{
    if ((UART_STATE & UART_STATE_RXFULL) == 0u) return -1;
    return (int)(UART_DATA & 0xFFu);
}

void board_putc(char c)
{
    while (UART_STATE & UART_STATE_TXFULL) {
    }
    UART_DATA = (uint32_t)(unsigned char)c;
}


/* ---- SysTick ---- */

static volatile uint32_t systick_wraps;

void kiln_systick_handler(void)
{
    systick_wraps++;
}

uint64_t board_ticks64(void)
{
    uint32_t primask, wraps, value;
    __asm__ volatile("mrs %0, primask" : "=r"(primask));
    __asm__ volatile("cpsid i" ::: "memory");
    value = SYST_CVR;
    wraps = systick_wraps;
    if (SCB_ICSR & SCB_ICSR_PENDSTSET) {
        /* The counter reached zero and its interrupt has not run yet: unless it still reads
         * zero (the last tick of the old period), it has reloaded, so count the new period. */
        value = SYST_CVR;
        if (value != 0u) wraps++;
    }
    if ((primask & 1u) == 0u) __asm__ volatile("cpsie i" ::: "memory");
    return ((uint64_t)wraps << KILN_SYSTICK_BITS) | (uint64_t)(SYSTICK_RELOAD - value);
}

uint32_t kiln_timer_read(void)
{
    return (uint32_t)board_ticks64();
}

uint32_t board_ticks_to_wrap(void)
{
    return SYST_CVR;
}

uint32_t board_wraps(void)
{
    return systick_wraps;
}

/* ---- exit and faults ---- */

void board_exit(int code)
{
    /* SYS_EXIT_EXTENDED (0x20): {ADP_Stopped_ApplicationExit, exit code} */
    static uint32_t block[2];
    block[0] = 0x20026u;
    block[1] = (uint32_t)code;
    __asm__ volatile("mov r0, %0\n\tmov r1, %1\n\tbkpt 0xab" : : "r"(0x20u), "r"(block) : "r0", "r1", "memory");
    for (;;) {
    }
}

void kiln_fault_handler(void)
{
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    board_init(); /* the fault may come before main set the UART up */
    board_puts("ERROR fault: exception ");
    board_put_u32(ipsr & 0x1ffu);
    board_puts(" CFSR ");
    board_put_u32(SCB_CFSR);
    board_puts(" HFSR ");
    board_put_u32(SCB_HFSR);
    board_putc('\n');
    board_exit(BOARD_EXIT_FAULT);
}

void board_init(void)
{
    UART_BAUDDIV = 16u;
    UART_CTRL = UART_CTRL_TXEN | UART_CTRL_RXEN;
    if ((SYST_CSR & SYST_CSR_ENABLE) == 0u) {
        systick_wraps = 0u;
        SYST_RVR = SYSTICK_RELOAD;
        SYST_CVR = 0u; /* any write clears the counter; it reloads on the next tick */
        SYST_CSR = SYST_CSR_CLKSOURCE_CPU | SYST_CSR_TICKINT | SYST_CSR_ENABLE;
    }
}
