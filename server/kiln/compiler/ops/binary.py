"""Binary element-wise operators of every type on one kernel (kiln_binary): MAXIMUM, MINIMUM, EQUAL,
NOT_EQUAL, GREATER, GREATER_EQUAL, LESS, LESS_EQUAL, LOGICAL_AND, LOGICAL_OR, SQUARED_DIFFERENCE,
DIV, FLOOR_DIV, FLOOR_MOD; and LOGICAL_NOT and SELECT_V2.

The operator and element type are codes in a constant parameter block; the broadcast is collapsed
at compile time (elementwise.broadcast_plan). int8 comparisons follow TFLite Micro's: each side is
rescaled ((q - zero point) << 8, times its scale as a fixed-point multiplier) before comparing, so
two values that round together compare equal; Kiln tabulates that rescaling for all 256 values of
each side at compile time. MAXIMUM and MINIMUM compare raw values, as TFLite Micro does.
"""
from __future__ import annotations

import numpy as np

from .. import quantmath as qm
from .base import arity, dtype_in, fused_activation, quantized, register, require, same_shape_input
from .elementwise import MAX_DIMS, add_params_lines, broadcast_plan

OPS = {"MAXIMUM": "MAX", "MINIMUM": "MIN", "EQUAL": "EQ", "NOT_EQUAL": "NE", "GREATER": "GT", "GREATER_EQUAL": "GE",
       "LESS": "LT", "LESS_EQUAL": "LE", "LOGICAL_AND": "AND", "LOGICAL_OR": "OR", "SQUARED_DIFFERENCE": "SQDIFF",
       "DIV": "DIV", "FLOOR_DIV": "FLOOR_DIV", "FLOOR_MOD": "FLOOR_MOD"}
# the input types TFLite Micro's kernels take, per operator
TYPES = {
    "MAXIMUM": ("int8", "int16", "int32", "int64", "float32"),
    "MINIMUM": ("int8", "int16", "int32", "int64", "float32"),
    "EQUAL": ("bool", "int8", "int32", "int64", "float32"),
    "NOT_EQUAL": ("bool", "int8", "int32", "int64", "float32"),
    "GREATER": ("int8", "int32", "int64", "float32"),
    "GREATER_EQUAL": ("int8", "int32", "int64", "float32"),
    "LESS": ("int8", "int32", "int64", "float32"),
    "LESS_EQUAL": ("int8", "int32", "int64", "float32"),
    "LOGICAL_AND": ("bool",),
    "LOGICAL_OR": ("bool",),
    "SQUARED_DIFFERENCE": ("int8", "int16", "int32", "float32"),
    "DIV": ("int8", "int32", "float32"),
    "FLOOR_DIV": ("float32",),
    "FLOOR_MOD": ("float32",),
}
COMPARISONS = ("EQUAL", "NOT_EQUAL", "GREATER", "GREATER_EQUAL", "LESS", "LESS_EQUAL")
TYPE_CODES = {"float32": "F32", "int8": "I8", "int16": "I16", "int32": "I32", "int64": "I64", "bool": "BOOL"}


def _arr(v):
    return "{" + ", ".join(str(x) for x in v) + "}"


