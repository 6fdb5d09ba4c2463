/* The timer of the real Cortex-M boards: the DWT cycle counter, its 32-bit wraps counted
 * through SysTick (which each board sets to interrupt more often than the counter wraps), so
 * that board_ticks64() is exact and an overflow can be told from a wrong number. Each board's
 * own timer_init() turns the counter on (the M7 needs DWT unlocked first). */
#include <stdint.h>

#include "board.h"

#define DWT_CYCCNT (*(volatile uint32_t *)0xE0001004UL)

static volatile uint32_t cyc_wraps, cyc_last;

/* Called by the board's timer_init() once the counter runs. */
void board_dwt_restart(void)
{
    cyc_wraps = 0u;
    cyc_last = DWT_CYCCNT;
}

/* With interrupts masked (or from the SysTick handler, which nothing here preempts). */
static uint64_t cycles_locked(void)
{
    const uint32_t now = DWT_CYCCNT;
    if (now < cyc_last) cyc_wraps++;
    cyc_last = now;
    return ((uint64_t)cyc_wraps << 32) | now;
}

void kiln_systick_handler(void)
{
    (void)cycles_locked();
}

uint64_t board_ticks64(void)
{
    uint32_t primask;
    uint64_t t;
    __asm__ volatile("mrs %0, primask" : "=r"(primask));
    __asm__ volatile("cpsid i" ::: "memory");
    t = cycles_locked();
    if ((primask & 1u) == 0u) __asm__ volatile("cpsie i" ::: "memory");
    return t;
}

uint32_t kiln_timer_read(void)
{
    return DWT_CYCCNT;
}

uint32_t board_ticks_to_wrap(void)
{
    const uint32_t left = 0u - DWT_CYCCNT;
    return left != 0u ? left : 0xFFFFFFFFu;
}

uint32_t board_wraps(void)
{
    return (uint32_t)(board_ticks64() >> 32);
}
