"""Operators that rearrange bytes without arithmetic: TRANSPOSE, SQUEEZE, EXPAND_DIMS, PACK, UNPACK,
SPLIT, SPLIT_V, SLICE, BROADCAST_TO (and in ops/spatial.py the block moves: DEPTH_TO_SPACE,
SPACE_TO_DEPTH, REVERSE_V2, MIRROR_PAD, SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND).

Each is worked out at compile time as one or more strided N-d copies (kiln_copy_nd, ops/copy.py's
copy_plan merges contiguous dimensions): a transpose permutes the source strides, a broadcast gives
a source stride of 0, a reversal a negative one, a split or a pack offsets the destination or the
source per part. Operators whose output is the input's bytes in another shape (SQUEEZE,
EXPAND_DIMS, a TRANSPOSE that only moves size-1 axes) alias it: no code, no memory.
Quantized types are copied as bytes, as TFLite Micro does (it does not rescale here).
"""
from __future__ import annotations

import numpy as np

from ..ir import DTYPES
from .base import arity, dtype_in, register, require
from .copy import MAX_DIMS, _emit_copy, _strides, copy_plan

ALL = ("int8", "int16", "int32", "int64", "uint8", "bool", "float32")


def _axis(op, axis: int, rank: int, what: str = "axis") -> int:
    a = axis + rank if axis < 0 else axis
    require(op, 0 <= a < rank, f"{what} {axis} is out of range for rank {rank}")
    return a


def _const_ints(op, t, what: str, int64: bool = True) -> list[int]:
    """The values of a constant index tensor. int64=False where TFLite Micro refuses int64 or reads
    the buffer as int32 whatever its type (it would misread the values)."""
    types = ("int32", "int64") if int64 else ("int32",)
    require(op, t is not None and t.is_const and t.dtype in types,
            f"{what} must be a constant {' or '.join(types)} tensor"
            + ("" if int64 or t is None or t.dtype != "int64" else " (TFLite Micro reads it as int32)"))
    return [int(v) for v in np.asarray(t.data).reshape(-1)]


def _plan_fits(op, plan) -> None:
    require(op, len(plan) <= MAX_DIMS, f"the copy needs {len(plan)} dimensions after merging, more than {MAX_DIMS}")


def _copy(c, dst, dst_off: int, src, src_off: int, plan, elem: int, comment: str = "") -> list[str]:
    d = f"(uint8_t *){c.ptr(dst)} + {dst_off}" if dst_off else c.ptr(dst)
    s = f"(const uint8_t *){c.ptr(src)} + {src_off}" if src_off else c.ptr(src)
    return _emit_copy(c, d, s, plan, elem, comment)


def _same_types(op, x, ys, types):
    dtype_in(op, x, "input", types)
    for k, y in enumerate(ys):
        dtype_in(op, y, f"output {k}" if len(ys) > 1 else "output", (x.dtype,))


def _alias_emit(op, g, c):
    x = g.op_inputs(op)[0]
    (y,) = g.op_outputs(op)
    return [f"/* {x.describe()} -> {y.describe()}: the output shares the input's memory; nothing to do. */"]


def _prepare_nothing(op, g):
    op.params = {}


# ---- TRANSPOSE ----

def _perm(op, g):
    x, p = g.op_inputs(op)[:2]
    return _const_ints(op, p, "the permutation", int64=False)


def check_transpose(op, g):
    arity(op, 2)
    x, p = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    _same_types(op, x, [y], ("int8", "int16", "float32"))
    perm = _perm(op, g)
    require(op, sorted(perm) == list(range(len(x.shape))),
            f"permutation {perm} is not one of rank {len(x.shape)} (entries 0..{len(x.shape) - 1}, no negatives)")
    require(op, len(x.shape) <= 5, f"rank {len(x.shape)} is above 5")
    require(op, [x.shape[k] for k in perm] == list(y.shape), f"output shape {y.shape} is not the permuted input shape")


