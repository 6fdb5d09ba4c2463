"""UNIDIRECTIONAL_SEQUENCE_LSTM as TFLite Micro's kernel computes it (unidirectional_sequence_lstm.cc,
lstm_eval.*): the standard LSTM of Keras, no CIFG, peephole, projection or layer norm (TFLite Micro
refuses them), in float32, int8 activations with int16 cell state ("8x8_16") and int16 activations
("16x8"), both with int8 weights.

Inputs (24, absent optional ones -1): 0 the input [steps, batches, n] (time_major) or [batches,
steps, n]; 1-4 input weights and 5-8 recurrent weights of the input, forget, cell and output gates;
9-11 peephole; 12-15 gate biases; 16-17 projection; 18 the hidden ("output") state and 19 the cell
state, variable tensors updated in place; 20-23 layer norm.

Quantized, as TFLite Micro prepares it: each of a gate's two FCs is rescaled to int16 at 2^-12
(input scale x weight scale / 2^-12, in double), the two added with saturation, then sigmoid (tanh
for the cell gate) on the int16 LOGISTIC/TANH table to 2^-15. forget x cell -> cell (2^-15),
input x cell gate -> cell (2^-30 / cell scale), tanh(cell) x output -> hidden (2^-30 / hidden scale,
plus its zero point). The tanh of the cell state reads it as if its scale were 2^k, k its log2
rounded (TFLite's CheckedLog2). The cell clip is quantized by truncation. int8: the zero points
are folded into int32 biases here; int16: the FCs keep TFLite's 64-bit accumulator and int64 biases.
"""
from __future__ import annotations

import numpy as np

from .. import quantmath as qm
from .activations16 import checked_log2, require_sigmoid_table, sigmoid_table
from .base import ACTIVATIONS, dtype_in, quantized, register, require
from .fully_connected import pack_weights, packed_s16
from .packing import wrap_int32

INPUT, W_IN, W_REC, PEEPHOLE, BIAS, PROJECTION, HIDDEN, CELL, LAYER_NORM = 0, 1, 5, 9, 12, 16, 18, 19, 20
GATES = ("input", "forget", "cell", "output")
GATE_SCALE = 2.0 ** -12   # the FC outputs, inputs of the sigmoid and tanh (Q3.12)
ACT_SCALE = 2.0 ** -15    # the gate outputs (Q0.15)
TANH = 4  # ActivationFunctionType TANH: the only cell gate activation TFLite Micro computes


def _sizes(op, g):
    x = g.tensor(op.inputs[INPUT])
    h = g.tensor(op.inputs[HIDDEN])
    tm = bool(op.options.get("time_major", False))
    steps, batches = (x.shape[0], x.shape[1]) if tm else (x.shape[1], x.shape[0])
    return dict(batches=batches, steps=steps, n_input=x.shape[2], n_cell=h.shape[1], time_major=int(tm))


