#include "replay/scenario.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>

namespace graceway::replay {
namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw std::runtime_error(where + ": " + what);
}

void only_keys(const json& object, const std::set<std::string>& allowed, const std::string& where) {
  if (!object.is_object()) fail(where, "must be an object");
  for (const auto& [key, value] : object.items()) {
    if (allowed.count(key) == 0) fail(where, "unknown key \"" + key + "\"");
  }
}

std::string text(const json& object, const char* key, const std::string& where, std::string fallback = {}) {
  const auto it = object.find(key);
  if (it == object.end()) return fallback;
  if (!it->is_string()) fail(where, std::string("\"") + key + "\" must be a string");
  return it->get<std::string>();
}

std::int64_t number(const json& object, const char* key, const std::string& where, std::int64_t fallback) {
  const auto it = object.find(key);
  if (it == object.end()) return fallback;
  if (!it->is_number_integer()) fail(where, std::string("\"") + key + "\" must be an integer");
  return it->get<std::int64_t>();
}

std::vector<int> statuses(const json& value, const std::string& where) {
  std::vector<int> out;
  if (value.is_number_integer()) {
    out.push_back(value.get<int>());
  } else if (value.is_array()) {
    for (const auto& v : value) {
      if (!v.is_number_integer()) fail(where, "statuses must be integers");
      out.push_back(v.get<int>());
    }
  } else {
    fail(where, "a status is an integer or a list of integers");
  }
  return out;
}

Expectation parse_expect(const json& e, const std::string& where) {
  only_keys(e,
            {"status", "spec_status", "retry_after", "response", "response_level", "error_code", "ends", "ends_level",
             "session_header"},
            where);
  Expectation x;
  if (e.contains("status")) x.status = statuses(e["status"], where + ".status");
  if (e.contains("spec_status")) x.spec_status = statuses(e["spec_status"], where + ".spec_status");
  if (e.contains("retry_after")) {
    const auto& r = e["retry_after"];
    if (!r.is_array() || r.size() != 2 || !r[0].is_number_integer() || !r[1].is_number_integer()) {
      fail(where, "\"retry_after\" is [min, max] in seconds");
    }
    x.retry_after = std::pair{r[0].get<int>(), r[1].get<int>()};
  }
  x.response = text(e, "response", where, "any");
  if (x.response != "result" && x.response != "error" && x.response != "none" && x.response != "any") {
    fail(where, "\"response\" is one of result, error, none, any");
  }
  const auto level = text(e, "response_level", where, "spec");
  if (level != "spec" && level != "graceway") fail(where, "\"response_level\" is spec or graceway");
  x.response_level = level == "spec" ? Level::spec : Level::graceway;
  if (e.contains("error_code")) x.error_code = static_cast<int>(number(e, "error_code", where, 0));
  if (e.contains("ends")) {
    if (!e["ends"].is_boolean()) fail(where, "\"ends\" must be true or false");
    x.ends = e["ends"].get<bool>();
  }
  const auto ends_level = text(e, "ends_level", where, level);
  if (ends_level != "spec" && ends_level != "graceway") fail(where, "\"ends_level\" is spec or graceway");
  x.ends_level = ends_level == "spec" ? Level::spec : Level::graceway;
  if (e.contains("session_header")) {
    if (!e["session_header"].is_boolean()) fail(where, "\"session_header\" must be true or false");
    x.session_header = e["session_header"].get<bool>();
  }
  return x;
}

const std::set<std::string> kOps = {"open", "post", "call", "notify", "cancel", "delete", "get", "close", "drop", "exit",
                                    "started", "cancelled", "release", "await", "wait_state", "shutdown", "churn"};

Step parse_step(const json& s, std::size_t index, const std::string& file) {
  const std::string where = file + ": step " + std::to_string(index + 1);
  only_keys(s,
            {"op", "as", "session", "session_id", "method", "params", "tool", "args", "gate", "stubborn", "request",
             "state", "sessions", "parallel", "version", "era", "expect", "note"},
            where);
  Step step;
  step.index = index;
  step.op = text(s, "op", where);
  if (kOps.count(step.op) == 0) fail(where, "unknown op \"" + step.op + "\"");
  step.as = text(s, "as", where);
  step.session = text(s, "session", where);
  step.session_id = text(s, "session_id", where);
  step.method = text(s, "method", where);
  step.params = s.value("params", json());
  step.tool = text(s, "tool", where);
  step.args = s.value("args", json::object());
  step.gate = text(s, "gate", where);
  step.stubborn = s.value("stubborn", false);
  step.request = text(s, "request", where);
  step.state = text(s, "state", where);
  step.sessions = static_cast<int>(number(s, "sessions", where, 0));
  step.parallel = static_cast<int>(number(s, "parallel", where, 1));
  step.version = text(s, "version", where, "2025-11-25");
  const auto era = text(s, "era", where, "legacy");
  if (era != "legacy" && era != "modern") fail(where, "\"era\" is legacy or modern");
  step.modern = era == "modern";
  if (step.modern && step.op != "post" && step.op != "call") fail(where, "\"era\": \"modern\" applies to post and call");
  if (s.contains("expect")) step.expect = parse_expect(s["expect"], where + ".expect");

  auto need = [&](bool ok, const char* what) {
    if (!ok) fail(where, "\"" + step.op + "\" needs " + what);
  };
  const bool addressed = !step.session.empty() || !step.session_id.empty();
  // A modern request belongs to no session; it names one only to send that id along.
  const bool placed = addressed || step.modern;
  if (step.op == "open") need(!step.session.empty(), "\"session\"");
  if (step.op == "post" || step.op == "notify") need(placed && !step.method.empty(), "a session and \"method\"");
  if (step.op == "call") need(placed && (!step.tool.empty() || !step.gate.empty()), "a session and \"tool\" or \"gate\"");
  if (step.op == "delete" || step.op == "get") need(addressed, "a session");
  if (step.op == "cancel") need(addressed && !step.request.empty(), "a session and \"request\"");
  if (step.op == "started" || step.op == "cancelled" || step.op == "await" || step.op == "drop" || step.op == "close") {
    need(!step.request.empty(), "\"request\"");
  }
  if (step.op == "release") need(!step.gate.empty(), "\"gate\"");
  if (step.op == "wait_state") {
    need(!step.session.empty() && (step.state == "open" || step.state == "draining" || step.state == "closed"),
         "a session and \"state\" (open, draining or closed)");
  }
  if (step.op == "churn") need(step.sessions > 0 && step.parallel > 0, "\"sessions\" and \"parallel\" above 0");
  return step;
}

}  // namespace

