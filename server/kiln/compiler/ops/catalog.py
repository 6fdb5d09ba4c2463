"""docs/operators.md, generated from the operator table (ops/base.py REGISTRY), so the list of what
Kiln compiles cannot drift from what it does: `python -m kiln.compiler.ops.catalog > docs/operators.md`
(tests/test_catalog.py fails when the file is stale)."""
from __future__ import annotations

from . import REGISTRY
from .base import OpDef

HEAD = """# Operators

Generated from Kiln's operator table (`server/kiln/compiler/ops/`) by `python -m kiln.compiler.ops.catalog`; a test
fails when this file and the table disagree. Every operator here is bit-exact with TFLite Micro
for integer types and within the stated float tolerance for float32, on every board.

- **Types**: the tensor types of the operator's data inputs and outputs that Kiln compiles (indices,
  shapes, axes and masks take int32, and int64 where TFLite Micro does).
- **Memory**: *alias*: the output is the input's bytes, no code runs; *in place*: the output may
  overwrite an input that dies there; *overlaps its input*: the output may start inside the
  input's bytes it has finished reading; *copy*: a separate output buffer.
- **Constant folding**: any operator whose inputs are all constant is computed at compile time by
  TFLite Micro itself and becomes a constant in flash (its function is empty), so shape arithmetic
  and constant subgraphs cost nothing at run time.
- A model with an operator that is not in this table fails to compile with one line naming every
  missing kind and its operator indices; `kiln inspect` lists each problem.
"""


def _memory(d: OpDef) -> str:
    if callable(d.alias_output):
        return "alias when it only reshapes, else copy"
    if d.alias_output:
        return "alias"
    if d.in_place is not None:
        return "in place"
    if d.overlap is not None:
        return "overlaps its input"
    return "copy"


def rows() -> list[tuple[str, str, str, str, str]]:
    out = []
    for kind in sorted(REGISTRY):
        d = REGISTRY[kind]
        variants = "yes" if d.variants is not None else ""
        out.append((kind, ", ".join(d.types), _memory(d), variants, d.notes))
    return out


def markdown() -> str:
    lines = [HEAD, f"{len(REGISTRY)} operators.", "",
             "| operator | types | memory | tuned variants | notes |", "|---|---|---|---|---|"]
    for r in rows():
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
