#include "session/session_registry.hpp"

#include <gtest/gtest.h>

#include "graceway/clock.hpp"
#include "transport/reply_stream.hpp"

namespace graceway {
namespace {

using namespace std::chrono_literals;

class RegistryTest : public ::testing::Test {
protected:
  SessionEnvironment env() {
    SessionEnvironment e;
    e.clock = &clock_;
    e.metrics = &metrics_;
    return e;
  }
  ManualClock clock_;
  Metrics metrics_;
  SequentialSessionIds ids_{"s"};
};

TEST_F(RegistryTest, ClosedSessionsBecomeTombstonesThenAreForgotten) {
  SessionRegistry registry(env(), ids_, 10, 2);
  auto a = registry.create("2025-11-25");
  auto b = registry.create("2025-11-25");
  auto c = registry.create("2025-11-25");
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(registry.find(a->id()).lookup, SessionRegistry::Lookup::live);
  EXPECT_EQ(registry.find("nope").lookup, SessionRegistry::Lookup::unknown);

  a->begin_drain(EndReason::remote_delete, 1s);
  EXPECT_EQ(registry.find(a->id()).lookup, SessionRegistry::Lookup::closed);
  b->begin_drain(EndReason::remote_delete, 1s);
  c->begin_drain(EndReason::remote_delete, 1s);
  EXPECT_EQ(registry.find(a->id()).lookup, SessionRegistry::Lookup::unknown) << "only two tombstones are kept";
  EXPECT_EQ(registry.find(c->id()).lookup, SessionRegistry::Lookup::closed);
  EXPECT_EQ(registry.live(), 0U);
}

TEST_F(RegistryTest, OnlyOpenSessionsCountAgainstTheLimit) {
  SessionRegistry registry(env(), ids_, 1, 10);
  auto first = registry.create("2025-11-25");
  ASSERT_TRUE(first);
  EXPECT_FALSE(registry.create("2025-11-25")) << "at --max-sessions";

  auto stream = std::make_shared<ReplyStream>(ReplyStream::Format::sse, false, 4, metrics_);
  stream->expect("i:1");
  auto begin = first->begin_request({jsonrpc::RequestId{std::int64_t{1}}, {}, stream});
  first->begin_drain(EndReason::remote_delete, 30s);
  ASSERT_EQ(first->state(), SessionState::draining);
  EXPECT_TRUE(registry.create("2025-11-25")) << "a draining session does not hold a slot";
}

TEST_F(RegistryTest, ClosingAdmissionsRefusesNewSessionsAndSnapshotsTheRest) {
  SessionRegistry registry(env(), ids_, 10, 10);
  auto a = registry.create("2025-11-25");
  const auto snapshot = registry.close_admissions();
  EXPECT_EQ(snapshot.size(), 1U);
  EXPECT_TRUE(registry.admissions_closed());
  EXPECT_FALSE(registry.create("2025-11-25"));
  a->begin_drain(EndReason::shutdown, 1s);
  EXPECT_TRUE(registry.wait_empty(std::chrono::steady_clock::now()));
}

TEST(SessionIdTest, RandomIdsAre128BitVisibleAscii) {
  RandomSessionIds ids;
  const auto a = ids.next();
  const auto b = ids.next();
  EXPECT_EQ(a.size(), 32U);
  EXPECT_NE(a, b);
  for (char c : a) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
}

}  // namespace
}  // namespace graceway
