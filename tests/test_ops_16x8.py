"""16x8 layers (int16 activations, int8 weights) against TFLite Micro: FULLY_CONNECTED, CONV_2D and
DEPTHWISE_CONV_2D with every bias TFLite Micro takes (int64, int32, none), per-tensor and
per-channel weights, strides, dilation, both paddings. (The int16 pools are in test_ops_conv.py.)"""
from __future__ import annotations

import numpy as np
import pytest

from opgen import T, check, model

UNITS, DEPTH = 7, 20


def _weights(rng, per_channel):
    data = rng.integers(-127, 128, [UNITS, DEPTH]).astype(np.int8)
    if per_channel:
        return T([UNITS, DEPTH], "int8", [float(s) for s in rng.uniform(0.002, 0.02, UNITS)], [0] * UNITS, data=data)
    return T([UNITS, DEPTH], "int8", 0.01, 0, data=data)


@pytest.mark.parametrize("per_channel", [False, True], ids=["per-tensor", "per-channel"])
@pytest.mark.parametrize("bias", ["int64", "int32", "none", "none-int32"])
@pytest.mark.parametrize("act", [0, 1])
def test_fully_connected_16x8(per_channel, bias, act, tmp_path):
    rng = np.random.default_rng(7)
    x = T([3, DEPTH], "int16", 0.0008, 0)
    w = _weights(rng, per_channel)
    ins = [x, w]
    if bias in ("int64", "int32"):
        ins.append(T([UNITS], bias, data=rng.integers(-40000, 40000, UNITS).astype(bias)))
    options = {"fused_activation_function": act, "quantized_bias_type": 2 if bias == "none-int32" else 0}
    # random int16 inputs give sums of about 50 in real terms: an output scale that holds them
    check(model("FULLY_CONNECTED", ins, [T([3, UNITS], "int16", 0.003, 0)], **options), tmp_path)


def test_fully_connected_16x8_input_zero_point(tmp_path):
    """TFLite Micro's 16x8 kernel subtracts an input zero point if the model has one."""
    rng = np.random.default_rng(3)
    ins = [T([2, DEPTH], "int16", 0.0008, 17), _weights(rng, False)]
    check(model("FULLY_CONNECTED", ins, [T([2, UNITS], "int16", 0.02, -5)], fused_activation_function=0), tmp_path)


CONV_CASES = [  # input shape, filter h x w, strides, dilation, padding (0 SAME, 1 VALID)
    ((1, 7, 6, 3), (3, 3), (1, 1), (1, 1), 0),
    ((2, 9, 8, 5), (3, 2), (2, 2), (1, 1), 1),
    ((1, 8, 8, 4), (3, 3), (1, 2), (2, 2), 0),
    ((1, 1, 1, 6), (1, 1), (1, 1), (1, 1), 1),
]


def _conv_model(kind, case, out_c, bias, per_channel, act, rng):
    from kiln.compiler.ops.conv import out_size

    shape, (kh, kw), (sh, sw), (dh, dw), pad = case
    n, h, w, c = shape
    fshape = [1, kh, kw, out_c] if kind == "DEPTHWISE_CONV_2D" else [out_c, kh, kw, c]
    axis = 3 if kind == "DEPTHWISE_CONV_2D" else 0
    data = rng.integers(-127, 128, fshape).astype(np.int8)
    scales = [float(s) for s in rng.uniform(0.002, 0.02, out_c)] if per_channel else 0.01
    filt = T(fshape, "int8", scales, [0] * out_c if per_channel else 0, data=data, axis=axis)
    ins = [T(list(shape), "int16", 0.0008, 0), filt]
    if bias in ("int64", "int32"):
        ins.append(T([out_c], bias, data=rng.integers(-40000, 40000, out_c).astype(bias)))
    oshape = [n, out_size(pad, h, kh, sh, dh), out_size(pad, w, kw, sw, dw), out_c]
    options = dict(padding=pad, stride_h=sh, stride_w=sw, dilation_h_factor=dh, dilation_w_factor=dw,
                   fused_activation_function=act)
    if kind == "DEPTHWISE_CONV_2D":
        options["depth_multiplier"] = out_c // c
    else:
        options["quantized_bias_type"] = 2 if bias == "none-int32" else 0
    return model(kind, ins, [T(oshape, "int16", 0.01, 0)], **options)


@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: "x".join(map(str, c[0])))
@pytest.mark.parametrize("bias", ["int64", "int32", "none", "none-int32"])
@pytest.mark.parametrize("per_channel", [False, True], ids=["per-tensor", "per-channel"])
def test_conv_16x8(case, bias, per_channel, tmp_path):
    rng = np.random.default_rng(11)
    check(_conv_model("CONV_2D", case, 4, bias, per_channel, 1, rng), tmp_path)


