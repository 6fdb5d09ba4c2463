"""The package layout is the architecture (docs/design.md, "Layout"), and these tests keep it so:

    compiler  (.tflite -> IR -> passes -> C)      imports nothing from boards, device, lsp or cli
    device    (the RPC link, host side)           imports nothing from boards, lsp or cli
    boards    (build, flash, run, profile, tune)  imports nothing from lsp or cli
    lsp, cli  (the two front ends)                call the APIs below them; lsp imports no compiler
                                                  internals (passes, ops, codegen) and no device code

Every import counts, a function's lazy ones too. And no module grows past 450 lines."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

KILN = Path(__file__).resolve().parents[1] / "server" / "kiln"
MAX_LINES = 450

FORBIDDEN = {
    "compiler": ("kiln.boards", "kiln.device", "kiln.lsp", "kiln.cli"),
    "device": ("kiln.boards", "kiln.lsp", "kiln.cli"),
    "boards": ("kiln.lsp", "kiln.cli"),
    "lsp": ("kiln.cli", "kiln.device", "kiln.compiler.passes", "kiln.compiler.ops", "kiln.compiler.codegen"),
}


def _module(path: Path) -> tuple[str, str]:
    """(the module's name, the package its relative imports start from)."""
    parts = list(path.relative_to(KILN.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
        return ".".join(parts), ".".join(parts)
    return ".".join(parts), ".".join(parts[:-1])


def imports(path: Path) -> set[str]:
    """Every kiln module `path` imports (absolute names; `from x import y` counts x.y as well)."""
    _, package = _module(path)
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                src = ".".join(base + ([node.module] if node.module else []))
            else:
                src = node.module or ""
            found.add(src)
            found.update(f"{src}.{a.name}" for a in node.names)
    return {m for m in found if m == "kiln" or m.startswith("kiln.")}


def _layer(path: Path) -> str | None:
    rel = path.relative_to(KILN).parts
    return rel[0] if len(rel) > 1 else None


SOURCES = sorted(KILN.rglob("*.py"))


def test_the_packages_exist():
    assert {_layer(p) for p in SOURCES} >= {"compiler", "device", "boards", "lsp", "cli"}


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layering(layer):
    wrong = [f"{p.relative_to(KILN)} imports {m}" for p in SOURCES if _layer(p) == layer
             for m in sorted(imports(p)) if any(m == f or m.startswith(f + ".") for f in FORBIDDEN[layer])]
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_lazy_and_relative_imports(tmp_path, monkeypatch):
    fake = KILN / "compiler" / "ops" / "conv.py"  # names only: the file is not read
    monkeypatch.setattr(Path, "read_text", lambda self: "def f():\n    from ...boards import deploy\n    from ..ir import X\n")
    assert {"kiln.boards", "kiln.boards.deploy", "kiln.compiler.ir", "kiln.compiler.ir.X"} <= imports(fake)


def test_no_module_over_the_limit():
    long = [f"{p.relative_to(KILN)}: {n} lines" for p in SOURCES
            if (n := len(p.read_text().splitlines())) > MAX_LINES]
    assert not long, f"split these (one concern per module, at most {MAX_LINES} lines):\n" + "\n".join(long)
