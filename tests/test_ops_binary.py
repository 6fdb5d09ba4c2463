"""Binary element-wise operators (ADD, SUB and MUL on int16 and int32 and every int8 pair; SUB,
MAXIMUM, MINIMUM, the comparisons, the
logical operators, SELECT_V2, SQUARED_DIFFERENCE, DIV, FLOOR_DIV, FLOOR_MOD) against TFLite Micro:
every type each takes, broadcasting both ways, ranks 1 to 6, awkward quantization."""
from __future__ import annotations

import numpy as np
import pytest

from opgen import T, assert_rejected, calibrate, check, model, random_records

SHAPES = [((7,), (7,)), ((2, 3), (3,)), ((1, 3), (2, 1)), ((2, 1, 4), (3, 1)), ((2, 1, 2, 1, 2, 3), (1, 2, 1, 2, 1, 1))]
ACTS = {"NONE": 0, "RELU": 1, "RELU6": 3}
QUANT_SHAPES = [((7,), (7,)), ((2, 3, 4), (3, 1)), ((1, 3), (2, 1))]


def out_shape(a, b):
    return list(np.broadcast_shapes(tuple(a), tuple(b)))


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("shapes", SHAPES, ids=lambda s: f"{s[0]}-{s[1]}")
def test_sub(shapes, dtype, tmp_path):
    a, b = shapes
    if dtype == "int8":
        ins = [T(list(a), "int8", 0.05, 7), T(list(b), "int8", 0.031, -20)]
        outs = calibrate("SUB", ins, [T(out_shape(a, b), "int8")], fused_activation_function=0)
    else:
        ins, outs = [T(list(a)), T(list(b))], [T(out_shape(a, b))]
    check(model("SUB", ins, outs, fused_activation_function=0), tmp_path)


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("act", ["RELU", "RELU6"])
def test_sub_fused_activation(act, dtype, tmp_path):
    if dtype == "int8":
        ins = [T([4, 6], "int8", 0.08, 3), T([6], "int8", 0.02, 0)]
        outs = [T([4, 6], "int8", 0.06, -10)]
    else:
        ins, outs = [T([4, 6]), T([6])], [T([4, 6])]
    check(model("SUB", ins, outs, fused_activation_function=ACTS[act]), tmp_path)


@pytest.mark.parametrize("seed", range(4))
def test_sub_int8_random_scales(seed, tmp_path):
    rng = np.random.default_rng(seed)
    ins = [T([3, 16], "int8", float(rng.uniform(0.001, 0.5)), int(rng.integers(-100, 100))),
           T([3, 16], "int8", float(rng.uniform(0.001, 0.5)), int(rng.integers(-100, 100)))]
    outs = [T([3, 16], "int8", float(rng.uniform(0.005, 0.5)), int(rng.integers(-100, 100)))]
    check(model("SUB", ins, outs, fused_activation_function=0), tmp_path)


def _ins(dtype, a, b, same_quant=False):
    if dtype == "int8":
        return [T(list(a), "int8", 0.05, 7), T(list(b), "int8", 0.05 if same_quant else 0.031, 7 if same_quant else -20)]
    if dtype == "int16":
        return [T(list(a), "int16", 0.001, 0), T(list(b), "int16", 0.001, 0)]
    return [T(list(a), dtype), T(list(b), dtype)]


@pytest.mark.parametrize("kind", ["MAXIMUM", "MINIMUM"])
@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "float32"])
@pytest.mark.parametrize("shapes", SHAPES[1:4], ids=lambda s: f"{s[0]}-{s[1]}")
def test_maximum_minimum(kind, dtype, shapes, tmp_path):
    a, b = shapes
    ins = _ins(dtype, a, b, same_quant=True)
    out = T(out_shape(a, b), dtype, ins[0].scale, ins[0].zero_point)
    check(model(kind, ins, [out]), tmp_path)


