// The in-process race runner: replays one scenario (tests/races/*.json) against a real graceway
// server on loopback, with gates the runner opens itself, exact session states and the process's
// own counters and error-level log lines. ctest registers it once per scenario, repeated
// (--repeat, 20 by default); every repetition must pass.
//
//   graceway_race_runner [--repeat N] [--timeline] SCENARIO.json

#include <cstdio>
#include <iostream>
#include <string>

#include <spdlog/spdlog.h>

#include "graceway/logging.hpp"
#include "replay/driver.hpp"
#include "replay/report.hpp"
#include "replay/runner.hpp"
#include "replay/scenario.hpp"
#include "support/test_server.hpp"

namespace {

using namespace graceway;
using namespace graceway::replay;
using std::chrono::milliseconds;

class InProcessDriver final : public Driver {
public:
  explicit InProcessDriver(test::TestServer& server) : server_(server) {}

  std::string host() const override { return "127.0.0.1"; }
  std::uint16_t port() const override { return server_.port(); }
  std::string path() const override { return server_.config().path; }
  GateCall gate_call(const std::string& gate, bool stubborn) override {
    return {stubborn ? "stubborn_gate" : "gate", {{"name", gate}}, false};
  }
  std::optional<bool> wait_started(const std::string& gate, milliseconds timeout) override {
    return server_.gates().wait_entered(gate, 1, timeout);
  }
  std::optional<bool> wait_cancelled(const std::string& gate, milliseconds timeout) override {
    return server_.gates().wait_stop_requested(gate, timeout);
  }
  void release(const std::string& gate) override { server_.gates().release(gate); }
  std::optional<bool> wait_state(const std::string& id, const std::string& state, milliseconds timeout) override {
    const auto wanted = state == "open" ? SessionState::open : state == "draining" ? SessionState::draining
                                                                                   : SessionState::closed;
    return server_.server().wait_session_state(id, wanted, timeout);
  }
  bool shutdown() override {
    server_.server().shutdown();
    return true;
  }
  std::optional<int> wait_exit(milliseconds) override {
    // Bounded by the scenario's --shutdown-timeout (the drain deadline closes every session).
    return server_.server().wait();
  }
  std::optional<std::uint64_t> counter(const std::string& name) override {
    const auto& m = server_.server().metrics();
    if (name == "dropped_writes") return m.dropped_writes.load();
    if (name == "late_results") return m.late_results.load();
    if (name == "deadline_errors") return m.deadline_errors.load();
    if (name == "tool_calls_cancelled") return m.tool_calls_cancelled.load();
    if (name == "requests_refused") return m.requests_refused.load();
    if (name == "sessions_created") return m.sessions_created.load();
    if (name == "stateless_requests_cancelled") return m.stateless_cancelled.load();
    return std::nullopt;
  }
  std::optional<std::uint64_t> error_lines() override { return logging::error_lines(); }

private:
  test::TestServer& server_;
};

ServerConfig config_for(const Scenario& scenario) {
  auto config = test::test_config();
  config.drain_timeout = scenario.server.drain_timeout;
  config.shutdown_timeout = scenario.server.shutdown_timeout;
  config.session_idle_timeout = scenario.server.idle_timeout;
  config.max_sessions = scenario.server.max_sessions;
  config.draining_status = scenario.server.draining_404 ? 404 : 503;
  return config;
}

}  // namespace

int main(int argc, char** argv) {
  int repeat = 20;
  bool timeline = false;
  std::string file;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--repeat" && i + 1 < argc) {
      repeat = std::stoi(argv[++i]);
    } else if (arg == "--timeline") {
      timeline = true;
    } else {
      file = arg;
    }
  }
  if (file.empty() || repeat < 1) {
    std::cerr << "usage: graceway_race_runner [--repeat N] [--timeline] SCENARIO.json\n";
    return 2;
  }
  logging::configure({.level = spdlog::level::warn, .format = logging::Format::text, .to_stderr = true});
  Scenario scenario;
  try {
    scenario = load_scenario(file);
  } catch (const std::exception& e) {
    std::cerr << e.what() << '\n';
    return 2;
  }
  int failed = 0;
  for (int rep = 1; rep <= repeat; ++rep) {
    Result result;
    {
      test::TestServer server(config_for(scenario));
      InProcessDriver driver(server);
      result = run_scenario(scenario, driver);
    }
    if (!result.passed()) {
      ++failed;
      std::cout << "repetition " << rep << ": " << render_text(result, true);
    } else if (timeline && rep == 1) {
      std::cout << render_text(result, true);
    }
  }
  std::cout << scenario.name << ": " << (repeat - failed) << "/" << repeat << " repetitions passed\n";
  return failed == 0 ? 0 : 1;
}
