// Gateway mode in front of a Streamable HTTP server, over real sockets. The real, unchanged
// @modelcontextprotocol/server-everything (pinned in tests/e2e, run with `streamableHttp`) is the
// upstream wherever the behaviour is about a real server: the DELETE absorbed until the long call
// has ended, the deadline's cancellation, a sampling request relayed. What it cannot be made to do
// on demand (forget a session with 404, end a stream after a priming event, report the headers it
// got) comes from a small loopback upstream written here with cpp-httplib.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>

#include "support/gateway_fixture.hpp"
#include "support/process.hpp"

namespace graceway::test {
namespace {

using namespace std::chrono_literals;

const std::string kEverything = std::string(GRACEWAY_NPM_MODULES) + "/@modelcontextprotocol/server-everything/dist/index.js";

// A loopback port nobody listens on at this moment.
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof(address);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), size);  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
  ::close(fd);
  return ntohs(address.sin_port);
}

// server-everything over Streamable HTTP on a port of its own, once for the whole suite.
class Everything {
public:
  Everything()
      : port_(free_port()),
        process_("/usr/bin/env", {"PORT=" + std::to_string(port_), GRACEWAY_NODE, kEverything, "streamableHttp"}) {
    ready_ = process_.wait_for_line("listening on port").has_value();
  }
  [[nodiscard]] bool ready() const { return ready_; }
  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/mcp"; }
  [[nodiscard]] std::uint16_t port() const { return port_; }

private:
  std::uint16_t port_;
  ChildProcess process_;
  bool ready_ = false;
};

// An upstream written for the cases server-everything has no switch for. Every request it gets is
// recorded. initialize opens session "up-1" (with the version asked for, or `answer_version`).
// tools/call answers by the tool's name:
//   poll    a priming event (id e1, retry 20 ms), then the stream ends; a GET with Last-Event-ID
//           e1 carries the result
//   forget  404 (the session is gone)
//   refuse  400 with a JSON-RPC error;  boom  500 with an HTML page;  accept  202 and no answer
//   cut     an SSE log message without an event id, then the stream ends unanswered
//   batch   a JSON array: a progress notification and the result
//   big     a 4 KiB result
//   ask     an SSE stream: sampling/createMessage (id "s1"), then the result
// A GET without Last-Event-ID is refused with 405, unless `serve_get` is set: then, once
// release_get() has been called, it carries one list_changed event (id g1, retry 20 ms) and ends.
// Given to the constructor, before its server thread starts, which is all that orders it before
// the handlers' reads: they run on httplib's threads, reached through the kernel's sockets only.
struct FakeUpstreamBehaviour {
  std::string answer_version;  // empty: the version the client asked for
  bool serve_get = false;
};

class FakeUpstream {
public:
  struct Seen {
    std::string method;
    httplib::Headers headers;
    json body;
  };