@pytest.mark.parametrize("kind", ["EQUAL", "NOT_EQUAL", "GREATER", "GREATER_EQUAL", "LESS", "LESS_EQUAL"])
@pytest.mark.parametrize("dtype", ["int8", "int32", "int64", "float32"])
def test_comparisons(kind, dtype, tmp_path):
    a, b = (2, 1, 4), (3, 1)
    # values from a small set, so that equal pairs occur
    npdt = {"int8": np.int8, "int32": np.int32, "int64": np.int64, "float32": np.float32}[dtype]
    gen = {k: (lambda s: lambda r: r.integers(-3, 4, s).astype(npdt))(s) for k, s in ((0, a), (1, b))}
    if dtype == "int8" and kind not in ("EQUAL", "NOT_EQUAL"):
        gen = None  # the whole int8 range: the two scales order values both ways
    check(model(kind, _ins(dtype, a, b, same_quant=kind in ("EQUAL", "NOT_EQUAL")), [T(out_shape(a, b), "bool")]),
          tmp_path, gen=gen)


@pytest.mark.parametrize("kind", ["EQUAL", "LESS"])
def test_int8_comparison_of_values_that_round_together(kind, tmp_path):
    """Scales so small that TFLite Micro's rescaling maps neighbouring int8 values to one value:
    they compare equal there, and must in Kiln too."""
    ins = [T([64], "int8", 0.0009, 3), T([64], "int8", 0.0011, -2)]
    check(model(kind, ins, [T([64], "bool")]), tmp_path)


@pytest.mark.parametrize("kind", ["EQUAL", "NOT_EQUAL"])
def test_bool_equality(kind, tmp_path):
    check(model(kind, [T([3, 4], "bool"), T([4], "bool")], [T([3, 4], "bool")]), tmp_path)


@pytest.mark.parametrize("kind", ["LOGICAL_AND", "LOGICAL_OR"])
@pytest.mark.parametrize("shapes", SHAPES[:4], ids=lambda s: f"{s[0]}-{s[1]}")
def test_logical(kind, shapes, tmp_path):
    a, b = shapes
    check(model(kind, [T(list(a), "bool"), T(list(b), "bool")], [T(out_shape(a, b), "bool")]), tmp_path)


def test_logical_not(tmp_path):
    check(model("LOGICAL_NOT", [T([2, 5], "bool")], [T([2, 5], "bool")]), tmp_path)


@pytest.mark.parametrize("dtype", ["int8", "int16", "float32"])
@pytest.mark.parametrize("shapes", [((2, 3), (2, 3), (2, 3)), ((3,), (2, 1), (1, 3)), ((2, 1, 4), (4,), (3, 1))])
def test_select_v2(dtype, shapes, tmp_path):
    c, x, y = shapes
    out = list(np.broadcast_shapes(c, x, y))
    q = {"int8": (0.1, 2), "int16": (0.01, 0)}.get(dtype, (None, None))
    ins = [T(list(c), "bool"), T(list(x), dtype, *q), T(list(y), dtype, *q)]
    check(model("SELECT_V2", ins, [T(out, dtype, *q)]), tmp_path)


@pytest.mark.parametrize("kind,dtype", [(k, d) for k in ("SQUARED_DIFFERENCE", "DIV") for d in ("int32", "float32")]
                         + [("FLOOR_DIV", "float32"), ("FLOOR_MOD", "float32")])
def test_arithmetic(kind, dtype, tmp_path):
    a, b = (2, 3, 4), (3, 1)
    gen = None
    if dtype == "int32":  # non-zero divisors of both signs
        gen = {0: lambda r: r.integers(-50, 50, a).astype(np.int32),
               1: lambda r: (r.integers(1, 9, b) * r.choice([-1, 1], b)).astype(np.int32)}
    else:
        gen = {1: lambda r: (r.uniform(0.2, 2.0, b) * r.choice([-1, 1], b)).astype(np.float32)}
    opts = {"fused_activation_function": 0} if kind == "DIV" else {}
    check(model(kind, [T(list(a), dtype), T(list(b), dtype)], [T(out_shape(a, b), dtype)], **opts), tmp_path, gen=gen)


