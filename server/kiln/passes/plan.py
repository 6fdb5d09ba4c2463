"""Memory planning: arena offsets by tensor lifetime.

Each activation tensor lives from the operator that writes it to the last one that reads it
(graph inputs from the start, graph outputs to the end). Aliasing operators (RESHAPE) make their
output share the input's buffer. Buffers are placed largest first at the lowest offset that
overlaps no buffer alive at the same time (the greedy-by-size strategy), which reaches the
lower bound on chains and most branching graphs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..ir import DTYPES, Graph
from ..ops import REGISTRY


@dataclass
class Buffer:
    root: int  # tensor index that owns the memory
    size: int
    align: int
    first: int
    last: int
    members: list[int] = field(default_factory=list)
    offset: int = -1


def _align(x: int, a: int) -> int:
    return (x + a - 1) // a * a


def buffers(g: Graph) -> list[Buffer]:
    end = len(g.operators)
    root = {t.index: t.index for t in g.activations}

    def find(i):
        while root[i] != i:
            i = root[i]
        return i

    for op in g.operators:
        if REGISTRY[op.kind].alias_output and op.inputs[0] in root and op.outputs[0] in root:
            root[find(op.outputs[0])] = find(op.inputs[0])

    first: dict[int, int] = {}
    last: dict[int, int] = {}

    def touch(i, step):
        first[i] = min(first.get(i, step), step)
        last[i] = max(last.get(i, step), step)

    for i in g.inputs:
        touch(i, 0)
    for op in g.operators:
        for i in op.inputs + op.outputs:
            if i in root:
                touch(i, op.index)
    for i in g.outputs:
        touch(i, end)

    out: dict[int, Buffer] = {}
    for t in g.activations:
        r = find(t.index)
        b = out.setdefault(r, Buffer(r, 0, 1, first.get(t.index, 0), last.get(t.index, 0)))
        b.size = max(b.size, t.nbytes)
        b.align = max(b.align, DTYPES[t.dtype][2] if t.dtype in DTYPES else 1)
        b.first = min(b.first, first.get(t.index, 0))
        b.last = max(b.last, last.get(t.index, 0))
        b.members.append(t.index)
        t.first_use, t.last_use = first.get(t.index, 0), last.get(t.index, 0)
        t.alias_of = r if r != t.index else None
    return list(out.values())


def lower_bound(bufs: list[Buffer], steps: int) -> int:
    """The largest total size of buffers alive at one step: no planner without in-place tricks does better."""
    return max((sum(b.size for b in bufs if b.first <= s <= b.last) for s in range(steps + 1)), default=0)


def live_bytes(bufs: list[Buffer], step: int) -> int:
    return sum(b.size for b in bufs if b.first <= step <= b.last)


def run(g: Graph) -> list[Buffer]:
    bufs = buffers(g)
    placed: list[Buffer] = []
    for b in sorted(bufs, key=lambda b: (-b.size, b.first, b.root)):
        clashes = sorted((p for p in placed if p.first <= b.last and b.first <= p.last), key=lambda p: p.offset)
        offset = 0
        for p in clashes:
            if _align(offset, b.align) + b.size <= p.offset:
                break
            offset = max(offset, p.offset + p.size)
        b.offset = _align(offset, b.align)
        placed.append(b)
    for b in bufs:
        for m in b.members:
            g.tensor(m).offset = b.offset
    g.arena_bytes = max((b.offset + b.size for b in bufs), default=0)
    return bufs
