"""The Kiln device RPC protocol's numbers and payload layouts (docs/protocol.md; the device side
is runtime_c/rpc/kiln_rpc.h). Multi-byte fields are little-endian."""
from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from .errors import ProtocolError

PROTOCOL_VERSION = 1

# commands (request frame types)
INFO, TENSOR_INFO, SET_INPUT, RUN, GET_OUTPUT, GET_TIMINGS, GET_TENSOR, RESET, RESET_STATE, SELECT_MODEL, \
    TIMER_COST, STEP = range(1, 13)
COMMAND_NAMES = {INFO: "INFO", TENSOR_INFO: "TENSOR_INFO", SET_INPUT: "SET_INPUT", RUN: "RUN",
                 GET_OUTPUT: "GET_OUTPUT", GET_TIMINGS: "GET_TIMINGS", GET_TENSOR: "GET_TENSOR",
                 RESET: "RESET", RESET_STATE: "RESET_STATE", SELECT_MODEL: "SELECT_MODEL",
                 TIMER_COST: "TIMER_COST", STEP: "STEP"}

RESPONSE = 0x80  # an answer's type: the command | RESPONSE
ACCEPTED = 0xFD  # RUN arrived, the inference is starting (same seq)
NAK = 0xFE  # the device dropped a corrupted or malformed frame
BOOT = 0xFF  # the device (re)started

# status codes (first byte of an answer)
OK, BAD_FRAME, UNKNOWN_COMMAND, BAD_LENGTH, BAD_INDEX, BAD_RANGE, NO_SESSION, NOT_READY, \
    NOT_SUPPORTED, MODEL_ERROR, BAD_ARGUMENT = range(11)
STATUS_NAMES = {OK: "OK", BAD_FRAME: "BAD_FRAME", UNKNOWN_COMMAND: "UNKNOWN_COMMAND",
                BAD_LENGTH: "BAD_LENGTH", BAD_INDEX: "BAD_INDEX", BAD_RANGE: "BAD_RANGE",
                NO_SESSION: "NO_SESSION", NOT_READY: "NOT_READY", NOT_SUPPORTED: "NOT_SUPPORTED",
                MODEL_ERROR: "MODEL_ERROR", BAD_ARGUMENT: "BAD_ARGUMENT"}

RUN_PROFILE = 0x01
RESULT_PROFILED = 0x01
RESULT_TIMER_OVERFLOW = 0x02
INFO_PROFILING = 0x01
INFO_TAPS = 0x02
INFO_STATEFUL = 0x04

SET_INPUT_HEADER = 10  # token u32, index u16, offset u32
MAX_TENSORS = 16

# kiln_dtype_t (runtime_c/include/kiln_model.h) -> numpy
DTYPES = {0: np.dtype(np.float32), 1: np.dtype(np.int8), 2: np.dtype("<i2"), 3: np.dtype("<i4"),
          4: np.dtype(np.uint8), 5: np.dtype(np.bool_), 6: np.dtype("<i8"),
          7: np.dtype("<u4"), 8: np.dtype("<u8")}

_INFO_HEAD = struct.Struct("<HHBBBB32sIIIII")


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: np.dtype
    shape: tuple[int, ...]
    bytes: int
    scale: float
    zero_point: int


@dataclass(frozen=True)
class DeviceInfo:
    protocol: int
    max_payload: int
    profiling: bool
    taps: bool
    sha256: str  # hex
    arena_bytes: int
    op_count: int
    timer_hz: int
    run_count: int
    session: int
    input_bytes: tuple[int, ...]
    output_bytes: tuple[int, ...]
    name: str
    stateful: bool = False  # the model keeps state between runs: a sequence, reset by reset_state()
    model_count: int = 1  # models the firmware serves (SELECT_MODEL picks one)


