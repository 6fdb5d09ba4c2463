#!/usr/bin/env bash
# Sets up a fresh machine and runs the whole test suite. CI runs this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ ! -d ../shared/models ] && [ -z "${KILN_SHARED:-}" ]; then
  echo "note: ../shared/models is absent: the conformance tests on the shared models will be skipped" >&2
fi
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
