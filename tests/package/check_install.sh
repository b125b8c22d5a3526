#!/usr/bin/env bash
# Installs a built graceway tree into a temporary prefix, then configures, builds and runs
# tests/package/consumer against it: find_package(graceway) must find the package and everything
# the static library links against, and the consumer must serve on a port and shut down (exit 0).
#
#   tests/package/check_install.sh BUILD_DIR [WORK_DIR [CXX_COMPILER]]
#
# CXX_COMPILER defaults to the build's CMAKE_CXX_COMPILER. WORK_DIR (emptied first) keeps the prefix, the consumer build and the logs; without it a
# mktemp directory is used and removed afterwards. ctest's package.install_and_consume and the
# release job of scripts/test.sh both run this.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:?usage: $0 BUILD_DIR [WORK_DIR [CXX_COMPILER]]}" && pwd)"
work="${2:-}"
# The consumer is compiled by the compiler that built graceway, unless told otherwise.
cxx="${3:-$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")}"
if [ -n "$work" ]; then
  rm -rf "$work"
  mkdir -p "$work"
  # Absolute: CMake takes a relative CMAKE_PREFIX_PATH relative to nothing useful, and the
  # consumer would not find the package (the release job passes a relative WORK_DIR).
  work="$(cd "$work" && pwd)"
else
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
fi
prefix="$work/prefix"
log="$work/check.log"

step() {  # seconds description command...
  local seconds="$1" what="$2"; shift 2
  if ! timeout "$seconds" "$@" >>"$log" 2>&1; then
    echo "package: $what failed (see $log):"
    tail -n 40 "$log"
    exit 1
  fi
}

step 120 "cmake --install" cmake --install "$build" --prefix "$prefix"
for f in bin/graceway include/graceway/server.hpp; do
  [ -e "$prefix/$f" ] || { echo "package: $f not installed"; exit 1; }
done
config="$(find "$prefix" -name gracewayConfig.cmake -print -quit)"
[ -n "$config" ] || { echo "package: no gracewayConfig.cmake under $prefix"; exit 1; }

# Only the temporary prefix may provide graceway: no package registry, no system copy first.
configure=(cmake -S "$here/consumer" -B "$work/consumer" -DCMAKE_BUILD_TYPE=Release
           -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
           -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF)
[ -z "$cxx" ] || configure+=(-DCMAKE_CXX_COMPILER="$cxx")
step 120 "configuring the consumer (find_package(graceway))" "${configure[@]}"
found="$(sed -n 's/^graceway_DIR:PATH=//p' "$work/consumer/CMakeCache.txt")"
[ "$found" = "$(dirname "$config")" ] || { echo "package: graceway found at '$found', not in $prefix"; exit 1; }
step 300 "building the consumer" cmake --build "$work/consumer"
step 30 "running the consumer" "$work/consumer/graceway_consumer"
echo "package: installed to $prefix, consumer found graceway at $found, built, ran and exited 0"
