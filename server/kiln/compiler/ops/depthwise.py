"""int8 DEPTHWISE_CONV_2D: which kernel layouts a layer can take, the untuned choice among them, and
the packing of each (the emitted calls are in conv.emit).

- "pairs" (depth multiplier 1, at most MAX_TAPS taps; the DSP loop): blocks of four channels, the
  filter as int16 pairs of taps, each block's biases and requantization in one stream.
- "rows": TFLite's own filter order (CPUs without the DSP extension; Helium's 8-channel loop).
- "multiplier" (depth multiplier above 1): blocks of four output channels, pairs of taps.
- "planes" (any multiplier, kernel, stride, dilation; see planes.py): the input widened to int16
  planes in a ring of rows, each output channel a 2-D convolution of one plane.
- "rowpairs" (3x3, multiplier 1 or 2, channels a multiple of 4, dilation only at stride 1; see
  rowpairs.py): the input's rows paired as int16 in a ring, four channels' pair of rows one LDM;
  "rowpairs_still" the same in a ring without drift (smaller), its stream twice (flash).
- One input channel: also as a CONV_2D of M filters ("im2col", "im2col16", "rows": conv.variants);
  and a CONV_2D of one input channel, or of two read as one (as_one_channel), may take "planes" as a
  depthwise layer (single_channel_conv).
"""
from __future__ import annotations

import numpy as np

from .. import quantmath as qm
from . import packing, planes, rowpairs
from .base import fused_activation

MAX_TAPS = 64  # KILN_CONV_MAX_TAPS in kiln_runtime.h
MULTIPLIER_BLOCK = 4  # output channels the multiplier kernel accumulates together
ONE_CHANNEL_PLANES = 400  # taps x filters up to which planes leads on one input channel (planes_first)
TWO_CHANNEL_PLANES = 32  # filters up to which planes leads on two input channels at 3x3 and 5x5


def single_channel(op, g) -> bool:
    """An int8 DEPTHWISE_CONV_2D of one input channel (a first layer on a grayscale image or a
    spectrogram, depth multiplier M) is a CONV_2D of M filters [kh, kw, 1]: the same sums and
    per-channel requantization (TFLite's depthwise skips outside taps, the convolution reads them as
    the zero point folded into the bias: the same), through the convolution's im2col loops."""
    x = g.tensor(op.inputs[0])
    return op.kind == "DEPTHWISE_CONV_2D" and x.dtype == "int8" and len(x.shape) == 4 and x.shape[3] == 1


def single_channel_conv(op, g) -> bool:
    """An int8 CONV_2D of one input channel and M filters (a first layer on a grayscale image or a
    spectrogram) is a DEPTHWISE_CONV_2D of multiplier M, the other way round (single_channel): the
    same sums and per-channel requantization, so it may take the depthwise "planes" layout (5.3-8.4
    instructions per MAC through im2col at 4-8 filters, 2.1-2.2 on planes). So is one of two input
    channels at stride 1 without dilation across (as_one_channel): each image row read as one row of
    2 x in_w values, the kernel 2 x k_w wide at stride 2 (planes' W2 path, whose int16 pairs are then
    a pixel's two channels)."""
    x = g.tensor(op.inputs[0])
    if op.kind != "CONV_2D" or x.dtype != "int8" or len(x.shape) != 4:
        return False
    o = op.options
    return x.shape[3] == 1 or (x.shape[3] == 2 and o.get("stride_w", 1) == 1 and o.get("dilation_w_factor", 1) == 1)


def as_one_channel(p: dict) -> dict:
    """The geometry of a single_channel_conv as the planes kernel walks it: a row's in_c channels side
    by side as one channel (the same for one input channel)."""
    c = p["in_c"]
    return {**p, "in_c": 1, "in_w": p["in_w"] * c, "k_w": p["k_w"] * c, "stride_w": p["stride_w"] * c,
            "pad_left": p["pad_left"] * c}


def filter_of(op, g) -> np.ndarray:
    """The filter's data as a depthwise layer's, [1, k_h, k_w * in_c, channels] (a
    single_channel_conv's [M, k_h, k_w, in_c] transposed, each row's taps as_one_channel)."""
    w = g.tensor(op.inputs[1]).data
    if op.kind != "CONV_2D":
        return w
    m, kh, kw, c = w.shape
    return np.transpose(w, (1, 2, 3, 0)).reshape(1, kh, kw * c, m)


