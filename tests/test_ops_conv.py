"""Convolutional operators on small generated models, against TFLite Micro, including awkward
shapes: 1x1 images, channel counts that are not a multiple of 4, stride 2 with SAME padding,
dilation 2, depth multiplier 2, single-channel depthwise with multipliers 1 to 8."""
from __future__ import annotations

import pytest

import modelgen as mg
from test_ops import check

CONV_CASES = [
    dict(input_shape=(1, 8, 8, 3), out_channels=4, kernel=(3, 3)),                        # narrow input: im2col
    dict(input_shape=(1, 8, 8, 8), out_channels=6, kernel=(3, 3)),                        # taps in place
    dict(input_shape=(1, 9, 7, 8), out_channels=5, kernel=(3, 3), strides=(2, 2)),        # stride 2, SAME, odd sizes
    dict(input_shape=(1, 9, 9, 4), out_channels=3, kernel=(3, 3), strides=(2, 2), padding="VALID"),
    dict(input_shape=(1, 10, 10, 4), out_channels=4, kernel=(3, 3), dilation=(2, 2)),     # dilation 2
    dict(input_shape=(1, 10, 8, 5), out_channels=7, kernel=(3, 2), dilation=(2, 1), strides=(1, 2)),
    dict(input_shape=(1, 1, 1, 8), out_channels=4, kernel=(1, 1)),                        # 1x1 image
    dict(input_shape=(1, 1, 1, 6), out_channels=3, kernel=(3, 3)),                        # 1x1 image, 3x3 SAME
    dict(input_shape=(1, 6, 6, 16), out_channels=8, kernel=(1, 1)),                       # pointwise
    dict(input_shape=(1, 6, 6, 13), out_channels=9, kernel=(1, 1), strides=(2, 2)),       # pointwise stride 2, odd C
    dict(input_shape=(2, 5, 5, 4), out_channels=4, kernel=(3, 3)),                        # batch 2
    dict(input_shape=(1, 12, 6, 1), out_channels=8, kernel=(5, 3), strides=(2, 2)),       # first-layer shape
    dict(input_shape=(2, 9, 8, 1), out_channels=6, kernel=(3, 3), strides=(2, 1)),        # one channel: planes
    dict(input_shape=(1, 4, 4, 4), out_channels=3, kernel=(9, 9)),                        # kernel above the tap limit
]


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_conv2d(case, dtype, tmp_path):
    check(mg.conv2d(21, dtype=dtype, **case), tmp_path)


@pytest.mark.parametrize("activation", ["RELU", "RELU6"])
@pytest.mark.parametrize("per_channel,bias", [(True, False), (False, True)])
def test_conv2d_options(activation, per_channel, bias, tmp_path):
    check(mg.conv2d(22, input_shape=(1, 6, 6, 8), out_channels=5, activation=activation,
                    per_channel=per_channel, bias=bias), tmp_path)


