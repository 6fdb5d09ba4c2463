/* The Kiln device RPC server. See kiln_rpc.h for the API and docs/protocol.md for the protocol.
 *
 * Rules kept throughout: a request is parsed only after its frame passed the CRC; every field is
 * range-checked with arithmetic that cannot overflow (offset <= size && length <= size - offset)
 * before any buffer is touched; answers are built in s->tx, whose bounds every put checks. */
#include "kiln_rpc.h"

#include <string.h>

#include "kiln_platform.h"

#if KILN_FRAME_MAX_PAYLOAD < 160
#error "KILN_FRAME_MAX_PAYLOAD must be at least 160: INFO needs up to 157 bytes"
#endif

/* Request lengths (payload bytes). */
#define TOKEN_BYTES 4u
#define SET_INPUT_HEADER (TOKEN_BYTES + 2u + 4u)
#define RUN_BYTES (TOKEN_BYTES + 1u)
#define GET_BYTES (TOKEN_BYTES + 2u + 4u + 2u) /* GET_OUTPUT and GET_TENSOR */
#define GET_TIMINGS_BYTES (TOKEN_BYTES + 4u + 2u)
#define STEP_BYTES (TOKEN_BYTES + 4u + 4u)

/* The most data one answer carries after its status byte. */
#define MAX_DATA (KILN_FRAME_MAX_PAYLOAD - 1u)

#ifdef KILN_PROFILE
#define PROFILING_BUILT 1
#else
#define PROFILING_BUILT 0
#endif

/* ---- little-endian fields ---- */

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (uint16_t)(p[1] << 8));
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* ---- building an answer in s->tx ---- */

static void begin(kiln_rpc_server_t *s, uint8_t status)
{
    s->tx[0] = status;
    s->tx_length = 1;
}

static void put_bytes(kiln_rpc_server_t *s, const void *data, size_t n)
{
    if (n > (size_t)(KILN_FRAME_MAX_PAYLOAD - s->tx_length)) {
        kiln_platform_abort("kiln_rpc: an answer outgrew the frame (a bug in kiln_rpc.c)");
        return;
    }
    if (n > 0u) memcpy(s->tx + s->tx_length, data, n);
    s->tx_length = (uint16_t)(s->tx_length + n);
}

static void put8(kiln_rpc_server_t *s, uint8_t v)
{
    put_bytes(s, &v, 1u);
}

static void put16(kiln_rpc_server_t *s, uint16_t v)
{
    uint8_t b[2];
    b[0] = (uint8_t)(v & 0xFFu);
    b[1] = (uint8_t)(v >> 8);
    put_bytes(s, b, sizeof b);
}

static void put32(kiln_rpc_server_t *s, uint32_t v)
{
    uint8_t b[4];
    b[0] = (uint8_t)(v & 0xFFu);
    b[1] = (uint8_t)((v >> 8) & 0xFFu);
    b[2] = (uint8_t)((v >> 16) & 0xFFu);
    b[3] = (uint8_t)(v >> 24);
    put_bytes(s, b, sizeof b);
}

static void fail(kiln_rpc_server_t *s, uint8_t status, uint32_t detail)
{
    begin(s, status);
    put32(s, detail);
}

static void put_name(kiln_rpc_server_t *s, const char *name, size_t limit)
{
    size_t n = 0;
    if (name != NULL) {
        while (n < limit && name[n] != '\0') ++n;
    }
    put8(s, (uint8_t)n);
    put_bytes(s, name, n);
}

/* ---- transport ---- */

static void to_transport(void *ctx, const uint8_t *bytes, size_t n)
{
    (void)ctx;
    kiln_platform_write(bytes, n);
}

static void send_frame(uint8_t seq, uint8_t type, const uint8_t *payload, uint16_t length)
{
    (void)kiln_frame_write(seq, type, payload, length, to_transport, NULL);
}

/* ---- state ---- */

