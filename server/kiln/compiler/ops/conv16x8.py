"""CONV_2D and DEPTHWISE_CONV_2D in 16x8 (int16 activations, int8 weights): conv.py hands int16 here.

As TFLite Micro's reference kernels: input and output zero points ignored (a model that has them gets
TFLite Micro's outputs),
per-channel multipliers as for int8, an int64 accumulator and bias with TFLite's 64-bit rescale, or
an int32 one (CONV_2D with an int32 bias, or none and quantized_bias_type int32); DEPTHWISE_CONV_2D
takes an int64 bias only.
"""
from __future__ import annotations

import numpy as np

from .. import quantmath as qm
from . import packing
from .base import dtype_in, fused_activation
from .fully_connected import pack_rows_s16

INT32 = 2  # TensorType INT32


def check16(op, x, w, b, y):
    dtype_in(op, w, "filter", ("int8",))
    if b is not None:
        dtype_in(op, b, "bias", ("int64",) if op.kind == "DEPTHWISE_CONV_2D" else ("int32", "int64"))


def prepare16(op, p, x, w, b, y):
    scales = w.quant.scale if w.quant.per_channel else w.quant.scale * y.shape[3]
    mults = [qm.quantize_multiplier(x.scale * ws / y.scale) for ws in scales]
    p["mult"] = np.array([m for m, _ in mults], np.int32)
    p["shift"] = np.array([s for _, s in mults], np.int32)
    acc32 = b.dtype == "int32" if b is not None else (
        op.kind == "CONV_2D" and op.options.get("quantized_bias_type", 0) == INT32)
    p["acc64"] = not acc32
    # the clamp from the output's zero point, though the kernel adds none (as TFLite Micro)
    p["act_min"], p["act_max"] = qm.activation_range_q(fused_activation(op), y.scale, y.zero_point, -32768, 32767)
    wsum = channel_abs_sums(w.data, op.kind == "DEPTHWISE_CONV_2D")
    p["pairs"] = op.kind == "CONV_2D" and int32_exact(wsum)
    p["dw_fast"] = op.kind == "DEPTHWISE_CONV_2D" and p["k_h"] * p["k_w"] <= 64
    if p["pairs"] or p["dw_fast"]:
        p["rq16"] = fast_rescale(p, b.data if b is not None else None, wsum)
    if p["pairs"]:
        op.scratch_bytes = pairs_scratch(int(np.prod(w.shape[1:])))
    elif op.kind == "CONV_2D":  # one output pixel's taps, the input of its FC
        op.scratch_bytes = (2 * int(np.prod(w.shape[1:])) + 3) // 4 * 4


def channel_abs_sums(w: np.ndarray, depthwise: bool) -> np.ndarray:
    """sum |w| per output channel: filters [out_c, ...], or depthwise [1, k_h, k_w, out_c]."""
    a = np.abs(w.astype(np.int64))
    return a.reshape(-1, w.shape[3]).sum(axis=0) if depthwise else a.reshape(w.shape[0], -1).sum(axis=1)


def int32_exact(wsum) -> bool:
    """Every channel's sum of |int16 x int8| products stays within int32: then the int32 sums of
    kiln_conv_s16_pairs are exactly TFLite Micro's, before its 64-bit or int32 rescale with the bias."""
    return int(np.max(wsum, initial=0)) * 32768 < 2 ** 31


