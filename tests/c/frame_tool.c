/* Test driver for runtime_c/rpc/kiln_frame.c, so that tests/test_rpc_framing.py can check the C
 * framing against the Python twin (server/kiln/device/framing.py).
 *
 *   frame_tool crc      stdin: bytes          stdout: "<crc16 hex> <crc32 hex>"
 *   frame_tool encode   stdin: lines "<seq> <type> <payload hex or ->"   stdout: one hex frame a line
 *                       ("ERROR" when kiln_frame_encode refuses)
 *   frame_tool decode   stdin: bytes          stdout: one line per event:
 *                       "FRAME <seq> <type> <payload hex or ->" or "ERR <code> <seq hint or ->"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiln_frame.h"

static size_t read_all(uint8_t *buf, size_t cap)
{
    size_t n = 0, r;
    while (n < cap && (r = fread(buf + n, 1, cap - n, stdin)) > 0) n += r;
    return n;
}

static void print_hex(const uint8_t *p, size_t n)
{
    size_t i;
    if (n == 0u) fputs("-", stdout);
    for (i = 0; i < n; ++i) printf("%02x", p[i]);
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int do_encode(void)
{
    static char line[8192];
    static uint8_t payload[4096], out[2u * 4096u + 64u];
    while (fgets(line, sizeof line, stdin) != NULL) {
        unsigned seq, type;
        char hex[8192];
        size_t n = 0, i, len, size;
        if (sscanf(line, "%u %u %8191s", &seq, &type, hex) != 3 || seq > 255u || type > 255u) return 2;
        len = strcmp(hex, "-") == 0 ? 0u : strlen(hex);
        if (len % 2u != 0u || len / 2u > sizeof payload) return 2;
        for (i = 0; i < len; i += 2u) {
            const int hi = hex_value(hex[i]), lo = hex_value(hex[i + 1u]);
            if (hi < 0 || lo < 0) return 2;
            payload[n++] = (uint8_t)(hi * 16 + lo);
        }
        size = n > 0xFFFFu ? 0u : kiln_frame_encode((uint8_t)seq, (uint8_t)type, payload, (uint16_t)n, out, sizeof out);
        if (size == 0u) {
            puts("ERROR");
        } else {
            print_hex(out, size);
            putchar('\n');
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static uint8_t buf[1u << 20];
    size_t n, i;
    if (argc != 2) return 2;
    if (strcmp(argv[1], "crc") == 0) {
        n = read_all(buf, sizeof buf);
        printf("%04x %08lx\n", (unsigned)kiln_crc16_ccitt(0xFFFFu, buf, n), (unsigned long)kiln_crc32(0u, buf, n));
        return 0;
    }
    if (strcmp(argv[1], "encode") == 0) return do_encode();
    if (strcmp(argv[1], "decode") == 0) {
        static kiln_frame_decoder_t d;
        kiln_frame_decoder_init(&d);
        n = read_all(buf, sizeof buf);
        for (i = 0; i < n; ++i) {
            const int ev = kiln_frame_feed(&d, buf[i]);
            if (ev == KILN_FRAME_READY) {
                printf("FRAME %u %u ", (unsigned)kiln_frame_seq(&d), (unsigned)kiln_frame_type(&d));
                print_hex(kiln_frame_payload(&d), kiln_frame_length(&d));
                putchar('\n');
            } else if (ev == KILN_FRAME_ERR_TRUNCATED || (ev != KILN_FRAME_NONE && d.count == 0u)) {
                printf("ERR %d -\n", ev);
            } else if (ev != KILN_FRAME_NONE) {
                printf("ERR %d %u\n", ev, (unsigned)kiln_frame_seq(&d));
            }
        }
        return 0;
    }
    return 2;
}
