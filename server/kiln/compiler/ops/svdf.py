"""SVDF as TFLite Micro's kernel computes it (svdf.cc, svdf_common.cc): float32, and int8 input and
output with an int16 (or int8) state and time weights.

Inputs: 0 the input [batches, input_size]; 1 weights_feature [filters, input_size]; 2 weights_time
[filters, memory]; 3 the bias [units] (optional; units = filters / rank); 4 the activation state
[batches, memory * filters], a variable tensor updated in place, so it carries each filter's last
`memory` feature values from one invocation to the next. Options: rank, fused_activation_function.

Quantized, as TFLite Micro prepares it: the feature FC rescales by input x feature-weight scale /
state scale and the unit sums by state x time-weight scale / output scale, each computed in float32
and then taken to double (so the multipliers match its to the bit); the bias scale must be the
state scale x time-weight scale. TFLite Micro's int8 kernel applies no fused activation: the output
is only clamped to int8; its float kernel applies it.
"""
from __future__ import annotations

import numpy as np

from .. import quantmath as qm
from .base import ACTIVATIONS, arity, dtype_in, quantized, register, require
from .fully_connected import pack_weights
from .packing import wrap_int32

INPUT, W_FEATURE, W_TIME, BIAS, STATE = range(5)


def _sizes(op, g) -> dict:
    x, wf, wt = (g.tensor(op.inputs[k]) for k in (INPUT, W_FEATURE, W_TIME))
    rank = int(op.options.get("rank", 1) or 0)
    return dict(batches=x.shape[0], input_size=x.shape[1], filters=wf.shape[0], rank=rank, memory=wt.shape[1])


def check(op, g):
    arity(op, 5)
    x, wf, wt, b, s = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    dtype_in(op, x, "input", ("float32", "int8"))
    require(op, len(x.shape) == 2, f"input must be 2-D [batches, input_size], got {x.shape}")
    for t, role in ((wf, "weights_feature (input 1)"), (wt, "weights_time (input 2)")):
        require(op, t is not None and len(t.shape) == 2, f"{role} must be a 2-D tensor")
        require(op, t.is_const, f"{role} '{t.name}' must be a constant tensor")
    require(op, s is not None, "the activation state (input 4) is missing")
    require(op, s.variable, f"the activation state '{s.name}' must be a variable tensor (TFLite Micro requires it)")
    d = _sizes(op, g)
    nb, ni, nf, rank, mem = d["batches"], d["input_size"], d["filters"], d["rank"], d["memory"]
    require(op, rank >= 1 and nf % rank == 0, f"rank {rank} must divide the {nf} filters")
    units = nf // rank
    require(op, wf.shape[1] == ni, f"weights_feature must be [filters, {ni}], got {wf.shape}")
    require(op, wt.shape[0] == nf, f"weights_time must be [{nf}, memory], got {wt.shape}")
    require(op, mem >= 1, "weights_time has no memory (0 columns)")
    require(op, list(y.shape) == [nb, units], f"output must be [{nb}, {units}], got {y.shape}")
    require(op, list(s.shape) == [nb, mem * nf], f"the activation state must be [{nb}, {mem * nf}] (batches, memory "
            f"x filters), got {s.shape}")
    if b is not None:
        require(op, b.is_const, f"bias '{b.name}' must be a constant tensor")
        require(op, b.shape[:1] == [units], f"bias must be [{units}], got {b.shape}")
    act = ACTIVATIONS.get(op.options.get("fused_activation_function", 0))
    require(op, act is not None, f"unknown fused activation {op.options.get('fused_activation_function')}")
    if x.dtype == "float32":
        for t, role in ((wf, "weights_feature"), (wt, "weights_time"), (s, "activation state"), (b, "bias"),
                        (y, "output")):
            if t is not None:
                dtype_in(op, t, role, ("float32",))  # int8 weights with float input: the hybrid path TFLite Micro lacks
        return
    dtype_in(op, wf, "weights_feature", ("int8",))
    dtype_in(op, wt, "weights_time", ("int16", "int8"))
    dtype_in(op, s, "activation state", (wt.dtype,))  # TFLite Micro reads both as the state's type
    dtype_in(op, y, "output", ("int8",))
    for t, role in ((x, "input"), (wf, "weights_feature"), (wt, "weights_time"), (s, "activation state"),
                    (y, "output")):
        quantized(op, t, role)
    require(op, not wf.int4, "weights_feature is INT4: TFLite Micro's SVDF takes int8 weights only")
    if b is not None:
        dtype_in(op, b, "bias", ("int32",))
        require(op, b.quant is not None and abs(float(b.scale) - qm.f32(s.scale * wt.scale)) < 1e-5,
                f"bias scale {b.scale if b.quant is not None else None} must equal state scale x time-weight "
                f"scale ({qm.f32(s.scale * wt.scale):.9g}), as TFLite Micro requires")


