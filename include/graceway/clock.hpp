#pragma once
// Time is injected: the session state machine reads "now" from a Clock so tests can drive it
// with ManualClock instead of sleeping.

#include <atomic>
#include <chrono>

namespace graceway {

class Clock {
public:
  using time_point = std::chrono::steady_clock::time_point;
  using duration = std::chrono::steady_clock::duration;

  virtual ~Clock() = default;
  [[nodiscard]] virtual time_point now() const = 0;
};

// The production clock: std::chrono::steady_clock.
class SteadyClock final : public Clock {
public:
  [[nodiscard]] time_point now() const override;
  static const SteadyClock& instance();
};

// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
public:
  explicit ManualClock(time_point start = time_point{} + std::chrono::hours(1)) : now_(start) {}
  [[nodiscard]] time_point now() const override { return now_.load(); }
  void advance(duration by) { now_.store(now_.load() + by); }
  void set(time_point to) { now_.store(to); }

private:
  std::atomic<time_point> now_;
};

}  // namespace graceway
