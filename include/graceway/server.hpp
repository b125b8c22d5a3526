#pragma once
// The graceway server: MCP over Streamable HTTP with sessions that drain instead of breaking.
// Owns every thread it starts (I/O threads, runtime timer thread, tool pool) and joins them all.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <system_error>

#include <nlohmann/json.hpp>

#include "graceway/auth_options.hpp"
#include "graceway/catalog.hpp"
#include "graceway/clock.hpp"
#include "graceway/config.hpp"
#include "graceway/http_options.hpp"
#include "graceway/metrics.hpp"
#include "graceway/rate_limit_options.hpp"
#include "graceway/session_id.hpp"
#include "graceway/session_state.hpp"
#include "graceway/stdio_gateway.hpp"
#include "graceway/upstream_gateway.hpp"

namespace graceway {

struct ServerInfo {
  std::string name = "graceway";
  std::string version = "0.1.0";
  std::string instructions;  // empty: omitted from InitializeResult
};

class Server {
public:
  struct Options {
    ServerInfo info;
    const Clock* clock = nullptr;                          // null: SteadyClock
    std::shared_ptr<SessionIdGenerator> session_ids;       // null: RandomSessionIds
    HttpOptions http;                                      // the HTTP engine: threads, limits, TLS
    // Set: gateway mode. Each session is served by a child MCP server of its own (this command,
    // over stdio) instead of the catalog (docs/gateway.md).
    std::optional<StdioGatewayOptions> stdio;
    // Set: gateway mode in front of a Streamable HTTP MCP server: each session has an upstream
    // session of its own (docs/gateway.md). At most one of stdio and upstream.
    std::optional<UpstreamGatewayOptions> upstream;
    // Who may call: OAuth access tokens, API keys, or (neither set) anyone (docs/security.md).
    AuthOptions auth;
    // Requests per principal and per address; off unless set.
    RateLimitOptions rate_limit;
  };

  Server(ServerConfig config, Catalog catalog, Options options);
  Server(ServerConfig config, ToolRegistry tools, Options options);
  Server(ServerConfig config, ToolRegistry tools);
  ~Server();  // shuts down at once if still running and joins every thread
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listener and serves on background threads. Returns the bind error, if any.
  [[nodiscard]] std::error_code start();
  // The bound port (useful with port 0). 0 before start().
  [[nodiscard]] std::uint16_t port() const;

  // Starts the process contract: readiness fails, new sessions get 503, every session drains
  // within --shutdown-timeout. Returns at once; safe from any thread, idempotent.
  void shutdown();
  // Blocks until shutdown() has been called and the drain has finished, then stops the listener
  // and joins all threads. Returns the process exit code (0).
  int wait();
  // start(), then SIGTERM/SIGINT start shutdown() and a second signal exits at once; then wait().
  int run();

  // Server-initiated messages (notifications or requests) on a session's standalone GET stream.
  // They are never queued for a session without an open stream. notify() returns whether the
  // message was queued for writing; broadcast() returns to how many sessions it was.
  bool notify(std::string_view session_id, const nlohmann::json& message);
  std::size_t broadcast(const nlohmann::json& message);
  // notifications/resources/updated for `uri` on the GET stream of every session subscribed to
  // it (resources/subscribe). Returns to how many sessions it was queued.
  std::size_t resource_updated(std::string_view uri);

  [[nodiscard]] bool ready() const;  // false from the first moment of shutdown
  [[nodiscard]] const Metrics& metrics() const;
  // The state of a session id: nullopt when never seen (or forgotten), closed for tombstones.
  [[nodiscard]] std::optional<SessionState> session_state(std::string_view id) const;
  // Blocks until session `id` has reached `state` (or a later one), or `timeout`. True when it has.
  bool wait_session_state(std::string_view id, SessionState state, std::chrono::milliseconds timeout) const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace graceway
