#include "runtime/stateless_requests.hpp"

#include <vector>

#include "transport/error_mapping.hpp"

namespace graceway {

StatelessRequests::StatelessRequests(std::size_t capacity, Metrics& metrics) : capacity_(capacity), metrics_(metrics) {}

StatelessRequests::Admission StatelessRequests::begin(std::stop_source stop, std::shared_ptr<Outbox> reply,
                                                     jsonrpc::RequestId id) {
  std::string key;
  {
    const std::lock_guard lock(mu_);
    if (shutting_down_) return {Result::shutting_down, {}};
    if (in_flight_.size() >= capacity_) return {Result::at_capacity, {}};
    key = std::to_string(++admitted_);
    in_flight_.emplace(key, Entry{std::move(stop), std::move(reply), std::move(id)});
    metrics_.stateless_in_flight.store(static_cast<std::int64_t>(in_flight_.size()));
  }
  ++metrics_.stateless_requests;
  return {Result::admitted, InFlightGuard(shared_from_this(), std::move(key))};
}

void StatelessRequests::begin_shutdown() {
  const std::lock_guard lock(mu_);
  shutting_down_ = true;
}

std::size_t StatelessRequests::stop_all() {
  std::vector<Entry> stopping;
  {
    const std::lock_guard lock(mu_);
    for (auto& [key, entry] : in_flight_) stopping.push_back(entry);
  }
  // Outside the lock: abandoning writes to the stream, whose callbacks may come back here.
  for (auto& entry : stopping) {
    entry.stop.request_stop();
    // Answered, not abandoned: a stateless client has no stream to come back to, so it learns
    // here, with its request's id, that the work was cut off.
    entry.reply->complete(jsonrpc::key_of(entry.id), error_response(errc::drain_deadline, entry.id));
    ++metrics_.deadline_errors;
  }
  return stopping.size();
}

bool StatelessRequests::wait_empty(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  return emptied_.wait_until(lock, deadline, [this] { return in_flight_.empty(); });
}

std::size_t StatelessRequests::in_flight() const {
  const std::lock_guard lock(mu_);
  return in_flight_.size();
}

void StatelessRequests::end_request(const std::string& key) noexcept {
  bool empty = false;
  {
    const std::lock_guard lock(mu_);
    in_flight_.erase(key);
    metrics_.stateless_in_flight.store(static_cast<std::int64_t>(in_flight_.size()));
    empty = in_flight_.empty();
  }
  if (empty) emptied_.notify_all();
}

}  // namespace graceway