  explicit FakeUpstream(FakeUpstreamBehaviour behaviour = {}) : answer_version(std::move(behaviour.answer_version)), serve_get(behaviour.serve_get) {
    server_.Post("/mcp", [this](const httplib::Request& request, httplib::Response& response) {
      const auto body = json::parse(request.body, nullptr, false);
      record(request, body);
      const auto method = body.value("method", "");
      if (!body.contains("id") || method.empty()) {  // a notification, or the client's answer
        response.status = 202;
        return;
      }
      if (method == "initialize") {
        response.set_header("Mcp-Session-Id", "up-1");
        response.set_content(json{{"jsonrpc", "2.0"},
                                  {"id", body["id"]},
                                  {"result",
                                   {{"protocolVersion", answer_version.empty() ? body["params"]["protocolVersion"] : json(answer_version)},
                                    {"capabilities", {{"tools", json::object()}}},
                                    {"serverInfo", {{"name", "fake-upstream"}, {"version", "1"}}}}}}
                                 .dump(),
                             "application/json");
        return;
      }
      const auto tool = body.value("params", json::object()).value("name", "");
      if (tool == "forget") {
        response.status = 404;
        response.set_content(R"({"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Session not found"}})",
                             "application/json");
        return;
      }
      if (tool == "poll") {
        response.set_content("id: e1\nretry: 20\ndata: \n\n", "text/event-stream");
        return;
      }
      const json result = {{"jsonrpc", "2.0"}, {"id", body["id"]}, {"result", {{"content", json::array()}}}};
      if (tool == "refuse") {
        response.status = 400;
        response.set_content(R"({"jsonrpc":"2.0","id":null,"error":{"code":-32602,"message":"Unknown tool: refuse"}})",
                             "application/json");
      } else if (tool == "boom") {
        response.status = 500;
        response.set_content("<h1>oops</h1>", "text/html");
      } else if (tool == "accept") {
        response.status = 202;
      } else if (tool == "cut") {
        const json log = {{"jsonrpc", "2.0"}, {"method", "notifications/message"}, {"params", {{"level", "info"}, {"data", "working"}}}};
        response.set_content("data: " + log.dump() + "\n\n", "text/event-stream");
      } else if (tool == "batch") {
        const json progress = {{"jsonrpc", "2.0"}, {"method", "notifications/progress"}, {"params", {{"progressToken", "t"}, {"progress", 1}}}};
        response.set_content(json::array({progress, result}).dump(), "application/json");
      } else if (tool == "big") {
        response.set_content(json{{"jsonrpc", "2.0"}, {"id", body["id"]}, {"result", {{"text", std::string(4096, 'x')}}}}.dump(),
                             "application/json");
      } else if (tool == "ask") {
        const json ask = {{"jsonrpc", "2.0"}, {"id", "s1"}, {"method", "sampling/createMessage"}, {"params", {{"messages", json::array()}, {"maxTokens", 1}}}};
        response.set_content("data: " + ask.dump() + "\n\ndata: " + result.dump() + "\n\n", "text/event-stream");
      } else {
        response.set_content(result.dump(), "application/json");
      }
      return;
    });
    server_.Get("/mcp", [this](const httplib::Request& request, httplib::Response& response) {
      record(request, nullptr);
      const auto last = request.get_header_value("Last-Event-ID");
      if (last.empty() && serve_get) {
        std::unique_lock lock(mu_);
        get_cv_.wait_for(lock, 10s, [&] { return get_released_; });
        const json changed = {{"jsonrpc", "2.0"}, {"method", "notifications/tools/list_changed"}};
        response.set_content("id: g1\nretry: 20\ndata: " + changed.dump() + "\n\n", "text/event-stream");
        return;
      }
      if (last != "e1") {
        response.status = 405;
        return;
      }
      const json result = {{"jsonrpc", "2.0"}, {"id", 7}, {"result", {{"content", {{{"type", "text"}, {"text", "polled"}}}}}}};
      response.set_content("id: e2\ndata: " + result.dump() + "\n\n", "text/event-stream");
    });
    server_.Delete("/mcp", [this](const httplib::Request& request, httplib::Response&) { record(request, nullptr); });
    port_ = static_cast<std::uint16_t>(server_.bind_to_any_port("127.0.0.1"));
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // bind_to_any_port() listens already: a connection made before the thread accepts waits in the backlog.
  }
  ~FakeUpstream() {
    release_get();
    server_.stop();
    thread_.join();
  }
  FakeUpstream(const FakeUpstream&) = delete;
  FakeUpstream& operator=(const FakeUpstream&) = delete;

  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/mcp"; }

  void release_get() {
    {
      std::lock_guard lock(mu_);
      get_released_ = true;
    }
    get_cv_.notify_all();
  }

  const std::string answer_version;
  const bool serve_get;

