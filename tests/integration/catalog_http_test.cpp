// Resources, resource templates, subscriptions, prompts, completion and logging over real
// sockets, against the conformance set that TestServer serves.

#include <gtest/gtest.h>

#include "graceway/demo_tools.hpp"
#include "support/log_capture.hpp"
#include "support/mcp_client.hpp"
#include "support/test_server.hpp"

namespace graceway::test {
namespace {

using namespace std::chrono_literals;

class CatalogHttpTest : public ::testing::Test {
protected:
  void SetUp() override {
    session_ = client_.open_session();
    ASSERT_FALSE(session_.empty());
  }
  void TearDown() override { EXPECT_TRUE(logs_.errors().empty()) << logs_.errors().front().text; }

  // One request on the session; its response (result or error).
  json ask(const std::string& method, json params = nullptr) {
    const auto reply = client_.post(McpClient::request(next_id_, method, std::move(params)), session_);
    EXPECT_EQ(reply.status, 200) << method;
    return reply.response(next_id_++);
  }

  LogCapture logs_;
  TestServer server_;
  McpClient client_ = server_.client();
  std::string session_;
  int next_id_ = 10;
};

TEST_F(CatalogHttpTest, InitializeDeclaresWhatTheCatalogHas) {
  const auto reply = client_.post(McpClient::initialize(1));
  const auto caps = reply.response(1)["result"]["capabilities"];
  EXPECT_EQ(caps["resources"], json::parse(R"({"subscribe":true,"listChanged":true})"));
  EXPECT_EQ(caps["prompts"], json::parse(R"({"listChanged":true})"));
  EXPECT_EQ(caps["completions"], json::object());
  EXPECT_EQ(caps["logging"], json::object());
  EXPECT_TRUE(caps.contains("tools"));
}

TEST_F(CatalogHttpTest, ResourcesListAndRead) {
  const auto list = ask("resources/list")["result"]["resources"];
  ASSERT_TRUE(list.is_array());
  ASSERT_GE(list.size(), 2U);
  EXPECT_EQ(list[0], json::parse(R"({"uri":"test://static-text","name":"Static Text Resource",
      "description":"A static text resource for testing","mimeType":"text/plain"})"));

  const auto text = ask("resources/read", {{"uri", "test://static-text"}})["result"]["contents"];
  EXPECT_EQ(text, json::parse(R"([{"uri":"test://static-text","mimeType":"text/plain",
      "text":"This is the content of the static text resource."}])"));
  const auto binary = ask("resources/read", {{"uri", "test://static-binary"}})["result"]["contents"][0];
  EXPECT_EQ(binary["mimeType"], "image/png");
  EXPECT_TRUE(binary["blob"].is_string());
  EXPECT_FALSE(binary.contains("text"));
}

TEST_F(CatalogHttpTest, ATemplateSubstitutesItsVariables) {
  const auto templates = ask("resources/templates/list")["result"]["resourceTemplates"];
  ASSERT_EQ(templates.size(), 1U);
  EXPECT_EQ(templates[0]["uriTemplate"], "test://template/{id}/data");

  const auto content = ask("resources/read", {{"uri", "test://template/123/data"}})["result"]["contents"][0];
  EXPECT_EQ(content["uri"], "test://template/123/data");
  EXPECT_EQ(json::parse(content["text"].get<std::string>()),
            json::parse(R"({"id":"123","templateTest":true,"data":"Data for ID: 123"})"));
}

TEST_F(CatalogHttpTest, BadResourceReadsAreErrorsNamingTheProblem) {
  const auto unknown = ask("resources/read", {{"uri", "test://nothing-here"}});
  EXPECT_EQ(unknown["error"]["code"], -32002) << unknown;
  EXPECT_EQ(unknown["error"]["data"]["uri"], "test://nothing-here");
  const auto not_the_template = ask("resources/read", {{"uri", "test://template/1/2/data"}});
  EXPECT_EQ(not_the_template["error"]["code"], -32002) << "a template variable never spans '/'";
  EXPECT_EQ(ask("resources/read", {{"uri", 7}})["error"]["code"], -32602);
  EXPECT_EQ(ask("resources/read")["error"]["code"], -32602);
  EXPECT_EQ(ask("resources/list", {{"cursor", "abc"}})["error"]["code"], -32602) << "we never hand out cursors";
}

TEST_F(CatalogHttpTest, PromptsListAndGet) {
  const auto prompts = ask("prompts/list")["result"]["prompts"];
  ASSERT_EQ(prompts.size(), 5U);  // four, and the 2026-07-28 fixture that asks the client first
  EXPECT_EQ(prompts[1]["name"], "test_prompt_with_arguments");
  EXPECT_EQ(prompts[1]["arguments"][0], json::parse(R"({"name":"arg1","description":"First test argument","required":true})"));

  const auto got = ask("prompts/get", {{"name", "test_prompt_with_arguments"},
                                       {"arguments", {{"arg1", "hello"}, {"arg2", "world"}}}});
  EXPECT_EQ(got["result"]["messages"], json::parse(R"([{"role":"user","content":{"type":"text",
      "text":"Prompt with arguments: arg1='hello', arg2='world'"}}])"));
  const auto embedded = ask("prompts/get", {{"name", "test_prompt_with_embedded_resource"},
                                            {"arguments", {{"resourceUri", "test://x"}}}});
  EXPECT_EQ(embedded["result"]["messages"][0]["content"]["resource"]["uri"], "test://x");
}

