"""Unary maths and activations (issue 12): every operator x type TFLite Micro takes, against TFLite Micro."""
from __future__ import annotations


import numpy as np
import pytest

from opgen import T, calibrate, check, model
from kiln import compiler
from kiln.errors import UnsupportedError
from kiln.compiler.tflwriter import ModelWriter


# clang under AddressSanitizer and UndefinedBehaviorSanitizer, for the edge cases
SAN = dict(cc="clang", extra_flags=["-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                                    "-fno-omit-frame-pointer", "-g"], opt="-O1")


def fan_out(kinds, x: T, outs: list[T], options=None, gen=None) -> bytes:
    """One input feeding one operator per kind (each with its own output): many kinds, one build."""
    w = ModelWriter(description="kiln tests: maths fan-out")
    xi = w.tensor("x", x.shape, x.dtype, x.scale, x.zero_point)
    w.inputs = [xi]
    w.outputs = []
    for k, (kind, o) in enumerate(zip(kinds, outs)):
        yi = w.tensor(f"y{k}_{kind.lower()}", o.shape, o.dtype, o.scale, o.zero_point)
        w.outputs.append(yi)
        w.op(kind, [xi], [yi], (options or {}).get(kind, {}))
    return w.build()


def uniform(lo, hi, shape, step=None):
    def g(rng):
        v = rng.uniform(lo, hi, size=shape)
        if step:
            v = np.round(v / step) * step
        return v.astype(np.float32)
    return g


def ints(lo, hi, shape, dtype):
    return lambda rng: rng.integers(lo, hi + 1, size=shape).astype(dtype)


def rejects(data: bytes, tmp_path, *words):
    path = tmp_path / "bad.tflite"
    path.write_bytes(data)
    with pytest.raises(UnsupportedError) as e:
        compiler.compile_model(path)
    msg = str(e.value)
    assert "operator 0 (" in msg, msg
    for w in words:
        assert w in msg, msg


# ---- float32 maths ----

def test_float_maths_any_sign(tmp_path):
    kinds = ["ABS", "NEG", "SQUARE", "EXP", "SIN", "COS", "FLOOR", "CEIL", "ROUND"]
    shape = [2, 3, 1, 5]
    m = fan_out(kinds, T(shape), [T(shape) for _ in kinds])
    # multiples of 0.25 in [-6, 6]: ROUND meets halves both even and odd
    check(m, tmp_path, gen={0: uniform(-6, 6, shape, step=0.25)})


def test_float_maths_positive(tmp_path):
    kinds = ["SQRT", "RSQRT", "LOG"]
    shape = [7]
    m = fan_out(kinds, T(shape), [T(shape) for _ in kinds])
    check(m, tmp_path, gen={0: uniform(0.01, 50, shape)})


def test_round_halves_to_even(tmp_path):
    vals = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 0.49999997, -3.75, 1e9], np.float32)
    m = model("ROUND", [T([10])], [T([10])])
    pair = check(m, tmp_path, records=[[vals], [vals * 3]])
    assert pair.ours[0][0].tolist() == [-2, -2, -0, 0, 2, 2, 4, 0, -4, 1e9]


# ---- ABS and RSQRT, quantized ----

@pytest.mark.parametrize("shape,xq,yq", [
    ([3, 1, 4], (0.05, 3), (0.03, -100)),    # rescaled
    ([1, 2, 3, 2, 5], (0.02, -7), (0.02, -7)),  # same scale: no rescale
    ([16, 16], (0.05, 3), (0.04, -5)),          # ratio 1.25: ties, rounded as MBQM(|d|) rounds them
])
def test_abs_int8(tmp_path, shape, xq, yq):
    check(model("ABS", [T(shape, "int8", *xq)], [T(shape, "int8", *yq)]), tmp_path)


@pytest.mark.parametrize("xs,ys", [(0.001, 0.0007), (0.002, 0.002), (0.001, 0.0008)])
def test_abs_int16_quantized(tmp_path, xs, ys):
    check(model("ABS", [T([4, 64], "int16", xs, 0)], [T([4, 64], "int16", ys, 0)]), tmp_path)


