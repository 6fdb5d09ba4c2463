#!/usr/bin/env bash
# The main job, end to end on a fresh machine: set up, compile a bundled model into C, build it
# for the host board and for a Cortex-M4 under QEMU, run it, check it against TFLite Micro and
# print per-operator timings.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
K=.venv/bin/kiln
MODEL=examples/models/sine_int8.tflite   # trained by examples/train_sine_int8.py
OUT=build/demo/sine_int8

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Model report: kiln inspect $MODEL"
$K inspect "$MODEL"

step "Compile to C: kiln compile $MODEL --out $OUT"
$K compile "$MODEL" --out "$OUT"
echo "generated: $(ls "$OUT" | tr '\n' ' ')"

step "Run on the host board, compare with TFLite Micro, profile: x = pi/2 (sin x = 1)"
.venv/bin/python -c "import numpy as np; np.save('build/demo/x.npy', np.array([[np.pi / 2]], np.float32))"
$K run "$MODEL" --board host --input build/demo/x.npy --output build/demo/y.npy --compare --profile

step "The same on an emulated Cortex-M4 (QEMU mps2-an386): exact instruction counts per operator"
$K run "$MODEL" --board qemu-m4 --input build/demo/x.npy --compare --profile

step "A model shipped in the tflite-micro wheel (float32): sine_float.tflite at x = 1.0"
SINE_FLOAT=$(.venv/bin/python -c "import tflite_micro, pathlib; print(pathlib.Path(tflite_micro.__file__).parent / 'python/tflite_micro/sine_float.tflite')")
.venv/bin/python -c "import numpy as np; np.save('build/demo/x1.npy', np.array([[1.0]], np.float32))"
$K run "$SINE_FLOAT" --board host --input build/demo/x1.npy --compare --profile
echo "(sin(1.0) = 0.841471.)"

STREAM=examples/models/streaming_kws.tflite  # written by examples/make_streaming_kws.py
step "A streaming model keeps state between invocations: 12 invocations of $STREAM in sequence"
$K run "$STREAM" --board host --sequence --steps 12 --compare
echo
echo "Benchmarks: bench/memory.py, bench/cortex_m.py, bench/stateful.py (see README)."
