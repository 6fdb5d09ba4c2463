"""kiln bench: instructions per inference, per MAC and per operator, arena and flash, on qemu-m4/m7.

Three firmware builds of the same generated C: the plainest (one run, no profiling: flash sizes),
a plain one that counts instructions exactly (instructions per inference, as deployed) and a
profiled one (per-operator instructions). Counts are exact (board_support/qemu-m4/main.c), so
every figure repeats exactly.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from .. import boards, compiler
from ..compiler import oracle
from ..compiler.ir import function_name
from ..errors import KilnError
from . import qemu

BOARDS = tuple(qemu.TARGETS)


def profile_report(g, result: qemu.RunResult, record: int = 0) -> dict:
    """Per-operator instructions of one record from a profiled QEMU run, less the cost of the
    measurement itself (the two timer reads around each operator)."""
    overhead = result.timer_instructions
    raw = result.op_instructions[record]
    own = [max(v - overhead, 0) for v in raw]
    total = max(sum(own), 1)
    ops = [{"index": op.index, "kind": op.kind, "function": function_name(op.index, op.kind),
            "instructions": n, "macs": op.macs, "share": n / total} for op, n in zip(g.operators, own)]
    return {"unit": "instructions", "exact": result.exact_phases(result.op_phases[record]),
            "measurement_overhead": overhead, "operators": ops, "total_instructions": sum(own),
            "run_instructions": result.total_instructions[record]}


def per_record_instructions(g, result: qemu.RunResult) -> list[list[int]]:
    """Each record's per-operator instructions (less the timer reads) from a profiled QEMU run."""
    return [[o["instructions"] for o in profile_report(g, result, record=r)["operators"]]
            for r in range(len(result.op_ticks))]


def profile_sequence(c, records, board: str, src_dir: str | Path, progress=lambda msg: None) -> list[list[int]]:
    """The records run in order on a QEMU board (a sequence, from the reset state, state carried)
    by the exact-count profiled firmware: per record, each operator's instructions."""
    compiler.write(c, src_dir)
    progress(f"building and running {len(records)} invocations on {board} (exact counts)")
    with tempfile.TemporaryDirectory(prefix="kiln-profile-") as tmp:
        elf = qemu.build(src_dir, c.name, Path(tmp), records, profile=True, exact=True, graph=c.graph,
                              board=board)
        return per_record_instructions(c.graph, qemu.run(elf, c.graph, board=board))


def format_profile(t: dict, board: str = "qemu-m4") -> list[str]:
    how = "exact" if t["exact"] else f"to {qemu.target(board).instructions_per_tick:g} instructions"
    lines = [f"per-operator instructions on {board} ({how}; less {t['measurement_overhead']} for the timer reads):"]
    for o in t["operators"]:
        lines.append(f"  {o['function']:<28} {o['instructions']:>12,}  {100 * o['share']:5.1f}%  {o['macs']:>12,} MACs")
    lines.append(f"  {'operators':<28} {t['total_instructions']:>12,}")
    lines.append(f"  {'run() with profiling':<28} {t['run_instructions']:>12,}")
    return lines


def bench(model: str | Path, board: str = "qemu-m4", *, seed: int = 0, keep: str | Path | None = None,
          progress=lambda msg: None, input_paths: list[str] | None = None, opt: str = "-O2",
          tuning_log: str | Path | None = "auto") -> dict:
    if board not in BOARDS:
        raise KilnError(f"kiln bench runs on {', '.join(BOARDS)}, not '{board}'")
    progress(f"compiling {model}")
    # with the tuning log beside the model ("auto"), if any, or the one given
    c = compiler.compile_model(model, cpu=boards.cpu(board), tuning_log=tuning_log, flash_bytes=boards.flash(board),
                                 ram_bytes=boards.ram(board))
    g = c.graph
    if input_paths:
        from ..compiler.inputs import load_inputs

        records = [load_inputs(input_paths, g)]
    else:
        records = oracle.random_inputs(g, seed=seed, count=1)
    with tempfile.TemporaryDirectory(prefix="kiln-bench-") as tmp:
        src = Path(keep) if keep else Path(tmp) / "src"
        compiler.write(c, src)
        build = Path(tmp) / "build"
        progress(f"building for {board} with {qemu.target(board).gcc} {opt} (plain, exact-count and profiled firmware)")
        # flash from the plainest firmware: one run per record, no profiling, no repeat loops
        flash_elf = qemu.build(src, c.name, build, records, profile=False, exact=False, graph=g, board=board,
                                    opt=opt)
        flash = qemu.flash_sizes(flash_elf, c.const_bytes, src / f"{c.name}_weights.h", board)
        plain_elf = qemu.build(src, c.name, build, records, profile=False, exact=True, graph=g, board=board,
                                    opt=opt)
        prof_elf = qemu.build(src, c.name, build, records, profile=True, exact=True, graph=g, board=board,
                                   opt=opt)
        progress(f"running {c.name} on {board} (QEMU {qemu.target(board).machine}, -icount shift=0)")
        plain = qemu.run(plain_elf, g, board=board)
        prof = qemu.run(prof_elf, g, board=board)
    for a, b in zip(plain.outputs[0], prof.outputs[0]):
        if a.tobytes() != b.tobytes():
            raise KilnError(f"{board}: the plain and the profiled firmware gave different outputs")
    instructions = plain.total_instructions[0]
    timings = profile_report(g, prof)
    ops = [{**{k: o[k] for k in ("index", "kind", "instructions", "macs", "share")},
            "variant": g.operators[o["index"]].variant} for o in timings["operators"]]
    return {
        "model": c.name,
        "board": board,
        "opt": opt,
        "seed": seed,
        "instructions": instructions,
        "exact": plain.exact and prof.exact,
        "macs": c.macs,
        "instructions_per_mac": instructions / c.macs if c.macs else None,
        "arena_bytes": g.arena_bytes,
        "flash_code_bytes": flash["code"],
        "flash_weight_bytes": flash["weights"],
        "flash_board_bytes": flash["board"],
        "flash_test_record_bytes": flash["records"],
        "weight_bytes_compiler": c.const_bytes,
        "profiled_run_instructions": timings["run_instructions"],
        "measurement_overhead_instructions": timings["measurement_overhead"],
        "operators": ops,
    }