std::vector<std::string> ServerSettings::flags() const {
  auto ms = [](std::chrono::milliseconds d) { return std::to_string(d.count()) + "ms"; };
  std::vector<std::string> out = {"--drain-timeout", ms(drain_timeout), "--shutdown-timeout", ms(shutdown_timeout),
                                  "--session-idle-timeout", ms(idle_timeout), "--max-sessions", std::to_string(max_sessions)};
  if (draining_404) out.insert(out.end(), {"--draining-status", "404"});
  return out;
}

bool Scenario::uses(std::string_view op) const {
  return std::any_of(steps.begin(), steps.end(), [&](const Step& s) { return s.op == op; });
}

Scenario parse_scenario(const json& doc, const std::string& file) {
  only_keys(doc, {"name", "summary", "server", "steps", "expect"}, file);
  Scenario sc;
  sc.file = file;
  sc.name = text(doc, "name", file);
  if (sc.name.empty()) fail(file, "\"name\" is required");
  sc.summary = text(doc, "summary", file);
  if (doc.contains("server")) {
    sc.needs_settings = true;
    const auto& s = doc["server"];
    const std::string where = file + ": server";
    only_keys(s, {"drain_timeout_ms", "shutdown_timeout_ms", "idle_timeout_ms", "max_sessions", "draining_status"},
              where);
    sc.server.drain_timeout = std::chrono::milliseconds(number(s, "drain_timeout_ms", where, 30000));
    sc.server.shutdown_timeout = std::chrono::milliseconds(number(s, "shutdown_timeout_ms", where, 25000));
    sc.server.idle_timeout = std::chrono::milliseconds(number(s, "idle_timeout_ms", where, 600000));
    sc.server.max_sessions = static_cast<std::size_t>(number(s, "max_sessions", where, 10000));
    sc.server.draining_404 = number(s, "draining_status", where, 503) == 404;
  }
  const auto steps = doc.find("steps");
  if (steps == doc.end() || !steps->is_array() || steps->empty()) fail(file, "\"steps\" must be a non-empty list");
  for (std::size_t i = 0; i < steps->size(); ++i) sc.steps.push_back(parse_step((*steps)[i], i, file));
  if (doc.contains("expect")) {
    const auto& e = doc["expect"];
    const std::string where = file + ": expect";
    only_keys(e, {"no_error_logs", "counters"}, where);
    sc.no_error_logs = e.value("no_error_logs", true);
    if (e.contains("counters")) {
      only_keys(e["counters"], {"dropped_writes", "late_results", "deadline_errors", "tool_calls_cancelled",
                                "requests_refused", "sessions_created", "stateless_requests_cancelled"},
                where + ".counters");
      for (const auto& [name, bound] : e["counters"].items()) {
        std::string at = where;
        at.append(".counters.").append(name);
        only_keys(bound, {"min", "max"}, at);
        CounterBound b;
        if (bound.contains("min")) b.min = static_cast<std::uint64_t>(number(bound, "min", where, 0));
        if (bound.contains("max")) b.max = static_cast<std::uint64_t>(number(bound, "max", where, 0));
        sc.counters[name] = b;
      }
    }
  }
  // Every awaited or referenced request must have been started under that name.
  std::set<std::string> started;
  for (const auto& step : sc.steps) {
    if (!step.request.empty() && started.count(step.request) == 0 && step.op != "cancel") {
      fail(file + ": step " + std::to_string(step.index + 1), "no earlier step started \"" + step.request + "\"");
    }
    if (!step.as.empty() && !started.insert(step.as).second) {
      fail(file + ": step " + std::to_string(step.index + 1), "\"" + step.as + "\" names two requests");
    }
  }
  return sc;
}

Scenario load_scenario(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot read");
  const auto doc = json::parse(in, nullptr, false);
  if (doc.is_discarded()) throw std::runtime_error(path + ": not valid JSON");
  return parse_scenario(doc, path);
}

std::vector<Scenario> load_scenarios(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const auto& p : paths) {
    if (std::filesystem::is_directory(p)) {
      for (const auto& entry : std::filesystem::directory_iterator(p)) {
        if (entry.is_regular_file() && entry.path().extension() == ".json") files.push_back(entry.path().string());
      }
    } else {
      files.push_back(p);
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<Scenario> out;
  out.reserve(files.size());
  for (const auto& f : files) out.push_back(load_scenario(f));
  return out;
}

}  // namespace graceway::replay
