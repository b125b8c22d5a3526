// The stateless 2026-07-28 era served beside the legacy session eras, over real loopback sockets
// (docs/spec-rules.md, "Protocol eras"): which era a request belongs to, the checks a modern
// request passes before it is served, the modern result vocabulary, multi round-trip requests
// (InputRequiredResult + requestState), the client-capability gate, cancellation by closing the
// response, the lazy answer, shutdown, subscriptions/listen and per-request rate limits.
// Gate tools decide when a call finishes, so nothing here waits on a timer.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "graceway/catalog.hpp"
#include "support/log_capture.hpp"
#include "support/mcp_client.hpp"
#include "support/test_server.hpp"

namespace graceway::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kModern = "2026-07-28";
const std::string kVersionKey = "io.modelcontextprotocol/protocolVersion";
const std::string kCapabilitiesKey = "io.modelcontextprotocol/clientCapabilities";
const std::string kServerInfoKey = "io.modelcontextprotocol/serverInfo";
const std::string kSubscriptionKey = "io.modelcontextprotocol/subscriptionId";

// The per-request envelope of a 2026-07-28 request.
json modern_meta(const json& capabilities = json::object(), const std::string& version = kModern) {
  return {{kVersionKey, version}, {kCapabilitiesKey, capabilities}};
}

// `method` as a 2026-07-28 request: params._meta carries the envelope (merged with what `params`
// already has there, a progressToken say).
json modern_request(json id, const std::string& method, json params = json::object(),
                    const json& capabilities = json::object(), const std::string& version = kModern) {
  if (!params.is_object()) params = json::object();
  auto& meta = params["_meta"];
  if (!meta.is_object()) meta = json::object();
  meta.update(modern_meta(capabilities, version));
  return McpClient::request(std::move(id), method, std::move(params));
}

json modern_tool_call(json id, const std::string& tool, json arguments, const json& capabilities = json::object()) {
  return modern_request(std::move(id), "tools/call", {{"name", tool}, {"arguments", std::move(arguments)}}, capabilities);
}

// The routing headers that mirror a modern body.
HeaderList routing_headers(const std::string& method, const std::string& name = {}, const std::string& version = kModern) {
  HeaderList h = {{"MCP-Protocol-Version", version}, {"Mcp-Method", method}};
  if (!name.empty()) h.emplace_back("Mcp-Name", name);
  return h;
}

// The headers a conforming client sends with `message`.
HeaderList headers_for(const json& message) {
  const auto method = message.value("method", std::string());
  std::string name;
  if (message.contains("params") && message["params"].is_object()) {
    const auto& params = message["params"];
    if (method == "tools/call" || method == "prompts/get") name = params.value("name", std::string());
    if (method == "resources/read") name = params.value("uri", std::string());
  }
  return routing_headers(method, name);
}

HeaderList with(HeaderList base, const HeaderList& more) {
  base.insert(base.end(), more.begin(), more.end());
  return base;
}

// A whole JSON-RPC error answer: the status, one message, the id echoed, the code; returns the
// error object for the rest of the checks.
json expect_error(const Reply& reply, int status, int code, const json& id) {
  EXPECT_EQ(reply.status, status) << reply.body;
  EXPECT_EQ(reply.header("Content-Type"), "application/json") << reply.body;
  EXPECT_EQ(reply.messages.size(), 1U) << reply.body;
  if (reply.messages.size() != 1U) return json();
  const auto& m = reply.messages[0];
  EXPECT_EQ(m["jsonrpc"], "2.0") << m.dump();
  EXPECT_EQ(m["id"], id) << m.dump();
  EXPECT_FALSE(m.contains("result")) << m.dump();
  EXPECT_TRUE(m.contains("error")) << m.dump();
  if (!m.contains("error")) return json();
  EXPECT_EQ(m["error"]["code"], code) << m.dump();
  EXPECT_TRUE(m["error"]["message"].is_string()) << m.dump();
  return m["error"];
}

// The one result of a 200 answer with id `id`.
json expect_result(const Reply& reply, const json& id) {
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.messages.size(), 1U) << reply.body;
  const auto response = reply.response(id);
  EXPECT_TRUE(response.is_object() && response.contains("result")) << reply.body;
  return response.is_object() && response.contains("result") ? response["result"] : json();
}

// The value of an unlabelled Prometheus sample on /metrics; -1 when absent.
long long metric(McpClient& client, const std::string& name) {
  const auto reply = client.get("/metrics");
  const auto at = reply.body.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(reply.body.substr(at + name.size() + 2));
}

class ModernHttpTest : public ::testing::Test {
protected:
  void TearDown() override {
    const auto errors = logs_.errors();
    EXPECT_TRUE(errors.empty()) << errors.front().text;
  }

