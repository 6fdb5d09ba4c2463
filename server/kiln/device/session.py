"""The host side of the Kiln device link: a session with one device over any pyserial URL.

    with Session("/dev/ttyACM0", expect_sha256=sha) as s:     # or "socket://host:port", "loop://"
        outputs = s.infer([x])                                  # numpy arrays in, numpy arrays out
        s.run(profile=True); ticks = s.get_timings()

Reliability rules (docs/protocol.md, "Retries"):

* every request carries a sequence number; an answer counts only if it carries the same one and
  answers the same command, so a late or repeated answer is never taken for another's;
* each attempt waits `timeout` seconds for the answer, and a request is sent at most
  `retries + 1` times, sooner when the device NAKs it or a corrupted answer arrives; the device
  acknowledges RUN at once (ACCEPTED), and from then on the host waits up to `run_timeout` for the
  inference (asking again after timeout, 2 x timeout, 4 x timeout ... in case the answer was
  lost whole); so a call returns or raises within (retries + 1) x timeout, plus run_timeout for RUN
  (plus a few milliseconds); a frame
  that stops arriving halfway (no byte for `frame_gap` seconds: bytes were lost) is treated as
  corrupted at once instead of waiting out the timeout;
* resending is safe for every command, RUN included: the device recognises a repeated request
  (same sequence number, command and CRC) and answers it again from its cache without running it
  again; on top of that the host checks that the device's run count went up by exactly one;
* end to end, RUN's answer carries a CRC-32 of every input the device used and every output it
  produced: an input corrupted on the way (past the frame CRC) is noticed and sent again, and an
  output is read again until it matches;
* the session opens with a random token the device keeps in RAM; a device that restarted has
  lost it (and says so, or announces its boot), which raises DeviceResetError.
"""
from __future__ import annotations

import os
import struct
import time
from collections import deque
from typing import Callable, Sequence

import numpy as np
import serial

from ..errors import KilnError
from ..inputs import as_type
from . import framing
from . import protocol as P
from .errors import (CorruptFrameError, DeviceGoneError, DeviceResetError, HashMismatchError,
                     NoAnswerError, ProtocolError, RemoteError, TimerOverflowError)

POLL = 0.02  # seconds one read waits at most, so that deadlines are kept to about this much


def _hex_sha(value: str | bytes) -> str:
    if isinstance(value, (bytes, bytearray)):
        if len(value) != 32:
            raise KilnError(f"expect_sha256 must be 32 bytes or 64 hex digits, got {len(value)} bytes")
        return bytes(value).hex()
    text = value.strip().lower()
    try:
        if len(bytes.fromhex(text)) != 32:
            raise ValueError
    except ValueError:
        raise KilnError(f"expect_sha256 must be 64 hex digits, got {value!r}") from None
    return text


