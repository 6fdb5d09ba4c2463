"""Memory planning: arena offsets by tensor lifetime.

Each activation tensor lives from the operator that writes it to the last one that reads it
(graph inputs from the start, graph outputs to the end). Aliasing operators (RESHAPE) make their
output share the input's buffer. Buffers are placed largest first at the lowest offset that
overlaps no buffer alive at the same time (greedy by size); a second strategy places buffers in
order of first use alternately from the bottom and the top of an arena of the lower-bound size,
which is optimal for chains. The smaller result wins.
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


def buffers(g: Graph, in_place: bool = True) -> list[Buffer]:
    """The arena buffers: tensors sharing memory (aliases; in-place outputs) merged, with lifetimes.

    An element-wise operator may write its output over an input that dies there (same size, not a
    graph output): its OpDef.in_place names that input. in_place=False gives the naive plan, whose
    lower bound is the figure the reports compare against."""
    end = len(g.operators)
    root = {t.index: t.index for t in g.activations}

    def find(i):
        while root[i] != i:
            i = root[i]
        return i

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

    group_last = dict(last)  # per root, the last step any member is used
    for op in g.operators:
        opdef = REGISTRY[op.kind]
        src = op.inputs[0] if opdef.alias_output else None
        if src is None and in_place and opdef.in_place is not None:
            k = opdef.in_place(op, g)
            src = op.inputs[k] if k is not None else None
            if src is not None and (src not in root or group_last[find(src)] != op.index or src in g.outputs
                                    or g.tensor(src).nbytes != g.tensor(op.outputs[0]).nbytes):
                src = None
        out = op.outputs[0]
        if src is not None and src in root and out in root and find(src) != find(out):
            a, b = find(src), find(out)
            root[b] = a
            group_last[a] = max(group_last[a], group_last[b])

    result: dict[int, Buffer] = {}
    for op in g.operators:  # scratch lives during its operator only; keyed below tensor indices
        if op.scratch_bytes:
            result[-1 - op.index] = Buffer(-1 - op.index, op.scratch_bytes, 4, op.index, op.index, [])
    for t in g.activations:
        r = find(t.index)
        b = result.setdefault(r, Buffer(r, 0, 1, first.get(t.index, 0), last.get(t.index, 0)))
        b.size = max(b.size, t.nbytes)
        b.align = max(b.align, DTYPES[t.dtype][2] if t.dtype in DTYPES else 1)
        b.first = min(b.first, first.get(t.index, 0))
        b.last = max(b.last, last.get(t.index, 0))
        b.members.append(t.index)
    return list(result.values())


def lower_bound(bufs: list[Buffer], steps: int) -> int:
    """The largest total size of buffers alive at one step: no placement of these buffers does better."""
    return max((sum(b.size for b in bufs if b.first <= s <= b.last) for s in range(steps + 1)), default=0)


def live_bytes(bufs: list[Buffer], step: int) -> int:
    return sum(b.size for b in bufs if b.first <= step <= b.last)


def _lowest(b: Buffer, placed: list[Buffer]) -> int:
    """The lowest aligned offset where b overlaps no placed buffer alive at the same time."""
    offset = 0
    for p in sorted((p for p in placed if p.first <= b.last and b.first <= p.last), key=lambda p: p.offset):
        if _align(offset, b.align) + b.size <= p.offset:
            break
        offset = max(offset, p.offset + p.size)
    return _align(offset, b.align)


def _highest(b: Buffer, placed: list[Buffer], limit: int) -> int | None:
    """The highest aligned offset below limit where b fits, or None."""
    top = limit
    for p in sorted((p for p in placed if p.first <= b.last and b.first <= p.last), key=lambda p: -(p.offset + p.size)):
        cand = (top - b.size) // b.align * b.align
        if cand >= p.offset + p.size:
            return cand
        top = min(top, p.offset)
    cand = (top - b.size) // b.align * b.align
    return cand if cand >= 0 else None


def _greedy_by_size(bufs: list[Buffer]) -> dict[int, int]:
    placed: list[Buffer] = []
    for b in sorted(bufs, key=lambda b: (-b.size, b.first, b.root)):
        b.offset = _lowest(b, placed)
        placed.append(b)
    return {b.root: b.offset for b in bufs}


def _two_ended(bufs: list[Buffer], limit: int) -> dict[int, int] | None:
    """In order of first use, alternately from the bottom and the top of [0, limit): optimal for
    chains, where each tensor only meets its neighbours. None when something does not fit."""
    placed: list[Buffer] = []
    for k, b in enumerate(sorted(bufs, key=lambda b: (b.first, b.last, b.root))):
        off = _lowest(b, placed) if k % 2 == 0 else _highest(b, placed, limit)
        if off is None or off + b.size > limit:
            return None
        b.offset = off
        placed.append(b)
    return {b.root: b.offset for b in bufs}


def run(g: Graph) -> list[Buffer]:
    bufs = buffers(g)
    for b in bufs:
        for m in b.members:
            t = g.tensor(m)
            t.alias_of = b.root if b.root != m else None
    bound = lower_bound(bufs, len(g.operators))
    candidates = [c for c in (_two_ended(bufs, bound), _greedy_by_size(bufs)) if c is not None]

    def size(c):
        return max((c[b.root] + b.size for b in bufs), default=0)

    best = min(candidates, key=size)
    for b in bufs:
        b.offset = best[b.root]
        for m in b.members:
            g.tensor(m).offset = b.offset
        if b.root < 0:
            g.operators[-1 - b.root].scratch_offset = b.offset
    g.arena_bytes = size(best)
    return bufs
