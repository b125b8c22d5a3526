// The table of server-to-client requests awaiting an answer.

#include <gtest/gtest.h>

#include <thread>

#include "session/client_requests.hpp"

namespace graceway {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(ClientRequestsTest, AnAnswerWakesItsWaiter) {
  ClientRequests table;
  const auto id = table.open();
  std::stop_source stop;
  ClientRequests::Answer got;
  std::jthread answerer([&] { EXPECT_TRUE(table.fulfil(jsonrpc::RequestId{id}, {false, {{"ok", true}}})); });
  EXPECT_EQ(table.wait(id, Clock::now() + 20s, stop.get_token(), got), ClientRequests::Outcome::answered);
  EXPECT_EQ(got.value["ok"], true);
  EXPECT_FALSE(got.is_error);
  EXPECT_EQ(table.waiting(), 0U) << "a finished wait forgets its id";
  EXPECT_FALSE(table.fulfil(jsonrpc::RequestId{id}, {})) << "a second answer finds nobody";
}

TEST(ClientRequestsTest, IdsAreUniqueAndOnlyIntegersMatch) {
  ClientRequests table;
  const auto a = table.open();
  const auto b = table.open();
  EXPECT_NE(a, b);
  EXPECT_FALSE(table.fulfil(jsonrpc::RequestId{std::to_string(a)}, {})) << "we send integer ids; \"1\" is not 1";
  EXPECT_FALSE(table.fulfil(jsonrpc::RequestId{std::int64_t{999}}, {}));
  table.abandon(a);
  EXPECT_FALSE(table.fulfil(jsonrpc::RequestId{a}, {}));
  EXPECT_EQ(table.waiting(), 1U);
}

TEST(ClientRequestsTest, AnAnswerThatArrivedBeforeTheWaitIsKept) {
  ClientRequests table;
  const auto id = table.open();
  EXPECT_TRUE(table.fulfil(jsonrpc::RequestId{id}, {true, {{"code", -1}}}));
  std::stop_source stop;
  ClientRequests::Answer got;
  EXPECT_EQ(table.wait(id, Clock::now(), stop.get_token(), got), ClientRequests::Outcome::answered);
  EXPECT_TRUE(got.is_error);
}

TEST(ClientRequestsTest, TheDeadlineAndTheStopTokenEndTheWait) {
  ClientRequests table;
  std::stop_source never;
  ClientRequests::Answer got;
  EXPECT_EQ(table.wait(table.open(), Clock::now() + 1ms, never.get_token(), got), ClientRequests::Outcome::timed_out);

  std::stop_source stop;
  const auto id = table.open();
  std::jthread stopper([&] { stop.request_stop(); });
  EXPECT_EQ(table.wait(id, Clock::now() + 20s, stop.get_token(), got), ClientRequests::Outcome::stopped);
  EXPECT_EQ(table.waiting(), 0U);
}

}  // namespace
}  // namespace graceway
