"""Constant folding (passes/constants.py): operators whose inputs are all constant are computed at
compile time by TFLite Micro itself; the results are constants in flash and the functions empty."""
from __future__ import annotations

import numpy as np

from harness import assert_match, compile_and_run
from kiln import compiler
from kiln.compiler import report
from kiln.compiler.tflwriter import ModelWriter
from opgen import random_records


def _write(tmp_path, w: ModelWriter):
    path = tmp_path / "fold.tflite"
    path.write_bytes(w.build())
    return path


def _body(c, op_index: int) -> str:
    src = c.files[f"{c.name}.c"]
    op = c.graph.operators[op_index]
    start = src.index(f"static void op{op_index:03d}_{op.kind.lower()}(")
    return src[start:src.index("\n}\n", start)]


def test_float_chain_folds_and_matches_tflm(tmp_path):
    """const -> RELU -> RESHAPE -> ADD(x, .): RELU and RESHAPE are folded, ADD reads the result."""
    w = ModelWriter()
    c0 = w.tensor("c", [2, 3], "float32", data=np.array([[-1, 2, -3], [4, -5, 6]], np.float32))
    r = w.tensor("relu", [2, 3], "float32")
    rs = w.tensor("reshaped", [6], "float32")
    x = w.tensor("x", [6], "float32")
    y = w.tensor("y", [6], "float32")
    w.op("RELU", [c0], [r])
    w.op("RESHAPE", [r], [rs], {"new_shape": [6]})
    w.op("ADD", [x, rs], [y], {"fused_activation_function": 0})
    w.inputs, w.outputs = [x], [y]
    path = _write(tmp_path, w)
    c = compiler.compile_model(path)
    assert [op.folded for op in c.graph.operators] == [True, True, False]
    np.testing.assert_array_equal(c.graph.tensor(rs).data, [0, 2, 0, 4, 0, 6])
    assert "kiln_" not in _body(c, 0) and "Folded" in _body(c, 0)
    assert c.graph.arena_bytes == 6 * 4  # only x/y (in place) live in the arena
    data = path.read_bytes()
    pair = compile_and_run(data, random_records(data), tmp_path)
    assert_match(pair, "folded chain")
    text = report.text(report.for_model(path))
    assert "RELU (folded)" in text and "RESHAPE (folded)" in text and "ADD (folded)" not in text


def test_int8_requantize_of_a_constant_is_tflm_exact(tmp_path):
    """An int8 -> int8 QUANTIZE of constant weights: the folded values are TFLite Micro's own
    rounding, so the MUL that reads them matches bit for bit."""
    rng = np.random.default_rng(3)
    w = ModelWriter()
    c0 = w.tensor("w", [16], "int8", 0.037, 5, data=rng.integers(-128, 128, 16).astype(np.int8))
    q = w.tensor("w_requantized", [16], "int8", 0.011, -7)
    x = w.tensor("x", [4, 16], "int8", 0.05, 2)
    y = w.tensor("y", [4, 16], "int8", 0.02, -3)
    w.op("QUANTIZE", [c0], [q])
    w.op("MUL", [x, q], [y], {"fused_activation_function": 0})
    w.inputs, w.outputs = [x], [y]
    path = _write(tmp_path, w)
    c = compiler.compile_model(path)
    assert c.graph.operators[0].folded and not c.graph.operators[1].folded
    data = path.read_bytes()
    pair = compile_and_run(data, random_records(data), tmp_path)
    assert_match(pair, "MUL by folded weights")


def test_graph_outputs_are_not_folded(tmp_path):
    """An output computed from constants still gets code: outputs are written by the model."""
    w = ModelWriter()
    c0 = w.tensor("c", [5], "float32", data=np.linspace(-2, 2, 5).astype(np.float32))
    x = w.tensor("x", [5], "float32")
    y0 = w.tensor("y0", [5], "float32")
    y1 = w.tensor("y1", [5], "float32")
    w.op("RELU", [x], [y0])
    w.op("RELU", [c0], [y1])
    w.inputs, w.outputs = [x], [y0, y1]
    path = _write(tmp_path, w)
    c = compiler.compile_model(path)
    assert not any(op.folded for op in c.graph.operators)
    data = path.read_bytes()
    pair = compile_and_run(data, random_records(data), tmp_path)
    assert_match(pair, "constant graph output")
    np.testing.assert_array_equal(pair.ours[0][1], [0, 0, 0, 1, 2])
