"""Compute layers of issue 13: RESIZE_NEAREST_NEIGHBOR, RESIZE_BILINEAR, BATCH_MATMUL,
TRANSPOSE_CONV, against TFLite Micro (every type and option it takes), and a chain on qemu-m4."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from opgen import T, calibrate, check, model
from kiln import compiler
from kiln.errors import UnsupportedError
from kiln.tflwriter import ModelWriter

SAN = dict(cc="clang", extra_flags=["-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                                    "-fno-omit-frame-pointer", "-g"], opt="-O1")


def rejects(data: bytes, tmp_path, kind, *words):
    path = tmp_path / "bad.tflite"
    path.write_bytes(data)
    with pytest.raises(UnsupportedError) as e:
        compiler.compile_model(path)
    msg = str(e.value)
    assert f"operator 0 ({kind})" in msg, msg
    for w in words:
        assert w in msg, msg


def size(h, w):
    return T([2], "int32", data=np.array([h, w], np.int32))


Q = {"int8": (0.05, 3), "int16": (0.001, 0), "float32": (None, None)}


# ---- RESIZE_NEAREST_NEIGHBOR / RESIZE_BILINEAR ----

RESIZE_CASES = [  # (input shape, output [h, w], align_corners, half_pixel_centers)
    ([1, 3, 5, 2], [7, 4], False, False),
    ([2, 4, 3, 3], [9, 10], True, False),
    ([1, 5, 4, 1], [3, 11], False, True),
    ([1, 1, 6, 4], [4, 1], True, False),  # size-1 axes both ways
    ([3, 7, 2, 5], [2, 5], False, True),
]


@pytest.mark.parametrize("dtype", ["int8", "int16", "float32"])
def test_resize_nearest(tmp_path, dtype):
    s, z = Q[dtype]
    w = ModelWriter(description="kiln tests: resize nearest")
    w.inputs, w.outputs = [], []
    for k, (shape, (oh, ow), align, half) in enumerate(RESIZE_CASES):
        if align and half:
            continue
        xi = w.tensor(f"x{k}", shape, dtype, s, z)
        si = w.tensor(f"s{k}", [2], "int32", data=np.array([oh, ow], np.int32))
        yi = w.tensor(f"y{k}", [shape[0], oh, ow, shape[3]], dtype, s, z)
        w.inputs.append(xi)
        w.outputs.append(yi)
        w.op("RESIZE_NEAREST_NEIGHBOR", [xi, si], [yi], {"align_corners": align, "half_pixel_centers": half})
    # TFLite Micro's nearest neighbour takes both flags at once (bilinear does not)
    xi = w.tensor("xb", [1, 4, 6, 3], dtype, s, z)
    si = w.tensor("sb", [2], "int32", data=np.array([7, 5], np.int32))
    yi = w.tensor("yb", [1, 7, 5, 3], dtype, s, z)
    w.inputs.append(xi)
    w.outputs.append(yi)
    w.op("RESIZE_NEAREST_NEIGHBOR", [xi, si], [yi], {"align_corners": True, "half_pixel_centers": True})
    check(w.build(), tmp_path, what=f"RESIZE_NEAREST_NEIGHBOR {dtype}")


@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_resize_bilinear(tmp_path, dtype):
    s, z = Q[dtype]
    w = ModelWriter(description="kiln tests: resize bilinear")
    w.inputs, w.outputs = [], []
    for k, (shape, (oh, ow), align, half) in enumerate(RESIZE_CASES):
        xi = w.tensor(f"x{k}", shape, dtype, s, z)
        si = w.tensor(f"s{k}", [2], "int32", data=np.array([oh, ow], np.int32))
        yi = w.tensor(f"y{k}", [shape[0], oh, ow, shape[3]], dtype, s, z)
        w.inputs.append(xi)
        w.outputs.append(yi)
        w.op("RESIZE_BILINEAR", [xi, si], [yi], {"align_corners": align, "half_pixel_centers": half})
    check(w.build(), tmp_path, what=f"RESIZE_BILINEAR {dtype}", **(SAN if dtype == "int8" else {}))


def test_resize_rejects(tmp_path):
    x = T([1, 4, 4, 2], "int8", 0.05, 3)
    y = T([1, 8, 8, 2], "int8", 0.05, 3)
    rejects(model("RESIZE_BILINEAR", [x, size(8, 8)], [y], align_corners=True, half_pixel_centers=True),
            tmp_path, "RESIZE_BILINEAR", "align_corners and half_pixel_centers")
    rejects(model("RESIZE_BILINEAR", [T([1, 4, 4, 2], "int16", 0.001, 0), size(8, 8)], [T([1, 8, 8, 2], "int16", 0.001, 0)]),
            tmp_path, "RESIZE_BILINEAR", "INT16")
    rejects(model("RESIZE_NEAREST_NEIGHBOR", [x, T([2], "int32")], [y]), tmp_path, "RESIZE_NEAREST_NEIGHBOR",
            "size must be a constant")
    rejects(model("RESIZE_NEAREST_NEIGHBOR", [T([4, 4, 2], "int8", 0.05, 3), size(8, 8)], [T([8, 8, 2], "int8", 0.05, 3)]),
            tmp_path, "RESIZE_NEAREST_NEIGHBOR", "4-D")
