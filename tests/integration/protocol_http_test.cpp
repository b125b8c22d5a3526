// The MCP and JSON-RPC surface over real sockets: methods, errors and the header rules.

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

#include "graceway/catalog.hpp"
#include "support/log_capture.hpp"
#include "support/mcp_client.hpp"
#include "support/test_server.hpp"

namespace graceway::test {
namespace {

using namespace std::chrono_literals;

class ProtocolHttpTest : public ::testing::Test {
protected:
  ProtocolHttpTest() : server_(), client_(server_.client()), session_(client_.open_session()) {}
  void TearDown() override { EXPECT_TRUE(logs_.errors().empty()); }

  LogCapture logs_;
  TestServer server_;
  McpClient client_;
  std::string session_;
};

TEST_F(ProtocolHttpTest, PingAnswersAnEmptyResultForNumberAndStringIds) {
  for (const json& id : {json(2), json("abc")}) {
    const auto reply = client_.post(McpClient::request(id, "ping"), session_);
    ASSERT_EQ(reply.status, 200);
    EXPECT_EQ(reply.response(id)["result"], json::object());
  }
}

TEST_F(ProtocolHttpTest, PingIsAnsweredBeforeNotificationsInitialized) {
  // Lifecycle: the server answers ping at any point, also between initialize and initialized.
  const auto init = client_.post(McpClient::initialize(1));
  ASSERT_EQ(init.status, 200);
  const auto session = init.header("Mcp-Session-Id");
  ASSERT_FALSE(session.empty());
  const auto ping = client_.post(McpClient::request("early", "ping"), session);
  ASSERT_EQ(ping.status, 200);
  EXPECT_EQ(ping.response("early")["result"], json::object());
  EXPECT_EQ(client_.post(McpClient::notification("notifications/initialized"), session).status, 202);
  EXPECT_EQ(client_.post(McpClient::request(2, "ping"), session).response(2)["result"], json::object());
}

TEST_F(ProtocolHttpTest, ABatchThatRepeatsAnInFlightIdAnswersBothRequests) {
  // [{"id":5, a call still running}, {"id":5, ping}] on a 2025-03-26 session: the duplicate is
  // refused with -32600 on its own, and the first request's result still reaches the client. (It
  // used to be lost: the refusal took the first request's response slot.)
  const auto old_session = client_.open_session("2025-03-26");
  ASSERT_FALSE(old_session.empty());
  for (const std::string accept : {"application/json, text/event-stream", "application/json"}) {
    SCOPED_TRACE(accept);
    const std::string gate = "batch-dup-" + std::to_string(accept.size());
    const json batch = json::array({McpClient::tool_call(5, "gate", {{"name", gate}}), McpClient::request(5, "ping")});
    auto headers = McpClient::mcp_headers(old_session);
    for (auto& [name, value] : headers) {
      if (name == "Accept") value = accept;
    }
    // The call is held in its gate until the duplicate has been refused: released earlier, the
    // call could finish before the ping is admitted, and the ping would be no duplicate.
    const auto refusals = logs_.count("request id i:5 is already in flight");
    std::thread releaser([&] {
      server_.gates().wait_entered(gate);
      EXPECT_TRUE(logs_.wait_for("request id i:5 is already in flight", refusals + 1));
      server_.gates().release(gate);  // in any case, so a failure ends the test instead of hanging it
    });
    const auto reply = client_.post_raw(batch.dump(), headers);
    releaser.join();
    ASSERT_EQ(reply.status, 200) << reply.body;
    ASSERT_EQ(reply.messages.size(), 2U) << reply.body;
    int results = 0;
    int duplicates = 0;
    for (const auto& m : reply.messages) {
      EXPECT_EQ(m["id"], 5) << m.dump();
      if (m.contains("result")) {
        ++results;
        EXPECT_NE(m.dump().find("released " + gate), std::string::npos) << "the call's own result: " << m.dump();
      } else if (m.contains("error") && m["error"].value("code", 0) == -32600) {
        ++duplicates;
      }
    }
    EXPECT_EQ(results, 1) << reply.body;
    EXPECT_EQ(duplicates, 1) << reply.body;
    EXPECT_EQ(server_.gates().wait_exited(gate), GateBoard::Outcome::released);
  }
}

TEST_F(ProtocolHttpTest, ToolsListAndCall) {
  const auto list = client_.post(McpClient::request(1, "tools/list"), session_);
  const auto tools = list.response(1)["result"]["tools"];
  ASSERT_TRUE(tools.is_array());
  EXPECT_EQ(tools[0]["name"], "echo");
  EXPECT_EQ(tools[0]["inputSchema"]["required"][0], "text");

  const auto echo = client_.post(McpClient::tool_call(2, "echo", {{"text", "hi there"}}), session_);
  EXPECT_EQ(echo.response(2)["result"]["content"], json::parse(R"([{"type":"text","text":"hi there"}])"));
  const auto add = client_.post(McpClient::tool_call(3, "add", {{"a", 2}, {"b", 3}}), session_);
  EXPECT_EQ(add.response(3)["result"]["structuredContent"]["sum"], 5);
  const auto bad = client_.post(McpClient::tool_call(4, "echo", {{"text", 1}}), session_);
  EXPECT_EQ(bad.response(4)["result"]["isError"], true) << "argument errors are tool errors, not protocol errors";
}

TEST_F(ProtocolHttpTest, UnknownToolAndUnknownMethodAreJsonRpcErrors) {
  const auto tool = client_.post(McpClient::tool_call(5, "no_such_tool", json::object()), session_);
  EXPECT_EQ(tool.status, 200);
  EXPECT_EQ(tool.response(5)["error"]["code"], -32602);
  const auto method = client_.post(McpClient::request(6, "no/such"), session_);
  EXPECT_EQ(method.status, 200);
  EXPECT_EQ(method.response(6)["error"]["code"], -32601);
  const auto no_name = client_.post(McpClient::request(7, "tools/call", {{"arguments", json::object()}}), session_);
  EXPECT_EQ(no_name.response(7)["error"]["code"], -32602);
}

TEST_F(ProtocolHttpTest, MalformedBodiesGet400WithJsonRpcErrors) {
  auto headers = McpClient::mcp_headers(session_);
  const auto parse = client_.post_raw("{bad json", headers);
  EXPECT_EQ(parse.status, 400);
  EXPECT_EQ(parse.response(nullptr)["error"]["code"], -32700);
  const auto null_id = client_.post_raw(R"({"jsonrpc":"2.0","id":null,"method":"tools/list"})", headers);
  EXPECT_EQ(null_id.status, 400);
  EXPECT_EQ(null_id.response(nullptr)["error"]["code"], -32600);
  const auto empty_batch = client_.post_raw("[]", headers);
  EXPECT_EQ(empty_batch.status, 400);
  EXPECT_EQ(empty_batch.response(nullptr)["error"]["code"], -32600);

  // Envelopes JSON-RPC 2.0 and MCP forbid: each is -32600, with the id when it can be read.
  const std::vector<std::pair<std::string, json>> envelopes = {
      {R"({"jsonrpc":"1.0","id":1,"method":"ping"})", 1},
      {R"({"id":2,"method":"ping"})", 2},
      {R"({"jsonrpc":"2.0","id":1.5,"method":"ping"})", nullptr},
      {R"({"jsonrpc":"2.0","id":true,"method":"ping"})", nullptr},
      {R"({"jsonrpc":"2.0","id":3,"method":7})", 3},
      {R"({"jsonrpc":"2.0","id":4,"result":{},"error":{"code":1,"message":"x"}})", 4},
      {R"("ping")", nullptr},
  };
  for (const auto& [body, id] : envelopes) {
    const auto reply = client_.post_raw(body, headers);
    EXPECT_EQ(reply.status, 400) << body;
    EXPECT_EQ(reply.response(id)["error"]["code"], -32600) << body << " -> " << reply.body;
  }

  // [] on a 2025-03-26 session, where batches are allowed: still one error object, not an array.
  const auto old_session = client_.open_session("2025-03-26");
  const auto old_empty = client_.post_raw("[]", McpClient::mcp_headers(old_session));
  EXPECT_EQ(old_empty.status, 400);
  const auto parsed = json::parse(old_empty.body, nullptr, false);
  ASSERT_TRUE(parsed.is_object()) << old_empty.body;
  EXPECT_EQ(parsed["error"]["code"], -32600);
  EXPECT_TRUE(parsed["id"].is_null());
}

TEST_F(ProtocolHttpTest, BodiesThatAreNotUtf8Get400ParseError) {
  // JSON-RPC messages MUST be UTF-8. Each body is valid JSON but for the bytes named.
  const std::vector<std::pair<std::string, std::string>> bodies = {
      {"a truncated two-byte sequence", "\xC3\x28"},
      {"an overlong encoding of '/'", "\xC0\xAF"},
      {"a UTF-16 surrogate", "\xED\xA0\x80"},
      {"a lone continuation byte", "\x80"},
      {"a byte that never occurs in UTF-8", "\xFF"},
  };
  for (const auto& [what, bytes] : bodies) {
    const std::string body = R"({"jsonrpc":"2.0","id":60,"method":"tools/call","params":{"name":"echo","arguments":{"text":")" +
                             bytes + R"("}}})";
    const auto reply = client_.post_raw(body, McpClient::mcp_headers(session_));
    EXPECT_EQ(reply.status, 400) << what;
    ASSERT_EQ(reply.messages.size(), 1U) << what << ": the error body is itself valid JSON: " << reply.body;
    EXPECT_EQ(reply.response(nullptr)["error"]["code"], -32700) << what;
  }
  const auto outside_strings = client_.post_raw("{\"jsonrpc\":\"2.0\",\xFF\"id\":61,\"method\":\"ping\"}",
                                                McpClient::mcp_headers(session_));
  EXPECT_EQ(outside_strings.status, 400);
  EXPECT_EQ(outside_strings.response(nullptr)["error"]["code"], -32700);
  const auto valid = client_.post(McpClient::tool_call(62, "echo", {{"text", "h\u00e9 \u2713 \U0001F600"}}), session_);
  EXPECT_EQ(valid.response(62)["result"]["content"][0]["text"], "h\u00e9 \u2713 \U0001F600") << "real UTF-8 passes unchanged";
}

