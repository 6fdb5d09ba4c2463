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
    if op.kind == "CONV_2D":  # one output pixel's taps, the input of its FC
        op.scratch_bytes = (2 * int(np.prod(w.shape[1:])) + 3) // 4 * 4


def emit16(op, c, x, w, b, y, geo: str):
    p = op.params
    mult = c.array(f"op{op.index}_mult", p["mult"], "int32_t", "output multipliers per channel")
    shift = c.array(f"op{op.index}_shift", p["shift"], "int32_t", "output shifts per channel")
    bias = c.const(b) if b is not None else "NULL"
    return [
        "static const kiln_conv_s16_params_t params = {",
        f"    {{{geo}, {p['depth_multiplier']}}},",
        f"    {mult}, {shift}, {int(p['acc64'])}, {p['act_min']}, {p['act_max']}, "
        f"{int(op.kind == 'DEPTHWISE_CONV_2D')} /* 64-bit accumulator, clamp, depthwise */",
        "};",
        f"kiln_conv_s16({c.ptr(x)}, {_filter(op, c, w)}, {bias}, {c.ptr(y)}, &params, "
        f"{'NULL' if op.kind == 'DEPTHWISE_CONV_2D' else f'(int16_t *)(void *){c.scratch(op)}'});",
    ]


def _filter(op, c, w) -> str:
    if op.kind == "DEPTHWISE_CONV_2D":
        return c.const(w)
    return c.array(f"op{op.index}_filter", pack_rows_s16(w.data.reshape(w.shape[0], -1)), "int8_t",
                   f"filter {list(w.shape)} as a 16x8 FC's [out_c][taps x in_c] (see pack_rows_s16)")