static int profiling_available(const kiln_rpc_server_t *s)
{
    return PROFILING_BUILT && s->cfg.op_ticks != NULL;
}

static void clear_model_state(kiln_rpc_server_t *s, int zero_arena)
{
    const kiln_model_t *m = s->cfg.model;
    uint32_t i;
    for (i = 0; i < m->input_count; ++i) memset(s->cfg.inputs[i], 0, m->inputs[i].bytes);
    for (i = 0; i < m->output_count; ++i) memset(s->cfg.outputs[i], 0, m->outputs[i].bytes);
    if (zero_arena) memset(s->cfg.arena, 0, s->cfg.arena_bytes);
    if (m->reset != NULL) m->reset(); /* a stateful model's sequence starts anew */
    s->outputs_valid = 0;
    s->timings_valid = 0;
    s->last_ticks = 0;
}

static int config_ok(const kiln_rpc_config_t *cfg)
{
    const kiln_model_t *m;
    uint32_t i;
    if (cfg == NULL || cfg->model == NULL) return 0;
    m = cfg->model;
    if (m->run == NULL || cfg->arena == NULL || cfg->arena_bytes < m->arena_bytes ||
        ((uintptr_t)cfg->arena & 7u) != 0u) {
        return 0;
    }
    if (m->input_count > KILN_RPC_MAX_TENSORS || m->output_count > KILN_RPC_MAX_TENSORS - m->input_count) return 0;
    if (m->input_count > 0u && (cfg->inputs == NULL || m->inputs == NULL)) return 0;
    if (m->output_count > 0u && (cfg->outputs == NULL || m->outputs == NULL)) return 0;
    for (i = 0; i < m->input_count; ++i) {
        if (cfg->inputs[i] == NULL) return 0;
    }
    for (i = 0; i < m->output_count; ++i) {
        if (cfg->outputs[i] == NULL) return 0;
    }
    return 1;
}

int kiln_rpc_init(kiln_rpc_server_t *s, const kiln_rpc_config_t *cfg)
{
    if (s == NULL || !config_ok(cfg)) return -1;
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    s->model_count = 1;
    kiln_frame_decoder_init(&s->rx);
    clear_model_state(s, 1);
    return 0;
}

int kiln_rpc_init_models(kiln_rpc_server_t *s, const kiln_rpc_config_t *cfgs, uint32_t count)
{
    uint32_t i;
    if (s == NULL || cfgs == NULL || count == 0u || count > 255u) return -1;
    for (i = 0; i < count; ++i) {
        if (!config_ok(&cfgs[i])) return -1;
    }
    if (kiln_rpc_init(s, &cfgs[0]) != 0) return -1;
    s->models = cfgs;
    s->model_count = (uint16_t)count;
    return 0;
}

void kiln_rpc_announce(kiln_rpc_server_t *s)
{
    static const uint8_t zeros[32] = {0};
    uint8_t payload[2u + 32u];
    const uint8_t *sha = s->cfg.model->model_sha256 != NULL ? s->cfg.model->model_sha256 : zeros;
    payload[0] = (uint8_t)(KILN_RPC_PROTOCOL_VERSION & 0xFFu);
    payload[1] = (uint8_t)(KILN_RPC_PROTOCOL_VERSION >> 8);
    memcpy(payload + 2, sha, 32u);
    send_frame(0u, (uint8_t)KILN_TYPE_BOOT, payload, (uint16_t)sizeof payload);
}

/* ---- commands: each reads s->rx's payload (length already known) and builds s->tx ---- */

static int session_ok(kiln_rpc_server_t *s, const uint8_t *p)
{
    const uint32_t token = rd32(p);
    if (s->session == 0u || token != s->session) {
        fail(s, KILN_ST_NO_SESSION, s->session == 0u ? 0u : 1u);
        return 0;
    }
    return 1;
}

