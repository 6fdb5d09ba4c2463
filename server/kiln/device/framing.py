"""The Kiln device link's framing, in Python: the twin of runtime_c/rpc/kiln_frame.c.

A frame on the wire is::

    0x7E | escaped( seq:u8  type:u8  length:u16 LE  payload[length]  crc:u16 BE )

0x7E (START) appears only as a frame's first byte; inside, 0x7E travels as 0x7D 0x5E and 0x7D
(ESCAPE) as 0x7D 0x5D, and escaping any other byte is malformed. The CRC is CRC-16/CCITT-FALSE
(polynomial 0x1021, initial value 0xFFFF, not reflected, no final XOR; 0x29B1 for "123456789")
over seq, type, length and payload before escaping. The decoder below reports exactly the events
the C decoder does (tests/test_rpc_framing.py runs both on the same bytes).
"""
from __future__ import annotations

import binascii
import zlib
from dataclasses import dataclass

START = 0x7E
ESCAPE = 0x7D
XOR = 0x20
HEADER_BYTES = 4
CRC_BYTES = 2
DEFAULT_MAX_PAYLOAD = 256  # KILN_FRAME_MAX_PAYLOAD's default

# Decoder events (the values of kiln_frame_event_t)
NONE, READY, ERR_CRC, ERR_LENGTH, ERR_ESCAPE, ERR_TRUNCATED = range(6)
ERROR_NAMES = {ERR_CRC: "crc", ERR_LENGTH: "length", ERR_ESCAPE: "escape", ERR_TRUNCATED: "truncated"}


def crc16_ccitt(data: bytes, crc: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE; chain calls by passing the previous result as crc. binascii.crc_hqx is
    exactly this CRC (polynomial 0x1021, not reflected, no final XOR), written in C."""
    return binascii.crc_hqx(data, crc)


def crc32(data: bytes, crc: int = 0) -> int:
    """CRC-32 as zlib computes it (the device's kiln_crc32)."""
    return zlib.crc32(data, crc) & 0xFFFFFFFF


def _escape(data: bytes) -> bytes:
    return data.replace(b"\x7d", b"\x7d\x5d").replace(b"\x7e", b"\x7d\x5e")


def encode(seq: int, type_: int, payload: bytes = b"", max_payload: int = 0xFFFF) -> bytes:
    """One frame, ready to write."""
    if not (0 <= seq <= 255 and 0 <= type_ <= 255):
        raise ValueError(f"seq and type are bytes: got {seq}, {type_}")
    if len(payload) > max_payload:
        raise ValueError(f"a {len(payload)}-byte payload exceeds the {max_payload}-byte limit")
    body = bytes([seq, type_, len(payload) & 0xFF, len(payload) >> 8]) + bytes(payload)
    crc = crc16_ccitt(body)
    return bytes([START]) + _escape(body + bytes([crc >> 8, crc & 0xFF]))


@dataclass(frozen=True)
class Frame:
    seq: int
    type: int
    payload: bytes


@dataclass(frozen=True)
class FrameError:
    kind: int  # ERR_CRC, ERR_LENGTH, ERR_ESCAPE or ERR_TRUNCATED
    seq_hint: int | None  # the sequence byte received, if any (not trustworthy)

    @property
    def name(self) -> str:
        return ERROR_NAMES.get(self.kind, str(self.kind))


class Decoder:
    """Incremental decoder, fed byte by byte (or with feed_bytes); the C decoder's state machine."""

    def __init__(self, max_payload: int = DEFAULT_MAX_PAYLOAD):
        self.max_payload = max_payload
        self.reset()

    def reset(self) -> None:
        """Forgets any partial frame and hunts for the next START."""
        self.in_frame = False
        self.escaped = False
        self.buf = bytearray()
        self.need = 0

    @property
    def mid_frame(self) -> bool:
        """True while part of a frame has been received."""
        return self.in_frame and (len(self.buf) > 0 or self.escaped)

    def _drop(self, kind: int) -> int:
        self.in_frame = False
        self.escaped = False
        return kind

    def feed(self, byte: int) -> int:
        """Returns NONE, READY (then .frame() holds it) or an ERR_* code."""
        if byte == START:
            cut = self.in_frame and (len(self.buf) > 0 or self.escaped)
            self.in_frame, self.escaped, self.need = True, False, 0
            self.buf = bytearray()
            return ERR_TRUNCATED if cut else NONE
        if not self.in_frame:
            return NONE
        if byte == ESCAPE:
            if self.escaped:
                return self._drop(ERR_ESCAPE)
            self.escaped = True
            return NONE
        if self.escaped:
            byte ^= XOR
            if byte not in (START, ESCAPE):
                return self._drop(ERR_ESCAPE)
            self.escaped = False
        self.buf.append(byte)
        if len(self.buf) == HEADER_BYTES:
            length = self.buf[2] | self.buf[3] << 8
            if length > self.max_payload:
                return self._drop(ERR_LENGTH)
            self.need = HEADER_BYTES + length + CRC_BYTES
        if self.need and len(self.buf) == self.need:
            self.in_frame = False
            body = bytes(self.buf[:-CRC_BYTES])
            got = self.buf[-2] << 8 | self.buf[-1]
            return READY if crc16_ccitt(body) == got else ERR_CRC
        return NONE

    def frame(self) -> Frame:
        return Frame(self.buf[0], self.buf[1], bytes(self.buf[HEADER_BYTES:-CRC_BYTES]))

    def feed_bytes(self, data: bytes) -> list[Frame | FrameError]:
        """Feeds many bytes; returns the frames and errors they completed, in order."""
        events: list[Frame | FrameError] = []
        for b in data:
            ev = self.feed(b)
            if ev == READY:
                events.append(self.frame())
            elif ev != NONE:
                # after a truncation the buffer was reset; the hint is gone with it
                hint = self.buf[0] if ev != ERR_TRUNCATED and self.buf else None
                events.append(FrameError(ev, hint))
        return events
