"""L2_NORMALIZATION, CUMSUM and ADD_N on float32 and int8.

int8 ADD_N and CUMSUM follow TFLite Micro's AddN: every input (all quantized alike) is offset, shifted left
by 20 and rescaled by 1/2 as a fixed-point multiplier; the sum starts from the rescaled offset
itself (TFLite Micro's code adds it once more), and is rescaled to the output. The per-input
rescaling is a function of the int8 value, so Kiln tabulates it for all 256 at compile time.
"""
from __future__ import annotations

import numpy as np

from .. import quantmath as qm
from .base import arity, dtype_in, quantized, register, require


def _nothing(op, g):
    op.params = {}


def check_l2norm(op, g):
    arity(op, 1)
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    dtype_in(op, x, "input", ("int8", "float32"))
    dtype_in(op, y, "output", (x.dtype,))
    if x.dtype == "int8":
        quantized(op, x, "input")
    require(op, op.options.get("fused_activation_function", 0) == 0, "a fused activation (TFLite Micro takes none)")
    require(op, x.shape == y.shape and len(x.shape) >= 1, f"output shape {y.shape} differs from the input's {x.shape}")
    require(op, len(x.shape) <= 4, f"rank {len(x.shape)} is above TFLite Micro's 4")


def emit_l2norm(op, g, c):
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    depth = x.shape[-1]
    args = f"{c.ptr(x)}, {c.ptr(y)}, {x.size // max(depth, 1)}, {depth}"
    if x.dtype == "int8":
        return [f"kiln_l2norm_s8({args}, {x.zero_point});"]
    return [f"kiln_l2norm_f32({args});"]


def check_cumsum(op, g):
    arity(op, 2)
    x, a = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    dtype_in(op, x, "input", ("int8", "float32"))
    dtype_in(op, y, "output", (x.dtype,))
    if x.dtype == "int8":
        quantized(op, x, "input")
        quantized(op, y, "output")
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
    args = (f"{c.ptr(x)}, {c.ptr(y)}, {outer}, {x.shape[axis]}, {inner}, {int(bool(op.options.get('exclusive')))}, "
            f"{int(bool(op.options.get('reverse')))}")
    if x.dtype == "float32":
        return [f"kiln_cumsum_f32({args});"]
    table, params = _table_and_params(op, c, "CUMSUM")
    return params + [f"kiln_cumsum_s8({args}, {table}, &params);"]


def prepare_cumsum(op, g):
    x, _ = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    op.params = rescaled_sum_params(x, y) if x.dtype == "int8" else {}


def check_add_n(op, g):
    ins = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    require(op, len(ins) >= 2 and len(op.outputs) == 1, f"needs two or more inputs, has {len(ins)}")
    for k, t in enumerate(ins):
        dtype_in(op, t, f"input {k}", ("int8", "float32"))
        dtype_in(op, t, f"input {k}", (ins[0].dtype,))
        require(op, t.shape == y.shape, f"input {k} shape {t.shape} differs from the output's {y.shape}")
    dtype_in(op, y, "output", (ins[0].dtype,))
    if y.dtype == "int8":
        quantized(op, y, "output")
        for k, t in enumerate(ins):
            quantized(op, t, f"input {k}")
            require(op, t.zero_point == ins[0].zero_point and qm.f32(t.scale) == qm.f32(ins[0].scale),
                    f"input {k} is quantized unlike input 0 (TFLite Micro needs one scale and zero point)")


ADD_N_SHIFT = 20


def prepare_add_n(op, g):
    ins = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    op.params = rescaled_sum_params(ins[0], y) if y.dtype == "int8" else {}


def rescaled_sum_params(x, y) -> dict:
    """TFLite Micro's int8 ADD_N and CUMSUM: each input value offset, shifted left by 20 and rescaled by
    1/2 (tabulated for all 256), the sum starting from the rescaled offset, rescaled to the output."""
    scale = float(np.float32(x.scale))
    twice = 2 * scale
    m_in, s_in = qm.quantize_multiplier(scale / twice)
    m_out, s_out = qm.quantize_multiplier(twice / ((1 << ADD_N_SHIFT) * float(np.float32(y.scale))))

    def rescaled(v):
        return qm.mul_by_quantized_multiplier(v * (1 << ADD_N_SHIFT), m_in, s_in)
    off = -x.zero_point
    return dict(table=np.array([rescaled(off + q) for q in range(-128, 128)], np.int32), base=rescaled(off),
                mult=m_out, shift=s_out, out_zp=y.zero_point)


def _table_and_params(op, c, what):
    p = op.params
    table = c.array(f"op{op.index}_rescaled", p["table"], "int32_t",
                    f"{what}: every int8 input value offset, shifted and rescaled as TFLite Micro does")
    return table, [f"static const kiln_add_n_s8_params_t params = {{{p['base']}, {p['mult']}, {p['shift']}, "
                   f"{p['out_zp']}}}; /* base, output multiplier and shift, output zero point */"]


def emit_add_n(op, g, c):
    ins = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    ptrs = ", ".join(c.ptr(t) for t in ins)
    if y.dtype == "float32":
        return [f"const float *const ins[{len(ins)}] = {{{ptrs}}};",
                f"kiln_add_n_f32(ins, {len(ins)}, {c.ptr(y)}, {y.size});"]
    table, params = _table_and_params(op, c, "ADD_N")
    return [f"const int8_t *const ins[{len(ins)}] = {{{ptrs}}};"] + params + [
        f"kiln_add_n_s8(ins, {len(ins)}, {c.ptr(y)}, {y.size}, {table}, &params);"]


register("L2_NORMALIZATION", check_l2norm, _nothing, emit_l2norm, types=("int8", "float32"),
         notes="over the last axis, rank up to 4; int8 written in units of 1/128 whatever the output's "
         "quantization, as TFLite Micro")
register("CUMSUM", check_cumsum, prepare_cumsum, emit_cumsum, types=("int8", "float32"),
         notes="exclusive and reverse, any axis; int8 rescaled as TFLite Micro's")
register("ADD_N", check_add_n, prepare_add_n, emit_add_n, types=("int8", "float32"),
         notes="any number of inputs; int8 inputs quantized alike")
