#pragma once
// A race scenario: a named timeline of steps against one server, and what must come out of it.
// Scenarios are JSON files (tests/races/*.json, format in docs/races.md); this is their model and
// the parser that checks them, so a typo in a scenario is an error with its path, not a silent
// no-op.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace graceway::replay {

// What the spec allows and what graceway promises are checked apart, so other servers are judged
// only on the spec (docs/races.md, "Verdicts").
enum class Level { spec, graceway };

struct Expectation {
  std::vector<int> status;              // graceway's answer; empty: any
  std::vector<int> spec_status;         // what the spec allows; empty: same as status
  std::optional<std::pair<int, int>> retry_after;  // [min, max] seconds (graceway)
  std::string response = "any";        // result | error | none | any: the JSON-RPC answer for our id
  Level response_level = Level::spec;
  std::optional<int> error_code;        // JSON-RPC error code of that answer
  bool ends = true;                     // the response body ends
  Level ends_level = Level::spec;       // of that check (default: response_level); a stream that
                                        // stays open after its answer is always graceway (SHOULD)
  std::optional<bool> session_header;   // the response carries an Mcp-Session-Id (graceway)
};

struct Step {
  std::string op;          // open, post, call, notify, cancel, delete, get, close, drop, exit, started,
                           // cancelled, release, await, wait_state, shutdown, churn
  std::string as;          // names a request started in the background (checked by await)
  std::string session;     // a session's name in this scenario
  std::string session_id;  // a literal id instead (unknown ids)
  std::string method;      // post, notify
  nlohmann::json params;   // post, notify
  std::string tool;        // call: a tool by name (echo, sleep, ...)
  nlohmann::json args;     // call: its arguments
  std::string gate;        // call: run a gate (in-process) or the slow tool (over the wire)
  bool stubborn = false;   // call with gate: the tool ignores cancellation
  std::string request;     // started, await, drop, cancel, close: the request's name
  std::string state;       // wait_state: open | draining | closed
  int sessions = 0;        // churn: how many sessions
  int parallel = 1;        // churn: how many at once
  std::string version;     // open: protocol version to ask for
  bool modern = false;     // post, call: "era": "modern", a stateless 2026-07-28 request
  std::optional<Expectation> expect;
  std::size_t index = 0;   // position in the file, for messages
};

struct ServerSettings {
  std::chrono::milliseconds drain_timeout{30000};
  std::chrono::milliseconds shutdown_timeout{25000};
  std::chrono::milliseconds idle_timeout{600000};
  std::size_t max_sessions = 10000;
  bool draining_404 = false;
  // The command-line flags that give a graceway binary these settings.
  [[nodiscard]] std::vector<std::string> flags() const;
};

struct CounterBound {
  std::optional<std::uint64_t> min;
  std::optional<std::uint64_t> max;
};

struct Scenario {
  std::string name;
  std::string summary;
  std::string file;
  ServerSettings server;
  bool needs_settings = false;  // the scenario sets "server": a running target must match it
  std::vector<Step> steps;
  bool no_error_logs = true;                      // graceway: nothing logged at error level
  std::map<std::string, CounterBound> counters;   // graceway: how much /metrics counters rise
                                                  // during the scenario (end minus start)
  // What the scenario needs beyond HTTP: "gates" (exact tool timing), "shutdown", "settings".
  [[nodiscard]] bool uses(std::string_view op) const;
};

// Parses one scenario; throws std::runtime_error naming the file and step on any mistake.
[[nodiscard]] Scenario parse_scenario(const nlohmann::json& doc, const std::string& file);
[[nodiscard]] Scenario load_scenario(const std::string& path);
// Every *.json under each path (files or directories), sorted by name.
[[nodiscard]] std::vector<Scenario> load_scenarios(const std::vector<std::string>& paths);

}  // namespace graceway::replay
