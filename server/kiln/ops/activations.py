"""HARD_SWISH, LEAKY_RELU and ELU.

float32 on math.h; int8 as 256-entry tables computed at compile time: LEAKY_RELU with TFLite's
two-slope rescale in Python (maths.slopes_value), HARD_SWISH and ELU with TFLite Micro's own values
(its int16 fixed-point HARD_SWISH and its float-built ELU table, evaluated by TFLite Micro on the
256 input bytes). int16 LEAKY_RELU runs kiln_slopes_s16 on the device.
"""
from __future__ import annotations

from .. import quantmath as qm
from .base import one_in_one_out, quantized, register, require, same_shape_input, same_size
from .maths import RANGES, scale_ratio, lut_emit, slopes_emit, slopes_fit, slopes_lut, slopes_params, tflm_table

TYPES = {"HARD_SWISH": ("float32", "int8"), "ELU": ("float32", "int8"), "LEAKY_RELU": ("float32", "int8", "int16")}


def check(op, g):
    x, y = one_in_one_out(op, g, TYPES[op.kind])
    same_size(op, x, y)
    if x.dtype == "float32":
        return
    quantized(op, x, "input")
    quantized(op, y, "output")
    if op.kind == "HARD_SWISH":  # TFLite Micro's Prepare: the output multiplier must be below 1
        ratio = scale_ratio(qm.f32(x.scale / 128.0), y.scale)
        require(op, qm.quantize_multiplier(ratio)[1] <= 0,
                f"int8 output scale {y.scale:.9g} is too small for input scale {x.scale:.9g} "
                "(TFLite Micro needs input scale / 128 < output scale)")


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
    else:
        op.params["lut"] = tflm_table(op, g)
        op.params["lut_note"] = f"{op.kind} for every int8 input -128..127: TFLite Micro's own values"


def emit(op, g, c):
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    if "lut" in op.params:
        return lut_emit(op, g, c)
    if "slopes" in op.params:
        return slopes_emit(op, g, c)
    if op.kind == "LEAKY_RELU":
        return [f"kiln_leaky_relu_f32({c.ptr(x)}, {c.ptr(y)}, {y.size}, {c.f32(op.params['alpha'])});"]
    return [f"kiln_map_f32({c.ptr(x)}, {c.ptr(y)}, {y.size}, KILN_F_{op.kind});"]


register("HARD_SWISH", check, prepare, emit, in_place=same_shape_input, types=TYPES["HARD_SWISH"],
         notes="int8: table of TFLite Micro's values")
register("LEAKY_RELU", check, prepare, emit, in_place=same_shape_input, types=TYPES["LEAKY_RELU"],
         notes="alpha any sign; int8: table; int16: two-slope rescale")
register("ELU", check, prepare, emit, in_place=same_shape_input, types=TYPES["ELU"],
         notes="int8: table of TFLite Micro's values")
