"""Benchmark (prints figures, asserts nothing): issue 18's shape classes on qemu-m4.

    .venv/bin/python bench/shapes.py [--tflm] [--json] [NAME ...]

One int8 layer per shape class of CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED and the pools (odd
channel counts, strides 1-3, dilation, 5x5 and 7x7 kernels, VALID, depth multipliers, one input
channel, batches), each compiled and run with `kiln bench` (exact instruction counts under QEMU's
-icount shift=0): the operator's instructions and instructions per MAC (per output value for the
pools), and with --tflm TFLite Micro + CMSIS-NN's whole Invoke() for the same model
(../shared/tools/tflm-qemu) and Kiln's share of it. Then whole models (--models, or only them with
--models-only): the public models of ../shared/models that are int8 (beside the four of
bench/cortex_m.py) and the networks the tests convert from Keras and PyTorch (tests/keras_networks.py,
tests/torch_networks.py, built once into .cache/bench-models with the test environments of
scripts/setup-keras.sh and scripts/setup-torch.sh). Ends with the five int8 CONV_2D, DEPTHWISE_CONV_2D
or FULLY_CONNECTED operators of at least 10,000 MACs with the most instructions per MAC, layers and
models' operators alike (issue 18: none above 2.5).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))

from kiln import compiler  # noqa: E402
from kiln.boards import bench  # noqa: E402
from kiln.compiler.tflwriter import ModelWriter  # noqa: E402

import tflm  # noqa: E402  (bench/tflm.py, beside this script)

COMPUTE_PREFIXES = ("conv ", "dw ", "fc ")  # the layers of CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED
RNG = np.random.default_rng(18)  # reseeded per layer by layer_model


def _out(size: int, k: int, stride: int, dil: int, same: bool) -> int:
    eff = (k - 1) * dil + 1
    return -(-size // stride) if same else (size - eff) // stride + 1


# per activation type: the input's and the output's quantization, the bias' type, scale and range
# (16x8: int16 activations with zero point 0, int64 bias)
ACTIVATIONS = {"int8": ((0.05, -3), (0.1, 2), "int32", 2000), "int16": ((0.0008, 0), (0.002, 0), "int64", 20000)}


def conv(shape, k, oc, stride=1, dil=1, same=True, dm=None, act="int8", after=None) -> bytes:
    """CONV_2D (dm None) or DEPTHWISE_CONV_2D of multiplier dm, int8 per-channel weights, `act`
    activations (int8, or int16: 16x8); after: first a 1x1 CONV_2D from that many channels to the
    layer's input (as in a network, where the layer is not the arena's peak: the row measures the
    layer, the last operator)."""
    n, h, w_, ic = shape
    kh, kw = (k, k) if isinstance(k, int) else k
    (xs, xz), (ys, yz), bt, br = ACTIVATIONS[act]
    w = ModelWriter(description="kiln bench/shapes.py")
    x = w.tensor("x", list(shape), act, xs, xz)
    first = x
    if after is not None:
        first = w.tensor("x0", [n, h, w_, after], act, xs, xz)
        s0 = [float(v) for v in RNG.uniform(0.004, 0.02, ic)]
        w0 = w.tensor("w0", [ic, 1, 1, after], "int8", s0, [0] * ic, axis=0,
                      data=RNG.integers(-127, 128, [ic, 1, 1, after]).astype(np.int8))
        b0 = w.tensor("b0", [ic], bt, [xs * v for v in s0], [0] * ic, data=RNG.integers(-br, br, ic).astype(bt))
        w.op("CONV_2D", [first, w0, b0], [x], {"padding": 0, "stride_h": 1, "stride_w": 1,
                                                "dilation_h_factor": 1, "dilation_w_factor": 1})
    depthwise = dm is not None
    oc = ic * dm if depthwise else oc
    fshape = [1, kh, kw, oc] if depthwise else [oc, kh, kw, ic]
    scales = [float(s) for s in RNG.uniform(0.004, 0.02, oc)]
    wt = w.tensor("w", fshape, "int8", scales, [0] * oc, axis=3 if depthwise else 0,
                  data=RNG.integers(-127, 128, fshape).astype(np.int8))
    b = w.tensor("b", [oc], bt, [xs * s for s in scales], [0] * oc, data=RNG.integers(-br, br, oc).astype(bt))
    y = w.tensor("y", [n, _out(h, kh, stride, dil, same), _out(w_, kw, stride, dil, same), oc], act, ys, yz)
    opts = {"padding": 0 if same else 1, "stride_h": stride, "stride_w": stride,
            "dilation_h_factor": dil, "dilation_w_factor": dil}
    if depthwise:
        opts["depth_multiplier"] = dm
    w.op("DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", [x, wt, b], [y], opts)
    w.inputs, w.outputs = [first], [y]
    return w.build()


def fc(batch, depth, units, act="int8") -> bytes:
    (xs, xz), _, bt, br = ACTIVATIONS[act]
    w = ModelWriter(description="kiln bench/shapes.py")
    x = w.tensor("x", [batch, depth], act, xs, xz)
    wt = w.tensor("w", [units, depth], "int8", 0.01, 0, data=RNG.integers(-127, 128, [units, depth]).astype(np.int8))
    b = w.tensor("b", [units], bt, xs * 0.01, 0, data=RNG.integers(-br, br, units).astype(bt))
    y = w.tensor("y", [batch, units], act, *((0.2, 2) if act == "int8" else (0.004, 0)))
    w.op("FULLY_CONNECTED", [x, wt, b], [y], {})
    w.inputs, w.outputs = [x], [y]
    return w.build()


def int4(kind, shape, k, oc) -> bytes:
    """CONV_2D, DEPTHWISE_CONV_2D (multiplier 1) or FULLY_CONNECTED (shape [batch, depth], oc units,
    per-tensor as TFLite Micro takes it there) with INT4 weights, two a byte, int8 activations."""
    w = ModelWriter(description="kiln bench/shapes.py")
    x = w.tensor("x", list(shape), "int8", 0.05, -3)
    if kind == "FULLY_CONNECTED":
        fshape, axis, scales, opts = [oc, shape[1]], 0, [0.05], {}
        yshape = [shape[0], oc]
    else:
        depthwise = kind == "DEPTHWISE_CONV_2D"
        oc = shape[3] if depthwise else oc
        fshape, axis = ([1, k, k, oc], 3) if depthwise else ([oc, k, k, shape[3]], 0)
        scales = [float(s) for s in RNG.uniform(0.02, 0.06, oc)]
        opts = {"padding": 0, "stride_h": 1, "stride_w": 1, **({"depth_multiplier": 1} if depthwise else {})}
        yshape = [shape[0], shape[1], shape[2], oc]
    nib = (RNG.integers(-8, 8, fshape).reshape(-1).astype(np.int16) & 15).astype(np.uint8)
    packed = (nib[0::2] | (nib[1::2] << 4)).astype(np.uint8)  # (even counts here)
    wt = w.tensor("w", fshape, "int4", scales, [0] * len(scales), axis=axis, data=packed)
    b = w.tensor("b", [oc], "int32", [0.05 * s for s in (scales * oc if len(scales) == 1 else scales)], [0] * oc,
                 data=RNG.integers(-300, 300, oc).astype(np.int32))
    y = w.tensor("y", yshape, "int8", 0.6, 2)
    w.op(kind, [x, wt, b], [y], opts)
    w.inputs, w.outputs = [x], [y]
    return w.build()


def tconv(shape, k, oc, stride) -> bytes:
    """int8 TRANSPOSE_CONV, SAME, per-channel weights, with a bias."""
    n, h, w_, ic = shape
    w = ModelWriter(description="kiln bench/shapes.py")
    ys = [n, h * stride, w_ * stride, oc]
    shape_t = w.tensor("shape", [4], "int32", data=np.array(ys, np.int32))
    scales = [float(s) for s in RNG.uniform(0.005, 0.03, oc)]
    wt = w.tensor("w", [oc, k, k, ic], "int8", scales, [0] * oc, axis=0,
                  data=RNG.integers(-127, 128, [oc, k, k, ic]).astype(np.int8))
    b = w.tensor("b", [oc], "int32", [0.05 * s for s in scales], [0] * oc, data=RNG.integers(-3000, 3000, oc).astype(np.int32))
    x = w.tensor("x", list(shape), "int8", 0.05, -3)
    y = w.tensor("y", ys, "int8", 0.2, 5)
    w.op("TRANSPOSE_CONV", [shape_t, wt, x, b], [y], {"padding": 0, "stride_h": stride, "stride_w": stride})
    w.inputs, w.outputs = [x], [y]
    return w.build()


def bmm(batch, m, k, n) -> bytes:
    """int8 BATCH_MATMUL of two activations [batch, m, k] x [batch, k, n]."""
    w = ModelWriter(description="kiln bench/shapes.py")
    a = w.tensor("a", [batch, m, k], "int8", 0.05, -3)
    c = w.tensor("c", [batch, k, n], "int8", 0.04, 5)
    y = w.tensor("y", [batch, m, n], "int8", 0.3, -7)
    w.op("BATCH_MATMUL", [a, c], [y], {"adj_x": False, "adj_y": False})
    w.inputs, w.outputs = [a, c], [y]
    return w.build()


def pool(kind, shape, k, stride, same=False) -> bytes:
    n, h, w_, c = shape
    w = ModelWriter(description="kiln bench/shapes.py")
    x = w.tensor("x", list(shape), "int8", 0.05, -3)
    y = w.tensor("y", [n, _out(h, k, stride, 1, same), _out(w_, k, stride, 1, same), c], "int8", 0.05, -3)
    w.op(kind, [x], [y], {"padding": 0 if same else 1, "stride_h": stride, "stride_w": stride,
                         "filter_height": k, "filter_width": k})
    w.inputs, w.outputs = [x], [y]
    return w.build()


LAYERS = {
    "conv 1x1 16x16x32 -> 32": lambda: conv([1, 16, 16, 32], 1, 32),
    "conv 1x1 8x8x13 -> 9 (odd channels)": lambda: conv([1, 8, 8, 13], 1, 9),
    "conv 3x3 16x16x16 -> 32": lambda: conv([1, 16, 16, 16], 3, 32),
    "conv 3x3 s2 32x32x8 -> 16": lambda: conv([1, 32, 32, 8], 3, 16, stride=2),
    "conv 3x3 32x32x3 -> 16 (RGB first layer)": lambda: conv([1, 32, 32, 3], 3, 16, stride=2),
    # one input channel: as a depthwise layer of multiplier M on planes (depthwise.single_channel_conv)
    "conv 3x3 28x28x1 -> 8 (grayscale first layer)": lambda: conv([1, 28, 28, 1], 3, 8),
    "conv 5x5 28x28x1 -> 6 VALID (LeNet)": lambda: conv([1, 28, 28, 1], 5, 6, same=False),
    "conv 3x3 16x16x2 -> 4 (two channels)": lambda: conv([1, 16, 16, 2], 3, 4),
    "conv 5x5 16x16x2 -> 8 VALID (two channels)": lambda: conv([1, 16, 16, 2], 5, 8, same=False),
    "conv 3x3 dilation 2 16x16x16 -> 16": lambda: conv([1, 16, 16, 16], 3, 16, dil=2),
    "conv 5x5 16x16x8 -> 16": lambda: conv([1, 16, 16, 8], 5, 16),
    "conv 7x7 s2 32x32x3 -> 16 VALID": lambda: conv([1, 32, 32, 3], 7, 16, stride=2, same=False),
    "conv 3x3 s3 24x24x6 -> 12": lambda: conv([1, 24, 24, 6], 3, 12, stride=3),
    "dw 3x3 16x16x32": lambda: conv([1, 16, 16, 32], 3, 0, dm=1),
    "dw 3x3 16x16x13 (odd channels)": lambda: conv([1, 16, 16, 13], 3, 0, dm=1),
    "dw 3x3 s2 32x32x16": lambda: conv([1, 32, 32, 16], 3, 0, stride=2, dm=1),
    "dw 5x5 16x16x16": lambda: conv([1, 16, 16, 16], 5, 0, dm=1),
    "dw 7x7 16x16x16": lambda: conv([1, 16, 16, 16], 7, 0, dm=1),
    "dw 3x3 dilation 2 16x16x16": lambda: conv([1, 16, 16, 16], 3, 0, dil=2, dm=1),
    "dw 3x3 s3 24x24x8": lambda: conv([1, 24, 24, 8], 3, 0, stride=3, dm=1),
    "dw 3x3 x2 16x16x16": lambda: conv([1, 16, 16, 16], 3, 0, dm=2),
    "dw 3x3 x4 16x16x8": lambda: conv([1, 16, 16, 8], 3, 0, dm=4),
    "dw 3x3 one channel x8 48x48x1": lambda: conv([1, 48, 48, 1], 3, 0, stride=2, dm=8),
    "dw 10x8 one channel x8 49x10x1 (speech)": lambda: conv([1, 49, 10, 1], (10, 8), 0, stride=2, dm=8),
    "dw 3x3 x2 s2 33x33x8": lambda: conv([1, 33, 33, 8], 3, 0, stride=2, dm=2),
    # stride 2 inside a network (after a 1x1 CONV_2D that is the arena's peak): rowpairs' ring fits there
    "dw 3x3 s2 48x48x16 after a 1x1 (vww)": lambda: conv([1, 48, 48, 16], 3, 0, stride=2, dm=1, after=16),
    "dw 3x3 s2 32x32x16 after a 1x1": lambda: conv([1, 32, 32, 16], 3, 0, stride=2, dm=1, after=32),
    "dw 3x3 x2 s2 33x33x8 after a 1x1": lambda: conv([1, 33, 33, 8], 3, 0, stride=2, dm=2, after=16),
    "dw 5x5 s2 32x32x16 after a 1x1 (MobileNetV3)": lambda: conv([1, 32, 32, 16], 5, 0, stride=2, dm=1, after=16),
    "dw 3x3 8x8x24 after a 1x1 (a small image)": lambda: conv([1, 8, 8, 24], 3, 0, dm=1, after=16),
    "dw 3x3 one channel x4 dilation 2 40x40x1": lambda: conv([1, 40, 40, 1], 3, 0, dil=2, dm=4),
    "dw 9x9 16x16x8 (above the tap table)": lambda: conv([1, 16, 16, 8], 9, 0, dm=1),
    "fc 256 -> 64": lambda: fc(1, 256, 64),
    "fc 37 -> 11": lambda: fc(1, 37, 11),
    "fc batch 4 128 -> 32": lambda: fc(4, 128, 32),
    "fc 1024 -> 128": lambda: fc(1, 1024, 128),
    # the compute operators of the operator issues: int4 weights (int8 activations: counted with the
    # int8 layers above), 16x8, TRANSPOSE_CONV, BATCH_MATMUL
    "conv int4 3x3 16x16x16 -> 32": lambda: int4("CONV_2D", [1, 16, 16, 16], 3, 32),
    "dw int4 3x3 16x16x32": lambda: int4("DEPTHWISE_CONV_2D", [1, 16, 16, 32], 3, 0),
    "fc int4 256 -> 64": lambda: int4("FULLY_CONNECTED", [1, 256], 0, 64),
    "conv16x8 3x3 16x16x16 -> 16": lambda: conv([1, 16, 16, 16], 3, 16, act="int16"),
    "dw16x8 3x3 16x16x32": lambda: conv([1, 16, 16, 32], 3, 0, dm=1, act="int16"),
    "fc16x8 256 -> 64": lambda: fc(1, 256, 64, act="int16"),
    "tconv 3x3 s2 8x8x16 -> 16": lambda: tconv([1, 8, 8, 16], 3, 16, 2),
    "bmm 32x64 @ 64x32": lambda: bmm(1, 32, 64, 32),
    "avg pool 2x2 s2 16x16x32": lambda: pool("AVERAGE_POOL_2D", [1, 16, 16, 32], 2, 2),
    "max pool 3x3 s1 16x16x16 SAME": lambda: pool("MAX_POOL_2D", [1, 16, 16, 16], 3, 1, same=True),
}


def layer_model(name: str) -> bytes:
    """LAYERS[name] as a .tflite, the same bytes every time (its weights seeded by its name), so that
    tests/test_instruction_budget.py can hold each shape class to its recorded instructions."""
    global RNG
    RNG = np.random.default_rng(zlib.crc32(name.encode()))
    return LAYERS[name]()


SHARED = ROOT.parent / "shared" / "models"
CACHE = ROOT / ".cache" / "bench-models"
COMPUTE = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def _converted(tool: str, script: str, names: list[str]) -> dict[str, Path]:
    """names built by tests/<script> in the test environment .tools/<tool> (once, then cached)."""
    py = ROOT / ".tools" / tool / "bin" / "python"
    out = CACHE / tool
    if not all((out / f"{n}.tflite").exists() for n in names):
        if not py.exists():
            print(f"(skipping {', '.join(names)}: run scripts/setup-{tool}.sh first)")
            return {}
        print(f"converting {script} with {py} ...", flush=True)
        subprocess.run([str(py), str(ROOT / "tests" / script), str(out)], check=True, capture_output=True, timeout=1800)
    return {n: out / f"{n}.tflite" for n in names}


def public_models() -> dict[str, Path]:
    """The wider set's whole models: name -> .tflite (those whose sources are absent are left out)."""
    mlperf = ("kws_ref_model", "vww_96_int8", "pretrainedResnet_quant", "ad01_int8")  # their operators too
    models = {n: SHARED / f"{n}.tflite" for n in ("hello_world_int8", *mlperf) if (SHARED / f"{n}.tflite").exists()}
    models.update(_converted("keras", "keras_networks.py",
                             ["mobilenet_v2_nchw", "mobilenet_v3", "unet_decoder", "transformer_block"]))
    models.update(_converted("torch", "torch_networks.py", ["mobilenet_v2_nchw_torch"]))
    return models


