"""Word layouts shared by the offline packers (conv.pack_conv, conv.pack_depthwise,
fully_connected.pack_weights). Packed weights are arrays of int32 words, so the kernels' LDRD and
LDM always read aligned data, whatever the C compiler does with int8 arrays."""
from __future__ import annotations

import numpy as np


def wrap_int32(v) -> np.ndarray:
    """Integers modulo 2^32 as signed, as int64 (TFLite's int32 accumulators wrap the same way):
    numpy's integer narrowing is exactly that wrap."""
    return np.asarray(v, np.int64).astype(np.int32).astype(np.int64)


def int16_pair(lo, hi) -> np.ndarray:
    """Words holding lo in the low half and hi in the high half as int16: one SMLAD operand."""
    return (np.asarray(lo, np.int64) & 0xFFFF) | ((np.asarray(hi, np.int64) & 0xFFFF) << 16)


def widened(chunks: np.ndarray) -> np.ndarray:
    """[..., 4] int8 bytes of depth -> [..., 2] words: bytes 0 and 2, then 1 and 3, as int16 pairs
    (SXTB16's even and odd halves, done offline)."""
    return np.stack([int16_pair(chunks[..., 0], chunks[..., 2]), int16_pair(chunks[..., 1], chunks[..., 3])], axis=-1)


def byte_words(values) -> np.ndarray:
    """int8 values, four to a word little-endian (zeros after the last)."""
    b = np.asarray(values).astype(np.int8).reshape(-1)
    return np.pad(b, (0, -b.size % 4)).view("<i4").astype(np.int64)


class Weights:
    """A part of a stream made of weights: words of `per_word` values (4 int8, 2 int16 or 1 int32),
    which an INT4 model's stream keeps as nibbles (nibble_stream); `doubled`: int16 values that are
    twice the weights (planes' stream), kept as the nibbles of their halves."""

    def __init__(self, words, per_word: int, doubled: bool = False):
        self.words, self.per_word = np.asarray(words, np.int64).reshape(-1), per_word
        self.doubled = doubled and per_word == 2


def _words(p) -> np.ndarray:
    return p.words if isinstance(p, Weights) else np.asarray(p, np.int64).reshape(-1)


def stream(parts) -> np.ndarray:
    """The parts (words, as any integers) one after another, as the int32 array C holds."""
    flat = np.concatenate([_words(p) for p in parts])
    return (flat & 0xFFFFFFFF).astype(np.uint32).view(np.int32)


def _values(w: Weights) -> np.ndarray:
    """The signed values a Weights part's words hold, in memory order."""
    u = (w.words & 0xFFFFFFFF).astype(np.uint32)
    if w.per_word == 4:
        return u.view(np.int8).astype(np.int64)
    if w.per_word == 2:
        return u.view(np.int16).astype(np.int64)
    return u.view(np.int32).astype(np.int64)


# the runs of kiln_expand_s4 (kiln_conv.c): 0 words copied as they are, 1/2/3 words of 4 int8, 2
# int16 or 1 int32 values stored as nibbles; RUN_TWICE on a kind-2 run: each value twice its nibble
RUN_KIND = {4: 1, 2: 2, 1: 3}
RUN_TWICE = 1 << 13
RUN_MAX = (1 << 13) - 2  # words in one run: even, so a split one-value-a-word run (kind 3) keeps whole bytes


def nibble_stream(parts) -> tuple[np.ndarray, np.ndarray]:
    """The stream of `parts` for weights of -8..7 (an INT4 model's): bytes in which each Weights
    part's values are nibbles, two a byte (low first, a run ending on a whole byte; a doubled part's
    halves), and every other word its four bytes; and the runs (kind << 14 | RUN_TWICE | word
    count, uint16) that kiln_expand_s4 rebuilds the int32 stream from, into RAM."""
    out: list[np.ndarray] = []
    runs: list[list[int]] = []  # [code of kind and RUN_TWICE, words]
    for p in parts:
        words = _words(p)
        if not words.size:
            continue
        values = _nibble_values(p)
        if values is not None:
            v = (values & 15).astype(np.uint8)
            v = np.append(v, np.uint8(0)) if v.size % 2 else v
            out.append(v[0::2] | (v[1::2] << 4))
            code = RUN_KIND[p.per_word] << 14 | (RUN_TWICE if p.doubled else 0)
        else:
            out.append((words & 0xFFFFFFFF).astype("<u4").view(np.uint8))
            code = 0
        if runs and runs[-1][0] == code == 0:
            runs[-1][1] += words.size
        else:
            runs.append([code, words.size])
    codes = []  # long runs split
    for code, n in runs:
        while n > 0:
            codes.append(code | min(n, RUN_MAX))
            n -= min(n, RUN_MAX)
    return np.concatenate(out).astype(np.uint8), np.array(codes, np.uint16)


def _nibble_values(p) -> np.ndarray | None:
    """The values a part keeps as nibbles (a doubled part's halves), or None: not weights, or
    outside -8..7."""
    if not isinstance(p, Weights):
        return None
    values = _values(p)
    if p.doubled:
        if np.any(values % 2):
            return None
        values = values // 2
    return values if np.all((values >= -8) & (values <= 7)) else None