@pytest.mark.parametrize("kind,ins,outs,reason", [
    ("GREATER", [T([3], "int16", 0.01, 0), T([3], "int16", 0.01, 0)], [T([3], "bool")], "result is not defined"),
    ("LESS", [T([3], "int16", 0.01, 0), T([3], "int16", 0.01, 0)], [T([3], "bool")], "has type INT16"),
    ("LOGICAL_AND", [T([3], "int8", 0.1, 0), T([3], "int8", 0.1, 0)], [T([3], "int8", 0.1, 0)], "has type INT8"),
    ("EQUAL", [T([3], "int8", 2.0, 0), T([3], "int8", 0.1, 0)], [T([3], "bool")], "scale below 1"),
    ("MAXIMUM", [T([3]), T([4])], [T([4])], "do not broadcast"),
    ("FLOOR_DIV", [T([3], "int32"), T([3], "int32")], [T([3], "int32")], "has type INT32"),
    ("SELECT_V2", [T([3], "bool"), T([3], "int32"), T([3], "int32")], [T([3], "int32")], "has type INT32"),
])
def test_rejected_like_tflm(kind, ins, outs, reason, tmp_path):
    assert_rejected(kind, ins, outs, reason, tmp_path)


@pytest.mark.parametrize("kind", ["ADD", "SUB", "MUL"])
@pytest.mark.parametrize("act", ["NONE", "RELU", "RELU6"])
def test_int32_arithmetic(kind, act, tmp_path):
    a, b = (2, 3, 4), (4,)
    gen = {0: lambda r: r.integers(-1000, 1000, a).astype(np.int32),
           1: lambda r: r.integers(-1000, 1000, b).astype(np.int32)}
    check(model(kind, [T(list(a), "int32"), T(list(b), "int32")], [T(list(a), "int32")],
                fused_activation_function=ACTS[act]), tmp_path, gen=gen)


# ---- ADD, SUB and MUL on int16, and every int8 pair exhaustively ----

@pytest.mark.parametrize("kind", ["ADD", "SUB"])
@pytest.mark.parametrize("shapes", SHAPES[1:4], ids=lambda s: f"{s[0]}-{s[1]}")
def test_int16_add_sub(kind, shapes, tmp_path):
    a, b = shapes
    # zero points other than 0 too: TFLite Micro's int16 ADD and SUB take them
    ins = [T(list(a), "int16", 0.0007, 0), T(list(b), "int16", 0.00031, 25)]
    outs = calibrate(kind, ins, [T(out_shape(a, b), "int16")], fused_activation_function=0)
    check(model(kind, ins, outs, fused_activation_function=0), tmp_path)


@pytest.mark.parametrize("kind", ["ADD", "SUB", "MUL"])
@pytest.mark.parametrize("act", ["RELU", "RELU6"])
def test_int16_fused_activation(kind, act, tmp_path):
    ins = [T([4, 6], "int16", 0.0004, 0), T([6], "int16", 0.0002, 0)]
    check(model(kind, ins, [T([4, 6], "int16", 0.0003, 0)], fused_activation_function=ACTS[act]), tmp_path)


@pytest.mark.parametrize("shapes", [((2, 3), (3,)), ((1, 3), (2, 1)), ((2, 1, 2, 1, 2, 3), (1, 2, 1, 2, 1, 1))],
                         ids=lambda s: f"{s[0]}-{s[1]}")
def test_int16_mul(shapes, tmp_path):
    a, b = shapes
    ins = [T(list(a), "int16", 0.0011, 0), T(list(b), "int16", 0.0005, 0)]
    outs = calibrate("MUL", ins, [T(out_shape(a, b), "int16")], fused_activation_function=0)
    outs[0].zero_point = 0
    check(model("MUL", ins, outs, fused_activation_function=0), tmp_path)


def test_int16_mul_zero_point_rejected(tmp_path):
    ins = [T([4], "int16", 0.001, 3), T([4], "int16", 0.001, 0)]
    assert_rejected("MUL", ins, [T([4], "int16", 0.001, 0)], "needs 0", tmp_path)


EVERY_PAIR = {0: lambda r: np.arange(-128, 128, dtype=np.int8).reshape(256, 1),
              1: lambda r: np.arange(-128, 128, dtype=np.int8).reshape(1, 256)}


def check_every_pair(kind, ins, outs, tmp_path, **options):
    """All 65,536 pairs of int8 values in one inference ([256, 1] against [1, 256])."""
    m = model(kind, ins, outs, **options)
    check(m, tmp_path, records=random_records(m, n=1, gen=EVERY_PAIR))


