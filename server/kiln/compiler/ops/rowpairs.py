"""The "rowpairs" layout of an int8 DEPTHWISE_CONV_2D (kiln_depthwise_conv_s8_rowpairs): 3x3,
depth multiplier 1 or 2, input channels a multiple of 4, any stride and padding without dilation,
or dilation d (the same both ways) at stride 1: d * d undilated layers on the sub-images of the
rows and columns of each phase (kiln_depthwise_conv_s8_rowpairs_dilated), the first the largest.

The kernel copies the input's rows two at a time, widened to int16, into a ring in scratch:
pair-row q holds padded rows 2q and 2q + 1, each channel's two values one word. An output row whose
top padded row is t reads pair-rows t // 2 and t // 2 + 1, with the weights {w0 w1}, {w2 0} (even
t) or {0 w0}, {w1 w2} (odd t): four channels' pair of rows is one LDM, and one SMLAD each. The
functions here mirror the kernel's: the stream, the ring's size, the order it reads and writes.

Pair-row q sits at column position q // 2 (slot q & 1): it drifts one position every two pair-rows,
so that the six blocks a pixel reads are 96 consecutive bytes in one weight order. A still ring
(p["still"], the "rowpairs_still" variant) keeps every pair-row at position 0: no drift (a ring of
only the positions a row reads), and for odd q, whose pair-row q + 1 comes first, a second copy of
the stream with each column's two blocks swapped. Flash for arena: the compiler takes it where the
drifting ring would not fit the arena's allowance (scratch_layouts.rowpairs_within).
"""
from __future__ import annotations

import numpy as np

from . import packing, planes

GROUP_WORDS = 41  # a group of four channels' stream: 4 biases, its step word, 24 weights, 12 requantization
POS_BYTES = 32  # a column position of a group's ring: two slots of four int16 pairs
RING_MIN = 2048  # scratch bytes a pass may always take (below it, one pass costs nothing more)


def eligible(p: dict, in_c: int, out_c: int) -> bool:
    """3x3, without dilation or with the same both ways at stride 1, input channels a multiple of 4,
    depth multiplier 1 or 2 (the copy writes each input channel's pairs once or twice: its groups
    are the output's)."""
    dilated = p["dil_h"] > 1 or p["dil_w"] > 1
    return ((p["k_h"], p["k_w"]) == (3, 3) and in_c % 4 == 0 and out_c in (in_c, 2 * in_c)
            and (not dilated or (p["dil_h"] == p["dil_w"] and p["stride_h"] == p["stride_w"] == 1)))


