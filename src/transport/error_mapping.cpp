#include "transport/error_mapping.hpp"

#include <array>
#include <string>

namespace graceway {
namespace {

struct Row {
  errc e;
  ErrorMapping m;
};

// Status codes follow spec-checklist.md section 1.8; "in-band" errors (HTTP 200) are JSON-RPC
// errors about one request inside an otherwise fine exchange.
constexpr std::array kTable{
    Row{errc::parse_error, {400, -32700, "Parse error"}},
    Row{errc::invalid_request, {400, -32600, "Invalid Request"}},
    Row{errc::method_not_found, {200, -32601, "Method not found"}},
    Row{errc::invalid_params, {200, -32602, "Invalid params"}},
    Row{errc::internal_error, {500, -32603, "Internal error"}},
    Row{errc::resource_not_found, {200, kResourceNotFound, "Resource not found"}},
    Row{errc::batch_not_supported, {400, -32600, "Invalid Request: batches are not supported after protocol version 2025-03-26"}},
    Row{errc::batched_initialize, {400, -32600, "Invalid Request: initialize must not be part of a batch"}},
    Row{errc::already_initialized, {400, -32600, "Invalid Request: session is already initialized"}},
    Row{errc::duplicate_request_id, {200, -32600, "Invalid Request: request id is already in flight on this session"}},
    Row{errc::session_required, {400, kServerError, "Bad Request: Mcp-Session-Id header is required"}},
    Row{errc::session_param_required, {400, kServerError, "Bad Request: the sessionId query parameter is required"}},
    Row{errc::session_not_found, {404, kSessionNotFound, "Session not found"}},
    Row{errc::session_draining, {503, kServerError, "Session is draining; retry later or re-initialize"}},
    Row{errc::session_terminated, {404, kSessionNotFound, "Session terminated"}},
    Row{errc::server_draining, {503, kServerError, "Server is shutting down"}},
    Row{errc::too_many_sessions, {503, kServerError, "Too many sessions"}},
    Row{errc::server_overloaded, {503, kServerError, "Server overloaded"}},
    Row{errc::stream_conflict, {409, kServerError, "Conflict: only one standalone SSE stream is allowed per session"}},
    Row{errc::unsupported_protocol_version, {400, kServerError, "Bad Request: Unsupported protocol version"}},
    Row{errc::not_acceptable, {406, kServerError, "Not Acceptable: Accept must allow application/json or text/event-stream"}},
    Row{errc::unsupported_media_type, {415, kServerError, "Unsupported Media Type: Content-Type must be application/json"}},
    Row{errc::payload_too_large, {413, kServerError, "Payload Too Large"}},
    Row{errc::forbidden_origin, {403, kServerError, "Forbidden: Origin not allowed"}},
    Row{errc::forbidden_host, {403, kServerError, "Forbidden: Host not allowed"}},
    Row{errc::method_not_allowed, {405, kServerError, "Method Not Allowed"}},
    Row{errc::not_found, {404, kServerError, "Not Found"}},
    Row{errc::header_too_large, {431, kServerError, "Request Header Fields Too Large"}},
    Row{errc::unsupported_framing, {501, kServerError, "Not Implemented: Transfer-Encoding must be exactly chunked"}},
    Row{errc::expectation_failed, {417, kServerError, "Expectation Failed: only 100-continue is supported"}},
    Row{errc::request_cancelled, {200, kServerError, "Request cancelled"}},
    Row{errc::drain_deadline, {200, kServerError, "The drain window ended before the request finished"}},
    Row{errc::server_unavailable, {503, kServerError, "The MCP server cannot be started now; retry later"}},
    Row{errc::server_failed, {502, -32603, "Internal error: the MCP server failed"}},
    Row{errc::credentials_required, {401, kServerError, "Unauthorized: authentication required"}},
    Row{errc::invalid_token, {401, kServerError, "Unauthorized: invalid credentials"}},
    Row{errc::insufficient_scope, {403, kServerError, "Forbidden: insufficient scope"}},
    Row{errc::malformed_credentials, {400, kServerError, "Bad Request: malformed credentials"}},
    Row{errc::rate_limited, {429, kServerError, "Too Many Requests"}},
    Row{errc::header_mismatch, {400, kHeaderMismatch, "Bad Request: header mismatch"}},
    Row{errc::missing_client_capability, {400, kMissingClientCapability, "Missing required client capability"}},
    Row{errc::unsupported_modern_version, {400, kUnsupportedProtocolVersion, "Unsupported protocol version"}},
    Row{errc::invalid_meta, {400, -32602, "Invalid params: _meta"}},
    Row{errc::modern_method_not_found, {404, -32601, "Method not found"}},
    Row{errc::modern_header_without_meta, {400, -32602, "Invalid params: MCP-Protocol-Version names 2026-07-28 or later but params._meta has no io.modelcontextprotocol/protocolVersion"}},
    Row{errc::invalid_request_state, {200, -32602, "Invalid params: requestState"}},
};

constexpr bool table_complete() {
  for (std::size_t i = 0; i < kTable.size(); ++i) {
    if (static_cast<std::size_t>(kTable[i].e) != i + 1) return false;
  }
  return kTable.size() == static_cast<std::size_t>(errc::invalid_request_state);
}
static_assert(table_complete(), "error table must list every errc, in declaration order");

}  // namespace

const ErrorMapping& mapping_of(errc e) noexcept {
  return kTable[static_cast<std::size_t>(e) - 1].m;
}

int modern_status_of(const nlohmann::json& response) {
  const auto error = response.find("error");
  if (error == response.end() || !error->is_object()) return 200;
  const auto code = error->find("code");
  if (code == error->end() || !code->is_number_integer()) return 200;
  switch (code->get<int>()) {
    case -32601: return mapping_of(errc::modern_method_not_found).http_status;
    case kHeaderMismatch: return mapping_of(errc::header_mismatch).http_status;
    case kMissingClientCapability: return mapping_of(errc::missing_client_capability).http_status;
    case kUnsupportedProtocolVersion: return mapping_of(errc::unsupported_modern_version).http_status;
    default: return 200;
  }
}

nlohmann::json error_response(errc e, const std::optional<jsonrpc::RequestId>& id, std::string_view detail,
                              const nlohmann::json& data) {
  const auto& m = mapping_of(e);
  std::string message(m.message);
  if (!detail.empty()) message.append(": ").append(detail);
  return jsonrpc::make_error(id, m.jsonrpc_code, message, data);
}

}  // namespace graceway
