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


def test_tflm_folding_runs_isolated():
    """Constant folding runs TFLite Micro's kernels in a forked child: a result comes back, and a
    kernel that crashes (as one did on a fuzzed FULLY_CONNECTED) is an error here, not a crash."""
    import os
    import signal

    import numpy as np

    from kiln.compiler.passes.constants import isolated

    assert np.array_equal(isolated(lambda: [np.arange(5)])[0], np.arange(5))
    with pytest.raises(RuntimeError):
        isolated(lambda: os.kill(os.getpid(), signal.SIGSEGV))
    with pytest.raises(RuntimeError):
        isolated(lambda: 1 / 0)
