"""UNIDIRECTIONAL_SEQUENCE_LSTM against TFLite Micro: float32, int8 activations with an int16 cell
state (8x8_16) and int16 activations (16x8), time-major and batch-major, one and two batches, cell
clipping. The hidden and cell states are variable tensors that both keep between invocations, so
every check runs a sequence of 20 invocations through one Kiln program and one TFLite Micro
interpreter: any difference in the state shows up in the later outputs."""
from __future__ import annotations

import numpy as np
import pytest

from harness import check_on_qemu_m4
from opgen import T, assert_rejected, check, check_toolchain, model, random_records

KIND = "UNIDIRECTIONAL_SEQUENCE_LSTM"
CELL_SCALE = 2.0 ** -11


def lstm(dtype="int8", batches=2, steps=3, n_in=5, n_cell=4, time_major=False, cell_clip=0.0, seed=0,
         cell_scale=CELL_SCALE, in_zp=5, h_zp=-3, act=4, w_scale=0.01, h_range=1.0, **change):
    """(inputs, outputs, options) of an LSTM with random weights of a useful range; `change` replaces
    inputs by position (e.g. {"i9": T(...)} adds a peephole)."""
    rng = np.random.default_rng(seed)
    shape = [steps, batches, n_in] if time_major else [batches, steps, n_in]
    oshape = [steps, batches, n_cell] if time_major else [batches, steps, n_cell]

    def weights(rows, cols):
        if dtype == "float32":
            lim = 60 * w_scale
            return T([rows, cols], data=rng.uniform(-lim, lim, [rows, cols]).astype(np.float32))
        return T([rows, cols], "int8", w_scale, 0, data=rng.integers(-127, 128, [rows, cols]).astype(np.int8))

    if dtype == "float32":
        x, h, c = T(shape), T([batches, n_cell], variable=True), T([batches, n_cell], variable=True)
        y = T(oshape)
        biases = [T([n_cell], data=rng.uniform(-0.5, 0.5, n_cell).astype(np.float32)) for _ in range(4)]
    else:
        if dtype == "int8":
            in_s, h_s = 1.0 / 128, h_range / 128
        else:
            in_s, h_s, in_zp, h_zp = 1.0 / 32768, h_range / 32768, 0, 0
        x = T(shape, dtype, in_s, in_zp)
        h = T([batches, n_cell], dtype, h_s, h_zp, variable=True)
        c = T([batches, n_cell], "int16", cell_scale, 0, variable=True)
        y = T(oshape, dtype, h_s, h_zp)
        bt = "int32" if dtype == "int8" else "int64"
        biases = [T([n_cell], bt, data=np.round(rng.uniform(-0.5, 0.5, n_cell) / (in_s * w_scale)).astype(bt))
                  for _ in range(4)]
    ins = [x] + [weights(n_cell, n_in) for _ in range(4)] + [weights(n_cell, n_cell) for _ in range(4)]
    ins += [None] * 3 + biases + [None, None, h, c] + [None] * 4
    for k, t in change.items():
        ins[int(k[1:])] = t
    options = dict(fused_activation_function=act, cell_clip=cell_clip, proj_clip=0.0, time_major=time_major)
    return ins, [y], options


def lstm_model(*args, **kw) -> bytes:
    ins, outs, options = lstm(*args, **kw)
    return model(KIND, ins, outs, **options)


CASES = [  # batches, steps, n_in, n_cell, time_major
    (1, 3, 5, 4, False),
    (2, 3, 5, 4, False),
    (1, 2, 8, 6, True),
    (2, 4, 3, 7, True),
    (2, 1, 9, 5, False),
]


