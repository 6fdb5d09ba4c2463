"""Benchmark (prints figures, asserts nothing): coverage-guided fuzzing of the RPC link.

    .venv/bin/python bench/fuzz_rpc.py [--runs 10000000] [--host-runs 10000000] [--work DIR]

- device: bench/fuzz/rpc_target.c, the RPC server (runtime_c/rpc) with examples/models/
  sine_int8.tflite compiled behind it, built with clang -fsanitize=fuzzer,address,undefined (raw
  byte streams, and request lists framed with correct CRCs so that dispatch is reached);
- host: bench/fuzz/targets.py's host_decoder under atheris (the Python frame decoder and answer
  parsers, and encode/decode round trips).
Prints executions and findings (crash-*/timeout-*/oom-* files in <work>/<target>/artifacts).
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "server"))
sys.path.insert(0, str(HERE / "fuzz"))

import driver  # noqa: E402

RPC = ROOT / "runtime_c" / "rpc"


def build_device_target(work: Path) -> Path:
    from kiln import compiler

    c = compiler.compile_model(ROOT / "examples" / "models" / "sine_int8.tflite", tuning_log=None)
    gen = work / "gen"
    compiler.write(c, gen)
    exe = work / "rpc_fuzz"
    cmd = ["clang", "-g", "-O1", "-fsanitize=fuzzer,address,undefined", "-fno-sanitize-recover=undefined",
           "-DKILN_PROFILE", f"-DKILN_MODEL={c.name}_model", "-I", str(gen), "-I", str(RPC),
           *map(str, sorted(gen.glob("*.c"))), *map(str, sorted(RPC.glob("*.c"))), str(HERE / "fuzz" / "rpc_target.c"),
           "-o", str(exe), "-lm"]
    subprocess.run(cmd, check=True)
    return exe


def run_device(exe: Path, work: Path, runs: int, seconds: int | None) -> dict:
    corpus, artifacts = work / "device" / "corpus", work / "device" / "artifacts"
    corpus.mkdir(parents=True, exist_ok=True)
    artifacts.mkdir(parents=True, exist_ok=True)
    (corpus / "info").write_bytes(bytes([1, 1, 4, 1, 0, 0, 0, 4, 5, 1, 0, 0, 0, 1]))  # INFO(token), RUN
    args = [str(exe), str(corpus), f"-artifact_prefix={artifacts}/", f"-runs={runs}", "-max_len=4096",
            "-print_final_stats=1", "-timeout=10", "-rss_limit_mb=1024"]
    if seconds:
        args.append(f"-max_total_time={seconds}")
    proc = subprocess.run(args, capture_output=True, text=True)
    log = proc.stdout + proc.stderr
    execs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", log)
    findings = sorted(p.name for p in artifacts.iterdir() if re.match(r"(crash|timeout|oom|leak)-", p.name))
    return {"target": "device rpc_target.c", "executions": int(execs[-1]) if execs else 0, "findings": findings,
            "exit": proc.returncode, "tail": log.strip().splitlines()[-6:]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10_000_000, help="device target executions")
    ap.add_argument("--host-runs", type=int, default=10_000_000, help="host target executions (0: skip)")
    ap.add_argument("--seconds", type=int, default=None, help="stop each target after this long")
    ap.add_argument("--work", help="keep corpora and findings here (default: a temporary folder)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="kiln-fuzz-rpc-") as tmp:
        work = Path(args.work) if args.work else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        rows = [run_device(build_device_target(work), work, args.runs, args.seconds)]
        if args.host_runs:
            rows.append(driver.run("host_decoder", work / "host" / "corpus", [], work / "host" / "artifacts",
                                   args.host_runs, args.seconds, None))
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    for r in rows:
        print(f"{r['target']}: {r['executions']:,} executions, {len(r['findings'])} finding(s) {r['findings']}")
        print("\n".join("  " + line for line in r["tail"]))


if __name__ == "__main__":
    main()