class Session:
    """One session with a device speaking the Kiln RPC protocol.

    port: a pyserial URL or port path ("/dev/ttyUSB0", "socket://127.0.0.1:4444", "loop://"), or
    an object that behaves like an open serial.Serial (read, write, in_waiting, timeout,
    reset_input_buffer, close), such as kiln.device.faults.FaultyLink.
    timeout: seconds to wait for each answer; run_timeout: the same for RUN (inference time
    included); retries: resends after the first attempt; frame_gap: seconds of silence inside a
    frame after which it is taken as cut short. expect_sha256: the SHA-256 of the
    .tflite the firmware must have been built from (HashMismatchError otherwise).
    trace: called with ("tx" | "rx", seq, type, payload) for every frame (an RPC log)."""

    def __init__(self, port, *, timeout: float = 1.0, retries: int = 3, run_timeout: float = 10.0,
                 frame_gap: float = 0.05, expect_sha256: str | bytes | None = None, baudrate: int = 115200,
                 trace: Callable[[str, int, int, bytes], None] | None = None):
        if timeout <= 0 or run_timeout <= 0 or retries < 0:
            raise KilnError("timeouts must be positive and retries not negative")
        self.timeout, self.run_timeout, self.retries = float(timeout), float(run_timeout), int(retries)
        self.frame_gap = float(frame_gap)
        self.trace = trace
        self.expect_sha256 = None if expect_sha256 is None else _hex_sha(expect_sha256)
        if isinstance(port, (str, os.PathLike)):
            self.url = str(port)
            try:
                self.link = serial.serial_for_url(self.url, baudrate=baudrate, timeout=POLL)
            except (serial.SerialException, OSError, ValueError) as e:
                raise DeviceGoneError(f"cannot open the device link {self.url}: {e}") from None
        else:
            self.link = port
            self.url = str(getattr(port, "name", None) or getattr(port, "port", None) or type(port).__name__)
            self.link.timeout = POLL
        self.decoder = framing.Decoder(max_payload=framing.DEFAULT_MAX_PAYLOAD)
        self._pending: deque = deque()
        self._seq = int.from_bytes(os.urandom(1), "little")
        self.token = 0
        self.opened = False
        self.stats = {"requests": 0, "resends": 0, "pokes": 0, "naks": 0, "corrupt": 0, "stale": 0}
        self.info_: P.DeviceInfo | None = None
        self.model_index = 0  # the device's selected model (SELECT_MODEL)
        self.inputs: list[P.TensorInfo] = []
        self.outputs: list[P.TensorInfo] = []
        self.last_run: P.RunResult | None = None
        self.last_timings: list[int] | None = None
        try:
            self.open()
        except BaseException:
            self.close()
            raise

    # ---- life cycle ----

    def open(self) -> P.DeviceInfo:
        """(Re)opens the session: a fresh token, the device's inputs cleared, its description read."""
        self.opened = False
        self._pending.clear()
        self.decoder = framing.Decoder(max_payload=framing.DEFAULT_MAX_PAYLOAD)
        try:
            self.link.reset_input_buffer()
        except (serial.SerialException, OSError) as e:
            raise DeviceGoneError(f"the device link {self.url} failed: {e}") from None
        info = self._open_session()
        if self.expect_sha256 is not None and info.sha256 != self.expect_sha256:
            # a firmware serving several models: look for the expected one among them
            seen = [(info.name, info.sha256)]
            for index in range(info.model_count if info.model_count > 1 else 0):
                self._call(P.SELECT_MODEL, struct.pack("<H", index))
                info = self._open_session()
                if info.sha256 == self.expect_sha256:
                    self.model_index = index
                    break
                seen.append((info.name, info.sha256))
            else:
                found = ", ".join(f"'{n}' (sha256 {h[:16]}...)" for n, h in dict.fromkeys(seen))
                raise HashMismatchError(
                    f"the firmware on {self.url} was built from model {found}, not from the expected model "
                    f"(sha256 {self.expect_sha256[:16]}...): compile the model into it, build and flash it again")
        self.opened = True
        self._runs = info.run_count
        self._runs_exact = True
        self.inputs = [self._tensor_info(0, i) for i in range(len(info.input_bytes))]
        self.outputs = [self._tensor_info(1, i) for i in range(len(info.output_bytes))]
        for k, (t, size) in enumerate(zip(self.inputs + self.outputs, info.input_bytes + info.output_bytes)):
            if t.bytes != size:
                raise ProtocolError(f"tensor {k}: TENSOR_INFO says {t.bytes} bytes, INFO {size}")
        self._sent = [bytes(t.bytes) for t in self.inputs]  # the device zeroed its inputs
        self.last_run = None
        self.last_timings = None
        return info

    def _open_session(self) -> P.DeviceInfo:
        """INFO with a fresh token: a session on the device's selected model."""
        token = 0
        while token == 0:
            token = int.from_bytes(os.urandom(4), "little")
        info = P.parse_info(self._call(P.INFO, struct.pack("<I", token)))
        if info.session != token:
            raise ProtocolError(f"the device on {self.url} did not take the session token")
        if info.max_payload < 160:
            raise ProtocolError(f"the device's payload limit {info.max_payload} is below the minimum 160")
        if len(info.input_bytes) + len(info.output_bytes) > P.MAX_TENSORS:
            raise ProtocolError(f"the device reports {len(info.input_bytes)} inputs and {len(info.output_bytes)} outputs")
        self.token, self.info_ = token, info
        self.decoder.max_payload = info.max_payload
        return info

    def select_model(self, index: int) -> P.DeviceInfo:
        """Makes the device's model `index` (of info_.model_count) the one later commands act on,
        and opens a session on it."""
        self._call(P.SELECT_MODEL, struct.pack("<H", index))
        self.model_index = index
        self.expect_sha256 = None
        return self.open()

    def timer_cost(self) -> int:
        """Ticks of an empty measured window on the device (two back-to-back timer reads): what
        every per-operator figure holds besides its operator."""
        return struct.unpack("<I", self._call(P.TIMER_COST)[:4])[0]

    def close(self) -> None:
        try:
            self.link.close()
        except Exception:
            pass
        self.opened = False

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- the request/answer exchange ----

    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) & 0xFF
        return self._seq

    def _write(self, data: bytes) -> None:
        try:
            self.link.write(data)
            flush = getattr(self.link, "flush", None)
            if flush is not None:
                flush()
        except (serial.SerialException, OSError) as e:
            raise DeviceGoneError(f"writing to the device link {self.url} failed: {e}") from None

    def _read_events(self) -> tuple[list, bool]:
        """Frames and frame errors received (waiting up to POLL), and whether any byte came."""
        if self._pending:
            events = list(self._pending)
            self._pending.clear()
            return events, True
        try:
            data = self.link.read(1)
            if data:
                waiting = self.link.in_waiting
                if waiting:
                    data += self.link.read(waiting)
        except (serial.SerialException, OSError) as e:
            raise DeviceGoneError(f"the device link {self.url} closed: {e}") from None
        return (self.decoder.feed_bytes(data), True) if data else ([], False)

    def request(self, command: int, payload: bytes = b"", *, timeout: float | None = None,
                busy_timeout: float | None = None) -> tuple[int, bytes]:
        """Sends one request (resending as the rules allow) and returns (status, data) of its answer.
        busy_timeout: once (per request) the device says ACCEPTED, wait this long for the answer."""
        timeout = self.timeout if timeout is None else timeout
        seq = self._next_seq()
        frame = framing.encode(seq, command, payload)
        want = command | P.RESPONSE
        name = P.COMMAND_NAMES.get(command, f"command 0x{command:02x}")
        attempts = self.retries + 1
        naks = corrupt = 0
        extended = False
        busy_until = poke_every = next_poke = 0.0
        self.stats["requests"] += 1
        for attempt in range(attempts):
            if attempt:
                self.stats["resends"] += 1
            if self.trace:
                self.trace("tx", seq, command, payload)
            self._write(frame)
            last_byte = time.monotonic()
            deadline = max(last_byte + timeout, busy_until)  # an accepted RUN keeps its longer wait
            resend = False
            while not resend and time.monotonic() < deadline:
                events, got = self._read_events()
                if got:
                    last_byte = time.monotonic()
                elif extended and time.monotonic() >= next_poke:
                    # the answer to an accepted request may have been lost whole: ask again, less
                    # and less often (a device still busy answers every copy from its cache later)
                    self.stats["pokes"] += 1
                    self._write(frame)
                    poke_every *= 2
                    next_poke = time.monotonic() + poke_every
                elif self.decoder.mid_frame and time.monotonic() - last_byte > self.frame_gap:
                    self.decoder.reset()  # bytes were lost: the rest of that frame is not coming
                    corrupt += 1
                    self.stats["corrupt"] += 1
                    resend = True
                for k, ev in enumerate(events):
                    if isinstance(ev, framing.FrameError):
                        corrupt += 1
                        self.stats["corrupt"] += 1
                        resend = True
                    elif ev.type == P.BOOT:
                        if self.opened:
                            self.opened = False
                            raise DeviceResetError(
                                f"the device on {self.url} restarted during the session (it announced a boot "
                                f"while {name} was pending): its inputs and outputs are lost, open a new session")
                    elif ev.type == P.ACCEPTED:
                        if ev.seq == seq and busy_timeout is not None and not extended:
                            extended = True
                            busy_until = time.monotonic() + busy_timeout
                            deadline = max(deadline, busy_until)
                            poke_every = timeout
                            next_poke = time.monotonic() + poke_every
                    elif ev.type == P.NAK:
                        naks += 1
                        self.stats["naks"] += 1
                        resend = True
                    elif ev.seq == seq and ev.type == want:
                        if not ev.payload:
                            raise ProtocolError(f"the answer to {name} has no status byte")
                        self._pending.extend(events[k + 1:])
                        if self.trace:
                            self.trace("rx", ev.seq, ev.type, ev.payload)
                        return ev.payload[0], ev.payload[1:]
                    else:
                        self.stats["stale"] += 1
        tries = f"{attempts} attempt{'s' if attempts > 1 else ''} (waiting up to {timeout:g} s each)"
        if naks or corrupt:
            raise CorruptFrameError(
                f"no intact answer to {name} from {self.url} after {tries}: the device rejected {naks} "
                f"frame(s) as corrupted and {corrupt} corrupted frame(s) arrived: check the link (baud rate, cable)")
        raise NoAnswerError(f"no answer to {name} from {self.url} after {tries}: "
                            f"is the device running this firmware and connected?")

    def _call(self, command: int, payload: bytes = b"", *, timeout: float | None = None,
              busy_timeout: float | None = None) -> bytes:
        status, data = self.request(command, payload, timeout=timeout, busy_timeout=busy_timeout)
        if status == P.OK:
            return data
        name = P.COMMAND_NAMES.get(command, f"command 0x{command:02x}")
        detail = struct.unpack_from("<I", data)[0] if len(data) >= 4 else None
        if status == P.NO_SESSION:
            self.opened = False
            raise DeviceResetError(f"the device on {self.url} no longer knows this session ({name} refused): "
                                   f"it restarted or was reset, so its inputs and outputs are lost")
        what = P.STATUS_NAMES.get(status, f"status {status}")
        extra = f" (detail {detail})" if detail is not None else ""
        if status == P.NOT_SUPPORTED and command == P.GET_TENSOR:
            msg = f"{name}: the firmware on {self.url} was not built with tensor taps"
        elif status == P.NOT_SUPPORTED and command in (P.RUN, P.GET_TIMINGS):
            msg = f"{name}: the firmware on {self.url} was not built with profiling (-DKILN_PROFILE)"
        elif status == P.MODEL_ERROR:
            msg = f"{name}: the model failed on the device with error {None if detail is None else struct.unpack('<i', struct.pack('<I', detail))[0]}"
        else:
            msg = f"{name} refused by the device on {self.url}: {what}{extra}"
        raise RemoteError(msg, status, detail)

    def _token(self) -> bytes:
        if not self.opened:
            raise DeviceResetError(f"the session with {self.url} is not open (the device restarted or was "
                                   f"reset): call open() or reset() first")
        return struct.pack("<I", self.token)

    def _tensor_info(self, kind: int, index: int) -> P.TensorInfo:
        return P.parse_tensor_info(self._call(P.TENSOR_INFO, struct.pack("<BH", kind, index)))

    # ---- commands ----

    def info(self) -> P.DeviceInfo:
        """The device's description, read again; checks that the session is still the device's."""
        info = P.parse_info(self._call(P.INFO))
        if self.opened and info.session != self.token:
            self.opened = False
            raise DeviceResetError(f"the device on {self.url} no longer holds this session (it restarted or "
                                   f"another host opened one)")
        self.info_ = info
        return info

    def _encode_input(self, index: int, value) -> bytes:
        t = self.inputs[index]
        if isinstance(value, (bytes, bytearray, memoryview)):
            data = bytes(value)
        else:
            a = np.asarray(value)
            if a.size * t.dtype.itemsize != t.bytes:
                raise KilnError(f"input {index} ('{t.name}') needs {t.bytes // t.dtype.itemsize} values "
                                f"{list(t.shape)}, got {a.size} {list(a.shape)}")
            a = as_type(a, t.dtype, f"input {index} ('{t.name}')")
            data = np.ascontiguousarray(a).tobytes()
        if len(data) != t.bytes:
            raise KilnError(f"input {index} ('{t.name}') is {t.bytes} bytes, {len(data)} given")
        return data

    def set_input(self, index: int, value) -> None:
        """Sends input `index` (a numpy array of the input's size, or raw bytes) in chunks."""
        if not 0 <= index < len(self.inputs):
            raise KilnError(f"the model on {self.url} has {len(self.inputs)} input(s), no input {index}")
        data = self._encode_input(index, value)
        token = self._token()
        self._sent[index] = data  # what the device must hold; RUN's CRC tells whether it does
        chunk = self.info_.max_payload - P.SET_INPUT_HEADER
        for offset in range(0, len(data), chunk):
            self._call(P.SET_INPUT, token + struct.pack("<HI", index, offset) + data[offset:offset + chunk])
        self.last_run = None

    def run(self, profile: bool = False, *, timeout: float | None = None) -> P.RunResult:
        """Runs one inference on the inputs set; returns the device's run record (total ticks,
        CRCs). Raises CorruptFrameError if an input did not arrive intact. timeout: how long the
        inference may take (default run_timeout)."""
        token = self._token()
        if profile and not self.info_.profiling:
            raise RemoteError(f"RUN: the firmware on {self.url} was not built with profiling (-DKILN_PROFILE)",
                              P.NOT_SUPPORTED)
        self.last_run = None
        self.last_timings = None
        try:
            data = self._call(P.RUN, token + bytes([P.RUN_PROFILE if profile else 0]),
                              busy_timeout=self.run_timeout if timeout is None else timeout)
        except (NoAnswerError, CorruptFrameError):
            self._runs_exact = False  # it may or may not have run: the next count is only a lower bound
            raise
        result = P.parse_run(data, len(self.inputs), len(self.outputs))
        expected = self._runs + 1
        if result.run_count != expected and (self._runs_exact or result.run_count < expected):
            raise ProtocolError(f"the device on {self.url} counts {result.run_count} runs, expected {expected}: "
                                f"an inference ran {'more than once' if result.run_count > expected else 'out of order'}")
        self._runs, self._runs_exact = result.run_count, True
        bad = [i for i, (crc, sent) in enumerate(zip(result.input_crcs, self._sent)) if crc != framing.crc32(sent)]
        if bad:
            err = CorruptFrameError(f"input(s) {bad} reached the device on {self.url} corrupted (CRC-32 differs): "
                                    f"that inference used wrong inputs")
            err.bad_inputs = bad
            raise err
        if result.timer_overflow and profile:
            self.last_run = result
            raise TimerOverflowError(f"the inference on {self.url} took longer than the device's 32-bit timer "
                                     f"counts ({self.info_.timer_hz} Hz): no timing is reported")
        self.last_run = result
        return result

    def get_output(self, index: int) -> np.ndarray:
        """Reads output `index` of the last run, checked against the run's CRC-32."""
        if not 0 <= index < len(self.outputs):
            raise KilnError(f"the model on {self.url} has {len(self.outputs)} output(s), no output {index}")
        token = self._token()
        if self.last_run is None:
            raise KilnError("no inference has run since the inputs were set: call run() first")
        t = self.outputs[index]
        chunk = self.info_.max_payload - 1
        for _ in range(self.retries + 1):
            parts = []
            for offset in range(0, t.bytes, chunk):
                n = min(chunk, t.bytes - offset)
                part = self._call(P.GET_OUTPUT, token + struct.pack("<HIH", index, offset, n))
                if len(part) != n:
                    raise ProtocolError(f"GET_OUTPUT returned {len(part)} bytes, {n} asked")
                parts.append(part)
            data = b"".join(parts)
            if framing.crc32(data) == self.last_run.output_crcs[index]:
                return np.frombuffer(data, t.dtype).reshape(t.shape).copy()
            self.stats["corrupt"] += 1
        raise CorruptFrameError(f"output {index} from {self.url} failed its CRC-32 {self.retries + 1} time(s)")

    def get_timings(self) -> list[int]:
        """Per-operator timer ticks of the last run, which must have been profiled."""
        token = self._token()
        if self.last_run is None or not self.last_run.profiled:
            raise KilnError("no profiled inference has run: call run(profile=True) first")
        if self.last_run.timer_overflow:
            raise TimerOverflowError("the last inference overflowed the device's timer: no timing is trusted")
        ops = self.info_.op_count
        per = (self.info_.max_payload - 1) // 4
        for _ in range(self.retries + 1):
            ticks: list[int] = []
            for first in range(0, ops, per):
                n = min(per, ops - first)
                data = self._call(P.GET_TIMINGS, token + struct.pack("<IH", first, n))
                if len(data) != 4 * n:
                    raise ProtocolError(f"GET_TIMINGS returned {len(data)} bytes, {4 * n} expected")
                ticks.extend(struct.unpack(f"<{n}I", data))
            if framing.crc32(struct.pack(f"<{ops}I", *ticks)) == self.last_run.timings_crc:
                self.last_timings = ticks
                return ticks
            self.stats["corrupt"] += 1
        raise CorruptFrameError(f"the timings from {self.url} failed their CRC-32 {self.retries + 1} time(s)")

    def get_tensor(self, tensor: int, offset: int = 0, length: int = 1) -> bytes:
        """Reads an intermediate tensor (firmware built with taps only; none is yet)."""
        return self._call(P.GET_TENSOR, self._token() + struct.pack("<HIH", tensor, offset, length))

    def reset_state(self) -> None:
        """Puts a stateful model's state back to its start: the next run begins a new sequence
        (opening a session does this too). Nothing to do for a model without state."""
        self._call(P.RESET_STATE, self._token())
        self.last_run = None
        self.last_timings = None

    def reset(self) -> P.DeviceInfo:
        """Clears the device's state (inputs, outputs, timings, arena) and opens a new session."""
        self._call(P.RESET)
        return self.open()

    def infer(self, inputs: Sequence, profile: bool = False) -> list[np.ndarray]:
        """Sets every input, runs, and reads every output (and the timings, into last_timings,
        when profile is set). An input that arrives corrupted is sent again and the inference
        repeated, at most `retries` times."""
        if len(inputs) != len(self.inputs):
            raise KilnError(f"the model on {self.url} has {len(self.inputs)} input(s), {len(inputs)} given")
        encoded = [self._encode_input(i, v) for i, v in enumerate(inputs)]
        for i, data in enumerate(encoded):
            self.set_input(i, data)
        for attempt in range(self.retries + 1):
            try:
                self.run(profile)
                break
            except CorruptFrameError as e:
                bad = getattr(e, "bad_inputs", None)
                if bad is None or attempt == self.retries:
                    raise
                if self.info_.stateful:  # the run on wrong inputs changed the state: no repeat can undo it
                    raise CorruptFrameError(f"{e}; the model keeps state, which that run changed: start the "
                                            "sequence again (reset_state)") from None
                for i in bad:
                    self.set_input(i, encoded[i])
        outputs = [self.get_output(k) for k in range(len(self.outputs))]
        if profile:
            self.get_timings()
        return outputs
