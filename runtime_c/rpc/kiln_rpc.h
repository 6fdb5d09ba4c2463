/* The Kiln device RPC server: runs one compiled model on request from a host, over any byte
 * stream (docs/protocol.md has the wire format; server/kiln/device/session.py is the host side).
 *
 * Requests and answers are frames (kiln_frame.h). A request's type is a command below; the answer
 * has the same sequence number, type = command | 0x80, and a payload that starts with a status
 * byte. Multi-byte fields are little-endian. Every length, index and offset in a request is
 * checked before anything is read or written; a frame that fails its CRC or is malformed is
 * dropped and answered with a NAK frame, never acted on.
 *
 * The server allocates nothing: its state (a kiln_rpc_server_t, about 600 bytes with the default
 * 256-byte payload limit) lives wherever the caller puts it, normally a static variable, and the
 * model's arena, input, output and tick buffers are the caller's (kiln_rpc_config_t).
 *
 * Typical firmware:
 *
 *     static kiln_rpc_server_t rpc;
 *     ... fill a kiln_rpc_config_t with the model descriptor and static buffers ...
 *     if (kiln_rpc_init(&rpc, &cfg) != 0) kiln_platform_abort("buffers do not fit the model");
 *     kiln_rpc_announce(&rpc);        (tells a connected host that the device has (re)started)
 *     kiln_rpc_serve(&rpc);           (or call kiln_rpc_poll() from your own main loop)
 *
 * A firmware with several models serves them all with kiln_rpc_init_models() (one config per
 * model, in an array that outlives the server): the host picks one by SELECT_MODEL, and
 * `kiln profile MODEL --port ...` finds the one built from MODEL by its SHA-256.
 *
 * Build kiln_rpc.c with the same -DKILN_PROFILE as the model: INFO then reports that per-operator
 * timings are available. */
#ifndef KILN_RPC_H
#define KILN_RPC_H

#include <stddef.h>
#include <stdint.h>

#include "kiln_frame.h"
#include "kiln_model.h"

#define KILN_RPC_PROTOCOL_VERSION 1u

/* INFO lists every input's and output's size, so their number is bounded. */
#define KILN_RPC_MAX_TENSORS 16u
/* A frame that stops arriving halfway for this long is dropped and NAKed (see kiln_rpc_poll). */
#ifndef KILN_RPC_FRAME_GAP_MS
#define KILN_RPC_FRAME_GAP_MS 50u
#endif

/* Bytes of a tensor or model name that INFO / TENSOR_INFO carry (longer names are cut). */
#define KILN_RPC_MAX_NAME 32u
#define KILN_RPC_MAX_TENSOR_NAME 64u

/* Commands (a request frame's type). */
enum {
    KILN_CMD_INFO = 0x01,        /* [token u32] -> device and model description; a non-zero
                                    token opens a session (and clears inputs, outputs, timings) */
    KILN_CMD_TENSOR_INFO = 0x02, /* kind u8 (0 input, 1 output), index u16 -> dtype, shape, ... */
    KILN_CMD_SET_INPUT = 0x03,   /* token u32, index u16, offset u32, bytes[1..] -> (nothing) */
    KILN_CMD_RUN = 0x04,         /* token u32, flags u8 (bit 0: profile) -> run count, ticks, CRCs */
    KILN_CMD_GET_OUTPUT = 0x05,  /* token u32, index u16, offset u32, length u16 -> bytes */
    KILN_CMD_GET_TIMINGS = 0x06, /* token u32, first op u32, count u16 -> count x u32 ticks */
    KILN_CMD_GET_TENSOR = 0x07,  /* token u32, tap u16, offset u32, length u16 -> bytes of an
                                  * operator's output (tap builds; the model's taps[] order) */
    KILN_CMD_RESET = 0x08,       /* (nothing) -> (nothing); closes the session, clears state */
    KILN_CMD_RESET_STATE = 0x09, /* token u32 -> (nothing); the model's state back to its start
                                  * (a stateful model's sequence starts anew; opening a session
                                  * does this too) */
    KILN_CMD_SELECT_MODEL = 0x0A, /* index u16 -> (nothing); the model later commands act on
                                   * (kiln_rpc_init_models); closes the session */
    KILN_CMD_TIMER_COST = 0x0B,   /* (nothing) -> ticks u32 of an empty measured window: two
                                   * back-to-back kiln_timer_read(), the least of 8 tries (what
                                   * every per-operator figure includes besides the operator) */
    KILN_CMD_STEP = 0x0C          /* token u32, first op u32, last op u32 -> (nothing); runs those
                                   * operators only, on the arena as earlier steps left it (tap
                                   * builds): step 0..k, read op k's taps, step k+1.. */
};

/* Frame types the device sends that answer no request. */
#define KILN_TYPE_RESPONSE 0x80u /* ORed into the command of the request answered */
#define KILN_TYPE_ACCEPTED 0xFDu /* RUN received, inference starting; same seq, no payload */
#define KILN_TYPE_NAK 0xFEu      /* payload: status KILN_ST_BAD_FRAME, reason (kiln_frame_event_t) */
#define KILN_TYPE_BOOT 0xFFu     /* payload: protocol version u16, model sha256[32]; seq 0 */

