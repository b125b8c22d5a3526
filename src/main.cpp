// graceway: parse flags, build the config, wire the server, run it. Nothing else lives here.

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <list>
#include <optional>
#include <string>
#include <utility>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "graceway/auth_options.hpp"
#include "graceway/config.hpp"
#include "graceway/conformance_tools.hpp"
#include "graceway/demo_tools.hpp"
#include "graceway/duration.hpp"
#include "graceway/http_options.hpp"
#include "graceway/logging.hpp"
#include "graceway/rate_limit_options.hpp"
#include "graceway/server.hpp"
#include "graceway/stdio_gateway.hpp"
#include "graceway/upstream_gateway.hpp"

namespace {

using graceway::format_duration;
using graceway::parse_duration;

// A duration flag: validated while parsing so the error names the flag, stored as milliseconds.
struct DurationFlag {
  std::string text;
  std::chrono::milliseconds* target;
};

CLI::Validator duration_validator() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        return parse_duration(value) ? std::string{} : "invalid duration '" + value + "' (use forms like 250ms, 3s, 2m)";
      },
      "DURATION");
}

CLI::Validator size_validator() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        return graceway::parse_size(value) ? std::string{} : "invalid size '" + value + "' (use forms like 65536, 512KiB, 4MiB)";
      },
      "SIZE");
}

// Flags of the thread-per-connection HTTP layer (before 0.2.0) and what replaces each.
constexpr std::pair<const char*, const char*> kRemovedFlags[] = {
    {"--http-threads", "connections no longer take a thread each; see --io-threads and --max-connections"},
    {"--http-queue", "there is no connection queue any more; see --max-connections"},
    {"--http-queue-timeout", "there is no connection queue any more; see --max-connections"},
    {"--disconnect-check-interval", "a client that leaves is noticed at once; nothing replaces it"},
    {"--get-stream-check-interval", "a client that leaves is noticed at once; nothing replaces it"},
    {"--http-read-timeout", "use --http-header-timeout and --http-body-timeout"},
};

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string trim_line_end(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' || text.back() == '\t')) {
    text.pop_back();
  }
  return text;
}

