"""Operators that make tensors from shapes and values: SHAPE, FILL, ZEROS_LIKE, BROADCAST_ARGS.

Shapes are static in Kiln, so SHAPE is always folded at compile time (its output becomes a
constant) unless it is a graph output, and FILL and BROADCAST_ARGS of constants are folded too
(passes/constants.py); what remains runs as a fill or a copy of a constant.
"""
from __future__ import annotations

import numpy as np

from ..ir import DTYPES
from .base import arity, dtype_in, register, require


def _nothing(op, g):
    op.params = {}


# ---- SHAPE ----

def check_shape(op, g):
    arity(op, 1)
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    dtype_in(op, y, "output", ("int32",))
    require(op, list(y.shape) == [len(x.shape)], f"output shape {y.shape} is not [{len(x.shape)}]")


def fold_shape(op, g):
    (x,) = g.op_inputs(op)
    return [np.array(x.shape, np.int32)]


def emit_shape(op, g, c):
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    shape = c.array(f"op{op.index}_shape", np.array(x.shape, np.int32), "int32_t", f"the shape of {x.describe()}")
    return [f"memcpy({c.ptr(y)}, {shape}, {y.nbytes}u); /* shapes are static: a copy of the constant */"]


# ---- FILL, ZEROS_LIKE ----

def check_fill(op, g):
    arity(op, 2)
    dims, value = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    require(op, dims is not None and dims.dtype in ("int8", "int16", "int32", "int64") and len(dims.shape) == 1,
            "the dimensions must be a vector of integers")
    dtype_in(op, value, "value", ("float32", "int32", "int8"))
    require(op, value.size == 1 and len(value.shape) == 0, f"the value must be a scalar, has shape {value.shape}")
    dtype_in(op, y, "output", (value.dtype,))
    # constant after folding (a SHAPE of a fixed tensor is); TFLite Micro refuses computed dimensions
    require(op, dims.is_const, "the dimensions must be constant")
    require(op, [int(v) for v in dims.data.reshape(-1)] == list(y.shape),
            f"output shape {y.shape} differs from the dimensions {dims.data.reshape(-1).tolist()}")


def emit_fill(op, g, c):
    _, value = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    return [f"kiln_fill_elems({c.ptr(y)}, {y.size}, {c.ptr(value)}, {DTYPES[y.dtype][2]});"]


def check_zeros_like(op, g):
    arity(op, 1)
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    dtype_in(op, x, "input", ("int8", "int32", "int64", "float32"))
    dtype_in(op, y, "output", (x.dtype,))
    require(op, list(y.shape) == list(x.shape), f"output shape {y.shape} differs from the input's {x.shape}")


def emit_zeros_like(op, g, c):
    (y,) = g.op_outputs(op)
    return [f"memset({c.ptr(y)}, 0, {y.nbytes}u);"]


# ---- BROADCAST_ARGS ----

def check_broadcast_args(op, g):
    arity(op, 2)
    a, b = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    for t, what in ((a, "first shape"), (b, "second shape")):
        dtype_in(op, t, what, ("int32", "int64"))
        require(op, len(t.shape) == 1, f"the {what} must be a vector")
    dtype_in(op, y, "output", (a.dtype,))
    require(op, b.dtype == a.dtype, "the two shapes must have one type")
    require(op, list(y.shape) == [max(a.size, b.size)], f"output shape {y.shape} is not [{max(a.size, b.size)}]")


def emit_broadcast_args(op, g, c):
    a, b = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    return [f"kiln_broadcast_args({c.ptr(a)}, {a.size}, {c.ptr(b)}, {b.size}, {c.ptr(y)}, {DTYPES[a.dtype][2]});"]


register("SHAPE", check_shape, _nothing, emit_shape, fold=fold_shape, types=("int32",),
         notes="int32 output; folded at compile time unless it is a graph output")
register("FILL", check_fill, _nothing, emit_fill, types=("int8", "int32", "float32"),
         notes="a scalar value, constant or at run time; constant dimensions")
register("ZEROS_LIKE", check_zeros_like, _nothing, emit_zeros_like, types=("int8", "int32", "int64", "float32"))
register("BROADCAST_ARGS", check_broadcast_args, _nothing, emit_broadcast_args, types=("int32", "int64"),
         notes="folded when both shapes are constant")