def test_abs_int16_plain_wraps(tmp_path):
    m = model("ABS", [T([6], "int16")], [T([6], "int16")])
    v = np.array([-32768, -32767, -1, 0, 1, 32767], np.int16)
    pair = check(m, tmp_path, records=[[v], [v[::-1].copy()]], **SAN)
    assert pair.ours[0][0].tolist() == [-32768, 32767, 1, 0, 1, 32767]


@pytest.mark.parametrize("zp", [-128, 10])
def test_rsqrt_int8(tmp_path, zp):
    x = T([2, 17], "int8", 0.07, zp)
    m = model("RSQRT", [x], [T([2, 17], "int8", 0.02, -60)])
    check(m, tmp_path, gen={0: ints(zp, 127, [2, 17], np.int8)})


def test_maths_rejects(tmp_path):
    rejects(model("NEG", [T([4], "int8", 0.1, 0)], [T([4], "int8", 0.1, 0)]), tmp_path, "NEG", "INT8")
    rejects(model("EXP", [T([4], "int16", 0.1, 0)], [T([4], "int16", 0.1, 0)]), tmp_path, "INT16")
    rejects(model("RSQRT", [T([4], "int16", 0.1, 0)], [T([4], "int16", 0.1, 0)]), tmp_path, "INT16")
    rejects(model("ABS", [T([4], "int16", 0.1, 2)], [T([4], "int16", 0.1, 0)]), tmp_path, "zero point 0")
    rejects(model("ABS", [T([4], "int32")], [T([4], "int32")]), tmp_path, "INT32")


# ---- activations ----

def test_float_activations(tmp_path):
    kinds = ["HARD_SWISH", "ELU", "LEAKY_RELU"]
    shape = [3, 1, 2, 2, 3, 2]
    m = fan_out(kinds, T(shape), [T(shape) for _ in kinds], options={"LEAKY_RELU": {"alpha": 0.3}})
    check(m, tmp_path, gen={0: uniform(-5, 5, shape)})


@pytest.mark.parametrize("kind,shape,xq", [
    ("HARD_SWISH", [2, 3, 5], (0.05, 3)),
    ("HARD_SWISH", [11], (0.02, -128)),
    ("ELU", [1, 4, 1, 3], (0.04, 20)),
    ("ELU", [5], (0.1, -128)),
])
def test_int8_activation_tables(tmp_path, kind, shape, xq):
    x = T(shape, "int8", *xq)
    (y,) = calibrate(kind, [x], [T(shape, "int8")])
    check(model(kind, [x], [y]), tmp_path)


@pytest.mark.parametrize("dtype,alpha,xq,yq", [
    ("int8", 0.2, (0.05, 3), (0.04, -20)),
    ("int8", -1.5, (0.03, -128), (0.06, 0)),
    ("int8", 0.0, (0.02, 100), (0.02, 100)),
    ("int16", 0.1, (0.001, 0), (0.0008, 0)),
    ("int16", -0.7, (0.002, 30), (0.0015, -200)),
    ("int16", 3.0, (0.0005, 0), (0.002, 0)),
])
def test_leaky_relu_quantized(tmp_path, dtype, alpha, xq, yq):
    shape = [2, 3, 7]
    check(model("LEAKY_RELU", [T(shape, dtype, *xq)], [T(shape, dtype, *yq)], alpha=alpha), tmp_path,
          **(SAN if dtype == "int16" else {}))


def test_activations_reject(tmp_path):
    rejects(model("HARD_SWISH", [T([4], "int16", 0.1, 0)], [T([4], "int16", 0.1, 0)]), tmp_path, "INT16")
    rejects(model("ELU", [T([4], "int16", 0.1, 0)], [T([4], "int16", 0.1, 0)]), tmp_path, "INT16")
    rejects(model("HARD_SWISH", [T([4], "int8", 1.0, 0)], [T([4], "int8", 0.001, 0)]), tmp_path,
            "output scale")
    rejects(model("LEAKY_RELU", [T([4], "int8", 0.1, 0)], [T([4], "int16", 0.1, 0)], alpha=0.1), tmp_path,
            "output", "INT16")


# ---- CAST ----