def count(model: str | Path, board: str = "qemu-m4", *, seed: int = 0, opt: str = "-O2",
          tuning_log: str | Path | None = "auto") -> dict:
    """The two figures the regression checks keep (bench/instruction_budget.json, the flash limit):
    instructions per inference from the exact-count firmware without profiling, and flash beside
    the weights from the plainest firmware. Two builds and one QEMU run: quicker than bench()."""
    if board not in BOARDS:
        raise KilnError(f"kiln bench runs on {', '.join(BOARDS)}, not '{board}'")
    c = compiler.compile_model(model, cpu=boards.cpu(board), tuning_log=tuning_log, flash_bytes=boards.flash(board),
                                 ram_bytes=boards.ram(board))
    g = c.graph
    records = oracle.random_inputs(g, seed=seed, count=1)
    with tempfile.TemporaryDirectory(prefix="kiln-count-") as tmp:
        src, build = Path(tmp) / "src", Path(tmp) / "build"
        compiler.write(c, src)
        flash_elf = qemu.build(src, c.name, build, records, profile=False, exact=False, graph=g, board=board,
                                    opt=opt)
        flash = qemu.flash_sizes(flash_elf, c.const_bytes, src / f"{c.name}_weights.h", board)
        elf = qemu.build(src, c.name, build, records, profile=False, exact=True, graph=g, board=board, opt=opt)
        result = qemu.run(elf, g, board=board)
    return {"model": c.name, "board": board, "opt": opt, "seed": seed, "compiler": qemu.compiler_version(board),
            "instructions": result.total_instructions[0], "exact": result.exact, "arena_bytes": g.arena_bytes,
            "flash_code_bytes": flash["code"], "flash_board_bytes": flash["board"],
            "flash_weight_bytes": flash["weights"]}


def format_text(r: dict) -> list[str]:
    per_mac = f"{r['instructions_per_mac']:.2f}" if r["instructions_per_mac"] is not None else "-"
    lines = [
        f"{r['model']} on {r['board']} ({qemu.target(r['board']).cpu}, QEMU {qemu.target(r['board']).machine}, "
        f"{r['opt']}; instruction counts, "
        f"{'exact' if r['exact'] else 'to 40 instructions'}; random input, seed {r['seed']})",
        f"  instructions / inference {r['instructions']:>12,}",
        f"  MACs                     {r['macs']:>12,}",
        f"  instructions / MAC       {per_mac:>12}",
        f"  arena                    {r['arena_bytes']:>12,} B",
        f"  flash: code              {r['flash_code_bytes']:>12,} B   (of which board support and runner "
        f"{r['flash_board_bytes']:,} B)",
        f"  flash: weights           {r['flash_weight_bytes']:>12,} B",
        "",
        f"  {'op':>3}  {'kind':<18} {'instructions':>12} {'share':>6} {'MACs':>10} {'instr/MAC':>9}",
    ]
    for o in r["operators"]:
        ipm = f"{o['instructions'] / o['macs']:.2f}" if o["macs"] else "-"
        lines.append(f"  {o['index']:>3}  {o['kind']:<18} {o['instructions']:>12,} {100 * o['share']:5.1f}% "
                     f"{o['macs']:>10,} {ipm:>9}")
    lines.append(f"  (per operator: from a profiled build, less {r['measurement_overhead_instructions']} instructions "
                 f"for the two timer reads around each)")
    return lines
