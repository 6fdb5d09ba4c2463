"""RESHAPE: the output aliases the input's memory, so no data moves at run time."""
from __future__ import annotations

from .base import arity, dtype_in, register, require, same_size

ALL = ("int8", "int16", "int32", "int64", "uint8", "bool", "float32")


def check(op, g):
    arity(op, (1, 2))
    x = g.op_inputs(op)[0]
    (y,) = g.op_outputs(op)
    dtype_in(op, x, "input", ALL)
    require(op, x.dtype == y.dtype, f"input type {x.dtype} differs from output type {y.dtype}")
    same_size(op, x, y)


def prepare(op, g):
    op.params = {}


def emit(op, g, c):
    x = g.op_inputs(op)[0]
    (y,) = g.op_outputs(op)
    return [f"/* {x.describe()} -> {y.describe()}: the output shares the input's memory; nothing to do. */"]


register("RESHAPE", check, prepare, emit, alias_output=True, types=ALL,
         notes="new shape from the options or a constant shape tensor")
