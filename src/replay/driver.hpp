#pragma once
// What a scenario needs beyond HTTP, supplied by whoever runs it. In-process (the ctest runner)
// every capability is exact: gates, the session's state, the process's shutdown, counters and
// error-level log lines. Over the wire (graceway-replay) gates become a slow tool, states are
// observed through requests, shutdown is a signal to a server it started, counters come from
// /metrics when the server has them.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace graceway::replay {

// The tool call that plays a gate: its name and arguments.
struct GateCall {
  std::string tool;
  nlohmann::json arguments;
  bool signals_progress = false;  // started = the first progress notification arrives
};

class Driver {
public:
  virtual ~Driver() = default;
  [[nodiscard]] virtual std::string host() const = 0;
  [[nodiscard]] virtual std::uint16_t port() const = 0;
  [[nodiscard]] virtual std::string path() const = 0;

  virtual GateCall gate_call(const std::string& gate, bool stubborn) = 0;
  // Waits until the tool of `gate` is running, when the driver can see it (else nullopt: the
  // runner waits for the call's first progress notification instead).
  virtual std::optional<bool> wait_started(const std::string& gate, std::chrono::milliseconds timeout) = 0;
  // Waits until the tool of `gate` has been told to stop (its call was cancelled), when the driver
  // can see it (else nullopt: the runner watches the server's cancellation counter instead).
  virtual std::optional<bool> wait_cancelled(const std::string& gate, std::chrono::milliseconds timeout) = 0;
  // Lets the gate's tool return; a no-op where the slow tool ends by itself.
  virtual void release(const std::string& gate) = 0;
  // Waits until the session reaches `state` (open, draining, closed); nullopt: cannot observe.
  virtual std::optional<bool> wait_state(const std::string& session_id, const std::string& state,
                                         std::chrono::milliseconds timeout) = 0;
  // Starts the process's shutdown; false when the driver cannot.
  virtual bool shutdown() = 0;
  // Waits for the shutdown to finish; the exit code, or nullopt when it cannot be observed.
  virtual std::optional<int> wait_exit(std::chrono::milliseconds timeout) = 0;
  // A counter by its /metrics name without the graceway_ prefix; nullopt when unavailable.
  virtual std::optional<std::uint64_t> counter(const std::string& name) = 0;
  // Error-level log lines so far; nullopt when unavailable.
  virtual std::optional<std::uint64_t> error_lines() = 0;
};

}  // namespace graceway::replay
