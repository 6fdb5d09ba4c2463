"""QUANTIZE and DEQUANTIZE between float32, int8, uint8, int16 and int32, every pair TFLite Micro's
kernels take.

float32 -> int8/int16 rounds x / scale (halves away from zero) and adds the zero point; integer ->
integer requantizes by MultiplyByQuantizedMultiplier(x - in_zp, in_scale / out_scale) + out_zp,
saturated. An 8-bit input has only 256 values, so 8-bit -> 8-bit requantization (int8 and uint8
both ways, the usual first operator of a uint8-input model) is a 256-byte table computed here
with TFLite's arithmetic; the other pairs run kiln_requantize. DEQUANTIZE is (float)(scale * (x -
zero point)) with the scale in double, as TFLite Micro.
"""
from __future__ import annotations

import numpy as np

from .. import quantmath as qm
from .base import arity, dtype_in, quantized, register, same_shape_input, same_size
from .cast import CODES

# input type -> output types TFLite Micro's QUANTIZE takes from it
QUANTIZE_PAIRS = {
    "float32": ("int8", "int16"),
    "int8": ("int8", "uint8", "int16", "int32"),
    "uint8": ("int8",),
    "int16": ("int8", "int16", "int32"),
    "int32": ("int8", "int16"),
}


def check_quantize(op, g):
    arity(op, 1)
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    dtype_in(op, x, "input", tuple(QUANTIZE_PAIRS))
    dtype_in(op, y, "output", QUANTIZE_PAIRS[x.dtype])
    same_size(op, x, y)
    quantized(op, y, "output")
    if x.dtype != "float32":
        quantized(op, x, "input")


def check_dequantize(op, g):
    arity(op, 1)
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    dtype_in(op, x, "input", ("int8", "uint8", "int16"))
    dtype_in(op, y, "output", ("float32",))
    same_size(op, x, y)
    quantized(op, x, "input")


def _table(x, y, mult, shift) -> np.ndarray:
    """The requantized byte of every 8-bit input, indexed as kiln_lut_s8 does (int8 value + 128)."""
    lo, hi = qm.int_range(y.dtype)
    out = []
    for s in range(-128, 128):
        v = s & 0xFF if x.dtype == "uint8" else s
        r = max(lo, min(hi, qm.mul_by_quantized_multiplier(v - x.zero_point, mult, shift) + y.zero_point))
        out.append(r - 256 if r > 127 else r)  # the output byte, as int8
    return np.array(out, np.int8)


def prepare(op, g):
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    op.params = {"n": y.size}
    if op.kind == "QUANTIZE" and x.dtype != "float32":
        mult, shift = qm.quantize_multiplier(x.scale / y.scale)
        if x.dtype in ("int8", "uint8") and y.dtype in ("int8", "uint8"):
            op.params["lut"] = _table(x, y, mult, shift)
        else:
            op.params["requant"] = (CODES[x.dtype], CODES[y.dtype], mult, shift, x.zero_point, y.zero_point)


def emit(op, g, c):
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    p = op.params
    if "lut" in p:
        lut = c.array(f"op{op.index}_lut", p["lut"], "int8_t",
                      f"QUANTIZE {x.dtype} -> {y.dtype} for every input byte, TFLite's requantization")
        return [f"kiln_lut_s8((const int8_t *){c.ptr(x)}, (int8_t *){c.ptr(y)}, {p['n']}, {lut});"]
    if "requant" in p:
        return [f"static const kiln_requantize_t rq = {{{', '.join(map(str, p['requant']))}}}; "
                "/* in and out types, multiplier, shift, zero points */",
                f"kiln_requantize({c.ptr(x)}, {c.ptr(y)}, {p['n']}, &rq);"]
    if op.kind == "QUANTIZE":
        return [f"kiln_quantize_f32({c.ptr(x)}, {c.ptr(y)}, {CODES[y.dtype]}, {p['n']}, {c.f32(y.scale)}, "
                f"{y.zero_point});"]
    return [f"kiln_dequantize({c.ptr(x)}, {CODES[x.dtype]}, {c.ptr(y)}, {p['n']}, {x.scale!r}, {x.zero_point});"]


def _same_width(op, g):
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    return same_shape_input(op, g) if x.dtype == y.dtype or {x.dtype, y.dtype} == {"int8", "uint8"} else None


register("QUANTIZE", check_quantize, prepare, emit, in_place=_same_width,
         types=("float32", "int8", "uint8", "int16", "int32"),
         notes="float32 to int8/int16; int8 to int8/uint8/int16/int32; uint8 to int8; int16 to int8/int16/int32; "
               "int32 to int8/int16")
register("DEQUANTIZE", check_dequantize, prepare, emit, types=("int8", "uint8", "int16", "float32"),
         notes="int8, uint8 and int16 to float32")
