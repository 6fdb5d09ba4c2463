"""SVDF against TFLite Micro: float32, int8 with an int16 state (the converter's usual output) and
int8 with an int8 state; ranks 1 and 2, one and two batches, memories of 1 and more, with and
without bias. The activation state is a variable tensor that keeps each filter's last `memory`
feature values, so every check runs a sequence of 20 invocations through one Kiln program and one
TFLite Micro interpreter: an output depends on the last `memory` inputs, and a state kept wrong
shows up in the later ones."""
from __future__ import annotations

import numpy as np
import pytest

from harness import Pair, assert_match, check_on_qemu_m4
from kiln import compiler
from kiln.boards import host
from kiln.compiler import oracle
from opgen import T, assert_rejected, check, check_toolchain, model, random_records

KIND = "SVDF"


def svdf(dtype="int8", batches=1, n_in=6, filters=8, rank=2, memory=4, bias=True, seed=0, act=0,
         state="int16", in_zp=3, state_zp=0, out_zp=-2, **change):
    """(inputs, outputs, options) of an SVDF with random weights of a useful range; `change`
    replaces inputs by position (e.g. {"i3": None})."""
    rng = np.random.default_rng(seed)
    units = filters // rank
    if dtype == "float32":
        x, y = T([batches, n_in]), T([batches, units])
        wf = T([filters, n_in], data=rng.uniform(-0.6, 0.6, [filters, n_in]).astype(np.float32))
        wt = T([filters, memory], data=rng.uniform(-0.6, 0.6, [filters, memory]).astype(np.float32))
        b = T([units], data=rng.uniform(-0.5, 0.5, units).astype(np.float32))
        s = T([batches, memory * filters], variable=True)
    else:
        x = T([batches, n_in], "int8", 1 / 128, in_zp)
        wf = T([filters, n_in], "int8", 0.01, 0, data=rng.integers(-127, 128, [filters, n_in]).astype(np.int8))
        if state == "int16":  # the feature FC reaches about +-n_in x 1.27: a state of +-16
            s_scale, wt_scale = 16 / 32768, 2.0 ** -15
            wt = T([filters, memory], "int16", wt_scale, 0,
                   data=rng.integers(-20000, 20000, [filters, memory]).astype(np.int16))
        else:
            s_scale, wt_scale = 0.06, 0.01
            wt = T([filters, memory], "int8", wt_scale, 0,
                   data=rng.integers(-127, 128, [filters, memory]).astype(np.int8))
        s = T([batches, memory * filters], state, s_scale, state_zp, variable=True)
        b_scale = float(np.float32(s_scale) * np.float32(wt_scale))
        b = T([units], "int32", b_scale, 0, data=np.round(rng.uniform(-0.5, 0.5, units) / b_scale).astype(np.int32))
        out_range = rank * memory * 0.6 * 8 / 2 + 0.5
        y = T([batches, units], "int8", out_range / 128, out_zp)
    ins = [x, wf, wt, b if bias else None, s]
    for k, t in change.items():
        ins[int(k[1:])] = t
    return ins, [y], dict(rank=rank, fused_activation_function=act)


def svdf_model(*args, **kw) -> bytes:
    ins, outs, options = svdf(*args, **kw)
    return model(KIND, ins, outs, **options)


CASES = [  # batches, n_in, filters, rank, memory
    (1, 6, 8, 2, 4),
    (2, 5, 6, 1, 3),
    (1, 9, 12, 3, 1),
    (2, 16, 16, 1, 8),
    (1, 3, 4, 4, 5),
]