def phase_out(p: dict) -> tuple[int, int]:
    """The output rows and columns of the first (largest) phase: the whole output without dilation."""
    d = p["dil_w"]
    return -(-p["out_h"] // d), -(-p["out_w"] // d)


def positions(p: dict) -> int:
    """Column positions of a group's ring: the padded columns a row reads, and (unless the ring is
    still) the drift of one position every two pair-rows (the kernel's region), for the largest phase."""
    out_h, out_w = phase_out(p)
    pair_rows = ((out_h - 1) * p["stride_h"] >> 1) + 2
    return (out_w - 1) * p["stride_w"] + 3 + (0 if p.get("still") else (pair_rows - 1) >> 1)


def chunk(p: dict) -> int:
    """Groups of four output channels a pass takes: all of them where their ring is at most the
    larger of RING_MIN and the input and output images, else as many as fit that (at least one; an
    even count at depth multiplier 2: whole input groups). One pass lets the output overlap the
    input (overlap), which saves about an image: a ring within the images costs the arena less than
    passes would."""
    groups, per_group, dm = p["out_c"] // 4, POS_BYTES * positions(p), p["out_c"] // p["in_c"]
    cap = max(RING_MIN, p["batches"] * (p["in_h"] * p["in_w"] * p["in_c"] + p["out_h"] * p["out_w"] * p["out_c"]))
    n = max(1, min(groups, cap // per_group))
    return max(dm, n // dm * dm)


def scratch_bytes(p: dict) -> int:
    return chunk(p) * POS_BYTES * positions(p)


def pack(w: np.ndarray, bias_folded: np.ndarray, rq: np.ndarray, p: dict) -> list:
    """[1, 3, 3, C] -> the stream's parts: its head, then per group of four channels (GROUP_WORDS words) the four
    biases (the input zero point folded in), its step word (step_words), the six blocks of the walk
    {q, col 0} {q + 1, col 0} {q, col 1} ... {q + 1, col 2}, each four words (a channel's two kernel
    rows as an int16 pair), then the channels' {m, e, c}; biases and weights doubled. A second
    section for odd top rows follows where the vertical stride is odd (and there are two rows); a
    still ring's stream then holds them again for odd pair-rows, each column's blocks swapped."""
    c = w.shape[3]
    taps = 2 * w.reshape(3, 3, c).astype(np.int64)
    zero = np.zeros((3, c), np.int64)
    rows = {0: [(taps[0], taps[1]), (taps[2], zero)],  # even t: pair-rows {t, t + 1}, {t + 2, t + 3}
            1: [(zero, taps[0]), (taps[1], taps[2])]}  # odd t: {t - 1, t}, {t + 1, t + 2}
    rq = np.asarray(rq, np.int64).reshape(c, 3)
    bias2 = 2 * np.asarray(bias_folded, np.int64)
    steps = step_words(p)
    parts = [head(p)]
    for parity, swapped in sections(p):
        a, b = rows[parity]
        first, second = (b, a) if swapped else (a, b)  # the walk's order at each column
        blocks = [packing.int16_pair(lo[k], hi[k]) for k in range(3) for lo, hi in (first, second)]
        words = np.stack(blocks)  # [6 blocks, C]
        for g in range(c // 4):
            s = slice(4 * g, 4 * g + 4)
            parts += [bias2[s], [steps[g]], packing.Weights(words[:, s], 2, doubled=True), rq[s].reshape(-1)]
    return parts


def step_words(p: dict) -> list[int]:
    """Per group, twice the bytes the kernel's walk moves before the group's first block, plus 1 on
    a pass's last group: within a pass, from a group's walk end to the next group's ring; on a pass's
    first group, from its last group's walk end at the previous pixel to the next pixel."""
    groups, n = p["out_c"] // 4, chunk(p)
    region = POS_BYTES * positions(p)
    out = []
    for g in range(groups):
        i, in_pass = g % n, min(n, groups - g // n * n)
        step = POS_BYTES * p["stride_w"] - (in_pass - 1) * region - 96 if i == 0 else region - 96
        out.append(2 * step + (i == in_pass - 1))
    return out


def head(p: dict) -> list[int]:
    """The stream's first two words: a group's ring in bytes (the kernel's region) and, for a still
    ring, the words from a section to its copy for odd pair-rows (0 where the ring drifts)."""
    odd_q = len(sections(p)) // 2 * GROUP_WORDS * (p["out_c"] // 4) if p.get("still") else 0  # (half the sections)
    return [POS_BYTES * positions(p), odd_q]


def stream_bytes(p: dict) -> int:
    """The stream's bytes (pack): its head, GROUP_WORDS words a group of four channels a section."""
    return 4 * (2 + GROUP_WORDS * (p["out_c"] // 4) * len(sections(p)))


def sections(p: dict) -> list[tuple[int, bool]]:
    """The stream's sections in the kernel's order: the parities of the top padded rows the layer's
    output rows have, then (a still ring) the same with swapped blocks for odd pair-rows."""
    parities = [0, 1] if p["stride_h"] % 2 and phase_out(p)[0] > 1 else [0]
    return [(t, swapped) for swapped in ((False, True) if p.get("still") else (False,)) for t in parities]


def overlap(p: dict) -> int:
    """OpDef.overlap: in one pass, per output row the kernel copies the pair-rows not yet in the ring,
    then writes the row (planes.ring_overlap); with several passes each reads the whole image
    again, and with dilation each phase: no overlap."""
    if chunk(p) * 4 < p["out_c"] or p["dil_w"] > 1:
        return p["batches"] * p["out_h"] * p["out_w"] * p["out_c"]
    return planes.ring_overlap(p, lambda oy: 2 * ((oy * p["stride_h"] >> 1) + 2) - p["pad_top"])
