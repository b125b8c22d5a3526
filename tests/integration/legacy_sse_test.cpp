// The legacy HTTP+SSE transport (protocol 2024-11-05) beside the Streamable HTTP endpoint:
// GET /sse and its endpoint event, POST /messages answered 202 with the response on the stream,
// the query spellings SDKs use, refusals from the error table, and the stream's end as the
// session's DELETE (spec-checklist.md section 3, docs/legacy-sse.md).

#include <gtest/gtest.h>

#include "support/log_capture.hpp"
#include "support/mcp_client.hpp"
#include "support/test_server.hpp"
#include "transport/error_mapping.hpp"

namespace graceway::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kPrefix = "/messages?sessionId=";

// One legacy client: its event stream, and POSTs to the URI the endpoint event named.
class LegacyClient {
public:
  explicit LegacyClient(std::uint16_t port, const std::string& sse_path = "/sse")
      : stream_(std::make_unique<StreamClient>(port)), http_(port) {
    EXPECT_TRUE(stream_->send("GET", sse_path, {{"Accept", "text/event-stream"}}));
    status_ = stream_->read_head();
    if (status_ != 200) return;
    const auto event = stream_->next_event();
    if (!event) return;
    endpoint_type_ = event->type;
    endpoint_ = event->data;
  }

  [[nodiscard]] int status() const { return status_; }
  [[nodiscard]] StreamClient& stream() { return *stream_; }
  [[nodiscard]] const std::string& endpoint() const { return endpoint_; }
  [[nodiscard]] const std::string& endpoint_type() const { return endpoint_type_; }
  // The session id the endpoint event carries.
  [[nodiscard]] std::string session() const {
    const auto at = endpoint_.find('=');
    return at == std::string::npos ? std::string() : endpoint_.substr(at + 1);
  }

  Reply post(const json& message) { return post_to(endpoint_, message); }
  Reply post_to(const std::string& uri, const json& message,
                const std::string& content_type = "application/json") {
    return http_.send("POST", uri, {{"Content-Type", content_type}}, message.dump());
  }
  Reply post_raw(const std::string& body) {
    return http_.send("POST", endpoint_, {{"Content-Type", "application/json"}}, body);
  }
  // The next JSON-RPC message on the stream.
  json next() {
    auto message = stream_->next_message();
    return message ? *message : json();
  }
  // initialize + notifications/initialized; returns the initialize response.
  json initialize(const std::string& version = "2024-11-05", json capabilities = json::object()) {
    EXPECT_EQ(post(McpClient::initialize(0, version, std::move(capabilities))).status, 202);
    auto answer = next();
    EXPECT_EQ(post(McpClient::notification("notifications/initialized")).status, 202);
    return answer;
  }

private:
  std::unique_ptr<StreamClient> stream_;
  McpClient http_;
  int status_ = 0;
  std::string endpoint_type_;
  std::string endpoint_;
};

class LegacySseTest : public ::testing::Test {
protected:
  void TearDown() override { EXPECT_TRUE(logs_.errors().empty()) << logs_.errors().front().text; }

  LogCapture logs_;
};

TEST_F(LegacySseTest, TheStreamOpensWithTheEndpointEvent) {
  TestServer server;
  LegacyClient legacy(server.port());
  ASSERT_EQ(legacy.status(), 200);
  EXPECT_EQ(legacy.stream().header("Content-Type").rfind("text/event-stream", 0), 0U);
  EXPECT_EQ(legacy.endpoint_type(), "endpoint");
  EXPECT_EQ(legacy.endpoint().rfind(kPrefix, 0), 0U) << legacy.endpoint();
  EXPECT_EQ(legacy.stream().body_so_far().rfind("event: endpoint\ndata: /messages?sessionId=", 0), 0U)
      << "the data is a plain relative URI, not JSON";
  const auto session = legacy.session();
  ASSERT_FALSE(session.empty());
  EXPECT_EQ(server.server().session_state(session), SessionState::open);
  EXPECT_TRUE(logs_.wait_for("session " + session + ": -> open (legacy HTTP+SSE stream; awaiting initialize)"));
}

