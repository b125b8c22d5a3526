// The HTTP engine (src/transport/http_server.cpp) over real loopback sockets, byte by byte: the
// head and body deadlines (slowloris), pipelining in order, the head and body limits, the
// framings refused against request smuggling, Expect: 100-continue, chunked request bodies, a
// half-closed client, a slow SSE reader against the overflow policy and the write deadline, and
// idle keep-alive. A raw POSIX socket gives exact control of the bytes and of when the client
// stops reading; McpClient serves the "another client meanwhile" side.

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "support/log_capture.hpp"
#include "support/mcp_client.hpp"
#include "support/test_server.hpp"

namespace graceway::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// A raw client connection: connect, send any bytes, half-close, read with poll() and a bound.

class RawSocket {
public:
  enum class End { open, eof, reset };

  // `receive_buffer` > 0 sets SO_RCVBUF before connecting (the window is fixed at the handshake).
  explicit RawSocket(std::uint16_t port, int receive_buffer = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return;
    if (receive_buffer > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  [[nodiscard]] bool connected() const { return fd_ >= 0; }

  bool send_all(std::string_view bytes) {
    while (!bytes.empty()) {
      const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

  // Reads until `done(data())`, the end of the connection, or `timeout`. True when `done`.
  bool read_until(const std::function<bool(const std::string&)>& done, std::chrono::milliseconds timeout) {
    const auto give_up = Clock::now() + timeout;
    while (!done(data_)) {
      if (end_ != End::open) return false;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(give_up - Clock::now());
      if (left <= 0ms) return false;
      read_once(std::min(left, 50ms));
    }
    return true;
  }

  // Reads (and keeps) everything until the server closes the connection; true when it did
  // within `timeout`.
  bool read_until_closed(std::chrono::milliseconds timeout) {
    read_until([this](const std::string&) { return end_ != End::open; }, timeout);
    return end_ != End::open;
  }

  // Waits up to `wait` for the connection to end (reading what comes); true while it is open.
  bool still_open(std::chrono::milliseconds wait = 0ms) {
    if (end_ == End::open) read_once(wait);
    return end_ == End::open;
  }

  [[nodiscard]] const std::string& data() const { return data_; }
  [[nodiscard]] End end() const { return end_; }

private:
  void read_once(std::chrono::milliseconds wait) {
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(wait.count()));
    if (ready <= 0) return;
    char buf[16384];
    const auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      data_.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0) {
      end_ = End::eof;
    } else if (errno != EINTR && errno != EAGAIN) {
      end_ = End::reset;
    }
  }

  int fd_ = -1;
  std::string data_;
  End end_ = End::open;
};

// ---------------------------------------------------------------------------------------------
// HTTP responses out of raw bytes.

struct RawResponse {
  std::string status_line;  // "HTTP/1.1 200 OK"
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;                            // de-chunked

  [[nodiscard]] std::string header(const std::string& lower_name) const {
    const auto it = headers.find(lower_name);
    return it == headers.end() ? std::string{} : it->second;
  }
  // The JSON-RPC messages of the body (SSE events or one JSON value).
  [[nodiscard]] std::vector<json> messages() const {
    if (header("content-type").starts_with("text/event-stream")) return parse_sse_messages(body);
    const auto parsed = json::parse(body, nullptr, false);
    if (parsed.is_discarded()) return {};
    if (parsed.is_array()) return {parsed.begin(), parsed.end()};
    return {parsed};
  }
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Parses one response at the start of `bytes` into `out`; returns the bytes it took, 0 while
// it is incomplete. A body framed by neither length nor chunks runs to the end of `bytes`.
std::size_t parse_response(std::string_view bytes, RawResponse& out) {
  const auto head_end = bytes.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return 0;
  out = {};
  const auto head = bytes.substr(0, head_end);
  const auto line_end = head.find("\r\n");
  out.status_line = std::string(head.substr(0, line_end));
  if (out.status_line.size() >= 12) out.status = std::atoi(out.status_line.substr(9, 3).c_str());
  std::size_t at = line_end == std::string_view::npos ? head.size() : line_end + 2;
  while (at < head.size()) {
    auto next = head.find("\r\n", at);
    if (next == std::string_view::npos) next = head.size();
    const auto line = head.substr(at, next - at);
    const auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      auto value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      out.headers[lower(std::string(line.substr(0, colon)))] = std::string(value);
    }
    at = next + 2;
  }
  std::size_t pos = head_end + 4;
  if (out.status / 100 == 1 || out.status == 204 || out.status == 304) return pos;
  if (lower(out.header("transfer-encoding")) == "chunked") {
    while (true) {
      const auto size_end = bytes.find("\r\n", pos);
      if (size_end == std::string_view::npos) return 0;
      const auto size = std::strtoul(std::string(bytes.substr(pos, size_end - pos)).c_str(), nullptr, 16);
      pos = size_end + 2;
      if (size == 0) {  // trailers, then an empty line
        const auto trailer_end = bytes.substr(pos, 2) == "\r\n" ? pos : bytes.find("\r\n\r\n", pos);
        if (trailer_end == std::string_view::npos || bytes.size() < trailer_end + 2) return 0;
        return trailer_end == pos ? pos + 2 : trailer_end + 4;
      }
      if (bytes.size() < pos + size + 2) return 0;
      out.body.append(bytes.substr(pos, size));
      pos += size + 2;
    }
  }
  if (out.headers.count("content-length") != 0) {
    const auto length = std::strtoul(out.header("content-length").c_str(), nullptr, 10);
    if (bytes.size() < pos + length) return 0;
    out.body = std::string(bytes.substr(pos, length));
    return pos + length;
  }
  out.body = std::string(bytes.substr(pos));
  return bytes.size();
}

// Every complete response in `bytes`, in order; `rest` gets the bytes after the last one.
std::vector<RawResponse> parse_responses(std::string_view bytes, std::string* rest = nullptr) {
  std::vector<RawResponse> responses;
  while (!bytes.empty()) {
    RawResponse r;
    const auto used = parse_response(bytes, r);
    if (used == 0) break;
    responses.push_back(std::move(r));
    bytes.remove_prefix(used);
  }
  if (rest) *rest = std::string(bytes);
  return responses;
}

auto has_responses(std::size_t n) {
  return [n](const std::string& data) { return parse_responses(data).size() >= n; };
}

// ---------------------------------------------------------------------------------------------
// Requests as bytes.

std::string post_bytes(const std::string& session, const std::string& body, const std::string& extra_headers = {}) {
  std::string r = "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  "Accept: application/json, text/event-stream\r\n";
  if (!session.empty()) r += "Mcp-Session-Id: " + session + "\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n" + extra_headers + "\r\n" + body;
  return r;
}

std::string ping_body(int id) { return McpClient::request(id, "ping").dump(); }

const std::string kHealthz = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

// A 200 answer to `ping` number `id`, in either response mode.
void expect_ping_answer(const RawResponse& r, int id) {
  EXPECT_EQ(r.status, 200) << r.status_line << "\n" << r.body;
  const auto messages = r.messages();
  ASSERT_EQ(messages.size(), 1U) << r.body;
  EXPECT_EQ(messages[0]["id"], id);
  EXPECT_TRUE(messages[0].contains("result")) << messages[0].dump();
}

// An engine refusal: `status`, Connection: close and a JSON-RPC error about the whole request.
void expect_refusal(const RawResponse& r, int status, int code) {
  EXPECT_EQ(r.status, status) << r.status_line << "\n" << r.body;
  EXPECT_EQ(lower(r.header("connection")), "close") << r.status_line;
  EXPECT_EQ(r.header("content-type"), "application/json");
  const auto error = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(error.is_object()) << r.body;
  EXPECT_EQ(error["jsonrpc"], "2.0");
  EXPECT_TRUE(error.contains("id") && error["id"].is_null()) << r.body;
  EXPECT_EQ(error["error"]["code"], code) << r.body;
  EXPECT_TRUE(error["error"]["message"].is_string()) << r.body;
}

class HttpEngineTest : public ::testing::Test {
protected:
  void TearDown() override { EXPECT_TRUE(logs_.errors().empty()) << logs_.errors().front().text; }

  LogCapture logs_;
};

// ---------------------------------------------------------------------------------------------
// 1. Deadlines of the head and the body (slowloris)

TEST_F(HttpEngineTest, ATricklingHeadIsCutOffAtTheHeaderDeadlineWhileOthersAreServed) {
  HttpOptions http;
  http.header_timeout = 1000ms;  // long enough for the other client's exchange to fit inside
  TestServer server(test_config(), {}, http);
  RawSocket slow(server.port());
  ASSERT_TRUE(slow.connected());
  // A head that never ends: one byte every 50 ms would take 20 s. Each byte arrives well inside
  // any per-read timeout; only a deadline from the first byte cuts it off.
  const std::string head = "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + std::string(400, 'a');
  const auto first_byte = Clock::now();
  std::size_t sent = 0;
  bool others_served = false;
  while (sent < head.size() && slow.still_open(50ms)) {
    if (!slow.send_all(head.substr(sent, 1))) break;
    ++sent;
    if (sent == 1) {
      // Meanwhile, on the same single event loop, another client is served as usual.
      auto client = server.client();
      const auto session = client.open_session();
      ASSERT_FALSE(session.empty());
      const auto pong = client.post(McpClient::request(1, "ping"), session);
      EXPECT_EQ(pong.status, 200);
      EXPECT_TRUE(pong.response(1).contains("result")) << pong.body;
      EXPECT_TRUE(slow.still_open()) << "the slow client was still connected while the other was served";
      others_served = true;
    }
  }
  ASSERT_TRUE(slow.read_until_closed(5s)) << "the trickling client was never cut off";
  const auto cut_after = Clock::now() - first_byte;
  EXPECT_TRUE(others_served);
  EXPECT_LT(sent, head.size()) << "cut off before the head could complete";
  EXPECT_GE(cut_after, http.header_timeout) << "not before the deadline";
  EXPECT_LT(cut_after, http.header_timeout + 3s) << "within a bounded time of the deadline";
  EXPECT_TRUE(slow.data().empty()) << "cut off without an answer: " << slow.data();
  EXPECT_TRUE(logs_.wait_for("request not received within its deadline (--http-header-timeout)"));
  EXPECT_EQ(server.server().metrics().http_request_timeouts.load(), 1U);
}

TEST_F(HttpEngineTest, AnUnfinishedBodyIsCutOffAtTheBodyDeadline) {
  HttpOptions http;
  http.body_timeout = 300ms;
  TestServer server(test_config(), {}, http);
  auto client = server.client();
  const auto session = client.open_session();
  RawSocket slow(server.port());
  ASSERT_TRUE(slow.connected());
  const std::string head = "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                           "Accept: application/json, text/event-stream\r\nMcp-Session-Id: " +
                           session + "\r\nContent-Length: 100\r\n\r\n";
  const auto start = Clock::now();
  ASSERT_TRUE(slow.send_all(head + std::string(10, ' ')));  // 10 of the 100 body bytes, then silence
  ASSERT_TRUE(slow.read_until_closed(5s)) << "the unfinished body was never cut off";
  const auto cut_after = Clock::now() - start;
  EXPECT_GE(cut_after, http.body_timeout);
  EXPECT_LT(cut_after, http.body_timeout + 3s);
  EXPECT_TRUE(slow.data().empty()) << slow.data();
  EXPECT_TRUE(logs_.wait_for("request not received within its deadline (--http-body-timeout)"));
  EXPECT_EQ(server.server().metrics().http_request_timeouts.load(), 1U);
  EXPECT_EQ(client.post(McpClient::request(2, "ping"), session).status, 200) << "the session is fine";
}

// ---------------------------------------------------------------------------------------------
// 2. Pipelining

TEST_F(HttpEngineTest, PipelinedRequestsAreAnsweredInOrderOnOneConnection) {
  TestServer server;
  auto client = server.client();
  const auto session = client.open_session();
  ASSERT_FALSE(session.empty());
  const auto accepted_before = server.server().metrics().http_connections_accepted.load();
  RawSocket conn(server.port());
  ASSERT_TRUE(conn.connected());
  ASSERT_TRUE(conn.send_all(post_bytes(session, ping_body(1)) + post_bytes(session, ping_body(2)) +
                            post_bytes(session, ping_body(3)) + kHealthz));  // one send()
  ASSERT_TRUE(conn.read_until(has_responses(4), 10s)) << conn.data();
  std::string rest;
  const auto responses = parse_responses(conn.data(), &rest);
  ASSERT_EQ(responses.size(), 4U);
  EXPECT_TRUE(rest.empty()) << rest;
  for (int i = 0; i < 3; ++i) {
    expect_ping_answer(responses[static_cast<std::size_t>(i)], i + 1);
    EXPECT_NE(lower(responses[static_cast<std::size_t>(i)].header("connection")), "close");
  }
  EXPECT_EQ(responses[3].status, 200);
  EXPECT_EQ(json::parse(responses[3].body), json({{"status", "ok"}}));
  // Still the same open connection.
  ASSERT_TRUE(conn.send_all(post_bytes(session, ping_body(4))));
  ASSERT_TRUE(conn.read_until(has_responses(5), 10s)) << conn.data();
  expect_ping_answer(parse_responses(conn.data())[4], 4);
  EXPECT_EQ(server.server().metrics().http_connections_accepted.load(), accepted_before + 1) << "all on one connection";
}

TEST_F(HttpEngineTest, APipelinedRequestWaitsUntilTheStreamBeforeItEnds) {
  TestServer server;
  auto client = server.client();
  const auto session = client.open_session();
  RawSocket conn(server.port());
  ASSERT_TRUE(conn.connected());
  ASSERT_TRUE(conn.send_all(post_bytes(session, McpClient::tool_call(1, "gate", {{"name", "p"}}).dump()) +
                            post_bytes(session, ping_body(2))));
  ASSERT_TRUE(server.gates().wait_entered("p"));
  // The first answer is a stream that is still open: its head is in, no complete response, and
  // nothing of the ping's answer.
  ASSERT_TRUE(conn.read_until([](const std::string& d) { return d.find("\r\n\r\n") != std::string::npos; }, 10s));
  EXPECT_TRUE(parse_responses(conn.data()).empty()) << conn.data();
  EXPECT_EQ(conn.data().find("\"id\":2"), std::string::npos) << conn.data();
  server.gates().release("p");
  ASSERT_TRUE(conn.read_until(has_responses(2), 10s)) << conn.data();
  const auto responses = parse_responses(conn.data());
  EXPECT_EQ(responses[0].status, 200);
  const auto first = responses[0].messages();
  ASSERT_FALSE(first.empty()) << responses[0].body;
  EXPECT_EQ(first.back()["id"], 1);
  EXPECT_EQ(first.back()["result"]["content"][0]["text"], "released p");
  expect_ping_answer(responses[1], 2);
}

// ---------------------------------------------------------------------------------------------
// 3. Head and body limits

TEST_F(HttpEngineTest, AHeadOverTheLimitGets431AndTheConnectionCloses) {
  HttpOptions http;
  http.max_header_bytes = 2048;
  TestServer server(test_config(), {}, http);
  auto client = server.client();
  const auto session = client.open_session();
  RawSocket conn(server.port());
  ASSERT_TRUE(conn.connected());
  ASSERT_TRUE(conn.send_all(post_bytes(session, ping_body(1), "X-Big: " + std::string(4096, 'b') + "\r\n") + kHealthz));
  ASSERT_TRUE(conn.read_until_closed(10s));
  EXPECT_EQ(conn.end(), RawSocket::End::eof) << "closed cleanly after the answer";
  std::string rest;
  const auto responses = parse_responses(conn.data(), &rest);
  ASSERT_EQ(responses.size(), 1U) << conn.data();
  EXPECT_TRUE(rest.empty()) << rest;
  expect_refusal(responses[0], 431, -32000);

  // A head just under the limit is served.
  RawSocket fits(server.port());
  ASSERT_TRUE(fits.send_all(post_bytes(session, ping_body(2), "X-Big: " + std::string(1500, 'b') + "\r\n")));
  ASSERT_TRUE(fits.read_until(has_responses(1), 10s)) << fits.data();
  expect_ping_answer(parse_responses(fits.data())[0], 2);
}

TEST_F(HttpEngineTest, ABodyOverTheLimitGets413WithContentLengthOrChunked) {
  auto config = test_config();
  config.max_body_bytes = 1024;
  TestServer server(config);
  auto client = server.client();
  const auto session = client.open_session();
  // A string param makes a valid JSON-RPC body of any size.
  const auto big = McpClient::request(1, "ping", {{"pad", std::string(2000, 'x')}}).dump();
  {
    RawSocket conn(server.port());
    ASSERT_TRUE(conn.send_all(post_bytes(session, big) + kHealthz));
    ASSERT_TRUE(conn.read_until_closed(10s));
    EXPECT_EQ(conn.end(), RawSocket::End::eof);
    const auto responses = parse_responses(conn.data());
    ASSERT_EQ(responses.size(), 1U) << conn.data();
    expect_refusal(responses[0], 413, -32000);
  }
  {
    // Chunked: no length up front; the limit stops it while the chunks come in.
    std::string request = "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                          "Accept: application/json, text/event-stream\r\nMcp-Session-Id: " +
                          session + "\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (std::size_t at = 0; at < big.size(); at += 300) {
      const auto piece = big.substr(at, 300);
      char size[16];
      std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
      request += size + piece + "\r\n";
    }
    request += "0\r\n\r\n";
    RawSocket conn(server.port());
    ASSERT_TRUE(conn.send_all(request + kHealthz));
    ASSERT_TRUE(conn.read_until_closed(10s));
    EXPECT_EQ(conn.end(), RawSocket::End::eof);
    const auto responses = parse_responses(conn.data());
    ASSERT_EQ(responses.size(), 1U) << conn.data();
    expect_refusal(responses[0], 413, -32000);
  }
  {
    // With Expect: 100-continue the refusal comes instead of the 100: the body is never sent.
    RawSocket conn(server.port());
    const auto full = post_bytes(session, big, "Expect: 100-continue\r\n");
    ASSERT_TRUE(conn.send_all(full.substr(0, full.size() - big.size())));
    ASSERT_TRUE(conn.read_until_closed(10s));
    const auto responses = parse_responses(conn.data());
    ASSERT_EQ(responses.size(), 1U) << conn.data();
    expect_refusal(responses[0], 413, -32000);
  }
  // A body at the limit is served.
  const auto fits = McpClient::request(2, "ping", {{"pad", std::string(900, 'x')}}).dump();
  ASSERT_LE(fits.size(), 1024U);
  RawSocket conn(server.port());
  ASSERT_TRUE(conn.send_all(post_bytes(session, fits)));
  ASSERT_TRUE(conn.read_until(has_responses(1), 10s)) << conn.data();
  expect_ping_answer(parse_responses(conn.data())[0], 2);
}

// ---------------------------------------------------------------------------------------------
// 4. Framings a proxy could read differently (request smuggling)

struct SmugglingCase {
  std::string name;
  std::string version;  // "HTTP/1.1"
  std::string framing;  // header lines, each ending in \r\n
  std::string body;     // what follows the head before the smuggled request
  int status;
};

TEST_F(HttpEngineTest, AmbiguousFramingsAreRefusedAndNothingHiddenInTheBodyIsAnswered) {
  TestServer server;
  auto client = server.client();
  const auto session = client.open_session();
  const auto smuggled = post_bytes(session, ping_body(99));
  const std::string chunk_of_smuggled =  // a chunked body that carries the smuggled request
      [&] {
        char size[16];
        std::snprintf(size, sizeof size, "%zx\r\n", smuggled.size());
        return std::string(size) + smuggled + "\r\n0\r\n\r\n";
      }();
  const std::vector<SmugglingCase> cases = {
      {"TE gzip, no length", "HTTP/1.1", "Transfer-Encoding: gzip\r\n", "", 501},
      {"TE gzip then Content-Length", "HTTP/1.1", "Transfer-Encoding: gzip\r\nContent-Length: 5\r\n", "hello", 501},
      // Beast's parser rejects a Transfer-Encoding after a Content-Length itself: "both" -> 400.
      {"Content-Length then TE gzip", "HTTP/1.1", "Content-Length: 5\r\nTransfer-Encoding: gzip\r\n", "hello", 400},
      {"TE chunked then Content-Length", "HTTP/1.1", "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n",
       chunk_of_smuggled, 400},
      {"Content-Length then TE chunked", "HTTP/1.1", "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n",
       chunk_of_smuggled, 400},
      {"chunked on HTTP/1.0", "HTTP/1.0", "Transfer-Encoding: chunked\r\n", chunk_of_smuggled, 400},
      {"TE gzip, chunked", "HTTP/1.1", "Transfer-Encoding: gzip, chunked\r\n", chunk_of_smuggled, 501},
      {"TE chunked, gzip", "HTTP/1.1", "Transfer-Encoding: chunked, gzip\r\n", "", 501},
      {"two TE headers: gzip, chunked", "HTTP/1.1", "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
       chunk_of_smuggled, 501},
      // A second TE after chunked is refused by Beast's parser as a duplicate: 400.
      {"two TE headers: chunked, chunked", "HTTP/1.1",
       "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", chunk_of_smuggled, 400},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    RawSocket conn(server.port());
    ASSERT_TRUE(conn.connected());
    const std::string request = "POST /mcp " + c.version +
                                "\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                                "Accept: application/json, text/event-stream\r\nMcp-Session-Id: " +
                                session + "\r\n" + c.framing + "\r\n" + c.body;
    ASSERT_TRUE(conn.send_all(request + smuggled));
    ASSERT_TRUE(conn.read_until_closed(10s)) << "the connection stayed open";
    EXPECT_EQ(conn.end(), RawSocket::End::eof);
    std::string rest;
    const auto responses = parse_responses(conn.data(), &rest);
    ASSERT_EQ(responses.size(), 1U) << "only the refusal comes back:\n" << conn.data();
    EXPECT_TRUE(rest.empty()) << rest;
    if (c.version == "HTTP/1.0") {
      EXPECT_TRUE(responses[0].status_line.starts_with("HTTP/1.0 ")) << responses[0].status_line;
      EXPECT_EQ(responses[0].status, c.status);
      EXPECT_NE(lower(responses[0].header("connection")), "keep-alive");
    } else {
      expect_refusal(responses[0], c.status, c.status == 400 ? -32600 : -32000);
    }
    EXPECT_EQ(conn.data().find("\"id\":99"), std::string::npos) << "the smuggled request was answered";
  }
}

// ---------------------------------------------------------------------------------------------
// 5. Expect

TEST_F(HttpEngineTest, Expect100ContinueGetsTheInterimAnswerBeforeTheBody) {
  TestServer server;
  auto client = server.client();
  const auto session = client.open_session();
  RawSocket conn(server.port());
  const auto body = ping_body(1);
  const auto full = post_bytes(session, body, "Expect: 100-continue\r\n");
  ASSERT_TRUE(conn.send_all(full.substr(0, full.size() - body.size())));  // the head only
  ASSERT_TRUE(conn.read_until([](const std::string& d) { return d.find("\r\n\r\n") != std::string::npos; }, 10s))
      << conn.data();
  EXPECT_EQ(conn.data(), "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(conn.send_all(body));
  ASSERT_TRUE(conn.read_until(has_responses(2), 10s)) << conn.data();
  const auto responses = parse_responses(conn.data());
  EXPECT_EQ(responses[0].status, 100);
  expect_ping_answer(responses[1], 1);
  EXPECT_NE(lower(responses[1].header("connection")), "close");
  // The connection goes on; the next request needs no 100 of its own.
  ASSERT_TRUE(conn.send_all(post_bytes(session, ping_body(2))));
  ASSERT_TRUE(conn.read_until(has_responses(3), 10s)) << conn.data();
  expect_ping_answer(parse_responses(conn.data())[2], 2);
}

TEST_F(HttpEngineTest, AnyOtherExpectationGets417) {
  TestServer server;
  auto client = server.client();
  const auto session = client.open_session();
  RawSocket conn(server.port());
  const auto body = ping_body(1);
  const auto full = post_bytes(session, body, "Expect: something-else\r\n");
  ASSERT_TRUE(conn.send_all(full.substr(0, full.size() - body.size())));
  ASSERT_TRUE(conn.read_until_closed(10s));
  EXPECT_EQ(conn.end(), RawSocket::End::eof);
  const auto responses = parse_responses(conn.data());
  ASSERT_EQ(responses.size(), 1U) << conn.data();
  expect_refusal(responses[0], 417, -32000);
  EXPECT_EQ(conn.data().find("100 Continue"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// 6. Chunked request bodies

TEST_F(HttpEngineTest, AChunkedRequestBodyIsAccepted) {
  TestServer server;
  auto client = server.client();
  const auto session = client.open_session();
  RawSocket conn(server.port());
  const auto body = ping_body(7);
  ASSERT_TRUE(conn.send_all("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                            "Accept: application/json, text/event-stream\r\nMcp-Session-Id: " +
                            session + "\r\nTransfer-Encoding: chunked\r\n\r\n"));
  // Chunks of 5 bytes, each in its own send(); one with an extension; a trailer at the end.
  for (std::size_t at = 0; at < body.size(); at += 5) {
    const auto piece = body.substr(at, 5);
    char size[32];
    std::snprintf(size, sizeof size, at == 5 ? "%zx;ext=1\r\n" : "%zx\r\n", piece.size());
    ASSERT_TRUE(conn.send_all(size + piece + "\r\n"));
  }
  ASSERT_TRUE(conn.send_all("0\r\nX-Trailer: t\r\n\r\n"));
  ASSERT_TRUE(conn.read_until(has_responses(1), 10s)) << conn.data();
  const auto responses = parse_responses(conn.data());
  expect_ping_answer(responses[0], 7);
  EXPECT_NE(lower(responses[0].header("connection")), "close");
  ASSERT_TRUE(conn.send_all(post_bytes(session, ping_body(8))));
  ASSERT_TRUE(conn.read_until(has_responses(2), 10s)) << conn.data();
  expect_ping_answer(parse_responses(conn.data())[1], 8);
}

// ---------------------------------------------------------------------------------------------
// 7. A half-closed client

TEST_F(HttpEngineTest, AHalfClosedClientStillGetsItsAnswerThenTheServerCloses) {
  TestServer server;
  auto client = server.client();
  const auto session = client.open_session();
  RawSocket conn(server.port());
  ASSERT_TRUE(conn.send_all(post_bytes(session, ping_body(1))));
  conn.shutdown_write();
  ASSERT_TRUE(conn.read_until_closed(10s));
  EXPECT_EQ(conn.end(), RawSocket::End::eof);
  std::string rest;
  const auto responses = parse_responses(conn.data(), &rest);
  ASSERT_EQ(responses.size(), 1U) << conn.data();
  EXPECT_TRUE(rest.empty());
  expect_ping_answer(responses[0], 1);
}

TEST_F(HttpEngineTest, AHalfClosedClientGetsEveryPipelinedAnswer) {
  TestServer server;
  auto client = server.client();
  const auto session = client.open_session();
  RawSocket conn(server.port());
  ASSERT_TRUE(conn.send_all(post_bytes(session, ping_body(1)) + post_bytes(session, ping_body(2)) +
                            post_bytes(session, ping_body(3))));
  conn.shutdown_write();
  ASSERT_TRUE(conn.read_until_closed(10s));
  EXPECT_EQ(conn.end(), RawSocket::End::eof);
  const auto responses = parse_responses(conn.data());
  ASSERT_EQ(responses.size(), 3U) << conn.data();
  for (int i = 0; i < 3; ++i) expect_ping_answer(responses[static_cast<std::size_t>(i)], i + 1);
}

// ---------------------------------------------------------------------------------------------
// 8. A slow SSE reader: the overflow policy, the write deadline, and everyone else unaffected

class SlowReader {
public:
  // Opens `session`'s standalone GET stream on a socket with a small receive buffer, reads its
  // head and then never reads again.
  SlowReader(std::uint16_t port, const std::string& session) : socket_(port, 4096) {
    EXPECT_TRUE(socket_.connected());
    EXPECT_TRUE(socket_.send_all("GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                                 "Mcp-Session-Id: " + session + "\r\n\r\n"));
    EXPECT_TRUE(
        socket_.read_until([](const std::string& d) { return d.find("\r\n\r\n") != std::string::npos; }, 10s));
    EXPECT_TRUE(socket_.data().starts_with("HTTP/1.1 200 ")) << socket_.data();
  }
  RawSocket& socket() { return socket_; }

private:
  RawSocket socket_;
};

// Notifies `session` with 1 MiB notifications until one is refused; returns how many were queued,
// or -1 when none was refused. A refusal means max_queued_events (8 here) wait unwritten: at least
// 8 MiB, more than a loopback socket's send buffer takes, so a write is then pending whichever
// thread ran first.
int notify_until_refused(Server& server, const std::string& session) {
  const auto big = McpClient::notification("notifications/message",
                                           {{"level", "info"}, {"data", std::string(std::size_t{1} << 20, 'x')}});
  for (int i = 0; i < 200; ++i) {
    if (!server.notify(session, big)) return i;
  }
  return -1;
}

TEST_F(HttpEngineTest, ASlowSseReaderHitsTheOverflowPolicyWhileOthersAreUnaffected) {
  auto config = test_config();
  config.max_queued_events = 8;
  config.keepalive_interval = 0ms;
  HttpOptions http;
  http.write_timeout = 5s;
  TestServer server(config, {}, http);
  auto client = server.client();
  const auto slow_session = client.open_session();
  SlowReader slow(server.port(), slow_session);

  const auto queued = notify_until_refused(server.server(), slow_session);
  ASSERT_GE(queued, 8) << "notifications were refused before the queue could fill";
  RecordProperty("queued_before_the_first_refusal", queued);
  EXPECT_GE(server.server().metrics().dropped_writes.load(), 1U);

  // Another client on another session, served at once on the same event loop.
  const auto start = Clock::now();
  auto other = server.client();
  const auto other_session = other.open_session();
  ASSERT_FALSE(other_session.empty());
  const auto pong = other.post(McpClient::request(1, "ping"), other_session);
  EXPECT_EQ(pong.status, 200);
  EXPECT_TRUE(pong.response(1).contains("result"));
  EXPECT_LT(Clock::now() - start, 2s);
  // And a request on the slow session itself: its response is on its own POST stream.
  EXPECT_EQ(client.post(McpClient::request(2, "ping"), slow_session).status, 200);
  EXPECT_TRUE(slow.socket().still_open()) << "the slow reader still hangs, inside its write deadline";
  EXPECT_EQ(server.server().metrics().http_write_timeouts.load(), 0U);
  // The reader still takes nothing: the stream is at its bound again at once, and what is
  // refused is counted.
  const auto dropped = server.server().metrics().dropped_writes.load();
  const auto queued_again = notify_until_refused(server.server(), slow_session);
  EXPECT_GE(queued_again, 0) << "never refused";
  EXPECT_LE(queued_again, 8) << "the queue bound is max_queued_events";
  EXPECT_EQ(server.server().metrics().dropped_writes.load(), dropped + 1);
}

TEST_F(HttpEngineTest, AReaderThatStopsIsCutOffAtTheWriteDeadline) {
  auto config = test_config();
  config.max_queued_events = 8;
  config.keepalive_interval = 0ms;
  HttpOptions http;
  http.write_timeout = 500ms;
  TestServer server(config, {}, http);
  auto client = server.client();
  const auto slow_session = client.open_session();
  SlowReader slow(server.port(), slow_session);
  // Refused at the queue bound, or earlier when the write deadline has already cut the reader off
  // (under ThreadSanitizer a few 1 MiB notifications take longer than 500 ms to frame).
  ASSERT_GE(notify_until_refused(server.server(), slow_session), 1);

  EXPECT_TRUE(logs_.wait_for("client took no data for --http-write-timeout", 1, 10s));
  EXPECT_GE(server.server().metrics().http_write_timeouts.load(), 1U);
  // What was in flight still drains to the client, then the connection ends.
  EXPECT_TRUE(slow.socket().read_until_closed(20s)) << "the connection was never closed";
  EXPECT_EQ(server.server().metrics().http_request_timeouts.load(), 0U);
  // The session lives on: its client can open a new stream and is served.
  EXPECT_EQ(client.post(McpClient::request(3, "ping"), slow_session).status, 200);
}

// ---------------------------------------------------------------------------------------------
// 9. Keep-alive

TEST_F(HttpEngineTest, AKeepAliveConnectionServesSeveralRequestsThenClosesWhenIdle) {
  HttpOptions http;
  http.keepalive_timeout = 300ms;
  TestServer server(test_config(), {}, http);
  auto client = server.client();
  const auto session = client.open_session();
  RawSocket conn(server.port());
  ASSERT_TRUE(conn.send_all(kHealthz));
  ASSERT_TRUE(conn.read_until(has_responses(1), 10s)) << conn.data();
  ASSERT_TRUE(conn.send_all(post_bytes(session, ping_body(2))));
  ASSERT_TRUE(conn.read_until(has_responses(2), 10s)) << conn.data();
  const auto idle_from = Clock::now();
  const auto responses = parse_responses(conn.data());
  EXPECT_EQ(responses[0].status, 200);
  EXPECT_NE(lower(responses[0].header("connection")), "close");
  expect_ping_answer(responses[1], 2);
  EXPECT_NE(lower(responses[1].header("connection")), "close");

  ASSERT_TRUE(conn.read_until_closed(5s)) << "the idle connection was never closed";
  const auto idle_for = Clock::now() - idle_from;
  EXPECT_EQ(conn.end(), RawSocket::End::eof) << "a polite close";
  EXPECT_GE(idle_for, 250ms) << "not long before the keep-alive timeout";
  EXPECT_LT(idle_for, 3s);
  EXPECT_EQ(parse_responses(conn.data()).size(), 2U) << "nothing more was sent";
  EXPECT_EQ(server.server().metrics().http_request_timeouts.load(), 0U) << "idleness is no request timeout";
}

TEST_F(HttpEngineTest, TheLastRequestAllowedOnAConnectionSaysCloseAndTheServerCloses) {
  HttpOptions http;
  http.keepalive_requests = 2;
  TestServer server(test_config(), {}, http);
  RawSocket conn(server.port());
  ASSERT_TRUE(conn.send_all(kHealthz + kHealthz + kHealthz));
  ASSERT_TRUE(conn.read_until_closed(10s));
  EXPECT_EQ(conn.end(), RawSocket::End::eof);
  const auto responses = parse_responses(conn.data());
  ASSERT_EQ(responses.size(), 2U) << conn.data();
  EXPECT_NE(lower(responses[0].header("connection")), "close");
  EXPECT_EQ(lower(responses[1].header("connection")), "close");
}

TEST_F(HttpEngineTest, AConnectionOverTheLimitGets503AndIsClosed) {
  HttpOptions http;
  http.max_connections = 1;
  TestServer server(test_config(), {}, http);
  RawSocket first(server.port());
  ASSERT_TRUE(first.send_all(kHealthz));
  ASSERT_TRUE(first.read_until(has_responses(1), 10s));  // accepted and served: it holds the slot
  RawSocket second(server.port());
  ASSERT_TRUE(second.read_until_closed(10s));
  const auto refused = parse_responses(second.data());
  ASSERT_EQ(refused.size(), 1U) << second.data();
  expect_refusal(refused[0], 503, -32000);
  EXPECT_FALSE(refused[0].header("retry-after").empty());
  EXPECT_EQ(server.server().metrics().http_connections_rejected.load(), 1U);
  // The first connection is unaffected.
  ASSERT_TRUE(first.send_all(kHealthz));
  ASSERT_TRUE(first.read_until(has_responses(2), 10s)) << first.data();
}

// ---------------------------------------------------------------------------------------------
// 10. A lazy answer (2026-07-28): no head until the handler pushes a notification (SSE) or answers
// (one JSON body), so the status can still be chosen from the answer

// A lazy request's bytes: `message` POSTed as a 2026-07-28 request (the era whose answers are
// lazy): the protocol version and client capabilities in params._meta, mirrored by the routing
// headers. Stateless, so no session id.
std::string lazy_post_bytes(json message) {
  auto& params = message["params"];
  if (!params.is_object()) params = json::object();
  auto& meta = params["_meta"];
  if (!meta.is_object()) meta = json::object();
  meta["io.modelcontextprotocol/protocolVersion"] = "2026-07-28";
  meta["io.modelcontextprotocol/clientCapabilities"] = json::object();
  const auto method = message.value("method", std::string());
  std::string headers = "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: " + method + "\r\n";
  if (method == "tools/call") headers += "Mcp-Name: " + params.value("name", std::string()) + "\r\n";
  return post_bytes({}, message.dump(), headers);
}

TEST_F(HttpEngineTest, ALazyAnswerHoldsItsHeadWithoutDeadlineOrPingsThenIsOneJsonBody) {
  auto config = test_config();
  config.keepalive_interval = 50ms;  // an SSE stream would ping several times while we wait
  HttpOptions http;
  http.write_timeout = 200ms;        // an armed write deadline would cut the wait off
  TestServer server(config, {}, http);
  auto client = server.client();
  const auto session = client.open_session();
  RawSocket conn(server.port());
  ASSERT_TRUE(conn.connected());
  ASSERT_TRUE(conn.send_all(lazy_post_bytes(McpClient::tool_call(1, "gate", {{"name", "j"}}))));
  ASSERT_TRUE(server.gates().wait_entered("j"));
  // Bounded: three write deadlines and a dozen ping intervals pass with nothing written.
  EXPECT_TRUE(conn.still_open(600ms));
  EXPECT_TRUE(conn.data().empty()) << "the head waits for the answer: " << conn.data();
  EXPECT_EQ(server.server().metrics().http_write_timeouts.load(), 0U);
  server.gates().release("j");
  ASSERT_TRUE(conn.read_until(has_responses(1), 10s)) << conn.data();
  const auto answer = parse_responses(conn.data())[0];
  EXPECT_EQ(answer.status, 200) << answer.status_line;
  EXPECT_EQ(answer.header("content-type"), "application/json");
  EXPECT_EQ(answer.header("content-length"), std::to_string(answer.body.size())) << "a length, not chunks";
  EXPECT_TRUE(answer.header("transfer-encoding").empty());
  const auto messages = answer.messages();
  ASSERT_EQ(messages.size(), 1U) << answer.body;
  EXPECT_EQ(messages[0]["result"]["content"][0]["text"], "released j");
  // The connection goes on as after any whole answer.
  ASSERT_TRUE(conn.send_all(post_bytes(session, ping_body(2))));
  ASSERT_TRUE(conn.read_until(has_responses(2), 10s)) << conn.data();
  expect_ping_answer(parse_responses(conn.data())[1], 2);
}

TEST_F(HttpEngineTest, ALazyAnswerThatNotifiesFirstIsAnSseStream) {
  TestServer server;
  auto client = server.client();
  const auto session = client.open_session();
  RawSocket conn(server.port());
  ASSERT_TRUE(conn.connected());
  ASSERT_TRUE(conn.send_all(lazy_post_bytes(McpClient::tool_call(1, "test_tool_with_progress", json::object(), "p-1")) +
                            post_bytes(session, ping_body(2))));  // pipelined: waits for the stream to end
  ASSERT_TRUE(conn.read_until(has_responses(2), 10s)) << conn.data();
  const auto responses = parse_responses(conn.data());
  const auto& stream = responses[0];
  EXPECT_EQ(stream.status, 200) << stream.status_line;
  EXPECT_EQ(stream.header("content-type"), "text/event-stream");
  EXPECT_EQ(stream.header("cache-control"), "no-cache");
  EXPECT_EQ(stream.header("x-accel-buffering"), "no");
  EXPECT_EQ(lower(stream.header("transfer-encoding")), "chunked");
  const auto messages = stream.messages();
  ASSERT_EQ(messages.size(), 4U) << stream.body;
  EXPECT_EQ(messages[0]["method"], "notifications/progress");
  EXPECT_EQ(messages[3]["id"], 1);
  EXPECT_TRUE(messages[3].contains("result")) << messages[3].dump();
  expect_ping_answer(responses[1], 2);
}

TEST_F(HttpEngineTest, AClientThatLeavesALazyAnswerUndecidedCancelsIt) {
  TestServer server;
  auto client = server.client();
  const auto session = client.open_session();
  {
    RawSocket conn(server.port());
    ASSERT_TRUE(conn.connected());
    ASSERT_TRUE(conn.send_all(lazy_post_bytes(McpClient::tool_call(1, "gate", {{"name", "c"}}))));
    ASSERT_TRUE(server.gates().wait_entered("c"));
    EXPECT_TRUE(conn.data().empty());
  }  // closed with nothing written
  EXPECT_TRUE(server.gates().wait_stop_requested("c")) << "the engine told the stream its client left";
  EXPECT_EQ(server.gates().wait_exited("c"), GateBoard::Outcome::cancelled);
  EXPECT_TRUE(logs_.wait_for("client left a response stream"));
  EXPECT_EQ(client.post(McpClient::request(2, "ping"), session).status, 200) << "the session is fine";
}

}  // namespace
}  // namespace graceway::test
