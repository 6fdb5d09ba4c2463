"""Data-movement operators (ops/layout.py) against TFLite Micro: every type each takes, awkward
shapes (rank 1 to the maximum, size-1 axes, negative axes), and the planner's aliases."""
from __future__ import annotations

import numpy as np
import pytest

from kiln import compiler
from kiln.errors import UnsupportedError
from opgen import T, check, model

Q = {"int8": (0.07, -3), "int16": (0.002, 0)}


def t(shape, dtype):
    s, z = Q.get(dtype, (None, None))
    return T(list(shape), dtype, s, z)


def i32(*v):
    return T([len(v)], "int32", data=np.array(v, np.int32))


TRANSPOSES = [((5,), (0,)), ((3, 4), (1, 0)), ((2, 3, 4), (2, 0, 1)), ((1, 3, 1, 5), (3, 1, 0, 2)),
              ((2, 3, 4, 5), (0, 3, 1, 2)), ((2, 1, 3, 2, 2), (4, 2, 0, 3, 1))]


@pytest.mark.parametrize("dtype", ["int8", "int16", "float32"])
@pytest.mark.parametrize("shape,perm", TRANSPOSES, ids=lambda v: "x".join(map(str, v)))
def test_transpose(shape, perm, dtype, tmp_path):
    out = [shape[k] for k in perm]
    check(model("TRANSPOSE", [t(shape, dtype), i32(*perm)], [t(out, dtype)]), tmp_path, what=f"{shape} {perm}")


def test_transpose_of_size_one_axes_aliases(tmp_path):
    data = model("TRANSPOSE", [t((1, 6, 1, 4), "int8"), i32(2, 1, 0, 3)], [t((1, 6, 1, 4), "int8")])
    pair = check(data, tmp_path)
    g = pair.compiled.graph
    assert g.tensor(g.inputs[0]).offset == g.tensor(g.outputs[0]).offset
    assert "kiln_copy_nd" not in pair.compiled.files[f"{g.name}.c"].split("static void op000")[1].split("\n}")[0]


@pytest.mark.parametrize("dtype", ["int8", "bool", "float32"])
@pytest.mark.parametrize("shape,dims,out", [((1, 4, 1, 3), [], (4, 3)), ((1, 4, 1, 3), [-2], (1, 4, 3)),
                                            ((1, 1), [0], (1,)), ((5, 1), [1], (5,))])
def test_squeeze_aliases(shape, dims, out, dtype, tmp_path):
    data = model("SQUEEZE", [t(shape, dtype)], [t(out, dtype)], squeeze_dims=dims)
    pair = check(data, tmp_path, allow_constant=shape == (1, 1))
    g = pair.compiled.graph
    assert g.tensor(g.inputs[0]).offset == g.tensor(g.outputs[0]).offset


@pytest.mark.parametrize("dtype", ["int8", "int16", "float32"])
@pytest.mark.parametrize("shape,axis", [((3,), 0), ((3,), -1), ((2, 3), 1), ((2, 3, 4), -2)])
def test_expand_dims(shape, axis, dtype, tmp_path):
    a = axis + len(shape) + 1 if axis < 0 else axis
    out = list(shape[:a]) + [1] + list(shape[a:])
    check(model("EXPAND_DIMS", [t(shape, dtype), i32(axis)], [t(out, dtype)]), tmp_path)


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "float32"])
@pytest.mark.parametrize("shape,n,axis", [((4,), 3, 0), ((4,), 2, 1), ((2, 3), 3, -1), ((2, 1, 3), 2, 1)])
def test_pack(shape, n, axis, dtype, tmp_path):
    a = axis + len(shape) + 1 if axis < 0 else axis
    out = list(shape[:a]) + [n] + list(shape[a:])
    check(model("PACK", [t(shape, dtype)] * n, [t(out, dtype)], values_count=n, axis=axis), tmp_path)


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "float32"])
@pytest.mark.parametrize("shape,axis", [((3,), 0), ((2, 3), 1), ((2, 3, 4), -1), ((4, 1, 2), 0)])
def test_unpack(shape, axis, dtype, tmp_path):
    a = axis + len(shape) if axis < 0 else axis
    out = list(shape[:a]) + list(shape[a + 1:])
    n = shape[a]
    check(model("UNPACK", [t(shape, dtype)], [t(out, dtype)] * n, num=n, axis=axis), tmp_path,
          allow_constant=not out)


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "float32"])
@pytest.mark.parametrize("shape,axis,n", [((6,), 0, 3), ((2, 8), -1, 4), ((4, 3, 2), 0, 2), ((1, 4, 4, 6), 3, 2)])
def test_split(shape, axis, n, dtype, tmp_path):
    a = axis + len(shape) if axis < 0 else axis
    out = list(shape)
    out[a] //= n
    check(model("SPLIT", [i32(axis), t(shape, dtype)], [t(out, dtype)] * n, num_splits=n), tmp_path)


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "float32"])
@pytest.mark.parametrize("shape,axis,sizes", [((7,), 0, (2, 5)), ((3, 9), 1, (4, -1, 2)), ((4, 2, 3), -3, (1, 1, 2))])
def test_split_v(shape, axis, sizes, dtype, tmp_path):
    a = axis + len(shape) if axis < 0 else axis
    real = list(sizes)
    if -1 in real:
        real[real.index(-1)] = shape[a] - (sum(real) + 1)
    outs = []
    for n in real:
        o = list(shape)
        o[a] = n
        outs.append(t(o, dtype))
    check(model("SPLIT_V", [t(shape, dtype), i32(*sizes), i32(axis)], outs, num_splits=len(sizes)), tmp_path)


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "float32", "bool"])
@pytest.mark.parametrize("shape,begin,size", [((9,), (2,), (5,)), ((4, 5), (1, 0), (-1, 3)),
                                              ((2, 3, 4, 5, 2), (1, 0, 2, 1, 0), (1, 3, 2, 3, -1))])