@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: "x".join(map(str, c[0])))
@pytest.mark.parametrize("multiplier", [1, 2])
@pytest.mark.parametrize("bias", ["int64", "none"])
def test_depthwise_16x8(case, multiplier, bias, tmp_path):
    rng = np.random.default_rng(12)
    check(_conv_model("DEPTHWISE_CONV_2D", case, case[0][3] * multiplier, bias, True, 0, rng), tmp_path)


@pytest.mark.parametrize("kind", ["CONV_2D", "DEPTHWISE_CONV_2D"])
def test_conv_16x8_zero_points_ignored_as_tflm(kind, tmp_path):
    """TFLite Micro's 16x8 convolutions ignore the zero points (and clamp a fused RELU at the output's):
    a model that has them gets the same outputs from Kiln."""
    rng = np.random.default_rng(4)
    ins = [T([1, 5, 5, 2], "int16", 0.0008, 9),
           T([2, 3, 3, 2] if kind == "CONV_2D" else [1, 3, 3, 2], "int8", 0.01, 0,
             data=rng.integers(-127, 128, [2, 3, 3, 2] if kind == "CONV_2D" else [1, 3, 3, 2]).astype(np.int8))]
    options = dict(padding=0, stride_h=1, stride_w=1, fused_activation_function=1)
    if kind == "DEPTHWISE_CONV_2D":
        options["depth_multiplier"] = 1
    check(model(kind, ins, [T([1, 5, 5, 2], "int16", 0.01, -300)], **options), tmp_path)


@pytest.mark.parametrize("bias,per_channel", [("int64", False), ("int32", True), ("none", False)])
@pytest.mark.parametrize("depth", [22, 41], ids=["depth22", "depth41"])
def test_fully_connected_16x8_qemu_m4(bias, per_channel, depth, tmp_path):
    """The Cortex-M path (SMLALD, two rows at a time; an odd unit count and a depth tail) and, with
    an input zero point, the plain loop."""
    from harness import check_on_qemu_m4
    from opgen import random_records

    rng = np.random.default_rng(depth)
    data = rng.integers(-127, 128, [UNITS, depth]).astype(np.int8)
    scales = [float(s) for s in rng.uniform(0.002, 0.02, UNITS)] if per_channel else 0.01
    w = T([UNITS, depth], "int8", scales, [0] * UNITS if per_channel else 0, data=data)
    ins = [T([3, depth], "int16", 0.0008, 0 if depth == 22 else 9), w]
    if bias != "none":
        ins.append(T([UNITS], bias, data=rng.integers(-40000, 40000, UNITS).astype(bias)))
    m = model("FULLY_CONNECTED", ins, [T([3, UNITS], "int16", 0.005, 0)], fused_activation_function=0)
    check_on_qemu_m4(m, random_records(m, n=12), tmp_path, f"16x8 FC {bias} depth {depth}")


@pytest.mark.parametrize("case", CONV_CASES + [((1, 6, 5, 8), (3, 3), (1, 1), (1, 1), 0)],
                         ids=lambda c: "x".join(map(str, c[0])))
@pytest.mark.parametrize("bias", ["int64", "int32"])
def test_conv_16x8_qemu_m4(case, bias, tmp_path):
    """The Cortex-M path (two output channels at a time, SMLALD over each tap's input channels; an odd
    output channel count, channel tails, padding, strides and dilation)."""
    from harness import check_on_qemu_m4
    from opgen import random_records

    m = _conv_model("CONV_2D", case, 5, bias, True, 0, np.random.default_rng(13))
    check_on_qemu_m4(m, random_records(m, n=12), tmp_path, f"16x8 CONV_2D {case} {bias}")


@pytest.mark.parametrize("case", CONV_CASES + [((1, 6, 5, 8), (3, 3), (1, 1), (1, 1), 0)],
                         ids=lambda c: "x".join(map(str, c[0])))
@pytest.mark.parametrize("multiplier", [1, 2])
def test_depthwise_16x8_qemu_m4(case, multiplier, tmp_path):
    """The Cortex-M path (multiplier 1: four channels at a time by SMLABB / SMLATT, tails of one to
    three channels; 2: a channel at a time; padding, strides, dilation)."""
    from harness import check_on_qemu_m4
    from opgen import random_records

    m = _conv_model("DEPTHWISE_CONV_2D", case, case[0][3] * multiplier, "int64", True, 1, np.random.default_rng(16))
    check_on_qemu_m4(m, random_records(m, n=6), tmp_path, f"16x8 DEPTHWISE_CONV_2D {case} x{multiplier}")


