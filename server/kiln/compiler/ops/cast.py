"""CAST between int8, int16, int32, uint32, bool and float32 (every pair TFLite Micro casts).

As TFLite Micro's static_cast behaves: integers narrow modulo 2^bits; float to integer truncates
toward zero and saturates to the target type, NaN giving 0 (C and C++ leave out-of-range
conversions undefined: this is what TFLite Micro's reference build does, and the kernel spells it
out); anything to bool is != 0. Quantization parameters are ignored, as TFLite Micro does.
"""
from __future__ import annotations

from .base import arity, dtype_in, register, require, same_shape_input, same_size

# bool as an output too: the PyPI build of TFLite Micro (the oracle) casts to bool (!= 0), although
# newer sources refuse it
TYPES = ("int8", "int16", "int32", "uint32", "bool", "float32")
CODES = {"int8": "KILN_CAST_I8", "int16": "KILN_CAST_I16", "int32": "KILN_CAST_I32", "float32": "KILN_CAST_F32",
         "bool": "KILN_CAST_BOOL", "uint8": "KILN_CAST_U8", "int64": "KILN_CAST_I64", "uint32": "KILN_CAST_U32"}


def check(op, g):
    arity(op, 1)
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    dtype_in(op, x, "input", TYPES)
    dtype_in(op, y, "output", TYPES)
    same_size(op, x, y)
    require(op, x.shape == y.shape, f"output shape {y.shape} differs from input shape {x.shape}")


def prepare(op, g):
    (y,) = g.op_outputs(op)
    op.params = {"n": y.size}


def emit(op, g, c):
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    return [f"kiln_cast({c.ptr(x)}, {c.ptr(y)}, {y.size}, {CODES[x.dtype]}, {CODES[y.dtype]});"]


register("CAST", check, prepare, emit, in_place=same_shape_input, types=TYPES,
         notes="every pair of these types; float to integer truncates and saturates, integers wrap")
