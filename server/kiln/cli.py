"""The `kiln` command line: compile, run, bench, inspect.

Every user-facing failure is a KilnError: one line on stderr, exit status 2, no traceback
(set KILN_DEBUG=1 to see one).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import traceback
from pathlib import Path

import numpy as np

from .errors import KilnError
from .inputs import load_inputs
from .ir import function_name

BOARDS = ("host", "qemu-m4", "qemu-m7")
PROFILE_REPEATS = 200


def _progress(msg: str) -> None:
    print(f"kiln: {msg}", file=sys.stderr, flush=True)


def cmd_compile(args) -> int:
    from . import boards, buildsystem, compiler, report

    c = compiler.compile_model(args.model, tuning_log=args.tuning_log or "auto", cpu=boards.cpu(args.board))
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
    from .buildsystem import NAMES, UNTESTED

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


def _integer_mismatch(report: dict) -> bool:
    """--compare's exit status: an integer output that differs from TFLite Micro's is a failure."""
    return any(not e["dtype"].startswith("float") and e["max_abs_diff"] != 0 for e in report["outputs"])


def _sequence_records(paths: list[str], g) -> list[list[np.ndarray]]:
    """--sequence: the first axis of each input file is the invocation index."""
    arrays = load_inputs(paths, g)
    steps = {a.shape[0] if a.ndim else 0 for a in arrays}
    for p, a, i in zip(paths, arrays, g.inputs):
        t = g.tensor(i)
        if a.ndim == 0 or a[0].size != t.size:
            raise KilnError(f"{p}: with --sequence the first axis counts invocations: expected shape [steps, "
                            f"{', '.join(map(str, t.shape))}] (input '{t.name}'), got {list(a.shape)}")
    if len(steps) != 1 or 0 in steps:
        raise KilnError(f"the --input files give different (or no) invocation counts: {sorted(steps)}")
    return [[a[k].reshape(g.tensor(i).shape) for a, i in zip(arrays, g.inputs)] for k in range(steps.pop())]


def _report_sequence(args, c, records, result) -> int:
    """Outputs stacked over the invocations (--output), compared step by step with TFLite Micro,
    which keeps its variables between invocations as the compiled model keeps its state."""
    from . import oracle

    g = c.graph
    steps = len(records)
    stacked = [np.stack([r[k] for r in result.outputs[:steps]]) for k in range(len(g.outputs))]
    report: dict = {"model": c.name, "board": args.board, "steps": steps, "state_bytes": g.state_bytes, "outputs": []}
    for k, (i, a) in enumerate(zip(g.outputs, stacked)):
        t = g.tensor(i)
        report["outputs"].append({"index": k, "name": t.name, "shape": list(a.shape), "dtype": str(a.dtype),
                                  "values": a.reshape(steps, -1).tolist()})
    if args.output:
        if len(args.output) != len(g.outputs):
            raise KilnError(f"{args.model}: the model has {len(g.outputs)} output(s), {len(args.output)} --output given")
        for p, a in zip(args.output, stacked):
            np.save(p, a)
    if args.compare:
        _progress(f"running TFLite Micro over the same {steps} invocations for comparison")
        ref = oracle.run_tflm(args.model, records, len(g.outputs))
        for k, entry in enumerate(report["outputs"]):
            per_step = [oracle.differences(result.outputs[s][k], ref[s][k]) for s in range(steps)]
            entry["max_abs_diff"] = max(d["max_abs_diff"] for d in per_step)
            entry["first_differing_step"] = next((s for s, d in enumerate(per_step) if d["max_abs_diff"] > 0), None)
    if args.profile:
        from . import bench
        per = bench.per_record_instructions(g, result)[:steps]
        report["timings"] = {"unit": "instructions", "per_step_total": [sum(row) for row in per],
                             "operators": [{"function": function_name(op.index, op.kind),
                                            "mean": sum(row[n] for row in per) / steps,
                                            "per_step": [row[n] for row in per]}
                                           for n, op in enumerate(g.operators)]}
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(f"{c.name} on {args.board}: {steps} invocations in sequence"
              + (f", {g.state_bytes:,} bytes of state carried" if g.state_bytes else ""))
        for entry, a in zip(report["outputs"], stacked):
            print(f"output {entry['index']} '{entry['name']}' over the sequence {list(a.shape)}; last: {_fmt_array(a[-1])}")
            if "max_abs_diff" in entry:
                if entry["first_differing_step"] is None:
                    print("  equal to TFLite Micro at every step" if a.dtype.kind != "f" else
                          f"  largest difference from TFLite Micro {entry['max_abs_diff']:.3g}")
                else:
                    print(f"  differs from TFLite Micro by up to {entry['max_abs_diff']:.3g}, first at step "
                          f"{entry['first_differing_step']}")
        if args.profile:
            print(f"\nper-operator instructions on {args.board}, mean over the {steps} invocations:")
            for o in report["timings"]["operators"]:
                print(f"  {o['function']:<28} {o['mean']:>14,.1f}")
            totals = report["timings"]["per_step_total"]
            print(f"  {'total':<28} {sum(totals) / steps:>14,.1f}  (per step: {', '.join(f'{v:,}' for v in totals)})")
        if args.output:
            print(f"wrote {', '.join(args.output)} (first axis: the invocation)")
    return 1 if args.compare and _integer_mismatch(report) else 0


def _fmt_array(a: np.ndarray, limit: int = 12) -> str:
    flat = a.reshape(-1)
    vals = ", ".join((f"{v:.6g}" if a.dtype.kind == "f" else str(int(v))) for v in flat[:limit])
    more = f", ... ({flat.size} values)" if flat.size > limit else ""
    return f"{a.dtype}{list(a.shape)} [{vals}{more}]"


def cmd_run(args) -> int:
    from . import boards, compiler, hostboard, oracle

    # other boards through their adapter and the RPC link; --attach: the user's firmware at --port
    rpc_board = args.board not in BOARDS or args.attach
    if rpc_board and not args.attach:
        boards.find(args.board)  # an unknown board: the error before anything else
    _progress(f"compiling {args.model}")
    c = compiler.compile_model(args.model, cpu=None if args.attach else boards.cpu(args.board))
    g = c.graph
    seq = args.sequence
    if args.input:
        if len(args.input) != len(g.inputs):
            raise KilnError(f"{args.model}: the model has {len(g.inputs)} input(s), {len(args.input)} --input given")
        records = _sequence_records(args.input, g) if seq else [load_inputs(args.input, g)]
    else:
        records = oracle.random_inputs(g, seed=args.seed, count=args.steps if seq else 1)
        _progress(f"no --input given: using deterministic random input{'s' if seq else ''} (seed {args.seed}"
                  + (f", {args.steps} invocations)" if seq else ")"))
    if seq and args.profile and (rpc_board or not args.board.startswith("qemu-")):
        raise KilnError("--sequence --profile measures on the qemu boards; on other boards run the sequence "
                        "without --profile, or profile one invocation")
    if seq:
        _progress(f"a sequence of {len(records)} invocations, from the model's reset state"
                  + (f" ({g.state_bytes:,} bytes of state carried between them)" if g.state_bytes else
                     " (the model keeps no state: each invocation stands alone)"))
    if args.output and len(args.output) != len(g.outputs):
        raise KilnError(f"{args.model}: the model has {len(g.outputs)} output(s), {len(args.output)} --output given")
    with tempfile.TemporaryDirectory(prefix="kiln-run-") as tmp:
        src = Path(args.out) if args.out else Path(tmp) / "src"
        res = compiler.write(c, src)
        for note in res.notes:
            _progress(f"note: {note}")
        if rpc_board:
            from types import SimpleNamespace

            with _deployment(SimpleNamespace(**{**vars(args), "out": src, "adapter": None, "compiled": c}),
                             flash=True) as d:
                d.session.reset_state() if d.session.info_.stateful else None
                result = SimpleNamespace(outputs=[d.session.infer(r) for r in records])
                rpc_profile = d.profile(records[0]) if args.profile else None
        elif args.board.startswith("qemu-"):
            from . import qemuboard
            _progress(f"building for {args.board} with {qemuboard.GCC}")
            elf = qemuboard.build(src, c.name, Path(tmp) / "build", records, profile=args.profile,
                                  exact=args.profile, graph=g, board=args.board)
            _progress(f"running {c.name} on {args.board} (QEMU {qemuboard.target(args.board).machine})")
            result = qemuboard.run(elf, g, board=args.board)
        else:
            _progress(f"building for {args.board} with {hostboard.find_cc()}")
            exe = hostboard.build(src, c.name, Path(tmp) / "build", profile=args.profile)
            _progress(f"running {c.name} on {args.board}" + (f" ({PROFILE_REPEATS} times, median per operator)" if args.profile else ""))
            # Wall-clock time on a host varies from run to run: profile many runs, keep the median.
            result = hostboard.run(exe, g, records * (PROFILE_REPEATS if args.profile else 1), profile=args.profile)
    if seq:
        return _report_sequence(args, c, records, result)
    outputs = result.outputs[0]
    report: dict = {"model": c.name, "board": args.board, "outputs": []}
    for k, (i, a) in enumerate(zip(g.outputs, outputs)):
        t = g.tensor(i)
        entry = {"index": k, "name": t.name, "shape": list(a.shape), "dtype": str(a.dtype), "values": a.reshape(-1).tolist()}
        if a.dtype.kind != "f" and t.quant is not None:
            entry["real_values"] = ((a.astype(np.float64) - t.zero_point) * t.scale).reshape(-1).tolist()
        report["outputs"].append(entry)
    if args.output:
        for p, a in zip(args.output, outputs):
            np.save(p, a)
    if args.compare:
        _progress("running TFLite Micro for comparison")
        ref = oracle.run_tflm(args.model, records, len(g.outputs))[0]
        for entry, a, r in zip(report["outputs"], outputs, ref):
            entry.update(oracle.differences(a, r))
    if args.profile and rpc_board:
        report["timings"] = rpc_profile
    elif args.profile and args.board.startswith("qemu-"):
        from . import bench
        report["timings"] = bench.profile_report(g, result)
    elif args.profile:
        nanos = [int(v) for v in np.median(np.array(result.op_nanos), axis=0)]
        total = max(sum(nanos), 1)
        report["timings"] = {"unit": "ns", "operators": [
            {"index": op.index, "kind": op.kind, "function": function_name(op.index, op.kind), "ns": ns,
             "share": ns / total, "macs": op.macs} for op, ns in zip(g.operators, nanos)], "total_ns": sum(nanos)}
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    for entry, a in zip(report["outputs"], outputs):
        print(f"output {entry['index']} '{entry['name']}': {_fmt_array(a)}")
        if "real_values" in entry:
            print(f"  dequantized: {_fmt_array(np.array(entry['real_values'], np.float32).reshape(a.shape))}")
        if "max_abs_diff" in entry:
            if a.dtype.kind != "f":
                verdict = "bit-exact with TFLite Micro" if entry["max_abs_diff"] == 0 else f"differs from TFLite Micro by up to {entry['max_abs_diff']:.0f}"
            else:
                verdict = f"largest difference from TFLite Micro {entry['max_abs_diff']:.3g} (relative {entry['max_rel_diff']:.3g})"
            print(f"  {verdict}")
    if args.profile and rpc_board:
        print(f"\nper-operator time on {args.board} (one profiled inference over the RPC link):")
        for o in rpc_profile["operators"]:
            print(f"  {o['function']:<28} {o['cycles']:>12,} cycles {o['micros']:>11.1f} us  {100 * o['share']:5.1f}%")
    elif args.profile and args.board.startswith("qemu-"):
        print()
        print("\n".join(bench.format_profile(report["timings"], args.board)))
    elif args.profile:
        t = report["timings"]
        print(f"\nper-operator time on {args.board} (wall clock, median of {PROFILE_REPEATS} inferences):")
        for o in t["operators"]:
            print(f"  {o['function']:<28} {o['ns'] / 1000:>10.2f} us  {100 * o['share']:5.1f}%  {o['macs']:>12,} MACs")
        print(f"  {'total':<28} {t['total_ns'] / 1000:>10.2f} us")
    if args.output:
        print(f"wrote {', '.join(args.output)}")
    return 1 if args.compare and _integer_mismatch(report) else 0


def cmd_bench(args) -> int:
    from . import bench

    r = bench.bench(args.model, args.board, seed=args.seed, keep=args.out, progress=_progress, opt=f"-{args.opt}",
                    tuning_log=args.tuning_log or "auto")
    print(json.dumps(r, indent=1) if args.json else "\n".join(bench.format_text(r)))
    return 0


def cmd_boards(args) -> int:
    from . import boards

    rows = [b.summary() for b in boards.available()]
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    for r in rows:
        ram = f"{r['ram_bytes']:,} B RAM" if r["ram_bytes"] else "RAM ?"
        flash = f"{r['flash_bytes']:,} B flash" if r["flash_bytes"] else "flash ?"
        print(f"{r['name']:<16} {r['cpu'] or '':<12} {ram:>20}  {flash:>22}  {r['description']}")
    return 0


def _deployment(args, flash: bool):
    from .deploy import Attachment, Deployment

    if getattr(args, "attach", False):
        if not args.port:
            raise KilnError("--attach needs --port: the serial port or pyserial URL of the firmware to profile")
        return Attachment(args.model, args.port, cpu_hz=args.cpu_hz, board=args.board, progress=_progress,
                          compiled=getattr(args, "compiled", None))
    return Deployment(args.model, args.board, adapter=args.adapter, out_dir=args.out, port=args.port,
                      flash=flash, progress=_progress)


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
    from . import oracle, profiling

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
            r = {"model": r["model"], "board": r["board"], "steps": r["steps"],
                 "operators": [{k: o[k] for k in ("index", "kind", "function", "mean_cycles", "per_step")}
                               for o in r["operators"]],
                 "total": {k: r["total"][k] for k in ("mean_cycles", "per_step")}}
        print(json.dumps(r, indent=1))
        return 0
    if args.sequence:
        print(f"{r['model']} on {r['board']}, {r['steps']} invocations in sequence (mean cycles per invocation; "
              "first and last):")
        for o in r["operators"]:
            print(f"  {o['function']:<28} {o['mean_cycles']:>14,.1f}   {o['per_step'][0]:>10,} {o['per_step'][-1]:>10,}")
        t = r["total"]
        print(f"  {'total':<28} {t['mean_cycles']:>14,.1f}   {t['per_step'][0]:>10,} {t['per_step'][-1]:>10,}")
        return 0
    print(f"{r['model']} on {r['board']}, one profiled inference:")
    for o in r["operators"]:
        print(f"  {o['function']:<28} {o['cycles']:>12,} cycles {o['micros']:>11.1f} us  {100 * o['share']:5.1f}%")
    print(f"  {'total':<28} {r['total']['cycles']:>12,} cycles {r['total']['micros']:>11.1f} us")
    if r["run"]:
        print(f"  {'whole run() (timer around it)':<28} {r['run']['cycles']:>12,} cycles")
    return 0


def cmd_tune(args) -> int:
    from . import tune

    r = tune.tune(args.model, args.board, log_path=args.log, seed=args.seed, progress=_progress,
                  adapter=args.adapter, port=args.port)
    if args.json:
        print(json.dumps({k: v for k, v in r.items() if k not in ("before", "after")} |
                         {"before": r["before"]["total"], "after": r["after"]["total"]}, indent=1))
        return 0
    print(f"{r['model']} on {r['board']} ({r['cpu']}): {r['rounds']} build(s) in {r['seconds']:.0f} s; log: {r['log']}")
    print(f"  {'operator':<28} {'untuned':>12} {'tuned':>12}  variant (cycles of each)")
    for o in r["operators"]:
        tried = ", ".join(f"{v} {c:,}" for v, c in o["variants"].items())
        name = f"{o['index']:>3} {o['kind']}"
        print(f"  {name:<28} {o['before']:>12,} {o['after']:>12,}  {o['chosen'] or '-'}{f' ({tried})' if tried else ''}")
    b, a = r["before"]["total"]["cycles"], r["after"]["total"]["cycles"]
    print(f"  {'total':<28} {b:>12,} {a:>12,}  {100 * (a - b) / max(b, 1):+.1f}%")
    return 0


def cmd_inspect(args) -> int:
    from . import compiler, report
    from .passes import validate

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
    from . import rpc_component

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
    from .lsp.server import main as lsp_main

    lsp_main()
    return 0


def _attach_arguments(p) -> None:
    p.add_argument("--attach", action="store_true",
                   help="the firmware at --port already serves this model (your own application with the RPC "
                        "component, `kiln rpc`): connect without building or flashing (the default when --port is "
                        "given and no --board)")
    p.add_argument("--cpu-hz", type=float, default=None,
                   help="with --attach: the CPU clock, to turn the firmware's timer ticks into cycles (default: a "
                        "tick is a cycle)")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="kiln", description="Compile TensorFlow Lite models into readable C and run them.")
    from . import __version__
    ap.add_argument("--version", action="version", version=f"kiln {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("compile", help="compile a .tflite model into C sources")
    p.add_argument("model")
    p.add_argument("--out", "-o", required=True, help="output folder for the generated C")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--tuning-log", help="the tuning log to take kernel variants from (default: kiln-tuning.json "
                   "beside the model, when there is one)")
    p.add_argument("--board", default=None, help="the board whose CPU's tuning applies (default: kiln.toml's, else host)")
    p.add_argument("--build-system", choices=("auto", "cmake", "make", "none"), default="auto",
                   help="the build files to write beside the C: cmake (CMakeLists.txt), make (kiln.mk), none, or "
                        "auto (both, and the lines that add the model to the workspace's own build; default)")
    p.set_defaults(fn=cmd_compile)

    p = sub.add_parser("tune", help="measure each operator's kernel variants on a board; keep the fastest bit-exact ones")
    p.add_argument("model")
    p.add_argument("--board", default=None, help="a board from `kiln boards` (default: kiln.toml's, else host)")
    p.add_argument("--log", help="the tuning log to write or update (default: kiln-tuning.json beside the model)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs of the bit-exact checks (default 0)")
    p.add_argument("--adapter", help="your own board adapter script instead of board_support/<board>/adapter.py")
    p.add_argument("--port", help="the device's serial port or pyserial URL (default: what the adapter finds)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(fn=cmd_tune)

    p = sub.add_parser("run", help="compile, build and run a model on a board")
    p.add_argument("model")
    p.add_argument("--board", default=None, help="board to run on: host, qemu-m4, qemu-m7 (built-in runners), or any "
                   "board of `kiln boards` through its adapter (default: kiln.toml's, else host)")
    p.add_argument("--port", help="the device's serial port (boards reached through their adapter)")
    _attach_arguments(p)
    p.add_argument("--input", "-i", action="append", default=[], help=".npy file for each model input, in order")
    p.add_argument("--output", action="append", default=[], help=".npy file to write for each model output")
    p.add_argument("--compare", action="store_true", help="also run TFLite Micro and print the largest difference")
    p.add_argument("--profile", action="store_true", help="measure and print per-operator time")
    p.add_argument("--seed", type=int, default=0, help="seed of the random input used without --input")
    p.add_argument("--out", help="keep the generated C in this folder (default: a temporary one)")
    p.add_argument("--json", action="store_true", help="print outputs (and comparison, timings) as JSON")
    p.add_argument("--sequence", action="store_true",
                   help="run a sequence of invocations from the reset state, state carried: the first axis of each "
                        "--input (and of each --output written) is the invocation")
    p.add_argument("--steps", type=int, default=10, help="with --sequence and no --input: how many random invocations")
    p.set_defaults(fn=cmd_run)

    p = sub.add_parser("bench", help="measure instructions, arena and flash on a simulated microcontroller")
    p.add_argument("model")
    p.add_argument("--board", default="qemu-m4", choices=["qemu-m4", "qemu-m7"], help="board to measure on (default: qemu-m4)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random input (default 0)")
    p.add_argument("--out", help="keep the generated C in this folder (default: a temporary one)")
    p.add_argument("--opt", default="O2", choices=["O2", "Os", "O3"],
                   help="optimization level of the whole firmware (default: O2, as the published figures)")
    p.add_argument("--tuning-log", help="the tuning log to take kernel variants from (default: kiln-tuning.json "
                   "beside the model, when there is one)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(fn=cmd_bench)

    p = sub.add_parser("boards", help="list the boards (board_support/*)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_boards)

    for name, fn, text in (("build", cmd_build, "compile a model and build its firmware for a board"),
                           ("flash", cmd_flash, "build and flash a model's firmware, and check it answers"),
                           ("profile", cmd_profile, "per-operator cycles and time of one inference on a board")):
        p = sub.add_parser(name, help=text)
        p.add_argument("model")
        p.add_argument("--board", default=None, help="a board from `kiln boards` (default: kiln.toml's, else host)")
        p.add_argument("--adapter", help="your own board adapter script instead of board_support/<board>/adapter.py")
        p.add_argument("--port", help="the device's serial port or pyserial URL (default: what the adapter finds)")
        p.add_argument("--out", help="keep the generated C in this folder")
        if name == "profile":
            _attach_arguments(p)
            p.add_argument("--input", "-i", action="append", default=[], help=".npy file for each model input")
            p.add_argument("--rpc", action="store_true",
                           help="QEMU boards: profile over the RPC link (to one 40-cycle tick) instead of the exact-count firmware")
            p.add_argument("--seed", type=int, default=0)
            p.add_argument("--json", action="store_true")
            p.add_argument("--sequence", action="store_true", help="profile a sequence of invocations from the "
                           "reset state, state carried (the first axis of each --input is the invocation)")
            p.add_argument("--steps", type=int, default=10, help="with --sequence and no --input: how many")
        if name == "flash":
            p.add_argument("--exit", action="store_true", help="emulated boards: stop the device at once after the check")
        p.set_defaults(fn=fn)

    p = sub.add_parser("rpc", help="write the device RPC component (sources, CMakeLists.txt, kiln_rpc.mk) for your own "
                       "firmware, so that kiln profile / run --port reach the models in it")
    p.add_argument("--out", "-o", required=True, help="the folder to write it to, e.g. kiln_out/kiln_rpc")
    p.set_defaults(fn=cmd_rpc)

    p = sub.add_parser("inspect", help="print the model report")
    p.add_argument("model")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_inspect)

    p = sub.add_parser("lsp", help="start the Kiln language server on stdio (for editors)")
    p.set_defaults(fn=cmd_lsp)
    return ap


def apply_config(args) -> None:
    """Defaults from kiln.toml (in this folder or a parent): board, port, out. Flags win."""
    import tomllib

    here = Path.cwd()
    for folder in [here, *here.parents]:
        cfg = folder / "kiln.toml"
        if cfg.is_file():
            try:
                data = tomllib.loads(cfg.read_text())
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
                raise KilnError(f"{cfg}: not valid TOML ({e})") from None
            unknown = set(data) - {"board", "port", "out"}
            if unknown:
                raise KilnError(f"{cfg}: unknown key(s) {', '.join(sorted(unknown))} (known: board, port, out)")
            for key in ("board", "port", "out"):
                if key in data and hasattr(args, key) and getattr(args, key) is None:
                    value = str(data[key])
                    if key == "out" and getattr(args, "model", None):
                        # as the language server and the extension's tasks: <out>/<model name>, out
                        # taken relative to the folder of kiln.toml
                        value = str(folder / value / Path(args.model).stem)
                    setattr(args, key, value)
            break
    if getattr(args, "attach", None) is False and getattr(args, "port", None) and getattr(args, "board", "unset") is None:
        args.attach = True  # a port and no board: the firmware running there is the user's own
    if getattr(args, "attach", False) and args.board is None:
        args.board = f"the firmware at {args.port}"  # what the figures are labelled with
    if getattr(args, "board", "unset") is None:
        args.board = "host"


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        apply_config(args)
        return args.fn(args)
    except KilnError as e:
        # one line, whatever a name from the model holds (line ends, escape sequences)
        print("kiln: error: " + "".join(ch if ch.isprintable() else "?" for ch in str(e)), file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("kiln: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `kiln ... | head`: the reader has gone; nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as e:  # a bug in Kiln: still one line, with a way to get the details
        if os.environ.get("KILN_DEBUG"):
            traceback.print_exc()
        print(f"kiln: internal error: {type(e).__name__}: {e} (set KILN_DEBUG=1 for a traceback, and please report it)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
