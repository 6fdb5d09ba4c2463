"""C literals and identifiers: exact for float32, compact for large arrays."""
from __future__ import annotations

import math
import re

import numpy as np


def f32(x: float) -> str:
    """A float literal that converts back to exactly the same float32."""
    v = float(np.float32(x))
    if math.isnan(v):
        return "NAN"
    if math.isinf(v):
        return "INFINITY" if v > 0 else "(-INFINITY)"
    s = "%.9g" % v
    if not any(ch in s for ch in ".e"):
        s += ".0"
    return s + "f"


def identifier(name: str, taken: set[str], fallback: str) -> str:
    ident = re.sub(r"[^0-9A-Za-z_]", "_", name).strip("_").lower()
    ident = re.sub(r"_+", "_", ident)[:48].strip("_") or fallback
    if ident[0].isdigit():
        ident = "t_" + ident
    base, n = ident, 1
    while ident in taken:
        n += 1
        ident = f"{base}_{n}"
    taken.add(ident)
    return ident


def array_body(data: np.ndarray, ctype: str, per_line: int = 16) -> str:
    flat = np.asarray(data).reshape(-1)
    if ctype == "float":
        items = [f32(v) for v in flat.tolist()]
        per_line = 8
    else:
        items = [str(int(v)) for v in flat.tolist()]
        if ctype == "int32_t":  # INT32_MIN cannot be written as a literal
            items = ["(-2147483647 - 1)" if v == "-2147483648" else v for v in items]
        elif ctype == "int64_t":
            items = ["(-INT64_C(9223372036854775807) - 1)" if v == "-9223372036854775808" else f"INT64_C({v})"
                     for v in items]
        elif ctype == "uint32_t":
            items = [f"{v}u" for v in items]
        elif ctype == "uint64_t":
            items = [f"UINT64_C({v})" for v in items]
        per_line = 20 if ctype in ("int8_t", "uint8_t") else 10
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "    " + ",\n    ".join(lines)


def shorten(text: str, limit: int = 120) -> str:
    """A long name from a model as its start and its end (TensorFlow's fused names run to hundreds
    of characters; a hostile model's to millions)."""
    if len(text) <= limit:
        return text
    return text[:limit // 2 - 2] + "...." + text[-(limit // 2 - 2):]


def comment(text: str, limit: int = 120) -> str:
    """Text safe inside a C block comment: printable ASCII only (so no line ends, and no backslash
    before one), no comment delimiters ("*/" would end it, "/*" inside one is a -Wcomment error),
    no trigraphs ("??/" is a line splice); longer than limit characters, its start and end."""
    text = shorten("".join(ch if 32 <= ord(ch) < 127 else "?" for ch in text), limit)
    text = text.replace("*/", "* /").replace("/*", "/ *")
    return re.sub(r"\?(?=\?)", "? ", text)


# path segments TensorFlow appends to a layer's name that say nothing about the layer
_PLUMBING = {"resource", "ReadVariableOp", "Read", "Identity", "y", "dim", "shape"}


def short_name(name: str, limit: int = 48) -> str:
    """A tensor name as a person reads it in a comment: of a fused name ("a/Relu;a/bn/...;a/conv/Conv2D")
    the last part, which TensorFlow gives the layer itself; of that path its last two meaningful
    segments ("conv/Conv2D"), safe inside a C comment. The full name is in the source map."""
    part = next((p for p in reversed(name.split(";")) if p.strip()), name)
    segments = [s for s in part.split("/") if s]
    while len(segments) > 1 and segments[-1] in _PLUMBING:
        segments.pop()
    return comment("/".join(segments[-2:]) or name, limit)


def c_string(text: str) -> str:
    """A C string literal for arbitrary text (non-ASCII bytes as octal escapes)."""
    out = []
    for b in text.encode():
        ch = chr(b)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 32 <= b < 127 and ch != "?":  # '?' escaped to avoid trigraphs
            out.append(ch)
        else:
            out.append("\\%03o" % b)
    return '"' + "".join(out) + '"'
