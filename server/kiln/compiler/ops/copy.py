"""Operators that only move bytes: PAD, PADV2, CONCATENATION, STRIDED_SLICE (ops/layout.py has the
others, built on the same copy).

Each becomes one or more calls of one strided N-d copy (kiln_copy_nd) whose strides and offsets
are worked out here at compile time.
"""
from __future__ import annotations

import numpy as np

from .. import quantmath as qm
from ..ir import DTYPES
from .base import arity, dtype_in, quantized, register, require

MAX_DIMS = 6
PAD_MAX_DIMS = 5  # TFLite Micro's PadKernelMaxDimensionCount
SLICE_MAX_DIMS = 4  # TFLite Micro's strided_slice kMaxDim
CONCAT_MAX_INPUTS = 10  # TFLite Micro's concatenation kMaxInputNum
PAD_TYPES = ("int8", "int16", "int32", "float32")
CONCAT_TYPES = ("int8", "int16", "int32", "int64", "bool", "float32")
SLICE_TYPES = ("int8", "int16", "int32", "bool", "float32")


def _strides(shape):
    out, acc = [], 1
    for d in reversed(shape):
        out.append(acc)
        acc *= d
    return list(reversed(out))


def copy_plan(dims, dst_strides, src_strides, elem):
    """Drop unit dimensions, merge contiguous ones, longest outer dimension second to last; strides in bytes."""
    items = [(d, ds * elem, ss * elem) for d, ds, ss in zip(dims, dst_strides, src_strides) if d != 1]
    merged = []
    for d, ds, ss in items:
        if merged and merged[-1][1] == ds * d and merged[-1][2] == ss * d:
            pd, _, _ = merged[-1]
            merged[-1] = (pd * d, ds, ss)
        else:
            merged.append((d, ds, ss))
    if len(merged) >= 3:
        # kiln_copy_nd loops over the two innermost dimensions as a block of rows: the longest outer
        # dimension goes next to the innermost one (no copy overlaps its source, so any order is right)
        k = max(range(len(merged) - 1), key=lambda i: (merged[i][0], i))
        merged.insert(len(merged) - 2, merged.pop(k))
    return merged or [(1, elem, elem)]


def _emit_copy(c, dst, src, plan, elem, comment=""):
    if len(plan) == 1 and plan[0][1] == plan[0][2] == elem:  # one contiguous run: memcpy beats the walker's setup
        return [f"memcpy({dst}, {src}, {plan[0][0] * elem}u);" + (f" /* {comment} */" if comment else "")]
    dims = ", ".join(str(d) for d, _, _ in plan)
    ds = ", ".join(str(s) for _, s, _ in plan)
    ss = ", ".join(str(s) for _, _, s in plan)
    return [f"{{ /* {comment} */" if comment else "{",
            f"    static const kiln_copy_t copy = {{{len(plan)}, {elem}, {{{dims}}}, {{{ds}}}, {{{ss}}}}};",
            f"    kiln_copy_nd({dst}, {src}, &copy);",
            "}"]


def _zp(t) -> int:
    return t.zero_point if t.quant is not None else 0


def _same_quant(op, a, b, what):
    if a.dtype in ("int8", "int16") and (a.quant is not None or b.quant is not None):
        quantized(op, a, what)
        quantized(op, b, "output")
        require(op, a.zero_point == b.zero_point and qm.f32(a.scale) == qm.f32(b.scale),
                f"{what} and output must share the same quantization (scale and zero point)")


# ---- PAD ----

def check_pad(op, g):
    arity(op, (2, 3))
    x, pads = g.op_inputs(op)[:2]
    (y,) = g.op_outputs(op)
    dtype_in(op, x, "input", PAD_TYPES)
    dtype_in(op, y, "output", (x.dtype,))
    # TFLite Micro reads the paddings as int32 whatever their type: int64 ones would be misread
    require(op, pads is not None and pads.is_const and pads.dtype == "int32",
            "paddings must be a constant int32 tensor" + (" (TFLite Micro reads int64 ones as int32)"
                                                         if pads is not None and pads.dtype == "int64" else ""))
    pd = pads.data.reshape(-1, 2)
    require(op, len(x.shape) <= PAD_MAX_DIMS, f"rank {len(x.shape)} is above {PAD_MAX_DIMS}")
    require(op, pd.shape[0] == len(x.shape), f"paddings {pd.shape[0]}x2 do not match input rank {len(x.shape)}")
    require(op, (pd >= 0).all(), "negative paddings are not supported")
    require(op, list(np.array(x.shape) + pd.sum(axis=1)) == y.shape, f"output shape {y.shape} is not the padded input shape")
    # The input is copied as it is, whatever the two quantizations (TFLite Micro does not rescale).
    if len(op.inputs) == 3 and op.inputs[2] >= 0:
        cv = g.tensor(op.inputs[2])
        dtype_in(op, cv, "the pad value", (x.dtype,))
        require(op, cv.size == 1, f"the pad value must be a scalar, has shape {cv.shape}")
        if x.dtype == "int8":
            require(op, cv.quant is not None and y.quant is not None and cv.zero_point == y.zero_point
                    and qm.f32(cv.scale) == qm.f32(y.scale),
                    "the pad value must be quantized as the output (same scale and zero point)")