  // Waits until `count` requests with this HTTP method have come; all requests seen by then.
  std::vector<Seen> wait_for(const std::string& method, std::size_t count = 1) {
    std::unique_lock lock(mu_);
    seen_cv_.wait_for(lock, 10s, [&] {
      return static_cast<std::size_t>(std::count_if(seen_.begin(), seen_.end(), [&](const Seen& s) { return s.method == method; })) >= count;
    });
    return seen_;
  }
  // Waits until a request `match`es; false after 10 s.
  bool wait_until(const std::function<bool(const Seen&)>& match) {
    std::unique_lock lock(mu_);
    return seen_cv_.wait_for(lock, 10s, [&] { return std::any_of(seen_.begin(), seen_.end(), match); });
  }
  std::vector<Seen> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

private:
  void record(const httplib::Request& request, json body) {
    {
      std::lock_guard lock(mu_);
      seen_.push_back({request.method, request.headers, std::move(body)});
    }
    seen_cv_.notify_all();
  }

  httplib::Server server_;
  std::uint16_t port_ = 0;
  std::thread thread_;  // runs server_; joined by the destructor
  std::mutex mu_;       // guards seen_ and get_released_
  std::condition_variable seen_cv_;
  std::condition_variable get_cv_;
  std::vector<Seen> seen_;
  bool get_released_ = false;
};

// True once the upstream has been sent notifications/cancelled for request `id`.
bool cancelled_upstream(FakeUpstream& upstream, const json& id) {
  return upstream.wait_until([&](const FakeUpstream::Seen& request) {
    return request.body.is_object() && request.body.value("method", "") == "notifications/cancelled" &&
           request.body.value("params", json::object()).value("requestId", json()) == id;
  });
}

class UpstreamGatewayTest : public GatewayFixture {
protected:
  static void SetUpTestSuite() {
    if (std::filesystem::exists(kEverything)) everything_ = new Everything();  // NOLINT(cppcoreguidelines-owning-memory)
  }
  static void TearDownTestSuite() {
    delete everything_;  // NOLINT(cppcoreguidelines-owning-memory)
    everything_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(everything_ != nullptr && everything_->ready())
        << "server-everything (pinned in tests/e2e) did not start; run scripts/setup.sh --tests";
  }

  Server& start(const std::string& url, const std::function<void(ServerConfig&, UpstreamGatewayOptions&)>& tweak = {}) {
    auto config = test_config();
    UpstreamGatewayOptions upstream;
    upstream.url = url;
    upstream.delete_timeout = 1s;
    if (tweak) tweak(config, upstream);
    Server::Options options;
    options.upstream = std::move(upstream);
    return start_server(config, std::move(options));
  }

  // The upstream's own session id for `session`, from graceway's debug log.
  std::string upstream_session(const std::string& session) {
    const auto needle = "session " + session + ": upstream session ";
    EXPECT_TRUE(logs_.wait_for(needle));
    for (const auto& line : logs_.lines()) {
      if (const auto at = line.text.find(needle); at != std::string::npos) return line.text.substr(at + needle.size());
    }
    return {};
  }

  static Everything* everything_;  // started once for the suite
};

Everything* UpstreamGatewayTest::everything_ = nullptr;

TEST_F(UpstreamGatewayTest, TheClientSeesTheUpstreamsInitializeToolsAndProgressUnderIdsOfGracewaysOwn) {
  start(everything_->url());
  auto c = client();
  const auto session = expect_everythings_initialize(c);
  ASSERT_FALSE(session.empty());
  const auto upstream = upstream_session(session);
  ASSERT_FALSE(upstream.empty());
  EXPECT_NE(upstream, session) << "graceway mints its own id; the upstream's stays private";
  const HeaderList version = {{"MCP-Protocol-Version", "2025-06-18"}};
  ASSERT_EQ(c.post(McpClient::notification("notifications/initialized"), session, version).status, 202);
  const auto tools = c.post(McpClient::request(2, "tools/list"), session, version);
  ASSERT_EQ(tools.status, 200);
  std::set<std::string> names;
  const auto listed = tools.response(2);  // named: a temporary in a range-for's init dies too early
  for (const auto& tool : listed["result"]["tools"]) names.insert(tool["name"].get<std::string>());
  EXPECT_TRUE(names.count("echo") && names.count("trigger-long-running-operation")) << tools.body;
  auto call = start_call(session, long_call(3, 1, 3));
  std::vector<json> before;
  const auto done = read_response(*call, 3, &before);
  ASSERT_FALSE(done.is_null());
  EXPECT_EQ(done["result"]["content"][0]["text"], "Long running operation completed. Duration: 1 seconds, Steps: 3.");
  ASSERT_EQ(before.size(), 3U) << "each progress event once, on the call's own stream";
  EXPECT_EQ(before.back()["params"]["progressToken"], "p3");
  EXPECT_GE(server_->metrics().upstream_responses[1].load(), 4U) << "2xx answers are counted";
  EXPECT_EQ(server_->metrics().upstream_sessions.load(), 1);
  const auto metrics = c.get("/metrics").body;
  EXPECT_NE(metrics.find("\ngraceway_upstream_sessions 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\ngraceway_upstream_responses_total{status=\"2xx\"} "), std::string::npos);
  EXPECT_NE(metrics.find("\ngraceway_upstream_responses_total{status=\"5xx\"} 0\n"), std::string::npos);
}

