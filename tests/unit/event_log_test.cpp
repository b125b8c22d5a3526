// The per-session event log behind GET + Last-Event-ID.

#include <gtest/gtest.h>

#include "session/event_log.hpp"

namespace graceway {
namespace {

TEST(EventIdTest, RoundTripsAndRefusesAnythingElse) {
  EXPECT_EQ(EventId({3, 14}).to_string(), "3-14");
  const auto id = EventId::parse("3-14");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->stream, 3U);
  EXPECT_EQ(id->seq, 14U);
  for (const char* bad : {"", "3", "3-", "-3", "a-1", "1-b", "1-2-3", " 1-2", "1-2 ", "99999999999999999999-1"}) {
    EXPECT_FALSE(EventId::parse(bad)) << bad;
  }
}

TEST(EventLogTest, ReplaysOnlyTheNamedStreamAfterTheCursor) {
  EventLog log(16, 1 << 20);
  const auto a = log.open_stream(EventLog::StreamKind::post);
  const auto b = log.open_stream(EventLog::StreamKind::get);
  EXPECT_NE(a, b);
  log.record({a, 1}, "a1");
  log.record({b, 1}, "b1");
  log.record({a, 2}, "a2");
  log.record({a, 3}, "a3");
  const auto r = log.replay({a, 1});
  EXPECT_TRUE(r.known);
  EXPECT_EQ(r.kind, EventLog::StreamKind::post);
  EXPECT_FALSE(r.ended);
  EXPECT_EQ(r.events, (std::vector<std::string>{"a2", "a3"}));
  EXPECT_EQ(log.replay({b, 0}).events, std::vector<std::string>{"b1"});
  EXPECT_FALSE(log.replay({99, 0}).known);
}

TEST(EventLogTest, EvictsTheOldestAndForgetsEndedStreamsWithNothingLeft) {
  EventLog log(2, 1 << 20);
  const auto a = log.open_stream(EventLog::StreamKind::post);
  const auto b = log.open_stream(EventLog::StreamKind::post);
  log.record({a, 1}, "a1");
  log.end_stream(a);
  EXPECT_TRUE(log.replay({a, 0}).ended);
  log.record({b, 1}, "b1");
  log.record({b, 2}, "b2");  // evicts a1: a is ended and empty, so it is forgotten
  EXPECT_EQ(log.size(), 2U);
  EXPECT_FALSE(log.replay({a, 0}).known);
  EXPECT_EQ(log.replay({b, 0}).events, (std::vector<std::string>{"b1", "b2"}));
  const auto c = log.open_stream(EventLog::StreamKind::get);
  log.end_stream(c);
  EXPECT_FALSE(log.replay({c, 0}).known) << "an ended stream that recorded nothing is forgotten at once";
}

TEST(EventLogTest, TheByteBoundEvictsToo) {
  EventLog log(100, 10);
  const auto a = log.open_stream(EventLog::StreamKind::get);
  log.record({a, 1}, "123456");
  log.record({a, 2}, "7890");
  EXPECT_EQ(log.bytes(), 10U);
  log.record({a, 3}, "x");
  EXPECT_EQ(log.size(), 2U);
  EXPECT_EQ(log.bytes(), 5U);
  EXPECT_EQ(log.replay({a, 0}).events, (std::vector<std::string>{"7890", "x"}));
  log.record({a, 4}, "far too large");
  EXPECT_EQ(log.size(), 0U) << "an event larger than the bound is not kept";
}

TEST(EventLogTest, AStreamDeliveredWholeIsForgotten) {
  EventLog log(16, 1 << 20);
  const auto a = log.open_stream(EventLog::StreamKind::post);
  const auto b = log.open_stream(EventLog::StreamKind::post);
  log.record({a, 1}, "a1");
  log.record({b, 1}, "b1");
  log.record({a, 2}, "a2");
  log.forget_stream(a);
  EXPECT_FALSE(log.replay({a, 0}).known);
  EXPECT_EQ(log.size(), 1U);
  EXPECT_EQ(log.bytes(), 2U);
  EXPECT_EQ(log.replay({b, 0}).events, std::vector<std::string>{"b1"});
}

TEST(EventLogTest, CapacityZeroRecordsNothing) {
  EventLog log(0, 1 << 20);
  const auto a = log.open_stream(EventLog::StreamKind::post);
  log.record({a, 1}, "a1");
  EXPECT_EQ(log.size(), 0U);
}

}  // namespace
}  // namespace graceway