/* Status codes: the first byte of every answer's payload. An error status may be followed by a
 * u32 detail (the limit that was exceeded, or the model's error code). */
enum {
    KILN_ST_OK = 0,
    KILN_ST_BAD_FRAME = 1,       /* in NAK frames only: a frame failed its CRC or was malformed */
    KILN_ST_UNKNOWN_COMMAND = 2,
    KILN_ST_BAD_LENGTH = 3,      /* the payload's length is wrong for the command */
    KILN_ST_BAD_INDEX = 4,       /* no such input, output, operator or tensor kind (detail: count) */
    KILN_ST_BAD_RANGE = 5,       /* offset/length outside the tensor or frame (detail: the limit) */
    KILN_ST_NO_SESSION = 6,      /* token does not match: the device restarted, or was reset */
    KILN_ST_NOT_READY = 7,       /* no outputs (or timings) since the last input or reset */
    KILN_ST_NOT_SUPPORTED = 8,   /* profiling or tensor taps not built in */
    KILN_ST_MODEL_ERROR = 9,     /* the model's run() failed (detail: its error code) */
    KILN_ST_BAD_ARGUMENT = 10    /* a field has a value it may not have (token 0, unknown flag) */
};

/* RUN flags (request) and result flags (answer). */
#define KILN_RUN_PROFILE 0x01u
#define KILN_RUN_RESULT_PROFILED 0x01u
#define KILN_RUN_RESULT_TIMER_OVERFLOW 0x02u

/* INFO flags. */
#define KILN_INFO_PROFILING 0x01u /* built with KILN_PROFILE and given a tick buffer */
#define KILN_INFO_TAPS 0x02u      /* STEP and GET_TENSOR: built with tensor taps (KILN_TAPS) */
#define KILN_INFO_STATEFUL 0x04u  /* the model keeps state between runs (resource variables) */

typedef struct {
    const kiln_model_t *model;
    void *arena;        /* 8-byte aligned, at least model->arena_bytes */
    size_t arena_bytes;
    void *const *inputs;  /* input_count buffers, each at least model->inputs[i].bytes */
    void *const *outputs; /* output_count buffers, each at least model->outputs[i].bytes */
    uint32_t *op_ticks;   /* op_count entries, or NULL: no profiled runs */
} kiln_rpc_config_t;

typedef struct {
    kiln_rpc_config_t cfg; /* the selected model's */
    const kiln_rpc_config_t *models; /* kiln_rpc_init_models' array, or NULL: one model, cfg */
    uint16_t model_count;
    uint16_t selected;
    kiln_frame_decoder_t rx;
    /* the last answer, kept so that a repeated request (same seq, type, length and CRC: the host
     * resending because the answer was lost) is answered again without running anything twice */
    uint8_t tx[KILN_FRAME_MAX_PAYLOAD];
    uint16_t tx_length;
    uint8_t tx_type;
    uint8_t tx_seq;
    uint8_t have_last;
    uint8_t last_seq;
    uint8_t last_type;
    uint16_t last_length;
    uint16_t last_crc;
    /* session and model state */
    uint32_t session;     /* 0: no session open */
    uint32_t run_count;   /* successful inferences since boot */
    uint32_t last_ticks;
    uint8_t outputs_valid;
    uint8_t timings_valid;
    /* link statistics */
    uint32_t frames_ok;
    uint32_t frames_bad;
} kiln_rpc_server_t;

/* Checks the configuration (non-NULL buffers, arena size and alignment, tensor count) and
 * prepares the server. Returns 0, or -1 when the configuration cannot work. */
int kiln_rpc_init(kiln_rpc_server_t *s, const kiln_rpc_config_t *cfg);

/* The same for several models (1..255), the first selected. cfgs is kept, not copied: it must
 * outlive the server (a static array). Returns 0, or -1 when any configuration cannot work. */
int kiln_rpc_init_models(kiln_rpc_server_t *s, const kiln_rpc_config_t *cfgs, uint32_t count);

/* Sends a BOOT frame: a host with a session open learns that the device restarted. */
void kiln_rpc_announce(kiln_rpc_server_t *s);

/* Feeds one received byte; when it completes a frame, answers it. Returns 1 when a frame was
 * answered (a NAK included), else 0. */
int kiln_rpc_feed(kiln_rpc_server_t *s, uint8_t byte);

/* Waits up to timeout_ms for a byte (0: only takes what is already there), then handles bytes
 * until one frame has been answered or none is waiting. Returns 1 when a frame was answered, 0
 * when not, -1 when the transport is closed. When the wait times out with a frame half received
 * (bytes were lost), that frame is dropped and NAKed, so the host resends at once: call it with a
 * timeout of KILN_RPC_FRAME_GAP_MS (as kiln_rpc_serve does) to get that behaviour. */
int kiln_rpc_poll(kiln_rpc_server_t *s, uint32_t timeout_ms);

/* Serves requests until the transport is closed (never, on a UART). */
void kiln_rpc_serve(kiln_rpc_server_t *s);

#endif
