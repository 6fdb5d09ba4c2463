"""Writes examples/models/streaming_kws.tflite: a streaming keyword-spotter skeleton of the kind
open-source wake-word projects ship (a uint8 slice of one feature frame per invocation, twelve
temporal convolutions each keeping its past frames in a resource variable that a CALL_ONCE
subgraph initialises, a uint8 score), with random weights: it shows state, not recognition.

    .venv/bin/python examples/make_streaming_kws.py
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "server"), str(ROOT / "tests")]

from stateful_models import streaming_kws  # noqa: E402

if __name__ == "__main__":
    out = ROOT / "examples" / "models" / "streaming_kws.tflite"
    out.write_bytes(streaming_kws())
    print(f"wrote {out}")
