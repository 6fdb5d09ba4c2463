"""Benchmark (prints figures, asserts nothing): the audio front end and the FFT on qemu-m4.

    .venv/bin/python bench/audio_frontend.py [--json]

1. The keyword example's front end (examples/keyword/models/frontend.tflite: 320 new samples a
   20 ms frame, 512-point FFT, 40 channels) over the frames of its yes.wav: instructions per frame
   (exact, -icount shift=0) and per operator, arena, state and flash.
2. RFFT alone per FFT length and type: instructions per frame and per (N/2) log2 N butterfly.

TFLite Micro + CMSIS-NN cannot be measured beside it: ../shared/tools/tflm-qemu resolves builtin
operators only (it stops at "op CUSTOM has no MicroMutableOpResolver::Add method").
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "server"), str(ROOT / "tests")]

from kiln.boards import bench, qemu
from kiln import compiler  # noqa: E402
from opgen import T, model  # noqa: E402

FRONTEND = ROOT / "examples" / "keyword" / "models" / "frontend.tflite"
FFTS = [(64, "int16"), (256, "int16"), (512, "int16"), (480, "int16"), (512, "int32"), (512, "float32")]


def frames_of(wav: Path) -> list:
    with wave.open(str(wav)) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    return [[x[k:k + 320]] for k in range(0, len(x) - 319, 320)]


def run_exact(path: Path, records, tmp: Path) -> list[int]:
    c = compiler.compile_model(path)
    compiler.write(c, tmp / "src")
    elf = qemu.build(tmp / "src", c.name, tmp / "build", records, profile=False, exact=True, graph=c.graph)
    return qemu.run(elf, c.graph).total_instructions


def frontend_figures(tmp: Path) -> dict:
    per = run_exact(FRONTEND, frames_of(ROOT / "examples" / "keyword" / "wav" / "yes.wav"), tmp / "fe")
    b = bench.bench(FRONTEND, "qemu-m4")
    return {"frames": len(per), "mean": sum(per) / len(per), "min": min(per), "max": max(per),
            "arena_bytes": b["arena_bytes"], "state_bytes": compiler.compile_model(FRONTEND).graph.state_bytes,
            "flash_code_bytes": b["flash_code_bytes"], "flash_weight_bytes": b["flash_weight_bytes"],
            "operators": [{"kind": o["kind"], "instructions": o["instructions"]} for o in b["operators"]]}


def fft_figures(tmp: Path) -> list[dict]:
    rows = []
    rng = np.random.default_rng(0)
    for length, dtype in FFTS:
        code = {"int16": 7, "int32": 2, "float32": 0}[dtype]
        path = tmp / f"rfft_{length}_{dtype}.tflite"
        path.write_bytes(model("CUSTOM(SignalRfft)", [T([length], dtype)], [T([length + 2], dtype)], T=code,
                               fft_length=length))
        x = (rng.uniform(-1, 1, length) * (0.5 if dtype == "float32" else 8000)).astype(dtype)
        per = run_exact(path, [[x], [x]], tmp / path.stem)
        flies = length / 2 * math.log2(length)
        rows.append({"fft_length": length, "type": dtype, "instructions": per[-1], "per_butterfly": per[-1] / flies})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fe, ffts = frontend_figures(Path(tmp)), fft_figures(Path(tmp))
    if a.json:
        print(json.dumps({"frontend": fe, "rfft": ffts}, indent=1))
        return
    print(f"front end (examples/keyword), qemu-m4, {qemu.compiler_version()} -O2, over {fe['frames']} frames of "
          f"yes.wav:\n  {fe['mean']:,.0f} instructions per 20 ms frame (min {fe['min']:,}, max {fe['max']:,}); arena "
          f"{fe['arena_bytes']:,} B, state {fe['state_bytes']:,} B, flash {fe['flash_code_bytes']:,} B code + "
          f"{fe['flash_weight_bytes']:,} B tables")
    total = sum(o["instructions"] for o in fe["operators"]) or 1
    for o in fe["operators"]:
        if o["instructions"]:
            print(f"  {o['kind']:<46} {o['instructions']:>8,}  {100 * o['instructions'] / total:5.1f}%")
    print("\nRFFT alone (one frame):")
    print(f"  {'fft_length':>10} {'type':<8} {'instructions':>12} {'per butterfly':>14}")
    for r in ffts:
        print(f"  {r['fft_length']:>10} {r['type']:<8} {r['instructions']:>12,} {r['per_butterfly']:>14.1f}")


if __name__ == "__main__":
    main()