def check(op, g):
    arity(op, 2)
    a, b = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    require(op, not (op.kind == "GREATER" and a.dtype == "int16"),
            "int16 GREATER is not supported: TFLite Micro's kernel compares int16 through rescaling parameters "
            "its preparation never sets, so its result is not defined (the other comparisons refuse int16 too)")
    dtype_in(op, a, "first input", TYPES[op.kind])
    dtype_in(op, b, "second input", (a.dtype,))
    out_type = "bool" if op.kind in COMPARISONS else a.dtype
    dtype_in(op, y, "output", (out_type,))
    if op.kind == "DIV":
        fused_activation(op)
        require(op, a.dtype != "int32" or op.options.get("fused_activation_function", 0) == 0,
                "int32 DIV with a fused activation is not supported")
    try:
        shape = list(np.broadcast_shapes(tuple(a.shape), tuple(b.shape)))
    except ValueError:
        shape = None
    require(op, shape is not None, f"input shapes {a.shape} and {b.shape} do not broadcast")
    require(op, shape == list(y.shape), f"output shape {y.shape} is not the broadcast shape {shape}")
    require(op, len(broadcast_plan(a.shape, b.shape, y.shape)[0]) <= MAX_DIMS,
            f"broadcast needs more than {MAX_DIMS} dimensions")
    if op.kind == "DIV" and a.dtype == "int8":
        for t, role in ((a, "first input"), (b, "second input"), (y, "output")):
            quantized(op, t, role)
        _, shift = _div_multiplier(a, b, y)
        require(op, -24 <= shift <= 21, f"the scales give a rescaling of 2^{shift}, beyond the range TFLite Micro's "
                "int8 DIV computes")
    if op.kind == "SQUARED_DIFFERENCE" and a.dtype in ("int8", "int16"):
        for t, role in ((a, "first input"), (b, "second input"), (y, "output")):
            quantized(op, t, role)
            if a.dtype == "int16":
                require(op, t.zero_point == 0, f"int16 {role} '{t.name}' has zero point {t.zero_point}; TFLite "
                        "Micro's int16 SQUARED_DIFFERENCE needs 0")
    if a.dtype == "int8" and op.kind in COMPARISONS:
        for t, role in ((a, "first input"), (b, "second input")):
            require(op, t.quant is not None and not t.quant.per_channel, f"{role} '{t.name}' needs per-tensor "
                    "quantization")
            require(op, t.scale < 1.0, f"{role} '{t.name}' has scale {t.scale:g}; TFLite Micro's int8 comparison "
                    "needs a scale below 1")


def _rescale_table(t) -> list[int]:
    """TFLite's comparison rescaling of every int8 value: MBQM_smaller_than_one((q - zp) << 8)."""
    m, shift = qm.quantize_multiplier(t.scale)
    return [qm.mul_by_quantized_multiplier((v - t.zero_point) * 256, m, shift) for v in range(-128, 128)]


def prepare(op, g):
    a, b = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    dims, sa, sb = broadcast_plan(a.shape, b.shape, y.shape)
    p = dict(dims=dims, sa=sa, sb=sb, type=TYPE_CODES[a.dtype], lut_a=None, lut_b=None,
             act_min=-np.inf, act_max=np.inf)
    if op.kind == "SQUARED_DIFFERENCE" and a.dtype in ("int8", "int16"):
        p.update(_sqdiff_params(a, b, y))
    if op.kind == "DIV" and a.dtype == "int8":
        p.update(_div_params(op, a, b, y))
    if op.kind == "DIV" and a.dtype == "float32":
        p["act_min"], p["act_max"] = qm.activation_range_f(fused_activation(op))
    if a.dtype == "int8" and op.kind in COMPARISONS:
        ta, tb = _rescale_table(a), _rescale_table(b)
        # one strictly increasing table for both sides orders the values as the raw bytes do
        if not (ta == tb and all(x < y for x, y in zip(ta, ta[1:]))):
            p.update(type="I8_SCALED", lut_a=np.array(ta, np.int32), lut_b=np.array(tb, np.int32))
    op.params = p


def _div_multiplier(a, b, y):
    """CalculateOpDataDiv: s1 / (s2 * s_out), in double as TFLite Micro's PyPI build computes it."""
    return qm.quantize_multiplier(a.scale / (b.scale * y.scale))


def _div_params(op, a, b, y) -> dict:
    """int8 DIV: the output rescale, and for every int8 divisor TFLite's reciprocal of |b - zero point|
    (a divisor at its zero point gets GetReciprocal(0), as TFLite Micro computes it)."""
    mult, shift = _div_multiplier(a, b, y)
    recip = []
    for v in range(-128, 128):
        recip.extend(qm.get_reciprocal(abs(v - b.zero_point), 31))
    act_min, act_max = qm.activation_range_q(fused_activation(op), y.scale, y.zero_point)
    return dict(div_s8=dict(a_offset=-a.zero_point, b_offset=-b.zero_point, out_offset=y.zero_point, out_mult=mult,
                            out_shift=shift, act_min=act_min, act_max=act_max), recip=np.array(recip, np.int32))


