"""`kiln diff`: each operator's outputs on a board against TFLite Micro's, and the first that differs."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path
from types import SimpleNamespace

from ..compiler.inputs import load_inputs
from ..errors import KilnError
from .common import _deployment, _progress, _sequence_records


def cmd_diff(args) -> int:
    from .. import boards
    from ..boards import diff

    if not args.attach:
        boards.find(args.board)  # an unknown board: the error before anything is compiled

    def records(g):
        if args.input:
            if len(args.input) != len(g.inputs):
                raise KilnError(f"{args.model}: the model has {len(g.inputs)} input(s), {len(args.input)} --input given")
            return _sequence_records(args.input, g) if args.sequence else [load_inputs(args.input, g)]
        from ..compiler import oracle

        _progress(f"no --input given: using deterministic random input{'s' if args.sequence else ''} (seed {args.seed})")
        return oracle.random_inputs(g, seed=args.seed, count=args.steps if args.sequence else 1)

    with tempfile.TemporaryDirectory(prefix="kiln-diff-") as tmp:
        out = Path(args.out) if args.out else Path(tmp) / "src"
        ns = SimpleNamespace(**{**vars(args), "out": out})
        report = diff.diff(args.model, args.board, lambda: _deployment(ns, flash=True), records=records,
                           atol=args.atol, rtol=args.rtol, progress=_progress)
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print("\n".join(diff.format_report(report)))
    return 0 if report["first_diverging"] is None else 1