@pytest.mark.parametrize("dtype,state", [("float32", "float32"), ("int8", "int16"), ("int8", "int8")],
                         ids=["float32", "int8-int16state", "int8-int8state"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"b{c[0]}i{c[1]}f{c[2]}r{c[3]}m{c[4]}")
def test_svdf(dtype, state, case, tmp_path):
    b, i, f, r, m = case
    check(svdf_model(dtype, b, i, f, r, m, seed=sum(case), state=state), tmp_path, what=f"{dtype} {state} {case}")


@pytest.mark.parametrize("act", [0, 1, 2, 3, 4, 5], ids=["NONE", "RELU", "RELU_N1_TO_1", "RELU6", "TANH", "SIGN_BIT"])
def test_svdf_float_activations(act, tmp_path):
    check(svdf_model("float32", 2, 5, 6, 2, 3, seed=act, act=act), tmp_path, what=f"activation {act}")


@pytest.mark.parametrize("dtype", ["float32", "int8"])
def test_svdf_without_bias(dtype, tmp_path):
    """The bias is optional in the schema, but TFLite Micro crashes preparing an SVDF without one: so
    Kiln's output for the model without it is compared with TFLite Micro's for the same model with a
    zero bias."""
    ins, outs, options = svdf(dtype, 1, 6, 8, 2, 4, seed=4)
    ins[3] = T(ins[3].shape, ins[3].dtype, ins[3].scale, ins[3].zero_point, data=np.zeros_like(ins[3].data))
    zero_bias = tmp_path / "zero_bias.tflite"
    zero_bias.write_bytes(model(KIND, ins, outs, **options))
    ins[3] = None
    no_bias = tmp_path / "no_bias.tflite"
    no_bias.write_bytes(model(KIND, ins, outs, **options))
    c = compiler.compile_model(no_bias)
    compiler.write(c, tmp_path / "src")
    records = random_records(no_bias.read_bytes())
    ours = host.run(host.build(tmp_path / "src", c.name, tmp_path / "build"), c.graph, records).outputs
    assert_match(Pair(ours, oracle.run_tflm(zero_bias, records, 1), c), dtype)


def test_svdf_int8_ignores_activation(tmp_path):
    """TFLite Micro's int8 kernel leaves the fused activation out: RELU still gives negative outputs."""
    pair = check(svdf_model("int8", 1, 6, 8, 2, 4, seed=2, act=1, out_zp=0), tmp_path)
    assert any((r[0] < 0).any() for r in pair.ours)


@pytest.mark.parametrize("state", ["int16", "int8"])
def test_svdf_zero_points(state, tmp_path):
    """Nonzero input, state and output zero points (the state's folded into a per-filter sum, and a
    reset state holds its zero point, as TFLite Micro resets it)."""
    check(svdf_model("int8", 2, 7, 6, 2, 5, seed=11, state=state, in_zp=-90, state_zp=5 if state == "int8" else 0,
                     out_zp=40), tmp_path, what=state)


def test_svdf_int8_state_wraps(tmp_path):
    """An int8 state with a large zero point: TFLite Micro stores clamp(feature) + zero point, which
    wraps past 127; so does Kiln."""
    check(svdf_model("int8", 1, 8, 8, 1, 3, seed=6, state="int8", state_zp=100), tmp_path)


@pytest.mark.parametrize("dtype,state", [("float32", "float32"), ("int8", "int16"), ("int8", "int8")],
                         ids=["float32", "int8-int16state", "int8-int8state"])
def test_svdf_qemu_m4(dtype, state, tmp_path):
    data = svdf_model(dtype, 2, 13, 12, 3, 7, seed=5, state=state)
    check_on_qemu_m4(data, random_records(data, n=12), tmp_path, f"{dtype} {state} SVDF on qemu-m4")


def _rejected(reason, tmp_path, tflm, dtype="int8", **kw):
    ins, outs, options = svdf(dtype, **kw)
    assert_rejected(KIND, ins, outs, reason, tmp_path, tflm=tflm, **options)


def test_svdf_rejects_state_not_variable(tmp_path):
    ins, outs, options = svdf("float32")
    ins[4] = T(ins[4].shape, data=np.zeros(ins[4].shape, np.float32))
    assert_rejected(KIND, ins, outs, "must be a variable tensor", tmp_path, tflm=True, **options)


def test_svdf_rejects_rank_not_dividing(tmp_path):
    ins, outs, options = svdf("float32", filters=8, rank=2)
    options["rank"] = 3
    assert_rejected(KIND, ins, outs, "rank 3 must divide the 8 filters", tmp_path, tflm=True, **options)


def test_svdf_rejects_bias_scale(tmp_path):
    ins, outs, options = svdf("int8")
    ins[3] = T(ins[3].shape, "int32", 0.001, 0, data=ins[3].data)
    assert_rejected(KIND, ins, outs, "bias scale", tmp_path, tflm=True, **options)


def test_svdf_rejects_hybrid(tmp_path):
    ins, outs, options = svdf("float32")
    ins[1] = T(ins[1].shape, "int8", 0.01, 0, data=np.ones(ins[1].shape, np.int8))
    assert_rejected(KIND, ins, outs, "weights_feature", tmp_path, tflm=True, **options)


def test_svdf_rejects_mixed_state_types(tmp_path):
    ins, outs, options = svdf("int8", state="int16")
    ins[2] = T(ins[2].shape, "int8", 0.01, 0, data=np.ones(ins[2].shape, np.int8))
    assert_rejected(KIND, ins, outs, "activation state", tmp_path, **options)


def test_svdf_rejects_state_shape(tmp_path):
    ins, outs, options = svdf("float32", memory=4, filters=8)
    ins[4] = T([1, 30], variable=True)
    assert_rejected(KIND, ins, outs, "activation state must be [1, 32]", tmp_path, tflm=True, **options)


@pytest.mark.parametrize("dtype", ["float32", "int8"])
@pytest.mark.parametrize("toolchain", ["clang", "gcc-asan-ubsan"])
def test_svdf_strict_and_sanitized(dtype, toolchain, tmp_path):
    check_toolchain(svdf_model(dtype, 2, 9, 8, 2, 5, seed=8), toolchain, tmp_path, dtype)
