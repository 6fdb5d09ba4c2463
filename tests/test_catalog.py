"""The operator table is the one place that says what exists: docs/operators.md is generated from
it, and every operator in it is exercised by some test."""
from __future__ import annotations

import re
from pathlib import Path

from kiln.compiler.ir import DTYPES
from kiln.compiler.ops import REGISTRY, catalog

ROOT = Path(__file__).resolve().parents[1]


def test_operators_doc_is_generated_from_the_table():
    doc = ROOT / "docs" / "operators.md"
    assert doc.exists(), "docs/operators.md is missing: python -m kiln.compiler.ops.catalog > docs/operators.md"
    assert doc.read_text() == catalog.markdown(), \
        "docs/operators.md is stale: regenerate it with  .venv/bin/python -m kiln.compiler.ops.catalog > docs/operators.md"


def test_every_operator_declares_its_types():
    for kind, d in REGISTRY.items():
        assert d.types, f"{kind} declares no tensor types"
        assert set(d.types) <= set(DTYPES), f"{kind}: unknown types {set(d.types) - set(DTYPES)}"


def test_every_operator_is_tested():
    """A kind nobody builds a model of in tests/ is a kind nobody checked against TFLite Micro."""
    text = "\n".join(p.read_text() for p in (ROOT / "tests").glob("*.py"))
    untested = [k for k in REGISTRY if not re.search(rf"[\"']{re.escape(k)}[\"']", text)]
    assert not untested, f"operators without a test naming them: {', '.join(sorted(untested))}"
