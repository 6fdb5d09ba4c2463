/* Host "firmware": serves the Kiln device RPC protocol (docs/protocol.md) for one compiled model,
 * as a native process. kiln.device.hostdevice builds it and attaches it to a pseudo-terminal, so
 * that the host session talks to it exactly as to a board's serial port.
 *
 * Build (like runner.c): every .c file of the generated folder and of runtime_c/rpc/, plus this file, with
 * -DKILN_MODEL=<name>_model -DKILN_PROFILE -I <generated folder> -I runtime_c/rpc.
 *
 * Transport: stdin (bytes in) and stdout (bytes out), or with --tcp PORT a TCP connection
 * accepted on 127.0.0.1:PORT (PORT 0: any free port; the port is printed on stdout as
 * "PORT <n>"). The process exits with status 0 when the transport closes (end of
 * input, a hung-up pty, a failed write).
 * Diagnostics go to stderr, never to the transport.
 *
 * Options for tests:
 *   --slow-run MS        each inference takes MS milliseconds longer (a slow model)
 *   --timer-limit NS     report a timer overflow when an inference takes more than NS ns
 *                        (default: 2^32 - 1, what a 32-bit tick count holds)
 *   --no-announce        do not send the BOOT frame at start
 *
 * The timer counts nanoseconds (CLOCK_MONOTONIC). Buffers are allocated once at their exact sizes,
 * so that AddressSanitizer catches any overrun by the server; a real firmware uses static
 * buffers (the server itself never allocates). */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kiln_model.h"
#include "kiln_platform.h"
#include "kiln_rpc.h"

extern const kiln_model_t KILN_MODEL;

static int in_fd = 0;
static int out_fd = 1;
static long slow_run_ms = 0;
static uint64_t timer_limit = 0xFFFFFFFFu;
static uint64_t timer_started;

/* ---- platform hooks ---- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint32_t kiln_timer_read(void)
{
    return (uint32_t)(now_ns() & 0xFFFFFFFFu);
}

uint32_t kiln_timer_hz(void)
{
    return 1000000000u;
}

void kiln_timer_start(void)
{
    timer_started = now_ns();
}

int kiln_timer_stop(uint32_t *elapsed)
{
    const uint64_t d = now_ns() - timer_started;
    if (d > timer_limit) return 1;
    *elapsed = (uint32_t)d;
    return 0;
}

void kiln_platform_abort(const char *why)
{
    fprintf(stderr, "kiln-device: abort: %s\n", why);
    abort();
}

void kiln_platform_log(const char *line)
{
    fprintf(stderr, "kiln-device: %s\n", line);
}

static int link_closed = 0; /* a write failed for good: the next read reports the link closed */

static void transport_closed(const char *what)
{
    if (!link_closed) fprintf(stderr, "kiln-device: write failed (%s)\n", what);
    link_closed = 1;
}

void kiln_platform_write(const uint8_t *data, size_t n)
{
    while (n > 0u && !link_closed) {
        const ssize_t w = write(out_fd, data, n);
        if (w > 0) {
            data += w;
            n -= (size_t)w;
        } else if (w < 0 && (errno == EINTR)) {
            continue;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd p;
            p.fd = out_fd;
            p.events = POLLOUT;
            p.revents = 0;
            (void)poll(&p, 1, 100);
        } else {
            transport_closed(w < 0 ? strerror(errno) : "write returned 0");
        }
    }
}

static uint8_t rbuf[512];
static size_t rpos, rlen;

int kiln_platform_read_byte(uint32_t timeout_ms)
{
    struct pollfd p;
    ssize_t r;
    int ready;
    if (link_closed) return KILN_PLATFORM_CLOSED;
    if (rpos < rlen) return rbuf[rpos++];
    p.fd = in_fd;
    p.events = POLLIN;
    p.revents = 0;
    ready = poll(&p, 1, timeout_ms > 60000u ? 60000 : (int)timeout_ms);
    if (ready < 0) return errno == EINTR ? KILN_PLATFORM_TIMEOUT : KILN_PLATFORM_CLOSED;
    if (ready == 0) return KILN_PLATFORM_TIMEOUT;
    r = read(in_fd, rbuf, sizeof rbuf);
    if (r > 0) {
        rpos = 0;
        rlen = (size_t)r;
        return rbuf[rpos++];
    }
    if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) return KILN_PLATFORM_TIMEOUT;
    return KILN_PLATFORM_CLOSED; /* end of file, or EIO: the other end of the pty is gone */
}

/* ---- a model wrapper that makes inferences slow (tests kill the device mid-run) ---- */

static kiln_model_t slow_model;

