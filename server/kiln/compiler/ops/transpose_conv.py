"""TRANSPOSE_CONV: float32, int8 (per-tensor or per-channel int8 weights) and int16 activations
with int8 weights (int64 or int16 bias), SAME / VALID, any strides, optional bias, fused
activation, as TFLite Micro.

Inputs: output_shape (int32), weights [out_c, kh, kw, in_c], input NHWC, optional bias. The
padding is TFLite's: that of a convolution from the output's size back to the input's
(ComputePaddingHeightWidth with the output's height and width). TFLite Micro scatters each
input pixel into an output-sized int32 scratch; Kiln gathers instead (each output pixel sums the
taps whose stride phase lands on it), so it needs no scratch, and requantizes each output with
TFLite's MultiplyByQuantizedMultiplier (the 64-bit one for int16).

int8 runs on the convolution's kernel instead: each stride phase of the output is an ordinary
stride-1 convolution over the input with that phase's taps reversed (stride_phases), written by
kiln_conv_s8 every stride-th pixel, so a transposed convolution costs what a convolution of the
same MACs costs (its DSP loop, the input zero point folded into each phase's bias). 16x8 does the
same with kiln_conv_s16_pairs where every channel's sums stay within int32.
"""
from __future__ import annotations

import numpy as np

from .. import quantmath as qm
from . import conv, conv16x8
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


