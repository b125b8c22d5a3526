#pragma once
// The upstream gateway: graceway in front of a Streamable HTTP MCP server (docs/gateway.md).
// Each graceway session has an upstream session of its own, opened by forwarding the client's
// initialize; graceway's Mcp-Session-Id is its own and the upstream's stays private. A request's
// upstream SSE stream is relayed onto the client's response and read only as fast as the client
// reads it; a broken one is resumed with GET + Last-Event-ID as a client must. The session's drain
// happens here, not upstream: requests in flight run on, are cancelled upstream at the deadline,
// and only when the session has closed is DELETE sent upstream. Threads: one I/O thread of its own
// (started by start(), joined by stop()) owns every upstream connection; the HTTP threads only
// post to it.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/gateway.hpp"
#include "graceway/metrics.hpp"
#include "graceway/upstream_gateway.hpp"

namespace graceway::gateway {

struct UpstreamUrl {
  std::string host;         // without brackets
  std::string port;         // "80" when the URL names none
  std::string target;       // path and query, "/" at least
  std::string host_header;  // the Host header: host[:port] as the URL wrote it
};
// nullopt (and `why`) for anything but http://HOST[:PORT][/PATH][?QUERY].
[[nodiscard]] std::optional<UpstreamUrl> parse_upstream_url(std::string_view url, std::string& why);

class UpstreamGateway final : public Gateway {
public:
  // `options` must have passed validate().
  UpstreamGateway(UpstreamGatewayOptions options, Metrics& metrics);
  ~UpstreamGateway() override;  // stop(now)

  void start() override;
  // Waits until every closed session's upstream DELETE is done, at most until `deadline`; then
  // drops every upstream connection and joins the I/O thread.
  void stop(std::chrono::steady_clock::time_point deadline) override;
  // The requests' last cancellations, then the DELETE, each bounded by --upstream-delete-timeout.
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
