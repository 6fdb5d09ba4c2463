"""The example networks of issue 13 as TensorFlow's converter writes them from Keras, full int8
(tests/keras_networks.py, run in the test-only TensorFlow environment of scripts/setup-keras.sh):
a MobileNetV2 with an NCHW input (a TRANSPOSE first, as a PyTorch export), a MobileNetV3-style
network (hard-swish, squeeze-and-excite), a U-Net-style decoder (TRANSPOSE_CONV, RESIZE_BILINEAR,
CONCATENATION) and a transformer encoder block (BATCH_MATMUL, SOFTMAX, layer normalisation).
Each bit-exact with TFLite Micro on 20 random inputs on the host and on qemu-m4, its arena at or
below the activation lower bound."""
from __future__ import annotations

import pytest

from harness import assert_match, check_on_qemu_m4, compile_and_run
from opgen import random_records
from test_keras_models import convert_with_tensorflow

NETWORKS = {"mobilenet_v2_nchw": {"TRANSPOSE", "DEPTHWISE_CONV_2D", "ADD", "MEAN"},
            "mobilenet_v3": {"HARD_SWISH", "MEAN", "MUL"},
            "unet_decoder": {"TRANSPOSE_CONV", "RESIZE_BILINEAR", "CONCATENATION"},
            "transformer_block": {"BATCH_MATMUL", "SOFTMAX", "SQUARED_DIFFERENCE", "RSQRT", "MEAN"}}


@pytest.fixture(scope="module")
def networks(tmp_path_factory):
    return convert_with_tensorflow("keras_networks.py", tmp_path_factory.mktemp("networks"))


@pytest.mark.parametrize("name", list(NETWORKS))
def test_network_on_the_host(networks, name, tmp_path):
    data = (networks / f"{name}.tflite").read_bytes()
    pair = compile_and_run(data, random_records(data, n=20), tmp_path)
    assert_match(pair, name)
    c = pair.compiled
    kinds = {op.kind for op in c.graph.operators}
    assert NETWORKS[name] <= kinds, f"{name} lost {NETWORKS[name] - kinds} in conversion: the test would prove less"
    assert c.graph.arena_bytes <= c.lower_bound


@pytest.mark.parametrize("name", list(NETWORKS))
def test_network_on_qemu_m4(networks, name, tmp_path):
    data = (networks / f"{name}.tflite").read_bytes()
    check_on_qemu_m4(data, random_records(data, n=3), tmp_path, f"{name} on qemu-m4")
