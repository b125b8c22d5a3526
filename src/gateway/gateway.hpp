#pragma once
// What the two gateways (a stdio child per session, an upstream Streamable HTTP server) share:
// their life cycle as the Server sees it, the readiness rule, and what is done with the answer of
// the MCP server behind them to initialize.

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "graceway/jsonrpc.hpp"
#include "mcp/message_handler.hpp"

namespace graceway::gateway {

class Gateway : public mcp::MessageHandler {
public:
  // Starts the gateway's I/O thread.
  virtual void start() = 0;
  // Waits until what serves the closed sessions has been let go (children reaped, upstream
  // sessions deleted), at most until `deadline`; then ends what is left at once and joins the
  // I/O thread. Idempotent.
  virtual void stop(std::chrono::steady_clock::time_point deadline) = 0;
  // How long stop() needs, once every session has closed, to let go of everything politely.
  [[nodiscard]] virtual std::chrono::milliseconds stop_budget() const = 0;
};

// /readyz fails after `threshold` failures in a row; any success resets the count.
class FailureStreak {
public:
  explicit FailureStreak(int threshold) : threshold_(threshold) {}
  void failed(std::string why);
  void succeeded();
  // "<n> <what> in a row; last: <why>" once the threshold is reached.
  [[nodiscard]] std::optional<std::string> unready_reason(const std::string& what) const;

private:
  const int threshold_;
  mutable std::mutex mu_;  // guards the two below
  int in_a_row_ = 0;
  std::string last_;
};

// The MCP server's answer to the client's initialize: an error, or a result whose protocol
// version graceway serves (then the session takes it, and the server's name is logged). Returns
// why the session cannot go on, nullopt when it can.
[[nodiscard]] std::optional<std::string> accept_initialize(Session& session, const jsonrpc::Message& answer);

// A message from the MCP server: a discarded value when `text` is not JSON or nests deeper than
// graceway parses (copying such a value would exhaust a thread's stack).
[[nodiscard]] nlohmann::json parse_server_message(std::string_view text);

// A client's notifications/cancelled stops the request it names (its stop callback tells the MCP
// server, once); it is never forwarded as it came. True when `notification` was one.
bool absorb_cancellation(Session& session, const jsonrpc::Message& notification);

}  // namespace graceway::gateway
