"""ADD, SUB and MUL: int8, int16 and float32 here, int32 on the shared binary kernel (binary.py); same shape or
broadcast (up to 6 dimensions)."""
from __future__ import annotations

import numpy as np

from .. import quantmath as qm
from .base import arity, dtype_in, fused_activation, quantized, register, require, same_shape_input

MAX_DIMS = 6
TYPES = ("int8", "int16", "int32", "float32")


def broadcast_plan(a_shape, b_shape, out_shape):
    """Collapse the broadcast into as few dimensions as possible.

    Returns (dims, a_strides, b_strides) in elements, outermost first; a stride of 0 repeats.
    Adjacent dimensions merge when both inputs broadcast the same way across them.
    """
    n = len(out_shape)
    a = [1] * (n - len(a_shape)) + list(a_shape)
    b = [1] * (n - len(b_shape)) + list(b_shape)
    dims, pat = [], []
    for d in range(n):
        if out_shape[d] == 1:
            continue
        key = (a[d] != 1, b[d] != 1)
        if dims and pat[-1] == key:
            dims[-1] *= out_shape[d]
        else:
            dims.append(out_shape[d])
            pat.append(key)
    if not dims:
        dims, pat = [1], [(True, True)]

    def strides(which):
        out, acc = [], 1
        for size, key in zip(reversed(dims), reversed(pat)):
            out.append(acc if key[which] else 0)
            acc *= size if key[which] else 1
        return list(reversed(out))

    return dims, strides(0), strides(1)


def check(op, g):
    arity(op, 2)
    a, b = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    dtype_in(op, a, "first input", TYPES)
    dtype_in(op, b, "second input", (a.dtype,))
    dtype_in(op, y, "output", (a.dtype,))
    fused_activation(op)
    try:
        shape = np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    except ValueError:
        require(op, False, f"input shapes {a.shape} and {b.shape} do not broadcast")
    require(op, list(shape) == list(y.shape), f"output shape {y.shape} is not the broadcast shape {list(shape)}")
    require(op, len(broadcast_plan(a.shape, b.shape, y.shape)[0]) <= MAX_DIMS,
            f"broadcast needs more than {MAX_DIMS} dimensions")
    if a.dtype in ("int8", "int16"):
        for t, role in ((a, "first input"), (b, "second input"), (y, "output")):
            quantized(op, t, role)
    if a.dtype == "int16" and op.kind == "MUL":  # TFLite Micro's int16 MUL insists on it
        for t, role in ((a, "first input"), (b, "second input"), (y, "output")):
            require(op, t.zero_point == 0, f"int16 {role} '{t.name}' has zero point {t.zero_point}; "
                    "TFLite Micro's int16 MUL needs 0")


def prepare(op, g):
    if g.op_inputs(op)[0].dtype == "int32":  # plain wrapping arithmetic on the shared binary kernel
        from .binary import prepare_int32_arith
        return prepare_int32_arith(op, g)
    a, b = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    act = fused_activation(op)
    dims, sa, sb = broadcast_plan(a.shape, b.shape, y.shape)
    p = dict(dims=dims, sa=sa, sb=sb, act=act)
    if a.dtype == "float32":
        p["act_min"], p["act_max"] = qm.activation_range_f(act)
    elif op.kind in ("ADD", "SUB"):  # TFLite's CalculateOpData{Add,Sub}: inputs to a common scale
        left_shift = 15 if a.dtype == "int16" else 20
        p.update(left_shift=left_shift, a_offset=-a.zero_point, b_offset=-b.zero_point, out_offset=y.zero_point)
        for key, real in zip(("a", "b", "out"), _addsub_reals(a.scale, b.scale, y.scale, left_shift)):
            p[key + "_mult"], p[key + "_shift"] = qm.quantize_multiplier(real)
        if a.dtype == "int8":
            p["fast"], p["a_q"], p["b_q"], p["out_q"] = _add_fast(p, y.zero_point)
            if op.variant == "tables":
                _add_tables(p, -1 if op.kind == "SUB" else 1, y.zero_point)
    else:  # MUL
        p["mult"], p["shift"] = qm.quantize_multiplier(a.scale * b.scale / y.scale)
        p.update(a_offset=-a.zero_point, b_offset=-b.zero_point, out_offset=y.zero_point)
    if a.dtype in ("int8", "int16"):
        p["act_min"], p["act_max"] = qm.activation_range_q(act, y.scale, y.zero_point, *qm.int_range(a.dtype))
    op.params = p



def _addsub_reals(sa, sb, sy, left_shift):
    """The three real multipliers of CalculateOpData{Add,Sub}, in double. (TFLite Micro's SUB source divides in
    float32 first, yet the PyPI build the tests check against computes in double: a test pins the case.)"""
    twice_max = 2 * max(sa, sb)
    return sa / twice_max, sb / twice_max, twice_max / ((1 << left_shift) * sy)


def _add_side(v: int, left_shift: int, q) -> int:
    """add_side in kiln_elementwise.c."""
    m, e, c, mask = q
    y = ((v << (left_shift + 1)) * m + (1 << 31)) >> 32
    return (y + c + ((-1 if v < 0 else 0) & mask)) >> e