def folded_bias(g, op) -> np.ndarray:
    """The bias with the input zero point folded in (int64): bias - zp * sum(w) per channel."""
    x, _, *rest = g.op_inputs(op)
    y = g.tensor(op.outputs[0])
    bias = rest[0].data.astype(np.int64) if rest else np.zeros(y.shape[3], np.int64)
    return bias - x.zero_point * filter_of(op, g).astype(np.int64).reshape(-1, y.shape[3]).sum(axis=0)


def planes_fit(op, g, geometry: dict) -> bool:
    return planes.fits(geometry, folded_bias(g, op), filter_of(op, g))


ROWPAIRS = ("rowpairs", "rowpairs_still")  # the ring drifting (one stream), or still (half the stream twice)


def variants(op, g, geometry: dict) -> list[str]:
    """The int8 layouts this layer can take, the untuned default first ("rowpairs" last: a DSP
    board's trial takes it, scratch_layouts.rowpairs_within)."""
    x, w, y = g.tensor(op.inputs[0]), g.tensor(op.inputs[1]), g.tensor(op.outputs[0])
    taps = w.shape[1] * w.shape[2]
    if x.shape[3] == 1 or op.kind == "CONV_2D":  # (single_channel, single_channel_conv)
        names = ["im2col", "im2col16", "rows"]
    elif y.shape[3] == x.shape[3]:
        names = ["pairs", "rows"] if taps <= MAX_TAPS else []
    else:
        names = ["multiplier"] if taps <= MAX_TAPS else []  # (and rowpairs at multiplier 2, below)
    if planes_fit(op, g, geometry):
        names = ["planes", *names] if planes_first(op, g, geometry) else [*names, "planes"]
    if rowpairs_fit(op, g, geometry):
        names = [*names, *ROWPAIRS]  # on a DSP board where it leads and the arena allows (compiler)
    return names


def rowpairs_leads(p: dict) -> bool:
    """Where rowpairs beats pairs and planes (bench/shapes.py on qemu-m4), the untuned choice on a
    DSP board within the arena's bound (scratch_layouts.rowpairs_within): at stride 1 (2.0-2.5
    instructions per MAC against 2.8-3.2 for pairs, 2.1-3.9 for planes) and at stride 2 with rows of
    3 outputs or more (2.5-2.8 against 2.9-3.0, 5x5x8 -> 3x3 3.9 against 6.3); narrower stride-2
    rows cost their copy's padding (4x4x64 -> 2x2: 3.28 against 3.26)."""
    return p["stride_h"] <= 2 and (p["stride_w"] == 1 or (p["stride_w"] == 2 and p["out_w"] >= 3))


def rowpairs_fit(op, g, geometry: dict) -> bool:
    """rowpairs' shapes, its doubled sums within int32, and kiln_rq exact on every channel (its
    kernel has no other requantization: smaller code at -Os)."""
    x, y = g.tensor(op.inputs[0]), g.tensor(op.outputs[0])
    return (x.dtype == "int8" and rowpairs.eligible(geometry, x.shape[3], y.shape[3])
            and planes.doubled_sums_fit(folded_bias(g, op), filter_of(op, g)) and kiln_rq_exact(op, g))


def kiln_rq_exact(op, g) -> bool:
    """Whether conv.prepare's requantization table for this layer (its input zero point folded in)
    is kiln_rq's on every channel."""
    from .conv import weight_scales  # (conv imports this module)

    x, w, y = g.tensor(op.inputs[0]), g.tensor(op.inputs[1]), g.tensor(op.outputs[0])
    mult, shift = qm.channel_multipliers(x.scale, weight_scales(w, y), y.scale)
    wsum = np.abs(filter_of(op, g).astype(np.int64)).reshape(-1, y.shape[3]).sum(axis=0)
    return qm.requant_for_sums(mult, shift, y.zero_point, folded_bias(g, op), wsum)[1]


