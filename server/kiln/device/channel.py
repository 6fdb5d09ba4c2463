"""The request/answer exchange with a device over any pyserial URL: frames, sequence numbers,
resends and timeouts (the base of session.Session).

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
from typing import Callable

import serial

from ..errors import KilnError
from . import framing
from . import protocol as P
from .errors import CorruptFrameError, DeviceGoneError, DeviceResetError, NoAnswerError, ProtocolError, RemoteError

POLL = 0.02  # seconds one read waits at most, so that deadlines are kept to about this much


class Channel:
    """Requests and their answers over one link (see the rules above).

    port: a pyserial URL or port path ("/dev/ttyUSB0", "socket://127.0.0.1:4444", "loop://"), or
    an object that behaves like an open serial.Serial (read, write, in_waiting, timeout,
    reset_input_buffer, close), such as kiln.device.faults.FaultyLink.
    timeout: seconds to wait for each answer; run_timeout: the same for RUN (inference time
    included); retries: resends after the first attempt; frame_gap: seconds of silence inside a
    frame after which it is taken as cut short.
    trace: called with ("tx" | "rx", seq, type, payload) for every frame (an RPC log)."""

    def __init__(self, port, *, timeout: float = 1.0, retries: int = 3, run_timeout: float = 10.0,
                 frame_gap: float = 0.05, baudrate: int = 115200,
                 trace: Callable[[str, int, int, bytes], None] | None = None):
        if timeout <= 0 or run_timeout <= 0 or retries < 0:
            raise KilnError("timeouts must be positive and retries not negative")
        self.timeout, self.run_timeout, self.retries = float(timeout), float(run_timeout), int(retries)
        self.frame_gap = float(frame_gap)
        self.trace = trace
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
        self.opened = False  # a session is open: a BOOT or NO_SESSION answer then means the device reset
        self.stats = {"requests": 0, "resends": 0, "pokes": 0, "naks": 0, "corrupt": 0, "stale": 0}

    def close(self) -> None:
        try:
            self.link.close()
        except Exception:
            pass
        self.opened = False

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
