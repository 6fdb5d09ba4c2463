"""Benchmark (prints figures, asserts nothing): issue 13's compute layers on qemu-m4, each beside
the int8 layer it is held to.

    .venv/bin/python bench/compute_layers.py [--tflm] [--json] [NAME ...]

Each row is a one-operator model compiled and run with `kiln bench` (exact instruction counts
under QEMU's -icount shift=0): the operator's own instructions and instructions per MAC, and the
same for its reference layer, an int8 CONV_2D (or the int8 form of the same layer) doing the same
multiply-accumulates:
- TRANSPOSE_CONV and BATCH_MATMUL against an int8 CONV_2D of the same MACs (target 1.3x): a
  stride-2 4x4 transposed convolution is four 2x2 convolutions over its input, so its reference is
  the 2x2 CONV_2D with four times the output channels; a matrix product [M, K] x [K, N] is a 1x1
  CONV_2D of M pixels, K input and N output channels;
- 16x8 layers (int16 activations, int8 weights) against the same layer in int8 (target 1.6x);
- INT4 weights against the same layer with int8 weights (target 1.2x, with half the weight bytes).
--tflm adds TFLite Micro + CMSIS-NN's instructions per Invoke() for the row's model
(../shared/tools/tflm-qemu; the whole interpreter's Invoke, one operator).
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
from kiln.compiler.tflwriter import ModelWriter  # noqa: E402

import tflm  # noqa: E402  (bench/tflm.py, beside this script)

RNG = np.random.default_rng(13)
XQ = {"int8": (0.05, -3), "int16": (0.0005, 0)}


def _weights(w: ModelWriter, shape, wtype: str, channels: int, axis: int = 0) -> int:
    scales = [float(s) for s in RNG.uniform(0.004, 0.02, channels)]
    if wtype == "int4":
        v = (RNG.integers(-8, 8, shape).astype(np.int16).reshape(-1) & 15).astype(np.uint8)
        v = np.append(v, np.uint8(0)) if v.size % 2 else v
        scales = scales[:1] if axis is None else scales  # FC int4: per-tensor only (TFLite Micro)
        return w.tensor("w", shape, "int4", scales, [0] * len(scales), axis=axis or 0,
                        data=(v[0::2] | (v[1::2] << 4)).astype(np.uint8))
    if axis is None:
        scales = scales[:1]
    return w.tensor("w", shape, "int8", scales, [0] * len(scales), axis=axis or 0,
                    data=RNG.integers(-127, 128, shape).astype(np.int8))


def _bias(w: ModelWriter, n: int, act: str) -> int:
    btype = "int64" if act == "int16" else "int32"
    return w.tensor("b", [n], btype, [1e-5] * n, [0] * n, data=RNG.integers(-2000, 2000, n).astype(btype))


def _finish(w: ModelWriter, x: int, y: int) -> bytes:
    w.inputs, w.outputs = [x], [y]
    return w.build()


def conv(act: str, wtype: str, in_shape, k: int, oc: int, depthwise: bool = False) -> bytes:
    """CONV_2D, or DEPTHWISE_CONV_2D of oc output channels (a multiple of the input's)."""
    w = ModelWriter(description="kiln bench/compute_layers.py")
    n, h, wd, ic = in_shape
    x = w.tensor("x", in_shape, act, *XQ[act])
    if depthwise:
        wt = _weights(w, [1, k, k, oc], wtype, oc, axis=3)
    else:
        wt = _weights(w, [oc, k, k, ic], wtype, oc)
    y = w.tensor("y", [n, h, wd, oc], act, 0.05 if act == "int8" else 0.001, 2 if act == "int8" else 0)
    opts = {"padding": 0, "stride_w": 1, "stride_h": 1}
    if depthwise:
        opts["depth_multiplier"] = oc // ic
    w.op("DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", [x, wt, _bias(w, oc, act)], [y], opts)
    return _finish(w, x, y)


def fc(act: str, wtype: str, batches: int, depth: int, units: int) -> bytes:
    w = ModelWriter(description="kiln bench/compute_layers.py")
    x = w.tensor("x", [batches, depth], act, *XQ[act])
    wt = _weights(w, [units, depth], wtype, units, axis=None)
    y = w.tensor("y", [batches, units], act, 0.05 if act == "int8" else 0.001, 2 if act == "int8" else 0)
    w.op("FULLY_CONNECTED", [x, wt, _bias(w, units, act)], [y], {})
    return _finish(w, x, y)


def transpose_conv(act: str, in_shape, k: int, stride: int, oc: int) -> bytes:
    w = ModelWriter(description="kiln bench/compute_layers.py")
    n, h, wd, ic = in_shape
    out = [n, h * stride, wd * stride, oc]
    shape = w.tensor("shape", [4], "int32", data=np.array(out, np.int32))
    x = w.tensor("x", in_shape, act, *XQ[act])
    wt = _weights(w, [oc, k, k, ic], "int8", oc)
    y = w.tensor("y", out, act, 0.05 if act == "int8" else 0.001, 2 if act == "int8" else 0)
    w.op("TRANSPOSE_CONV", [shape, wt, x, _bias(w, oc, act)], [y],
         {"padding": 0, "stride_h": stride, "stride_w": stride})
    return _finish(w, x, y)


def batch_matmul(act: str, batches: int, m: int, k: int, n: int, const_rhs: bool = False) -> bytes:
    w = ModelWriter(description="kiln bench/compute_layers.py")
    zp = 0 if act == "int16" else -3
    lhs = w.tensor("lhs", [batches, m, k], act, XQ[act][0], zp)
    if const_rhs:
        rhs = w.tensor("rhs", [k, n], act, 0.02, 0, data=RNG.integers(-127, 128, [k, n]).astype(act))
    else:
        rhs = w.tensor("rhs", [batches, k, n], act, 0.04, 0 if act == "int16" else 5)
    y = w.tensor("y", [batches, m, n], act, 0.3 if act == "int8" else 0.01, 0)
    w.op("BATCH_MATMUL", [lhs, rhs], [y], {})
    w.inputs, w.outputs = [lhs] + ([] if const_rhs else [rhs]), [y]
    return w.build()


# name: (model, reference model, target ratio of instructions per MAC)
LAYERS = {
    "TRANSPOSE_CONV int8 8x8x32 4x4 s2 -> 32": (
        lambda: transpose_conv("int8", [1, 8, 8, 32], 4, 2, 32), lambda: conv("int8", "int8", [1, 8, 8, 32], 2, 128), 1.3),
    "TRANSPOSE_CONV int8 8x8x16 3x3 s2 -> 16": (
        lambda: transpose_conv("int8", [1, 8, 8, 16], 3, 2, 16), lambda: conv("int8", "int8", [1, 8, 8, 16], 2, 36), 1.3),
    "BATCH_MATMUL int8 2x[64x32]x[32x64]": (
        lambda: batch_matmul("int8", 2, 64, 32, 64), lambda: conv("int8", "int8", [2, 8, 8, 32], 1, 64), 1.3),
    "BATCH_MATMUL int8 [64x32]x const[32x64]": (
        lambda: batch_matmul("int8", 1, 64, 32, 64, const_rhs=True), lambda: conv("int8", "int8", [1, 8, 8, 32], 1, 64), 1.3),
    "CONV_2D 16x8 16x16x16 3x3 -> 32": (
        lambda: conv("int16", "int8", [1, 16, 16, 16], 3, 32), lambda: conv("int8", "int8", [1, 16, 16, 16], 3, 32), 1.6),
    "DEPTHWISE_CONV_2D 16x8 16x16x32 3x3": (
        lambda: conv("int16", "int8", [1, 16, 16, 32], 3, 32, True), lambda: conv("int8", "int8", [1, 16, 16, 32], 3, 32, True), 1.6),
    "DEPTHWISE_CONV_2D 16x8 16x16x16 3x3 x2": (
        lambda: conv("int16", "int8", [1, 16, 16, 16], 3, 32, True), lambda: conv("int8", "int8", [1, 16, 16, 16], 3, 32, True), 1.6),
    "FULLY_CONNECTED 16x8 256 -> 64": (
        lambda: fc("int16", "int8", 1, 256, 64), lambda: fc("int8", "int8", 1, 256, 64), 1.6),
    "TRANSPOSE_CONV 16x8 8x8x32 4x4 s2 -> 32": (
        lambda: transpose_conv("int16", [1, 8, 8, 32], 4, 2, 32), lambda: transpose_conv("int8", [1, 8, 8, 32], 4, 2, 32), 1.6),
    "BATCH_MATMUL int16 2x[64x32]x[32x64]": (
        lambda: batch_matmul("int16", 2, 64, 32, 64), lambda: batch_matmul("int8", 2, 64, 32, 64), 1.6),
    "CONV_2D int4 16x16x32 3x3 -> 32": (
        lambda: conv("int8", "int4", [1, 16, 16, 32], 3, 32), lambda: conv("int8", "int8", [1, 16, 16, 32], 3, 32), 1.2),
    "DEPTHWISE_CONV_2D int4 16x16x32 3x3": (
        lambda: conv("int8", "int4", [1, 16, 16, 32], 3, 32, True), lambda: conv("int8", "int8", [1, 16, 16, 32], 3, 32, True), 1.2),
    "FULLY_CONNECTED int4 256 -> 64": (
        lambda: fc("int8", "int4", 1, 256, 64), lambda: fc("int8", "int8", 1, 256, 64), 1.2),
}


def figures(data: bytes, path: Path) -> dict:
    path.write_bytes(data)
    r = bench.bench(path, "qemu-m4")
    op = r["operators"][0]
    return {"instructions": op["instructions"], "macs": op["macs"], "per_mac": op["instructions"] / max(op["macs"], 1),
            "weight_bytes": r["flash_weight_bytes"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("names", nargs="*", help="rows whose name contains any of these (default: all)")
    ap.add_argument("--tflm", action="store_true", help="also measure TFLite Micro + CMSIS-NN (tflm-qemu)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="kiln-bench-layers-") as d:
        for k, (name, (model, reference, target)) in enumerate(LAYERS.items()):
            if args.names and not any(s in name for s in args.names):
                continue
            row = {"layer": name, "target": target}
            try:
                data = model()
                row["kiln"] = figures(data, Path(d) / f"l{k}.tflite")
                row["reference"] = figures(reference(), Path(d) / f"r{k}.tflite")
                row["ratio"] = row["kiln"]["per_mac"] / row["reference"]["per_mac"]
                if args.tflm:
                    res = tflm.measure(Path(d) / f"l{k}.tflite")
                    row["tflm_cmsis_invoke"] = int(res["instructions"]) if isinstance(res, dict) else res
            except Exception as e:  # a benchmark reports, it does not stop
                row["error"] = str(e).splitlines()[0][:160]
            rows.append(row)
            if not args.json:
                print_row(row)
    if args.json:
        print(json.dumps(rows, indent=1))


def print_row(r: dict) -> None:
    if "error" in r:
        print(f"{r['layer']:<42} {r['error']}")
        return
    k, ref = r["kiln"], r["reference"]
    tf = r.get("tflm_cmsis_invoke")
    tf = f"  TFLM+CMSIS {tf:,}" if isinstance(tf, int) else (f"  TFLM: {tf}" if tf else "")
    wb = f"  weights {k['weight_bytes']:,} B vs {ref['weight_bytes']:,} B" if "int4" in r["layer"] else ""
    print(f"{r['layer']:<42} {k['instructions']:>10,} instr {k['per_mac']:5.2f}/MAC  reference {ref['per_mac']:5.2f}/MAC"
          f"  {r['ratio']:4.2f}x (target {r['target']}x){wb}{tf}", flush=True)


if __name__ == "__main__":
    main()
