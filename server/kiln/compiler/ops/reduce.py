"""Reductions over any set of axes: SUM, REDUCE_MAX, REDUCE_MIN, ARG_MAX, ARG_MIN, and MEAN beyond
the height-and-width case (ops/mean.py keeps that one's fast kernel and hands the rest here).

One kernel (kiln_reduce) walks each output element's inputs in the input's order, so float sums
add exactly as TFLite Micro's reference Reduce does. The kept and the reduced axes are each
collapsed to as few strided dimensions as possible at compile time. Integer SUM and MEAN follow
TFLite Micro's QuantizedMeanOrSum: the raw sum less zero point x count, rescaled by input scale /
output scale (MEAN with 1/count folded into the multiplier, as its code clamps it).
"""
from __future__ import annotations

import math

from .. import quantmath as qm
from .base import arity, dtype_in, quantized, register, require
from .copy import _strides

KINDS = {"SUM": "SUM", "MEAN": "MEAN", "REDUCE_MAX": "MAX", "REDUCE_MIN": "MIN", "ARG_MAX": "ARGMAX",
         "ARG_MIN": "ARGMIN"}
TYPES = {"SUM": ("int8", "int16", "float32"), "MEAN": ("int8", "int16", "float32"),
         "REDUCE_MAX": ("int8", "float32"), "REDUCE_MIN": ("int8", "float32"), "ARG_MAX": ("int8", "float32"),
         "ARG_MIN": ("int8", "float32")}
TYPE_CODES = {"float32": "F32", "int8": "I8", "int16": "I16"}


def axes_of(op, g) -> list[int]:
    """The reduced axes, sorted, non-negative; ARG_MAX and ARG_MIN take the first value only, as
    TFLite Micro does."""
    x, a = g.op_inputs(op)[:2]
    require(op, a is not None and a.is_const and a.dtype == "int32",
            "the axes must be a constant int32 tensor (TFLite Micro also takes them at run time; Kiln does not)")
    rank = len(x.shape)
    out = set()
    values = a.data.reshape(-1).tolist()
    for v in values[:1] if op.kind in ("ARG_MAX", "ARG_MIN") else values:
        require(op, -rank <= v < rank, f"axis {v} is out of range for rank {rank}")
        out.add(v + rank if v < 0 else v)
    return sorted(out)


def _merge(dims, strides):
    """Drop size-1 dimensions and merge neighbours that are contiguous in the input."""
    out = []
    for d, s in zip(dims, strides):
        if d == 1:
            continue
        if out and out[-1][1] == s * d:
            out[-1] = (out[-1][0] * d, s)
        else:
            out.append((d, s))
    return out or [(1, 0)]


def geometry(x, axes):
    xs = _strides(x.shape)
    kept = _merge([n for k, n in enumerate(x.shape) if k not in axes], [s for k, s in enumerate(xs) if k not in axes])
    red = _merge([x.shape[k] for k in axes], [xs[k] for k in axes])
    count = 1
    for k in axes:
        count *= x.shape[k]
    return kept, red, count


def check(op, g):
    arity(op, 2)
    x = g.op_inputs(op)[0]
    (y,) = g.op_outputs(op)
    dtype_in(op, x, "input", TYPES[op.kind])
    axes = axes_of(op, g)
    if op.kind in ("ARG_MAX", "ARG_MIN"):
        require(op, len(axes) == 1, f"needs one axis, has {len(axes)}")
        dtype_in(op, y, "output", ("int32",))
        want = [n for k, n in enumerate(x.shape) if k not in axes]
    else:
        dtype_in(op, y, "output", (x.dtype,))
        keep = bool(op.options.get("keep_dims", False))
        want = [1 if k in axes else n for k, n in enumerate(x.shape)] if keep else \
            [n for k, n in enumerate(x.shape) if k not in axes]
        raw = op.kind in ("REDUCE_MAX", "REDUCE_MIN") and x.quant is None and y.quant is None
        if x.dtype in ("int8", "int16") and not raw:  # (without quantization, REDUCE_MAX/MIN compare raw values)
            quantized(op, x, "input")
            quantized(op, y, "output")
            if op.kind in ("REDUCE_MAX", "REDUCE_MIN"):
                require(op, qm.f32(x.scale) == qm.f32(y.scale) and x.zero_point == y.zero_point,
                        "input and output must share their quantization (TFLite Micro compares raw values)")
    require(op, y.size == max(1, math.prod(want)) and list(y.shape) in (want, want or [1]),
            f"output shape {y.shape} is not {want}")
    kept, red, _ = geometry(x, axes)
    require(op, len(kept) <= 6 and len(red) <= 6, "the reduction needs more than 6 dimensions after merging")


def _fold_count(mult: int, shift: int, n: int) -> tuple[int, int]:
    """TFLite Micro's QuantizedMeanOrSum folds 1/n into the multiplier, clamping its shift."""
    s = min(n.bit_length() - 1, 32, 31 + shift)
    return (mult << s) // n, shift - s


def prepare(op, g):
    x = g.op_inputs(op)[0]
    (y,) = g.op_outputs(op)
    axes = axes_of(op, g)
    kept, red, count = geometry(x, axes)
    p = dict(kind=KINDS[op.kind], type=TYPE_CODES[x.dtype], kept=kept, red=red, count=count,
             in_zp=0, out_zp=0, mult=0, shift=0)
    if op.kind in ("ARG_MAX", "ARG_MIN"):
        p["red"] = [(x.shape[axes[0]], _strides(x.shape)[axes[0]])]
    elif x.dtype in ("int8", "int16") and op.kind in ("SUM", "MEAN"):
        mult, shift = qm.quantize_multiplier(x.scale / y.scale)
        if op.kind == "MEAN":
            mult, shift = _fold_count(mult, shift, count)
        p.update(in_zp=x.zero_point, out_zp=y.zero_point, mult=mult, shift=shift)
    op.params = p


def emit(op, g, c):
    x = g.op_inputs(op)[0]
    (y,) = g.op_outputs(op)
    p = op.params

    def arr(v):
        return "{" + ", ".join(str(a) for a in list(v) + [0] * (6 - len(v))) + "}"
    k, r = p["kept"], p["red"]
    return [f"static const kiln_reduce_t reduce = {{KILN_RED_{p['kind']}, KILN_RT_{p['type']}, {len(k)}, {len(r)},",
            f"    {arr([d for d, _ in k])}, {arr([s for _, s in k])}, /* kept axes: sizes, strides */",
            f"    {arr([d for d, _ in r])}, {arr([s for _, s in r])}, /* reduced axes: sizes, strides */",
            f"    {p['count']}, {p['in_zp']}, {p['out_zp']}, {p['mult']}, {p['shift']}}};",
            f"kiln_reduce({c.ptr(x)}, {c.ptr(y)}, &reduce);"]


for _kind in ("SUM", "REDUCE_MAX", "REDUCE_MIN", "ARG_MAX", "ARG_MIN"):
    register(_kind, check, prepare, emit, types=TYPES[_kind],
             notes="one constant int32 axis; int32 indices, the first on ties" if _kind.startswith("ARG") else
             "any constant axes, negative and repeated too; keep_dims")