@pytest.mark.parametrize("case, act", [
    (((1, 6, 7, 12), (3, 3), (1, 1), (1, 1), 0), 0),  # the unrolled 3x3 loop, no clamp
    (((1, 9, 8, 8), (5, 3), (2, 1), (1, 2), 0), 3),  # the tap loop, RELU6's clamp after it
    (((1, 5, 5, 10), (1, 2), (1, 1), (1, 1), 1), 0),  # two taps, two channels left for the C tail
], ids=["3x3", "5x3-relu6", "1x2-tail"])
def test_depthwise_16x8_qemu_m4_word_loops(case, act, tmp_path):
    """Multiplier 1 with an even channel count: the assembly loops reading each tap's four int16 by
    LDRD (unrolled for 3x3, a loop over the taps otherwise), with the pixels between the image's
    edges reusing the previous pixel's tap pointers."""
    from harness import check_on_qemu_m4
    from opgen import random_records

    m = _conv_model("DEPTHWISE_CONV_2D", case, case[0][3], "int64", True, act, np.random.default_rng(17))
    check_on_qemu_m4(m, random_records(m, n=6), tmp_path, f"16x8 DEPTHWISE_CONV_2D {case} act {act}")


def test_conv_16x8_pairs_kernel_only_where_int32_is_exact(tmp_path):
    """kiln_conv_s16_pairs sums in int32: taken where sum |w| * 2^15 stays below 2^31 for every
    channel, else the 64-bit loop; both against TFLite Micro on qemu-m4 (depth 1,152 of weights up
    to 127 is past the bound)."""
    from harness import check_on_qemu_m4
    from opgen import random_records

    from kiln import compiler

    for shape, want in (((1, 5, 4, 6), True), ((1, 3, 3, 128), False)):
        m = _conv_model("CONV_2D", (shape, (3, 3), (1, 1), (1, 1), 0), 3, "int64", True, 0, np.random.default_rng(15))
        path = tmp_path / f"c{shape[3]}.tflite"
        path.write_bytes(m)
        assert compiler.compile_model(path).graph.operators[0].params["pairs"] is want
        (tmp_path / str(shape[3])).mkdir()
        check_on_qemu_m4(m, random_records(m, n=4), tmp_path / str(shape[3]), f"16x8 CONV_2D in_c {shape[3]}")


def test_conv_16x8_odd_output_channels(tmp_path):
    check(_conv_model("CONV_2D", CONV_CASES[1], 7, "int64", True, 0, np.random.default_rng(14)), tmp_path)


@pytest.mark.parametrize("units, depth, batches, zp", [(7, 20, 3, 0), (9, 1030, 2, 0), (5, 23, 2, 11)],
                         ids=["tail-group-of-3", "blocks-of-508", "input-zero-point"])
def test_fully_connected_16x8_int16_weights(units, depth, batches, zp, tmp_path):
    """The "weights16" variant (pack_rows_s16_wide: int16 pairs, rows in groups of four, a last group
    of fewer, each row's tail a weight a word), bit-exact with TFLite Micro on the host (the portable
    loop) and on qemu-m4 (SMLAD in blocks of 508 values: depth 1030 takes three; an input zero
    point: the portable loop there too)."""
    import shutil

    from harness import Pair, assert_match
    from opgen import random_records
    from kiln import compiler
    from kiln.boards import host, qemu
    from kiln.compiler import oracle

    rng = np.random.default_rng(units)
    w = T([units, depth], "int8", [float(s) for s in rng.uniform(0.002, 0.02, units)], [0] * units,
          data=rng.integers(-127, 128, [units, depth]).astype(np.int8))
    ins = [T([batches, depth], "int16", 0.0008, zp), w, T([units], "int64", data=rng.integers(-40000, 40000, units))]
    path = tmp_path / "fc16.tflite"
    path.write_bytes(model("FULLY_CONNECTED", ins, [T([batches, units], "int16", 0.02, 3)], fused_activation_function=1))
    records = random_records(path.read_bytes(), n=4)
    ref = oracle.run_tflm(path, records, 1)
    c = compiler.compile_model(path, variants={0: "weights16"})
    assert "kiln_fully_connected_s16_w16(" in c.files[f"{c.name}.c"]
    compiler.write(c, tmp_path / "src")
    exe = host.build(tmp_path / "src", c.name, tmp_path / "build")
    assert_match(Pair(host.run(exe, c.graph, records).outputs, ref, c), "weights16 on the host")
    if not shutil.which(qemu.target("qemu-m4").qemu):
        pytest.skip(f"QEMU is missing: {qemu.SETUP_HINT}")
    c = compiler.compile_model(path, cpu="cortex-m4", variants={0: "weights16"})
    compiler.write(c, tmp_path / "m4")
    elf = qemu.build(tmp_path / "m4", c.name, tmp_path / "m4build", records, graph=c.graph, board="qemu-m4")
    assert_match(Pair(qemu.run(elf, c.graph, board="qemu-m4").outputs, ref, c), "weights16 on qemu-m4")