TEST_F(UpstreamGatewayTest, DeleteWhileALongCallRunsDeliversItThen503Then404AndOnlyThenTheUpstreamGetsDelete) {
  start(everything_->url());
  auto c = client();
  const auto session = c.open_session();
  ASSERT_FALSE(session.empty());
  const auto upstream = upstream_session(session);
  auto call = start_call(session, long_call(7, 1, 2));
  auto first = call->next_message();
  while (first && !first->contains("method")) first = call->next_message();
  ASSERT_TRUE(first) << "the call runs upstream";
  ASSERT_EQ(c.del(session).status, 200);
  const auto refused = c.post(McpClient::request(8, "tools/list"), session);
  EXPECT_EQ(refused.status, 503);
  EXPECT_TRUE(refused.has_header("Retry-After"));
  EXPECT_EQ(logs_.count("DELETE answered"), 0U) << "the DELETE waits for the call";

  // server-everything ends a call's response with an empty body when its session is deleted
  // under it; the whole result arriving shows the DELETE was held back.
  const auto result = read_response(*call, 7);
  ASSERT_FALSE(result.is_null()) << "the call's result arrived";
  EXPECT_EQ(result["result"]["content"][0]["text"], "Long running operation completed. Duration: 1 seconds, Steps: 2.");
  ASSERT_TRUE(server_->wait_session_state(session, SessionState::closed, 10s));
  EXPECT_EQ(c.post(McpClient::request(9, "tools/list"), session).status, 404);
  EXPECT_TRUE(logs_.wait_for("session " + session + ": upstream session ended (DELETE answered 200)"));
  // The upstream no longer knows its session (server-everything answers 400, not 404).
  McpClient direct(everything_->port());
  EXPECT_EQ(direct.post(McpClient::request(10, "tools/list"), upstream).status, 400);
  EXPECT_EQ(server_->metrics().upstream_sessions.load(), 0);
}

TEST_F(UpstreamGatewayTest, AtTheDeadlineTheUpstreamIsToldToCancelThenGetsItsDelete) {
  start(everything_->url(), [](ServerConfig& config, UpstreamGatewayOptions&) { config.drain_timeout = 300ms; });
  auto c = client();
  const auto session = c.open_session();
  auto call = start_call(session, long_call(5, 30, 30));
  ASSERT_EQ(c.del(session).status, 200);
  const auto answer = read_response(*call, 5);
  ASSERT_FALSE(answer.is_null());
  EXPECT_EQ(answer["error"]["code"], -32000);
  EXPECT_NE(answer["error"]["message"].get<std::string>().find("drain window ended"), std::string::npos);
  EXPECT_TRUE(logs_.wait_for("request i:5 stopped; its MCP server was sent notifications/cancelled (the session's drain "
                             "window ended)"));
  EXPECT_TRUE(logs_.wait_for("session " + session + ": upstream session ended (DELETE answered 200)"));
}