@pytest.mark.parametrize("dtype", ["float32", "int8", "int16"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"b{c[0]}s{c[1]}i{c[2]}n{c[3]}{'-tm' if c[4] else ''}")
def test_lstm(dtype, case, tmp_path):
    b, s, i, n, tm = case
    check(lstm_model(dtype, b, s, i, n, tm, seed=sum(case)), tmp_path, what=f"{dtype} {case}")


@pytest.mark.parametrize("dtype", ["float32", "int8", "int16"])
@pytest.mark.parametrize("time_major", [False, True], ids=["batch-major", "time-major"])
def test_lstm_cell_clip(dtype, time_major, tmp_path):
    """A clip the cell state reaches: large biases drive it up (0.75 is 1536 steps of 2^-11)."""
    check(lstm_model(dtype, 2, 4, 4, 5, time_major, cell_clip=0.75, seed=3), tmp_path, what=f"{dtype} clip")


@pytest.mark.parametrize("dtype", ["int8", "int16"])
@pytest.mark.parametrize("cell_scale", [2.0 ** -15, 2.0 ** -8, 0.0003], ids=["2^-15", "2^-8", "0.0003"])
def test_lstm_cell_scales(dtype, cell_scale, tmp_path):
    """Cell state scales whose tanh shifts right, left, and one not a power of two (TFLite Micro's tanh
    then reads the cell as if at the nearest power of two)."""
    check(lstm_model(dtype, 2, 3, 4, 4, False, seed=5, cell_scale=cell_scale, cell_clip=1.5), tmp_path,
          what=f"{dtype} cell scale {cell_scale}")


@pytest.mark.parametrize("dtype", ["float32", "int8", "int16"])
def test_lstm_saturation(dtype, tmp_path):
    """Large weights: gate inputs beyond the int16 range of 2^-12 (8) and the float sigmoid's cutoffs,
    and a hidden state range of 0.4 that tanh(cell) x output gate exceeds."""
    check(lstm_model(dtype, 2, 3, 9, 6, True, seed=12, w_scale=0.1, h_range=0.4), tmp_path, what=dtype)


@pytest.mark.parametrize("dtype", ["int8", "int16"])
def test_lstm_cell_clip_under_one_step(dtype, tmp_path):
    """A clip below the cell scale quantizes to 0, and TFLite Micro then holds every cell at 0."""
    pair = check(lstm_model(dtype, 1, 3, 4, 4, False, seed=2, cell_clip=0.0001), tmp_path, what=dtype,
                 allow_constant=True)
    zp = -3 if dtype == "int8" else 0  # the output state's zero point: tanh(0) x anything
    assert all((r[0] == zp).all() for r in pair.ours)


def test_lstm_int8_zero_points(tmp_path):
    """int8 with other input and output state zero points (folded into the biases)."""
    check(lstm_model("int8", 2, 3, 6, 5, True, seed=9, in_zp=-100, h_zp=60), tmp_path)


@pytest.mark.parametrize("dtype", ["float32", "int8", "int16"])
def test_lstm_qemu_m4(dtype, tmp_path):
    data = lstm_model(dtype, 2, 3, 9, 6, dtype == "int8", seed=4, cell_clip=2.0)
    check_on_qemu_m4(data, random_records(data, n=12), tmp_path, f"{dtype} LSTM on qemu-m4")


def _rejected(reason, tmp_path, tflm, dtype="int8", **kw):
    ins, outs, options = lstm(dtype, **kw)
    assert_rejected(KIND, ins, outs, reason, tmp_path, tflm=tflm, **options)


def test_lstm_rejects_peephole(tmp_path):
    _rejected("peephole", tmp_path, True, i10=T([4], "int16", 0.01, 0, data=np.ones(4, np.int16)))


def test_lstm_rejects_projection(tmp_path):
    _rejected("projection", tmp_path, True, "float32",
              i16=T([4, 4], data=np.eye(4, dtype=np.float32)))


def test_lstm_rejects_layer_norm(tmp_path):
    _rejected("layer normalization", tmp_path, True, "float32", i21=T([4], data=np.ones(4, np.float32)))


def test_lstm_rejects_cifg(tmp_path):
    _rejected("CIFG", tmp_path, True, "float32", i1=None, i5=None, i12=None)


def test_lstm_rejects_state_not_variable(tmp_path):
    ins, outs, options = lstm("float32")
    ins[18] = T(ins[18].shape, data=np.zeros(ins[18].shape, np.float32))
    assert_rejected(KIND, ins, outs, "must be a variable tensor", tmp_path, tflm=True, **options)


def test_lstm_rejects_int8_cell_state(tmp_path):
    _rejected("cell state (input 19)", tmp_path, True, i19=T([2, 4], "int8", 0.01, 0, variable=True))


def test_lstm_rejects_hybrid(tmp_path):
    """float activations with int8 weights: TFLite Micro reads the weights as float (nonsense)."""
    ins, outs, options = lstm("float32")
    for k in range(1, 9):
        ins[k] = T(ins[k].shape, "int8", 0.01, 0, data=np.ones(ins[k].shape, np.int8))
    assert_rejected(KIND, ins, outs, "FLOAT32", tmp_path, **options)


def test_lstm_rejects_per_channel(tmp_path):
    _rejected("per-channel", tmp_path, False,
              i2=T([4, 5], "int8", [0.01, 0.02, 0.01, 0.02], [0] * 4, data=np.ones([4, 5], np.int8)))


def test_lstm_rejects_other_activation(tmp_path):
    _rejected("cell gate activation RELU", tmp_path, False, act=1)


def test_lstm_rejects_20_inputs(tmp_path):
    ins, outs, options = lstm("float32")
    assert_rejected(KIND, ins[:20], outs, "expects 24 inputs", tmp_path, tflm=True, **options)


@pytest.mark.parametrize("dtype", ["float32", "int8", "int16"])
@pytest.mark.parametrize("toolchain", ["clang", "gcc-asan-ubsan"])
def test_lstm_strict_and_sanitized(dtype, toolchain, tmp_path):
    check_toolchain(lstm_model(dtype, 2, 3, 6, 5, dtype != "int8", seed=8, cell_clip=1.0), toolchain, tmp_path, dtype)
