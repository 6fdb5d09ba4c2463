"""Issue 12's data-movement, binary and reduction kernels on the Cortex-M4 (qemu-m4), chained in one
firmware: bit-exact with TFLite Micro under arm-none-eabi-gcc -O2 as on the host."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from harness import Pair, assert_match
from kiln import compiler, oracle, qemuboard
from kiln.tflwriter import ModelWriter
from opgen import random_records

if not all(shutil.which(t) for t in (qemuboard.GCC, qemuboard.QEMU)):
    pytest.skip(f"the Cortex-M toolchain or QEMU is missing: {qemuboard.SETUP_HINT}", allow_module_level=True)


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
    path = tmp_path / "chain.tflite"
    path.write_bytes(data)
    records = random_records(data, n=5, seed=3)
    c = compiler.compile_model(path)
    src = tmp_path / "src"
    compiler.write(c, src)
    elf = qemuboard.build(src, c.name, tmp_path / "build", records, graph=c.graph)
    result = qemuboard.run(elf, c.graph)
    ref = oracle.run_tflm(path, records, len(c.graph.outputs))
    assert_match(Pair(result.outputs, ref, c), "issue-12 chain on qemu-m4")
    assert len({r[2].tobytes() for r in result.outputs}) > 1, "the arg-max output never changes: it proves nothing"
