"""FULLY_CONNECTED: int8 (per-tensor or per-channel weights), 16x8 (int16 activations, int8 weights) and float32."""
from __future__ import annotations

import numpy as np

from .. import quantmath as qm
from . import packing
from .base import arity, dtype_in, fused_activation, quantized, register, require


def check(op, g):
    arity(op, (2, 3))
    x, w, *rest = g.op_inputs(op)
    b = rest[0] if rest else None
    (y,) = g.op_outputs(op)
    dtype_in(op, x, "input", ("int8", "int16", "float32"))
    require(op, w is not None and w.is_const, "weights must be a constant tensor")
    require(op, len(w.shape) == 2, f"weights must be 2-D [units, depth], got {w.shape}")
    require(op, op.options.get("weights_format", 0) == 0, "shuffled weights format is not supported")
    depth = w.shape[1]
    require(op, depth > 0 and x.size > 0 and x.size % depth == 0,
            f"input size {x.size} is not a positive multiple of the weights depth {depth}")
    require(op, y.size == x.size // depth * w.shape[0],
            f"output {y.shape} does not hold {x.size // depth} rows of {w.shape[0]} units")
    require(op, b is None or b.size == w.shape[0], f"bias of {b.size if b is not None else 0} values for "
            f"{w.shape[0]} units")
    dtype_in(op, y, "output", (x.dtype,))
    fused_activation(op)
    if x.dtype == "float32":
        dtype_in(op, w, "weights", ("float32",))  # float input with int8 weights is the hybrid path
        if b is not None:
            dtype_in(op, b, "bias", ("float32",))
    else:
        dtype_in(op, w, "weights", ("int8",))
        quantized(op, x, "input")
        quantized(op, y, "output")
        quantized(op, w, "weights", per_tensor=False)
        require(op, all(z == 0 for z in w.quant.zero_point), "weights must be symmetric (zero point 0)")
        require(op, not (w.int4 and w.quant.per_channel),
                "INT4 weights are per-tensor only here (TFLite Micro refuses per-channel INT4 FULLY_CONNECTED)")
        if w.quant.per_channel:
            require(op, len(w.quant.scale) == w.shape[0] and w.quant.axis == 0,
                    f"per-channel weights need one scale per output unit along axis 0 "
                    f"(have {len(w.quant.scale)} scales on axis {w.quant.axis})")
        if b is not None:
            dtype_in(op, b, "bias", ("int32", "int64") if x.dtype == "int16" else ("int32",))
    if b is not None:
        require(op, b.is_const and b.size == w.shape[0], f"bias must be a constant of {w.shape[0]} values")