def _sqdiff_params(a, b, y) -> dict:
    """TFLite Micro's PrepareQuantized for SQUARED_DIFFERENCE: ADD's rescaling of both sides (left shift 7 for
    int8, 0 for int16), and the output multiplier over the squared scale (its denominator in float32)."""
    left_shift = 7 if a.dtype == "int8" else 0
    twice_max = 2.0 * max(a.scale, b.scale)
    p = dict(left_shift=left_shift, a_offset=-a.zero_point, b_offset=-b.zero_point, out_offset=y.zero_point)
    p["a_mult"], p["a_shift"] = qm.quantize_multiplier(a.scale / twice_max)
    p["b_mult"], p["b_shift"] = qm.quantize_multiplier(b.scale / twice_max)
    p["out_mult"], p["out_shift"] = qm.quantize_multiplier(
        twice_max * twice_max / float(np.float32(1 << (2 * left_shift)) * np.float32(y.scale)))
    p["act_min"], p["act_max"] = qm.int_range(a.dtype)
    return p


INT32_ACT = {"NONE": (-(1 << 31), (1 << 31) - 1), "RELU": (0, (1 << 31) - 1), "RELU6": (0, 6), "RELU_N1_TO_1": (-1, 1)}


def prepare_int32_arith(op, g):
    """ADD, SUB and MUL on int32 (elementwise.py hands them here): wrapping, then the activation."""
    a, b = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    dims, sa, sb = broadcast_plan(a.shape, b.shape, y.shape)
    # TFLite Micro's int32 ADD ignores its fused activation (SUB and MUL apply it): so does Kiln
    lo, hi = INT32_ACT["NONE" if op.kind == "ADD" else fused_activation(op)]
    op.params = dict(dims=dims, sa=sa, sb=sb, type="I32", lut_a=None, lut_b=None, act_min=-np.inf, act_max=np.inf,
                     iact_min=lo, iact_max=hi, op=op.kind)


def emit(op, g, c):
    a, b = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    p = op.params
    if op.kind == "SQUARED_DIFFERENCE" and a.dtype in ("int8", "int16"):
        return ([f"static const kiln_bcast_t shape = {{{len(p['dims'])}, {_arr(p['dims'])}, {_arr(p['sa'])}, "
                 f"{_arr(p['sb'])}}};"] + add_params_lines(p) +
                [f"kiln_squared_difference_{'s8' if a.dtype == 'int8' else 's16'}({c.ptr(a)}, {c.ptr(b)}, "
                 f"{c.ptr(y)}, &shape, &params);"])
    if "div_s8" in p:
        recip = c.array(f"op{op.index}_reciprocal", p["recip"], "int32_t",
                        "DIV: for every int8 divisor, TFLite's reciprocal of |b - zero point| {multiplier, bits over unit}")
        d = p["div_s8"]
        return [f"static const kiln_bcast_t shape = {{{len(p['dims'])}, {_arr(p['dims'])}, {_arr(p['sa'])}, "
                f"{_arr(p['sb'])}}};",
                f"static const kiln_div_s8_params_t params = {{{d['a_offset']}, {d['b_offset']}, {d['out_offset']}, "
                f"{d['out_mult']}, {d['out_shift']}, {d['act_min']}, {d['act_max']}, {recip}}};",
                f"kiln_div_s8({c.ptr(a)}, {c.ptr(b)}, {c.ptr(y)}, &shape, &params);"]
    lut_a = lut_b = "NULL"
    if p["lut_a"] is not None:
        lut_a = c.array(f"op{op.index}_rescale_a", p["lut_a"], "int32_t",
                        f"{op.kind}: the first input's int8 values rescaled as TFLite Micro compares them")
        lut_b = c.array(f"op{op.index}_rescale_b", p["lut_b"], "int32_t",
                        f"{op.kind}: the second input's int8 values rescaled as TFLite Micro compares them")
    return [f"static const kiln_bcast_t shape = {{{len(p['dims'])}, {_arr(p['dims'])}, {_arr(p['sa'])}, "
            f"{_arr(p['sb'])}}};",
            f"static const kiln_binary_t params = {{KILN_BIN_{OPS.get(op.kind, op.kind)}, KILN_BT_{p['type']}, "
            f"{lut_a}, {lut_b}, "
            f"{c.f32(max(p['act_min'], -3.4028234663852886e38))}, {c.f32(min(p['act_max'], 3.4028234663852886e38))}, "
            f"{p.get('iact_min', 0)}, {p.get('iact_max', 0)}}};",
            f"kiln_binary({c.ptr(a)}, {c.ptr(b)}, {c.ptr(y)}, &shape, &params);"]


