"""Benchmark (prints figures, asserts nothing): one small model per operator on qemu-m4.

    .venv/bin/python bench/operators.py [KIND ...] [--tflm] [--json]

For each operator kind, a one-operator model on a 16x16x16 tensor (4 KB int8, or the float32/int32
equivalent) is compiled and run with `kiln bench` (exact instruction counts under QEMU's
-icount shift=0), and the operator's own instructions are printed. For data-movement operators the
figure is set beside a memcpy of the bytes they write, measured the same way: a model whose only
operator is a RESHAPE (an alias: no code) costs run()'s two memcpy calls, input in and output out,
so two sizes give memcpy's instructions per byte with this toolchain. --tflm adds TFLite Micro +
CMSIS-NN's instructions per Invoke() for the same model, from ../shared/tools/tflm-qemu (the whole
interpreter's Invoke, so it includes its per-operator overhead). Operators Kiln does not compile
yet are listed as such.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))

from kiln.boards import bench  # noqa: E402
from kiln.compiler.ops import REGISTRY  # noqa: E402
from kiln.compiler.ops.samples import MODELS, MOVEMENT, SPECS, build_model, kinds  # noqa: E402
from kiln.compiler.tflwriter import ModelWriter  # noqa: E402

import tflm  # noqa: E402  (bench/tflm.py, beside this script)

def reshape_model(nbytes: int) -> bytes:
    w = ModelWriter(description="kiln bench/operators.py: memcpy baseline")
    x = w.tensor("x", [nbytes], "int8", 0.1, 0)
    y = w.tensor("y", [1, nbytes], "int8", 0.1, 0)
    w.op("RESHAPE", [x], [y], {"new_shape": [1, nbytes]})
    w.inputs, w.outputs = [x], [y]
    return w.build()


def kiln_figures(path: Path, index: int = 0) -> dict:
    r = bench.bench(path, "qemu-m4")
    return {"instructions": r["instructions"], "operator": r["operators"][index]["instructions"]}


def memcpy_per_byte(tmp: Path) -> tuple[float, float]:
    """(instructions per byte, fixed instructions) of memcpy, from run()'s two copies at two sizes."""
    runs = []
    for n in (1024, 9216):
        p = tmp / f"memcpy{n}.tflite"
        p.write_bytes(reshape_model(n))
        runs.append((n, bench.bench(p, "qemu-m4")["instructions"]))
    (n0, i0), (n1, i1) = runs
    per = (i1 - i0) / (2 * (n1 - n0))
    return per, (i0 - 2 * per * n0) / 2


def tflm_figure(path: Path) -> int | str:
    """TFLite Micro + CMSIS-NN's instructions per Invoke(), or why there is no figure."""
    res = tflm.measure(path)
    return int(res["instructions"]) if isinstance(res, dict) else res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("kinds", nargs="*", default=kinds())
    ap.add_argument("--tflm", action="store_true", help="also measure TFLite Micro + CMSIS-NN (tflm-qemu)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="kiln-bench-ops-") as d:
        tmp = Path(d)
        per_byte, fixed = memcpy_per_byte(tmp)
        for kind in args.kinds:
            spec = SPECS.get(kind)
            row = {"kind": kind}
            if kind not in REGISTRY:
                row["error"] = "not supported yet"
                rows.append(row)
                continue
            path = tmp / f"{kind.lower()}.tflite"
            path.write_bytes(build_model(kind, spec))
            try:
                row.update(kiln_figures(path, MODELS[kind][1] if kind in MODELS else 0))
            except Exception as e:  # a benchmark reports, it does not stop
                row["error"] = str(e).splitlines()[0][:120]
                rows.append(row)
                continue
            out_bytes = sum(int(np.prod(s)) * {"int8": 1, "bool": 1, "int16": 2}.get(t, 4)
                            for s, t, _, _ in spec[1]) if spec else 0
            row["output_bytes"] = out_bytes
            if kind in MOVEMENT:
                row["memcpy"] = round(fixed + per_byte * out_bytes)
                row["vs_memcpy"] = round(row["operator"] / max(row["memcpy"], 1), 2)
            if args.tflm:
                row["tflm_cmsis_invoke"] = tflm_figure(path)
            rows.append(row)
    if args.json:
        print(json.dumps({"memcpy_per_byte": per_byte, "memcpy_fixed": fixed, "operators": rows}, indent=1))
        return
    print(f"memcpy on qemu-m4 with this toolchain: {per_byte:.3f} instructions per byte + {fixed:.0f}")
    why = {r["tflm_cmsis_invoke"] for r in rows if isinstance(r.get("tflm_cmsis_invoke"), str)}
    for w in sorted(why):
        print(f"no TFLite Micro figure: {w}")
    hdr = f"{'operator':<20} {'out B':>7} {'op instr':>10} {'memcpy':>8} {'x memcpy':>9} {'TFLM+CMSIS':>11}"
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        if "error" in r:
            print(f"{r['kind']:<20} {r['error']}")
            continue
        tf = r.get("tflm_cmsis_invoke")
        tf = f"{tf:,}" if isinstance(tf, int) else ""
        print(f"{r['kind']:<20} {r['output_bytes']:>7,} {r['operator']:>10,} {r.get('memcpy', ''):>8} "
              f"{r.get('vs_memcpy', ''):>9} {tf:>11}")


if __name__ == "__main__":
    main()