TEST_F(LegacySseTest, InitializeListAndCallAreAnsweredOnTheStream) {
  TestServer server;
  LegacyClient legacy(server.port());
  ASSERT_EQ(legacy.status(), 200);

  const auto accepted = legacy.post(McpClient::initialize(1, "2024-11-05"));
  EXPECT_EQ(accepted.status, 202);
  EXPECT_TRUE(accepted.body.empty());
  const auto init = legacy.next();
  EXPECT_EQ(init["id"], 1);
  EXPECT_EQ(init["result"]["protocolVersion"], "2024-11-05");
  EXPECT_TRUE(init["result"]["capabilities"].contains("tools"));
  EXPECT_EQ(legacy.post(McpClient::notification("notifications/initialized")).status, 202);

  EXPECT_EQ(legacy.post(McpClient::request(2, "tools/list")).status, 202);
  const auto list = legacy.next();
  EXPECT_EQ(list["id"], 2);
  bool has_echo = false;
  for (const auto& tool : list["result"]["tools"]) has_echo = has_echo || tool["name"] == "echo";
  EXPECT_TRUE(has_echo);

  EXPECT_EQ(legacy.post(McpClient::tool_call(3, "echo", {{"text", "hello"}})).status, 202);
  const auto echo = legacy.next();
  EXPECT_EQ(echo["id"], 3);
  EXPECT_EQ(echo["result"]["content"][0]["text"], "hello");

  // Progress goes on the same stream, ahead of its response.
  EXPECT_EQ(legacy.post(McpClient::tool_call(4, "sleep", {{"ms", 60}}, "tok")).status, 202);
  json last;
  int progress = 0;
  for (last = legacy.next(); last.contains("method"); last = legacy.next()) {
    EXPECT_EQ(last["method"], "notifications/progress");
    EXPECT_EQ(last["params"]["progressToken"], "tok");
    ++progress;
  }
  EXPECT_GE(progress, 1);
  EXPECT_EQ(last["id"], 4);
  EXPECT_EQ(last["result"]["content"][0]["text"], "slept 60 ms");
  EXPECT_EQ(legacy.post(McpClient::request(40, "ping")).status, 202);
  EXPECT_EQ(legacy.next()["id"], 40) << "no progress of the call after its response";

  // A second initialize is refused like on the Streamable endpoint.
  const auto again = legacy.post(McpClient::initialize(5, "2024-11-05"));
  EXPECT_EQ(again.status, 400);
  ASSERT_EQ(again.messages.size(), 1U);
  EXPECT_EQ(again.messages[0]["error"]["code"], -32600);
}

TEST_F(LegacySseTest, TheVersionIsNegotiatedLikeInitialize) {
  TestServer server;
  LegacyClient newer(server.port());
  EXPECT_EQ(newer.initialize("2025-03-26")["result"]["protocolVersion"], "2025-03-26");
  LegacyClient unknown(server.port());
  EXPECT_EQ(unknown.initialize("1999-01-01")["result"]["protocolVersion"], "2024-11-05")
      << "an unsupported version falls back to the transport's own";
}

TEST_F(LegacySseTest, BothQuerySpellingsWithAndWithoutTrailingSlashAnswer202) {
  TestServer server;
  LegacyClient legacy(server.port());
  legacy.initialize();
  const auto id = legacy.session();
  const std::vector<std::string> uris = {"/messages?sessionId=" + id, "/messages/?sessionId=" + id,
                                         "/messages?session_id=" + id, "/messages/?session_id=" + id};
  int n = 10;
  for (const auto& uri : uris) {
    const auto reply = legacy.post_to(uri, McpClient::request(n, "ping"));
    EXPECT_EQ(reply.status, 202) << uri << ": never a redirect";
    EXPECT_FALSE(reply.has_header("Location")) << uri;
    const auto pong = legacy.next();
    EXPECT_EQ(pong["id"], n) << uri;
    EXPECT_TRUE(pong["result"].is_object()) << uri;
    ++n;
  }
}

TEST_F(LegacySseTest, UnknownOrMissingSessionIsRefusedFromTheErrorTable) {
  TestServer server;
  LegacyClient legacy(server.port());
  legacy.initialize();

  const auto unknown = legacy.post_to("/messages?sessionId=no-such-session", McpClient::request(1, "ping"));
  EXPECT_EQ(unknown.status, 404);
  ASSERT_EQ(unknown.messages.size(), 1U);
  EXPECT_EQ(unknown.messages[0]["error"]["code"], kSessionNotFound);
  EXPECT_EQ(unknown.messages[0]["id"], 1);

  const auto missing = legacy.post_to("/messages", McpClient::request(2, "ping"));
  EXPECT_EQ(missing.status, 400);
  ASSERT_EQ(missing.messages.size(), 1U);
  EXPECT_EQ(missing.messages[0]["error"]["code"], kServerError);

  // A Streamable HTTP session has no stream to answer on here: as if it did not exist.
  auto client = server.client();
  const auto streamable = client.open_session();
  EXPECT_EQ(legacy.post_to(std::string(kPrefix) + streamable, McpClient::request(3, "ping")).status, 404);

  const auto get = McpClient(server.port()).send("GET", "/messages", {});
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(get.header("Allow"), "POST");
}

