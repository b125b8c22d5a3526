#pragma once
// Process-wide counters and gauges, exported on /metrics in Prometheus text format.
// Every field is an atomic: any thread may bump it, nobody needs a lock to read it.

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace graceway {

enum class EndReason : std::uint8_t;

struct Metrics {
  using counter = std::atomic<std::uint64_t>;
  using gauge = std::atomic<std::int64_t>;

  counter sessions_created{0};
  std::array<counter, 7> sessions_ended{};  // indexed by EndReason
  gauge sessions_open{0};
  gauge sessions_draining{0};

  counter requests{0};          // JSON-RPC requests admitted
  gauge requests_in_flight{0};
  counter requests_refused{0};  // answered with a 4xx/5xx before any work ran
  counter tool_calls{0};
  counter tool_calls_cancelled{0};
  counter deadline_errors{0};   // responses completed with the drain-deadline error

  gauge streams_open{0};        // HTTP response streams being served
  counter dropped_writes{0};    // messages for a client that had gone, or over the queue bound
  counter late_results{0};      // results that arrived after their request was answered
  gauge http_connections_open{0};
  counter http_connections_accepted{0};
  counter http_connections_rejected{0};  // over --max-connections: 503 and closed
  counter http_request_timeouts{0};      // head or body not in within its deadline (slowloris)
  counter http_write_timeouts{0};        // a client that stopped reading

  // Gateway mode (--stdio): the sessions' child MCP servers.
  gauge children_live{0};                // started and not yet reaped
  gauge children_draining{0};            // of those, whose session drains
  gauge children_stopping{0};            // whose session closed: EOF, SIGTERM, SIGKILL under way
  counter child_spawns{0};
  counter child_spawn_failures{0};       // --max-children, fork or exec failures
  counter child_crashes_exit{0};         // exited on its own before its session closed
  counter child_crashes_signal{0};       // killed by a signal before its session closed
  counter child_stdout_not_json{0};      // stdout lines that were not JSON-RPC messages: skipped
  counter child_stdout_oversized{0};     // stdout lines over --stdio-max-line-bytes: skipped
  counter child_stdin_overflows{0};      // messages refused: over --stdio-max-stdin-bytes unread
  counter child_stderr_lines{0};
  counter child_stderr_suppressed{0};    // stderr lines over the log rate: counted, not logged
  counter child_messages_undelivered{0}; // child messages no open stream could carry

  // Gateway mode (--upstream): the upstream Streamable HTTP server.
  gauge upstream_sessions{0};              // graceway sessions with an upstream session, until its DELETE is done
  std::array<counter, 5> upstream_responses{};  // upstream answers by status class, 1xx..5xx
  counter upstream_failures{0};            // exchanges with no answer: no connection, a broken one, a timeout
  counter upstream_sessions_lost{0};       // a live upstream session answered 404: the graceway session ended
  counter upstream_stream_resumes{0};      // GET + Last-Event-ID after a request's upstream stream broke
  counter upstream_messages_undelivered{0};// upstream messages no open client stream could carry, or unreadable

  // Authentication and limits (docs/security.md).
  std::array<counter, 4> auth_refusals{};  // by AuthRefusal: missing, invalid, scope, malformed
  counter auth_fetches{0};                 // metadata and JWK Set fetches of authorization servers
  counter auth_fetch_failures{0};          // of those (and introspections), with no usable answer
  counter auth_introspections{0};          // RFC 7662 calls (cache misses)
  counter auth_jobs_dropped{0};            // fetches refused because the fetch queue was full
  counter foreign_session_requests{0};     // a principal naming another principal's session: 404
  counter rate_limited{0};                 // 429s
  counter rate_limit_untracked{0};         // admitted without a bucket: the client table was full
  counter cors_preflights{0};              // OPTIONS preflights answered 204
  // The stateless 2026-07-28 era
  counter stateless_requests{0};           // stateless requests admitted
  gauge stateless_in_flight{0};
  counter stateless_cancelled{0};          // stopped because their client closed the response stream
  counter input_required_results{0};       // InputRequiredResults sent (a round of a multi-round request)
  gauge subscriptions_open{0};             // subscriptions/listen streams
  counter subscriptions_refused{0};        // refused: --max-subscriptions open
  counter version_headers_tolerated{0};    // mismatched MCP-Protocol-Version served under --lenient-version-header

  enum class AuthRefusal : std::uint8_t { missing, invalid, scope, malformed };
  void count_auth_refusal(AuthRefusal why) noexcept { ++auth_refusals[static_cast<std::size_t>(why)]; }

  void count_session_end(EndReason why) noexcept;
  [[nodiscard]] std::string render_prometheus() const;
};

}  // namespace graceway
