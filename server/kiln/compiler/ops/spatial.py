"""Operators that move blocks of an image or reverse axes, without arithmetic: DEPTH_TO_SPACE,
SPACE_TO_DEPTH, REVERSE_V2, MIRROR_PAD, SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND. Like ops/layout.py's
(whose helpers they share) each is worked out at compile time as strided N-d copies (kiln_copy_nd):
a block move is one copy per block offset, a reversal a negative stride, a mirror one copy per
box of runs.
"""
from __future__ import annotations

from ..ir import DTYPES
from .base import arity, register, require
from .copy import _strides, copy_plan
from .layout import ALL, _axis, _const_ints, _copy, _plan_fits, _prepare_nothing, _same_types


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
