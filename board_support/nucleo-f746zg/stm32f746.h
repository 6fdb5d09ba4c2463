/* STM32F746 registers used by the board support, by address (no vendor HAL or CMSIS headers).
 * Peripheral registers from the STM32F75xxx/74xxx reference manual (RM0385): RCC (section 5.3),
 * PWR (4.4), FLASH (3.7), GPIO (6.4), USART (31.8); core registers from the ARMv7-M Architecture
 * Reference Manual and the Cortex-M7 TRM (SCB, cache maintenance, SysTick, DWT). */
#ifndef KILN_STM32F746_H
#define KILN_STM32F746_H

#include <stdint.h>

#define REG32(addr) (*(volatile uint32_t *)(addr))

/* ---- RCC (0x40023800) ---- */
#define RCC_BASE 0x40023800UL
#define RCC_CR REG32(RCC_BASE + 0x00UL)
#define RCC_CR_HSION (1UL << 0)
#define RCC_CR_HSIRDY (1UL << 1)
#define RCC_CR_HSEON (1UL << 16)
#define RCC_CR_HSERDY (1UL << 17)
#define RCC_CR_HSEBYP (1UL << 18)
#define RCC_CR_PLLON (1UL << 24)
#define RCC_CR_PLLRDY (1UL << 25)
#define RCC_PLLCFGR REG32(RCC_BASE + 0x04UL)
#define RCC_PLLCFGR_PLLM_POS 0  /* [5:0], 2..63: VCO input = source / PLLM (1..2 MHz) */
#define RCC_PLLCFGR_PLLN_POS 6  /* [14:6], 50..432: VCO output = input * PLLN (100..432 MHz) */
#define RCC_PLLCFGR_PLLP_POS 16 /* [17:16], 0 = /2, 1 = /4, 2 = /6, 3 = /8: SYSCLK */
#define RCC_PLLCFGR_PLLSRC_HSE (1UL << 22)
#define RCC_PLLCFGR_PLLQ_POS 24 /* [27:24], 2..15: 48 MHz domain (USB, SDMMC, RNG) */
#define RCC_PLLCFGR_FIELDS (0x3FUL | (0x1FFUL << 6) | (0x3UL << 16) | (1UL << 22) | (0xFUL << 24))
#define RCC_CFGR REG32(RCC_BASE + 0x08UL)
#define RCC_CFGR_SW_MASK (0x3UL << 0)
#define RCC_CFGR_SW_PLL (0x2UL << 0)
#define RCC_CFGR_SWS_MASK (0x3UL << 2)
#define RCC_CFGR_SWS_PLL (0x2UL << 2)
#define RCC_CFGR_HPRE_MASK (0xFUL << 4)   /* AHB prescaler: 0xxx = /1 */
#define RCC_CFGR_PPRE1_MASK (0x7UL << 10) /* APB1: 0xx = /1, 101 = /4 */
#define RCC_CFGR_PPRE1_DIV4 (0x5UL << 10)
#define RCC_CFGR_PPRE2_MASK (0x7UL << 13) /* APB2: 100 = /2 */
#define RCC_CFGR_PPRE2_DIV2 (0x4UL << 13)
#define RCC_AHB1ENR REG32(RCC_BASE + 0x30UL)
#define RCC_AHB1ENR_GPIODEN (1UL << 3)
#define RCC_APB1ENR REG32(RCC_BASE + 0x40UL)
#define RCC_APB1ENR_USART3EN (1UL << 18)
#define RCC_APB1ENR_PWREN (1UL << 28)
#define RCC_DCKCFGR2 REG32(RCC_BASE + 0x90UL)
#define RCC_DCKCFGR2_USART3SEL_MASK (0x3UL << 4) /* 00: USART3 clocked by PCLK1 */