TEST_F(LegacySseTest, TheDnsRebindingDefenceOfTheMcpEndpointGuardsBothLegacyEndpoints) {
  TestServer server;
  LegacyClient legacy(server.port());
  legacy.initialize();
  McpClient http(server.port());
  int next_id = 1;
  for (const auto& [name, forged] : std::vector<std::pair<std::string, std::string>>{
           {"Origin", "https://evil.example"}, {"Host", "evil.example.com"}}) {
    const auto get = http.send("GET", "/sse", {{"Accept", "text/event-stream"}, {name, forged}});
    EXPECT_EQ(get.status, 403) << name;
    EXPECT_EQ(get.response(nullptr)["error"]["code"], -32000) << name;
    const auto post = http.send("POST", legacy.endpoint(), {{"Content-Type", "application/json"}, {name, forged}},
                                McpClient::request(next_id++, "ping").dump());
    EXPECT_EQ(post.status, 403) << name;
    const auto id = next_id++;
    EXPECT_EQ(legacy.post(McpClient::request(id, "ping")).status, 202) << name;
    EXPECT_EQ(legacy.next()["id"], id) << name << ": the refused ping never reached the session";
  }
}

TEST_F(LegacySseTest, NoBatchesNoDeleteNoEventIdsAndNoVersionHeader) {
  // 2024-11-05's transport has none of the later revisions' batches-on-Streamable, DELETE,
  // resumability or MCP-Protocol-Version.
  TestServer server;
  LegacyClient legacy(server.port());
  legacy.initialize();
  const auto batch = legacy.post_raw(json::array({McpClient::request(1, "ping")}).dump());
  EXPECT_EQ(batch.status, 400);
  EXPECT_EQ(batch.response(nullptr)["error"]["code"], -32600);

  McpClient http(server.port());
  const auto del = http.send("DELETE", "/sse", {});
  EXPECT_EQ(del.status, 405) << "the stream's end is the legacy DELETE";

  const auto odd_version = http.send("POST", legacy.endpoint(),
                                     {{"Content-Type", "application/json"}, {"MCP-Protocol-Version", "1999-01-01"}},
                                     McpClient::request(2, "ping").dump());
  EXPECT_EQ(odd_version.status, 202) << "the header does not exist in this transport";
  const auto event = legacy.stream().next_event();
  ASSERT_TRUE(event);
  EXPECT_EQ(json::parse(event->data)["id"], 2);
  EXPECT_TRUE(event->id.empty()) << "no event ids: nothing to resume";
}

TEST_F(LegacySseTest, ServerToClientRequestsGoOutOnTheStreamAndTheirAnswersArePosted) {
  TestServer server;
  LegacyClient legacy(server.port());
  legacy.initialize("2024-11-05", {{"sampling", json::object()}});
  EXPECT_EQ(legacy.post(McpClient::tool_call(1, "test_sampling", {{"prompt", "say hi"}})).status, 202);
  const auto request = legacy.next();
  EXPECT_EQ(request["method"], "sampling/createMessage");
  ASSERT_TRUE(request.contains("id"));
  const json answer = {{"jsonrpc", "2.0"},
                       {"id", request["id"]},
                       {"result", {{"role", "assistant"}, {"content", {{"type", "text"}, {"text", "hi!"}}}, {"model", "m"}}}};
  EXPECT_EQ(legacy.post(answer).status, 202);
  const auto result = legacy.next();
  EXPECT_EQ(result["id"], 1);
  EXPECT_EQ(result["result"]["content"][0]["text"], "LLM response: hi!");
}

