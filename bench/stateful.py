"""Benchmark (prints figures, asserts nothing): stateful and streaming models on qemu-m4.

    .venv/bin/python bench/stateful.py [--json]

For each model (built by tests/stateful_models.py, tests/test_ops_lstm.py and the SVDF sample), a
sequence of invocations runs on qemu-m4 with exact instruction counts, from the reset state: the
first invocation (which runs the CALL_ONCE subgraph) and the steady state (the mean of the others)
are printed beside TFLite Micro + CMSIS-NN's instructions per Invoke() (its second invoke, after
its own CALL_ONCE), measured on the same emulator by ../shared/tools/tflm-qemu, and Kiln's state +
arena bytes beside TFLite Micro's arena.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "server"), str(ROOT / "tests")]

import stateful_models as sm  # noqa: E402
import test_ops_lstm as lstm_ops  # noqa: E402
from kiln import boards, compiler
from kiln.compiler import oracle
from kiln.boards import qemu  # noqa: E402
from kiln.compiler.ops import samples  # noqa: E402

import tflm  # noqa: E402  (bench/tflm.py, beside this script)

STEPS = 6

MODELS = {
    "streaming_kws (12 variables, CALL_ONCE)": sm.streaming_kws,
    "ring (1 variable, CALL_ONCE, FULLY_CONNECTED)": lambda: sm.ring("int8"),
    # 10 steps of 40 features into 64 cells: 266k MACs, the size of a small LSTM keyword spotter
    "int8 LSTM (8x8_16, 10 steps x 40 -> 64)": lambda: lstm_ops.lstm_model("int8", 1, 10, 40, 64, False, seed=1),
    # one 40-feature frame a step into 64 rank-1 filters of memory 8 (int16 state): an SVDF keyword spotter's layer
    "int8 SVDF (40 -> 64 filters, memory 8)": lambda: samples.build_model("SVDF"),
}


def kiln_figures(path: Path, tmp: Path) -> dict:
    c = compiler.compile_model(path, cpu=boards.cpu("qemu-m4"))
    compiler.write(c, tmp / "src")
    records = oracle.random_inputs(c.graph, seed=0, count=STEPS)
    elf = qemu.build(tmp / "src", c.name, tmp / "build", records, profile=False, exact=True, graph=c.graph)
    r = qemu.run(elf, c.graph)
    per = r.total_instructions
    return {"first": per[0], "steady": sum(per[1:]) / (len(per) - 1), "state_bytes": c.graph.state_bytes,
            "arena_bytes": c.graph.arena_bytes, "weights": c.const_bytes}


def tflm_figures(path: Path) -> dict | str:
    res = tflm.measure(path)
    if isinstance(res, str):
        return res
    return {"first": res["instructions_invoke1"], "steady": res["instructions"], "arena": res["arena_used_bytes"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="kiln-bench-stateful-") as tmp:
        for k, (name, make) in enumerate(MODELS.items()):
            d = Path(tmp) / str(k)
            d.mkdir()
            path = d / "model.tflite"
            path.write_bytes(make())
            rows.append({"model": name, "kiln": kiln_figures(path, d), "tflm_cmsis": tflm_figures(path)})
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print(f"qemu-m4 (Cortex-M4), instructions per invocation, exact; {STEPS} invocations from the reset state")
    print(f"{'model':<46} {'kiln first':>11} {'kiln steady':>12} {'TFLM+CMSIS':>11} {'ratio':>6}  "
          f"{'kiln state+arena':>17} {'TFLM arena':>11}")
    for r in rows:
        k, t = r["kiln"], r["tflm_cmsis"]
        if isinstance(t, dict):
            print(f"{r['model']:<46} {k['first']:>11,} {k['steady']:>12,.0f} {t['steady']:>11,} "
                  f"{t['steady'] / k['steady']:>5.2f}x  {k['state_bytes']:>7,} + {k['arena_bytes']:>6,} B "
                  f"{t['arena']:>9,} B")
        else:
            print(f"{r['model']:<46} {k['first']:>11,} {k['steady']:>12,.0f}   TFLite Micro: {t}")


if __name__ == "__main__":
    main()