@pytest.mark.parametrize("kind", ["ADD", "SUB", "MUL"])
@pytest.mark.parametrize("seed", range(3))
def test_int8_every_pair(kind, seed, tmp_path):
    rng = np.random.default_rng(seed)
    ins = [T([256, 1], "int8", float(rng.uniform(0.001, 0.3)), int(rng.integers(-128, 128))),
           T([1, 256], "int8", float(rng.uniform(0.001, 0.3)), int(rng.integers(-128, 128)))]
    outs = calibrate(kind, ins, [T([256, 256], "int8")], fused_activation_function=0)
    check_every_pair(kind, ins, outs, tmp_path, fused_activation_function=0)


@pytest.mark.parametrize("kind,scales,zero_points", [
    # SUB's multipliers in double: in float32 (as TFLite Micro's source reads) one pair of these rounds otherwise
    ("SUB", (0.11562729626893997, 0.12313348799943924, 0.014537283219397068), (-115, -128, -116)),
    # DIV's multiplier 2.5 in float32, 2.5000000931 in double: ties round otherwise
    ("DIV", (0.05, 0.04, 0.5), (3, -5, 0)),
])
def test_int8_multipliers_in_double(kind, scales, zero_points, tmp_path):
    ins = [T([256, 1], "int8", scales[0], zero_points[0]), T([1, 256], "int8", scales[1], zero_points[1])]
    outs = [T([256, 256], "int8", scales[2], zero_points[2])]
    check_every_pair(kind, ins, outs, tmp_path, fused_activation_function=0)


@pytest.mark.parametrize("dtype", ["int8", "int16"])
@pytest.mark.parametrize("shapes", QUANT_SHAPES, ids=lambda s: f"{s[0]}-{s[1]}")
def test_squared_difference_quantized(dtype, shapes, tmp_path):
    a, b = shapes
    zp = (7, -20) if dtype == "int8" else (0, 0)
    ins = [T(list(a), dtype, 0.05 if dtype == "int8" else 0.0004, zp[0]),
           T(list(b), dtype, 0.031 if dtype == "int8" else 0.0007, zp[1])]
    outs = calibrate("SQUARED_DIFFERENCE", ins, [T(out_shape(a, b), dtype)])
    check(model("SQUARED_DIFFERENCE", ins, outs), tmp_path)


def test_squared_difference_int8_every_pair(tmp_path):
    ins = [T([256, 1], "int8", 0.02, -3), T([1, 256], "int8", 0.013, 40)]
    outs = calibrate("SQUARED_DIFFERENCE", ins, [T([256, 256], "int8")])
    check_every_pair("SQUARED_DIFFERENCE", ins, outs, tmp_path)


def test_squared_difference_int16_zero_point_rejected(tmp_path):
    ins = [T([4], "int16", 0.001, 0), T([4], "int16", 0.001, 5)]
    assert_rejected("SQUARED_DIFFERENCE", ins, [T([4], "int16", 0.001, 0)], "needs 0", tmp_path)


def _nonzero_divisor(shape, zp):
    """int8 divisors away from their zero point (TFLite Micro's x / 0 is not a value to test against)."""
    def gen(r):
        v = r.integers(-128, 127, shape)
        return np.where(v == zp, zp + 1, v).astype(np.int8)
    return gen


@pytest.mark.parametrize("shapes", QUANT_SHAPES, ids=lambda s: f"{s[0]}-{s[1]}")
@pytest.mark.parametrize("act", ["NONE", "RELU"])
def test_div_int8(shapes, act, tmp_path):
    a, b = shapes
    ins = [T(list(a), "int8", 0.05, 3), T(list(b), "int8", 0.02, -5)]
    outs = calibrate("DIV", ins, [T(out_shape(a, b), "int8")], fused_activation_function=ACTS[act])
    check(model("DIV", ins, outs, fused_activation_function=ACTS[act]), tmp_path,
          gen={1: _nonzero_divisor(list(b), -5)})


def test_div_int8_every_pair(tmp_path):
    """Every int8 numerator against every divisor, the divisor's zero point included (which TFLite Micro
    divides by as GetReciprocal(0) computes, and Kiln does the same)."""
    ins = [T([256, 1], "int8", 0.04, 10), T([1, 256], "int8", 0.03, -7)]
    check_every_pair("DIV", ins, [T([256, 256], "int8", 0.35, 0)], tmp_path, fused_activation_function=0)
