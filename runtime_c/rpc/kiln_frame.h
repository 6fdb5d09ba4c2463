/* Framing for the Kiln device link (docs/protocol.md): one frame is
 *
 *     0x7E | escaped( seq:u8  type:u8  length:u16 LE  payload[length]  crc:u16 BE )
 *
 * - 0x7E (START) only ever appears as the first byte of a frame: inside, 0x7E is sent as
 *   0x7D 0x5E and 0x7D (ESCAPE) as 0x7D 0x5D. No other byte is escaped, and an escape of any
 *   other byte is malformed. So a receiver that lost its place resynchronises at the next 0x7E.
 * - crc is CRC-16/CCITT-FALSE (polynomial 0x1021, initial value 0xFFFF, no reflection, no final
 *   XOR; check value 0x29B1 for "123456789") over seq, type, length and payload, unescaped, sent
 *   high byte first.
 * - length is at most KILN_FRAME_MAX_PAYLOAD: a larger one is rejected before any payload byte
 *   is stored.
 *
 * Both sides use the same decoder (server/kiln/device/framing.py is the Python twin, and
 * tests/test_rpc_framing.py checks that they agree byte for byte). C99, no allocation. */
#ifndef KILN_FRAME_H
#define KILN_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define KILN_FRAME_START 0x7Eu
#define KILN_FRAME_ESCAPE 0x7Du
#define KILN_FRAME_XOR 0x20u
#define KILN_FRAME_HEADER_BYTES 4u /* seq, type, length (2) */
#define KILN_FRAME_CRC_BYTES 2u

/* The largest payload either side accepts; INFO reports it to the host. A build may lower it
 * (never below 160, which INFO needs) to save RAM on a small MCU. */
#ifndef KILN_FRAME_MAX_PAYLOAD
#define KILN_FRAME_MAX_PAYLOAD 256u
#endif

/* The largest frame on the wire: start byte plus everything escaped. */
#define KILN_FRAME_MAX_WIRE_BYTES \
    (1u + 2u * (KILN_FRAME_HEADER_BYTES + KILN_FRAME_MAX_PAYLOAD + KILN_FRAME_CRC_BYTES))

/* What kiln_frame_feed() reports after each byte. */
typedef enum {
    KILN_FRAME_NONE = 0,      /* nothing yet (also: noise between frames, skipped) */
    KILN_FRAME_READY = 1,     /* a whole frame with a good CRC: read it from the decoder */
    KILN_FRAME_ERR_CRC = 2,   /* a whole frame whose CRC does not match: dropped */
    KILN_FRAME_ERR_LENGTH = 3, /* the length field exceeds KILN_FRAME_MAX_PAYLOAD: dropped */
    KILN_FRAME_ERR_ESCAPE = 4, /* an escape of a byte that is never escaped: dropped */
    KILN_FRAME_ERR_TRUNCATED = 5 /* a START inside a frame: the partial frame is dropped and the
                                    START begins a new one */
} kiln_frame_event_t;

typedef struct {
    uint8_t state;   /* hunting for START, or inside a frame */
    uint8_t escaped; /* the previous byte was ESCAPE */
    uint16_t count;  /* unescaped bytes stored so far */
    uint16_t need;   /* bytes the whole frame has, once the header is in (0 before) */
    uint8_t buf[KILN_FRAME_HEADER_BYTES + KILN_FRAME_MAX_PAYLOAD + KILN_FRAME_CRC_BYTES];
} kiln_frame_decoder_t;

/* CRC-16/CCITT-FALSE: feed 0xFFFF as crc to start, then chain calls. */
uint16_t kiln_crc16_ccitt(uint16_t crc, const uint8_t *data, size_t n);

/* CRC-32 as in zlib and Ethernet (reflected polynomial 0xEDB88320, initial value and final XOR
 * 0xFFFFFFFF; check value 0xCBF43926 for "123456789"). Start with crc = 0, then chain calls:
 * kiln_crc32(kiln_crc32(0, a, n), b, m) is the CRC of a followed by b. */
uint32_t kiln_crc32(uint32_t crc, const uint8_t *data, size_t n);

void kiln_frame_decoder_init(kiln_frame_decoder_t *d);

/* Feeds one received byte; returns a kiln_frame_event_t. After KILN_FRAME_READY the frame's
 * fields are valid until the next call. */
int kiln_frame_feed(kiln_frame_decoder_t *d, uint8_t byte);

/* Non-zero while part of a frame has been received. */
int kiln_frame_busy(const kiln_frame_decoder_t *d);

/* Fields of the frame just decoded (or, after an error, of what was received of it: the
 * sequence number is then only a hint). */
uint8_t kiln_frame_seq(const kiln_frame_decoder_t *d);
uint8_t kiln_frame_type(const kiln_frame_decoder_t *d);
uint16_t kiln_frame_length(const kiln_frame_decoder_t *d);
const uint8_t *kiln_frame_payload(const kiln_frame_decoder_t *d);
/* The received CRC of the frame just decoded (it identifies a repeated request). */
uint16_t kiln_frame_crc(const kiln_frame_decoder_t *d);

/* Where an encoder puts its bytes: called with a few bytes at a time. */
typedef void (*kiln_frame_sink_t)(void *ctx, const uint8_t *bytes, size_t n);

/* Encodes one frame and hands it to sink in small pieces (no frame-sized buffer needed).
 * Returns 0, or -1 (and writes nothing) when length > KILN_FRAME_MAX_PAYLOAD or payload is NULL
 * with a non-zero length. */
int kiln_frame_write(uint8_t seq, uint8_t type, const uint8_t *payload, uint16_t length,
                     kiln_frame_sink_t sink, void *ctx);

/* Encodes one frame into out (capacity cap); returns its size in bytes, or 0 when it does not
 * fit or the arguments are invalid. KILN_FRAME_MAX_WIRE_BYTES always suffices. */
size_t kiln_frame_encode(uint8_t seq, uint8_t type, const uint8_t *payload, uint16_t length, uint8_t *out,
                         size_t cap);

#endif
