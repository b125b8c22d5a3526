// graceway-replay: replays race scenarios (tests/races/*.json) over the wire against any MCP
// server, or against graceway binaries it starts itself, and judges what comes back.
//
//   graceway-replay --url http://127.0.0.1:8080/mcp tests/races
//   graceway-replay --graceway build/release/graceway --html races.html tests/races
//
// Exits 0 when every scenario passed (or was skipped because the target cannot do what it needs),
// 1 on any failure, 2 on bad usage or an unreadable scenario.

#include <charconv>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "replay/child_process.hpp"
#include "replay/driver.hpp"
#include "replay/http_exchange.hpp"
#include "replay/report.hpp"
#include "replay/runner.hpp"
#include "replay/scenario.hpp"
#include "replay/target.hpp"

namespace {

using namespace graceway::replay;
using std::chrono::milliseconds;

struct SlowTool {
  std::string tool = "sleep";
  std::string arg = "ms";
  std::string unit = "ms";  // or "s": the argument is in (fractional) seconds
  int ms = 1000;
  int stubborn_ms = 4000;

  [[nodiscard]] nlohmann::json duration(int ms_value) const {
    if (unit == "s") return ms_value / 1000.0;
    return ms_value;
  }
};

// Over the wire: gates are calls to a slow tool; states are observed by the runner's probes.
class WireDriver final : public Driver {
public:
  WireDriver(Target target, SlowTool slow, ChildProcess* child) : target_(std::move(target)), slow_(std::move(slow)), child_(child) {}

