/* Board support for the nRF5340 DK's application core: UARTE0 output, the DWT cycle counter, exit.
 *
 *   - UARTE0 on P0.20 (TXD) and P0.22 (RXD), the pins the DK's interface MCU (J-Link OB) bridges
 *     to its first virtual COM port, VCOM0 (nRF5340 DK user guide, "Virtual COM port"; RTS/CTS
 *     are P0.19/P0.21 and left unconnected: no flow control). 115200 baud (BAUDRATE 0x01D60000,
 *     115108 actual), 8N1. UARTE transmits only from RAM by EasyDMA, so board_putc fills a
 *     64-byte buffer in RAM and a newline (or a full buffer) sends it and waits for ENDTX.
 *   - Ticks are core cycles (128 MHz): DWT->CYCCNT, enabled through DEMCR.TRCENA. It wraps every
 *     2^32 cycles (33.6 s), so the SysTick interrupt, every 2^24 cycles, samples it and counts
 *     the wraps; board_ticks64 combines both with interrupts masked, and the runner fails with
 *     "ERROR timer overflow" rather than report an inference of 2^32 cycles or more wrapped.
 *     kiln_timer_read() is CYCCNT itself: one load, exact to the cycle.
 *   - board_exit: the buffer is sent, the code stored, interrupts masked, and the core stops.
 *
 * -DKILN_CYCCNT_START=<n> starts CYCCNT at n (e.g. 0xFFF00000 to see a wrap early);
 * -DKILN_WAIT_FOR_HOST=1 makes board_init wait for one byte on the UART before main goes on. */
#include "board.h"
#include "nrf5340_app.h"

#ifndef KILN_CYCCNT_START
#define KILN_CYCCNT_START 0u
#endif
#ifndef KILN_WAIT_FOR_HOST
#define KILN_WAIT_FOR_HOST 0
#endif
#define TX_PIN 20u /* P0.20 */
#define RX_PIN 22u /* P0.22 */

volatile int32_t board_exit_code = -1;

/* ---- UARTE0 ---- */

static int uart_ready;
static uint8_t tx_buf[64]; /* EasyDMA reads RAM only */
static uint32_t tx_len;

void board_uart_init(void)
{
    if (uart_ready) return;
    P0_OUTSET = 1UL << TX_PIN; /* idle high before the UARTE takes the pin */
    P0_PIN_CNF(TX_PIN) = PIN_CNF_DIR_OUTPUT | PIN_CNF_INPUT_DISCONNECT;
    P0_PIN_CNF(RX_PIN) = PIN_CNF_PULLUP;
    UARTE_PSEL_TXD = TX_PIN; /* port 0 (bit 5 clear), connected (bit 31 clear) */
    UARTE_PSEL_RXD = RX_PIN;
    UARTE_PSEL_RTS = UARTE_PSEL_DISCONNECTED;
    UARTE_PSEL_CTS = UARTE_PSEL_DISCONNECTED;
    UARTE_BAUDRATE = UARTE_BAUDRATE_115200;
    UARTE_CONFIG = 0u;
    UARTE_ENABLE = UARTE_ENABLE_ENABLED;
    tx_len = 0u;
    uart_ready = 1;
}

static void uart_flush(void)
{
    if (tx_len == 0u) return;
    __asm__ volatile("dsb" ::: "memory"); /* the buffer is in RAM before the DMA reads it */
    UARTE_EVENTS_ENDTX = 0u;
    UARTE_TXD_PTR = (uint32_t)(uintptr_t)tx_buf;
    UARTE_TXD_MAXCNT = tx_len;
    UARTE_TASKS_STARTTX = 1u;
    while (UARTE_EVENTS_ENDTX == 0u) {
    }
    UARTE_EVENTS_ENDTX = 0u;
    tx_len = 0u;
}

/* Non-blocking receive for the RPC server: one byte per EasyDMA transfer, re-armed after each.
 * A byte arriving between ENDRX and the next call is lost; the RPC framing retries. */
static volatile uint8_t rx_next;
static int rx_armed;

int board_getc(void)
{
    if (!rx_armed) {
        UARTE_EVENTS_ENDRX = 0u;
        UARTE_RXD_PTR = (uint32_t)(uintptr_t)&rx_next;
        UARTE_RXD_MAXCNT = 1u;
        UARTE_TASKS_STARTRX = 1u;
        rx_armed = 1;
    }
    if (UARTE_EVENTS_ENDRX == 0u) return -1;
    UARTE_EVENTS_ENDRX = 0u;
    rx_armed = 0;
    return (int)rx_next;
}

void board_putc(char c)
{
    tx_buf[tx_len++] = (uint8_t)c;
    if (c == '\n' || tx_len == sizeof tx_buf) uart_flush();
}


#if KILN_WAIT_FOR_HOST
static void wait_for_host(void)
{
    static uint8_t rx_byte;
    board_puts("READY send a byte to start\n");
    UARTE_EVENTS_ENDRX = 0u;
    UARTE_RXD_PTR = (uint32_t)(uintptr_t)&rx_byte;
    UARTE_RXD_MAXCNT = 1u;
    UARTE_TASKS_STARTRX = 1u;
    while (UARTE_EVENTS_ENDRX == 0u) {
    }
    UARTE_EVENTS_ENDRX = 0u;
}
#endif

/* ---- DWT cycle counter: board_support/common/dwt_timer.c; turned on here ---- */

void board_dwt_restart(void); /* common/dwt_timer.c: restarts the wrap count */

static void timer_init(void)
{
    uint32_t t0, i;
    DEMCR |= DEMCR_TRCENA;
    if (DWT_CTRL & DWT_CTRL_NOCYCCNT) {
        board_fail(BOARD_EXIT_TIMER_OVERFLOW, "this core has no DWT cycle counter");
    }
    DWT_CYCCNT = KILN_CYCCNT_START;
    DWT_CTRL |= DWT_CTRL_CYCCNTENA;
    board_dwt_restart();
    SYST_RVR = 0xFFFFFFUL; /* an interrupt every 2^24 cycles, well inside one CYCCNT period */
    SYST_CVR = 0u;
    SYST_CSR = SYST_CSR_CLKSOURCE_CPU | SYST_CSR_TICKINT | SYST_CSR_ENABLE;
    t0 = DWT_CYCCNT;
    for (i = 0; i < 16u; ++i) __asm__ volatile("nop");
    if (DWT_CYCCNT == t0) {
        board_fail(BOARD_EXIT_TIMER_OVERFLOW,
                   "the DWT cycle counter does not count in Secure state: secure debug is locked "
                   "(run nrfjprog --recover, then flash again)");
    }
}

void board_init(void)
{
    static int ready;
    if (ready) return;
    ready = 1;
    board_uart_init();
#if KILN_WAIT_FOR_HOST
    wait_for_host();
#endif
    board_puts("BOARD nrf5340dk cpu_hz ");
    board_put_u32(board_core_hz);
    board_puts(" clock ");
    board_puts(board_clock_source);
    board_puts(" timer dwt-cyccnt\n");
    timer_init();
}

/* ---- exit ---- */

void board_exit(int code)
{
    if (uart_ready) uart_flush();
    board_exit_code = (int32_t)code;
    __asm__ volatile("cpsid i" ::: "memory");
    for (;;) {
    }
}
