"""Benchmark (prints figures, asserts nothing): Kiln on the emulated Cortex-M4 beside TFLite Micro.

    .venv/bin/python bench/cortex_m.py [--board qemu-m7] [--json]

Runs `kiln bench MODEL --board qemu-m4 --json` for the four MLPerf Tiny int8 models and prints
instructions per inference and per MAC next to TFLite Micro + CMSIS-NN's, measured on the same
QEMU machine (../shared/anchors/TFLM_QEMU_M4.md), plus arena and flash.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KILN_SHARED", ROOT.parent / "shared"))
MODELS = {"kws_ref_model": "KWS", "vww_96_int8": "VWW", "pretrainedResnet_quant": "IC ResNet-8", "ad01_int8": "AD"}


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


def main() -> None:
    board = sys.argv[sys.argv.index("--board") + 1] if "--board" in sys.argv else "qemu-m4"
    tflm = tflm_figures() if board == "qemu-m4" else {}  # TFLite Micro was measured on the M4 only
    rows = []
    for model, anchor in MODELS.items():
        path = SHARED / "models" / f"{model}.tflite"
        if not path.exists():
            print(f"skipping {model}: {path} not found", file=sys.stderr)
            continue
        proc = subprocess.run([str(ROOT / ".venv" / "bin" / "kiln"), "bench", str(path), "--board", board, "--json"],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"{model}: {proc.stderr.strip()}", file=sys.stderr)
            continue
        d = json.loads(proc.stdout)
        ref = tflm.get(anchor)
        rows.append(dict(model=model, instructions=d["instructions"], macs=d["macs"],
                         per_mac=d["instructions_per_mac"], tflm_instructions=ref[0] if ref else None,
                         tflm_per_mac=ref[1] if ref else None,
                         ratio=(d["instructions"] / ref[0]) if ref else None, arena=d["arena_bytes"],
                         flash_code=d["flash_code_bytes"], flash_weights=d["flash_weight_bytes"]))
    if "--json" in sys.argv:
        print(json.dumps(rows, indent=1))
        return
    print("| model | instructions | instr/MAC | TFLM+CMSIS-NN instr/MAC | Kiln / TFLM | arena B | flash code B | weights B |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        ref = f"{r['tflm_per_mac']:.2f}" if r["tflm_per_mac"] else "n/a"
        ratio = f"{r['ratio']:.2f}" if r["ratio"] else "n/a"
        print(f"| {r['model']} | {r['instructions']:,} | {r['per_mac']:.2f} | {ref} | {ratio} | {r['arena']:,} | "
              f"{r['flash_code']:,} | {r['flash_weights']:,} |")


if __name__ == "__main__":
    main()
