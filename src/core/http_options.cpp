#include "graceway/http_options.hpp"

#include <algorithm>
#include <thread>

namespace graceway {
namespace {

// The clients and the tool threads need the other core of a two-core machine (measured:
// docs/performance.md, "I/O threads").
std::size_t default_io_threads() {
  const auto cores = std::max(1U, std::thread::hardware_concurrency());
  return cores <= 2 ? 1 : cores - 1;
}

}  // namespace

std::size_t HttpOptions::resolved_io_threads() const { return io_threads > 0 ? io_threads : default_io_threads(); }

std::vector<std::string> validate(const HttpOptions& o) {
  std::vector<std::string> problems;
  auto require = [&problems](bool ok, const char* message) {
    if (!ok) problems.emplace_back(message);
  };
  require(o.io_threads <= 1024, "--io-threads must be at most 1024");
  require(o.max_connections >= 1, "--max-connections must be at least 1");
  require(o.max_header_bytes >= 1024, "--max-header-bytes must be at least 1KiB");
  require(o.header_timeout.count() > 0, "--http-header-timeout must be greater than 0");
  require(o.body_timeout.count() > 0, "--http-body-timeout must be greater than 0");
  require(o.keepalive_timeout.count() > 0, "--http-keepalive-timeout must be greater than 0");
  require(o.keepalive_requests >= 1, "--http-keepalive-requests must be at least 1");
  require(o.write_timeout.count() > 0, "--http-write-timeout must be greater than 0");
  require(o.listen_backlog >= 1, "--listen-backlog must be at least 1");
  require(o.tls_cert_file.empty() == o.tls_key_file.empty(), "--tls-cert and --tls-key go together");
  return problems;
}

}  // namespace graceway
