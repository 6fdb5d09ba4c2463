"""The memory planner: no two live tensors overlap; chains reach the lower bound; RESHAPE aliases."""
from __future__ import annotations

import numpy as np
import pytest

from kiln.ir import Graph, Operator, Tensor
from kiln.passes import plan


def random_graph(rng, n_ops: int, chain: bool) -> Graph:
    tensors = [Tensor(0, "in", [int(rng.integers(1, 300))], "int8")]
    ops = []
    for i in range(n_ops):
        if chain:
            ins = [len(tensors) - 1]
        else:
            ins = list(rng.choice(len(tensors), size=min(len(tensors), int(rng.integers(1, 3))), replace=False))
        dtype = "float32" if rng.random() < 0.3 else "int8"
        tensors.append(Tensor(len(tensors), f"t{i}", [int(rng.integers(1, 300))], dtype))
        ops.append(Operator(i, "ADD" if len(ins) == 2 else "RELU", [int(j) for j in ins], [len(tensors) - 1]))
    consumed = {j for op in ops for j in op.inputs}
    outputs = [t.index for t in tensors[1:] if t.index not in consumed] or [tensors[-1].index]
    return Graph("g", tensors, ops, [0], outputs)


def assert_no_overlap(bufs):
    for a in bufs:
        assert a.offset % a.align == 0
        for b in bufs:
            if a is not b and a.first <= b.last and b.first <= a.last:
                assert a.offset + a.size <= b.offset or b.offset + b.size <= a.offset, (a, b)


@pytest.mark.parametrize("seed", range(30))
def test_random_graphs_never_overlap(seed):
    rng = np.random.default_rng(seed)
    g = random_graph(rng, int(rng.integers(1, 25)), chain=False)
    bufs = plan.run(g)
    assert_no_overlap(bufs)
    assert g.arena_bytes >= plan.lower_bound(bufs, len(g.operators))
    for t in g.activations:
        assert 0 <= t.offset and t.offset + t.nbytes <= g.arena_bytes


@pytest.mark.parametrize("seed", range(20))
def test_chains_reach_the_lower_bound(seed):
    rng = np.random.default_rng(100 + seed)
    g = random_graph(rng, int(rng.integers(1, 15)), chain=True)
    for t in g.tensors:  # one element size, so alignment cannot add padding
        t.dtype = "int8"
    bufs = plan.run(g)
    assert_no_overlap(bufs)
    assert g.arena_bytes == plan.lower_bound(bufs, len(g.operators))


def test_reshape_output_shares_the_input_buffer():
    t = [Tensor(0, "x", [1, 12], "int8"), Tensor(1, "r", [12], "int8"), Tensor(2, "y", [12], "int8"),
         Tensor(3, "shape", [1], "int32", data=np.array([12], np.int32))]
    ops = [Operator(0, "RESHAPE", [0, 3], [1]), Operator(1, "RELU", [1], [2])]
    g = Graph("g", t, ops, [0], [2])
    bufs = plan.run(g)
    assert t[1].offset == t[0].offset and t[1].alias_of == 0
    assert g.arena_bytes == 12  # x/r share 12 bytes, and the RELU writes over them in place
    assert_no_overlap(bufs)
    assert plan.lower_bound(plan.buffers(g, in_place=False), 2) == 24  # the naive bound


def _chain(kinds_and_inputs, outputs):
    t = [Tensor(i, f"t{i}", [16], "int8") for i in range(len(kinds_and_inputs) + 1)]
    ops = [Operator(k, kind, ins, [k + 1]) for k, (kind, ins) in enumerate(kinds_and_inputs)]
    return Graph("g", t, ops, [0], outputs)


def test_in_place_only_when_the_input_dies_there():
    # t1 = relu(t0); t2 = relu(t1); t3 = add(t1, t2): t2 may not overwrite t1 (read again later),
    # but t3 may overwrite t1 or t2, both last read there.
    g = _chain([("RELU", [0]), ("RELU", [1]), ("ADD", [1, 2])], [3])
    plan.run(g)
    t = g.tensors
    assert t[2].offset != t[1].offset
    assert t[3].offset in (t[1].offset, t[2].offset)
    assert t[1].offset == t[0].offset  # t0 dies at the first RELU
    assert g.arena_bytes == 32


def test_no_in_place_over_a_graph_output():
    g = _chain([("RELU", [0]), ("RELU", [1])], [1, 2])  # t1 is an output and an input of op 1
    plan.run(g)
    assert g.tensors[2].offset != g.tensors[1].offset
