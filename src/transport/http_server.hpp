#pragma once
// The HTTP/1.1 engine on Boost.Beast over Boost.Asio: a fixed set of I/O threads, each running
// one event loop that owns its connections; no thread per connection and no blocking on an I/O
// thread (but inline tools, which return at once by contract). It parses requests, enforces the
// connection-level limits (connections, head size, body size, the head and body deadlines, idle
// keep-alive, write deadline), hands each request to the McpEndpoint, and writes the answer: a
// whole response, or a reply stream written chunk by chunk as it produces output. TLS when
// HttpOptions names a certificate and key. Beast and Asio stay inside http_server.cpp.

#include <chrono>
#include <cstdint>
#include <memory>
#include <system_error>

#include "graceway/config.hpp"
#include "graceway/http_options.hpp"
#include "graceway/metrics.hpp"

namespace graceway {

class McpEndpoint;
namespace detail {
struct HttpServerImpl;  // http_server.cpp
}

class HttpServer {
public:
  HttpServer(const HttpOptions& options, const ServerConfig& config, McpEndpoint& endpoint, Metrics& metrics);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Loads the TLS files (a bad one is logged naming its flag) and binds the listener.
  [[nodiscard]] std::error_code bind();
  [[nodiscard]] std::uint16_t port() const;
  void start();  // starts the I/O threads; accepting begins
  // From now on every response carries Connection: close; the listener keeps accepting, and
  // connections stay open, so draining sessions still get their 503 or 404.
  void begin_shutdown();
  // Waits until every response stream has ended, or `give_up`. True when none is left.
  bool wait_streams_closed(std::chrono::steady_clock::time_point give_up);
  // Closes the listener and every connection (an idle one politely: our FIN first, then what the
  // client still sends is read and dropped for a moment), then joins the I/O threads. Idempotent.
  void stop();

private:
  std::unique_ptr<detail::HttpServerImpl> impl_;
};

}  // namespace graceway
