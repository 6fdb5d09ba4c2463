"""int16 LOGISTIC and TANH as TFLite Micro computes them (reference_integer_ops): the input
rescaled to 1/(3*4096) per step (or 3 * 2^k per step for power-of-two scales), then a 256-entry
table of sigmoid(i/24) in Q0.16, interpolated linearly; TANH reads it at twice the rate
(tanh(x) = 2 sigmoid(2x) - 1). Output scale 2^-15, zero points 0.

The table is TFLite Micro's own: TFLite Micro's int16 TANH is evaluated once at compile time on
inputs that land exactly on (or one step past) table entries, and the values are read back and
checked by recomputing every evaluated output in Python (sigmoid_table).
"""
from __future__ import annotations

import functools
import math

import numpy as np

from .. import quantmath as qm
from ..ir import Graph, Operator, Quant, Tensor
from .base import quantized, require

KINDS = ("LOGISTIC", "TANH")


def checked_log2(x: float) -> tuple[bool, int]:
    """TFLite's CheckedLog2 in float32: (is a power of two within 1e-3 in the exponent, log2 rounded)."""
    x_log2 = np.float32(np.float32(math.log(np.float32(x))) * np.float32(1.0 / np.float32(math.log(2.0))))
    rounded = float(qm.round_half_away(float(x_log2)))
    frac = np.float32(x_log2 - np.float32(rounded))
    return bool(abs(frac) < np.float32(1e-3)), int(rounded)


def input_rescale(kind: str, scale: float) -> tuple[int, int]:
    """(multiplier, shift) as the kernel uses them (power-of-two case already expanded)."""
    pot, log2 = checked_log2(scale)
    shift = 12 + log2
    pot = pot and (shift == 0 or (kind == "TANH" and shift == 1))
    if pot:
        return 3 << shift, 0
    m = float(np.float32(scale)) * 4096.0 * 3.0
    shift = 0
    while m <= 32767.0 / 2.0 and shift <= 30:
        shift += 1
        m *= 2.0
    return int(m), shift


def scaled(x: int, m: int, shift: int) -> int:
    return (x * m + ((1 << (shift - 1)) if shift > 0 else 0)) >> shift


def logistic_value(x: int, m: int, shift: int, table) -> int:
    d = scaled(x, m, shift)
    a = abs(d)
    uh = a >> 9
    if uh >= 255:
        r = 0x7FFF << 10
    else:
        ua, ub = int(table[uh]), int(table[uh + 1])
        r = (ua << 9) + (a & 0x1FF) * (ub - ua)
    r = r + (1 << 9) if d >= 0 else (1 << 25) - r + (1 << 9) - 1
    return r >> 10


def tanh_value(x: int, m: int, shift: int, table) -> int:
    d = scaled(x, m, shift)
    a = abs(d)
    uh = a >> 8
    if uh >= 255:
        r = 0xFFFF << 8
    else:
        ua, ub = int(table[uh]), int(table[uh + 1])
        r = (ua << 8) + (a & 0xFF) * (ub - ua)
    r = r - (1 << 23) + (1 << 7) if d >= 0 else -r + (1 << 23) + (1 << 7) - 1
    return r >> 8


def _tflm_tanh(scale: float) -> np.ndarray:
    """TFLite Micro's int16 TANH on x = 0..32767 at this input scale."""
    from ..passes.constants import evaluate_with_tflm

    xs = np.arange(0, 32768, dtype=np.int16)
    xt = Tensor(0, "x", [xs.size], "int16", Quant([scale], [0]), xs)
    yt = Tensor(1, "y", [xs.size], "int16", Quant([2.0 ** -15], [0]))
    op = Operator(0, "TANH", [0], [1], {})
    res = evaluate_with_tflm(Graph("sigmoid_table", [xt, yt], [op], [], [1]), op)
    if res is None:
        raise RuntimeError("TFLite Micro did not evaluate int16 TANH")
    return np.asarray(res[0], np.int64).reshape(-1)


