// Resumability (spec-checklist.md 1.5): event ids that name their stream, the priming event and
// retry: for 2025-11-25, GET + Last-Event-ID replaying only the broken stream's events, the
// bounded event log, the resume window, and resumption while a session drains.

#include <gtest/gtest.h>

#include "session/event_log.hpp"
#include "support/log_capture.hpp"
#include "support/mcp_client.hpp"
#include "support/test_server.hpp"

namespace graceway::test {
namespace {

using namespace std::chrono_literals;

class ResumeTest : public ::testing::Test {
protected:
  void TearDown() override { EXPECT_TRUE(logs_.errors().empty()) << logs_.errors().front().text; }

  // GET with Last-Event-ID; returns once the response head is in (its status in `status`).
  static std::unique_ptr<StreamClient> resume(TestServer& server, const std::string& session, const std::string& id,
                                              int& status) {
    auto stream = std::make_unique<StreamClient>(server.port());
    EXPECT_TRUE(stream->send("GET", server.config().path,
                             {{"Accept", "text/event-stream"}, {"Mcp-Session-Id", session}, {"Last-Event-ID", id}}));
    status = stream->read_head();
    return stream;
  }

  static EventId id_of(const sse::Event& event) {
    const auto id = EventId::parse(event.id);
    EXPECT_TRUE(id) << "event id '" << event.id << "'";
    return id.value_or(EventId{});
  }

  LogCapture logs_;
};

TEST_F(ResumeTest, StreamsStartWithAPrimingEventAndNumberTheirEvents) {
  TestServer server;
  auto client = server.client();
  const auto session = client.open_session("2025-11-25");

  auto call = server.start_call(session, McpClient::tool_call(1, "echo", {{"text", "a"}}));
  const auto priming = call->next_event();
  ASSERT_TRUE(priming);
  EXPECT_TRUE(priming->data.empty()) << "the priming event carries no message";
  EXPECT_EQ(priming->retry_ms, 1000U) << "--sse-retry";
  const auto first = id_of(*priming);
  EXPECT_EQ(first.seq, 0U);
  const auto answer = call->next_event();
  ASSERT_TRUE(answer);
  EXPECT_EQ(id_of(*answer).stream, first.stream);
  EXPECT_EQ(id_of(*answer).seq, 1U);

  auto second = server.start_call(session, McpClient::tool_call(2, "echo", {{"text", "b"}}));
  const auto other = second->next_event();
  ASSERT_TRUE(other);
  EXPECT_NE(id_of(*other).stream, first.stream) << "ids are unique across the session's streams";

  auto get = server.open_get_stream(session);
  const auto get_priming = get->next_event();
  ASSERT_TRUE(get_priming);
  EXPECT_TRUE(get_priming->data.empty());
  EXPECT_EQ(get_priming->retry_ms, 1000U) << "the GET stream's priming event carries retry: too";
  ASSERT_TRUE(server.server().notify(session, McpClient::notification("notifications/tools/list_changed")));
  const auto note = get->next_event();
  ASSERT_TRUE(note);
  EXPECT_EQ(id_of(*note).stream, id_of(*get_priming).stream);
  EXPECT_EQ(id_of(*note).seq, 1U);
}

TEST_F(ResumeTest, OlderSessionsGetIdsButNoPrimingEvent) {
  TestServer server;
  auto client = server.client();
  const auto session = client.open_session("2025-06-18");
  auto call = server.start_call(session, McpClient::tool_call(1, "echo", {{"text", "a"}}));
  const auto event = call->next_event();
  ASSERT_TRUE(event);
  EXPECT_FALSE(event->data.empty()) << "older SDKs would try to parse an empty event as JSON";
  EXPECT_FALSE(event->retry_ms);
  EXPECT_EQ(id_of(*event).seq, 1U);
}

TEST_F(ResumeTest, AResumedCallDeliversItsResultOnTheNewStream) {
  auto config = test_config();
  config.resume_window = 20s;
  TestServer server(config);
  auto client = server.client();
  const auto session = client.open_session();
  auto call = server.start_gate(session, "g", 1);
  const auto priming = call->next_event();
  ASSERT_TRUE(priming);
  call->close();  // the network drops the stream

  int status = 0;
  auto resumed = resume(server, session, priming->id, status);
  ASSERT_EQ(status, 200);
  server.gates().release("g");
  const auto result = resumed->next_event();
  ASSERT_TRUE(result);
  EXPECT_EQ(id_of(*result).stream, id_of(*priming).stream) << "the resumed stream continues the old one's ids";
  EXPECT_EQ(json::parse(result->data)["result"]["content"][0]["text"], "released g") << "the call was not cancelled";
  EXPECT_TRUE(resumed->read_to_end(20s)) << "the stream ends with its last response";
  EXPECT_EQ(server.gates().wait_exited("g"), GateBoard::Outcome::released);
}

TEST_F(ResumeTest, AResumeReplaysOnlyTheEventsOfTheStreamThatBroke) {
  TestServer server;
  auto client = server.client();
  const auto session = client.open_session();
  auto get = server.open_get_stream(session);
  const auto get_priming = get->next_event();
  ASSERT_TRUE(get_priming);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(server.server().notify(session, McpClient::notification("notifications/tools/list_changed")));
  }
  std::string second_id;
  for (int i = 0; i < 3; ++i) {
    const auto e = get->next_event();
    ASSERT_TRUE(e);
    if (i == 0) second_id = e->id;
  }
  auto call = client.post(McpClient::tool_call(1, "echo", {{"text", "on another stream"}}), session);
  ASSERT_EQ(call.status, 200);
  get->close();

