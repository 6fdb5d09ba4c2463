"""One route for profiling: the CLI, the language server and the tests all ask here.

A QEMU board counts instructions exactly with its own firmware (bench.bench for one invocation,
bench.profile_sequence for a sequence; -icount shift=0, so figures repeat to the instruction and
one instruction stands for a nanosecond). Every other board, and a QEMU board reached through an
adapter, over RPC or attached, is timed over the RPC link by a deployment that the caller opens:
`connect()` is a context manager giving a deploy.Deployment or deploy.Attachment (the language
server passes one that reuses the firmware it flashed).

Every route returns the same report: {"model", "board", "unit", "operators": [{"index", "kind",
"function", "cycles", "micros", "share", "macs"}], "total": {"cycles", "micros"}, "run"}; a
sequence adds per operator "mean_cycles" and "per_step", in total "mean_cycles" and "per_step",
and "steps" with "per_step_cycles". "cycles" is the count of the board's counter and "unit" says
what it counts (boards.counter: "instructions" on QEMU, "nanoseconds" on the host, "cycles" on
real boards); "micros" is null where the count is no time (QEMU: one instruction is no real
CPU's nanosecond).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..compiler.ir import function_name
from . import in_units

NS_PER_INSTRUCTION = 1.0  # -icount shift=0


def exact_counter(board: str, *, adapter=None, attach=False, rpc=False) -> bool:
    """Whether `board` is profiled by the exact-count firmware (a QEMU board run directly)."""
    from . import qemu

    return board in qemu.TARGETS and not (adapter or attach or rpc)


def _exact_report(r: dict, board: str) -> dict:
    """bench.bench's result as a profile report."""
    total = sum(o["instructions"] for o in r["operators"])
    us = NS_PER_INSTRUCTION / 1000
    return {"model": r["model"], "board": board, "exact": r["exact"],
            "operators": [{"index": o["index"], "kind": o["kind"], "function": function_name(o["index"], o["kind"]),
                           "cycles": o["instructions"], "micros": o["instructions"] * us, "share": o["share"],
                           "macs": o["macs"]} for o in r["operators"]],
            "total": {"cycles": total, "micros": total * us},
            "run": {"cycles": r["instructions"], "micros": r["instructions"] * us}}


def _sequence_report(name: str, board: str, operators, per_step: list[list[tuple[float, float]]]) -> dict:
    """Per operator (cycles, micros) of every invocation -> means, shares and the per-step figures."""
    steps = len(per_step)
    cycles = [sum(st[k][0] for st in per_step) / steps for k in range(len(operators))]
    micros = [sum(st[k][1] for st in per_step) / steps for k in range(len(operators))]
    total = max(sum(cycles), 1e-9)
    ops = [{"index": op.index, "kind": op.kind, "function": function_name(op.index, op.kind), "cycles": round(cy),
            "mean_cycles": cy, "micros": mu, "share": cy / total, "macs": op.macs,
            "per_step": [st[k][0] for st in per_step]}
           for k, (op, cy, mu) in enumerate(zip(operators, cycles, micros))]
    totals = [sum(c for c, _ in st) for st in per_step]
    return {"model": name, "board": board, "operators": ops, "steps": steps, "run": None,
            "total": {"cycles": round(sum(cycles)), "micros": sum(micros), "mean_cycles": sum(totals) / steps,
                      "per_step": totals},
            "per_step_cycles": [round(t) for t in totals]}


def _folder(path) -> Path | None:
    return Path(path) if path else None


def profile(model: str | Path, board: str, *, connect: Callable, exact: bool, records_for: Callable,
            sequence: bool = False, steps: int = 1, out: str | Path | None = None, progress=lambda msg: None,
            seed: int = 0, input_paths: list | None = None) -> tuple[dict, Path | None]:
    """Profiles one invocation of `model` on `board`, or (sequence) the invocations
    records_for(graph, steps) gives, from the reset state with the state carried. Returns the
    report and the folder of the generated C that ran (None: a temporary one, gone)."""
    import tempfile

    from .. import compiler
    from . import bench, flash, qemu, ram

    if exact and not sequence:
        r = bench.bench(model, board, seed=seed, keep=out, progress=progress, input_paths=input_paths)
        return in_units(_exact_report(r, board), board), _folder(out)
    if exact:
        c = compiler.compile_model(model, cpu=qemu.target(board).cpu, flash_bytes=flash(board), ram_bytes=ram(board))
        with tempfile.TemporaryDirectory(prefix="kiln-profile-") as tmp:
            counts = bench.profile_sequence(c, records_for(c.graph, steps), board, out or Path(tmp) / "src", progress)
        per_step = [[(n, n * NS_PER_INSTRUCTION / 1000) for n in row] for row in counts]
        return in_units(_sequence_report(c.name, board, c.graph.operators, per_step), board), _folder(out)
    with connect() as d:
        g, name = d.compiled.graph, d.compiled.name
        records = records_for(g, steps)
        if not sequence:
            progress(f"profiling {name} on {board}")
            return in_units(d.profile(records[0]), board), _folder(d.gen_dir)
        if d.session.info_.stateful:
            d.session.reset_state()
        progress(f"profiling {len(records)} invocations of {name} on {board}")
        per_step = [[(o["cycles"], o["micros"]) for o in d.profile(r)["operators"]] for r in records]
        return in_units(_sequence_report(name, board, g.operators, per_step), board), _folder(d.gen_dir)