CAST_TYPES = ["int8", "int16", "int32", "uint32", "bool", "float32"]
CAST_GEN = {
    "int8": None, "int16": None, "bool": None,
    "uint32": lambda shape: ints(0, 2**32 - 1, shape, np.uint32),  # above 2^31 wraps negative into int32
    "int32": lambda shape: ints(-100000, 100000, shape, np.int32),  # wraps into int8 and int16
    "float32": lambda shape: uniform(-70000.0, 70000.0, shape),  # saturates into int8 and int16
}


@pytest.mark.parametrize("src", CAST_TYPES)
def test_cast_every_pair(tmp_path, src):
    shape = [2, 1, 9]
    m = fan_out(["CAST"] * len(CAST_TYPES), T(shape, src), [T(shape, d) for d in CAST_TYPES])
    g = CAST_GEN[src]
    check(m, tmp_path, gen={0: g(shape)} if g else None)


def test_cast_float_edges(tmp_path):
    v = np.array([-0.0, 0.5, -0.99, 1.99, -128.5, 127.9, 128.0, 255.5, -32769.0, 3e-9, 1e-45, 3e9, -3e9,
                  np.nan, np.inf, 2147483520.0], np.float32)
    m = fan_out(["CAST"] * 5, T([16]), [T([16], d) for d in ("int8", "int16", "int32", "bool", "uint32")])
    pair = check(m, tmp_path, records=[[v], [-v]], **SAN)
    assert pair.ours[0][0].tolist() == [0, 0, 0, 1, -128, 127, 127, 127, -128, 0, 0, 127, -128, 0, 127, 127]
    assert pair.ours[0][2].tolist()[11:] == [2147483647, -2147483648, 0, 2147483647, 2147483520]
    assert pair.ours[0][3].tolist() == [False] + [True] * 15
    assert pair.ours[0][4].tolist()[9:] == [0, 0, 3000000000, 0, 0, 4294967295, 2147483520]


def test_cast_rejects(tmp_path):
    rejects(model("CAST", [T([4], "int64")], [T([4], "int32")]), tmp_path, "CAST", "INT64")
    rejects(model("CAST", [T([4], "int8")], [T([4], "uint8")]), tmp_path, "output", "UINT8")


# ---- PRELU ----

@pytest.mark.parametrize("dtype,xs,as_", [
    ("float32", [2, 3, 4, 5], [5]),
    ("float32", [3, 1], [1, 4]),              # broadcast both ways
    ("int8", [1, 4, 4, 3], [1, 1, 3]),
    ("int8", [6], [6]),
    ("int8", [2, 1, 3], [4, 1]),              # both ways
    ("int16", [3, 5, 2], [5, 1]),
])
def test_prelu(tmp_path, dtype, xs, as_):
    rng = np.random.default_rng(5)
    out = list(np.broadcast_shapes(tuple(xs), tuple(as_)))
    if dtype == "float32":
        alpha = T(as_, "float32", data=rng.uniform(-1.5, 1.5, as_).astype(np.float32))
        m = model("PRELU", [T(xs), alpha], [T(out)])
    else:
        q = (0.05, 3) if dtype == "int8" else (0.001, 0)
        yq = (0.04, -10) if dtype == "int8" else (0.0012, 0)
        alpha = T(as_, "int8", 0.01, -4, data=rng.integers(-128, 128, as_).astype(np.int8))
        m = model("PRELU", [T(xs, dtype, *q), alpha], [T(out, dtype, *yq)])
    check(m, tmp_path)


def test_prelu_alpha_input(tmp_path):
    """alpha may be a model input too."""
    m = model("PRELU", [T([2, 3, 4], "int8", 0.05, 0), T([3, 1], "int8", 0.02, 5)], [T([2, 3, 4], "int8", 0.03, 2)])
    check(m, tmp_path, **SAN)


def test_prelu_rejects(tmp_path):
    rejects(model("PRELU", [T([4], "int16", 0.1, 0), T([4], "int16", 0.1, 0, data=np.ones(4, np.int16))],
                  [T([4], "int16", 0.1, 0)]), tmp_path, "alpha", "INT16")
    rejects(model("PRELU", [T([1, 1, 2, 2, 2]), T([2], data=np.ones(2, np.float32))], [T([1, 1, 2, 2, 2])]),
            tmp_path, "4 dimensions")


# ---- int16 forms of RELU, RELU6, LOGISTIC, TANH ----

