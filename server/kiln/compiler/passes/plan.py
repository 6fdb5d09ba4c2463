"""Memory planning: arena offsets by tensor lifetime.

Each activation tensor lives from the operator that writes it to the last one that reads it
(graph inputs from the start, graph outputs to the end). Aliasing operators (RESHAPE) make their
output share the input's buffer. Buffers are placed largest first at the lowest offset that
overlaps no buffer alive at the same time (greedy by size); a second strategy places buffers in
order of first use alternately from the bottom and the top of an arena of the lower-bound size,
which is optimal for chains. The smaller result wins.

Overlapped placement (MCUNet's trick): a windowed operator that writes its output in ascending
order (OpDef.overlap: convolutions) may write over the part of its input it has finished reading,
when that input dies there. Its output then may start `d` bytes or more below the input's start
and overlap it, d being the operator's declared least offset. A third strategy places buffers
from the last used back to the first, each at the lowest offset, which stacks each input just
above the output that overlaps it. The plain strategies are still tried too, so a model whose
operators declare no overlap, or gain nothing from it, keeps the plain plan.

Concatenation in place: when a CONCATENATION's inputs are contiguous blocks of its output (every
dimension before the axis is 1), each input is placed inside the output's buffer at its block,
so the operators producing the inputs write straight into the destination and the copy goes away
(the emitter skips a copy whose source already is its destination). An input qualifies when it
is an activation that is neither a graph input nor output, appears once in the operator, and is
not already a block of another concatenation. Tensors then sit at an offset inside their
buffer (Buffer.pos); both plans, with and without, are tried and the smaller arena wins.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from ...errors import KilnError
from ..ir import DTYPES, Graph
from ..ops import REGISTRY
from ..ops.base import aliases
from .validate import MAX_TENSOR_BYTES


@dataclass
class Buffer:
    root: int  # tensor index that owns the memory
    size: int
    align: int
    first: int
    last: int
    members: list[int] = field(default_factory=list)
    offset: int = -1
    pos: dict[int, int] = field(default_factory=dict)  # member -> its bytes' offset in the buffer
    # input buffer root -> the least number of bytes this buffer's start must lie below that
    # input's start when the two overlap (the operator writing this buffer reads that input for
    # the last time, in an order that allows it: OpDef.overlap)
    below: dict[int, int] = field(default_factory=dict)


def _align(x: int, a: int) -> int:
    return (x + a - 1) // a * a


def buffers(g: Graph, in_place: bool = True, concat: bool = True) -> list[Buffer]:
    """The arena buffers: tensors sharing memory (aliases; in-place outputs) merged, with lifetimes.

    An element-wise operator may write its output over an input that dies there (same size, not a
    graph output): its OpDef.in_place names that input; a windowed one may overlap its output with
    such an input (OpDef.overlap, recorded in Buffer.below). in_place=False gives the naive plan,
    whose lower bound is the figure the reports compare against; concat=False keeps every
    concatenation a copy."""
    end = len(g.operators)
    root = {t.index: t.index for t in g.activations}
    delta = {t.index: 0 for t in g.activations}  # bytes from the parent's start to this one's

    def find(i):
        while root[i] != i:
            i = root[i]
        return i

    def pos(i):  # bytes from the start of i's buffer to i's start
        p = 0
        while root[i] != i:
            p, i = p + delta[i], root[i]
        return p

    first: dict[int, int] = {}
    last: dict[int, int] = {}

    def touch(i, step):
        first[i] = min(first.get(i, step), step)
        last[i] = max(last.get(i, step), step)

    for i in g.inputs:
        touch(i, 0)
    for op in g.operators:
        if op.folded:  # computed at compile time: reads nothing at run time
            continue
        for i in op.inputs + op.outputs:
            if i in root:
                touch(i, op.index)
    for i in g.outputs:
        touch(i, end)

    group_last = dict(last)  # per root, the last step any member is used
    sliced: set[int] = set()  # roots holding a concatenation's blocks

    def extent(r):  # the bytes a group spans; only a plain one may become a block
        if r in sliced:
            return -1
        return max(pos(t.index) + t.nbytes for t in g.activations if find(t.index) == r)
    for op in g.operators:
        if op.folded:
            continue
        opdef = REGISTRY[op.kind]
        if not op.outputs:  # ASSIGN_VARIABLE, CALL_ONCE: nothing to place
            continue
        src = op.inputs[0] if aliases(op, g) else None
        if src is None and in_place and opdef.in_place is not None:
            k = opdef.in_place(op, g)
            src = op.inputs[k] if k is not None else None
            if src is not None and (src not in root or group_last[find(src)] != op.index or src in g.outputs
                                    or g.tensor(src).nbytes != g.tensor(op.outputs[0]).nbytes):
                src = None
        out = op.outputs[0]
        if src is not None and src in root and out in root and find(src) != find(out):
            a, b = find(src), find(out)
            root[b], delta[b] = a, pos(src) - pos(out)  # out's bytes on src's
            group_last[a] = max(group_last[a], group_last[b])
        if op.kind == "CONCATENATION" and in_place and concat and out in root:
            y = g.tensor(out)
            axis = op.params["axis"]
            if all(d == 1 for d in y.shape[:axis]):  # each input a contiguous block of the output
                at = 0
                for i in op.inputs:
                    t = g.tensor(i)
                    if (i in root and i not in g.inputs and i not in g.outputs and op.inputs.count(i) == 1
                            and extent(find(i)) == t.nbytes and pos(i) == 0 and find(i) != find(out)):
                        a, b = find(out), find(i)
                        root[b], delta[b] = a, pos(out) + at
                        group_last[a] = max(group_last[a], group_last[b])
                        sliced.add(a)
                    at += t.nbytes

    result: dict[int, Buffer] = {}
    # inputs read by LDRD (the rowpairs depthwise copy; it checks at run time and copies slower else)
    words = {op.inputs[0] for op in g.operators if op.params and "rowpairs" in op.params}
    for op in g.operators:  # scratch lives during its operator only; keyed below tensor indices
        if op.scratch_bytes:
            result[-1 - op.index] = Buffer(-1 - op.index, op.scratch_bytes, 4, op.index, op.index, [])
    for t in g.activations:
        r = find(t.index)
        b = result.setdefault(r, Buffer(r, 0, 1, first.get(t.index, 0), last.get(t.index, 0)))
        b.pos[t.index] = pos(t.index)
        b.size = max(b.size, b.pos[t.index] + t.nbytes)
        b.align = max(b.align, DTYPES[t.dtype][2] if t.dtype in DTYPES else 1)
        if t.index in words and b.pos[t.index] % 4 == 0:
            b.align = max(b.align, 4)
        b.first = min(b.first, first.get(t.index, 0))
        b.last = max(b.last, last.get(t.index, 0))
        b.members.append(t.index)
    if in_place:
        for op in g.operators:
            overlap = REGISTRY[op.kind].overlap
            src, out = op.inputs[0] if op.inputs else -1, op.outputs[0] if op.outputs else -1
            if overlap is None or src not in root or out not in root:
                continue
            x, y = result[find(src)], result[find(out)]
            plain = (x.pos[src] == 0 and x.size == g.tensor(src).nbytes and y.pos[out] == 0
                     and y.size == g.tensor(out).nbytes)  # neither is a block of a concatenation
            if x is not y and plain and x.last == op.index and y.first == op.index:  # the input dies here
                y.below[x.root] = overlap(op, g)
    return list(result.values())


def _footprint(x: Buffer, y: Buffer) -> int:
    """The least room x and y take together, y being allowed to overlap x from y.below[x.root] below."""
    d = y.below[x.root]
    return min(x.size + y.size, max(x.size + max(d, 0), y.size + max(-d, 0)))


def lower_bound(bufs: list[Buffer], steps: int) -> int:
    """The largest total size of buffers alive at one step, less what an overlap saves there: no
    placement of these buffers does better."""
    best = 0
    for s in range(steps + 1):
        live = [b for b in bufs if b.first <= s <= b.last]
        room = sum(b.size for b in live)
        for y in live:
            for x in live:
                if x.root in y.below:
                    room -= x.size + y.size - _footprint(x, y)
        best = max(best, room)
    return best


def live_bytes(bufs: list[Buffer], step: int) -> int:
    return sum(b.size for b in bufs if b.first <= step <= b.last)


def _gaps(b: Buffer, p: Buffer) -> tuple[int, int]:
    """(below, above): b must start at least `below` bytes below p's start, or at least `above`
    bytes above it. Without overlap, b must end by p's start or start at p's end."""
    below = min(b.below[p.root], b.size) if p.root in b.below else b.size
    above = min(p.below[b.root], p.size) if b.root in p.below else p.size
    return below, above


def _forbidden(b: Buffer, placed: list[Buffer]) -> list[tuple[int, int]]:
    """Open intervals of offsets at which b would clash with a placed buffer alive at the same time."""
    spans = []
    for p in placed:
        if p.first <= b.last and b.first <= p.last:
            below, above = _gaps(b, p)
            spans.append((p.offset - below, p.offset + above))
    return spans


def _lowest(b: Buffer, placed: list[Buffer]) -> int:
    """The lowest aligned offset where b clashes with no placed buffer alive at the same time."""
    spans = _forbidden(b, placed)
    offset = 0
    while True:
        hit = [hi for lo, hi in spans if lo < offset < hi]
        if not hit:
            return offset
        offset = _align(max(hit), b.align)


def _highest(b: Buffer, placed: list[Buffer], limit: int) -> int | None:
    """The highest aligned offset below limit where b fits, or None."""
    spans = _forbidden(b, placed)
    offset = (limit - b.size) // b.align * b.align
    while offset >= 0:
        hit = [lo for lo, hi in spans if lo < offset < hi]
        if not hit:
            return offset
        offset = min(hit) // b.align * b.align
    return None


def clashes(bufs: list[Buffer]) -> list[tuple[Buffer, Buffer]]:
    """Pairs of placed buffers alive at the same time whose bytes overlap other than as allowed."""
    bad = []
    for k, a in enumerate(bufs):
        for b in bufs[k + 1:]:
            if a.first <= b.last and b.first <= a.last:
                below, above = _gaps(a, b)
                if b.offset - below < a.offset < b.offset + above:
                    bad.append((a, b))
    return bad


def _greedy_by_size(bufs: list[Buffer], latest_first: bool = False) -> dict[int, int]:
    """Largest first, each at the lowest offset. latest_first: of equal sizes, the one used last
    goes first, so that an input placed after its overlapping output can sit just above it."""
    placed: list[Buffer] = []
    order = (lambda b: (-b.size, -b.last, -b.first, b.root)) if latest_first else (lambda b: (-b.size, b.first, b.root))
    for b in sorted(bufs, key=order):
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


def _last_first(bufs: list[Buffer]) -> dict[int, int]:
    """From the last used back to the first, each at the lowest offset: an input then sits just
    above the output that overlaps it, and the output lower down was placed first."""
    placed: list[Buffer] = []
    for b in sorted(bufs, key=lambda b: (-b.last, -b.first, -b.size, b.root)):
        b.offset = _lowest(b, placed)
        placed.append(b)
    return {b.root: b.offset for b in bufs}


def _scratch_last(bufs: list[Buffer], plan: dict[int, int]) -> dict[int, int]:
    """plan's offsets for the tensors; each operator's scratch (alive during that operator only)
    moved to the lowest offset where it meets none of them, so it cannot displace a tensor."""
    placed = [replace(b, offset=plan[b.root]) for b in bufs if b.root >= 0]
    out = dict(plan)
    for b in sorted((b for b in bufs if b.root < 0), key=lambda b: (-b.size, b.root)):
        s = replace(b, align=max(b.align, 4))
        s.offset = out[b.root] = _lowest(s, placed)
        placed.append(s)
    return out


def run(g: Graph) -> list[Buffer]:
    bufs = _plan(g, buffers(g))
    group = {m: b.root for b in bufs for m in b.members}
    merged = any(op.kind == "CONCATENATION" and any(i in group and group[i] == group.get(op.outputs[0])
                                                    for i in op.inputs) for op in g.operators)
    if merged:  # a concatenation in place makes its output live from its first input on: is it smaller?
        copies = _plan(g, buffers(g, concat=False))
        if _arena(copies) < _arena(bufs):
            bufs = copies
    g.arena_bytes = _arena(bufs)
    if g.arena_bytes > MAX_TENSOR_BYTES:  # each tensor fits, their sum does not: before any C is written
        raise KilnError(f"the model needs an arena of {g.arena_bytes:,} bytes, more than any microcontroller has "
                        f"(limit {MAX_TENSOR_BYTES:,})")
    for b in bufs:
        if b.root < 0:
            g.operators[-1 - b.root].scratch_offset = b.offset
        for m in b.members:
            t = g.tensor(m)
            t.alias_of = b.root if b.root != m else None
            t.offset = b.offset + b.pos.get(m, 0)
    return bufs


def _arena(bufs: list[Buffer]) -> int:
    return max((b.offset + b.size for b in bufs), default=0)


def _plan(g: Graph, bufs: list[Buffer]) -> list[Buffer]:
    """bufs with the offsets of the smallest of the strategies (the graph is not touched)."""
    steps = len(g.operators)

    def plans(bufs):
        plain = [replace(b, below={}) for b in bufs]  # the plans without overlaps come first: ties keep them
        out = [_two_ended(plain, lower_bound(plain, steps)), _greedy_by_size(plain)]
        if any(b.below for b in bufs):
            # offsets there are sums of declared overlaps as well as sizes: keep every buffer word
            # aligned, as the DSP kernels load four int8 values at a time
            words = [replace(b, align=max(b.align, 4)) for b in bufs]
            out += [_last_first(words), _greedy_by_size(words, latest_first=True)]
        return [c for c in out if c is not None]

    candidates = plans(bufs)
    if any(b.root < 0 for b in bufs):  # the same plans for the tensors alone, then each scratch in a gap
        tensors = [b for b in bufs if b.root >= 0]
        candidates += [_scratch_last(bufs, c) for c in plans(tensors)]

    def size(c):
        return max((c[b.root] + b.size for b in bufs), default=0)

    best = min(candidates, key=size)
    for b in bufs:
        b.offset = best[b.root]
    bad = clashes(bufs)
    if bad:  # a planner bug, never the model's fault: stop before emitting code that corrupts data
        raise RuntimeError(f"memory planner: buffers {bad[0][0].root} and {bad[0][1].root} overlap")
    return bufs
