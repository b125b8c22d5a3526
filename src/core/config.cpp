#include "graceway/config.hpp"

namespace graceway {

std::vector<std::string> validate(const ServerConfig& c) {
  std::vector<std::string> problems;
  auto require = [&](bool ok, const char* message) {
    if (!ok) problems.emplace_back(message);
  };
  require(!c.host.empty(), "--host must not be empty");
  require(!c.path.empty() && c.path.front() == '/', "--path must start with '/'");
  require(c.path.find_first_of("?#") == std::string::npos, "--path must not contain '?' or '#'");
  auto valid_path = [&](const std::string& p) {
    return !p.empty() && p.front() == '/' && p.find_first_of("?#") == std::string::npos;
  };
  if (c.legacy_sse) {
    require(valid_path(c.sse_path), "--sse-path must start with '/' and not contain '?' or '#'");
    require(valid_path(c.messages_path), "--messages-path must start with '/' and not contain '?' or '#'");
    require(c.sse_path != c.path && c.messages_path != c.path && c.sse_path != c.messages_path,
            "--sse-path, --messages-path and --path must differ");
  }
  require(c.serve_legacy || c.serve_modern, "--eras must name legacy, modern or both");
  require(c.max_stateless_requests > 0, "--max-stateless-requests must be at least 1");
  require(c.max_subscriptions > 0, "--max-subscriptions must be at least 1");
  require(c.request_state_ttl.count() > 0, "--request-state-ttl must be greater than 0");
  require(c.drain_timeout.count() > 0, "--drain-timeout must be greater than 0");
  require(c.draining_status == 503 || c.draining_status == 404, "--draining-status must be 503 or 404");
  require(c.retry_after.count() >= 0, "--retry-after must not be negative");
  require(c.shutdown_timeout.count() > 0, "--shutdown-timeout must be greater than 0");
  require(c.session_idle_timeout.count() >= 0, "--session-idle-timeout must not be negative");
  require(c.max_sessions > 0, "--max-sessions must be at least 1");
  require(c.max_body_bytes > 0, "--max-body-bytes must be at least 1");
  require(c.max_json_depth >= 4 && c.max_json_depth <= 10000, "--max-json-depth must be between 4 and 10000");
  require(c.max_queued_events > 0, "--max-queued-events must be at least 1");
  require(c.keepalive_interval.count() >= 0, "--keepalive-interval must not be negative");
  require(c.sse_retry.count() >= 0, "--sse-retry must not be negative");
  require(c.resume_window.count() >= 0, "--resume-window must not be negative");
  require(c.tool_threads >= 1, "--tool-threads must be at least 1");
  require(c.client_request_timeout.count() > 0, "--client-request-timeout must be greater than 0");
  return problems;
}

}  // namespace graceway
