// The HTTP request path, bytes first: each input is written as it is to a real graceway server on
// loopback (the Beast engine's parser and limits, then the MCP endpoint), the client half-closes,
// and reads until the server closes. Invariants: the server never crashes; every input is answered
// or closed within a bound (no connection hangs); whatever it answers is a well-formed HTTP/1.x
// status line, never a 500. The corpus holds the request-smuggling shapes, chunked bodies split at
// odd places, 100-continue, pipelined requests and the limits.

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "fuzz_input.hpp"
#include "graceway/catalog.hpp"
#include "graceway/logging.hpp"
#include "graceway/server.hpp"

namespace {

using namespace graceway;

// How long one input may take to be answered or closed. Far above the server's own deadlines
// (1 s for a head or a body), so only a hang trips it.
constexpr int kAnswerBoundMs = 5000;

int connect_to(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Everything the server sends until it closes; false when it neither answered nor closed in time.
bool read_until_closed(int fd, std::string& out) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(kAnswerBoundMs);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(give_up - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[16384];
    const auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return true;  // closed (or reset): either ends the exchange
    out.append(buf, static_cast<std::size_t>(n));
  }
}

// What the server sent starts with a status line "HTTP/1.x NNN ", and it is not a 500. (Later
// responses of a pipelined input are not looked for: their bodies may hold anything.)
void check_responses(std::string_view bytes) {
  if (bytes.empty()) return;  // closed without an answer: an incomplete request
  FUZZ_CHECK(bytes.size() >= 13 && bytes.starts_with("HTTP/1."));
  FUZZ_CHECK(bytes[7] == '0' || bytes[7] == '1');
  FUZZ_CHECK(bytes[8] == ' ' && bytes[12] == ' ');
  FUZZ_CHECK(bytes[9] >= '1' && bytes[9] <= '5');
  FUZZ_CHECK(bytes.substr(9, 3) != "500");
}

// Sends `bytes` on a new connection, half-closes, and returns what came back; false when the
// server neither answered nor closed in time.
bool exchange(std::uint16_t port, std::string_view bytes, std::string& answer) {
  const int fd = connect_to(port);
  FUZZ_CHECK(fd >= 0);
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const auto n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server closed early (a refusal): what it said is read below
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  const bool closed = read_until_closed(fd, answer);
  ::close(fd);
  return closed;
}

Server& server() {
  static const std::unique_ptr<Server> instance = [] {
    logging::configure({.level = spdlog::level::off, .format = logging::Format::text, .to_stderr = false});
    ServerConfig config;
    config.host = "127.0.0.1";
    config.port = 0;
    config.max_body_bytes = 64 * 1024;
    config.max_sessions = 64;
    config.session_idle_timeout = std::chrono::seconds(1);  // what inputs open does not pile up
    config.drain_timeout = std::chrono::seconds(1);
    Server::Options options;
    options.session_ids = std::make_shared<SequentialSessionIds>("fuzz-");  // seeds name "fuzz-1"
    options.http.max_header_bytes = 4096;
    options.http.header_timeout = std::chrono::seconds(1);
    options.http.body_timeout = std::chrono::seconds(1);
    options.http.write_timeout = std::chrono::seconds(1);
    auto s = std::make_unique<Server>(config, Catalog{}, std::move(options));
    if (s->start()) fuzz::fail(__FILE__, __LINE__, "the server did not start");
    // Session "fuzz-1", for the seeds that name it.
    const std::string body = R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26",)"
                             R"("capabilities":{},"clientInfo":{"name":"fuzz","version":"1"}}})";
    std::string answer;
    exchange(s->port(),
             "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
             "Accept: application/json, text/event-stream\r\nContent-Length: " +
                 std::to_string(body.size()) + "\r\n\r\n" + body,
             answer);
    return s;
  }();
  return *instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string answer;
  FUZZ_CHECK(exchange(server().port(), {reinterpret_cast<const char*>(data), size}, answer));
  check_responses(answer);
  return 0;
}
