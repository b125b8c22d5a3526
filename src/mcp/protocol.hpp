#pragma once
// MCP semantics, independent of HTTP: version negotiation, the InitializeResult, and the
// dispatcher that answers ping / tools/list / tools/call and applies client notifications.

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "graceway/catalog.hpp"
#include "graceway/jsonrpc.hpp"
#include "graceway/metrics.hpp"
#include "graceway/server.hpp"
#include "mcp/message_handler.hpp"
#include "session/session.hpp"

namespace graceway {

class ToolPool;

namespace mcp {

// Newest first. 2024-11-05 is the HTTP+SSE era; it still negotiates on the Streamable endpoint.
inline constexpr std::array<std::string_view, 4> kSupportedVersions = {"2025-11-25", "2025-06-18", "2025-03-26",
                                                                        "2024-11-05"};
inline constexpr std::string_view kLatestVersion = kSupportedVersions.front();
// What a request without MCP-Protocol-Version is taken to speak when nothing else is known.
inline constexpr std::string_view kAssumedVersion = "2025-03-26";

// The version of the legacy HTTP+SSE transport (GET /sse + POST /messages).
inline constexpr std::string_view kLegacySseVersion = "2024-11-05";

[[nodiscard]] bool is_supported_version(std::string_view version);
// The client's version when we support it, else `fallback` (the spec's negotiation rule: our
// latest on the Streamable endpoint, 2024-11-05 on the legacy HTTP+SSE transport).
[[nodiscard]] std::string negotiate_version(const nlohmann::json& initialize_params,
                                            std::string_view fallback = kLatestVersion);
// The priming event (an SSE id with empty data, and retry:) is for 2025-11-25 and later clients;
// older SDKs try to parse empty data as JSON.
[[nodiscard]] bool sends_priming_event(std::string_view version);
// JSON-RPC batches exist only in 2025-03-26.
[[nodiscard]] bool allows_batches(std::string_view version);
// params._meta.progressToken when it is a string or an integer.
[[nodiscard]] std::optional<nlohmann::json> progress_token(const nlohmann::json& params);

// Declares tools and logging always; resources (with subscribe), prompts and completions when the
// catalog has them.
[[nodiscard]] nlohmann::json initialize_result(const ServerInfo& info, std::string_view version,
                                               const Catalog& catalog);

// Runs one admitted request. Methods that only read server state complete `reply` before
// returning; tools/call, resources/read, prompts/get and completion/complete run user code, so
// they move the in-flight guard into a tool-pool job that completes `reply` later (or run at once
// for a tool registered as ToolExecution::inline_nonblocking).
class Dispatcher final : public MessageHandler {
public:
  // `client_request_timeout`: how long ToolContext::ask_client waits when the tool names no timeout.
  Dispatcher(const Catalog& catalog, ToolPool& pool, Metrics& metrics,
             std::chrono::milliseconds client_request_timeout = std::chrono::seconds(60));

  void handle_request(const std::shared_ptr<Session>& session, const jsonrpc::Message& request,
                      const std::shared_ptr<Outbox>& reply, InFlightGuard guard, std::stop_token stop) override;
  void handle_notification(Session& session, const jsonrpc::Message& notification) override;
  void handle_response(Session& session, const jsonrpc::Message& response) override;
  [[nodiscard]] const Catalog& catalog() const { return catalog_; }

private:
  // Produces the whole JSON-RPC response of a job; runs on a tool worker (or inline).
  using Job = std::function<nlohmann::json(const std::stop_token& stop)>;

  // The response to a method that only reads or sets server state (ping, */list, logging/setLevel,
  // resources/subscribe, ...), or method-not-found.
  [[nodiscard]] nlohmann::json answer(Session& session, const jsonrpc::Message& request) const;
  void call_tool(const std::shared_ptr<Session>& session, const jsonrpc::Message& request,
                 const std::shared_ptr<Outbox>& reply, InFlightGuard guard, std::stop_token stop);
  // Jobs: each validates its params and produces the whole response.
  [[nodiscard]] nlohmann::json read_resource(const jsonrpc::Message& request) const;
  [[nodiscard]] nlohmann::json get_prompt(const jsonrpc::Message& request) const;
  [[nodiscard]] nlohmann::json complete(const jsonrpc::Message& request) const;
  // Completes `reply` with `job`'s response and releases `guard`, on the pool or here. `what`
  // names the work in logs (the tool, or the method).
  void run(const std::shared_ptr<Session>& session, const jsonrpc::Message& request,
           const std::shared_ptr<Outbox>& reply, InFlightGuard guard, std::stop_token stop, Job job,
           bool run_inline, std::string what);

  const Catalog& catalog_;
  ToolPool& pool_;
  Metrics& metrics_;
  const std::chrono::milliseconds client_request_timeout_;
};

}  // namespace mcp
}  // namespace graceway
