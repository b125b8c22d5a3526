#!/usr/bin/env bash
# The benchmark suite (docs/performance.md): builds graceway in Release, starts graceway, the
# official TypeScript SDK server (bench/peers) and an nginx `return 200` responder on loopback,
# drives each with graceway-loadgen and wrk, and prints one table with the ratios and the
# issue's targets. Raw results: build/bench/results.jsonl; table: build/bench/results.md.
#
#   bench/run.sh              the whole suite (about 10 minutes on 2 cores)
#   DURATION=3 bench/run.sh   shorter measured windows (seconds, default 10)
#   STREAMS=1000 bench/run.sh fewer standalone GET streams beside the echo load (default 10000;
#                             TS_STREAMS, default 2000, for the TypeScript SDK server)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --bench

duration="${DURATION:-10}"
warmup="${WARMUP:-2}"
streams="${STREAMS:-10000}"
ts_streams="${TS_STREAMS:-2000}"
[ "$ts_streams" -le "$streams" ] || ts_streams="$streams"
out=build/bench
mkdir -p "$out"
results="$out/results.jsonl"
: >"$results"

cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target graceway_server graceway_loadgen
graceway=build/release/graceway
loadgen=build/release/graceway-loadgen

# Ten thousand streams need more descriptors than the default 1024, on both sides.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((streams + 1000)) ]; then
  echo "bench: ulimit -n is $(ulimit -n): too few descriptors for STREAMS=$streams" >&2; exit 1
fi

# A throwaway certificate for the TLS runs, made here at every run and never checked in.
tls="$out/tls"
mkdir -p "$tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$tls/key.pem" -out "$tls/cert.pem" 2>/dev/null

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {  # url (https: checked against the run's certificate)
  for _ in $(seq 200); do curl -fsS --cacert "$tls/cert.pem" -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.05; done
  echo "bench: $1 did not come up" >&2; return 1
}

# measure LABEL LOADGEN-ARGS...: one loadgen run, its JSON tagged with LABEL.
measure() {
  local label="$1"; shift
  echo "bench: $label" >&2
  local line rc=0
  line="$("$loadgen" "$@" --label "$label")" || rc=$?
  echo "$line" >>"$results"
  [ "$rc" -eq 0 ] || echo "bench: $label: graceway-loadgen exited $rc (failures are in the table)" >&2
}

# start_graceway ARGS...: sets url and pid; with --tls-cert among ARGS the url is https.
start_graceway() {
  local port scheme=http; port="$(free_port)"
  case " $* " in *" --tls-cert "*) scheme=https ;; esac
  "$graceway" --host 127.0.0.1 --port "$port" --log-level warn "$@" &
  pid=$!; pids+=("$pid"); url="$scheme://127.0.0.1:$port/mcp"
  wait_http "$scheme://127.0.0.1:$port/healthz"
}
start_ts() {  # [json]
  local port; port="$(free_port)"
  node bench/peers/ts_sdk_server.mjs "$port" "${1:-sse}" >/dev/null &
  pid=$!; pids+=("$pid"); url="http://127.0.0.1:$port/mcp"
  wait_http "http://127.0.0.1:$port/healthz"
}
stop() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }

load=(--duration "$duration" --warmup "$warmup")

# (a) echo tools/call: 1 session x 1 client and 64 sessions x 64 clients, SSE and JSON responses,
# driven by graceway-loadgen (one thread per client, every answer parsed) and by wrk (event loop,
# sessions opened by graceway-loadgen first) so the generator is never the ceiling.
wrk_echo() {  # LABEL SESSIONS CONNECTIONS THREADS
  echo "bench: $1" >&2
  local ids
  ids="$("$loadgen" open --url "$url" --ca-file "$tls/cert.pem" --sessions "$2" --clients 8 |
    python3 -c 'import json,sys; print(",".join(json.load(sys.stdin)["session_ids"]))')"
  SESSIONS="$ids" wrk -t"$4" -c"$3" -d"${duration}s" -s bench/wrk_echo.lua "$url" | grep '^{"mode"' |
    python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); r["label"]=sys.argv[1]; print(json.dumps(r))' "$1" >>"$results"
}
echo_suite() {  # NAME MODE
  measure "$1 echo 1x1 $2" echo --url "$url" --pid "$pid" --sessions 1 --clients 1 "${load[@]}"
  measure "$1 echo 64x64 $2" echo --url "$url" --pid "$pid" --sessions 64 --clients 64 "${load[@]}"
  wrk_echo "$1 wrk echo 1x1 $2" 1 1 1
  wrk_echo "$1 wrk echo 64x64 $2" 64 64 2
}
for mode in sse json; do
  start_graceway --response-mode "$mode"
  echo_suite graceway "$mode"
  stop
  start_ts "$mode"
  echo_suite ts-sdk "$mode"
  stop
