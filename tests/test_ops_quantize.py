"""QUANTIZE and DEQUANTIZE on every type pair TFLite Micro takes, against TFLite Micro: 8-bit inputs
on all 256 values, wider ones on random values including the saturating extremes."""
from __future__ import annotations

import numpy as np
import pytest

from kiln.compiler.ops.quantize import QUANTIZE_PAIRS
from opgen import T, assert_rejected, check, model

Q = {"int8": (0.05, 3), "uint8": (0.05, 131), "int16": (0.0004, 0), "int32": (0.0002, 0)}
Q_OUT = {"int8": (0.07, -9), "uint8": (0.06, 120), "int16": (0.0007, 0), "int32": (0.00001, 0)}
PAIRS = [(i, o) for i, outs in QUANTIZE_PAIRS.items() for o in outs]


def _every(dtype, shape):
    """Every value of an 8-bit type (repeated to fill the shape), random ones of the wider types."""
    if dtype in ("int8", "uint8"):
        lo = -128 if dtype == "int8" else 0
        return lambda r: np.resize(np.arange(lo, lo + 256), shape).astype(dtype)
    if dtype == "int32":  # around the range the outputs can hold, the extremes included
        extremes = [-(1 << 31), (1 << 31) - 1]
        return lambda r: np.concatenate([extremes, r.integers(-60000, 60000, int(np.prod(shape)) - 2)]).reshape(
            shape).astype(np.int32)
    return None


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: f"{p[0]}-{p[1]}")
def test_quantize(pair, tmp_path):
    src, dst = pair
    shape = [4, 64]
    x = T(shape, src, *Q[src]) if src != "float32" else T(shape)
    y_q = (0.07, 0) if (src, dst) == ("float32", "int16") else Q_OUT[dst]
    if src == dst:  # a requantization: a different scale and zero point
        y_q = (Q[src][0] * 1.7, Q_OUT[dst][1])
    gen = _every(src, shape)
    check(model("QUANTIZE", [x], [T(shape, dst, *y_q)]), tmp_path, gen={0: gen} if gen else None)


@pytest.mark.parametrize("src", ["int8", "uint8", "int16"])
def test_dequantize(src, tmp_path):
    shape = [4, 64]
    gen = _every(src, shape)
    check(model("DEQUANTIZE", [T(shape, src, *Q[src])], [T(shape)]), tmp_path, gen={0: gen} if gen else None)


def test_int8_uint8_shift_by_128(tmp_path):
    """int8 <-> uint8 with one scale and zero points 128 apart: TFLite's XOR fast path."""
    shape = [256]
    check(model("QUANTIZE", [T(shape, "uint8", 0.1, 128)], [T(shape, "int8", 0.1, 0)]), tmp_path,
          gen={0: _every("uint8", shape)})
    check(model("QUANTIZE", [T(shape, "int8", 0.1, 0)], [T(shape, "uint8", 0.1, 128)]), tmp_path,
          gen={0: _every("int8", shape)})


@pytest.mark.parametrize("kind,ins,outs,reason", [
    ("QUANTIZE", [T([4], "uint8", 0.1, 128)], [T([4], "int16", 0.1, 0)], "has type INT16"),
    ("QUANTIZE", [T([4])], [T([4], "uint8", 0.1, 128)], "has type UINT8"),
    ("DEQUANTIZE", [T([4], "int32", 0.1, 0)], [T([4])], "has type INT32"),
])
def test_rejected_like_tflm(kind, ins, outs, reason, tmp_path):
    assert_rejected(kind, ins, outs, reason, tmp_path)
