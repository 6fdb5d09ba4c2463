"""The host side of the Kiln device link: a session with one device over any pyserial URL.

    with Session("/dev/ttyACM0", expect_sha256=sha) as s:     # or "socket://host:port", "loop://"
        outputs = s.infer([x])                                  # numpy arrays in, numpy arrays out
        s.run(profile=True); ticks = s.get_timings()

The request/answer exchange and its reliability rules are channel.py's; a Session adds the
session (token, model selection, hash check) and the device's commands.
"""
from __future__ import annotations

import os
import struct
from typing import Callable, Sequence

import numpy as np
import serial

from ..compiler.inputs import as_type
from ..errors import KilnError
from . import framing
from . import protocol as P
from .channel import Channel
from .errors import (CorruptFrameError, DeviceGoneError, DeviceResetError, HashMismatchError, NoAnswerError,
                     ProtocolError, RemoteError, TimerOverflowError)


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


class Session(Channel):
    """One session with a device speaking the Kiln RPC protocol. The link options are Channel's;
    expect_sha256: the SHA-256 of the .tflite the firmware must have been built from
    (HashMismatchError otherwise)."""

    def __init__(self, port, *, timeout: float = 1.0, retries: int = 3, run_timeout: float = 10.0,
                 frame_gap: float = 0.05, expect_sha256: str | bytes | None = None, baudrate: int = 115200,
                 trace: Callable[[str, int, int, bytes], None] | None = None):
        super().__init__(port, timeout=timeout, retries=retries, run_timeout=run_timeout, frame_gap=frame_gap,
                         baudrate=baudrate, trace=trace)
        self.expect_sha256 = None if expect_sha256 is None else _hex_sha(expect_sha256)
        self.token = 0
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

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

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

    def step(self, first: int, last: int) -> None:
        """Runs operators first..last alone on the inputs set, the arena as earlier steps left it
        (firmware with tensor taps: a profiling build). Stepping to the last operator completes an
        inference: its outputs can be read as after run()."""
        if not self.info_.taps:
            raise RemoteError(f"STEP: the firmware on {self.url} has no tensor taps (build it with -DKILN_PROFILE)",
                              P.NOT_SUPPORTED)
        self.last_run = None
        self.last_timings = None
        self._call(P.STEP, self._token() + struct.pack("<II", first, last), busy_timeout=self.run_timeout)
        if last + 1 == self.info_.op_count:
            self._runs += 1

    def get_tensor(self, tap: int, nbytes: int) -> bytes:
        """The bytes of tap `tap` (an operator output, in the compiler's taps() order) as the
        device's memory holds them now: read right after the step that wrote it."""
        token, chunk, parts = self._token(), self.info_.max_payload - 1, []
        for offset in range(0, nbytes, chunk):
            n = min(chunk, nbytes - offset)
            part = self._call(P.GET_TENSOR, token + struct.pack("<HIH", tap, offset, n))
            if len(part) != n:
                raise ProtocolError(f"GET_TENSOR returned {len(part)} bytes, {n} asked")
            parts.append(part)
        return b"".join(parts)

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
