#pragma once
// What a tool author writes against: a definition, a handler, and the context the handler runs in.
// Handlers run on the tool worker pool, never on an HTTP I/O thread, so a slow or stubborn tool
// can never hold up the HTTP side or the drain deadline; a tool that only computes and never
// blocks may ask to run inline instead (ToolExecution).

#include <chrono>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "graceway/log_level.hpp"

namespace graceway {

struct ToolDefinition {
  std::string name;
  std::string title;                 // optional display name
  std::string description;
  nlohmann::json input_schema = {{"type", "object"}};
  nlohmann::json output_schema;      // null: none
  nlohmann::json annotations;        // null: none

  [[nodiscard]] nlohmann::json to_json() const;  // the tools/list entry
};

// A tools/call result (CallToolResult).
struct ToolResult {
  nlohmann::json content = nlohmann::json::array();
  bool is_error = false;
  nlohmann::json structured_content;  // null: omitted

  [[nodiscard]] static ToolResult text(std::string text);
  [[nodiscard]] static ToolResult error(std::string message);  // is_error with one text content
  [[nodiscard]] nlohmann::json to_json() const;
};

// What came back from a request the server sent to the client (ToolContext::ask_client).
struct ClientReply {
  enum class Status {
    result,       // the client answered: `value` is its result
    error,        // the client answered with a JSON-RPC error: `value` is the error object
    unsupported,  // never sent: the client lacks the capability, or this call's stream cannot carry
                  // requests (JSON response mode, client gone)
    timeout,      // no answer in time; the client was sent notifications/cancelled
    cancelled,    // the call itself was cancelled (client, drain deadline) while waiting
  };
  Status status = Status::unsupported;
  nlohmann::json value;  // result or error object; null for the other statuses
  std::string detail;    // why, for unsupported, timeout and cancelled

  [[nodiscard]] bool ok() const { return status == Status::result; }
};

// The running call, as the handler sees it. Implemented by the server; tests may fake it.
class ToolContext {
public:
  virtual ~ToolContext() = default;

  [[nodiscard]] virtual const nlohmann::json& arguments() const = 0;
  [[nodiscard]] virtual const std::string& session_id() const = 0;
  // Requested by notifications/cancelled, the drain deadline, or the client leaving.
  [[nodiscard]] virtual std::stop_token stop_token() const = 0;
  // True when the request carried params._meta.progressToken.
  [[nodiscard]] virtual bool has_progress_token() const = 0;
  // Sends notifications/progress on the request's stream. Returns false when nothing was sent:
  // no progress token, progress not increasing, JSON response mode, or the client is gone.
  virtual bool report_progress(double progress, std::optional<double> total = std::nullopt,
                               std::string_view message = {}) = 0;

  // The capabilities the client declared in initialize (an object; empty when none).
  [[nodiscard]] virtual const nlohmann::json& client_capabilities() const = 0;
  // Sends notifications/message on the request's stream when `level` passes the threshold the
  // client set with logging/setLevel (every level passes until it sets one). False: not sent.
  virtual bool log(LogLevel level, const nlohmann::json& data, std::string_view logger = {}) = 0;
  // Sends a request to the client on this call's SSE stream (sampling/createMessage,
  // elicitation/create, roots/list) and waits for the answer the client POSTs back, at most
  // `timeout` (zero: the server's --client-request-timeout), waking at once on cancellation.
  // Requests for a capability the client did not declare, and requests (other than ping) before
  // the client has sent notifications/initialized, are not sent. Never throws.
  virtual ClientReply ask_client(std::string_view method, nlohmann::json params,
                                 std::chrono::milliseconds timeout = std::chrono::milliseconds::zero()) = 0;

  // Ends the HTTP response that carries this call while the call goes on (SEP-1699 polling): the
  // client reconnects with GET + Last-Event-ID and receives what the call sends afterwards,
  // its result included. False when the stream cannot be resumed (JSON response mode,
  // resumability off, client gone, or a session older than 2025-11-25, which may not be polled).
  virtual bool close_stream() = 0;

  [[nodiscard]] bool cancelled() const { return stop_token().stop_requested(); }
  // Waits `d`, waking early on cancellation. Returns false when cancelled.
  bool wait_for(std::chrono::milliseconds d) const;
};

using ToolHandler = std::function<ToolResult(ToolContext&)>;

// Where a handler runs. `pool` (the default) is right for anything that waits: I/O, sleeps, locks
// held by others. `inline_nonblocking` runs the handler on the I/O thread that received the call,
// which saves two thread hand-offs per call (docs/performance.md); use it only for handlers that
// return in microseconds and never block: an inline handler holds an event loop that serves many
// connections.
enum class ToolExecution { pool, inline_nonblocking };

}  // namespace graceway
