"""INT4 weights (two a byte) for FULLY_CONNECTED, CONV_2D and DEPTHWISE_CONV_2D, where TFLite Micro
takes them (int8 inputs): bit for bit against TFLite Micro; elsewhere refused as it refuses them."""
from __future__ import annotations

import numpy as np
import pytest

from opgen import check
from kiln.compiler.tflwriter import ModelWriter


def pack4(values: np.ndarray) -> np.ndarray:
    """-8..7 values two a byte, low nibble first (an odd count leaves the last high nibble 0)."""
    v = (values.reshape(-1).astype(np.int16) & 15).astype(np.uint8)
    if v.size % 2:
        v = np.append(v, np.uint8(0))
    return (v[0::2] | (v[1::2] << 4)).astype(np.uint8)


def layer(kind: str, rng, odd: bool = False) -> bytes:
    w = ModelWriter(description=f"kiln tests: {kind} with int4 weights")
    if kind == "FULLY_CONNECTED":
        n_in, units = (15, 7) if odd else (24, 8)
        x_shape, w_shape, y_shape, options = [2, n_in], [units, n_in], [2, units], {}
        scales = [0.05]  # per-tensor: TFLite Micro refuses per-channel INT4 here
    elif kind == "CONV_2D":
        cin, cout = 3, 5
        x_shape, w_shape, y_shape = [1, 6, 6, cin], [cout, 3, 3, cin], [1, 6, 6, cout]
        options = {"padding": 0, "stride_w": 1, "stride_h": 1}
        scales = [float(s) for s in rng.uniform(0.02, 0.06, cout)]
    else:
        ch = 6
        x_shape, w_shape, y_shape = [1, 5, 5, ch], [1, 3, 3, ch], [1, 5, 5, ch]
        options = {"padding": 0, "stride_w": 1, "stride_h": 1, "depth_multiplier": 1}
        scales = [float(s) for s in rng.uniform(0.02, 0.06, ch)]
    values = rng.integers(-8, 8, w_shape).astype(np.int8)
    x = w.tensor("x", x_shape, "int8", 0.1, -3)
    wt = w.tensor("w", w_shape, "int4", scales, [0] * len(scales), axis=3 if kind == "DEPTHWISE_CONV_2D" else 0,
                  data=pack4(values))
    units = w_shape[3] if kind == "DEPTHWISE_CONV_2D" else w_shape[0]
    bias = w.tensor("b", [units], "int32", [0.1 * s for s in (scales * units)[:units]], [0] * units,
                    data=rng.integers(-300, 300, units).astype(np.int32))
    y = w.tensor("y", y_shape, "int8", 0.4, 2)
    w.op(kind, [x, wt, bias], [y], options)
    w.inputs, w.outputs = [x], [y]
    return w.build()


@pytest.mark.parametrize("kind", ["FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D"])
def test_int4_weights_against_tflm(kind, tmp_path):
    pair = check(layer(kind, np.random.default_rng(4)), tmp_path, what=f"{kind} int4")
    wt = pair.compiled.graph.tensor(1)
    assert wt.int4 and wt.dtype == "int8" and wt.data.min() >= -8 and wt.data.max() <= 7


def test_int4_depthwise_multiplier(tmp_path):
    """A depth multiplier above 1: the multiplier kernel's own filter order, kept as nibbles."""
    rng = np.random.default_rng(6)
    w = ModelWriter(description="kiln tests: int4 depthwise x2")
    scales = [float(s) for s in rng.uniform(0.02, 0.06, 8)]
    x = w.tensor("x", [1, 5, 5, 4], "int8", 0.1, -3)
    wt = w.tensor("w", [1, 3, 3, 8], "int4", scales, [0] * 8, axis=3, data=pack4(rng.integers(-8, 8, [1, 3, 3, 8]).astype(np.int8)))
    bias = w.tensor("b", [8], "int32", [0.1 * s for s in scales], [0] * 8, data=rng.integers(-300, 300, 8).astype(np.int32))
    y = w.tensor("y", [1, 5, 5, 8], "int8", 0.4, 2)
    w.op("DEPTHWISE_CONV_2D", [x, wt, bias], [y], {"padding": 0, "stride_w": 1, "stride_h": 1, "depth_multiplier": 2})
    w.inputs, w.outputs = [x], [y]
    pair = check(w.build(), tmp_path, what="DEPTHWISE_CONV_2D int4 x2")
    assert "nibbles" in pair.compiled.graph.operators[0].params


