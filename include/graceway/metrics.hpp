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
  std::array<counter, 6> sessions_ended{};  // indexed by EndReason
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

  void count_session_end(EndReason why) noexcept;
  [[nodiscard]] std::string render_prometheus() const;
};

}  // namespace graceway
