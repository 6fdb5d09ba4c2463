/* nRF5340 application core registers used by the board support, by address (no nrfx/MDK
 * headers). From the nRF5340 Product Specification (v1.x): memory map and instantiation table
 * (secure aliases, 0x5xxxxxxx: the core starts in Secure state and every peripheral, flash and RAM
 * region is Secure after reset), CLOCK, CACHE, CTRL-AP, FICR, UICR, GPIO, UARTE; core registers
 * from the ARMv8-M Architecture Reference Manual (SCB, SysTick, DWT). */
#ifndef KILN_NRF5340_APP_H
#define KILN_NRF5340_APP_H

#include <stdint.h>

#define REG32(addr) (*(volatile uint32_t *)(addr))

/* ---- FICR (0x00FF0000) and UICR (0x00FF8000) ---- */
#define FICR_BASE 0x00FF0000UL
#define FICR_TRIMCNF_ADDR(n) REG32(FICR_BASE + 0x300UL + 8UL * (n)) /* 32 {ADDR, DATA} pairs */
#define FICR_TRIMCNF_DATA(n) REG32(FICR_BASE + 0x304UL + 8UL * (n))
#define UICR_BASE 0x00FF8000UL
#define UICR_APPROTECT REG32(UICR_BASE + 0x000UL)
#define UICR_SECUREAPPROTECT REG32(UICR_BASE + 0x01CUL)

/* ---- CACHE (0x50001000): the application core's flash cache ---- */
#define CACHE_BASE 0x50001000UL
#define CACHE_ENABLE REG32(CACHE_BASE + 0x500UL)
#define CACHE_INVALIDATE REG32(CACHE_BASE + 0x504UL)

/* ---- CLOCK (0x50005000) ---- */
#define CLOCK_BASE 0x50005000UL
#define CLOCK_TASKS_HFCLKSTART REG32(CLOCK_BASE + 0x000UL)
#define CLOCK_TASKS_HFCLKSTOP REG32(CLOCK_BASE + 0x004UL)
#define CLOCK_EVENTS_HFCLKSTARTED REG32(CLOCK_BASE + 0x100UL)
#define CLOCK_HFCLKSRC REG32(CLOCK_BASE + 0x514UL)  /* 0: HFINT, 1: HFXO (for HFCLK128M/64M) */
#define CLOCK_HFCLKCTRL REG32(CLOCK_BASE + 0x558UL) /* HCLK: 0 = /1 (128 MHz), 1 = /2 (64 MHz, reset) */

/* ---- CTRL-AP peripheral (0x50006000): the firmware side of access-port protection ---- */
#define CTRLAP_BASE 0x50006000UL
#define CTRLAP_APPROTECT_DISABLE REG32(CTRLAP_BASE + 0x544UL)
#define CTRLAP_SECUREAPPROTECT_DISABLE REG32(CTRLAP_BASE + 0x54CUL)

/* ---- UARTE0 (0x50008000; ID 8, shared with SPIM0/SPIS0/TWIM0/TWIS0) ---- */
#define UARTE0_BASE 0x50008000UL
#define UARTE_TASKS_STARTRX REG32(UARTE0_BASE + 0x000UL)
#define UARTE_TASKS_STARTTX REG32(UARTE0_BASE + 0x008UL)
#define UARTE_EVENTS_ENDRX REG32(UARTE0_BASE + 0x110UL)
#define UARTE_EVENTS_ENDTX REG32(UARTE0_BASE + 0x120UL)
#define UARTE_ENABLE REG32(UARTE0_BASE + 0x500UL)
#define UARTE_ENABLE_ENABLED 8UL
#define UARTE_PSEL_RTS REG32(UARTE0_BASE + 0x508UL)
#define UARTE_PSEL_TXD REG32(UARTE0_BASE + 0x50CUL)
#define UARTE_PSEL_CTS REG32(UARTE0_BASE + 0x510UL)
#define UARTE_PSEL_RXD REG32(UARTE0_BASE + 0x514UL)
#define UARTE_PSEL_DISCONNECTED 0xFFFFFFFFUL /* bit 31 CONNECT = 1 */
#define UARTE_BAUDRATE REG32(UARTE0_BASE + 0x524UL)
#define UARTE_BAUDRATE_115200 0x01D60000UL /* actual 115108 baud */
#define UARTE_RXD_PTR REG32(UARTE0_BASE + 0x534UL)
#define UARTE_RXD_MAXCNT REG32(UARTE0_BASE + 0x538UL)
#define UARTE_TXD_PTR REG32(UARTE0_BASE + 0x544UL)
#define UARTE_TXD_MAXCNT REG32(UARTE0_BASE + 0x548UL)
#define UARTE_CONFIG REG32(UARTE0_BASE + 0x56CUL) /* 0: no parity, one stop bit, no flow control */

/* ---- GPIO P0 (0x50842500) ---- */
#define P0_BASE 0x50842500UL
#define P0_OUTSET REG32(P0_BASE + 0x008UL)
#define P0_PIN_CNF(n) REG32(P0_BASE + 0x200UL + 4UL * (n))
#define PIN_CNF_DIR_OUTPUT (1UL << 0)
#define PIN_CNF_INPUT_DISCONNECT (1UL << 1)
#define PIN_CNF_PULLUP (3UL << 2)
/* PIN_CNF.MCUSEL (bits 30:28) stays 0 = application core */

/* ---- Cortex-M33 system control space ---- */
#define SCB_VTOR REG32(0xE000ED08UL)
#define SCB_CFSR REG32(0xE000ED28UL)
#define SCB_HFSR REG32(0xE000ED2CUL)
#define SCB_BFAR REG32(0xE000ED38UL)
#define SCB_CPACR REG32(0xE000ED88UL)
#define SAU_SFSR REG32(0xE000EDE4UL) /* SecureFault status */
#define SYST_CSR REG32(0xE000E010UL)
#define SYST_RVR REG32(0xE000E014UL)
#define SYST_CVR REG32(0xE000E018UL)
#define SYST_CSR_ENABLE (1UL << 0)
#define SYST_CSR_TICKINT (1UL << 1)
#define SYST_CSR_CLKSOURCE_CPU (1UL << 2)
#define DEMCR REG32(0xE000EDFCUL)
#define DEMCR_TRCENA (1UL << 24)
#define DWT_CTRL REG32(0xE0001000UL)
#define DWT_CTRL_CYCCNTENA (1UL << 0)
#define DWT_CTRL_NOCYCCNT (1UL << 25)
#define DWT_CYCCNT REG32(0xE0001004UL)

/* Shared between startup.c and board.c */
extern uint32_t board_core_hz;
extern const char *board_clock_source; /* "hfxo" or "hfint" */
void board_uart_init(void); /* idempotent; used by the fault handler too */

#endif
