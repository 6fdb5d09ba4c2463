"""Issue 3 on Cortex-M4: the convolutional kernels' DSP path (SMLAD, assembly inner loops) is
bit-exact with TFLite Micro, on the MLPerf Tiny int8 models' golden vectors and on generated
models with awkward shapes, run on QEMU mps2-an386."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import modelgen as mg
from harness import MODELS, assert_match, Pair, shared_model
from test_qemu import build_and_run, check_against_tflm
from kiln.compiler import oracle


@pytest.mark.parametrize("name", ["kws_ref_model", "pretrainedResnet_quant", "vww_96_int8"])
def test_golden_vectors_on_cortex_m4(name, tmp_path):
    path = shared_model(f"{name}.tflite")
    ins = sorted((MODELS / "golden").glob(f"{name}_in*.npy"))
    outs = sorted((MODELS / "golden").glob(f"{name}_out*.npy"))
    assert ins and len(ins) == len(outs)
    records = [[np.load(p)] for p in ins]
    c, _, result = build_and_run(path, records, tmp_path, name=name)
    for got, want in zip(result.outputs, outs):
        want = np.load(want)
        assert np.array_equal(got[0], want.reshape(got[0].shape)), f"{name}: differs from the golden output on Cortex-M4"
    assert_match(Pair(result.outputs, oracle.run_tflm(path, records, 1), c), name)


@pytest.mark.parametrize("name", ["kws_ref_model", "pretrainedResnet_quant", "vww_96_int8", "ad01_int8"])
@pytest.mark.parametrize("board, cpu", [("qemu-m4", "cortex-m4"), ("qemu-m7", "cortex-m7")])
def test_golden_vectors_with_the_tuned_variants(name, board, cpu, tmp_path):
    """The builds the issue-7 figures come from: the variants kiln tune chose for each CPU
    (bench/kiln-tuning.json), on every golden vector."""
    from kiln import compiler
    from kiln.boards import qemu

    log = Path(__file__).resolve().parents[1] / "bench" / "kiln-tuning.json"
    path = shared_model(f"{name}.tflite")
    ins = sorted((MODELS / "golden").glob(f"{name}_in*.npy"))
    outs = sorted((MODELS / "golden").glob(f"{name}_out*.npy"))
    records = [[np.load(p)] for p in ins]
    c = compiler.compile_model(path, tuning_log=log, cpu=cpu)
    assert any(op.variant and op.variant.endswith("16") for op in c.graph.operators), "the log was not applied"
    compiler.write(c, tmp_path / "src")
    elf = qemu.build(tmp_path / "src", c.name, tmp_path / "build", records, graph=c.graph, board=board)
    result = qemu.run(elf, c.graph, board=board)
    for got, want in zip(result.outputs, outs):
        want = np.load(want)
        assert np.array_equal(got[0], want.reshape(got[0].shape)), f"{name} tuned for {cpu}: differs from the golden output"


CASES = {
    "conv_in_place_taps_stride2": lambda: mg.conv2d(41, input_shape=(1, 9, 7, 8), out_channels=5, strides=(2, 2)),
    "conv_odd_out_channels_relu6": lambda: mg.conv2d(42, input_shape=(1, 6, 6, 16), out_channels=7, activation="RELU6"),
    "conv_im2col_dilation2": lambda: mg.conv2d(43, input_shape=(1, 10, 10, 3), out_channels=6, dilation=(2, 2)),
    "conv_pointwise_odd_channels": lambda: mg.conv2d(44, input_shape=(1, 5, 5, 13), out_channels=9, kernel=(1, 1)),
    "conv_1x1_image": lambda: mg.conv2d(45, input_shape=(1, 1, 1, 6), out_channels=3, kernel=(3, 3)),
    "conv_first_layer": lambda: mg.conv2d(46, input_shape=(1, 12, 6, 1), out_channels=8, kernel=(5, 3), strides=(2, 2)),
    # one input channel, 3x3: a depthwise layer of multiplier M on planes (depthwise.single_channel_conv),
    # the untuned default; two images at stride 2 with a lower clamp, per-tensor weights, VALID
    "conv_one_channel_planes": lambda: mg.conv2d(92, input_shape=(1, 11, 9, 1), out_channels=8),
    "conv_one_channel_planes_two_images_relu": lambda: mg.conv2d(93, input_shape=(2, 10, 9, 1), out_channels=6,
                                                                 strides=(2, 2), activation="RELU"),
    "conv_one_channel_planes_per_tensor_valid": lambda: mg.conv2d(94, input_shape=(1, 9, 12, 1), out_channels=5,
                                                                  padding="VALID", per_channel=False),
    # two input channels (depthwise.as_one_channel: each row 2 x in_w values, 3x6 / 5x10 at stride 2):
    # the unrolled 3x3 on odd sizes, 5x5 over two images with a lower clamp, a 4x3 kernel (the loops
    # with its size at run time) at dilation 2 down, VALID, per-tensor weights
    "conv_two_channels_planes": lambda: mg.conv2d(98, input_shape=(1, 11, 9, 2), out_channels=4),
    "conv_two_channels_5x5_two_images_relu": lambda: mg.conv2d(99, input_shape=(2, 10, 9, 2), out_channels=6,
                                                               kernel=(5, 5), activation="RELU"),
    "conv_two_channels_4x3_dilation_down_valid": lambda: mg.conv2d(100, input_shape=(1, 12, 9, 2), out_channels=5,
                                                                   kernel=(4, 3), strides=(2, 1), dilation=(2, 1),
                                                                   padding="VALID", per_channel=False),
    "depthwise_3x3": lambda: mg.depthwise_conv2d(47, input_shape=(1, 8, 8, 12)),
    "depthwise_3x3_relu6_clamped": lambda: mg.depthwise_conv2d(58, input_shape=(1, 7, 7, 13), activation="RELU6"),
    "depthwise_odd_channels_stride2": lambda: mg.depthwise_conv2d(48, input_shape=(1, 9, 7, 7), strides=(2, 2)),
    "depthwise_multiplier2": lambda: mg.depthwise_conv2d(49, input_shape=(1, 6, 6, 4), depth_multiplier=2),
    "depthwise_multiplier3_stride2": lambda: mg.depthwise_conv2d(61, input_shape=(1, 7, 6, 3), depth_multiplier=3,
                                                                 strides=(2, 2)),
    "depthwise_one_channel_x8": lambda: mg.depthwise_conv2d(59, input_shape=(1, 20, 10, 1), kernel=(10, 8),
                                                            strides=(2, 2), depth_multiplier=8),
    "depthwise_one_channel_x3_3x3": lambda: mg.depthwise_conv2d(60, input_shape=(1, 9, 7, 1), depth_multiplier=3),
    "depthwise_dilation2": lambda: mg.depthwise_conv2d(50, input_shape=(1, 10, 10, 8), dilation=(2, 2)),
    # planes (kiln_depthwise_conv_s8_planes): the stride-2 3x3 row loop with an odd row of outputs, five
    # channels (a block of four copied by SXTB16/PKHBT, one alone); dilation's phases of one channel;
    # the C walk of any kernel (a 5x4 kernel: an even width) at stride 3 over two images
    "depthwise_x2_odd_width_stride2": lambda: mg.depthwise_conv2d(68, input_shape=(1, 9, 11, 5), depth_multiplier=2,
                                                                  strides=(2, 2)),
    "depthwise_one_channel_x4_dilation2": lambda: mg.depthwise_conv2d(69, input_shape=(1, 12, 11, 1),
                                                                      depth_multiplier=4, dilation=(2, 2)),
    "depthwise_x2_5x4_valid_stride3": lambda: mg.depthwise_conv2d(70, input_shape=(2, 13, 12, 3), depth_multiplier=2,
                                                                  kernel=(5, 4), strides=(3, 3), padding="VALID"),
    # a fused ReLU whose zero is above -128 (as PyTorch's exports have): the clamped assembly loops
    # (pairs_relu8/16, dw_blocks_3x3_relu) with taps in place, im2col'd, and a 3x3 depthwise layer
    "conv_relu_lower_clamp": lambda: mg.conv2d(71, input_shape=(1, 7, 6, 16), out_channels=10, activation="RELU"),
    "conv_im2col_relu_lower_clamp": lambda: mg.conv2d(72, input_shape=(1, 8, 7, 3), out_channels=6, activation="RELU"),
    "depthwise_3x3_relu_lower_clamp": lambda: mg.depthwise_conv2d(73, input_shape=(1, 7, 9, 12), activation="RELU"),
    # planes' clamped row routines (rows3_*_relu): a multiplier at stride 1 and 2, an odd last pixel
    "depthwise_x2_relu_lower_clamp": lambda: mg.depthwise_conv2d(74, input_shape=(1, 7, 9, 3), depth_multiplier=2,
                                                                 activation="RELU"),
    "depthwise_x2_stride2_relu_lower_clamp": lambda: mg.depthwise_conv2d(75, input_shape=(1, 9, 10, 4),
                                                                         depth_multiplier=2, strides=(2, 2),
                                                                         activation="RELU"),
    # planes' two-pixel rows for other kernel widths (rows_wide): a 5x5 kernel (its unrolled form) on an
    # odd row of outputs over six channels (a block of four copied by SXTB16/PKHBT, two alone); 7x7 at
    # stride 2 clamped by RELU6 (the exact requantization); an even width (4x6: the O words one longer)
    # with a multiplier and dilation 2 (phases, each copied a block at a time); 3x3 dilation 2 over 12
    # channels (the dilated copy by blocks)
    "depthwise_5x5_odd_width": lambda: mg.depthwise_conv2d(80, input_shape=(1, 9, 11, 6), kernel=(5, 5)),
    "depthwise_7x7_stride2_relu6": lambda: mg.depthwise_conv2d(81, input_shape=(1, 13, 12, 5), kernel=(7, 7),
                                                               strides=(2, 2), activation="RELU6"),
    # stride 2 by four pixels (row_quads_w2): 5x5 on rows of 7 (a quad, three alone) over six channels,
    # 7x7 with a multiplier and a lower clamp on rows of 5
    "depthwise_5x5_stride2_quads": lambda: mg.depthwise_conv2d(101, input_shape=(1, 11, 13, 6), kernel=(5, 5),
                                                               strides=(2, 2)),
    "depthwise_x2_7x7_stride2_relu": lambda: mg.depthwise_conv2d(102, input_shape=(1, 10, 9, 3), kernel=(7, 7),
                                                                 strides=(2, 2), depth_multiplier=2,
                                                                 activation="RELU"),
    "depthwise_x2_4x6_dilation2": lambda: mg.depthwise_conv2d(82, input_shape=(1, 11, 10, 5), kernel=(4, 6),
                                                              depth_multiplier=2, dilation=(2, 2)),
    "depthwise_dilation2_12_channels": lambda: mg.depthwise_conv2d(83, input_shape=(1, 10, 13, 12),
                                                                   dilation=(2, 2)),
    # 1x1 at stride 1 with its taps in place (pointwise_pairs: the pixels walked in order): an odd
    # number of pixels with a lower clamp; three steps of depth (padded to four) over two images,
    # a pixel pair across them
    "conv_pointwise_odd_pixels_relu": lambda: mg.conv2d(84, input_shape=(1, 3, 5, 8), out_channels=6, kernel=(1, 1),
                                                        activation="RELU"),
    "conv_pointwise_two_images_odd_steps": lambda: mg.conv2d(85, input_shape=(2, 3, 3, 12), out_channels=10,
                                                             kernel=(1, 1)),
    # ordered_pairs over im2col columns: two images of an odd number of pixels (each image's last
    # pixel alone), rows of 9 bytes (three words a row) with a lower clamp
    "conv_im2col_two_images_relu": lambda: mg.conv2d(86, input_shape=(2, 5, 5, 3), out_channels=6,
                                                     activation="RELU"),
    # rowpairs (kiln_depthwise_conv_s8_rowpairs): two images at stride 2 with odd sizes, clamped by RELU6
    # (the packed store); strides 1 x 2; a ring in passes over 64 channels (14 groups, then 2)
    "depthwise_rowpairs_two_images_stride2_relu6": lambda: mg.depthwise_conv2d(87, input_shape=(2, 9, 11, 8),
                                                                               strides=(2, 2), activation="RELU6"),
    "depthwise_rowpairs_strides_1x2": lambda: mg.depthwise_conv2d(88, input_shape=(1, 7, 10, 16), strides=(1, 2)),
    "depthwise_rowpairs_passes": lambda: mg.depthwise_conv2d(89, input_shape=(1, 4, 40, 64)),
    # multiplier 2 (each input channel's pairs written twice): stride 2 over two images with a clamp;
    # passes of two groups (one input group)
    "depthwise_rowpairs_x2_stride2_relu": lambda: mg.depthwise_conv2d(90, input_shape=(2, 9, 10, 8), depth_multiplier=2,
                                                                      strides=(2, 2), activation="RELU"),
    "depthwise_rowpairs_x2_passes": lambda: mg.depthwise_conv2d(91, input_shape=(1, 3, 40, 12), depth_multiplier=2),
    # dilation (the d * d phases, rp_phase_t): odd sizes, so the phases differ; multiplier 2 at
    # dilation 3 over two images with a clamp; VALID (no padding column in any phase)
    "depthwise_rowpairs_dilation2": lambda: mg.depthwise_conv2d(95, input_shape=(1, 11, 9, 8), dilation=(2, 2)),
    "depthwise_rowpairs_dilation3_x2_relu": lambda: mg.depthwise_conv2d(96, input_shape=(2, 10, 8, 4), depth_multiplier=2,
                                                                       dilation=(3, 3), activation="RELU"),
    "depthwise_rowpairs_dilation2_valid": lambda: mg.depthwise_conv2d(97, input_shape=(1, 12, 10, 8), dilation=(2, 2),
                                                                     padding="VALID"),
    "fc_tail_and_leftover_rows": lambda: mg.fully_connected(51, in_features=37, out_features=11, batch=2),
    "avg_pool": lambda: mg.pool2d(52, kind="AVERAGE", input_shape=(1, 7, 7, 5), filter_size=(3, 3), padding="SAME"),
    # four channels at a time (SADD16 sums, SSUB8 / SEL maxima) and a tail of three, clamped by RELU6
    "avg_pool_blocks_relu6": lambda: mg.pool2d(62, kind="AVERAGE", input_shape=(2, 9, 8, 11), filter_size=(3, 3),
                                               strides=(2, 2), padding="SAME", activation="RELU6"),
    # windows of a power of two taps (2x2 and its SAME edges of 2 and 1, 4x4): sums by SXTAB16, the
    # division a rounding shift on both halfwords; with and without a clamp
    "avg_pool_2x2_same_edges": lambda: mg.pool2d(65, kind="AVERAGE", input_shape=(1, 9, 7, 15), filter_size=(2, 2),
                                                 strides=(2, 2), padding="SAME"),
    "avg_pool_2x2_relu6": lambda: mg.pool2d(66, kind="AVERAGE", input_shape=(2, 8, 8, 8), filter_size=(2, 2),
                                            strides=(2, 2), padding="VALID", activation="RELU6"),
    "avg_pool_4x4": lambda: mg.pool2d(67, kind="AVERAGE", input_shape=(1, 8, 8, 12), filter_size=(4, 4),
                                      strides=(4, 4), padding="VALID"),
    "max_pool_blocks_relu6": lambda: mg.pool2d(63, kind="MAX", input_shape=(1, 9, 8, 11), filter_size=(3, 2),
                                               strides=(1, 2), padding="SAME", activation="RELU6"),
    "max_pool_16_channels": lambda: mg.pool2d(64, kind="MAX", input_shape=(1, 6, 6, 16), filter_size=(2, 2),
                                              strides=(2, 2), padding="VALID"),
    "residual_add": lambda: mg.elementwise(53, kind="ADD", shape_a=(1, 6, 6, 16), shape_b=(1, 6, 6, 16)),
    "sub_broadcast_relu": lambda: mg.elementwise(74, kind="SUB", shape_a=(1, 5, 6, 7), shape_b=(7,), activation="RELU"),
    "mean": lambda: mg.mean(54, input_shape=(1, 5, 5, 8), keep_dims=False),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_dsp_kernels_match_tflm(case, tmp_path):
    model = CASES[case]()
    rng = np.random.default_rng(0)
    records = [model.random_inputs(rng) for _ in range(4)]
    check_against_tflm(model.data, records, tmp_path, case)


@pytest.mark.parametrize("case", ["conv_in_place_taps_stride2", "conv_odd_out_channels_relu6", "conv_im2col_dilation2",
                                  "conv_pointwise_odd_channels", "conv_first_layer", "fc_tail_and_leftover_rows",
                                  "fc_per_tensor_relu", "depthwise_odd_channels_stride2", "depthwise_dilation2",
                                  "depthwise_3x3_relu6_clamped", "depthwise_one_channel_x8", "depthwise_3x3",
                                  "depthwise_multiplier2", "depthwise_x2_5x4_valid_stride3", "conv_relu_lower_clamp",
                                  "conv_im2col_relu_lower_clamp", "depthwise_3x3_relu_lower_clamp", "residual_add",
                                  "conv_im2col_two_images_relu",
                                  "sub_broadcast_relu", "depthwise_5x5_odd_width", "depthwise_7x7_stride2_relu6",
                                  "depthwise_dilation2_12_channels", "depthwise_rowpairs_two_images_stride2_relu6",
                                  "depthwise_rowpairs_strides_1x2", "depthwise_rowpairs_passes",
                                  "depthwise_rowpairs_x2_stride2_relu", "depthwise_rowpairs_x2_passes",
                                  "conv_one_channel_planes_two_images_relu", "depthwise_rowpairs_dilation2",
                                  "conv_two_channels_planes", "depthwise_5x5_stride2_quads",
                                  "depthwise_x2_7x7_stride2_relu",
                                  "depthwise_rowpairs_dilation3_x2_relu", "depthwise_rowpairs_dilation2_valid"])
def test_every_kernel_variant_matches_tflm(case, tmp_path):
    """Each variant kiln tune may choose (im2col, int16 filters and weights...) on the DSP path,
    through a tuning log beside the model, against TFLite Micro."""
    import json

    from kiln.compiler import importer, tuning

    model = CASES[case]() if case in CASES else mg.fully_connected(57, in_features=64, out_features=24,
                                                                  per_channel=False, activation="RELU")
    path = tmp_path / f"{case}.tflite"
    path.write_bytes(model.data)
    g = importer.load(path)
    (op,) = [o for o in g.operators if tuning.variants(o, g)]
    rng = np.random.default_rng(1)
    records = [model.random_inputs(rng) for _ in range(3)]
    for variant in tuning.variants(op, g)[1:]:
        (tmp_path / "kiln-tuning.json").write_text(json.dumps({"format": tuning.FORMAT, "cpus": {"cortex-m4": {
            tuning.signature(op, g): {"variant": variant}}}}))
        c, _ = check_against_tflm(path, records, tmp_path / variant, f"{case} ({variant})")
        assert c.graph.operators[op.index].variant == variant


def test_compiler_weight_figure_is_what_the_linker_keeps(tmp_path):
    """Every constant array the compiler counts is used and kept (none emitted for nothing)."""
    from kiln.boards import qemu

    model = mg.conv_pool(55)
    dw = mg.depthwise_conv2d(56, input_shape=(1, 6, 6, 8))
    for k, m in enumerate((model, dw)):
        rng = np.random.default_rng(0)
        (tmp_path / str(k)).mkdir()
        c, elf, _ = build_and_run(m.data, [m.random_inputs(rng)], tmp_path / str(k))
        sizes = qemu.flash_sizes(elf, c.const_bytes, tmp_path / str(k) / "src" / f"{c.name}_weights.h")
        assert sizes["weights"] == c.const_bytes


@pytest.mark.parametrize("name", ["kws_ref_model", "vww_96_int8"])
def test_size_optimized_build_matches_golden_vectors(name, tmp_path):
    """At -Os the kernels take their smaller forms (one step per loop trip, no unrolled depthwise
    loop): the same bits."""
    from kiln import compiler
    from kiln.boards import qemu

    path = shared_model(f"{name}.tflite")
    ins = sorted((MODELS / "golden").glob(f"{name}_in*.npy"))[:2]
    outs = sorted((MODELS / "golden").glob(f"{name}_out*.npy"))[:2]
    records = [[np.load(p)] for p in ins]
    c = compiler.compile_model(path, tuning_log=None)
    compiler.write(c, tmp_path / "src")
    elf = qemu.build(tmp_path / "src", c.name, tmp_path / "build", records, graph=c.graph, opt="-Os")
    result = qemu.run(elf, c.graph)
    for got, want in zip(result.outputs, outs):
        want = np.load(want)
        assert np.array_equal(got[0], want.reshape(got[0].shape)), f"{name} at -Os differs from the golden output"
