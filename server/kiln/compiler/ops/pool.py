"""AVERAGE_POOL_2D and MAX_POOL_2D, int8, int16 and float32, NHWC.

int8 and int16 pools work in the input's quantization, as TFLite's (which requires output = input
quantization); the average rounds half away from zero over the taps inside the image.
"""
from __future__ import annotations

from .. import quantmath as qm
from .base import fused_activation, one_in_one_out, quantized, register, require
from .conv import SAME, VALID, out_size, pad_before

TYPES = ("int8", "int16", "float32")


def check(op, g):
    x, y = one_in_one_out(op, g, TYPES)
    require(op, len(x.shape) == 4 and len(y.shape) == 4, f"needs 4-D NHWC tensors, got {x.shape} -> {y.shape}")
    fused_activation(op)
    o = op.options
    for key in ("stride_h", "stride_w", "filter_height", "filter_width"):
        require(op, o.get(key, 1) >= 1, f"{key} must be at least 1, is {o.get(key)}")
    require(op, o.get("padding", SAME) in (SAME, VALID), f"unknown padding {o.get('padding')}")
    oh = out_size(o.get("padding", SAME), x.shape[1], o["filter_height"], o["stride_h"], 1)
    ow = out_size(o.get("padding", SAME), x.shape[2], o["filter_width"], o["stride_w"], 1)
    require(op, y.shape == [x.shape[0], oh, ow, x.shape[3]],
            f"output shape {y.shape} does not follow from input {x.shape} and the options "
            f"(expected [{x.shape[0]}, {oh}, {ow}, {x.shape[3]}])")
    raw_max = op.kind == "MAX_POOL_2D" and x.quant is None and y.quant is None
    if x.dtype in ("int8", "int16") and not raw_max:
        quantized(op, x, "input")
        quantized(op, y, "output")
        require(op, x.zero_point == y.zero_point and abs(qm.f32(x.scale) - qm.f32(y.scale)) <= 1e-6,
                f"{x.dtype} pooling needs the same quantization on input and output")
    if raw_max and x.dtype != "float32":  # TFLite Micro compares the raw values: so does Kiln
        require(op, fused_activation(op) == "NONE", "a fused activation needs quantization parameters")


def prepare(op, g):
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    o = op.options
    kh, kw, sh, sw = o["filter_height"], o["filter_width"], o["stride_h"], o["stride_w"]
    p = dict(batches=x.shape[0], in_h=x.shape[1], in_w=x.shape[2], channels=x.shape[3], out_h=y.shape[1],
             out_w=y.shape[2], k_h=kh, k_w=kw, stride_h=sh, stride_w=sw,
             pad_top=pad_before(sh, 1, x.shape[1], kh, y.shape[1]), pad_left=pad_before(sw, 1, x.shape[2], kw, y.shape[2]))
    p["act"] = act = fused_activation(op)
    if x.dtype == "float32":
        p["act_min"], p["act_max"] = qm.activation_range_f(act)
    elif y.quant is None:  # a max pool of raw values (check allows it without an activation)
        p["act_min"], p["act_max"] = qm.int_range(x.dtype)
    else:
        p["act_min"], p["act_max"] = qm.activation_range_q(act, y.scale, y.zero_point, *qm.int_range(x.dtype))
    op.macs = y.size * kh * kw if op.kind == "AVERAGE_POOL_2D" else 0
    op.params = p


FIELDS = ["batches", "in_h", "in_w", "channels", "out_h", "out_w", "k_h", "k_w", "stride_h", "stride_w",
          "pad_top", "pad_left"]


def emit(op, g, c):
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    p = op.params
    kind = "avg" if op.kind == "AVERAGE_POOL_2D" else "max"
    geo = ", ".join(str(p[k]) for k in FIELDS)
    lo, hi = (c.f32(p["act_min"]), c.f32(p["act_max"])) if x.dtype == "float32" else (p["act_min"], p["act_max"])
    suffix = {"float32": "f32", "int8": "s8", "int16": "s16"}[x.dtype]
    return [f"static const kiln_pool_geometry_t geo = {{{geo}}};",
            f"kiln_{kind}_pool_{suffix}({c.ptr(x)}, {c.ptr(y)}, &geo, {lo}, {hi});"]


register("AVERAGE_POOL_2D", check, prepare, emit, types=TYPES, notes="SAME/VALID, strides, fused activations")
register("MAX_POOL_2D", check, prepare, emit, types=TYPES, notes="SAME/VALID, strides, fused activations")
