"""L2_POOL_2D: float32 only (all TFLite Micro takes), SAME / VALID, strides, filter size, fused
activation: sqrt(mean of the squares) over the window's in-bounds taps."""
from __future__ import annotations

from .. import quantmath as qm
from .base import dtype_in, fused_activation, one_in_one_out, register, require
from .transpose_conv import padding as conv_padding

PADDING = {0: "SAME", 1: "VALID"}


def _out(size, k, s, pad):
    return (size + s - 1) // s if pad == "SAME" else (size + s - k) // s


def check(op, g):
    x, y = one_in_one_out(op, g, ("float32",))
    dtype_in(op, y, "output", ("float32",))
    require(op, len(x.shape) == 4, f"input must be 4-D NHWC, got shape {x.shape}")
    o = op.options
    pad = o.get("padding", 0)
    require(op, pad in PADDING, f"padding {pad} is not supported (SAME or VALID)")
    sh, sw, fh, fw = o.get("stride_h", 1), o.get("stride_w", 1), o.get("filter_height", 1), o.get("filter_width", 1)
    require(op, min(sh, sw, fh, fw) >= 1, f"strides ({sh}, {sw}) and filter ({fh}, {fw}) must be positive")
    fused_activation(op)
    want = [x.shape[0], _out(x.shape[1], fh, sh, PADDING[pad]), _out(x.shape[2], fw, sw, PADDING[pad]), x.shape[3]]
    require(op, list(y.shape) == want, f"output shape {y.shape} is not {want}")
    require(op, want[1] > 0 and want[2] > 0, f"the filter ({fh}, {fw}) does not fit the input {x.shape}")


def prepare(op, g):
    x = g.op_inputs(op)[0]
    (y,) = g.op_outputs(op)
    o = op.options
    pad = PADDING[o.get("padding", 0)]
    sh, sw, fh, fw = o.get("stride_h", 1), o.get("stride_w", 1), o.get("filter_height", 1), o.get("filter_width", 1)
    act = fused_activation(op)
    lo, hi = qm.activation_range_f(act)
    op.params = dict(batches=x.shape[0], in_h=x.shape[1], in_w=x.shape[2], c=x.shape[3], out_h=y.shape[1],
                     out_w=y.shape[2], f_h=fh, f_w=fw, s_h=sh, s_w=sw, pad_h=conv_padding(pad, x.shape[1], fh, sh),
                     pad_w=conv_padding(pad, x.shape[2], fw, sw), act=act, lo=lo, hi=hi)
    op.macs = y.size * fh * fw


def emit(op, g, c):
    x = g.op_inputs(op)[0]
    (y,) = g.op_outputs(op)
    p = op.params
    return ["static const kiln_l2pool_params_t params = {",
            f"    {p['batches']}, {p['in_h']}, {p['in_w']}, {p['c']}, {p['out_h']}, {p['out_w']},",
            f"    {p['f_h']}, {p['f_w']}, {p['s_h']}, {p['s_w']}, {p['pad_h']}, {p['pad_w']}, {c.f32(p['lo'])}, {c.f32(p['hi'])}",
            "};",
            f"kiln_l2pool_f32({c.ptr(x)}, {c.ptr(y)}, &params);"]


register("L2_POOL_2D", check, prepare, emit, types=("float32",),
         notes="SAME/VALID, strides, filter size, fused activation")