def check(op, g):
    require(op, len(op.inputs) == 24, f"expects 24 inputs (TFLite Micro's kernel takes exactly 24), has "
            f"{len(op.inputs)}")
    require(op, len(op.outputs) == 1, f"expects 1 output, has {len(op.outputs)}")
    ins = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    x, h, c = ins[INPUT], ins[HIDDEN], ins[CELL]
    dtype_in(op, x, "input", ("float32", "int8", "int16"))
    require(op, len(x.shape) == 3, f"input must be 3-D [steps, batches, n] or [batches, steps, n], got {x.shape}")
    for k, n, what in ((PEEPHOLE, 3, "peephole weights (inputs 9-11)"), (PROJECTION, 2, "projection (inputs 16-17)"),
                       (LAYER_NORM, 4, "layer normalization (inputs 20-23)")):
        require(op, all(t is None for t in ins[k:k + n]),
                f"{what} not supported: TFLite Micro's kernel computes only the standard LSTM and refuses them")
    require(op, ins[W_IN] is not None and ins[W_REC] is not None and ins[BIAS] is not None,
            "the input gate's weights and bias are missing (CIFG): TFLite Micro's kernel refuses a coupled input "
            "and forget gate")
    for k in range(W_IN, W_REC + 4):
        require(op, ins[k] is not None, f"weights input {k} is missing (TFLite Micro requires all eight)")
    for k in range(BIAS, BIAS + 4):
        require(op, ins[k] is not None, f"bias input {k} is missing (TFLite Micro requires all four)")
    for k, t in ((HIDDEN, h), (CELL, c)):
        role = "output state (input 18)" if k == HIDDEN else "cell state (input 19)"
        require(op, t is not None, f"the {role} is missing")
        require(op, t.variable, f"the {role} '{t.name}' must be a variable tensor (TFLite Micro requires it)")
    dtype_in(op, h, "output state (input 18)", (x.dtype,))
    dtype_in(op, y, "output", (x.dtype,))
    require(op, len(h.shape) >= 2, f"the output state must be [batches, n_cell], got {h.shape}")
    s = _sizes(op, g)
    nb, ni, nc = s["batches"], s["n_input"], s["n_cell"]
    ws = ins[W_IN:W_REC + 4]
    for k, w in enumerate(ws, W_IN):
        want = [nc, ni] if k < W_REC else [nc, nc]
        require(op, w.is_const, f"weights input {k} '{w.name}' must be a constant tensor")
        require(op, list(w.shape) == want, f"weights input {k} '{w.name}' must be {want}, got {w.shape}")
        dtype_in(op, w, f"weights input {k}", (ws[1].dtype,))
    for k in range(BIAS, BIAS + 4):
        b = ins[k]
        require(op, b.is_const, f"bias input {k} '{b.name}' must be a constant tensor")
        require(op, list(b.shape) == [nc], f"bias input {k} '{b.name}' must be [{nc}], got {b.shape}")
        dtype_in(op, b, f"bias input {k}", (ins[BIAS + 1].dtype,))
    require(op, h.size == nb * nc and c.size == nb * nc,
            f"the states must hold batches x n_cell = {nb * nc} values (have {h.size} and {c.size})")
    require(op, len(y.shape) == 3 and y.shape[:2] == x.shape[:2] and y.shape[2] == nc,
            f"output must be {x.shape[:2] + [nc]}, got {y.shape}")
    act = op.options.get("fused_activation_function", 0)
    require(op, act == TANH, f"cell gate activation {ACTIVATIONS.get(act, act)} is not supported: TFLite Micro "
            "computes only TANH there (it asserts on any other)")
    if x.dtype == "float32":
        dtype_in(op, ws[0], "weights", ("float32",))  # TFLite Micro would read int8 weights as float
        dtype_in(op, ins[BIAS], "bias", ("float32",))
        dtype_in(op, c, "cell state (input 19)", ("float32",))
        return
    dtype_in(op, ws[0], "weights", ("int8",))
    dtype_in(op, ins[BIAS], "bias", ("int32",) if x.dtype == "int8" else ("int64",))
    dtype_in(op, c, "cell state (input 19)", ("int16",))
    quantized(op, x, "input")
    quantized(op, h, "output state (input 18)")
    quantized(op, c, "cell state (input 19)")
    for k, w in enumerate(ws, W_IN):
        require(op, not w.int4, f"weights input {k} '{w.name}' is INT4: TFLite Micro's LSTM takes int8 weights only")
        quantized(op, w, f"weights input {k}")
        require(op, not w.quant.per_channel, f"weights input {k} '{w.name}' is per-channel quantized: TFLite "
                "Micro's LSTM has one multiplier per weight tensor (its per-channel one is left unset)")
        require(op, w.zero_point == 0, f"weights input {k} '{w.name}' must be symmetric (zero point 0)")
    require(op, c.zero_point == 0, f"the cell state must have zero point 0 (has {c.zero_point}): TFLite Micro "
            "ignores it")
    _, power = checked_log2(c.scale)
    # tanh(cell) rescales by 3 * 2^(12 + power): x * that must stay within int32 (TFLite Micro overflows)
    require(op, power <= 2, f"cell state scale {c.scale:.9g} is too large (above 2^2 TFLite Micro's integer tanh "
            "overflows)")
    if x.dtype == "int16":  # TFLite's 64-bit MultiplyByQuantizedMultiplier takes shifts below 8 only
        for m, shift in _gate_multipliers(op, g):
            require(op, m == 0 or shift < 8, "a gate's FC rescaling is out of range: input scale x weight scale "
                    "/ 2^-12 must stay below 128")
    require_sigmoid_table(op)


def _gate_multipliers(op, g):
    """(multiplier, shift) of the input FC then the recurrent FC of each gate (input, forget, cell, output)."""
    ins = g.op_inputs(op)
    x, h = ins[INPUT], ins[HIDDEN]
    out = []
    for k in range(4):
        out.append(qm.quantize_multiplier(x.scale * ins[W_IN + k].scale / GATE_SCALE))
        out.append(qm.quantize_multiplier(h.scale * ins[W_REC + k].scale / GATE_SCALE))
    return out


