"""CONV_2D and DEPTHWISE_CONV_2D: int8 (per-channel or per-tensor weights) and float32, NHWC.

Strides, dilation, SAME/VALID padding, depth multiplier and fused activations as TFLite. For int8
CONV_2D the input zero point is folded into the bias (bias - zp * sum(w)) and taps outside the
image read as the zero point, which is exactly TFLite's "skip the tap"; DEPTHWISE_CONV_2D keeps
the bias and skips those taps.
"""
from __future__ import annotations

import numpy as np

from .. import quantmath as qm
from ..ir import DTYPES
from . import conv16x8, depthwise, packing, planes, rowpairs
from .base import arity, dtype_in, fused_activation, quantized, register, require

SAME, VALID = 0, 1


def out_size(padding: int, size: int, k: int, stride: int, dilation: int) -> int:
    eff = (k - 1) * dilation + 1
    return (size + stride - 1) // stride if padding == SAME else (size - eff + stride) // stride


def pad_before(stride: int, dilation: int, size: int, k: int, out: int) -> int:
    """TFLite's ComputePaddingWithOffset: the odd pixel of padding goes after, not before."""
    eff = (k - 1) * dilation + 1
    return max((out - 1) * stride + eff - size, 0) // 2


def _geometry(op, x, y, kh, kw):
    o = op.options
    sh, sw = o.get("stride_h", 1), o.get("stride_w", 1)
    dh, dw = o.get("dilation_h_factor", 1), o.get("dilation_w_factor", 1)
    padding = o.get("padding", SAME)
    _, ih, iw, _ = x.shape
    oh, ow = out_size(padding, ih, kh, sh, dh), out_size(padding, iw, kw, sw, dw)
    return dict(batches=x.shape[0], in_h=ih, in_w=iw, in_c=x.shape[3], out_h=oh, out_w=ow, out_c=y.shape[3],
                k_h=kh, k_w=kw, stride_h=sh, stride_w=sw, dil_h=dh, dil_w=dw,
                pad_top=pad_before(sh, dh, ih, kh, oh), pad_left=pad_before(sw, dw, iw, kw, ow), padding=padding)


