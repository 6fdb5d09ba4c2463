"""Every supported operator and option, on small generated models, against TFLite Micro."""
from __future__ import annotations

import numpy as np
import pytest

import modelgen as mg
from harness import assert_match, compile_and_run

RECORDS = 20


def check(model: mg.GeneratedModel, tmp_path, seed=0, extra_records=()):
    rng = np.random.default_rng(seed)
    records = [list(r) for r in extra_records] + [model.random_inputs(rng) for _ in range(RECORDS)]
    pair = compile_and_run(model.data, records, tmp_path)
    assert_match(pair, model.description)
    outs = np.stack([r[0].astype(np.float64).reshape(-1) for r in pair.ours])
    assert np.ptp(outs) > 0, f"{model.description}: output is constant, the test would prove nothing"
    return pair


FC_CASES = [
    dict(dtype=dt, per_channel=pc, bias=b, activation=act, keep_num_dims=k, input_rank=r, batch=bt)
    for dt in ("int8", "float32")
    for pc in ((True, False) if dt == "int8" else (False,))
    for b in (True, False)
    for act in ("NONE", "RELU", "RELU6")
    for (k, r, bt) in ((False, 2, 1), (True, 3, 2))
]


@pytest.mark.parametrize("case", FC_CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_fully_connected(case, tmp_path):
    check(mg.fully_connected(11, in_features=20, out_features=7, **case), tmp_path)


def test_fully_connected_large_depth(tmp_path):
    check(mg.fully_connected(3, in_features=300, out_features=33, batch=3), tmp_path)


BROADCASTS = [((1, 4, 4, 3), (1, 4, 4, 3)), ((1, 4, 4, 3), (3,)), ((2, 3), (1, 3)), ((2, 1, 5), (1, 4, 1)),
              ((1, 8), (1,)), ((3, 1, 2, 1, 2), (1, 2, 1, 3, 1))]


@pytest.mark.parametrize("kind", ["ADD", "MUL"])
@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("shapes", BROADCASTS, ids=lambda s: f"{s[0]}+{s[1]}")
def test_elementwise_broadcast(kind, dtype, shapes, tmp_path):
    check(mg.elementwise(5, kind=kind, dtype=dtype, shape_a=shapes[0], shape_b=shapes[1]), tmp_path)


@pytest.mark.parametrize("kind", ["ADD", "MUL"])
@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("activation", ["RELU", "RELU6"])
def test_elementwise_fused_activation(kind, dtype, activation, tmp_path):
    check(mg.elementwise(6, kind=kind, dtype=dtype, activation=activation), tmp_path)


@pytest.mark.parametrize("kind", ["ADD", "MUL"])
def test_elementwise_constant_operand(kind, tmp_path):
    check(mg.elementwise(8, kind=kind, dtype="int8", shape_b=(1, 4, 4, 3), const_b=True), tmp_path)


def all_int8_values(model):
    """A record whose first input holds every int8 value, so a lookup table is checked whole."""
    info = model.inputs[0]
    values = np.resize(np.arange(-128, 128, dtype=np.int8), int(np.prod(info.shape))).reshape(info.shape)
    return [[values]]


@pytest.mark.parametrize("kind", ["RELU", "RELU6", "LOGISTIC", "TANH"])
@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_unary(kind, dtype, seed, tmp_path):
    model = mg.unary(seed, kind=kind, dtype=dtype, shape=(1, 16, 16, 1))
    check(model, tmp_path, extra_records=all_int8_values(model) if dtype == "int8" else ())


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("shape,beta", [((1, 10), 1.0), ((3, 7), 0.5), ((2, 2, 33), 2.0), ((1, 256), 1.0)])
def test_softmax(dtype, shape, beta, tmp_path):
    check(mg.softmax(4, dtype=dtype, shape=shape, beta=beta), tmp_path)


@pytest.mark.parametrize("in_dtype", ["float32", "int8"])
@pytest.mark.parametrize("seed", [1, 2])
def test_quantize(in_dtype, seed, tmp_path):
    model = mg.quantize(seed, in_dtype=in_dtype, out_dtype="int8", shape=(1, 256))
    check(model, tmp_path, extra_records=all_int8_values(model) if in_dtype == "int8" else ())


def test_dequantize(tmp_path):
    model = mg.dequantize(2, shape=(1, 256))
    check(model, tmp_path, extra_records=all_int8_values(model))


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("form", ["option", "tensor"])
def test_reshape(dtype, form, tmp_path):
    check(mg.reshape(3, dtype=dtype, in_shape=(1, 4, 4, 3), out_shape=(1, 48), form=form), tmp_path)


@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_fc_softmax_chain(dtype, tmp_path):
    check(mg.fc_softmax(9, dtype=dtype), tmp_path)


def test_quantize_fc_dequantize(tmp_path):
    check(mg.quantized_fc_float_io(10), tmp_path)
