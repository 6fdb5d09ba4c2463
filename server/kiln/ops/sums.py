"""L2_NORMALIZATION, CUMSUM and ADD_N on float32 (their int8 forms rescale like ADD and are not
compiled yet: Kiln refuses them with a reason)."""
from __future__ import annotations

from .base import arity, dtype_in, register, require


def _nothing(op, g):
    op.params = {}


def check_l2norm(op, g):
    arity(op, 1)
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    dtype_in(op, x, "input", ("float32",))
    dtype_in(op, y, "output", ("float32",))
    require(op, op.options.get("fused_activation_function", 0) == 0, "a fused activation (TFLite Micro takes none)")
    require(op, x.shape == y.shape and len(x.shape) >= 1, f"output shape {y.shape} differs from the input's {x.shape}")


def emit_l2norm(op, g, c):
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    depth = x.shape[-1]
    return [f"kiln_l2norm_f32({c.ptr(x)}, {c.ptr(y)}, {x.size // max(depth, 1)}, {depth});"]


def check_cumsum(op, g):
    arity(op, 2)
    x, a = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    dtype_in(op, x, "input", ("float32",))
    dtype_in(op, y, "output", ("float32",))
    require(op, a is not None and a.is_const and a.dtype == "int32" and a.size == 1, "the axis must be a constant "
            "int32 scalar")
    axis = int(a.data.reshape(-1)[0])
    require(op, -len(x.shape) <= axis < len(x.shape), f"axis {axis} is out of range for rank {len(x.shape)}")
    require(op, x.shape == y.shape, f"output shape {y.shape} differs from the input's {x.shape}")


def emit_cumsum(op, g, c):
    x, a = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    axis = int(a.data.reshape(-1)[0]) % len(x.shape)
    outer = 1
    for n in x.shape[:axis]:
        outer *= n
    inner = x.size // max(outer * x.shape[axis], 1)
    return [f"kiln_cumsum_f32({c.ptr(x)}, {c.ptr(y)}, {outer}, {x.shape[axis]}, {inner}, "
            f"{int(bool(op.options.get('exclusive')))}, {int(bool(op.options.get('reverse')))});"]


def check_add_n(op, g):
    ins = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    require(op, len(ins) >= 2 and len(op.outputs) == 1, f"needs two or more inputs, has {len(ins)}")
    for k, t in enumerate(ins):
        dtype_in(op, t, f"input {k}", ("float32",))
        require(op, t.shape == y.shape, f"input {k} shape {t.shape} differs from the output's {y.shape}")
    dtype_in(op, y, "output", ("float32",))


def emit_add_n(op, g, c):
    ins = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    ptrs = ", ".join(c.ptr(t) for t in ins)
    return [f"const float *const ins[{len(ins)}] = {{{ptrs}}};",
            f"kiln_add_n_f32(ins, {len(ins)}, {c.ptr(y)}, {y.size});"]


register("L2_NORMALIZATION", check_l2norm, _nothing, emit_l2norm, types=("float32",),
         notes="over the last axis; int8 not yet")
register("CUMSUM", check_cumsum, _nothing, emit_cumsum, types=("float32",),
         notes="exclusive and reverse; int8 not yet")
register("ADD_N", check_add_n, _nothing, emit_add_n, types=("float32",), notes="any number of inputs; int8 not yet")
