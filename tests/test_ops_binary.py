"""Binary element-wise operators beyond ADD and MUL (SUB, MAXIMUM, MINIMUM, the comparisons, the
logical operators, SELECT_V2, SQUARED_DIFFERENCE, DIV, FLOOR_DIV, FLOOR_MOD) against TFLite Micro:
every type each takes, broadcasting both ways, ranks 1 to 6, awkward quantization."""
from __future__ import annotations

import numpy as np
import pytest

from kiln import compiler
from kiln.errors import UnsupportedError
from opgen import T, calibrate, check, model

SHAPES = [((7,), (7,)), ((2, 3), (3,)), ((1, 3), (2, 1)), ((2, 1, 4), (3, 1)), ((2, 1, 2, 1, 2, 3), (1, 2, 1, 2, 1, 1))]
ACTS = {"NONE": 0, "RELU": 1, "RELU6": 3}


def out_shape(a, b):
    return list(np.broadcast_shapes(tuple(a), tuple(b)))


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("shapes", SHAPES, ids=lambda s: f"{s[0]}-{s[1]}")
def test_sub(shapes, dtype, tmp_path):
    a, b = shapes
    if dtype == "int8":
        ins = [T(list(a), "int8", 0.05, 7), T(list(b), "int8", 0.031, -20)]
        outs = calibrate("SUB", ins, [T(out_shape(a, b), "int8")], fused_activation_function=0)
    else:
        ins, outs = [T(list(a)), T(list(b))], [T(out_shape(a, b))]
    check(model("SUB", ins, outs, fused_activation_function=0), tmp_path)


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("act", ["RELU", "RELU6"])
def test_sub_fused_activation(act, dtype, tmp_path):
    if dtype == "int8":
        ins = [T([4, 6], "int8", 0.08, 3), T([6], "int8", 0.02, 0)]
        outs = [T([4, 6], "int8", 0.06, -10)]
    else:
        ins, outs = [T([4, 6]), T([6])], [T([4, 6])]
    check(model("SUB", ins, outs, fused_activation_function=ACTS[act]), tmp_path)


@pytest.mark.parametrize("seed", range(4))
def test_sub_int8_random_scales(seed, tmp_path):
    rng = np.random.default_rng(seed)
    ins = [T([3, 16], "int8", float(rng.uniform(0.001, 0.5)), int(rng.integers(-100, 100))),
           T([3, 16], "int8", float(rng.uniform(0.001, 0.5)), int(rng.integers(-100, 100)))]
    outs = [T([3, 16], "int8", float(rng.uniform(0.005, 0.5)), int(rng.integers(-100, 100)))]
    check(model("SUB", ins, outs, fused_activation_function=0), tmp_path)