def check(op, g):
    dw = op.kind == "DEPTHWISE_CONV_2D"
    arity(op, (2, 3))
    x, w, *rest = g.op_inputs(op)
    b = rest[0] if rest else None
    (y,) = g.op_outputs(op)
    dtype_in(op, x, "input", ("int8", "int16", "float32"))
    dtype_in(op, y, "output", (x.dtype,))
    dtype_in(op, w, "filter", ("int8",) if x.dtype == "int16" else (x.dtype,))
    require(op, w.is_const, "the filter must be a constant tensor")
    require(op, len(x.shape) == 4 and len(y.shape) == 4 and len(w.shape) == 4,
            f"needs 4-D NHWC input, filter and output (got {x.shape}, {w.shape}, {y.shape})")
    fused_activation(op)
    o = op.options
    for key in ("stride_h", "stride_w", "dilation_h_factor", "dilation_w_factor"):
        require(op, o.get(key, 1) >= 1, f"{key} must be at least 1, is {o.get(key)}")
    require(op, o.get("padding", SAME) in (SAME, VALID), f"unknown padding {o.get('padding')}")
    if dw:
        require(op, w.shape[0] == 1, f"depthwise filter must be [1, h, w, channels], got {w.shape}")
        require(op, w.shape[3] == y.shape[3] and y.shape[3] == x.shape[3] * (y.shape[3] // max(x.shape[3], 1))
                and y.shape[3] % x.shape[3] == 0,
                f"channels do not match a depth multiplier: input {x.shape[3]}, filter {w.shape[3]}, output {y.shape[3]}")
        kh, kw = w.shape[1], w.shape[2]
    else:
        require(op, w.shape[3] == x.shape[3],
                f"grouped convolution (filter depth {w.shape[3]}, input depth {x.shape[3]}) is not supported")
        require(op, w.shape[0] == y.shape[3], f"filter has {w.shape[0]} output channels, output has {y.shape[3]}")
        kh, kw = w.shape[1], w.shape[2]
    geo = _geometry(op, x, y, kh, kw)
    require(op, [geo["out_h"], geo["out_w"]] == y.shape[1:3] and y.shape[0] == x.shape[0],
            f"output shape {y.shape} does not follow from input {x.shape}, filter {w.shape} and the options "
            f"(expected [{x.shape[0]}, {geo['out_h']}, {geo['out_w']}, {y.shape[3]}])")
    if x.dtype == "int16":
        conv16x8.check16(op, x, w, b, y)
    elif b is not None:
        dtype_in(op, b, "bias", ("int32",) if x.dtype == "int8" else ("float32",))
    if b is not None:
        require(op, b.is_const and b.size == y.shape[3], f"bias must be a constant of {y.shape[3]} values")
    if x.dtype in ("int8", "int16"):
        quantized(op, x, "input")
        quantized(op, y, "output")
        quantized(op, w, "filter", per_tensor=False)
        require(op, all(z == 0 for z in w.quant.zero_point), "the filter must be symmetric (zero point 0)")
        axis = 3 if dw else 0
        if w.quant.per_channel:
            require(op, len(w.quant.scale) == y.shape[3] and w.quant.axis == axis,
                    f"per-channel filter needs {y.shape[3]} scales on axis {axis} "
                    f"(has {len(w.quant.scale)} on axis {w.quant.axis})")


def weight_scales(w, y) -> list:
    """The filter's scale per output channel (a per-tensor scale repeated)."""
    return w.quant.scale if w.quant.per_channel else w.quant.scale * y.shape[3]


def prepare(op, g):
    x, w, *rest = g.op_inputs(op)
    variant = op.variant
    one_channel_conv = depthwise.single_channel_conv(op, g)
    if variant is None and ((op.kind == "DEPTHWISE_CONV_2D" and x.dtype == "int8") or one_channel_conv):
        variant = (variants(op, g) or [None])[0]  # the untuned default (depthwise.variants)
    as_conv = depthwise.single_channel(op, g) and variant != "planes"
    as_depthwise = one_channel_conv and variant == "planes"
    dw_layer = (op.kind == "DEPTHWISE_CONV_2D" and not as_conv) or as_depthwise
    # [1, kh, kw, M] <-> [M, kh, kw, 1]: one input channel's filters either way (or two side by side)
    wdata = (np.transpose(w.data, (3, 1, 2, 0)) if as_conv else depthwise.filter_of(op, g) if as_depthwise
             else w.data)
    b = rest[0] if rest else None
    (y,) = g.op_outputs(op)
    kh, kw = w.shape[1], w.shape[2]
    p = _geometry(op, x, y, kh, kw)
    taps = kh * kw * (x.shape[3] if op.kind == "CONV_2D" else 1)
    op.macs = p["batches"] * p["out_h"] * p["out_w"] * p["out_c"] * taps
    if as_depthwise:  # the image's channels side by side as one
        p = depthwise.as_one_channel(p)
    p["act"] = act = fused_activation(op)
    p["depth_multiplier"] = y.shape[3] // p["in_c"] if dw_layer else 1
    p["as_conv"], p["as_depthwise"] = as_conv, as_depthwise
    if x.dtype == "float32":
        p["act_min"], p["act_max"] = qm.activation_range_f(act)
        op.params = p
        return
    if x.dtype == "int16":
        conv16x8.prepare16(op, p, x, w, b, y)
        op.params = p
        return
    p["mult"], p["shift"] = qm.channel_multipliers(x.scale, weight_scales(w, y), y.scale)
    bias = b.data.astype(np.int64) if b is not None else np.zeros(y.shape[3], np.int64)
    p["in_zp"], p["out_zp"] = x.zero_point, y.zero_point
    p["act_min"], p["act_max"] = qm.activation_range_q(act, y.scale, y.zero_point)
    wsum = np.abs(wdata.astype(np.int64)).reshape(-1, y.shape[3]).sum(axis=0) if dw_layer else None

    def requant(acc_bias, per_input):  # the requantization table, kiln_rq where it is exact
        p["rq"], p["rq_fast"] = qm.requant_for_sums(p["mult"], p["shift"], y.zero_point, acc_bias, wsum, per_input)

    if not dw_layer:
        op.scratch_bytes = taps_layout(p, x.shape[3], op.variant)
        parts = plan_s8(p, wdata, bias, x.zero_point)
    else:
        parts = depthwise.prepare_s8(op, g, p, wdata, bias, variant, requant)
    if w.int4:  # INT4 weights stay nibbles in flash (half the bytes); expanded into scratch at each run
        if parts is None:  # the multiplier kernel's int16 pairs, or the int8 weights the others walk
            parts = ([packing.Weights(p["multiplier_filter"], 2)] if "multiplier_filter" in p
                     else [packing.Weights(packing.byte_words(wdata), 4)])
        p["nibbles"], p["runs"] = packing.nibble_stream(parts)
        p["expanded_bytes"] = 4 * packing.stream(parts).size
        op.scratch_bytes += p["expanded_bytes"]
    op.params = p


MAX_TAPS = depthwise.MAX_TAPS


def taps_layout(p: dict, in_c: int, variant: str | None) -> int:
    """How int8 CONV_2D reads its taps (p["im2col"], p["tap_len"], p["wide"] for filter geometry p and
    a `kiln tune` variant) and the kernel's scratch bytes: im2col columns of two pixels, then both
    widened to int16 in even steps (rows: room for Helium's four columns in 16-byte steps)."""
    kh, kw = p["k_h"], p["k_w"]
    in_place = direct_possible(in_c, kh, kw) and not (variant or "").startswith("im2col")
    p["tap_len"] = in_c if in_place else -(-kh * kw * in_c // 4) * 4
    p["im2col"] = not in_place
    p["wide"] = (variant or "").endswith("16")
    p["rows"] = variant == "rows"  # each channel's weights in one run: portable loops, Helium
    depth, step = kh * kw * in_c if in_place else p["tap_len"], 16 if p["rows"] else 8
    return (0 if in_place else 2 * p["tap_len"]) + 4 * (-(-depth // step) * step)


def plan_s8(p: dict, wdata: np.ndarray, bias: np.ndarray, in_zp: int) -> list:
    """The packed filter stream of kiln_conv_s8 for filter wdata [out_c, k_h, k_w, in_c] and its
    bias, on a plan p that has its taps layout (taps_layout), mult, shift, out_zp, act_min and
    act_max: the input zero point folded into the bias, requantization constants, the stream's
    parts (also packed into p["packed"])."""
    out_c = wdata.shape[0]
    p["bias"] = (np.asarray(bias, np.int64) - in_zp * wdata.astype(np.int64).reshape(out_c, -1).sum(axis=1)).astype(np.int32)
    p["in_zp"] = in_zp
    wsum = np.abs(wdata.astype(np.int64)).reshape(out_c, -1).sum(axis=1)
    p["rq"], p["rq_fast"] = qm.requant_for_sums(p["mult"], p["shift"], p["out_zp"], p["bias"], wsum)
    parts = pack_conv(wdata, p["bias"], p["rq"], 1 if p["im2col"] else p["k_h"] * p["k_w"], p["tap_len"], p["wide"],
                      runs=p.get("rows", False))
    p["packed"] = packing.stream(parts)
    return parts


def pack_conv(w: np.ndarray, bias: np.ndarray, rq: np.ndarray, taps: int, tap_len: int, wide: bool,
              runs: bool = False) -> list:
    """The parts of the stream of int32 words kiln_conv_s8 walks with one pointer. For each pair of output
    channels: their two biases; for every 4 bytes of depth of every tap (a "step"), each channel's
    4 weights, as one word of int8 or (wide) two words of int16 pairs, depth bytes 0 and 2 then 1
    and 3 (SMLAD's operands, so the loop needs no SXTB16), with one step more of zeros when the
    count is odd (the loop does two at a time); then each channel's 3 requantization words. An
    odd last channel: its bias, its weights plainly (int8, padded to a word), its 3 words.
    Taps are padded with zero weights to tap_len (im2col columns are padded with zeros too).

    Reading taps in place needs in_c % 4 == 0; otherwise (narrow inputs, e.g. a first layer on a
    1-channel image) the kernel im2col's two pixels into a scratch buffer of 2 * tap_len bytes.
    runs (the "rows" variant, int8): a pair's weights as each channel's steps in one run, then the
    other's, instead of alternating step by step."""
    out_c = w.shape[0]
    cols = w.reshape(out_c, taps, -1)
    cols = np.pad(cols, ((0, 0), (0, 0), (0, tap_len - cols.shape[2]))).reshape(out_c, -1)  # [oc, taps * tap_len]
    rows = cols.reshape(out_c, -1, 4)  # [oc, steps, 4]
    if rows.shape[1] % 2:
        rows = np.pad(rows, ((0, 0), (0, 1), (0, 0)))
    chunks = packing.widened(rows) if wide else packing.byte_words(rows).reshape(out_c, -1, 1)  # [oc, steps, words]
    rq = np.asarray(rq, np.int64).reshape(out_c, 3)
    parts = []
    for k in range(out_c // 2):
        a, b = 2 * k, 2 * k + 1
        pair = np.concatenate([chunks[a], chunks[b]]) if runs else np.stack([chunks[a], chunks[b]], axis=1)
        parts += [bias[a:b + 1], packing.Weights(pair, 2 if wide else 4), rq[a], rq[b]]
    if out_c % 2:
        parts += [bias[-1:], packing.Weights(packing.byte_words(cols[-1]), 4), rq[-1]]
    return parts


GEOMETRY = ["batches", "in_h", "in_w", "in_c", "out_h", "out_w", "out_c", "k_h", "k_w",
            "stride_h", "stride_w", "dil_h", "dil_w", "pad_top", "pad_left"]


def emit(op, g, c):
    p = op.params
    dw = (op.kind == "DEPTHWISE_CONV_2D" and not p.get("as_conv")) or p.get("as_depthwise", False)
    x, w, *rest = g.op_inputs(op)
    b = rest[0] if rest else None
    (y,) = g.op_outputs(op)
    geo = ", ".join(str(p[k]) for k in GEOMETRY)
    fn = "depthwise_conv" if dw else "conv"
    if x.dtype == "float32":
        bias = c.const(b) if b is not None else "NULL"
        return [
            "static const kiln_conv_geometry_t geo = {",
            f"    {geo}, {p['depth_multiplier']}",
            "};",
            f"kiln_{fn}_f32({c.ptr(x)}, {c.const(w)}, {bias}, {c.ptr(y)}, &geo, {c.f32(p['act_min'])}, {c.f32(p['act_max'])});",
        ]
    if x.dtype == "int16":
        return conv16x8.emit16(op, c, x, w, b, y, geo)
    if dw and "packed" not in p and "planes" not in p and "rowpairs" not in p:
        folded = "multiplier_filter" in p or p.get("rows", False)  # those kernels start from the folded bias
        bias = c.array(f"op{op.index}_bias", p["bias_folded"] if folded else p["bias"], "int32_t",
                       "bias, the input zero point folded in" if folded else "bias")
        rq = c.array(f"op{op.index}_rq", p["rq"], "int32_t", _rq_comment(p["rq_fast"]))
    else:  # both in the packed filter stream
        rq = "NULL"
    zp = zp_vector(c, f"op{op.index}_zp", p) if (not dw or "bias_folded" in p) and "planes" not in p and "rowpairs" not in p else "NULL"
    suffix, pre = "", []
    scratch = c.scratch(op)
    if "nibbles" in p:  # INT4: the stream rebuilt at the start of the scratch, the kernel's own after it
        nib = c.array(f"op{op.index}_filter4", p["nibbles"], "uint8_t",
                      f"filter '{w.name}' {w.describe()}: the kernel's stream with its weights as nibbles")
        runs = c.array(f"op{op.index}_filter4_runs", p["runs"], "uint16_t",
                       "runs of the stream: kind << 14 (0 words as they are, 1-3 nibbles of 4 int8 / 2 int16 / 1 "
                       "int32 values a word) | twice << 13 (int16 values twice their nibbles) | word count")
        pre = [f"kiln_expand_s4((int32_t *)(void *)(arena + {op.scratch_offset}), {nib}, {runs}, {p['runs'].size});"]
        expanded = f"(const int32_t *)(const void *)(arena + {op.scratch_offset})"
        scratch = f"(int8_t *)(arena + {op.scratch_offset + p['expanded_bytes']})"
    if dw and "planes" in p:  # the kernel's entry for its path (W1 / W2 link the wide rows' routines)
        suffix = {planes.W1: "_planes_wide1", planes.W2: "_planes_wide2"}.get(planes.path(p), "_planes")
        filt = expanded if pre else c.array(
            f"op{op.index}_filter", p["planes"], "int32_t",
            f"filter '{w.name}' {w.describe()}: per output channel its bias (input zero point folded in) "
            f"and requantization ({_rq_comment(p['rq_fast'])}), then per kernel row its weights as int16 "
            "pairs, bias and weights doubled (see planes.pack)")
        plane_at = op.scratch_offset + (p["expanded_bytes"] if pre else 0)  # (INT4: after the stream)
        args = f"{c.ptr(x)}, {filt}, {c.ptr(y)}, &params, (int16_t *)(void *)(arena + {plane_at})"
    elif dw and "rowpairs" in p:
        suffix = "_rowpairs_dilated" if p["dil_w"] > 1 else "_rowpairs"
        filt = expanded if pre else c.array(
            f"op{op.index}_filter", p["rowpairs"], "int32_t",
            f"filter '{w.name}' {w.describe()}: its ring's bytes a group and (a ring without drift) the words to "
            f"the copy for odd pair-rows, then per group of four channels their biases (input zero point "
            f"folded in), per pair of kernel rows and column their weights as int16 pairs, their "
            f"requantization ({_rq_comment(p['rq_fast'])}); bias and weights doubled (see rowpairs.pack)")
        ring_at = op.scratch_offset + (p["expanded_bytes"] if pre else 0)  # (INT4: after the stream)
        args = f"{c.ptr(x)}, {filt}, {c.ptr(y)}, &params, (uint32_t *)(void *)(arena + {ring_at}), {p['chunk']}"
    elif dw and "packed" in p:
        filt = expanded if pre else c.array(
            f"op{op.index}_filter", p["packed"], "int32_t",
            f"filter '{w.name}' {w.describe()} as int16 pairs of taps, with each channel's bias (input "
            f"zero point folded in) and requantization ({_rq_comment(p['rq_fast'])}), packed for the "
            "kernel (see depthwise.pack_depthwise)")
        args = f"{c.ptr(x)}, {filt}, {c.ptr(y)}, &params, {zp}"
    elif dw and "multiplier_filter" in p:
        suffix = "_multiplier"
        filt = f"(const int32_t *)(const void *)(arena + {op.scratch_offset})" if pre else c.array(
            f"op{op.index}_filter", p["multiplier_filter"], "int32_t",
            f"filter '{w.name}' {w.describe()}: per block of {depthwise.MULTIPLIER_BLOCK} output channels, per pair of taps, "
            "each output's two weights as int16 (see depthwise.pack_multiplier)")
        args = f"{c.ptr(x)}, {filt}, {bias}, {c.ptr(y)}, &params, {zp}"
    elif dw and p.get("rows"):
        suffix = "_rows"
        filt = f"(const int8_t *)(const void *)(arena + {op.scratch_offset})" if pre else c.const(w)
        args = f"{c.ptr(x)}, {filt}, {bias}, {c.ptr(y)}, &params, {zp}"
    elif dw:
        suffix = "_general"
        filt = f"(const int8_t *)(const void *)(arena + {op.scratch_offset})" if pre else c.const(w)
        args = f"{c.ptr(x)}, {filt}, {bias}, {c.ptr(y)}, &params"
    else:
        layout = "int16 pairs" if p["wide"] else "int8"
        filt = expanded if pre else c.array(
            f"op{op.index}_filter", p["packed"], "int32_t",
            f"filter '{w.name}' {w.describe()} as {layout}, with each channel pair's bias (input zero "
            f"point folded in) and requantization ({_rq_comment(p['rq_fast'])}), packed for the "
            "kernel (see pack_conv)")
        args = f"{c.ptr(x)}, {filt}, {c.ptr(y)}, &params, {scratch}, {zp}"
    if p.get("rows") and not dw:
        suffix = "_rows"
    return pre + s8_params(p, rq) + [f"kiln_{fn}_s8{'_w16' if p.get('wide') else suffix}({args});"]


def s8_params(p: dict, rq: str = "NULL", name: str = "params") -> list[str]:
    """The kiln_conv_s8_params_t of plan p (rq: the table's C name, NULL where it is in the stream)."""
    geo = ", ".join(str(p[k]) for k in GEOMETRY)
    return [
        f"static const kiln_conv_s8_params_t {name} = {{",
        f"    {{{geo}, {p['depth_multiplier']}}},",
        f"    {p['in_zp']}, {rq}, {int(p['rq_fast'])}, {p['out_zp']}, {p['act_min']}, {p['act_max']}, "
        f"{p['tap_len'] if p.get('im2col') else 0}",
        "};",
    ]


def zp_vector(c, name: str, p: dict) -> str:
    """What taps outside the image read in place (in_c copies of the input zero point), or NULL
    where the kernel never reads one (im2col; 1x1 without padding whose output pixels all map inside
    the image: not so in some of TRANSPOSE_CONV's stride phases; kiln_conv.c's `pointwise`)."""
    inside = ((p["out_h"] - 1) * p["stride_h"] < p["in_h"] and (p["out_w"] - 1) * p["stride_w"] < p["in_w"])
    if p.get("im2col") or (p["k_h"] == 1 and p["k_w"] == 1 and p["pad_top"] == 0 and p["pad_left"] == 0 and inside):
        return "NULL"
    return c.array(name, np.full(p["in_c"], p["in_zp"], np.int8), "int8_t",
                   "what taps outside the image read: the input zero point")


def _rq_comment(fast: bool) -> str:
    if fast:
        return ("per channel {m, e, c} for kiln_rq: multiplier, right shift, "
                "2^(e-1) + output zero point * 2^e (see quantmath.requant_constants)")
    return "per channel {multiplier, shift, 0}: TFLite's exact path"


def overlap(op, g) -> int:
    """OpDef.overlap, from the order the kernels in kiln_conv.c write. kiln_conv_s8 computes two
    output pixels at a time and reads both pixels' taps again for each pair of output channels,
    between its writes; with im2col it copies both pixels' taps to scratch before writing any.
    The 16x8 pairs kernel does the same in int16; "rows" (Helium) four pixels, reads and writes
    interleaved (which covers its two-pixel C loop). Depthwise and float: one pixel at a time."""
    x = g.tensor(op.inputs[0])
    if "planes" in op.params:
        return planes.overlap(op.params)
    if "rowpairs" in op.params:
        return rowpairs.overlap(op.params)
    pair = (op.kind == "CONV_2D" or op.params.get("as_conv", False)) and x.dtype == "int8"
    if x.dtype == "int16" and op.params.get("pairs"):  # kiln_conv_s16_pairs: two pixels, like the int8 one
        return window_overlap(op.params, 2, 2, reads_first=True)
    rows = pair and op.params.get("rows", False)
    return window_overlap(op.params, DTYPES[x.dtype][2], 4 if rows else 2 if pair else 1,
                          reads_first=pair and not rows and op.params.get("im2col", False))


def window_overlap(p: dict, esize: int, unit: int, reads_first: bool) -> int:
    """The least in_start - out_start, in bytes, for which a windowed kernel never writes over an
    input byte it has yet to read. The kernel walks each batch's output pixels in row-major order,
    `unit` pixels at a time, and writes only the unit's own out_c channels; reads_first: it reads
    all of a unit's taps before its first write (otherwise they may interleave). A unit's writes
    then end below the lowest input byte that unit (reads_first: the next units) or any later one
    reads. Negative: the output may even start above the input."""
    def first_inside(out_n, stride, pad, k, dil, size):
        taps = np.arange(out_n)[:, None] * stride - pad + np.arange(k)[None, :] * dil
        inside = (taps >= 0) & (taps < size)
        return np.where(inside.any(axis=1), np.where(inside, taps, size).min(axis=1), -1)

    never = np.iinfo(np.int64).max // 4  # a pixel whose taps all fall outside reads no input
    rows = first_inside(p["out_h"], p["stride_h"], p["pad_top"], p["k_h"], p["dil_h"], p["in_h"])
    cols = first_inside(p["out_w"], p["stride_w"], p["pad_left"], p["k_w"], p["dil_w"], p["in_w"])
    lowest = (rows[:, None] * p["in_w"] + cols[None, :]) * p["in_c"]
    lowest = np.where((rows[:, None] >= 0) & (cols[None, :] >= 0), lowest, never).reshape(-1)
    pixels = lowest.size
    units = -(-pixels // unit)
    lowest = np.concatenate([lowest, np.full(units * unit - pixels, never)]).reshape(units, unit).min(axis=1)
    image_in, image_out = p["in_h"] * p["in_w"] * p["in_c"], pixels * p["out_c"]
    batch = np.arange(p["batches"])[:, None]
    reads = np.where(lowest < never, batch * image_in + lowest, never).reshape(-1) * esize
    ends = (batch * image_out + np.minimum((np.arange(units) + 1) * unit, pixels) * p["out_c"]).reshape(-1) * esize
    later = np.minimum.accumulate(reads[::-1])[::-1]  # the lowest byte read from each unit on
    if reads_first:
        later = np.concatenate([later[1:], [never * esize]])
    gap = ends - later
    return int(max(gap.max(), -p["batches"] * image_in * esize))


def direct_possible(in_c: int, kh: int, kw: int) -> bool:
    """The int8 kernel reads taps in place when each pixel's channels are whole words and the
    taps fit its table; otherwise it copies them to a two-column im2col scratch."""
    return kh * kw <= MAX_TAPS and in_c % 4 == 0


def variants(op, g) -> list[str]:
    """OpDef.variants of an int8 CONV_2D. "direct" reads taps in place (where its input's channels
    are whole words), "im2col" copies each pixel's taps into one contiguous column (a longer inner
    loop, for a copy and 2 x taps of scratch); with "16", the filter is stored pre-widened to int16
    (no unpacking in the inner loop: 11 instructions per 16 MACs instead of 14, for twice its flash);
    "rows" keeps each channel's weights in one run (the portable loop's and Helium's default,
    tuning.cpu_defaults), taps in place where they can be. An int8
    DEPTHWISE_CONV_2D of multiplier 1: "pairs" (the DSP loop's blocks of four channels, pairs of taps
    as int16) or "rows" (the filter as the model has it, a channel's taps C apart)."""
    x, w = g.tensor(op.inputs[0]), g.tensor(op.inputs[1])
    if (op.kind == "DEPTHWISE_CONV_2D" and x.dtype == "int8") or depthwise.single_channel_conv(op, g):
        p = _geometry(op, x, g.tensor(op.outputs[0]), w.shape[1], w.shape[2])
        return depthwise.variants(op, g, depthwise.as_one_channel(p) if op.kind == "CONV_2D" else p)
    if op.kind != "CONV_2D" or x.dtype != "int8":
        return []
    if not direct_possible(x.shape[3], w.shape[1], w.shape[2]):
        return ["im2col", "im2col16", "rows"]
    return ["direct", "im2col", "direct16", "rows"]


register("CONV_2D", check, prepare, emit, overlap=overlap, variants=variants, types=("int8", "int16", "float32"),
         notes="per-channel int8 or INT4 weights (INT4 stays two a byte in flash, rebuilt in scratch); SAME/VALID, strides, dilation, fused "
               "activations; int8 of one input channel as a DEPTHWISE_CONV_2D of M filters where planes leads "
               "(3x3; odd widths with few filters), of two at stride 1 as one channel of twice the width "
               "(3x3 and 5x5, up to 32 filters: depthwise.planes_first); 16x8 with an int64 or int32 bias")
register("DEPTHWISE_CONV_2D", check, prepare, emit, overlap=overlap, variants=variants,
         types=("int8", "int16", "float32"),
         notes="any depth multiplier (int8: on int16 planes with a multiplier or one input channel at 3x3, "
               "with a multiplier or one input channel at other widths (stride 1 or 2), depthwise.planes_first; at multiplier 1 or 2, 3x3, "
               "input channels a multiple of 4, stride 1 or 2 (rows of 3 or more; dilation at stride 1): int16 pairs "
               "of rows in a ring "
               "(rowpairs, or rowpairs_still: a ring without drift, its stream twice; on a DSP board within the "
               "arena's allowance, scratch_layouts); at multiplier 1 "
               "on a DSP board: other widths within half the RAM, dilated 3x3 stride-1 layers where the "
               "arena allows; else blocks of channels, or one input channel as a CONV_2D of M filters); "
               "int8 or INT4 weights (two a byte in flash); "
               "SAME/VALID, strides, dilation, fused activations; 16x8 with an int64 bias")