def _add_fast(p: dict, out_zp: int):
    """Constants for kiln_add_s8's fast path, checked here against TFLite's double rounding for
    every input value of each side; the output's through requant_constants over the whole range
    the sum can take. (0, zeros...) when some value would not be exact."""
    ls, sides, values = p["left_shift"], [], []
    for key in ("a", "b"):
        m, shift = p[key + "_mult"], p[key + "_shift"]
        e = -shift
        if shift > 0 or e > 30 or m < 0:
            return 0, [0] * 4, [0] * 4, [0] * 3
        q = [m, e, (1 << (e - 1)) if e >= 1 else 0, -1 if e >= 1 else 0]
        vs = [p[key + "_offset"] + x for x in range(-128, 128)]
        got = [_add_side(v, ls, q) for v in vs]
        if got != [qm.mul_by_quantized_multiplier(v << ls, m, shift) for v in vs]:
            return 0, [0] * 4, [0] * 4, [0] * 3
        sides.append(q)
        values.append(max(abs(g) for g in got))
    out_q = qm.requant_constants(p["out_mult"], p["out_shift"], out_zp, values[0] + values[1])
    if out_q is None:
        return 0, [0] * 4, [0] * 4, [0] * 3
    return 1, sides[0], sides[1], out_q


def _add_tables(p: dict, sign: int, out_zp: int) -> None:
    """The "tables" variant: each int8 value's side as TFLite computes it ((value + offset) <<
    left_shift, rescaled; the second input's times sign), 256 words an input; the output's
    rescaling kiln_rq where exact over every sum the tables can make (p["fast"], p["out_q"])."""
    ls = p["left_shift"]
    sides = [[qm.mul_by_quantized_multiplier((p[k + "_offset"] + x) << ls, p[k + "_mult"], p[k + "_shift"])
              for x in range(-128, 128)] for k in ("a", "b")]
    sides[1] = [sign * v for v in sides[1]]
    p["tables"] = np.array(sides[0] + sides[1], np.int64)
    bound = max(map(abs, sides[0])) + max(map(abs, sides[1]))
    out_q = qm.requant_constants(p["out_mult"], p["out_shift"], out_zp, bound)
    p["fast"], p["out_q"] = (1, out_q) if out_q is not None else (0, [0] * 3)


def variants(op, g) -> list[str]:
    """OpDef.variants of int8 ADD and SUB: both sides rescaled per element (the default), or read
    from two tables of 256 words the compiler computed ("tables": 2 KB of flash an operator, about a
    third of the instructions; tuning.flash_defaults takes it where the board's flash allows)."""
    return ["rescale", "tables"] if g.op_inputs(op)[0].dtype == "int8" else []


def add_params_lines(p) -> list[str]:
    """ADD's parameter block (kiln_add_s8_params_t), shared by SUB and quantized SQUARED_DIFFERENCE."""
    def arr(v):
        return "{" + ", ".join(map(str, v)) + "}"

    fast = p.get("fast", 0), p.get("a_q", [0] * 4), p.get("b_q", [0] * 4), p.get("out_q", [0] * 3)
    return [
        "static const kiln_add_s8_params_t params = {",
        f"    {p['a_offset']}, {p['a_mult']}, {p['a_shift']}, {p['b_offset']}, {p['b_mult']}, {p['b_shift']},",
        f"    {p['left_shift']}, {p['out_offset']}, {p['out_mult']}, {p['out_shift']}, {p['act_min']}, {p['act_max']},",
        f"    {fast[0]}, {arr(fast[1])}, {arr(fast[2])}, {arr(fast[3])}",
        "};",
    ]


def _shape_struct(p):
    def arr(v):
        return "{" + ", ".join(str(x) for x in v) + "}"

    return f"static const kiln_bcast_t shape = {{{len(p['dims'])}, {arr(p['dims'])}, {arr(p['sa'])}, {arr(p['sb'])}}};"


def emit(op, g, c):
    if g.op_inputs(op)[0].dtype == "int32":
        from .binary import emit as emit_binary
        return emit_binary(op, g, c)
    a, b = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    p = op.params
    fn = op.kind.lower()
    suffix = "s16" if a.dtype == "int16" else "s8"
    lines = [_shape_struct(p)]
    if a.dtype == "float32":
        lines.append(f"kiln_{fn}_f32({c.ptr(a)}, {c.ptr(b)}, {c.ptr(y)}, &shape, "
                     f"{c.f32(p['act_min'])}, {c.f32(p['act_max'])});")
        return lines
    if op.kind in ("ADD", "SUB"):
        lines += add_params_lines(p)
        if "tables" in p:
            sides = c.array(f"op{op.index}_sides", p["tables"], "int32_t",
                            "each int8 value's rescaled side: the first input's, then the second's"
                            + (" negated" if op.kind == "SUB" else ""))
            lines.append(f"kiln_addsub_s8_tables({c.ptr(a)}, {c.ptr(b)}, {c.ptr(y)}, &shape, &params, {sides});")
            return lines
    else:
        lines += [
            "static const kiln_mul_s8_params_t params = {",
            f"    {p['a_offset']}, {p['b_offset']}, {p['out_offset']}, {p['mult']}, {p['shift']}, {p['act_min']}, {p['act_max']}",
            "};",
        ]
    lines.append(f"kiln_{fn}_{suffix}({c.ptr(a)}, {c.ptr(b)}, {c.ptr(y)}, &shape, &params);")
    return lines


NOTES = "broadcast up to 6 dimensions; fused activations; int16 on TFLite Micro's 16-bit path; int32 wraps"
register("ADD", check, prepare, emit, in_place=same_shape_input, types=TYPES, notes=NOTES, variants=variants)
register("SUB", check, prepare, emit, in_place=same_shape_input, types=TYPES, notes=NOTES, variants=variants)
register("MUL", check, prepare, emit, in_place=same_shape_input, types=TYPES,
         notes=NOTES + "; int16 with zero points 0, as TFLite Micro")
