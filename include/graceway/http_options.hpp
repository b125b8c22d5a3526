#pragma once
// How the HTTP engine listens and bounds each connection: threads, connection and header
// limits, the deadlines of each phase of a request, and TLS. Apart from ServerConfig (what the
// MCP server promises) because these are the engine's settings; main.cpp fills them from flags,
// library users through Server::Options. Defaults are the flags' defaults
// (docs/configuration.md).

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace graceway {

struct HttpOptions {
  // Threads that run the event loops (accept, parse, write, inline tools). 0: chosen from the
  // machine, 1 on two cores or fewer (the clients and tool threads need the other), else one
  // less than the number of cores.
  std::size_t io_threads = 0;
  // Open connections at most; one more is answered 503 + Retry-After at once and closed.
  std::size_t max_connections = 20000;
  std::size_t max_header_bytes = std::size_t{16} * 1024;  // request line and headers; more gets 431
  // A request's head must arrive within this of its first byte, its body within the other of
  // the head's end; a client that trickles bytes (slowloris) is cut off and counted.
  std::chrono::milliseconds header_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds body_timeout{std::chrono::seconds(30)};
  // An idle keep-alive connection closes after this. Longer than the usual balancer idle
  // timeouts (60 s), so a balancer closes first and never sends into a connection we are closing.
  std::chrono::milliseconds keepalive_timeout{std::chrono::seconds(75)};
  std::size_t keepalive_requests = 10000;  // requests per connection; then Connection: close
  // One write (a whole answer, or one chunk of a stream) must complete within this; a client
  // that stops reading is cut off then.
  std::chrono::milliseconds write_timeout{std::chrono::seconds(10)};
  int listen_backlog = 1024;
  // Both set: HTTPS on the listener (PEM files; the certificate file may hold the chain).
  std::string tls_cert_file;
  std::string tls_key_file;

  // The number of I/O threads io_threads = 0 stands for on this machine.
  [[nodiscard]] std::size_t resolved_io_threads() const;
};

// Returns one message per invalid field, each naming its flag ("--max-connections must be ...").
[[nodiscard]] std::vector<std::string> validate(const HttpOptions& options);

}  // namespace graceway
