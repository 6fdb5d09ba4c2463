"""Word layouts shared by the offline packers (conv.pack_conv, conv.pack_depthwise,
fully_connected.pack_weights). Packed weights are arrays of int32 words, so the kernels' LDRD and
LDM always read aligned data, whatever the C compiler does with int8 arrays."""
from __future__ import annotations

import numpy as np


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


def stream(parts) -> np.ndarray:
    """The parts (words, as any integers) one after another, as the int32 array C holds."""
    flat = np.concatenate([np.asarray(p, np.int64).reshape(-1) for p in parts])
    return (flat & 0xFFFFFFFF).astype(np.uint32).view(np.int32)