def test_slice(shape, begin, size, dtype, tmp_path):
    out = [shape[k] - b if s == -1 else s for k, (b, s) in enumerate(zip(begin, size))]
    check(model("SLICE", [t(shape, dtype), i32(*begin), i32(*size)], [t(out, dtype)]), tmp_path)


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "float32", "bool"])
@pytest.mark.parametrize("shape,to", [((3,), (2, 3)), ((2, 1), (2, 4)), ((1, 3, 1), (2, 3, 4)), ((2, 1, 1, 1, 3), (2, 2, 2, 2, 3))])
def test_broadcast_to(shape, to, dtype, tmp_path):
    check(model("BROADCAST_TO", [t(shape, dtype), i32(*to)], [t(to, dtype)]), tmp_path)


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("kind,shape,bs", [("DEPTH_TO_SPACE", (1, 2, 3, 8), 2), ("DEPTH_TO_SPACE", (2, 1, 2, 9), 3),
                                           ("SPACE_TO_DEPTH", (1, 4, 6, 2), 2), ("SPACE_TO_DEPTH", (2, 3, 3, 1), 3)])
def test_depth_space(kind, shape, bs, dtype, tmp_path):
    n, h, w, c = shape
    out = [n, h * bs, w * bs, c // (bs * bs)] if kind == "DEPTH_TO_SPACE" else [n, h // bs, w // bs, c * bs * bs]
    check(model(kind, [t(shape, dtype)], [t(out, dtype)], block_size=bs), tmp_path)


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "float32", "bool", "uint8"])
@pytest.mark.parametrize("shape,axes", [((7,), (0,)), ((3, 4), (1,)), ((2, 3, 4), (1, 2)), ((2, 3, 1, 2), (-1,)), ((2, 2, 3, 2, 2), (0, 1, 2))])
def test_reverse_v2(shape, axes, dtype, tmp_path):
    check(model("REVERSE_V2", [t(shape, dtype), i32(*axes)], [t(shape, dtype)]), tmp_path)


@pytest.mark.parametrize("kind,ins,outs,options,reason", [
    ("TRANSPOSE", [T([2, 3], "int32"), i32(1, 0)], [T([3, 2], "int32")], {}, "has type INT32"),
    ("SPLIT", [i32(0), T([5], "float32")], [T([2], "float32")] * 2, {"num_splits": 2}, "does not split"),
    ("SLICE", [T([4], "float32"), i32(3), i32(2)], [T([2], "float32")], {}, "leaves the input"),
    ("DEPTH_TO_SPACE", [T([1, 2, 2, 6], "float32")], [T([1, 4, 4, 1], "float32")], {"block_size": 2}, "multiple"),
    ("TRANSPOSE", [T([1, 2, 1, 2, 1, 2], "float32"), i32(5, 4, 3, 2, 1, 0)], [T([2, 1, 2, 1, 2, 1], "float32")], {},
     "above 5"),
    ("REVERSE_V2", [T([2, 3, 4], "float32"), i32(0, 2)], [T([2, 3, 4], "float32")], {}, "not contiguous"),
    ("SPLIT_V", [T([4], "float32"), i32(4, 0), i32(0)], [T([4], "float32"), T([0], "float32")], {"num_splits": 2},
     "empty part"),
    ("EXPAND_DIMS", [T([3], "int32"), i32(0)], [T([1, 3], "int32")], {}, "has type INT32"),
])
def test_rejected_like_tflm(kind, ins, outs, options, reason, tmp_path):
    path = tmp_path / "bad.tflite"
    path.write_bytes(model(kind, ins, outs, **options))
    with pytest.raises(UnsupportedError) as e:
        compiler.compile_model(path)
    assert f"operator 0 ({kind})" in str(e.value) and reason in str(e.value)
