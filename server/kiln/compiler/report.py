"""The model report: per operator its shapes, types, quantization, MACs, weights and live memory."""
from __future__ import annotations

from .ir import Graph
from .passes import plan


def summary(op, g: Graph) -> str:
    """The operator's main options in a few words (OpDef.summary; custom operators), or ""."""
    from ..errors import KilnError
    from .ops import REGISTRY

    d = REGISTRY.get(op.kind)
    if d is None or d.summary is None:
        return ""
    try:
        return d.summary(op, g)
    except (KilnError, ValueError, TypeError, KeyError, IndexError, AttributeError):
        return ""  # options it cannot read: its check names the problem


def build(g: Graph, bufs: list[plan.Buffer]) -> dict:
    ops = []
    for op in g.operators:
        ins = [t for t in g.op_inputs(op) if t is not None]
        ops.append({
            "index": op.index,
            "kind": op.kind,
            "options": summary(op, g),
            "folded": op.folded,  # computed at compile time (passes/constants.py): no code runs
            "inputs": [t.describe() for t in ins if not t.is_const],
            "outputs": [t.describe() for t in g.op_outputs(op)],
            "constants": [t.describe() for t in ins if t.is_const],
            "macs": op.macs,
            "weight_bytes": sum(t.nbytes for t in ins if t.is_const),
            "live_bytes": plan.live_bytes(bufs, op.index),
        })
    return {
        "model": g.name,
        "operators": ops,
        "inputs": [g.tensor(i).describe() for i in g.inputs],
        "outputs": [g.tensor(i).describe() for i in g.outputs],
        "totals": {
            "operators": len(ops),
            "macs": sum(o["macs"] for o in ops),
            "weight_bytes": sum(o["weight_bytes"] for o in ops),
            "arena_bytes": g.arena_bytes,
            "arena_lower_bound": plan.lower_bound(plan.buffers(g, in_place=False), len(g.operators)),
            "state_bytes": g.state_bytes,
        },
        # the state area (kept between invocations, apart from the arena): what sits where
        "state": state_layout(g),
        # the memory timeline: each arena buffer, where it sits and from which operator to which it lives
        "buffers": [{"name": _buffer_name(g, b), "offset": b.offset, "size": b.size, "first": b.first, "last": b.last}
                    for b in sorted(bufs, key=lambda b: (b.first, b.offset))],
        "problems": [],
    }


def state_layout(g: Graph) -> list[dict]:
    """The state area's parts: CALL_ONCE flags, resource variables, variable tensors, operators'
    own state, by offset."""
    parts = []
    if g.flag_bytes:
        parts.append({"name": f"CALL_ONCE flag{'s' if g.flag_bytes > 4 else ''}", "kind": "flags", "offset": 0,
                      "size": g.flag_bytes})
    parts += [{"name": v.label, "kind": "variable", "offset": v.offset, "size": v.nbytes,
               "type": f"{v.dtype}[{'x'.join(map(str, v.shape)) or 'scalar'}]"} for v in g.variables if v.dtype]
    parts += [{"name": f"tensor {t.index} '{t.name}'", "kind": "variable tensor", "offset": t.state_offset,
               "size": t.nbytes, "type": t.describe()} for t in g.variable_tensors]
    parts += [{"name": op.label, "kind": "operator state", "offset": op.state_offset, "size": op.state_bytes}
              for op in g.operator_state]
    return sorted(parts, key=lambda p: p["offset"])


def _buffer_name(g: Graph, b: plan.Buffer) -> str:
    if b.root < 0:
        return f"scratch of operator {-1 - b.root}"
    return " = ".join(g.tensor(m).name for m in (b.members or [b.root]))


def for_model(path) -> dict:
    """The report of a .tflite file. A model Kiln cannot compile still gets its operator list, with
    the problems that stop it (the MACs and memory columns then stay empty)."""
    from .. import compiler
    from .passes import validate

    g = compiler.load(path)
    problems = validate.problems(g)
    if not problems:
        return build(g, compiler.prepare_graph(g))
    ops = [{"index": op.index, "kind": op.kind, "options": summary(op, g), "folded": op.folded,
            "inputs": [t.describe() for t in g.op_inputs(op) if t is not None and not t.is_const],
            "outputs": [t.describe() for t in g.op_outputs(op)],
            "constants": [t.describe() for t in g.op_inputs(op) if t is not None and t.is_const],
            "macs": None, "weight_bytes": sum(t.nbytes for t in g.op_inputs(op) if t is not None and t.is_const),
            "live_bytes": None} for op in g.operators]
    return {"model": g.name, "operators": ops,
            "inputs": [g.tensor(i).describe() for i in g.inputs], "outputs": [g.tensor(i).describe() for i in g.outputs],
            "totals": {"operators": len(ops), "macs": None, "weight_bytes": sum(o["weight_bytes"] for o in ops),
                       "arena_bytes": None, "arena_lower_bound": None, "state_bytes": None},
            "buffers": [], "state": [], "problems": problems}


def arena_remark(arena: int, bound: int | None) -> str:
    """What to say beside the arena about the activation lower bound (the peak of live
    activations). Below it is not a mistake: operators that work in place share their buffers."""
    if bound is None:
        return ""
    if arena < bound:
        return f"(below the {bound:,} B peak of live activations: in-place operators share buffers)"
    return f"(lower bound {bound:,} B)"


def text(r: dict) -> str:
    rows = [("#", "operator", "inputs -> outputs", "MACs", "weights B", "live B")]
    for o in r["operators"]:
        io = ", ".join(o["inputs"]) + " -> " + ", ".join(o["outputs"])
        kind = o["kind"] + (f" [{o['options']}]" if o.get("options") else "") + (" (folded)" if o.get("folded") else "")
        rows.append((str(o["index"]), kind, io, f"{o['macs']:,}", f"{o['weight_bytes']:,}", f"{o['live_bytes']:,}"))
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    lines = [f"{r['model']}: inputs {', '.join(r['inputs'])}; outputs {', '.join(r['outputs'])}", ""]
    for k, row in enumerate(rows):
        lines.append("  ".join(c.rjust(w) if i in (0, 3, 4, 5) else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    t = r["totals"]
    lines += ["", f"total: {t['operators']} operators, {t['macs']:,} MACs, {t['weight_bytes']:,} B of weights, "
              f"arena {t['arena_bytes']:,} B {arena_remark(t['arena_bytes'], t['arena_lower_bound'])}".rstrip()]
    if t.get("state_bytes"):
        lines += [f"state: {t['state_bytes']:,} B kept between invocations, apart from the arena:"]
        lines += [f"  {p['offset']:>6}  {p['size']:>6,} B  {p['name']}" + (f"  {p['type']}" if p.get("type") else "")
                  for p in r["state"]]
    return "\n".join(lines)
