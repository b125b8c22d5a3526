// Where tools/call handlers run: on the tool pool by default, on the caller's thread when the tool
// is registered as ToolExecution::inline_nonblocking.

#include "mcp/protocol.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "graceway/clock.hpp"
#include "graceway/metrics.hpp"
#include "runtime/tool_pool.hpp"
#include "transport/reply_stream.hpp"

namespace graceway {
namespace {

using namespace std::chrono_literals;

class DispatcherTest : public ::testing::Test {
protected:
  DispatcherTest() {
    env_.clock = &clock_;
    env_.metrics = &metrics_;
    env_.schedule = [](Clock::time_point, std::function<void()>) {};
    env_.forget = [](const std::string&) {};
    catalog_.tools.add(definition("inline_tool"), [this](ToolContext&) {
      inline_thread_ = std::this_thread::get_id();
      return ToolResult::text("inline");
    }, ToolExecution::inline_nonblocking);
    catalog_.tools.add(definition("pooled_tool"), [this](ToolContext&) {
      pooled_thread_.set_value(std::this_thread::get_id());
      return ToolResult::text("pooled");
    });
  }

  static ToolDefinition definition(std::string name) {
    ToolDefinition d;
    d.name = std::move(name);
    return d;
  }

  // Calls `tool` as request 1 on a fresh session; the stream its answer goes to.
  std::shared_ptr<ReplyStream> call(const std::string& tool) {
    auto session = std::make_shared<Session>("s1", "2025-11-25", env_);
    auto stream = std::make_shared<ReplyStream>(ReplyStream::Format::json, false, 16, metrics_);
    const jsonrpc::RequestId id{1};
    stream->expect(jsonrpc::key_of(id));
    std::stop_source stop;
    auto begin = session->begin_request({id, stop, stream});
    EXPECT_EQ(begin.result, Session::BeginResult::admitted);
    jsonrpc::Message request;
    request.kind = jsonrpc::Kind::request;
    request.id = id;
    request.method = "tools/call";
    request.params = {{"name", tool}, {"arguments", nlohmann::json::object()}};
    dispatcher_.handle_request(session, request, stream, std::move(begin.guard), stop.get_token());
    return stream;
  }

  ManualClock clock_;
  Metrics metrics_;
  SessionEnvironment env_;
  Catalog catalog_;
  ToolPool pool_{1};
  mcp::Dispatcher dispatcher_{catalog_, pool_, metrics_};
  std::thread::id inline_thread_;
  std::promise<std::thread::id> pooled_thread_;
};

TEST_F(DispatcherTest, AnInlineToolRunsOnTheCallersThreadAndIsAnsweredOnReturn) {
  auto stream = call("inline_tool");
  EXPECT_EQ(inline_thread_, std::this_thread::get_id());
  ASSERT_TRUE(stream->finished()) << "the answer is complete when handle_request returns";
  const auto body = nlohmann::json::parse(stream->take_body());
  EXPECT_EQ(body["result"]["content"][0]["text"], "inline");
  EXPECT_EQ(metrics_.requests_in_flight.load(), 0) << "the in-flight guard is released";
}

TEST_F(DispatcherTest, APooledToolRunsOnAToolThread) {
  auto ran_on = pooled_thread_.get_future();
  auto stream = call("pooled_tool");
  EXPECT_NE(ran_on.get(), std::this_thread::get_id());
  ASSERT_TRUE(pool_.wait_idle(std::chrono::steady_clock::now() + 10s));
  ASSERT_TRUE(stream->finished());
  const auto body = nlohmann::json::parse(stream->take_body());
  EXPECT_EQ(body["result"]["content"][0]["text"], "pooled");
}

}  // namespace
}  // namespace graceway
