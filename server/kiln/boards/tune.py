"""kiln tune: measure each operator's kernel variants on a device and keep the fastest bit-exact one.

Round k builds the firmware with every tunable operator on its k-th variant (its default in round
0, the untuned build), flashes it through the board's adapter, checks the outputs against TFLite
Micro bit for bit on a few inputs, and profiles one inference over the RPC link. Operators time
independently (one function each, run in turn), so one build per round measures them all: a model
whose operators have at most n variants needs n builds. Each operator then takes its fastest
variant, and only one strictly faster than its default (operators of one signature, which share a
log entry, together: their cycles summed); a last build checks the chosen set is
bit-exact and no operator slower than untuned (an operator that is gets its default back). The
choices go to the tuning log (kiln/compiler/tuning.py, docs/tuning.md), keyed by CPU and operator
signature, which every later compile of a model with such operators uses.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from .. import boards, compiler
from ..compiler import importer, oracle, tuning
from ..errors import KilnError


def _trial(model: Path, board: str, variants: dict[int, str], records, refs, repeats: int, progress, **deploy) -> dict:
    """One build with these variants: bit-exact on every record? cycles per operator (the median of
    `repeats` profiled inferences; one on an emulator, where they repeat exactly)."""
    from .deploy import Deployment

    with Deployment(model, board, variants=variants, progress=progress, **deploy) as d:
        exact = all(np.array_equal(np.asarray(a), np.asarray(r).reshape(np.asarray(a).shape))
                    for rec, ref in zip(records, refs) for a, r in zip(d.session.infer(rec), ref))
        profiles = [d.profile(records[0]) for _ in range(repeats)]
        cycles = [int(np.median(col)) for col in zip(*[[o["cycles"] for o in p["operators"]] for p in profiles])]
        return {"exact": exact, "cycles": cycles, "arena_bytes": d.compiled.graph.arena_bytes,
                "profile": boards.in_units(profiles[0], board)}


def tune(model: str | Path, board: str, *, log_path: str | Path | None = None, seed: int = 0, checks: int = 3,
         progress=lambda msg: None, **deploy) -> dict:
    """Tune `model` on `board`; write (or update) the tuning log. Returns the per-operator figures."""
    model = Path(model)
    t0 = time.monotonic()
    info = boards.find(board) if not deploy.get("adapter") else None
    cpu = (info.config.get("cpu") if info else None) or board
    emulated = board.startswith("qemu-")
    repeats = 1 if emulated else 3  # emulated: exact and repeatable; silicon: a median
    # on silicon a median of three still moves by a tick or two (interrupts, caches, flash wait
    # states): a variant must win by more than that, not by noise
    margin = 0.0 if emulated else 0.01
    g = importer.load(model)
    compiler.prepare_graph(g, {})
    choices = {op.index: tuning.candidates(op, g, cpu) for op in g.operators}
    choices = {i: v for i, v in choices.items() if v}
    if not choices:
        raise KilnError(f"{model.name}: no operator has kernel variants to choose from (int8 CONV_2D and "
                        "FULLY_CONNECTED have them, docs/tuning.md); there is nothing to tune")
    sigs = {op.index: tuning.signature(op, g) for op in g.operators}
    # the log first: an unreadable one or an unwritable place is an error before any build
    path = Path(log_path) if log_path else model.with_name(tuning.DEFAULT_NAME)
    log = tuning.Log.load(path) if path.is_file() else tuning.Log()  # other CPUs' and models' entries stay
    if not os.access(path if path.exists() else path.parent, os.W_OK):
        raise KilnError(f"{path}: cannot write the tuning log there; give another place with --log")
    records = oracle.random_inputs(g, seed=seed, count=checks)
    progress(f"running TFLite Micro on {checks} inputs for the reference")
    refs = oracle.run_tflm(model, records, len(g.outputs))
    rounds = max(len(v) for v in choices.values())
    progress(f"{len(choices)} of {len(g.operators)} operators have variants: {rounds} build(s) on {board}")

    def build(variants: dict[int, str]) -> dict:
        t = _trial(model, board, variants, records, refs, repeats, lambda m: progress(f"  {m}"), **deploy)
        return {**t, "variants": variants}

    def measure(variants: dict[int, str], what: str) -> list[dict]:
        """One build with these variants, or, when it does not fit or build, the two halves of them
        in builds of their own (so one layer too big for the board's flash keeps only itself out)."""
        try:
            t = build(variants)
        except KilnError as e:
            if len(variants) <= 1:
                progress(f"  {what} failed ({e}): left out")
                return [{"exact": False, "cycles": [], "arena_bytes": 0, "profile": None, "variants": variants}]
            items = sorted(variants.items())
            progress(f"  {what} failed ({e}): trying its {len(items)} operators in two halves")
            return measure(dict(items[:len(items) // 2]), f"{what} (first half)") + \
                measure(dict(items[len(items) // 2:]), f"{what} (second half)")
        if not t["exact"]:
            progress(f"  {what} is not bit-exact with TFLite Micro: its variants are left out")
        return [t]

    trials: list[dict] = []
    for k in range(rounds):
        variants = {i: v[k] for i, v in choices.items() if k < len(v)}
        names = sorted({v for v in variants.values()}) or ["default"]
        progress(f"round {k + 1}/{rounds}: {', '.join(names)}")
        if k == 0:  # the untuned build: nothing to compare against if it fails, so that is the error
            trials.append(build(variants))
        else:
            trials += measure(variants, f"round {k + 1}")
    before = trials[0]
    if not before["exact"]:
        raise KilnError(f"{model.name}: the untuned build on {board} does not match TFLite Micro bit for bit; "
                        "nothing to tune against (check the board and the model with `kiln run --compare`)")

    measured: dict[int, dict[str, int]] = {i: {} for i in choices}
    for t in trials:
        if t["exact"]:
            for i, v in t["variants"].items():
                measured[i][v] = t["cycles"][i]
    # operators with one signature share one log entry, so they take one variant: the fastest
    # over all of them together (their cycles summed), and only when strictly faster
    groups: dict[str, list[int]] = {}
    for i in choices:
        groups.setdefault(sigs[i], []).append(i)
    summed: dict[str, dict[str, int]] = {}
    for sig, ops in groups.items():
        common = set.intersection(*(set(measured[i]) for i in ops))
        summed[sig] = {v: sum(measured[i][v] for i in ops) for v in choices[ops[0]] if v in common}
    chosen = {}
    for sig, m in summed.items():
        default = choices[groups[sig][0]][0]
        best = min(m, key=lambda v: (m[v], v != default)) if m else default
        if best != default and m[best] < m[default] * (1 - margin):
            chosen.update({i: best for i in groups[sig]})

    def gain_per_byte(sig):  # cycles a signature's choice saves per byte of its operators' constants
        ops = groups[sig]  # (the "16" variants store those bytes again: what a flash too small runs out of)
        cost = sum(g.tensor(t).nbytes for i in ops for t in g.operators[i].inputs if t >= 0 and g.tensor(t).is_const)
        return (summed[sig][choices[ops[0]][0]] - summed[sig][chosen[ops[0]]]) / max(cost, 1)

    after = before
    while chosen:  # the choices measured in separate builds may not fit the board together
        progress(f"checking the chosen set ({len(chosen)} operator(s) off their default)")
        try:
            after = build(chosen)
            break
        except KilnError as e:
            least = min({sigs[i] for i in chosen}, key=gain_per_byte)
            progress(f"  it does not fit or build ({e}); the choice that gains least per byte goes back to its default")
            chosen = {i: v for i, v in chosen.items() if sigs[i] != least}
    if chosen:
        def worse(i):  # slower than untuned, beyond the noise the margin allows
            return after["cycles"][i] > before["cycles"][i] * (1 + margin)

        slower = {sigs[i] for i in chosen if worse(i)}
        if not after["exact"] or slower:
            for i in list(chosen):  # a signature with a slower operator goes back to its default
                if not after["exact"] or sigs[i] in slower:
                    chosen.pop(i)
            progress("  some choices did not hold up together; checking again with those on their defaults")
            try:
                after = build(chosen) if chosen else before
            except KilnError:  # fewer choices than a build that worked: not expected, but never fatal
                after = {"exact": False}
            if not after["exact"] or any(worse(i) for i in chosen):
                progress("  still not holding up: every operator keeps its default")
                chosen, after = {}, before

    for sig, ops in groups.items():
        log.record(cpu, sig, chosen.get(ops[0], choices[ops[0]][0]), summed[sig], board, model.name)
    try:
        log.save(path)
    except OSError as e:
        raise KilnError(f"{path}: cannot write the tuning log ({e.strerror}); give another place with --log") from None

    ops = []
    for op in g.operators:
        ops.append({"index": op.index, "kind": op.kind, "signature": sigs[op.index],
                    "variants": measured.get(op.index, {}), "chosen": chosen.get(op.index, (choices.get(op.index) or [None])[0]),
                    "before": before["cycles"][op.index], "after": after["cycles"][op.index]})
    return {"model": g.name, "board": board, "cpu": cpu, "log": str(path), "seconds": time.monotonic() - t0,
            "rounds": rounds, "operators": ops,
            "before": before["profile"], "after": after["profile"],
            "arena_bytes": {"before": before["arena_bytes"], "after": after["arena_bytes"]}}
