"""kiln diff (issue 17): every operator's outputs on a board against TFLite Micro's.

On unmodified C every operator matches; after an edit to one operator's function (or weights) in
the generated C, that operator is named as the first to differ, on the host and on qemu-m4."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import stateful_models as sm
from harness import ROOT, shared_model
from kiln.boards import diff
from kiln.boards.deploy import Deployment

SINE = ROOT / "examples" / "models" / "sine_int8.tflite"


def run_diff(model, board, out, **kw) -> dict:
    return diff.diff(model, board, lambda: Deployment(model, board, out_dir=out), **kw)


def edit_function(out: Path, op: int, old: str, new: str) -> None:
    """Replaces `old` by `new` inside operator op's function only (its lines in the source map)."""
    src = json.loads(next(out.glob("*.kiln.json")).read_text())
    entry = next(o for o in src["operators"] if o["index"] == op)
    path = out / src["file"]
    lines = path.read_text().splitlines(keepends=True)
    body = "".join(lines[entry["line_start"] - 1:entry["line_end"]])
    assert old in body, f"{old!r} is not in {entry['function']}:\n{body}"
    lines[entry["line_start"] - 1:entry["line_end"]] = [body.replace(old, new, 1)]
    path.write_text("".join(lines))


def assert_all_match(r: dict) -> None:
    assert r["first_diverging"] is None, diff.format_report(r)
    compared = [row for row in r["operators"] if row["max_abs_diff"] is not None]
    assert compared and all(row["mismatches"] == 0 for row in compared)
    assert all(row["elements"] > 0 for row in compared)


@pytest.mark.parametrize("board", ["host", "qemu-m4"])
@pytest.mark.parametrize("case", ["cnn", "fc"])
def test_diff_names_the_edited_operator(case, board, tmp_path):
    # a CNN (kws: convolutions, depthwise, pool, FC, softmax) and an FC model (sine: three FCs);
    # the edit clamps one operator's outputs lower, so only its own values are wrong at first
    model, target, old, new = ((shared_model("kws_ref_model.tflite"), 4, ".act_max = 127", ".act_max = 100")
                               if case == "cnn" else (SINE, 1, ".act_max = 127", ".act_max = -60"))
    out = tmp_path / "gen"
    r = run_diff(model, board, out)
    assert_all_match(r)
    assert [row["function"] for row in r["operators"]][target].startswith(f"op{target:03d}_")
    edit_function(out, target, old, new)
    r = run_diff(model, board, out)  # the edited C is built as it is (kept, not regenerated)
    assert r["first_diverging"] == target, diff.format_report(r)
    rows = r["operators"]
    assert all(row["mismatches"] == 0 for row in rows[:target])
    assert rows[target]["mismatches"] > 0 and rows[target]["max_abs_diff"] > 0
    assert (out / f"{Path(model).stem}.c.kiln-new").exists()  # the edit was kept, the new C written beside it


def test_float_model_within_tolerance_and_a_perturbed_weight(tmp_path):
    """Float tensors compare with the tolerance: unmodified, every operator is within it; operator
    1's first bias value raised by 10 in the weights header makes operator 1 the first to differ."""
    from kiln import compiler

    model, out = shared_model("hello_world_float.tflite"), tmp_path / "gen"
    r = run_diff(model, "host", out)
    assert_all_match(r)
    bias = compiler.load(model).operators[1].inputs[2]
    weights = next(out.glob("*_weights.h"))
    text = weights.read_text()
    m = re.search(rf"tensor{bias}\[\d+\] = \{{\s*([-0-9.e+]+)f", text)
    assert m, f"operator 1's bias (tensor {bias}) not found"
    weights.write_text(text[:m.start(1)] + f"{float(m.group(1)) + 10:.6f}" + text[m.end(1):])
    r = run_diff(model, "host", out)
    assert r["first_diverging"] == 1, diff.format_report(r)
    assert r["operators"][0]["mismatches"] == 0
    assert r["operators"][1]["max_abs_diff"] > 1


def test_mismatch_rules():
    a = np.array([1.0, 2.0, np.nan, 1e6], np.float32)
    assert diff.mismatches(a, a.copy()) == (0.0, 0)
    worst, bad = diff.mismatches(a, np.array([1.0 + 5e-6, 2.0, np.nan, 1e6 + 50], np.float32))
    assert bad == 0 and worst == pytest.approx(50, rel=1e-3)  # 50 on 1e6 is within rtol 1e-4
    assert diff.mismatches(a, np.array([1.1, 2.0, 0.0, 1e6], np.float32))[1] == 2  # 0.1 off; NaN vs 0
    assert diff.mismatches(np.array([3, -4], np.int8), np.array([3, -3], np.int8)) == (1.0, 1)


def test_stateful_sequence_steps_with_the_state_carried(tmp_path):
    path = tmp_path / "streaming.tflite"
    path.write_bytes(sm.streaming_kws(layers=2, channels=8))
    from kiln.compiler import oracle

    r = run_diff(path, "host", tmp_path / "gen", records=lambda g: oracle.random_inputs(g, seed=3, count=4))
    assert r["invocations"] == 4
    assert_all_match(r)


def test_cli_json_and_exit_status(tmp_path):
    out = tmp_path / "gen"
    cmd = [sys.executable, "-m", "kiln", "diff", str(SINE), "--board", "host", "--out", str(out), "--json"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["first_diverging"] is None and len(r["operators"]) == 3
    assert set(r["operators"][0]) >= {"index", "kind", "function", "max_abs_diff", "mismatches"}
    edit_function(out, 1, ".act_max = 127", ".act_max = -60")
    p = subprocess.run(cmd[:-1], capture_output=True, text=True, timeout=300)
    assert p.returncode == 1, p.stderr
    assert "first to differ: operator 1 (FULLY_CONNECTED), op001_fully_connected()" in p.stdout
    assert "was edited since Kiln generated it: kept it" in p.stderr


def test_missing_model_is_a_clear_error(tmp_path):
    p = subprocess.run([sys.executable, "-m", "kiln", "diff", str(tmp_path / "missing.tflite"), "--board", "host"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "Traceback" not in p.stderr and "missing.tflite" in p.stderr
