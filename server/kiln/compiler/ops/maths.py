"""Element-wise maths: ABS, NEG, SQRT, RSQRT, SQUARE, EXP, LOG, SIN, COS, FLOOR, CEIL, ROUND.

TFLite Micro takes all of them in float32 (math.h on the device); ABS also int8 and int16
(quantized with its own rescale, or plain int16), RSQRT also int8. int8 ones are 256-entry tables
computed at compile time; int16 ABS runs kiln_slopes_s16, TFLite's rescale with a sign flip below
zero. Shared here for activations.py and unary.py: the two-slope rescale (slopes_params,
slopes_value, slopes_lut).
"""
from __future__ import annotations

import numpy as np

from .. import quantmath as qm
from ..ir import Operator, Tensor
from .base import one_in_one_out, quantized, register, require, same_shape_input, same_size

FLOAT_ONLY = ("NEG", "SQRT", "SQUARE", "EXP", "LOG", "SIN", "COS", "FLOOR", "CEIL", "ROUND")
F_CODES = {k: f"KILN_MAP_{k}" for k in ("ABS", "NEG", "SQRT", "RSQRT", "SQUARE", "EXP", "LOG", "SIN", "COS", "FLOOR",
                                      "CEIL", "ROUND", "HARD_SWISH", "ELU")}
IDENTITY = (1 << 30, 1)  # QuantizeMultiplier(1.0): MBQM by it is exact

RANGES = {"int8": (-128, 127), "int16": (-32768, 32767)}


# ---- shared helpers ----

def scale_ratio(a: float, b: float) -> float:
    """a / b of two float32 scales, in double. TFLite Micro's source divides in float32 before
    widening, but its reference build's results match the double quotient (checked on all inputs
    of RELU, ABS and LEAKY_RELU over random scales: the float32 quotient's multiplier differs
    by one in its last bit and moves ties)."""
    return qm.f32(a) / qm.f32(b)


def slopes_params(in_zp: int, out_zp: int, pos: tuple[int, int], neg: tuple[int, int], neg_in_sign: int,
                  neg_out_sign: int, lo: int, hi: int) -> dict:
    """MBQM rounds ties toward zero for negatives (SRDHM's nudge) but away from zero for positives,
    so ABS (MBQM(-d)) and a negative LEAKY_RELU alpha (-MBQM(d)) differ: both signs are kept."""
    return dict(in_zp=in_zp, out_zp=out_zp, pos_mult=pos[0], pos_shift=pos[1], neg_mult=neg[0],
                neg_shift=neg[1], neg_in_sign=neg_in_sign, neg_out_sign=neg_out_sign, lo=lo, hi=hi)


def slopes_value(v: int, p: dict) -> int:
    """kiln_slopes_s16 on one value: out_zp + (d >= 0 ? MBQM(d, pos) : so * MBQM(si * d, neg)), clamped."""
    d = v - p["in_zp"]
    if d >= 0:
        y = qm.mul_by_quantized_multiplier(d, p["pos_mult"], p["pos_shift"])
    else:
        y = p["neg_out_sign"] * qm.mul_by_quantized_multiplier(p["neg_in_sign"] * d, p["neg_mult"], p["neg_shift"])
    return max(p["lo"], min(p["hi"], y + p["out_zp"]))


def slopes_lut(p: dict) -> np.ndarray:
    return np.array([slopes_value(v, p) for v in range(-128, 128)], np.int8)


def slopes_fit(op: Operator, x: Tensor, p: dict) -> None:
    """kiln_mul_by_qm shifts the difference left in int32: refuse rescales that would overflow."""
    lo, hi = RANGES[x.dtype]
    worst = max(abs(lo - p["in_zp"]), abs(hi - p["in_zp"]))
    for key in ("pos_shift", "neg_shift"):
        require(op, worst * (1 << max(p[key], 0)) < (1 << 31),
                f"the rescale from input to output scale is too large ({x.name}: 2^{p[key]})")


def slopes_emit(op, g, c) -> list[str]:
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    p = op.params["slopes"]
    vals = ", ".join(str(p[k]) for k in ("in_zp", "out_zp", "pos_mult", "pos_shift", "neg_mult", "neg_shift",
                                          "neg_in_sign", "neg_out_sign", "lo", "hi"))
    return [f"static const kiln_slopes_params_t params = {{{vals}}};",
            f"kiln_slopes_s16({c.ptr(x)}, {c.ptr(y)}, {y.size}, &params);"]


def lut_emit(op, g, c) -> list[str]:
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    lut = c.array(f"op{op.index}_lut", op.params["lut"], "int8_t",
                  op.params.get("lut_note", f"{op.kind} for every int8 input -128..127, computed at compile time"))
    return [f"kiln_lut_s8({c.ptr(x)}, {c.ptr(y)}, {y.size}, {lut});"]


def is_quantized(t: Tensor) -> bool:
    return t.quant is not None and len(t.quant.scale) > 0


