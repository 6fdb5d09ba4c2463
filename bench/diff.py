"""Benchmark (prints figures, asserts nothing): how long `kiln diff` takes, end to end.

    .venv/bin/python bench/diff.py [--boards host qemu-m4] [MODEL ...]

For kws and vww (default) on the host and qemu-m4: the wall-clock seconds of `kiln diff MODEL
--board B` (compile, build of the RPC firmware with tensor taps, start, TFLite Micro with every
intermediate kept, stepping operator by operator and reading each output over the RPC link), and
how many operators and output bytes it compared. Results in bench/diff.md.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KILN_SHARED", ROOT.parent / "shared"))
MODELS = [SHARED / "models" / "kws_ref_model.tflite", SHARED / "models" / "vww_96_int8.tflite"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="*", type=Path, default=MODELS)
    ap.add_argument("--boards", nargs="+", default=["host", "qemu-m4"])
    args = ap.parse_args()
    print(f"{'model':<26} {'board':<8} {'seconds':>8} {'operators':>9} {'bytes read':>11}  verdict")
    for model in args.models:
        for board in args.boards:
            with tempfile.TemporaryDirectory(prefix="kiln-bench-diff-") as tmp:
                t0 = time.monotonic()
                p = subprocess.run([sys.executable, "-m", "kiln", "diff", str(model), "--board", board, "--out",
                                    str(Path(tmp) / "gen"), "--json"], capture_output=True, text=True, cwd=ROOT)
                seconds = time.monotonic() - t0
            if p.returncode not in (0, 1):
                print(f"{model.stem:<26} {board:<8} failed: {p.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(p.stdout)
            ops = r["operators"]
            nbytes = sum(o["elements"] for o in ops)  # elements; int8 models: bytes
            verdict = "all match" if r["first_diverging"] is None else f"first to differ: {r['first_diverging']}"
            print(f"{model.stem:<26} {board:<8} {seconds:>8.1f} {len(ops):>9} {nbytes:>11,}  {verdict}", flush=True)


if __name__ == "__main__":
    main()
