"""LOG_SOFTMAX over the last dimension: float32, and int8 as TFLite Micro's LogSoftmaxQuantized.

int8: output scale 16/256 and zero point 127 (fixed by TFLite Micro), beta 1. The differences
from the row maximum take 256 values, so their exp (Q0.31) and their rescaling to Q5.26 are
compile-time tables; the log of each row's sum is computed on the device in gemmlowp's fixed
point (kiln_softmax.c).
"""
from __future__ import annotations

import numpy as np

from .. import quantmath as qm
from .base import one_in_one_out, quantized, register, require, same_shape_input
from .softmax import SCALED_DIFF_INTEGER_BITS


def check(op, g):
    x, y = one_in_one_out(op, g)
    require(op, x.shape == y.shape and len(x.shape) >= 1, f"input {x.shape} and output {y.shape} must match")
    if x.dtype == "int8":
        quantized(op, x, "input")
        quantized(op, y, "output")
        require(op, qm.f32(y.scale) == qm.f32(16.0 / 256) and y.zero_point == 127,
                f"int8 output must have scale 16/256 and zero point 127 (has {y.scale:.9g}, {y.zero_point})")


def int8_params(scale: float) -> tuple[np.ndarray, list[int]]:
    """(exp table then Q5.26 table, [diff_min, reverse multiplier, reverse shift]) for beta 1."""
    real = min(1.0 * float(scale) * (1 << (31 - SCALED_DIFF_INTEGER_BITS)), (1 << 31) - 1.0)
    mult, left_shift = qm.quantize_multiplier(real)
    rev_mult, rev_shift = qm.quantize_multiplier((1 << (31 - left_shift)) / float(mult))
    diff_min = -qm.calculate_input_radius(SCALED_DIFF_INTEGER_BITS, left_shift, 31)
    exp, q5 = [], []
    for k in range(256):
        v = qm.mul_by_quantized_multiplier(-k, mult, left_shift)
        q5.append(v)
        exp.append(qm.exp_on_negative_values(v, SCALED_DIFF_INTEGER_BITS) if -k >= diff_min else 0)
    return np.array(exp + q5, np.int32), [diff_min, rev_mult, rev_shift]


def prepare(op, g):
    (x,) = g.op_inputs(op)
    depth = x.shape[-1]
    op.params = {"depth": depth, "outer": x.size // depth}
    if x.dtype == "int8":
        op.params["tables"], op.params["q"] = int8_params(x.scale)


def emit(op, g, c):
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    p = op.params
    if x.dtype == "float32":
        return [f"kiln_log_softmax_f32({c.ptr(x)}, {c.ptr(y)}, {p['outer']}, {p['depth']});"]
    t = c.array(f"op{op.index}_tables", p["tables"], "int32_t",
                "exp(scale * -k) in Q0.31 (0 below diff_min), then scale * -k in Q5.26, k = 0..255")
    return [f"static const kiln_log_softmax_s8_params_t params = {{{', '.join(map(str, p['q']))}}};",
            f"kiln_log_softmax_s8({c.ptr(x)}, {c.ptr(y)}, {p['outer']}, {p['depth']}, &params, {t});"]


register("LOG_SOFTMAX", check, prepare, emit, in_place=same_shape_input, types=("int8", "float32"),
         notes="last axis; int8 output scale 16/256, zero point 127")