static void cmd_info(kiln_rpc_server_t *s, const uint8_t *p, uint16_t n)
{
    static const uint8_t zeros[32] = {0};
    const kiln_model_t *m = s->cfg.model;
    uint32_t i;
    if (n != 0u && n != TOKEN_BYTES) {
        fail(s, KILN_ST_BAD_LENGTH, TOKEN_BYTES);
        return;
    }
    if (n == TOKEN_BYTES) {
        const uint32_t token = rd32(p);
        if (token == 0u) {
            fail(s, KILN_ST_BAD_ARGUMENT, 0u);
            return;
        }
        s->session = token;
        clear_model_state(s, 0);
    }
    begin(s, KILN_ST_OK);
    put16(s, (uint16_t)KILN_RPC_PROTOCOL_VERSION);
    put16(s, (uint16_t)KILN_FRAME_MAX_PAYLOAD);
    put8(s, (uint8_t)((profiling_available(s) ? KILN_INFO_PROFILING : 0u) |
                      (m->run_ops != NULL ? KILN_INFO_TAPS : 0u) | (m->reset != NULL ? KILN_INFO_STATEFUL : 0u)));
    put8(s, (uint8_t)m->input_count);
    put8(s, (uint8_t)m->output_count);
    put8(s, (uint8_t)s->model_count); /* 0 from firmware older than SELECT_MODEL: one */
    put_bytes(s, m->model_sha256 != NULL ? m->model_sha256 : zeros, 32u);
    put32(s, m->arena_bytes);
    put32(s, m->op_count);
    put32(s, kiln_timer_hz());
    put32(s, s->run_count);
    put32(s, s->session);
    for (i = 0; i < m->input_count; ++i) put32(s, m->inputs[i].bytes);
    for (i = 0; i < m->output_count; ++i) put32(s, m->outputs[i].bytes);
    put_name(s, m->name, KILN_RPC_MAX_NAME);
}

static void cmd_tensor_info(kiln_rpc_server_t *s, const uint8_t *p, uint16_t n)
{
    const kiln_model_t *m = s->cfg.model;
    const kiln_tensor_info_t *t;
    uint32_t count, index, bits;
    uint8_t kind;
    int d;
    if (n != 3u) {
        fail(s, KILN_ST_BAD_LENGTH, 3u);
        return;
    }
    kind = p[0];
    index = rd16(p + 1);
    if (kind > 1u) {
        fail(s, KILN_ST_BAD_ARGUMENT, kind);
        return;
    }
    count = kind == 0u ? m->input_count : m->output_count;
    if (index >= count) {
        fail(s, KILN_ST_BAD_INDEX, count);
        return;
    }
    t = kind == 0u ? &m->inputs[index] : &m->outputs[index];
    begin(s, KILN_ST_OK);
    put8(s, t->dtype);
    put8(s, t->rank);
    for (d = 0; d < KILN_MAX_DIMS; ++d) put32(s, (uint32_t)t->dims[d]);
    put32(s, t->bytes);
    memcpy(&bits, &t->scale, sizeof bits);
    put32(s, bits);
    put32(s, (uint32_t)t->zero_point);
    put_name(s, t->name, KILN_RPC_MAX_TENSOR_NAME);
}

static void cmd_set_input(kiln_rpc_server_t *s, const uint8_t *p, uint16_t n)
{
    const kiln_model_t *m = s->cfg.model;
    uint32_t index, offset, count, size;
    if (n <= SET_INPUT_HEADER) {
        fail(s, KILN_ST_BAD_LENGTH, SET_INPUT_HEADER + 1u);
        return;
    }
    if (!session_ok(s, p)) return;
    index = rd16(p + 4);
    offset = rd32(p + 6);
    count = (uint32_t)n - SET_INPUT_HEADER;
    if (index >= m->input_count) {
        fail(s, KILN_ST_BAD_INDEX, m->input_count);
        return;
    }
    size = m->inputs[index].bytes;
    if (offset > size || count > size - offset) {
        fail(s, KILN_ST_BAD_RANGE, size);
        return;
    }
    memcpy((uint8_t *)s->cfg.inputs[index] + offset, p + SET_INPUT_HEADER, count);
    s->outputs_valid = 0;
    s->timings_valid = 0;
    begin(s, KILN_ST_OK);
}