/* ---- PWR (0x40007000) ---- */
#define PWR_BASE 0x40007000UL
#define PWR_CR1 REG32(PWR_BASE + 0x00UL)
#define PWR_CR1_VOS_MASK (0x3UL << 14)
#define PWR_CR1_VOS_SCALE1 (0x3UL << 14)
#define PWR_CR1_ODEN (1UL << 16)
#define PWR_CR1_ODSWEN (1UL << 17)
#define PWR_CSR1 REG32(PWR_BASE + 0x04UL)
#define PWR_CSR1_ODRDY (1UL << 16)
#define PWR_CSR1_ODSWRDY (1UL << 17)

/* ---- FLASH interface (0x40023C00) ---- */
#define FLASH_ACR REG32(0x40023C00UL)
#define FLASH_ACR_LATENCY_MASK 0xFUL
#define FLASH_ACR_LATENCY_7WS 7UL /* 210..216 MHz at 2.7..3.6 V (RM0385 table 5) */
#define FLASH_ACR_PRFTEN (1UL << 8)
#define FLASH_ACR_ARTEN (1UL << 9)

/* ---- GPIOD (0x40020C00) ---- */
#define GPIOD_BASE 0x40020C00UL
#define GPIOD_MODER REG32(GPIOD_BASE + 0x00UL)
#define GPIOD_OSPEEDR REG32(GPIOD_BASE + 0x08UL)
#define GPIOD_PUPDR REG32(GPIOD_BASE + 0x0CUL)
#define GPIOD_AFRH REG32(GPIOD_BASE + 0x24UL)

/* ---- USART3 (0x40004800, APB1) ---- */
#define USART3_BASE 0x40004800UL
#define USART3_CR1 REG32(USART3_BASE + 0x00UL)
#define USART_CR1_UE (1UL << 0)
#define USART_CR1_RE (1UL << 2)
#define USART_CR1_TE (1UL << 3)
#define USART3_BRR REG32(USART3_BASE + 0x0CUL)
#define USART3_ISR REG32(USART3_BASE + 0x1CUL)
#define USART_ISR_ORE (1UL << 3)
#define USART_ISR_RXNE (1UL << 5)
#define USART_ISR_TC (1UL << 6)
#define USART_ISR_TXE (1UL << 7)
#define USART3_ICR REG32(USART3_BASE + 0x20UL)
#define USART_ICR_ORECF (1UL << 3)
#define USART3_RDR REG32(USART3_BASE + 0x24UL)
#define USART3_TDR REG32(USART3_BASE + 0x28UL)

/* ---- Cortex-M7 system control space ---- */
#define SCB_ICSR REG32(0xE000ED04UL)
#define SCB_VTOR REG32(0xE000ED08UL)
#define SCB_CCR REG32(0xE000ED14UL)
#define SCB_CCR_DC (1UL << 16)
#define SCB_CCR_IC (1UL << 17)
#define SCB_CFSR REG32(0xE000ED28UL)
#define SCB_HFSR REG32(0xE000ED2CUL)
#define SCB_MMFAR REG32(0xE000ED34UL)
#define SCB_BFAR REG32(0xE000ED38UL)
#define SCB_CCSIDR REG32(0xE000ED80UL)
#define SCB_CSSELR REG32(0xE000ED84UL)
#define SCB_CPACR REG32(0xE000ED88UL)
#define SCB_ICIALLU REG32(0xE000EF50UL)
#define SCB_DCISW REG32(0xE000EF60UL)
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
#define DWT_CYCCNT REG32(0xE0001004UL)
#define DWT_LAR REG32(0xE0001FB0UL) /* CoreSight lock: the M7's DWT ignores writes until unlocked */
#define DWT_LAR_UNLOCK 0xC5ACCE55UL

/* Shared between startup.c and board.c */
extern uint32_t board_pclk1_hz; /* USART3's clock */
extern uint32_t board_core_hz;
extern const char *board_clock_source; /* "hse-bypass-pll", "hsi-pll" or "hsi" */
void board_uart_init(void); /* idempotent; used by the fault handler too */

#endif