def in_place(op, g):
    return None if op.kind in COMPARISONS + ("LOGICAL_AND", "LOGICAL_OR") else same_shape_input(op, g)


# ---- LOGICAL_NOT ----

def check_not(op, g):
    arity(op, 1)
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    dtype_in(op, x, "input", ("bool",))
    dtype_in(op, y, "output", ("bool",))
    require(op, x.shape == y.shape, f"output shape {y.shape} differs from the input's {x.shape}")


def emit_not(op, g, c):
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    return [f"kiln_logical_not({c.ptr(x)}, {c.ptr(y)}, {y.size});"]


# ---- SELECT_V2: three inputs broadcast to the output ----

def check_select(op, g):
    arity(op, 3)
    cond, x, yv = g.op_inputs(op)
    (out,) = g.op_outputs(op)
    dtype_in(op, cond, "condition", ("bool",))
    dtype_in(op, x, "x", ("int8", "int16", "float32"))
    dtype_in(op, yv, "y", (x.dtype,))
    dtype_in(op, out, "output", (x.dtype,))
    try:
        shape = list(np.broadcast_shapes(tuple(cond.shape), tuple(x.shape), tuple(yv.shape)))
    except ValueError:
        shape = None
    require(op, shape == list(out.shape), f"condition {cond.shape}, x {x.shape} and y {yv.shape} do not broadcast to "
            f"the output {out.shape}")
    require(op, len(out.shape) <= 6, f"rank {len(out.shape)} is above 6")


def _strides3(shape_in, out_shape):
    n = len(out_shape)
    s = [1] * (n - len(shape_in)) + list(shape_in)
    strides, acc = [0] * n, 1
    for d in range(n - 1, -1, -1):
        strides[d] = acc if s[d] != 1 else 0
        acc *= s[d]
    return strides


def emit_select(op, g, c):
    from ..ir import DTYPES

    cond, x, yv = g.op_inputs(op)
    (out,) = g.op_outputs(op)
    dims = list(out.shape) or [1]
    st = [(_strides3(t.shape, out.shape) or [0]) for t in (cond, x, yv)]
    return [f"static const kiln_select_t sel = {{{len(dims)}, {DTYPES[x.dtype][2]}, {_arr(dims)}, {_arr(st[0])}, "
            f"{_arr(st[1])}, {_arr(st[2])}}}; /* rank, element bytes, shape, strides of condition, x, y */",
            f"kiln_select({c.ptr(cond)}, {c.ptr(x)}, {c.ptr(yv)}, {c.ptr(out)}, &sel);"]


def _nothing(op, g):
    op.params = {}


NOTES = {"DIV": "fused activations; int8 as TFLite Micro computes it on x86, x / 0 and quotients below 2^-31 included; "
                "int32 truncates (x / 0 gives 0)",
         "SQUARED_DIFFERENCE": "broadcast up to 6 dimensions; int8 and int16 quantized (int16 zero points 0)",
         "FLOOR_MOD": "the remainder takes the divisor's sign",
         "MAXIMUM": "raw values compared, as TFLite Micro", "MINIMUM": "raw values compared, as TFLite Micro"}
for _kind in OPS:
    _types = TYPES[_kind]
    register(_kind, check, prepare, emit, in_place=in_place, types=_types,
             notes=NOTES.get(_kind, "int8 compared after TFLite Micro's rescaling; bool output"
                             if _kind in COMPARISONS else "broadcast up to 6 dimensions"))
register("LOGICAL_NOT", check_not, _nothing, emit_not, in_place=same_shape_input, types=("bool",))
register("SELECT_V2", check_select, _nothing, emit_select, types=("int8", "int16", "float32"),
         notes="condition, x and y broadcast to the output, up to rank 6")