  std::string host() const override { return target_.host; }
  std::uint16_t port() const override { return target_.port; }
  std::string path() const override { return target_.path; }
  GateCall gate_call(const std::string&, bool stubborn) override {
    return {slow_.tool, {{slow_.arg, slow_.duration(stubborn ? slow_.stubborn_ms : slow_.ms)}}, true};
  }
  std::optional<bool> wait_started(const std::string&, milliseconds) override { return std::nullopt; }
  std::optional<bool> wait_cancelled(const std::string&, milliseconds) override { return std::nullopt; }
  void release(const std::string&) override {}
  std::optional<bool> wait_state(const std::string&, const std::string&, milliseconds) override { return std::nullopt; }
  bool shutdown() override {
    if (child_ == nullptr) return false;
    child_->signal(SIGTERM);
    // The signal is handled asynchronously; the drain has begun once readiness fails (or the
    // process is already gone). Later steps rely on that, as they do in process.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < give_up) {
      HttpExchange ready(target_.host, target_.port);
      if (!ready.connected() || !ready.send("GET", "/readyz", {}) || ready.read_head(std::chrono::seconds(5)) != 200) {
        return true;
      }
      std::this_thread::sleep_for(milliseconds(2));  // observation interval over the wire only
    }
    return true;
  }
  std::optional<int> wait_exit(milliseconds timeout) override {
    if (child_ == nullptr) return std::nullopt;
    return child_->wait_exit(timeout);
  }
  std::optional<std::uint64_t> counter(const std::string& name) override {
    HttpExchange metrics(target_.host, target_.port);
    if (!metrics.send("GET", "/metrics", {}) || metrics.read_head(std::chrono::seconds(5)) != 200 ||
        !metrics.read_to_end(std::chrono::seconds(5))) {
      return std::nullopt;
    }
    const std::string needle = "\ngraceway_" + name + "_total ";
    const auto& body = "\n" + metrics.body_so_far();
    const auto at = body.find(needle);
    if (at == std::string::npos) return std::nullopt;
    std::uint64_t value = 0;
    const char* first = body.data() + at + needle.size();
    const auto [end, ec] = std::from_chars(first, body.data() + body.size(), value);
    if (ec != std::errc() || end == first) return std::nullopt;
    return value;
  }
  std::optional<std::uint64_t> error_lines() override {
    if (child_ == nullptr) return std::nullopt;
    child_->collect();
    std::uint64_t n = 0;
    const auto& out = child_->output();
    for (const char* level : {"\"level\":\"error\"", "\"level\":\"critical\""}) {
      for (auto at = out.find(level); at != std::string::npos; at = out.find(level, at + 1)) ++n;
    }
    return n;
  }

private:
  Target target_;
  SlowTool slow_;
  ChildProcess* child_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"graceway-replay: replay session-end races against an MCP server and judge the answers"};
  std::vector<std::string> paths;
  std::string url;
  std::string graceway;
  bool json_out = false;
  bool timeline = false;
  std::string html;
  SlowTool slow;
  int repeat = 1;
  bool assume_settings = false;
  std::vector<std::string> graceway_args;
  app.add_option("scenarios", paths, "Scenario files or directories of *.json")->required();
  auto* url_opt = app.add_option("--url", url, "The MCP endpoint of a running server (http://host:port/path)");
  auto* bin_opt = app.add_option("--graceway", graceway,
                                 "Start this graceway binary for each scenario, with the scenario's settings");
  url_opt->excludes(bin_opt);
  app.add_option("--graceway-arg", graceway_args,
                 "With --graceway: one more argument for it, after the scenario's flags (repeatable; write "
                 "--graceway-arg=--stdio for one that starts with a dash)")
      ->allow_extra_args(false)  // the scenario paths that follow are not its values
      ->needs(bin_opt);
  app.add_flag("--json", json_out, "Print the results as JSON instead of text");
  app.add_flag("--timeline", timeline, "Print every scenario's timeline, not only failing ones");
  app.add_option("--html", html, "Write an HTML page drawing every timeline to this file");
  app.add_option("--slow-tool", slow.tool, "The tool that plays a gate over the wire")->capture_default_str();
  app.add_option("--slow-arg", slow.arg, "Its argument that sets the duration in ms")->capture_default_str();
  app.add_option("--slow-unit", slow.unit, "The unit of that argument: ms or s")
      ->check(CLI::IsMember({"ms", "s"}))
      ->capture_default_str();
  app.add_option("--slow-ms", slow.ms, "How long a gate call runs")->capture_default_str()->check(CLI::Range(50, 600000));
  app.add_option("--stubborn-ms", slow.stubborn_ms, "How long a call that must outlive the drain window runs")
      ->capture_default_str()
      ->check(CLI::Range(50, 600000));
  app.add_flag("--assume-settings", assume_settings,
               "With --url: the server runs with each scenario's \"server\" settings, so run those too");
  app.add_option("--repeat", repeat, "Replay each scenario this many times")->capture_default_str()->check(CLI::Range(1, 1000));
  CLI11_PARSE(app, argc, argv);
  if (url.empty() && graceway.empty()) {
    std::cerr << "graceway-replay: give --url URL or --graceway PATH\n";
    return 2;
  }

  std::vector<Scenario> scenarios;
  try {
    scenarios = load_scenarios(paths);
  } catch (const std::exception& e) {
    std::cerr << "graceway-replay: " << e.what() << '\n';
    return 2;
  }
  if (scenarios.empty()) {
    std::cerr << "graceway-replay: no scenarios found\n";
    return 2;
  }
  std::optional<Target> fixed_target;
  if (!url.empty()) {
    fixed_target = parse_url(url);
    if (!fixed_target) {
      std::cerr << "graceway-replay: --url: expected http://host[:port][/path], got '" << url << "'\n";
      return 2;
    }
  }

  std::vector<Result> results;
  int failed = 0;
  for (const auto& scenario : scenarios) {
    for (int rep = 0; rep < repeat; ++rep) {
      std::unique_ptr<ChildProcess> child;
      Target target = fixed_target.value_or(Target{});
      if (!graceway.empty()) {
        target.port = free_port();
        auto args = scenario.server.flags();
        // warn keeps the pipe quiet (it is read only between scenarios); errors are what we count.
        args.insert(args.end(), {"--host", "127.0.0.1", "--port", std::to_string(target.port), "--log-format", "json",
                                 "--log-level", "warn"});
        args.insert(args.end(), graceway_args.begin(), graceway_args.end());  // last: may end in "-- COMMAND"
        child = std::make_unique<ChildProcess>(graceway, args);
        if (target.port == 0 || !child->started() || !wait_healthy(target)) {
          child->collect();
          std::cerr << "graceway-replay: " << graceway << " did not start: " << child->output() << '\n';
          return 2;
        }
      }
      WireDriver driver(target, slow, child.get());
      Result result;
      if (!child && scenario.needs_settings && !assume_settings) {
        // Its outcome depends on settings (idle timeout, windows, limits) this run cannot give a
        // server it did not start; judging a server configured otherwise would not be fair.
        result.name = scenario.name;
        result.summary = scenario.summary;
        result.file = scenario.file;
        result.skipped = true;
        std::string flags;
        for (const auto& f : scenario.server.flags()) flags += " " + f;
        result.skip_reason = "needs server settings (graceway:" + flags + "); use --graceway, or --assume-settings";
      } else {
        result = run_scenario(scenario, driver);
      }
      if (child) {
        child->signal(SIGTERM);
        child->wait_exit(std::chrono::seconds(60));
      }
      if (!result.passed() && !result.skipped) ++failed;
      if (!json_out) std::cout << render_text(result, timeline || !result.passed()) << std::flush;
      results.push_back(std::move(result));
    }
  }
  if (json_out) std::cout << render_json(results).dump(2) << '\n';
  if (!html.empty()) {
    std::ofstream out(html);
    out << render_html(results, "graceway-replay: " + (url.empty() ? graceway : url));
    if (!out) {
      std::cerr << "graceway-replay: cannot write " << html << '\n';
      return 2;
    }
  }
  if (!json_out) {
    std::cout << results.size() << " run(s), " << failed << " failed\n";
  }
  return failed == 0 ? 0 : 1;
}