@pytest.mark.parametrize("kind,xq,yq", [
    ("RELU", (0.001, 0), (0.0007, 0)),
    ("RELU", (0.0002, 0), (0.0002, 0)),
    ("RELU6", (0.0004, 0), (0.0004, 0)),   # 6.0 inside the range: clamps at 15000
    ("RELU6", (0.0001, 17), (0.0001, 17)),  # 6.0 beyond 32767: no upper clamp
])
def test_relu_int16(tmp_path, kind, xq, yq):
    check(model(kind, [T([3, 2, 5], "int16", *xq)], [T([3, 2, 5], "int16", *yq)]), tmp_path)


@pytest.mark.parametrize("kind,xs", [
    ("LOGISTIC", 2.0 ** -12),   # power of two: 3x per step
    ("LOGISTIC", 0.0003),       # general scale: rescaled
    ("LOGISTIC", 0.002),        # saturates
    ("TANH", 2.0 ** -11),       # power of two with shift 1
    ("TANH", 2.0 ** -12),
    ("TANH", 0.00017),
])
def test_sigmoid_int16(tmp_path, kind, xs):
    shape = [2, 5, 3]
    check(model(kind, [T(shape, "int16", xs, 0)], [T(shape, "int16", 2.0 ** -15, 0)]), tmp_path)


def test_sigmoid_int16_every_input(tmp_path):
    """Every int16 value, through both operators (one build), under the sanitizers."""
    v = np.arange(-32768, 32768, dtype=np.int16).reshape(16, 4096)
    m = fan_out(["LOGISTIC", "TANH"], T([16, 4096], "int16", 0.0007, 0),
                [T([16, 4096], "int16", 2.0 ** -15, 0)] * 2)
    check(m, tmp_path, records=[[v], [v[::-1].copy()]], **SAN)


def test_int16_activations_reject(tmp_path):
    rejects(model("LOGISTIC", [T([4], "int16", 0.001, 0)], [T([4], "int16", 0.001, 0)]), tmp_path, "2^-15")
    rejects(model("TANH", [T([4], "int16", 0.001, 3)], [T([4], "int16", 2.0 ** -15, 0)]), tmp_path, "zero point 0")
    rejects(model("RELU", [T([4], "int16", 0.001, 3)], [T([4], "int16", 0.001, 3)]), tmp_path, "zero point 0")


# ---- SOFTMAX int16 and int8 -> int16 ----

@pytest.mark.parametrize("shape,xs,beta", [
    ([2, 3, 10], 0.0003, 1.0),
    ([1, 40], 0.001, 0.5),
    ([6], 0.00005, 2.0),
    ([3, 1, 1], 0.0004, 1.0),   # depth 1
])
def test_softmax_int16(tmp_path, shape, xs, beta):
    check(model("SOFTMAX", [T(shape, "int16", xs, 0)], [T(shape, "int16", 1.0 / 32768, 0)], beta=beta), tmp_path,
          allow_constant=shape[-1] == 1, **(SAN if shape == [1, 40] else {}))


@pytest.mark.parametrize("shape,xq,beta", [([4, 12], (0.1, 3), 1.0), ([2, 2, 7], (0.05, -128), 0.7)])
def test_softmax_int8_to_int16(tmp_path, shape, xq, beta):
    check(model("SOFTMAX", [T(shape, "int8", *xq)], [T(shape, "int16", 1.0 / 65536, -32768)], beta=beta), tmp_path)


def test_softmax_int16_rejects(tmp_path):
    rejects(model("SOFTMAX", [T([4], "int16", 0.001, 0)], [T([4], "int16", 1.0 / 256, 0)], beta=1.0), tmp_path,
            "1/32768")
    rejects(model("SOFTMAX", [T([4], "int8", 0.1, 0)], [T([4], "int16", 1.0 / 65536, 0)], beta=1.0), tmp_path,
            "-32768")
    rejects(model("SOFTMAX", [T([4], "int16", 0.001, 0)], [T([4], "int8", 1.0 / 256, -128)], beta=1.0), tmp_path,
            "INT8")


# ---- LOG_SOFTMAX ----