  static Reply post_modern(McpClient& client, const json& message, const HeaderList& extra = {},
                           const std::string& session = {}) {
    return client.post(message, session, with(headers_for(message), extra));
  }

  // A POST of `message` with its routing headers on a raw connection (the head is not read).
  static std::unique_ptr<StreamClient> send_modern(TestServer& server, const json& message) {
    auto stream = std::make_unique<StreamClient>(server.port());
    EXPECT_TRUE(stream->send("POST", server.config().path, with(McpClient::mcp_headers(), headers_for(message)),
                             message.dump()));
    return stream;
  }

  LogCapture logs_;
};

// ---------------------------------------------------------------------------------------------
// 1. Era routing

TEST_F(ModernHttpTest, AModernRequestWithAStaleOrUnknownSessionIdIsServedStatelessly) {
  TestServer server;
  auto client = server.client();
  const auto session = client.open_session();
  ASSERT_FALSE(session.empty());
  ASSERT_EQ(client.del(session).status, 200);
  for (const auto& id : {session, std::string("never-issued")}) {
    const auto reply = post_modern(client, modern_request(7, "tools/list"), {}, id);
    const auto result = expect_result(reply, 7);
    EXPECT_FALSE(reply.has_header("Mcp-Session-Id")) << "a modern answer never names a session";
    EXPECT_EQ(result["resultType"], "complete");
    EXPECT_TRUE(result["tools"].is_array() && !result["tools"].empty());
  }
  EXPECT_EQ(server.server().session_state(session), SessionState::closed) << "the deleted session stays deleted";
}

TEST_F(ModernHttpTest, ModernMetaWithoutTheVersionHeaderIsAHeaderMismatch) {
  TestServer server;
  auto client = server.client();
  const auto reply = client.post(modern_request(3, "tools/list"), {}, {{"Mcp-Method", "tools/list"}});
  expect_error(reply, 400, -32020, 3);
}

TEST_F(ModernHttpTest, AModernBodyUnderALegacyHeaderIsRefusedUnlessLenient) {
  {
    TestServer server;
    auto client = server.client();
    const auto reply = client.post(modern_request(4, "tools/list"), {}, routing_headers("tools/list", {}, "2025-11-25"));
    expect_error(reply, 400, -32020, 4);
  }
  auto config = test_config();
  config.lenient_version_header = true;
  TestServer server(config);
  auto client = server.client();
  EXPECT_EQ(metric(client, "graceway_version_headers_tolerated_total"), 0);
  const auto reply = client.post(modern_request(4, "tools/list"), {}, routing_headers("tools/list", {}, "2025-11-25"));
  const auto result = expect_result(reply, 4);
  EXPECT_EQ(result["resultType"], "complete") << "served as 2026-07-28, as its body says";
  EXPECT_FALSE(reply.has_header("Mcp-Session-Id"));
  EXPECT_EQ(metric(client, "graceway_version_headers_tolerated_total"), 1);
}

TEST_F(ModernHttpTest, ALegacySessionRequestUnderAModernHeaderIsRefusedUnlessLenient) {
  const HeaderList modern_header = {{"MCP-Protocol-Version", kModern}};
  {
    TestServer server;
    auto client = server.client();
    const auto session = client.open_session();
    const auto reply = client.post(McpClient::request(5, "tools/list"), session, modern_header);
    expect_error(reply, 400, -32602, 5);
  }
  auto config = test_config();
  config.lenient_version_header = true;
  TestServer server(config);
  auto client = server.client();
  const auto session = client.open_session();
  const auto reply = client.post(McpClient::request(5, "tools/list"), session, modern_header);
  const auto result = expect_result(reply, 5);
  EXPECT_TRUE(result["tools"].is_array());
  EXPECT_FALSE(result.contains("resultType")) << "served as the session's own (legacy) version";
  EXPECT_EQ(metric(client, "graceway_version_headers_tolerated_total"), 1);
  // Without a live session there is nothing to be lenient for.
  const auto sessionless = client.post(McpClient::request(6, "tools/list"), {}, modern_header);
  expect_error(sessionless, 400, -32602, 6);
}

TEST_F(ModernHttpTest, InitializeUnderAModernHeaderIsAHeaderMismatch) {
  TestServer server;
  auto client = server.client();
  const auto reply = client.post(McpClient::initialize(1), {}, {{"MCP-Protocol-Version", kModern}});
  expect_error(reply, 400, -32020, 1);
  EXPECT_FALSE(reply.has_header("Mcp-Session-Id"));
}

