#include "session/client_requests.hpp"

namespace graceway {

std::int64_t ClientRequests::open() {
  std::lock_guard lock(mu_);
  const auto id = next_id_++;
  slots_.emplace(id, std::nullopt);
  return id;
}

bool ClientRequests::fulfil(const jsonrpc::RequestId& id, Answer answer) {
  const auto* number = std::get_if<std::int64_t>(&id);
  if (number == nullptr) return false;  // we only ever send integer ids
  {
    std::lock_guard lock(mu_);
    const auto it = slots_.find(*number);
    if (it == slots_.end() || it->second) return false;
    it->second = std::move(answer);
  }
  cv_.notify_all();
  return true;
}

ClientRequests::Outcome ClientRequests::wait(std::int64_t id, std::chrono::steady_clock::time_point deadline,
                                             const std::stop_token& stop, Answer& out) {
  std::unique_lock lock(mu_);
  const auto it = slots_.find(id);
  if (it == slots_.end()) return Outcome::stopped;
  // A reference, not the iterator: other ids opened while we sleep may rehash the map.
  auto& slot = it->second;
  cv_.wait_until(lock, stop, deadline, [&] { return slot.has_value(); });
  Outcome outcome = Outcome::answered;
  if (slot) {
    out = std::move(*slot);
  } else {
    outcome = stop.stop_requested() ? Outcome::stopped : Outcome::timed_out;
  }
  slots_.erase(id);
  return outcome;
}

void ClientRequests::abandon(std::int64_t id) {
  std::lock_guard lock(mu_);
  slots_.erase(id);
}

std::size_t ClientRequests::waiting() const {
  std::lock_guard lock(mu_);
  return slots_.size();
}

}  // namespace graceway