def prepare_pad(op, g):
    x, pads = g.op_inputs(op)[:2]
    (y,) = g.op_outputs(op)
    # without a pad value int8 pads with the output's zero point, int16 with a raw 0 (as TFLite Micro)
    value = y.zero_point if y.quant is not None and y.dtype == "int8" else 0
    if len(op.inputs) == 3 and op.inputs[2] >= 0:
        cv = g.tensor(op.inputs[2])
        value = cv.data.reshape(-1)[0].item() if cv.is_const else None  # None: read at run time
    op.params = {"before": pads.data.reshape(-1, 2)[:, 0].tolist(), "value": value}


def emit_pad(op, g, c):
    x = g.op_inputs(op)[0]
    (y,) = g.op_outputs(op)
    p = op.params
    elem = DTYPES[x.dtype][2]
    ys = _strides(y.shape)
    offset = sum(b * s for b, s in zip(p["before"], ys)) * elem
    plan = copy_plan(x.shape, ys, _strides(x.shape), elem)
    if p["value"] is None:  # a run-time pad value
        fill = f"kiln_fill_elems({c.ptr(y)}, {y.size}, {c.ptr(g.op_inputs(op)[2])}, {elem});"
    elif x.dtype == "float32":
        fill = f"kiln_fill_f32({c.ptr(y)}, {y.size}, {c.f32(p['value'])});"
    elif x.dtype == "int8":
        fill = f"kiln_fill_s8({c.ptr(y)}, {y.size}, {int(p['value'])});"
    else:
        value = c.array(f"op{op.index}_pad_value", np.array([p["value"]], DTYPES[x.dtype][0]), DTYPES[x.dtype][1],
                        "the pad value")
        fill = f"kiln_fill_elems({c.ptr(y)}, {y.size}, {value}, {elem});"
    return [fill] + _emit_copy(c, f"(uint8_t *){c.ptr(y)} + {offset}", c.ptr(x), plan, elem, "input into the middle")


# ---- CONCATENATION ----

def check_concat(op, g):
    require(op, len(op.inputs) >= 1 and len(op.outputs) == 1, "needs inputs and one output")
    require(op, len(op.inputs) <= CONCAT_MAX_INPUTS,
            f"{len(op.inputs)} inputs, more than TFLite Micro's {CONCAT_MAX_INPUTS}")
    ins = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    dtype_in(op, y, "output", CONCAT_TYPES)
    axis = op.options.get("axis", 0)
    axis = axis + len(y.shape) if axis < 0 else axis
    require(op, 0 <= axis < len(y.shape), f"axis {op.options.get('axis')} out of range for rank {len(y.shape)}")
    require(op, len(y.shape) <= MAX_DIMS, f"rank {len(y.shape)} is above {MAX_DIMS}")
    require(op, op.options.get("fused_activation_function", 0) == 0, "a fused activation is not supported")
    total = 0
    for k, t in enumerate(ins):
        dtype_in(op, t, f"input {k}", (y.dtype,))
        require(op, len(t.shape) == len(y.shape) and all(a == b for i, (a, b) in enumerate(zip(t.shape, y.shape)) if i != axis),
                f"input {k} shape {t.shape} does not fit output {y.shape} along axis {axis}")
        total += t.shape[axis]
        if y.dtype == "int8":
            _same_quant(op, t, y, f"input {k}")
        elif y.dtype == "int16":  # raw values copied whatever the scales, as TFLite Micro does
            require(op, _zp(t) == 0, f"input {k} has zero point {_zp(t)}; int16 needs 0")
    require(op, y.dtype != "int16" or _zp(y) == 0, f"the output has zero point {_zp(y)}; int16 needs 0")
    require(op, total == y.shape[axis], f"inputs add up to {total} along axis {axis}, output has {y.shape[axis]}")


def prepare_concat(op, g):
    axis = op.options.get("axis", 0)
    op.params = {"axis": axis + len(g.op_outputs(op)[0].shape) if axis < 0 else axis}


def emit_concat(op, g, c):
    (y,) = g.op_outputs(op)
    axis = op.params["axis"]
    elem = DTYPES[y.dtype][2]
    ys = _strides(y.shape)
    lines, at = [], 0
    for k, t in enumerate(g.op_inputs(op)):
        dst = at * ys[axis] * elem
        if t.offset == y.offset + dst and not t.is_const:  # the planner put it in its place (passes/plan.py)
            lines.append(f"/* input {k} was written in place by the operator producing it: nothing to copy */")
        else:
            plan = copy_plan(t.shape, ys, _strides(t.shape), elem)
            lines += _emit_copy(c, f"(uint8_t *){c.ptr(y)} + {dst}", c.ptr(t), plan, elem, f"input {k}")
        at += t.shape[axis]
    return lines


