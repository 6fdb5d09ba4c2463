/* Text output shared by every board (Cortex-M and RISC-V): built on the board's own board_putc()
 * and board_exit(), so a new board implements those and gets the rest. Compiled with the board's
 * folder on the include path, so "board.h" is that board's. No printf, to keep flash small. */
#include <stdint.h>

#include "board.h"

/* "ERROR <what>" and the exit status: the line every runner's failure ends with. */
void board_fail(int code, const char *what)
{
    board_puts("ERROR ");
    board_puts(what);
    board_putc('\n');
    board_exit(code);
}

void board_puts(const char *s)
{
    while (*s) board_putc(*s++);
}

/* v / 10, and v % 10 in *rem. Without a divide instruction (Armv6-M) by shifts and adds (Hacker's
 * Delight's divu10), not libgcc's 266-byte division routine, linked for this alone otherwise. */
static uint32_t div10(uint32_t v, uint32_t *rem)
{
#if defined(__ARM_ARCH_6M__)
    uint32_t q = (v >> 1) + (v >> 2), r;
    q += q >> 4;
    q += q >> 8;
    q += q >> 16;
    q >>= 3;
    r = v - q * 10u;
    if (r > 9u) {
        ++q;
        r -= 10u;
    }
    *rem = r;
    return q;
#else
    *rem = v % 10u;
    return v / 10u;
#endif
}

void board_put_u32(uint32_t v)
{
    char buf[10];
    int n = 0;
    do {
        uint32_t digit;
        v = div10(v, &digit);
        buf[n++] = (char)('0' + digit);
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