static void cmd_run(kiln_rpc_server_t *s, const uint8_t *p, uint16_t n)
{
    const kiln_model_t *m = s->cfg.model;
    uint32_t ticks = 0, i;
    uint8_t flags, result = 0;
    int rc, overflow, profile;
    if (n != RUN_BYTES) {
        fail(s, KILN_ST_BAD_LENGTH, RUN_BYTES);
        return;
    }
    if (!session_ok(s, p)) return;
    flags = p[4];
    if ((flags & (uint8_t)~KILN_RUN_PROFILE) != 0u) {
        fail(s, KILN_ST_BAD_ARGUMENT, flags);
        return;
    }
    profile = (flags & KILN_RUN_PROFILE) != 0u;
    if (profile && !profiling_available(s)) {
        fail(s, KILN_ST_NOT_SUPPORTED, 0u);
        return;
    }
    if (profile) memset(s->cfg.op_ticks, 0, (size_t)m->op_count * sizeof(uint32_t));
    s->outputs_valid = 0;
    s->timings_valid = 0;
    kiln_timer_start();
    rc = m->run((const void *const *)s->cfg.inputs, s->cfg.outputs, s->cfg.arena, s->cfg.arena_bytes,
                profile ? s->cfg.op_ticks : NULL);
    overflow = kiln_timer_stop(&ticks) != 0;
    if (rc != KILN_OK) {
        fail(s, KILN_ST_MODEL_ERROR, (uint32_t)rc);
        return;
    }
    s->run_count++;
    s->outputs_valid = 1;
    if (overflow) {
        ticks = 0;
        result |= KILN_RUN_RESULT_TIMER_OVERFLOW;
    }
    if (profile) result |= KILN_RUN_RESULT_PROFILED;
    s->timings_valid = (uint8_t)(profile && !overflow);
    s->last_ticks = ticks;
    begin(s, KILN_ST_OK);
    put32(s, s->run_count);
    put32(s, ticks);
    put8(s, result);
    /* end-to-end checks: the host compares these with what it sent and what it reads back */
    for (i = 0; i < m->input_count; ++i) put32(s, kiln_crc32(0u, (const uint8_t *)s->cfg.inputs[i], m->inputs[i].bytes));
    for (i = 0; i < m->output_count; ++i) put32(s, kiln_crc32(0u, (const uint8_t *)s->cfg.outputs[i], m->outputs[i].bytes));
    if (s->timings_valid) {
        uint32_t crc = 0;
        for (i = 0; i < m->op_count; ++i) {
            uint8_t le[4];
            le[0] = (uint8_t)(s->cfg.op_ticks[i] & 0xFFu);
            le[1] = (uint8_t)((s->cfg.op_ticks[i] >> 8) & 0xFFu);
            le[2] = (uint8_t)((s->cfg.op_ticks[i] >> 16) & 0xFFu);
            le[3] = (uint8_t)(s->cfg.op_ticks[i] >> 24);
            crc = kiln_crc32(crc, le, sizeof le);
        }
        put32(s, crc);
    }
}

static void cmd_get_output(kiln_rpc_server_t *s, const uint8_t *p, uint16_t n)
{
    const kiln_model_t *m = s->cfg.model;
    uint32_t index, offset, length, size;
    if (n != GET_BYTES) {
        fail(s, KILN_ST_BAD_LENGTH, GET_BYTES);
        return;
    }
    if (!session_ok(s, p)) return;
    index = rd16(p + 4);
    offset = rd32(p + 6);
    length = rd16(p + 10);
    if (index >= m->output_count) {
        fail(s, KILN_ST_BAD_INDEX, m->output_count);
        return;
    }
    if (length == 0u || length > MAX_DATA) {
        fail(s, KILN_ST_BAD_RANGE, MAX_DATA);
        return;
    }
    size = m->outputs[index].bytes;
    if (offset > size || length > size - offset) {
        fail(s, KILN_ST_BAD_RANGE, size);
        return;
    }
    if (!s->outputs_valid) {
        fail(s, KILN_ST_NOT_READY, 0u);
        return;
    }
    begin(s, KILN_ST_OK);
    put_bytes(s, (const uint8_t *)s->cfg.outputs[index] + offset, length);
}