TEST_F(CatalogHttpTest, BadPromptRequestsAreInvalidParams) {
  const auto missing = ask("prompts/get", {{"name", "test_prompt_with_arguments"}, {"arguments", {{"arg1", "a"}}}});
  EXPECT_EQ(missing["error"]["code"], -32602);
  EXPECT_NE(missing["error"]["message"].get<std::string>().find("arg2"), std::string::npos) << missing;
  EXPECT_EQ(ask("prompts/get", {{"name", "no_such_prompt"}})["error"]["code"], -32602);
  EXPECT_EQ(ask("prompts/get", {{"name", "test_prompt_with_arguments"},
                                {"arguments", {{"arg1", 1}, {"arg2", "b"}}}})["error"]["code"],
            -32602)
      << "prompt arguments are strings";
}

TEST_F(CatalogHttpTest, CompletionForPromptArgumentsAndTemplateVariables) {
  const auto prompt = ask("completion/complete", {{"ref", {{"type", "ref/prompt"}, {"name", "test_prompt_with_arguments"}}},
                                                  {"argument", {{"name", "arg1"}, {"value", "pa"}}}});
  EXPECT_EQ(prompt["result"], json::parse(R"({"completion":{"values":["paris","park","party"],"total":3,"hasMore":false}})"));
  const auto variable = ask("completion/complete", {{"ref", {{"type", "ref/resource"}, {"uri", "test://template/{id}/data"}}},
                                                    {"argument", {{"name", "id"}, {"value", "4"}}}});
  EXPECT_EQ(variable["result"]["completion"]["values"], json::parse(R"(["42"])"));
  const auto none = ask("completion/complete", {{"ref", {{"type", "ref/prompt"}, {"name", "test_simple_prompt"}}},
                                                {"argument", {{"name", "x"}, {"value", ""}}}});
  EXPECT_EQ(none["result"]["completion"]["values"], json::array()) << "a prompt without a completer offers nothing";
  EXPECT_EQ(ask("completion/complete", {{"ref", {{"type", "ref/prompt"}, {"name", "nope"}}},
                                        {"argument", {{"name", "x"}, {"value", ""}}}})["error"]["code"],
            -32602);
  EXPECT_EQ(ask("completion/complete", {{"ref", {{"type", "ref/other"}}}, {"argument", {{"name", "x"}, {"value", ""}}}})
                ["error"]["code"],
            -32602);
}

// The messages of type notifications/message in a reply, in order.
std::vector<json> log_messages(const Reply& reply) {
  std::vector<json> out;
  for (const auto& m : reply.messages) {
    if (m.value("method", "") == "notifications/message") out.push_back(m["params"]);
  }
  return out;
}

TEST_F(CatalogHttpTest, ToolLogsFollowTheClientsLevel) {
  auto call = [&](int id) { return client_.post(McpClient::tool_call(id, "test_tool_with_logging", json::object()), session_); };
  const auto all = call(20);
  const auto messages = log_messages(all);
  ASSERT_EQ(messages.size(), 3U) << "every level passes until the client sets one";
  EXPECT_EQ(messages[0], json::parse(R"({"level":"info","logger":"conformance","data":"Tool execution started"})"));
  EXPECT_FALSE(all.response(20)["result"].contains("isError"));

  EXPECT_EQ(ask("logging/setLevel", {{"level", "warning"}})["result"], json::object());
  EXPECT_TRUE(log_messages(call(21)).empty()) << "info is below warning";
  EXPECT_EQ(ask("logging/setLevel", {{"level", "debug"}})["result"], json::object());
  EXPECT_EQ(log_messages(call(22)).size(), 3U);
  EXPECT_EQ(ask("logging/setLevel", {{"level", "loud"}})["error"]["code"], -32602);
}

TEST_F(CatalogHttpTest, UpdatesReachOnlySubscribedSessions) {
  const std::string uri = "test://watched-resource";
  const auto other = client_.open_session();
  auto subscribed_stream = server_.open_get_stream(session_);
  auto other_stream = server_.open_get_stream(other);
  EXPECT_EQ(ask("resources/subscribe", {{"uri", uri}})["result"], json::object());

  EXPECT_EQ(server_.server().resource_updated(uri), 1U);
  const auto update = subscribed_stream->next_message();
  ASSERT_TRUE(update);
  EXPECT_EQ(*update, json::parse(R"({"jsonrpc":"2.0","method":"notifications/resources/updated",
      "params":{"uri":"test://watched-resource"}})"));
  EXPECT_EQ(server_.server().resource_updated("test://static-text"), 0U) << "only the subscribed URI";

  EXPECT_EQ(ask("resources/unsubscribe", {{"uri", uri}})["result"], json::object());
  EXPECT_EQ(server_.server().resource_updated(uri), 0U);
  EXPECT_EQ(ask("resources/subscribe", {{"uri", 3}})["error"]["code"], -32602);
}

TEST(CatalogAbsentTest, AServerWithoutResourcesOrPromptsSaysMethodNotFound) {
  LogCapture logs;
  auto config = test_config();
  ToolRegistry tools;
  add_demo_tools(tools);
  Server server(config, std::move(tools));
  ASSERT_FALSE(server.start());
  McpClient client(server.port());
  const auto init = client.post(McpClient::initialize(1));
  const auto caps = init.response(1)["result"]["capabilities"];
  EXPECT_FALSE(caps.contains("resources"));
  EXPECT_FALSE(caps.contains("prompts"));
  EXPECT_FALSE(caps.contains("completions"));
  const auto session = client.open_session();
  for (const char* method : {"resources/list", "resources/read", "prompts/list", "prompts/get", "completion/complete"}) {
    const auto reply = client.post(McpClient::request(2, method, json::object()), session);
    EXPECT_EQ(reply.response(2)["error"]["code"], -32601) << method;
  }
  server.shutdown();
  EXPECT_EQ(server.wait(), 0);
}

}  // namespace
}  // namespace graceway::test
