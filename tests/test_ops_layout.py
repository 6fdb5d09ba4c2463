"""Data-movement operators (ops/layout.py) against TFLite Micro: every type each takes, awkward
shapes (rank 1 to the maximum, size-1 axes, negative axes), and the planner's aliases."""
from __future__ import annotations

import numpy as np
import pytest

from opgen import T, assert_rejected, check, model

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


@pytest.mark.parametrize("shape,perm", [((8, 12), (1, 0)), ((13, 8), (1, 0)), ((12, 9), (1, 0)), ((4, 4), (1, 0)),
                                        ((8, 20, 12), (2, 0, 1)), ((3, 16, 12), (0, 2, 1)), ((1, 5, 20, 8), (0, 3, 1, 2)),
                                        ((2, 7, 8, 5), (0, 3, 1, 2))])
def test_transpose_int8_blocks(shape, perm, tmp_path):
    """int8 transposes through kiln_copy_nd's 4x4 word blocks: whole blocks, edge rows and columns, and
    strides that are not word multiples (byte gathers instead)."""
    out = [shape[k] for k in perm]
    check(model("TRANSPOSE", [t(shape, "int8"), i32(*perm)], [t(out, "int8")]), tmp_path, what=f"{shape} {perm}")


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
    assert_rejected(kind, ins, outs, reason, tmp_path, **options)


def i64(*v):
    return T([len(v)], "int64", data=np.array(v, np.int64))


# Each refused by TFLite Micro's Prepare as well (checked), with Kiln's reason.
@pytest.mark.parametrize("kind,ins,outs,options,reason", [
    ("TRANSPOSE", [T([2, 3], "float32"), i32(-1, 0)], [T([3, 2], "float32")], {}, "no negatives"),
    ("EXPAND_DIMS", [T([3], "float32"), i64(0)], [T([1, 3], "float32")], {}, "constant int32"),
    ("REVERSE_V2", [T([3], "float32"), i64(0)], [T([3], "float32")], {}, "constant int32"),
    ("PAD", [T([1] * 6, "float32"), T([6, 2], "int32", data=np.zeros((6, 2), np.int32))], [T([1] * 6, "float32")],
     {}, "above 5"),
    ("PADV2", [t((2, 2), "int8"), T([2, 2], "int32", data=np.ones((2, 2), np.int32)),
               T([1], "int8", 0.5, 0, data=np.array([1], np.int8))], [t((4, 4), "int8")], {}, "quantized as the output"),
    ("STRIDED_SLICE", [T([2] * 5, "float32"), i32(*[0] * 5), i32(*[2] * 5), i32(*[1] * 5)], [T([2] * 5, "float32")],
     {}, "above 4"),
    ("CONCATENATION", [T([1], "float32")] * 11, [T([11], "float32")], {"axis": 0}, "more than TFLite Micro's 10"),
    ("CONCATENATION", [T([2], "int16", 0.1, 3)] * 2, [T([4], "int16", 0.1, 3)], {"axis": 0}, "int16 needs 0"),
    ("FILL", [T([2], "int32"), T([], "float32")], [T([2, 3], "float32")], {}, "must be constant"),
])
def test_rejected_as_tflm_does(kind, ins, outs, options, reason, tmp_path):
    assert_rejected(kind, ins, outs, reason, tmp_path, tflm=True, **options)


def test_ranks_tflm_takes(tmp_path):
    """REVERSE_V2 at rank 6, SQUEEZE up to rank 8 (TFLite Micro's limits)."""
    shape = (2, 1, 2, 3, 1, 2)
    (tmp_path / "r").mkdir()
    check(model("REVERSE_V2", [t(shape, "int8"), i32(0, 1, 2)], [t(shape, "int8")]), tmp_path / "r")
    assert_rejected("SQUEEZE", [T([1] * 9 + [3], "float32")], [T([3], "float32")], "above 8", tmp_path, tflm=True)
    assert_rejected("CONCATENATION", [T([1] * 6 + [2], "float32")] * 2, [T([1] * 6 + [4], "float32")], "above 6",
                    tmp_path, tflm=True, axis=6)
    assert_rejected("GATHER_ND", [T([2] * 6, "float32"), T([1, 6], "int32")], [T([1], "float32")], "entries",
                    tmp_path, tflm=True)


