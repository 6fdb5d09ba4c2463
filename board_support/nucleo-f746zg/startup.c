/* Start-up for the NUCLEO-F746ZG (STM32F746ZG, Cortex-M7F): vector table, reset handler, clock
 * tree, caches, fault handler. Registers by address (stm32f746.h), written from RM0385 and the
 * NUCLEO-144 user manual (UM1974); no vendor HAL.
 *
 * Reset: FPU on (CPACR), VTOR at this table, .data copied and .bss zeroed, I- and D-cache on,
 * then the clock:
 *   HSE in bypass mode: the NUCLEO-144 feeds the 8 MHz MCO of its ST-LINK to PH0/OSC_IN (the
 *   default solder-bridge setting, UM1974 "HSE clock"); PLL M = 8 (1 MHz VCO input), N = 432
 *   (432 MHz VCO), P = 2 -> SYSCLK 216 MHz, Q = 9 (48 MHz); voltage scale 1 and over-drive on
 *   (needed above 180 MHz, RM0385 4.1.4); 7 flash wait states, ART accelerator and prefetch;
 *   AHB /1 (216 MHz), APB1 /4 (54 MHz, USART3's clock), APB2 /2 (108 MHz).
 *   Should the HSE not start (a board with the MCO link cut), the PLL runs from the 16 MHz HSI
 *   with M = 16: the same 216 MHz. Should the PLL or over-drive fail, the core stays on the HSI
 *   at 16 MHz. board_cpu_hz() tells which, and board_init() prints it.
 * Then main(); its return value goes to board_exit(), which stops in a loop.
 *
 * Memory (stm32f746zg.ld): flash at 0x08000000 (the vector table at its start; with BOOT0 low the
 * part boots from BOOT_ADD0 = 0x00200000, the ITCM alias of the same flash, so VTOR is moved to
 * the AXIM address); RAM 320 KB at 0x20000000 (DTCM 64 KB, SRAM1 240 KB, SRAM2 16 KB, one
 * contiguous range), the stack at its bottom (in the DTCM) so that an overflow faults instead of
 * overwriting data. */
#include <stddef.h>

#include "board.h"
#include "stm32f746.h"

/* Symbols from stm32f746zg.ld */
extern uint32_t kiln_data_load[], kiln_data_start[], kiln_data_end[];
extern uint32_t kiln_bss_start[], kiln_bss_end[];
extern uint32_t kiln_stack_top[];

int main(void);
void kiln_reset_handler(void);
void kiln_systick_handler(void); /* board.c */
void kiln_fault_handler(void);
void kiln_fault_report(void);

uint32_t board_core_hz = 16000000u; /* the HSI after reset */
uint32_t board_pclk1_hz = 16000000u;
const char *board_clock_source = "hsi";

/* ---- vector table: 16 system exceptions and the STM32F746's 98 interrupts ---- */

typedef union {
    void (*handler)(void);
    void *stack;
} vector_t;

#define FAULT {.handler = kiln_fault_handler}
#define FAULT7 FAULT, FAULT, FAULT, FAULT, FAULT, FAULT, FAULT
#define FAULT14 FAULT7, FAULT7
#define IRQ_COUNT 98

__attribute__((section(".vectors"), used)) static const vector_t vectors[16 + IRQ_COUNT] = {
    {.stack = kiln_stack_top},
    {.handler = kiln_reset_handler},
    FAULT, /* NMI */
    FAULT, /* HardFault */
    FAULT, /* MemManage */
    FAULT, /* BusFault */
    FAULT, /* UsageFault */
    {.handler = NULL},
    {.handler = NULL},
    {.handler = NULL},
    {.handler = NULL},
    FAULT, /* SVCall */
    FAULT, /* DebugMonitor */
    {.handler = NULL},
    FAULT, /* PendSV */
    {.handler = kiln_systick_handler},
    /* IRQ 0..97: none is enabled; one that fires anyway is reported as a fault */
    FAULT14, FAULT14, FAULT14, FAULT14, FAULT14, FAULT14, FAULT14,
};

/* ---- caches (ARMv7-M ARM B2.2.7; the sequence of CMSIS SCB_EnableICache/DCache) ---- */

static void caches_enable(void)
{
    uint32_t ccsidr, sets, ways;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    SCB_ICIALLU = 0u; /* invalidate the I-cache */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    SCB_CCR |= SCB_CCR_IC;
    __asm__ volatile("dsb\n\tisb" ::: "memory");

    SCB_CSSELR = 0u; /* level 1 data cache */
    __asm__ volatile("dsb" ::: "memory");
    ccsidr = SCB_CCSIDR;
    sets = (ccsidr >> 13) & 0x7FFFu; /* NumSets - 1 */
    do {
        ways = (ccsidr >> 3) & 0x3FFu; /* Associativity - 1 */
        do {
            SCB_DCISW = ((sets & 0x1FFu) << 5) | ((ways & 0x3u) << 30); /* invalidate by set/way */
        } while (ways-- != 0u);
    } while (sets-- != 0u);
    __asm__ volatile("dsb" ::: "memory");
    SCB_CCR |= SCB_CCR_DC;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
}

