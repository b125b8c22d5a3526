#pragma once
// MCP semantics, independent of HTTP: version negotiation, the InitializeResult, and the
// dispatcher that answers ping / tools/list / tools/call and applies client notifications.

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "graceway/jsonrpc.hpp"
#include "graceway/metrics.hpp"
#include "graceway/server.hpp"
#include "graceway/tool_registry.hpp"
#include "session/session.hpp"

namespace graceway {

class ReplyStream;
class ToolPool;

namespace mcp {

// Newest first. 2024-11-05 is the HTTP+SSE era; it still negotiates on the Streamable endpoint.
inline constexpr std::array<std::string_view, 4> kSupportedVersions = {"2025-11-25", "2025-06-18", "2025-03-26",
                                                                        "2024-11-05"};
inline constexpr std::string_view kLatestVersion = kSupportedVersions.front();
// What a request without MCP-Protocol-Version is taken to speak when nothing else is known.
inline constexpr std::string_view kAssumedVersion = "2025-03-26";

[[nodiscard]] bool is_supported_version(std::string_view version);
// The client's version when we support it, else our latest (the spec's negotiation rule).
[[nodiscard]] std::string negotiate_version(const nlohmann::json& initialize_params);
// JSON-RPC batches exist only in 2025-03-26.
[[nodiscard]] bool allows_batches(std::string_view version);
// params._meta.progressToken when it is a string or an integer.
[[nodiscard]] std::optional<nlohmann::json> progress_token(const nlohmann::json& params);

[[nodiscard]] nlohmann::json initialize_result(const ServerInfo& info, std::string_view version);

// Runs one admitted request. Synchronous methods complete `reply` before returning; tools/call
// moves the in-flight guard into a tool-pool job that completes `reply` later, or runs the
// handler at once when the tool is registered as ToolExecution::inline_nonblocking.
class Dispatcher {
public:
  Dispatcher(const ToolRegistry& tools, ToolPool& pool, Metrics& metrics);

  void handle_request(const std::shared_ptr<Session>& session, const jsonrpc::Message& request,
                      const std::shared_ptr<ReplyStream>& reply, InFlightGuard guard, std::stop_token stop);
  void handle_notification(Session& session, const jsonrpc::Message& notification);
  void handle_response(Session& session, const jsonrpc::Message& response);

private:
  void call_tool(const std::shared_ptr<Session>& session, const jsonrpc::Message& request,
                 const std::shared_ptr<ReplyStream>& reply, InFlightGuard guard, std::stop_token stop);

  const ToolRegistry& tools_;
  ToolPool& pool_;
  Metrics& metrics_;
};

}  // namespace mcp
}  // namespace graceway
