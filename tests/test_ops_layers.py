"""Compute layers of issue 13: RESIZE_NEAREST_NEIGHBOR, RESIZE_BILINEAR, BATCH_MATMUL,
TRANSPOSE_CONV, against TFLite Micro (every type and option it takes), and a chain on qemu-m4."""
from __future__ import annotations


import numpy as np
import pytest

from opgen import T, check, model
from kiln import compiler
from kiln.errors import UnsupportedError
from kiln.compiler.tflwriter import ModelWriter

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
    # TFLite's 10-bit scale rounds 1024 / 55 up to 19: output row 54 would read input row 1 of 1
    rejects(model("RESIZE_BILINEAR", [T([1, 1, 4, 1], "int8", 0.05, 3), size(55, 4)], [T([1, 55, 4, 1], "int8", 0.05, 3)]),
            tmp_path, "RESIZE_BILINEAR", "read past the input")
    rejects(model("RESIZE_NEAREST_NEIGHBOR", [x, T([2], "int32")], [y]), tmp_path, "RESIZE_NEAREST_NEIGHBOR",
            "size must be a constant")
    rejects(model("RESIZE_NEAREST_NEIGHBOR", [T([4, 4, 2], "int8", 0.05, 3), size(8, 8)], [T([8, 8, 2], "int8", 0.05, 3)]),
            tmp_path, "RESIZE_NEAREST_NEIGHBOR", "4-D")


# ---- BATCH_MATMUL ----

