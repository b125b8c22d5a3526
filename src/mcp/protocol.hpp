#pragma once
// MCP semantics, independent of HTTP: version negotiation, the InitializeResult, and the
// dispatcher that answers ping / tools/list / tools/call and applies client notifications.

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "graceway/catalog.hpp"
#include "graceway/jsonrpc.hpp"
#include "graceway/metrics.hpp"
#include "graceway/server.hpp"
#include "mcp/era.hpp"
#include "mcp/message_handler.hpp"
#include "session/session.hpp"

namespace graceway {

class ToolPool;

namespace mcp {

[[nodiscard]] bool is_supported_version(std::string_view version);
// The client's version when we support it, else `fallback` (the spec's negotiation rule: our
// latest on the Streamable endpoint, 2024-11-05 on the legacy HTTP+SSE transport).
[[nodiscard]] std::string negotiate_version(const nlohmann::json& initialize_params,
                                            std::string_view fallback = kLatestVersion);
// params._meta.progressToken when it is a string or an integer.
[[nodiscard]] std::optional<nlohmann::json> progress_token(const nlohmann::json& params);

// Declares tools (and their list_changed) and logging always; resources (with subscribe),
// prompts and completions when the catalog has them.
[[nodiscard]] nlohmann::json server_capabilities(const Catalog& catalog);
[[nodiscard]] nlohmann::json initialize_result(const ServerInfo& info, std::string_view version,
                                               const Catalog& catalog);
// server/discover's result (before modern_response adds the modern vocabulary).
[[nodiscard]] nlohmann::json discover_result(const ServerInfo& info, const Catalog& catalog,
                                             std::span<const std::string_view> versions);
// A response to a stateless request with the 2026-07-28 vocabulary: resultType on a result,
// ttlMs and cacheScope on the cacheable ones, serverInfo in result._meta. Errors pass unchanged.
// Legacy answers never go through here.
[[nodiscard]] nlohmann::json modern_response(nlohmann::json response, std::string_view method, const ServerInfo& info);

class RequestStateSeal;

// Runs one admitted request. Methods that only read server state complete `reply` before
// returning; tools/call, resources/read, prompts/get and completion/complete run user code, so
// they move the in-flight guard into a tool-pool job that completes `reply` later (or run at once
// for a tool registered as ToolExecution::inline_nonblocking). Requests come from a legacy
// session (handle_request) or stand alone (handle_stateless); one context serves both.
class Dispatcher final : public MessageHandler {
public:
  // `client_request_timeout`: how long ToolContext::ask_client waits when the tool names no timeout.
  Dispatcher(const Catalog& catalog, ToolPool& pool, Metrics& metrics,
             std::chrono::milliseconds client_request_timeout = std::chrono::seconds(60));

  // Turns stateless requests on: what they are answered as, and what seals their requestState
  // (valid for `state_ttl`, measured on `clock`, so tests drive expiry with a ManualClock).
  // Called before serving.
  void serve_stateless(const ServerInfo& info, std::shared_ptr<const RequestStateSeal> seal,
                       std::chrono::milliseconds state_ttl, const Clock& clock);

  void handle_request(const std::shared_ptr<Session>& session, const jsonrpc::Message& request,
                      const std::shared_ptr<Outbox>& reply, InFlightGuard guard, std::stop_token stop) override;
  void handle_notification(Session& session, const jsonrpc::Message& notification) override;
  void handle_response(Session& session, const jsonrpc::Message& response) override;
  [[nodiscard]] bool serves_stateless() const override { return seal_ != nullptr; }
  void handle_stateless(const std::shared_ptr<const StatelessCall>& call, const jsonrpc::Message& request,
                        const std::shared_ptr<Outbox>& reply, InFlightGuard guard, std::stop_token stop) override;
  [[nodiscard]] const Catalog& catalog() const { return catalog_; }

private:
  // Produces the whole JSON-RPC response of a job; runs on a tool worker (or inline).
  using Job = std::function<nlohmann::json(const std::stop_token& stop)>;
  // Where a request came from: a legacy session, or a stateless call (exactly one is set).
  struct Origin {
    std::shared_ptr<Session> session;
    std::shared_ptr<const StatelessCall> call;
    std::string who;  // for logs
  };

  // The response to a method that only reads or sets server state (ping, */list, logging/setLevel,
  // resources/subscribe, ...), or method-not-found.
  [[nodiscard]] nlohmann::json answer(Session& session, const jsonrpc::Message& request) const;
  // resources/read, prompts/get and completion/complete, on the pool. False for other methods
  // (or an empty catalog part): `guard` and `stop` are untouched then.
  bool run_user_code(const Origin& origin, const jsonrpc::Message& request, const std::shared_ptr<Outbox>& reply,
                     InFlightGuard& guard, std::stop_token& stop, const nlohmann::json& answers);
  // `answers`: a stateless call's answers by key (ToolContext::ask_client).
  void call_tool(const Origin& origin, const jsonrpc::Message& request, const std::shared_ptr<Outbox>& reply,
                 InFlightGuard guard, std::stop_token stop, nlohmann::json answers);
  // Jobs: each validates its params and produces the whole response.
  [[nodiscard]] nlohmann::json read_resource(const jsonrpc::Message& request, bool modern) const;
  [[nodiscard]] nlohmann::json get_prompt(const Origin& origin, const jsonrpc::Message& request,
                                          const std::shared_ptr<Outbox>& reply, const std::stop_token& stop,
                                          const nlohmann::json& answers);
  [[nodiscard]] nlohmann::json complete(const jsonrpc::Message& request) const;
  // A stateless retry's answers: those its requestState carries, then its inputResponses. An
  // error response when the state is not one we sealed for this request and caller.
  [[nodiscard]] std::optional<nlohmann::json> read_answers(const StatelessCall& call, const jsonrpc::Message& request,
                                                           nlohmann::json& answers) const;
  // What a requestState is bound to besides the method: the tool or prompt name, or the URI.
  [[nodiscard]] static std::string target_of(const jsonrpc::Message& request);
  // Wall-clock time for requestState expiry (sealed states carry wall time, so instances that
  // share a key agree), advanced by the injected clock since serve_stateless().
  [[nodiscard]] std::chrono::system_clock::time_point state_now() const;
  // The InputRequiredResult of a round that asked the client something.
  [[nodiscard]] nlohmann::json input_required(const jsonrpc::RequestId& id, const StatelessCall& call,
                                              const jsonrpc::Message& request, const nlohmann::json& input_requests,
                                              const nlohmann::json& used_answers);
  // Completes `reply` with `job`'s response and releases `guard`, on the pool or here. `what`
  // names the work in logs (the tool, or the method).
  void run(const Origin& origin, const jsonrpc::Message& request, const std::shared_ptr<Outbox>& reply,
           InFlightGuard guard, std::stop_token stop, Job job, bool run_inline, std::string what);

  const Catalog& catalog_;
  ToolPool& pool_;
  Metrics& metrics_;
  const std::chrono::milliseconds client_request_timeout_;
  // Set by serve_stateless() before serving; read-only afterwards.
  const ServerInfo* info_ = nullptr;
  std::shared_ptr<const RequestStateSeal> seal_;
  std::chrono::milliseconds state_ttl_{0};
  const Clock* clock_ = nullptr;
  std::chrono::system_clock::time_point wall_origin_{};  // system time when clock_ read clock_origin_
  Clock::time_point clock_origin_{};
};

}  // namespace mcp
}  // namespace graceway
