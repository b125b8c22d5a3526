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
#include <vector>

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
  // Client capabilities the tool cannot work without ("sampling", "elicitation", "roots"). A
  // 2026-07-28 request that did not declare one is refused with -32021 before the handler runs;
  // a legacy session has declared its capabilities once, and the handler sees ask_client answer
  // `unsupported` as before. Not part of the tools/list entry.
  std::vector<std::string> required_client_capabilities;

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
    // A stateless (2026-07-28) request cannot wait for the client: the question goes back in an
    // InputRequiredResult and the handler runs again from the start when the client retries with
    // the answer, which ask_client then returns at once. Return from the handler (any result:
    // it is replaced by the InputRequiredResult); asking more first puts them in the same round.
    input_required,
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
  // Empty for a stateless (2026-07-28) request, which has no session.
  [[nodiscard]] virtual const std::string& session_id() const = 0;
  // Requested by notifications/cancelled, the drain deadline, or the client leaving.
  [[nodiscard]] virtual std::stop_token stop_token() const = 0;
  // True when the request carried params._meta.progressToken.
  [[nodiscard]] virtual bool has_progress_token() const = 0;
  // Sends notifications/progress on the request's stream. Returns false when nothing was sent:
  // no progress token, progress not increasing, JSON response mode, or the client is gone.
  virtual bool report_progress(double progress, std::optional<double> total = std::nullopt,
                               std::string_view message = {}) = 0;

  // The capabilities the client declared in initialize, or in this request's _meta for a
  // stateless request (an object; empty when none).
  [[nodiscard]] virtual const nlohmann::json& client_capabilities() const = 0;
  // Sends notifications/message on the request's stream when `level` passes the threshold the
  // client set with logging/setLevel (every level passes until it sets one), or, for a stateless
  // request, the logLevel in its _meta (nothing passes without one). False: not sent.
  virtual bool log(LogLevel level, const nlohmann::json& data, std::string_view logger = {}) = 0;
  // Asks the client (sampling/createMessage, elicitation/create, roots/list), one API for both
  // eras (docs/architecture.md, "Asking the client"):
  //  - in a legacy session, sends the request on this call's SSE stream and waits for the answer
  //    the client POSTs back, at most `timeout` (zero: the server's --client-request-timeout),
  //    waking at once on cancellation;
  //  - in a stateless request, returns the answer the client's retry carries under `key`, or
  //    input_required (see ClientReply::Status). `key` names the question across rounds; empty:
  //    "input-<n>" by the order of asking.
  // Requests for a capability the client did not declare, and (legacy) requests other than ping
  // before the client has sent notifications/initialized, are not sent. Never throws.
  virtual ClientReply ask_client(std::string_view method, nlohmann::json params,
                                 std::chrono::milliseconds timeout = std::chrono::milliseconds::zero(),
                                 std::string_view key = {}) = 0;

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