def test_int4_odd_count_unpacks_the_last_low_nibble(tmp_path):
    check(layer("FULLY_CONNECTED", np.random.default_rng(5), odd=True), tmp_path, what="7x15 int4 weights")


def test_int4_elsewhere_is_refused(tmp_path):
    from kiln import compiler
    from kiln.errors import UnsupportedError

    w = ModelWriter()
    x = w.tensor("x", [8], "int8", 0.1, 0)
    c = w.tensor("c", [8], "int4", 0.1, 0, data=pack4(np.arange(-4, 4, dtype=np.int8)))
    y = w.tensor("y", [8], "int8", 0.1, 0)
    w.op("ADD", [x, c], [y])
    w.inputs, w.outputs = [x], [y]
    path = tmp_path / "add_int4.tflite"
    path.write_bytes(w.build())
    with pytest.raises(UnsupportedError, match="operator 0 \\(ADD\\): input 1 is INT4"):
        compiler.compile_model(path)


def fc4(units: int, depth: int, batches: int, rng, per_channel: bool = False) -> bytes:
    """TFLite Micro takes INT4 FULLY_CONNECTED weights per-tensor only."""
    w = ModelWriter(description="kiln tests: int4 FULLY_CONNECTED")
    x = w.tensor("x", [batches, depth], "int8", 0.1, -3)
    scales = [float(s) for s in rng.uniform(0.02, 0.06, units if per_channel else 1)]
    wt = w.tensor("w", [units, depth], "int4", scales, [0] * len(scales),
                  data=pack4(rng.integers(-8, 8, (units, depth))))
    b = w.tensor("b", [units], "int32", 0.1 * scales[0], 0, data=rng.integers(-300, 300, units).astype(np.int32))
    y = w.tensor("y", [batches, units], "int8", 0.5, 2)
    w.op("FULLY_CONNECTED", [x, wt, b], [y])
    w.inputs, w.outputs = [x], [y]
    return w.build()


# groups of four rows with and without leftovers, depths with and without a tail, batches
SHAPES = [(8, 32, 1), (11, 37, 2), (4, 4, 3), (3, 9, 1), (64, 250, 1)]


@pytest.mark.parametrize("units,depth,batches", SHAPES)
def test_int4_fully_connected_keeps_nibbles(units, depth, batches, tmp_path):
    """The default: weights stay two a byte (kiln_fully_connected_s4), bit-exact with TFLite Micro."""
    pair = check(fc4(units, depth, batches, np.random.default_rng(units)), tmp_path, what=f"{units}x{depth} int4")
    assert "kiln_fully_connected_s4(" in pair.compiled.files[f"{pair.compiled.name}.c"]


def test_int4_fully_connected_on_qemu_m4(tmp_path):
    """The Cortex-M4 path (nibbles masked into the top of each byte, SXTB16, SMLAD) on every shape."""
    from harness import check_on_qemu_m4
    from opgen import random_records

    for k, shape in enumerate(SHAPES):
        data = fc4(*shape, np.random.default_rng(k))
        (tmp_path / str(k)).mkdir()
        check_on_qemu_m4(data, random_records(data, n=4), tmp_path / str(k), f"int4 FC {shape} on qemu-m4")


def test_int4_per_channel_fully_connected_is_refused_as_tflm(tmp_path):
    from opgen import tflm_refuses

    from kiln import compiler
    from kiln.errors import UnsupportedError

    data = fc4(8, 16, 1, np.random.default_rng(2), per_channel=True)
    path = tmp_path / "pc.tflite"
    path.write_bytes(data)
    with pytest.raises(UnsupportedError, match="per-tensor only"):
        compiler.compile_model(path)
    assert tflm_refuses(data)


