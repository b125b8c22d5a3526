// The request front over real sockets: the DNS-rebinding defence (Host, then Origin) on every
// verb, the 405 of the verbs the endpoint does not serve, MCP-Protocol-Version on GET and on the
// 202 path, the batch rules of each protocol version and the body limit on a chunked body
// (spec-checklist.md sections 1.1, 1.2, 1.7, 1.8 and 5).

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "support/log_capture.hpp"
#include "support/mcp_client.hpp"
#include "support/test_server.hpp"

namespace graceway::test {
namespace {

using namespace std::chrono_literals;

// Sends `request` as it is on a new connection and returns everything the server sends until it
// closes the connection (or 20 s pass): for requests no HTTP client library will write, such as
// HTTP/1.0 without Host or a chunked body.
std::string raw_exchange(std::uint16_t port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return {};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
    std::size_t sent = 0;
    while (sent < request.size()) {
      const auto n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<std::size_t>(n);
    }
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    char buf[4096];
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;  // closed (or reset once the server stops reading)
      response.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return response;
}

int status_of(const std::string& response) {
  // "HTTP/1.1 403 Forbidden"
  return response.size() >= 12 ? std::atoi(response.substr(9, 3).c_str()) : 0;
}

std::string body_of(const std::string& response) {
  const auto end = response.find("\r\n\r\n");
  return end == std::string::npos ? std::string{} : response.substr(end + 4);
}

void expect_refusal_body(const Reply& reply, int code, const std::string& message_part) {
  ASSERT_EQ(reply.messages.size(), 1U) << reply.body;
  const auto& error = reply.messages.front();
  EXPECT_EQ(error["jsonrpc"], "2.0");
  EXPECT_TRUE(error.contains("id") && error["id"].is_null()) << "an error about the whole request names no id";
  EXPECT_EQ(error["error"]["code"], code);
  EXPECT_NE(error["error"]["message"].get<std::string>().find(message_part), std::string::npos) << error.dump();
}

class RequestFrontHttpTest : public ::testing::Test {
protected:
  RequestFrontHttpTest() : server_(), client_(server_.client()), session_(client_.open_session()) {}
  void TearDown() override { EXPECT_TRUE(logs_.errors().empty()); }

  [[nodiscard]] std::string host_with_port(const std::string& name) const {
    return name + ":" + std::to_string(server_.port());
  }
  HeaderList get_headers(const std::string& session) const {
    return {{"Accept", "text/event-stream"}, {"Mcp-Session-Id", session}};
  }

