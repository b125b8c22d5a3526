#include "session/session_registry.hpp"

namespace graceway {

SessionRegistry::SessionRegistry(SessionEnvironment env, SessionIdGenerator& ids, std::size_t max_open,
                                 std::size_t tombstones)
    : env_(std::move(env)), ids_(ids), max_open_(max_open), max_tombstones_(tombstones) {
  env_.forget = [this](const std::string& id) { forget(id); };
}

SessionRegistry::Found SessionRegistry::find(std::string_view id) const {
  const std::string key(id);
  std::lock_guard lock(mu_);
  if (const auto it = live_.find(key); it != live_.end()) return {Lookup::live, it->second};
  if (tombstones_.count(key) != 0) return {Lookup::closed, nullptr};
  return {Lookup::unknown, nullptr};
}

std::shared_ptr<Session> SessionRegistry::create(std::string protocol_version, nlohmann::json client_capabilities,
                                                 SessionTransport transport, std::string owner) {
  std::lock_guard lock(mu_);
  if (admissions_closed_) return nullptr;
  // Only open sessions count: a new initialize is never refused because others drain.
  if (env_.metrics->sessions_open.load() >= static_cast<std::int64_t>(max_open_)) return nullptr;
  std::string id;
  do {
    id = ids_.next();
  } while (live_.count(id) != 0 || tombstones_.count(id) != 0);
  auto session = std::make_shared<Session>(id, std::move(protocol_version), env_, std::move(client_capabilities),
                                            transport, std::move(owner));
  live_.emplace(std::move(id), session);
  ++env_.metrics->sessions_created;
  return session;
}

void SessionRegistry::forget(const std::string& id) {
  std::shared_ptr<Session> last_reference;  // destroyed after the lock is released
  std::lock_guard lock(mu_);
  const auto it = live_.find(id);
  if (it == live_.end()) return;
  last_reference = std::move(it->second);
  live_.erase(it);
  if (live_.empty()) empty_cv_.notify_all();
  if (max_tombstones_ == 0) return;
  if (tombstones_.insert(id).second) tombstone_order_.push_back(id);
  while (tombstone_order_.size() > max_tombstones_) {
    tombstones_.erase(tombstone_order_.front());
    tombstone_order_.pop_front();
  }
}

std::vector<std::shared_ptr<Session>> SessionRegistry::close_admissions() {
  {
    std::lock_guard lock(mu_);
    admissions_closed_ = true;
  }
  return snapshot();
}

bool SessionRegistry::admissions_closed() const {
  std::lock_guard lock(mu_);
  return admissions_closed_;
}

bool SessionRegistry::wait_empty(std::chrono::steady_clock::time_point give_up) {
  std::unique_lock lock(mu_);
  return empty_cv_.wait_until(lock, give_up, [this] { return live_.empty(); });
}

std::vector<std::shared_ptr<Session>> SessionRegistry::snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<Session>> out;
  out.reserve(live_.size());
  for (const auto& entry : live_) out.push_back(entry.second);
  return out;
}

std::size_t SessionRegistry::live() const {
  std::lock_guard lock(mu_);
  return live_.size();
}

}  // namespace graceway
