// The process contract (design.md section 3), in process: Server::shutdown() then wait().

#include <gtest/gtest.h>

#include <future>

#include "support/log_capture.hpp"
#include "support/mcp_client.hpp"
#include "support/test_server.hpp"

namespace graceway::test {
namespace {

using namespace std::chrono_literals;

TEST(ShutdownTest, InFlightWorkFinishesThenWaitReturnsZero) {
  LogCapture logs;
  TestServer server;
  auto client = server.client();
  const auto session = client.open_session();
  auto call = server.start_gate(session, "g", 1);
  const auto idle = client.open_session();

  server.server().shutdown();
  EXPECT_FALSE(server.server().ready());
  auto waiter = std::async(std::launch::async, [&] { return server.server().wait(); });

  EXPECT_EQ(client.get("/readyz").status, 503);
  EXPECT_EQ(client.get("/healthz").status, 200) << "liveness stays up";
  const auto late = client.post(McpClient::initialize(2));
  EXPECT_EQ(late.status, 503);
  EXPECT_GE(std::stoi(late.header("Retry-After")), 1);
  EXPECT_EQ(client.post(McpClient::request(3, "ping"), session).status, 503);
  EXPECT_EQ(client.post(McpClient::request(4, "ping"), idle).status, 404) << "an idle session closes at once";
  EXPECT_TRUE(logs.wait_for("open -> draining (shutdown)"));
  EXPECT_TRUE(logs.wait_for("open -> closed (shutdown)"));

  server.gates().release("g");
  const auto messages = call->read_all();
  ASSERT_EQ(messages.size(), 1U);
  EXPECT_EQ(messages[0]["result"]["content"][0]["text"], "released g");
  EXPECT_EQ(waiter.get(), 0);
  EXPECT_TRUE(logs.wait_for("draining -> closed (drained)"));
  EXPECT_TRUE(logs.wait_for("shutdown complete"));
  EXPECT_TRUE(logs.errors().empty());
}

TEST(ShutdownTest, TheShutdownTimeoutCapsStubbornWork) {
  LogCapture logs;
  auto config = test_config();
  config.shutdown_timeout = 300ms;
  TestServer server(config);
  auto client = server.client();
  const auto session = client.open_session();
  auto call = server.start_gate(session, "s", 1, "stubborn_gate");

  server.server().shutdown();
  auto waiter = std::async(std::launch::async, [&] { return server.server().wait(); });
  const auto messages = call->read_all();
  ASSERT_EQ(messages.size(), 1U);
  EXPECT_EQ(messages[0]["error"]["code"], -32000);
  EXPECT_TRUE(logs.wait_for("draining -> closed (deadline)"));
  // The tool ignores cancellation; wait() waits for it, and returns once it is released.
  EXPECT_TRUE(logs.wait_for("tool handlers are still running"));
  server.gates().release("s");
  EXPECT_EQ(waiter.get(), 0);
  EXPECT_TRUE(logs.errors().empty());
}

TEST(ShutdownTest, OpenGetStreamsEndAndTheProcessDrains) {
  LogCapture logs;
  TestServer server;
  auto client = server.client();
  const auto session = client.open_session();
  auto get = server.open_get_stream(session);
  server.server().shutdown();
  EXPECT_TRUE(get->read_all().empty());
  EXPECT_TRUE(get->ended());
  EXPECT_EQ(server.server().wait(), 0);
  EXPECT_EQ(server.server().metrics().streams_open.load(), 0);
}

}  // namespace
}  // namespace graceway::test
