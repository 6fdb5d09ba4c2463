"""TRANSPOSE_CONV: float32, int8 (per-tensor or per-channel int8 weights) and int16 activations
with int8 weights (int64 or int16 bias), SAME / VALID, any strides, optional bias, fused
activation, as TFLite Micro.

Inputs: output_shape (int32), weights [out_c, kh, kw, in_c], input NHWC, optional bias. The
padding is TFLite's: that of a convolution from the output's size back to the input's
(ComputePaddingHeightWidth with the output's height and width). TFLite Micro scatters each
input pixel into an output-sized int32 scratch; Kiln gathers instead (each output pixel sums the
taps whose stride phase lands on it), so it needs no scratch, and requantizes each output with
TFLite's MultiplyByQuantizedMultiplier (the 64-bit one for int16). The input zero point cannot
be folded into the bias (at the borders the set of taps varies), so it is folded per tap: a table
of zp * (sum of the tap's weights) subtracted once per tap instead of once per MAC.
"""
from __future__ import annotations

import numpy as np

from .. import quantmath as qm
from .base import arity, dtype_in, fused_activation, quantized, register, require

PADDING = {0: "SAME", 1: "VALID"}


def _io(op, g):
    ins = g.op_inputs(op)
    shape, w, x = ins[:3]
    b = ins[3] if len(ins) > 3 else None
    (y,) = g.op_outputs(op)
    return shape, w, x, b, y


