"""GATHER and GATHER_ND: rows picked by indices, which may be model inputs (run time) or constants.

The kernels (runtime_c/src/kiln_gather.c) copy one row or slice per index; the geometry (batches,
outer rows, row bytes; GATHER_ND's byte strides) is worked out here. An index out of range gives
zeros, where TFLite Micro's kernels read out of bounds (GATHER) or fail the inference (GATHER_ND).
"""
from __future__ import annotations

from math import prod

from ..ir import DTYPES
from .base import arity, dtype_in, register, require
from .copy import _strides


def _gather_geometry(op, g):
    x, idx = g.op_inputs(op)
    rank = len(x.shape)
    axis = op.options.get("axis", 0)
    axis = axis + rank if axis < 0 else axis
    bd = op.options.get("batch_dims", 0)
    bd = bd + len(idx.shape) if bd < 0 else bd
    require(op, 0 <= axis < rank, f"axis {op.options.get('axis', 0)} is out of range for rank {rank}")
    require(op, 0 <= bd <= axis and bd <= len(idx.shape) and bd < rank,
            f"batch_dims {op.options.get('batch_dims', 0)} must lie in 0..axis and within the indices' rank")
    require(op, list(x.shape[:bd]) == list(idx.shape[:bd]), f"the first {bd} dimensions of input {x.shape} and "
            f"indices {idx.shape} differ")
    return dict(axis=axis, batch_dims=bd, batches=prod(x.shape[:bd]), outer=prod(x.shape[bd:axis]),
                axis_size=x.shape[axis], count=prod(idx.shape[bd:]),
                inner_bytes=prod(x.shape[axis + 1:]) * DTYPES[x.dtype][2])


def check_gather(op, g):
    arity(op, 2)
    x, idx = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    dtype_in(op, x, "input", ("int8", "float32"))
    dtype_in(op, idx, "indices", ("int32",))
    dtype_in(op, y, "output", (x.dtype,))
    p = _gather_geometry(op, g)
    want = list(x.shape[:p["axis"]]) + list(idx.shape[p["batch_dims"]:]) + list(x.shape[p["axis"] + 1:])
    require(op, list(y.shape) == want, f"output shape {y.shape} is not {want}")


def prepare_gather(op, g):
    op.params = _gather_geometry(op, g)


def emit_gather(op, g, c):
    x, idx = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    p = op.params
    return [f"static const kiln_gather_t gather = {{{p['batches']}, {p['outer']}, {p['axis_size']}, {p['count']}, "
            f"{p['inner_bytes']}}}; /* batches, outer rows, axis size, indices, row bytes */",
            f"kiln_gather({c.ptr(x)}, {c.ptr(idx)}, {c.ptr(y)}, &gather);"]


def check_gather_nd(op, g):
    arity(op, 2)
    x, idx = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    dtype_in(op, x, "params", ("int8", "float32"))
    dtype_in(op, idx, "indices", ("int32",))
    dtype_in(op, y, "output", (x.dtype,))
    require(op, len(x.shape) >= 1 and len(idx.shape) >= 1, "params and indices must be at least vectors")
    depth = idx.shape[-1]
    require(op, 1 <= depth <= len(x.shape) and depth <= 5, f"an index has {depth} entries for params of rank "
            f"{len(x.shape)} (at most the rank, and 8)")
    want = list(idx.shape[:-1]) + list(x.shape[depth:])
    require(op, list(y.shape) == want, f"output shape {y.shape} is not {want}")


def prepare_gather_nd(op, g):
    x, idx = g.op_inputs(op)
    depth = idx.shape[-1]
    elem = DTYPES[x.dtype][2]
    xs = _strides(x.shape)
    slices = 1
    for d in idx.shape[:-1]:
        slices *= d
    slice_elems = 1
    for d in x.shape[depth:]:
        slice_elems *= d
    op.params = dict(slices=slices, depth=depth, slice_bytes=slice_elems * elem, dims=list(x.shape[:depth]),
                     strides=[s * elem for s in xs[:depth]])


def emit_gather_nd(op, g, c):
    x, idx = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    p = op.params

    def arr(v):
        return "{" + ", ".join(str(a) for a in v + [0] * (8 - len(v))) + "}"
    return [f"static const kiln_gather_nd_t gather = {{{p['slices']}, {p['depth']}, {p['slice_bytes']}, "
            f"{arr(p['dims'])}, {arr(p['strides'])}}}; /* slices, index depth, slice bytes, bounds, byte strides */",
            f"kiln_gather_nd({c.ptr(x)}, {c.ptr(idx)}, {c.ptr(y)}, &gather);"]


register("GATHER", check_gather, prepare_gather, emit_gather, types=("int8", "float32"),
         notes="int32 indices, constant or at run time (out of range: zeros); axis and batch_dims, negative too")
register("GATHER_ND", check_gather_nd, prepare_gather_nd, emit_gather_nd, types=("int8", "float32"),
         notes="int32 indices, constant or at run time (out of range: zeros)")