TEST_F(UpstreamGatewayTest, ASamplingRequestFromTheUpstreamIsAnsweredOnTheCallsStream) {
  start(everything_->url());
  expect_sampling_answered_on_the_calls_stream(client().open_session("2025-11-25", {{"sampling", json::object()}}));
}

TEST_F(UpstreamGatewayTest, AnUpstreamThatIsDownAnswersClearlyAndFlipsReadiness) {
  start("http://127.0.0.1:" + std::to_string(free_port()) + "/mcp");
  auto c = client();
  for (int i = 1; i <= 3; ++i) {
    const auto reply = c.post(McpClient::initialize(i));
    ASSERT_EQ(reply.status, 200);
    const auto error = reply.response(i)["error"];
    EXPECT_EQ(error["code"], -32603);
    EXPECT_EQ(error["data"]["reason"], "upstream_unreachable");
    EXPECT_NE(error["message"].get<std::string>().find("Connection refused"), std::string::npos) << error.dump();
    EXPECT_TRUE(server_->wait_session_state(reply.header("Mcp-Session-Id"), SessionState::closed, 5s));
  }
  const auto ready = c.get("/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("3 failed contacts with the upstream MCP server in a row"), std::string::npos) << ready.body;
  EXPECT_EQ(c.get("/healthz").status, 200);
  EXPECT_EQ(server_->metrics().upstream_failures.load(), 3U);
}

TEST_F(UpstreamGatewayTest, OnlyConfiguredHeadersGoUpstreamAndTheClientsAuthorizationNever) {
  FakeUpstream upstream;
  start(upstream.url(), [](ServerConfig&, UpstreamGatewayOptions& options) { options.headers = {"X-Api-Key: k-123"}; });
  auto c = client();
  const HeaderList from_client = {{"Authorization", "Bearer client-token"}, {"X-Client-Secret", "s"}, {"Cookie", "c=1"}};
  const auto reply = c.post(McpClient::initialize(1), {}, from_client);
  ASSERT_EQ(reply.status, 200);
  const auto session = reply.header("Mcp-Session-Id");
  EXPECT_NE(session, "up-1");
  EXPECT_EQ(c.post(McpClient::tool_call(2, "plain", json::object()), session, from_client).response(2)["result"], json({{"content", json::array()}}));
  const auto seen = upstream.wait_for("POST", 2);
  ASSERT_GE(seen.size(), 2U);
  for (const auto& request : seen) {
    EXPECT_EQ(request.headers.count("Authorization"), 0U);
    EXPECT_EQ(request.headers.count("X-Client-Secret"), 0U);
    EXPECT_EQ(request.headers.count("Cookie"), 0U);
    EXPECT_EQ(request.headers.find("X-Api-Key")->second, "k-123");
  }
  EXPECT_EQ(seen.front().headers.count("Mcp-Session-Id"), 0U) << "initialize opens the upstream session";
  const auto& call = seen.back();
  EXPECT_EQ(call.headers.find("Mcp-Session-Id")->second, "up-1") << "the upstream's own id, never graceway's";
  EXPECT_EQ(call.headers.find("MCP-Protocol-Version")->second, "2025-11-25");
  EXPECT_EQ(call.body["method"], "tools/call");
}

TEST_F(UpstreamGatewayTest, AStreamTheUpstreamEndsAfterItsPrimingEventIsResumedWithLastEventId) {
  FakeUpstream upstream;
  start(upstream.url());
  auto c = client();
  const auto session = c.open_session();
  const auto reply = c.post(McpClient::tool_call(7, "poll", json::object()), session);
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.response(7)["result"]["content"][0]["text"], "polled") << reply.body;
  bool resumed = false;
  for (const auto& request : upstream.seen()) {
    const auto it = request.headers.find("Last-Event-ID");
    if (request.method == "GET" && it != request.headers.end() && it->second == "e1") {
      resumed = request.headers.find("Mcp-Session-Id")->second == "up-1";
    }
  }
  EXPECT_TRUE(resumed) << "GET with Last-Event-ID e1 on the upstream session";
  EXPECT_EQ(server_->metrics().upstream_stream_resumes.load(), 1U);
}

