"""Every finding of the fuzzers (bench/fuzz_compiler.py, bench/fuzz_rpc.py), replayed through the
same target functions (bench/fuzz/targets.py): each input must now give a result or Kiln's
one-line error. The inputs live in tests/fuzz_corpus/<target>/, named for what they found."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from harness import ROOT

sys.path.insert(0, str(ROOT / "bench" / "fuzz"))
import targets  # noqa: E402

CORPUS = Path(__file__).resolve().parent / "fuzz_corpus"
CASES = sorted(p for p in CORPUS.glob("*/*") if p.is_file())


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fuzz_finding_stays_fixed(path):
    getattr(targets, path.parent.name)(path.read_bytes())


def test_the_corpus_is_replayed():
    assert CASES, "tests/fuzz_corpus holds no findings"
    assert all(hasattr(targets, p.parent.name) for p in CASES)
