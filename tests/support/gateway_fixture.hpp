#pragma once
// What the gateway tests (a stdio child, an upstream Streamable HTTP server) share: a graceway
// Server in gateway mode, its logs (printed when a test fails; an error line fails the test
// unless it is expected), and the moves on server-everything both make.

#include <iostream>
#include <memory>
#include <optional>

#include <gtest/gtest.h>

#include "graceway/server.hpp"
#include "support/log_capture.hpp"
#include "support/mcp_client.hpp"
#include "support/test_server.hpp"

namespace graceway::test {

class GatewayFixture : public ::testing::Test {
protected:
  void TearDown() override {
    server_.reset();
    if (HasFailure()) {
      for (const auto& line : logs_.lines()) std::cerr << "  log: " << line.text << '\n';
    }
    if (errors_expected_) return;
    for (const auto& line : logs_.errors()) ADD_FAILURE() << "error logged: " << line.text;
  }

  // Starts a gateway with `options` (stdio or upstream set) and `config`.
  Server& start_server(const ServerConfig& config, Server::Options options) {
    server_ = std::make_unique<Server>(config, ToolRegistry{}, std::move(options));
    EXPECT_FALSE(server_->start());
    return *server_;
  }

  [[nodiscard]] McpClient client() const { return McpClient(server_->port()); }

  std::unique_ptr<StreamClient> start_call(const std::string& session, const json& message) {
    auto stream = std::make_unique<StreamClient>(server_->port());
    EXPECT_TRUE(stream->post("/mcp", message, session));
    EXPECT_EQ(stream->read_head(), 200);
    return stream;
  }

  // server-everything's slow tool, with progress token "p<id>".
  static json long_call(int id, int seconds, int steps) {
    return McpClient::tool_call(id, "trigger-long-running-operation", {{"duration", seconds}, {"steps", steps}},
                                "p" + std::to_string(id));
  }

  // The client's initialize at 2025-06-18, answered by server-everything behind the gateway (its
  // version and serverInfo, graceway's session id); returns that id, empty on failure.
  std::string expect_everythings_initialize(McpClient& c) {
    const auto reply = c.post(McpClient::initialize(1, "2025-06-18"));
    EXPECT_EQ(reply.status, 200);
    const auto result = reply.response(1)["result"];
    EXPECT_EQ(result["protocolVersion"], "2025-06-18") << "the server behind the gateway negotiated it";
    EXPECT_EQ(result["serverInfo"]["name"], "mcp-servers/everything");
    return reply.header("Mcp-Session-Id");
  }

  // server-everything's trigger-sampling-request on a session that declared sampling: its
  // sampling/createMessage must come on the call's own stream; the client answers it, and the
  // call's result must carry the answer.
  void expect_sampling_answered_on_the_calls_stream(const std::string& session) {
    auto c = client();
    auto call = start_call(session, McpClient::tool_call(11, "trigger-sampling-request", {{"prompt", "hello"}}));
    std::optional<json> request;
    while (auto message = call->next_message()) {
      if (message->value("method", "") == "sampling/createMessage") {
        request = *message;
        break;
      }
    }
    ASSERT_TRUE(request) << "the server's request came on the stream of the call that caused it";
    const json answer = {{"jsonrpc", "2.0"},
                         {"id", (*request)["id"]},
                         {"result", {{"role", "assistant"}, {"content", {{"type", "text"}, {"text", "sampled!"}}}, {"model", "test"}}}};
    EXPECT_EQ(c.post(answer, session).status, 202);
    const auto result = read_response(*call, 11);
    ASSERT_FALSE(result.is_null());
    EXPECT_NE(result.dump().find("sampled!"), std::string::npos) << result.dump();
  }

  LogCapture logs_;
  bool errors_expected_ = false;
  std::unique_ptr<Server> server_;
};

}  // namespace graceway::test
