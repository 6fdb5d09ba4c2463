"""kiln diff: every operator's outputs on a board against TFLite Micro's on the same input, and
the first operator that differs.

The board runs the C as it is in the output folder (edits included) built with tensor taps (any
RPC firmware: taps come with profiling, compiler/codegen/taps.py), stepped one operator at a time
over the RPC link; after each step the host reads that operator's outputs before a later operator
can overwrite them. TFLite Micro computes the same tensors with every intermediate preserved
(oracle.intermediates). A sequence (stateful models) is stepped invocation after invocation, the
state carried on both sides.

Integer tensors must be equal; float32 elements match when |kiln - tflm| <= ATOL + RTOL * |tflm|.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..compiler import oracle
from ..compiler.codegen.taps import taps
from ..compiler.ir import DTYPES, function_name
from ..errors import KilnError

ATOL, RTOL = 1e-5, 1e-4


class Cancelled(KilnError):
    pass


def mismatches(ours: np.ndarray, ref: np.ndarray, atol: float = ATOL, rtol: float = RTOL) -> tuple[float, int]:
    """(largest absolute difference, elements that differ) of one tensor: integers exactly, floats
    within the tolerance (NaN matches only NaN)."""
    ref = np.asarray(ref).reshape(ours.shape)
    a, b = ours.astype(np.float64), ref.astype(np.float64)
    diff = np.abs(a - b)
    if ours.dtype.kind == "f":
        both_nan = np.isnan(a) & np.isnan(b)
        bad = ~both_nan & ~(diff <= atol + rtol * np.abs(b))
        diff = np.where(both_nan, 0.0, diff)
    else:
        bad = diff != 0
    worst = float(np.nanmax(np.where(np.isnan(diff), np.inf, diff))) if diff.size else 0.0
    return worst, int(bad.sum())


def diff(model, board: str, connect: Callable, *, records=None, seed: int = 0, atol: float = ATOL,
         rtol: float = RTOL, progress=lambda msg: None, cancelled=lambda: False) -> dict:
    """connect(): a context manager giving a deploy.Deployment / Attachment whose firmware was built
    from the C to check. records: a list of records (each a list of per-input arrays) run in
    sequence, a function of the graph giving them, or None (one deterministic random input)."""
    with connect() as d:
        c, s = d.compiled, d.session
        g = c.graph
        if not s.info_.taps:
            raise KilnError(f"the firmware on {board} has no tensor taps: kiln diff needs a build with "
                            "-DKILN_PROFILE (the RPC firmware Kiln builds has it; in your own firmware, set KILN_PROFILE)")
        if callable(records):
            records = records(g)
        records = records or oracle.random_inputs(g, seed=seed)
        table = taps(g)
        progress(f"running TFLite Micro with every intermediate tensor kept ({len(table)} operator outputs)")
        reference = oracle.intermediates(model, records, [t.tensor for t in table])
        if s.info_.stateful:
            s.reset_state()
        rows = [{"index": op.index, "kind": op.kind, "function": function_name(op.index, op.kind),
                 "tensors": [], "max_abs_diff": None, "mismatches": 0, "elements": 0, "first_step": None}
                for op in g.operators]
        by_op: dict[int, list[int]] = {}
        for k, tp in enumerate(table):
            by_op.setdefault(tp.op, []).append(k)
        for step, record in enumerate(records):
            for i, value in enumerate(record):
                s.set_input(i, value)
            for n, op in enumerate(g.operators):
                if cancelled():
                    raise Cancelled("kiln diff cancelled")
                if n % 8 == 0:
                    progress(f"{'invocation ' + str(step + 1) + ': ' if len(records) > 1 else ''}operator {n + 1} "
                             f"of {len(g.operators)} on {board}")
                s.step(n, n)
                row = rows[n]
                for k in by_op.get(op.index, []):
                    tp = table[k]
                    t = g.tensor(tp.tensor)
                    ours = np.frombuffer(s.get_tensor(k, tp.nbytes), DTYPES[t.dtype][0]).reshape(t.shape)
                    worst, bad = mismatches(ours, reference[step][tp.tensor], atol, rtol)
                    if step == 0:
                        row["tensors"].append(t.name)
                        row["elements"] += t.size
                    row["max_abs_diff"] = max(row["max_abs_diff"] or 0.0, worst)
                    row["mismatches"] += bad
                    if bad and row["first_step"] is None:
                        row["first_step"] = step
    # the first to differ in the earliest invocation that differs (in a sequence, a state carried
    # wrong makes earlier operators differ at later steps too)
    steps = [r["first_step"] for r in rows if r["first_step"] is not None]
    first = next(r["index"] for r in rows if r["first_step"] == min(steps)) if steps else None
    return {"model": c.name, "board": board, "invocations": len(records), "tolerance": {"atol": atol, "rtol": rtol},
            "operators": rows, "first_diverging": first}


def format_report(r: dict) -> list[str]:
    """The table kiln diff prints."""
    lines = [f"{r['model']} on {r['board']} against TFLite Micro, operator by operator"
             + (f" over {r['invocations']} invocations" if r["invocations"] > 1 else "") + ":",
             f"  {'#':>3}  {'function':<34} {'max |diff|':>11} {'mismatches':>16}"]
    for row in r["operators"]:
        if row["max_abs_diff"] is None:
            diff_text, count = "-", "(no output)"
        else:
            diff_text = f"{row['max_abs_diff']:.4g}"
            count = f"{row['mismatches']:,} of {row['elements'] * r['invocations']:,}"
        mark = "  <- first to differ" if row["index"] == r["first_diverging"] else ""
        lines.append(f"  {row['index']:>3}  {row['function']:<34} {diff_text:>11} {count:>16}{mark}")
    if r["first_diverging"] is None:
        lines.append("every operator matches TFLite Micro")
    else:
        row = next(x for x in r["operators"] if x["index"] == r["first_diverging"])
        lines.append(f"first to differ: operator {row['index']} ({row['kind']}), {row['function']}() in the generated C")
    return lines
