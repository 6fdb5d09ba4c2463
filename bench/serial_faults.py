"""Benchmark (prints figures, asserts nothing): the device RPC link under byte faults.

    .venv/bin/python bench/serial_faults.py [--exchanges 1000] [--rates 1e-4 1e-3 1e-2] [--json]

A 256-input int8 FULLY_CONNECTED model (one near-full frame per input) is served by the host
device (board_support/host/rpc_main.c on a pseudo-terminal, kiln.boards.host_device); the host
session talks to it through kiln.device.faults.FaultyLink, which drops, flips one bit of,
duplicates and inserts a random byte after each byte, in both directions, each with the rate's
probability. Each exchange sets a fresh random input, runs, and reads the output. Per rate it
prints how many exchanges gave the correct output (checked against TFLite Micro), how many a
clear error (the session's NoAnswerError / CorruptFrameError / DeviceResetError, after its
resends), how many a wrong output (must be 0) and how many hung (took longer than the session's
own bound for an exchange; must be 0). After an error the same session carries on.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))

from kiln import compiler
from kiln.compiler import oracle  # noqa: E402
from kiln.boards import host_device  # noqa: E402
from kiln.device.errors import DeviceError, DeviceResetError  # noqa: E402
from kiln.device.faults import FaultyLink  # noqa: E402
from kiln.device.session import Session  # noqa: E402
from kiln.compiler.tflwriter import ModelWriter  # noqa: E402

TIMEOUT, RETRIES, RUN_TIMEOUT = 0.15, 6, 2.0
# an exchange is set_input, run and get_output, each at most (retries + 1) timeouts, plus reopening
HANG = 3 * (RETRIES + 1) * TIMEOUT + RUN_TIMEOUT + (RETRIES + 1) * TIMEOUT + 2.0


def model() -> bytes:
    rng = np.random.default_rng(22)
    w = ModelWriter(description="kiln bench/serial_faults.py")
    x = w.tensor("x", [1, 256], "int8", 0.05, -3)
    wt = w.tensor("w", [16, 256], "int8", 0.01, 0, data=rng.integers(-127, 128, [16, 256]).astype(np.int8))
    b = w.tensor("b", [16], "int32", 0.0005, 0, data=rng.integers(-500, 500, 16).astype(np.int32))
    y = w.tensor("y", [1, 16], "int8", 0.2, 1)
    w.op("FULLY_CONNECTED", [x, wt, b], [y], {})
    w.inputs, w.outputs = [x], [y]
    return w.build()


def run_rate(exe: Path, g, path: Path, rate: float, exchanges: int, seed: int) -> dict:
    import serial

    records = oracle.random_inputs(g, seed=seed, count=exchanges)
    expected = oracle.run_tflm(path, records, 1)
    counts = {"rate": rate, "exchanges": exchanges, "correct": 0, "clear_errors": 0, "wrong": 0, "hangs": 0}
    worst = 0.0
    with host_device.HostDevice(exe) as dev:
        link = FaultyLink(serial.serial_for_url(dev.url, timeout=0.02), drop=rate, flip=rate, duplicate=rate,
                          insert=rate, seed=seed)
        link.paused = True
        s = Session(link, timeout=TIMEOUT, retries=RETRIES, run_timeout=RUN_TIMEOUT)
        link.paused = False
        for k, (rec, ref) in enumerate(zip(records, expected)):
            t0 = time.monotonic()
            try:
                if not s.opened:
                    s.open()
                out = s.infer(rec)[0]
            except DeviceResetError:
                counts["clear_errors"] += 1
            except DeviceError:
                counts["clear_errors"] += 1
            else:
                counts["correct" if out.tobytes() == ref[0].tobytes() else "wrong"] += 1
            took = time.monotonic() - t0
            worst = max(worst, took)
            if took > HANG:
                counts["hangs"] += 1
            if (k + 1) % 100 == 0:
                print(f"  rate {rate:g}: {k + 1}/{exchanges}", file=sys.stderr, flush=True)
        counts["faults"] = {key: v for key, v in link.counts.items()}
        counts["resends"] = s.stats.get("resends", 0)
        counts["worst_seconds"] = round(worst, 2)
        s.close()
    return counts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--exchanges", type=int, default=1000)
    ap.add_argument("--rates", type=float, nargs="*", default=[1e-4, 1e-3, 1e-2])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="kiln-bench-faults-") as d:
        path = Path(d) / "fc256.tflite"
        path.write_bytes(model())
        c = compiler.compile_model(path)
        compiler.write(c, Path(d) / "src")
        exe = host_device.build(Path(d) / "src", c.name, Path(d) / "build")
        rows = [run_rate(exe, c.graph, path, r, args.exchanges, seed=k + 1) for k, r in enumerate(args.rates)]
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print(f"{'rate':>8} {'exchanges':>10} {'correct':>8} {'clear errors':>13} {'wrong':>6} {'hangs':>6} "
          f"{'resends':>8} {'worst s':>8}  faults injected (drop/flip/dup/insert of bytes)")
    for r in rows:
        f = r["faults"]
        print(f"{r['rate']:>8g} {r['exchanges']:>10} {r['correct']:>8} {r['clear_errors']:>13} {r['wrong']:>6} "
              f"{r['hangs']:>6} {r['resends']:>8} {r['worst_seconds']:>8}  {f['drop']}/{f['flip']}/{f['duplicate']}/"
              f"{f['insert']} of {f['bytes']:,}")


if __name__ == "__main__":
    main()
