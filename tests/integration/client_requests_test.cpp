// Requests from the server to the client (sampling/createMessage, elicitation/create): sent on the
// call's SSE stream, answered by a POST, with their own timeout, cancellation and drain behaviour.

#include <gtest/gtest.h>

#include "support/log_capture.hpp"
#include "support/mcp_client.hpp"
#include "support/test_server.hpp"

namespace graceway::test {
namespace {

using namespace std::chrono_literals;

const json kAsking = {{"sampling", json::object()}, {"elicitation", json::object()}};

class ClientRequestsTest : public ::testing::Test {
protected:
  void TearDown() override { EXPECT_TRUE(logs_.errors().empty()) << logs_.errors().front().text; }

  // Starts `tool` and returns its stream once the server's request to the client has arrived.
  std::unique_ptr<StreamClient> start_asking(TestServer& server, const std::string& session, const std::string& tool,
                                             json arguments, json& request, int call_id = 1) {
    auto stream = server.start_call(session, McpClient::tool_call(call_id, tool, std::move(arguments)));
    const auto message = stream->next_message();
    EXPECT_TRUE(message);
    if (message) request = *message;
    return stream;
  }

  // The client's answer, POSTed as a JSON-RPC response.
  static json answer(const json& request, json result) {
    return {{"jsonrpc", "2.0"}, {"id", request["id"]}, {"result", std::move(result)}};
  }