def transpose_is_reshape(op, g) -> bool:
    """A permutation that keeps every axis longer than 1 in order moves no byte."""
    x = g.op_inputs(op)[0]
    moved = [k for k in _perm(op, g) if x.shape[k] != 1]
    return moved == sorted(moved)


def emit_transpose(op, g, c):
    if transpose_is_reshape(op, g):
        return _alias_emit(op, g, c)
    x = g.op_inputs(op)[0]
    (y,) = g.op_outputs(op)
    elem = DTYPES[x.dtype][2]
    xs = _strides(x.shape)
    perm = _perm(op, g)
    plan = copy_plan(y.shape, _strides(y.shape), [xs[k] for k in perm], elem)
    _plan_fits(op, plan)
    return _copy(c, y, 0, x, 0, plan, elem, f"output axis d reads input axis perm[d], perm = {perm}")


# ---- SQUEEZE, EXPAND_DIMS ----

def check_squeeze(op, g):
    arity(op, 1)
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    _same_types(op, x, [y], ALL)
    require(op, len(x.shape) <= 8, f"rank {len(x.shape)} is above 8")
    dims = [_axis(op, d, len(x.shape), "squeeze dimension") for d in op.options.get("squeeze_dims") or []]
    want = [n for k, n in enumerate(x.shape) if (n != 1 if not dims else k not in dims)]
    for d in dims:
        require(op, x.shape[d] == 1, f"dimension {d} has size {x.shape[d]}, not 1")
    require(op, list(y.shape) == want, f"output shape {y.shape} is not the squeezed input shape {want}")


def check_expand_dims(op, g):
    arity(op, 2)
    x, a = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    _same_types(op, x, [y], ("int8", "int16", "float32"))
    (axis,) = _const_ints(op, a, "the axis", int64=False)[:1] or [None]
    require(op, axis is not None, "the axis is empty")
    axis = axis + len(x.shape) + 1 if axis < 0 else axis
    require(op, 0 <= axis <= len(x.shape), f"axis {axis} is out of range for rank {len(x.shape)}")
    want = list(x.shape[:axis]) + [1] + list(x.shape[axis:])
    require(op, list(y.shape) == want, f"output shape {y.shape} is not {want}")


# ---- PACK, UNPACK ----

def check_pack(op, g):
    ins = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    require(op, len(ins) >= 1 and len(op.outputs) == 1, "needs inputs and one output")
    require(op, op.options.get("values_count", len(ins)) == len(ins),
            f"values_count {op.options.get('values_count')} differs from its {len(ins)} inputs")
    for k, t in enumerate(ins):
        dtype_in(op, t, f"input {k}", ("int8", "int16", "int32", "int64", "float32"))
        require(op, t.shape == ins[0].shape and t.dtype == ins[0].dtype, f"input {k} differs from input 0 in shape or type")
    dtype_in(op, y, "output", (ins[0].dtype,))
    axis = _axis(op, op.options.get("axis", 0), len(ins[0].shape) + 1)
    want = list(ins[0].shape[:axis]) + [len(ins)] + list(ins[0].shape[axis:])
    require(op, list(y.shape) == want, f"output shape {y.shape} is not {want}")


def emit_pack(op, g, c):
    ins = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    axis = _axis(op, op.options.get("axis", 0), len(y.shape))
    elem = DTYPES[y.dtype][2]
    ys = _strides(y.shape)
    lines = []
    for k, t in enumerate(ins):
        plan = copy_plan(t.shape, ys[:axis] + ys[axis + 1:], _strides(t.shape), elem)
        _plan_fits(op, plan)
        lines += _copy(c, y, k * ys[axis] * elem, t, 0, plan, elem, f"input {k} into position {k} of axis {axis}")
    return lines


def check_unpack(op, g):
    arity(op, 1, len(op.outputs))
    (x,) = g.op_inputs(op)
    ys = g.op_outputs(op)
    _same_types(op, x, ys, ("int8", "int16", "int32", "float32"))
    axis = _axis(op, op.options.get("axis", 0), len(x.shape))
    require(op, len(ys) == x.shape[axis] == op.options.get("num", len(ys)),
            f"{len(ys)} outputs for axis {axis} of size {x.shape[axis]}")
    want = list(x.shape[:axis]) + list(x.shape[axis + 1:])
    for k, y in enumerate(ys):
        require(op, list(y.shape) == want, f"output {k} shape {y.shape} is not {want}")


