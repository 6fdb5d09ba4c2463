"""Benchmark (prints figures, asserts nothing): Kiln on the emulated Cortex-M4 beside TFLite Micro.

    .venv/bin/python bench/cortex_m.py [--board qemu-m7] [--opt Os] [--tuned | --tune] [--json]
    .venv/bin/python bench/cortex_m.py --update-budget

Runs `kiln bench MODEL --board qemu-m4 --json` for the four MLPerf Tiny int8 models and prints
instructions per inference and per MAC next to TFLite Micro + CMSIS-NN's, measured on the same
QEMU machine (../shared/anchors/TFLM_QEMU_M4.md), plus arena and flash. --opt builds the whole
firmware at another optimization level (Os: the flash figure of issue 7). --tuned adds the figures
with the kernel variants `kiln tune` chose, from the committed bench/kiln-tuning.json; --tune first
re-records that log for the board (`kiln tune MODEL --board B --log bench/kiln-tuning.json`).

--update-budget re-records bench/instruction_budget.json, the instructions per inference that
tests/test_instruction_budget.py holds every build to: run it when a change adds instructions on
purpose (or the compiler changes), and commit the file with the change.
"""
from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KILN_SHARED", ROOT.parent / "shared"))
MODELS = {"kws_ref_model": "KWS", "vww_96_int8": "VWW", "pretrainedResnet_quant": "IC ResNet-8", "ad01_int8": "AD"}
BUDGET = ROOT / "bench" / "instruction_budget.json"
# kiln tune's choices for the four models on qemu-m4 and qemu-m7 (--tune re-records them)
TUNING_LOG = ROOT / "bench" / "kiln-tuning.json"
# The models the budget holds: the bundled one (always there) and a convolutional one (a few seconds).
BUDGET_MODELS = {"sine_int8": ROOT / "examples" / "models" / "sine_int8.tflite",
                 "kws_ref_model": SHARED / "models" / "kws_ref_model.tflite"}
BUDGET_SETUP = dict(board="qemu-m4", opt="-O2", seed=0)


def tflm_figures() -> dict[str, tuple[int, float]]:
    """{anchor name: (CMSIS-NN instructions, per MAC)} from the anchors table, if present."""
    path = SHARED / "anchors" / "TFLM_QEMU_M4.md"
    out = {}
    if path.exists():
        for line in path.read_text().splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) >= 5 and re.match(r"[\d,]+$", cells[3] or "x"):
                out[cells[0].split(" (")[0]] = (int(cells[3].replace(",", "")), float(cells[4]))
    return out


@functools.lru_cache(maxsize=None)
def _shapes():
    """bench/shapes.py as a module, loaded once (every budget layer comes from it)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("shapes", ROOT / "bench" / "shapes.py")
    sys.path.insert(0, str(ROOT / "bench"))  # shapes.py imports tflm.py beside it
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def shape_layers() -> list[str]:
    """The shape classes of bench/shapes.py whose instructions the budget holds."""
    return list(_shapes().LAYERS)


def count_shape(name: str) -> dict:
    """bench.count of bench/shapes.py's layer `name` (the same model bytes every time)."""
    import tempfile

    from kiln.boards import bench

    with tempfile.TemporaryDirectory(prefix="kiln-budget-") as d:
        path = Path(d) / "layer.tflite"
        path.write_bytes(_shapes().layer_model(name))
        return bench.count(path, **BUDGET_SETUP)


def update_budget() -> None:
    """Measures every budget model (one absent from ../shared keeps its old entry) and rewrites BUDGET."""
    from kiln.boards import bench

    old = json.loads(BUDGET.read_text()).get("models", {}) if BUDGET.exists() else {}
    models, compiler = {}, None
    for name, path in BUDGET_MODELS.items():
        if not path.exists():
            print(f"skipping {name}: {path} not found; its entry is kept as it was", file=sys.stderr)
            if name in old:
                models[name] = old[name]
            continue
        r = bench.count(path, **BUDGET_SETUP)
        compiler = r["compiler"]
        rel = os.path.relpath(path, ROOT)
        models[name] = {"path": rel, "instructions": r["instructions"]}
        was = old.get(name, {}).get("instructions")
        print(f"{name}: {r['instructions']:,} instructions per inference" + (f" (was {was:,})" if was else ""))
    shapes = {}
    for name in shape_layers():
        r = count_shape(name)
        shapes[name] = r["instructions"]
        compiler = compiler or r["compiler"]
        print(f"shape {name}: {r['instructions']:,} instructions per inference")
    doc = {"about": "Instructions per inference that tests/test_instruction_budget.py holds each build to (exact "
                    "counts under QEMU -icount shift=0, exact-count firmware without profiling, random input): "
                    "models, and one generated layer per shape class of bench/shapes.py (issue 18). "
                    "Re-record on purpose with: .venv/bin/python bench/cortex_m.py --update-budget",
           **BUDGET_SETUP, "compiler": compiler or json.loads(BUDGET.read_text())["compiler"], "models": models,
           "shapes": shapes}
    BUDGET.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {os.path.relpath(BUDGET, ROOT)}")


