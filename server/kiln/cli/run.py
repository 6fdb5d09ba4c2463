"""`kiln run`: compile, build and run a model on a board (the host and QEMU runners built in, any
other board through its adapter or an attached firmware), one invocation or a sequence; outputs,
the comparison with TFLite Micro and per-operator timings."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from ..boards.running import PROFILE_REPEATS
from ..compiler.inputs import load_inputs
from ..compiler.ir import function_name
from ..errors import KilnError
from .common import _deployment, _fmt_array, _progress, _sequence_records, timing_rows


def _integer_mismatch(report: dict) -> bool:
    """--compare's exit status: an integer output that differs from TFLite Micro's is a failure."""
    return any(not e["dtype"].startswith("float") and e["max_abs_diff"] != 0 for e in report["outputs"])


def _report_sequence(args, c, records, ran) -> int:
    """Outputs stacked over the invocations (--output), compared step by step with TFLite Micro,
    which keeps its variables between invocations as the compiled model keeps its state."""
    from ..compiler import oracle

    g = c.graph
    steps = len(records)
    stacked = [np.stack([r[k] for r in ran.outputs[:steps]]) for k in range(len(g.outputs))]
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
        for entry, cmp in zip(report["outputs"], oracle.compare(args.model, records, ran.outputs[:steps])):
            entry["max_abs_diff"] = cmp["max_abs_diff"]
            entry["first_differing_step"] = cmp["first_differing_step"]
    if args.profile:
        from ..boards import bench
        per = bench.per_record_instructions(g, ran.result)[:steps]
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


def cmd_run(args) -> int:
    from types import SimpleNamespace

    from .. import boards, compiler
    from ..boards import running
    from ..compiler import oracle

    # other boards through their adapter and the RPC link; --attach: the user's firmware at --port
    rpc_board = not running.direct(args.board, attach=args.attach)
    if rpc_board and not args.attach:
        boards.find(args.board)  # an unknown board: the error before anything else
    _progress(f"compiling {args.model}")
    c = compiler.compile_model(args.model, cpu=None if args.attach else boards.cpu(args.board),
                               flash_bytes=None if args.attach else boards.flash(args.board),
                               ram_bytes=None if args.attach else boards.ram(args.board))
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
        ran = running.run(args.board, records, compiled=c, use_runner=not rpc_board, src_dir=src, build_dir=Path(tmp) / "build",
                          profile=args.profile, progress=_progress,
                          connect=lambda: _deployment(SimpleNamespace(**{**vars(args), "out": src, "adapter": None,
                                                                         "compiled": c}), flash=True))
    if seq:
        return _report_sequence(args, c, records, ran)
    outputs = ran.outputs[0]
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
        for entry, cmp in zip(report["outputs"], oracle.compare(args.model, records[:1], ran.outputs[:1])):
            entry.update({key: cmp[key] for key in ("max_abs_diff", "max_rel_diff") if key in cmp})
    if args.profile:
        report["timings"] = ran.timings
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
        print("\n".join(timing_rows(ran.timings)))
    elif args.profile and args.board.startswith("qemu-"):
        from ..boards import bench

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
