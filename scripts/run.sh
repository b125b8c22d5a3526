#!/usr/bin/env bash
# Sets up, builds (Release) and starts graceway on 127.0.0.1:8080/mcp with the demo tools.
# Extra arguments go to graceway, e.g. scripts/run.sh --port 9000 --log-level debug
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DGRACEWAY_BUILD_TESTS=OFF >/dev/null
cmake --build build/release -j"$(nproc)"
# Defaults for what the caller did not give (graceway refuses a flag given twice).
given=" $* "
defaults=()
[[ "$given" == *" --host"* ]] || defaults+=(--host 127.0.0.1)
[[ "$given" == *" --port"* ]] || defaults+=(--port 8080)
[[ "$given" == *" --tools"* ]] || defaults+=(--tools demo)
exec build/release/graceway "${defaults[@]}" "$@"
