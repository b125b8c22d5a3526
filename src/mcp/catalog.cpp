#include "graceway/catalog.hpp"

namespace graceway {

const char* ChangeFeed::notification_method(List which) {
  switch (which) {
    case List::tools: return "notifications/tools/list_changed";
    case List::prompts: return "notifications/prompts/list_changed";
    case List::resources: return "notifications/resources/list_changed";
  }
  return "notifications/tools/list_changed";
}

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
