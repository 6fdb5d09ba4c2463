"""EMBEDDING_LOOKUP, as TFLite Micro: int32 ids (1-D, at run time) pick rows of a value tensor
(rank >= 2): float32 -> float32 and int8 -> int8 copy rows; int8 -> float32 is TFLite Micro's
hybrid path, dequantizing each row with the values' scale (their zero point must be 0).

TFLite Micro fails the inference on an id outside [0, rows); generated code has no error path per
operator, so the kernel writes zeros for such a row instead of reading out of bounds.
"""
from __future__ import annotations

from ..ir import DTYPES
from .base import arity, dtype_in, quantized, register, require


def check(op, g):
    arity(op, 2)
    ids, value = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    dtype_in(op, ids, "ids", ("int32",))
    require(op, len(ids.shape) == 1, f"ids '{ids.name}' must be 1-D, has shape {ids.shape}")
    dtype_in(op, value, "value", ("float32", "int8"))
    require(op, len(value.shape) >= 2, f"value '{value.name}' must have rank 2 or more, has shape {value.shape}")
    dtype_in(op, y, "output", ("float32",) if value.dtype == "float32" else ("int8", "float32"))
    want = [ids.shape[0]] + list(value.shape[1:])
    require(op, list(y.shape) == want, f"output shape {y.shape} is not {want}")
    if value.dtype == "int8" and y.dtype == "float32":
        quantized(op, value, "value")
        require(op, value.zero_point == 0, f"int8 value '{value.name}' with a float32 output needs zero point 0")


def prepare(op, g):
    ids, value = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    cols = value.size // value.shape[0]
    op.params = dict(n=ids.shape[0], rows=value.shape[0], cols=cols, elem=DTYPES[value.dtype][2],
                     scale=value.scale if (value.dtype == "int8" and y.dtype == "float32") else 0.0)
    op.macs = 0


def emit(op, g, c):
    ids, value = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    p = op.params
    fn = "kiln_embedding_lookup_dequant_s8" if value.dtype == "int8" and y.dtype == "float32" else "kiln_embedding_lookup"
    return [f"static const kiln_embedding_params_t params = {{{p['n']}, {p['rows']}, {p['cols']}, {p['elem']}, "
            f"{c.f32(p['scale'])}}};",
            f"{fn}({c.ptr(ids)}, {c.ptr(value)}, {c.ptr(y)}, &params);"]


register("EMBEDDING_LOOKUP", check, prepare, emit, types=("int8", "float32"),
         notes="int32 ids; float32 or int8 rows, int8 rows to float32 dequantized (hybrid); an id out of range gives zeros")