TEST_F(ModernHttpTest, InitializeWithModernMetaIsARemovedMethod) {
  TestServer server;
  auto client = server.client();
  auto message = McpClient::initialize(1);
  message["params"]["_meta"] = modern_meta();
  const auto reply = client.post(message, {}, routing_headers("initialize"));
  expect_error(reply, 404, -32601, 1);
  EXPECT_FALSE(reply.has_header("Mcp-Session-Id"));
}

TEST_F(ModernHttpTest, AnUnknownVersionInHeaderAndBodyListsWhatIsSupported) {
  TestServer server;
  auto client = server.client();
  const auto reply = client.post(modern_request(9, "tools/list", json::object(), json::object(), "v999.0.0"), {},
                                 routing_headers("tools/list", {}, "v999.0.0"));
  const auto error = expect_error(reply, 400, -32022, 9);
  EXPECT_EQ(error["data"], json({{"supported", {kModern}}, {"requested", "v999.0.0"}}));
}

TEST_F(ModernHttpTest, GetAndDeleteUnderAModernHeaderAre405AllowPost) {
  TestServer server;
  auto client = server.client();
  const auto session = client.open_session();
  const auto get = client.get("/mcp", {{"Accept", "text/event-stream"}, {"MCP-Protocol-Version", kModern}});
  EXPECT_EQ(get.status, 405) << get.body;
  EXPECT_EQ(get.header("Allow"), "POST");
  const auto del = client.del(session, {{"MCP-Protocol-Version", kModern}});
  EXPECT_EQ(del.status, 405) << del.body;
  EXPECT_EQ(del.header("Allow"), "POST");
  EXPECT_EQ(server.server().session_state(session), SessionState::open) << "the DELETE did not end the session";
}

TEST_F(ModernHttpTest, ABatchHoldingAModernRequestIsAnInvalidRequest) {
  TestServer server;
  auto client = server.client();
  const json batch = json::array({McpClient::request(1, "ping"), modern_request(2, "tools/list")});
  const auto reply = client.post(batch, {}, {{"MCP-Protocol-Version", kModern}});
  // A batch has no one id to echo: null, as JSON-RPC has it for a request it cannot attribute.
  expect_error(reply, 400, -32600, nullptr);
}

TEST_F(ModernHttpTest, AModernNotificationIsAcceptedWithNoBody) {
  TestServer server;
  auto client = server.client();
  auto note = McpClient::notification("notifications/cancelled", {{"requestId", 1}, {"_meta", modern_meta()}});
  const auto reply = client.post(note, {}, routing_headers("notifications/cancelled"));
  EXPECT_EQ(reply.status, 202) << reply.body;
  EXPECT_TRUE(reply.body.empty()) << reply.body;
  EXPECT_FALSE(reply.has_header("Mcp-Session-Id"));
}

TEST_F(ModernHttpTest, WithoutTheModernEraAModernRequestLearnsTheLegacyVersions) {
  auto config = test_config();
  config.serve_modern = false;
  TestServer server(config);
  auto client = server.client();
  const auto reply = post_modern(client, modern_request(11, "tools/list"));
  const auto error = expect_error(reply, 400, -32022, 11);
  EXPECT_EQ(error["data"],
            json({{"supported", {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}}, {"requested", kModern}}));
  EXPECT_FALSE(client.open_session().empty()) << "the legacy era is still served";
}

TEST_F(ModernHttpTest, WithoutTheLegacyEraInitializeLearnsTheModernVersionAndGetIs405) {
  auto config = test_config();
  config.serve_legacy = false;
  TestServer server(config);
  auto client = server.client();
  const auto reply = client.post(McpClient::initialize(1));
  const auto error = expect_error(reply, 400, -32022, 1);
  EXPECT_EQ(error["data"], json({{"supported", {kModern}}, {"requested", "2025-11-25"}}));
  EXPECT_FALSE(reply.has_header("Mcp-Session-Id"));
  const auto get = client.get("/mcp", {{"Accept", "text/event-stream"}});
  EXPECT_EQ(get.status, 405) << get.body;
  EXPECT_EQ(get.header("Allow"), "POST");
  expect_result(post_modern(client, modern_request(2, "tools/list")), 2);
}

// ---------------------------------------------------------------------------------------------
// 2. The checks of a modern request, first failure wins

