/* The porting layer the Kiln RPC component needs (kiln_platform.h): bytes in and out over UART0,
 * and a tick counter from SysTick. On another board, this is the file to rewrite.
 *
 * The counter: SysTick counts down from 2^24 - 1 at 25 MHz; its interrupt counts the wraps, and
 * kiln_timer_read() joins both into 32 bits. kiln_timer_start() waits out a wrap that is near, so
 * an inference of up to 2^23 ticks sees no interrupt inside it. Under QEMU with
 * -icount shift=7, one instruction takes 128 ns, 3.2 ticks: every window's instruction count is
 * its ticks * 40 / 128, rounded (kiln profile --cpu-hz 7812500 does that). */
#include <stddef.h>
#include <stdint.h>

#include "kiln_platform.h"
#include "mps2_an386.h"

#define SYSTICK_TOP 0xFFFFFFUL

static volatile uint32_t wraps;
static uint32_t started;

void port_systick_handler(void)
{
    wraps++;
}

void port_init(void)
{
    UART0_BAUDDIV = 16u;
    UART0_CTRL = 3u; /* TX and RX */
    SYSTICK_LOAD = SYSTICK_TOP;
    SYSTICK_VAL = 0u;
    SYSTICK_CTRL = SYSTICK_ENABLE_CPUCLK_INT;
}

void kiln_platform_write(const uint8_t *data, size_t n)
{
    size_t i;
    for (i = 0; i < n; ++i) {
        while (UART0_STATE & 1u) {
        }
        UART0_DATA = data[i];
    }
}

uint32_t kiln_timer_read(void)
{
    uint32_t w, v;
    do {
        w = wraps;
        v = SYSTICK_VAL;
    } while (w != wraps);
    return (w << 24) + (SYSTICK_TOP - v);
}

int kiln_platform_read_byte(uint32_t timeout_ms)
{
    const uint32_t start = kiln_timer_read(), limit = timeout_ms * (SYSTICK_HZ / 1000u);
    for (;;) {
        if (UART0_STATE & 2u) return (int)(UART0_DATA & 0xFFu);
        if (timeout_ms == 0u || kiln_timer_read() - start >= limit) return KILN_PLATFORM_TIMEOUT;
    }
}

uint32_t kiln_timer_hz(void)
{
    return SYSTICK_HZ;
}

void kiln_timer_start(void)
{
    while (SYSTICK_VAL < (SYSTICK_TOP >> 1)) {
        /* fewer than 2^23 ticks to the next wrap: let it pass first */
    }
    started = kiln_timer_read();
}

int kiln_timer_stop(uint32_t *elapsed)
{
    *elapsed = kiln_timer_read() - started;
    return 0;
}

void kiln_platform_abort(const char *why)
{
    (void)why;
    for (;;) {
    }
}

void kiln_platform_log(const char *line)
{
    (void)line;
}