// graceway hash-key NAME: the key from stdin, the key file's line for it on stdout.
int hash_key(int argc, char** argv) {
  if (argc != 3 || std::string_view(argv[2]).empty() ||
      std::string_view(argv[2]).find_first_of(" \t#") != std::string_view::npos) {
    std::cerr << "usage: graceway hash-key NAME < key   (prints the --api-keys line for the key read from stdin;\n"
                 "       NAME is the principal, without spaces or '#')\n";
    return 2;
  }
  std::string key;
  std::getline(std::cin, key);
  key = trim_line_end(key);
  if (key.size() < 16) {
    std::cerr << "graceway hash-key: the key on stdin must have 16 characters at least (make one with\n"
                 "  head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')\n";
    return 2;
  }
  std::cout << graceway::api_key_line(argv[2], key) << '\n';
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "hash-key") return hash_key(argc, argv);
  graceway::ServerConfig config;
  graceway::HttpOptions http;
  std::string max_header = std::to_string(http.max_header_bytes);
  std::string tools = "demo";
  std::string response_mode = "sse";
  std::string legacy_sse = "on";
  std::vector<std::string> eras = {"legacy", "modern"};
  std::string log_level = "info";
  std::string log_format = "text";
  std::string max_body = std::to_string(config.max_body_bytes);
  std::string event_log_bytes = std::to_string(config.event_log_bytes);
  std::chrono::milliseconds retry_after_ms{0};
  std::list<DurationFlag> durations;  // stable addresses: CLI11 keeps a reference to each text
  bool stdio = false;
  graceway::StdioGatewayOptions gateway;
  std::string stdio_max_line = std::to_string(gateway.max_line_bytes);
  graceway::UpstreamGatewayOptions upstream;
  std::string upstream_max_message = std::to_string(upstream.max_message_bytes);
  graceway::AuthOptions auth;
  std::string api_keys_file;
  std::string introspection_secret_file;
  std::chrono::milliseconds auth_leeway = auth.leeway;
  graceway::RateLimitOptions limits;

  CLI::App app{"graceway: an MCP Streamable HTTP server whose sessions drain instead of breaking", "graceway"};
  app.set_version_flag("--version", std::string("graceway ") + graceway::ServerInfo{}.version);
  app.get_formatter()->column_width(34);

  auto duration = [&](const char* name, std::chrono::milliseconds& target, const char* help,
                      const char* group = "Options") {
    durations.push_back({format_duration(target), &target});
    return app.add_option(name, durations.back().text, help)->check(duration_validator())->capture_default_str()->group(group);
  };

  app.add_option("--host", config.host, "Address to listen on")->capture_default_str();
  app.add_option("--port", config.port, "TCP port (0 picks a free one)")->capture_default_str();
  app.add_option("--path", config.path, "The MCP endpoint path")->capture_default_str();
  app.add_option("--legacy-sse", legacy_sse,
                 "Serve the legacy HTTP+SSE transport (protocol 2024-11-05) beside the MCP endpoint: on or off")
      ->check(CLI::IsMember({"on", "off"}))
      ->capture_default_str();
  app.add_option("--eras", eras,
                 "Protocol eras served on the endpoint: legacy (initialize and sessions, 2024-11-05..2025-11-25), "
                 "modern (stateless requests, 2026-07-28), or both")
      ->delimiter(',')
      ->check(CLI::IsMember({"legacy", "modern"}))
      ->capture_default_str()
      ->group("Protocol eras");
  app.add_flag("--lenient-version-header", config.lenient_version_header,
               "Serve the two MCP-Protocol-Version mismatches Claude's connector sends (docs/claude-connector.md); "
               "each is logged and counted")
      ->group("Protocol eras");
  app.add_option("--max-stateless-requests", config.max_stateless_requests,
                 "Most stateless requests in flight; more get 503")
      ->check(CLI::PositiveNumber)
      ->capture_default_str()
      ->group("Protocol eras");
  app.add_option("--max-subscriptions", config.max_subscriptions, "Most open subscriptions/listen streams; more get 503")
      ->check(CLI::PositiveNumber)
      ->capture_default_str()
      ->group("Protocol eras");
  app.add_option("--request-state-key-file", config.request_state_key_file,
                 "File of 64 hex digits (openssl rand -hex 32) keying requestState; default: a key made at start, "
                 "so states do not cross restarts or instances")
      ->check(CLI::ExistingFile)
      ->group("Protocol eras");
  duration("--request-state-ttl", config.request_state_ttl,
           "How long an InputRequiredResult's requestState stays valid", "Protocol eras");
  app.add_option("--sse-path", config.sse_path, "Legacy HTTP+SSE: GET here opens a session and its event stream")
      ->capture_default_str();
  app.add_option("--messages-path", config.messages_path,
                 "Legacy HTTP+SSE: clients POST here with ?sessionId=<id> (the endpoint event names it)")
      ->capture_default_str();
  app.add_option("--allowed-origins", config.allowed_origins,
                 "Origins allowed to call (comma-separated; '*' for any); a list replaces the default. "
                 "Empty: localhost origins when bound to loopback, else none")
      ->delimiter(',');
  app.add_option("--allowed-hosts", config.allowed_hosts,
                 "Host header values allowed (comma-separated, with or without :port; '*' for any); a list "
                 "replaces the default. Empty: localhost, 127.0.0.1, [::1] and --host when bound to loopback, else any")
      ->delimiter(',');
  app.add_option("--tools", tools,
                 "Built-in tool set to serve: demo (echo, sleep, add), conformance (what the MCP conformance suite calls) or none")
      ->check(CLI::IsMember({"demo", "conformance", "none"}))
      ->capture_default_str();

  duration("--drain-timeout", config.drain_timeout, "Grace window for in-flight requests of an ended session");
  app.add_option("--draining-status", config.draining_status,
                 "Status for new requests on a draining session: 503 (with Retry-After) or 404")
      ->check(CLI::IsMember({503, 404}))
      ->capture_default_str();
  duration("--retry-after", retry_after_ms, "Fixed Retry-After (rounded up to seconds); 0 computes it from the deadline");
  duration("--shutdown-timeout", config.shutdown_timeout, "Cap on the whole drain after SIGTERM/SIGINT");
  duration("--session-idle-timeout", config.session_idle_timeout, "Drain sessions idle this long (0: never)");
  app.add_option("--max-sessions", config.max_sessions, "Most open sessions; more initialize get 503")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--session-tombstones", config.session_tombstones, "Closed session ids remembered for logs")
      ->capture_default_str();

  app.add_option("--response-mode", response_mode, "Answer POSTs as an SSE stream or one JSON body")
      ->check(CLI::IsMember({"sse", "json"}))
      ->capture_default_str();
  app.add_option("--max-body-bytes", max_body, "Largest request body; larger gets 413")->check(size_validator())->capture_default_str();
  app.add_option("--max-json-depth", config.max_json_depth,
                 "Deepest nesting of arrays/objects in a request body; deeper gets 400")
      ->check(CLI::Range(4, 10000))
      ->capture_default_str();
  app.add_option("--max-queued-events", config.max_queued_events,
                 "Messages queued per stream before notifications are dropped")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  duration("--keepalive-interval", config.keepalive_interval, "SSE comment on idle streams after this long (0: off)");
  app.add_option("--event-log-size", config.event_log_size,
                 "SSE events each session keeps for clients resuming with Last-Event-ID (0: no resumability)")
      ->capture_default_str();
  app.add_option("--event-log-bytes", event_log_bytes, "Bytes of those events each session keeps at most")
      ->check(size_validator())
      ->capture_default_str();
  duration("--sse-retry", config.sse_retry, "Reconnect delay sent in the priming event's retry: field (2025-11-25)");
  duration("--resume-window", config.resume_window,
           "How long a call whose client left its stream keeps running for a resume (0: cancel at once)");

  app.add_option("--tool-threads", config.tool_threads, "Threads that run tool handlers")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  duration("--client-request-timeout", config.client_request_timeout,
           "How long a tool waits for the client to answer a sampling or elicitation request");
  app.add_option("--io-threads", http.io_threads,
                 "Event-loop threads that accept, parse and write (0: 1 on two cores or fewer, else cores - 1)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  app.add_option("--max-connections", http.max_connections,
                 "Most open connections; one more is answered 503 + Retry-After and closed")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-header-bytes", max_header, "Largest request line plus headers; larger gets 431")
      ->check(size_validator())
      ->capture_default_str();
  duration("--http-header-timeout", http.header_timeout,
           "A request head must arrive within this of its first byte (slow clients are cut off)");
  duration("--http-body-timeout", http.body_timeout, "A request body must arrive within this of its head");
  duration("--http-keepalive-timeout", http.keepalive_timeout,
           "Idle time before a keep-alive connection closes (keep it above your balancer's)");
  app.add_option("--http-keepalive-requests", http.keepalive_requests, "Requests per keep-alive connection")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  duration("--http-write-timeout", http.write_timeout,
           "Time allowed for one write to a client (a whole answer, or one chunk of a stream)");
  app.add_option("--listen-backlog", http.listen_backlog, "Pending connections the kernel may hold")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--tls-cert", http.tls_cert_file, "PEM certificate (chain) file: serve HTTPS instead of HTTP (with --tls-key)");
  app.add_option("--tls-key", http.tls_key_file, "PEM private key file of --tls-cert");
  // Flags of the thread-per-connection HTTP layer, refused with what replaces them.
  for (const auto& [flag, replacement] : kRemovedFlags) {
    app.add_option_function<std::string>(
           flag, [flag = flag, replacement = replacement](const std::string&) {
             throw CLI::ValidationError(std::string(flag), std::string("was removed in 0.2.0; ") + replacement);
           },
           "removed")
        ->group("");  // hidden from --help
  }

  // Gateway mode: graceway --stdio [flags] -- COMMAND [ARGS...]
  auto* stdio_flag = app.add_flag("--stdio", stdio,
                                  "Gateway mode: serve each session with its own child MCP server, the COMMAND after "
                                  "--, spoken to over stdio (docs/gateway.md)")
                         ->group("Gateway");
  app.add_option("command", gateway.command, "With --stdio: the MCP server to run per session, after --, as argv (no shell)")
      ->group("Gateway");
  app.add_option("--stdio-env", gateway.env,
                 "With --stdio: NAME=VALUE for the child's environment (repeatable; {session} becomes the session id); "
                 "children otherwise get only HOME, LOGNAME, PATH, SHELL, TERM and USER")
      ->group("Gateway")
      ->needs(stdio_flag);
  app.add_option("--stdio-max-line-bytes", stdio_max_line, "With --stdio: longest stdout line a child may write; longer ones are skipped")
      ->check(size_validator())
      ->capture_default_str()
      ->group("Gateway");
  duration("--stdio-stop-timeout", gateway.stop_timeout,
           "With --stdio: after a session closes, time to exit on EOF, then after SIGTERM, before SIGKILL", "Gateway");
  app.add_option("--max-children", gateway.max_children,
                 "With --stdio: most child MCP servers at once; one more initialize gets 503 + Retry-After")
      ->check(CLI::PositiveNumber)
      ->capture_default_str()
      ->group("Gateway");

  // Gateway mode: graceway --upstream URL [flags]
  auto* upstream_flag = app.add_option("--upstream", upstream.url,
                                       "Gateway mode: serve each session with a session of its own on this Streamable "
                                       "HTTP MCP server, http://HOST[:PORT]/PATH (docs/gateway.md)")
                            ->group("Gateway")
                            ->excludes(stdio_flag);
  app.add_option("--upstream-header", upstream.headers,
                 "With --upstream: 'Name: value' sent with every upstream request (repeatable); nothing of the "
                 "client's request is forwarded, its Authorization included")
      ->group("Gateway")
      ->needs(upstream_flag);
  const auto upstream_duration = [&](const char* name, std::chrono::milliseconds& target, const char* help) {
    duration(name, target, help, "Gateway")->needs(upstream_flag);
  };
  upstream_duration("--upstream-connect-timeout", upstream.connect_timeout,
                    "With --upstream: to resolve and connect; an upstream not reached by then fails the request (-32603)");
  upstream_duration("--upstream-idle-timeout", upstream.idle_timeout,
                    "With --upstream: longest silence (no byte, SSE comments count) while a request waits for its answer");
  upstream_duration("--upstream-delete-timeout", upstream.delete_timeout,
                    "With --upstream: after a session closes, for its last messages and then for the upstream DELETE");
  app.add_option("--upstream-max-message-bytes", upstream_max_message,
                 "With --upstream: largest upstream JSON answer or SSE event; a larger one fails its request")
      ->check(size_validator())
      ->capture_default_str()
      ->group("Gateway")
      ->needs(upstream_flag);

  // Security: docs/security.md
  app.add_option("--public-url", auth.public_url,
                 "The MCP endpoint's URL as clients reach it (https://HOST/mcp): the OAuth resource, the audience "
                 "tokens must name, the base of the metadata URL")
      ->group("Security");
  app.add_option("--auth-issuer", auth.issuers,
                 "Trusted OAuth authorization server, exactly as its metadata's issuer (repeatable); turns on bearer "
                 "token checks (needs --public-url)")
      ->group("Security");
  app.add_option("--auth-jwks", auth.jwks, "JWK Set URL or file used instead of each issuer's jwks_uri")->group("Security");
  app.add_option("--auth-audience", auth.audiences, "Audience accepted besides --public-url (repeatable)")->group("Security");
  app.add_option("--auth-scopes", auth.scopes,
                 "Scopes every token must hold (comma-separated); also the challenge's scope and scopes_supported")
      ->delimiter(',')
      ->group("Security");
  app.add_option("--auth-introspection-client-id", auth.introspection_client_id,
                 "Introspect opaque tokens (RFC 7662) as this client; its secret comes from "
                 "--auth-introspection-secret-file or GRACEWAY_INTROSPECTION_SECRET")
      ->group("Security");
  app.add_option("--auth-introspection-secret-file", introspection_secret_file,
                 "File holding the introspection client's secret (never on the command line)")
      ->group("Security");
  duration("--auth-leeway", auth_leeway, "Clock skew tolerated on exp, nbf and iat", "Security");
  duration("--auth-fetch-timeout", auth.fetch_timeout,
           "Bound on one metadata, JWK Set or introspection exchange with an authorization server", "Security");
  app.add_option("--api-keys", api_keys_file,
                 "File of API keys, one 'NAME SHA256HEX' per line (graceway hash-key NAME makes one); accepted as "
                 "Authorization: Bearer KEY or X-API-Key: KEY")
      ->group("Security");
  app.add_option("--rate-limit", limits.rate,
                 "Requests per principal (or client address when authless): N/s, N/min or N/h; more get 429 + Retry-After")
      ->group("Security");
  app.add_option("--rate-burst", limits.burst, "Requests a client may make at once after being idle (0: N of --rate-limit)")
      ->capture_default_str()
      ->group("Security");
  app.add_option("--rate-limit-unauthenticated", limits.unauthenticated_rate,
                 "With auth on: requests per client address that carry no valid credentials, N/s, N/min or N/h")
      ->group("Security");
  app.add_option("--trusted-proxies", limits.trusted_proxies,
                 "Peers whose X-Forwarded-For is believed, comma-separated CIDRs (e.g. 10.0.0.0/8,127.0.0.1)")
      ->group("Security");
  app.add_option("--rate-limit-clients", limits.max_clients, "Clients tracked per limiter; more are admitted untracked")
      ->check(CLI::PositiveNumber)
      ->capture_default_str()
      ->group("Security");

  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
  app.add_option("--log-format", log_format, "text or json (one JSON object per line)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "graceway: " << e.what() << '\n';
    return 2;
  }

  for (const auto& flag : durations) *flag.target = *parse_duration(flag.text);
  config.legacy_sse = legacy_sse == "on";
  config.serve_legacy = std::find(eras.begin(), eras.end(), "legacy") != eras.end();
  config.serve_modern = std::find(eras.begin(), eras.end(), "modern") != eras.end();
  config.retry_after = std::chrono::ceil<std::chrono::seconds>(retry_after_ms);
  config.max_body_bytes = static_cast<std::size_t>(*graceway::parse_size(max_body));
  http.max_header_bytes = static_cast<std::size_t>(*graceway::parse_size(max_header));
  config.event_log_bytes = static_cast<std::size_t>(*graceway::parse_size(event_log_bytes));
  config.response_mode = response_mode == "json" ? graceway::ResponseMode::json : graceway::ResponseMode::sse;
  gateway.max_line_bytes = static_cast<std::size_t>(*graceway::parse_size(stdio_max_line));
  gateway.max_stdin_bytes = std::max(gateway.max_stdin_bytes, 4 * gateway.max_line_bytes);
  upstream.max_message_bytes = static_cast<std::size_t>(*graceway::parse_size(upstream_max_message));
  const bool upstream_mode = app.count("--upstream") > 0;
  auto problems = graceway::validate(config);
  for (auto& p : graceway::validate(http)) problems.push_back(std::move(p));
  if (stdio) {
    for (auto& p : graceway::validate(gateway)) problems.push_back(std::move(p));
    if (app.count("--tools") > 0) problems.emplace_back("--tools and --stdio exclude each other: the child serves the tools");
  } else if (upstream_mode) {
    for (auto& p : graceway::validate(upstream)) problems.push_back(std::move(p));
    if (app.count("--tools") > 0) problems.emplace_back("--tools and --upstream exclude each other: the upstream serves the tools");
  }
  auth.leeway = std::chrono::ceil<std::chrono::seconds>(auth_leeway);
  if (!introspection_secret_file.empty()) {
    if (auto secret = read_file(introspection_secret_file)) {
      auth.introspection_client_secret = trim_line_end(*secret);
    } else {
      problems.push_back("--auth-introspection-secret-file: cannot read " + introspection_secret_file);
    }
    // NOLINTNEXTLINE(concurrency-mt-unsafe): read before any thread starts
  } else if (const char* secret = std::getenv("GRACEWAY_INTROSPECTION_SECRET"); secret != nullptr) {
    auth.introspection_client_secret = secret;
  }
  if (!api_keys_file.empty()) {
    if (auto text = read_file(api_keys_file)) {
      std::vector<std::string> errors;
      auth.api_keys = graceway::parse_api_keys(*text, errors);
      for (const auto& e : errors) problems.push_back(std::string("--api-keys ").append(api_keys_file).append(": ").append(e));
      if (errors.empty() && auth.api_keys.empty()) problems.push_back("--api-keys " + api_keys_file + " holds no key");
    } else {
      problems.push_back("--api-keys: cannot read " + api_keys_file);
    }
  }
  for (auto& p : graceway::validate(auth)) problems.push_back(std::move(p));
  for (auto& p : graceway::validate(limits)) problems.push_back(std::move(p));
  if (!stdio && !gateway.command.empty()) {
    problems.push_back("unexpected argument '" + gateway.command.front() + "' (a command to run needs --stdio)");
  }
  if (!problems.empty()) {
    std::cerr << "graceway: " << problems.front() << '\n';
    return 2;
  }

  graceway::logging::Options log_options;
  graceway::logging::parse_level(log_level, log_options.level);
  log_options.format = log_format == "json" ? graceway::logging::Format::json : graceway::logging::Format::text;
  graceway::logging::configure(log_options);

  graceway::Catalog catalog;
  if (tools == "demo") graceway::add_demo_tools(catalog.tools);
  if (tools == "conformance") graceway::add_conformance_set(catalog);

  graceway::Server::Options options;
  options.http = std::move(http);
  if (stdio) options.stdio = std::move(gateway);
  if (upstream_mode) options.upstream = std::move(upstream);
  options.auth = std::move(auth);
  options.rate_limit = std::move(limits);
  graceway::Server server(std::move(config), std::move(catalog), std::move(options));
  const int code = server.run();
  spdlog::shutdown();
  return code;
}
