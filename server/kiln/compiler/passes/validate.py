"""Checks that every operator is supported with its exact types and options."""
from __future__ import annotations

import math

from ...errors import UnsupportedError
from ..ir import DTYPES, Graph
from ..ops import REGISTRY
from .variables import called

MAX_TENSOR_BYTES = 1 << 30
INT4_KINDS = ("FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D")


def _operators(g: Graph):
    """The main graph's operators, then those of the subgraphs it runs (CALL_ONCE)."""
    for sg in [g] + called(g):
        yield from sg.operators


def unsupported_kinds(g: Graph) -> dict[str, list[int | str]]:
    """Operator kinds Kiln has no definition for, each with the indices of its operators (those of
    another subgraph as "2 in subgraph 1")."""
    kinds: dict[str, list[int | str]] = {}
    for op in _operators(g):
        if op.kind not in REGISTRY and not op.folded:
            kinds.setdefault(op.kind, []).append(op.index if not op.subgraph else f"{op.index} in subgraph {op.subgraph}")
    return kinds


def _kinds_line(kinds: dict[str, list[int]]) -> str:
    """`2 operator kinds are not supported: LSTM (operator 0), SVDF (operators 2, 5)`: the whole gap
    at once, so a user sees everything a model needs."""
    parts = [f"{k} (operator{'s' if len(ix) > 1 else ''} {', '.join(map(str, ix))})" for k, ix in kinds.items()]
    n = len(kinds)
    return f"{n} operator kind{'s are' if n > 1 else ' is'} not supported: {', '.join(parts)}"


def problems(g: Graph) -> list[str]:
    """Every reason the graph cannot be compiled, one line each (empty when it can). Each operator
    Kiln has no definition for gets its own line (for kiln inspect and the editor's report)."""
    found = []
    for op in _operators(g):
        if op.folded:  # computed at compile time (passes/constants.py)
            continue
        opdef = REGISTRY.get(op.kind)
        if opdef is None:
            found.append(f"{op.label} is not supported (see docs/operators.md for what Kiln compiles)")
            continue
        sg = g.subgraphs[op.subgraph] if op.subgraph else g
        bad = [k for k, v in op.options.items() if isinstance(v, float) and not math.isfinite(v)]
        if bad:  # a NaN beta or alpha would reach the fixed-point maths as garbage
            found.append(f"{op.label}: option {bad[0]} is {op.options[bad[0]]}; Kiln needs a finite number")
            continue
        int4 = [k for k, i in enumerate(op.inputs) if i >= 0 and sg.tensor(i).int4]
        if int4 and (op.kind not in INT4_KINDS or int4 != [1] or sg.tensor(op.inputs[0]).dtype != "int8"):
            found.append(f"{op.label}: input {int4[0]} is INT4: TFLite Micro takes INT4 only as the weights (input 1) "
                         f"of {', '.join(INT4_KINDS)} with an int8 input")
            continue
        try:
            opdef.check(op, g.subgraphs[op.subgraph] if op.subgraph else g)
        except UnsupportedError as e:
            found.append(str(e))
    supported = ", ".join(d.upper() for d in DTYPES)
    for role, ids in (("input", g.inputs), ("output", g.outputs)):
        for i in ids:
            t = g.tensor(i)
            if t.dtype not in DTYPES:
                found.append(f"graph {role} {i} ('{t.name}') has type {t.dtype.upper()}; supported: {supported}")
            elif t.is_const:
                found.append(f"graph {role} {i} ('{t.name}') is a constant")
    for t in (t for sg in [g] + called(g) for t in sg.tensors if t.quant is not None):
        s = next((v for v in t.quant.scale if not math.isfinite(v) or v < 0), None)
        if s is not None:
            found.append(f"tensor {t.index} ('{t.name}') has quantization scale {s}; Kiln needs a finite number, "
                         f"not negative")
    for t in (t for sg in [g] + called(g) for t in sg.activations):
        if t.dtype not in DTYPES:
            found.append(f"tensor {t.index} ('{t.name}') has type {t.dtype.upper()}, which Kiln cannot hold in "
                         f"its arena (supported: {supported})")
        elif t.nbytes > MAX_TENSOR_BYTES:
            found.append(f"tensor {t.index} ('{t.name}') {t.describe()} needs {t.nbytes:,} bytes, more than any "
                         f"microcontroller has (limit {MAX_TENSOR_BYTES:,})")
    if not g.operators:
        found.append("the model has no operators")
    return found


def run(g: Graph) -> None:
    """Raises one line: every unsupported operator kind with its indices when there are any (the
    whole gap at once), else the first problem and how many more there are."""
    kinds = unsupported_kinds(g)
    found = problems(g)
    if kinds:
        rest = len(found) - sum(len(ix) for ix in kinds.values())
        more = f" (and {rest} more problem{'s' if rest > 1 else ''}; kiln inspect lists them)" if rest > 0 else ""
        raise UnsupportedError(_kinds_line(kinds) + more + ". Next: re-export the model with the operators of "
                               "docs/operators.md in their place (kiln inspect shows each operator), or keep this "
                               "part of the network on the host")
    if found:
        more = f" (and {len(found) - 1} more problem{'s' if len(found) > 2 else ''})" if len(found) > 1 else ""
        raise UnsupportedError(found[0] + more)