def _row_sums(w: np.ndarray) -> np.ndarray:
    return w.astype(np.int64).reshape(w.shape[0], -1).sum(axis=1)


def prepare(op, g):
    x, wf, wt, b, s = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    d = _sizes(op, g)
    p = dict(dims=d, act=int(op.options.get("fused_activation_function", 0)))
    op.macs = d["batches"] * d["filters"] * (d["input_size"] + d["memory"])
    if x.dtype == "float32":
        op.params = p
        return
    op.scratch_bytes = 4 * d["filters"]
    # TFLite Micro: static_cast<double>(float * float / float)
    scale1 = qm.f32(qm.f32(x.scale * wf.scale) / s.scale)
    scale2 = qm.f32(qm.f32(s.scale * wt.scale) / y.scale)
    p["feature_bias"] = wrap_int32(-x.zero_point * _row_sums(wf.data))
    bound = qm.accumulator_bounds(p["feature_bias"], np.abs(wf.data.astype(np.int64)).sum(axis=1)).max()
    p["feature_rq"] = qm.rescaling(*qm.quantize_multiplier(scale1), 0, int(bound))
    p["time_bias"] = wrap_int32(-s.zero_point * _row_sums(wt.data)) if s.zero_point else None
    peak = 128 if wt.dtype == "int8" else 32768
    per_filter = peak * np.abs(wt.data.astype(np.int64)).sum(axis=1)
    if p["time_bias"] is not None:
        per_filter = per_filter + np.abs(p["time_bias"].astype(np.int64))
    per_unit = per_filter.reshape(-1, d["rank"]).sum(axis=1) + (np.abs(b.data.astype(np.int64)) if b is not None else 0)
    p["out_rq"] = qm.rescaling(*qm.quantize_multiplier(scale2), y.zero_point, int(per_unit.max()))
    p["state_zp"] = s.zero_point
    p["packed"] = pack_weights(wf.data)
    op.params = p


def _dims(d: dict) -> str:
    return (f"{{{d['batches']}, {d['input_size']}, {d['filters']}, {d['rank']}, {d['memory']}}}"
            " /* batches, input_size, filters, rank, memory */")


def emit(op, g, c):
    x, wf, wt, b, s = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    p = op.params
    if x.dtype == "float32":
        bias = c.const(b) if b is not None else "NULL"
        act = ACTIVATIONS[p["act"]]
        return ["static const kiln_svdf_f32_params_t params = {",
                f"    {_dims(p['dims'])},",
                f"    {c.const(wf)}, {c.const(wt)}, {bias}, {p['act']} /* weights_feature, weights_time, bias, {act} */",
                "};",
                f"kiln_svdf_f32({c.ptr(x)}, {c.ptr(s)}, {c.ptr(y)}, &params);"]
    packed = c.array(f"op{op.index}_feature_weights", p["packed"], "int8_t",
                     "weights_feature packed for kiln_fc_s8_acc (rows in groups of four)")
    fbias = c.array(f"op{op.index}_feature_bias", p["feature_bias"], "int32_t",
                    "-(input zero point) x the sum of each weights_feature row")
    tbias = "NULL" if p["time_bias"] is None else c.array(
        f"op{op.index}_time_bias", p["time_bias"], "int32_t", "-(state zero point) x the sum of each weights_time row")
    rq = [qm.rescaling_literal(p["feature_rq"]), qm.rescaling_literal(p["out_rq"])]
    fn = "kiln_svdf_s8" if wt.dtype == "int16" else "kiln_svdf_s8_state8"
    return ["static const kiln_svdf_q_params_t params = {",
            f"    {_dims(p['dims'])},",
            f"    {packed}, {fbias},",
            f"    {c.const(wt)}, {tbias}, {c.const(b) if b is not None else 'NULL'} /* weights_time, its zero-point "
            "term, bias */,",
            f"    {rq[0]} /* feature FC -> state: {'kiln_rq' if p['feature_rq'][1] else 'TFLite exact'} */,",
            f"    {rq[1]} /* unit sums -> output: {'kiln_rq' if p['out_rq'][1] else 'TFLite exact'} */,",
            f"    {p['state_zp']} /* state zero point */",
            "};",
            f"{fn}({c.ptr(x)}, {c.ptr(s)}, {c.ptr(y)}, &params, (int32_t *)(void *){c.scratch(op)});"]


register("SVDF", check, prepare, emit, types=("int8", "float32"),
         notes="rank >= 1, optional bias; float32, or int8 input and output with an int16 (or int8) state and time "
               "weights; the activation state is a variable tensor (kept between invocations); the int8 output gets "
               "no fused activation, as in TFLite Micro")
