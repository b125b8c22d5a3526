// Every row of the admission table (design.md section 2), over real loopback sockets.

#include <gtest/gtest.h>

#include <regex>
#include <thread>

#include "support/log_capture.hpp"
#include "support/mcp_client.hpp"
#include "support/test_server.hpp"

namespace graceway::test {
namespace {

using namespace std::chrono_literals;

class AdmissionHttpTest : public ::testing::Test {
protected:
  LogCapture logs_;
};

void expect_error_body(const Reply& reply, int code, const json& id) {
  ASSERT_EQ(reply.messages.size(), 1U) << reply.body;
  const auto& body = reply.messages.front();
  EXPECT_EQ(body["jsonrpc"], "2.0");
  EXPECT_EQ(body["error"]["code"], code) << reply.body;
  EXPECT_EQ(body["id"], id);
  EXPECT_TRUE(body["error"]["message"].is_string());
}

int retry_after(const Reply& reply) { return reply.has_header("Retry-After") ? std::stoi(reply.header("Retry-After")) : -1; }

TEST_F(AdmissionHttpTest, InitializeWithoutSessionOpensOne) {
  TestServer server;
  auto client = server.client();
  const auto reply = client.post(McpClient::initialize(1));
  ASSERT_EQ(reply.status, 200);
  const auto id = reply.header("Mcp-Session-Id");
  EXPECT_TRUE(std::regex_match(id, std::regex("^[\\x21-\\x7E]+$"))) << id;
  ASSERT_EQ(reply.messages.size(), 1U);
  EXPECT_EQ(reply.messages[0]["id"], 1);
  EXPECT_EQ(reply.messages[0]["result"]["protocolVersion"], "2025-11-25");
  EXPECT_EQ(server.server().session_state(id), SessionState::open);
  EXPECT_TRUE(logs_.wait_for("-> open (initialize"));
}

TEST_F(AdmissionHttpTest, InitializeWhileTheServerDrainsGets503WithRetryAfter) {
  auto config = test_config();
  config.shutdown_timeout = 20s;
  TestServer server(config);
  auto client = server.client();
  const auto session = client.open_session();
  auto work = server.start_gate(session, "g");
  server.server().shutdown();

  const auto reply = client.post(McpClient::initialize(2));
  EXPECT_EQ(reply.status, 503);
  EXPECT_GE(retry_after(reply), 1);
  EXPECT_LE(retry_after(reply), 20);
  expect_error_body(reply, -32000, 2);
  server.gates().release("g");
  EXPECT_EQ(work->read_all().size(), 1U);
}

TEST_F(AdmissionHttpTest, InitializeBeyondMaxSessionsGets503UntilOneCloses) {
  auto config = test_config();
  config.max_sessions = 2;
  TestServer server(config);
  auto client = server.client();
  const auto first = client.open_session();
  ASSERT_FALSE(client.open_session().empty());
  const auto refused = client.post(McpClient::initialize(3));
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(retry_after(refused), 1);
  expect_error_body(refused, -32000, 3);

  EXPECT_EQ(client.del(first).status, 200);
  EXPECT_EQ(client.post(McpClient::initialize(4)).status, 200);
}

TEST_F(AdmissionHttpTest, OtherMessagesWithoutASessionGet400) {
  TestServer server;
  auto client = server.client();
  const auto list = client.post(McpClient::request(5, "tools/list"));
  EXPECT_EQ(list.status, 400);
  expect_error_body(list, -32000, 5);
  EXPECT_EQ(client.post(McpClient::notification("notifications/initialized")).status, 400);
  EXPECT_EQ(client.get("/mcp", {{"Accept", "text/event-stream"}}).status, 400);
  EXPECT_EQ(client.del("").status, 400);
  EXPECT_EQ(server.server().metrics().sessions_created.load(), 0U) << "a refused request allocates no session";
}

TEST_F(AdmissionHttpTest, UnknownAndClosedSessionsGet404ForEveryMethod) {
  TestServer server;
  auto client = server.client();
  const auto closed = client.open_session();
  ASSERT_EQ(client.del(closed).status, 200);
  ASSERT_EQ(server.server().session_state(closed), SessionState::closed);

  for (const std::string& session : {std::string("does-not-exist"), closed}) {
    const auto post = client.post(McpClient::request(6, "tools/list"), session);
    EXPECT_EQ(post.status, 404) << session;
    expect_error_body(post, -32001, 6);
    EXPECT_EQ(client.post(McpClient::notification("notifications/initialized"), session).status, 404);
    EXPECT_EQ(client.get("/mcp", {{"Accept", "text/event-stream"}, {"Mcp-Session-Id", session}}).status, 404);
    EXPECT_EQ(client.del(session).status, 404);
  }
}

TEST_F(AdmissionHttpTest, RequestOnAnOpenSessionIsHandled) {
  TestServer server;
  auto client = server.client();
  const auto session = client.open_session();
  const auto reply = client.post(McpClient::request(7, "tools/list"), session);
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.header("Content-Type"), "text/event-stream");
  EXPECT_EQ(reply.response(7)["result"]["tools"].size(), 34U);  // 3 demo tools + 2 gates + 29 conformance tools
}

TEST_F(AdmissionHttpTest, RequestOnADrainingSessionGets503WithRetryAfterAndItsId) {
  TestServer server;
  auto client = server.client();
  const auto session = client.open_session();
  auto work = server.start_gate(session, "g");
  ASSERT_EQ(client.del(session).status, 200);
  ASSERT_EQ(server.server().session_state(session), SessionState::draining);

  const auto reply = client.post(McpClient::request("r-8", "tools/list"), session);
  EXPECT_EQ(reply.status, 503);
  EXPECT_GE(retry_after(reply), 29);
  EXPECT_LE(retry_after(reply), 30);
  expect_error_body(reply, -32000, "r-8");
  EXPECT_EQ(client.get("/mcp", {{"Accept", "text/event-stream"}, {"Mcp-Session-Id", session}}).status, 503);
  server.gates().release("g");
}

TEST_F(AdmissionHttpTest, DrainingStatus404AnswersDrainingSessionsWith404) {
  auto config = test_config();
  config.draining_status = 404;
  TestServer server(config);
  auto client = server.client();
  const auto session = client.open_session();
  auto work = server.start_gate(session, "g");
  ASSERT_EQ(client.del(session).status, 200);
  const auto reply = client.post(McpClient::request(9, "tools/list"), session);
  EXPECT_EQ(reply.status, 404);
  EXPECT_FALSE(reply.has_header("Retry-After"));
  expect_error_body(reply, -32001, 9);
  server.gates().release("g");
}

TEST_F(AdmissionHttpTest, NotificationsAndResponsesGet202WhileOpenOrDraining) {
  TestServer server;
  auto client = server.client();
  const auto session = client.open_session();
  const auto open = client.post(McpClient::notification("notifications/progress", {{"progressToken", 1}, {"progress", 1}}), session);
  EXPECT_EQ(open.status, 202);
  EXPECT_TRUE(open.body.empty());
  EXPECT_EQ(client.post(json{{"jsonrpc", "2.0"}, {"id", 77}, {"result", json::object()}}, session).status, 202);

  auto work = server.start_gate(session, "g", 10);
  ASSERT_EQ(client.del(session).status, 200);
  EXPECT_EQ(client.post(json{{"jsonrpc", "2.0"}, {"id", 78}, {"result", json::object()}}, session).status, 202);
  // The cancellation reaches the running tool, and the drain then completes.
  const auto cancel = client.post(McpClient::notification("notifications/cancelled", {{"requestId", 10}}), session);
  EXPECT_EQ(cancel.status, 202);
  EXPECT_TRUE(cancel.body.empty());
  EXPECT_EQ(server.gates().wait_exited("g"), GateBoard::Outcome::cancelled);
  EXPECT_TRUE(work->read_all().empty()) << "a cancelled request gets no response on its stream";
  EXPECT_TRUE(work->ended());
  EXPECT_TRUE(logs_.wait_for("draining -> closed (drained)"));
}

TEST_F(AdmissionHttpTest, GetOpensTheStreamWhileOpenAndOnlyOne) {
  TestServer server;
  auto client = server.client();
  const auto session = client.open_session();
  auto get = server.open_get_stream(session);
  EXPECT_EQ(get->header("Content-Type"), "text/event-stream");
  const auto second = client.get("/mcp", {{"Accept", "text/event-stream"}, {"Mcp-Session-Id", session}});
  EXPECT_EQ(second.status, 409);
  // DELETE with nothing in flight closes the session at once, which ends the stream.
  EXPECT_EQ(client.del(session).status, 200);
  EXPECT_TRUE(get->read_all().empty());
  EXPECT_TRUE(get->ended());
}

TEST_F(AdmissionHttpTest, DeleteOfAnIdleSessionClosesItAtOnce) {
  TestServer server;
  auto client = server.client();
  const auto session = client.open_session();
  const auto reply = client.del(session);
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(server.server().session_state(session), SessionState::closed);
  EXPECT_TRUE(logs_.wait_for("open -> closed (delete)"));
  EXPECT_EQ(client.post(McpClient::request(11, "ping"), session).status, 404);
}

TEST_F(AdmissionHttpTest, DeleteWhileDrainingAnswersTheSameAndKeepsTheDeadline) {
  TestServer server;
  auto client = server.client();
  const auto session = client.open_session();
  auto work = server.start_gate(session, "g");
  ASSERT_EQ(client.del(session).status, 200);
  const auto before = retry_after(client.post(McpClient::request(12, "ping"), session));
  EXPECT_EQ(client.del(session).status, 200);
  EXPECT_EQ(server.server().session_state(session), SessionState::draining);
  const auto after = retry_after(client.post(McpClient::request(13, "ping"), session));
  EXPECT_LE(after, before) << "a second DELETE does not extend the window";
  EXPECT_EQ(logs_.count("open -> draining (delete)"), 1U);
  server.gates().release("g");
  EXPECT_EQ(work->read_all().size(), 1U);
}

TEST_F(AdmissionHttpTest, ANewInitializeIsNeverRefusedBecauseOthersDrain) {
  auto config = test_config();
  config.max_sessions = 1;
  TestServer server(config);
  auto client = server.client();
  const auto draining = client.open_session();
  auto work = server.start_gate(draining, "g");
  ASSERT_EQ(client.del(draining).status, 200);
  ASSERT_EQ(server.server().session_state(draining), SessionState::draining);
  const auto fresh = client.open_session();
  EXPECT_FALSE(fresh.empty()) << "the draining session does not hold the only slot";
  EXPECT_EQ(client.post(McpClient::tool_call(14, "echo", {{"text", "hi"}}), fresh).status, 200);
  server.gates().release("g");
}

}  // namespace
}  // namespace graceway::test
