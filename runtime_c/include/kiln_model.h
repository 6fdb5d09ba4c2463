/* The descriptor every generated model exports: what a runner or an RPC server needs to drive
 * a model without knowing it at compile time. */
#ifndef KILN_MODEL_H
#define KILN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#define KILN_MAX_DIMS 6

/* Tensor taps (kiln diff): a profiling build can also run a model a few operators at a time and
 * read every operator's outputs between steps. Normal builds have none of it (KILN_NO_TAPS turns
 * it off in a profiling build too). */
#if defined(KILN_PROFILE) && !defined(KILN_NO_TAPS) && !defined(KILN_TAPS)
#define KILN_TAPS 1
#endif

typedef enum {
    KILN_FLOAT32 = 0,
    KILN_INT8 = 1,
    KILN_INT16 = 2,
    KILN_INT32 = 3,
    KILN_UINT8 = 4,
    KILN_BOOL = 5, /* one byte, 0 or 1 */
    KILN_INT64 = 6,
    KILN_UINT32 = 7,
    KILN_UINT64 = 8
} kiln_dtype_t;

enum {
    KILN_OK = 0,
    KILN_ERR_ARENA_TOO_SMALL = -1,
    KILN_ERR_ARENA_MISALIGNED = -2,
    KILN_ERR_STATE_TOO_SMALL = -3,
    KILN_ERR_STATE_MISALIGNED = -4
};

typedef struct {
    const char *name;
    uint8_t dtype; /* kiln_dtype_t */
    uint8_t rank;
    int32_t dims[KILN_MAX_DIMS];
    uint32_t bytes;
    float scale; /* 0 when not quantized */
    int32_t zero_point;
} kiln_tensor_info_t;

/* Where one operator output lives while the model runs: the compiler's tap list (in the source
 * map too, in the same order) names its tensor, type and shape. */
typedef struct {
    uint32_t op;     /* the operator that writes it */
    uint32_t region; /* 0: the arena, 1: the state area (a variable tensor) */
    uint32_t offset; /* bytes from the region's start */
    uint32_t bytes;
} kiln_tap_t;

typedef struct {
    const char *name;
    const uint8_t *model_sha256; /* 32 bytes: hash of the .tflite it was compiled from */
    uint32_t arena_bytes;
    uint32_t op_count;
    uint32_t input_count;
    uint32_t output_count;
    const kiln_tensor_info_t *inputs;
    const kiln_tensor_info_t *outputs;
    const char *const *op_names;
    /* Runs one inference. op_ticks (op_count entries) receives per-operator timer ticks when
     * built with KILN_PROFILE, and may be NULL. The arena must be 8-byte aligned. */
    int (*run)(const void *const *inputs, void *const *outputs, void *arena, size_t arena_bytes,
               uint32_t *op_ticks);
    /* Models that keep state between invocations (resource variables, CALL_ONCE): its size, the
     * function putting the state run() uses back to its start (run() starts from there), and that
     * state itself, which a runner may save and restore to repeat an invocation (timing it).
     * 0, NULL and NULL for a model without state. */
    uint32_t state_bytes;
    void (*reset)(void);
    uint8_t *state;
    /* Tap builds (KILN_TAPS): run_ops runs operators first..last only, on the arena and state as
     * the earlier ones left them (inputs copied in when first is 0, outputs out when last is the
     * final operator), so that taps[] can be read between steps. NULL, 0 and NULL otherwise. */
    int (*run_ops)(const void *const *inputs, void *const *outputs, void *arena, size_t arena_bytes,
                   uint32_t first, uint32_t last);
    uint32_t tap_count;
    const kiln_tap_t *taps;
} kiln_model_t;

#endif
