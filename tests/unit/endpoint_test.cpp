// McpEndpoint in memory: requests in, answers out, no engine and no socket. The same endpoint
// every HTTP engine calls (the integration tests drive it over real sockets, the request_front
// fuzz target with arbitrary headers and bodies).

#include "transport/mcp_endpoint.hpp"

#include <gtest/gtest.h>

#include "graceway/catalog.hpp"
#include "graceway/demo_tools.hpp"
#include "mcp/protocol.hpp"
#include "runtime/tool_pool.hpp"
#include "session/session_registry.hpp"

namespace graceway {
namespace {

using nlohmann::json;

constexpr const char* kBoth = "application/json, text/event-stream";

class EndpointTest : public ::testing::Test {
protected:
  EndpointTest() { add_demo_tools(catalog_.tools); }

  HttpAnswer send(std::string_view method, std::string_view path, const std::string& body = {},
                  std::optional<std::string_view> session = std::nullopt, std::string_view query = {}) {
    HttpRequest request;
    request.method = method;
    request.path = path;
    request.query = query;
    request.headers.content_type = "application/json";
    request.headers.accept = kBoth;
    request.headers.host = "127.0.0.1:8080";
    request.headers.session_id = session;
    request.body = body;
    request.remote = "in-memory";
    return endpoint_.handle(request);
  }
  SessionEnvironment environment() {
    SessionEnvironment env;
    env.clock = &clock_;
    env.metrics = &metrics_;
    return env;
  }
  std::string open_session() {
    const auto answer = send("POST", "/mcp",
                             R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26",)"
                             R"("capabilities":{},"clientInfo":{"name":"t","version":"1"}}})");
    EXPECT_EQ(answer.status, 200);
    const auto* id = answer.header("Mcp-Session-Id");
    return id != nullptr ? *id : std::string{};
  }

  ServerConfig config_;
  ServerInfo info_;
  Catalog catalog_;
  ManualClock clock_;
  Metrics metrics_;
  SequentialSessionIds ids_{"mem-"};
  SessionRegistry registry_{environment(), ids_, 16, 16};
  ToolPool pool_{1};
  mcp::Dispatcher dispatcher_{catalog_, pool_, metrics_};
  McpEndpoint endpoint_{config_, info_, clock_, registry_, dispatcher_, catalog_, metrics_};
};

TEST_F(EndpointTest, OperationalRoutesAndUnknownPaths) {
  EXPECT_EQ(send("GET", "/healthz").body, R"({"status":"ok"})");
  EXPECT_EQ(send("GET", "/readyz").status, 200);
  const auto metrics = send("GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("graceway_http_connections_open"), std::string::npos);
  const auto unknown = send("GET", "/nowhere");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(json::parse(unknown.body)["error"]["code"], -32000);

  endpoint_.begin_shutdown(clock_.now() + std::chrono::seconds(7));
  const auto draining = send("GET", "/readyz");
  EXPECT_EQ(draining.status, 503);
  EXPECT_EQ(draining.body, R"({"status":"draining"})");
}

TEST_F(EndpointTest, UnservedVerbsGet405WithWhatIsAllowed) {
  for (const char* verb : {"PUT", "PATCH", "OPTIONS", "HEAD", "TRACE"}) {
    const auto answer = send(verb, "/mcp");
    EXPECT_EQ(answer.status, 405) << verb;
    ASSERT_NE(answer.header("Allow"), nullptr) << verb;
    EXPECT_EQ(*answer.header("Allow"), "GET, POST, DELETE") << verb;
  }
  EXPECT_EQ(*send("POST", "/sse").header("Allow"), "GET");
  EXPECT_EQ(*send("GET", "/messages/").header("Allow"), "POST");
}

TEST_F(EndpointTest, AnInlineCallIsAnsweredWholeAndADeleteDrains) {
  const auto session = open_session();
  ASSERT_FALSE(session.empty());
  const auto call = send("POST", "/mcp",
                         R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}})",
                         session);
  EXPECT_EQ(call.status, 200);
  EXPECT_EQ(call.stream, nullptr) << "an inline tool answers before the endpoint returns";
  EXPECT_EQ(call.content_type, "text/event-stream");
  EXPECT_NE(call.body.find(R"("text":"hi")"), std::string::npos) << call.body;

  EXPECT_EQ(send("DELETE", "/mcp", {}, session).status, 200);
  EXPECT_EQ(send("POST", "/mcp", R"({"jsonrpc":"2.0","id":3,"method":"ping"})", session).status, 404)
      << "nothing was in flight: the session closed at once";
}

TEST_F(EndpointTest, TheEngineRefusalsComeFromTheErrorTableAndClose) {
  for (const auto& [e, status] : {std::pair{errc::header_too_large, 431}, std::pair{errc::payload_too_large, 413},
                                  std::pair{errc::unsupported_framing, 501}, std::pair{errc::expectation_failed, 417},
                                  std::pair{errc::server_overloaded, 503}}) {
    const auto answer = endpoint_.refusal(e, "detail");
    EXPECT_EQ(answer.status, status);
    EXPECT_TRUE(answer.close_connection);
    const auto body = json::parse(answer.body);
    EXPECT_TRUE(body["id"].is_null());
    EXPECT_NE(body["error"]["message"].get<std::string>().find(": detail"), std::string::npos);
    if (status == 503) {
      EXPECT_NE(answer.header("Retry-After"), nullptr);
    }
  }
}

TEST_F(EndpointTest, ALegacySessionParamIsPercentDecoded) {
  const auto open = send("GET", "/sse");
  ASSERT_EQ(open.status, 200);
  ASSERT_NE(open.stream, nullptr);
  const auto missing = send("POST", "/messages", R"({"jsonrpc":"2.0","id":1,"method":"ping"})");
  EXPECT_EQ(missing.status, 400);
  // mem-1, written with an escape: the endpoint decodes the query before looking the id up.
  const auto found = send("POST", "/messages", R"({"jsonrpc":"2.0","method":"notifications/initialized"})",
                          std::nullopt, "session_id=mem%2D1");
  EXPECT_EQ(found.status, 202);
  open.stream->mark_gone();
  if (open.on_stream_end) open.on_stream_end();
}

}  // namespace
}  // namespace graceway
