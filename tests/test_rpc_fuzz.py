"""Fuzzing the device side of the RPC link: the host device built with AddressSanitizer and
UndefinedBehaviorSanitizer is fed random bytes, random frames with good CRCs, requests with
extreme field values and mangled encodings of real requests, for a bounded time. It must never
crash (any sanitizer report aborts it), and after every batch it must still answer a valid
request correctly."""
from __future__ import annotations

import os
import queue
import random
import struct
import subprocess
import threading
import time

import pytest

import modelgen as mg
from harness import SANITIZE
from kiln import compiler
from kiln.device import framing
from kiln.device import protocol as P
from kiln.boards.host_device import build

FUZZ_SECONDS = float(os.environ.get("KILN_FUZZ_SECONDS", "12"))


class Device:
    """The sanitized host device on pipes; a thread decodes everything it says."""

    def __init__(self, exe):
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
                   UBSAN_OPTIONS="print_stacktrace=1")
        self.proc = subprocess.Popen([str(exe), "--no-announce"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env)
        self.frames: queue.Queue = queue.Queue()
        self.statuses: dict[str, int] = {}
        self.stderr = b""
        self.decoder = framing.Decoder()
        threading.Thread(target=self._read_out, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read_out(self):
        while True:
            data = self.proc.stdout.read1(65536)
            if not data:
                return
            for ev in self.decoder.feed_bytes(data):
                assert isinstance(ev, framing.Frame), f"the device sent a malformed frame: {ev}"
                if ev.type == P.NAK:
                    key = "NAK"
                elif ev.type == P.ACCEPTED:
                    key = "ACCEPTED"
                else:
                    key = P.STATUS_NAMES.get(ev.payload[0], str(ev.payload[0])) if ev.payload else "EMPTY"
                self.statuses[key] = self.statuses.get(key, 0) + 1
                self.frames.put(ev)

    def _read_err(self):
        self.stderr = self.proc.stderr.read()

    def send(self, data: bytes):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def wait_answer(self, seq: int, command: int, timeout: float = 5.0) -> framing.Frame:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                ev = self.frames.get(timeout=0.05)
            except queue.Empty:
                assert self.proc.poll() is None, f"the device died: {self.stderr.decode(errors='replace')[-3000:]}"
                continue
            if ev.seq == seq and ev.type == command | P.RESPONSE:
                return ev
        raise AssertionError(f"no answer to a valid request within {timeout} s "
                             f"(alive: {self.proc.poll() is None}) {self.stderr.decode(errors='replace')[-3000:]}")


class Fuzzer:
    def __init__(self, rng: random.Random, token: int, in_sizes, out_sizes, ops):
        self.rng, self.token = rng, token
        self.in_sizes, self.out_sizes, self.ops = in_sizes, out_sizes, ops

    def pick_u32(self, size):
        r = self.rng
        return r.choice([0, 1, size - 1, size, size + 1, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, r.randrange(1 << 32),
                         r.randrange(max(size, 1) + 2)]) & 0xFFFFFFFF

    def pick_u16(self, size):
        r = self.rng
        return r.choice([0, 1, 2, size, size + 1, 254, 255, 256, 0xFFFF, r.randrange(1 << 16)]) & 0xFFFF

    def token_bytes(self):
        r = self.rng
        return struct.pack("<I", r.choice([self.token] * 6 + [self.token ^ 1, 0, r.randrange(1 << 32)]))

    def request(self) -> tuple[int, bytes]:
        """A request with plausible structure and extreme values."""
        r = self.rng
        size = r.choice(list(self.in_sizes) + list(self.out_sizes) + [self.ops, 0, 300])
        cmd = r.choice([P.INFO, P.TENSOR_INFO, P.SET_INPUT, P.RUN, P.GET_OUTPUT, P.GET_TIMINGS, P.GET_TENSOR,
                        P.STEP, P.RESET, r.randrange(256)])
        if cmd == P.INFO:
            payload = r.choice([b"", struct.pack("<I", self.token), self.token_bytes()])
        elif cmd == P.TENSOR_INFO:
            payload = struct.pack("<BH", r.choice([0, 1, 2, 255]), self.pick_u16(2))
        elif cmd == P.SET_INPUT:
            n = r.choice([1, 2, size, 245, 246, 247, r.randrange(260)])
            payload = self.token_bytes() + struct.pack("<HI", self.pick_u16(2), self.pick_u32(size)) + os.urandom(n)
        elif cmd == P.RUN:
            payload = self.token_bytes() + bytes([r.choice([0, 1, 1, 2, 0xFF])])
        elif cmd in (P.GET_OUTPUT, P.GET_TENSOR):
            payload = self.token_bytes() + struct.pack("<HIH", self.pick_u16(2), self.pick_u32(size), self.pick_u16(size))
        elif cmd == P.STEP:
            payload = self.token_bytes() + struct.pack("<II", self.pick_u32(self.ops), self.pick_u32(self.ops))
        elif cmd == P.GET_TIMINGS:
            payload = self.token_bytes() + struct.pack("<IH", self.pick_u32(self.ops), self.pick_u16(self.ops))
        else:
            payload = os.urandom(r.randrange(20))
        if r.random() < 0.15:  # a wrong length
            payload = payload[:-1] if payload and r.random() < 0.5 else payload + os.urandom(r.randrange(1, 4))
        return cmd, payload[:256]

    def item(self) -> bytes:
        """Fuzz frames use sequence numbers 0..127; the test's valid requests use 128..255, so
        that their answers cannot be mistaken for each other."""
        r = self.rng
        kind = r.random()
        if kind < 0.1:  # noise, heavy in start and escape bytes
            return bytes(r.choice([0x7E, 0x7D, 0x5E, 0x5D, r.randrange(256)]) for _ in range(r.randrange(1, 600)))
        if kind < 0.25:  # a good frame of any type and payload, up to past the limit
            n = r.choice([0, 1, 4, 255, 256, 257, 300, r.randrange(300)])
            return framing.encode(r.randrange(128), r.randrange(256), os.urandom(n), max_payload=1000)
        cmd, payload = self.request()
        frame = framing.encode(r.randrange(128), cmd, payload, max_payload=1000)
        if kind < 0.75:
            return frame
        b = bytearray(frame)  # a mangled encoding
        for _ in range(r.randrange(1, 4)):
            op, i = r.randrange(4), r.randrange(len(b))
            if op == 0:
                b[i] ^= 1 << r.randrange(8)
            elif op == 1:
                del b[i]
            elif op == 2:
                b.insert(i, r.choice([0x7E, 0x7D, r.randrange(256)]))
            elif len(b) > 2:
                b[2:4] = struct.pack("<H", r.randrange(1 << 16))  # a forged length field
        return bytes(b)


@pytest.fixture(scope="module")
def sanitized_device(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz")
    path = tmp / "add.tflite"
    path.write_bytes(mg.elementwise(4, "ADD", "int8", (2, 1, 5), (1, 4, 1)).data)  # two inputs
    c = compiler.compile_model(path)
    compiler.write(c, tmp / "src")
    exe = build(tmp / "src", c.name, tmp / "build", opt="-O1", extra=SANITIZE)
    return exe, c


def test_fuzzed_device_never_crashes_and_keeps_answering(sanitized_device):
    exe, c = sanitized_device
    g = c.graph
    in_sizes = [g.tensor(i).nbytes for i in g.inputs]
    out_sizes = [g.tensor(i).nbytes for i in g.outputs]
    dev = Device(exe)
    rng = random.Random(1234)
    token = 0x5EED1234
    seq = 128
    items = probes = 0
    fuzz_bytes = 0

    def probe():
        """A valid INFO that (re)opens our session; the answer must be right."""
        nonlocal seq, probes
        seq = 128 + (seq + 1) % 128
        dev.send(framing.encode(seq, P.INFO, struct.pack("<I", token)))
        ans = dev.wait_answer(seq, P.INFO)
        assert ans.payload[0] == P.OK
        info = P.parse_info(ans.payload[1:])
        assert info.session == token and info.name == g.name
        assert list(info.input_bytes) == in_sizes and list(info.output_bytes) == out_sizes
        probes += 1

    fuzzer = Fuzzer(rng, token, in_sizes, out_sizes, len(g.operators))
    try:
        probe()
        t_end = time.monotonic() + FUZZ_SECONDS
        while time.monotonic() < t_end:
            batch = b"".join(fuzzer.item() for _ in range(40))
            items += 40
            fuzz_bytes += len(batch)
            dev.send(batch + b"\x7e")  # a start byte cuts off whatever the batch left half-sent
            probe()
            # a full valid exchange now and then: set both inputs, run, read an output
            if probes % 10 == 0:
                for k, size in enumerate(in_sizes):
                    seq = 128 + (seq + 1) % 128
                    dev.send(framing.encode(seq, P.SET_INPUT, struct.pack("<IHI", token, k, 0) + bytes(size)))
                    assert dev.wait_answer(seq, P.SET_INPUT).payload == bytes([P.OK])
                seq = 128 + (seq + 1) % 128
                dev.send(framing.encode(seq, P.RUN, struct.pack("<IB", token, 1)))
                run = dev.wait_answer(seq, P.RUN)
                assert run.payload[0] == P.OK, run.payload
                seq = 128 + (seq + 1) % 128
                dev.send(framing.encode(seq, P.GET_OUTPUT, struct.pack("<IHIH", token, 0, 0, out_sizes[0])))
                out = dev.wait_answer(seq, P.GET_OUTPUT)
                result = P.parse_run(run.payload[1:], len(in_sizes), len(out_sizes))
                assert out.payload[0] == P.OK and framing.crc32(out.payload[1:]) == result.output_crcs[0]
    finally:
        dev.proc.stdin.close()
        try:
            rc = dev.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            dev.proc.kill()
            rc = "hung"
    time.sleep(0.1)
    err = dev.stderr.decode(errors="replace")
    print(f"fuzz: {items} inputs ({fuzz_bytes} bytes) in {FUZZ_SECONDS:g} s, {probes} valid probes answered; "
          f"device answers by status: {dict(sorted(dev.statuses.items()))}")
    assert rc == 0, f"the device exited with {rc}:\n{err[-4000:]}"
    assert "runtime error" not in err and "AddressSanitizer" not in err, err[-4000:]
    # the fuzz reached every refusal path, and real work
    # (NOT_SUPPORTED only comes from a build without profiling and taps: test_rpc_session has that)
    for status in ("OK", "NAK", "BAD_LENGTH", "BAD_INDEX", "BAD_RANGE", "NO_SESSION", "NOT_READY",
                   "UNKNOWN_COMMAND", "BAD_ARGUMENT", "ACCEPTED"):
        assert dev.statuses.get(status, 0) > 0, f"the fuzz never got a {status} answer: {dev.statuses}"
    assert items >= 1000