def pairs_scratch(depth: int) -> int:
    """kiln_conv_s16_pairs's scratch: two pixels' columns of the depth rounded up to an even count
    of steps of 4 int16, then both interleaved."""
    return 8 * (-(-depth // 8) * 8)


def fast_rescale(p: dict, bias, wsum) -> np.ndarray | None:
    """Per channel {M, bias} for one SMMULR in place of TFLite's 64-bit rescale, or None. With an
    int64 bias, TFLite computes (x * R + 2^(s-1)) >> s for x = sum + bias, R the multiplier reduced
    to 16 bits and s = 15 - shift; that is exactly the rounded high word of x * (R << (32 - s))
    when 1 <= s <= 32, R << (32 - s) < 2^31 and |x| < 2^31, which |bias| + 2^15 sum |w| bounds."""
    if not p["acc64"]:
        return None
    out = []
    for c, (m, shift, ws) in enumerate(zip(p["mult"], p["shift"], wsum)):
        m, s = int(m), 15 - int(shift)
        r = (m + (1 << 15)) >> 16 if m < 0x7FFF0000 else 0x7FFF
        b = int(bias[c]) if bias is not None else 0
        if not (1 <= s <= 32 and (r << (32 - s)) < 2 ** 31 and abs(b) + 32768 * int(ws) < 2 ** 31):
            return None
        out += [r << (32 - s), b]
    return np.array(out, np.int64).astype(np.int32)


def pack_depthwise(w: np.ndarray, multiplier: int) -> np.ndarray:
    """kiln_depthwise_conv_s16's filter words: [1, k_h, k_w, C] as, with multiplier 1, per block of
    four channels and per tap the block's weights in two words of int16 pairs; then per tap the
    other channels' weights (the last C % 4, or all of them), one a word."""
    taps = w.reshape(-1, w.shape[3]).astype(np.int64)  # [taps, C]
    c4 = w.shape[3] // 4 * 4 if multiplier == 1 else 0
    blocks = taps[:, :c4].reshape(taps.shape[0], -1, 4).transpose(1, 0, 2)  # [block, tap, 4]
    pairs = packing.int16_pair(blocks[..., 0::2], blocks[..., 1::2])  # [block, tap, 2]
    return packing.stream([pairs.reshape(-1), taps[:, c4:].reshape(-1)])


def pack_pairs(w: np.ndarray) -> np.ndarray:
    """kiln_conv_s16_pairs's filter words: each channel's [k_h][k_w][in_c] weights zero-padded to a
    multiple of 8 (an even count of steps of 4) as int16 pairs; per pair of channels (an odd last
    one paired with itself), per step, each channel's two words."""
    rows = w.reshape(w.shape[0], -1).astype(np.int64)
    rows = np.pad(rows, ((0, w.shape[0] % 2), (0, -rows.shape[1] % 8)))
    if w.shape[0] % 2:
        rows[-1] = rows[-2]
    words = packing.int16_pair(rows[:, 0::2], rows[:, 1::2]).reshape(rows.shape[0] // 2, 2, -1, 2)  # [pair, ch, step, 2]
    return packing.stream([words.transpose(0, 2, 1, 3).reshape(-1)])


def emit16(op, c, x, w, b, y, geo: str):
    p = op.params
    mult = c.array(f"op{op.index}_mult", p["mult"], "int32_t", "output multipliers per channel")
    shift = c.array(f"op{op.index}_shift", p["shift"], "int32_t", "output shifts per channel")
    bias = c.const(b) if b is not None else "NULL"
    lines = s16_params(p, geo, mult, shift, int(op.kind == "DEPTHWISE_CONV_2D"),
                       rq=rq_table(c, f"op{op.index}_rq", p.get("rq16")))
    if p["pairs"]:
        filt = c.array(f"op{op.index}_filter", pack_pairs(w.data), "int32_t",
                       f"filter {list(w.shape)} as int16 pairs, channels in pairs (see conv16x8.pack_pairs)")
        return lines + [f"kiln_conv_s16_pairs({c.ptr(x)}, {filt}, {bias}, {c.ptr(y)}, &params, "
                        f"(int16_t *)(void *){c.scratch(op)});"]
    if p["dw_fast"]:
        filt = c.array(f"op{op.index}_filter", pack_depthwise(w.data, p["depth_multiplier"]), "int32_t",
                       f"filter {list(w.shape)} as per tap the channels' int16 pairs (see conv16x8.pack_depthwise)")
        zeros = c.array(f"op{op.index}_zeros", np.zeros(-(-x.shape[3] // 2), np.int32), "int32_t",
                        "what taps outside the image read: in_c int16 zeros, as words to be word-aligned")
        return lines + [f"kiln_depthwise_conv_s16({c.ptr(x)}, {filt}, {bias}, {c.ptr(y)}, &params, "
                        f"(const int16_t *)(const void *){zeros});"]
    return lines + [
        f"kiln_conv_s16({c.ptr(x)}, {_filter(op, c, w)}, {bias}, {c.ptr(y)}, &params, "
        f"{'NULL' if op.kind == 'DEPTHWISE_CONV_2D' else f'(int16_t *)(void *){c.scratch(op)}'});",
    ]


def s16_params(p: dict, geo: str, mult: str, shift: str, depthwise: int, steps=(0, 0, 0), rq: str = "NULL") -> list[str]:
    return [
        "static const kiln_conv_s16_params_t params = {",
        f"    {{{geo}, {p['depth_multiplier']}}},",
        f"    {mult}, {shift}, {int(p['acc64'])}, {p['act_min']}, {p['act_max']}, "
        f"{depthwise} /* 64-bit accumulator, clamp, depthwise */, {', '.join(str(v) for v in steps)}, {rq}",
        "};",
    ]


def rq_table(c, name: str, rq16) -> str:
    if rq16 is None:
        return "NULL"
    return c.array(name, rq16, "int32_t", "per channel {M, bias}: the 64-bit rescale as one rounded high multiply "
                   "(see conv16x8.fast_rescale)")


def _filter(op, c, w) -> str:
    if op.kind == "DEPTHWISE_CONV_2D":
        return c.const(w)
    return c.array(f"op{op.index}_filter", pack_rows_s16(w.data.reshape(w.shape[0], -1)), "int8_t",
                   f"filter {list(w.shape)} as a 16x8 FC's [out_c][taps x in_c] (see pack_rows_s16)")
