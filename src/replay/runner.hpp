#pragma once
// Plays a scenario against a server through a Driver and judges what came back. Each request
// started in the background runs on its own thread and connection; the timeline records when
// each request started, got its head and ended, and what the sessions did meanwhile.

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "replay/driver.hpp"
#include "replay/scenario.hpp"

namespace graceway::replay {

struct RequestRecord {
  std::string name;     // the step's "as", or "#<step>"
  std::string label;    // what was sent: "initialize", "tools/call sleep", "DELETE", "GET"
  std::string session;  // the session's name in the scenario
  double start_ms = 0;  // from the scenario's start
  double head_ms = -1;  // response head; -1: none
  double end_ms = -1;   // body ended (or the connection was dropped); -1: never
  int status = 0;       // 0: no HTTP response
  std::string retry_after;
  std::string outcome;  // "result", "error -32000", "no response", "202", "dropped by client", ...
  int progress = 0;     // progress notifications seen
};

struct StateMark {
  double at_ms = 0;
  std::string state;  // open, draining, closed (as observed by the runner)
};

struct Failure {
  Level level = Level::spec;
  std::string where;  // "step 4 (await c1)"
  std::string what;
};

struct Result {
  std::string name;
  std::string summary;
  std::string file;
  bool skipped = false;
  std::string skip_reason;
  std::vector<Failure> failures;
  std::vector<std::string> notes;  // checks that could not run here (no /metrics, ...)
  std::vector<RequestRecord> requests;
  std::map<std::string, std::vector<StateMark>> sessions;
  double duration_ms = 0;

  // pass | spec-violation | graceway-expectation | skipped
  [[nodiscard]] std::string verdict() const;
  [[nodiscard]] bool passed() const { return !skipped && failures.empty(); }
};

struct RunnerOptions {
  std::chrono::milliseconds head_timeout{10000};   // waiting for a response head
  std::chrono::milliseconds body_timeout{30000};   // waiting for a body to end: beyond it, "hung"
  std::chrono::milliseconds state_timeout{30000};  // wait_state, started
};

[[nodiscard]] Result run_scenario(const Scenario& scenario, Driver& driver, const RunnerOptions& options = {});

}  // namespace graceway::replay
