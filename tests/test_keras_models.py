"""Recurrent models as TensorFlow's converter writes them from Keras (tests/keras_models.py, run
in the test-only TensorFlow environment scripts/setup-keras.sh makes): LSTM and GRU layers with
unroll off (a WHILE loop over the time steps) and on (a chain of operators per step), float32 and
int8. Each runs on the host against TensorFlow Lite's reference kernels (bit for bit for int8),
the loops against TFLite Micro too (it refuses the unrolled ones: their FILL takes dimensions
computed by SHAPE, which Kiln folds at compile time), and a loop on qemu-m4."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from harness import FLOAT_ATOL, FLOAT_RTOL, assert_match, check_on_qemu_m4, compile_and_run
from kiln import compiler
from kiln.boards import host

ROOT = Path(__file__).resolve().parents[1]
TF_PYTHON = Path(os.environ.get("KILN_KERAS_PYTHON", ROOT / ".tools" / "keras" / "bin" / "python"))
NAMES = [f"{cell}_{form}" for cell in ("lstm", "gru") for form in ("loop_float32", "unrolled_float32", "unrolled_int8")]


def convert_with_tensorflow(script: str, out: Path) -> Path:
    """Runs tests/<script> (a Keras-to-.tflite generator) in the test-only TensorFlow environment."""
    assert TF_PYTHON.exists(), f"{TF_PYTHON} is missing: run scripts/setup-keras.sh (scripts/test.sh does)"
    proc = subprocess.run([str(TF_PYTHON), str(ROOT / "tests" / script), str(out)], capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def keras_dir(tmp_path_factory) -> Path:
    return convert_with_tensorflow("keras_models.py", tmp_path_factory.mktemp("keras"))


def _load(d: Path, name: str):
    return d / f"{name}.tflite", np.load(d / f"{name}_inputs.npy"), np.load(d / f"{name}_reference.npy")


@pytest.mark.parametrize("name", NAMES)
def test_keras_recurrent_model_against_tflite(keras_dir, name, tmp_path):
    path, x, ref = _load(keras_dir, name)
    c = compiler.compile_model(path)
    assert ("WHILE" in [op.kind for op in c.graph.operators]) == ("loop" in name)
    compiler.write(c, tmp_path / "src")
    exe = host.build(tmp_path / "src", c.name, tmp_path / "build")
    ours = np.stack([o[0] for o in host.run(exe, c.graph, [[r] for r in x]).outputs])
    ref = ref.reshape(ours.shape)
    if ours.dtype.kind == "f":
        np.testing.assert_allclose(ours, ref, rtol=FLOAT_RTOL, atol=FLOAT_ATOL)
    else:
        assert ours.dtype == ref.dtype and np.array_equal(ours, ref), f"{name}: {np.abs(ours - ref).max()} off"
    assert len({o.tobytes() for o in ours}) > 1


@pytest.mark.parametrize("name", [n for n in NAMES if "loop" in n])
def test_keras_loop_against_tflm(keras_dir, name, tmp_path):
    path, x, _ = _load(keras_dir, name)
    assert_match(compile_and_run(path, [[r] for r in x], tmp_path), name)


def test_keras_lstm_loop_on_qemu_m4(keras_dir, tmp_path):
    path, x, _ = _load(keras_dir, "lstm_loop_float32")
    check_on_qemu_m4(path.read_bytes(), [[r] for r in x[:6]], tmp_path, "Keras LSTM (WHILE) on qemu-m4")
