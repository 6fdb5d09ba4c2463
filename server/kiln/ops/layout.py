"""Operators that rearrange bytes without arithmetic: TRANSPOSE, SQUEEZE, EXPAND_DIMS, PACK, UNPACK,
SPLIT, SPLIT_V, SLICE, BROADCAST_TO, DEPTH_TO_SPACE, SPACE_TO_DEPTH, REVERSE_V2.

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

def check_depth_space(op, g):
    arity(op, 1)
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    _same_types(op, x, [y], ("int8", "float32"))
    bs = op.options.get("block_size", 0)
    require(op, len(x.shape) == 4 and bs >= 1, f"needs a 4-d input and a block size >= 1 (rank {len(x.shape)}, block {bs})")
    n, h, w, ch = x.shape
    if op.kind == "DEPTH_TO_SPACE":
        require(op, ch % (bs * bs) == 0, f"depth {ch} is not a multiple of block_size^2 = {bs * bs}")
        want = [n, h * bs, w * bs, ch // (bs * bs)]
    else:
        require(op, h % bs == 0 and w % bs == 0, f"height {h} and width {w} must be multiples of block size {bs}")
        want = [n, h // bs, w // bs, ch * bs * bs]
    require(op, list(y.shape) == want, f"output shape {y.shape} is not {want}")


def emit_depth_space(op, g, c):
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    bs = op.options["block_size"]
    elem = DTYPES[x.dtype][2]
    if op.kind == "DEPTH_TO_SPACE":  # y[n, h*bs+i, w*bs+j, c] = x[n, h, w, (i*bs+j)*C + c]
        n, h, w, ch = x.shape
        oc = ch // (bs * bs)
        dims = [n, h, bs, w, bs, oc]  # the output's own order
        xs = _strides(x.shape)
        src = [xs[0], xs[1], bs * oc, xs[2], oc, 1]
    else:  # y[n, h, w, (i*bs+j)*C + c] = x[n, h*bs+i, w*bs+j, c]
        n, h, w, ch = y.shape[0], y.shape[1], y.shape[2], x.shape[3]
        dims = [n, h, w, bs, bs, ch]
        xs = _strides(x.shape)
        src = [xs[0], bs * xs[1], bs * xs[2], xs[1], xs[2], 1]
    plan = copy_plan(dims, _strides(dims), src, elem)
    return _copy(c, y, 0, x, 0, plan, elem, f"block size {bs}")


# ---- REVERSE_V2 ----

def _rev_axes(op, g):
    x, a = g.op_inputs(op)
    axes = sorted({_axis(op, v, len(x.shape)) for v in _const_ints(op, a, "the axes", int64=False)})
    require(op, axes == list(range(axes[0], axes[0] + len(axes))) if axes else True,
            f"axes {axes} are not contiguous (TFLite Micro reverses contiguous axes only)")
    return axes


def check_reverse(op, g):
    arity(op, 2)
    x, a = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    _same_types(op, x, [y], ALL)
    _rev_axes(op, g)
    require(op, list(y.shape) == list(x.shape), f"output shape {y.shape} differs from the input's {x.shape}")
    require(op, len(x.shape) <= 6, f"rank {len(x.shape)} is above 6")


def emit_reverse(op, g, c):
    x = g.op_inputs(op)[0]
    (y,) = g.op_outputs(op)
    elem = DTYPES[x.dtype][2]
    axes = _rev_axes(op, g)
    xs = _strides(x.shape)
    start = sum((x.shape[k] - 1) * xs[k] for k in axes) * elem
    src = [-s if k in axes else s for k, s in enumerate(xs)]
    plan = copy_plan(x.shape, _strides(x.shape), src, elem)
    return _copy(c, y, 0, x, start, plan, elem, f"axes {axes} read backwards")


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
register("DEPTH_TO_SPACE", check_depth_space, _prepare_nothing, emit_depth_space, types=("int8", "float32"),
         notes="NHWC, any block size")
register("SPACE_TO_DEPTH", check_depth_space, _prepare_nothing, emit_depth_space, types=("int8", "float32"),
         notes="NHWC, any block size")
register("REVERSE_V2", check_reverse, _prepare_nothing, emit_reverse, types=ALL,
         notes="constant contiguous int32 axes, up to rank 6")


# ---- MIRROR_PAD: per axis the output index maps to the input by three runs (left mirror, the
# input, right mirror); the output is the product of those runs, each box one strided copy ----

def _mirror_runs(n: int, left: int, right: int, offset: int) -> list[tuple[int, int, int, int]]:
    """(output start, length, input start, input step) per run of one axis; offset 1 for REFLECT
    (the edge is not repeated), 0 for SYMMETRIC."""
    runs = []
    if left:
        runs.append((0, left, left + offset - 1, -1))  # output p < left reads input left - 1 + offset - p
    runs.append((left, n, 0, 1))
    if right:
        runs.append((left + n, right, n - 1 - offset, -1))
    return runs


def check_mirror_pad(op, g):
    arity(op, 2)
    x, pads = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    _same_types(op, x, [y], ("int8", "float32"))
    pd = _const_ints(op, pads, "the paddings")
    require(op, len(pd) == 2 * len(x.shape), f"paddings {pd} do not give two values per axis of rank {len(x.shape)}")
    offset = 1 if op.options.get("mode", 0) == 0 else 0
    for k, n in enumerate(x.shape):
        left, right = pd[2 * k], pd[2 * k + 1]
        require(op, 0 <= left <= n - offset and 0 <= right <= n - offset,
                f"axis {k} of size {n} cannot be mirrored by {left} and {right} "
                f"({'REFLECT' if offset else 'SYMMETRIC'} allows at most {n - offset})")
    want = [n + pd[2 * k] + pd[2 * k + 1] for k, n in enumerate(x.shape)]
    require(op, list(y.shape) == want, f"output shape {y.shape} is not the padded shape {want}")


def emit_mirror_pad(op, g, c):
    import itertools

    x, pads = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    pd = _const_ints(op, pads, "the paddings")
    offset = 1 if op.options.get("mode", 0) == 0 else 0
    elem = DTYPES[x.dtype][2]
    xs, ys = _strides(x.shape), _strides(y.shape)
    per_axis = [_mirror_runs(n, pd[2 * k], pd[2 * k + 1], offset) for k, n in enumerate(x.shape)]
    lines = [f"/* {'REFLECT' if offset else 'SYMMETRIC'}: {len(list(itertools.product(*per_axis)))} boxes, the "
             "middle one the input, the others mirrored runs */"]
    for box in itertools.product(*per_axis):
        dims = [r[1] for r in box]
        dst = sum(r[0] * s for r, s in zip(box, ys)) * elem
        src = sum(r[2] * s for r, s in zip(box, xs)) * elem
        plan = copy_plan(dims, ys, [r[3] * s for r, s in zip(box, xs)], elem)
        _plan_fits(op, plan)
        lines += _copy(c, y, dst, x, src, plan, elem)
    return lines


# ---- SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND (NHWC): one strided copy per block offset ----

def _blocks(op, g):
    """(input shape as 4-d NHWC, [bh, bw], [top, bottom, left, right]); a 3-d NHC input is NH1C
    with a block width of 1, as TFLite Micro extends it."""
    x, b, p = g.op_inputs(op)[:3]
    what = "paddings" if op.kind == "SPACE_TO_BATCH_ND" else "crops"
    block = _const_ints(op, b, "the block shape", int64=False)
    pads = _const_ints(op, p, f"the {what}", int64=False)
    rank = len(x.shape)
    require(op, rank in (3, 4) and len(block) == rank - 2 and len(pads) == 2 * (rank - 2),
            f"needs a 3-d or 4-d input with {max(rank - 2, 1)} block size(s) and {max(rank - 2, 1)}x2 {what} "
            f"(rank {rank}, {len(block)} block sizes, {len(pads)} {what})")
    require(op, all(v >= 1 for v in block) and all(v >= 0 for v in pads), f"block {block} and {what} {pads} must be positive")
    if rank == 3:
        return [x.shape[0], x.shape[1], 1, x.shape[2]], block + [1], pads + [0, 0]
    return list(x.shape), block, pads


def check_space_batch(op, g):
    arity(op, 3)
    xshape, (bh, bw), (t, bo, l_, r) = _blocks(op, g)
    x = g.op_inputs(op)[0]
    (y,) = g.op_outputs(op)
    _same_types(op, x, [y], ("int8", "float32"))
    n, h, w, ch = xshape
    if op.kind == "SPACE_TO_BATCH_ND":
        require(op, (h + t + bo) % bh == 0 and (w + l_ + r) % bw == 0,
                f"the padded size {h + t + bo}x{w + l_ + r} is not a multiple of the block {bh}x{bw}")
        want = [n * bh * bw, (h + t + bo) // bh, (w + l_ + r) // bw, ch]
    else:
        require(op, n % (bh * bw) == 0, f"batch {n} is not a multiple of the block {bh}x{bw}")
        want = [n // (bh * bw), h * bh - t - bo, w * bw - l_ - r, ch]
        require(op, want[1] >= 0 and want[2] >= 0, f"the crops leave {want[1]}x{want[2]}")
    if len(x.shape) == 3:
        want = [want[0], want[1], want[3]]
    require(op, list(y.shape) == want, f"output shape {y.shape} is not {want}")


def _valid(count: int, step: int, shift: int, lo: int, size: int) -> tuple[int, int]:
    """The run of k in 0..count-1 with 0 <= k*step + shift - lo < size: (first, length)."""
    ks = [k for k in range(count) if 0 <= k * step + shift - lo < size]
    return (ks[0], len(ks)) if ks else (0, 0)


def emit_space_batch(op, g, c):
    xshape, (bh, bw), (t, _, l_, _) = _blocks(op, g)
    x = g.op_inputs(op)[0]
    (y,) = g.op_outputs(op)
    yshape = list(y.shape) if len(y.shape) == 4 else [y.shape[0], y.shape[1], 1, y.shape[2]]
    elem = DTYPES[x.dtype][2]
    xs, ys = _strides(xshape), _strides(yshape)
    lines = []
    if op.kind == "SPACE_TO_BATCH_ND":  # y[(i*bw + j)*N + n, oy, ox] = x[n, oy*bh + i - t, ox*bw + j - l]
        n, oh, ow = xshape[0], yshape[1], yshape[2]
        lines.append(f"memset({c.ptr(y)}, 0, {y.nbytes}u); /* the padding: zeros, as TFLite Micro writes them */")
        for i in range(bh):
            for j in range(bw):
                y0, ny = _valid(oh, bh, i, t, xshape[1])
                x0, nx = _valid(ow, bw, j, l_, xshape[2])
                if not ny or not nx:
                    continue
                dst = (((i * bw + j) * n) * ys[0] + y0 * ys[1] + x0 * ys[2]) * elem
                src = ((y0 * bh + i - t) * xs[1] + (x0 * bw + j - l_) * xs[2]) * elem
                plan = copy_plan([n, ny, nx, xshape[3]], ys, [xs[0], bh * xs[1], bw * xs[2], 1], elem)
                lines += _copy(c, y, dst, x, src, plan, elem, f"block offset ({i}, {j})")
    else:  # y[n, iy*bh + i - t, ix*bw + j - l] = x[(i*bw + j)*N + n, iy, ix]
        n = yshape[0]
        for i in range(bh):
            for j in range(bw):
                y0, ny = _valid(xshape[1], bh, i, t, yshape[1])
                x0, nx = _valid(xshape[2], bw, j, l_, yshape[2])
                if not ny or not nx:
                    continue
                dst = ((y0 * bh + i - t) * ys[1] + (x0 * bw + j - l_) * ys[2]) * elem
                src = (((i * bw + j) * n) * xs[0] + y0 * xs[1] + x0 * xs[2]) * elem
                plan = copy_plan([n, ny, nx, xshape[3]], [ys[0], bh * ys[1], bw * ys[2], 1], xs, elem)
                lines += _copy(c, y, dst, x, src, plan, elem, f"block offset ({i}, {j})")
    return lines


register("MIRROR_PAD", check_mirror_pad, _prepare_nothing, emit_mirror_pad, types=("int8", "float32"),
         notes="REFLECT and SYMMETRIC, constant paddings")
register("SPACE_TO_BATCH_ND", check_space_batch, _prepare_nothing, emit_space_batch, types=("int8", "float32"),
         notes="3-d NHC or 4-d NHWC, constant int32 block and paddings (padding written as zeros, as TFLite Micro)")
register("BATCH_TO_SPACE_ND", check_space_batch, _prepare_nothing, emit_space_batch, types=("int8", "float32"),
         notes="3-d NHC or 4-d NHWC, constant int32 block and crops")