TEST_F(ModernHttpTest, AnIncompleteEnvelopeIsInvalidParams) {
  TestServer server;
  auto client = server.client();
  const auto headers = routing_headers("tools/list");
  // No _meta at all, under a modern header.
  expect_error(client.post(McpClient::request(1, "tools/list"), {}, headers), 400, -32602, 1);
  // _meta without the protocol version.
  expect_error(client.post(McpClient::request(2, "tools/list", {{"_meta", {{kCapabilitiesKey, json::object()}}}}), {},
                           headers),
               400, -32602, 2);
  // The version without clientCapabilities.
  expect_error(client.post(McpClient::request(3, "tools/list", {{"_meta", {{kVersionKey, kModern}}}}), {}, headers), 400,
               -32602, 3);
  // clientCapabilities that is not an object.
  expect_error(
      client.post(McpClient::request(4, "tools/list", {{"_meta", {{kVersionKey, kModern}, {kCapabilitiesKey, "all"}}}}), {},
                  headers),
      400, -32602, 4);
}

TEST_F(ModernHttpTest, AMissingOrDifferentMcpMethodIsAHeaderMismatch) {
  TestServer server;
  auto client = server.client();
  expect_error(client.post(modern_request(1, "tools/list"), {}, {{"MCP-Protocol-Version", kModern}}), 400, -32020, 1);
  expect_error(client.post(modern_request(2, "tools/list"), {}, routing_headers("TOOLS/LIST")), 400, -32020, 2);
  expect_error(client.post(modern_request(3, "tools/list"), {}, routing_headers("tools/call")), 400, -32020, 3);
}

TEST_F(ModernHttpTest, McpNameMayBeBase64EncodedAndMustMatch) {
  TestServer server;
  auto client = server.client();
  const auto call = modern_tool_call(1, "echo", {{"text", "hi"}});
  const auto encoded = client.post(call, {}, routing_headers("tools/call", "=?base64?ZWNobw==?="));
  const auto result = expect_result(encoded, 1);
  EXPECT_EQ(result["content"][0]["text"], "hi");
  EXPECT_EQ(result["resultType"], "complete");
  expect_error(client.post(modern_tool_call(2, "echo", {{"text", "hi"}}), {}, routing_headers("tools/call")), 400, -32020,
               2);
  expect_error(client.post(modern_tool_call(3, "echo", {{"text", "hi"}}), {}, routing_headers("tools/call", "add")), 400,
               -32020, 3);
}

