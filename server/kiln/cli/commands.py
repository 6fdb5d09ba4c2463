"""The `kiln` commands other than run: compile, bench, boards, build, flash, profile, tune, inspect,
rpc and lsp. Each takes the parsed arguments and returns the exit status."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..compiler.inputs import load_inputs
from .common import _deployment, _progress, _sequence_records, timing_rows


def cmd_compile(args) -> int:
    from .. import boards, compiler
    from ..compiler import buildsystem, report

    c = compiler.compile_model(args.model, tuning_log=args.tuning_log or "auto", cpu=boards.cpu(args.board),
                               flash_bytes=boards.flash(args.board), ram_bytes=boards.ram(args.board))
    for name in buildsystem.unwanted(args.build_system):
        c.files.pop(name, None)
    res = compiler.write(c, args.out)
    s = c.summary()
    files = [str(p) for p in res.written + res.unchanged] + [str(new) for _, new in res.kept]
    found = buildsystem.detect(args.out) if args.build_system == "auto" else None
    if args.json:
        s["files"] = files
        s["notes"] = res.notes
        if found is not None:
            s["build_system"] = found.as_json()
        print(json.dumps(s, indent=1))
    else:
        print(f"{c.name}: {len(s['operators'])} operators, {s['macs']:,} MACs")
        print(f"  arena    {s['arena_bytes']:>10,} B   {report.arena_remark(s['arena_bytes'], s['arena_lower_bound'])}")
        if s["state_bytes"]:
            print(f"  state    {s['state_bytes']:>10,} B   (kept between invocations; {c.name}_reset() restarts)")
        print(f"  weights  {s['weight_bytes']:>10,} B   (flash)")
        print(f"  wrote {len(res.written)} file(s), {len(res.unchanged)} unchanged, in {args.out}")
        if found is not None:
            _print_build_system(found, c.name)
    for note in res.notes:
        print(f"kiln: note: {note}", file=sys.stderr)
    return 0


def _print_build_system(found, name: str) -> None:
    from ..compiler.buildsystem import NAMES, UNTESTED

    if found.kind is None:
        print(f"  build: {found.note}")
        return
    what = f"{NAMES[found.kind]} ({found.file})"
    if found.uses_model:
        print(f"  build: {what} already uses {name}")
        return
    print(f"  build: {what}; to use {name}, add" + (f" ({found.note})" if found.note else "") + ":")
    for line in found.lines:
        print(f"      {line}")
    if found.kind in UNTESTED:
        print(f"    (from {NAMES[found.kind]}'s documentation; Kiln's tests build CMake and Make projects only)")


def cmd_bench(args) -> int:
    from ..boards import bench, qemu

    qemu.target(args.board)  # a board that is not a QEMU one: the error before anything is compiled

    r = bench.bench(args.model, args.board, seed=args.seed, keep=args.out, progress=_progress, opt=f"-{args.opt}",
                    tuning_log=args.tuning_log or "auto")
    print(json.dumps(r, indent=1) if args.json else "\n".join(bench.format_text(r)))
    return 0


def cmd_boards(args) -> int:
    from .. import boards

    rows = [b.summary() for b in boards.available()]
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    for r in rows:
        ram = f"{r['ram_bytes']:,} B RAM" if r["ram_bytes"] else "RAM ?"
        flash = f"{r['flash_bytes']:,} B flash" if r["flash_bytes"] else "flash ?"
        print(f"{r['name']:<16} {r['cpu'] or '':<12} {ram:>20}  {flash:>22}  {r['description']}")
    return 0


def cmd_build(args) -> int:
    with _deployment(args, flash=False) as d:
        print(f"built {d.artifact}")
    return 0


def cmd_flash(args) -> int:
    with _deployment(args, flash=True) as d:
        info = d.session.info()
        print(f"{args.board}: running {info.name} (model sha256 {info.sha256[:16]}...), {info.op_count} operators, "
              f"arena {info.arena_bytes:,} B, at {d.url}")
        if args.board.startswith(("host", "qemu-")) and not args.exit:
            print("the emulated device runs while this command does: press Ctrl-C to stop it")
            import time

            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    return 0


def cmd_profile(args) -> int:
    from ..boards import profiling
    from ..compiler import oracle

    def records_for(g, count):
        if args.input:
            return _sequence_records(args.input, g) if args.sequence else [load_inputs(args.input, g)]
        return oracle.random_inputs(g, seed=args.seed, count=count)

    exact = profiling.exact_counter(args.board, adapter=args.adapter, attach=args.attach, rpc=args.rpc)
    r, _ = profiling.profile(args.model, args.board, connect=lambda: _deployment(args, flash=True), exact=exact,
                             records_for=records_for, sequence=args.sequence, steps=args.steps if args.sequence else 1, out=args.out,
                             progress=_progress, seed=args.seed, input_paths=args.input)
    if args.json:
        if args.sequence:  # the sequence's figures as `kiln profile --sequence --json` has always given them
            r = {"model": r["model"], "board": r["board"], "unit": r["unit"], "steps": r["steps"],
                 "operators": [{k: o[k] for k in ("index", "kind", "function", "mean_cycles", "per_step")}
                               for o in r["operators"]],
                 "total": {k: r["total"][k] for k in ("mean_cycles", "per_step")}}
        print(json.dumps(r, indent=1))
        return 0
    if args.sequence:
        print(f"{r['model']} on {r['board']}, {r['steps']} invocations in sequence (mean {r['unit']} per invocation; "
              "first and last):")
        for o in r["operators"]:
            print(f"  {o['function']:<28} {o['mean_cycles']:>14,.1f}   {o['per_step'][0]:>10,} {o['per_step'][-1]:>10,}")
        t = r["total"]
        print(f"  {'total':<28} {t['mean_cycles']:>14,.1f}   {t['per_step'][0]:>10,} {t['per_step'][-1]:>10,}")
        return 0
    print(f"{r['model']} on {r['board']}, one profiled inference ({r['unit']}):")
    print("\n".join(timing_rows(r)))
    return 0


def cmd_tune(args) -> int:
    from ..boards import tune

    r = tune.tune(args.model, args.board, log_path=args.log, seed=args.seed, progress=_progress,
                  adapter=args.adapter, port=args.port)
    if args.json:
        print(json.dumps({k: v for k, v in r.items() if k not in ("before", "after")} |
                         {"before": r["before"]["total"], "after": r["after"]["total"],
                          "unit": r["before"].get("unit", "cycles")}, indent=1))
        return 0
    unit = r["before"].get("unit", "cycles")
    print(f"{r['model']} on {r['board']} ({r['cpu']}): {r['rounds']} build(s) in {r['seconds']:.0f} s; log: {r['log']}")
    print(f"  {'operator':<28} {'untuned':>12} {'tuned':>12}  variant ({unit} of each)")
    for o in r["operators"]:
        tried = ", ".join(f"{v} {c:,}" for v, c in o["variants"].items())
        name = f"{o['index']:>3} {o['kind']}"
        print(f"  {name:<28} {o['before']:>12,} {o['after']:>12,}  {o['chosen'] or '-'}{f' ({tried})' if tried else ''}")
    b, a = r["before"]["total"]["cycles"], r["after"]["total"]["cycles"]
    print(f"  {'total':<28} {b:>12,} {a:>12,}  {100 * (a - b) / max(b, 1):+.1f}% ({unit})")
    return 0


def cmd_inspect(args) -> int:
    from .. import compiler
    from ..compiler import report
    from ..compiler.passes import validate

    g = compiler.load(args.model)
    problems = validate.problems(g)
    if problems:
        for p in problems:
            print(f"kiln: error: {args.model}: {p}", file=sys.stderr)
        return 2
    bufs = compiler.prepare_graph(g)
    r = report.build(g, bufs)
    print(json.dumps(r, indent=1) if args.json else report.text(r))
    return 0


def cmd_rpc(args) -> int:
    from ..boards import rpc_component

    res = rpc_component.write(args.out)
    for note in res.notes:
        _progress(f"note: {note}")
    out = Path(args.out)
    print(f"wrote the RPC component to {out} ({len(res.written)} written, {len(res.unchanged)} unchanged)")
    print(f"  CMake: add_subdirectory({out}) after the model folders, then "
          "target_link_libraries(<your target> PRIVATE kiln::rpc)")
    print(f"  Make:  include {out}/kiln_rpc.mk after the models' kiln.mk; build $(KILN_RPC_SRCS) with $(KILN_RPC_INCLUDES)")
    print("  then provide the porting layer of kiln_platform.h and call kiln_rpc_poll() from your main loop "
          "(docs/firmware.md)")
    return 0


def cmd_lsp(args) -> int:
    from ..lsp.server import main as lsp_main

    lsp_main()
    return 0