# TFLite Micro reads these int64 tensors as int32 (misreading them): Kiln refuses them.
@pytest.mark.parametrize("kind,ins,outs", [
    ("TRANSPOSE", [T([2, 3], "float32"), i64(1, 0)], [T([3, 2], "float32")]),
    ("PAD", [T([2], "float32"), T([1, 2], "int64", data=np.array([[1, 0]], np.int64))], [T([3], "float32")]),
    ("SPACE_TO_BATCH_ND", [T([1, 4, 4, 1], "float32"), i64(2, 2), T([2, 2], "int64", data=np.zeros((2, 2), np.int64))],
     [T([4, 2, 2, 1], "float32")]),
    ("BATCH_TO_SPACE_ND", [T([4, 2, 2, 1], "float32"), i64(2, 2), T([2, 2], "int64", data=np.zeros((2, 2), np.int64))],
     [T([1, 4, 4, 1], "float32")]),
])
def test_int64_read_as_int32_is_refused(kind, ins, outs, tmp_path):
    assert_rejected(kind, ins, outs, "reads", tmp_path)


# ---- gathers, mirror padding, space/batch, shapes and fills ----

@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("shape,idx_shape,axis,bd,const", [
    ((5,), (3,), 0, 0, False), ((4, 3), (2, 2), 0, 0, True), ((2, 5, 3), (4,), -2, 0, False),
    ((3, 4, 2), (3, 2), 1, 1, False), ((2, 3, 4, 2), (2, 3, 2), 2, 2, True)])
def test_gather(shape, idx_shape, axis, bd, const, dtype, tmp_path):
    a = axis + len(shape) if axis < 0 else axis
    size = shape[a]
    out = list(shape[:a]) + list(idx_shape[bd:]) + list(shape[a + 1:])
    rng = np.random.default_rng(1)
    idx = T(list(idx_shape), "int32", data=rng.integers(0, size, idx_shape).astype(np.int32) if const else None)
    data = model("GATHER", [t(shape, dtype), idx], [t(out, dtype)], axis=axis, batch_dims=bd)
    check(data, tmp_path, gen={1: lambda r: r.integers(0, size, idx_shape).astype(np.int32)})


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("shape,idx_shape", [((4, 3), (5, 2)), ((4, 3, 2), (2, 3, 1)), ((3, 2, 2), (4, 3)), ((6,), (4, 1))])
def test_gather_nd(shape, idx_shape, dtype, tmp_path):
    depth = idx_shape[-1]
    out = list(idx_shape[:-1]) + list(shape[depth:])
    bounds = np.array(shape[:depth])

    def gen(r):
        return (r.integers(0, 1 << 20, idx_shape) % bounds).astype(np.int32)
    check(model("GATHER_ND", [t(shape, dtype), T(list(idx_shape), "int32")], [t(out, dtype)]), tmp_path, gen={1: gen})


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("mode", [0, 1], ids=["REFLECT", "SYMMETRIC"])
@pytest.mark.parametrize("shape,pads", [((5,), ((2, 3),)), ((3, 4), ((1, 2), (0, 2))),
                                        ((1, 4, 3, 2), ((0, 0), (2, 1), (1, 1), (0, 1)))])
def test_mirror_pad(shape, pads, mode, dtype, tmp_path):
    out = [n + a + b for n, (a, b) in zip(shape, pads)]
    p = T([len(shape), 2], "int32", data=np.array(pads, np.int32))
    check(model("MIRROR_PAD", [t(shape, dtype), p], [t(out, dtype)], mode=mode), tmp_path)


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("shape,block,pads", [((1, 4, 4, 2), (2, 2), (0, 0, 0, 0)), ((2, 3, 5, 1), (2, 3), (1, 0, 0, 1)),
                                              ((1, 2, 3, 3), (3, 2), (2, 2, 1, 0))])
