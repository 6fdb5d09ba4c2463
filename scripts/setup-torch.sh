#!/usr/bin/env bash
# The test-only PyTorch environment in .tools/torch: a small PyTorch model exported the way a user
# would (torch.export, PT2E int8 quantization, litert-torch's converter) into a .tflite
# (tests/torch_networks.py). Kept apart from .venv and .tools/keras so that neither moves the
# other's pins. torch goes in first, alone, so that pip keeps the CPU build. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

TORCH_VERSION=2.13.0
VENV=.tools/torch
REQS=scripts/torch-requirements.txt
PY=${PYTHON:-python3}
if ! cmp -s "$REQS" "$VENV/.kiln-torch-$TORCH_VERSION"; then
  say "installing PyTorch $TORCH_VERSION and litert-torch (test only: exports a PyTorch model) in $VENV"
  mkdir -p .tools
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  log=.tools/torch-install.log
  if ! { "$VENV/bin/python" -m pip install -q "torch==$TORCH_VERSION" &&
         "$VENV/bin/python" -m pip install -q -r "$REQS"; } >"$log" 2>&1; then
    cat "$log" >&2
    say "pip install of torch or litert-torch failed (log above, also in $log): check the network access to PyPI"
    exit 1
  fi
  cp "$REQS" "$VENV/.kiln-torch-$TORCH_VERSION"
fi
say "test exporter ready: $("$VENV/bin/python" -c 'import torch, importlib.metadata as m; print("PyTorch", torch.__version__, "litert-torch", m.version("litert-torch"))' 2>/dev/null)"
