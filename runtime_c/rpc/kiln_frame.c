/* Framing for the Kiln device link: encoder, incremental decoder, CRCs. See kiln_frame.h. */
#include "kiln_frame.h"

#include <string.h>

enum { HUNT = 0, BODY = 1 };

#if KILN_FRAME_MAX_PAYLOAD > 0xFFFFu - KILN_FRAME_HEADER_BYTES - KILN_FRAME_CRC_BYTES
#error "KILN_FRAME_MAX_PAYLOAD must leave a whole frame countable in 16 bits"
#endif

uint16_t kiln_crc16_ccitt(uint16_t crc, const uint8_t *data, size_t n)
{
    size_t i;
    for (i = 0; i < n; ++i) {
        int bit;
        crc = (uint16_t)(crc ^ (uint16_t)((uint16_t)data[i] << 8));
        for (bit = 0; bit < 8; ++bit) {
            crc = (crc & 0x8000u) != 0u ? (uint16_t)((uint16_t)(crc << 1) ^ 0x1021u) : (uint16_t)(crc << 1);
        }
    }
    return crc;
}

/* Four bits at a time: a 16-entry table (64 bytes of flash) instead of 1 KB. */
static const uint32_t crc32_nibble[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u, 0x4DB26158u, 0x5005713Cu,
    0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu, 0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu};

uint32_t kiln_crc32(uint32_t crc, const uint8_t *data, size_t n)
{
    size_t i;
    crc = ~crc;
    for (i = 0; i < n; ++i) {
        crc ^= data[i];
        crc = (crc >> 4) ^ crc32_nibble[crc & 0x0Fu];
        crc = (crc >> 4) ^ crc32_nibble[crc & 0x0Fu];
    }
    return ~crc;
}

void kiln_frame_decoder_init(kiln_frame_decoder_t *d)
{
    memset(d, 0, sizeof *d);
    d->state = HUNT;
}

static void begin_frame(kiln_frame_decoder_t *d)
{
    d->state = BODY;
    d->escaped = 0;
    d->count = 0;
    d->need = 0;
}

static int drop(kiln_frame_decoder_t *d, int why)
{
    d->state = HUNT;
    d->escaped = 0;
    return why;
}

int kiln_frame_feed(kiln_frame_decoder_t *d, uint8_t byte)
{
    if (byte == KILN_FRAME_START) {
        /* A START always begins a frame; one inside a frame cuts the partial frame off. Repeated
         * STARTs with nothing between them are idle fill. */
        const int cut = d->state == BODY && (d->count > 0u || d->escaped);
        begin_frame(d);
        return cut ? KILN_FRAME_ERR_TRUNCATED : KILN_FRAME_NONE;
    }
    if (d->state != BODY) return KILN_FRAME_NONE; /* noise between frames */
    if (byte == KILN_FRAME_ESCAPE) {
        if (d->escaped) return drop(d, KILN_FRAME_ERR_ESCAPE);
        d->escaped = 1;
        return KILN_FRAME_NONE;
    }
    if (d->escaped) {
        byte = (uint8_t)(byte ^ KILN_FRAME_XOR);
        if (byte != KILN_FRAME_START && byte != KILN_FRAME_ESCAPE) return drop(d, KILN_FRAME_ERR_ESCAPE);
        d->escaped = 0;
    }
    /* count < need <= sizeof buf once the header is in, and count < HEADER before: always room */
    d->buf[d->count++] = byte;
    if (d->count == KILN_FRAME_HEADER_BYTES) {
        const uint16_t length = (uint16_t)(d->buf[2] | (uint16_t)(d->buf[3] << 8));
        if (length > KILN_FRAME_MAX_PAYLOAD) return drop(d, KILN_FRAME_ERR_LENGTH);
        d->need = (uint16_t)(KILN_FRAME_HEADER_BYTES + length + KILN_FRAME_CRC_BYTES);
    }
    if (d->need != 0u && d->count == d->need) {
        const uint16_t body = (uint16_t)(d->need - KILN_FRAME_CRC_BYTES);
        const uint16_t got = (uint16_t)((uint16_t)(d->buf[body] << 8) | d->buf[body + 1u]);
        d->state = HUNT;
        return kiln_crc16_ccitt(0xFFFFu, d->buf, body) == got ? KILN_FRAME_READY : KILN_FRAME_ERR_CRC;
    }
    return KILN_FRAME_NONE;
}