@pytest.mark.parametrize("dtype,shape,xq", [
    ("float32", [3, 7], None),
    ("float32", [2, 1, 2, 5], None),
    ("int8", [4, 10], (0.1, 3)),
    ("int8", [2, 3, 33], (0.02, -128)),   # narrow: small differences
    ("int8", [1, 2, 1, 6], (0.5, 10)),    # wide: differences below diff_min
    ("int8", [9], (0.06, 0)),
])
def test_log_softmax(tmp_path, dtype, shape, xq):
    if dtype == "float32":
        m = model("LOG_SOFTMAX", [T(shape)], [T(shape)])
        check(m, tmp_path, gen={0: uniform(-8, 8, shape)})
    else:
        m = model("LOG_SOFTMAX", [T(shape, "int8", *xq)], [T(shape, "int8", 16.0 / 256, 127)])
        check(m, tmp_path, **(SAN if shape == [9] else {}))


def test_log_softmax_rejects(tmp_path):
    rejects(model("LOG_SOFTMAX", [T([4], "int8", 0.1, 0)], [T([4], "int8", 1.0 / 256, -128)]), tmp_path,
            "16/256")
    rejects(model("LOG_SOFTMAX", [T([4], "int16", 0.1, 0)], [T([4], "int16", 1.0 / 256, 0)]), tmp_path, "INT16")


# ---- qemu-m4: a chain of the family in one firmware ----

def chained_model() -> bytes:
    """Three inputs (float32, int8, int16), each through a chain of this family's operators."""
    w = ModelWriter(description="kiln tests: maths chain on qemu-m4")
    t = w.tensor
    xf, xq, xh = t("xf", [3, 8], "float32"), t("xq", [3, 8], "int8", 0.05, 3), t("xh", [3, 8], "int16", 0.0004, 0)
    w.inputs = [xf, xq, xh]
    f1, f2, f3, f4 = (t(f"f{k}", [3, 8], "float32") for k in range(1, 5))
    f5 = t("f5", [3, 8], "int8")
    w.op("HARD_SWISH", [xf], [f1])
    w.op("ELU", [f1], [f2])
    w.op("ROUND", [f2], [f3], {})
    w.op("LOG_SOFTMAX", [f3], [f4], {})
    w.op("CAST", [f4], [f5], {})
    alpha = t("alpha", [8], "int8", 0.01, 0, data=np.arange(-40, 40, 10, dtype=np.int8))
    q1, q2 = t("q1", [3, 8], "int8", 0.04, -20), t("q2", [3, 8], "int8", 0.03, 0)
    q3, q4 = t("q3", [3, 8], "int8", 16.0 / 256, 127), t("q4", [3, 8], "int16", 1.0 / 65536, -32768)
    w.op("LEAKY_RELU", [xq], [q1], {"alpha": 0.3})
    w.op("PRELU", [q1, alpha], [q2], {})
    w.op("LOG_SOFTMAX", [q2], [q3], {})
    w.op("SOFTMAX", [q3], [q4], {"beta": 1.0})
    h1, h2 = t("h1", [3, 8], "int16", 0.0003, 0), t("h2", [3, 8], "int16", 2.0 ** -15, 0)
    h3 = t("h3", [3, 8], "int16", 1.0 / 32768, 0)
    w.op("ABS", [xh], [h1])
    w.op("TANH", [h1], [h2])
    w.op("SOFTMAX", [h2], [h3], {"beta": 1.0})
    # float maths through newlib's math.h on the device
    g1, g2, g3, g4 = (t(f"g{k}", [3, 8], "float32") for k in range(1, 5))
    w.op("EXP", [xf], [g1])
    w.op("SQRT", [g1], [g2])
    w.op("LOG", [g2], [g3])
    w.op("COS", [g3], [g4])
    # int8 ABS into RSQRT (its input never below the zero point), then int8 -> int16 CAST
    a1, a2 = t("a1", [3, 8], "int8", 0.05, -128), t("a2", [3, 8], "int8", 0.1, -100)
    a3 = t("a3", [3, 8], "int16")
    w.op("ABS", [xq], [a1])
    w.op("RSQRT", [a1], [a2])
    w.op("CAST", [a2], [a3], {})
    w.outputs = [f5, q4, h3, g4, a3]
    return w.build()


