#pragma once
// What answers the messages of a session: the built-in Dispatcher (tools, resources, prompts in
// this process), or the stdio gateway (a child MCP server per session). The endpoint admits
// requests into the session and hands them here; the handler completes their reply slots.

#include <memory>
#include <optional>
#include <stop_token>
#include <string>

#include "graceway/errc.hpp"
#include "graceway/jsonrpc.hpp"
#include "graceway/log_level.hpp"
#include "graceway/session_state.hpp"
#include "session/session.hpp"

namespace graceway::mcp {

// A stateless (2026-07-28) request as the handlers see it, after the endpoint's checks: what its
// _meta declared and who sent it (docs/architecture.md, "Protocol eras"). The client's answers
// from earlier rounds are read from the request itself (Dispatcher::read_answers).
struct StatelessCall {
  std::string version;
  nlohmann::json client_capabilities = nlohmann::json::object();
  std::optional<LogLevel> log_level;  // none: no notifications/message at all
  std::string owner;                  // Principal::id; empty when authless
  std::string label;                  // names the request in logs
};

class MessageHandler {
public:
  MessageHandler() = default;
  MessageHandler(const MessageHandler&) = delete;
  MessageHandler& operator=(const MessageHandler&) = delete;
  virtual ~MessageHandler() = default;

  // Why a new session cannot be served; `error` picks the HTTP status and JSON-RPC code.
  struct Refusal {
    errc error;
    std::string detail;
  };
  // A session was created by an initialize: prepare what serves it. Called before the initialize
  // is admitted; a refusal closes the session unseen.
  virtual std::optional<Refusal> open_session(const std::shared_ptr<Session>& /*session*/) { return std::nullopt; }
  // True when the initialize request itself goes to handle_request (a gateway's server answers
  // it); false when the endpoint answers it with graceway's own InitializeResult.
  [[nodiscard]] virtual bool forwards_initialize() const { return false; }
  // Every session state change, outside the session's lock.
  virtual void session_changed(const std::string& /*id*/, SessionState /*from*/, SessionState /*to*/) {}
  // Why /readyz should fail; nullopt while this handler can serve new sessions.
  [[nodiscard]] virtual std::optional<std::string> unready_reason() const { return std::nullopt; }

  virtual void handle_request(const std::shared_ptr<Session>& session, const jsonrpc::Message& request,
                              const std::shared_ptr<Outbox>& reply, InFlightGuard guard, std::stop_token stop) = 0;
  virtual void handle_notification(Session& session, const jsonrpc::Message& notification) = 0;
  // Stateless requests: whether this handler serves them (a gateway in front of a legacy server
  // does not), and serving one. `reply` gets exactly one response. Only called when
  // serves_stateless() says yes.
  [[nodiscard]] virtual bool serves_stateless() const { return false; }
  // The parameters are those an implementation consumes (the guard and the token move into its work).
  virtual void handle_stateless(const std::shared_ptr<const StatelessCall>& /*call*/, const jsonrpc::Message& /*request*/,
                                const std::shared_ptr<Outbox>& /*reply*/, InFlightGuard /*guard*/,
                                std::stop_token /*stop*/) {}  // NOLINT(performance-unnecessary-value-param)
  virtual void handle_response(Session& session, const jsonrpc::Message& response) = 0;
};

}  // namespace graceway::mcp