static int slow_run(const void *const *inputs, void *const *outputs, void *arena, size_t arena_bytes,
                    uint32_t *op_ticks)
{
    struct timespec ts;
    ts.tv_sec = slow_run_ms / 1000;
    ts.tv_nsec = (slow_run_ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    return KILN_MODEL.run(inputs, outputs, arena, arena_bytes, op_ticks);
}

/* ---- TCP transport ---- */

static int accept_tcp(long port)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    int one = 1, fd, conn;
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons((uint16_t)port);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 1) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
        close(fd);
        return -1;
    }
    printf("PORT %u\n", (unsigned)ntohs(addr.sin_port));
    fflush(stdout);
    do {
        conn = accept(fd, NULL, NULL);
    } while (conn < 0 && errno == EINTR);
    close(fd);
    /* answers go out in several small writes: without this, Nagle's algorithm holds each
     * answer's tail until the host's delayed ACK (40 ms a request) */
    if (conn >= 0) (void)setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return conn;
}

static int parse_long(const char *s, long *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0) return 0;
    *out = v;
    return 1;
}

int main(int argc, char **argv)
{
    static kiln_rpc_server_t server;
    const kiln_model_t *m = &KILN_MODEL;
    kiln_rpc_config_t cfg;
    void **ins, **outs;
    void *arena;
    uint32_t *ticks, i;
    long tcp_port = -1, v;
    int announce = 1, a, ok = 1;

    for (a = 1; a < argc; ++a) {
        if (strcmp(argv[a], "--slow-run") == 0 && a + 1 < argc && parse_long(argv[a + 1], &v)) {
            slow_run_ms = v;
            ++a;
        } else if (strcmp(argv[a], "--timer-limit") == 0 && a + 1 < argc && parse_long(argv[a + 1], &v)) {
            timer_limit = (uint64_t)v;
            ++a;
        } else if (strcmp(argv[a], "--tcp") == 0 && a + 1 < argc && parse_long(argv[a + 1], &v) && v <= 65535) {
            tcp_port = v;
            ++a;
        } else if (strcmp(argv[a], "--no-announce") == 0) {
            announce = 0;
        } else {
            fprintf(stderr, "usage: %s [--tcp PORT] [--slow-run MS] [--timer-limit NS] [--no-announce]\n", argv[0]);
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    if (slow_run_ms > 0) {
        slow_model = *m;
        slow_model.run = slow_run;
        m = &slow_model;
    }

    arena = malloc(m->arena_bytes > 8u ? m->arena_bytes : 8u);
    ins = (void **)calloc(m->input_count > 0u ? m->input_count : 1u, sizeof(void *));
    outs = (void **)calloc(m->output_count > 0u ? m->output_count : 1u, sizeof(void *));
    ticks = (uint32_t *)calloc(m->op_count > 0u ? m->op_count : 1u, sizeof(uint32_t));
    if (!arena || !ins || !outs || !ticks) kiln_platform_abort("out of memory");
    for (i = 0; i < m->input_count; ++i) ok &= (ins[i] = malloc(m->inputs[i].bytes > 0u ? m->inputs[i].bytes : 1u)) != NULL;
    for (i = 0; i < m->output_count; ++i) ok &= (outs[i] = malloc(m->outputs[i].bytes > 0u ? m->outputs[i].bytes : 1u)) != NULL;
    if (!ok) kiln_platform_abort("out of memory");

    cfg.model = m;
    cfg.arena = arena;
    cfg.arena_bytes = m->arena_bytes > 8u ? m->arena_bytes : 8u;
    cfg.inputs = ins;
    cfg.outputs = outs;
    cfg.op_ticks = ticks;
    if (kiln_rpc_init(&server, &cfg) != 0) kiln_platform_abort("the buffers do not fit the model");

    if (tcp_port >= 0) {
        const int conn = accept_tcp(tcp_port);
        if (conn < 0) {
            fprintf(stderr, "kiln-device: cannot listen on 127.0.0.1:%ld: %s\n", tcp_port, strerror(errno));
            return 1;
        }
        in_fd = out_fd = conn;
    }
    fprintf(stderr, "kiln-device: serving %s (%lu ops, %lu-byte arena)\n", m->name, (unsigned long)m->op_count,
            (unsigned long)m->arena_bytes);
    if (announce) kiln_rpc_announce(&server);
    kiln_rpc_serve(&server);
    fprintf(stderr, "kiln-device: transport closed after %lu good and %lu bad frames\n",
            (unsigned long)server.frames_ok, (unsigned long)server.frames_bad);

    for (i = 0; i < m->input_count; ++i) free(ins[i]);
    for (i = 0; i < m->output_count; ++i) free(outs[i]);
    free((void *)ins);
    free((void *)outs);
    free(ticks);
    free(arena);
    return 0;
}