def planes_first(op, g, p: dict) -> bool:
    """The untuned choice (measured on qemu-m4, bench/shapes.py) where the plane serves several
    outputs, a depth multiplier or one input channel. At 3x3: planes without an upper clamp below
    127 (its row loops for stride 1 and 2, a ReLU's lower clamp included; multiplier 2.4-2.7
    instructions per MAC against 5.4-7.1 for "multiplier", one input channel 2.0-2.6 against
    2.6-5.7 as a CONV_2D; with RELU6's upper clamp 7.3 against 5.7). At other widths, stride 1 or
    2 without dilation, any clamp (planes' two-pixel rows, `rows_wide`): at a multiplier; on one
    input channel where the width is odd and the taps times the filters at most ONE_CHANNEL_PLANES
    (5x5 x6-x16 2.0-2.6 against 2.1-3.2 for im2col16, 7x7 x8 1.8 against 2.0; 5x5 x32 2.0 against
    1.7; even widths 3.8-5.6 against 2.7-3.5: im2col's cost a MAC falls with the filters, planes'
    does not). Two input channels (single_channel_conv, a pixel's pair one SMLAD) at 3x3 and 5x5
    (planes.quad_rows) up to TWO_CHANNEL_PLANES filters (3x3 x4-x32 2.0-1.7 against 4.4-1.8 for
    im2col16, x64 1.70 against 1.65; 5x5 x8-x32 1.2-1.1 against 1.9-1.2; 7x7 x8 2.7 against 1.7
    through the loops with the size at run time). At multiplier 1 planes costs arena ("pairs" needs
    none): planes_beats_pairs and scratch_layouts.planes_within decide on a DSP board."""
    y = g.tensor(op.outputs[0])
    if op.kind == "CONV_2D" and g.tensor(op.inputs[0]).shape[3] == 2:  # as_one_channel: 3x6, 5x10 at stride 2
        return planes.quad_rows(p) and p["out_c"] <= TWO_CHANNEL_PLANES
    _, hi = qm.activation_range_q(fused_activation(op), y.scale, y.zero_point)
    several = y.shape[3] > p["in_c"] or p["in_c"] == 1
    if (p["k_h"], p["k_w"]) != (3, 3):
        return several and planes.path(p) in (planes.W1, planes.W2) and (
            p["in_c"] > 1 or (p["k_w"] % 2 == 1 and p["k_h"] * p["k_w"] * p["out_c"] <= ONE_CHANNEL_PLANES))
    return several and hi == 127


def planes_beats_pairs(op, g, min_width: int) -> bool:
    """A multiplier-1 layer where planes beats pairs (bench/shapes.py on qemu-m4): 3x3 at stride 1
    without an upper clamp below 127 (a fused ReLU's lower one is in planes' assembly), with rows of
    min_width or more or with dilation (2.9 against 3.8 instructions per MAC: pairs reads a dilated
    window through tap pointers); other widths at stride 1 or at stride 2 without dilation, any
    clamp (5x5 2.3 against 3.6, 7x7 1.8 against 3.3; 9x9 has no other layout)."""
    x, w, y = g.tensor(op.inputs[0]), g.tensor(op.inputs[1]), g.tensor(op.outputs[0])
    o = op.options
    if x.dtype != "int8" or x.shape[3] == 1 or y.shape[3] != x.shape[3]:
        return False
    p = {"k_w": w.shape[2], "stride_w": o.get("stride_w", 1), "dil_w": o.get("dilation_w_factor", 1)}
    if tuple(w.shape[1:3]) != (3, 3):
        return planes.path(p) in (planes.W1, planes.W2)
    _, hi = qm.activation_range_q(fused_activation(op), y.scale, y.zero_point)
    dilated = o.get("dilation_w_factor", 1) > 1 or o.get("dilation_h_factor", 1) > 1
    return (o.get("stride_w", 1) == 1 and o.get("stride_h", 1) == 1 and hi == 127
            and (y.shape[2] >= min_width or dilated))


def planes_far_ahead(op, g) -> bool:
    """planes_beats_pairs by far: a kernel other than 3 wide (1.5-2x fewer instructions), taken even
    where its ring raises the arena past the activations' lower bound (scratch_layouts.planes_within)."""
    return g.tensor(op.inputs[1]).shape[2] != 3 and planes_beats_pairs(op, g, 0)


