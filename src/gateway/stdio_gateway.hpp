#pragma once
// The stdio gateway: a child MCP server per session (docs/gateway.md). The session's initialize
// starts the child and is forwarded to it; every client message goes to the child's stdin; every
// line the child writes to stdout goes to the stream it belongs to. The session's drain reaches
// the child: it keeps running until its pending requests are answered or the window ends, then
// gets notifications/cancelled for what is left, EOF on stdin, SIGTERM and SIGKILL to its process
// group, and is reaped. Threads: one I/O thread of its own (started by start(), joined by stop()),
// which owns every child's descriptors; the HTTP threads only post to it.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "graceway/metrics.hpp"
#include "graceway/stdio_gateway.hpp"
#include "gateway/gateway.hpp"

namespace graceway::gateway {

class StdioGateway final : public Gateway {
public:
  // `options` must have passed validate().
  StdioGateway(StdioGatewayOptions options, Metrics& metrics);
  ~StdioGateway() override;  // stop(now)

  void start() override;
  // Waits until every child has been reaped, at most until `deadline`; then kills the group of
  // each one left, reaps it, and joins the I/O thread. Idempotent.
  void stop(std::chrono::steady_clock::time_point deadline) override;
  // EOF, then SIGTERM and SIGKILL --stdio-stop-timeout apart, plus room for timer latency.
  [[nodiscard]] std::chrono::milliseconds stop_budget() const override;

  std::optional<Refusal> open_session(const std::shared_ptr<Session>& session) override;
  [[nodiscard]] bool forwards_initialize() const override { return true; }
  void session_changed(const std::string& id, SessionState from, SessionState to) override;
  [[nodiscard]] std::optional<std::string> unready_reason() const override;

  void handle_request(const std::shared_ptr<Session>& session, const jsonrpc::Message& request,
                      const std::shared_ptr<Outbox>& reply, InFlightGuard guard, std::stop_token stop) override;
  void handle_notification(Session& session, const jsonrpc::Message& notification) override;
  void handle_response(Session& session, const jsonrpc::Message& response) override;

  struct Impl;

private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace graceway::gateway
