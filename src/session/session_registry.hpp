#pragma once
// Live sessions by id, plus tombstones of recently closed ids so logs can tell "closed" from
// "never existed" (both answer 404). One mutex, held only for lookups and inserts.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "graceway/session_id.hpp"
#include "session/session.hpp"

namespace graceway {

class SessionRegistry {
public:
  SessionRegistry(SessionEnvironment env, SessionIdGenerator& ids, std::size_t max_open,
                  std::size_t tombstones);
  SessionRegistry(const SessionRegistry&) = delete;
  SessionRegistry& operator=(const SessionRegistry&) = delete;

  enum class Lookup { live, closed, unknown };
  struct Found {
    Lookup lookup;
    std::shared_ptr<Session> session;  // set when live
  };
  [[nodiscard]] Found find(std::string_view id) const;

  // A new open session, or nullptr when `max_open` sessions are open already or admissions
  // are closed.
  std::shared_ptr<Session> create(std::string protocol_version,
                                  nlohmann::json client_capabilities = nlohmann::json::object(),
                                  SessionTransport transport = SessionTransport::streamable_http,
                                  std::string owner = {});
  // Refuses every later create() and returns the live sessions, in one critical section, so no
  // session can slip in after a shutdown has taken its snapshot.
  std::vector<std::shared_ptr<Session>> close_admissions();
  [[nodiscard]] bool admissions_closed() const;
  // Waits until no session is live, or `give_up`. True when none is left.
  bool wait_empty(std::chrono::steady_clock::time_point give_up);

  // Every live session (open or draining), for the reaper and for shutdown.
  [[nodiscard]] std::vector<std::shared_ptr<Session>> snapshot() const;
  [[nodiscard]] std::size_t live() const;
  [[nodiscard]] const SessionEnvironment& environment() const { return env_; }

private:
  void forget(const std::string& id);

  SessionEnvironment env_;  // sessions keep a reference; never reassigned after construction
  SessionIdGenerator& ids_;
  const std::size_t max_open_;
  const std::size_t max_tombstones_;

  mutable std::mutex mu_;                                            // guards the fields below
  std::condition_variable empty_cv_;                                 // notified when live_ empties
  bool admissions_closed_ = false;
  std::unordered_map<std::string, std::shared_ptr<Session>> live_;
  std::unordered_set<std::string> tombstones_;
  std::deque<std::string> tombstone_order_;                          // oldest first
};

}  // namespace graceway
