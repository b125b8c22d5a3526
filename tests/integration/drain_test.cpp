// Session end while work is in flight: results delivered inside the window, the window cutting
// off a tool that ignores cancellation, clients that leave mid-stream, idle expiry, overload.

#include <gtest/gtest.h>

#include "support/log_capture.hpp"
#include "support/mcp_client.hpp"
#include "support/test_server.hpp"

namespace graceway::test {
namespace {

using namespace std::chrono_literals;

class DrainTest : public ::testing::Test {
protected:
  void TearDown() override { EXPECT_TRUE(logs_.errors().empty()) << logs_.errors().front().text; }

  // A client drops the stream of a running call on a server configured so that nothing waits for
  // a resume: the call is cancelled at once, its response dropped and counted, the session fine.
  void expect_a_disconnect_cancels_at_once(const ServerConfig& config) {
    TestServer server(config);
    auto client = server.client();
    const auto session = client.open_session();
    auto call = server.start_gate(session, "g", 6);
    call->close();

    EXPECT_EQ(server.gates().wait_exited("g"), GateBoard::Outcome::cancelled);
    EXPECT_TRUE(logs_.wait_for("client left, 1 request(s) cancelled"));
    EXPECT_EQ(logs_.count("they keep running"), 0U);
    EXPECT_TRUE(logs_.wait_for("dropped: already answered or client gone"));
    EXPECT_EQ(server.server().metrics().dropped_writes.load(), 1U);
    EXPECT_EQ(server.server().session_state(session), SessionState::open);
    EXPECT_EQ(client.post(McpClient::request(7, "ping"), session).status, 200);
  }

  LogCapture logs_;
};

TEST_F(DrainTest, DeleteWhileAToolRunsStillDeliversItsResult) {
  TestServer server;
  auto client = server.client();
  const auto session = client.open_session();
  auto call = server.start_gate(session, "g", 1);

  const auto del = client.del(session);
  EXPECT_EQ(del.status, 200) << "DELETE answers at once while the tool still runs";
  EXPECT_TRUE(logs_.wait_for("open -> draining (delete)"));

  server.gates().release("g");
  const auto messages = call->read_all();
  ASSERT_EQ(messages.size(), 1U);
  EXPECT_EQ(messages[0]["id"], 1);
  EXPECT_EQ(messages[0]["result"]["content"][0]["text"], "released g");
  EXPECT_TRUE(call->ended());
  EXPECT_TRUE(logs_.wait_for("draining -> closed (drained)"));
  EXPECT_EQ(client.post(McpClient::request(2, "ping"), session).status, 404);
  EXPECT_EQ(server.server().metrics().dropped_writes.load(), 0U);
}

TEST_F(DrainTest, DeleteWhileAStreamIsMidProgressKeepsStreaming) {
  TestServer server;
  auto client = server.client();
  const auto session = client.open_session();
  auto call = server.start_call(session, McpClient::tool_call(1, "sleep", {{"ms", 300}}, "tok"));
  const auto first = call->next_message();
  ASSERT_TRUE(first);
  EXPECT_EQ((*first)["method"], "notifications/progress");
  EXPECT_EQ((*first)["params"]["progressToken"], "tok");

  EXPECT_EQ(client.del(session).status, 200);
  const auto rest = call->read_all();
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ(rest.back()["id"], 1);
  EXPECT_EQ(rest.back()["result"]["content"][0]["text"], "slept 300 ms");
  double last = (*first)["params"]["progress"].get<double>();
  for (std::size_t i = 0; i + 1 < rest.size(); ++i) {
    ASSERT_EQ(rest[i]["method"], "notifications/progress");
    EXPECT_GT(rest[i]["params"]["progress"].get<double>(), last);
    last = rest[i]["params"]["progress"].get<double>();
  }
  EXPECT_TRUE(logs_.wait_for("draining -> closed (drained)"));
}

TEST_F(DrainTest, TheWindowEndsOnAToolThatIgnoresCancellation) {
  auto config = test_config();
  config.drain_timeout = 300ms;
  TestServer server(config);
  auto client = server.client();
  const auto session = client.open_session();
  auto call = server.start_gate(session, "s", "slow", "stubborn_gate");

  ASSERT_EQ(client.del(session).status, 200);
  const auto refused = client.post(McpClient::request(3, "ping"), session);
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.header("Retry-After"), "1") << "under a second left rounds up to 1";

