"""The qemu-m7 board (QEMU mps2-an500, Cortex-M7): the same firmware template with M7 flags; the
DSP kernels stay bit-exact and the counts exact."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import modelgen as mg
from harness import MODELS, Pair, assert_match, shared_model
from kiln import compiler
from kiln.compiler import oracle
from kiln.boards import qemu



def build_and_run_m7(model, records, tmp_path):
    path = model
    if isinstance(model, (bytes, bytearray)):
        path = tmp_path / "model.tflite"
        path.write_bytes(model)
    c = compiler.compile_model(path)
    compiler.write(c, tmp_path / "src")
    elf = qemu.build(tmp_path / "src", c.name, tmp_path / "build", records, profile=False, exact=False,
                          graph=c.graph, board="qemu-m7")
    return c, qemu.run(elf, c.graph, board="qemu-m7")


def test_kws_golden_on_cortex_m7(tmp_path):
    path = shared_model("kws_ref_model.tflite")
    x = np.load(MODELS / "golden" / "kws_ref_model_in0.npy")
    want = np.load(MODELS / "golden" / "kws_ref_model_out0.npy")
    c, result = build_and_run_m7(path, [[x]], tmp_path)
    assert np.array_equal(result.outputs[0][0], want.reshape(result.outputs[0][0].shape))


@pytest.mark.parametrize("make", [lambda: mg.conv2d(61, input_shape=(1, 7, 7, 8), out_channels=6, strides=(2, 2)),
                                  lambda: mg.depthwise_conv2d(62, input_shape=(1, 6, 6, 12)),
                                  lambda: mg.depthwise_conv2d(65, input_shape=(1, 9, 7, 6), depth_multiplier=2),
                                  lambda: mg.depthwise_conv2d(66, input_shape=(1, 10, 9, 1), depth_multiplier=3,
                                                              strides=(2, 2)),
                                  lambda: mg.conv2d(67, input_shape=(1, 9, 10, 2), out_channels=6, kernel=(5, 5)),
                                  lambda: mg.fully_connected(63, in_features=37, out_features=9),
                                  lambda: mg.quantized_fc_float_io(64)])
def test_kernels_match_tflm_on_cortex_m7(make, tmp_path):
    model = make()
    rng = np.random.default_rng(1)
    records = [model.random_inputs(rng) for _ in range(3)]
    c, result = build_and_run_m7(model.data, records, tmp_path)
    assert_match(Pair(result.outputs, oracle.run_tflm(c.source, records, len(c.graph.outputs)), c), model.description)


def test_bench_on_m7_is_exact_and_repeats(tmp_path):
    path = shared_model("ad01_int8.tflite")
    runs = [json.loads(subprocess.run([sys.executable, "-m", "kiln", "bench", str(path), "--board", "qemu-m7", "--json"],
                                      capture_output=True, text=True, timeout=300).stdout) for _ in range(2)]
    assert runs[0]["board"] == "qemu-m7" and runs[0]["exact"]
    assert runs[0]["instructions"] == runs[1]["instructions"] > runs[0]["macs"]
    assert [o["instructions"] for o in runs[0]["operators"]] == [o["instructions"] for o in runs[1]["operators"]]
