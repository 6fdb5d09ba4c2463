"""Designated initialisers: the operators' parameter structs named field by field.

An operator's emit step writes its kernel's parameter struct positionally, in the order of the
struct in runtime_c/include (one place defines the order: the header). This pass reads the
headers' typedefs once and rewrites every `static const kiln_..._t name = {...};` in the
generated C as `{.in_h = 49, .in_w = 10, ...}` (C99), nested structs and arrays included, so a
reader need not open the header. An initialiser with more values than its struct has fields, or
a brace list for a plain field, is a bug in an emit step and fails loudly.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from ...errors import KilnError
from ...paths import RUNTIME

WIDTH = 106  # wrap initialisers here (operator bodies are indented 4 more: 110 in the file)


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # the base type's name (a kiln_..._t struct, or a scalar / pointer type)
    array: bool


def _strip_comments(text: str) -> str:
    return re.sub(r"/\*.*?\*/|//[^\n]*", " ", text, flags=re.S)


def parse_structs(text: str) -> dict[str, list[Field]]:
    """Every `typedef struct { ... } name;` in C header text: its fields in order."""
    structs: dict[str, list[Field]] = {}
    for body, name in re.findall(r"typedef\s+struct\s*\w*\s*\{(.*?)\}\s*(\w+)\s*;", _strip_comments(text), re.S):
        fields = []
        for decl in filter(None, (d.strip() for d in body.split(";"))):
            if "(" in decl:  # a function pointer: int (*run)(...)
                fields.append(Field(re.search(r"\(\s*\*\s*(\w+)\s*\)", decl).group(1), "fn", False))
                continue
            head, *more = decl.split(",")
            m = re.match(r"(.*?)([\s*]+)(\w+)\s*(\[[^\]]*\])?\s*$", head)
            base = m.group(1).replace("const", "").strip()
            for d in [m.group(2) + m.group(3) + (m.group(4) or ""), *more]:
                dm = re.match(r"\s*([*\s]*)(\w+)\s*(\[[^\]]*\])?\s*$", d)
                pointer = "*" in dm.group(1) or "*" in m.group(2)
                fields.append(Field(dm.group(2), base + (" *" if pointer else ""), bool(dm.group(3))))
        structs[name] = fields
    return structs


@functools.lru_cache(maxsize=1)
def runtime_structs() -> dict[str, list[Field]]:
    structs: dict[str, list[Field]] = {}
    for header in sorted((RUNTIME / "include").glob("*.h")):
        structs.update(parse_structs(header.read_text()))
    return structs


def _chunks(text: str):
    """text as single characters, with each string literal ("..." with its escapes) and each comment
    as one piece."""
    i = 0
    while i < len(text):
        if text.startswith("/*", i):
            j = text.index("*/", i + 2) + 2
            yield text[i:j]
            i = j
        elif text[i] == '"':
            j = i + 1
            while text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            yield text[i:j + 1]
            i = j + 1
        else:
            yield text[i]
            i += 1


def _closing(text: str, start: int) -> int:
    """The index of the brace closing the one at text[start]."""
    depth, i = 0, start
    for piece in _chunks(text[start:]):
        depth += {"{": 1, "}": -1}.get(piece, 0)
        if depth == 0:
            return i
        i += len(piece)
    raise KilnError("internal error: an initialiser without its closing brace")


def _split(text: str) -> list:
    """An initialiser's text (inside its outer braces) as a tree: a list of values, each a string or
    a nested list."""
    items, stack, cur, depth, closed = [], [], "", 0, False
    for ch in _chunks(text):
        if ch == "{" and depth == 0:
            stack.append(items)
            items, cur = [], ""
        elif ch == "}" and depth == 0:
            if cur.strip():
                items.append(cur.strip())
            inner, items = items, stack.pop()
            items.append(inner)
            cur, closed = "", True  # a brace list ends the value
        elif ch == "," and depth == 0:
            if cur.strip():
                items.append(cur.strip())
            cur, closed = "", False
        elif closed and not ch.isspace() and not ch.startswith("/*"):
            raise KilnError(f"internal error: a value after a brace list in an initialiser: {text!r}")
        elif not closed:
            depth += {"(": 1, ")": -1}.get(ch, 0)
            cur += ch
    if cur.strip():
        items.append(cur.strip())
    return items


def _render(value, fields: list[Field] | None, indent: int, structs: dict) -> str:
    """One value: a scalar's text, or a brace list (designated when it is a struct's)."""
    if isinstance(value, str):
        return value
    if fields is None:  # an array's elements
        parts = [_render(v, None, indent, structs) for v in value]
    else:
        if len(value) > len(fields):
            raise KilnError(f"internal error: {len(value)} values for a struct of {len(fields)} fields")
        parts = []
        for f, v in zip(fields, value):
            if isinstance(v, list) and not f.array and f.type not in structs:
                raise KilnError(f"internal error: a brace list for the plain field {f.name}")
            lead = f".{f.name} = "
            if isinstance(v, list):
                sub = structs.get(f.type) if not f.array else None
                if f.array and f.type in structs:  # an array of structs
                    inner = [_render(e, structs[f.type], indent + len(lead) + 1, structs) for e in v]
                    parts.append(lead + _wrap(inner, indent + len(lead) + 1))
                    continue
                parts.append(lead + _render(v, sub, indent + len(lead) + 1, structs))
            else:
                parts.append(lead + v)
    return _wrap(parts, indent + 1)


def _wrap(parts: list[str], col: int) -> str:
    """{a, b, c} on one line, or broken after commas with continuation lines at column col."""
    one = "{" + ", ".join(parts) + "}"
    if col + len(one) <= WIDTH and "\n" not in one:
        return one
    lines, cur = [], ""
    for p in parts:
        piece = p + ","
        if cur and (col + len(cur) + 1 + len(piece) > WIDTH or "\n" in p or "\n" in cur):
            lines.append(cur)
            cur = piece
        else:
            cur = f"{cur} {piece}" if cur else piece
    lines.append(cur.rstrip(","))
    return "{" + ("\n" + " " * col).join(lines) + "}"


_DECL = re.compile(r"^([ \t]*)((?:static\s+)?const\s+(kiln_\w+_t)\s+\w+\s*(\[\w*\])?\s*=\s*)\{", re.M)


def designate(text: str) -> str:
    """The C text with every runtime parameter struct's initialiser written field by field."""
    structs = runtime_structs()
    out, pos = [], 0
    for m in _DECL.finditer(text):
        if m.start() < pos:
            continue
        kind = m.group(3)
        if kind not in structs:
            raise KilnError(f"internal error: {kind} is not a struct of runtime_c/include")
        start = m.end() - 1
        i = _closing(text, start)
        tree = _split(text[start + 1:i])
        indent = len(m.group(1)) + 4
        if m.group(4) is not None:  # an array of structs
            body = [_render(v, structs[kind], indent, structs) for v in tree]
            rendered = "{\n" + " " * indent + (",\n" + " " * indent).join(body) + ",\n" + m.group(1) + "}"
        else:
            rendered = _render(tree, structs[kind], indent, structs)
            if "\n" in rendered or len(m.group(1)) + len(m.group(2)) + len(rendered) + 1 > WIDTH:
                inner = _render(tree, structs[kind], indent - 1, structs)[1:-1]  # fields from column indent
                rendered = "{\n" + " " * indent + inner + ",\n" + m.group(1) + "}"
        out.append(text[pos:start] + rendered)
        pos = i + 1
    out.append(text[pos:])
    return "".join(out)