done

# (a') --io-threads 1 and 2 under the 64x64 echo load (SSE): the default on 2 cores is 1.
for n in 1 2; do
  start_graceway --io-threads "$n"
  measure "graceway io-threads $n echo 64x64 sse" echo --url "$url" --pid "$pid" --sessions 64 --clients 64 "${load[@]}"
  wrk_echo "graceway io-threads $n wrk echo 64x64 sse" 64 64 2
  stop
done

# (a'') TLS: the 64x64 echo load (SSE) over HTTPS with the run's certificate, against the same load
# in plaintext measured right before it (same flags otherwise).
start_graceway
measure "graceway plain echo 64x64 sse" echo --url "$url" --pid "$pid" --sessions 64 --clients 64 "${load[@]}"
wrk_echo "graceway plain wrk echo 64x64 sse" 64 64 2
stop
start_graceway --tls-cert "$tls/cert.pem" --tls-key "$tls/key.pem"
measure "graceway tls echo 64x64 sse" echo --url "$url" --ca-file "$tls/cert.pem" --pid "$pid" --sessions 64 \
  --clients 64 "${load[@]}"
wrk_echo "graceway tls wrk echo 64x64 sse" 64 64 2
stop

# (b) churn, the Claude.ai pattern, 64 concurrent clients.
start_graceway
measure "graceway churn 64" churn --url "$url" --pid "$pid" --clients 64 "${load[@]}"
stop
start_ts
measure "ts-sdk churn 64" churn --url "$url" --pid "$pid" --clients 64 "${load[@]}"
stop

# (c) RSS per idle session, each count on a fresh server.
for n in 1000 10000; do
  start_graceway --max-sessions 20000
  measure "graceway idle $n" idle --url "$url" --pid "$pid" --sessions "$n" --clients 16
  stop
  start_ts
  measure "ts-sdk idle $n" idle --url "$url" --pid "$pid" --sessions "$n" --clients 16
  stop
done

# (d) $STREAMS standalone GET streams (one session each) while the 64x64 echo load runs, on the
# default HTTP flags (--io-threads, --max-connections); --max-sessions only makes room for the
# streams' sessions. The generator holds the streams on one epoll thread. The TypeScript SDK
# server is measured the same way with $TS_STREAMS streams.
start_graceway --max-sessions 20000
measure "graceway streams + echo 64x64 sse" streams --url "$url" --pid "$pid" --streams "$streams" \
  --sessions 64 --clients 64 "${load[@]}"
stop
start_ts
measure "ts-sdk streams + echo 64x64 sse" streams --url "$url" --pid "$pid" --streams "$ts_streams" \
  --sessions 64 --clients 64 "${load[@]}"
stop

# (e) DELETE latency with 100 requests in flight on the session.
start_graceway
measure "graceway delete with 100 in flight" delete --url "$url" --pid "$pid" --inflight 100 --rounds 30 --work-ms 300
stop

# (f) shutdown with 50 calls of 1 s in flight: the generator starts graceway and sends SIGTERM.
# Enough tool threads that all 50 run at once: the time measured is the drain, not a queue.
measure "graceway shutdown, 50 x 1000 ms in flight" shutdown --graceway "$graceway" --server-arg=--tool-threads=64 \
  --inflight 50 --work-ms 1000

# (g) beyond --max-connections: 64 GET streams hold 64 of 100 connections, then 200 connections
# arrive at once. Each must be served or answered 503 + Retry-After at once, never left waiting;
# once the streams close, new connections are served again.
start_graceway --max-connections 100
measure "graceway max-connections 100, 64 held + 200 at once" maxconn --url "$url" --streams 64 --clients 200
stop

# The ceiling: nginx `return 200`, by wrk and by graceway-loadgen.
nginx_port="$(free_port)"
mkdir -p "$out/nginx/tmp"
cp bench/peers/nginx.conf "$out/nginx/nginx.conf"
echo "server { listen 127.0.0.1:$nginx_port; location / { return 200 '{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}'; } }" \
  >"$out/nginx/listen.conf"
nginx -p "$PWD/$out/nginx" -c nginx.conf -e stderr &
pid=$!; pids+=("$pid")
wait_http "http://127.0.0.1:$nginx_port/"
echo "bench: nginx wrk 64" >&2
wrk -t2 -c64 -d"${duration}s" -s bench/wrk_post.lua "http://127.0.0.1:$nginx_port/mcp" | grep '^{"mode"' |
  python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); r["label"]="nginx wrk 64"; print(json.dumps(r))' >>"$results"
measure "nginx loadgen 64" http --url "http://127.0.0.1:$nginx_port/mcp" --clients 64 "${load[@]}"
kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true

python3 bench/report.py "$results" >"$out/results.md"
cat "$out/results.md"