TEST_F(ProtocolHttpTest, DeeplyNestedBodiesGet400AndTheServerStaysUp) {
  const std::string deep = std::string(1'000'000, '[') + std::string(1'000'000, ']');
  const std::string body = R"({"jsonrpc":"2.0","id":40,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x","deep":)" +
                           deep + "}}}";
  const auto reply = client_.post_raw(body, McpClient::mcp_headers(session_));
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.response(nullptr)["error"]["code"], -32600);
  EXPECT_EQ(client_.post(McpClient::request(41, "ping"), session_).status, 200);
}

TEST_F(ProtocolHttpTest, ContentTypeAndAccept) {
  const std::string ping = McpClient::request(8, "ping").dump();
  auto text = client_.post_raw(ping, {{"Content-Type", "text/plain"}, {"Mcp-Session-Id", session_}});
  EXPECT_EQ(text.status, 415);
  EXPECT_EQ(text.response(nullptr)["error"]["code"], -32000);
  auto html = client_.post_raw(ping, {{"Content-Type", "application/json"}, {"Accept", "text/html"}, {"Mcp-Session-Id", session_}});
  EXPECT_EQ(html.status, 406);
  // Lenient where SDK clients send less: only application/json gets one JSON body.
  auto json_only = client_.post_raw(ping, {{"Content-Type", "application/json"}, {"Accept", "application/json"}, {"Mcp-Session-Id", session_}});
  EXPECT_EQ(json_only.status, 200);
  EXPECT_EQ(json_only.header("Content-Type"), "application/json");
  EXPECT_EQ(json_only.response(8)["result"], json::object());
  auto none = client_.post_raw(ping, {{"Content-Type", "application/json; charset=utf-8"}, {"Mcp-Session-Id", session_}});
  EXPECT_EQ(none.status, 200);
}

