#include "graceway/clock.hpp"

namespace graceway {

SteadyClock::time_point SteadyClock::now() const { return std::chrono::steady_clock::now(); }

const SteadyClock& SteadyClock::instance() {
  static const SteadyClock clock;
  return clock;
}

}  // namespace graceway
