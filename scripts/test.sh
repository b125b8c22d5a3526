#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite in every build mode, and prints each ctest summary
# and the coverage figures. `.ci/run` runs this. See docs/testing.md for what each job covers.
#
#   scripts/test.sh              every job below, in this order
#   scripts/test.sh JOB...       only these jobs
#
#   asan      gcc, ASan+UBSan+LeakSanitizer: unit, integration, e2e, fuzz corpus replays
#   tsan      gcc, ThreadSanitizer: unit, integration and race-catalogue tests, fuzz corpus replays
#   coverage  gcc, gcov: the whole suite, then gcovr line/branch coverage of src/ with thresholds
#   fuzz      clang 14, -Werror, libFuzzer + ASan/UBSan: corpus replays, then 20 s of fuzzing each
#   tidy      clang-tidy on src/ and include/ (zero warnings)
#   release   gcc -O3 Release build of every shipped binary (what scripts/run.sh and bench/run.sh
#             build), then the server is started, probed on /healthz and stopped with SIGTERM;
#             then installed to a scratch prefix and used by a find_package(graceway) consumer
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests

all_jobs=(asan tsan coverage fuzz tidy release)
jobs=("$@")
[ "${#jobs[@]}" -gt 0 ] || jobs=("${all_jobs[@]}")
cpus="$(nproc)"
fuzz_seconds="${GRACEWAY_FUZZ_SECONDS:-20}"

build() {  # preset
  cmake --preset "$1" >/dev/null
  cmake --build --preset "$1" -j"$cpus"
}

run_ctest() {  # preset [ctest args...]
  local preset="$1"; shift
  ctest --preset "$preset" -j"$cpus" --timeout 300 "$@"
}

job_asan() { build asan && run_ctest asan; }
job_tsan() { build tsan && run_ctest tsan; }
job_coverage() {
  # Counters from an earlier run would inflate the figures.
  [ -d build/coverage ] && find build/coverage -name '*.gcda' -delete
  build coverage || return 1
  local tests=0
  run_ctest coverage || tests=1
  # The figures are printed even when a test failed; the job fails for either reason.
  mkdir -p build/coverage/html
  gcovr --config gcovr.cfg build/coverage || return 1
  return "$tests"
}
job_fuzz() {
  build fuzz && run_ctest fuzz || return 1
  # Short fuzzing runs on top of the replays; new inputs go to a scratch dir, not the corpus.
  local t
  for t in jsonrpc_codec request_front sse_codec session_lifecycle http_request jwt_token; do
    local scratch="build/fuzz/scratch/$t"
    mkdir -p "$scratch"
    echo "fuzz: $t for ${fuzz_seconds}s"
    local log="build/fuzz/scratch/$t.log" rc=0
    "build/fuzz/fuzz/fuzz_$t" -max_total_time="$fuzz_seconds" -print_final_stats=1 \
      -artifact_prefix="build/fuzz/scratch/$t-" "$scratch" "fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done|==[0-9]+==|SUMMARY)' "$log" || true
    [ "$rc" -eq 0 ] || { echo "fuzz: $t failed (exit $rc); see $log and build/fuzz/scratch/$t-*"; return 1; }
  done
}
job_tidy() {
  # The fuzz preset is a clang build, so its compile_commands.json suits clang-tidy.
  [ -f build/fuzz/compile_commands.json ] || cmake --preset fuzz >/dev/null
  local out
  out="$(find src -name '*.cpp' -print0 | xargs -0 -n4 -P"$cpus" clang-tidy-14 -p build/fuzz --quiet 2>/dev/null || true)"
  if grep -qE ': (warning|error):' <<<"$out"; then
    echo "$out"
    echo "tidy: warnings found"
    return 1
  fi
  echo "tidy: 0 warnings on src/ and include/"
}

job_release() {
  # gcc warns differently at -O3 (false -Wrestrict and use-after-free reports have broken this
  # build twice), and no other job builds Release.
  build release || return 1
  local log=build/release/smoke.log port
  build/release/graceway --port 0 >"$log" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do
    port="$(grep -oE 'listening on http://127\.0\.0\.1:[0-9]+' "$log" | grep -oE '[0-9]+$' || true)"
    [ -n "$port" ] && break
    sleep 0.1
  done
  local ok=0
  [ -n "$port" ] && curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null && ok=1
  kill -TERM "$pid" 2>/dev/null || true
  local rc=0
  wait "$pid" || rc=$?
  if [ "$ok" -ne 1 ] || [ "$rc" -ne 0 ]; then
    echo "release: the server did not serve /healthz or did not exit 0 on SIGTERM (exit $rc)"; cat "$log"; return 1
  fi
  echo "release: built, served /healthz on port $port, exited 0 on SIGTERM"
  # The plain, uninstrumented build is the one to install: find_package(graceway) from a consumer
  # project (tests/package; ctest runs the same check as package.install_and_consume in dev builds).
  tests/package/check_install.sh build/release build/release/package-check
}

declare -A result
failed=0
for job in "${jobs[@]}"; do
  case " ${all_jobs[*]} " in *" $job "*) ;; *) echo "unknown job: $job (jobs: ${all_jobs[*]})" >&2; exit 2 ;; esac
  echo "=== $job ==="
  start=$SECONDS
  if "job_$job"; then result[$job]="passed"; else result[$job]="FAILED"; failed=1; fi
  result[$job]+=" in $((SECONDS - start)) s"
done

echo "=== summary ==="
for job in "${jobs[@]}"; do printf '%-9s %s\n' "$job" "${result[$job]}"; done
exit "$failed"
