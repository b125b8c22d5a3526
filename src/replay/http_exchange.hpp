#pragma once
// One HTTP/1.1 request on its own connection, read as it streams: the head, then the body as it
// arrives (Content-Length or chunked), then its SSE events one by one. The connection can be
// dropped at any moment, which is how a client that leaves mid-response is played. Used by
// graceway-replay and by the integration tests. Never throws on what a server sends.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "transport/sse.hpp"

namespace graceway::replay {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Case-insensitive header names, as HTTP has them.
struct HeaderNameLess {
  bool operator()(const std::string& a, const std::string& b) const;
};
using ResponseHeaders = std::multimap<std::string, std::string, HeaderNameLess>;

// HTTPS: the server's certificate is checked against `ca_file` (and its name against the host
// connected to) unless `verify` is off.
struct TlsClientOptions {
  std::string ca_file;
  bool verify = true;
};

class HttpExchange {
public:
  // Connects (and with `tls`, completes the TLS handshake) at once; connected() says whether it
  // worked.
  HttpExchange(const std::string& host, std::uint16_t port, const TlsClientOptions* tls = nullptr);
  ~HttpExchange();
  HttpExchange(const HttpExchange&) = delete;
  HttpExchange& operator=(const HttpExchange&) = delete;

  [[nodiscard]] bool connected() const { return fd_ >= 0; }
  bool send(const std::string& method, const std::string& path, const HeaderList& headers, const std::string& body = {});
  // Reads the status line and headers; the status, or 0 on timeout, EOF or a malformed head.
  int read_head(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  [[nodiscard]] std::string header(const std::string& name) const;
  [[nodiscard]] bool has_header(const std::string& name) const { return headers_.count(name) != 0; }
  // The next JSON-RPC message of an SSE body; nullopt at the end of the body or on timeout.
  std::optional<nlohmann::json> next_message(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // The next SSE event of any kind (priming events, legacy HTTP+SSE's `endpoint` event); nullopt
  // at the end of the body or on timeout.
  std::optional<sse::Event> next_event(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Everything until the end of the body.
  std::vector<nlohmann::json> read_all(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Reads until the body ends (or the timeout); true when it ended.
  bool read_to_end(std::chrono::milliseconds timeout);
  // Raw body bytes decoded so far (SSE comments included).
  [[nodiscard]] const std::string& body_so_far() const { return body_; }
  [[nodiscard]] bool ended() const { return ended_; }  // the body is complete
  [[nodiscard]] bool eof() const { return eof_; }      // the server closed the connection
  // Reads (and keeps) whatever comes until the server closes the connection; true when it did
  // within `timeout`.
  bool wait_closed(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Drops the connection.
  void close();
  // Shuts the connection down in both directions without closing the descriptor, so a reader
  // blocked in another thread wakes up at once (it sees EOF). Safe from any thread.
  void abort();

private:
  bool fill(std::chrono::steady_clock::time_point deadline);
  void decode();
  bool start_tls(const TlsClientOptions& tls);
  [[nodiscard]] long write_some(const char* data, std::size_t size);

  std::string host_;
  int fd_ = -1;
  void* tls_context_ = nullptr;  // SSL_CTX*, when TLS (OpenSSL stays out of this header)
  void* tls_ = nullptr;          // SSL*
  std::string raw_;           // bytes received, not yet decoded
  std::string body_;          // decoded body bytes
  std::size_t consumed_ = 0;  // body_ bytes already fed to events_
  sse::Decoder events_;
  ResponseHeaders headers_;
  bool head_done_ = false;
  bool chunked_ = false;
  bool until_eof_ = false;    // no length and not chunked: the body ends with the connection
  std::size_t content_left_ = 0;
  std::size_t chunk_left_ = 0;
  bool in_chunk_data_ = false;
  bool ended_ = false;
  bool eof_ = false;
  bool broken_ = false;       // the server sent bytes we cannot frame
};

}  // namespace graceway::replay
