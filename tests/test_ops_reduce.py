"""Reductions (ops/reduce.py, ops/mean.py) against TFLite Micro: any axes (negative, repeated),
keep_dims on and off, every type each takes."""
from __future__ import annotations

import numpy as np
import pytest

from kiln import compiler
from kiln.errors import UnsupportedError
from opgen import T, assert_rejected, calibrate, check, model

CASES = [((6,), (0,)), ((3, 4), (1,)), ((3, 4), (0, -1)), ((2, 3, 4), (0, 2)), ((2, 3, 4, 5), (1, 2)),
         ((2, 3, 4, 5), (-1, 1, 1)), ((1, 2, 1, 3, 2), (0, 3))]


def reduced(shape, axes, keep):
    ax = {a % len(shape) for a in axes}
    return [1 if k in ax else n for k, n in enumerate(shape)] if keep else [n for k, n in enumerate(shape) if k not in ax]


def axes_t(axes):
    return T([len(axes)], "int32", data=np.array(axes, np.int32))


@pytest.mark.parametrize("kind", ["MEAN", "SUM"])
@pytest.mark.parametrize("dtype", ["int8", "int16", "float32"])
@pytest.mark.parametrize("shape,axes", CASES, ids=lambda v: "x".join(map(str, v)))
@pytest.mark.parametrize("keep", [False, True])
def test_mean_sum(kind, dtype, shape, axes, keep, tmp_path):
    out = reduced(shape, axes, keep)
    if dtype == "float32":
        ins, outs = [T(list(shape)), axes_t(axes)], [T(out)]
    else:
        q = (0.05, 4) if dtype == "int8" else (0.002, 0)
        ins = [T(list(shape), dtype, *q), axes_t(axes)]
        outs = calibrate(kind, ins, [T(out, dtype)], keep_dims=keep)
    check(model(kind, ins, outs, keep_dims=keep), tmp_path)


@pytest.mark.parametrize("kind", ["REDUCE_MAX", "REDUCE_MIN"])
@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("shape,axes", CASES[::2], ids=lambda v: "x".join(map(str, v)))
@pytest.mark.parametrize("keep", [False, True])
def test_reduce_max_min(kind, dtype, shape, axes, keep, tmp_path):
    q = (0.05, 4) if dtype == "int8" else (None, None)
    out = reduced(shape, axes, keep)
    check(model(kind, [T(list(shape), dtype, *q), axes_t(axes)], [T(out, dtype, *q)], keep_dims=keep), tmp_path)


@pytest.mark.parametrize("kind", ["ARG_MAX", "ARG_MIN"])
@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("shape,axis", [((7,), 0), ((3, 5), 1), ((3, 5), -2), ((2, 3, 4, 2), 2)])
def test_arg_max_min(kind, dtype, shape, axis, tmp_path):
    q = (0.05, 4) if dtype == "int8" else (None, None)
    out = [n for k, n in enumerate(shape) if k != axis % len(shape)]
    gen = {0: lambda r: r.integers(-3, 4, shape).astype(np.int8 if dtype == "int8" else np.float32)}  # ties
    check(model(kind, [T(list(shape), dtype, *q), axes_t([axis])], [T(out or [1], "int32")], output_type=2), tmp_path,
          gen=gen, allow_constant=len(shape) == 1 and False)


@pytest.mark.parametrize("kind,ins,outs,options,reason", [
    ("REDUCE_MAX", [T([3, 4], "int8", 0.1, 0), axes_t([1])], [T([3], "int8", 0.2, 0)], {}, "share their quantization"),
    ("SUM", [T([3, 4], "int32"), axes_t([1])], [T([3], "int32")], {}, "has type INT32"),
    ("ARG_MAX", [T([3, 4]), axes_t([])], [T([3], "int32")], {"output_type": 2}, "needs one axis"),
    ("MEAN", [T([3, 4]), axes_t([2])], [T([3])], {}, "out of range"),
    ("L2_NORMALIZATION", [T([1, 1, 2, 2, 3])], [T([1, 1, 2, 2, 3])], {}, "above TFLite Micro's 4"),
])
def test_rejected_like_tflm(kind, ins, outs, options, reason, tmp_path):
    assert_rejected(kind, ins, outs, reason, tmp_path, **options)


@pytest.mark.parametrize("shape", [(5,), (3, 7), (2, 3, 4)])
def test_l2_normalization(shape, tmp_path):
    check(model("L2_NORMALIZATION", [T(list(shape))], [T(list(shape))]), tmp_path)


@pytest.mark.parametrize("shape", [(5,), (3, 7), (2, 3, 4), (2, 1, 3, 64)])
@pytest.mark.parametrize("zp", [0, -37])
def test_l2_normalization_int8(shape, zp, tmp_path):
    # the output in units of 1/128 (zero point 0), as TFLite's converter writes it
    check(model("L2_NORMALIZATION", [T(list(shape), "int8", 0.05, zp)], [T(list(shape), "int8", 1 / 128, 0)]), tmp_path)


