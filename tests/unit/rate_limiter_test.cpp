// The per-key token buckets behind 429: bursts, refills, refusals that are never charged, and a
// table that stays bounded under a flood of distinct keys. Time is a ManualClock; nothing sleeps.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "graceway/clock.hpp"
#include "security/rate_limiter.hpp"

namespace graceway::security {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

Rate rate_of(std::string_view text) {
  std::string error;
  const auto rate = parse_rate(text, error);
  EXPECT_TRUE(rate) << text << ": " << error;
  return rate.value_or(Rate{});
}

TEST(ParseRateTest, ReadsTheThreeUnits) {
  std::string error;
  const auto per_second = parse_rate("10/s", error);
  ASSERT_TRUE(per_second) << error;
  EXPECT_DOUBLE_EQ(per_second->per_second, 10);
  EXPECT_EQ(per_second->burst, 10U);

  const auto per_minute = parse_rate("600/min", error);
  ASSERT_TRUE(per_minute) << error;
  EXPECT_DOUBLE_EQ(per_minute->per_second, 10);
  EXPECT_EQ(per_minute->burst, 600U);

  const auto per_hour = parse_rate("3600/h", error);
  ASSERT_TRUE(per_hour) << error;
  EXPECT_DOUBLE_EQ(per_hour->per_second, 1);
  EXPECT_EQ(per_hour->burst, 3600U);

  // slowapi's spelling, as in the documented --rate-limit "120/minute".
  const auto spelled = parse_rate("120/minute", error);
  ASSERT_TRUE(spelled) << error;
  EXPECT_DOUBLE_EQ(spelled->per_second, 2);
  EXPECT_EQ(spelled->burst, 120U);
}

TEST(ParseRateTest, RefusesAnythingElseWithOneLine) {
  for (const char* bad : {"", "10", "/s", "10/", "0/s", "-1/s", "+1/s", "1.5/s", "10/sec ", " 10/s", "10 /s",
                          "10/ s", "10/d", "10/S", "10/m", "10/s/s", "abc/s", "1e3/s", "99999999999999999999999/s",
                          "1000000001/s"}) {
    std::string error;
    EXPECT_FALSE(parse_rate(bad, error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
    EXPECT_EQ(error.find('\n'), std::string::npos) << bad;
  }
  std::string error;
  EXPECT_FALSE(parse_rate("ten/min", error));
  EXPECT_NE(error.find("N/min"), std::string::npos) << error;
  EXPECT_TRUE(parse_rate("1000000000/s", error));
}

TEST(ParseRateTest, PrintsTheUnitAsWritten) {
  EXPECT_EQ(to_string(rate_of("600/min")), "600/min, burst 600");
  EXPECT_EQ(to_string(rate_of("120/minute")), "120/min, burst 120");
  EXPECT_EQ(to_string(rate_of("5/h")), "5/h, burst 5");
  EXPECT_EQ(to_string(Rate{2.5, 7}), "2.5/s, burst 7");
}

TEST(RateLimiterTest, BurstThenRefusalWithRetryAfter) {
  ManualClock clock;
  RateLimiter limiter(rate_of("6/min"), clock);  // one token every 10 s, 6 at once
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(limiter.take("a").admitted) << i;
  const auto refused = limiter.take("a");
  EXPECT_FALSE(refused.admitted);
  EXPECT_EQ(refused.retry_after, seconds(10));
  EXPECT_EQ(limiter.refusals(), 1U);

  clock.advance(seconds(5));  // half a token
  const auto later = limiter.take("a");
  EXPECT_FALSE(later.admitted);
  EXPECT_EQ(later.retry_after, seconds(5));

  clock.advance(milliseconds(4500));  // 0.95 of a token: still rounds up to a whole second
  const auto almost = limiter.take("a");
  EXPECT_FALSE(almost.admitted);
  EXPECT_EQ(almost.retry_after, seconds(1));
}

TEST(RateLimiterTest, AdmittedVerdictsCarryNoRetryAfter) {
  ManualClock clock;
  RateLimiter limiter(rate_of("10/s"), clock);
  const auto verdict = limiter.take("a");
  EXPECT_TRUE(verdict.admitted);
  EXPECT_EQ(verdict.retry_after, seconds(0));
}

TEST(RateLimiterTest, RefusalsAreNeverCharged) {
  ManualClock clock;
  RateLimiter limiter(rate_of("6/min"), clock);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(limiter.take("a").admitted);
  const auto first = limiter.take("a");
  ASSERT_FALSE(first.admitted);
  ASSERT_EQ(first.retry_after, seconds(10));

  // Hammering while refused: every answer points at the same instant, never later.
  for (int second = 0; second < 10; ++second) {
    for (int i = 0; i < 100; ++i) {
      const auto verdict = limiter.take("a");
      ASSERT_FALSE(verdict.admitted);
      ASSERT_EQ(verdict.retry_after, seconds(10 - second)) << second;
    }
    clock.advance(seconds(1));
  }
  EXPECT_EQ(limiter.refusals(), 1001U);

  // Exactly retry_after after the first refusal: one request passes, the next waits a full interval.
  EXPECT_TRUE(limiter.take("a").admitted);
  const auto next = limiter.take("a");
  EXPECT_FALSE(next.admitted);
  EXPECT_EQ(next.retry_after, seconds(10));
}

TEST(RateLimiterTest, WaitingTheAnnouncedRetryAfterAlwaysFindsAToken) {
  // Rates that do not divide a second evenly, so the arithmetic has to round the right way.
  for (const char* text : {"7/s", "3/min", "1/min", "7/h", "600/min", "1000/s"}) {
    ManualClock clock;
    RateLimiter limiter(rate_of(text), clock);
    for (int round = 0; round < 50; ++round) {
      auto verdict = limiter.take("k");
      while (verdict.admitted) verdict = limiter.take("k");
      ASSERT_GE(verdict.retry_after, seconds(1)) << text;
      clock.advance(verdict.retry_after);
      ASSERT_TRUE(limiter.take("k").admitted) << text << " round " << round;
    }
  }
}

TEST(RateLimiterTest, RefillCapsAtBurst) {
  ManualClock clock;
  RateLimiter limiter(Rate{10, 5}, clock);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(limiter.take("a").admitted);
  ASSERT_FALSE(limiter.take("a").admitted);

  clock.advance(milliseconds(200));  // two tokens
  EXPECT_TRUE(limiter.take("a").admitted);
  EXPECT_TRUE(limiter.take("a").admitted);
  EXPECT_FALSE(limiter.take("a").admitted);

  clock.advance(std::chrono::hours(24));  // a day of refill still holds only the burst
  int admitted = 0;
  while (limiter.take("a").admitted && admitted < 100) ++admitted;
  EXPECT_EQ(admitted, 5);
}

TEST(RateLimiterTest, KeysAreIndependent) {
  ManualClock clock;
  RateLimiter limiter(rate_of("2/min"), clock);
  EXPECT_TRUE(limiter.take("a").admitted);
  EXPECT_TRUE(limiter.take("a").admitted);
  EXPECT_FALSE(limiter.take("a").admitted);
  EXPECT_TRUE(limiter.take("b").admitted);
  EXPECT_TRUE(limiter.take("b").admitted);
  EXPECT_FALSE(limiter.take("b").admitted);
  EXPECT_TRUE(limiter.take("c").admitted);
  EXPECT_EQ(limiter.tracked_keys(), 3U);
  EXPECT_EQ(limiter.refusals(), 2U);
}

TEST(RateLimiterTest, DistinctKeyFloodStaysBoundedAndFast) {
  ManualClock clock;
  RateLimiter limiter(rate_of("600/min"), clock, 1000);
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 1'000'000; ++i) {
    ASSERT_TRUE(limiter.take("key-" + std::to_string(i)).admitted);
    if (i % 1000 == 0) clock.advance(milliseconds(1));
  }
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_LE(limiter.tracked_keys(), 1000U);
  EXPECT_GT(limiter.untracked_admissions(), 0U);
  // Generous for sanitizers and slow machines; an O(n) sweep per take would need minutes.
  EXPECT_LT(took, seconds(30));
}

TEST(RateLimiterTest, FloodWithTimePassingRecyclesFullBuckets) {
  ManualClock clock;
  RateLimiter limiter(rate_of("10/s"), clock, 100);
  // Each key takes one token and is full again 100 ms later, so the table keeps recycling.
  for (int i = 0; i < 100'000; ++i) {
    ASSERT_TRUE(limiter.take("key-" + std::to_string(i)).admitted);
    clock.advance(milliseconds(2));
  }
  EXPECT_LE(limiter.tracked_keys(), 100U);
  EXPECT_EQ(limiter.untracked_admissions(), 0U);
}

TEST(RateLimiterTest, UntrackedAdmissionsWhenEveryBucketIsBusy) {
  ManualClock clock;
  RateLimiter limiter(rate_of("10/s"), clock, 2);
  ASSERT_TRUE(limiter.take("a").admitted);
  ASSERT_TRUE(limiter.take("b").admitted);
  // Neither bucket is full, so neither can be dropped: "c" goes unmetered rather than refused.
  for (int i = 0; i < 50; ++i) EXPECT_TRUE(limiter.take("c").admitted);
  EXPECT_EQ(limiter.untracked_admissions(), 50U);
  EXPECT_EQ(limiter.tracked_keys(), 2U);

  clock.advance(seconds(1));  // both full again: droppable at no cost
  EXPECT_TRUE(limiter.take("c").admitted);
  EXPECT_EQ(limiter.untracked_admissions(), 50U);
  for (int i = 0; i < 9; ++i) EXPECT_TRUE(limiter.take("c").admitted);
  EXPECT_FALSE(limiter.take("c").admitted);  // tracked now, so limited
}

TEST(RateLimiterTest, DroppingFullBucketsNeverFreesALimitedKey) {
  ManualClock clock;
  RateLimiter limiter(rate_of("10/s"), clock, 2);
  ASSERT_TRUE(limiter.take("idle").admitted);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(limiter.take("busy").admitted);
  ASSERT_FALSE(limiter.take("busy").admitted);

  clock.advance(milliseconds(100));  // "idle" is full again; "busy" holds one token
  EXPECT_TRUE(limiter.take("new").admitted);
  EXPECT_EQ(limiter.untracked_admissions(), 0U);
  EXPECT_EQ(limiter.tracked_keys(), 2U);
  EXPECT_TRUE(limiter.take("busy").admitted);
  EXPECT_FALSE(limiter.take("busy").admitted);
}

TEST(RateLimiterTest, IdleBucketsExpireAsTrafficContinues) {
  ManualClock clock;
  RateLimiter limiter(rate_of("10/s"), clock);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(limiter.take("key-" + std::to_string(i)).admitted);
  EXPECT_EQ(limiter.tracked_keys(), 100U);
  clock.advance(seconds(1));
  // Each take() drops up to two full buckets from the cold end, so the table drains without a sweep.
  for (int i = 0; i < 60; ++i) (void)limiter.take("steady");
  EXPECT_EQ(limiter.tracked_keys(), 1U);
}

TEST(RateLimiterTest, MaxKeysZeroTracksNothing) {
  ManualClock clock;
  RateLimiter limiter(rate_of("1/h"), clock, 0);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.take("a").admitted);
  EXPECT_EQ(limiter.tracked_keys(), 0U);
  EXPECT_EQ(limiter.untracked_admissions(), 5U);
}

TEST(RateLimiterTest, DegenerateRatesDoNotDivideByZero) {
  ManualClock clock;
  RateLimiter disabled(Rate{}, clock);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(disabled.take("a").admitted);
  EXPECT_EQ(disabled.tracked_keys(), 0U);

  RateLimiter zero_burst(Rate{1, 0}, clock);  // taken as a burst of 1
  EXPECT_TRUE(zero_burst.take("a").admitted);
  const auto refused = zero_burst.take("a");
  EXPECT_FALSE(refused.admitted);
  EXPECT_EQ(refused.retry_after, seconds(1));

  RateLimiter glacial(Rate{1e-300, 1}, clock);  // Retry-After is clamped, not overflowed
  EXPECT_TRUE(glacial.take("a").admitted);
  const auto far = glacial.take("a");
  EXPECT_FALSE(far.admitted);
  EXPECT_GT(far.retry_after, seconds(1));
}

TEST(RateLimiterTest, ClockSetBackRefillsNothing) {
  ManualClock clock;
  RateLimiter limiter(rate_of("1/s"), clock);
  ASSERT_TRUE(limiter.take("a").admitted);
  clock.advance(-seconds(10));
  EXPECT_FALSE(limiter.take("a").admitted);
  clock.advance(seconds(11));
  EXPECT_TRUE(limiter.take("a").admitted);
}

TEST(RateLimiterTest, ConcurrentTakesAdmitExactlyTheBurst) {
  ManualClock clock;
  RateLimiter limiter(Rate{1, 100}, clock);
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (limiter.take("shared").admitted) admitted.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(admitted.load(), 100);
  EXPECT_EQ(limiter.refusals(), 8U * 1000U - 100U);
}

}  // namespace
}  // namespace graceway::security