def measure_model(name: str, path: Path, tflm_too: bool) -> dict:
    row = {"model": name}
    try:
        r = bench.bench(path, "qemu-m4")
        g = compiler.compile_model(path).graph  # for the operators' shapes
        ops = r["operators"]
        row.update(total=r["instructions"], macs=sum(o["macs"] or 0 for o in ops),
                   operators=[{"layer": f"{name} #{o['index']} {describe(g, g.operators[o['index']])}",
                               "instructions": o["instructions"], "macs": o["macs"], "variant": o["variant"],
                               "per_mac": o["instructions"] / o["macs"] if o["macs"] else None}
                              for o in ops if o["kind"] in COMPUTE
                              and g.tensor(g.operators[o["index"]].inputs[0]).dtype == "int8"])
        if tflm_too:
            res = tflm.measure(path)
            row["tflm_cmsis_invoke"] = int(res["instructions"]) if isinstance(res, dict) else res
    except Exception as e:  # a benchmark reports, it does not stop
        row["error"] = str(e).splitlines()[0][:160]
    return row


def describe(g, op) -> str:
    """An operator as the worst-five list names it: kind, input -> output shape, filter shape."""
    x, w, y = g.tensor(op.inputs[0]), g.tensor(op.inputs[1]), g.tensor(op.outputs[0])
    o = op.options
    stride = f" s{o['stride_w']}" if o.get("stride_w", 1) > 1 else ""
    return f"{op.kind} {'x'.join(map(str, x.shape))} -> {'x'.join(map(str, y.shape))} filter {'x'.join(map(str, w.shape))}{stride}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("names", nargs="*", help="rows whose name contains any of these (default: all)")
    ap.add_argument("--tflm", action="store_true", help="also measure TFLite Micro + CMSIS-NN (tflm-qemu)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--models", action="store_true", help="also the whole public models (see above)")
    ap.add_argument("--models-only", action="store_true", help="only the whole public models")
    args = ap.parse_args()
    rows, models = [], []
    with tempfile.TemporaryDirectory(prefix="kiln-bench-shapes-") as d:
        for k, name in enumerate([] if args.models_only else LAYERS):
            if args.names and not any(s in name for s in args.names):
                continue
            path = Path(d) / f"s{k}.tflite"
            path.write_bytes(layer_model(name))
            row = {"layer": name}
            try:
                r = bench.bench(path, "qemu-m4")
                op = r["operators"][-1]  # the layer (after any 1x1 before it)
                row.update(instructions=op["instructions"], macs=op["macs"], variant=op["variant"],
                           per_mac=op["instructions"] / op["macs"] if op["macs"] else None, total=r["instructions"])
                if args.tflm:
                    res = tflm.measure(path)
                    row["tflm_cmsis_invoke"] = int(res["instructions"]) if isinstance(res, dict) else res
            except Exception as e:  # a benchmark reports, it does not stop
                row["error"] = str(e).splitlines()[0][:160]
            rows.append(row)
            if not args.json:
                print_row(row)
    if args.models or args.models_only:
        if not args.json and rows:
            print()
        for name, path in public_models().items():
            if args.names and not any(s in name for s in args.names):
                continue
            models.append(measure_model(name, path, args.tflm))
            if not args.json:
                print_row(models[-1])
    if args.json:
        print(json.dumps({"layers": rows, "models": models}, indent=1))
        return
    ops = [r for r in rows if r.get("layer", "").startswith(COMPUTE_PREFIXES)]
    ops += [o for m in models for o in m.get("operators", [])]
    big = sorted((r for r in ops if r.get("per_mac") and r["macs"] >= 10_000), key=lambda r: -r["per_mac"])
    worst = big[:5]
    print(f"\n{sum(r['per_mac'] > 2.5 for r in big)} of {len(big)} operators of at least 10,000 MACs above 2.5 "
          "instructions per MAC; the worst five (issue 18: none above 2.5):")
    for r in worst:
        print(f"  {r['per_mac']:6.2f}  {r['layer']}")


def print_row(r: dict) -> None:
    """A layer's row (its operator's instructions) or a model's (its whole run's)."""
    label = r.get("layer", r.get("model"))
    if "error" in r:
        print(f"{label:<44} {r['error']}")
        return
    instructions = r["instructions"] if "layer" in r else r["total"]
    per = f"{instructions / r['macs']:6.2f}/MAC" if r["macs"] else "          "
    tf = r.get("tflm_cmsis_invoke")
    tf = f"  TFLM+CMSIS {tf:>10,}  Kiln/TFLM {r['total'] / tf:4.2f}" if isinstance(tf, int) else (f"  TFLM: {tf}" if tf else "")
    print(f"{label:<44} {instructions:>10,} instr  {r['macs']:>9,} MACs {per}{tf}", flush=True)


if __name__ == "__main__":
    main()
