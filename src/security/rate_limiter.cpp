#include "security/rate_limiter.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <iterator>
#include <new>
#include <system_error>

namespace graceway::security {
namespace {

// Token counts are doubles. Admitting at 1 - kEpsilon and announcing a Retry-After computed
// against the same threshold makes "wait retry_after, then a token is there" hold despite rounding.
constexpr double kEpsilon = 1e-9;
// Full buckets dropped from the cold end per take(): more than the one bucket a take() can add,
// so the table shrinks back after a flood, and each take() stays O(1) in the worst case.
constexpr std::size_t kDropsPerTake = 2;
constexpr std::uint64_t kMaxCount = 1'000'000'000;
// A Retry-After beyond this says nothing useful, and the cast to an integer must not overflow.
constexpr double kMaxRetrySeconds = 1e9;

struct Unit {
  std::string_view spelling;
  Rate::Per per;
  double seconds;
};
constexpr std::array<Unit, 6> kUnits{{
    {"s", Rate::Per::second, 1},
    {"second", Rate::Per::second, 1},
    {"min", Rate::Per::minute, 60},
    {"minute", Rate::Per::minute, 60},
    {"h", Rate::Per::hour, 3600},
    {"hour", Rate::Per::hour, 3600},
}};

constexpr std::string_view kExpected = R"(rate must be N/s, N/min or N/h with N a positive integer (e.g. "600/min"))";

std::string_view unit_name(Rate::Per per) {
  switch (per) {
    case Rate::Per::second: return "s";
    case Rate::Per::minute: return "min";
    case Rate::Per::hour: return "h";
  }
  return "s";
}

std::string format_number(double value) {
  std::array<char, 32> buffer{};
  const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  if (ec != std::errc{}) return "?";
  return {buffer.data(), end};
}

}  // namespace

std::optional<Rate> parse_rate(std::string_view text, std::string& error) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0) {
    error = kExpected;
    return std::nullopt;
  }
  const std::string_view digits = text.substr(0, slash);
  const std::string_view unit = text.substr(slash + 1);
  // from_chars alone would take a leading '-' and stop at trailing junk.
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    error = kExpected;
    return std::nullopt;
  }
  std::uint64_t count = 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
  if (ec == std::errc::result_out_of_range || (ec == std::errc{} && count > kMaxCount)) {
    error = "rate count must be at most " + std::to_string(kMaxCount) + " (e.g. \"600/min\")";
    return std::nullopt;
  }
  if (ec != std::errc{} || ptr != digits.data() + digits.size() || count == 0) {
    error = kExpected;
    return std::nullopt;
  }
  const auto found = std::find_if(kUnits.begin(), kUnits.end(), [&](const Unit& u) { return u.spelling == unit; });
  if (found == kUnits.end()) {
    error = kExpected;
    return std::nullopt;
  }
  Rate rate;
  rate.per_second = static_cast<double>(count) / found->seconds;
  rate.burst = static_cast<std::size_t>(count);
  rate.count = count;
  rate.per = found->per;
  return rate;
}

std::string to_string(const Rate& rate) {
  std::string out;
  if (rate.count > 0) {
    out = std::to_string(rate.count);
    out += '/';
    out += unit_name(rate.per);
  } else {
    out = format_number(rate.per_second) + "/s";
  }
  out += ", burst ";
  out += std::to_string(rate.burst);
  return out;
}

RateLimiter::RateLimiter(Rate rate, const Clock& clock, std::size_t max_keys)
    : rate_(rate),
      enabled_(std::isfinite(rate.per_second) && rate.per_second > 0),
      capacity_(static_cast<double>(std::max<std::size_t>(rate.burst, 1))),
      clock_(clock),
      max_keys_(max_keys) {}

double RateLimiter::tokens_at(const Bucket& bucket, Clock::time_point now) const {
  if (now <= bucket.updated) return bucket.tokens;  // a clock set back refills nothing
  const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
  return std::min(capacity_, bucket.tokens + elapsed * rate_.per_second);
}

std::chrono::seconds RateLimiter::retry_after(double tokens) const {
  const double seconds = std::ceil((1.0 - kEpsilon - tokens) / rate_.per_second);
  return std::chrono::seconds(static_cast<std::int64_t>(std::clamp(seconds, 1.0, kMaxRetrySeconds)));
}

void RateLimiter::drop_full_locked(Clock::time_point now, std::size_t at_most) {
  for (std::size_t dropped = 0; dropped < at_most && !lru_.empty(); ++dropped) {
    const Bucket& coldest = lru_.front();
    if (tokens_at(coldest, now) < capacity_ - kEpsilon) return;
    index_.erase(coldest.key);
    lru_.pop_front();
  }
}

RateLimiter::Verdict RateLimiter::take(std::string_view key) {
  if (!enabled_) return {};
  const auto now = clock_.now();
  const std::lock_guard lock(mu_);
  drop_full_locked(now, kDropsPerTake);

  if (const auto found = index_.find(key); found != index_.end()) {
    const auto bucket = found->second;
    lru_.splice(lru_.end(), lru_, bucket);
    const double tokens = tokens_at(*bucket, now);
    bucket->updated = std::max(bucket->updated, now);
    if (tokens >= 1.0 - kEpsilon) {
      bucket->tokens = std::max(0.0, tokens - 1.0);
      return {};
    }
    bucket->tokens = tokens;  // the refill so far is kept; the refusal itself costs nothing
    refusals_.fetch_add(1, std::memory_order_relaxed);
    return {false, retry_after(tokens)};
  }

  // Refusing for lack of room would punish this key for other keys' traffic (docs/security.md, "Rate limits"); it
  // goes unmetered until a bucket refills and frees a slot.
  if (index_.size() >= max_keys_) {
    untracked_.fetch_add(1, std::memory_order_relaxed);
    return {};
  }
  try {
    lru_.push_back(Bucket{std::string(key), capacity_ - 1.0, now});
  } catch (const std::bad_alloc&) {
    untracked_.fetch_add(1, std::memory_order_relaxed);
    return {};
  }
  try {
    index_.emplace(lru_.back().key, std::prev(lru_.end()));
  } catch (const std::bad_alloc&) {
    lru_.pop_back();
    untracked_.fetch_add(1, std::memory_order_relaxed);
  }
  return {};
}

RateLimiter::Verdict RateLimiter::peek(std::string_view key) const {
  if (!enabled_) return {};
  const auto now = clock_.now();
  const std::lock_guard lock(mu_);
  const auto found = index_.find(key);
  if (found == index_.end()) return {};
  const double tokens = tokens_at(*found->second, now);
  if (tokens >= 1.0 - kEpsilon) return {};
  return {false, retry_after(tokens)};
}

void RateLimiter::refund(std::string_view key) {
  if (!enabled_) return;
  const auto now = clock_.now();
  const std::lock_guard lock(mu_);
  const auto found = index_.find(key);
  if (found == index_.end()) return;  // untracked, or dropped as full: nothing to give back
  const auto bucket = found->second;
  bucket->tokens = std::min(capacity_, tokens_at(*bucket, now) + 1.0);
  bucket->updated = std::max(bucket->updated, now);
}

std::size_t RateLimiter::tracked_keys() const {
  const std::lock_guard lock(mu_);
  return index_.size();
}

std::uint64_t RateLimiter::untracked_admissions() const { return untracked_.load(std::memory_order_relaxed); }

std::uint64_t RateLimiter::refusals() const { return refusals_.load(std::memory_order_relaxed); }

}  // namespace graceway::security