int kiln_frame_busy(const kiln_frame_decoder_t *d)
{
    return d->state == BODY && (d->count > 0u || d->escaped);
}

uint8_t kiln_frame_seq(const kiln_frame_decoder_t *d)
{
    return d->count > 0u ? d->buf[0] : 0u;
}

uint8_t kiln_frame_type(const kiln_frame_decoder_t *d)
{
    return d->count > 1u ? d->buf[1] : 0u;
}

uint16_t kiln_frame_length(const kiln_frame_decoder_t *d)
{
    return d->need >= KILN_FRAME_HEADER_BYTES + KILN_FRAME_CRC_BYTES
               ? (uint16_t)(d->need - KILN_FRAME_HEADER_BYTES - KILN_FRAME_CRC_BYTES)
               : 0u;
}

const uint8_t *kiln_frame_payload(const kiln_frame_decoder_t *d)
{
    return d->buf + KILN_FRAME_HEADER_BYTES;
}

uint16_t kiln_frame_crc(const kiln_frame_decoder_t *d)
{
    if (d->need == 0u || d->count != d->need) return 0u;
    return (uint16_t)((uint16_t)(d->buf[d->need - 2u] << 8) | d->buf[d->need - 1u]);
}

/* ---- encoder: escapes into a small staging buffer and flushes it to the sink ---- */

typedef struct {
    kiln_frame_sink_t sink;
    void *ctx;
    size_t used;
    uint8_t stage[32];
} writer_t;

static void flush(writer_t *w)
{
    if (w->used > 0u) w->sink(w->ctx, w->stage, w->used);
    w->used = 0;
}

static void put_raw(writer_t *w, uint8_t b)
{
    if (w->used == sizeof w->stage) flush(w);
    w->stage[w->used++] = b;
}

static void put_escaped(writer_t *w, const uint8_t *bytes, size_t n)
{
    size_t i;
    for (i = 0; i < n; ++i) {
        if (bytes[i] == KILN_FRAME_START || bytes[i] == KILN_FRAME_ESCAPE) {
            put_raw(w, KILN_FRAME_ESCAPE);
            put_raw(w, (uint8_t)(bytes[i] ^ KILN_FRAME_XOR));
        } else {
            put_raw(w, bytes[i]);
        }
    }
}

int kiln_frame_write(uint8_t seq, uint8_t type, const uint8_t *payload, uint16_t length,
                     kiln_frame_sink_t sink, void *ctx)
{
    writer_t w;
    uint8_t header[KILN_FRAME_HEADER_BYTES];
    uint8_t crc_bytes[KILN_FRAME_CRC_BYTES];
    uint16_t crc;
    if (sink == NULL || length > KILN_FRAME_MAX_PAYLOAD || (payload == NULL && length > 0u)) return -1;
    header[0] = seq;
    header[1] = type;
    header[2] = (uint8_t)(length & 0xFFu);
    header[3] = (uint8_t)(length >> 8);
    crc = kiln_crc16_ccitt(0xFFFFu, header, sizeof header);
    if (length > 0u) crc = kiln_crc16_ccitt(crc, payload, length);
    crc_bytes[0] = (uint8_t)(crc >> 8);
    crc_bytes[1] = (uint8_t)(crc & 0xFFu);
    w.sink = sink;
    w.ctx = ctx;
    w.used = 0;
    put_raw(&w, KILN_FRAME_START);
    put_escaped(&w, header, sizeof header);
    if (length > 0u) put_escaped(&w, payload, length);
    put_escaped(&w, crc_bytes, sizeof crc_bytes);
    flush(&w);
    return 0;
}

typedef struct {
    uint8_t *out;
    size_t cap;
    size_t used;
    int overflow;
} buffer_sink_t;

static void to_buffer(void *ctx, const uint8_t *bytes, size_t n)
{
    buffer_sink_t *b = (buffer_sink_t *)ctx;
    if (b->overflow || n > b->cap - b->used) {
        b->overflow = 1;
        return;
    }
    memcpy(b->out + b->used, bytes, n);
    b->used += n;
}

size_t kiln_frame_encode(uint8_t seq, uint8_t type, const uint8_t *payload, uint16_t length, uint8_t *out,
                         size_t cap)
{
    buffer_sink_t b;
    if (out == NULL) return 0;
    b.out = out;
    b.cap = cap;
    b.used = 0;
    b.overflow = 0;
    if (kiln_frame_write(seq, type, payload, length, to_buffer, &b) != 0 || b.overflow) return 0;
    return b.used;
}