def stride_phases(p: dict, w: np.ndarray) -> list[dict]:
    """A transposed convolution as stride_h x stride_w ordinary ones, one per output stride phase
    (ry, rx): the outputs (ry + stride_h * j, rx + stride_w * i) take the taps fy = f0 + stride_h * t
    with f0 = (ry + pad_h) % stride_h, from input row (ry + pad_h - f0) / stride_h + j - t. That is
    a stride-1 convolution over the input with those taps in reverse order and padding T - 1 - that
    base row (T taps; negative padding starts inside the image), whose outputs the kernel writes
    every stride-th pixel (out_steps). Taps outside the input read the zero point, which the folded
    bias cancels: exactly TFLite Micro's sums. A phase with no taps (stride above the kernel) keeps
    one zero weight, so its outputs are the requantized bias."""
    out = []
    for ry in range(p["stride_h"]):
        for rx in range(p["stride_w"]):
            geo = dict(batches=p["batches"], in_h=p["in_h"], in_w=p["in_w"], in_c=p["in_c"], out_c=p["out_c"],
                       stride_h=1, stride_w=1, dil_h=1, dil_w=1)
            taps = []
            for axis, r, k in (("h", ry, p["k_h"]), ("w", rx, p["k_w"])):
                s, pad, size = p[f"stride_{axis}"], p[f"pad_{axis}"], p[f"out_{axis}"]
                f0 = (r + pad) % s
                n = -(-(k - f0) // s) if f0 < k else 0
                base = (r + pad - f0) // s
                geo[f"out_{axis}"] = -(-(size - r) // s) if r < size else 0
                geo[f"k_{axis}"] = max(n, 1)
                geo["pad_top" if axis == "h" else "pad_left"] = n - 1 - base if n else 1  # tapless: not "pointwise"
                taps.append(slice(f0 + (n - 1) * s, None if f0 == 0 else f0 - 1, -s) if n else None)
            if taps[0] is None or taps[1] is None:
                geo["filter"] = np.zeros((p["out_c"], 1, 1, p["in_c"]), w.dtype)
            else:
                geo["filter"] = np.ascontiguousarray(w[:, taps[0], taps[1], :])
            geo["out_steps"] = (p["stride_w"] * p["out_c"], p["stride_h"] * p["out_w"] * p["out_c"],
                                p["out_h"] * p["out_w"] * p["out_c"])
            geo["offset"] = (ry * p["out_w"] + rx) * p["out_c"]
            out.append(geo)
    return out


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
            bias = b.data.astype(np.int64) if b is not None else np.zeros(oc, np.int64)
            p["phases"] = [phase for phase in stride_phases(p, w.data) if phase["out_h"] and phase["out_w"]]
            for phase in p["phases"]:
                phase.update(mult=p["mult"], shift=p["shift"], out_zp=p["out_zp"], act_min=p["act_min"],
                             act_max=p["act_max"], depth_multiplier=1)
                phase["scratch"] = conv.taps_layout(phase, ic, None)
                conv.plan_s8(phase, phase.pop("filter"), bias, p["in_zp"])
            op.scratch_bytes = max(phase["scratch"] for phase in p["phases"])
        else:
            p["act_min"], p["act_max"] = qm.activation_range_q(act, y.scale, 0, -32768, 32767)
            if conv16x8.int32_exact(conv16x8.channel_abs_sums(w.data, False)):
                # every phase's sums within int32 (each takes a part of the taps): kiln_conv_s16_pairs
                p["phases"] = [phase for phase in stride_phases(p, w.data) if phase["out_h"] and phase["out_w"]]
                for phase in p["phases"]:
                    phase.update(acc64=1, act_min=p["act_min"], act_max=p["act_max"], depth_multiplier=1,
                                 mult=p["mult"], shift=p["shift"])
                    phase["rq16"] = conv16x8.fast_rescale(phase, b.data if b is not None else None,
                                                          conv16x8.channel_abs_sums(phase["filter"], False))
                op.scratch_bytes = max(conv16x8.pairs_scratch(int(np.prod(ph["filter"].shape[1:]))) for ph in p["phases"])
    op.params = p


def emit(op, g, c):
    shape, w, x, b, y = _io(op, g)
    p = op.params
    kind = {"float32": "f32", "int8": "s8", "int16": "s16"}[x.dtype]
    if x.dtype == "int8":
        return emit_phases(op, w, x, y, c)
    if b is None:
        bias = "NULL"
    elif x.dtype == "int16" and b.dtype == "int16":
        bias = c.array(f"op{op.index}_bias", b.data.astype(np.int64), "int64_t", f"bias '{b.name}' widened to int64")
    else:
        bias = c.const(b)
    if "phases" in p:
        return emit_phases16(op, w, x, y, c, bias)
    if x.dtype == "float32":
        rq = "NULL, NULL"
    else:
        rq = (c.array(f"op{op.index}_mult", p["mult"], "int32_t", "per output channel multiplier") + ", " +
              c.array(f"op{op.index}_shift", p["shift"], "int32_t", "per output channel shift"))
    return [
        "static const kiln_transpose_conv_params_t params = {",
        f"    {p['batches']}, {p['in_h']}, {p['in_w']}, {p['in_c']}, {p['out_h']}, {p['out_w']}, {p['out_c']},",
        f"    {p['k_h']}, {p['k_w']}, {p['stride_h']}, {p['stride_w']}, {p['pad_h']}, {p['pad_w']},",
        f"    {p['in_zp']}, {p['out_zp']}, {p['act_min']}, {p['act_max']}, {c.f32(p['f_min'])}, {c.f32(p['f_max'])}, {rq}",
        "};",
        f"kiln_transpose_conv_{kind}({c.ptr(x)}, {c.const(w)}, {bias}, {c.ptr(y)}, &params);",
    ]


def emit_phases(op, w, x, y, c) -> list[str]:
    """int8: one kiln_conv_s8 call per stride phase (stride_phases), each writing its own pixels."""
    lines = []
    for k, ph in enumerate(op.params["phases"]):
        filt = c.array(f"op{op.index}_phase{k}_filter", ph["packed"], "int32_t",
                       f"filter '{w.name}' {w.describe()}: the taps of stride phase {k} "
                       f"({ph['k_h']}x{ph['k_w']}, reversed), with each channel pair's bias (input zero point folded "
                       "in) and requantization, packed for kiln_conv_s8 (see conv.pack_conv)")
        zp = conv.zp_vector(c, f"op{op.index}_phase{k}_zp", ph)
        steps = ", ".join(str(v) for v in ph["out_steps"])
        lines += ["{"] + ["    " + line for line in conv.s8_params(ph)] + [
            f"    static const int32_t out_steps[3] = {{{steps}}}; /* bytes between the phase's pixels, rows, batches */",
            f"    kiln_conv_s8_strided({c.ptr(x)}, {filt}, {c.ptr(y)} + {ph['offset']}, &params, {c.scratch(op)}, {zp}, "
            "out_steps);", "}"]
    return lines


def emit_phases16(op, w, x, y, c, bias: str) -> list[str]:
    """16x8: one kiln_conv_s16_pairs call per stride phase, its sums in int32 (checked by prepare),
    the 64-bit rescale with the int64 bias after them as TFLite Micro's."""
    p = op.params
    mult = c.array(f"op{op.index}_mult", p["mult"], "int32_t", "per output channel multiplier")
    shift = c.array(f"op{op.index}_shift", p["shift"], "int32_t", "per output channel shift")
    lines = []
    for k, ph in enumerate(p["phases"]):
        filt = c.array(f"op{op.index}_phase{k}_filter", conv16x8.pack_pairs(ph["filter"]), "int32_t",
                       f"filter '{w.name}' {w.describe()}: the taps of stride phase {k} ({ph['k_h']}x{ph['k_w']}, "
                       "reversed) as int16 pairs (see conv16x8.pack_pairs)")
        geo = ", ".join(str(ph[key]) for key in conv.GEOMETRY)
        rq = conv16x8.rq_table(c, f"op{op.index}_phase{k}_rq", ph["rq16"])
        lines += ["{"] + ["    " + line for line in conv16x8.s16_params(ph, geo, mult, shift, 0, ph["out_steps"], rq)] + [
            f"    kiln_conv_s16_pairs({c.ptr(x)}, {filt}, {bias}, {c.ptr(y)} + {ph['offset']}, &params, "
            f"(int16_t *)(void *){c.scratch(op)});", "}"]
    return lines


register("TRANSPOSE_CONV", check, prepare, emit, types=("int8", "int16", "float32"),
         notes="SAME/VALID, any strides, optional bias, fused activation; int8 per-tensor or per-channel weights, int16x8")
