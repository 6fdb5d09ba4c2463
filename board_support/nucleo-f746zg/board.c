/* Board support for the NUCLEO-F746ZG: USART3 output, the DWT cycle counter, exit.
 *
 *   - USART3 on PD8 (TX) / PD9 (RX), alternate function 7, which the NUCLEO-144 wires to the
 *     ST-LINK's virtual COM port (UM1974, "USART communication": SB5/SB6 closed by default);
 *     115200 baud, 8 data bits, no parity, 1 stop bit, oversampling by 16, clocked by PCLK1
 *     (54 MHz: BRR = 469, 0.05 % fast); transmit polled on TXE.
 *   - Ticks are core cycles: DWT->CYCCNT (enabled through DEMCR.TRCENA; the Cortex-M7's DWT also
 *     needs its CoreSight lock opened). CYCCNT wraps every 2^32 cycles (19.9 s at 216 MHz), so
 *     the SysTick interrupt, every 2^24 cycles, samples it and counts the wraps; a read combines
 *     both with interrupts masked (board_ticks64), and the runner fails with "ERROR timer
 *     overflow" rather than report an inference of 2^32 cycles or more as a wrapped figure.
 *     kiln_timer_read() is CYCCNT itself: one load, exact to the cycle.
 *   - board_exit: waits for the last byte to leave, stores the code, masks interrupts and stops.
 *
 * -DKILN_CYCCNT_START=<n> starts CYCCNT at n (e.g. 0xFFF00000 to see a wrap early);
 * -DKILN_WAIT_FOR_HOST=1 makes board_init wait for one byte on the UART before main goes on, so a
 * terminal opened after reset misses nothing (press reset, then a key). */
#include "board.h"
#include "stm32f746.h"

#ifndef KILN_CYCCNT_START
#define KILN_CYCCNT_START 0u
#endif
#ifndef KILN_WAIT_FOR_HOST
#define KILN_WAIT_FOR_HOST 0
#endif
#define BAUD 115200u

volatile int32_t board_exit_code = -1;

/* ---- USART3 ---- */

static int uart_ready;

void board_uart_init(void)
{
    if (uart_ready) return;
    RCC_AHB1ENR |= RCC_AHB1ENR_GPIODEN;
    RCC_APB1ENR |= RCC_APB1ENR_USART3EN;
    (void)RCC_APB1ENR; /* read back: the clocks run before the registers are written */
    RCC_DCKCFGR2 &= ~RCC_DCKCFGR2_USART3SEL_MASK;
    /* PD8, PD9: alternate function (MODER 10), AF7, high speed; pull-up on RX */
    GPIOD_MODER = (GPIOD_MODER & ~(0xFUL << 16)) | (0xAUL << 16);
    GPIOD_OSPEEDR = (GPIOD_OSPEEDR & ~(0xFUL << 16)) | (0xAUL << 16);
    GPIOD_PUPDR = (GPIOD_PUPDR & ~(0xFUL << 16)) | (0x1UL << 18);
    GPIOD_AFRH = (GPIOD_AFRH & ~0xFFUL) | 0x77UL;
    USART3_CR1 = 0u; /* disabled: 8N1, oversampling by 16 */
    USART3_BRR = (board_pclk1_hz + BAUD / 2u) / BAUD;
    USART3_CR1 = USART_CR1_TE | USART_CR1_RE | USART_CR1_UE;
    uart_ready = 1;
}

int board_getc(void)
{
    if (USART3_ISR & USART_ISR_ORE) USART3_ICR = USART_ICR_ORECF; /* an overrun blocks reception */
    if ((USART3_ISR & USART_ISR_RXNE) == 0u) return -1;
    return (int)(USART3_RDR & 0xFFu);
}

void board_putc(char c)
{
    while ((USART3_ISR & USART_ISR_TXE) == 0u) {
    }
    USART3_TDR = (uint32_t)(unsigned char)c;
}


#if KILN_WAIT_FOR_HOST
static void wait_for_host(void)
{
    board_puts("READY send a byte to start\n");
    while ((USART3_ISR & USART_ISR_RXNE) == 0u) {
        if (USART3_ISR & USART_ISR_ORE) USART3_ICR = USART_ICR_ORECF;
    }
    (void)USART3_RDR;
}
#endif

/* ---- DWT cycle counter: board_support/common/dwt_timer.c; turned on here ---- */

void board_dwt_restart(void); /* common/dwt_timer.c: restarts the wrap count */

static void timer_init(void)
{
    uint32_t t0, i;
    DEMCR |= DEMCR_TRCENA;
    DWT_LAR = DWT_LAR_UNLOCK;
    DWT_CYCCNT = KILN_CYCCNT_START;
    DWT_CTRL |= DWT_CTRL_CYCCNTENA;
    board_dwt_restart();
    SYST_RVR = 0xFFFFFFUL; /* an interrupt every 2^24 cycles, well inside one CYCCNT period */
    SYST_CVR = 0u;
    SYST_CSR = SYST_CSR_CLKSOURCE_CPU | SYST_CSR_TICKINT | SYST_CSR_ENABLE;
    t0 = DWT_CYCCNT;
    for (i = 0; i < 16u; ++i) __asm__ volatile("nop");
    if (DWT_CYCCNT == t0) {
        board_fail(BOARD_EXIT_TIMER_OVERFLOW, "the DWT cycle counter does not count (DEMCR.TRCENA or DWT_LAR)");
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
    board_puts("BOARD nucleo-f746zg cpu_hz ");
    board_put_u32(board_core_hz);
    board_puts(" clock ");
    board_puts(board_clock_source);
    board_puts(" timer dwt-cyccnt\n");
    timer_init();
}

/* ---- exit ---- */

void board_exit(int code)
{
    if (uart_ready) {
        while ((USART3_ISR & USART_ISR_TC) == 0u) {
        }
    }
    board_exit_code = (int32_t)code;
    __asm__ volatile("cpsid i" ::: "memory");
    for (;;) {
    }
}