  int status = 0;
  auto resumed = resume(server, session, second_id, status);
  ASSERT_EQ(status, 200);
  std::vector<std::string> replayed;
  for (int i = 0; i < 2; ++i) {
    const auto e = resumed->next_event();
    ASSERT_TRUE(e);
    replayed.push_back(e->id);
    EXPECT_EQ(json::parse(e->data)["method"], "notifications/tools/list_changed")
        << "the echo's response belongs to another stream";
  }
  EXPECT_EQ(id_of(*get_priming).stream, EventId::parse(replayed[0])->stream);
  EXPECT_EQ(EventId::parse(replayed[0])->seq, 2U);
  EXPECT_EQ(EventId::parse(replayed[1])->seq, 3U);

  // The resumed stream is the session's GET stream now: new notifications arrive on it.
  ASSERT_TRUE(server.server().notify(session, McpClient::notification("notifications/resources/list_changed")));
  std::optional<sse::Event> next;
  do {
    next = resumed->next_event();
  } while (next && next->data.empty());  // its own priming event, if any
  ASSERT_TRUE(next);
  EXPECT_EQ(json::parse(next->data)["method"], "notifications/resources/list_changed");
}

TEST_F(ResumeTest, AStreamDeliveredWholeIsNotKept) {
  TestServer server;
  auto client = server.client();
  const auto session = client.open_session();
  auto call = server.start_call(session, McpClient::tool_call(1, "echo", {{"text", "delivered"}}));
  const auto priming = call->next_event();
  ASSERT_TRUE(priming);
  ASSERT_TRUE(call->read_to_end(20s));

  int status = 0;
  auto resumed = resume(server, session, priming->id, status);
  ASSERT_EQ(status, 200) << "an id we no longer keep opens a plain stream";
  const auto first = resumed->next_event();
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->data.empty()) << "its own priming event, not the echo again";
  EXPECT_NE(id_of(*first).stream, id_of(*priming).stream);
}

TEST_F(ResumeTest, TheEventLogIsBounded) {
  auto config = test_config();
  config.event_log_size = 2;
  TestServer server(config);
  auto client = server.client();
  const auto session = client.open_session();
  auto get = server.open_get_stream(session);
  const auto priming = get->next_event();
  ASSERT_TRUE(priming);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(server.server().notify(session, McpClient::notification("notifications/tools/list_changed")));
    ASSERT_TRUE(get->next_event());
  }
  int status = 0;
  auto resumed = resume(server, session, priming->id, status);
  ASSERT_EQ(status, 200);
  const auto a = resumed->next_event();
  const auto b = resumed->next_event();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(id_of(*a).seq, 4U) << "events 1-3 were evicted";
  EXPECT_EQ(id_of(*b).seq, 5U);
}