def test_l2_normalization_int8_long_rows(tmp_path):
    """A sum of squares above 2^29 (TFLite's inverse square root divides it by 4 until it is not)."""
    gen = {0: lambda r: r.choice(np.array([-128, 127], np.int8), (2, 40000))}
    check(model("L2_NORMALIZATION", [T([2, 40000], "int8", 0.05, 0)], [T([2, 40000], "int8", 1 / 128, 0)]), tmp_path,
          gen=gen)


def test_l2_normalization_int8_constant_rows(tmp_path):
    """Rows that are all the zero point (sum of squares 0) or one step from it (sum 1): TFLite's special case."""
    gen = {0: lambda r: (r.integers(0, 2, (6, 1)) * r.choice([-1, 1], (6, 1)) * (np.arange(8) == r.integers(0, 8))
                         + 3).astype(np.int8)}
    check(model("L2_NORMALIZATION", [T([6, 8], "int8", 0.05, 3)], [T([6, 8], "int8", 1 / 128, 0)]), tmp_path, gen=gen)


@pytest.mark.parametrize("shape,axis", [((6,), 0), ((3, 4), 1), ((2, 3, 4), -2)])
@pytest.mark.parametrize("exclusive", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_cumsum(shape, axis, exclusive, reverse, tmp_path):
    check(model("CUMSUM", [T(list(shape)), T([], "int32", data=np.array(axis, np.int32))], [T(list(shape))],
                exclusive=exclusive, reverse=reverse), tmp_path)


@pytest.mark.parametrize("shape,axis", [((9,), 0), ((3, 4, 1), 1), ((2, 3, 4), -1)])
@pytest.mark.parametrize("exclusive", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_cumsum_int8(shape, axis, exclusive, reverse, tmp_path):
    ins = [T(list(shape), "int8", 0.02, -11), T([], "int32", data=np.array(axis, np.int32))]
    opts = dict(exclusive=exclusive, reverse=reverse)
    outs = calibrate("CUMSUM", ins, [T(list(shape), "int8")], **opts)
    check(model("CUMSUM", ins, outs, **opts), tmp_path)


@pytest.mark.parametrize("n", [2, 4])
def test_add_n(n, tmp_path):
    check(model("ADD_N", [T([3, 5])] * n, [T([3, 5])]), tmp_path)


@pytest.mark.parametrize("n", [2, 3, 5])
@pytest.mark.parametrize("q", [(0.05, 4), (0.013, -90)])
def test_add_n_int8(n, q, tmp_path):
    ins = [T([4, 7], "int8", *q)] * n
    outs = calibrate("ADD_N", ins, [T([4, 7], "int8")])
    check(model("ADD_N", ins, outs), tmp_path)


def test_add_n_int8_inputs_quantized_unlike_are_refused(tmp_path):
    path = tmp_path / "bad.tflite"
    path.write_bytes(model("ADD_N", [T([3], "int8", 0.1, 0), T([3], "int8", 0.2, 0)], [T([3], "int8", 0.3, 0)]))
    with pytest.raises(UnsupportedError) as e:
        compiler.compile_model(path)
    assert "operator 0 (ADD_N)" in str(e.value) and "quantized unlike input 0" in str(e.value)


# ---- what TFLite Micro takes beyond the usual (the audit of its Prepare checks) ----

@pytest.mark.parametrize("kind,dtype,q_out", [("SUM", "float32", None), ("SUM", "int8", (0.3, -2)),
                                               ("MEAN", "int8", (0.3, -2)), ("REDUCE_MAX", "int8", (0.1, 3))])
def test_empty_axes_reduce_nothing(kind, dtype, q_out, tmp_path):
    """A constant empty axes tensor: TFLite Micro reduces over no axis (a copy, rescaled if asked)."""
    q_in = (0.1, 3) if dtype == "int8" else (None, None)
    data = model(kind, [T([2, 3], dtype, *q_in), T([0], "int32", data=np.zeros(0, np.int32))],
                 [T([2, 3], dtype, *(q_out or (None, None)))], keep_dims=False)
    check(data, tmp_path)


def test_reduce_max_and_max_pool_of_raw_int8(tmp_path):
    """Without quantization parameters TFLite Micro compares raw values: so does Kiln."""
    (tmp_path / "r").mkdir()
    check(model("REDUCE_MAX", [T([3, 5], "int8"), axes_t([1])], [T([3], "int8")], keep_dims=False), tmp_path / "r")
    check(model("MAX_POOL_2D", [T([1, 4, 4, 2], "int8")], [T([1, 2, 2, 2], "int8")], padding=1, stride_h=2,
                stride_w=2, filter_height=2, filter_width=2), tmp_path)


def test_arg_max_takes_the_first_of_two_axes(tmp_path):
    check(model("ARG_MAX", [T([3, 4], "float32"), axes_t([1, 0])], [T([3], "int32")], output_type=2), tmp_path)
