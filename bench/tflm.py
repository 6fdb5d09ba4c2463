"""TFLite Micro + CMSIS-NN on the same emulated Cortex-M4, for the benchmarks beside Kiln's figures:
../shared/tools/tflm-qemu's measure.py run on a model (its README lists the fields)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KILN_SHARED", ROOT.parent / "shared"))
TFLM_QEMU = SHARED / "tools" / "tflm-qemu" / "measure.py"


def measure(path: Path) -> dict | str:
    """measure.py's record for the model with CMSIS-NN kernels, or why there is none (one line)."""
    if not TFLM_QEMU.exists():
        return f"{TFLM_QEMU} not found"
    proc = subprocess.run([sys.executable, str(TFLM_QEMU), str(path), "--kernels", "cmsis", "--json"],
                          capture_output=True, text=True)
    try:
        res = json.loads(proc.stdout)
        res = res[0] if isinstance(res, list) else res
        res["instructions"]  # noqa: B018 - a record without it is a failure's
        return res
    except (ValueError, IndexError, KeyError, TypeError):
        return " ".join((proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()[:2])[:160]
