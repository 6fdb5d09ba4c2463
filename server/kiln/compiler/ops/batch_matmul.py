"""BATCH_MATMUL: int8, int16 and float32, adj_x / adj_y, batch dimensions broadcast both ways
(ranks 2 to 5), right-hand side constant or an activation, as TFLite Micro.

out[b, i, j] = sum_k (L[b, i, k] - lhs_zp) * (R[b, k, j] - rhs_zp), requantized per output with
TFLite's MultiplyByQuantizedMultiplier (int32 accumulator for int8; int64 and the 64-bit
multiply for int16, whose zero points TFLite Micro requires to be 0). The operands' layouts
(adj_x, adj_y) become element strides, and the broadcast batch dimensions a table of each
operand's offset per output matrix, so one kernel per type covers every case; a constant
right-hand side is stored transposed at compile time so the inner loop walks both operands
contiguously, and (int8) its zero-point terms are worked out per column so the MAC loop is
sum l * r alone.
"""
from __future__ import annotations

import numpy as np

from .. import quantmath as qm
from . import conv
from .base import arity, dtype_in, quantized, register, require

MAX_RANK = 5


def _shapes(op, g):
    lhs, rhs = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    adj_x, adj_y = bool(op.options.get("adj_x", False)), bool(op.options.get("adj_y", False))
    rank = max(len(lhs.shape), len(rhs.shape))
    ls = [1] * (rank - len(lhs.shape)) + list(lhs.shape)
    rs = [1] * (rank - len(rhs.shape)) + list(rhs.shape)
    m, kl = (ls[-1], ls[-2]) if adj_x else (ls[-2], ls[-1])
    kr, n = (rs[-1], rs[-2]) if adj_y else (rs[-2], rs[-1])
    return lhs, rhs, y, adj_x, adj_y, ls, rs, m, kl, kr, n


def check(op, g):
    arity(op, 2)
    lhs, rhs = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    dtype_in(op, lhs, "lhs", ("int8", "int16", "float32"))
    dtype_in(op, rhs, "rhs", (lhs.dtype,))
    dtype_in(op, y, "output", (lhs.dtype,))
    for t, role in ((lhs, "lhs"), (rhs, "rhs")):
        require(op, 2 <= len(t.shape) <= MAX_RANK, f"{role} '{t.name}' has rank {len(t.shape)}; ranks 2 to 5 are supported")
    lhs, rhs, y, adj_x, adj_y, ls, rs, m, kl, kr, n = _shapes(op, g)
    batch = []
    for a, b in zip(ls[:-2], rs[:-2]):
        require(op, a == b or a == 1 or b == 1, f"batch dimensions of lhs {lhs.shape} and rhs {rhs.shape} do not broadcast")
        batch.append(max(a, b))
    require(op, kl == kr, f"lhs {lhs.shape} (adj_x={adj_x}) and rhs {rhs.shape} (adj_y={adj_y}) have different depths {kl} and {kr}")
    require(op, list(y.shape) == batch + [m, n], f"output shape {y.shape} is not {batch + [m, n]}")
    if lhs.dtype != "float32":
        for t, role in ((lhs, "lhs"), (rhs, "rhs"), (y, "output")):
            quantized(op, t, role)
            if lhs.dtype == "int16":
                require(op, t.zero_point == 0, f"int16 {role} '{t.name}' must have zero point 0 (has {t.zero_point})")
        if lhs.dtype == "int8":
            require(op, kl * 4 * 128 * 128 < 2 ** 31, f"depth {kl} would overflow the int32 accumulator")
        else:
            require(op, kl * 2 ** 30 < 2 ** 47, f"depth {kl} is beyond the 64-bit rescale's input range")