def test_space_to_batch_and_back(shape, block, pads, dtype, tmp_path):
    n, h, w, ch = shape
    bh, bw = block
    out = [n * bh * bw, (h + pads[0] + pads[1]) // bh, (w + pads[2] + pads[3]) // bw, ch]
    b = T([2], "int32", data=np.array(block, np.int32))
    p = T([2, 2], "int32", data=np.array(pads, np.int32).reshape(2, 2))
    for kind, x, y in (("SPACE_TO_BATCH_ND", shape, out), ("BATCH_TO_SPACE_ND", out, shape)):
        if kind == "SPACE_TO_BATCH_ND" and any(pads):
            continue  # TFLite Micro fills the padding from an uninitialised pad value (varies); Kiln writes zeros
        (tmp_path / kind).mkdir()
        check(model(kind, [t(x, dtype), b, p], [t(y, dtype)]), tmp_path / kind, what=kind)


@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_space_to_batch_and_back_rank_3(dtype, tmp_path):
    """A 3-d NHC input: TFLite Micro takes it as NH1C with one block size and one pair of paddings."""
    b, p = i32(3), T([1, 2], "int32", data=np.array([[0, 0]], np.int32))
    for kind, x, y in (("SPACE_TO_BATCH_ND", (2, 6, 5), (6, 2, 5)), ("BATCH_TO_SPACE_ND", (6, 2, 5), (2, 6, 5))):
        (tmp_path / kind).mkdir()
        check(model(kind, [t(x, dtype), b, p], [t(y, dtype)]), tmp_path / kind, what=kind)
    crops = T([1, 2], "int32", data=np.array([[1, 2]], np.int32))
    check(model("BATCH_TO_SPACE_ND", [t((6, 2, 5), dtype), b, crops], [t((2, 3, 5), dtype)]), tmp_path)


@pytest.mark.parametrize("dtype", ["int8", "int32", "float32"])
def test_fill_with_a_run_time_value(dtype, tmp_path):
    data = model("FILL", [i32(2, 3, 4), T([], dtype, *Q.get(dtype, (None, None)))], [t((2, 3, 4), dtype)])
    check(data, tmp_path)


@pytest.mark.parametrize("dtype", ["int8", "int32", "int64", "float32"])
def test_zeros_like(dtype, tmp_path):
    from harness import compile_and_run
    from opgen import random_records

    data = model("ZEROS_LIKE", [t((3, 5), dtype)], [t((3, 5), dtype)])
    pair = compile_and_run(data, random_records(data, n=3), tmp_path)
    for ours, ref in zip(pair.ours, pair.ref):
        assert not ours[0].any() and np.array_equal(ours[0], np.asarray(ref[0]).reshape(ours[0].shape))


def test_shape_folds_and_feeds_a_reshape(tmp_path):
    """SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE, as PyTorch exports write a flatten: all folded
    at compile time, so the RESHAPE sees a constant shape and aliases its input."""
    from kiln.compiler.tflwriter import ModelWriter

    w = ModelWriter()
    x = w.tensor("x", [2, 3, 4], "float32")
    shp = w.tensor("shape", [3], "int32")
    n = w.tensor("n", [], "int32")
    minus1 = w.tensor("minus1", [], "int32", data=np.array(-1, np.int32))
    newshape = w.tensor("newshape", [2], "int32")
    y = w.tensor("y", [2, 12], "float32")
    z = w.tensor("z", [2, 12], "float32")
    b, e, s = (w.tensor(k, [1], "int32", data=np.array(v, np.int32)) for k, v in (("b", [0]), ("e", [1]), ("s", [1])))
    w.op("SHAPE", [x], [shp], {"out_type": 2})
    w.op("STRIDED_SLICE", [shp, b, e, s], [n], {"shrink_axis_mask": 1})
    w.op("PACK", [n, minus1], [newshape], {"values_count": 2, "axis": 0})
    w.op("RESHAPE", [x, newshape], [y])
    w.op("RELU", [y], [z])
    w.inputs, w.outputs = [x], [z]
    pair = check(w.build(), tmp_path)
    assert [op.folded for op in pair.compiled.graph.operators] == [True, True, True, False, False]


def test_shape_as_a_graph_output(tmp_path):
    from harness import compile_and_run
    from opgen import random_records

    data = model("SHAPE", [t((2, 7, 1), "float32")], [T([3], "int32")], out_type=2)
    pair = compile_and_run(data, random_records(data, n=2), tmp_path)
    assert pair.ours[0][0].tolist() == [2, 7, 1] == np.asarray(pair.ref[0][0]).tolist()


def test_broadcast_args_at_run_time(tmp_path):
    data = model("BROADCAST_ARGS", [T([3], "int32"), T([2], "int32")], [T([3], "int32")])
    check(data, tmp_path, gen={0: lambda r: np.array([r.integers(1, 5), 1, r.integers(1, 5)], np.int32),
                               1: lambda r: np.array([r.integers(1, 5), 1], np.int32)})


# ---- PAD, PADV2, CONCATENATION, STRIDED_SLICE in every type TFLite Micro takes (ops/copy.py) ----

@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "float32"])
@pytest.mark.parametrize("kind", ["PAD", "PADV2"])
def test_pad_every_type(kind, dtype, tmp_path):
    pads = T([3, 2], "int32", data=np.array([[0, 1], [2, 0], [1, 3]], np.int32))
    ins = [t((2, 3, 2), dtype), pads]
    if kind == "PADV2":
        s, z = Q.get(dtype, (None, None))
        ins.append(T([1], dtype, s, z, data=np.array([5], {"float32": np.float32, "int8": np.int8, "int16": np.int16,
                                                          "int32": np.int32}[dtype])))
    check(model(kind, ins, [t((3, 5, 6), dtype)]), tmp_path)


