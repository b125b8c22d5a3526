#pragma once
// Every timeout and limit of the server. main.cpp fills this from flags; library users fill it
// in code. Defaults are the flags' defaults (docs/configuration.md).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace graceway {

enum class ResponseMode { sse, json };

struct ServerConfig {
  // Listener
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0 picks a free port (see Server::port())
  std::string path = "/mcp";
  // Legacy HTTP+SSE transport (protocol 2024-11-05) beside the MCP endpoint: GET `sse_path` opens
  // a session and its stream; the client POSTs to `messages_path`?sessionId=<id>.
  bool legacy_sse = true;
  std::string sse_path = "/sse";
  std::string messages_path = "/messages";
  // DNS-rebinding defence. A non-empty list replaces the default; "*" allows any.
  std::vector<std::string> allowed_origins;  // empty: localhost origins when bound to loopback, else none
  std::vector<std::string> allowed_hosts;    // empty: localhost Host values when bound to loopback, else any

  // Session lifecycle
  std::chrono::milliseconds drain_timeout{std::chrono::seconds(30)};
  int draining_status = 503;                     // 503 (+ Retry-After) or 404
  std::chrono::seconds retry_after{0};           // 0: computed from the deadline
  std::chrono::milliseconds shutdown_timeout{std::chrono::seconds(25)};
  std::chrono::milliseconds session_idle_timeout{std::chrono::minutes(10)};  // 0: never
  std::size_t max_sessions = 10000;              // open sessions; draining ones do not count
  std::size_t session_tombstones = 10000;        // closed ids remembered for logs

  // Requests and streams
  ResponseMode response_mode = ResponseMode::sse;
  std::size_t max_body_bytes = std::size_t{4} * 1024 * 1024;
  std::size_t max_json_depth = 64;               // nesting of arrays/objects in a request body
  std::size_t max_queued_events = 1024;          // per stream; extra notifications are dropped
  std::chrono::milliseconds keepalive_interval{std::chrono::seconds(15)};  // 0: off
  // Resumability (spec 1.5): SSE events carry ids "<stream>-<seq>" and each session keeps its
  // last `event_log_size` events, at most `event_log_bytes` of them, for GET + Last-Event-ID
  // (size 0: off). A response stream delivered whole is not kept. `sse_retry` goes in the
  // priming event's retry: field (2025-11-25 sessions). A POST stream whose client left keeps its
  // requests running for `resume_window` in case the client resumes (the spec: a disconnect
  // SHOULD NOT by itself mean cancellation); 0 cancels them at once.
  std::size_t event_log_size = 256;
  std::size_t event_log_bytes = std::size_t{1} << 20;
  std::chrono::milliseconds sse_retry{1000};
  std::chrono::milliseconds resume_window{std::chrono::seconds(10)};

  // Tools
  std::size_t tool_threads = 16;
  // How long a tool waits for the client to answer a request the server sent it (sampling,
  // elicitation, roots) when the tool names no timeout of its own.
  std::chrono::milliseconds client_request_timeout{std::chrono::seconds(60)};

  // Protocol eras (docs/spec-rules.md, "Protocol eras"): --eras legacy,modern
  bool serve_legacy = true;   // initialize opens a session (2024-11-05 .. 2025-11-25)
  bool serve_modern = true;   // stateless requests carrying _meta (2026-07-28)
  // Serves the two MCP-Protocol-Version mismatches Claude's connector has been seen sending,
  // which the spec says to refuse: a 2026-07-28 body under a legacy header, and a live legacy
  // session's request under a 2026-07-28 header. Each is logged at info and counted.
  bool lenient_version_header = false;
  std::size_t max_stateless_requests = 4096;  // in flight at once; more get 503
  std::size_t max_subscriptions = 1024;       // open subscriptions/listen streams; more get 503
  // The HMAC key that protects requestState in InputRequiredResults: a file of 64 hex digits;
  // empty: a key generated at start (states do not survive a restart or cross instances).
  std::string request_state_key_file;
  std::chrono::milliseconds request_state_ttl{std::chrono::minutes(10)};  // how long a round may take
  // The HTTP engine's own settings (threads, connection limits, deadlines, TLS) are in
  // HttpOptions (graceway/http_options.hpp), passed through Server::Options.
};

// Returns one message per invalid field, each naming its flag ("--max-sessions must be ...").
[[nodiscard]] std::vector<std::string> validate(const ServerConfig& config);

}  // namespace graceway