# ---- the operators ----

def check(op, g):
    kind = op.kind
    types = {"ABS": ("float32", "int8", "int16"), "RSQRT": ("float32", "int8")}.get(kind, ("float32",))
    x, y = one_in_one_out(op, g, types)
    same_size(op, x, y)
    require(op, x.shape == y.shape, f"output shape {y.shape} differs from input shape {x.shape}")
    if x.dtype == "int8" or (x.dtype == "int16" and is_quantized(x)):
        quantized(op, x, "input")
        quantized(op, y, "output")
    if x.dtype == "int16" and is_quantized(x):
        require(op, x.zero_point == 0 and y.zero_point == 0,
                f"int16 input and output must have zero point 0 (have {x.zero_point}, {y.zero_point})")


def abs_params(x, y) -> dict:
    lo, hi = RANGES[x.dtype]
    m = IDENTITY if qm.f32(x.scale) == qm.f32(y.scale) else qm.quantize_multiplier(scale_ratio(x.scale, y.scale))
    return slopes_params(x.zero_point, y.zero_point, m, m, -1, 1, lo, hi)  # MBQM(|d|)


def _sat_pot(x: int, e: int) -> int:
    """gemmlowp's SaturatingRoundingMultiplyByPOT for e > 0."""
    threshold = (1 << (31 - e)) - 1
    return qm.INT32_MAX if x > threshold else qm.INT32_MIN if x < -threshold else qm._wrap32(x << e)


def inv_sqrt_multiplier(value: int) -> tuple[int, int]:
    """TFLite's GetInvSqrtQuantizedMultiplierExp(value, kReverseShift): 1/sqrt(value) as a
    multiplier and a left shift, by five Newton-Raphson steps in Q3.28."""
    if value <= 1:
        return qm.INT32_MAX, 0
    shift = 11
    while value >= 1 << 29:
        value //= 4
        shift += 1
    pairs = (32 - value.bit_length() - 1) // 2 - 1  # normalise into [2^27, 2^29) by bit pairs
    shift -= pairs
    value <<= 2 * pairs
    half_input = qm.rdbpot(value >> 1, 1)
    half_three = (1 << 28) + (1 << 27)
    x = 1 << 28
    for _ in range(5):
        x3 = _sat_pot(qm.srdhm(qm.srdhm(x, x), x), 6)
        x = _sat_pot(qm._wrap32(qm.srdhm(half_three, x) - qm.srdhm(half_input, x3)), 3)
    x = qm.srdhm(x, 1518500250)  # times sqrt(2)/2
    if shift < 0:
        x, shift = qm._wrap32(x << -shift), 0
    return x, -shift


def rsqrt_table(x, y) -> np.ndarray:
    """elementwise.cc's RsqrtEvalQuantized for every int8 input. TFLite Micro fails at run time on
    inputs below the zero point (negative reals); the table gives them 127, as for zero."""
    real = 1.0 / float(np.float32(np.float32(np.sqrt(np.float32(x.scale))) * np.float32(y.scale)))
    m, s = qm.quantize_multiplier(real)
    k_shift = 20
    out = []
    for v in range(-128, 128):
        d = v - x.zero_point
        if d <= 0:
            out.append(127)
            continue
        im, ish = inv_sqrt_multiplier(d)
        data = qm.mul_by_quantized_multiplier(1, im, ish + k_shift)
        out.append(max(-128, min(127, qm.mul_by_quantized_multiplier(data, m, s - k_shift) + y.zero_point)))
    return np.array(out, np.int8)


def prepare(op, g):
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    op.params = {"n": y.size}
    if x.dtype == "int8":
        if op.kind == "ABS":
            op.params["lut"] = slopes_lut(abs_params(x, y))
        else:
            op.params["lut"] = rsqrt_table(x, y)
    elif x.dtype == "int16" and is_quantized(x):
        op.params["slopes"] = abs_params(x, y)
        slopes_fit(op, x, op.params["slopes"])


def emit(op, g, c):
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    if "lut" in op.params:
        return lut_emit(op, g, c)
    if "slopes" in op.params:
        return slopes_emit(op, g, c)
    if x.dtype == "int16":
        return [f"kiln_abs_i16({c.ptr(x)}, {c.ptr(y)}, {y.size});"]
    return [f"kiln_map_f32({c.ptr(x)}, {c.ptr(y)}, {y.size}, {F_CODES[op.kind]});"]


register("ABS", check, prepare, emit, in_place=same_shape_input, types=("int8", "int16", "float32"),
         notes="int8: table; int16: quantized (zero point 0) or plain")
register("RSQRT", check, prepare, emit, in_place=same_shape_input, types=("int8", "float32"),
         notes="int8: table; inputs below the zero point (TFLite Micro fails on them) give 127")
for _kind in FLOAT_ONLY:
    register(_kind, check, prepare, emit, in_place=same_shape_input, types=("float32",),
             notes="halves to even" if _kind == "ROUND" else "")