# ---- STRIDED_SLICE ----

def slice_params(shape, begin, end, strides, begin_mask, end_mask, shrink_mask):
    """TensorFlow's strided-slice semantics per dimension: (start, count, step)."""
    out = []
    for i, size in enumerate(shape):
        step = int(strides[i])
        if shrink_mask >> i & 1:
            s = int(begin[i]) + (size if begin[i] < 0 else 0)
            out.append((s, 1, 1))
            continue
        if step > 0:
            lo, hi = 0, size
        else:
            lo, hi = -1, size - 1
        s = (lo if step > 0 else hi) if begin_mask >> i & 1 else int(begin[i])
        e = (hi if step > 0 else lo) if end_mask >> i & 1 else int(end[i])
        if not begin_mask >> i & 1:
            s = s + size if s < 0 else s
            s = min(max(s, lo), hi)
        if not end_mask >> i & 1:
            e = e + size if e < 0 else e
            e = min(max(e, lo), hi)
        count = max(0, (e - s + (step - (1 if step > 0 else -1))) // step)
        out.append((s, count, step))
    return out


def check_slice(op, g):
    arity(op, (3, 4))
    x, b, e = g.op_inputs(op)[:3]
    s = g.op_inputs(op)[3] if len(op.inputs) > 3 else None
    (y,) = g.op_outputs(op)
    dtype_in(op, x, "input", SLICE_TYPES)
    dtype_in(op, y, "output", (x.dtype,))
    for t, nm in ((b, "begin"), (e, "end"), (s, "strides")):
        if t is not None:
            require(op, t.is_const and t.dtype == "int32", f"{nm} must be a constant int32 tensor")
    o = op.options
    # TFLite Micro ignores ellipsis_mask, new_axis_mask and offset (its kernel sets the first two to
    # 0): so does Kiln, and the output shape check below refuses what that cannot produce.
    require(op, len(x.shape) <= SLICE_MAX_DIMS, f"rank {len(x.shape)} is above {SLICE_MAX_DIMS}")
    strides = s.data.reshape(-1) if s is not None else np.ones(len(x.shape), np.int32)
    require(op, (strides != 0).all(), "a stride of 0")
    sp = slice_params(x.shape, b.data.reshape(-1), e.data.reshape(-1), strides, o.get("begin_mask", 0),
                      o.get("end_mask", 0), o.get("shrink_axis_mask", 0))
    require(op, int(np.prod([n for _, n, _ in sp])) == y.size, f"output has {y.size} elements, the slice {sp} gives "
            f"{int(np.prod([n for _, n, _ in sp]))}")
    # the values are copied as they are whatever the two quantizations (TFLite Micro does not rescale)


def prepare_slice(op, g):
    x, b, e = g.op_inputs(op)[:3]
    s = g.op_inputs(op)[3] if len(op.inputs) > 3 else None
    o = op.options
    strides = s.data.reshape(-1) if s is not None else np.ones(len(x.shape), np.int32)
    op.params = {"slice": slice_params(x.shape, b.data.reshape(-1), e.data.reshape(-1), strides,
                                       o.get("begin_mask", 0), o.get("end_mask", 0), o.get("shrink_axis_mask", 0))}


def emit_slice(op, g, c):
    x = g.op_inputs(op)[0]
    (y,) = g.op_outputs(op)
    elem = DTYPES[x.dtype][2]
    xs = _strides(x.shape)
    sl = op.params["slice"]
    dims = [n for _, n, _ in sl]
    start = sum(st * s for (st, _, _), s in zip(sl, xs)) * elem
    plan = copy_plan(dims, _strides(dims), [step * s for (_, _, step), s in zip(sl, xs)], elem)
    return _emit_copy(c, c.ptr(y), f"(const uint8_t *){c.ptr(x)} + {start}", plan, elem)


register("PAD", check_pad, prepare_pad, emit_pad, types=PAD_TYPES,
         notes="up to rank 5, constant non-negative int32 paddings; int8 pads with the zero point, others with 0")
register("PADV2", check_pad, prepare_pad, emit_pad, types=PAD_TYPES,
         notes="up to rank 5, constant non-negative int32 paddings; the pad value constant or computed (int8: "
               "quantized as the output)")
register("CONCATENATION", check_concat, prepare_concat, emit_concat, types=CONCAT_TYPES,
         notes="any axis, negative too, at most 10 inputs; int8 inputs share the output's quantization, "
               "int16 ones zero point 0 (values copied as they are)")
register("STRIDED_SLICE", check_slice, prepare_slice, emit_slice, types=SLICE_TYPES,
         notes="up to rank 4; begin/end/shrink masks, negative strides and indices; ellipsis and new-axis masks "
               "ignored, as TFLite Micro does")
