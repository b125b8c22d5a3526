#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite: unit, integration (real sockets, the real
# binary under SIGTERM) and e2e (the official TypeScript SDK client). Prints ctest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
build=build/test
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGRACEWAY_BUILD_TESTS=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
cd "$build"
ctest --output-on-failure -j"$(nproc)" --timeout 300