TEST_F(LegacySseTest, BadJsonIs400AndTheSessionStaysUp) {
  TestServer server;
  LegacyClient legacy(server.port());
  legacy.initialize();
  const auto bad = legacy.post_raw("{not json");
  EXPECT_EQ(bad.status, 400);
  ASSERT_EQ(bad.messages.size(), 1U);
  EXPECT_EQ(bad.messages[0]["error"]["code"], -32700);

  EXPECT_EQ(legacy.post(McpClient::request(7, "ping")).status, 202);
  EXPECT_EQ(legacy.next()["id"], 7) << "one bad POST fails only that message";
}

TEST_F(LegacySseTest, WrongContentTypeIs415) {
  TestServer server;
  LegacyClient legacy(server.port());
  legacy.initialize();
  const auto reply = legacy.post_to(legacy.endpoint(), McpClient::request(1, "ping"), "text/plain");
  EXPECT_EQ(reply.status, 415);
  ASSERT_EQ(reply.messages.size(), 1U);
  EXPECT_EQ(reply.messages[0]["error"]["code"], kServerError);
}

TEST_F(LegacySseTest, ClosingTheStreamDrainsTheSessionAndDropsLateResultsQuietly) {
  TestServer server;
  LegacyClient legacy(server.port());
  legacy.initialize();
  const auto session = legacy.session();
  EXPECT_EQ(legacy.post(McpClient::tool_call(8, "gate", {{"name", "g"}})).status, 202);
  ASSERT_TRUE(server.gates().wait_entered("g"));

  legacy.stream().close();  // the legacy client's DELETE
  EXPECT_TRUE(logs_.wait_for("session " + session + ": open -> draining (stream_closed), 1 in flight"));
  EXPECT_EQ(server.server().session_state(session), SessionState::draining);

  // The tool keeps running for the window; released, it finishes normally (not cancelled), its
  // result has nowhere to go and is dropped and counted, and the session closes.
  const auto dropped_before = server.server().metrics().dropped_writes.load();
  server.gates().release("g");
  EXPECT_EQ(server.gates().wait_exited("g"), GateBoard::Outcome::released);
  EXPECT_TRUE(server.server().wait_session_state(session, SessionState::closed, 20s));
  EXPECT_TRUE(logs_.wait_for("session " + session + ": draining -> closed (drained)"));
  EXPECT_GT(server.server().metrics().dropped_writes.load(), dropped_before);
  EXPECT_EQ(server.server().metrics().requests_in_flight.load(), 0);
  EXPECT_EQ(server.server().metrics().sessions_ended[static_cast<int>(EndReason::drained)].load(), 1U);
  EXPECT_EQ(legacy.post(McpClient::request(9, "ping")).status, 404);
}

TEST_F(LegacySseTest, ClosingAnIdleStreamClosesTheSessionAtOnce) {
  TestServer server;
  LegacyClient legacy(server.port());
  legacy.initialize();
  const auto session = legacy.session();
  legacy.stream().close();
  EXPECT_TRUE(server.server().wait_session_state(session, SessionState::closed, 20s));
  EXPECT_TRUE(logs_.wait_for("session " + session + ": open -> closed (stream_closed)"));
  EXPECT_EQ(server.server().metrics().sessions_ended[static_cast<int>(EndReason::stream_closed)].load(), 1U);
  EXPECT_EQ(legacy.post(McpClient::request(1, "ping")).status, 404);
}

TEST_F(LegacySseTest, ADrainingSessionRefusesNewRequestsButTakesNotifications) {
  TestServer server;
  LegacyClient legacy(server.port());
  legacy.initialize();
  const auto session = legacy.session();
  EXPECT_EQ(legacy.post(McpClient::tool_call(8, "gate", {{"name", "g"}})).status, 202);
  ASSERT_TRUE(server.gates().wait_entered("g"));
  legacy.stream().close();
  ASSERT_TRUE(server.server().wait_session_state(session, SessionState::draining, 20s));

  const auto refused = legacy.post(McpClient::request(9, "ping"));
  EXPECT_EQ(refused.status, 503);
  EXPECT_GE(std::stoi(refused.header("Retry-After")), 1);
  ASSERT_EQ(refused.messages.size(), 1U);
  EXPECT_EQ(refused.messages[0]["id"], 9);
  EXPECT_EQ(refused.messages[0]["error"]["code"], kServerError);

  // A notification still helps in-flight work finish: cancelling the gate ends the drain.
  const auto cancel = legacy.post(McpClient::notification("notifications/cancelled", {{"requestId", 8}}));
  EXPECT_EQ(cancel.status, 202);
  EXPECT_EQ(server.gates().wait_exited("g"), GateBoard::Outcome::cancelled);
  EXPECT_TRUE(server.server().wait_session_state(session, SessionState::closed, 20s));
}

