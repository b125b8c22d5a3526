#pragma once
// The stateless (2026-07-28) requests in flight in this process. They belong to no session, so
// the process contract covers them here: a shutdown refuses new ones at once, waits for these
// within --shutdown-timeout, and then stops the rest (docs/architecture.md, "Protocol eras").
// Thread-safe: HTTP threads admit, tool workers release, the shutdown waits and cancels.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <unordered_map>

#include "session/session.hpp"

namespace graceway {

class StatelessRequests final : public InFlightOwner, public std::enable_shared_from_this<StatelessRequests> {
public:
  // `capacity`: requests in flight at once; more are refused (server_overloaded) and counted.
  StatelessRequests(std::size_t capacity, Metrics& metrics);

  enum class Result { admitted, shutting_down, at_capacity };
  struct Admission {
    Result result = Result::shutting_down;
    InFlightGuard guard;  // set when admitted
  };
  // Admits a request unless shutdown has begun, in the critical section that checks it. When the
  // shutdown window ends with the request still running, `stop` is requested, `reply` is answered
  // with the drain-deadline error (whatever the handler produces later is dropped), and counted.
  Admission begin(std::stop_source stop, std::shared_ptr<Outbox> reply, jsonrpc::RequestId id);
  void begin_shutdown();
  // The shutdown window is over: stops every request still in flight. Returns how many.
  std::size_t stop_all();
  // Blocks until nothing is in flight, or `deadline`. True when nothing is.
  bool wait_empty(std::chrono::steady_clock::time_point deadline);
  [[nodiscard]] std::size_t in_flight() const;

  void end_request(const std::string& key) noexcept override;

private:
  const std::size_t capacity_;
  Metrics& metrics_;
  mutable std::mutex mu_;  // guards the fields below
  std::condition_variable emptied_;
  struct Entry {
    std::stop_source stop;
    std::shared_ptr<Outbox> reply;
    jsonrpc::RequestId id;
  };
  std::unordered_map<std::string, Entry> in_flight_;  // by admission number
  std::uint64_t admitted_ = 0;
  bool shutting_down_ = false;
};

}  // namespace graceway