static void cmd_get_timings(kiln_rpc_server_t *s, const uint8_t *p, uint16_t n)
{
    const kiln_model_t *m = s->cfg.model;
    uint32_t first, count, i;
    if (n != GET_TIMINGS_BYTES) {
        fail(s, KILN_ST_BAD_LENGTH, GET_TIMINGS_BYTES);
        return;
    }
    if (!session_ok(s, p)) return;
    first = rd32(p + 4);
    count = rd16(p + 8);
    if (!profiling_available(s)) {
        fail(s, KILN_ST_NOT_SUPPORTED, 0u);
        return;
    }
    if (count == 0u || count > MAX_DATA / 4u) {
        fail(s, KILN_ST_BAD_RANGE, MAX_DATA / 4u);
        return;
    }
    if (first > m->op_count || count > m->op_count - first) {
        fail(s, KILN_ST_BAD_RANGE, m->op_count);
        return;
    }
    if (!s->timings_valid) {
        fail(s, KILN_ST_NOT_READY, 0u);
        return;
    }
    begin(s, KILN_ST_OK);
    for (i = 0; i < count; ++i) put32(s, s->cfg.op_ticks[first + i]);
}

/* An operator's output as memory holds it now (after STEP ran that operator, before later ones
 * overwrite it): tap builds only. */
static void cmd_get_tensor(kiln_rpc_server_t *s, const uint8_t *p, uint16_t n)
{
    const kiln_model_t *m = s->cfg.model;
    const kiln_tap_t *tap;
    const uint8_t *base;
    uint32_t index, offset, length;
    if (n != GET_BYTES) {
        fail(s, KILN_ST_BAD_LENGTH, GET_BYTES);
        return;
    }
    if (!session_ok(s, p)) return;
    index = rd16(p + 4);
    offset = rd32(p + 6);
    length = rd16(p + 10);
    if (m->run_ops == NULL || m->taps == NULL) {
        fail(s, KILN_ST_NOT_SUPPORTED, 0u);
        return;
    }
    if (index >= m->tap_count) {
        fail(s, KILN_ST_BAD_INDEX, m->tap_count);
        return;
    }
    if (length == 0u || length > MAX_DATA) {
        fail(s, KILN_ST_BAD_RANGE, MAX_DATA);
        return;
    }
    tap = &m->taps[index];
    if (offset > tap->bytes || length > tap->bytes - offset) {
        fail(s, KILN_ST_BAD_RANGE, tap->bytes);
        return;
    }
    /* the tables come from the same compile as the model; checked anyway, memory is not the host's to roam */
    if (tap->region == 0u ? (tap->offset > s->cfg.arena_bytes || tap->bytes > s->cfg.arena_bytes - tap->offset)
                          : (m->state == NULL || tap->offset > m->state_bytes || tap->bytes > m->state_bytes - tap->offset)) {
        fail(s, KILN_ST_BAD_RANGE, 0u);
        return;
    }
    base = tap->region == 0u ? (const uint8_t *)s->cfg.arena : m->state;
    begin(s, KILN_ST_OK);
    put_bytes(s, base + tap->offset + offset, length);
}

