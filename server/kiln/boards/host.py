"""The host board: builds generated C with the system compiler into a runner process and drives it.

The runner (board_support/host/runner.c) reads input records on stdin and writes output records
(and, when profiled, per-operator nanoseconds) on stdout, so many inferences cost one process.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..compiler.inputs import as_type
from ..compiler.ir import DTYPES, Graph
from ..errors import KilnError
from ..paths import BOARDS

STRICT_FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]


def find_cc(cc: str | None = None) -> str:
    for cand in [cc, os.environ.get("CC"), "cc", "gcc", "clang"]:
        if cand and shutil.which(cand):
            return cand
    raise KilnError("no C compiler found: install gcc (apt-get install gcc) or set CC")


def build(src_dir: str | Path, model_name: str, build_dir: str | Path, *, profile: bool = False,
          cc: str | None = None, opt: str = "-O2", extra: list[str] | None = None) -> Path:
    """Compiles every .c in src_dir with the host runner; returns the executable's path."""
    src_dir, build_dir = Path(src_dir), Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    exe = build_dir / (model_name + ("_profile" if profile else "") + "_runner")
    sources = sorted(str(p) for p in src_dir.glob("*.c")) + [str(BOARDS / "host" / "runner.c")]
    cmd = [find_cc(cc), *STRICT_FLAGS, opt, f"-DKILN_MODEL={model_name}_model", "-I", str(src_dir),
           *(["-DKILN_PROFILE"] if profile else []), *(extra or []), *sources, "-o", str(exe), "-lm"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise KilnError(f"host build failed ({' '.join(cmd[:2])} ...):\n{proc.stderr.strip()}")
    return exe


@dataclass
class RunResult:
    outputs: list[list[np.ndarray]]  # per record, per output
    op_nanos: list[list[int]]  # per record, per operator (when profiled)


def _record(g: Graph, inputs: list[np.ndarray]) -> bytes:
    if len(inputs) != len(g.inputs):
        raise KilnError(f"the model has {len(g.inputs)} input(s), {len(inputs)} given")
    parts = []
    for k, (i, arr) in enumerate(zip(g.inputs, inputs)):
        t = g.tensor(i)
        a = np.asarray(arr)
        if a.size != t.size:
            raise KilnError(f"input {k} ('{t.name}') needs {t.size} values {t.shape}, got {a.size} {list(a.shape)}")
        parts.append(np.ascontiguousarray(as_type(a, DTYPES[t.dtype][0], f"input {k} ('{t.name}')")).tobytes())
    return b"".join(parts)


def run(exe: Path, g: Graph, records: list[list[np.ndarray]], *, profile: bool = False,
        timeout: float = 120.0) -> RunResult:
    data = b"".join(_record(g, r) for r in records)
    try:
        proc = subprocess.run([str(exe)] + (["--profile"] if profile else []), input=data,
                              capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise KilnError(f"the host runner did not finish within {timeout:.0f} s") from None
    if proc.returncode != 0:
        raise KilnError(f"the host runner failed (exit {proc.returncode}): {proc.stderr.decode(errors='replace').strip()}")
    out = proc.stdout
    outs = [g.tensor(i) for i in g.outputs]
    per = sum(t.nbytes for t in outs) + (4 * len(g.operators) if profile else 0)
    if len(out) != per * len(records):
        raise KilnError(f"the host runner wrote {len(out)} bytes, expected {per * len(records)}")
    result = RunResult([], [])
    pos = 0
    for _ in records:
        row = []
        for t in outs:
            row.append(np.frombuffer(out, DTYPES[t.dtype][0], t.size, pos).reshape(t.shape).copy())
            pos += t.nbytes
        result.outputs.append(row)
        if profile:
            result.op_nanos.append(np.frombuffer(out, "<u4", len(g.operators), pos).astype(int).tolist())
            pos += 4 * len(g.operators)
    return result
