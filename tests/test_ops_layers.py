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


# ---- BATCH_MATMUL ----

MATMUL_CASES = [  # (lhs shape, rhs shape, adj_x, adj_y, rhs constant)
    ([3, 5], [5, 4], False, False, False),                 # rank 2
    ([2, 3, 7], [2, 4, 7], False, True, False),             # rhs given as [.., n, k]
    ([2, 1, 6, 3], [4, 6, 5], True, False, False),          # lhs [.., k, m]; batch broadcast both ways
    ([1, 2, 1, 4, 3], [3, 1, 2, 5, 4], True, True, False),  # rank 5
    ([4, 2, 9], [9, 6], False, False, True),                # constant rhs, broadcast over lhs batches
    ([2, 3, 2, 5], [3, 4, 5], False, True, True),           # constant rhs given transposed
    ([1, 8], [1, 8, 1], False, False, False),               # size-1 rows / cols
]


def _matmul_shape(ls, rs, adj_x, adj_y):
    rank = max(len(ls), len(rs))
    a = [1] * (rank - len(ls)) + ls
    b = [1] * (rank - len(rs)) + rs
    m = a[-1] if adj_x else a[-2]
    n = b[-2] if adj_y else b[-1]
    k = a[-2] if adj_x else a[-1]
    return [max(x, y) for x, y in zip(a[:-2], b[:-2])] + [m, n], k


def matmul_model(dtype, cases, rng):
    w = ModelWriter(description="kiln tests: batch matmul")
    w.inputs, w.outputs = [], []
    lq = {"int8": (0.04, -7), "int16": (0.002, 0), "float32": (None, None)}[dtype]
    rq = {"int8": (0.03, 5), "int16": (0.003, 0), "float32": (None, None)}[dtype]
    for n, (ls, rs, adj_x, adj_y, const) in enumerate(cases):
        ys, k = _matmul_shape(ls, rs, adj_x, adj_y)
        li = w.tensor(f"l{n}", ls, dtype, *lq)
        w.inputs.append(li)
        if const:
            if dtype == "float32":
                data = rng.uniform(-2, 2, rs).astype(np.float32)
            else:
                info = np.iinfo(np.dtype(dtype))
                data = rng.integers(info.min, info.max + 1, rs).astype(dtype)
            ri = w.tensor(f"r{n}", rs, dtype, *rq, data=data)
        else:
            ri = w.tensor(f"r{n}", rs, dtype, *rq)
            w.inputs.append(ri)
        if dtype == "float32":
            oq = (None, None)
        else:
            spread = 74.0 if dtype == "int8" else 18900.0
            oq = (lq[0] * rq[0] * spread * spread * np.sqrt(k) / (40 if dtype == "int8" else 10000), 2 if dtype == "int8" else 0)
        yi = w.tensor(f"y{n}", ys, dtype, *oq)
        w.outputs.append(yi)
        w.op("BATCH_MATMUL", [li, ri], [yi], {"adj_x": adj_x, "adj_y": adj_y})
    return w.build()


@pytest.mark.parametrize("dtype", ["int8", "int16", "float32"])
def test_batch_matmul(tmp_path, dtype):
    m = matmul_model(dtype, MATMUL_CASES, np.random.default_rng(3))
    check(m, tmp_path, what=f"BATCH_MATMUL {dtype}", **(SAN if dtype == "int16" else {}))


def test_batch_matmul_rejects(tmp_path):
    rejects(model("BATCH_MATMUL", [T([2, 3, 4], "int16", 0.01, 3), T([2, 4, 5], "int16", 0.01, 0)],
                  [T([2, 3, 5], "int16", 0.1, 0)]), tmp_path, "BATCH_MATMUL", "zero point 0")
    rejects(model("BATCH_MATMUL", [T([2, 3, 4]), T([3, 4, 5])], [T([3, 3, 5])]), tmp_path, "BATCH_MATMUL",
            "do not broadcast")
    rejects(model("BATCH_MATMUL", [T([3, 4]), T([5, 4])], [T([3, 4])]), tmp_path, "BATCH_MATMUL", "different depths")
    rejects(model("BATCH_MATMUL", [T([1, 1, 1, 1, 2, 3, 4]), T([4, 5])], [T([1, 1, 1, 1, 2, 3, 5])]), tmp_path,
            "BATCH_MATMUL", "rank 7")
