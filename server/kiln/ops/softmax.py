"""SOFTMAX over the last dimension, int8 and float32.

int8 follows TFLite Micro: differences from the row maximum are rescaled to Q5.26 and put through
gemmlowp's exp. The difference is one of 256 values, so the exp is a compile-time table; the
reciprocal of the sum is computed on the device in fixed point (runtime_c/src/softmax.c).
"""
from __future__ import annotations

import numpy as np

from .. import quantmath as qm
from .base import one_in_one_out, quantized, register, require, same_shape_input

SCALED_DIFF_INTEGER_BITS = 5


def check(op, g):
    x, y = one_in_one_out(op, g)
    require(op, x.shape == y.shape and len(x.shape) >= 1, f"input {x.shape} and output {y.shape} must match")
    if x.dtype == "int8":
        quantized(op, x, "input")
        quantized(op, y, "output")
        require(op, y.zero_point == -128 and qm.f32(y.scale) == qm.f32(1.0 / 256),
                f"int8 output must have scale 1/256 and zero point -128 (has {y.scale:.9g}, {y.zero_point})")


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


def emit(op, g, c):
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    p = op.params
    if x.dtype == "float32":
        return [f"kiln_softmax_f32({c.ptr(x)}, {c.ptr(y)}, {p['outer']}, {p['depth']}, {c.f32(p['beta'])});"]
    table = c.array(f"op{op.index}_exp", p["exp"], "int32_t", "exp(beta * scale * -k) in Q0.31, k = 0..255")
    return [f"kiln_softmax_s8({c.ptr(x)}, {c.ptr(y)}, {p['outer']}, {p['depth']}, {table});"]


register("SOFTMAX", check, prepare, emit, in_place=same_shape_input)  # reads x[c] before writing y[c]
