"""SOFTMAX over the last dimension: float32, int8 -> int8, int8 -> int16 and int16 -> int16.

int8 follows TFLite Micro: differences from the row maximum are rescaled to Q5.26 and put through
gemmlowp's exp. The difference is one of 256 values, so the exp is a compile-time table; the
reciprocal of the sum is computed on the device in fixed point (runtime_c/src/softmax.c).
int8 -> int16 is the same with 16 output bits; int16 has TFLite Micro's own tables (softmax16.py).
"""
from __future__ import annotations

import numpy as np

from .. import quantmath as qm
from . import softmax16
from .base import arity, dtype_in, quantized, register, require, same_shape_input

SCALED_DIFF_INTEGER_BITS = 5


OUT_TYPES = {"float32": ("float32",), "int8": ("int8", "int16"), "int16": ("int16",)}


def check(op, g):
    arity(op, 1)
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    dtype_in(op, x, "input", tuple(OUT_TYPES))
    dtype_in(op, y, "output", OUT_TYPES[x.dtype])
    require(op, x.shape == y.shape and len(x.shape) >= 1, f"input {x.shape} and output {y.shape} must match")
    if x.dtype == "float32":
        return
    quantized(op, x, "input")
    quantized(op, y, "output")
    if x.dtype == "int8" and y.dtype == "int8":
        require(op, y.zero_point == -128 and qm.f32(y.scale) == qm.f32(1.0 / 256),
                f"int8 output must have scale 1/256 and zero point -128 (has {y.scale:.9g}, {y.zero_point})")
    elif x.dtype == "int8":
        require(op, y.zero_point == -32768 and abs(y.scale - 1.0 / 65536) <= 0.001 / 65536,
                f"int16 output of an int8 input must have scale 1/65536 and zero point -32768 "
                f"(has {y.scale:.9g}, {y.zero_point})")
    else:
        require(op, x.zero_point == 0 and y.zero_point == 0,
                f"int16 input and output must have zero point 0 (have {x.zero_point}, {y.zero_point})")
        require(op, abs(y.scale - 1.0 / 32768) <= 0.001 / 32768,
                f"int16 output must have scale 1/32768 (has {y.scale:.9g})")
        _, shift = softmax16.input_rescale(x.scale, qm.f32(op.options.get("beta", 1.0)))
        require(op, 65535 * (1 << max(shift, 0)) < (1 << 31),
                f"int16 input scale times beta is too large ({x.scale:.9g})")


def exp_table(input_scale: float, beta: float) -> np.ndarray:
    """exp(beta * scale * diff) in Q0.31 for diff = 0, -1, ..., -255 (0 where TFLite skips it)."""
    real = min(beta * input_scale * (1 << (31 - SCALED_DIFF_INTEGER_BITS)), (1 << 31) - 1.0)
    mult, left_shift = qm.quantize_multiplier(real)
    diff_min = -qm.calculate_input_radius(SCALED_DIFF_INTEGER_BITS, left_shift, 31)
    table = []
    for k in range(256):
        diff = -k
        if diff >= diff_min:
            rescaled = qm.srdhm(diff * (1 << left_shift), mult)
            table.append(qm.exp_on_negative_values(rescaled, SCALED_DIFF_INTEGER_BITS))
        else:
            table.append(0)
    return np.array(table, dtype=np.int32)


def prepare(op, g):
    (x,) = g.op_inputs(op)
    beta = qm.f32(op.options.get("beta", 1.0))
    depth = x.shape[-1]
    op.params = {"depth": depth, "outer": x.size // depth, "beta": beta}
    if x.dtype == "int8":
        op.params["exp"] = exp_table(x.scale, beta)
    if x.dtype == "int16":
        op.params["rescale"] = softmax16.input_rescale(x.scale, beta)


def emit(op, g, c):
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    p = op.params
    if x.dtype == "float32":
        return [f"kiln_softmax_f32({c.ptr(x)}, {c.ptr(y)}, {p['outer']}, {p['depth']}, {c.f32(p['beta'])});"]
    if x.dtype == "int16":
        exp_lut, recip_lut = softmax16.tables()
        e = c.array(f"op{op.index}_exp", exp_lut, "int16_t",
                    "exp(x) for x in [-10, 0], 512 steps + end, Q0.15: TFLite's LUTPopulate")
        r = c.array(f"op{op.index}_recip", recip_lut, "int16_t",
                    "1 / (1 + x) for x in [0, 1], 512 steps + end, Q0.15: TFLite's LUTPopulate")
        m, s = p["rescale"]
        return [f"static const kiln_softmax_s16_params_t params = {{{m}, {s}}};",
                f"kiln_softmax_s16({c.ptr(x)}, {c.ptr(y)}, {p['outer']}, {p['depth']}, &params, {e}, {r});"]
    table = c.array(f"op{op.index}_exp", p["exp"], "int32_t", "exp(beta * scale * -k) in Q0.31, k = 0..255")
    fn = "kiln_softmax_s8" if y.dtype == "int8" else "kiln_softmax_s8_s16"
    return [f"{fn}({c.ptr(x)}, {c.ptr(y)}, {p['outer']}, {p['depth']}, {table});"]


register("SOFTMAX", check, prepare, emit, in_place=same_shape_input,  # reads x[c] before writing y[c]
         types=("int8", "int16", "float32"), notes="last axis, any beta; int8 in with int8 or int16 out")
