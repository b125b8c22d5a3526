#pragma once
// Errors on the request path are values. Each errc maps to exactly one HTTP status and one
// JSON-RPC code in src/transport/error_mapping.cpp; nothing else picks status codes.

#include <string_view>
#include <system_error>

namespace graceway {

enum class errc {
  // JSON-RPC 2.0 standard errors
  parse_error = 1,         // body is not JSON
  invalid_request,         // not a valid JSON-RPC message (null id, missing method, ...)
  method_not_found,        // unknown method (answered in-band)
  invalid_params,          // bad params, unknown tool (answered in-band)
  internal_error,          // a handler failed unexpectedly (answered in-band)
  resource_not_found,      // resources/read of a URI nobody serves (MCP's -32002, in-band)
  // MCP / Streamable HTTP transport errors
  batch_not_supported,     // JSON array on a session that negotiated 2025-06-18 or later
  batched_initialize,      // initialize inside a batch
  already_initialized,     // initialize on a session that already has one
  duplicate_request_id,    // a request id that is still in flight on this session
  session_required,        // no Mcp-Session-Id on a request that needs one
  session_param_required,  // legacy HTTP+SSE: POST to the messages path without ?sessionId=
  session_not_found,       // unknown or closed session id
  session_draining,        // session is draining: 503 + Retry-After
  session_terminated,      // session is draining and --draining-status 404 is set
  server_draining,         // process shutdown: no new sessions, 503 + Retry-After
  too_many_sessions,       // --max-sessions reached: 503 + Retry-After
  server_overloaded,       // --max-connections open: 503 + Retry-After, then the connection closes
  stream_conflict,         // a second standalone GET stream on one session
  unsupported_protocol_version,
  not_acceptable,          // Accept header allows none of our media types
  unsupported_media_type,  // Content-Type is not application/json
  payload_too_large,       // body over --max-body-bytes
  forbidden_origin,        // Origin header present and not allowed
  forbidden_host,          // Host header absent or not allowed (DNS-rebinding defence)
  method_not_allowed,      // PUT, PATCH, ... on the MCP endpoint
  not_found,               // a path we do not serve
  header_too_large,        // request head over --max-header-bytes
  unsupported_framing,     // a Transfer-Encoding other than exactly chunked (request smuggling defence)
  expectation_failed,      // an Expect other than 100-continue
  // Ends of a request that never produced its own result
  request_cancelled,       // notifications/cancelled (JSON mode needs a body)
  drain_deadline,          // the session's grace window ended before the tool finished
  // Gateway mode: the session's MCP server (a stdio child)
  server_unavailable,      // no child can start now (--max-children, EAGAIN, EMFILE): 503 + Retry-After
  server_failed,           // the child could not be started, or exited, or cannot take input (in-band -32603)
  // Authentication and limits (docs/security.md): each 401 and 403 carries a WWW-Authenticate challenge
  credentials_required,    // no credentials on a request that needs them: 401
  invalid_token,           // a token or API key refused (bad, expired, not for us, keys unavailable): 401
  insufficient_scope,      // a valid token without a scope the endpoint requires: 403
  malformed_credentials,   // two Authorization headers, a scheme other than Bearer, a token in the URL: 400
  rate_limited,            // the principal's (or address's) budget is spent: 429 + Retry-After
  // The stateless 2026-07-28 era (docs/spec-rules.md, "Protocol eras"): whole 4xx answers, but for
  // invalid_request_state, which answers one request in-band
  header_mismatch,            // MCP-Protocol-Version, Mcp-Method, Mcp-Name or Mcp-Param-* missing or not the body's: 400, -32020
  missing_client_capability,  // the request needs a client capability its _meta did not declare: 400, -32021
  unsupported_modern_version, // a protocol version in _meta that is not served: 400, -32022 with supported/requested
  invalid_meta,               // params._meta lacks protocolVersion or clientCapabilities (or a field is invalid): 400, -32602
  modern_method_not_found,    // a method the modern era does not have (initialize, ping, ...) or we do not serve: 404, -32601
  modern_header_without_meta, // MCP-Protocol-Version names the modern era but the body has no _meta claim: 400, -32602
  invalid_request_state,      // requestState tampered with, expired or not for this request: in-band -32602
};

const std::error_category& graceway_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

}  // namespace graceway

template <>
struct std::is_error_code_enum<graceway::errc> : std::true_type {};
