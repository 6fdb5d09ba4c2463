/* Text output shared by every Cortex-M board: built on the board's own board_putc(), so a new
 * board implements putc and gets the rest. Compiled with the board's folder on the include path,
 * so "board.h" is that board's. No printf, to keep flash small. */
#include <stdint.h>

#include "board.h"

void board_puts(const char *s)
{
    while (*s) board_putc(*s++);
}

void board_put_u32(uint32_t v)
{
    char buf[10];
    int n = 0;
    do {
        buf[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u);
    while (n > 0) board_putc(buf[--n]);
}

void board_put_hex(const uint8_t *p, uint32_t n)
{
    static const char digits[] = "0123456789abcdef";
    uint32_t i;
    for (i = 0; i < n; ++i) {
        board_putc(digits[p[i] >> 4]);
        board_putc(digits[p[i] & 0xfu]);
    }
}