def check(op, g):
    arity(op, (3, 4))
    shape, w, x, b, y = _io(op, g)
    dtype_in(op, x, "input", ("int8", "int16", "float32"))
    dtype_in(op, y, "output", (x.dtype,))
    require(op, w is not None and w.is_const, "weights must be a constant tensor")
    dtype_in(op, w, "weights", ("float32",) if x.dtype == "float32" else ("int8",))
    require(op, len(x.shape) == 4 and len(y.shape) == 4 and len(w.shape) == 4,
            f"input {x.shape}, weights {w.shape} and output {y.shape} must all be 4-D")
    require(op, w.shape[3] == x.shape[3], f"weights {w.shape} do not match the input's {x.shape[3]} channels")
    require(op, y.shape[0] == x.shape[0] and y.shape[3] == w.shape[0],
            f"output {y.shape} does not match the input's batches and the weights' {w.shape[0]} output channels")
    require(op, shape is not None and shape.dtype == "int32", "output_shape must be an int32 tensor")
    if shape.is_const:
        require(op, [int(v) for v in shape.data.reshape(-1)] == list(y.shape),
                f"output_shape {shape.data.reshape(-1).tolist()} differs from the output tensor's shape {y.shape}")
    pad = op.options.get("padding", 0)
    require(op, pad in PADDING, f"padding {pad} is not supported (SAME or VALID)")
    sh, sw = op.options.get("stride_h", 1), op.options.get("stride_w", 1)
    require(op, sh >= 1 and sw >= 1, f"strides ({sh}, {sw}) must be positive")
    fused_activation(op)
    oc = w.shape[0]
    if x.dtype != "float32":
        quantized(op, x, "input")
        quantized(op, y, "output")
        quantized(op, w, "weights", per_tensor=False)
        require(op, all(z == 0 for z in w.quant.zero_point), "weights must be symmetric (zero point 0)")
        if w.quant.per_channel:
            require(op, len(w.quant.scale) == oc and w.quant.axis == 0,
                    f"per-channel weights need one scale per output channel along axis 0 "
                    f"(have {len(w.quant.scale)} scales on axis {w.quant.axis})")
        if x.dtype == "int16":
            require(op, x.zero_point == 0 and y.zero_point == 0, "int16 input and output must have zero point 0")
    if x.dtype == "int8":
        sh, sw = max(sh, 1), max(sw, 1)
        taps = -(-w.shape[1] // sh) * -(-w.shape[2] // sw) * w.shape[3]
        bmax = int(abs(b.data.astype(np.int64)).max()) if b is not None and b.is_const and b.size else 0
        require(op, taps * 255 * 128 + bmax < 2 ** 31,
                f"{taps} taps per output would overflow the int32 accumulator")
    if b is not None:
        dtype_in(op, b, "bias", {"float32": ("float32",), "int8": ("int32",), "int16": ("int64", "int16")}[x.dtype])
        require(op, b.is_const and b.size == oc, f"bias must be a constant of {oc} values")


def padding(pad: str, size: int, k: int, s: int) -> int:
    """ComputePaddingHeightWidth for a convolution over `size` (the transposed conv's output)."""
    out = (size + s - 1) // s if pad == "SAME" else (size + s - k) // s
    return max((out - 1) * s + k - size, 0) // 2


def prepare(op, g):
    shape, w, x, b, y = _io(op, g)
    n, ih, iw, ic = x.shape
    oc, kh, kw, _ = w.shape
    _, oh, ow, _ = y.shape
    pad = PADDING[op.options.get("padding", 0)]
    sh, sw = op.options.get("stride_h", 1), op.options.get("stride_w", 1)
    act = fused_activation(op)
    p = dict(batches=n, in_h=ih, in_w=iw, in_c=ic, out_h=oh, out_w=ow, out_c=oc, k_h=kh, k_w=kw,
             stride_h=sh, stride_w=sw, pad_h=padding(pad, oh, kh, sh), pad_w=padding(pad, ow, kw, sw), act=act,
             in_zp=0, out_zp=0, act_min=0, act_max=0, f_min=0.0, f_max=0.0)
    op.macs = n * ih * iw * ic * kh * kw * oc
    if x.dtype == "float32":
        p["f_min"], p["f_max"] = qm.activation_range_f(act)
    else:
        scales = list(w.quant.scale) if w.quant.per_channel else [w.quant.scale[0]] * oc
        mults = [qm.quantize_multiplier(x.scale * ws / y.scale) for ws in scales]  # double, as TFLite Micro
        p["mult"] = np.array([m for m, _ in mults], np.int32)
        p["shift"] = np.array([s for _, s in mults], np.int32)
        if x.dtype == "int8":
            p["in_zp"], p["out_zp"] = x.zero_point, y.zero_point
            p["act_min"], p["act_max"] = qm.activation_range_q(act, y.scale, y.zero_point)
        else:
            p["act_min"], p["act_max"] = qm.activation_range_q(act, y.scale, 0, -32768, 32767)
    op.params = p


def emit(op, g, c):
    shape, w, x, b, y = _io(op, g)
    p = op.params
    kind = {"float32": "f32", "int8": "s8", "int16": "s16"}[x.dtype]
    if b is None:
        bias = "NULL"
    elif x.dtype == "int16" and b.dtype == "int16":
        bias = c.array(f"op{op.index}_bias", b.data.astype(np.int64), "int64_t", f"bias '{b.name}' widened to int64")
    else:
        bias = c.const(b)
    if x.dtype == "float32":
        rq = "NULL, NULL, NULL"
    else:
        rq = (c.array(f"op{op.index}_mult", p["mult"], "int32_t", "per output channel multiplier") + ", " +
              c.array(f"op{op.index}_shift", p["shift"], "int32_t", "per output channel shift") + ", ")
        if x.dtype == "int8":
            zw = (p["in_zp"] * w.data.astype(np.int64).sum(axis=3)).reshape(-1).astype(np.int32)
            rq += c.array(f"op{op.index}_zp_wsum", zw, "int32_t",
                          "input zero point x the sum of each [out_c][k_h][k_w] tap's weights")
        else:
            rq += "NULL"
    return [
        "static const kiln_transpose_conv_params_t params = {",
        f"    {p['batches']}, {p['in_h']}, {p['in_w']}, {p['in_c']}, {p['out_h']}, {p['out_w']}, {p['out_c']},",
        f"    {p['k_h']}, {p['k_w']}, {p['stride_h']}, {p['stride_w']}, {p['pad_h']}, {p['pad_w']},",
        f"    {p['in_zp']}, {p['out_zp']}, {p['act_min']}, {p['act_max']}, {c.f32(p['f_min'])}, {c.f32(p['f_max'])}, {rq}",
        "};",
        f"kiln_transpose_conv_{kind}({c.ptr(x)}, {c.const(w)}, {bias}, {c.ptr(y)}, &params);",
    ]


register("TRANSPOSE_CONV", check, prepare, emit, types=("int8", "int16", "float32"),
         notes="SAME/VALID, any strides, optional bias, fused activation; int8 per-tensor or per-channel weights, int16x8")
