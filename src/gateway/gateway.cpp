#include "gateway/gateway.hpp"

#include <spdlog/spdlog.h>

#include "graceway/logging.hpp"
#include "mcp/protocol.hpp"

namespace graceway::gateway {
namespace {

std::shared_ptr<spdlog::logger> log() {
  static const auto logger = logging::get("graceway.gateway");
  return logger;
}

}  // namespace

void FailureStreak::failed(std::string why) {
  std::lock_guard lock(mu_);
  ++in_a_row_;
  last_ = std::move(why);
}

void FailureStreak::succeeded() {
  std::lock_guard lock(mu_);
  in_a_row_ = 0;
}

std::optional<std::string> FailureStreak::unready_reason(const std::string& what) const {
  std::lock_guard lock(mu_);
  if (in_a_row_ < threshold_) return std::nullopt;
  return std::to_string(in_a_row_) + " " + what + " in a row; last: " + last_;
}

std::optional<std::string> accept_initialize(Session& session, const jsonrpc::Message& answer) {
  if (answer.kind == jsonrpc::Kind::error_response) {
    return "its MCP server refused initialize: " + jsonrpc::serialize(answer.error);
  }
  const auto version = jsonrpc::string_member(answer.result, "protocolVersion");
  if (!version || !mcp::is_supported_version(*version)) {
    return "its MCP server answered initialize with protocol version " + version.value_or("(none)") +
           ", which graceway does not serve";
  }
  // The legacy HTTP+SSE transport is 2024-11-05 whatever the server speaks behind it.
  if (session.transport() == SessionTransport::streamable_http) session.set_protocol_version(*version);
  const auto& info = answer.result.is_object() ? answer.result.value("serverInfo", nlohmann::json::object())
                                               : nlohmann::json::object();
  log()->info("session {}: its MCP server answered initialize (protocol {}; {} {})", session.id(), *version,
              jsonrpc::string_member(info, "name").value_or("?"), jsonrpc::string_member(info, "version").value_or("?"));
  return std::nullopt;
}

nlohmann::json parse_server_message(std::string_view text) {
  if (jsonrpc::nests_deeper_than(text, jsonrpc::kDefaultMaxDepth)) return nlohmann::json(nlohmann::json::value_t::discarded);
  return nlohmann::json::parse(text, nullptr, false);
}

bool absorb_cancellation(Session& session, const jsonrpc::Message& notification) {
  if (notification.method != "notifications/cancelled") return false;
  const auto& params = notification.params;
  const auto id = params.is_object() && params.contains("requestId") ? jsonrpc::id_from_json(params["requestId"])
                                                                     : std::nullopt;
  if (!id || !session.cancel_request(jsonrpc::key_of(*id))) {
    log()->debug("session {}: notifications/cancelled for no pending request ignored", session.id());
  }
  return true;
}

}  // namespace graceway::gateway