def prepare(op, g):
    lhs, rhs, y, adj_x, adj_y, ls, rs, m, k, _, n = _shapes(op, g)
    # element strides: L[i, k] = lhs[i * l_row + k * l_k], R[k, j] = rhs[k * r_k + j * r_col]
    l_row, l_k = (1, m) if adj_x else (k, 1)
    r_k, r_col = (1, k) if adj_y else (n, 1)
    rhs_packed = None
    if rhs.is_const:  # stored [batch..., n, k]: contiguous along k
        d = rhs.data.reshape(rs)
        rhs_packed = d if adj_y else np.swapaxes(d, -1, -2)
        r_k, r_col = 1, k
    batch = [max(a, b) for a, b in zip(ls[:-2], rs[:-2])]
    lsz, rsz = m * k, k * n

    def offsets(shape, size):
        strides, acc = [], size
        for d in reversed(shape[:-2]):
            strides.append(acc)
            acc *= d
        strides = list(reversed(strides))
        out = np.zeros(batch, np.int64) if batch else np.zeros((), np.int64)
        for ax, (d, s) in enumerate(zip(shape[:-2], strides)):
            if d > 1:
                idx = np.arange(d).reshape([-1 if a == ax else 1 for a in range(len(batch))])
                out = out + idx * s
        return out.reshape(-1).astype(np.int32)

    lo, ro = offsets(ls, lsz), offsets(rs, rsz)
    p = dict(batches=int(lo.size), rows=m, cols=n, depth=k, l_row=l_row, l_k=l_k, r_k=r_k, r_col=r_col,
             lhs_off=lo, rhs_off=ro, rhs_packed=rhs_packed)
    op.macs = int(lo.size) * m * n * k
    if lhs.dtype != "float32":
        real = qm.f32(lhs.scale * rhs.scale) / y.scale  # TFLite multiplies the two scales in float
        p["mult"], p["shift"] = qm.quantize_multiplier(real)
        info = np.iinfo(np.int8 if lhs.dtype == "int8" else np.int16)
        p.update(lhs_zp=lhs.zero_point, rhs_zp=rhs.zero_point, out_zp=y.zero_point,
                 act_min=int(info.min), act_max=int(info.max))
    if lhs.dtype == "int16" and l_k == 1:  # SMLALD on two rows by two columns, both interleaved in scratch
        p["rows_s16"] = True
        padded = -(-k // 4) * 4
        op.scratch_bytes = 4 * padded * (1 + -(-n // 2))
    if lhs.dtype == "int8":
        p["conv"] = as_convolution(p)
        if p["conv"] is not None:
            op.scratch_bytes = p["conv"]["scratch"]
        elif rhs_packed is None:  # two lhs rows and the rhs transposed, as int16
            op.scratch_bytes = (2 * k * (n + 2) + 3) // 4 * 4
    op.params = p


def as_convolution(p: dict) -> dict | None:
    """int8 on the convolution's kernel: each output matrix [M, N] is a 1x1 CONV_2D of M pixels,
    K input and N output channels over the lhs rows (which must be contiguous: not adj_x), the rhs
    columns less rhs_zp its filters (int16 pairs where they do not fit int8), the lhs zero point
    folded into the bias, the per-tensor requantization repeated per column. A constant rhs of one
    matrix is packed now, and all the output matrices go through one call when the lhs matrices
    follow each other; an activation rhs is packed into scratch at run time, one matrix at a time
    (kiln_batch_matmul_pack_rhs_s8). None where this does not apply (adj_x; an odd column count
    whose values need int16; several constant rhs matrices): the kernel of kiln_batch_matmul.c."""
    m, k, n = p["rows"], p["depth"], p["cols"]
    if p["l_k"] != 1:
        return None
    const = p["rhs_packed"] is not None
    if const:
        mats = p["rhs_packed"].reshape(-1, n, k)
        if mats.shape[0] != 1:
            return None
        weights = mats[0].astype(np.int64) - p["rhs_zp"]  # [n, k]
        wide = bool(weights.min() < -128 or weights.max() > 127)
    else:
        weights, wide = None, True  # values less the zero point span up to 255: int16 pairs
    if n % 2 and (wide if const else p["rhs_zp"] != 0):  # the odd last column is stored as int8
        return None
    merged = const and np.array_equal(p["lhs_off"], np.arange(p["batches"]) * m * k)
    pixels = m * p["batches"] if merged else m
    q = dict(batches=1, in_h=1, in_w=pixels, in_c=k, out_h=1, out_w=pixels, out_c=n, k_h=1, k_w=1,
             stride_h=1, stride_w=1, dil_h=1, dil_w=1, pad_top=0, pad_left=0, depth_multiplier=1,
             mult=np.full(n, p["mult"], np.int32), shift=np.full(n, p["shift"], np.int32),
             out_zp=p["out_zp"], act_min=p["act_min"], act_max=p["act_max"], merged=merged)
    kernel_scratch = conv.taps_layout(q, k, ("direct" if k % 4 == 0 else "im2col") + ("16" if wide else ""))
    q["wide"] = wide
    if const:
        conv.plan_s8(q, weights.reshape(n, 1, 1, k), np.zeros(n, np.int64), p["lhs_zp"])
        q["stream_words"] = 0
    else:
        bound = (abs(p["lhs_zp"]) + 128) * 255 * k  # |bias| + 128 sum |w|, whatever the rhs holds
        rq, q["rq_fast"] = qm.requant_table([p["mult"]], [p["shift"]], p["out_zp"], [bound], [None])
        q["rq_words"], q["in_zp"] = rq.reshape(-1), p["lhs_zp"]
        q["steps"] = -(-q["tap_len"] // 8) * 2  # 4 depth values a step, an even count
        q["stream_words"] = n // 2 * (8 + 4 * q["steps"]) + (n % 2) * (4 + q["tap_len"] // 4)
    q["scratch"] = 4 * q["stream_words"] + kernel_scratch
    return q


def emit(op, g, c):
    lhs, rhs = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    p = op.params
    if p.get("conv") is not None:
        return emit_convolution(op, c, lhs, rhs, y)
    ctype = {"int8": "int8_t", "int16": "int16_t", "float32": "float"}[lhs.dtype]
    if p["rhs_packed"] is not None:
        r = c.array(f"op{op.index}_rhs", p["rhs_packed"].reshape(-1), ctype,
                    f"rhs '{rhs.name}' {rhs.describe()}, each matrix transposed to [cols, depth]")
    else:
        r = c.ptr(rhs)
    lo = c.array(f"op{op.index}_lhs_off", p["lhs_off"], "int32_t", "lhs element offset of each output matrix")
    ro = c.array(f"op{op.index}_rhs_off", p["rhs_off"], "int32_t", "rhs element offset of each output matrix")
    q = (f"{p['lhs_zp']}, {p['rhs_zp']}, {p['mult']}, {p['shift']}, {p['out_zp']}, {p['act_min']}, {p['act_max']}"
         if lhs.dtype != "float32" else "0, 0, 0, 0, 0, 0, 0")
    if lhs.dtype == "int8" and p["rhs_packed"] is not None:
        r64 = p["rhs_packed"].astype(np.int64).reshape(-1, p["cols"], p["depth"])  # [matrix, n, k]
        term = p["depth"] * p["lhs_zp"] * p["rhs_zp"] - p["lhs_zp"] * r64.sum(axis=2)
        q += ", " + c.array(f"op{op.index}_col_term", term.reshape(-1).astype(np.int32), "int32_t",
                            "zero-point terms of each rhs column: K lhs_zp rhs_zp - lhs_zp sum_k rhs")
    else:
        q += ", NULL"
    fn = {"int8": "s8", "int16": "s16", "float32": "f32"}[lhs.dtype]
    scratch = ""
    if lhs.dtype == "int8" or p.get("rows_s16"):
        scratch = f", (int16_t *)(void *){c.scratch(op)}" if op.scratch_bytes else ", NULL"
    if p.get("rows_s16"):
        fn = "s16_rows"
    return [
        "static const kiln_batch_matmul_params_t params = {",
        f"    {p['batches']}, {p['rows']}, {p['cols']}, {p['depth']}, {p['l_row']}, {p['l_k']}, {p['r_k']}, {p['r_col']},",
        f"    {lo}, {ro}, {q}",
        "};",
        f"kiln_batch_matmul_{fn}({c.ptr(lhs)}, {r}, {c.ptr(y)}, &params{scratch});",
    ]


def emit_convolution(op, c, lhs, rhs, y) -> list[str]:
    """as_convolution's calls: one kiln_conv_s8 (constant rhs), or per output matrix the rhs packed
    into scratch and one kiln_conv_s8_w16."""
    p, q = op.params, op.params["conv"]
    fn = "kiln_conv_s8_w16" if q["wide"] else "kiln_conv_s8"
    m, n = p["rows"], p["cols"]
    if p["rhs_packed"] is not None:
        filt = c.array(f"op{op.index}_rhs", q["packed"], "int32_t",
                       f"rhs '{rhs.name}' {rhs.describe()} less its zero point, as the filters of a 1x1 convolution "
                       f"({'int16 pairs' if q['wide'] else 'int8'}, see conv.pack_conv) with each column's bias "
                       "(lhs zero point folded in) and requantization")
        kernel_scratch = c.scratch(op)
    else:
        filt = f"(const int32_t *)(const void *)(arena + {op.scratch_offset})"
        kernel_scratch = f"(int8_t *)(arena + {op.scratch_offset + 4 * q['stream_words']})"
    body = [f"    {fn}({c.ptr(lhs)} + {{lo}}, {filt}, {c.ptr(y)} + {{yo}}, &params, {kernel_scratch}, NULL);"]
    lines = ["{"] + ["    " + line for line in conv.s8_params(q)]
    if q["merged"]:
        return lines + [body[0].format(lo=0, yo=0), "}"]
    lo = c.array(f"op{op.index}_lhs_off", p["lhs_off"], "int32_t", "lhs element offset of each output matrix")
    if p["rhs_packed"] is None:
        ro = c.array(f"op{op.index}_rhs_off", p["rhs_off"], "int32_t", "rhs element offset of each output matrix")
        rq = c.array(f"op{op.index}_rq", q["rq_words"], "int32_t", "the requantization words every column shares")
        lines += [f"    static const kiln_bmm_pack_t pack = {{{p['depth']}, {n}, {p['r_k']}, {p['r_col']}, {p['rhs_zp']}, "
                  f"{p['lhs_zp']}, {q['tap_len']}, {q['steps']}, {rq}}};"]
    lines += ["    int32_t b;", f"    for (b = 0; b < {p['batches']}; ++b) {{"]
    if p["rhs_packed"] is None:
        lines += [f"        kiln_batch_matmul_pack_rhs_s8({c.ptr(rhs)} + {ro}[b], &pack, (int32_t *)(void *)(arena + {op.scratch_offset}));"]
    return lines + ["    " + body[0].format(lo=f"{lo}[b]", yo=f"b * {m * n}"), "    }", "}"]


register("BATCH_MATMUL", check, prepare, emit, types=("int8", "int16", "float32"),
         notes="adj_x, adj_y, broadcast batch dimensions (ranks 2 to 5), constant or activation rhs; per-tensor quantization")