def prepare(op, g):
    ins = g.op_inputs(op)
    x, h, c = ins[INPUT], ins[HIDDEN], ins[CELL]
    s = _sizes(op, g)
    nb, ns, ni, nc = s["batches"], s["steps"], s["n_input"], s["n_cell"]
    clip = float(op.options.get("cell_clip", 0.0) or 0.0)
    p = dict(dims=s, cell_clip=clip)
    op.macs = nb * ns * (4 * nc * (ni + nc) + 3 * nc)
    # float: 4 gates of n floats; int8: 4 gates of n int16 and 4 n int32 sums; int16: 5 n int16
    op.scratch_bytes = {"float32": 16 * nc, "int8": 24 * nc, "int16": (10 * nc + 3) // 4 * 4}[x.dtype]
    if x.dtype != "float32":
        mults = _gate_multipliers(op, g)
        p["mult_in"] = [mults[2 * k][0] for k in range(4)]
        p["shift_in"] = [mults[2 * k][1] for k in range(4)]
        p["mult_rec"] = [mults[2 * k + 1][0] for k in range(4)]
        p["shift_rec"] = [mults[2 * k + 1][1] for k in range(4)]
        # the products of a sigmoid gate (0..32767) and an int16: |a b| <= 32767 * 32768
        product = 32767 * 32768
        p["forget"] = qm.rescaling(*qm.quantize_multiplier(ACT_SCALE * c.scale / c.scale), 0, product)
        p["input"] = qm.rescaling(*qm.quantize_multiplier(ACT_SCALE * ACT_SCALE / c.scale), 0, product)
        p["hidden"] = qm.rescaling(*qm.quantize_multiplier(ACT_SCALE * ACT_SCALE / h.scale), h.zero_point,
                                   product)
        p["hidden_range"] = qm.int_range(h.dtype)
        # TFLite: static_cast<int16_t>(min(max(clip / scale, -32768), 32767)), a truncation
        # (a clip under one step quantizes to 0, and TFLite Micro then clips every cell to 0); -1: none
        p["qclip"] = int(min(max(clip / c.scale, -32768.0), 32767.0)) if clip > 0 else -1
        _, power = checked_log2(c.scale)
        left = 12 + power  # (15 + power) - 3
        p["tanh"] = (3, -left) if left < 0 else (3 << left, 0)
        p["in_zp"], p["h_zp"] = x.zero_point, h.zero_point
        if x.dtype == "int8":  # the zero points folded into int32 biases: sum(w (x - zp)) = sum(w x) - zp sum(w)
            p["b_in"] = [wrap_int32(ins[BIAS + k].data.astype(np.int64)
                                    - x.zero_point * ins[W_IN + k].data.astype(np.int64).sum(axis=1))
                         for k in range(4)]
            p["b_rec"] = [wrap_int32(-h.zero_point * ins[W_REC + k].data.astype(np.int64).sum(axis=1))
                          if h.zero_point else None for k in range(4)]
            for what, first, bias in (("rq_in", W_IN, p["b_in"]), ("rq_rec", W_REC, p["b_rec"])):
                p[what] = []
                for k in range(4):
                    wsum = np.abs(ins[first + k].data.astype(np.int64)).sum(axis=1)
                    bound = int(qm.accumulator_bounds(bias[k] if bias[k] is not None else 0, wsum).max())
                    p[what].append(qm.rescaling(*mults[2 * k + (first == W_REC)], 0, bound))
    op.params = p


def _dims(p) -> str:
    d = p["dims"]
    return f"{{{d['batches']}, {d['steps']}, {d['n_input']}, {d['n_cell']}, {d['time_major']}}}"


def _ints(v) -> str:
    return "{" + ", ".join(str(int(a)) for a in v) + "}"


def emit(op, g, c):
    ins = g.op_inputs(op)
    x, h, cell = ins[INPUT], ins[HIDDEN], ins[CELL]
    (y,) = g.op_outputs(op)
    p = op.params
    if x.dtype == "int16":  # kiln_fully_connected_s16's layout
        w_in = ", ".join(packed_s16(c, op, f"{GATES[k]}_weights", ins[W_IN + k].data) for k in range(4))
        w_rec = ", ".join(packed_s16(c, op, f"{GATES[k]}_recurrent_weights", ins[W_REC + k].data) for k in range(4))
    else:
        w_in = ", ".join(c.const(ins[W_IN + k]) for k in range(4))
        w_rec = ", ".join(c.const(ins[W_REC + k]) for k in range(4))
    head = [f"    {_dims(p)} /* batches, steps, n_input, n_cell, time_major */,",
            f"    {{{w_in}}} /* input weights: input, forget, cell, output gates */,",
            f"    {{{w_rec}}} /* recurrent weights */,"]
    if x.dtype == "float32":
        bias = ", ".join(c.const(ins[BIAS + k]) for k in range(4))
        return ["static const kiln_lstm_f32_params_t params = {", *head,
                f"    {{{bias}}}, {c.f32(p['cell_clip'])} /* biases, cell clip */",
                "};",
                f"kiln_lstm_f32({c.ptr(x)}, {c.ptr(y)}, {c.ptr(h)}, {c.ptr(cell)}, &params, "
                f"(float *)(void *){c.scratch(op)});"]
    if x.dtype == "int8":
        packed = [c.array(f"op{op.index}_{what}_weights",
                          pack_weights(np.concatenate([ins[first + k].data for k in range(4)])), "int8_t",
                          f"the {what} weights of the input, forget, cell and output gates, packed for kiln_fc_s8_acc")
                  for what, first in (("input", W_IN), ("recurrent", W_REC))]
        bias_in = c.array(f"op{op.index}_input_bias", np.concatenate(p["b_in"]).astype(np.int32), "int32_t",
                          "the gates' biases with the input zero point folded in")
        bias_rec = "NULL" if p["b_rec"][0] is None else c.array(
            f"op{op.index}_recurrent_bias", np.concatenate(p["b_rec"]).astype(np.int32), "int32_t",
            "-(output state zero point) x the sum of each recurrent row")
        head = [head[0], "    {NULL}, {NULL}, {NULL}, {NULL} /* (the s16 kernel's weights and biases) */,",
                f"    {packed[0]}, {packed[1]}, {bias_in}, {bias_rec} /* packed weights, biases */,"]
    else:
        b_in = ", ".join(c.const(ins[BIAS + k]) for k in range(4))
        head += [f"    {{{b_in}}} /* biases */,", "    {NULL, NULL, NULL, NULL} /* recurrent biases */,",
                 "    NULL, NULL, NULL, NULL /* (the s8 kernel's packed weights and biases) */,"]
    lit = qm.rescaling_literal
    if x.dtype == "int8":
        rq_lines = [f"    {{{', '.join(lit(r) for r in p[what])}}} /* {label} FCs' rescaling to 2^-12 */,"
                    for what, label in (("rq_in", "input"), ("rq_rec", "recurrent"))]
    else:
        unused = "{" + ", ".join(["{{0, 0, 0}, 0}"] * 4) + "}"
        rq_lines = [f"    {unused}, {unused} /* (the s8 kernel's rescaling) */,"]
    table = c.array(f"op{op.index}_sigmoid", sigmoid_table(), "uint16_t",
                    "sigmoid(i/24) in Q0.16, i = 0..255: TFLite Micro's own table, read from it at compile time")
    lo, hi = p["hidden_range"]
    fn = "s8" if x.dtype == "int8" else "s16"
    return ["static const kiln_lstm_q_params_t params = {", *head,
            f"    {_ints(p['mult_in'])}, {_ints(p['shift_in'])} /* input FCs: multipliers, shifts (to 2^-12) */,",
            f"    {_ints(p['mult_rec'])}, {_ints(p['shift_rec'])} /* recurrent FCs */,",
            f"    {p['in_zp']}, {p['h_zp']} /* input and output state zero points */,",
            *rq_lines,
            f"    {lit(p['forget'])}, {lit(p['input'])} /* forget x cell, input x cell gate */,",
            f"    {lit(p['hidden'])}, {lo}, {hi} /* tanh(cell) x output -> hidden, its range */,",
            f"    {p['qclip']}, {p['tanh'][0]}, {p['tanh'][1]}, {table} /* cell clip, tanh(cell) rescaling, table */",
            "};",
            f"kiln_lstm_{fn}({c.ptr(x)}, {c.ptr(y)}, {c.ptr(h)}, {c.ptr(cell)}, &params, "
            f"(int16_t *)(void *){c.scratch(op)});"]


register("UNIDIRECTIONAL_SEQUENCE_LSTM", check, prepare, emit, types=("int8", "int16", "float32"),
         notes="TFLite Micro's standard LSTM: time-major or batch-major, cell clip, TANH cell gate; int8 or int16 "
               "activations with int8 per-tensor weights and an int16 cell state; no CIFG, peephole, projection or "
               "layer norm (TFLite Micro refuses them); the output and cell states are variable tensors")
