#!/usr/bin/env bash
# Installs everything Kiln needs on a fresh Debian 12 machine, then the Python package in .venv.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(gcc clang libclang-rt-14-dev python3 python3-venv python3-pip
              gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm  # qemu-m4 board
              gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-system-misc  # qemu-rv32 board
              libstdc++-arm-none-eabi-newlib  # bench: TFLite Micro beside Kiln (../shared/tools/tflm-qemu)
              espeak-ng  # examples/keyword/make_models.py: spoken words to train on
              cmake make)  # the generated CMakeLists.txt and kiln.mk, built by the tests

source scripts/lib.sh
apt_install "${APT_PACKAGES[@]}"

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  say "creating the Python environment in .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.kiln-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  say "installing Kiln and its Python dependencies (numpy, tflite, tflite-micro, pytest)"
  log=.venv/pip-install.log
  if ! { .venv/bin/python -m pip install -q --upgrade pip && .venv/bin/python -m pip install -q -e '.[test]'; } >"$log" 2>&1; then
    cat "$log" >&2
    say "pip install failed (log above, also in $log): check the network access to PyPI"
    exit 1
  fi
  touch "$stamp"
fi
say "ready: $(.venv/bin/kiln --version), $(gcc --version | head -1), $(clang --version | head -1)"
