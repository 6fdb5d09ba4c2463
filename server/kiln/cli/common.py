"""What the `kiln` commands share: progress lines, the built-in runners' boards, input records and
the deployment a command opens on a board."""
from __future__ import annotations

import sys

import numpy as np

from ..compiler.inputs import load_inputs
from ..errors import KilnError


def _progress(msg: str) -> None:
    print(f"kiln: {msg}", file=sys.stderr, flush=True)


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


def _fmt_array(a: np.ndarray, limit: int = 12) -> str:
    flat = a.reshape(-1)
    vals = ", ".join((f"{v:.6g}" if a.dtype.kind == "f" else str(int(v))) for v in flat[:limit])
    more = f", ... ({flat.size} values)" if flat.size > limit else ""
    return f"{a.dtype}{list(a.shape)} [{vals}{more}]"


def _deployment(args, flash: bool):
    from ..boards.deploy import Attachment, Deployment

    if getattr(args, "attach", False):
        if not args.port:
            raise KilnError("--attach needs --port: the serial port or pyserial URL of the firmware to profile")
        return Attachment(args.model, args.port, cpu_hz=args.cpu_hz, board=args.board, progress=_progress,
                          compiled=getattr(args, "compiled", None))
    return Deployment(args.model, args.board, adapter=args.adapter, out_dir=args.out, port=args.port,
                      flash=flash, progress=_progress)


def count_text(n, unit: str) -> str:
    """A profile figure with its unit, as every command prints it ("12,345 instructions")."""
    return f"{n:>12,} {unit}" if isinstance(n, int) else f"{n:>14,.1f} {unit}"


def timing_rows(r: dict) -> list[str]:
    """One line per operator and the total of a profile report (boards.profiling's): its count in
    the board's unit, microseconds where the count is time, the share."""
    unit = r.get("unit", "cycles")

    def row(name, part, share=None):
        us = f" {part['micros']:>11.1f} us" if part.get("micros") is not None else ""
        pct = f"  {100 * share:5.1f}%" if share is not None else ""
        return f"  {name:<28} {count_text(part['cycles'], unit)}{us}{pct}"

    lines = [row(o["function"], o, o["share"]) for o in r["operators"]]
    lines.append(row("total", r["total"]))
    if r.get("run"):
        lines.append(f"  {'whole run() (timer around it)':<28} {count_text(r['run']['cycles'], unit)}")
    return lines