TEST_F(UpstreamGatewayTest, AnUpstream404EndsTheSessionSoTheClientReinitializes) {
  FakeUpstream upstream;
  start(upstream.url());
  auto c = client();
  const auto session = c.open_session();
  const auto reply = c.post(McpClient::tool_call(4, "forget", json::object()), session);
  const auto error = reply.response(4)["error"];
  EXPECT_EQ(error["code"], -32603);
  EXPECT_EQ(error["data"]["reason"], "upstream_session_gone");
  ASSERT_TRUE(server_->wait_session_state(session, SessionState::closed, 5s));
  EXPECT_EQ(c.post(McpClient::request(5, "tools/list"), session).status, 404);
  EXPECT_EQ(server_->metrics().upstream_sessions_lost.load(), 1U);
  EXPECT_TRUE(logs_.wait_for("session " + session + ": its MCP server no longer knows its upstream session"));
  server_->shutdown();
  EXPECT_EQ(server_->wait(), 0);
  for (const auto& request : upstream.seen()) EXPECT_NE(request.method, "DELETE") << "nothing left upstream to delete";
}

TEST_F(UpstreamGatewayTest, ShutdownWithACallInFlightEndsItAndDeletesEveryUpstreamSession) {
  auto& server = start(everything_->url(), [](ServerConfig& config, UpstreamGatewayOptions&) {
    config.shutdown_timeout = 300ms;
    config.drain_timeout = 300ms;
  });
  auto c = client();
  const auto busy = c.open_session();
  const auto idle = c.open_session();
  auto call = start_call(busy, long_call(4, 30, 30));
  auto first = call->next_message();
  while (first && !first->contains("method")) first = call->next_message();
  ASSERT_TRUE(first) << "the call runs upstream";
  server.shutdown();
  const auto answer = read_response(*call, 4);
  ASSERT_FALSE(answer.is_null());
  EXPECT_EQ(answer["error"]["code"], -32000);
  EXPECT_EQ(server.wait(), 0);
  EXPECT_EQ(logs_.count("upstream session ended (DELETE answered 200)"), 2U);
  EXPECT_EQ(server.metrics().upstream_sessions.load(), 0);
}

}  // namespace
}  // namespace graceway::test

