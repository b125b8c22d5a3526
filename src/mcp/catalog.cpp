#include "graceway/catalog.hpp"

namespace graceway {

void ChangeFeed::publish(List which) const {
  Listener listener;
  {
    const std::lock_guard lock(mu_);
    listener = listener_;
  }
  // Outside the lock: the listener writes to streams, and may run for a while.
  if (listener) listener(which);
}

void ChangeFeed::set_listener(Listener listener) {
  const std::lock_guard lock(mu_);
  listener_ = std::move(listener);
}

}  // namespace graceway