/* Operators first..last alone (tap builds): kiln diff steps through a model one operator at a time. */
static void cmd_step(kiln_rpc_server_t *s, const uint8_t *p, uint16_t n)
{
    const kiln_model_t *m = s->cfg.model;
    uint32_t first, last;
    int rc;
    if (n != STEP_BYTES) {
        fail(s, KILN_ST_BAD_LENGTH, STEP_BYTES);
        return;
    }
    if (!session_ok(s, p)) return;
    first = rd32(p + 4);
    last = rd32(p + 8);
    if (m->run_ops == NULL) {
        fail(s, KILN_ST_NOT_SUPPORTED, 0u);
        return;
    }
    if (first > last || last >= m->op_count) {
        fail(s, KILN_ST_BAD_RANGE, m->op_count);
        return;
    }
    s->outputs_valid = 0;
    s->timings_valid = 0;
    rc = m->run_ops((const void *const *)s->cfg.inputs, s->cfg.outputs, s->cfg.arena, s->cfg.arena_bytes, first, last);
    if (rc != KILN_OK) {
        fail(s, KILN_ST_MODEL_ERROR, (uint32_t)rc);
        return;
    }
    if (last + 1u == m->op_count) {
        s->run_count++;
        s->outputs_valid = 1;
    }
    begin(s, KILN_ST_OK);
}

static void cmd_reset(kiln_rpc_server_t *s, uint16_t n)
{
    if (n != 0u) {
        fail(s, KILN_ST_BAD_LENGTH, 0u);
        return;
    }
    s->session = 0;
    clear_model_state(s, 1);
    begin(s, KILN_ST_OK);
}

static void cmd_reset_state(kiln_rpc_server_t *s, const uint8_t *p, uint16_t n)
{
    if (n != TOKEN_BYTES) {
        fail(s, KILN_ST_BAD_LENGTH, TOKEN_BYTES);
        return;
    }
    if (!session_ok(s, p)) return;
    if (s->cfg.model->reset != NULL) s->cfg.model->reset();
    s->outputs_valid = 0;
    s->timings_valid = 0;
    begin(s, KILN_ST_OK);
}

static void cmd_select_model(kiln_rpc_server_t *s, const uint8_t *p, uint16_t n)
{
    uint32_t index;
    if (n != 2u) {
        fail(s, KILN_ST_BAD_LENGTH, 2u);
        return;
    }
    index = rd16(p);
    if (index >= s->model_count) {
        fail(s, KILN_ST_BAD_INDEX, s->model_count);
        return;
    }
    if (s->models != NULL) s->cfg = s->models[index];
    s->selected = (uint16_t)index;
    s->session = 0;
    clear_model_state(s, 1);
    begin(s, KILN_ST_OK);
}

static void cmd_timer_cost(kiln_rpc_server_t *s, uint16_t n)
{
    uint32_t least = 0xFFFFFFFFu, k;
    if (n != 0u) {
        fail(s, KILN_ST_BAD_LENGTH, 0u);
        return;
    }
    for (k = 0; k < 8u; ++k) {
        const uint32_t t0 = kiln_timer_read();
        const uint32_t t1 = kiln_timer_read();
        if (t1 - t0 < least) least = t1 - t0;
    }
    begin(s, KILN_ST_OK);
    put32(s, least);
}

static void dispatch(kiln_rpc_server_t *s, uint8_t type, const uint8_t *p, uint16_t n)
{
    switch (type) {
    case KILN_CMD_INFO: cmd_info(s, p, n); break;
    case KILN_CMD_TENSOR_INFO: cmd_tensor_info(s, p, n); break;
    case KILN_CMD_SET_INPUT: cmd_set_input(s, p, n); break;
    case KILN_CMD_RUN: cmd_run(s, p, n); break;
    case KILN_CMD_GET_OUTPUT: cmd_get_output(s, p, n); break;
    case KILN_CMD_GET_TIMINGS: cmd_get_timings(s, p, n); break;
    case KILN_CMD_GET_TENSOR: cmd_get_tensor(s, p, n); break;
    case KILN_CMD_RESET: cmd_reset(s, n); break;
    case KILN_CMD_RESET_STATE: cmd_reset_state(s, p, n); break;
    case KILN_CMD_SELECT_MODEL: cmd_select_model(s, p, n); break;
    case KILN_CMD_TIMER_COST: cmd_timer_cost(s, n); break;
    case KILN_CMD_STEP: cmd_step(s, p, n); break;
    default: fail(s, KILN_ST_UNKNOWN_COMMAND, type); break;
    }
}

