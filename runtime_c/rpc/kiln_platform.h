/* Platform hooks: what a board provides so that the RPC server (kiln_rpc.c) can run on it.
 *
 * The RPC server calls nothing else outside the C standard library's <string.h>; it never
 * allocates. Every hook below must be defined once by the board (board_support/<board>/). None is
 * called from an interrupt by the server, and none is called re-entrantly.
 *
 * Byte transport: a reliable-in-order-but-maybe-lossy byte stream (a UART, a USB CDC port, a
 * TCP socket, a pipe). The framing layer copes with lost, flipped and duplicated bytes; the
 * transport does not need to. */
#ifndef KILN_PLATFORM_H
#define KILN_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

/* Result of kiln_platform_read_byte() when no byte arrived in time. */
#define KILN_PLATFORM_TIMEOUT (-1)
/* Result of kiln_platform_read_byte() when the transport is gone for good (the host closed the
 * pipe or socket). A UART never reports this. kiln_rpc_serve() returns when it sees it. */
#define KILN_PLATFORM_CLOSED (-2)

/* Writes n bytes to the transport, blocking until every byte has been handed to it (a UART's
 * data register or FIFO, the kernel for a pipe). Called with frames of at most a few hundred
 * bytes at a time; n may be 0. A board whose transport can fail for good may call
 * kiln_platform_abort() or simply drop the bytes: the host will time out. */
void kiln_platform_write(const uint8_t *data, size_t n);

/* Returns the next received byte (0..255). timeout_ms == 0 is a non-blocking poll: return a
 * byte already received, or KILN_PLATFORM_TIMEOUT at once. Otherwise wait up to about
 * timeout_ms milliseconds (waiting longer is harmless; the server only uses the timeout to come
 * back to its caller) and return KILN_PLATFORM_TIMEOUT if nothing came. Return
 * KILN_PLATFORM_CLOSED only when no byte can ever arrive again. A board without a clock may treat
 * every non-zero timeout as "wait for a byte". */
int kiln_platform_read_byte(uint32_t timeout_ms);

/* A free-running tick counter, wrapping at 2^32; the same hook the generated code calls for
 * per-operator timings when built with KILN_PROFILE. Differences of two reads are ticks. */
uint32_t kiln_timer_read(void);

/* Ticks per second of kiln_timer_read(), reported to the host by INFO; 0 when unknown. */
uint32_t kiln_timer_hz(void);

/* Called right before an inference: the board may (re)start its counter and clear its overflow
 * tracking. */
void kiln_timer_start(void);

/* Called right after the inference started by kiln_timer_start(). Stores the elapsed ticks in
 * *elapsed and returns 0, or returns non-zero when the elapsed time did not fit in 32 bits (the
 * counter wrapped, or the board cannot tell): then no figure of this inference is trusted, since
 * a timer overflow is an error, not a wrong number. */
int kiln_timer_stop(uint32_t *elapsed);

/* Called when continuing is impossible (a broken build: e.g. buffers smaller than the model
 * needs). Reports `why` wherever the board can, then stops or resets the device. Never returns. */
void kiln_platform_abort(const char *why);

/* A line of diagnostics (no trailing newline) for a developer: a second UART, semihosting, stderr
 * on the host. It must NOT go to the RPC transport. May do nothing. */
void kiln_platform_log(const char *line);

#endif
