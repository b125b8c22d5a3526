#!/usr/bin/env python3
"""Renders bench/run.sh's results (one JSON object per line, tagged by "label") as the Markdown
tables of docs/performance.md: graceway beside its peers, the ratios, and the targets of issues 6 and 14."""
import json
import platform
import subprocess
import sys


def load(path):
    rows = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                r = json.loads(line)
                rows[r.get("label", "")] = r
    return rows


def num(x, digits=0):
    if x is None:
        return "-"
    return f"{x:,.{digits}f}"


def ratio(a, b):
    return f"{a / b:.1f}x" if a and b else "-"


def machine():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    if subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip():
        commit += " with uncommitted changes"
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return f"{nproc} cores, {cpu}, Linux {platform.release()}, graceway {commit or '?'}"


def pct(a, b):
    return f"{100 * a / b:.0f} %" if a and b else "-"


def main():
    rows = load(sys.argv[1])
    get = lambda label, key: rows.get(label, {}).get(key)
    out = [f"Machine: {machine()}.", ""]

    out += ["| echo tools/call | generator | graceway req/s | p50 ms | p99 ms | TS SDK req/s | p99 ms "
            "| graceway / TS SDK | CPU cores: graceway / TS SDK / generator |", "|---|---|---|---|---|---|---|---|---|"]
    for mode in ("sse", "json"):
        for shape in ("1x1", "64x64"):
            for gen, tag in (("graceway-loadgen", ""), ("wrk", "wrk ")):
                g, t = f"graceway {tag}echo {shape} {mode}", f"ts-sdk {tag}echo {shape} {mode}"
                cpu = (f"{num(get(g, 'server_cpu_cores'), 2)} / {num(get(t, 'server_cpu_cores'), 2)} / "
                       f"{num(get(g, 'generator_cpu_cores'), 2)}" if get(g, "server_cpu_cores") is not None else "-")
                out.append(f"| {shape} {mode.upper()} | {gen} | {num(get(g, 'per_second'))} | {num(get(g, 'p50_ms'), 2)} "
                           f"| {num(get(g, 'p99_ms'), 2)} | {num(get(t, 'per_second'))} | {num(get(t, 'p99_ms'), 2)} "
                           f"| {ratio(get(g, 'per_second'), get(t, 'per_second'))} | {cpu} |")
    out.append("")

    # --io-threads 1 and 2, and TLS against plaintext: the 64x64 SSE echo load.
    out += ["| echo 64x64 SSE | generator | req/s | p50 ms | p99 ms | graceway CPU cores | server threads |",
            "|---|---|---|---|---|---|---|"]
    for what, base in (("--io-threads 1 (the default on 2 cores)", "graceway io-threads 1"),
                       ("--io-threads 2", "graceway io-threads 2"), ("TLS (HTTPS, P-256)", "graceway tls"),
                       ("plaintext, right before TLS", "graceway plain")):
        for gen, tag in (("graceway-loadgen", ""), ("wrk", "wrk ")):
            r = f"{base} {tag}echo 64x64 sse"
            out.append(f"| {what} | {gen} | {num(get(r, 'per_second'))} | {num(get(r, 'p50_ms'), 2)} "
                       f"| {num(get(r, 'p99_ms'), 2)} | {num(get(r, 'server_cpu_cores'), 2)} "
                       f"| {num(get(r, 'server_threads'))} |")
    out.append("")

    # Standalone GET streams beside the echo load, graceway and the TS SDK server.
    gs, ts = "graceway streams + echo 64x64 sse", "ts-sdk streams + echo 64x64 sse"
    def arrow(label, key, digits):
        return f"{num(get(label, 'baseline_' + key), digits)} -> {num(get(label, key), digits)}"
    def accepted(label):
        if label not in rows:
            return "-"
        return (f"{num(get(label, 'streams_opened'))} / {num(get(label, 'streams_alive_after'))} of "
                f"{num(get(label, 'streams_requested'))}")
    def threads(label):
        return (f"{num(get(label, 'threads_before_streams'))} / {num(get(label, 'threads_with_streams'))} / "
                f"{num(get(label, 'threads_after'))}")
    def per_stream(label):
        return f"{num(get(label, 'kib_per_stream'), 1)} ({num(get(label, 'kib_per_stream_with_session'), 1)})"
    out += [f"| GET streams beside the echo load 64x64 SSE (graceway-loadgen) | graceway, "
            f"{num(get(gs, 'streams_requested'))} streams | TS SDK, {num(get(ts, 'streams_requested'))} streams |",
            "|---|---|---|",
            f"| streams answered 200 / still open at the end, of requested | {accepted(gs)} | {accepted(ts)} |",
            f"| echo req/s without -> with the streams | {arrow(gs, 'per_second', 0)} | {arrow(ts, 'per_second', 0)} |",
            f"| echo p99 ms without -> with the streams | {arrow(gs, 'p99_ms', 2)} | {arrow(ts, 'p99_ms', 2)} |",
            f"| server threads: no streams / streams open / after the load | {threads(gs)} | {threads(ts)} |",
            f"| RSS per open stream, KiB (with its session) | {per_stream(gs)} | {per_stream(ts)} |",
            f"| streams opened per second | {num(get(gs, 'streams_per_second_opening'))} "
            f"| {num(get(ts, 'streams_per_second_opening'))} |",
            ""]

    out += ["| other measurement | graceway | TS SDK | graceway / TS SDK |", "|---|---|---|---|"]
    gc, tc = "graceway churn 64", "ts-sdk churn 64"
    out.append(f"| churn, 64 clients (sessions/s; p99 ms of the 4 requests) | {num(get(gc, 'per_second'))} "
               f"({num(get(gc, 'p99_ms'), 1)}) | {num(get(tc, 'per_second'))} ({num(get(tc, 'p99_ms'), 1)}) "
               f"| {ratio(get(gc, 'per_second'), get(tc, 'per_second'))} |")
    for n in (1000, 10000):
        g, t = f"graceway idle {n}", f"ts-sdk idle {n}"
        gk, tk = get(g, "kib_per_session"), get(t, "kib_per_session")
        out.append(f"| RSS per idle session at {n:,} sessions (KiB) | {num(gk, 1)} | {num(tk, 1)} "
                   f"| {ratio(tk, gk).replace('x', 'x less') if gk and tk and gk > 0 else '-'} |")
    d = "graceway delete with 100 in flight"
    out.append(f"| DELETE with 100 calls in flight: p50 / p99 / max ms ({get(d, 'rounds')} rounds; results delivered) "
               f"| {num(get(d, 'delete_p50_ms'), 2)} / {num(get(d, 'delete_p99_ms'), 2)} / "
               f"{num(get(d, 'delete_max_ms'), 2)} ({get(d, 'results_delivered')} of {get(d, 'results_expected')}) "
               f"| - | - |")
    sd = "graceway shutdown, 50 x 1000 ms in flight"
    out.append(f"| SIGTERM with 50 calls of 1,000 ms in flight: ms to exit (exit code; results delivered) "
               f"| {num(get(sd, 'shutdown_ms'))} ({get(sd, 'exit_code')}; {get(sd, 'results_delivered')} of "
               f"{get(sd, 'inflight')}) | - | - |")
    mc = "graceway max-connections 100, 64 held + 200 at once"
    out.append(f"| `--max-connections 100`, 64 held by GET streams, 200 new connections at once: statuses; "
               f"answer p50 / p99 / max ms; served again once the streams closed | {json.dumps(get(mc, 'statuses'))}; "
               f"{num(get(mc, 'answer_p50_ms'), 1)} / {num(get(mc, 'answer_p99_ms'), 1)} / "
               f"{num(get(mc, 'answer_max_ms'), 1)}; {'yes' if get(mc, 'recovered') else 'no'} | - | - |")
    nw, nl = "nginx wrk 64", "nginx loadgen 64"
    out.append(f"| nginx `return 200`, 64 connections: wrk req/s (p99 ms) / graceway-loadgen req/s (generator cores) "
               f"| {num(get(nw, 'per_second'))} ({num(get(nw, 'p99_ms'), 2)}) / {num(get(nl, 'per_second'))} "
               f"({num(get(nl, 'generator_cpu_cores'), 2)}) | - | - |")
    out.append("")

    ceiling = get(nw, "per_second")
    # Throughput targets use wrk on both sides (the faster generator); latency uses both generators.
    echo_sse, echo_json = "graceway wrk echo 64x64 sse", "graceway wrk echo 64x64 json"
    best = max((get(echo_sse, "per_second") or 0), (get(echo_json, "per_second") or 0))
    best_ts = max((get("ts-sdk wrk echo 64x64 sse", "per_second") or 0),
                  (get("ts-sdk wrk echo 64x64 json", "per_second") or 0))
    failed = sum(int(r.get("failed", 0)) for label, r in rows.items() if label.startswith("graceway"))
    lg_sse = "graceway echo 64x64 sse"
    tls_wrk, tls_lg = "graceway tls wrk echo 64x64 sse", "graceway tls echo 64x64 sse"
    plain_wrk, plain_lg = "graceway plain wrk echo 64x64 sse", "graceway plain echo 64x64 sse"
    n_streams = get(gs, "streams_requested") or 0
    stream_threads = [get(gs, k) for k in ("threads_before_streams", "threads_with_streams", "threads_after")]
    targets = [
        ("echo 64x64 at least 10x the TS SDK server (wrk, best mode each)", f"{ratio(best, best_ts)}",
         best_ts and best >= 10 * best_ts),
        ("echo 64x64 at least 50 % of the nginx ceiling (wrk)", pct(best, ceiling), ceiling and best >= 0.5 * ceiling),
        ("p99 at most 5 ms at 64x64 (wrk SSE / JSON; graceway-loadgen SSE)",
         f"{num(get(echo_sse, 'p99_ms'), 2)} / {num(get(echo_json, 'p99_ms'), 2)}; {num(get(lg_sse, 'p99_ms'), 2)} ms",
         max(get(echo_sse, "p99_ms") or 1e9, get(echo_json, "p99_ms") or 1e9, get(lg_sse, "p99_ms") or 1e9) <= 5),
        ("churn at least 10,000 sessions/s (64 clients)", f"{num(get(gc, 'per_second'))}/s",
         (get(gc, "per_second") or 0) >= 10000),
        ("TLS echo 64x64 at least 50 % of plaintext (wrk; graceway-loadgen)",
         f"{pct(get(tls_wrk, 'per_second'), get(plain_wrk, 'per_second'))}; "
         f"{pct(get(tls_lg, 'per_second'), get(plain_lg, 'per_second'))}",
         (get(tls_wrk, "per_second") or 0) >= 0.5 * (get(plain_wrk, "per_second") or 1e18)
         and (get(tls_lg, "per_second") or 0) >= 0.5 * (get(plain_lg, "per_second") or 1e18)),
        (f"{n_streams:,} GET streams: every one answered 200 and still open at the end",
         accepted(gs), n_streams > 0 and get(gs, "streams_opened") == n_streams
         and get(gs, "streams_alive_after") == n_streams),
        (f"{n_streams:,} GET streams cost at most 2x the echo p99 (same server, same run)",
         f"{num(get(gs, 'p99_ms'), 2)} vs {num(get(gs, 'baseline_p99_ms'), 2)} ms",
         (get(gs, "p99_ms") or 1e9) <= 2 * (get(gs, "baseline_p99_ms") or 0)),
        ("at most 16 KiB RSS per open GET stream", f"{num(get(gs, 'kib_per_stream'), 1)} KiB",
         (get(gs, "kib_per_stream") or 1e9) <= 16),
        ("server threads do not depend on the number of connections (no streams / streams open / after)",
         threads(gs), None not in stream_threads and len(set(stream_threads)) == 1),
        ("at most 8 KiB RSS per idle session at 10k", f"{num(get('graceway idle 10000', 'kib_per_session'), 1)} KiB",
         (get("graceway idle 10000", "kib_per_session") or 1e9) <= 8),
        ("DELETE under 1 ms at p99 with 100 in flight", f"{num(get(d, 'delete_p99_ms'), 2)} ms",
         (get(d, "delete_p99_ms") or 1e9) < 1),
        ("SIGTERM exits about when the longest in-flight call ends (at most 1,250 ms for 1,000 ms calls; "
         "every result delivered, exit 0)", f"{num(get(sd, 'shutdown_ms'))} ms",
         (get(sd, "shutdown_ms") or 1e9) <= 1250 and get(sd, "exit_code") == 0
         and get(sd, "results_delivered") == get(sd, "inflight")),
        ("beyond --max-connections: every new connection served or 503 at once (within 1 s), served again after",
         f"{json.dumps(get(mc, 'statuses'))}, max {num(get(mc, 'answer_max_ms'), 0)} ms",
         get(mc, "failed") == 0 and (get(mc, "answer_max_ms") or 1e9) <= 1000 and bool(get(mc, "recovered"))),
        ("no request lost or failed (all graceway runs)", f"{failed} failed", failed == 0),
    ]
    out += ["| target | measured | met |", "|---|---|---|"]
    out += [f"| {name} | {value} | {'yes' if ok else '**no**'} |" for name, value, ok in targets]
    print("\n".join(out))


if __name__ == "__main__":
    main()