static void handle_frame(kiln_rpc_server_t *s)
{
    const uint8_t seq = kiln_frame_seq(&s->rx), type = kiln_frame_type(&s->rx);
    const uint16_t length = kiln_frame_length(&s->rx), crc = kiln_frame_crc(&s->rx);
    if (s->have_last && seq == s->last_seq && type == s->last_type && length == s->last_length &&
        crc == s->last_crc) {
        /* the host resent a request whose answer it did not get: answer again, do nothing again */
        send_frame(s->tx_seq, s->tx_type, s->tx, s->tx_length);
        return;
    }
    if (type == KILN_CMD_RUN || type == KILN_CMD_STEP) {
        /* an inference may take long: tell the host its request arrived, so it waits, not resends */
        send_frame(seq, (uint8_t)KILN_TYPE_ACCEPTED, NULL, 0u);
    }
    dispatch(s, type, kiln_frame_payload(&s->rx), length);
    s->tx_seq = seq;
    s->tx_type = (uint8_t)(type | KILN_TYPE_RESPONSE);
    s->have_last = 1;
    s->last_seq = seq;
    s->last_type = type;
    s->last_length = length;
    s->last_crc = crc;
    send_frame(s->tx_seq, s->tx_type, s->tx, s->tx_length);
}

static void send_nak(kiln_rpc_server_t *s, int reason)
{
    uint8_t nak[2];
    nak[0] = KILN_ST_BAD_FRAME;
    nak[1] = (uint8_t)reason;
    send_frame(kiln_frame_seq(&s->rx), (uint8_t)KILN_TYPE_NAK, nak, (uint16_t)sizeof nak);
}

int kiln_rpc_feed(kiln_rpc_server_t *s, uint8_t byte)
{
    const int event = kiln_frame_feed(&s->rx, byte);
    switch (event) {
    case KILN_FRAME_NONE: return 0;
    case KILN_FRAME_READY:
        if ((kiln_frame_type(&s->rx) & KILN_TYPE_RESPONSE) != 0u) {
            /* a device-to-host frame coming back (an echoing line?): answering it could loop */
            s->frames_bad++;
            return 0;
        }
        s->frames_ok++;
        handle_frame(s);
        return 1;
    case KILN_FRAME_ERR_TRUNCATED:
        /* a new frame started: most likely the host resending after losing bytes; it needs no NAK */
        s->frames_bad++;
        return 0;
    default:
        s->frames_bad++;
        send_nak(s, event);
        return 1;
    }
}

int kiln_rpc_poll(kiln_rpc_server_t *s, uint32_t timeout_ms)
{
    uint32_t wait = timeout_ms;
    for (;;) {
        const int b = kiln_platform_read_byte(wait);
        if (b == KILN_PLATFORM_CLOSED) return -1;
        if (b < 0 || b > 255) {
            if (wait > 0u && kiln_frame_busy(&s->rx)) {
                /* silence in the middle of a frame: its missing bytes are not coming */
                s->frames_bad++;
                send_nak(s, KILN_FRAME_ERR_TRUNCATED);
                kiln_frame_decoder_init(&s->rx);
                return 1;
            }
            return 0;
        }
        if (kiln_rpc_feed(s, (uint8_t)b)) return 1;
        wait = 0; /* after the first byte, take only what is already there */
    }
}

void kiln_rpc_serve(kiln_rpc_server_t *s)
{
    while (kiln_rpc_poll(s, KILN_RPC_FRAME_GAP_MS) >= 0) {
    }
}
