"""RELU, RELU6, LOGISTIC and TANH (QUANTIZE and DEQUANTIZE are in quantize.py).

Every int8 -> int8 operator here is a function of one byte, so Kiln evaluates TFLite Micro's
integer arithmetic for all 256 inputs at compile time and emits a 256-byte lookup table: bit-exact
by construction and one load per element on the device. Float operators call math.h directly.
"""
from __future__ import annotations

import math

import numpy as np

from .. import quantmath as qm
from . import activations16
from .base import one_in_one_out, quantized, register, require, same_shape_input, same_size
from .maths import IDENTITY, scale_ratio, slopes_emit, slopes_fit, slopes_params


def _clamp8(v: int) -> int:
    return max(-128, min(127, v))


def lut_relu(x, y, six: bool):
    if six:  # TFLite Micro's Relu6 clamps in the input's quantization, without rescaling
        zero = x.zero_point
        six_q = _clamp8(qm.round_half_away(qm.f32(6.0 / qm.f32(x.scale))) + x.zero_point)
        return [max(zero, min(six_q, v)) for v in range(-128, 128)]
    mult, shift = qm.quantize_multiplier(scale_ratio(x.scale, y.scale))
    lo = max(-128, y.zero_point + qm.round_half_away(qm.f32(0.0 / qm.f32(y.scale))))
    return [max(lo, min(127, y.zero_point + qm.mul_by_quantized_multiplier(v - x.zero_point, mult, shift)))
            for v in range(-128, 128)]


def _sigmoid_like(x, fixed_fn, out_bits: int, out_zp: int):
    """TFLite Micro's int8 LOGISTIC / TANH: input rescaled to Q4.27, gemmlowp function, output rescaled."""
    real = x.scale * (1 << (31 - 4))
    q, left_shift = math.frexp(real)
    mult = qm.round_half_away(q * (1 << 31))
    radius = qm.calculate_input_radius(4, left_shift, 31)
    table = []
    for v in range(-128, 128):
        d = v - x.zero_point
        if d <= -radius:
            table.append(-128)
        elif d >= radius:
            table.append(127)
        else:
            raw = fixed_fn(qm.mul_by_quantized_multiplier(d, mult, left_shift), 4)
            table.append(_clamp8(qm.rdbpot(raw, 31 - out_bits) + out_zp))
    return table


def lut_logistic(x, y):
    return _sigmoid_like(x, qm.logistic_fixed, 8, -128)


def lut_tanh(x, y):
    return _sigmoid_like(x, qm.tanh_fixed, 7, 0)


LUTS = {
    "RELU": lambda x, y: lut_relu(x, y, six=False),
    "RELU6": lambda x, y: lut_relu(x, y, six=True),
    "LOGISTIC": lut_logistic,
    "TANH": lut_tanh,
}

FLOAT_CALLS = {  # kind -> C call with in, out, n
    "RELU": "kiln_clamp_f32({x}, {y}, {n}, 0.0f, FLT_MAX)",
    "RELU6": "kiln_clamp_f32({x}, {y}, {n}, 0.0f, 6.0f)",
    "LOGISTIC": "kiln_logistic_f32({x}, {y}, {n})",
    "TANH": "kiln_tanh_f32({x}, {y}, {n})",
}


def relu_s16_params(op, x, y) -> dict:
    """int16 RELU: TFLite's ReluQuantized (rescale, clamp at the output's zero); RELU6: a clamp to
    [zero, six] in the input's quantization, no rescale (kiln_slopes_s16 with the identity)."""
    if op.kind == "RELU6":
        six = max(-32768, min(32767, qm.round_half_away(qm.f32(6.0 / qm.f32(x.scale))) + x.zero_point))
        return slopes_params(0, 0, IDENTITY, IDENTITY, 1, 1, x.zero_point, six)
    m = qm.quantize_multiplier(scale_ratio(x.scale, y.scale))
    lo = max(-32768, y.zero_point + qm.round_half_away(qm.f32(0.0 / qm.f32(y.scale))))
    return slopes_params(x.zero_point, y.zero_point, m, m, 1, 1, lo, 32767)


INT16_KINDS = ("RELU", "RELU6", "LOGISTIC", "TANH")


def check_activation(op, g):
    x, y = one_in_one_out(op, g, ("int8", "int16", "float32") if op.kind in INT16_KINDS else ("int8", "float32"))
    same_size(op, x, y)
    if x.dtype in ("int8", "int16"):
        quantized(op, x, "input")
        quantized(op, y, "output")
    if x.dtype == "int16" and op.kind == "RELU":
        require(op, x.zero_point == 0 and y.zero_point == 0,
                f"int16 input and output must have zero point 0 (have {x.zero_point}, {y.zero_point})")
    if x.dtype == "int16" and op.kind in activations16.KINDS:
        activations16.check16(op, x, y)
    if x.dtype == "int8":
        if op.kind == "LOGISTIC":
            require(op, y.zero_point == -128, f"int8 output must have zero point -128, has {y.zero_point}")
        # TANH: TFLite Micro writes Q0.7 (zero point 0) whatever the output's quantization says, and
        # checks nothing: so does the table (lut_tanh)


def prepare(op, g):
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    op.params = {"n": y.size}
    if x.dtype == "int8" and y.dtype == "int8":
        op.params["lut"] = np.array(LUTS[op.kind](x, y), dtype=np.int8)
    if x.dtype == "int16" and op.kind in activations16.KINDS:
        activations16.prepare16(op, x)
    elif x.dtype == "int16" and op.kind in INT16_KINDS:
        op.params["slopes"] = relu_s16_params(op, x, y)
        slopes_fit(op, x, op.params["slopes"])


def emit(op, g, c):
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    n = op.params["n"]
    if "lut" in op.params:
        lut = c.array(f"op{op.index}_lut", op.params["lut"], "int8_t",
                      f"{op.kind} for every int8 input -128..127, computed at compile time")
        return [f"kiln_lut_s8({c.ptr(x)}, {c.ptr(y)}, {n}, {lut});"]
    if "slopes" in op.params:
        return slopes_emit(op, g, c)
    if "sigmoid16" in op.params:
        return activations16.emit16(op, g, c)
    return [FLOAT_CALLS[op.kind].format(x=c.ptr(x), y=c.ptr(y), n=n) + ";"]


for _kind in ("RELU", "RELU6", "LOGISTIC", "TANH"):
    register(_kind, check_activation, prepare, emit, in_place=same_shape_input,
             types=("int8", "int16", "float32") if _kind in INT16_KINDS else ("int8", "float32"),
             notes={"RELU": "int16: zero points 0", "RELU6": "",
                    "LOGISTIC": "int16: zero points 0, output scale 2^-15, TFLite Micro's interpolated table",
                    "TANH": "int16: zero points 0, output scale 2^-15, TFLite Micro's interpolated table"}[_kind])
