"""Pure logic: a source map (<name>.kiln.json) and a profile -> inlay hints and hovers.

No server here, so it is testable on its own. Lines in the source map are 1-based; LSP's are
0-based.
"""
from __future__ import annotations

import json
import re
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


SINGULAR = {"instructions": "instruction", "cycles": "cycle", "nanoseconds": "nanosecond"}


def _unit(profile: dict | None) -> str:
    """What the profile's counts count (boards.counter); older profiles said nothing: cycles."""
    return (profile or {}).get("unit") or "cycles"


def label(timing: dict, unit: str = "cycles") -> str:
    """The inlay hint: microseconds where the count is time, else the count in its unit (QEMU's
    instructions are no real CPU's time)."""
    if timing.get("micros") is not None:
        return f"⏱ {_num(timing['micros'])} µs · {100 * timing['share']:.1f}%"
    return f"⏱ {timing['cycles']:,} {unit} · {100 * timing['share']:.1f}%"


def tooltip(timing: dict, board: str | None = None, unit: str = "cycles") -> str:
    macs = timing.get("macs") or 0
    per = f", {macs / timing['cycles']:.2f} MACs per {SINGULAR.get(unit, unit)}" if macs and timing.get("cycles") else ""
    where = f" on {board}" if board else ""
    return f"{timing['function']}{where}: {timing['cycles']:,} {unit}, {macs:,} MACs{per}"


def _timings(profile: dict) -> dict[int, dict]:
    return {o["index"]: o for o in profile.get("operators", [])}


def _code(line: str, in_comment: bool) -> tuple[str, bool]:
    """The line without comments, string and character literals (their braces do not count), and
    whether a block comment is still open at its end."""
    out, i, n = [], 0, len(line)
    while i < n:
        if in_comment:
            j = line.find("*/", i)
            if j < 0:
                return "".join(out), True
            in_comment, i = False, j + 2
        elif line.startswith("/*", i):
            in_comment, i = True, i + 2
        elif line.startswith("//", i):
            break
        elif line[i] in "\"'":
            q, i = line[i], i + 1
            while i < n and line[i] != q:
                i += 2 if line[i] == "\\" else 1
            i += 1
        else:
            out.append(line[i])
            i += 1
    return "".join(out), in_comment


_NOT_NAMES = {"__attribute__", "__declspec", "sizeof", "alignas", "_Alignas"}


def function_spans(text: str) -> dict[str, tuple[int, int]]:
    """Each function defined in the C text: name -> (first line, last line), 0-based, from the line
    naming it to the one closing its body. Found by reading the text as it is now, so the
    figures of a profile follow the functions through any edit above, between or inside them."""
    spans: dict[str, tuple[int, int]] = {}
    depth, in_comment, pending, start, name = 0, False, None, 0, None
    for k, raw in enumerate(text.splitlines()):
        code, in_comment = _code(raw, in_comment)
        if depth == 0:
            names = [n for n in re.findall(r"\b([A-Za-z_]\w*)\s*\(", code) if n not in _NOT_NAMES]
            if names and pending is None and not code.lstrip().startswith("#"):
                pending = (names[0], k)
            if pending and ";" in code and "{" not in code:
                pending = None  # a prototype or a call at file scope, not a definition
        for ch in code:
            if ch == "{":
                if depth == 0 and pending is not None:
                    name, start = pending
                depth += 1
            elif ch == "}" and depth > 0:
                depth -= 1
                if depth == 0:
                    if name is not None:
                        spans.setdefault(name, (start, k))
                    name, pending = None, None
    return spans


def locate(source_map: dict, text: str) -> list[dict]:
    """The source map's operators with line_start / line_end (1-based) where their functions are in
    the text now; an operator whose function is gone (deleted, renamed) is left out."""
    spans = function_spans(text)
    return [{**op, "line_start": spans[op["function"]][0] + 1, "line_end": spans[op["function"]][1] + 1}
            for op in source_map["operators"] if op.get("function") in spans]


def inlay_hints(source_map: dict, profile: dict | None, text: str, first_line: int = 0,
                last_line: int | None = None) -> list[Hint]:
    """One hint at the end of each operator function's first line, for lines in [first_line, last_line]."""
    if not profile:
        return []
    lines = text.splitlines()
    timings = _timings(profile)
    out = []
    for op in locate(source_map, text):
        t = timings.get(op["index"])
        line = op["line_start"] - 1
        if t is None or not 0 <= line < len(lines):
            continue
        if line < first_line or (last_line is not None and line > last_line):
            continue
        unit = _unit(profile)
        out.append(Hint(line, len(lines[line]), " " + label(t, unit), tooltip(t, profile.get("board"), unit)))
    return out


def operator_at(source_map: dict, line: int, text: str) -> dict | None:
    """The operator whose function holds 0-based ``line`` of the text as it is now."""
    for op in locate(source_map, text):
        if op["line_start"] - 1 <= line <= op["line_end"] - 1:
            return op
    return None


def hover_text(op: dict, profile: dict | None) -> str:
    parts = [f"**{op['kind']}** — operator {op['index']} (`{op['function']}`)", f"MACs: {op.get('macs', 0):,}"]
    for rec in op.get("tensors", []):  # the full names the C comments shorten
        name = rec["name"].replace("`", "'")
        parts.append(f"{rec['role']}: `{name}` {rec['type']}")
    t = _timings(profile).get(op["index"]) if profile else None
    if t is not None:
        where = f" on {profile['board']}" if profile.get("board") else ""
        unit, share = _unit(profile), f"{100 * t['share']:.1f}%"
        if t.get("micros") is not None:
            parts.append(f"latency{where}: {_num(t['micros'])} µs ({share} of {_num(profile['total']['micros'])} µs), "
                         f"{t['cycles']:,} {unit}")
        else:  # a count that is no time (QEMU's instructions)
            parts.append(f"cost{where}: {t['cycles']:,} {unit} ({share} of {profile['total']['cycles']:,} {unit})")
    return "\n\n".join(parts)
