"""Constant propagation: an aliasing operator (RESHAPE) of a constant yields a constant."""
from __future__ import annotations

from ..ir import Graph
from ..ops import REGISTRY


def run(g: Graph) -> None:
    for op in g.operators:
        if REGISTRY[op.kind].alias_output:
            x = g.tensor(op.inputs[0])
            (y,) = g.op_outputs(op)
            if x.is_const and not y.is_const:
                y.data = x.data.reshape(y.shape)