def prepare_s8(op, g, p: dict, wdata: np.ndarray, bias: np.ndarray, variant: str | None, requant) -> list | None:
    """The depthwise half of conv.prepare for int8 (not as a CONV_2D): the kernel's filter and bias,
    p["rq"] by requant(acc_bias, wsum_bound_factor); returns the stream's parts (INT4 rebuilds it)."""
    # taps outside the image read the zero point, folded into the bias
    if variant in ("planes", *ROWPAIRS) or p["k_h"] * p["k_w"] <= MAX_TAPS:
        p["bias_folded"] = folded_bias(g, op).astype(np.int32)
        if p["depth_multiplier"] > 1 and variant not in ("planes", *ROWPAIRS):
            p["multiplier_filter"] = pack_multiplier(wdata)
    p["bias"] = bias.astype(np.int32)
    requant(p.get("bias_folded", p["bias"]), 128 if "bias_folded" in p else 256)
    if variant == "planes":
        parts = planes.pack(wdata, p["bias_folded"], p["rq"], p)
        p["planes"] = packing.stream(parts)
        op.scratch_bytes = planes.scratch_bytes(p)
        return parts
    if variant in ROWPAIRS:
        p["still"] = variant == "rowpairs_still"
        parts = rowpairs.pack(wdata, p["bias_folded"], p["rq"], p)
        p["rowpairs"], p["chunk"] = packing.stream(parts), rowpairs.chunk(p)
        op.scratch_bytes = rowpairs.scratch_bytes(p)
        return parts
    p["rows"] = variant == "rows"  # the filter as the model has it: for CPUs without DSP
    if "bias_folded" in p and "multiplier_filter" not in p and not p["rows"]:
        parts = pack_depthwise(wdata, p["bias_folded"], p["rq"])
        p["packed"] = packing.stream(parts)
        return parts
    return None


def pack_depthwise(w: np.ndarray, bias: np.ndarray, rq: np.ndarray) -> list:
    """Depth multiplier 1, [1, k_h, k_w, C] -> the stream of int32 words kiln_depthwise_conv_s8
    walks: for each block of four channels, their four biases, then for each pair of taps (a zero
    tap added to an odd count) four words, one per channel, holding the two taps' weights as
    int16 (first tap in the low half, the operand of one SMLAD), then the four channels' 3
    requantization words; for each remaining channel, its bias, its taps' weights one a word,
    its 3 requantization words."""
    taps = w.reshape(-1, w.shape[3]).astype(np.int64)  # [taps, C]
    rq = np.asarray(rq, np.int64).reshape(-1, 3)
    c4 = w.shape[3] // 4 * 4
    even = np.pad(taps, ((0, taps.shape[0] % 2), (0, 0)))
    words = packing.int16_pair(even[0::2, :c4], even[1::2, :c4])  # [pairs, c4]
    words = words.reshape(words.shape[0], c4 // 4, 4).transpose(1, 0, 2)
    parts = []
    for k in range(c4 // 4):
        parts += [bias[4 * k:4 * k + 4], packing.Weights(words[k], 2), rq[4 * k:4 * k + 4]]
    for c in range(c4, w.shape[3]):
        parts += [bias[c:c + 1], packing.Weights(taps[:, c], 1), rq[c]]
    return parts


def pack_multiplier(w: np.ndarray) -> np.ndarray:
    """kiln_depthwise_conv_s8_multiplier's filter, int32 words: [1, k_h, k_w, out_c] as, per block
    of MULTIPLIER_BLOCK consecutive output channels (the last one shorter), per pair of taps (a zero
    weight after an odd last tap), each output's two weights as an int16 pair: one SMLAD against
    the pair of its input channel's values (shared by the block when dm is a multiple of 4; two
    input channels per block when dm is 2)."""
    taps = w.reshape(-1, w.shape[3]).astype(np.int64)  # [taps, out_c]
    if taps.shape[0] % 2:
        taps = np.vstack([taps, np.zeros((1, taps.shape[1]), np.int64)])
    words = [packing.int16_pair(taps[0::2, oc:oc + MULTIPLIER_BLOCK], taps[1::2, oc:oc + MULTIPLIER_BLOCK]).reshape(-1)
             for oc in range(0, taps.shape[1], MULTIPLIER_BLOCK)]  # per block: per tap pair, per output
    return packing.stream(words)
