#pragma once
// Gate tools: a test decides exactly when a tool call finishes. A tool call blocks on a named
// gate until the test releases it; the test can wait until the call has entered the tool, and
// learn how it left (released or cancelled). Races become deterministic without sleeps.
//
//   gate          {name}  waits for release(name) or cancellation
//   stubborn_gate {name}  waits for release(name) only, ignoring cancellation

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "graceway/tool_registry.hpp"

namespace graceway::test {

class GateBoard {
public:
  enum class Outcome { released, cancelled };

  void install(ToolRegistry& registry);
  void release(const std::string& name);
  void release_all();  // lets every stubborn tool return (fixtures call it before teardown)
  // Waits until `count` calls have entered the gate named `name`.
  bool wait_entered(const std::string& name, int count = 1,
                    std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Waits until a call on `name` has returned, and says how.
  std::optional<Outcome> wait_exited(const std::string& name,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Waits until the stop token of a call on `name` has fired (the tool keeps waiting if stubborn).
  bool wait_stop_requested(const std::string& name, std::chrono::milliseconds timeout = std::chrono::seconds(20));

private:
  struct Gate {
    int entered = 0;
    bool released = false;
    bool stop_requested = false;
    std::optional<Outcome> exited;
  };
  ToolResult run(ToolContext& ctx, bool honour_cancel);

  std::mutex mu_;                      // guards gates_ and released_all_
  std::condition_variable_any cv_;
  std::map<std::string, Gate> gates_;
  bool released_all_ = false;
};

}  // namespace graceway::test