TEST_F(ProtocolHttpTest, ProtocolVersionHeader) {
  const auto absent = client_.post(McpClient::request(9, "ping"), session_);
  EXPECT_EQ(absent.status, 200) << "absent means the negotiated version";
  const auto good = client_.post(McpClient::request(10, "ping"), session_, {{"MCP-Protocol-Version", "2025-06-18"}});
  EXPECT_EQ(good.status, 200);
  const auto bad = client_.post(McpClient::request(11, "ping"), session_, {{"MCP-Protocol-Version", "1999-01-01"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.response(11)["error"]["data"]["requested"], "1999-01-01");
  EXPECT_EQ(client_.del(session_, {{"MCP-Protocol-Version", "1999-01-01"}}).status, 400);
  const auto malformed = client_.post(McpClient::request(13, "ping"), session_, {{"MCP-Protocol-Version", "latest"}});
  EXPECT_EQ(malformed.status, 400) << "a value that is not a version at all";
  EXPECT_EQ(malformed.response(13)["error"]["data"]["requested"], "latest");
  // Not required on initialize.
  EXPECT_EQ(client_.post(McpClient::initialize(12)).status, 200);
}

TEST_F(ProtocolHttpTest, VersionNegotiation) {
  for (const char* v : {"2025-03-26", "2025-06-18", "2025-11-25"}) {
    EXPECT_EQ(client_.post(McpClient::initialize(1, v)).response(1)["result"]["protocolVersion"], v);
  }
  EXPECT_EQ(client_.post(McpClient::initialize(1, "1900-01-01")).response(1)["result"]["protocolVersion"], "2025-11-25");
  const auto no_version = client_.post(McpClient::request(2, "initialize", {{"capabilities", json::object()}}));
  EXPECT_EQ(no_version.response(2)["error"]["code"], -32602);
  EXPECT_FALSE(no_version.has_header("Mcp-Session-Id"));
}

TEST_F(ProtocolHttpTest, OddClientInfoIsNotAnError) {
  for (const json& info : {json{{"name", 5}, {"version", json::array()}}, json("text"), json(nullptr)}) {
    auto message = McpClient::initialize(1);
    message["params"]["clientInfo"] = info;
    EXPECT_EQ(client_.post(message).status, 200) << info.dump();
  }
}

TEST_F(ProtocolHttpTest, SecondInitializeOnASessionIsRefused) {
  const auto reply = client_.post(McpClient::initialize(13), session_);
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.response(13)["error"]["code"], -32600);
}

TEST_F(ProtocolHttpTest, OriginIsChecked) {
  const auto evil = client_.post(McpClient::initialize(14), "", {{"Origin", "http://evil.example.com"}});
  EXPECT_EQ(evil.status, 403);
  EXPECT_TRUE(evil.response(nullptr).contains("error"));
  ASSERT_EQ(evil.messages.size(), 1U) << evil.body;
  EXPECT_TRUE(evil.messages[0].contains("id") && evil.messages[0]["id"].is_null()) << "no request id to name";
  EXPECT_EQ(evil.messages[0]["error"]["code"], -32000);
  EXPECT_EQ(evil.messages[0]["error"]["message"], "Forbidden: Origin not allowed");
  EXPECT_EQ(client_.post(McpClient::initialize(15), "", {{"Origin", "http://localhost:6274"}}).status, 200);
  EXPECT_TRUE(logs_.wait_for("refused Origin 'http://evil.example.com'"));
}

TEST_F(ProtocolHttpTest, BodiesOverTheLimitGet413) {
  auto config = test_config();
  config.max_body_bytes = 1024;
  TestServer small(config);
  auto client = small.client();
  const auto session = client.open_session();
  const auto reply = client.post(McpClient::tool_call(16, "echo", {{"text", std::string(4096, 'x')}}), session);
  EXPECT_EQ(reply.status, 413);
  EXPECT_EQ(reply.response(nullptr)["error"]["code"], -32000);
  EXPECT_EQ(client.post(McpClient::request(17, "ping"), session).status, 200) << "the session survives";
}

TEST_F(ProtocolHttpTest, UnsupportedMethodsAndPaths) {
  const auto put = client_.send("PUT", "/mcp", {{"Content-Type", "application/json"}}, "{}");
  EXPECT_EQ(put.status, 405);
  EXPECT_EQ(put.header("Allow"), "GET, POST, DELETE");
  const auto nowhere = client_.get("/nowhere");
  EXPECT_EQ(nowhere.status, 404);
  EXPECT_EQ(nowhere.response(nullptr)["error"]["code"], -32000);
  EXPECT_EQ(client_.get("/mcp", {{"Accept", "application/json"}, {"Mcp-Session-Id", session_}}).status, 406);
}

TEST_F(ProtocolHttpTest, NotificationsGet202AndAnEmptyBody) {
  const auto reply = client_.post(McpClient::notification("notifications/initialized"), session_);
  EXPECT_EQ(reply.status, 202);
  EXPECT_TRUE(reply.body.empty());
  const auto unknown = client_.post(McpClient::notification("notifications/cancelled", {{"requestId", 999}}), session_);
  EXPECT_EQ(unknown.status, 202) << "cancelling an unknown request is ignored";
}

TEST_F(ProtocolHttpTest, MalformedCancellationsAreIgnored) {
  auto call = server_.start_gate(session_, "g", 50);
  const auto cancelled_before = server_.server().metrics().tool_calls_cancelled.load();
  const std::vector<json> params = {
      nullptr,                                  // no params at all
      json::object(),                           // no requestId
      {{"requestId", nullptr}},                 // null is never a request id
      {{"requestId", json{{"id", 50}}}},        // an object
      {{"requestId", json::array({50})}},       // an array
      {{"requestId", true}},                    // a boolean
      {{"requestId", 50.5}},                    // a fraction
      {{"requestId", "50"}},                    // a string: a different id from the number 50
      {{"requestId", 51}, {"reason", 7}},       // an id nothing runs under, and an odd reason
  };
  for (const auto& p : params) {
    const auto reply = client_.post(McpClient::notification("notifications/cancelled", p), session_);
    EXPECT_EQ(reply.status, 202) << p.dump();
    EXPECT_TRUE(reply.body.empty()) << p.dump();
  }
  // Cancellation takes effect before the 202, so none of the above stopped anything.
  EXPECT_EQ(server_.server().metrics().tool_calls_cancelled.load(), cancelled_before);
  EXPECT_TRUE(logs_.wait_for("notifications/cancelled without a valid requestId ignored"));
  server_.gates().release("g");
  EXPECT_EQ(server_.gates().wait_exited("g"), GateBoard::Outcome::released);
  const auto rest = call->read_all();
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ(rest.back()["result"]["content"][0]["text"], "released g");
}

TEST_F(ProtocolHttpTest, BatchesOnlyOn20250326Sessions) {
  const auto old_session = client_.open_session("2025-03-26");
  const json batch = json::array({McpClient::request(20, "ping"), McpClient::notification("notifications/initialized"),
                                  McpClient::tool_call(21, "echo", {{"text", "b"}}), json{{"jsonrpc", "2.0"}, {"id", 22}}});
  const auto reply = client_.post(batch, old_session);
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.response(20)["result"], json::object());
  EXPECT_EQ(reply.response(21)["result"]["content"][0]["text"], "b");
  EXPECT_EQ(reply.response(22)["error"]["code"], -32600);

  const auto json_mode = client_.post(batch, old_session, {{"Accept", "application/json"}});
  auto parsed = json::parse(json_mode.body);
  ASSERT_TRUE(parsed.is_array()) << json_mode.body;
  EXPECT_EQ(parsed.size(), 3U);

  const auto notes = json::array({McpClient::notification("notifications/initialized"),
                                  McpClient::notification("notifications/initialized")});
  EXPECT_EQ(client_.post(notes, old_session).status, 202);

  const auto refused = client_.post(batch, session_);
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(refused.response(nullptr)["error"]["code"], -32600);
  const auto batched_init = client_.post(json::array({McpClient::initialize(23)}));
  EXPECT_EQ(batched_init.status, 400);
}

