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
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))

from kiln import bench  # noqa: E402
from kiln.ops import REGISTRY  # noqa: E402
from kiln.tflwriter import ModelWriter  # noqa: E402

SHARED = Path(os.environ.get("KILN_SHARED", ROOT.parent / "shared"))
TFLM_QEMU = SHARED / "tools" / "tflm-qemu" / "measure.py"

S = [1, 16, 16, 16]
Q = (0.05, 3)  # int8 activations' scale and zero point
Q2 = (0.04, -5)


def act(shape=S, dtype="int8", q=Q):
    return (shape, dtype, q if dtype == "int8" else None, None)


def const(array, q=None):
    a = np.asarray(array)
    return (list(a.shape), {np.dtype(np.int32): "int32", np.dtype(np.int64): "int64", np.dtype(np.int8): "int8",
                            np.dtype(np.float32): "float32"}[a.dtype], q, a)


def i32(*v):
    return const(np.array(v, np.int32))


# kind -> (inputs, outputs, options): each a spec (shape, dtype, (scale, zp) or None, const data or None)
BINARY = {k: ([act(), act(q=Q2)], [act()], {"fused_activation_function": 0} if k in ("ADD", "SUB", "MUL", "DIV") else {})
          for k in ("ADD", "SUB", "MUL", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE")}
COMPARE = {k: ([act(), act(q=Q2)], [act(dtype="bool")], {})
           for k in ("EQUAL", "NOT_EQUAL", "GREATER", "GREATER_EQUAL", "LESS", "LESS_EQUAL")}
UNARY_I8 = {k: ([act()], [act(q=Q2)], {}) for k in ("ABS", "NEG", "RSQRT", "LEAKY_RELU", "HARD_SWISH", "ELU", "RELU",
                                                     "RELU6", "LOGISTIC", "TANH", "SQUARE")}
UNARY_F = {k: ([act(dtype="float32")], [act(dtype="float32")], {})
           for k in ("SQRT", "EXP", "LOG", "SIN", "COS", "FLOOR", "CEIL", "ROUND")}
SPECS = {
    **BINARY, **COMPARE, **UNARY_I8, **UNARY_F,
    "DIV": ([act(dtype="float32"), act(dtype="float32")], [act(dtype="float32")], {"fused_activation_function": 0}),
    "FLOOR_DIV": ([act(dtype="float32"), act(dtype="float32")], [act(dtype="float32")], {}),
    "FLOOR_MOD": ([act(dtype="float32"), act(dtype="float32")], [act(dtype="float32")], {}),
    "ADD_N": ([act(dtype="float32")] * 3, [act(dtype="float32")], {}),
    "LOGICAL_AND": ([act(dtype="bool"), act(dtype="bool")], [act(dtype="bool")], {}),
    "LOGICAL_OR": ([act(dtype="bool"), act(dtype="bool")], [act(dtype="bool")], {}),
    "LOGICAL_NOT": ([act(dtype="bool")], [act(dtype="bool")], {}),
    "SELECT_V2": ([act(dtype="bool"), act(), act()], [act()], {}),
    "CAST": ([act()], [act(dtype="float32")], {}),
    "PRELU": ([act(), const(np.full([16], 3, np.int8), (0.01, 0))], [act(q=Q2)], {}),
    "LOG_SOFTMAX": ([act([16, 256])], [act([16, 256], q=(16 / 256, 127))], {"beta": 1.0}),
    "SOFTMAX": ([act([16, 256])], [act([16, 256], q=(1 / 256, -128))], {"beta": 1.0}),
    "TRANSPOSE": ([act(), i32(0, 3, 1, 2)], [act()], {}),
    "SQUEEZE": ([act()], [act([16, 16, 16])], {"squeeze_dims": [0]}),
    "EXPAND_DIMS": ([act([16, 16, 16]), i32(0)], [act()], {}),
    "PACK": ([act([16, 16, 16])] * 2, [act([2, 16, 16, 16])], {"values_count": 2, "axis": 0}),
    "UNPACK": ([act([2, 16, 16, 8])], [act([16, 16, 8])] * 2, {"num": 2, "axis": 0}),
    "SPLIT": ([i32(3), act()], [act([1, 16, 16, 8])] * 2, {"num_splits": 2}),
    "SPLIT_V": ([act(), i32(4, 12), i32(3)], [act([1, 16, 16, 4]), act([1, 16, 16, 12])], {"num_splits": 2}),
    "SLICE": ([act(), i32(0, 2, 2, 0), i32(1, 12, 12, 16)], [act([1, 12, 12, 16])], {}),
    "STRIDED_SLICE": ([act(), i32(0, 0, 0, 0), i32(1, 16, 16, 16), i32(1, 2, 2, 1)], [act([1, 8, 8, 16])], {}),
    "GATHER": ([act([256, 16]), i32(*range(255, -1, -1))], [act([256, 16])], {"axis": 0}),
    "CONCATENATION": ([act([1, 16, 16, 8])] * 2, [act()], {"axis": 3}),
    "PAD": ([act([1, 14, 14, 16]), i32(0, 0, 1, 1, 1, 1, 0, 0)], [act()], {}),
    "MIRROR_PAD": ([act([1, 14, 14, 16]), const(np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32))], [act()],
                   {"mode": 0}),
    "REVERSE_V2": ([act(), i32(2)], [act()], {}),
    "DEPTH_TO_SPACE": ([act()], [act([1, 32, 32, 4])], {"block_size": 2}),
    "SPACE_TO_DEPTH": ([act()], [act([1, 8, 8, 64])], {"block_size": 2}),
    "BROADCAST_TO": ([act([1, 1, 16, 16]), i32(1, 16, 16, 16)], [act()], {}),
    "MEAN": ([act(), i32(1, 2)], [act([1, 1, 1, 16])], {"keep_dims": True}),
    "SUM": ([act(), i32(3)], [act([1, 16, 16, 1])], {"keep_dims": True}),
    "REDUCE_MAX": ([act(), i32(1, 2)], [act([1, 16])], {"keep_dims": False}),
    "REDUCE_MIN": ([act(), i32(1, 2)], [act([1, 16])], {"keep_dims": False}),
    "ARG_MAX": ([act(), i32(3)], [act([1, 16, 16], "int32")], {"output_type": 2}),
    "ARG_MIN": ([act(), i32(3)], [act([1, 16, 16], "int32")], {"output_type": 2}),
    "CUMSUM": ([act(dtype="float32"), i32(3)], [act(dtype="float32")], {}),
    "L2_NORMALIZATION": ([act()], [act(q=(1 / 128, 0))], {}),
}
MOVEMENT = {"TRANSPOSE", "PACK", "UNPACK", "SPLIT", "SPLIT_V", "SLICE", "STRIDED_SLICE", "GATHER", "CONCATENATION",
            "PAD", "MIRROR_PAD", "REVERSE_V2", "DEPTH_TO_SPACE", "SPACE_TO_DEPTH", "BROADCAST_TO"}


def build_model(kind: str, spec) -> bytes:
    ins, outs, options = spec
    w = ModelWriter(description=f"kiln bench/operators.py: {kind}")
    idx = []
    for k, (shape, dtype, q, data) in enumerate(ins):
        idx.append(w.tensor(f"in{k}", shape, dtype, q[0] if q else None, q[1] if q else None, data=data))
        if data is None:
            w.inputs.append(idx[-1])
    w.outputs = [w.tensor(f"out{k}", shape, dtype, q[0] if q else None, q[1] if q else None)
                 for k, (shape, dtype, q, _) in enumerate(outs)]
    w.op(kind, idx, w.outputs, options)
    return w.build()


def reshape_model(nbytes: int) -> bytes:
    w = ModelWriter(description="kiln bench/operators.py: memcpy baseline")
    x = w.tensor("x", [nbytes], "int8", 0.1, 0)
    y = w.tensor("y", [1, nbytes], "int8", 0.1, 0)
    w.op("RESHAPE", [x], [y], {"new_shape": [1, nbytes]})
    w.inputs, w.outputs = [x], [y]
    return w.build()


def kiln_figures(path: Path) -> dict:
    r = bench.bench(path, "qemu-m4")
    return {"instructions": r["instructions"], "operator": r["operators"][0]["instructions"]}


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
    if not TFLM_QEMU.exists():
        return f"{TFLM_QEMU} not found"
    proc = subprocess.run([sys.executable, str(TFLM_QEMU), str(path), "--kernels", "cmsis", "--json"],
                          capture_output=True, text=True)
    try:
        return int(json.loads(proc.stdout.strip().splitlines()[-1])["instructions"])
    except (ValueError, IndexError, KeyError):
        why = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()
        return " ".join(why[:2])[:160]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("kinds", nargs="*", default=sorted(SPECS))
    ap.add_argument("--tflm", action="store_true", help="also measure TFLite Micro + CMSIS-NN (tflm-qemu)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="kiln-bench-ops-") as d:
        tmp = Path(d)
        per_byte, fixed = memcpy_per_byte(tmp)
        for kind in args.kinds:
            spec = SPECS[kind]
            row = {"kind": kind}
            if kind not in REGISTRY:
                row["error"] = "not supported yet"
                rows.append(row)
                continue
            path = tmp / f"{kind.lower()}.tflite"
            path.write_bytes(build_model(kind, spec))
            try:
                row.update(kiln_figures(path))
            except Exception as e:  # a benchmark reports, it does not stop
                row["error"] = str(e).splitlines()[0][:120]
                rows.append(row)
                continue
            out_bytes = sum(int(np.prod(s)) * {"int8": 1, "bool": 1, "int16": 2}.get(t, 4) for s, t, _, _ in spec[1])
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
