"""MEAN. Over height and width of a 4-D NHWC tensor, int8 and float32 (the global pooling of image
models) it runs its own kernel, below; any other axes, int16 too, go to ops/reduce.py's kernel.

int8 follows TFLite Micro's QuantizedMeanOrSum (checked against it for keep_dims on and off,
same and different quantization): sum(x) - zp * count, rescaled by (in/out scale) / count with
the 1/count folded into the multiplier at compile time.
"""
from __future__ import annotations

from .. import quantmath as qm
from . import reduce
from .base import arity, dtype_in, quantized, register, require


def _over_hw(op, g) -> bool:
    x, axis = g.op_inputs(op)[:2]
    if len(op.inputs) != 2 or x is None or x.dtype not in ("int8", "float32") or len(x.shape) != 4:
        return False
    if axis is None or not axis.is_const or axis.dtype != "int32":
        return False
    return sorted({int(a) % 4 for a in axis.data.reshape(-1)}) == [1, 2]


def check(op, g):
    if not _over_hw(op, g):
        return reduce.check(op, g)
    arity(op, 2)
    x, axis = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    dtype_in(op, x, "input", ("int8", "float32"))
    dtype_in(op, y, "output", (x.dtype,))
    require(op, axis is not None and axis.is_const and axis.dtype == "int32", "axis must be a constant int32 tensor")
    axes = sorted(int(a) % max(len(x.shape), 1) for a in axis.data.reshape(-1))
    require(op, len(x.shape) == 4 and axes == [1, 2],
            f"only the mean over height and width of a 4-D tensor is supported (input {x.shape}, axis {axes})")
    require(op, y.size == x.shape[0] * x.shape[3], f"output shape {y.shape} does not match input {x.shape}")
    if x.dtype == "int8":
        quantized(op, x, "input")
        quantized(op, y, "output")


def _fold_count(mult: int, shift: int, n: int) -> tuple[int, int]:
    """QuantizedMeanOrSum: fold 1/n into the multiplier."""
    s = min(n.bit_length() - 1, 32, 31 + shift)
    return (mult << s) // n, shift - s  # positive operands: C's truncation is floor


def prepare(op, g):
    if not _over_hw(op, g):
        return reduce.prepare(op, g)
    x = g.op_inputs(op)[0]
    (y,) = g.op_outputs(op)
    n, h, w, c = x.shape
    p = dict(batches=n, h=h, w=w, c=c)
    op.macs = 0
    if x.dtype == "int8":
        mult, shift = qm.quantize_multiplier(x.scale / y.scale)
        mult, shift = _fold_count(mult, shift, h * w)
        p.update(mult=mult, shift=shift, in_zp=x.zero_point, out_zp=y.zero_point)
    op.params = p


def emit(op, g, c):
    if not _over_hw(op, g):
        return reduce.emit(op, g, c)
    x = g.op_inputs(op)[0]
    (y,) = g.op_outputs(op)
    p = op.params
    dims = f"{p['batches']}, {p['h']}, {p['w']}, {p['c']}"
    if x.dtype == "float32":
        return [f"kiln_mean_hw_f32({c.ptr(x)}, {c.ptr(y)}, {dims});"]
    return [f"static const kiln_mean_s8_params_t params = {{{p['mult']}, {p['shift']}, {p['in_zp']}, {p['out_zp']}}};",
            f"kiln_mean_hw_s8({c.ptr(x)}, {c.ptr(y)}, {dims}, &params);"]


register("MEAN", check, prepare, emit, types=("int8", "int16", "float32"),
         notes="any constant axes, keep_dims; over height and width a kernel of its own")