def kiln_bench(path: Path, board: str, opt: str, log: Path | None) -> dict | None:
    cmd = [str(ROOT / ".venv" / "bin" / "kiln"), "bench", str(path), "--board", board, "--opt", opt, "--json"]
    proc = subprocess.run(cmd + (["--tuning-log", str(log)] if log else []), capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"{path.stem}: {proc.stderr.strip()}", file=sys.stderr)
        return None
    return json.loads(proc.stdout)


def main() -> None:
    if "--update-budget" in sys.argv:
        update_budget()
        return
    board = sys.argv[sys.argv.index("--board") + 1] if "--board" in sys.argv else "qemu-m4"
    opt = sys.argv[sys.argv.index("--opt") + 1] if "--opt" in sys.argv else "O2"
    tuned = "--tuned" in sys.argv or "--tune" in sys.argv
    # TFLite Micro was measured on the M4 only, at -O2
    tflm = tflm_figures() if board == "qemu-m4" and opt == "O2" else {}
    rows = []
    for model, anchor in MODELS.items():
        path = SHARED / "models" / f"{model}.tflite"
        if not path.exists():
            print(f"skipping {model}: {path} not found", file=sys.stderr)
            continue
        if "--tune" in sys.argv:  # re-record this board's choices in the committed log
            print(f"tuning {model} on {board}", file=sys.stderr)
            subprocess.run([str(ROOT / ".venv" / "bin" / "kiln"), "tune", str(path), "--board", board,
                            "--log", str(TUNING_LOG)], check=True, stdout=subprocess.DEVNULL)
        d = kiln_bench(path, board, opt, None)
        t = kiln_bench(path, board, opt, TUNING_LOG) if tuned else None
        if d is None or (tuned and t is None):
            continue
        ref = tflm.get(anchor)
        best = t or d
        rows.append(dict(model=model, instructions=d["instructions"], macs=d["macs"],
                         per_mac=d["instructions_per_mac"],
                         tuned_instructions=t["instructions"] if t else None,
                         tuned_per_mac=t["instructions_per_mac"] if t else None,
                         tuned_variants=sorted({o["variant"] for o in t["operators"] if o["variant"]}) if t else None,
                         tflm_instructions=ref[0] if ref else None, tflm_per_mac=ref[1] if ref else None,
                         ratio=(best["instructions"] / ref[0]) if ref else None, arena=best["arena_bytes"],
                         flash_code=best["flash_code_bytes"], flash_weights=best["flash_weight_bytes"]))
    if "--json" in sys.argv:
        print(json.dumps(rows, indent=1))
        return
    if tuned:
        print("| model | instructions untuned | instr/MAC untuned | tuned | instr/MAC tuned | TFLM+CMSIS-NN instr/MAC "
              "| tuned / TFLM | arena B | flash code B | weights B (tuned) |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    else:
        print("| model | instructions | instr/MAC | TFLM+CMSIS-NN instr/MAC | Kiln / TFLM | arena B | flash code B | weights B |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        ref = f"{r['tflm_per_mac']:.2f}" if r["tflm_per_mac"] else "n/a"
        ratio = f"{r['ratio']:.2f}" if r["ratio"] else "n/a"
        tuned_cols = f"{r['tuned_instructions']:,} | {r['tuned_per_mac']:.2f} | " if tuned else ""
        print(f"| {r['model']} | {r['instructions']:,} | {r['per_mac']:.2f} | {tuned_cols}{ref} | {ratio} | {r['arena']:,} | "
              f"{r['flash_code']:,} | {r['flash_weights']:,} |")


if __name__ == "__main__":
    main()
