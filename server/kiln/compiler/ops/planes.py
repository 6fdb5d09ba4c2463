"""The "planes" layout of an int8 DEPTHWISE_CONV_2D (kiln_depthwise_conv_s8_planes).

Each output channel is a 2-D convolution of one input channel's plane: the kernel copies the
input's rows, widened to int16, into a ring of `ring` rows in scratch (every channel's plane side by
side, the zero point in the padding) and walks every output row with one channel's weights at a
time, two plane values per SMLAD. The functions here mirror the kernel's own (path_of, sub_width):
the stream's layout and the scratch it needs.
"""
from __future__ import annotations

import numpy as np

from .. import quantmath as qm
from . import packing

MAX_ROWS = 32  # kernel rows the kernel's row table holds (MAX_ROWS in kiln_depthwise_planes.c)
# the kernel's paths: 3 wide at stride 1 (any dilation), at stride 2; other widths at stride 1 (any
# dilation), at stride 2; any other
S1, S2, W1, W2, ANY = 0, 1, 2, 3, 4
# (kernel rows, weight words a row) of the W2 shapes with a four-pixel loop (rows_w2_* in the kernel):
# 3x5 / 3x6 (a two-channel 3x3, depthwise.as_one_channel), 5x5, 5x9 / 5x10 (a two-channel 5x5), 7x7
QUAD_W2 = {(3, 3), (5, 3), (5, 5), (7, 4)}


def path(p: dict) -> int:
    if p["k_w"] == 3 and p["stride_w"] == 1:
        return S1
    if p["k_w"] == 3 and p["stride_w"] == 2 and p["dil_w"] == 1:
        return S2
    if p["stride_w"] == 1:
        return W1
    if p["stride_w"] == 2 and p["dil_w"] == 1:
        return W2
    return ANY


def quad_rows(p: dict) -> bool:
    """Whether the kernel walks this layer's rows four pixels a step (row_quads_w2: PATH_W2, a
    QUAD_W2 shape, kiln_rq exact, at -O2)."""
    return path(p) == W2 and (p["k_h"], (p["k_w"] + 1) // 2) in QUAD_W2


def sub_width(p: dict) -> int:
    """int16 per dilation phase of a plane row: past the last column any path reads, even."""
    kind, ow, d = path(p), p["out_w"], p["dil_w"]
    need = (ow + d - 1) // d + 3 if kind == S1 else 2 * ow + 4 if kind == S2 else p["stride_w"] * (ow - 1) // d + p["k_w"] + 1
    return (need + 1) & ~1


def scratch_bytes(p: dict) -> int:
    """The ring: (k_h - 1) * dil_h + 1 padded rows of every input channel, int16."""
    return ((p["k_h"] - 1) * p["dil_h"] + 1) * p["in_c"] * p["dil_w"] * sub_width(p) * 2


def fits(p: dict, bias_folded: np.ndarray, wdata: np.ndarray) -> bool:
    """The kernel's limits: its row table, and its doubled sums (doubled_sums_fit)."""
    return p["k_h"] <= MAX_ROWS and doubled_sums_fit(bias_folded, wdata)


def doubled_sums_fit(bias_folded: np.ndarray, wdata: np.ndarray) -> bool:
    """Twice the largest sum within int32: weights and bias stored doubled (planes', rowpairs'
    streams); inputs and the zero point are int8."""
    wsum = np.abs(wdata.astype(np.int64)).reshape(-1, wdata.shape[3]).sum(axis=0)
    return int(2 * qm.accumulator_bounds(bias_folded, wsum).max()) < 2**31


def pack(w: np.ndarray, bias_folded: np.ndarray, rq: np.ndarray, p: dict) -> list:
    """[1, k_h, k_w, out_c] -> the kernel's stream's parts (packing.stream joins them; an INT4
    model's keeps the weights as nibbles of their halves), per output channel: 2 * bias (the input zero
    point folded in), its 3 requantization words in the order {m, c, e} (general: {m, zp, shift}),
    then per kernel row its weights doubled as int16
    pairs: {w0 w1} {w1 w2} for a 3-wide kernel at stride 1 (pixels k, k + 1 share the plane's
    words), {w0 w1} {w2 0} at stride 2. Other widths: the pairs from an even first tap (E: {w0 w1}
    {w2 w3}..., a zero after an odd last one) and from an odd one (O: {0 w0} {w1 w2}...): at stride
    1 interleaved (E0 O0 E1 O1...), at stride 2 without dilation E only, else E then O."""
    k_h, k_w, out_c = w.shape[1], w.shape[2], w.shape[3]
    taps = 2 * w.reshape(k_h, k_w, out_c).astype(np.int64)
    padded = np.zeros((k_h, k_w + 3, out_c), np.int64)
    padded[:, 1:k_w + 1] = taps  # padded[:, i + 1] is tap i; zeros around
    kind, ne, no = path(p), (k_w + 1) // 2, k_w // 2 + 1  # E and O words per kernel row
    if kind == S1:
        lo, hi = [1, 2], [2, 3]  # {w0 w1}, {w1 w2}
    elif kind == S2:
        lo, hi = [1, 3], [2, 4]  # {w0 w1}, {w2 0}
    elif kind == W1:  # E0 O0 E1 O1 ... (an even width's last O alone)
        lo = [i for t in range(no) for i in ([1 + 2 * t] if t < ne else []) + [2 * t]]
    elif kind == W2:  # E words only
        lo = [1 + 2 * t for t in range(ne)]
    else:
        lo = [1 + 2 * j for j in range(ne)] + [2 * j for j in range(no)]
    if kind not in (S1, S2):
        hi = [i + 1 for i in lo]
    words = packing.int16_pair(padded[:, lo], padded[:, hi])  # [k_h, per_row, out_c]
    rq = np.asarray(rq, np.int64).reshape(out_c, 3)[:, [0, 2, 1]]  # {m, e, c} -> {m, c, e}: one STM in rows3
    head = np.concatenate([2 * np.asarray(bias_folded, np.int64)[:, None], rq], axis=1)  # [out_c, 4]
    return [part for o in range(out_c) for part in (head[o], packing.Weights(words[:, :, o], 2, doubled=True))]


def overlap(p: dict) -> int:
    """OpDef.overlap for this layout: per output row it copies the input rows not yet in the ring
    (every channel, from column 0), then writes the row; later rows read from the row after its
    last kernel row on (ring_overlap)."""
    return ring_overlap(p, lambda oy: max(oy * p["stride_h"] + (p["k_h"] - 1) * p["dil_h"] + 1,
                                          (oy + 1) * p["stride_h"]) - p["pad_top"])


def ring_overlap(p: dict, first_unread) -> int:
    """The least in_start - out_start (bytes) for which no output row lands on input a kernel has yet
    to read, for a kernel that copies input rows into a ring ahead of each output row and then
    writes that row: first_unread(oy) is the first image row it has not copied after row oy."""
    never = 1 << 60
    row_in, image_in = p["in_w"] * p["in_c"], p["in_h"] * p["in_w"] * p["in_c"]
    row_out, image_out = p["out_w"] * p["out_c"], p["out_h"] * p["out_w"] * p["out_c"]
    gap = -p["batches"] * image_in
    for b in range(p["batches"]):
        for oy in range(p["out_h"]):
            nxt = first_unread(oy)
            later = b * image_in + max(nxt, 0) * row_in if nxt < p["in_h"] and oy + 1 < p["out_h"] else (
                (b + 1) * image_in if b + 1 < p["batches"] else never)
            gap = max(gap, b * image_out + (oy + 1) * row_out - later)
    return int(gap)