MATMUL_CASES = [  # (lhs shape, rhs shape, adj_x, adj_y, constant operand: True (rhs), "lhs" or False[, rhs zp])
    ([3, 5], [5, 4], False, False, False),                 # rank 2
    ([2, 3, 7], [2, 4, 7], False, True, False),             # rhs given as [.., n, k]
    ([2, 1, 6, 3], [4, 6, 5], True, False, False),          # lhs [.., k, m]; batch broadcast both ways
    ([1, 2, 1, 4, 3], [3, 1, 2, 5, 4], True, True, False),  # rank 5
    ([4, 2, 9], [9, 6], False, False, True),                # constant rhs, broadcast over lhs batches
    ([2, 3, 2, 5], [3, 4, 5], False, True, True),           # constant rhs given transposed
    ([1, 8], [1, 8, 1], False, False, False),               # size-1 rows / cols
    ([3, 4, 5], [1, 5, 6], False, False, False),            # rhs batch 1: TFLite Micro flattens the lhs batches
    ([2, 3, 5, 4], [1, 6, 5], True, True, "lhs"),           # the same with both adjoints, constant lhs
    ([2, 7, 3], [7, 4], True, False, True),                 # constant rhs under a transposed lhs
    ([2, 6, 8], [2, 8, 6], False, False, False),            # depth 8: the 1x1 convolution reads rows in place
    ([3, 4, 12], [12, 6], False, False, True),              # constant rhs, depth 12: one convolution for all rows
    ([2, 5, 16], [2, 5, 16], False, True, False, 0),        # odd columns, rhs zero point 0: int8 last column
    ([2, 3, 6], [6, 7], False, False, True, 0),             # constant rhs that fits int8, odd columns, depth 6
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
    for n, (ls, rs, adj_x, adj_y, const, *rzp) in enumerate(cases):  # rzp: the int8 rhs zero point, if not 5
        ys, k = _matmul_shape(ls, rs, adj_x, adj_y)
        rq_n = (rq[0], rzp[0]) if rzp and dtype == "int8" else rq

        def operand(name, shape, q, constant):
            if not constant:
                i = w.tensor(name, shape, dtype, *q)
                w.inputs.append(i)
                return i
            if dtype == "float32":
                data = rng.uniform(-2, 2, shape).astype(np.float32)
            else:
                info = np.iinfo(np.dtype(dtype))
                data = rng.integers(info.min, info.max + 1, shape).astype(dtype)
            return w.tensor(name, shape, dtype, *q, data=data)

        li = operand(f"l{n}", ls, lq, const == "lhs")
        ri = operand(f"r{n}", rs, rq_n, const is True)
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


# ---- TRANSPOSE_CONV ----

TCONV_CASES = [  # (input [n, h, w, c], kh, kw, out_c, (stride_h, stride_w), padding, output h, w, bias, activation)
    ([1, 4, 5, 3], 3, 3, 4, (2, 2), "SAME", (8, 10), True, 0),
    ([2, 3, 3, 2], 3, 2, 3, (1, 1), "VALID", (5, 4), False, 1),      # RELU
    ([1, 3, 4, 5], 4, 3, 2, (3, 2), "VALID", (10, 9), True, 3),      # RELU6, strides 3 and 2
    ([1, 5, 2, 2], 2, 5, 3, (2, 3), "SAME", (9, 6), True, 2),        # output one short of in * stride; RELU_N1_TO_1
    ([1, 1, 1, 4], 1, 1, 5, (1, 1), "SAME", (1, 1), False, 0),       # 1x1
    ([1, 2, 3, 1], 5, 5, 2, (4, 4), "SAME", (8, 12), True, 0),       # kernel larger than the stride of 4
    ([1, 2, 2, 3], 2, 2, 2, (2, 2), "VALID", (5, 6), True, 0),       # output past the last tap: bias only there
    ([1, 3, 3, 8], 3, 3, 40, (2, 2), "SAME", (6, 6), True, 0),       # 40 channels; in_c 8: taps read in place
    ([2, 3, 3, 4], 1, 1, 3, (2, 2), "VALID", (5, 5), True, 0),       # stride above the kernel: tapless phases
    ([2, 4, 3, 4], 3, 3, 5, (2, 2), "SAME", (8, 6), False, 1),       # batches of a strided in-place phase conv
    ([1, 2, 2, 4], 2, 2, 2, (2, 2), "VALID", (5, 6), True, 0),       # 1x1 phases past the image, taps in place
    ([1, 2, 3, 8], 1, 1, 3, (2, 2), "VALID", (5, 7), True, 0),       # the same, one phase with taps
]


def tconv_model(dtype, cases, rng, per_channel=True):
    w = ModelWriter(description="kiln tests: transpose conv")
    w.inputs, w.outputs = [], []
    xq = {"int8": (0.05, -3), "int16": (0.0001, 0), "float32": (None, None)}[dtype]
    for n, (xs, kh, kw, oc, (sh, sw), pad, (oh, ow), bias, act) in enumerate(cases):
        ic = xs[3]
        ys = [xs[0], oh, ow, oc]
        shape_i = w.tensor(f"shape{n}", [4], "int32", data=np.array(ys, np.int32))
        taps = max(kh * kw * ic / (sh * sw), 1)
        if dtype == "float32":
            wi = w.tensor(f"w{n}", [oc, kh, kw, ic], "float32", data=rng.uniform(-1, 1, [oc, kh, kw, ic]).astype(np.float32))
            bi = w.tensor(f"b{n}", [oc], "float32", data=rng.uniform(-1, 1, [oc]).astype(np.float32)) if bias else -1
            yq = (None, None)
        else:
            ws = rng.uniform(0.005, 0.03, oc).astype(np.float32) if per_channel else np.float32(0.02)
            wi = w.tensor(f"w{n}", [oc, kh, kw, ic], "int8", ws, 0, 0,
                          data=rng.integers(-127, 128, [oc, kh, kw, ic]).astype(np.int8))
            bs = (np.float32(xq[0]) * np.atleast_1d(ws)).astype(np.float32)
            if bias:
                bt = "int32" if dtype == "int8" else "int64"
                bd = rng.integers(-3000, 3000, oc).astype(bt) * (1 if dtype == "int8" else 40)
                bi = w.tensor(f"b{n}", [oc], bt, bs, 0, 0, data=bd)
            else:
                bi = -1
            spread = 74.0 if dtype == "int8" else 18900.0
            real = xq[0] * float(np.mean(ws)) * spread * 73 * np.sqrt(taps)
            yq = (real / 40, 5) if dtype == "int8" else (real / 10000, 0)
            if act in (2, 3):  # RELU_N1_TO_1, RELU6: the output range covers the clamp, not far beyond
                top = 1.0 if act == 2 else 6.0
                yq = (top / 120, 0) if dtype == "int8" else (top / 30000, 0)
        xi = w.tensor(f"x{n}", xs, dtype, *xq)
        yi = w.tensor(f"y{n}", ys, dtype, *yq)
        w.inputs.append(xi)
        w.outputs.append(yi)
        ins = [shape_i, wi, xi] + ([bi] if bias else [])
        w.op("TRANSPOSE_CONV", ins, [yi], {"padding": 0 if pad == "SAME" else 1, "stride_h": sh, "stride_w": sw,
                                           "fused_activation_function": act})
    return w.build()


@pytest.mark.parametrize("dtype", ["int8", "int16", "float32"])
def test_transpose_conv(tmp_path, dtype):
    m = tconv_model(dtype, TCONV_CASES, np.random.default_rng(5))
    check(m, tmp_path, what=f"TRANSPOSE_CONV {dtype}", **(SAN if dtype == "int8" else {}))


@pytest.mark.parametrize("dtype", ["int8", "int16"])
def test_transpose_conv_on_qemu_m4(tmp_path, dtype):
    """The stride phases on the Cortex-M convolution loops (kiln_conv_s8, kiln_conv_s16_pairs):
    every case above, odd channels, tapless phases and batches included."""
    from harness import check_on_qemu_m4
    from opgen import random_records

    m = tconv_model(dtype, TCONV_CASES, np.random.default_rng(6))
    check_on_qemu_m4(m, random_records(m, n=3), tmp_path, f"TRANSPOSE_CONV {dtype} on qemu-m4")


def test_transpose_conv_per_tensor_and_int16_bias(tmp_path):
    """int8 with per-tensor weights; int16 with an int16 bias (TFLite Micro widens it to int64)."""
    check(tconv_model("int8", TCONV_CASES[:2], np.random.default_rng(6), per_channel=False), tmp_path,
          what="TRANSPOSE_CONV int8 per-tensor")
    xs, kh, kw, oc = [1, 3, 3, 2], 3, 3, 3
    rng = np.random.default_rng(8)
    ws = rng.uniform(0.01, 0.03, oc).astype(np.float32)
    m = model("TRANSPOSE_CONV", [T([4], "int32", data=np.array([1, 6, 6, oc], np.int32)),
                                 T([oc, kh, kw, 2], "int8", ws, 0, rng.integers(-127, 128, [oc, kh, kw, 2]).astype(np.int8)),
                                 T(xs, "int16", 0.0001, 0),
                                 T([oc], "int16", list(np.float32(0.0001) * ws), 0, np.array([3000, -2000, 100], np.int16))],
              [T([1, 6, 6, oc], "int16", 0.0001 * 0.02 * 18900 * 73 * 2 / 10000, 0)],
              padding=0, stride_h=2, stride_w=2, fused_activation_function=0)
    check(m, tmp_path, what="TRANSPOSE_CONV int16 with int16 bias")


def test_transpose_conv_rejects(tmp_path):
    shape = T([4], "int32", data=np.array([1, 8, 8, 2], np.int32))
    w8 = T([2, 3, 3, 4], "int8", 0.02, 0, np.ones([2, 3, 3, 4], np.int8))
    rejects(model("TRANSPOSE_CONV", [shape, T([2, 3, 3, 4], "float32", data=np.ones([2, 3, 3, 4], np.float32)),
                                     T([1, 4, 4, 4], "int8", 0.05, 0)], [T([1, 8, 8, 2], "int8", 0.1, 0)],
                  padding=0, stride_h=2, stride_w=2), tmp_path, "TRANSPOSE_CONV", "weights", "FLOAT32")
    rejects(model("TRANSPOSE_CONV", [shape, w8, T([1, 4, 4, 4], "int16", 0.05, 3)], [T([1, 8, 8, 2], "int16", 0.1, 0)],
                  padding=0, stride_h=2, stride_w=2), tmp_path, "TRANSPOSE_CONV", "zero point 0")
    rejects(model("TRANSPOSE_CONV", [shape, w8, T([1, 4, 4, 3], "int8", 0.05, 0)], [T([1, 8, 8, 2], "int8", 0.1, 0)],
                  padding=0, stride_h=2, stride_w=2), tmp_path, "TRANSPOSE_CONV", "channels")
    rejects(model("TRANSPOSE_CONV", [shape, w8, T([1, 4, 4, 4], "int8", 0.05, 0)], [T([1, 8, 8, 2], "int8", 0.1, 0)],
                  padding=0, stride_h=2, stride_w=2, fused_activation_function=4), tmp_path, "TRANSPOSE_CONV", "TANH")


# ---- EMBEDDING_LOOKUP ----

def ids(n, rows):
    return lambda rng: rng.integers(0, rows, size=[n]).astype(np.int32)


@pytest.mark.parametrize("value_type,out_type,const", [
    ("float32", "float32", True), ("int8", "int8", True), ("int8", "float32", True), ("float32", "float32", False),
])
def test_embedding_lookup(tmp_path, value_type, out_type, const):
    rng = np.random.default_rng(4)
    shape = [7, 3, 2] if const else [5, 4]
    q = (0.07, 0) if value_type == "int8" else (None, None)
    data = None
    if const:
        data = (rng.integers(-128, 128, shape).astype(np.int8) if value_type == "int8"
                else rng.uniform(-3, 3, shape).astype(np.float32))
    oq = q if out_type == "int8" else (None, None)
    m = model("EMBEDDING_LOOKUP", [T([6], "int32"), T(shape, value_type, *q, data=data)],
              [T([6] + shape[1:], out_type, *oq)])
    check(m, tmp_path, gen={0: ids(6, shape[0])}, what=f"EMBEDDING_LOOKUP {value_type} -> {out_type}",
          **(SAN if value_type == "int8" else {}))


def test_embedding_lookup_rejects(tmp_path):
    v = T([4, 3], "int8", 0.1, 2, np.ones([4, 3], np.int8))
    rejects(model("EMBEDDING_LOOKUP", [T([2], "int32"), v], [T([2, 3], "float32")]), tmp_path, "EMBEDDING_LOOKUP",
            "zero point 0")
    rejects(model("EMBEDDING_LOOKUP", [T([2], "int32"), T([4, 3], "int16", 0.1, 0, np.ones([4, 3], np.int16))],
                  [T([2, 3], "int16", 0.1, 0)]), tmp_path, "EMBEDDING_LOOKUP", "INT16")
    rejects(model("EMBEDDING_LOOKUP", [T([2, 1], "int32"), T([4, 3], data=np.ones([4, 3], np.float32))],
                  [T([2, 3])]), tmp_path, "EMBEDDING_LOOKUP", "1-D")


# ---- L2_POOL_2D ----

def test_l2_pool(tmp_path):
    cases = [  # (input, filter, strides, padding, activation)
        ([1, 6, 7, 3], (3, 3), (2, 2), 0, 0),
        ([2, 5, 5, 2], (2, 3), (1, 2), 1, 1),
        ([1, 4, 9, 1], (4, 2), (3, 3), 0, 3),   # RELU6
        ([1, 3, 3, 4], (3, 3), (1, 1), 1, 2),   # one output pixel; RELU_N1_TO_1
    ]
    w = ModelWriter(description="kiln tests: l2 pool")
    w.inputs, w.outputs = [], []
    for n, (xs, (fh, fw), (sh, sw), pad, act) in enumerate(cases):
        if pad == 0:
            oh, ow = -(-xs[1] // sh), -(-xs[2] // sw)
        else:
            oh, ow = (xs[1] - fh) // sh + 1, (xs[2] - fw) // sw + 1
        xi = w.tensor(f"x{n}", xs, "float32")
        yi = w.tensor(f"y{n}", [xs[0], oh, ow, xs[3]], "float32")
        w.inputs.append(xi)
        w.outputs.append(yi)
        w.op("L2_POOL_2D", [xi], [yi], {"padding": pad, "stride_h": sh, "stride_w": sw, "filter_height": fh,
                                        "filter_width": fw, "fused_activation_function": act})
    check(w.build(), tmp_path, what="L2_POOL_2D")
    rejects(model("L2_POOL_2D", [T([1, 4, 4, 2], "int8", 0.1, 0)], [T([1, 2, 2, 2], "int8", 0.1, 0)], padding=1,
                  stride_h=2, stride_w=2, filter_height=2, filter_width=2), tmp_path, "L2_POOL_2D", "INT8")


# ---- a chain of the family on qemu-m4 (one firmware build) ----

def chained_model() -> bytes:
    rng = np.random.default_rng(12)
    w = ModelWriter(description="kiln tests: compute layers chain on qemu-m4")
    t = w.tensor
    xq, xf = t("xq", [1, 4, 4, 3], "int8", 0.05, 3), t("xf", [1, 4, 4, 2], "float32")
    xh, xi = t("xh", [2, 3, 4], "int16", 0.001, 0), t("ids", [3], "int32")
    w.inputs = [xq, xf, xh, xi]
    # int8: bilinear up, transposed conv (per-channel, stride 2), nearest down, matmul by a constant
    q1 = t("q1", [1, 7, 7, 3], "int8", 0.05, 3)
    w.op("RESIZE_BILINEAR", [xq, t("s1", [2], "int32", data=np.array([7, 7], np.int32))], [q1], {"half_pixel_centers": True})
    ws = rng.uniform(0.01, 0.02, 4).astype(np.float32)
    q2 = t("q2", [1, 14, 14, 4], "int8", 0.15, -4)
    w.op("TRANSPOSE_CONV", [t("shape", [4], "int32", data=np.array([1, 14, 14, 4], np.int32)),
                            t("tw", [4, 3, 3, 3], "int8", ws, 0, 0, data=rng.integers(-127, 128, [4, 3, 3, 3]).astype(np.int8)),
                            q1, t("tb", [4], "int32", (np.float32(0.05) * ws).astype(np.float32), 0, 0,
                                  data=rng.integers(-500, 500, 4).astype(np.int32))],
         [q2], {"padding": 0, "stride_h": 2, "stride_w": 2, "fused_activation_function": 0})
    q3 = t("q3", [1, 5, 5, 4], "int8", 0.15, -4)
    w.op("RESIZE_NEAREST_NEIGHBOR", [q2, t("s2", [2], "int32", data=np.array([5, 5], np.int32))], [q3], {"align_corners": True})
    q4 = t("q4", [1, 5, 5, 6], "int8", 0.25, 1)
    w.op("BATCH_MATMUL", [q3, t("mr", [4, 6], "int8", 0.02, 0, data=rng.integers(-127, 128, [4, 6]).astype(np.int8))],
         [q4], {"adj_x": False, "adj_y": False})
    # float32: L2 pool into a transposed conv
    f1, f2 = t("f1", [1, 3, 3, 2], "float32"), t("f2", [1, 6, 6, 3], "float32")
    w.op("L2_POOL_2D", [xf], [f1], {"padding": 1, "stride_h": 1, "stride_w": 1, "filter_height": 2, "filter_width": 2,
                                    "fused_activation_function": 0})
    w.op("TRANSPOSE_CONV", [t("fshape", [4], "int32", data=np.array([1, 6, 6, 3], np.int32)),
                            t("fw", [3, 3, 3, 2], "float32", data=rng.uniform(-1, 1, [3, 3, 3, 2]).astype(np.float32)), f1],
         [f2], {"padding": 0, "stride_h": 2, "stride_w": 2, "fused_activation_function": 1})
    # int16 matmul of an input by itself transposed; int8 embedding rows dequantized to float32
    h1 = t("h1", [2, 3, 3], "int16", 0.15, 0)
    w.op("BATCH_MATMUL", [xh, xh], [h1], {"adj_x": False, "adj_y": True})
    e1 = t("e1", [3, 4], "float32")
    w.op("EMBEDDING_LOOKUP", [xi, t("table", [5, 4], "int8", 0.1, 0, data=rng.integers(-128, 128, [5, 4]).astype(np.int8))], [e1])
    w.outputs = [q4, f2, h1, e1]
    return w.build()


def test_chain_on_qemu_m4(tmp_path):
    from harness import check_on_qemu_m4

    rng = np.random.default_rng(13)
    records = [[rng.integers(-128, 128, [1, 4, 4, 3]).astype(np.int8),
                rng.uniform(-3, 3, [1, 4, 4, 2]).astype(np.float32),
                rng.integers(-32768, 32768, [2, 3, 4]).astype(np.int16),
                rng.integers(0, 5, [3]).astype(np.int32)] for _ in range(4)]
    check_on_qemu_m4(chained_model(), records, tmp_path, "compute layers chain on qemu-m4")


def test_resize_many_sizes(tmp_path):
    """Random sizes and flags, many resizes in one build: the compile-time tables (TFLite's float32
    nearest-neighbour rounding, its 10-bit bilinear scale) against TFLite Micro."""
    rng = np.random.default_rng(17)
    w = ModelWriter(description="kiln tests: resize sizes")
    w.inputs, w.outputs = [], []
    n = 0
    while n < 32:
        kind = "RESIZE_NEAREST_NEIGHBOR" if n % 2 == 0 else "RESIZE_BILINEAR"
        ih, iw = (int(v) for v in rng.integers(1, 13, 2))
        oh, ow = (int(v) for v in rng.integers(1, 40, 2))
        align, half = bool(rng.integers(0, 2)), bool(rng.integers(0, 2))
        if kind == "RESIZE_BILINEAR" and align and half:
            continue
        xi = w.tensor(f"x{n}", [1, ih, iw, 2], "int8", 0.05, 3)
        si = w.tensor(f"s{n}", [2], "int32", data=np.array([oh, ow], np.int32))
        yi = w.tensor(f"y{n}", [1, oh, ow, 2], "int8", 0.05, 3)
        w.inputs.append(xi)
        w.outputs.append(yi)
        w.op(kind, [xi, si], [yi], {"align_corners": align, "half_pixel_centers": half})
        n += 1
    check(w.build(), tmp_path, what="resizes of random sizes")


@pytest.mark.parametrize("dtype", ["int8", "int16"])
def test_batch_matmul_on_qemu_m4(tmp_path, dtype):
    """The Cortex-M4 paths: int8 on the convolution's kernel or rows and columns in pairs by SMLAD,
    int16 by SMLALD two columns at a time (odd rows, odd columns, odd depths, constant and
    transposed operands)."""
    from harness import check_on_qemu_m4
    from opgen import random_records

    for part, cases in enumerate((MATMUL_CASES[:7], MATMUL_CASES[7:])):  # the board takes 16 inputs at most
        m = matmul_model(dtype, cases, np.random.default_rng(4))
        (tmp_path / str(part)).mkdir()
        check_on_qemu_m4(m, random_records(m, n=4), tmp_path / str(part), f"BATCH_MATMUL {dtype} on qemu-m4")
