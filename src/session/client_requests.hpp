#pragma once
// The requests a server has sent to one client (sampling/createMessage, elicitation/create, ...)
// and is waiting on. Tool workers open a slot and wait on it; the HTTP thread that receives the
// client's POSTed response fills it. Ids are integers, unique within the session.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stop_token>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "graceway/jsonrpc.hpp"

namespace graceway {

class ClientRequests {
public:
  struct Answer {
    bool is_error = false;
    nlohmann::json value;  // the result, or the error object
  };
  enum class Outcome { answered, timed_out, stopped };

  // Reserves the next id; the answer to it is awaited from now on.
  std::int64_t open();
  // The client's answer. False when nobody waits for `id` (unknown, timed out or abandoned).
  bool fulfil(const jsonrpc::RequestId& id, Answer answer);
  // Waits for the answer to `id` until `deadline` or until `stop` fires, then forgets `id`.
  Outcome wait(std::int64_t id, std::chrono::steady_clock::time_point deadline, const std::stop_token& stop,
               Answer& out);
  // Forgets `id` without waiting (the request could not be sent).
  void abandon(std::int64_t id);
  [[nodiscard]] std::size_t waiting() const;

private:
  mutable std::mutex mu_;                                          // guards the fields below
  std::condition_variable_any cv_;                                 // waiters sleep here
  std::int64_t next_id_ = 1;
  std::unordered_map<std::int64_t, std::optional<Answer>> slots_;  // open ids; filled when answered
};

}  // namespace graceway
