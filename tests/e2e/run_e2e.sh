#!/usr/bin/env bash
# ctest entry point of the e2e scripts: runs tests/e2e/SCRIPT (the official TypeScript SDK client
# against the real binary) with the Node that ctest found.
# Usage: run_e2e.sh SCRIPT GRACEWAY_BINARY NODE [SCRIPT ARGS...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
for package in sdk client server-everything server-memory; do
  if [ ! -d "$here/node_modules/@modelcontextprotocol/$package" ]; then
    echo "tests/e2e: @modelcontextprotocol/$package is not installed; run scripts/setup.sh --tests" >&2
    exit 1
  fi
done
if [ ! -d "$here/node_modules/oidc-provider" ]; then
  echo "tests/e2e: oidc-provider is not installed; run scripts/setup.sh --tests" >&2
  exit 1
fi
exec "$3" "$here/$1" "$2" "${@:4}"
