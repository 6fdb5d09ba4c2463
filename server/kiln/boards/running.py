"""One route for running a model on a board: the CLI, the language server and the tests ask here.

Three ways, one interface: the host board's runner (a native process fed records on stdin, timed
by the wall clock), a QEMU board's runner firmware (records in flash, exact instruction counts),
or any board over the RPC link through a deployment the caller opens (`connect()`: a context
manager giving a deploy.Deployment or deploy.Attachment; the language server passes one that
reuses the firmware it flashed). A sequence runs from the model's reset state with the state
carried between invocations on every route.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..compiler.ir import function_name
from .qemu import TARGETS

RUNNERS = ("host", *TARGETS)  # boards with a runner of their own (no RPC link needed)
PROFILE_REPEATS = 200  # wall-clock profiles on the host: the median of this many inferences


@dataclass
class Ran:
    compiled: object  # compiler.Compiled: what ran
    records: list  # the inputs, per record, per model input
    outputs: list[list[np.ndarray]]  # per record, per model output
    timings: dict | None  # per-operator figures of the first record (profile=True)
    result: object | None = None  # the runner's own result (a QEMU RunResult: per-record counts)


def direct(board: str, *, attach=False) -> bool:
    """Whether `board` runs through its own runner rather than the RPC link."""
    return board in RUNNERS and not attach


def run(board: str, records, *, compiled=None, connect: Callable | None = None, use_runner: bool = False,
        src_dir: str | Path | None = None, build_dir: str | Path | None = None, profile: bool = False,
        progress=lambda msg: None) -> Ran:
    """Runs `records` (a list of records, each a list of per-input arrays, or a function of the
    graph giving them) through the model on `board`. use_runner: the board's own runner on the C
    of `compiled` in src_dir (host, qemu-m4, qemu-m7), built in build_dir; else over RPC through
    connect(), whose deployment compiled the model."""
    if not use_runner:
        with connect() as d:
            compiled = d.compiled
            records = records(compiled.graph) if callable(records) else records
            if d.session.info_.stateful:
                d.session.reset_state()  # a sequence starts from the reset state, as TFLite Micro's does
            progress(f"running {compiled.name} on {board}"
                     + (f": {len(records)} invocations in sequence" if len(records) > 1 else ""))
            outputs = [d.session.infer(r) for r in records]
            from . import in_units

            return Ran(compiled, records, outputs, in_units(d.profile(records[0]), board) if profile else None)
    g = compiled.graph
    records = records(g) if callable(records) else records
    if board.startswith("qemu-"):
        from . import bench, qemu

        progress(f"building for {board} with {TARGETS[board].gcc}")
        elf = qemu.build(src_dir, compiled.name, build_dir, records, profile=profile, exact=profile, graph=g,
                         board=board)
        progress(f"running {compiled.name} on {board} (QEMU {qemu.target(board).machine})")
        result = qemu.run(elf, g, board=board)
        return Ran(compiled, records, result.outputs[:len(records)], bench.profile_report(g, result) if profile else None,
                   result)
    from . import host

    progress(f"building for {board} with {host.find_cc()}")
    exe = host.build(src_dir, compiled.name, build_dir, profile=profile)
    progress(f"running {compiled.name} on {board}" + (f" ({PROFILE_REPEATS} times, median per operator)" if profile else ""))
    # Wall-clock time on a host varies from run to run: profile many runs, keep the median.
    result = host.run(exe, g, records * (PROFILE_REPEATS if profile else 1), profile=profile)
    timings = None
    if profile:
        nanos = [int(v) for v in np.median(np.array(result.op_nanos), axis=0)]
        total = max(sum(nanos), 1)
        timings = {"unit": "ns", "total_ns": sum(nanos), "operators": [
            {"index": op.index, "kind": op.kind, "function": function_name(op.index, op.kind), "ns": ns,
             "share": ns / total, "macs": op.macs} for op, ns in zip(g.operators, nanos)]}
    return Ran(compiled, records, result.outputs[:len(records)], timings, result)