TEST_F(ProtocolHttpTest, ARequestIdStillInFlightCannotBeReused) {
  auto call = server_.start_gate(session_, "g", 30);
  const auto dup = client_.post(McpClient::request(30, "ping"), session_);
  EXPECT_EQ(dup.response(30)["error"]["code"], -32600);
  server_.gates().release("g");
  EXPECT_EQ(call->read_all().size(), 1U);
}

TEST_F(ProtocolHttpTest, IntegerProgressTokensComeBackAsIntegers) {
  const auto reply = client_.post(McpClient::tool_call(70, "sleep", {{"ms", 150}}, 7), session_);
  ASSERT_EQ(reply.status, 200);
  int progress = 0;
  for (const auto& m : reply.messages) {
    if (m.value("method", "") != "notifications/progress") continue;
    ++progress;
    EXPECT_TRUE(m["params"]["progressToken"].is_number_integer()) << m.dump();
    EXPECT_EQ(m["params"]["progressToken"], 7);
  }
  EXPECT_GE(progress, 1) << reply.body;
  EXPECT_EQ(reply.response(70)["result"]["content"][0]["text"], "slept 150 ms");
}

TEST(HandlerFailureTest, AThrowingToolIsAToolErrorAndAThrowingReaderIsInternalError) {
  LogCapture logs;
  TestServer server(test_config(), [](Catalog& catalog) {
    ToolDefinition tool;
    tool.name = "explode";
    tool.description = "throws";
    catalog.tools.add(tool, [](ToolContext&) -> ToolResult { throw std::runtime_error("boom"); });
    ResourceDefinition resource;
    resource.uri = "test://explodes";
    resource.name = "explodes";
    catalog.resources.add(resource, [](const std::string&, const UriVariables&) -> std::vector<ResourceContent> {
      throw std::runtime_error("disk on fire");
    });
  });
  auto client = server.client();
  const auto session = client.open_session();
  const auto tool = client.post(McpClient::tool_call(1, "explode", json::object()), session);
  ASSERT_EQ(tool.status, 200);
  EXPECT_EQ(tool.response(1)["result"]["isError"], true) << "a tool's failure is a result the model can read";
  EXPECT_EQ(tool.response(1)["result"]["content"][0]["text"], "tool failed: boom");
  const auto read = client.post(McpClient::request(2, "resources/read", {{"uri", "test://explodes"}}), session);
  ASSERT_EQ(read.status, 200) << "the failure is the request's, not the HTTP exchange's";
  EXPECT_EQ(read.response(2)["error"]["code"], -32603);
  EXPECT_EQ(client.post(McpClient::request(3, "ping"), session).status, 200) << "the session is unharmed";
  EXPECT_TRUE(logs.wait_for("tool explode threw: boom"));
  EXPECT_TRUE(logs.errors().empty()) << "a handler's failure is a warning, not an error of the server";
}