@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_padv2_with_a_run_time_pad_value(dtype, tmp_path):
    pads = T([2, 2], "int32", data=np.array([[1, 0], [2, 1]], np.int32))
    data = model("PADV2", [t((2, 3), dtype), pads, T([], dtype, *Q.get(dtype, (None, None)))], [t((3, 6), dtype)])
    check(data, tmp_path)


def test_split_v_sizes_from_the_outputs(tmp_path):
    """TFLite Micro never reads size_splits: a computed one is fine, the output shapes say it."""
    data = model("SPLIT_V", [t((7, 2), "int8"), T([2], "int32"), i32(0)], [t((3, 2), "int8"), t((4, 2), "int8")],
                 num_splits=2)
    check(data, tmp_path, gen={1: lambda r: np.array([3, 4], np.int32)})


def test_pad_copies_values_as_tflm(tmp_path):
    """int8 PAD copies the input as it is whatever the output's quantization and pads with the
    output's zero point; int16 pads with a raw 0 whatever its zero point (TFLite Micro does both)."""
    pads = T([2, 2], "int32", data=np.array([[1, 0], [0, 2]], np.int32))
    (tmp_path / "a").mkdir()
    check(model("PAD", [T([2, 3], "int8", 0.1, 4), pads], [T([3, 5], "int8", 0.3, -7)]), tmp_path / "a")
    pair = check(model("PAD", [T([2, 3], "int16", 0.1, 5), pads], [T([3, 5], "int16", 0.1, 5)]), tmp_path)
    assert pair.ours[0][0][0].tolist() == [0] * 5


def test_concatenation_int16_rescales_nothing(tmp_path):
    """int16 inputs of different scales (zero points 0) are copied as they are, as TFLite Micro does."""
    ins = [T([2, 3], "int16", 0.1, 0), T([2, 2], "int16", 0.37, 0)]
    check(model("CONCATENATION", ins, [T([2, 5], "int16", 0.01, 0)], axis=1), tmp_path)


def test_strided_slice_copies_values_as_tflm(tmp_path):
    ins = [T([4, 6], "int8", 0.1, 3), i32(1, 0), i32(3, 6), i32(1, 2)]
    check(model("STRIDED_SLICE", ins, [T([2, 3], "int8", 0.2, -1)]), tmp_path)


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "bool", "float32"])
@pytest.mark.parametrize("axis", [0, -1])
def test_concatenation_every_type(dtype, axis, tmp_path):
    shapes = [(2, 3), (2, 3), (2, 3)]
    out = (6, 3) if axis == 0 else (2, 9)
    check(model("CONCATENATION", [t(s, dtype) for s in shapes], [t(out, dtype)], axis=axis), tmp_path)


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "bool", "float32"])
def test_strided_slice_every_type(dtype, tmp_path):
    ins = [t((4, 6, 3), dtype), i32(3, 0, 0), i32(0, 6, 3), i32(-1, 2, 1)]
    check(model("STRIDED_SLICE", ins, [t((3, 3, 3), dtype)], begin_mask=0, end_mask=4), tmp_path)


def test_strided_slice_ignores_ellipsis_and_new_axis_masks_as_tflm(tmp_path):
    ins = [t((4, 6), "float32"), i32(1, 0), i32(3, 6), i32(1, 2)]
    check(model("STRIDED_SLICE", ins, [t((2, 3), "float32")], ellipsis_mask=1, new_axis_mask=2, offset=True),
          tmp_path)