def test_chain_on_qemu_m4(tmp_path):
    from harness import check_on_qemu_m4

    rng = np.random.default_rng(11)
    records = [[rng.uniform(-6, 6, [3, 8]).astype(np.float32),
                rng.integers(-128, 128, [3, 8]).astype(np.int8),
                rng.integers(-32768, 32768, [3, 8]).astype(np.int16)] for _ in range(4)]
    check_on_qemu_m4(chained_model(), records, tmp_path, "maths chain on qemu-m4")


@pytest.mark.parametrize("kind", ["RELU", "ABS", "LEAKY_RELU"])
def test_int16_rescale_every_input(tmp_path, kind):
    """Every int16 input, at scales whose float32 and double quotients round ties differently."""
    v = np.arange(-32768, 32768, dtype=np.int16).reshape(8, 8192)
    options = {"alpha": 1.0351598} if kind == "LEAKY_RELU" else {}
    m = model(kind, [T([8, 8192], "int16", 0.0009100073683930357, 0)],
              [T([8, 8192], "int16", 0.00021580442241476614, 0)], **options)
    check(m, tmp_path, records=[[v], [v[::-1].copy()]])


def test_int8_tables_match_tflm_over_random_scales():
    """The compile-time tables (TFLite Micro's arithmetic replayed in Python) against TFLite Micro on
    all 256 inputs, over random scales and zero points: no C build, so many cases cheaply."""
    from types import SimpleNamespace as NS

    from kiln.compiler import oracle
    from kiln.compiler.ops import activations, maths, unary

    rng = np.random.default_rng(21)
    x8 = np.arange(-128, 128, dtype=np.int8)
    checked = 0
    for it in range(24):
        xs, xz = float(np.float32(10 ** rng.uniform(-3, 0))), int(rng.integers(-128, 128))
        ys, yz = float(np.float32(xs * 10 ** rng.uniform(-1, 1))), int(rng.integers(-128, 128))
        alpha = float(np.float32(rng.uniform(-3, 3)))
        x, y = NS(scale=xs, zero_point=xz, dtype="int8"), NS(scale=ys, zero_point=yz, dtype="int8")
        ours = {"HARD_SWISH": activations.hard_swish_table(x, y), "ELU": activations.elu_table(x, y),
                "LEAKY_RELU": maths.slopes_lut(activations.leaky_params(NS(options={"alpha": alpha}), x, y)),
                "ABS": maths.slopes_lut(maths.abs_params(x, y)), "RELU": np.array(unary.lut_relu(x, y, False)),
                "RELU6": np.array(unary.lut_relu(x, y, True)),
                "RSQRT": maths.rsqrt_table(x, y)}
        for kind, table in ours.items():
            if kind == "HARD_SWISH" and activations.hard_swish_multipliers(x, y)[1] > 0:
                continue  # TFLite Micro refuses it (and so does check)
            lo = xz + 128 if kind == "RSQRT" else 0  # TFLite Micro fails on RSQRT's negative inputs
            m = model(kind, [T([256 - lo], "int8", xs, xz)], [T([256 - lo], "int8", ys, yz)],
                      **({"alpha": alpha} if kind == "LEAKY_RELU" else {}))
            ref = oracle.run_tflm(m, [[x8[lo:]]], 1)[0][0]
            assert np.array_equal(np.asarray(table[lo:], np.int64), ref.astype(np.int64)), (kind, xs, xz, ys, yz, alpha)
            checked += 1
    assert checked >= 140


def test_tanh_int8_ignores_the_output_quantization_as_tflm(tmp_path):
    """TFLite Micro's int8 TANH writes Q0.7 whatever the output tensor's zero point and scale."""
    check(model("TANH", [T([32], "int8", 0.05, 3)], [T([32], "int8", 0.05, -20)]), tmp_path)


def test_int16_logistic_up_to_its_overflow_limit(tmp_path):
    """Input scales up to about 5.33 (x * multiplier within int32), as TFLite Micro computes them."""
    check(model("LOGISTIC", [T([64], "int16", 4.0, 0)], [T([64], "int16", 2.0 ** -15, 0)]), tmp_path,
          gen={0: ints(-9, 9, [64], np.int16)})
    rejects(model("LOGISTIC", [T([4], "int16", 8.0, 0)], [T([4], "int16", 2.0 ** -15, 0)]), tmp_path, "overflows")