TEST_F(ProtocolHttpTest, JsonResponseMode) {
  auto config = test_config();
  config.response_mode = ResponseMode::json;
  TestServer json_server(config);
  auto client = json_server.client();
  const auto session = client.open_session();
  ASSERT_FALSE(session.empty());
  const auto reply = client.post(McpClient::tool_call(31, "sleep", {{"ms", 20}}, "p"), session);
  EXPECT_EQ(reply.header("Content-Type"), "application/json");
  ASSERT_EQ(reply.messages.size(), 1U) << "progress has no stream to go to";
  EXPECT_EQ(reply.response(31)["result"]["content"][0]["text"], "slept 20 ms");
}

TEST_F(ProtocolHttpTest, CancellingInJsonModeStillFinishesTheHttpRequest) {
  auto config = test_config();
  config.response_mode = ResponseMode::json;
  TestServer json_server(config);
  auto client = json_server.client();
  const auto session = client.open_session();
  auto call = json_server.start_gate(session, "j", 80);
  EXPECT_EQ(call->header("Content-Type"), "application/json");
  EXPECT_EQ(client.post(McpClient::notification("notifications/cancelled", {{"requestId", 80}}), session).status, 202);
  EXPECT_EQ(json_server.gates().wait_exited("j"), GateBoard::Outcome::cancelled);
  ASSERT_TRUE(call->read_all().empty());  // a JSON body, not SSE events
  ASSERT_TRUE(call->ended()) << "the exchange is finished, not left hanging";
  const auto body = json::parse(call->body_so_far());
  EXPECT_EQ(body["id"], 80);
  EXPECT_EQ(body["error"]["code"], -32000);
}

