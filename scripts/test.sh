#!/usr/bin/env bash
# Sets up a fresh machine and runs the whole test suite. CI runs this (.ci/run).
#   1. the compiler, boards and language server (pytest)
#   2. the VS Code extension: type check, unit tests of its pure logic, and end-to-end tests in a
#      real VS Code (code-server + chromium), which leave screenshots in test-artifacts/e2e/
# Every suite runs even when an earlier one failed; the exit code is non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
bash scripts/setup-keras.sh || exit 1
bash scripts/setup-torch.sh || exit 1
bash scripts/setup-extension.sh || exit 1
if [ ! -d ../shared/models ] && [ -z "${KILN_SHARED:-}" ]; then
  echo "note: ../shared/models is absent: the conformance tests on the shared models will be skipped" >&2
fi
export PATH="$PWD/.tools/node24/node_modules/node/bin:$PATH"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
failed=()

say "Python: compiler, boards, RPC, language server (pytest)"
.venv/bin/python -m pytest -q -p no:cacheprovider "$@" || failed+=(pytest)

say "Extension: type check and unit tests"
{ npm run -s typecheck && npm run -s test:unit; } || failed+=(extension-unit)

say "Extension: package the VSIX, then end-to-end in code-server + chromium"
{ npm run -s package >.tools/package.log 2>&1 || { cat .tools/package.log; false; }; } && node extension/test/e2e/run.mjs || failed+=(extension-e2e)

if [ ${#failed[@]} -gt 0 ]; then
  say "FAILED: ${failed[*]}"
  exit 1
fi
say "all suites passed"
