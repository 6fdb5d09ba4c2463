"""Issue 7 regression checks on qemu-m4 (not timings: exact instruction counts and flash bytes).

- Instructions per inference may not grow past the figures recorded in
  bench/instruction_budget.json (exact counts under QEMU -icount shift=0, so any growth is real).
  A change that adds instructions on purpose re-records them:
      .venv/bin/python bench/cortex_m.py --update-budget
- Flash beside the weights for kws at -Os stays within 8 KB, every runtime kernel, the generated
  code and the board's startup and test runner counted.
"""
from __future__ import annotations

import importlib.util
import json
import shutil

import pytest

from harness import ROOT
from kiln.boards import bench, qemu

if shutil.which(qemu.QEMU) is None:
    pytest.skip(f"{qemu.QEMU} not found, so instructions cannot be counted: {qemu.SETUP_HINT}",
                allow_module_level=True)

_spec = importlib.util.spec_from_file_location("cortex_m", ROOT / "bench" / "cortex_m.py")
cortex_m = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cortex_m)

UPDATE = ".venv/bin/python bench/cortex_m.py --update-budget"
KWS_OS_FLASH_LIMIT = 8 * 1024  # issues 7 and 19: kws at -Os on the M4 and the M0+, all runtime and kernels included


def _budget() -> dict:
    path = cortex_m.BUDGET
    assert path.exists(), f"{path} is missing: record it with {UPDATE}"
    return json.loads(path.read_text())


def _model(name: str):
    path = cortex_m.BUDGET_MODELS[name]
    if not path.exists():
        pytest.skip(f"{path} not found: the shared model folder is absent, so {name}'s budget cannot be checked")
    return path


@pytest.mark.parametrize("name", sorted(cortex_m.BUDGET_MODELS))
def test_instructions_per_inference_within_budget(name):
    budget = _budget()
    entry = budget.get("models", {}).get(name)
    assert entry is not None and isinstance(entry.get("instructions"), int), \
        f"bench/{cortex_m.BUDGET.name} has no instruction figure for {name}: record one with {UPDATE}"
    setup = {k: budget.get(k) for k in cortex_m.BUDGET_SETUP}
    assert setup == cortex_m.BUDGET_SETUP, \
        f"bench/{cortex_m.BUDGET.name} was recorded with {setup}, the check runs {cortex_m.BUDGET_SETUP}: re-record with {UPDATE}"
    r = bench.count(_model(name), **cortex_m.BUDGET_SETUP)
    # counts hold for one compiler: another one can move them either way, so compare nothing then
    assert r["compiler"] == budget["compiler"], \
        (f"{name}: the budget was recorded with {budget['compiler']}, this build uses {r['compiler']}; "
         f"check the counts by hand and re-record with {UPDATE}")
    assert r["exact"], f"{name}: the count is not exact (inference too long for the exact-count firmware)"
    old, new = entry["instructions"], r["instructions"]
    assert new <= old, (f"{name} on {r['board']}: {new:,} instructions per inference, up from the recorded {old:,} "
                        f"(+{new - old:,}, {100 * (new - old) / old:+.2f}%). If the growth is intended, re-record with "
                        f"{UPDATE}")
    if new < old:
        print(f"{name}: {new:,} instructions, below the recorded {old:,}: {UPDATE} would lower the budget")


@pytest.mark.parametrize("name", cortex_m.shape_layers())
def test_shape_classes_within_budget(name):
    """Issue 18: one layer per shape class (bench/shapes.py: strides, dilation, odd channels, depth
    multipliers, batches, pools...), each held to its recorded instructions like the models."""
    budget = _budget()
    old = budget.get("shapes", {}).get(name)
    assert isinstance(old, int), f"bench/{cortex_m.BUDGET.name} has no figure for the shape '{name}': record it with {UPDATE}"
    r = cortex_m.count_shape(name)
    assert r["compiler"] == budget["compiler"], f"recorded with {budget['compiler']}, built with {r['compiler']}: {UPDATE}"
    assert r["exact"] and r["instructions"] <= old, \
        (f"{name}: {r['instructions']:,} instructions per inference, up from the recorded {old:,}. If the growth is "
         f"intended, re-record with {UPDATE}")
    if r["instructions"] < old:
        print(f"{name}: {r['instructions']:,} instructions, below the recorded {old:,}: {UPDATE} would lower the budget")


@pytest.mark.parametrize("board", ["qemu-m4", "qemu-m0plus"])
def test_kws_flash_beside_the_weights_at_Os_within_8_KB(board):
    """Issue 7 on the Cortex-M4, issue 19 on the Cortex-M0+ (no divide instruction: no libgcc
    division may be linked, and only the loops of the filter formats kws uses)."""
    r = bench.count(_model("kws_ref_model"), board=board, opt="-Os")
    assert r["flash_code_bytes"] <= KWS_OS_FLASH_LIMIT, \
        (f"kws_ref_model at -Os on {board}: {r['flash_code_bytes']:,} B of flash beside the weights "
         f"(board support and runner {r['flash_board_bytes']:,} B of it), the limit is {KWS_OS_FLASH_LIMIT:,} B")
    print(f"kws_ref_model -Os on {board}: {r['flash_code_bytes']:,} B of flash beside the weights "
          f"({r['flash_board_bytes']:,} B board support and runner), {r['instructions']:,} instructions")