def prepare(op, g):
    x, w, *rest = g.op_inputs(op)
    b = rest[0] if rest else None
    (y,) = g.op_outputs(op)
    units, depth = w.shape
    batches = x.size // depth
    act = fused_activation(op)
    p = dict(units=units, depth=depth, batches=batches, act=act)
    op.macs = batches * units * depth
    if x.dtype == "float32":
        p["act_min"], p["act_max"] = qm.activation_range_f(act)
    elif x.dtype == "int16":
        p.update(_params_16x8(op, x, w, b, y, act))
        p["wide"] = op.variant == "weights16"
    else:
        in_s, out_s = x.scale, y.scale
        # As TFLite Micro: input scale * weight scale / output scale, all in double (checked
        # against it: a float32 product differs in the last bit of some multipliers).
        mults = [qm.quantize_multiplier(in_s * ws / out_s) for ws in w.quant.scale]
        p["mult"] = [m for m, _ in mults]
        p["shift"] = [s for _, s in mults]
        # The input offset is folded into the bias: sum((x - zp) * w) = sum(x * w) - zp * sum(w).
        bias = b.data.astype(np.int64) if b is not None else np.zeros(units, np.int64)
        folded = bias - x.zero_point * w.data.astype(np.int64).sum(axis=1)
        p["bias"] = folded.astype(np.int32)
        p["out_zp"] = y.zero_point
        p["act_min"], p["act_max"] = qm.activation_range_q(act, y.scale, y.zero_point)
        p["wide"] = op.variant in ("weights16", "both16")
        p["wide_input"] = op.variant == "both16"  # the input widened once into scratch too
        if p["wide_input"]:
            op.scratch_bytes = 4 * (2 * (depth // 4) + depth % 4)
        p["int4"] = w.int4 and op.variant in (None, "weights4")  # INT4 weights stay two a byte
        p["rows"] = op.variant == "rows"  # TFLite's own [units, depth] order: for CPUs without DSP
        p["packed"] = (np.asarray(w.data, np.int8).reshape(-1) if p["rows"]
                       else pack_weights(w.data, p["wide"], nibbles=p["int4"]))
        wsum = np.abs(w.data.astype(np.int64)).sum(axis=1)
        if len(mults) == 1:  # per-tensor: one row, good for every unit
            bounds = [int(qm.accumulator_bounds(folded, wsum).max())]
            consts = [None]
        else:
            bounds = qm.accumulator_bounds(folded, wsum)
            consts = qm.constant_outputs(folded, wsum, p["mult"], p["shift"], y.zero_point)
        p["rq"], p["rq_fast"] = qm.requant_table(p["mult"], p["shift"], y.zero_point, bounds, consts)
    op.params = p


INT32 = 2  # TensorType INT32: quantized_bias_type asking for TFLite Micro's int32 accumulator


def _params_16x8(op, x, w, b, y, act) -> dict:
    """16x8 as TFLite Micro: multipliers as for int8, an int64 accumulator unless the bias is int32
    (or, without a bias, quantized_bias_type says int32)."""
    mults = [qm.quantize_multiplier(x.scale * ws / y.scale) for ws in w.quant.scale]
    acc32 = b.dtype == "int32" if b is not None else op.options.get("quantized_bias_type", 0) == INT32
    return dict(mult=[m for m, _ in mults], shift=[s for _, s in mults], acc64=not acc32, in_zp=x.zero_point,
                out_zp=y.zero_point, act_min_max=qm.activation_range_q(act, y.scale, y.zero_point, -32768, 32767))


def _emit_16x8(op, c, x, w, b, y, p) -> list[str]:
    mult = c.array(f"op{op.index}_mult", np.array(p["mult"], np.int32), "int32_t", "output multipliers")
    shift = c.array(f"op{op.index}_shift", np.array(p["shift"], np.int32), "int32_t", "output shifts")
    lo, hi = p["act_min_max"]
    weights = (c.array(f"op{op.index}_weights", pack_rows_s16_wide(w.data), "int32_t",
                       f"weights [{w.shape[0]}][{w.shape[1]}] as int16 pairs, rows in groups of four (see "
                       "pack_rows_s16_wide)") if p["wide"] else packed_s16(c, op, "weights", w.data))
    return [
        "static const kiln_fc_s16_params_t params = {",
        f"    {p['batches']}, {p['depth']}, {p['units']}, {mult}, {shift},",
        f"    {int(len(p['mult']) > 1)}, {int(p['acc64'])},",
        f"    {p['in_zp']}, {p['out_zp']}, {lo}, {hi} /* per channel, 64-bit accumulator, zero points, clamp */",
        "};",
        f"kiln_fully_connected_s16{'_w16' if p['wide'] else ''}({c.ptr(x)}, {weights}, "
        f"{c.const(b) if b is not None else 'NULL'}, {c.ptr(y)}, &params);",
    ]


def pack_rows_s16_wide(w: np.ndarray) -> np.ndarray:
    """The "weights16" layout of a 16x8 layer (kiln_fully_connected_s16_w16): rows in groups of four
    (a last group of fewer), per group of four depth values each row's two words of int16 pairs
    (w0, w1), (w2, w3), SMLAD's operands against the int16 input's words as they lie in memory; then
    each row's depth % 4 tail, a weight a word."""
    w = np.asarray(w, np.int64).reshape(w.shape[0], -1)
    units, depth = w.shape
    chunks = depth // 4
    parts = []
    for r in range(0, units, 4):
        rows = w[r:r + 4]
        pairs = rows[:, :chunks * 4].reshape(len(rows), chunks, 2, 2)
        parts.append(packing.int16_pair(pairs[..., 0], pairs[..., 1]).transpose(1, 0, 2))  # chunk by chunk
        parts.append(rows[:, chunks * 4:])
    return packing.stream(parts)


def pack_rows_s16(w: np.ndarray) -> np.ndarray:
    """The layout of kiln_fully_connected_s16's weights: rows in pairs, per group of four depth values
    each row's four bytes as w0, w2, w1, w3 (SXTB16 then widens the word to the pairs (w0, w1) and
    (w2, w3), which SMLALD multiplies with two int16 inputs as they lie in memory), then the two
    rows' depth % 4 tails in order; a last odd row alone, the same way."""
    w = np.asarray(w, np.int8).reshape(w.shape[0], -1)
    units, depth = w.shape
    body = w[:, :depth // 4 * 4].reshape(units, -1, 4)[:, :, [0, 2, 1, 3]]  # [row, group, 4]
    parts = []
    for r in range(0, units, 2):
        rows = slice(r, min(r + 2, units))
        parts.append(body[rows].transpose(1, 0, 2).reshape(-1))  # group by group, the rows' words alternate
        parts.append(w[rows, depth // 4 * 4:].reshape(-1))
    return np.concatenate(parts).astype(np.int8)


def packed_s16(c, op, what: str, w: np.ndarray) -> str:
    """The C array of weights in pack_rows_s16's layout."""
    return c.array(f"op{op.index}_{what}", pack_rows_s16(w), "int8_t",
                   f"{what} [{w.shape[0]}][{w.shape[1]}] in pairs of rows, groups of four as w0, w2, w1, w3 "
                   "(see pack_rows_s16)")


def pack_weights(w: np.ndarray, wide: bool = False, nibbles: bool = False) -> np.ndarray:
    """The layout kiln_fully_connected_s8 walks with one pointer: rows in groups of four, their
    4-byte chunks alternating, then each row's depth % 4 tail bytes; leftover rows plainly.
    wide (the "weights16" variant): int32 words, each chunk as two words of int16 pairs (depth
    bytes 0 and 2, then 1 and 3: SMLAD's operands), the tail a weight a word, leftover rows int8.
    nibbles (INT4 weights, the "weights4" variant, kiln_fully_connected_s4): each chunk as four
    bytes holding rows 0 and 1 (low and high nibbles, each w + 8), then four holding rows 2 and 3;
    the tails and leftover rows as int8."""
    units, depth = w.shape
    chunks, groups = depth // 4, units // 4
    w = w.astype(np.int64)
    parts = []
    for g in range(groups):
        rows = w[4 * g:4 * g + 4]
        body = rows[:, :chunks * 4].reshape(4, chunks, 4).transpose(1, 0, 2)  # [chunk, row, 4]
        if nibbles:  # stored as w + 8 in 0..15 (the kernel takes the 8 back out)
            n = body + 8
            body = np.stack([n[:, 0] | n[:, 1] << 4, n[:, 2] | n[:, 3] << 4], axis=1)  # [chunk, 2, 4] bytes
            body = np.where(body >= 128, body - 256, body)
        parts.append(packing.widened(body) if wide else body)
        parts.append(rows[:, chunks * 4:])
    parts.append(packing.byte_words(w[groups * 4:]) if wide else w[groups * 4:])
    return packing.stream(parts) if wide else np.concatenate([p.reshape(-1) for p in parts]).astype(np.int8)


def emit(op, g, c):
    x, w, *rest = g.op_inputs(op)
    b = rest[0] if rest else None
    (y,) = g.op_outputs(op)
    p = op.params
    if x.dtype == "float32":
        bias = c.const(b) if b is not None else "NULL"
        return [
            f"kiln_fully_connected_f32({c.ptr(x)}, {c.const(w)}, {bias}, {c.ptr(y)},",
            f"                         {p['batches']}, {p['depth']}, {p['units']}, {c.f32(p['act_min'])}, {c.f32(p['act_max'])});",
        ]
    if x.dtype == "int16":
        return _emit_16x8(op, c, x, w, b, y, p)
    bias = c.array(f"op{op.index}_bias", p["bias"], "int32_t", "bias with the input zero point folded in")
    words = p["packed"] if p["wide"] else packing.stream([packing.byte_words(p["packed"])])  # int32: aligned
    how = (" as int16 pairs" if p["wide"] else " as INT4, eight a word" if p.get("int4")
           else " as int8, four a word, row after row" if p["rows"] else " as int8, four a word")
    packed = c.array(f"op{op.index}_weights", words, "int32_t",
                     f"weights '{w.name}' {w.describe()}{how}"
                     + ("" if p["rows"] else ", packed for the kernel (see pack_weights)"))
    if not p["wide"]:
        packed = f"(const int8_t *){packed}"
    rq = c.array(f"op{op.index}_rq", p["rq"], "int32_t",
                 "requantization {m, e, c} for kiln_rq (see quantmath.requant_constants)" if p["rq_fast"]
                 else "requantization {multiplier, shift, 0}: TFLite's exact path")
    kernel = ("s4" if p.get("int4") else "s8_w16x" if p.get("wide_input") else "s8_w16" if p["wide"]
              else "s8_rows" if p["rows"] else "s8")
    scratch = f", (uint32_t *)(void *){c.scratch(op)}" if p.get("wide_input") else ""
    return [
        "static const kiln_fc_s8_params_t params = {",
        f"    {p['batches']}, {p['depth']}, {p['units']}, {rq}, {int(len(p['mult']) > 1)}, {int(p['rq_fast'])},",
        f"    {p['out_zp']}, {p['act_min']}, {p['act_max']}",
        "};",
        f"kiln_fully_connected_{kernel}({c.ptr(x)}, {packed}, {bias}, {c.ptr(y)}, &params{scratch});",
    ]


def variants(op, g) -> list[str]:
    """OpDef.variants of a FULLY_CONNECTED. int8: its weights as int8 in the SMLAD loop's groups of
    four rows (the default), stored pre-widened to int16 (13 instructions per 16 MACs instead of
    21, for twice their flash), the same with the input widened once into scratch too ("both16": 12,
    for 2 bytes of arena per input value), or row after row as in the model ("rows": the loop for
    CPUs without the DSP extension indexes a row and the input with one register; their default).
    16x8: its weights as int8 (pack_rows_s16, the default) or as int16 pairs (pack_rows_s16_wide:
    16 instructions per 16 MACs instead of 24)."""
    x, w = g.tensor(op.inputs[0]), g.tensor(op.inputs[1])
    if x.dtype == "int16":
        return ["weights8", "weights16"]
    if x.dtype != "int8":
        return []
    return (["weights4", "weights8", "weights16", "both16", "rows"] if w.int4
            else ["weights8", "weights16", "both16", "rows"])


register("FULLY_CONNECTED", check, prepare, emit, variants=variants, types=("int8", "int16", "float32"),
         notes="per-tensor or per-channel int8 (or INT4) weights, optional bias, keep_num_dims, fused activations; "
               "16x8 with an int64 or int32 bias")