  // At the deadline the open response is completed with an error and the session closes.
  const auto messages = call->read_all();
  ASSERT_EQ(messages.size(), 1U);
  EXPECT_EQ(messages[0]["id"], "slow");
  EXPECT_EQ(messages[0]["error"]["code"], -32000);
  EXPECT_TRUE(call->ended());
  EXPECT_TRUE(logs_.wait_for("draining -> closed (deadline)"));
  EXPECT_TRUE(server.gates().wait_stop_requested("s")) << "the tool was asked to stop";
  EXPECT_EQ(client.post(McpClient::request(4, "ping"), session).status, 404);

  // The stubborn tool finishes later; its result is dropped quietly and counted.
  server.gates().release("s");
  EXPECT_TRUE(logs_.wait_for("dropped: already answered or client gone"));
  EXPECT_EQ(server.server().metrics().late_results.load(), 1U);
  EXPECT_EQ(server.server().metrics().requests_in_flight.load(), 0);
}

TEST_F(DrainTest, JsonModeCompletesTheHttpRequestAtTheDeadline) {
  auto config = test_config();
  config.drain_timeout = 300ms;
  config.response_mode = ResponseMode::json;
  TestServer server(config);
  auto client = server.client();
  const auto session = client.open_session();
  auto call = server.start_call(session, McpClient::tool_call(5, "stubborn_gate", {{"name", "s"}}));
  EXPECT_EQ(call->header("Content-Type"), "application/json");
  ASSERT_TRUE(server.gates().wait_entered("s"));
  ASSERT_EQ(client.del(session).status, 200);
  ASSERT_TRUE(call->read_all().empty());  // a JSON body, not SSE events
  ASSERT_TRUE(call->ended()) << "never left hanging";
  const auto body = json::parse(call->body_so_far());
  EXPECT_EQ(body["id"], 5);
  EXPECT_EQ(body["error"]["code"], -32000);
  server.gates().release("s");
}

TEST_F(DrainTest, ByDefaultAClientThatDisconnectsMidStreamLeavesItsRequestRunning) {
  TestServer server;  // the default --resume-window
  auto client = server.client();
  const auto session = client.open_session();
  auto call = server.start_gate(session, "g", 6);
  call->close();
  EXPECT_TRUE(logs_.wait_for("client left a stream with 1 request(s) unanswered; they keep running 10000 ms"));
  server.gates().release("g");
  EXPECT_EQ(server.gates().wait_exited("g"), GateBoard::Outcome::released)
      << "a disconnect is not a cancellation (spec: the client cancels with notifications/cancelled)";
  EXPECT_EQ(server.server().session_state(session), SessionState::open);
  EXPECT_EQ(client.post(McpClient::request(7, "ping"), session).status, 200);
}

TEST_F(DrainTest, WithNoResumeWindowAClientThatDisconnectsMidStreamCancelsItsRequest) {
  auto config = test_config();
  config.resume_window = 0ms;
  expect_a_disconnect_cancels_at_once(config);
}

TEST_F(DrainTest, WithResumabilityOffADisconnectCancelsAtOnce) {
  // --event-log-size 0: no event ids, so nothing could resume the stream; waiting would only
  // hold a worker for a result nobody can fetch.
  auto config = test_config();
  config.event_log_size = 0;
  expect_a_disconnect_cancels_at_once(config);
}

TEST_F(DrainTest, WithNoResumeWindowAClientThatLeavesADrainingSessionLetsItClose) {
  auto config = test_config();
  config.resume_window = 0ms;
  TestServer server(config);
  auto client = server.client();
  const auto session = client.open_session();
  auto call = server.start_gate(session, "g", 8);
  ASSERT_EQ(client.del(session).status, 200);
  call->close();
  EXPECT_EQ(server.gates().wait_exited("g"), GateBoard::Outcome::cancelled);
  EXPECT_TRUE(logs_.wait_for("draining -> closed (drained)"));
}

TEST_F(DrainTest, NotificationsCancelledDuringTheDrainIsHonoured) {
  TestServer server;
  auto client = server.client();
  const auto session = client.open_session();
  auto call = server.start_gate(session, "g", 9);
  ASSERT_EQ(client.del(session).status, 200);
  EXPECT_EQ(client.post(McpClient::notification("notifications/cancelled", {{"requestId", 9}, {"reason", "bye"}}), session).status,
            202);
  EXPECT_EQ(server.gates().wait_exited("g"), GateBoard::Outcome::cancelled);
  EXPECT_TRUE(call->read_all().empty());
  EXPECT_TRUE(call->ended());
  EXPECT_TRUE(logs_.wait_for("draining -> closed (drained)"));
}

TEST_F(DrainTest, IdleSessionsExpireButAnOpenGetStreamCountsAsActivity) {
  auto config = test_config();
  config.session_idle_timeout = 200ms;
  TestServer server(config);
  auto client = server.client();
  const auto watched = client.open_session();
  auto get = server.open_get_stream(watched);

  // Opened after `watched`, so it can only expire after `watched` would have, were the stream
  // not activity.
  const auto idle = client.open_session();
  ASSERT_TRUE(logs_.wait_for("session " + idle + ": open -> closed (idle)"));
  EXPECT_EQ(server.server().session_state(watched), SessionState::open);
  EXPECT_EQ(client.post(McpClient::request(10, "ping"), idle).status, 404);

  get->close();
  EXPECT_TRUE(logs_.wait_for("session " + watched + ": open -> closed (idle)"));
}

TEST_F(DrainTest, ConnectionsBeyondMaxConnectionsGet503AtOnceAndOthersAreServed) {
  HttpOptions http;
  http.max_connections = 2;
  TestServer server(test_config(), {}, http);
  // Two connections held open by legacy SSE streams (one request each opens a session and its
  // stream, so no set-up connection is left lingering).
  auto open_stream = [&] {
    auto stream = std::make_unique<StreamClient>(server.port());
    EXPECT_TRUE(stream->send("GET", "/sse", {{"Accept", "text/event-stream"}}));
    EXPECT_EQ(stream->read_head(), 200);
    return stream;
  };
  auto first = open_stream();
  auto second = open_stream();

  StreamClient third(server.port());
  ASSERT_TRUE(third.send("GET", "/healthz", {}));
  EXPECT_EQ(third.read_head(), 503) << "answered at once, not queued";
  EXPECT_EQ(third.header("Retry-After"), "1");
  ASSERT_TRUE(third.read_to_end(std::chrono::seconds(20)));
  const auto refused = json::parse(third.body_so_far(), nullptr, false);
  EXPECT_EQ(refused["error"]["code"], -32000) << third.body_so_far();
  EXPECT_EQ(server.server().metrics().http_connections_rejected.load(), 1U);
  EXPECT_TRUE(third.wait_closed()) << "the refused connection is closed";

  // One stream's client leaves: its connection closes, and the next connection is served.
  first->close();
  ASSERT_TRUE(logs_.wait_for("client left a response stream"));
  const auto health = server.client().get("/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(server.server().metrics().http_connections_rejected.load(), 1U);
}

}  // namespace
}  // namespace graceway::test

namespace graceway::test {
namespace {

TEST(ToolQueueTest, ACallCancelledWhileQueuedNeverRuns) {
  LogCapture logs;
  auto config = test_config();
  config.tool_threads = 1;
  TestServer server(config);
  auto client = server.client();
  const auto session = client.open_session();
  auto busy = server.start_gate(session, "only-thread", 1);  // holds the one tool thread
  auto queued = server.start_call(session, McpClient::tool_call(2, "gate", {{"name", "never"}}));
  EXPECT_EQ(client.post(McpClient::notification("notifications/cancelled", {{"requestId", 2}}), session).status, 202);
  EXPECT_TRUE(queued->read_all().empty());
  EXPECT_TRUE(queued->ended());

  server.gates().release("only-thread");
  EXPECT_EQ(busy->read_all().size(), 1U);
  EXPECT_TRUE(logs.wait_for("gate (i:2) cancelled before it started"));
  EXPECT_FALSE(server.gates().wait_entered("never", 1, std::chrono::milliseconds(0))) << "the handler never ran";
  EXPECT_EQ(server.server().metrics().requests_in_flight.load(), 0);
}

}  // namespace
}  // namespace graceway::test