def test_int4_variants_agree_and_nibbles_halve_the_flash(tmp_path):
    from kiln import compiler

    path = tmp_path / "fc4.tflite"
    path.write_bytes(fc4(64, 256, 1, np.random.default_rng(9)))
    flash = {v: compiler.compile_model(path, variants={0: v}).const_bytes for v in ("weights4", "weights8", "weights16")}
    assert flash["weights8"] - flash["weights4"] >= 64 * 256 // 2 - 64  # the body halves; tails stay int8
    assert flash["weights16"] > flash["weights8"]


def conv4(kind: str, x_shape, units: int, kernel=(3, 3), stride=1, multiplier=1, rng=None, int4=True) -> bytes:
    """A CONV_2D or DEPTHWISE_CONV_2D with per-channel INT4 (or, int4=False, the same int8) weights."""
    rng = rng or np.random.default_rng(0)
    w = ModelWriter(description=f"kiln tests: {kind} with int4 weights")
    cin = x_shape[3]
    if kind == "CONV_2D":
        w_shape, axis, options = [units, *kernel, cin], 0, {}
    else:
        units = cin * multiplier
        w_shape, axis, options = [1, *kernel, units], 3, {"depth_multiplier": multiplier}
    options.update(padding=0, stride_w=stride, stride_h=stride)
    oh, ow = -(-x_shape[1] // stride), -(-x_shape[2] // stride)
    scales = [float(s) for s in rng.uniform(0.02, 0.06, units)]
    values = rng.integers(-8, 8, w_shape).astype(np.int8)
    x = w.tensor("x", list(x_shape), "int8", 0.1, -3)
    wt = w.tensor("w", w_shape, "int4" if int4 else "int8", scales, [0] * units, axis=axis,
                  data=pack4(values) if int4 else values)
    b = w.tensor("b", [units], "int32", [0.1 * s for s in scales], [0] * units,
                 data=rng.integers(-300, 300, units).astype(np.int32))
    y = w.tensor("y", [x_shape[0], oh, ow, units], "int8", 0.6, 2)
    w.op(kind, [x, wt, b], [y], options)
    w.inputs, w.outputs = [x], [y]
    return w.build()


CONV4 = {  # each of the kernels' filter formats: im2col, taps in place, odd channel counts, the DW forms
    "conv-im2col": ("CONV_2D", (1, 7, 6, 3), 5, (3, 3), 1, 1),
    "conv-direct": ("CONV_2D", (1, 6, 6, 8), 7, (3, 3), 2, 1),
    "conv-1x1": ("CONV_2D", (1, 5, 5, 12), 6, (1, 1), 1, 1),
    "conv-1ch-planes": ("CONV_2D", (1, 9, 8, 1), 6, (3, 3), 1, 1),  # one channel: a depthwise layer on planes
    "depthwise-x1": ("DEPTHWISE_CONV_2D", (1, 6, 5, 7), 0, (3, 3), 1, 1),
    "depthwise-x2": ("DEPTHWISE_CONV_2D", (1, 5, 5, 3), 0, (3, 3), 1, 2),
    "depthwise-1ch-x8": ("DEPTHWISE_CONV_2D", (1, 10, 8, 1), 0, (5, 4), 2, 8),
    # layers planes takes on a DSP board (test_int4_depthwise_planes_on_qemu_m4): 3x3 rows of 9 at
    # multiplier 1, a 5x5 kernel (the wide rows)
    "depthwise-planes-x1": ("DEPTHWISE_CONV_2D", (1, 7, 9, 8), 0, (3, 3), 1, 1),
    "depthwise-planes-5x5": ("DEPTHWISE_CONV_2D", (1, 8, 9, 6), 0, (5, 5), 1, 1),
}


@pytest.mark.parametrize("case", CONV4)
def test_int4_convolutions_keep_nibbles(case, tmp_path):
    """CONV_2D and DEPTHWISE_CONV_2D keep INT4 weights two a byte in flash (the packed stream's
    weights as nibbles, rebuilt in scratch at each run): bit-exact with TFLite Micro, and the
    weight bytes about half of the same layer's with int8 weights."""
    from kiln import compiler

    kind, xs, units, kernel, stride, mult = CONV4[case]
    data = conv4(kind, xs, units, kernel, stride, mult, np.random.default_rng(len(case)))
    pair = check(data, tmp_path, what=f"{case} int4")
    assert "kiln_expand_s4(" in pair.compiled.files[f"{pair.compiled.name}.c"]
    p8 = tmp_path / "int8.tflite"
    p8.write_bytes(conv4(kind, xs, units, kernel, stride, mult, np.random.default_rng(len(case)), int4=False))
    n = int(np.prod(pair.compiled.graph.tensor(1).shape))
    saved = compiler.compile_model(p8).const_bytes - pair.compiled.const_bytes
    assert saved >= n // 2 - 8 * (units or xs[3] * mult), f"{case}: only {saved} B saved on {n} weights"


def test_int4_convolutions_on_qemu_m4(tmp_path):
    from harness import check_on_qemu_m4
    from opgen import random_records

    for case, (kind, xs, units, kernel, stride, mult) in CONV4.items():
        data = conv4(kind, xs, units, kernel, stride, mult, np.random.default_rng(len(case)))
        (tmp_path / case).mkdir()
        check_on_qemu_m4(data, random_records(data, n=4), tmp_path / case, f"{case} int4 on qemu-m4")


@pytest.mark.parametrize("case", ["depthwise-x2", "depthwise-planes-x1", "depthwise-planes-5x5"])
def test_int4_depthwise_planes_on_qemu_m4(case, tmp_path):
    """The planes layout with INT4 weights, through a tuning log beside the model: its stream's
    doubled int16 weights kept as the nibbles of their halves (runs of kind 2 with RUN_TWICE),
    rebuilt at each run, bit-exact with TFLite Micro on qemu-m4."""
    import json

    from kiln.compiler import importer, tuning
    from test_qemu import check_against_tflm
    from opgen import random_records

    kind, xs, units, kernel, stride, mult = CONV4[case]
    data = conv4(kind, xs, units, kernel, stride, mult, np.random.default_rng(len(case)))
    path = tmp_path / f"{case}.tflite"
    path.write_bytes(data)
    g = importer.load(path)
    (op,) = [o for o in g.operators if tuning.variants(o, g)]
    assert "planes" in tuning.variants(op, g)
    (tmp_path / "kiln-tuning.json").write_text(json.dumps({"format": tuning.FORMAT, "cpus": {"cortex-m4": {
        tuning.signature(op, g): {"variant": "planes"}}}}))
    c, _ = check_against_tflm(path, random_records(data, n=4), tmp_path / "run", f"{case} int4 planes")
    assert c.graph.operators[op.index].variant == "planes"
    assert "kiln_expand_s4(" in c.files[f"{c.name}.c"] and "_planes" in c.files[f"{c.name}.c"]


@pytest.mark.parametrize("variant", ["rowpairs", "rowpairs_still"])
@pytest.mark.parametrize("xs, stride", [((1, 9, 10, 16), 1), ((1, 11, 9, 8), 2)], ids=["stride1", "stride2"])
def test_int4_depthwise_rowpairs_on_qemu_m4(variant, xs, stride, tmp_path):
    """The rowpairs layouts with INT4 weights (the ring drifting or still), through a tuning log: the
    stream (its head, then each group's words; a still ring's sections twice) rebuilt from nibbles
    at each run, bit-exact with TFLite Micro on qemu-m4."""
    import json

    from kiln.compiler import importer, tuning
    from test_qemu import check_against_tflm
    from opgen import random_records

    data = conv4("DEPTHWISE_CONV_2D", xs, 0, stride=stride, rng=np.random.default_rng(3))
    path = tmp_path / "dw.tflite"
    path.write_bytes(data)
    g = importer.load(path)
    (op,) = g.operators
    assert variant in tuning.variants(op, g)
    (tmp_path / "kiln-tuning.json").write_text(json.dumps({"format": tuning.FORMAT, "cpus": {"cortex-m4": {
        tuning.signature(op, g): {"variant": variant}}}}))
    c, _ = check_against_tflm(path, random_records(data, n=3), tmp_path / "run", f"int4 {variant} s{stride}")
    assert c.graph.operators[0].variant == variant and "expanded_bytes" in c.graph.operators[0].params