TEST_F(ResumeTest, AnIdTheSessionDoesNotKnowOpensAPlainStream) {
  TestServer server;
  auto client = server.client();
  for (const char* id : {"garbage", "999-1"}) {
    const auto session = client.open_session();  // one each: a session has one standalone stream
    int status = 0;
    auto stream = resume(server, session, id, status);
    EXPECT_EQ(status, 200) << id;
    const auto priming = stream->next_event();
    ASSERT_TRUE(priming) << id;
    EXPECT_TRUE(priming->data.empty()) << "a new stream, nothing replayed";
    ASSERT_TRUE(server.server().notify(session, McpClient::notification("notifications/tools/list_changed")));
    const auto note = stream->next_event();
    ASSERT_TRUE(note);
    EXPECT_EQ(id_of(*note).stream, id_of(*priming).stream) << "it is the session's standalone stream";
  }
}

TEST_F(ResumeTest, WithAWindowAStrandedCallRunsUntilTheWindowEnds) {
  auto config = test_config();
  config.resume_window = 50ms;
  TestServer server(config);
  auto client = server.client();
  const auto session = client.open_session();
  auto call = server.start_gate(session, "g", 1);
  call->close();
  EXPECT_TRUE(server.gates().wait_stop_requested("g")) << "nobody resumed within the window";
  EXPECT_EQ(server.gates().wait_exited("g"), GateBoard::Outcome::cancelled);
  EXPECT_TRUE(logs_.wait_for("client left, 1 request(s) cancelled"));
}

TEST_F(ResumeTest, ADrainingSessionsStreamCanBeResumedUntilItCloses) {
  auto config = test_config();
  config.resume_window = 20s;
  TestServer server(config);
  auto client = server.client();
  const auto session = client.open_session();
  auto call = server.start_gate(session, "g", 1);
  const auto priming = call->next_event();
  ASSERT_TRUE(priming);
  call->close();
  EXPECT_EQ(client.del(session).status, 200);
  ASSERT_EQ(server.server().session_state(session), SessionState::draining);

  EXPECT_EQ(client.get("/mcp", {{"Accept", "text/event-stream"}, {"Mcp-Session-Id", session}}).status, 503)
      << "a new stream on a draining session is refused";
  int status = 0;
  auto resumed = resume(server, session, priming->id, status);
  ASSERT_EQ(status, 200) << "a resume picks up admitted work, so a drain serves it";
  server.gates().release("g");
  const auto result = resumed->next_message();
  ASSERT_TRUE(result);
  EXPECT_EQ((*result)["result"]["content"][0]["text"], "released g");
  EXPECT_TRUE(server.server().wait_session_state(session, SessionState::closed, 20s));
  int after = 0;
  resume(server, session, priming->id, after);
  EXPECT_EQ(after, 404) << "closed: nothing to resume";
}

TEST_F(ResumeTest, AToolCanEndItsStreamAndTheClientFetchesTheRest) {
  TestServer server;
  auto client = server.client();
  const auto session = client.open_session();
  auto call = server.start_call(session, McpClient::tool_call(1, "test_reconnection", json::object()));
  const auto priming = call->next_event();
  ASSERT_TRUE(priming);
  ASSERT_TRUE(call->read_to_end(20s)) << "the server ended the response before the result";
  EXPECT_TRUE(call->read_all().empty());

  int status = 0;
  auto resumed = resume(server, session, priming->id, status);
  ASSERT_EQ(status, 200);
  const auto result = resumed->next_message();
  ASSERT_TRUE(result);
  EXPECT_EQ((*result)["id"], 1);
  EXPECT_NE((*result)["result"]["content"][0]["text"].get<std::string>().find("Reconnection test completed"),
            std::string::npos);
}

