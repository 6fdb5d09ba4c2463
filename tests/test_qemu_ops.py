"""Issue 12's data-movement, binary and reduction kernels on the Cortex-M4 (qemu-m4), chained in
firmware of their own: bit-exact with TFLite Micro under arm-none-eabi-gcc -O2 as on the host."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from harness import check_on_qemu_m4
from kiln.boards import qemu
from kiln.compiler.tflwriter import ModelWriter
from opgen import random_records

if not all(shutil.which(t) for t in (qemu.GCC, qemu.QEMU)):
    pytest.skip(f"the Cortex-M toolchain or QEMU is missing: {qemu.SETUP_HINT}", allow_module_level=True)


def chain() -> bytes:
    w = ModelWriter()
    q = (0.05, 3)

    def t(name, shape, dtype="int8", q=q, data=None):
        return w.tensor(name, shape, dtype, q[0] if q else None, q[1] if q else None, data=data)

    def i32(name, *v):
        return w.tensor(name, [len(v)], "int32", data=np.array(v, np.int32))

    x, y = t("x", [2, 6, 4]), t("y", [2, 6, 4])
    t1, t2, t3 = t("xt", [2, 4, 6]), t("yt", [2, 4, 6]), t("max", [2, 4, 6])
    t4 = t("sub", [2, 4, 6], q=(0.06, -60))
    t5 = t("sum", [2, 4], q=(0.5, 0))
    a, b = t("part_a", [2, 4, 2], q=(0.06, -60)), t("part_b", [2, 4, 4], q=(0.06, -60))
    t7, t8 = t("concat", [2, 4, 6], q=(0.06, -60)), t("reversed", [2, 4, 6], q=(0.06, -60))
    t9 = t("gathered", [2, 2, 6], q=(0.06, -60))
    t10 = t("argmax", [2, 2], "int32", q=None)
    t11 = t("greater", [2, 4], "bool", q=None)
    perm = i32("perm", 0, 2, 1)
    w.op("TRANSPOSE", [x, perm], [t1])
    w.op("TRANSPOSE", [y, perm], [t2])
    w.op("MAXIMUM", [t1, t2], [t3])
    w.op("SUB", [t3, t1], [t4], {"fused_activation_function": 0})
    w.op("SUM", [t4, i32("axis2", 2)], [t5], {"keep_dims": False})
    w.op("SPLIT_V", [t4, i32("sizes", 2, 4), i32("axis", 2)], [a, b], {"num_splits": 2})
    w.op("CONCATENATION", [b, a], [t7], {"axis": 2})
    w.op("REVERSE_V2", [t7, i32("axis1", 1)], [t8])
    w.op("GATHER", [t8, i32("idx", 3, 0)], [t9], {"axis": 1})
    w.op("ARG_MAX", [t9, i32("axis_last", 2)], [t10], {"output_type": 2})
    w.op("GREATER", [t5, t("zeros", [4], q=(0.5, 0), data=np.zeros(4, np.int8))], [t11])
    w.inputs, w.outputs = [x, y], [t5, t9, t10, t11]
    return w.build()


def test_chain_on_qemu_m4(tmp_path):
    data = chain()
    check_on_qemu_m4(data, random_records(data, n=5, seed=3), tmp_path, "issue-12 chain on qemu-m4")


def chain_quantized() -> bytes:
    """int8 transposes in 4x4 word blocks, int8 DIV (its divisor's zero point included), quantized
    SQUARED_DIFFERENCE, int8 CUMSUM and L2_NORMALIZATION, int16 ADD, SUB and MUL, a 16x8
    FULLY_CONNECTED, an int8 BATCH_MATMUL of two activations."""
    w = ModelWriter()

    def t(name, shape, dtype="int8", q=(0.05, 3), data=None):
        return w.tensor(name, shape, dtype, q[0] if q else None, q[1] if q else None, data=data)

    x, z = t("x", [8, 12]), t("z", [12, 8], q=(0.04, -5))
    h, k = t("h", [3, 8], "int16", (0.001, 0)), t("k", [8], "int16", (0.0007, 0))
    xt = t("xt", [12, 8])
    w.op("TRANSPOSE", [x, w.tensor("perm", [2], "int32", data=np.array([1, 0], np.int32))], [xt])
    quotient = t("quotient", [12, 8], q=(0.4, 0))
    w.op("DIV", [xt, z], [quotient], {"fused_activation_function": 0})
    sqd = t("sqdiff", [12, 8], q=(0.03, -128))
    w.op("SQUARED_DIFFERENCE", [xt, z], [sqd])
    cum = t("cumsum", [12, 8], q=(0.3, 0))
    w.op("CUMSUM", [sqd, w.tensor("axis", [], "int32", data=np.array(1, np.int32))], [cum], {"reverse": True})
    l2 = t("l2", [12, 8], q=(1 / 128, 0))
    w.op("L2_NORMALIZATION", [quotient], [l2])
    h1, h2, h3 = (t(f"h{n}", [3, 8], "int16", (0.0015, 0)) for n in (1, 2, 3))
    w.op("ADD", [h, k], [h1], {"fused_activation_function": 0})
    w.op("SUB", [h1, k], [h2], {"fused_activation_function": 1})
    w.op("MUL", [h2, h], [h3], {"fused_activation_function": 0})
    rng = np.random.default_rng(5)
    fc = t("fc16x8", [3, 5], "int16", (0.002, 0))
    fc_w = w.tensor("fc_w", [5, 8], "int8", 0.01, 0, data=rng.integers(-127, 128, [5, 8]).astype(np.int8))
    fc_b = w.tensor("fc_b", [5], "int64", data=rng.integers(-5000, 5000, 5).astype(np.int64))
    w.op("FULLY_CONNECTED", [h3, fc_w, fc_b], [fc], {"fused_activation_function": 0})
    mm = t("matmul", [12, 12], q=(0.2, -7))  # an activation rhs: transposed to int16 scratch, SMLAD on the M4
    w.op("BATCH_MATMUL", [xt, x], [mm], {"adj_x": False, "adj_y": False})
    w.inputs, w.outputs = [x, z, h, k], [cum, l2, fc, mm]
    return w.build()


def test_quantized_chain_on_qemu_m4(tmp_path):
    data = chain_quantized()
    check_on_qemu_m4(data, random_records(data, n=5, seed=4), tmp_path, "quantized chain on qemu-m4")


def chain_16x8() -> bytes:
    """16x8 layers on the device: CONV_2D (int64 bias), DEPTHWISE_CONV_2D, AVERAGE_POOL_2D, and the
    int16 -> int8 QUANTIZE a 16x8 model may end with."""
    w = ModelWriter()
    rng = np.random.default_rng(8)

    def t(name, shape, dtype="int16", q=(0.001, 0), data=None):
        return w.tensor(name, shape, dtype, q[0] if q else None, q[1] if q else None, data=data)

    x = t("x", [1, 6, 6, 3])
    c1, d1, p1, q1 = t("conv", [1, 6, 6, 4], q=(0.02, 0)), t("dw", [1, 6, 6, 4], q=(0.2, 0)), \
        t("pool", [1, 3, 3, 4], q=(0.2, 0)), t("q8", [1, 3, 3, 4], "int8", (0.5, 3))
    w.op("CONV_2D", [x, t("cw", [4, 3, 3, 3], "int8", (0.01, 0), rng.integers(-127, 128, [4, 3, 3, 3]).astype(np.int8)),
                     t("cb", [4], "int64", None, rng.integers(-9000, 9000, 4).astype(np.int64))], [c1],
         {"padding": 0, "stride_h": 1, "stride_w": 1, "fused_activation_function": 1})
    w.op("DEPTHWISE_CONV_2D", [c1, t("dww", [1, 3, 3, 4], "int8", (0.02, 0),
                                     rng.integers(-127, 128, [1, 3, 3, 4]).astype(np.int8))], [d1],
         {"padding": 0, "stride_h": 1, "stride_w": 1, "depth_multiplier": 1, "fused_activation_function": 0})
    w.op("AVERAGE_POOL_2D", [d1], [p1], {"padding": 1, "stride_h": 2, "stride_w": 2, "filter_height": 2,
                                         "filter_width": 2, "fused_activation_function": 0})
    w.op("QUANTIZE", [p1], [q1])
    w.inputs, w.outputs = [x], [d1, q1]
    return w.build()


def test_16x8_chain_on_qemu_m4(tmp_path):
    data = chain_16x8()
    check_on_qemu_m4(data, random_records(data, n=4, seed=6), tmp_path, "16x8 chain on qemu-m4")