/* ---- clock tree ---- */

static int wait_bits(volatile uint32_t *reg, uint32_t mask, uint32_t want, uint32_t spins)
{
    while (spins-- != 0u) {
        if ((*reg & mask) == want) return 1;
    }
    return 0;
}

#define SPINS 2000000u /* > 100 ms at 16 MHz: HAL's HSE/PLL time-outs are 100 ms and 2 ms */

static void clock_init(void)
{
    uint32_t pllm = 8u, source = RCC_PLLCFGR_PLLSRC_HSE;

    RCC_APB1ENR |= RCC_APB1ENR_PWREN;
    (void)RCC_APB1ENR; /* read back: the enable takes effect before PWR is touched */
    PWR_CR1 = (PWR_CR1 & ~PWR_CR1_VOS_MASK) | PWR_CR1_VOS_SCALE1; /* only while the PLL is off */

    /* HSE in bypass mode: HSEBYP may be set only while the HSE is off */
    RCC_CR &= ~RCC_CR_HSEON;
    RCC_CR |= RCC_CR_HSEBYP;
    RCC_CR |= RCC_CR_HSEON;
    if (!wait_bits(&RCC_CR, RCC_CR_HSERDY, RCC_CR_HSERDY, SPINS)) {
        RCC_CR &= ~RCC_CR_HSEON;
        RCC_CR &= ~RCC_CR_HSEBYP;
        pllm = 16u; /* the 16 MHz HSI to the same 1 MHz VCO input */
        source = 0u;
    }
    RCC_PLLCFGR = (RCC_PLLCFGR & ~RCC_PLLCFGR_FIELDS) | (pllm << RCC_PLLCFGR_PLLM_POS) |
                  (432UL << RCC_PLLCFGR_PLLN_POS) | (0UL << RCC_PLLCFGR_PLLP_POS) | source |
                  (9UL << RCC_PLLCFGR_PLLQ_POS);
    RCC_CR |= RCC_CR_PLLON;
    if (!wait_bits(&RCC_CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY, SPINS)) {
        RCC_CR &= ~RCC_CR_PLLON;
        return; /* stay on the HSI, 16 MHz */
    }
    /* over-drive (RM0385 4.1.4: after the PLL is on, before SYSCLK goes above 180 MHz) */
    PWR_CR1 |= PWR_CR1_ODEN;
    if (!wait_bits(&PWR_CSR1, PWR_CSR1_ODRDY, PWR_CSR1_ODRDY, SPINS)) {
        RCC_CR &= ~RCC_CR_PLLON;
        return;
    }
    PWR_CR1 |= PWR_CR1_ODSWEN;
    if (!wait_bits(&PWR_CSR1, PWR_CSR1_ODSWRDY, PWR_CSR1_ODSWRDY, SPINS)) {
        RCC_CR &= ~RCC_CR_PLLON;
        return;
    }
    /* flash wait states before the clock goes up; read back until they took effect */
    FLASH_ACR = FLASH_ACR_LATENCY_7WS | FLASH_ACR_PRFTEN | FLASH_ACR_ARTEN;
    while ((FLASH_ACR & FLASH_ACR_LATENCY_MASK) != FLASH_ACR_LATENCY_7WS) {
    }
    RCC_CFGR = (RCC_CFGR & ~(RCC_CFGR_HPRE_MASK | RCC_CFGR_PPRE1_MASK | RCC_CFGR_PPRE2_MASK)) |
               RCC_CFGR_PPRE1_DIV4 | RCC_CFGR_PPRE2_DIV2;
    RCC_CFGR = (RCC_CFGR & ~RCC_CFGR_SW_MASK) | RCC_CFGR_SW_PLL;
    while ((RCC_CFGR & RCC_CFGR_SWS_MASK) != RCC_CFGR_SWS_PLL) {
    }
    board_core_hz = 216000000u;
    board_pclk1_hz = 54000000u;
    board_clock_source = source != 0u ? "hse-bypass-pll" : "hsi-pll";
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
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    while (dst < kiln_data_end) *dst++ = *src++;
    for (dst = kiln_bss_start; dst < kiln_bss_end;) *dst++ = 0u;
    caches_enable();
    clock_init();
    board_exit(main());
}

/* ---- faults ---- */

/* Entered on any fault or unexpected exception. The stack may be what failed (it sits at the
 * bottom of RAM, so an overflow runs into unmapped memory): start over at its top, then report. */
__attribute__((naked)) void kiln_fault_handler(void)
{
    __asm__ volatile(
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
    board_putc('\n');
    board_exit(BOARD_EXIT_FAULT);
}