  LogCapture logs_;
};

TEST_F(ClientRequestsTest, SamplingGoesOutOnTheCallsStreamAndItsAnswerFinishesTheTool) {
  TestServer server;
  auto client = server.client();
  const auto session = client.open_session("2025-11-25", kAsking);
  json request;
  auto call = start_asking(server, session, "test_sampling", {{"prompt", "say hi"}}, request);
  EXPECT_EQ(request["method"], "sampling/createMessage");
  EXPECT_TRUE(request["id"].is_number_integer());
  EXPECT_EQ(request["params"]["messages"][0]["content"]["text"], "say hi");
  EXPECT_EQ(request["params"]["maxTokens"], 100);

  const auto posted = client.post(answer(request, {{"role", "assistant"},
                                                   {"content", {{"type", "text"}, {"text", "hi!"}}},
                                                   {"model", "m"}}),
                                  session);
  EXPECT_EQ(posted.status, 202);
  EXPECT_TRUE(posted.body.empty());
  const auto result = call->next_message();
  ASSERT_TRUE(result);
  EXPECT_EQ((*result)["id"], 1);
  EXPECT_EQ((*result)["result"]["content"][0]["text"], "LLM response: hi!");
}

TEST_F(ClientRequestsTest, EachRequestHasItsOwnIdAndAnErrorAnswerReachesTheTool) {
  TestServer server;
  auto client = server.client();
  const auto session = client.open_session("2025-11-25", kAsking);
  json first;
  json second;
  auto a = start_asking(server, session, "test_elicitation", {{"message", "a"}}, first);
  auto b = start_asking(server, session, "test_elicitation", {{"message", "b"}}, second, 2);
  EXPECT_EQ(first["method"], "elicitation/create");
  EXPECT_NE(first["id"], second["id"]);

  EXPECT_EQ(client.post(answer(second, {{"action", "decline"}}), session).status, 202);
  const json error = {{"jsonrpc", "2.0"}, {"id", first["id"]}, {"error", {{"code", -1}, {"message", "user closed it"}}}};
  EXPECT_EQ(client.post(error, session).status, 202);

  const auto declined = b->next_message();
  ASSERT_TRUE(declined);
  EXPECT_EQ((*declined)["result"]["content"][0]["text"], "User response: action=decline, content={}");
  const auto failed = a->next_message();
  ASSERT_TRUE(failed);
  EXPECT_EQ((*failed)["result"]["isError"], true);
  EXPECT_NE((*failed)["result"]["content"][0]["text"].get<std::string>().find("user closed it"), std::string::npos);
}

TEST_F(ClientRequestsTest, AClientWithoutTheCapabilityIsNeverAsked) {
  TestServer server;
  auto client = server.client();
  const auto session = client.open_session();  // no capabilities
  const auto reply = client.post(McpClient::tool_call(1, "test_sampling", {{"prompt", "x"}}), session);
  ASSERT_EQ(reply.messages.size(), 1U) << "no request went out before the result";
  EXPECT_EQ(reply.response(1)["result"]["isError"], true);
  EXPECT_NE(reply.body.find("did not declare the 'sampling' capability"), std::string::npos) << reply.body;
}

TEST_F(ClientRequestsTest, NothingIsAskedBeforeTheClientSaysInitialized) {
  TestServer server;
  auto client = server.client();
  const auto init = client.post(McpClient::initialize(1, "2025-11-25", kAsking));
  const auto session = init.header("Mcp-Session-Id");
  ASSERT_FALSE(session.empty());
  const auto early = client.post(McpClient::tool_call(2, "test_sampling", {{"prompt", "x"}}), session);
  ASSERT_EQ(early.messages.size(), 1U) << "no request went out";
  EXPECT_EQ(early.response(2)["result"]["isError"], true);
  EXPECT_NE(early.body.find("has not sent notifications/initialized"), std::string::npos) << early.body;

  EXPECT_EQ(client.post(McpClient::notification("notifications/initialized"), session).status, 202);
  json request;
  auto call = start_asking(server, session, "test_sampling", {{"prompt", "now"}}, request, 3);
  EXPECT_EQ(request["method"], "sampling/createMessage") << "after initialized the request goes out";
  EXPECT_EQ(client.post(answer(request, {{"role", "assistant"}, {"content", {{"type", "text"}, {"text", "ok"}}}}), session)
                .status,
            202);
  const auto result = call->next_message();
  ASSERT_TRUE(result);
  EXPECT_EQ((*result)["result"]["content"][0]["text"], "LLM response: ok");
}

TEST_F(ClientRequestsTest, JsonResponseModeCannotCarryARequest) {
  auto config = test_config();
  config.response_mode = ResponseMode::json;
  TestServer server(config);
  auto client = server.client();
  const auto session = client.open_session("2025-11-25", kAsking);
  const auto reply = client.post(McpClient::tool_call(1, "test_elicitation", {{"message", "x"}}), session);
  EXPECT_EQ(reply.response(1)["result"]["isError"], true);
  EXPECT_NE(reply.body.find("JSON response mode"), std::string::npos) << reply.body;
}

TEST_F(ClientRequestsTest, NoAnswerInTimeCancelsTheRequestAndALateAnswerIsIgnored) {
  auto config = test_config();
  config.client_request_timeout = 100ms;
  TestServer server(config);
  auto client = server.client();
  const auto session = client.open_session("2025-11-25", kAsking);
  json request;
  auto call = start_asking(server, session, "test_sampling", {{"prompt", "x"}}, request);

  const auto cancelled = call->next_message();
  ASSERT_TRUE(cancelled);
  EXPECT_EQ((*cancelled)["method"], "notifications/cancelled");
  EXPECT_EQ((*cancelled)["params"]["requestId"], request["id"]);
  const auto result = call->next_message();
  ASSERT_TRUE(result);
  EXPECT_EQ((*result)["result"]["isError"], true);
  EXPECT_NE((*result)["result"]["content"][0]["text"].get<std::string>().find("no answer from the client within 100 ms"),
            std::string::npos);

  EXPECT_EQ(client.post(answer(request, {{"action", "accept"}}), session).status, 202) << "late, accepted, ignored";
  EXPECT_TRUE(logs_.wait_for("answers nothing we wait for"));
}

TEST_F(ClientRequestsTest, ADrainingSessionStillTakesTheAnswerAndDeliversTheResult) {
  TestServer server;
  auto client = server.client();
  const auto session = client.open_session("2025-11-25", kAsking);
  json request;
  auto call = start_asking(server, session, "test_elicitation", {{"message", "who?"}}, request);

  EXPECT_EQ(client.del(session).status, 200);
  EXPECT_EQ(server.server().session_state(session), SessionState::draining);
  const auto posted = client.post(answer(request, {{"action", "accept"}, {"content", {{"username", "u"}}}}), session);
  EXPECT_EQ(posted.status, 202) << "answers help in-flight work finish, so a drain takes them";

  const auto result = call->next_message();
  ASSERT_TRUE(result);
  EXPECT_EQ((*result)["result"]["content"][0]["text"], R"(User response: action=accept, content={"username":"u"})");
  EXPECT_TRUE(server.server().wait_session_state(session, SessionState::closed, 20s));
}

TEST_F(ClientRequestsTest, TheDrainDeadlineEndsTheWaitAndTheSessionCloses) {
  auto config = test_config();
  config.drain_timeout = 200ms;
  TestServer server(config);
  auto client = server.client();
  const auto session = client.open_session("2025-11-25", kAsking);
  json request;
  auto call = start_asking(server, session, "test_sampling", {{"prompt", "x"}}, request);

  EXPECT_EQ(client.del(session).status, 200);
  const auto settled = call->next_message();
  ASSERT_TRUE(settled);
  EXPECT_EQ((*settled)["id"], 1);
  EXPECT_EQ((*settled)["error"]["code"], -32000) << "the window ended: the drain-deadline error, not silence";
  EXPECT_TRUE(server.server().wait_session_state(session, SessionState::closed, 20s));
  EXPECT_TRUE(logs_.wait_for("result of test_sampling (i:1) dropped"))
      << "the deadline cut the tool's wait short, and the tool returned";
  EXPECT_EQ(client.post(answer(request, {{"role", "assistant"}}), session).status, 404) << "closed: re-initialize";
}

}  // namespace
}  // namespace graceway::test