TEST_F(ModernHttpTest, MethodsRemovedIn20260728AreNotFound) {
  TestServer server;
  auto client = server.client();
  int id = 1;
  for (const auto& [method, params] : {std::pair<std::string, json>{"ping", json::object()},
                                       {"logging/setLevel", {{"level", "info"}}},
                                       {"resources/subscribe", {{"uri", "test://static-text"}}}}) {
    const auto reply = post_modern(client, modern_request(id, method, params));
    expect_error(reply, 404, -32601, id);
    ++id;
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Vocabulary: each era its own

TEST_F(ModernHttpTest, ModernResultsCarryTheirVocabularyAndLegacyResultsDoNot) {
  TestServer server;
  auto client = server.client();
  const auto modern = expect_result(post_modern(client, modern_request(1, "tools/list")), 1);
  EXPECT_EQ(modern["resultType"], "complete");
  EXPECT_EQ(modern["ttlMs"], 0);
  EXPECT_EQ(modern["cacheScope"], "public");
  EXPECT_EQ(modern["_meta"][kServerInfoKey], json({{"name", "graceway"}, {"version", "0.1.0"}}));

  const auto session = client.open_session();
  const auto legacy = expect_result(client.post(McpClient::request(2, "tools/list"), session), 2);
  EXPECT_EQ(legacy["tools"], modern["tools"]) << "one tool set for both eras";
  for (const auto* key : {"resultType", "ttlMs", "cacheScope"}) EXPECT_FALSE(legacy.contains(key)) << key;
  if (legacy.contains("_meta")) {
    EXPECT_FALSE(legacy["_meta"].contains(kServerInfoKey)) << legacy.dump();
  }
}

// ---------------------------------------------------------------------------------------------
// 4. Multi round-trip requests

// Tools that ask the user one question, under the key "confirm", and report the answer.
void add_asking_tools(Catalog& catalog) {
  for (const auto* name : {"confirm_delete", "confirm_other"}) {
    ToolDefinition definition;
    definition.name = name;
    definition.description = "Asks the user to confirm, then says what they answered.";
    catalog.tools.add(definition, [](ToolContext& ctx) {
      const auto reply = ctx.ask_client("elicitation/create",
                                        {{"mode", "form"},
                                         {"message", "Delete it?"},
                                         {"requestedSchema", {{"type", "object"}, {"properties", json::object()}}}},
                                        std::chrono::milliseconds::zero(), "confirm");
      if (reply.status == ClientReply::Status::input_required) return ToolResult::text("replaced by the question");
      if (!reply.ok()) return ToolResult::error("not answered: " + reply.detail);
      return ToolResult::text("answered: " + reply.value.value("action", std::string("?")));
    });
  }
}

const json kElicitation = {{"elicitation", json::object()}};
const json kQuestion = {{"method", "elicitation/create"},
                        {"params",
                         {{"mode", "form"},
                          {"message", "Delete it?"},
                          {"requestedSchema", {{"type", "object"}, {"properties", json::object()}}}}}};

json retry(json id, const std::string& tool, const json& state, json responses = nullptr) {
  auto call = modern_tool_call(std::move(id), tool, json::object(), kElicitation);
  call["params"]["requestState"] = state;
  if (!responses.is_null()) call["params"]["inputResponses"] = std::move(responses);
  return call;
}

TEST_F(ModernHttpTest, AQuestionGoesOutInAnInputRequiredResultAndTheRetryCompletes) {
  TestServer server(test_config(), add_asking_tools);
  auto client = server.client();
  const auto first = expect_result(post_modern(client, modern_tool_call(1, "confirm_delete", json::object(), kElicitation)), 1);
  EXPECT_EQ(first["resultType"], "input_required");
  EXPECT_EQ(first["inputRequests"], json({{"confirm", kQuestion}}));
  ASSERT_TRUE(first["requestState"].is_string()) << first.dump();
  EXPECT_FALSE(first.contains("content")) << "the handler's own result is replaced";
  EXPECT_EQ(metric(client, "graceway_input_required_results_total"), 1);

  const auto second = expect_result(
      post_modern(client, retry(2, "confirm_delete", first["requestState"], {{"confirm", {{"action", "accept"}}}})), 2);
  EXPECT_EQ(second["resultType"], "complete");
  EXPECT_EQ(second["content"][0]["text"], "answered: accept");
  EXPECT_EQ(second["_meta"][kServerInfoKey]["name"], "graceway");
}

TEST_F(ModernHttpTest, AModifiedRequestStateIsInvalidParams) {
  TestServer server(test_config(), add_asking_tools);
  auto client = server.client();
  const auto first = expect_result(post_modern(client, modern_tool_call(1, "confirm_delete", json::object(), kElicitation)), 1);
  auto state = first["requestState"].get<std::string>();
  ASSERT_GT(state.size(), 4U);
  state[2] = state[2] == 'A' ? 'B' : 'A';  // inside the payload: the MAC no longer covers it
  const auto reply = post_modern(client, retry(2, "confirm_delete", state, {{"confirm", {{"action", "accept"}}}}));
  expect_error(reply, 200, -32602, 2);
}

TEST_F(ModernHttpTest, ARequestStateReplayedIntoAnotherToolIsInvalidParams) {
  TestServer server(test_config(), add_asking_tools);
  auto client = server.client();
  const auto first = expect_result(post_modern(client, modern_tool_call(1, "confirm_delete", json::object(), kElicitation)), 1);
  const auto reply =
      post_modern(client, retry(2, "confirm_other", first["requestState"], {{"confirm", {{"action", "accept"}}}}));
  expect_error(reply, 200, -32602, 2);
}

TEST_F(ModernHttpTest, AnExpiredRequestStateIsInvalidParams) {
  // The requestState's expiry is measured on the server's clock: a ManualClock moves it past the
  // TTL at once.
  auto config = test_config();
  config.request_state_ttl = std::chrono::minutes(10);
  ManualClock clock;
  TestServer server(config, add_asking_tools, {}, [&clock](Server::Options& options) { options.clock = &clock; });
  auto client = server.client();
  const auto first = expect_result(post_modern(client, modern_tool_call(1, "confirm_delete", json::object(), kElicitation)), 1);
  ASSERT_EQ(first["resultType"], "input_required");
  clock.advance(config.request_state_ttl);  // expired from its expiry instant on
  const auto reply = post_modern(client, retry(2, "confirm_delete", first["requestState"], {{"confirm", {{"action", "accept"}}}}));
  const auto error = expect_error(reply, 200, -32602, 2);
  EXPECT_NE(error.value("message", std::string()).find("expired"), std::string::npos) << error.dump();
}

TEST_F(ModernHttpTest, TheSameToolInALegacySessionSendsARealElicitation) {
  TestServer server(test_config(), add_asking_tools);
  auto client = server.client();
  const auto session = client.open_session("2025-11-25", kElicitation);
  auto call = server.start_call(session, McpClient::tool_call(1, "confirm_delete", json::object()));
  const auto asked = call->next_message();
  ASSERT_TRUE(asked);
  EXPECT_EQ((*asked)["method"], "elicitation/create");
  EXPECT_EQ((*asked)["params"], kQuestion["params"]);
  ASSERT_TRUE((*asked)["id"].is_number_integer());
  const json answer = {{"jsonrpc", "2.0"}, {"id", (*asked)["id"]}, {"result", {{"action", "decline"}}}};
  EXPECT_EQ(client.post(answer, session).status, 202);
  const auto result = read_response(*call, 1);
  ASSERT_TRUE(result.is_object());
  EXPECT_EQ(result["result"]["content"][0]["text"], "answered: decline");
  EXPECT_FALSE(result["result"].contains("resultType"));
  EXPECT_EQ(metric(client, "graceway_input_required_results_total"), 0);
}

// ---------------------------------------------------------------------------------------------
// 5. The capability gate

TEST_F(ModernHttpTest, AToolThatNeedsACapabilityTheRequestLacksNeverRuns) {
  auto ran = std::make_shared<std::atomic<int>>(0);
  TestServer server(test_config(), [ran](Catalog& catalog) {
    ToolDefinition definition;
    definition.name = "needs_sampling";
    definition.description = "Cannot work without sampling.";
    definition.required_client_capabilities = {"sampling"};
    catalog.tools.add(definition, [ran](ToolContext&) {
      ++*ran;
      return ToolResult::text("ran");
    });
  });
  auto client = server.client();
  const auto refused = post_modern(client, modern_tool_call(1, "needs_sampling", json::object(), kElicitation));
  const auto error = expect_error(refused, 400, -32021, 1);
  EXPECT_EQ(error["data"], json({{"requiredCapabilities", {{"sampling", json::object()}}}}));
  EXPECT_EQ(ran->load(), 0) << "refused before the handler";

  const auto served = post_modern(client, modern_tool_call(2, "needs_sampling", json::object(), {{"sampling", json::object()}}));
  EXPECT_EQ(expect_result(served, 2)["content"][0]["text"], "ran");
  EXPECT_EQ(ran->load(), 1);
}

// ---------------------------------------------------------------------------------------------
// 6. Cancellation: closing the response stream

TEST_F(ModernHttpTest, AClientThatClosesTheConnectionCancelsTheCall) {
  TestServer server;
  auto client = server.client();
  EXPECT_EQ(metric(client, "graceway_stateless_requests_cancelled_total"), 0);
  auto call = send_modern(server, modern_tool_call(1, "gate", {{"name", "m"}}));
  ASSERT_TRUE(server.gates().wait_entered("m"));
  EXPECT_EQ(metric(client, "graceway_stateless_requests_in_flight"), 1);
  call->close();
  EXPECT_TRUE(server.gates().wait_stop_requested("m")) << "the tool's stop token fired";
  EXPECT_EQ(server.gates().wait_exited("m"), GateBoard::Outcome::cancelled);
  EXPECT_EQ(metric(client, "graceway_stateless_requests_cancelled_total"), 1);
}

// ---------------------------------------------------------------------------------------------
// 7. The lazy answer: the head waits for the first thing the call writes

TEST_F(ModernHttpTest, ACallThatWaitsThenAnswersIsOneJsonBody) {
  TestServer server;
  auto call = send_modern(server, modern_tool_call(1, "gate", {{"name", "j"}}));
  ASSERT_TRUE(server.gates().wait_entered("j"));
  server.gates().release("j");
  ASSERT_EQ(call->read_head(), 200);
  EXPECT_EQ(call->header("Content-Type"), "application/json");
  EXPECT_FALSE(call->has_header("Transfer-Encoding"));
  ASSERT_TRUE(call->read_to_end(10s));
  EXPECT_EQ(call->header("Content-Length"), std::to_string(call->body_so_far().size()));
  const auto body = json::parse(call->body_so_far());
  EXPECT_EQ(body["id"], 1);
  EXPECT_EQ(body["result"]["content"][0]["text"], "released j");
  EXPECT_EQ(body["result"]["resultType"], "complete");
}

TEST_F(ModernHttpTest, ACallThatReportsProgressIsAnEventStream) {
  TestServer server;
  auto message = modern_tool_call(1, "test_tool_with_progress", json::object());
  message["params"]["_meta"]["progressToken"] = "p-1";
  auto call = send_modern(server, message);
  ASSERT_EQ(call->read_head(), 200);
  EXPECT_EQ(call->header("Content-Type"), "text/event-stream");
  const auto messages = call->read_all();
  ASSERT_EQ(messages.size(), 4U);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(messages[i]["method"], "notifications/progress");
    EXPECT_EQ(messages[i]["params"]["progressToken"], "p-1");
  }
  EXPECT_EQ(messages[3]["id"], 1);
  EXPECT_EQ(messages[3]["result"]["content"][0]["text"], "Tool with progress executed successfully");
}

TEST_F(ModernHttpTest, AnErrorFoundWhileServingKeepsItsStatus) {
  // No tool can answer a JSON-RPC error itself; the dispatcher's own errors, found after the
  // request was admitted, travel the same lazy path. In-band codes answer 200.
  TestServer server;
  auto client = server.client();
  const auto unknown_tool = post_modern(client, modern_tool_call(1, "no_such_tool", json::object()));
  expect_error(unknown_tool, 200, -32602, 1);
  const auto unknown_resource =
      post_modern(client, modern_request(2, "resources/read", {{"uri", "test://no-such-resource"}}));
  const auto error = expect_error(unknown_resource, 200, -32602, 2);
  EXPECT_EQ(error["data"]["uri"], "test://no-such-resource");
}

// ---------------------------------------------------------------------------------------------
// 8. Shutdown

TEST_F(ModernHttpTest, ShutdownRefusesNewModernRequestsAndLetsInFlightOnesFinish) {
  TestServer server;
  auto client = server.client();
  auto call = send_modern(server, modern_tool_call(1, "gate", {{"name", "s"}}));
  ASSERT_TRUE(server.gates().wait_entered("s"));
  server.server().shutdown();
  auto waiter = std::async(std::launch::async, [&] { return server.server().wait(); });

  const auto late = post_modern(client, modern_request(2, "tools/list"));
  expect_error(late, 503, -32000, 2);
  ASSERT_TRUE(late.has_header("Retry-After"));
  EXPECT_GE(std::stoi(late.header("Retry-After")), 1);
  EXPECT_EQ(client.get("/readyz").status, 503);

  server.gates().release("s");
  ASSERT_EQ(call->read_head(), 200);
  ASSERT_TRUE(call->read_to_end(10s));
  const auto body = json::parse(call->body_so_far());
  EXPECT_EQ(body["id"], 1);
  EXPECT_EQ(body["result"]["content"][0]["text"], "released s");
  EXPECT_EQ(waiter.get(), 0);
}

TEST_F(ModernHttpTest, ACallStillRunningAtTheShutdownDeadlineIsStopped) {
  auto config = test_config();
  config.shutdown_timeout = 300ms;
  TestServer server(config);
  auto call = send_modern(server, modern_tool_call(1, "gate", {{"name", "d"}}));
  ASSERT_TRUE(server.gates().wait_entered("d"));
  const auto started = std::chrono::steady_clock::now();
  server.server().shutdown();
  auto waiter = std::async(std::launch::async, [&] { return server.server().wait(); });
  EXPECT_TRUE(server.gates().wait_stop_requested("d")) << "the deadline fired the call's stop token";
  EXPECT_EQ(server.gates().wait_exited("d"), GateBoard::Outcome::cancelled);
  ASSERT_EQ(waiter.wait_for(10s), std::future_status::ready) << "wait() is bounded by the deadline";
  EXPECT_EQ(waiter.get(), 0);
  // The deadline (300 ms), the write timeout for final answers and a second for handlers.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 8s);
}

TEST_F(ModernHttpTest, ACallStoppedAtTheShutdownDeadlineIsAnsweredWithAnErrorWithItsId) {
  // stubborn_gate ignores its stop token, so the deadline's answer is the only one the call can
  // get: nothing the tool returns can race it.
  auto config = test_config();
  config.shutdown_timeout = 300ms;
  TestServer server(config);
  auto call = send_modern(server, modern_tool_call(1, "stubborn_gate", {{"name", "d"}}));
  ASSERT_TRUE(server.gates().wait_entered("d"));
  server.server().shutdown();
  auto waiter = std::async(std::launch::async, [&] { return server.server().wait(); });
  EXPECT_TRUE(server.gates().wait_stop_requested("d"));
  // No head was written before the deadline: the lazy answer can still be one JSON body, and a
  // stateless client has no stream to resume, so this is the only way it learns the call ended.
  const auto status = call->read_head(10s);
  EXPECT_EQ(status, 200) << "the connection ended with no HTTP response at all";
  if (status != 0) {
    EXPECT_EQ(call->header("Content-Type"), "application/json");
    ASSERT_TRUE(call->read_to_end(10s));
    const auto body = json::parse(call->body_so_far(), nullptr, false);
    EXPECT_EQ(body["id"], 1) << call->body_so_far();
    EXPECT_EQ(body["error"]["code"], -32000) << call->body_so_far();
  }
  server.gates().release("d");
  ASSERT_EQ(waiter.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(waiter.get(), 0);
}

// ---------------------------------------------------------------------------------------------
// 9. subscriptions/listen

class ListenTest : public ModernHttpTest {
protected:
  std::unique_ptr<StreamClient> listen(TestServer& server, const json& id, const json& notifications) {
    auto stream = send_modern(server, modern_request(id, "subscriptions/listen", {{"notifications", notifications}}));
    EXPECT_EQ(stream->read_head(), 200);
    EXPECT_EQ(stream->header("Content-Type"), "text/event-stream");
    return stream;
  }
  static json tag(const json& id) { return {{kSubscriptionKey, id}}; }
};

TEST_F(ListenTest, TheAckComesFirstThenTaggedListChangesUntilShutdownEndsTheStream) {
  std::shared_ptr<ChangeFeed> feed;
  TestServer server(test_config(), [&feed](Catalog& catalog) { feed = catalog.changes; });
  ASSERT_TRUE(feed);
  auto tools = listen(server, "sub-t", {{"toolsListChanged", true}, {"unheardOf", true}});
  auto prompts = listen(server, 42, {{"promptsListChanged", true}});

  const auto tools_ack = tools->next_message();
  ASSERT_TRUE(tools_ack);
  EXPECT_EQ(*tools_ack, json({{"jsonrpc", "2.0"},
                              {"method", "notifications/subscriptions/acknowledged"},
                              {"params", {{"notifications", {{"toolsListChanged", true}}}, {"_meta", tag("sub-t")}}}}));
  const auto prompts_ack = prompts->next_message();
  ASSERT_TRUE(prompts_ack);
  EXPECT_EQ(*prompts_ack, json({{"jsonrpc", "2.0"},
                                {"method", "notifications/subscriptions/acknowledged"},
                                {"params", {{"notifications", {{"promptsListChanged", true}}}, {"_meta", tag(42)}}}}));

  feed->publish(ChangeFeed::List::tools);
  feed->publish(ChangeFeed::List::prompts);
  const auto tools_changed = tools->next_message();
  ASSERT_TRUE(tools_changed);
  EXPECT_EQ(*tools_changed, json({{"jsonrpc", "2.0"},
                                  {"method", "notifications/tools/list_changed"},
                                  {"params", {{"_meta", tag("sub-t")}}}}));
  // The prompts-only stream's next message is the prompts change: the tools change never reached it.
  const auto prompts_changed = prompts->next_message();
  ASSERT_TRUE(prompts_changed);
  EXPECT_EQ(*prompts_changed, json({{"jsonrpc", "2.0"},
                                    {"method", "notifications/prompts/list_changed"},
                                    {"params", {{"_meta", tag(42)}}}}));

  server.server().shutdown();
  const auto tools_end = tools->next_message();
  ASSERT_TRUE(tools_end);
  EXPECT_EQ(*tools_end,
            json({{"jsonrpc", "2.0"}, {"id", "sub-t"}, {"result", {{"resultType", "complete"}, {"_meta", tag("sub-t")}}}}));
  EXPECT_TRUE(tools->read_to_end(10s)) << "the result ends the stream";
  const auto prompts_end = prompts->next_message();
  ASSERT_TRUE(prompts_end);
  EXPECT_EQ(*prompts_end,
            json({{"jsonrpc", "2.0"}, {"id", 42}, {"result", {{"resultType", "complete"}, {"_meta", tag(42)}}}}));
  EXPECT_TRUE(prompts->read_to_end(10s));
  EXPECT_EQ(server.server().wait(), 0);
}

// ---------------------------------------------------------------------------------------------
// 10. Rate limits, per request

TEST_F(ModernHttpTest, EachModernRequestIsChargedToTheRateLimit) {
  TestServer server(test_config(), {}, {}, [](Server::Options& options) { options.rate_limit.rate = "2/min"; });
  auto client = server.client();
  expect_result(post_modern(client, modern_request(1, "tools/list")), 1);
  expect_result(post_modern(client, modern_request(2, "tools/list")), 2);
  const auto third = post_modern(client, modern_request(3, "tools/list"));
  expect_error(third, 429, -32000, 3);
  ASSERT_TRUE(third.has_header("Retry-After"));
  EXPECT_GE(std::stoi(third.header("Retry-After")), 1);
}

TEST_F(ModernHttpTest, ARefusedModernRequestIsNotCharged) {
  TestServer server(test_config(), {}, {}, [](Server::Options& options) { options.rate_limit.rate = "2/min"; });
  auto client = server.client();
  for (int id = 1; id <= 3; ++id) {
    expect_error(client.post(modern_request(id, "tools/list"), {}, routing_headers("TOOLS/LIST")), 400, -32020, id);
  }
  expect_result(post_modern(client, modern_request(4, "tools/list")), 4);
  expect_result(post_modern(client, modern_request(5, "tools/list")), 5);
}

}  // namespace
}  // namespace graceway::test
