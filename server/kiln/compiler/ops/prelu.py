"""PRELU: x >= 0 ? x : alpha * x, alpha broadcast against x (numpy rules, up to 4 dimensions as
TFLite Micro). float32 (float alpha), int8 (int8 alpha) and int16 (int8 alpha), with TFLite's two
rescales: the identity side by in/out scale, the negative side by in*alpha/out scale.
"""
from __future__ import annotations

import numpy as np

from .. import quantmath as qm
from .base import arity, dtype_in, quantized, register, require
from .elementwise import broadcast_plan

MAX_RANK = 4
RANGES = {"int8": (-128, 127), "int16": (-32768, 32767)}


def check(op, g):
    arity(op, 2)
    x, a = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    dtype_in(op, x, "input", ("float32", "int8", "int16"))
    dtype_in(op, a, "alpha", ("float32",) if x.dtype == "float32" else ("int8",))
    dtype_in(op, y, "output", (x.dtype,))
    require(op, max(len(x.shape), len(a.shape), len(y.shape)) <= MAX_RANK,
            f"tensors of more than {MAX_RANK} dimensions are not supported (TFLite Micro's limit)")
    try:
        shape = np.broadcast_shapes(tuple(x.shape), tuple(a.shape))
    except ValueError:
        require(op, False, f"alpha shape {a.shape} does not broadcast against input shape {x.shape}")
    require(op, list(shape) == list(y.shape), f"output shape {y.shape} is not the broadcast shape {list(shape)}")
    if x.dtype != "float32":
        for t, role in ((x, "input"), (a, "alpha"), (y, "output")):
            quantized(op, t, role)


def prepare(op, g):
    x, a = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    dims, sx, sa = broadcast_plan(x.shape, a.shape, y.shape)
    op.params = {"dims": dims, "sx": sx, "sa": sa}
    if x.dtype == "float32":
        return
    m1, s1 = qm.quantize_multiplier(x.scale / y.scale)
    m2, s2 = qm.quantize_multiplier(x.scale * a.scale / y.scale)
    lo, hi = RANGES[x.dtype]
    worst = max(abs(lo - x.zero_point), abs(hi - x.zero_point))
    require(op, worst * (1 << max(s1, 0)) < (1 << 31) and worst * 256 * (1 << max(s2, 0)) < (1 << 31),
            "the rescale from input to output scale is too large")
    op.params["q"] = [x.zero_point, a.zero_point, y.zero_point, m1, s1, m2, s2, lo, hi]


def emit(op, g, c):
    x, a = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    p = op.params

    def arr(v):
        v = list(v) + [0] * (6 - len(v))
        return "{" + ", ".join(map(str, v)) + "}"

    lines = [f"static const kiln_bcast_t shape = {{{len(p['dims'])}, {arr(p['dims'])}, {arr(p['sx'])}, "
             f"{arr(p['sa'])}}};"]
    if x.dtype == "float32":
        return lines + [f"kiln_prelu_f32({c.ptr(x)}, {c.ptr(a)}, {c.ptr(y)}, &shape);"]
    lines.append(f"static const kiln_prelu_params_t params = {{{', '.join(map(str, p['q']))}}};")
    fn = "kiln_prelu_s8" if x.dtype == "int8" else "kiln_prelu_s16"
    return lines + [f"{fn}({c.ptr(x)}, {c.ptr(a)}, {c.ptr(y)}, &shape, &params);"]


def in_place(op, g):
    x, _ = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    return 0 if not x.is_const and x.shape == y.shape else None


register("PRELU", check, prepare, emit, in_place=in_place, types=("int8", "int16", "float32"),
         notes="alpha broadcast (up to 4 dimensions); int16 takes an int8 alpha")
