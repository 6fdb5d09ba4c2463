"""Pure logic: a source map (<name>.kiln.json) and a profile -> inlay hints and hovers.

No server here, so it is testable on its own. Lines in the source map are 1-based; LSP's are
0-based.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Hint:
    line: int  # 0-based
    character: int
    label: str
    tooltip: str


def source_map_for(c_path: str | Path) -> dict | None:
    """The source map beside a generated <name>.c, or None when the file is not Kiln's."""
    c_path = Path(c_path)
    if c_path.suffix != ".c":
        return None
    m = c_path.with_name(c_path.stem + ".kiln.json")
    try:
        data = json.loads(m.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("file") != c_path.name or not isinstance(data.get("operators"), list):
        return None
    return data


def _num(n: float) -> str:
    return f"{n:,.0f}" if n >= 100 else f"{n:,.1f}" if n >= 10 else f"{n:,.2f}"


def label(timing: dict) -> str:
    return f"⏱ {_num(timing['micros'])} µs · {100 * timing['share']:.1f}%"


def tooltip(timing: dict, board: str | None = None) -> str:
    macs = timing.get("macs") or 0
    per = f", {macs / timing['cycles']:.2f} MACs per cycle" if macs and timing.get("cycles") else ""
    where = f" on {board}" if board else ""
    return f"{timing['function']}{where}: {timing['cycles']:,} cycles, {macs:,} MACs{per}"


def _timings(profile: dict) -> dict[int, dict]:
    return {o["index"]: o for o in profile.get("operators", [])}


def inlay_hints(source_map: dict, profile: dict | None, text: str, first_line: int = 0,
                last_line: int | None = None) -> list[Hint]:
    """One hint at the end of each operator function's first line, for lines in [first_line, last_line]."""
    if not profile:
        return []
    lines = text.splitlines()
    timings = _timings(profile)
    out = []
    for op in source_map["operators"]:
        t = timings.get(op["index"])
        line = op["line_start"] - 1
        if t is None or not 0 <= line < len(lines):
            continue
        if line < first_line or (last_line is not None and line > last_line):
            continue
        out.append(Hint(line, len(lines[line]), " " + label(t), tooltip(t, profile.get("board"))))
    return out


def operator_at(source_map: dict, line: int) -> dict | None:
    """The operator whose function holds 0-based ``line``."""
    for op in source_map["operators"]:
        if op["line_start"] - 1 <= line <= op["line_end"] - 1:
            return op
    return None


def hover_text(op: dict, profile: dict | None) -> str:
    parts = [f"**{op['kind']}** — operator {op['index']} (`{op['function']}`)", f"MACs: {op.get('macs', 0):,}"]
    t = _timings(profile).get(op["index"]) if profile else None
    if t is not None:
        parts.append(f"latency{' on ' + profile['board'] if profile.get('board') else ''}: {_num(t['micros'])} µs "
                     f"({100 * t['share']:.1f}% of {_num(profile['total']['micros'])} µs), {t['cycles']:,} cycles")
    return "\n\n".join(parts)