namespace graceway::test {
namespace {

TEST_F(UpstreamGatewayTest, UpstreamErrorsReachTheClientAsJsonRpcErrorsAndTheSessionGoesOn) {
  FakeUpstream upstream;
  start(upstream.url());
  auto c = client();
  const auto session = c.open_session();
  const auto refused = c.post(McpClient::tool_call(2, "refuse", json::object()), session).response(2);
  EXPECT_EQ(refused["error"]["code"], -32602) << "the upstream's own error, with the request's id: " << refused.dump();
  EXPECT_EQ(refused["error"]["message"], "Unknown tool: refuse");
  const auto boom = c.post(McpClient::tool_call(3, "boom", json::object()), session).response(3);
  EXPECT_EQ(boom["error"]["code"], -32603);
  EXPECT_EQ(boom["error"]["data"], json({{"reason", "upstream_status"}, {"status", 500}}));
  const auto accepted = c.post(McpClient::tool_call(4, "accept", json::object()), session).response(4);
  EXPECT_EQ(accepted["error"]["data"]["reason"], "upstream_no_answer");
  EXPECT_EQ(c.post(McpClient::tool_call(5, "plain", json::object()), session).response(5)["result"],
            json({{"content", json::array()}}))
      << "the session goes on";
  EXPECT_GE(server_->metrics().upstream_responses[3].load(), 1U);
  EXPECT_GE(server_->metrics().upstream_responses[4].load(), 1U);
}

TEST_F(UpstreamGatewayTest, AStreamWithoutEventIdsThatEndsUnansweredFailsItsRequestAndIsCancelledUpstream) {
  FakeUpstream upstream;
  start(upstream.url());
  auto c = client();
  const auto session = c.open_session();
  const auto reply = c.post(McpClient::tool_call(3, "cut", json::object()), session);
  ASSERT_EQ(reply.messages.size(), 2U) << reply.body;
  EXPECT_EQ(reply.messages.front()["method"], "notifications/message") << "what came first is relayed";
  EXPECT_EQ(reply.response(3)["error"]["data"]["reason"], "upstream_stream_ended");
  EXPECT_TRUE(cancelled_upstream(upstream, 3)) << "the upstream is told its work is not wanted";
}

TEST_F(UpstreamGatewayTest, ABatchAnswerIsRelayedAndAnOversizedOneFailsAndIsCancelled) {
  FakeUpstream upstream;
  start(upstream.url(), [](ServerConfig&, UpstreamGatewayOptions& options) { options.max_message_bytes = 1024; });
  auto c = client();
  const auto session = c.open_session();
  const auto batch = c.post(McpClient::tool_call(4, "batch", json::object(), "t"), session);
  EXPECT_EQ(batch.response(4)["result"], json({{"content", json::array()}})) << batch.body;
  const auto big = c.post(McpClient::tool_call(5, "big", json::object()), session).response(5);
  EXPECT_EQ(big["error"]["data"]["reason"], "upstream_answer_too_large") << big.dump();
  EXPECT_TRUE(cancelled_upstream(upstream, 5));
}

TEST_F(UpstreamGatewayTest, AServerRequestNoClientStreamCanCarryIsAnsweredUpstreamAtOnce) {
  FakeUpstream upstream;
  start(upstream.url());
  auto c = client();
  const auto session = c.open_session();
  // A JSON-mode client: its response is one body, which cannot carry the upstream's request.
  const auto reply = c.post(McpClient::tool_call(6, "ask", json::object()), session, {{"Accept", "application/json"}});
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.response(6)["result"], json({{"content", json::array()}}));
  EXPECT_TRUE(upstream.wait_until([](const FakeUpstream::Seen& request) {
    return request.body.is_object() && request.body.value("id", json()) == "s1" &&
           request.body.value("error", json::object()).value("code", 0) == -32603;
  })) << "sampling/createMessage answered -32603 upstream";
  EXPECT_GE(server_->metrics().upstream_messages_undelivered.load(), 1U);
}

TEST_F(UpstreamGatewayTest, TheUpstreamGetStreamReachesTheClientsAndIsReopenedFromItsLastEventId) {
  FakeUpstream upstream({.answer_version = {}, .serve_get = true});
  start(upstream.url());
  auto c = client();
  const auto session = c.open_session();
  StreamClient get(server_->port());
  ASSERT_TRUE(get.send("GET", "/mcp", {{"Accept", "text/event-stream"}, {"Mcp-Session-Id", session}}));
  ASSERT_EQ(get.read_head(), 200);  // attached: the upstream's event now has a stream to go to
  upstream.release_get();
  const auto message = get.next_message();
  ASSERT_TRUE(message);
  EXPECT_EQ((*message)["method"], "notifications/tools/list_changed");
  EXPECT_TRUE(upstream.wait_until([](const FakeUpstream::Seen& request) {
    const auto it = request.headers.find("Last-Event-ID");
    return request.method == "GET" && it != request.headers.end() && it->second == "g1";
  })) << "the upstream GET stream is reopened with Last-Event-ID g1";
}

TEST_F(UpstreamGatewayTest, AnInitializeAnsweredWithAVersionGracewayDoesNotServeClosesTheSession) {
  FakeUpstream upstream({.answer_version = "1999-01-01", .serve_get = false});
  start(upstream.url());
  auto c = client();
  const auto reply = c.post(McpClient::initialize(1));
  const auto error = reply.response(1)["error"];
  EXPECT_EQ(error["code"], -32603);
  EXPECT_NE(error["message"].get<std::string>().find("1999-01-01"), std::string::npos) << error.dump();
  EXPECT_TRUE(server_->wait_session_state(reply.header("Mcp-Session-Id"), SessionState::closed, 5s));
}

}  // namespace
}  // namespace graceway::test