TEST_F(LegacySseTest, ALegacyAndAStreamableSessionServeCallsAtTheSameTime) {
  TestServer server;
  LegacyClient legacy(server.port());
  legacy.initialize();
  auto client = server.client();
  const auto streamable = client.open_session();
  ASSERT_FALSE(streamable.empty());

  // One gate call in flight on each transport at once.
  EXPECT_EQ(legacy.post(McpClient::tool_call(1, "gate", {{"name", "legacy"}})).status, 202);
  auto call = server.start_gate(streamable, "streamable", 1);
  ASSERT_TRUE(server.gates().wait_entered("legacy"));

  const auto echo = client.post(McpClient::tool_call(2, "echo", {{"text", "streamable"}}), streamable);
  EXPECT_EQ(echo.status, 200);
  EXPECT_EQ(echo.response(2)["result"]["content"][0]["text"], "streamable");
  EXPECT_EQ(legacy.post(McpClient::tool_call(2, "echo", {{"text", "legacy"}})).status, 202);
  const auto legacy_echo = legacy.next();
  EXPECT_EQ(legacy_echo["id"], 2);
  EXPECT_EQ(legacy_echo["result"]["content"][0]["text"], "legacy");

  server.gates().release("streamable");
  const auto streamed = call->read_all();
  ASSERT_EQ(streamed.size(), 1U);
  EXPECT_EQ(streamed[0]["result"]["content"][0]["text"], "released streamable");
  server.gates().release("legacy");
  const auto legacy_gate = legacy.next();
  EXPECT_EQ(legacy_gate["id"], 1);
  EXPECT_EQ(legacy_gate["result"]["content"][0]["text"], "released legacy");

  // Deleting the Streamable session leaves the legacy one alone.
  EXPECT_EQ(client.del(streamable).status, 200);
  EXPECT_EQ(legacy.post(McpClient::request(3, "ping")).status, 202);
  EXPECT_EQ(legacy.next()["id"], 3);
  EXPECT_EQ(server.server().session_state(legacy.session()), SessionState::open);
}

TEST_F(LegacySseTest, ShutdownDrainsALegacySessionAndEndsItsStream) {
  TestServer server;
  LegacyClient legacy(server.port());
  legacy.initialize();
  const auto session = legacy.session();
  EXPECT_EQ(legacy.post(McpClient::tool_call(4, "gate", {{"name", "g"}})).status, 202);
  ASSERT_TRUE(server.gates().wait_entered("g"));

  server.server().shutdown();
  EXPECT_TRUE(logs_.wait_for("session " + session + ": open -> draining (shutdown)"));
  LegacyClient late(server.port());
  EXPECT_EQ(late.status(), 503) << "no new legacy sessions while the server drains";

  server.gates().release("g");
  const auto result = legacy.next();
  EXPECT_EQ(result["id"], 4);
  EXPECT_EQ(result["result"]["content"][0]["text"], "released g");
  EXPECT_TRUE(legacy.stream().read_to_end(20s)) << "the stream ends when the session closes";
  EXPECT_EQ(server.server().wait(), 0);
}

TEST_F(LegacySseTest, MaxSessionsAppliesToLegacySessions) {
  auto config = test_config();
  config.max_sessions = 1;
  TestServer server(config);
  LegacyClient first(server.port());
  ASSERT_EQ(first.status(), 200);
  LegacyClient second(server.port());
  EXPECT_EQ(second.status(), 503);
  EXPECT_TRUE(second.stream().has_header("Retry-After"));
}

TEST_F(LegacySseTest, CanBeTurnedOffAndMoved) {
  auto off = test_config();
  off.legacy_sse = false;
  TestServer without(off);
  EXPECT_EQ(LegacyClient(without.port()).status(), 404);

  auto moved = test_config();
  moved.sse_path = "/legacy/events";
  moved.messages_path = "/legacy/post";
  TestServer server(moved);
  LegacyClient legacy(server.port(), "/legacy/events");
  ASSERT_EQ(legacy.status(), 200);
  EXPECT_EQ(legacy.endpoint().rfind("/legacy/post?sessionId=", 0), 0U);
  EXPECT_EQ(legacy.initialize()["result"]["protocolVersion"], "2024-11-05");
}

}  // namespace
}  // namespace graceway::test
