"""The untuned depthwise layouts of a DSP board that buy speed with scratch: "rowpairs" where it
leads, then "planes" where it pays, each kept only while the planned arena stays within its
allowance (allowance) and half the board's RAM. Each trial prepares and plans a copy of the graph
(a few milliseconds)."""
from __future__ import annotations

import copy

from . import tuning
from .ir import Graph
from .ops import depthwise
from .passes import plan

# the layers TFLite Micro gives a per-channel multiplier and shift in its arena (its OpData)
PER_CHANNEL_KINDS = ("CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV")


def choose(g: Graph, chosen: dict[int, str], ram_bytes: int | None, flash_bytes: int | None) -> dict[int, str]:
    """The variants to add to `chosen` (which they do not override): rowpairs', then planes', both
    within the allowance of the plan without any of their rings."""
    ids, flash = tuning.rowpairs_candidates(g, chosen, flash_bytes)
    if not ids and not tuning.planes_candidates(g, chosen):
        return {}
    base = _planned(g, chosen)  # the layers' own defaults (pairs; planes or multiplier at a multiplier)
    limit = allowance(base)
    rowpairs = rowpairs_within(g, chosen, ids, base, limit, ram_bytes, flash) if ids else {}
    return {**rowpairs, **planes_within(g, {**chosen, **rowpairs}, limit, ram_bytes)}


def allowance(base: Graph) -> int:
    """The arena the scratch of faster layouts may raise a planned graph's to: the activations'
    lower bound (what a planner without in-place tricks needs) plus the per-channel requantization
    TFLite Micro keeps in its arena for every quantized CONV_2D, DEPTHWISE_CONV_2D and
    TRANSPOSE_CONV (a multiplier and a shift: 8 B an output channel). TFLite Micro's arena holds
    that and more (its tensors' and nodes' records, its kernels' scratch: tflm-qemu's arena_used),
    so within the allowance Kiln's arena stays below TFLite Micro's."""
    bound = plan.lower_bound(plan.buffers(base, in_place=False), len(base.operators))
    per_channel = 0
    for op in base.operators:
        if op.kind in PER_CHANNEL_KINDS and not op.folded:
            y = base.tensor(op.outputs[0])
            if y.dtype in ("int8", "int16"):
                per_channel += 8 * y.shape[-1]
    return bound + per_channel


def _planned(g: Graph, chosen: dict[int, str]) -> Graph:
    """A copy of g prepared and planned with these variants (a trial)."""
    from . import prepare_graph  # the pipeline's own step (this module is one of its parts)

    h = copy.deepcopy(g)
    prepare_graph(h, chosen)
    return h


def rowpairs_within(g: Graph, chosen: dict[int, str], ids: list[int], base: Graph, limit: int,
                    ram_bytes: int | None, flash: int | None = None) -> dict[int, str]:
    """"rowpairs" on ids (tuning.rowpairs_candidates: where it leads, within half the flash), less
    those whose ring would raise the planned arena past `limit` (or base's arena, the plan without
    them, if larger) or past half the board's RAM. The largest rings first become still
    ("rowpairs_still": no drift, its stream twice, while `flash`, the flash left, allows), then are
    dropped, until the arena fits; each dropped one is tried again alone, and each still one as a
    drifting one (a ring away from the arena's peak costs nothing)."""
    def planned(extra: dict[int, str]) -> Graph:
        return _planned(g, {**chosen, **extra})

    def still_costs(i: int) -> int:  # the flash a still ring's stream adds to the drifting one's
        op = g.operators[i]
        return tuning.rowpairs_flash(op, g, "rowpairs_still") - tuning.rowpairs_flash(op, g, "rowpairs")

    bound = max(limit, base.arena_bytes)
    if ram_bytes:
        bound = min(bound, ram_bytes // 2)
    left = float("inf") if flash is None else flash
    kept = {i: "rowpairs" for i in ids}
    trial = planned(kept)
    largest = sorted(ids, key=lambda i: -trial.operators[i].scratch_bytes)
    for i in largest:
        if trial.arena_bytes <= bound:
            break
        if still_costs(i) <= left:
            kept[i], left = "rowpairs_still", left - still_costs(i)
            trial = planned(kept)
    dropped = []
    for i in largest:
        if trial.arena_bytes <= bound:
            break
        if kept.pop(i) == "rowpairs_still":  # its stream's second copy no longer in flash
            left += still_costs(i)
        dropped.append(i)
        trial = planned(kept)
    if trial.arena_bytes > bound:
        return {}
    for i in reversed(dropped):  # smallest ring first
        for name in ("rowpairs", "rowpairs_still"):
            if name == "rowpairs_still" and still_costs(i) > left:
                continue
            if planned({**kept, i: name}).arena_bytes <= bound:
                kept[i] = name
                left -= still_costs(i) if name == "rowpairs_still" else 0
                break
    for i in [i for i in largest if kept.get(i) == "rowpairs_still"]:  # flash back where the arena allows
        if planned({**kept, i: "rowpairs"}).arena_bytes <= bound:
            kept[i] = "rowpairs"
    return kept


def planes_within(g: Graph, chosen: dict[int, str], limit: int, ram_bytes: int | None) -> dict[int, str]:
    """"planes" on tuning.planes_candidates, layer by layer in the model's order, where the planned
    arena stays within half the board's RAM and, unless planes is far ahead of pairs there
    (depthwise.planes_far_ahead: kernels other than 3 wide), within `limit` (the allowance) or the
    arena the far-ahead layers already took."""
    candidates = tuning.planes_candidates(g, chosen)
    if not candidates:
        return {}

    def planned(extra: dict[int, str]) -> Graph:
        return _planned(g, {**chosen, **extra})

    def within(kept: dict[int, str], ids: list[int], bound: float) -> tuple[dict[int, str], int | None]:
        """kept plus those of ids that fit within bound, with their planned arena (None: none added)."""
        every = {**kept, **{i: "planes" for i in ids}}
        if not ids:
            return kept, None
        arena = planned(every).arena_bytes
        if arena <= bound:
            return every, arena
        last = None
        if len(ids) > 1:  # else the greedy walk would repeat that trial
            for i in ids:
                trial = planned({**kept, i: "planes"}).arena_bytes
                if trial <= bound:
                    kept, last = {**kept, i: "planes"}, trial
        return kept, last

    bound = limit
    half = ram_bytes // 2 if ram_bytes else float("inf")
    far = [i for i in candidates if depthwise.planes_far_ahead(g.operators[i], g)]
    kept, arena = within({}, far, half)
    if arena is not None:  # the far-ahead layers' arena is the others' bound too
        bound = max(bound, arena)
    return within(kept, [i for i in candidates if i not in far], min(bound, half))[0]
