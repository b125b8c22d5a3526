#pragma once
// Per-key token buckets behind 429 Too Many Requests (docs/security.md, "Rate limits"). A refused request is never
// charged, so a client that waits the announced Retry-After finds a token however often it retried
// (HAProxy's "block before track"). A bucket that has refilled to full is the same as no bucket, so
// full ones are dropped for free; a new key that still finds no room is admitted untracked, never refused.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "graceway/clock.hpp"

namespace graceway::security {

struct Rate {
  double per_second = 0;
  std::size_t burst = 0;
  // The rate as the user wrote it, so logs say "600/min" rather than "10/s"; count 0 when the
  // rate was built from per_second directly.
  std::uint64_t count = 0;
  enum class Per : std::uint8_t { second, minute, hour } per = Per::second;
};

// "N/s", "N/min" or "N/h" ("second", "minute", "hour" spelled out too, as in slowapi's "120/minute"),
// N a positive integer up to 10^9, no whitespace. The burst is N: a full period's worth at once.
[[nodiscard]] std::optional<Rate> parse_rate(std::string_view text, std::string& error);
// "600/min, burst 600".
[[nodiscard]] std::string to_string(const Rate& rate);

class RateLimiter {
public:
  struct Verdict {
    bool admitted = true;
    std::chrono::seconds retry_after{0};  // refused only: when one token will be there, at least 1 s
  };

  // A rate whose per_second is not a positive finite number disables the limiter (everything is
  // admitted, nothing tracked); a burst of 0 is taken as 1, since a bucket that holds no token
  // could never admit anyone.
  RateLimiter(Rate rate, const Clock& clock, std::size_t max_keys = 100000);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;
  ~RateLimiter() = default;

  // Charges one token and admits, or refuses without charging anything. O(1) whatever the keys.
  [[nodiscard]] Verdict take(std::string_view key);
  // What take() would answer, charging nothing: a budget looked at before costly work that is
  // charged only when the work fails (unauthenticated requests).
  [[nodiscard]] Verdict peek(std::string_view key) const;
  // Gives back the token a take() charged for work refused after all (a drain began meanwhile).
  void refund(std::string_view key);

  [[nodiscard]] std::size_t tracked_keys() const;
  [[nodiscard]] std::uint64_t untracked_admissions() const;
  [[nodiscard]] std::uint64_t refusals() const;
  [[nodiscard]] const Rate& rate() const { return rate_; }

private:
  struct Bucket {
    std::string key;
    double tokens = 0;           // as of `updated`
    Clock::time_point updated;
  };
  using Lru = std::list<Bucket>;

  [[nodiscard]] double tokens_at(const Bucket& bucket, Clock::time_point now) const;
  [[nodiscard]] std::chrono::seconds retry_after(double tokens) const;
  void drop_full_locked(Clock::time_point now, std::size_t at_most);

  // Set once by the constructor and only read after, so shared without a lock.
  const Rate rate_;
  const bool enabled_;
  const double capacity_;      // the burst, as a token count
  const Clock& clock_;
  const std::size_t max_keys_;

  mutable std::mutex mu_;  // guards lru_ and index_
  // Least recently seen first. A bucket untouched for burst/per_second is full, so the cold end
  // is where full buckets are found without searching; a non-full one there stops the sweep.
  Lru lru_;
  std::unordered_map<std::string_view, Lru::iterator> index_;  // views into the keys held by lru_
  // Atomic so metrics can read them without the lock; only counts, nothing is ordered by them.
  std::atomic<std::uint64_t> untracked_{0};
  std::atomic<std::uint64_t> refusals_{0};
};

}  // namespace graceway::security