TEST_F(ResumeTest, AnotherSessionsEventIdReplaysNothing) {
  TestServer server;
  auto client = server.client();
  const auto a = client.open_session();
  const auto b = client.open_session();
  auto get_a = server.open_get_stream(a);
  const auto a_priming = get_a->next_event();
  ASSERT_TRUE(a_priming);
  ASSERT_TRUE(server.server().notify(a, McpClient::notification("notifications/tools/list_changed")));
  ASSERT_TRUE(get_a->next_event());

  int status = 0;
  auto on_b = resume(server, b, a_priming->id, status);
  ASSERT_EQ(status, 200) << "an id the session does not know opens a plain standalone stream";
  const auto b_priming = on_b->next_event();
  ASSERT_TRUE(b_priming);
  EXPECT_TRUE(b_priming->data.empty()) << "B's own priming event, not A's notification";
  ASSERT_TRUE(server.server().notify(b, McpClient::notification("notifications/prompts/list_changed")));
  const auto note = on_b->next_event();
  ASSERT_TRUE(note);
  EXPECT_EQ(json::parse(note->data)["method"], "notifications/prompts/list_changed") << "nothing of A's was replayed";
  EXPECT_EQ(id_of(*note).stream, id_of(*b_priming).stream);
}

TEST_F(ResumeTest, EachMessageGoesOnOneStreamOnly) {
  // Spec 1.4: a message is sent on one of the connected streams, never broadcast. The call's
  // progress and result stay on its POST stream; a server notification goes on the GET stream.
  TestServer server;
  auto client = server.client();
  const auto session = client.open_session();
  auto get = server.open_get_stream(session);
  ASSERT_TRUE(get->next_event());  // priming
  auto call = server.start_call(session, McpClient::tool_call(1, "sleep", {{"ms", 200}}, "p"));
  ASSERT_TRUE(call->next_event());  // priming
  const auto progress = call->next_message();
  ASSERT_TRUE(progress);
  EXPECT_EQ((*progress)["method"], "notifications/progress");
  ASSERT_TRUE(server.server().notify(session, McpClient::notification("notifications/tools/list_changed")));
  const auto rest = call->read_all();
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ(rest.back()["result"]["content"][0]["text"], "slept 200 ms");
  for (const auto& m : rest) EXPECT_NE(m.value("method", ""), "notifications/tools/list_changed") << m.dump();
  const auto note = get->next_message();
  ASSERT_TRUE(note);
  EXPECT_EQ((*note)["method"], "notifications/tools/list_changed") << "the first message on GET is the notification";
  ASSERT_TRUE(server.server().notify(session, McpClient::notification("notifications/prompts/list_changed")));
  const auto next = get->next_message();
  ASSERT_TRUE(next);
  EXPECT_EQ((*next)["method"], "notifications/prompts/list_changed") << "no progress or result came onto GET in between";
}

TEST_F(ResumeTest, SessionsOlderThan20251125AreNeverClosedBeforeTheirResponse) {
  // 2025-03-26 and 2025-06-18: the server SHOULD NOT close the stream before the response, and
  // those clients get no priming event to resume from. The call ends on its own stream.
  TestServer server;
  auto client = server.client();
  for (const std::string version : {"2025-03-26", "2025-06-18"}) {
    const auto session = client.open_session(version);
    ASSERT_FALSE(session.empty()) << version;
    const auto reply = client.post(McpClient::tool_call(1, "test_reconnection", json::object()), session);
    ASSERT_EQ(reply.status, 200) << version;
    ASSERT_EQ(reply.messages.size(), 1U) << version << ": " << reply.body;
    EXPECT_EQ(reply.response(1)["result"]["isError"], true) << version;
    EXPECT_EQ(reply.response(1)["result"]["content"][0]["text"], "this call's stream cannot be resumed") << version;
  }
}

TEST_F(ResumeTest, WithTheLogOffEventsCarryNoIds) {
  auto config = test_config();
  config.event_log_size = 0;
  TestServer server(config);
  auto client = server.client();
  const auto session = client.open_session();
  auto call = server.start_call(session, McpClient::tool_call(1, "echo", {{"text", "a"}}));
  const auto event = call->next_event();
  ASSERT_TRUE(event);
  EXPECT_TRUE(event->id.empty());
  EXPECT_FALSE(event->data.empty()) << "no priming event without resumability";
  const auto reconnection = client.post(McpClient::tool_call(2, "test_reconnection", json::object()), session);
  EXPECT_EQ(reconnection.response(2)["result"]["isError"], true);
}

}  // namespace
}  // namespace graceway::test