@dataclass(frozen=True)
class RunResult:
    run_count: int
    ticks: int | None  # the whole inference, in timer ticks (None after a timer overflow)
    profiled: bool
    timer_overflow: bool
    input_crcs: tuple[int, ...]
    output_crcs: tuple[int, ...]
    timings_crc: int | None


def parse_info(data: bytes) -> DeviceInfo:
    if len(data) < _INFO_HEAD.size:
        raise ProtocolError(f"INFO answer of {len(data)} bytes is shorter than {_INFO_HEAD.size}")
    (version, max_payload, flags, n_in, n_out, models, sha, arena, ops, hz, runs,
     session) = _INFO_HEAD.unpack_from(data)
    if version != PROTOCOL_VERSION:
        raise ProtocolError(f"the device speaks protocol version {version}, this host version "
                            f"{PROTOCOL_VERSION}: rebuild the firmware with this Kiln")
    pos = _INFO_HEAD.size
    need = pos + 4 * (n_in + n_out) + 1
    if len(data) < need:
        raise ProtocolError(f"INFO answer of {len(data)} bytes, expected at least {need}")
    sizes = struct.unpack_from(f"<{n_in + n_out}I", data, pos)
    pos += 4 * (n_in + n_out)
    name_len = data[pos]
    if len(data) != pos + 1 + name_len:
        raise ProtocolError(f"INFO answer of {len(data)} bytes, expected {pos + 1 + name_len}")
    name = data[pos + 1:].decode("utf-8", "replace")
    return DeviceInfo(version, max_payload, bool(flags & INFO_PROFILING), bool(flags & INFO_TAPS),
                      sha.hex(), arena, ops, hz, runs, session, tuple(sizes[:n_in]), tuple(sizes[n_in:]), name,
                      bool(flags & INFO_STATEFUL), max(models, 1))


_TENSOR_HEAD = struct.Struct("<BB6iIfiB")


def parse_tensor_info(data: bytes) -> TensorInfo:
    if len(data) < _TENSOR_HEAD.size:
        raise ProtocolError(f"TENSOR_INFO answer of {len(data)} bytes is too short")
    dtype, rank, *rest = _TENSOR_HEAD.unpack_from(data)
    dims, (size, scale, zp, name_len) = rest[:6], rest[6:]
    if dtype not in DTYPES or rank > 6 or len(data) != _TENSOR_HEAD.size + name_len:
        raise ProtocolError(f"impossible TENSOR_INFO answer (dtype {dtype}, rank {rank}, {len(data)} bytes)")
    shape = tuple(int(d) for d in dims[:rank])
    if int(np.prod(shape, dtype=np.int64)) * DTYPES[dtype].itemsize != size:
        raise ProtocolError(f"TENSOR_INFO: shape {shape} of {DTYPES[dtype]} does not make {size} bytes")
    return TensorInfo(data[_TENSOR_HEAD.size:].decode("utf-8", "replace"), DTYPES[dtype], shape, size,
                      float(scale), zp)


def parse_run(data: bytes, n_in: int, n_out: int) -> RunResult:
    head = struct.Struct("<IIB")
    if len(data) < head.size:
        raise ProtocolError(f"RUN answer of {len(data)} bytes is too short")
    runs, ticks, flags = head.unpack_from(data)
    profiled, overflow = bool(flags & RESULT_PROFILED), bool(flags & RESULT_TIMER_OVERFLOW)
    with_tick_crc = profiled and not overflow
    need = head.size + 4 * (n_in + n_out) + (4 if with_tick_crc else 0)
    if len(data) != need:
        raise ProtocolError(f"RUN answer of {len(data)} bytes, expected {need}")
    crcs = struct.unpack_from(f"<{n_in + n_out + (1 if with_tick_crc else 0)}I", data, head.size)
    return RunResult(runs, None if overflow else ticks, profiled, overflow, tuple(crcs[:n_in]),
                     tuple(crcs[n_in:n_in + n_out]), crcs[-1] if with_tick_crc else None)
