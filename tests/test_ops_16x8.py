"""16x8 layers (int16 activations, int8 weights) against TFLite Micro: FULLY_CONNECTED with every
bias TFLite Micro takes (int64, int32, none), per-tensor and per-channel weights."""
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
