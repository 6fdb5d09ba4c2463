"""Checks that every operator is supported with its exact types and options."""
from __future__ import annotations

from ..errors import UnsupportedError
from ..ir import Graph
from ..ops import REGISTRY


MAX_TENSOR_BYTES = 1 << 30


def problems(g: Graph) -> list[str]:
    """Every reason the graph cannot be compiled, one line each (empty when it can)."""
    found = []
    for op in g.operators:
        opdef = REGISTRY.get(op.kind)
        if opdef is None:
            found.append(f"{op.label} is not supported (Kiln supports {', '.join(sorted(REGISTRY))})")
            continue
        try:
            opdef.check(op, g)
        except UnsupportedError as e:
            found.append(str(e))
    for role, ids in (("input", g.inputs), ("output", g.outputs)):
        for i in ids:
            t = g.tensor(i)
            if t.dtype not in ("int8", "float32"):
                found.append(f"graph {role} {i} ('{t.name}') has type {t.dtype.upper()}; supported: INT8, FLOAT32")
            elif t.is_const:
                found.append(f"graph {role} {i} ('{t.name}') is a constant")
    for t in g.activations:
        if t.nbytes > MAX_TENSOR_BYTES:
            found.append(f"tensor {t.index} ('{t.name}') {t.describe()} needs {t.nbytes:,} bytes, more than any "
                         f"microcontroller has (limit {MAX_TENSOR_BYTES:,})")
    if not g.operators:
        found.append("the model has no operators")
    return found


def run(g: Graph) -> None:
    found = problems(g)
    if found:
        more = f" (and {len(found) - 1} more problem{'s' if len(found) > 2 else ''})" if len(found) > 1 else ""
        raise UnsupportedError(found[0] + more)
