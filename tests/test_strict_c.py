"""The generated C compiles without a warning under -std=c99 -Wall -Wextra -Werror -pedantic with gcc
and clang, and runs clean (and still bit-exact) under AddressSanitizer and UndefinedBehaviorSanitizer."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

import modelgen as mg
from harness import MODELS, TOOLCHAINS, assert_match, compile_and_run

# One small model per operator family, so every kernel is compiled and sanitised.
GENERATED = {
    "fc_int8_per_channel": lambda: mg.fully_connected(1, per_channel=True, activation="RELU6", keep_num_dims=True, input_rank=3),
    "fc_int8_per_tensor_nobias": lambda: mg.fully_connected(2, per_channel=False, bias=False),
    "fc_float": lambda: mg.fully_connected(3, dtype="float32", activation="RELU"),
    "add_int8_broadcast": lambda: mg.elementwise(4, "ADD", "int8", (2, 1, 5), (1, 4, 1)),
    "mul_float_broadcast": lambda: mg.elementwise(5, "MUL", "float32", (1, 4, 4, 3), (3,)),
    "logistic_int8": lambda: mg.unary(6, "LOGISTIC", "int8", (1, 256)),
    "tanh_float": lambda: mg.unary(7, "TANH", "float32", (1, 64)),
    "softmax_int8": lambda: mg.softmax(8, "int8", (3, 10), 1.0),
    "softmax_float": lambda: mg.softmax(9, "float32", (2, 33), 0.5),
    "quantize_fc_dequantize": lambda: mg.quantized_fc_float_io(10),
    "requantize": lambda: mg.quantize(11, "int8", "int8", (1, 64)),
    "reshape_tensor_form": lambda: mg.reshape(12, "int8", (1, 4, 4, 3), (1, 48), form="tensor"),
    "conv_in_place_taps": lambda: mg.conv2d(13, input_shape=(1, 7, 6, 8), out_channels=5, strides=(2, 2)),
    "conv_im2col": lambda: mg.conv2d(14, input_shape=(1, 6, 6, 3), out_channels=4, dilation=(2, 2)),
    "conv_float": lambda: mg.conv2d(15, dtype="float32", input_shape=(1, 5, 5, 3), out_channels=2),
    "depthwise_multiplier": lambda: mg.depthwise_conv2d(16, input_shape=(1, 6, 6, 3), depth_multiplier=2, strides=(2, 2)),
    "depthwise_float": lambda: mg.depthwise_conv2d(17, dtype="float32", input_shape=(1, 5, 5, 4)),
    "avg_pool_same": lambda: mg.pool2d(18, kind="AVERAGE", input_shape=(1, 7, 7, 3), filter_size=(3, 3), padding="SAME"),
    "max_pool_float": lambda: mg.pool2d(19, kind="MAX", dtype="float32"),
    "pad": lambda: mg.pad(20),
    "concatenation": lambda: mg.concatenation(21, shapes=((1, 2, 4, 3), (1, 3, 4, 3)), axis=1),
    "strided_slice_negative": lambda: mg.strided_slice(22, begin=(0, 7, 0, 2), end=(1, 0, 8, 0), strides=(1, -2, 1, -1)),
    "mean": lambda: mg.mean(23, input_shape=(1, 5, 5, 6), keep_dims=False),
    "concatenation_in_place": lambda: mg.pools_concat(24, input_shape=(1, 6, 6, 4), axis=1),
}
SHARED = ["hello_world_int8", "hello_world_float", "ad01_int8", "simple_add_model", "kws_ref_model"]

def model_and_records(name):
    if name in GENERATED:
        m = GENERATED[name]()
        rng = np.random.default_rng(0)
        return m.data, [m.random_inputs(rng) for _ in range(5)]
    path = MODELS / f"{name}.tflite"
    if not path.exists():
        pytest.skip(f"{path} not found: the shared model folder is absent")
    return path, None


@pytest.mark.parametrize("toolchain", list(TOOLCHAINS))
@pytest.mark.parametrize("name", list(GENERATED) + SHARED)
def test_strict_build_and_sanitized_run(name, toolchain, tmp_path):
    tc = TOOLCHAINS[toolchain]
    assert shutil.which(tc["cc"]), f"{tc['cc']} is not installed (the setup script installs it)"
    model, records = model_and_records(name)
    if records is None:
        from kiln import compiler
        from kiln.compiler import oracle
        records = oracle.random_inputs(compiler.compile_model(model).graph, seed=3, count=5)
    pair = compile_and_run(model, records, tmp_path, cc=tc["cc"], extra_flags=tc["extra_flags"], opt=tc["opt"])
    assert_match(pair, f"{name} with {toolchain}")


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="needs arm-none-eabi-gcc (scripts/setup.sh)")
@pytest.mark.parametrize("flags", [["-O0"], ["-O2", "-fno-omit-frame-pointer", "-DKILN_PORTABLE"], ["-Os"], ["-O2"]])
def test_runtime_compiles_for_cortex_m4_at_every_level(flags, tmp_path):
    """A debug build (-O0) takes the portable C path (the assembly needs 14 free registers, which a
    frame pointer takes; KILN_PORTABLE forces that path); optimized builds the assembly one."""
    import subprocess

    from kiln.paths import RUNTIME

    for src in sorted((RUNTIME / "src").glob("*.c")):
        cmd = ["arm-none-eabi-gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-mcpu=cortex-m4", "-mthumb",
               "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard", *flags, "-I", str(RUNTIME / "include"), "-c", str(src),
               "-o", str(tmp_path / (src.stem + ".o"))]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, f"{src.name} {' '.join(flags)}: {proc.stderr}"