def emit_unpack(op, g, c):
    (x,) = g.op_inputs(op)
    axis = _axis(op, op.options.get("axis", 0), len(x.shape))
    elem = DTYPES[x.dtype][2]
    xs = _strides(x.shape)
    lines = []
    for k, y in enumerate(g.op_outputs(op)):
        plan = copy_plan(y.shape, _strides(y.shape), xs[:axis] + xs[axis + 1:], elem)
        _plan_fits(op, plan)
        lines += _copy(c, y, 0, x, k * xs[axis] * elem, plan, elem, f"output {k}: position {k} of axis {axis}")
    return lines


# ---- SPLIT, SPLIT_V, SLICE: parts of the input along axes ----

def _split_sizes(op, g):
    """(input, axis, [sizes]) of SPLIT (axis, input) or SPLIT_V (input, sizes, axis)."""
    if op.kind == "SPLIT":
        a, x = g.op_inputs(op)[:2]
        axis = _axis(op, _const_ints(op, a, "the axis")[0], len(x.shape))
        n = len(op.outputs)
        require(op, x.shape[axis] % n == 0, f"axis {axis} of size {x.shape[axis]} does not split into {n} equal parts")
        return x, axis, [x.shape[axis] // n] * n
    x, s, a = g.op_inputs(op)[:3]
    axis = _axis(op, _const_ints(op, a, "the axis")[0], len(x.shape))
    if s is None or not s.is_const:  # TFLite Micro never reads size_splits: the output shapes say it
        return x, axis, [y.shape[axis] if axis < len(y.shape) else 0 for y in g.op_outputs(op)]
    sizes = _const_ints(op, s, "size_splits")
    if sizes.count(-1) == 1:
        sizes[sizes.index(-1)] = x.shape[axis] - (sum(sizes) + 1)
    return x, axis, sizes


def check_split(op, g):
    arity(op, 2 if op.kind == "SPLIT" else 3, len(op.outputs))
    x, axis, sizes = _split_sizes(op, g)
    ys = g.op_outputs(op)
    _same_types(op, x, ys, ("int8", "int16", "int32", "float32"))
    require(op, all(v > 0 for v in sizes), f"sizes {sizes}: an empty part is a dynamic tensor to TFLite Micro")
    require(op, len(sizes) == len(ys) and sum(sizes) == x.shape[axis],
            f"sizes {sizes} do not split axis {axis} of size {x.shape[axis]} into {len(ys)} outputs")
    for k, (y, n) in enumerate(zip(ys, sizes)):
        want = list(x.shape[:axis]) + [n] + list(x.shape[axis + 1:])
        require(op, list(y.shape) == want, f"output {k} shape {y.shape} is not {want}")


def emit_split(op, g, c):
    x, axis, sizes = _split_sizes(op, g)
    elem = DTYPES[x.dtype][2]
    xs = _strides(x.shape)
    lines, at = [], 0
    for k, (y, n) in enumerate(zip(g.op_outputs(op), sizes)):
        if n:
            plan = copy_plan(y.shape, _strides(y.shape), xs, elem)
            _plan_fits(op, plan)
            lines += _copy(c, y, 0, x, at * xs[axis] * elem, plan, elem, f"output {k}: {n} from {at} along axis {axis}")
        at += n
    return lines


def _slice_box(op, g):
    x, b, s = g.op_inputs(op)[:3]
    begin = _const_ints(op, b, "begin")
    size = _const_ints(op, s, "size")
    require(op, len(begin) == len(size) == len(x.shape), f"begin {begin} and size {size} do not match rank {len(x.shape)}")
    size = [x.shape[k] - begin[k] if n == -1 else n for k, n in enumerate(size)]
    for k, (b0, n) in enumerate(zip(begin, size)):
        require(op, 0 <= b0 and n >= 0 and b0 + n <= x.shape[k], f"the slice {b0}..{b0 + n} of axis {k} leaves the "
                f"input's {x.shape[k]}")
    return x, begin, size


def check_slice(op, g):
    arity(op, 3)
    x, begin, size = _slice_box(op, g)
    (y,) = g.op_outputs(op)
    _same_types(op, x, [y], ("int8", "int16", "int32", "float32", "bool"))
    require(op, len(x.shape) <= 5, f"rank {len(x.shape)} is above 5")
    require(op, list(y.shape) == size, f"output shape {y.shape} is not the slice size {size}")


def emit_slice(op, g, c):
    x, begin, size = _slice_box(op, g)
    (y,) = g.op_outputs(op)
    elem = DTYPES[x.dtype][2]
    xs = _strides(x.shape)
    plan = copy_plan(size, _strides(size), xs, elem)
    return _copy(c, y, 0, x, sum(b * s for b, s in zip(begin, xs)) * elem, plan, elem, f"begin {begin}, size {size}")


# ---- BROADCAST_TO ----

def check_broadcast_to(op, g):
    arity(op, 2)
    x, s = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    _same_types(op, x, [y], ALL)
    shape = _const_ints(op, s, "the shape")
    require(op, list(y.shape) == shape, f"output shape {y.shape} differs from the shape input {shape}")
    require(op, len(x.shape) <= len(shape) <= 5, f"rank {len(shape)} is above 5 or below the input's")
    pad = [1] * (len(shape) - len(x.shape)) + list(x.shape)
    require(op, all(a in (1, b) for a, b in zip(pad, shape)), f"input shape {x.shape} does not broadcast to {shape}")


def emit_broadcast_to(op, g, c):
    x = g.op_inputs(op)[0]
    (y,) = g.op_outputs(op)
    elem = DTYPES[x.dtype][2]
    pad = [1] * (len(y.shape) - len(x.shape)) + list(x.shape)
    src = [0 if a == 1 else s for a, s in zip(pad, _strides(pad))]
    plan = copy_plan(y.shape, _strides(y.shape), src, elem)
    return _copy(c, y, 0, x, 0, plan, elem, "a source stride of 0 repeats the broadcast axes")


# ---- DEPTH_TO_SPACE, SPACE_TO_DEPTH: 6-d transposes ----

register("TRANSPOSE", check_transpose, _prepare_nothing, emit_transpose, alias_output=transpose_is_reshape,
         types=("int8", "int16", "float32"), notes="any constant int32 permutation up to rank 5")
register("SQUEEZE", check_squeeze, _prepare_nothing, _alias_emit, alias_output=True, types=ALL,
         notes="squeeze_dims or every size-1 axis")
register("EXPAND_DIMS", check_expand_dims, _prepare_nothing, _alias_emit, alias_output=True,
         types=("int8", "int16", "float32"), notes="axis as a constant int32, negative too")
register("PACK", check_pack, _prepare_nothing, emit_pack, types=("int8", "int16", "int32", "int64", "float32"),
         notes="any axis, negative too")
register("UNPACK", check_unpack, _prepare_nothing, emit_unpack, types=("int8", "int16", "int32", "float32"),
         notes="any axis, negative too")
register("SPLIT", check_split, _prepare_nothing, emit_split, types=("int8", "int16", "int32", "float32"),
         notes="constant axis, equal parts")
register("SPLIT_V", check_split, _prepare_nothing, emit_split, types=("int8", "int16", "int32", "float32"),
         notes="constant axis; sizes constant (one may be -1) or, as TFLite Micro, the outputs' shapes")
register("SLICE", check_slice, _prepare_nothing, emit_slice, types=("int8", "int16", "int32", "float32", "bool"),
         notes="constant begin and size (-1: to the end), up to rank 5")
register("BROADCAST_TO", check_broadcast_to, _prepare_nothing, emit_broadcast_to, types=ALL,
         notes="constant shape, up to rank 5")