@functools.lru_cache(maxsize=1)
def sigmoid_table() -> np.ndarray:
    """TFLite's sigmoid(i/24) table in Q0.16, i = 0..255, read from TFLite Micro's int16 TANH."""
    table = np.full(256, -1, np.int64)
    runs = []
    # a step just under 1 (every table entry below 128 is hit exactly), then just under 2 (every
    # entry from 128 on is hit exactly or one step past, where its slope is below 128: exact too)
    for step in (1.0, 2.0):
        scale = float(np.float32(step * 0.9999 / 12288.0))
        m, shift = input_rescale("TANH", scale)
        out = _tflm_tanh(scale)
        runs.append((m, shift, out))
        d = scaled(np.arange(32768, dtype=np.int64), m, shift)
        for x in range(32768):
            k, t = d[x] >> 8, d[x] & 0xFF
            if k < 255 and table[k] < 0 and (t == 0 or (t == 1 and k >= 128)):
                table[k] = out[x] + 32768
    # the last entry only ever serves as the upper end of entry 254's interpolation
    m, shift, out = runs[1]
    d = scaled(np.arange(32768, dtype=np.int64), m, shift)
    best = max((x for x in range(32768) if d[x] >> 8 == 254), key=lambda x: d[x] & 0xFF)
    t = int(d[best] & 0xFF)
    for cand in range(int(table[254]), 65536):
        table[255] = cand
        if tanh_value(best, m, shift, table) == out[best]:
            break
    if (table < 0).any():
        raise RuntimeError("the sigmoid table could not be read from TFLite Micro")
    for m, shift, out in runs:  # every evaluated output, recomputed from the table
        for x in range(0, 32768, 7):
            if tanh_value(x, m, shift, table) != out[x]:
                raise RuntimeError(f"the sigmoid table read from TFLite Micro does not reproduce it (x={x}, t={t})")
    return table.astype(np.uint16)


def check16(op, x, y):
    quantized(op, x, "input")
    quantized(op, y, "output")
    require(op, x.zero_point == 0 and y.zero_point == 0,
            f"int16 input and output must have zero point 0 (have {x.zero_point}, {y.zero_point})")
    pot, log2 = checked_log2(y.scale)
    require(op, pot and log2 == -15, f"int16 output must have scale 2^-15 (has {y.scale:.9g})")
    m, _ = input_rescale(op.kind, x.scale)
    # x * m must stay within int32 (x up to 32767): input scales below 65536 / 12288, about 5.33;
    # TFLite Micro takes larger ones too but overflows there
    require(op, m <= 65535, f"int16 input scale {x.scale:.9g} is too large: above about 5.33 TFLite Micro's "
            "arithmetic overflows")
    require_sigmoid_table(op)


def require_sigmoid_table(op) -> None:
    """TFLite Micro's int16 sigmoid table must be readable at compile time (int16 LOGISTIC/TANH, LSTM)."""
    try:
        sigmoid_table()
    except (RuntimeError, ImportError) as e:
        require(op, False, f"needs TFLite Micro (the tflite-micro package) at compile time to read its int16 "
                           f"sigmoid table: {e}")


def prepare16(op, x):
    m, shift = input_rescale(op.kind, x.scale)
    op.params["sigmoid16"] = (m, shift, 1 if op.kind == "TANH" else 0)


def emit16(op, g, c):
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    m, shift, tanh = op.params["sigmoid16"]
    table = c.array(f"op{op.index}_sigmoid", sigmoid_table(), "uint16_t",
                    "sigmoid(i/24) in Q0.16, i = 0..255: TFLite Micro's own table, read from it at compile time")
    return [f"static const kiln_sigmoid_s16_params_t params = {{{m}, {shift}, {tanh}}};",
            f"kiln_sigmoid_s16({c.ptr(x)}, {c.ptr(y)}, {y.size}, &params, {table});"]
