#!/usr/bin/env bash
# ctest entry point: the official TypeScript SDK's SSEClientTransport and
# StreamableHTTPClientTransport at once (ts_legacy_sse.mjs) against the real binary.
# Usage: run_ts_legacy_sse.sh GRACEWAY_BINARY NODE
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$here/node_modules/@modelcontextprotocol/sdk" ]; then
  echo "tests/e2e: @modelcontextprotocol/sdk is not installed; run scripts/setup.sh --tests" >&2
  exit 1
fi
exec "$2" "$here/ts_legacy_sse.mjs" "$1"
