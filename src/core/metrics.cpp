#include "graceway/metrics.hpp"

#include <array>
#include <sstream>

#include "graceway/logging.hpp"
#include "graceway/session_state.hpp"

namespace graceway {

void Metrics::count_session_end(EndReason why) noexcept {
  const auto index = static_cast<std::size_t>(why);
  if (index < sessions_ended.size()) ++sessions_ended[index];
}

std::string Metrics::render_prometheus() const {
  std::ostringstream out;
  auto emit = [&](const char* name, const char* type, const char* help, auto value) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n'
        << name << ' ' << value << '\n';
  };
  emit("graceway_sessions_created_total", "counter", "Sessions opened by initialize.",
       sessions_created.load());
  out << "# HELP graceway_sessions_ended_total Sessions that reached closed, by reason.\n"
      << "# TYPE graceway_sessions_ended_total counter\n";
  for (std::size_t i = 0; i < sessions_ended.size(); ++i) {
    out << "graceway_sessions_ended_total{reason=\"" << to_string(static_cast<EndReason>(i))
        << "\"} " << sessions_ended[i].load() << '\n';
  }
  emit("graceway_sessions_open", "gauge", "Sessions in state open.", sessions_open.load());
  emit("graceway_sessions_draining", "gauge", "Sessions in state draining.", sessions_draining.load());
  emit("graceway_requests_total", "counter", "JSON-RPC requests admitted.", requests.load());
  emit("graceway_requests_in_flight", "gauge", "Admitted requests not finished yet.",
       requests_in_flight.load());
  emit("graceway_requests_refused_total", "counter", "Requests answered with an HTTP error.",
       requests_refused.load());
  emit("graceway_tool_calls_total", "counter", "tools/call requests run.", tool_calls.load());
  emit("graceway_tool_calls_cancelled_total", "counter", "tools/call requests cancelled.",
       tool_calls_cancelled.load());
  emit("graceway_deadline_errors_total", "counter",
       "Responses completed with an error because the drain window ended.", deadline_errors.load());
  emit("graceway_streams_open", "gauge", "HTTP response streams being served.", streams_open.load());
  emit("graceway_dropped_writes_total", "counter",
       "Messages dropped because the client had gone or the stream queue was full.",
       dropped_writes.load());
  emit("graceway_late_results_total", "counter",
       "Results that arrived after their request had been answered.", late_results.load());
  emit("graceway_http_connections_open", "gauge", "Open HTTP connections.", http_connections_open.load());
  emit("graceway_http_connections_total", "counter", "HTTP connections accepted.", http_connections_accepted.load());
  emit("graceway_http_connections_rejected_total", "counter",
       "Connections answered 503 and closed because --max-connections were open.", http_connections_rejected.load());
  emit("graceway_http_request_timeouts_total", "counter",
       "Connections closed because a request head or body did not arrive within its deadline.",
       http_request_timeouts.load());
  emit("graceway_http_write_timeouts_total", "counter",
       "Connections closed because the client took no data for --http-write-timeout.", http_write_timeouts.load());
  emit("graceway_children_live", "gauge", "Gateway: child MCP servers started and not yet reaped.", children_live.load());
  emit("graceway_children_draining", "gauge", "Gateway: child MCP servers whose session is draining.",
       children_draining.load());
  emit("graceway_children_stopping", "gauge",
       "Gateway: child MCP servers whose session closed, being stopped (EOF, SIGTERM, SIGKILL).", children_stopping.load());
  emit("graceway_child_spawns_total", "counter", "Gateway: child MCP servers started.", child_spawns.load());
  emit("graceway_child_spawn_failures_total", "counter",
       "Gateway: child MCP servers that could not be started (--max-children, fork or exec).", child_spawn_failures.load());
  out << "# HELP graceway_child_crashes_total Gateway: child MCP servers that ended before their session closed.\n"
      << "# TYPE graceway_child_crashes_total counter\n"
      << "graceway_child_crashes_total{cause=\"exit\"} " << child_crashes_exit.load() << '\n'
      << "graceway_child_crashes_total{cause=\"signal\"} " << child_crashes_signal.load() << '\n';
  emit("graceway_child_stdout_not_json_total", "counter",
       "Gateway: lines a child wrote to stdout that were not JSON-RPC messages (skipped).", child_stdout_not_json.load());
  emit("graceway_child_stdout_oversized_total", "counter",
       "Gateway: stdout lines over --stdio-max-line-bytes (skipped).", child_stdout_oversized.load());
  emit("graceway_child_stdin_overflows_total", "counter",
       "Gateway: messages refused because a child left --stdio-max-stdin-bytes unread.", child_stdin_overflows.load());
  emit("graceway_child_stderr_lines_total", "counter", "Gateway: stderr lines children wrote.", child_stderr_lines.load());
  emit("graceway_child_stderr_suppressed_total", "counter",
       "Gateway: stderr lines not logged because a child wrote over 50 a second.", child_stderr_suppressed.load());
  emit("graceway_child_messages_undelivered_total", "counter",
       "Gateway: messages from a child that no open client stream could carry.", child_messages_undelivered.load());
  emit("graceway_upstream_sessions", "gauge",
       "Gateway: sessions with an upstream session, until the upstream DELETE is done.", upstream_sessions.load());
  out << "# HELP graceway_upstream_responses_total Gateway: upstream HTTP answers by status class.\n"
      << "# TYPE graceway_upstream_responses_total counter\n";
  for (std::size_t i = 0; i < upstream_responses.size(); ++i) {
    out << "graceway_upstream_responses_total{status=\"" << i + 1 << "xx\"} " << upstream_responses[i].load() << '\n';
  }
  emit("graceway_upstream_failures_total", "counter",
       "Gateway: upstream exchanges with no answer (no connection, a broken one, a timeout).", upstream_failures.load());
  emit("graceway_upstream_sessions_lost_total", "counter",
       "Gateway: upstream sessions the upstream forgot (404); their graceway sessions ended.", upstream_sessions_lost.load());
  emit("graceway_upstream_stream_resumes_total", "counter",
       "Gateway: upstream request streams resumed with GET + Last-Event-ID.", upstream_stream_resumes.load());
  emit("graceway_upstream_messages_undelivered_total", "counter",
       "Gateway: upstream messages that no open client stream could carry, or that were unreadable.",
       upstream_messages_undelivered.load());
  out << "# HELP graceway_auth_refusals_total Requests refused for their credentials, by reason.\n"
      << "# TYPE graceway_auth_refusals_total counter\n";
  constexpr std::array<const char*, 4> kAuthReasons{"missing", "invalid", "scope", "malformed"};
  for (std::size_t i = 0; i < kAuthReasons.size(); ++i) {
    out << "graceway_auth_refusals_total{reason=\"" << kAuthReasons[i] << "\"} " << auth_refusals[i].load() << '\n';
  }
  emit("graceway_auth_fetches_total", "counter", "Authorization server metadata and JWK Set fetches.", auth_fetches.load());
  emit("graceway_auth_fetch_failures_total", "counter",
       "Authorization server fetches and introspections with no usable answer.", auth_fetch_failures.load());
  emit("graceway_auth_introspections_total", "counter", "Token introspection calls (cache misses).",
       auth_introspections.load());
  emit("graceway_auth_jobs_dropped_total", "counter", "Authorization server fetches refused: the fetch queue was full.",
       auth_jobs_dropped.load());
  emit("graceway_foreign_session_requests_total", "counter",
       "Requests naming a session another principal opened (answered 404).", foreign_session_requests.load());
  emit("graceway_rate_limited_total", "counter", "Requests answered 429.", rate_limited.load());
  emit("graceway_rate_limit_untracked_total", "counter",
       "Requests admitted without a rate-limit bucket because the client table was full.", rate_limit_untracked.load());
  emit("graceway_cors_preflights_total", "counter", "CORS preflights answered.", cors_preflights.load());
  emit("graceway_stateless_requests_total", "counter", "Stateless (2026-07-28) requests admitted.", stateless_requests.load());
  emit("graceway_stateless_requests_in_flight", "gauge", "Stateless requests in flight.", stateless_in_flight.load());
  emit("graceway_stateless_requests_cancelled_total", "counter",
       "Stateless requests stopped because their client closed the response stream.", stateless_cancelled.load());
  emit("graceway_input_required_results_total", "counter", "InputRequiredResults sent.", input_required_results.load());
  emit("graceway_subscriptions_open", "gauge", "Open subscriptions/listen streams.", subscriptions_open.load());
  emit("graceway_subscriptions_refused_total", "counter", "subscriptions/listen refused: --max-subscriptions open.",
       subscriptions_refused.load());
  emit("graceway_version_headers_tolerated_total", "counter",
       "Requests whose MCP-Protocol-Version disagreed with the era and were served under --lenient-version-header.",
       version_headers_tolerated.load());
  emit("graceway_log_errors_total", "counter", "Error-level log lines.", logging::error_lines());
  return out.str();
}

}  // namespace graceway
