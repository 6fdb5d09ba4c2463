"""HARD_SWISH, LEAKY_RELU and ELU.

float32 on math.h; int8 as 256-entry tables computed at compile time, each TFLite Micro's
arithmetic replayed in Python: LEAKY_RELU's two-slope rescale (maths.slopes_value), HARD_SWISH's
int16 fixed point (reference_ops::HardSwish), ELU's float32 table (elu.cc's PopulateLookupTable,
expf from the C library). int16 LEAKY_RELU runs kiln_slopes_s16 on the device.
"""
from __future__ import annotations

import numpy as np

from .. import quantmath as qm
from .base import one_in_one_out, quantized, register, require, same_shape_input, same_size
from .maths import RANGES, lut_emit, scale_ratio, slopes_emit, slopes_fit, slopes_lut, slopes_params
from .softmax16 import F, _expf

TYPES = {"HARD_SWISH": ("float32", "int8"), "ELU": ("float32", "int8"), "LEAKY_RELU": ("float32", "int8", "int16")}


def check(op, g):
    x, y = one_in_one_out(op, g, TYPES[op.kind])
    same_size(op, x, y)
    if x.dtype == "float32":
        return
    quantized(op, x, "input")
    quantized(op, y, "output")
    if op.kind == "HARD_SWISH":  # TFLite Micro's Prepare: the output multiplier must be below 1
        require(op, hard_swish_multipliers(x, y)[1] <= 0,
                f"int8 output scale {y.scale:.9g} is too small for input scale {x.scale:.9g} "
                "(TFLite Micro needs input scale / 128 < output scale)")


# ---- HARD_SWISH int8: TFLite's int16 fixed point ----

def _w16(v: int) -> int:
    return ((v + 32768) & 0xFFFF) - 32768


def _srdhm16(a: int, b: int) -> int:
    """gemmlowp's SaturatingRoundingDoublingHighMul on int16."""
    if a == b == -32768:
        return 32767
    ab = a * b
    v = ab + ((1 << 14) if ab >= 0 else 1 - (1 << 14))
    q = abs(v) >> 15
    return _w16(q if v >= 0 else -q)


def _sdhm16(a: int, b: int) -> int:
    """SaturatingDoublingHighMul on int16: rounds toward zero."""
    if a == b == -32768:
        return 32767
    ab = a * b
    q = abs(ab) >> 15
    return _w16(q if ab >= 0 else -q)


def _sat_shl16(v: int, n: int) -> int:
    return max(-32768, min(32767, v * (1 << n)))


def _down16(m: int) -> int:
    """DownScaleInt32ToInt16Multiplier."""
    return 32767 if m >= (1 << 31) - 1 - (1 << 15) else (m + (1 << 15)) >> 16


def hard_swish_multipliers(x, y) -> tuple[int, int, int, int]:
    """(output multiplier int16, its exponent, relu-ish multiplier int16, its exponent), float32 as Prepare."""
    hires = F(F(1.0 / 128.0) * F(x.scale))
    om, oe = qm.quantize_multiplier(float(F(hires / F(y.scale))))
    rm, re = qm.quantize_multiplier(float(F(hires / F(3.0 / 32768.0))))
    return _down16(om), oe, _down16(rm), re


def hard_swish_table(x, y) -> np.ndarray:
    om, oe, rm, re = hard_swish_multipliers(x, y)
    out = []
    for v in range(-128, 128):
        hires = _w16(_w16(v - x.zero_point) * 128)
        pre = _srdhm16(hires, om)  # on the output scale, before the output shift
        r = hires  # relu-ish: [-3, 3] to [-1, 1] in Q0.15, saturating
        if re > 0:
            r = _sat_shl16(r, re - 1)
        r = _srdhm16(r, rm)
        if re > 0:
            r = _sat_shl16(r, 1)
        if re < 0:
            r = qm.rdbpot(r, -re)
        r = (r + (1 << 15)) >> 1  # to [0, 1]
        o = _w16(qm.rdbpot(_sdhm16(r, pre), -oe) + y.zero_point)
        out.append(max(-128, min(127, o)))
    return np.array(out, np.int8)


def elu_table(x, y) -> np.ndarray:
    """elu.cc's PopulateLookupTable: dequantize, exp(v) - 1 below 0, requantize, all in float32."""
    inv = F(F(1) / F(y.scale))
    out = []
    for v in range(-128, 128):
        deq = F(F(x.scale) * F(v - x.zero_point))
        t = F(_expf(deq) - F(1)) if deq < 0 else deq
        r = F(qm.round_half_away(float(F(t * inv))))
        out.append(max(-128, min(127, int(F(r + F(y.zero_point))))))
    return np.array(out, np.int8)


def leaky_params(op, x, y) -> dict:
    alpha = qm.f32(op.options.get("alpha", 0.0) or 0.0)
    ident = qm.quantize_multiplier(scale_ratio(x.scale, y.scale))
    m_a, s_a = qm.quantize_multiplier(qm.f32(x.scale) * alpha / qm.f32(y.scale))
    lo, hi = RANGES[x.dtype]
    return slopes_params(x.zero_point, y.zero_point, ident, (abs(m_a), s_a), 1, -1 if m_a < 0 else 1, lo, hi)


def prepare(op, g):
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    op.params = {"n": y.size, "alpha": qm.f32(op.options.get("alpha", 0.0) or 0.0)}
    if x.dtype == "float32":
        return
    if op.kind == "LEAKY_RELU":
        p = leaky_params(op, x, y)
        slopes_fit(op, x, p)
        if x.dtype == "int8":
            op.params["lut"] = slopes_lut(p)
        else:
            op.params["slopes"] = p
    elif op.kind == "HARD_SWISH":
        op.params["lut"] = hard_swish_table(x, y)
    else:
        op.params["lut"] = elu_table(x, y)


def emit(op, g, c):
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    if "lut" in op.params:
        return lut_emit(op, g, c)
    if "slopes" in op.params:
        return slopes_emit(op, g, c)
    if op.kind == "LEAKY_RELU":
        return [f"kiln_leaky_relu_f32({c.ptr(x)}, {c.ptr(y)}, {y.size}, {c.f32(op.params['alpha'])});"]
    return [f"kiln_map_f32({c.ptr(x)}, {c.ptr(y)}, {y.size}, KILN_MAP_{op.kind});"]


register("HARD_SWISH", check, prepare, emit, in_place=same_shape_input, types=TYPES["HARD_SWISH"],
         notes="int8: table")
register("LEAKY_RELU", check, prepare, emit, in_place=same_shape_input, types=TYPES["LEAKY_RELU"],
         notes="alpha any sign; int8: table; int16: two-slope rescale")
register("ELU", check, prepare, emit, in_place=same_shape_input, types=TYPES["ELU"],
         notes="int8: table")
