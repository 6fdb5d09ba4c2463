"""Runs one Python fuzz target of targets.py under atheris (coverage-guided, libFuzzer's engine)
for a bounded number of runs or seconds, then prints executions and findings.

Findings (a crash: an exception other than Kiln's one-line error; a run over 10 s; memory over
1 GB) are written by libFuzzer as crash-*/timeout-*/oom-* files in --artifacts; copy each into
tests/fuzz_corpus/<target>/ so that tests/test_fuzz_regressions.py replays it for good."""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def ensure_atheris() -> None:
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("installing atheris from PyPI (the fuzzing engine; benchmarks only)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "atheris"], check=True)


# What each target's coverage is measured over: instrumenting only the code a target reaches keeps
# the host decoder at thousands of executions a second instead of hundreds.
INSTRUMENT = {"compile_bytes": ["kiln"], "host_decoder": ["kiln.device"]}


def child(target: str, libfuzzer_args: list[str]) -> None:
    import atheris

    sys.path.insert(0, str(HERE))
    import numpy  # noqa: F401  (not instrumented: only Kiln's own code guides the search)

    if target == "host_decoder":
        import kiln  # noqa: F401  (the package itself, uninstrumented)
    with atheris.instrument_imports(include=INSTRUMENT[target]):
        import targets
        if target == "compile_bytes":
            from kiln import compiler
            from kiln.compiler import importer  # noqa: F401
        from kiln.device import framing, protocol  # noqa: F401
    fn = getattr(targets, target)
    atheris.Setup([sys.argv[0], *libfuzzer_args], fn)
    atheris.Fuzz()


def run(target: str, corpus: Path, seeds: list[Path], artifacts: Path, runs: int | None, seconds: int | None,
        dictionary: Path | None, max_len: int = 1048576) -> dict:
    ensure_atheris()
    corpus.mkdir(parents=True, exist_ok=True)
    artifacts.mkdir(parents=True, exist_ok=True)
    args = [str(corpus), *map(str, seeds), f"-artifact_prefix={artifacts}/", "-timeout=10", "-rss_limit_mb=1024",
            "-print_final_stats=1", f"-max_len={max_len}"]
    if runs:
        args.append(f"-runs={runs}")
    if seconds:
        args.append(f"-max_total_time={seconds}")
    if dictionary:
        args.append(f"-dict={dictionary}")
    proc = subprocess.run([sys.executable, __file__, "--child", target, "--", *args], capture_output=True, text=True,
                          env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    log = proc.stdout + proc.stderr
    (artifacts / "fuzz.log").write_text(log)  # a finding's Python traceback is in here
    execs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", log)
    done = re.findall(r"Done (\d+) runs", log)
    findings = sorted(p.name for p in artifacts.iterdir() if re.match(r"(crash|timeout|oom|leak)-", p.name))
    return {"target": target, "executions": int(execs[-1]) if execs else (int(done[-1]) if done else 0),
            "findings": findings, "exit": proc.returncode, "tail": log.strip().splitlines()[-6:]}


def run_native(exe: Path, name: str, work: Path, runs: int, seconds: int | None, seeds: dict[str, bytes] | None = None,
               max_len: int = 4096) -> dict:
    """A libFuzzer executable (clang -fsanitize=fuzzer,...) for `runs` executions or `seconds`."""
    corpus, artifacts = work / name / "corpus", work / name / "artifacts"
    corpus.mkdir(parents=True, exist_ok=True)
    artifacts.mkdir(parents=True, exist_ok=True)
    for seed_name, data in (seeds or {}).items():
        (corpus / seed_name).write_bytes(data)
    args = [str(exe), str(corpus), f"-artifact_prefix={artifacts}/", f"-runs={runs}", f"-max_len={max_len}",
            "-print_final_stats=1", "-timeout=10", "-rss_limit_mb=1024"]
    if seconds:
        args.append(f"-max_total_time={seconds}")
    proc = subprocess.run(args, capture_output=True, text=True)
    log = proc.stdout + proc.stderr
    (artifacts / "fuzz.log").write_text(log)
    execs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", log)
    findings = sorted(p.name for p in artifacts.iterdir() if re.match(r"(crash|timeout|oom|leak)-", p.name))
    return {"target": name, "executions": int(execs[-1]) if execs else 0, "findings": findings,
            "exit": proc.returncode, "tail": log.strip().splitlines()[-6:]}


def clang_fuzzer(sources: list, includes: list, out: Path, defines: tuple = ()) -> Path:
    """Builds a libFuzzer target with AddressSanitizer and UndefinedBehaviorSanitizer."""
    cmd = ["clang", "-g", "-O1", "-fsanitize=fuzzer,address,undefined", "-fno-sanitize-recover=undefined",
           *[f"-D{d}" for d in defines], *[f"-I{i}" for i in includes], *map(str, sources), "-o", str(out), "-lm"]
    subprocess.run(cmd, check=True)
    return out


def arguments(description: str, runs: int):
    """The options every fuzzing benchmark takes."""
    import argparse

    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--runs", type=int, default=runs, help=f"executions (default {runs:,})")
    ap.add_argument("--seconds", type=int, default=None, help="stop each target after this long")
    ap.add_argument("--work", help="keep corpora and findings here (default: a temporary folder)")
    ap.add_argument("--json", action="store_true")
    return ap


def report(rows: list[dict], as_json: bool) -> None:
    if as_json:
        import json

        print(json.dumps(rows, indent=1))
        return
    for r in rows:
        print(f"{r['target']}: {r['executions']:,} executions, {len(r['findings'])} finding(s) {r['findings']}")
        print("\n".join("  " + line for line in r["tail"]))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[4:])
    else:
        ap = argparse.ArgumentParser()
        ap.add_argument("target")
        ap.print_help()
