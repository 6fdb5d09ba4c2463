"""Issue 13's MobileNetV2 exported from PyTorch (tests/torch_networks.py, run in the test-only PyTorch
environment of scripts/setup-torch.sh: torch.export, PT2E int8 quantization, litert-torch): an NCHW
input, so a TRANSPOSE first, then PAD, CONV_2D, DEPTHWISE_CONV_2D, ADD, MEAN and FULLY_CONNECTED.
Bit-exact with TFLite Micro on 20 random inputs and on inputs drawn like its calibration data on
the host, and on qemu-m4; its arena at or below the activation lower bound."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from harness import ROOT, assert_match, check_on_qemu_m4, compile_and_run
from opgen import random_records

TORCH_PYTHON = Path(os.environ.get("KILN_TORCH_PYTHON", ROOT / ".tools" / "torch" / "bin" / "python"))
NAME = "mobilenet_v2_nchw_torch"
KINDS = {"TRANSPOSE", "PAD", "CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "MEAN", "FULLY_CONNECTED"}


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    assert TORCH_PYTHON.exists(), f"{TORCH_PYTHON} is missing: run scripts/setup-torch.sh (scripts/test.sh does)"
    out = tmp_path_factory.mktemp("torch")
    proc = subprocess.run([str(TORCH_PYTHON), str(ROOT / "tests" / "torch_networks.py"), str(out)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_pytorch_mobilenet_v2_on_the_host(exported, tmp_path):
    data = (exported / f"{NAME}.tflite").read_bytes()
    calibration = [[x] for x in np.load(exported / f"{NAME}_calibration.npy")[:12]]
    pair = compile_and_run(data, random_records(data, n=20) + calibration, tmp_path)
    assert_match(pair, NAME)
    c = pair.compiled
    kinds = [op.kind for op in c.graph.operators]
    assert kinds[0] == "TRANSPOSE" and KINDS <= set(kinds), f"the export changed ({kinds}): the test would prove less"
    out = np.stack([r[0] for r in pair.ours])
    assert len({o.tobytes() for o in out}) > 1 and np.isin(out, (-128, 127)).mean() < 0.25, \
        f"the outputs are constant or mostly saturated: the test would prove little\n{out}"
    assert c.graph.arena_bytes <= c.lower_bound


def test_pytorch_mobilenet_v2_on_qemu_m4(exported, tmp_path):
    data = (exported / f"{NAME}.tflite").read_bytes()
    check_on_qemu_m4(data, random_records(data, n=3), tmp_path, f"{NAME} on qemu-m4")
