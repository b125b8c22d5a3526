#include "transport/request_front.hpp"

#include "mcp/protocol.hpp"
#include "transport/http_headers.hpp"

namespace graceway::front {
namespace {

using admission::Body;
using Format = ReplyStream::Format;

// What the body asks of the admission table. A batch element that is not a valid message needs
// an answer (JSON-RPC 2.0 section 6: one -32600 error per invalid element, in the response
// array), so such a batch is run like one holding a request, never accepted with a silent 202.
Body body_kind(const jsonrpc::Decoded& decoded) {
  bool needs_answer = false;
  for (const auto& item : decoded.items) {
    if (item.kind == jsonrpc::Kind::invalid) needs_answer = true;
    if (item.kind != jsonrpc::Kind::request) continue;
    if (!decoded.batch && item.method == "initialize") return Body::initialize;
    needs_answer = true;
  }
  return needs_answer ? Body::request : Body::notification_or_response;
}

bool contains_initialize(const jsonrpc::Decoded& decoded) {
  for (const auto& item : decoded.items) {
    if ((item.kind == jsonrpc::Kind::request || item.kind == jsonrpc::Kind::notification) &&
        item.method == "initialize") {
      return true;
    }
  }
  return false;
}

Refusal refusal(errc code, std::string detail = {}, std::optional<jsonrpc::RequestId> id = std::nullopt,
                nlohmann::json data = nullptr) {
  return {.code = code, .id = std::move(id), .detail = std::move(detail), .data = std::move(data)};
}

std::optional<jsonrpc::RequestId> single_request_id(const jsonrpc::Decoded& decoded) {
  if (decoded.batch || decoded.items.size() != 1) return std::nullopt;
  return decoded.items.front().id;
}

// Empty entries (`--allowed-hosts ""`) are dropped, so they leave the default in place rather
// than turning into a list that allows nothing.
std::vector<std::string> non_empty(std::vector<std::string> list) {
  std::erase_if(list, [](const std::string& entry) { return entry.empty(); });
  return list;
}

}  // namespace

Policy Policy::from(const ServerConfig& config) {
  return {.response_mode = config.response_mode,
          .max_json_depth = config.max_json_depth,
          .allowed_origins = non_empty(config.allowed_origins),
          .allowed_hosts = non_empty(config.allowed_hosts),
          .loopback_bound = http::is_loopback_host(config.host),
          .bound_host = config.host};
}

std::optional<Refusal> check_caller(const Headers& headers, const Policy& policy) {
  if (auto refusal = check_host(headers, policy)) return refusal;
  return check_origin(headers, policy);
}

std::optional<Refusal> check_host(const Headers& headers, const Policy& policy) {
  if (http::host_allowed(headers.host, policy.allowed_hosts, policy.loopback_bound, policy.bound_host)) {
    return std::nullopt;
  }
  return refusal(errc::forbidden_host, headers.host ? std::string{} : "no Host header");
}

std::optional<Refusal> check_origin(const Headers& headers, const Policy& policy) {
  if (!headers.origin || http::origin_allowed(*headers.origin, policy.allowed_origins, policy.loopback_bound)) {
    return std::nullopt;
  }
  return refusal(errc::forbidden_origin);
}

std::optional<Refusal> check_get(const Headers& headers, const Policy& policy) {
  if (auto refusal = check_caller(headers, policy)) return refusal;
  if (!http::parse_accept(headers.accept.value_or("")).sse) {
    return refusal(errc::not_acceptable, "GET needs Accept: text/event-stream");
  }
  return std::nullopt;
}

std::optional<Refusal> check_protocol_version(const Headers& headers, const std::optional<jsonrpc::RequestId>& id) {
  if (!headers.protocol_version || mcp::is_supported_version(*headers.protocol_version)) return std::nullopt;
  const std::string requested(*headers.protocol_version);
  return refusal(errc::unsupported_protocol_version, requested, id,
                 {{"supported", mcp::version_list(mcp::kSupportedVersions)}, {"requested", requested}});
}

Target look_up(const SessionRegistry& registry, std::string_view session_id) {
  using admission::Lookup;
  if (session_id.empty()) return {Lookup::no_id, nullptr};
  auto found = registry.find(session_id);
  switch (found.lookup) {
    case SessionRegistry::Lookup::unknown: return {Lookup::unknown, nullptr};
    case SessionRegistry::Lookup::closed: return {Lookup::closed, nullptr};
    case SessionRegistry::Lookup::live: break;
  }
  switch (found.session->state()) {
    case SessionState::open: return {Lookup::open, std::move(found.session)};
    case SessionState::draining: return {Lookup::draining, std::move(found.session)};
    case SessionState::closed: return {Lookup::closed, nullptr};
  }
  return {Lookup::unknown, nullptr};
}

OwnedTarget look_up(const SessionRegistry& registry, std::string_view session_id, std::string_view owner) {
  auto target = look_up(registry, session_id);
  if (target.session && target.session->owner() != owner) {
    // Byte for byte the answer to an unknown id, so ids cannot be probed across principals, and
    // the session itself is left alone (a foreign DELETE must not end it).
    return {{admission::Lookup::unknown, nullptr}, true};
  }
  return {std::move(target), false};
}

Post read_post(const Headers& headers, std::string_view body, const Policy& policy) {
  Post post;
  if (auto refusal = check_caller(headers, policy)) {
    post.refusal = std::move(refusal);
    return post;
  }
  if (!http::is_json_content_type(headers.content_type.value_or(""))) {
    post.refusal = refusal(errc::unsupported_media_type);
    return post;
  }
  const auto accept = http::parse_accept(headers.accept.value_or(""));
  if (!accept.json && !accept.sse) {
    post.refusal = refusal(errc::not_acceptable);
    return post;
  }
  // The configured mode when the client takes both; otherwise what it takes (SDK clients are
  // required to send both, some send less).
  post.format = policy.response_mode == ResponseMode::json ? Format::json : Format::sse;
  if (!accept.json) post.format = Format::sse;
  if (!accept.sse) post.format = Format::json;

  post.decoded = jsonrpc::decode(body, policy.max_json_depth);
  const auto& decoded = post.decoded;
  if (decoded.fatal) {
    post.refusal = refusal(decoded.fatal->problem, decoded.fatal->detail);
    return post;
  }
  if (!decoded.batch && decoded.items.front().kind == jsonrpc::Kind::invalid) {
    const auto& bad = decoded.items.front();
    post.refusal = refusal(bad.problem, bad.detail, bad.id);
    return post;
  }
  if (decoded.batch && contains_initialize(decoded)) {
    post.refusal = refusal(errc::batched_initialize);
    return post;
  }
  post.body = body_kind(decoded);
  post.request_id = single_request_id(decoded);
  return post;
}

}  // namespace graceway::front
