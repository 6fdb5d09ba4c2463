#!/usr/bin/env bash
# The test-only TensorFlow environment in .tools/keras: TensorFlow's converter turns small Keras
# recurrent models into .tflite files as a user's export would (tests/keras_models.py). Kept apart
# from .venv so that TensorFlow's own pins never move Kiln's numpy. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

TF_VERSION=2.21.0
VENV=.tools/keras
PY=${PYTHON:-python3}
if [ ! -f "$VENV/.kiln-tf-$TF_VERSION" ]; then
  say "installing TensorFlow $TF_VERSION (test only: converts Keras models) in $VENV"
  mkdir -p .tools
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  log=.tools/keras-install.log
  if ! "$VENV/bin/python" -m pip install -q "tensorflow-cpu==$TF_VERSION" >"$log" 2>&1; then
    cat "$log" >&2
    say "pip install of tensorflow-cpu failed (log above, also in $log): check the network access to PyPI"
    exit 1
  fi
  touch "$VENV/.kiln-tf-$TF_VERSION"
fi
say "test converter ready: $("$VENV/bin/python" -c 'import tensorflow as tf; print("TensorFlow", tf.__version__)' 2>/dev/null)"
