#include "graceway/errc.hpp"

#include <string>

namespace graceway {
namespace {

class GracewayCategory final : public std::error_category {
public:
  [[nodiscard]] const char* name() const noexcept override { return "graceway"; }
  [[nodiscard]] std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::parse_error: return "parse error";
      case errc::invalid_request: return "invalid request";
      case errc::method_not_found: return "method not found";
      case errc::invalid_params: return "invalid params";
      case errc::internal_error: return "internal error";
      case errc::resource_not_found: return "resource not found";
      case errc::batch_not_supported: return "batch not supported";
      case errc::batched_initialize: return "initialize must not be batched";
      case errc::already_initialized: return "session already initialized";
      case errc::duplicate_request_id: return "request id already in flight";
      case errc::session_required: return "session id required";
      case errc::session_param_required: return "sessionId query parameter required";
      case errc::session_not_found: return "session not found";
      case errc::session_draining: return "session draining";
      case errc::session_terminated: return "session terminated";
      case errc::server_draining: return "server shutting down";
      case errc::too_many_sessions: return "too many sessions";
      case errc::server_overloaded: return "server overloaded";
      case errc::stream_conflict: return "stream already open";
      case errc::unsupported_protocol_version: return "unsupported protocol version";
      case errc::not_acceptable: return "not acceptable";
      case errc::unsupported_media_type: return "unsupported media type";
      case errc::payload_too_large: return "payload too large";
      case errc::forbidden_origin: return "origin not allowed";
      case errc::forbidden_host: return "host not allowed";
      case errc::method_not_allowed: return "method not allowed";
      case errc::not_found: return "not found";
      case errc::header_too_large: return "request header too large";
      case errc::unsupported_framing: return "unsupported transfer encoding";
      case errc::expectation_failed: return "expectation failed";
      case errc::request_cancelled: return "request cancelled";
      case errc::drain_deadline: return "drain deadline passed";
      case errc::server_unavailable: return "MCP server unavailable";
      case errc::server_failed: return "MCP server failed";
      case errc::credentials_required: return "credentials required";
      case errc::invalid_token: return "invalid credentials";
      case errc::insufficient_scope: return "insufficient scope";
      case errc::malformed_credentials: return "malformed credentials";
      case errc::rate_limited: return "rate limited";
      case errc::header_mismatch: return "header mismatch";
      case errc::missing_client_capability: return "missing required client capability";
      case errc::unsupported_modern_version: return "unsupported protocol version";
      case errc::invalid_meta: return "invalid _meta";
      case errc::modern_method_not_found: return "method not found";
      case errc::modern_header_without_meta: return "modern version header without _meta";
      case errc::invalid_request_state: return "invalid requestState";
    }
    return "unknown graceway error";
  }
};

}  // namespace

const std::error_category& graceway_category() noexcept {
  static const GracewayCategory category;
  return category;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), graceway_category()};
}

}  // namespace graceway
