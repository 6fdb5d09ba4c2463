"""Benchmark (prints figures, asserts nothing): coverage-guided fuzzing of the RPC link.

    .venv/bin/python bench/fuzz_rpc.py [--runs 10000000] [--host-runs 10000000] [--work DIR]

- device: bench/fuzz/rpc_target.c, the RPC server (runtime_c/rpc) with examples/models/
  sine_int8.tflite compiled behind it, built with clang -fsanitize=fuzzer,address,undefined (raw
  byte streams, and request lists framed with correct CRCs so that dispatch is reached);
- host: bench/fuzz/targets.py's host_decoder under atheris (the Python frame decoder and answer
  parsers, and encode/decode round trips; streams up to 1,024 bytes, two frames of the largest
  payload, and coverage over kiln.device only: about 2,000 executions a second on one core).
Prints executions and findings (crash-*/timeout-*/oom-* files in <work>/<target>/artifacts).
"""
from __future__ import annotations

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
    return driver.clang_fuzzer([*sorted(gen.glob("*.c")), *sorted(RPC.glob("*.c")), HERE / "fuzz" / "rpc_target.c"],
                               [gen, RPC], work / "rpc_fuzz", ("KILN_PROFILE", f"KILN_MODEL={c.name}_model"))


def main() -> None:
    ap = driver.arguments(__doc__.splitlines()[0], 10_000_000)
    ap.add_argument("--host-runs", type=int, default=10_000_000, help="host target executions (0: skip)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="kiln-fuzz-rpc-") as tmp:
        work = Path(args.work) if args.work else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        info_then_run = bytes([1, 1, 4, 1, 0, 0, 0, 4, 5, 1, 0, 0, 0, 1])  # INFO(token 1), RUN(token 1, profile)
        rows = [driver.run_native(build_device_target(work), "device", work, args.runs, args.seconds,
                                  {"info_run": info_then_run})]
        if args.host_runs:
            rows.append(driver.run("host_decoder", work / "host" / "corpus", [], work / "host" / "artifacts",
                                   args.host_runs, args.seconds, None, max_len=1024))
    driver.report(rows, args.json)


if __name__ == "__main__":
    main()
