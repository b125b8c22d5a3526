#pragma once
// The front of every MCP request: what its headers and body say, checked in the order the
// transport answers them (Host, Origin, Content-Type, Accept, the JSON-RPC body,
// MCP-Protocol-Version).
// Pure functions of strings and settings, so the transport, the unit tests and the request-front
// fuzz target run exactly the same code. The session lookup and the admission table come after.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "graceway/config.hpp"
#include "graceway/errc.hpp"
#include "graceway/jsonrpc.hpp"
#include "session/session_registry.hpp"
#include "transport/admission.hpp"
#include "transport/reply_stream.hpp"

namespace graceway::front {

// The headers the transport decides on, as the client sent them; nullopt when absent.
struct Headers {
  std::optional<std::string_view> content_type;
  std::optional<std::string_view> accept;
  std::optional<std::string_view> origin;
  std::optional<std::string_view> host;
  std::optional<std::string_view> protocol_version;
  std::optional<std::string_view> session_id;
  std::optional<std::string_view> last_event_id;  // GET: resume the stream this event id names
  // Credentials (docs/security.md)
  std::optional<std::string_view> authorization{};
  bool authorization_repeated = false;  // more than one Authorization header
  std::optional<std::string_view> api_key{};  // X-API-Key
  // Every X-Forwarded-For header, joined with ", "; believed only from --trusted-proxies
  std::optional<std::string_view> forwarded_for{};
  // CORS preflight (OPTIONS)
  std::optional<std::string_view> cors_request_method{};   // Access-Control-Request-Method
  std::optional<std::string_view> cors_request_headers{};  // Access-Control-Request-Headers
  // 2026-07-28 routing headers: they repeat what the body says, so a proxy can route without
  // reading the body; the endpoint checks that they agree with it.
  std::optional<std::string_view> mcp_method{};  // Mcp-Method
  std::optional<std::string_view> mcp_name{};    // Mcp-Name
  // MCP-Protocol-Version, Mcp-Method or Mcp-Name sent more than once: which copy a proxy read is
  // unknowable, so such a request cannot be checked against its body.
  bool routing_header_repeated = false;
  // Every Mcp-Param-<name> header, in the order sent: <name> as sent (its case kept), the value.
  // Bounded by the head limit (--max-header-bytes).
  std::vector<std::pair<std::string_view, std::string_view>> mcp_params{};
};

// The settings the checks depend on.
struct Policy {
  ResponseMode response_mode = ResponseMode::sse;
  std::size_t max_json_depth = jsonrpc::kDefaultMaxDepth;
  std::vector<std::string> allowed_origins;
  std::vector<std::string> allowed_hosts;
  bool loopback_bound = true;
  std::string bound_host;  // --host, also an allowed Host by default on loopback

  [[nodiscard]] static Policy from(const ServerConfig& config);
};

// Why a request is answered with an error before it reaches a session.
struct Refusal {
  errc code = errc::invalid_request;
  std::optional<jsonrpc::RequestId> id;
  std::string detail;
  nlohmann::json data;  // JSON-RPC error data; null when none
};

// A POST body read and classified.
struct Post {
  std::optional<Refusal> refusal;                 // set: answer it and stop
  ReplyStream::Format format = ReplyStream::Format::sse;
  jsonrpc::Decoded decoded;
  admission::Body body = admission::Body::none;   // what it asks of the admission table
  std::optional<jsonrpc::RequestId> request_id;   // the id to put in an error about the whole POST
};

[[nodiscard]] Post read_post(const Headers& headers, std::string_view body, const Policy& policy);
// GET: Host and Origin, then Accept must take text/event-stream.
[[nodiscard]] std::optional<Refusal> check_get(const Headers& headers, const Policy& policy);
// The DNS-rebinding defence, the first check of every verb on the endpoint (DELETE, and the 405
// of the verbs we do not serve, run only this): Host, then Origin.
[[nodiscard]] std::optional<Refusal> check_caller(const Headers& headers, const Policy& policy);
[[nodiscard]] std::optional<Refusal> check_host(const Headers& headers, const Policy& policy);
[[nodiscard]] std::optional<Refusal> check_origin(const Headers& headers, const Policy& policy);
// Checked once the request has found its session: absent means the negotiated version.
[[nodiscard]] std::optional<Refusal> check_protocol_version(const Headers& headers,
                                                            const std::optional<jsonrpc::RequestId>& id);

// The session an Mcp-Session-Id names, as the admission table needs it: no id, unknown, closed
// (a tombstone, or a live session that closed just now), open or draining.
struct Target {
  admission::Lookup lookup = admission::Lookup::no_id;
  std::shared_ptr<Session> session;  // set for open and draining
};
// `owner`: the caller's principal (empty when authless). A live session another principal
// opened is reported exactly as an unknown one, with `foreign` set for the log and the metric.
struct OwnedTarget : Target {
  bool foreign = false;
};
[[nodiscard]] Target look_up(const SessionRegistry& registry, std::string_view session_id);
[[nodiscard]] OwnedTarget look_up(const SessionRegistry& registry, std::string_view session_id, std::string_view owner);

}  // namespace graceway::front