TEST_F(ProtocolHttpTest, HealthReadinessAndMetrics) {
  EXPECT_EQ(client_.get("/healthz").status, 200);
  EXPECT_EQ(client_.get("/readyz").status, 200);
  const auto metrics = client_.get("/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("graceway_sessions_open 1"), std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find("graceway_sessions_ended_total{reason=\"drained\"}"), std::string::npos);
}

}  // namespace
}  // namespace graceway::test

namespace graceway::test {
namespace {

TEST(GetStreamTest, CarriesServerInitiatedMessagesAndKeepAlives) {
  auto config = test_config();
  config.keepalive_interval = std::chrono::milliseconds(50);
  TestServer server(config);
  auto client = server.client();
  const auto session = client.open_session();
  const auto quiet = client.open_session();
  auto stream = server.open_get_stream(session);
  StreamClient& get = *stream;

  const json changed = McpClient::notification("notifications/tools/list_changed");
  EXPECT_TRUE(server.server().notify(session, changed));
  EXPECT_FALSE(server.server().notify(quiet, changed)) << "no stream, nothing queued";
  EXPECT_FALSE(server.server().notify("unknown", changed));
  EXPECT_EQ(server.server().broadcast(changed), 1U);
  for (int i = 0; i < 2; ++i) {
    const auto m = get.next_message();
    ASSERT_TRUE(m);
    EXPECT_EQ(*m, changed);
  }
  // An idle stream gets SSE comments; clients ignore them, proxies see traffic.
  for (int waits = 0; waits < 100 && get.body_so_far().find(": keepalive\n\n") == std::string::npos; ++waits) {
    ASSERT_FALSE(get.next_message(std::chrono::milliseconds(200))) << "no message expected, only comments";
    ASSERT_FALSE(get.ended());
  }
  EXPECT_NE(get.body_so_far().find(": keepalive\n\n"), std::string::npos);
  get.close();
}

}  // namespace
}  // namespace graceway::test
