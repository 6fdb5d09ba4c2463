"""Benchmark (prints figures, asserts nothing): arena and weight bytes of the shared models.

    .venv/bin/python bench/memory.py [--json]

For each model: Kiln's arena beside the activation lower bound (the largest total of tensors alive
at one step) and TFLite Micro's arena (measured here with the tflite-micro package's recording
allocator: total, and the activation part), the constant bytes Kiln puts in flash, and the
compile time.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))

from kiln import compiler  # noqa: E402

MODELS = Path(os.environ.get("KILN_SHARED", ROOT.parent / "shared")) / "models"
DEFAULT = ["hello_world_int8", "hello_world_float", "ad01_int8", "ad01_fp32", "simple_add_model"]


def tflm_arena(path: Path) -> tuple[int, int] | None:
    """(total, activation) bytes from TFLite Micro's RecordingMicroAllocator, read from its report."""
    from tflite_micro.python.tflite_micro import runtime

    data = path.read_bytes()
    r, w = os.pipe()
    saved = os.dup(2)
    os.dup2(w, 2)
    try:
        it = runtime.Interpreter.from_bytes(data, arena_size=len(data) * 4 + (4 << 20))
        it.print_allocations()
    finally:
        os.dup2(saved, 2)
        os.close(w)
    text = os.read(r, 1 << 20).decode(errors="replace")
    os.close(r)
    total = re.search(r"\[RecordingMicroAllocator\] Arena allocation total (\d+) bytes", text)
    head = re.search(r"\[RecordingMicroAllocator\] Arena allocation head (\d+) bytes", text)
    return (int(total.group(1)), int(head.group(1))) if total and head else None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="*", default=DEFAULT)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = []
    for name in args.models:
        path = MODELS / f"{name}.tflite"
        if not path.exists():
            print(f"skipping {name}: {path} not found", file=sys.stderr)
            continue
        t0 = time.perf_counter()
        c = compiler.compile_model(path)
        with tempfile.TemporaryDirectory() as d:
            compiler.write(c, d)
        secs = time.perf_counter() - t0
        tflm = tflm_arena(path)
        rows.append({"model": name, "arena_bytes": c.graph.arena_bytes, "lower_bound": c.lower_bound,
                     "tflm_arena_total": tflm[0] if tflm else None, "tflm_arena_head": tflm[1] if tflm else None,
                     "weight_bytes": c.const_bytes, "macs": c.macs, "compile_seconds": round(secs, 3)})
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    hdr = f"{'model':<24} {'arena B':>9} {'bound B':>9} {'TFLM total/head B':>19} {'weights B':>11} {'compile s':>10}"
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        tf = f"{r['tflm_arena_total']}/{r['tflm_arena_head']}" if r["tflm_arena_total"] else "n/a"
        print(f"{r['model']:<24} {r['arena_bytes']:>9,} {r['lower_bound']:>9,} {tf:>19} {r['weight_bytes']:>11,} {r['compile_seconds']:>10.2f}")


if __name__ == "__main__":
    main()
