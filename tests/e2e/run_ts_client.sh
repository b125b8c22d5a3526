#!/usr/bin/env bash
# ctest entry point: the official TypeScript SDK client (ts_client.mjs) against the real binary.
# Usage: run_ts_client.sh GRACEWAY_BINARY NODE
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$here/node_modules/@modelcontextprotocol/sdk" ]; then
  echo "tests/e2e: @modelcontextprotocol/sdk is not installed; run scripts/setup.sh --tests" >&2
  exit 1
fi
exec "$2" "$here/ts_client.mjs" "$1"
