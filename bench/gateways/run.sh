#!/usr/bin/env bash
# graceway's gateway mode beside supergateway, both in front of the real server-everything, on one
# journey of the official TypeScript SDK client (bench/gateways/compare.mjs; results in
# docs/gateway.md). Not part of CI: it measures a peer, it does not test graceway.
# Usage: bench/gateways/run.sh [GRACEWAY_BINARY]   (default: builds the release preset)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
binary="${1:-}"
if [ -z "$binary" ]; then
  cmake --preset release >/dev/null
  cmake --build --preset release -j"$(nproc)" --target graceway_server
  binary="$root/build/release/graceway"
fi
(cd bench/gateways && npm ci --no-audit --no-fund --loglevel=error)
exec node bench/gateways/compare.mjs "$binary"
