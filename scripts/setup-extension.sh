#!/usr/bin/env bash
# Installs what the VS Code extension needs to build, package and be tested end to end, on a fresh
# Debian 12 machine: Debian's chromium (driven by playwright-core) and the headers native modules
# build against; Node 24 and code-server 4 (a real VS Code in the browser) in .tools/; the
# extension's npm packages in node_modules/. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

CODE_SERVER_VERSION=4.139.1  # VS Code 1.139; needs Node 24
NODE_MAJOR=24
APT_PACKAGES=(chromium libkrb5-dev g++ make nodejs npm fonts-dejavu-core fonts-noto-color-emoji)

source scripts/lib.sh
# nodejs and npm from elsewhere (nvm, NodeSource) will do
command -v node >/dev/null && command -v npm >/dev/null && APT_PACKAGES=("${APT_PACKAGES[@]/nodejs}") && APT_PACKAGES=("${APT_PACKAGES[@]/npm}")
apt_install ${APT_PACKAGES[@]}

npm_quiet() {  # npm install with its log kept, shown only when it fails
  local log=$1; shift
  if ! npm install --no-audit --no-fund --loglevel=error "$@" >"$log" 2>&1; then
    cat "$log" >&2
    say "npm install failed (log above, also in $log): check the network access to the npm registry"
    exit 1
  fi
}

mkdir -p .tools
NODE24=.tools/node$NODE_MAJOR
if [ ! -x "$NODE24/node_modules/node/bin/node" ]; then
  say "installing Node $NODE_MAJOR in $NODE24 (code-server needs it)"
  mkdir -p "$NODE24" && (cd "$NODE24" && [ -f package.json ] || echo '{"private": true}' > package.json)
  (cd "$NODE24" && npm_quiet ../node.log "node@$NODE_MAJOR")
fi
NODE_BIN="$PWD/$NODE24/node_modules/node/bin"
NODE_API=$(find "$PWD/$NODE24/node_modules" -path '*/include/node/node_api.h' | head -1)
NODE_DIR=${NODE_API%/include/node/node_api.h}  # the headers native modules build against
export PATH="$NODE_BIN:$PATH" npm_config_nodedir="$NODE_DIR"

CS=.tools/code-server
if [ ! -x "$CS/node_modules/.bin/code-server" ] || ! grep -q "\"version\": \"$CODE_SERVER_VERSION\"" "$CS/node_modules/code-server/package.json" 2>/dev/null; then
  say "installing code-server $CODE_SERVER_VERSION in $CS (about 2 minutes: it builds native modules)"
  mkdir -p "$CS" && (cd "$CS" && [ -f package.json ] || echo '{"private": true}' > package.json)
  (cd "$CS" && npm_quiet ../code-server.log "code-server@$CODE_SERVER_VERSION")
fi

if [ ! -f node_modules/.kiln-installed ] || [ package-lock.json -nt node_modules/.kiln-installed ]; then
  say "installing the extension's npm packages (esbuild, typescript, vsce, vscode-languageclient, playwright-core)"
  if ! npm ci --no-audit --no-fund --loglevel=error >.tools/npm-ci.log 2>&1; then
    cat .tools/npm-ci.log >&2
    say "npm ci failed (log above, also in .tools/npm-ci.log)"
    exit 1
  fi
  touch node_modules/.kiln-installed
fi
say "extension tools ready: node $(node --version), code-server $CODE_SERVER_VERSION, $(chromium --version 2>/dev/null | head -1)"