DW_CASES = [
    dict(input_shape=(1, 8, 8, 3)),
    dict(input_shape=(1, 8, 8, 8), depth_multiplier=2),
    dict(input_shape=(1, 9, 7, 5), strides=(2, 2)),
    dict(input_shape=(1, 9, 9, 4), strides=(2, 2), padding="VALID"),
    dict(input_shape=(1, 10, 10, 6), dilation=(2, 2)),
    dict(input_shape=(1, 1, 1, 7), depth_multiplier=2),
    dict(input_shape=(2, 5, 6, 3), kernel=(5, 3), strides=(1, 2)),
    dict(input_shape=(1, 6, 5, 3), depth_multiplier=3, strides=(2, 1)),  # an odd multiplier: pairs and a last one
    # one input channel (int8: computed as a CONV_2D of M filters)
    dict(input_shape=(1, 12, 10, 1), depth_multiplier=8),                                 # grayscale first layer
    dict(input_shape=(1, 20, 10, 1), kernel=(10, 8), strides=(2, 2), depth_multiplier=8),  # spectrogram, 10x8
    dict(input_shape=(2, 7, 5, 1), depth_multiplier=3, padding="VALID", dilation=(2, 1)),
    dict(input_shape=(1, 6, 6, 1)),                                                       # multiplier 1
]


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("case", DW_CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_depthwise_conv2d(case, dtype, tmp_path):
    check(mg.depthwise_conv2d(23, dtype=dtype, **case), tmp_path)


PLANES_CASES = DW_CASES + [
    dict(input_shape=(1, 11, 9, 5), dilation=(3, 2)),                         # dilation phases of 3 and 2
    dict(input_shape=(1, 12, 13, 3), kernel=(7, 7), strides=(3, 3)),          # a 7x7 kernel, stride 3
    dict(input_shape=(1, 9, 10, 4), kernel=(2, 3), strides=(2, 1), dilation=(2, 2)),
    dict(input_shape=(1, 9, 12, 4), strides=(2, 2), dilation=(2, 2), padding="VALID"),
    dict(input_shape=(1, 8, 9, 8), kernel=(4, 4), strides=(2, 2), activation="RELU6"),
    dict(input_shape=(1, 9, 11, 6), kernel=(5, 5)),                           # rows_wide: unrolled 5x5
    dict(input_shape=(1, 10, 9, 5), kernel=(4, 6), dilation=(2, 2), depth_multiplier=2),  # an even width
    dict(input_shape=(1, 13, 12, 5), kernel=(5, 3), strides=(2, 2), activation="RELU"),   # W2, k_h != k_w
    dict(input_shape=(1, 12, 13, 3), kernel=(7, 7), strides=(2, 2)),          # W2 unrolled
    dict(input_shape=(2, 11, 15, 5), kernel=(5, 5), strides=(2, 2), activation="RELU"),  # W2 by four, three alone
]


@pytest.mark.parametrize("case", PLANES_CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_depthwise_planes_under_sanitizers(case, tmp_path):
    """The "planes" layout (kiln_depthwise_conv_s8_planes, its portable C) on every shape, through a
    tuning log beside the model, built with AddressSanitizer and UBSan: TFLite Micro's bits, and no read
    past the arena (the ring of rows sits in the operator's scratch)."""
    forced_under_sanitizers(mg.depthwise_conv2d(25, **case), "planes", 2, tmp_path)


@pytest.mark.parametrize("case", [
    dict(input_shape=(1, 11, 9, 2), out_channels=4),                                       # 3x6 at stride 2
    dict(input_shape=(2, 10, 9, 2), out_channels=6, kernel=(5, 5), activation="RELU6"),    # 5x10, clamped
    dict(input_shape=(1, 12, 9, 2), out_channels=5, kernel=(4, 3), strides=(2, 1), dilation=(3, 1), padding="VALID"),
    dict(input_shape=(1, 7, 8, 2), out_channels=3, kernel=(1, 1)),
], ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_two_channel_conv_planes_under_sanitizers(case, tmp_path):
    """A CONV_2D of two input channels on planes (depthwise.as_one_channel: a row's pixels' pairs as one
    channel, the kernel twice as wide at stride 2), in portable C under AddressSanitizer and UBSan:
    TFLite Micro's bits, no read past the ring."""
    p = forced_under_sanitizers(mg.conv2d(32, **case), "planes", 3, tmp_path)
    assert (p["in_c"], p["k_w"], p["stride_w"]) == (1, 2 * case.get("kernel", (3, 3))[1], 2)


def forced_under_sanitizers(model, variant: str, seed: int, tmp_path):
    """model's one operator in `variant` (through a tuning log beside it) against TFLite Micro, built
    with AddressSanitizer and UBSan on the host; returns the operator's params."""
    import json

    import numpy as np
    from harness import assert_match, compile_and_run
    from kiln.compiler import importer, tuning

    from test_ops_layers import SAN

    path = tmp_path / "model.tflite"
    path.write_bytes(model.data)
    g = importer.load(path)
    (op,) = g.operators
    assert variant in tuning.variants(op, g)
    (tmp_path / "kiln-tuning.json").write_text(json.dumps({"format": tuning.FORMAT, "cpus": {"cortex-m4": {
        tuning.signature(op, g): {"variant": variant}}}}))
    rng = np.random.default_rng(seed)
    pair = compile_and_run(path, [model.random_inputs(rng) for _ in range(3)], tmp_path, **SAN)
    assert pair.compiled.graph.operators[0].variant == variant
    assert_match(pair, f"{model.description} ({variant})")
    return pair.compiled.graph.operators[0].params


@pytest.mark.parametrize("case, default", [
    (dict(input_shape=(1, 8, 8, 8)), "pairs"),           # multiplier 1: rowpairs or planes by an arena trial on a board (below)
    (dict(input_shape=(1, 8, 8, 8), depth_multiplier=2), "planes"),
    (dict(input_shape=(1, 9, 9, 3), depth_multiplier=3, strides=(2, 2)), "planes"),
    (dict(input_shape=(1, 12, 10, 1), depth_multiplier=8), "planes"),           # one input channel
    (dict(input_shape=(1, 20, 10, 1), kernel=(10, 8), strides=(2, 2), depth_multiplier=8), "im2col"),
    (dict(input_shape=(1, 8, 8, 8), kernel=(5, 5), depth_multiplier=2), "planes"),   # rows_wide
    (dict(input_shape=(1, 8, 8, 8), kernel=(5, 5), depth_multiplier=2, strides=(3, 3)), "multiplier"),  # C walk
    (dict(input_shape=(1, 8, 8, 8), depth_multiplier=2, activation="RELU6"), "multiplier"),  # a narrower clamp
])
def test_depthwise_untuned_default(case, default, tmp_path):
    """depthwise.planes_first: the layout an untuned int8 DEPTHWISE_CONV_2D takes, first of its variants."""
    from kiln.compiler import importer, tuning

    path = tmp_path / "model.tflite"
    path.write_bytes(mg.depthwise_conv2d(26, **case).data)
    g = importer.load(path)
    (op,) = g.operators
    assert tuning.variants(op, g)[0] == default


@pytest.mark.parametrize("case, default", [
    (dict(input_shape=(1, 12, 10, 1), out_channels=8), "planes"),                # 2.1 against 5.3 (im2col16)
    (dict(input_shape=(1, 12, 10, 1), out_channels=4, strides=(2, 2)), "planes"),
    (dict(input_shape=(1, 12, 10, 1), out_channels=8, activation="RELU"), "planes"),  # a lower clamp: 2.5 against 5.7
    (dict(input_shape=(1, 12, 10, 1), out_channels=8, activation="RELU6"), "im2col"),  # an upper one: 7.3 against 5.7
    (dict(input_shape=(1, 20, 10, 1), out_channels=8, kernel=(10, 4), strides=(2, 2)), "im2col"),  # kws' first layer
    (dict(input_shape=(1, 14, 14, 1), out_channels=6, kernel=(5, 5), padding="VALID", activation="RELU"), "planes"),  # LeNet
    (dict(input_shape=(1, 14, 14, 1), out_channels=32, kernel=(5, 5)), "im2col"),  # many filters: im2col's
    # two channels at stride 1 without dilation across: one channel of 2 x in_w values (as_one_channel)
    (dict(input_shape=(1, 12, 10, 2), out_channels=8), "planes"),                # 1.2 against 3.0 (im2col16)
    (dict(input_shape=(1, 12, 10, 2), out_channels=16, kernel=(5, 5), activation="RELU6"), "planes"),
    (dict(input_shape=(1, 12, 10, 2), out_channels=64), "im2col"),                 # many filters: im2col's
    (dict(input_shape=(1, 12, 10, 2), out_channels=8, kernel=(7, 7)), "im2col"),    # 7x7: no unrolled loop
    (dict(input_shape=(1, 12, 10, 2), out_channels=8, strides=(2, 2)), "im2col"),  # stride 2: no W2 form
    (dict(input_shape=(1, 12, 10, 2), out_channels=8, dilation=(2, 2)), "im2col"),
    (dict(input_shape=(1, 12, 10, 3), out_channels=8), "im2col"),
])
def test_one_channel_conv_untuned_default(case, default, tmp_path):
    """depthwise.single_channel_conv: a CONV_2D of one input channel (or two, side by side) takes the
    depthwise layouts' untuned choice (planes_first) as a layer of multiplier M, else its own im2col;
    and computes it."""
    from kiln.compiler import importer, tuning

    path = tmp_path / "model.tflite"
    path.write_bytes(mg.conv2d(31, **case).data)
    g = importer.load(path)
    (op,) = g.operators
    assert tuning.variants(op, g)[0] == default
    two_channels = case["input_shape"][3] == 2 and case.get("strides", (1, 1))[1] == 1 and "dilation" not in case
    assert ("planes" in tuning.variants(op, g)) == (case["input_shape"][3] == 1 or two_channels)
    check(mg.conv2d(31, **case), tmp_path)


@pytest.mark.parametrize("case, board, layout", [
    (dict(input_shape=(1, 16, 16, 32)), dict(flash_bytes=1 << 22, ram_bytes=1 << 22), "rowpairs"),  # a DSP board
    (dict(input_shape=(1, 16, 16, 32)), dict(), "packed"),                   # no board: no trial
    (dict(input_shape=(1, 16, 16, 32)), dict(flash_bytes=1 << 22, ram_bytes=16384), "packed"),  # half the RAM: 8 KB
    # half of 4 KB of flash: 2,048 B less the model's 416 B of weights and bias, under the stream's 2,208
    # more: planes' trial takes the layer instead (its stream is the size of pairs')
    (dict(input_shape=(1, 16, 16, 32)), dict(flash_bytes=4096, ram_bytes=1 << 22), "planes"),
    (dict(input_shape=(1, 25, 5, 64)), dict(flash_bytes=1 << 22, ram_bytes=1 << 22), "rowpairs"),  # kws's rows of 5
    # stride 2: the output is a quarter of the input, the ring (5.4 KB, still 4.4 KB) would pass the allowance
    (dict(input_shape=(1, 16, 16, 32), strides=(2, 2)), dict(flash_bytes=1 << 22, ram_bytes=1 << 22), "packed"),
    # a drifting ring (5,248 B) passes the allowance, a still one (4,224 B) meets it: its stream twice
    (dict(input_shape=(1, 32, 32, 16), strides=(2, 2)), dict(flash_bytes=1 << 22, ram_bytes=1 << 22), "rowpairs_still"),
    # ... unless the flash has room for the drifting ring's stream only (816 B left: 448 B, then 656 more)
    (dict(input_shape=(1, 32, 32, 16), strides=(2, 2)), dict(flash_bytes=2048, ram_bytes=1 << 22), "packed"),
    (dict(input_shape=(1, 4, 4, 8), strides=(2, 2)), dict(flash_bytes=1 << 22, ram_bytes=1 << 22), "packed"),  # rows of 2
    (dict(input_shape=(1, 12, 12, 8), strides=(3, 3)), dict(flash_bytes=1 << 22, ram_bytes=1 << 22), "packed"),
    # RELU6 at this output scale clamps below at the zero point (-107) and above past 127: a lower clamp
    (dict(input_shape=(1, 16, 16, 32), activation="RELU6"), dict(flash_bytes=1 << 22, ram_bytes=1 << 22), "rowpairs"),
    (dict(input_shape=(1, 16, 16, 32), activation="RELU"), dict(flash_bytes=1 << 22, ram_bytes=1 << 22), "rowpairs"),
])
def test_rowpairs_untuned_on_3x3_layers_within_the_bound(case, board, layout, tmp_path):
    """On a DSP board a 3x3 multiplier-1 layer (channels a multiple of 4, stride 1, or 2 with rows of
    3 or more: depthwise.rowpairs_leads) takes "rowpairs" untuned (2.0-2.6 instructions per MAC
    against 2.9-3.2 for pairs) where its stream keeps the constants within half the board's flash and
    its ring keeps the arena within its allowance (scratch_layouts.allowance: the activations' lower
    bound and TFLite Micro's per-channel arrays) and half the board's RAM, else pairs ("packed") or
    planes (its own trial, after); no board, no trial. Where the drifting ring would pass the bound
    and the flash allows its stream twice, the still ring ("rowpairs_still"). The arena never passes
    the allowance."""
    from kiln import compiler
    from kiln.compiler import scratch_layouts

    path = tmp_path / "model.tflite"
    path.write_bytes(mg.depthwise_conv2d(29, **case).data)
    c = compiler.compile_model(path, cpu="cortex-m4", tuning_log=None, **board)
    op = c.graph.operators[0]
    assert op.variant == layout if layout.startswith("rowpairs") else layout in op.params
    assert c.graph.arena_bytes <= scratch_layouts.allowance(compiler.compile_model(path, tuning_log=None).graph)


BIG = dict(flash_bytes=1 << 22, ram_bytes=1 << 22)


@pytest.mark.parametrize("case, board, planes", [
    (dict(input_shape=(1, 16, 16, 16), kernel=(7, 7)), BIG, True),            # past the allowance
    (dict(input_shape=(1, 16, 16, 16), kernel=(7, 7)), dict(flash_bytes=1 << 22, ram_bytes=16384), False),
    (dict(input_shape=(1, 16, 16, 16), kernel=(7, 7)), dict(), False),        # no board: no trial
    (dict(input_shape=(1, 16, 16, 16), kernel=(5, 5), strides=(2, 2), activation="RELU6"), BIG, True),
    (dict(input_shape=(1, 16, 16, 16), kernel=(5, 5), strides=(3, 3)), BIG, False),  # the C walk: pairs
    (dict(input_shape=(1, 16, 16, 16), dilation=(2, 2)), BIG, True),          # 3x3 dilated: within the allowance
])
def test_planes_untuned_on_other_widths_and_dilation(case, board, planes, tmp_path):
    """On a DSP board a multiplier-1 layer of another kernel width (stride 1, or 2 without dilation)
    takes planes untuned within half the board's RAM even past the allowance (5x5 2.3
    instructions per MAC against 3.6 for pairs, 7x7 1.8 against 3.3); a dilated 3x3 layer within the
    allowance (2.9 against 3.8)."""
    from kiln import compiler
    from kiln.compiler import scratch_layouts

    path = tmp_path / "model.tflite"
    path.write_bytes(mg.depthwise_conv2d(30, **case).data)
    c = compiler.compile_model(path, cpu="cortex-m4", tuning_log=None, **board)
    assert (c.graph.operators[0].variant == "planes") == planes
    if board.get("ram_bytes"):
        assert c.graph.arena_bytes <= board["ram_bytes"] // 2
    if not planes or tuple(case.get("kernel", (3, 3))) == (3, 3):
        assert c.graph.arena_bytes <= scratch_layouts.allowance(compiler.compile_model(path, tuning_log=None).graph)


@pytest.mark.parametrize("cpu", ["cortex-m0plus", "cortex-m55"])
def test_planes_keeps_the_lead_over_rows_on_other_cpus(cpu, tmp_path):
    """Where planes is the default, CPUs whose untuned defaults prefer "rows" (Thumb-1, Helium) keep it
    (one input channel x8, 3x3 at stride 2: 11.5 against 23.3 instructions per MAC on the M0+, 2.6
    against 4.6 on the M55); a 10x8 kernel, which planes does not lead, still takes rows there."""
    from kiln.compiler import importer, tuning

    path = tmp_path / "model.tflite"
    path.write_bytes(mg.depthwise_conv2d(27, input_shape=(1, 12, 10, 1), depth_multiplier=8, strides=(2, 2)).data)
    g = importer.load(path)
    assert tuning.cpu_defaults(g, cpu) == {}
    assert tuning.candidates(g.operators[0], g, cpu)[0] == "planes"
    path.write_bytes(mg.depthwise_conv2d(28, input_shape=(1, 20, 10, 1), kernel=(10, 8), strides=(2, 2),
                                         depth_multiplier=8).data)
    g = importer.load(path)
    assert tuning.cpu_defaults(g, cpu) == {0: "rows"}


@pytest.mark.parametrize("activation", ["RELU", "RELU6"])
def test_depthwise_options(activation, tmp_path):
    check(mg.depthwise_conv2d(24, input_shape=(1, 6, 6, 8), activation=activation, per_channel=False), tmp_path)


POOL_CASES = [
    dict(input_shape=(1, 8, 8, 3), filter_size=(2, 2), strides=(2, 2), padding="VALID"),
    dict(input_shape=(1, 9, 7, 5), filter_size=(3, 3), strides=(2, 2), padding="SAME"),
    dict(input_shape=(1, 5, 5, 4), filter_size=(5, 5), strides=(1, 1), padding="VALID"),
    dict(input_shape=(2, 6, 6, 3), filter_size=(3, 2), strides=(1, 2), padding="SAME"),
    dict(input_shape=(1, 1, 1, 6), filter_size=(1, 1), strides=(1, 1), padding="VALID"),
]


@pytest.mark.parametrize("kind", ["AVERAGE", "MAX"])
@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("case", POOL_CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_pool2d(kind, dtype, case, tmp_path):
    check(mg.pool2d(25, kind=kind, dtype=dtype, **case), tmp_path)


@pytest.mark.parametrize("kind", ["AVERAGE", "MAX"])
@pytest.mark.parametrize("act", [0, 3])
@pytest.mark.parametrize("case", POOL_CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_pool2d_int16(kind, act, case, tmp_path):
    """16x8 pools: int16 in and out, one quantization (TFLite Micro requires it), fused activations."""
    from kiln.compiler.ops.conv import out_size
    from opgen import T, model
    from opgen import check as check_against_tflm

    n, h, w, c = case["input_shape"]
    (kh, kw), (sh, sw) = case["filter_size"], case["strides"]
    pad = {"SAME": 0, "VALID": 1}[case["padding"]]
    shape_out = [n, out_size(pad, h, kh, sh, 1), out_size(pad, w, kw, sw, 1), c]
    q = (0.0002, 0)  # RELU6's 6.0 at 30,000: a max of random values is not always clipped
    m = model(f"{kind}_POOL_2D", [T(list(case["input_shape"]), "int16", *q)], [T(shape_out, "int16", *q)],
              padding=pad, stride_h=sh, stride_w=sw, filter_height=kh, filter_width=kw, fused_activation_function=act)
    check_against_tflm(m, tmp_path)


@pytest.mark.parametrize("kind", ["AVERAGE", "MAX"])
def test_pool2d_fused_relu6(kind, tmp_path):
    check(mg.pool2d(26, kind=kind, input_shape=(1, 6, 6, 4), activation="RELU6"), tmp_path)


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("paddings", [((0, 0), (1, 2), (2, 1), (0, 0)), ((0, 0), (0, 0), (0, 0), (1, 3)),
                                      ((1, 0), (0, 1), (1, 1), (0, 0))])
def test_pad(dtype, paddings, tmp_path):
    check(mg.pad(27, dtype=dtype, paddings=paddings), tmp_path)


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("shapes,axis", [(((1, 4, 4, 3), (1, 4, 4, 5)), -1), (((1, 2, 4, 3), (1, 3, 4, 3), (1, 1, 4, 3)), 1),
                                         (((2, 3), (2, 1)), 1), (((1, 3), (2, 3)), 0)])
def test_concatenation(dtype, shapes, axis, tmp_path):
    check(mg.concatenation(28, dtype=dtype, shapes=shapes, axis=axis), tmp_path)


SLICES = [
    dict(begin=(0, 1, 0, 0), end=(1, 7, 8, 3), strides=(1, 2, 1, 1)),
    dict(begin=(0, -3, 1, 0), end=(1, 8, -1, 2), strides=(1, 1, 3, 1)),
    dict(begin=(0, 7, 0, 2), end=(1, 0, 8, 0), strides=(1, -2, 1, -1)),
    dict(begin=(0, 2, 0, 0), end=(1, 3, 8, 3), strides=(1, 1, 1, 1), shrink_axis_mask=0b0010),
    dict(begin=(0, 5, 3, 1), end=(0, 0, 0, 0), strides=(1, 1, 1, 1), begin_mask=0b0101, end_mask=0b1111),
]


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("case", SLICES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_strided_slice(dtype, case, tmp_path):
    check(mg.strided_slice(29, dtype=dtype, **case), tmp_path)


def test_residual_add(tmp_path):
    """ResNet's pattern: ADD of two int8 tensors of the same shape with different quantization."""
    check(mg.elementwise(30, kind="ADD", shape_a=(1, 8, 8, 16), shape_b=(1, 8, 8, 16), activation="RELU"), tmp_path)


@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_conv_pool_chain(dtype, tmp_path):
    check(mg.conv_pool(31, dtype=dtype), tmp_path)


@pytest.mark.parametrize("dtype,same_qparams", [("int8", True), ("int8", False), ("float32", False)])
@pytest.mark.parametrize("keep_dims", [True, False])
@pytest.mark.parametrize("shape", [(1, 4, 4, 8), (2, 5, 3, 3), (1, 7, 7, 5)])
def test_mean_height_width(dtype, keep_dims, same_qparams, shape, tmp_path):
    check(mg.mean(32, dtype=dtype, input_shape=shape, keep_dims=keep_dims, same_qparams=same_qparams), tmp_path)


ROWPAIRS_CASES = [
    dict(input_shape=(1, 8, 8, 8)),                                           # stride 1: both sections
    dict(input_shape=(1, 9, 7, 4), strides=(2, 2)),                           # stride 2, odd sizes, SAME
    dict(input_shape=(1, 10, 9, 12), strides=(2, 2), padding="VALID"),        # VALID: no padding column
    dict(input_shape=(2, 5, 6, 8), activation="RELU6"),                       # two images, a clamp
    dict(input_shape=(1, 7, 5, 16), strides=(1, 2), activation="RELU"),       # strides 1 x 2, lower clamp
    dict(input_shape=(1, 11, 8, 4), strides=(3, 3)),                          # stride 3: pair-rows skipped
    dict(input_shape=(1, 1, 1, 8)),                                           # one pixel, all padding
    dict(input_shape=(1, 4, 40, 64)),                                         # several passes (chunks)
    dict(input_shape=(1, 9, 7, 4), depth_multiplier=2),                     # multiplier 2: each channel twice
    dict(input_shape=(2, 8, 9, 8), depth_multiplier=2, strides=(2, 2), activation="RELU6"),
    dict(input_shape=(1, 3, 40, 12), depth_multiplier=2),                    # multiplier 2 in passes
    dict(input_shape=(1, 11, 9, 8), dilation=(2, 2)),                        # dilation 2: phases of odd sizes
    dict(input_shape=(2, 10, 8, 4), depth_multiplier=2, dilation=(3, 3), activation="RELU"),
    dict(input_shape=(1, 12, 10, 8), dilation=(2, 2), padding="VALID"),      # no padding column in a phase
    dict(input_shape=(1, 3, 2, 8), dilation=(4, 4)),                         # past the image: a pixel a phase
]


@pytest.mark.parametrize("variant", ["rowpairs", "rowpairs_still"])
@pytest.mark.parametrize("case", ROWPAIRS_CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_depthwise_rowpairs_under_sanitizers(case, variant, tmp_path):
    """The "rowpairs" layouts (kiln_depthwise_conv_s8_rowpairs, its portable C; the ring drifting or
    still, the stream's sections then twice) on every shape, through a tuning log, with
    AddressSanitizer and UBSan: TFLite Micro's bits, and no read or write past the ring in the
    operator's scratch."""
    from kiln.compiler.ops import rowpairs

    p = forced_under_sanitizers(mg.depthwise_conv2d(26, **case), variant, 3, tmp_path)
    assert p["still"] == (variant == "rowpairs_still")
    if case["input_shape"][2] == 40:
        assert p["chunk"] * 4 < p["out_c"] and p["chunk"] % p["depth_multiplier"] == 0  # the ring in passes
    if case["input_shape"][2] == 40 or "dilation" in case:  # passes, or phases: the output out of row order
        assert rowpairs.overlap(p) == p["batches"] * p["out_h"] * p["out_w"] * p["out_c"]