  LogCapture logs_;
  TestServer server_;
  McpClient client_;
  std::string session_;
};

// ---------------------------------------------------------------------------------------------
// Host (DNS-rebinding defence)

TEST_F(RequestFrontHttpTest, AForgedHostIsRefusedWith403OnEveryVerb) {
  ASSERT_FALSE(session_.empty());
  const HeaderList evil = {{"Host", "evil.example.com"}};
  const auto init = client_.post(McpClient::initialize(1), "", evil);
  EXPECT_EQ(init.status, 403);
  expect_refusal_body(init, -32000, "Forbidden: Host not allowed");
  EXPECT_FALSE(init.has_header("Mcp-Session-Id"));

  const auto with_origin = client_.post(McpClient::request(2, "ping"), session_,
                                        {{"Host", "evil.example.com:80"}, {"Origin", "http://evil.example.com"}});
  EXPECT_EQ(with_origin.status, 403);
  expect_refusal_body(with_origin, -32000, "Host not allowed");

  auto get_headers = this->get_headers(session_);
  get_headers.emplace_back("Host", "evil.example.com");
  const auto get = client_.get("/mcp", get_headers);
  EXPECT_EQ(get.status, 403);
  expect_refusal_body(get, -32000, "Host not allowed");

  const auto del = client_.del(session_, evil);
  EXPECT_EQ(del.status, 403);
  expect_refusal_body(del, -32000, "Host not allowed");
  EXPECT_EQ(client_.post(McpClient::request(3, "ping"), session_).status, 200) << "the refused DELETE ended nothing";

  for (const char* method : {"PUT", "PATCH", "OPTIONS"}) {
    const auto reply = client_.send(method, "/mcp", {{"Host", "evil.example.com"}});
    EXPECT_EQ(reply.status, 403) << method << ": the Host check comes before the 405";
  }
  // Logged once per refused request, at warning: 3 POST/GET/DELETE + 1 POST + 3 other verbs.
  EXPECT_EQ(logs_.count("refused Host 'evil.example.com"), 7U);
}

TEST_F(RequestFrontHttpTest, LoopbackHostsWithAnyPortAreAccepted) {
  for (const auto& host : {host_with_port("localhost"), host_with_port("127.0.0.1"), host_with_port("[::1]"),
                           std::string("localhost"), std::string("LocalHost:1")}) {
    const auto ping = client_.post(McpClient::request(4, "ping"), session_, {{"Host", host}});
    EXPECT_EQ(ping.status, 200) << host;
    EXPECT_EQ(ping.response(4)["result"], json::object()) << host;
  }
  EXPECT_EQ(client_.post(McpClient::initialize(5), "", {{"Host", host_with_port("localhost")}}).status, 200);
  EXPECT_EQ(logs_.count("refused Host"), 0U);
}

TEST_F(RequestFrontHttpTest, ARequestWithoutHostIsRefusedOnALoopbackBind) {
  // HTTP/1.0 lets a client leave Host out; only then can a request arrive without one.
  const std::string body = McpClient::initialize(6).dump();
  const auto response = raw_exchange(server_.port(), "POST /mcp HTTP/1.0\r\nContent-Type: application/json\r\n"
                                                     "Accept: application/json\r\nContent-Length: " +
                                                         std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(status_of(response), 403) << response;
  const auto error = json::parse(body_of(response), nullptr, false);
  EXPECT_EQ(error["error"]["code"], -32000) << response;
  EXPECT_EQ(error["error"]["message"], "Forbidden: Host not allowed: no Host header");
  EXPECT_EQ(logs_.count("refused Host '(none)'"), 1U);
}

TEST(RequestFrontConfigHttpTest, AllowedHostsReplacesTheDefault) {
  auto config = test_config();
  config.allowed_hosts = {"mcp.example.com", "api.example.com:8443"};
  TestServer server(config);
  auto client = server.client();
  const auto local = client.post(McpClient::initialize(1), "", {{"Host", "localhost:" + std::to_string(server.port())}});
  EXPECT_EQ(local.status, 403) << "an explicit list replaces the loopback default";
  EXPECT_EQ(client.post(McpClient::initialize(2)).status, 403) << "the client's own 127.0.0.1:<port> too";
  EXPECT_EQ(client.post(McpClient::initialize(3), "", {{"Host", "mcp.example.com:9000"}}).status, 200);
  EXPECT_EQ(client.post(McpClient::initialize(4), "", {{"Host", "api.example.com:8443"}}).status, 200);
  EXPECT_EQ(client.post(McpClient::initialize(5), "", {{"Host", "api.example.com:443"}}).status, 403);

  config.allowed_hosts = {"*"};
  TestServer any(config);
  auto any_client = any.client();
  EXPECT_EQ(any_client.post(McpClient::initialize(6), "", {{"Host", "evil.example.com"}}).status, 200);
}

TEST(RequestFrontConfigHttpTest, ANonLoopbackBindAllowsAnyHostButNoBrowserOriginByDefault) {
  auto config = test_config();
  config.host = "0.0.0.0";
  TestServer server(config);
  auto client = server.client();
  EXPECT_EQ(client.post(McpClient::initialize(1), "", {{"Host", "mcp.example.com"}}).status, 200);
  EXPECT_EQ(client.post(McpClient::initialize(2), "", {{"Origin", "http://localhost:6274"}}).status, 403)
      << "off loopback, browser origins must be listed";
}

// ---------------------------------------------------------------------------------------------
// Origin

TEST_F(RequestFrontHttpTest, AForgedOriginIsRefusedOnGetAndDeleteToo) {
  const HeaderList evil = {{"Origin", "http://evil.example.com"}};
  const auto post = client_.post(McpClient::request(7, "ping"), session_, evil);
  EXPECT_EQ(post.status, 403);
  expect_refusal_body(post, -32000, "Forbidden: Origin not allowed");
  auto get_headers = this->get_headers(session_);
  get_headers.emplace_back("Origin", "http://evil.example.com");
  const auto get = client_.get("/mcp", get_headers);
  EXPECT_EQ(get.status, 403);
  expect_refusal_body(get, -32000, "Origin not allowed");
  const auto del = client_.del(session_, evil);
  EXPECT_EQ(del.status, 403);
  expect_refusal_body(del, -32000, "Origin not allowed");
  EXPECT_EQ(client_.post(McpClient::request(8, "ping"), session_).status, 200);
  EXPECT_EQ(logs_.count("refused Origin 'http://evil.example.com'"), 3U);
}

TEST(RequestFrontConfigHttpTest, AllowedOriginsReplacesTheDefault) {
  LogCapture logs;
  auto config = test_config();
  config.allowed_origins = {"https://app.example.com"};
  TestServer server(config);
  auto client = server.client();
  const HeaderList app = {{"Origin", "https://app.example.com"}};
  const HeaderList local = {{"Origin", "http://localhost:6274"}};

  const auto init = client.post(McpClient::initialize(1), "", app);
  ASSERT_EQ(init.status, 200);
  const auto session = init.header("Mcp-Session-Id");
  const auto refused = client.post(McpClient::initialize(2), "", local);
  EXPECT_EQ(refused.status, 403) << "localhost origins are not added to an explicit list";
  expect_refusal_body(refused, -32000, "Origin not allowed");
  EXPECT_EQ(client.post(McpClient::notification("notifications/initialized"), session, app).status, 202);

  auto get_headers = HeaderList{{"Accept", "text/event-stream"}, {"Mcp-Session-Id", session}};
  auto local_get = get_headers;
  local_get.insert(local_get.end(), local.begin(), local.end());
  EXPECT_EQ(client.get("/mcp", local_get).status, 403);
  StreamClient stream(server.port());
  auto app_get = get_headers;
  app_get.insert(app_get.end(), app.begin(), app.end());
  ASSERT_TRUE(stream.send("GET", "/mcp", app_get));
  EXPECT_EQ(stream.read_head(), 200) << "the listed origin opens the GET stream";
  stream.close();

  EXPECT_EQ(client.del(session, local).status, 403);
  EXPECT_EQ(client.del(session, app).status, 200);
  EXPECT_EQ(logs.count("refused Origin 'http://localhost:6274'"), 3U);

  config.allowed_origins = {"*"};
  TestServer any(config);
  auto any_client = any.client();
  EXPECT_EQ(any_client.post(McpClient::initialize(3), "", {{"Origin", "https://anything.example"}}).status, 200);
}

// ---------------------------------------------------------------------------------------------
// Methods, MCP-Protocol-Version, batches, body limit

TEST_F(RequestFrontHttpTest, UnservedMethodsGet405WithAllow) {
  for (const char* method : {"PUT", "PATCH", "OPTIONS", "HEAD", "TRACE"}) {
    const auto reply = client_.send(method, "/mcp", {{"Mcp-Session-Id", session_}});
    EXPECT_EQ(reply.status, 405) << method;
    EXPECT_EQ(reply.header("Allow"), "GET, POST, DELETE") << method;
    if (std::string_view(method) != "HEAD") expect_refusal_body(reply, -32000, "Method Not Allowed");
  }
  EXPECT_EQ(client_.post(McpClient::request(9, "ping"), session_).status, 200);
}

TEST_F(RequestFrontHttpTest, AnUnsupportedProtocolVersionGets400OnGetAndOnTheAcceptPath) {
  const HeaderList bad = {{"MCP-Protocol-Version", "1999-01-01"}};
  auto get_headers = this->get_headers(session_);
  get_headers.insert(get_headers.end(), bad.begin(), bad.end());
  const auto get = client_.get("/mcp", get_headers);
  EXPECT_EQ(get.status, 400);
  expect_refusal_body(get, -32000, "Unsupported protocol version");
  EXPECT_EQ(get.messages.front()["error"]["data"]["requested"], "1999-01-01");

  const auto note = client_.post(McpClient::notification("notifications/initialized"), session_, bad);
  EXPECT_EQ(note.status, 400) << "a notification is not accepted with a bad version either";
  expect_refusal_body(note, -32000, "Unsupported protocol version");
}

TEST_F(RequestFrontHttpTest, UnknownNotificationsAndBatchesOfResponsesGet202) {
  const auto unknown = client_.post(McpClient::notification("notifications/no_such_thing", {{"x", 1}}), session_);
  EXPECT_EQ(unknown.status, 202);
  EXPECT_TRUE(unknown.body.empty());

  const auto old_session = client_.open_session("2025-03-26");
  ASSERT_FALSE(old_session.empty());
  const json responses = json::array({json{{"jsonrpc", "2.0"}, {"id", "s1"}, {"result", json::object()}},
                                      json{{"jsonrpc", "2.0"}, {"id", 7}, {"error", {{"code", -1}, {"message", "no"}}}}});
  const auto reply = client_.post(responses, old_session);
  EXPECT_EQ(reply.status, 202);
  EXPECT_TRUE(reply.body.empty());
}

TEST_F(RequestFrontHttpTest, ABatchOfOnlyInvalidElementsGetsOneErrorPerElement) {
  const auto old_session = client_.open_session("2025-03-26");
  ASSERT_FALSE(old_session.empty());
  const HeaderList json_only = {{"Accept", "application/json"}};
  auto headers = McpClient::mcp_headers(old_session);

  const auto one = client_.post_raw("[1]", headers);
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(one.header("Content-Type"), "text/event-stream");
  ASSERT_EQ(one.messages.size(), 1U) << one.body;
  EXPECT_EQ(one.messages[0]["error"]["code"], -32600);
  EXPECT_TRUE(one.messages[0]["id"].is_null());

  auto json_headers = headers;
  json_headers[1] = {"Accept", "application/json"};
  const auto two = client_.post_raw("[1,2]", json_headers);
  ASSERT_EQ(two.status, 200) << two.body;
  EXPECT_EQ(two.header("Content-Type"), "application/json");
  const auto array = json::parse(two.body, nullptr, false);
  ASSERT_TRUE(array.is_array()) << two.body;
  ASSERT_EQ(array.size(), 2U);
  for (const auto& error : array) {
    EXPECT_EQ(error["error"]["code"], -32600);
    EXPECT_TRUE(error["id"].is_null());
  }

  const json mixed = json::array({McpClient::notification("notifications/initialized"), 42});
  const auto with_note = client_.post(mixed, old_session, json_only);
  ASSERT_EQ(with_note.status, 200) << with_note.body;
  const auto mixed_array = json::parse(with_note.body, nullptr, false);
  ASSERT_TRUE(mixed_array.is_array()) << with_note.body;
  ASSERT_EQ(mixed_array.size(), 1U) << "the notification is not answered";
  EXPECT_EQ(mixed_array[0]["error"]["code"], -32600);

  const auto refused = client_.post_raw("[1]", McpClient::mcp_headers(session_));
  EXPECT_EQ(refused.status, 400) << "no batches at all on a 2025-11-25 session";
  expect_refusal_body(refused, -32600, "batches are not supported");
}

TEST_F(RequestFrontHttpTest, BatchesAreRefusedOnA20250618Session) {
  const auto session = client_.open_session("2025-06-18");
  ASSERT_FALSE(session.empty());
  const json batch = json::array({McpClient::request(10, "ping"), McpClient::request(11, "ping")});
  const auto reply = client_.post(batch, session, {{"MCP-Protocol-Version", "2025-06-18"}});
  EXPECT_EQ(reply.status, 400);
  expect_refusal_body(reply, -32600, "Invalid Request: batches are not supported");
  const auto notes = json::array({McpClient::notification("notifications/initialized")});
  EXPECT_EQ(client_.post(notes, session).status, 400) << "a batch of notifications too";
}

TEST_F(RequestFrontHttpTest, ABatchedInitializeGets400AndMinus32600) {
  const auto old_session = client_.open_session("2025-03-26");
  ASSERT_FALSE(old_session.empty());
  const auto alone = client_.post(json::array({McpClient::initialize(12)}));
  EXPECT_EQ(alone.status, 400);
  expect_refusal_body(alone, -32600, "initialize must not be part of a batch");
  EXPECT_FALSE(alone.has_header("Mcp-Session-Id"));
  const auto mixed = client_.post(json::array({McpClient::request(13, "ping"), McpClient::initialize(14)}), old_session);
  EXPECT_EQ(mixed.status, 400);
  expect_refusal_body(mixed, -32600, "initialize must not be part of a batch");
}

TEST(RequestFrontConfigHttpTest, AChunkedBodyOverTheLimitGets413) {
  auto config = test_config();
  config.max_body_bytes = 1024;
  TestServer server(config);
  auto client = server.client();
  const auto session = client.open_session();
  ASSERT_FALSE(session.empty());
  const std::string body = McpClient::tool_call(15, "echo", {{"text", std::string(4096, 'x')}}).dump();
  std::string chunked;
  for (std::size_t at = 0; at < body.size(); at += 512) {
    const auto piece = body.substr(at, 512);
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
    chunked.append(size).append(piece).append("\r\n");
  }
  chunked += "0\r\n\r\n";
  const auto response =
      raw_exchange(server.port(), "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                                  "Accept: application/json, text/event-stream\r\nMcp-Session-Id: " +
                                      session + "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunked);
  EXPECT_EQ(status_of(response), 413) << response;
  EXPECT_EQ(json::parse(body_of(response), nullptr, false)["error"]["code"], -32000) << response;
  EXPECT_EQ(client.post(McpClient::request(16, "ping"), session).status, 200) << "the session survives";
}

}  // namespace
}  // namespace graceway::test
