// graceway-replay's own parts: the scenario parser (every mistake named with its file and step),
// verdicts, and the three renderings of a result.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

#include "replay/driver.hpp"
#include "replay/report.hpp"
#include "replay/runner.hpp"
#include "replay/scenario.hpp"

namespace graceway::replay {
namespace {

using nlohmann::json;

json minimal() {
  return {{"name", "n"}, {"steps", json::array({{{"op", "open"}, {"session", "A"}}})}};
}

std::string parse_error(const json& doc) {
  try {
    (void)parse_scenario(doc, "f.json");
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(ScenarioTest, ParsesStepsExpectationsSettingsAndCounters) {
  const json doc = {
      {"name", "race"},
      {"summary", "s"},
      {"server", {{"drain_timeout_ms", 300}, {"max_sessions", 2}, {"draining_status", 404}, {"idle_timeout_ms", 50}}},
      {"steps",
       {{{"op", "open"}, {"session", "A"}, {"version", "2025-03-26"}},
        {{"op", "call"}, {"as", "w"}, {"session", "A"}, {"gate", "g"}, {"stubborn", true}},
        {{"op", "await"},
         {"request", "w"},
         {"expect",
          {{"status", {200, 503}},
           {"spec_status", {200, 404, 503}},
           {"retry_after", {1, 5}},
           {"response", "error"},
           {"response_level", "graceway"},
           {"error_code", -32000},
           {"ends", false}}}},
        {{"op", "churn"}, {"sessions", 3}, {"parallel", 2}}}},
      {"expect", {{"no_error_logs", false}, {"counters", {{"deadline_errors", {{"min", 1}, {"max", 2}}}}}}}};
  const auto sc = parse_scenario(doc, "f.json");
  EXPECT_EQ(sc.name, "race");
  EXPECT_TRUE(sc.needs_settings);
  EXPECT_EQ(sc.server.drain_timeout.count(), 300);
  EXPECT_TRUE(sc.server.draining_404);
  ASSERT_EQ(sc.steps.size(), 4U);
  EXPECT_EQ(sc.steps[0].version, "2025-03-26");
  EXPECT_TRUE(sc.steps[1].stubborn);
  const auto& x = *sc.steps[2].expect;
  EXPECT_EQ(x.status, (std::vector<int>{200, 503}));
  EXPECT_EQ(x.spec_status.size(), 3U);
  EXPECT_EQ(x.retry_after->second, 5);
  EXPECT_EQ(x.response, "error");
  EXPECT_EQ(x.response_level, Level::graceway);
  EXPECT_EQ(*x.error_code, -32000);
  EXPECT_FALSE(x.ends);
  EXPECT_FALSE(sc.no_error_logs);
  EXPECT_EQ(*sc.counters.at("deadline_errors").max, 2U);
  EXPECT_TRUE(sc.uses("churn"));
  EXPECT_FALSE(sc.uses("shutdown"));
  const auto flags = sc.server.flags();
  EXPECT_NE(std::find(flags.begin(), flags.end(), "--draining-status"), flags.end());
  EXPECT_NE(std::find(flags.begin(), flags.end(), "300ms"), flags.end());
}

TEST(ScenarioTest, AHungStreamIsJudgedAtTheLevelOfItsAnswerUnlessTold) {
  auto with_expect = [](json expect) {
    auto doc = minimal();
    doc["steps"].push_back({{"op", "post"}, {"session", "A"}, {"method", "ping"}, {"expect", std::move(expect)}});
    return parse_scenario(doc, "f.json").steps.back().expect.value();
  };
  EXPECT_EQ(with_expect({{"status", 200}}).ends_level, Level::spec);
  EXPECT_EQ(with_expect({{"response", "result"}, {"response_level", "graceway"}}).ends_level, Level::graceway);
  EXPECT_EQ(with_expect({{"response", "none"}, {"ends_level", "graceway"}}).ends_level, Level::graceway);
  EXPECT_EQ(with_expect({{"response_level", "graceway"}, {"ends_level", "spec"}}).ends_level, Level::spec);
  auto doc = minimal();
  doc["steps"].push_back({{"op", "post"}, {"session", "A"}, {"method", "ping"}, {"expect", {{"ends_level", "strict"}}}});
  EXPECT_NE(parse_error(doc).find("\"ends_level\" is spec or graceway"), std::string::npos) << parse_error(doc);
}

// A 2026-07-28 step belongs to no session: it may name one (its id goes along) or none.
TEST(ScenarioTest, AModernStepNeedsNoSessionAndCanExpectNoSessionHeader) {
  auto doc = minimal();
  doc["steps"].push_back({{"op", "call"}, {"as", "w"}, {"era", "modern"}, {"gate", "g"}});
  doc["steps"].push_back({{"op", "cancelled"}, {"request", "w"}});
  doc["steps"].push_back({{"op", "post"},
                          {"era", "modern"},
                          {"session", "A"},
                          {"method", "tools/list"},
                          {"expect", {{"session_header", false}}}});
  doc["steps"].push_back({{"op", "post"}, {"era", "legacy"}, {"session", "A"}, {"method", "ping"}});
  doc["expect"] = {{"counters", {{"stateless_requests_cancelled", {{"min", 1}}}}}};
  const auto sc = parse_scenario(doc, "f.json");
  ASSERT_EQ(sc.steps.size(), 5U);
  EXPECT_FALSE(sc.steps[0].modern) << "legacy unless the step says otherwise";
  EXPECT_TRUE(sc.steps[1].modern);
  EXPECT_TRUE(sc.steps[1].session.empty());
  EXPECT_EQ(sc.steps[2].op, "cancelled");
  EXPECT_TRUE(sc.steps[3].modern);
  EXPECT_EQ(sc.steps[3].expect->session_header, std::optional<bool>(false));
  EXPECT_FALSE(sc.steps[4].modern);
  EXPECT_FALSE(sc.steps[4].expect.has_value());
  EXPECT_EQ(*sc.counters.at("stateless_requests_cancelled").min, 1U);
  EXPECT_TRUE(sc.uses("cancelled"));
}

TEST(ScenarioTest, EveryMistakeIsNamedWithItsFileAndStep) {
  auto with_step = [](json step) {
    auto doc = minimal();
    doc["steps"].push_back(std::move(step));
    return doc;
  };
  const std::vector<std::pair<json, std::string>> cases = {
      {json::array(), "must be an object"},
      {{{"steps", minimal()["steps"]}}, "\"name\" is required"},
      {{{"name", "n"}, {"steps", json::array()}}, "non-empty list"},
      {{{"name", "n"}, {"steps", minimal()["steps"]}, {"colour", 1}}, "unknown key \"colour\""},
      {{{"name", 5}, {"steps", minimal()["steps"]}}, "\"name\" must be a string"},
      {with_step({{"op", "teleport"}}), "step 2: unknown op \"teleport\""},
      {with_step({{"op", "post"}, {"session", "A"}}), "\"post\" needs a session and \"method\""},
      {with_step({{"op", "call"}, {"session", "A"}}), "needs a session and \"tool\" or \"gate\""},
      {with_step({{"op", "delete"}}), "\"delete\" needs a session"},
      {with_step({{"op", "cancel"}, {"session", "A"}}), "needs a session and \"request\""},
      {with_step({{"op", "await"}}), "\"await\" needs \"request\""},
      {with_step({{"op", "release"}}), "needs \"gate\""},
      {with_step({{"op", "wait_state"}, {"session", "A"}, {"state", "gone"}}), "open, draining or closed"},
      {with_step({{"op", "churn"}, {"sessions", 0}}), "above 0"},
      {with_step({{"op", "await"}, {"request", "nobody"}}), "no earlier step started \"nobody\""},
      {with_step({{"op", "post"}, {"session", "A"}, {"method", "m"}, {"sessions", "x"}}), "must be an integer"},
      {with_step({{"op", "post"}, {"session", "A"}, {"method", "m"}, {"expect", {{"status", "200"}}}}),
       "integer or a list"},
      {with_step({{"op", "post"}, {"session", "A"}, {"method", "m"}, {"expect", {{"status", {"a"}}}}}),
       "statuses must be integers"},
      {with_step({{"op", "post"}, {"session", "A"}, {"method", "m"}, {"expect", {{"retry_after", {1}}}}}),
       "[min, max]"},
      {with_step({{"op", "post"}, {"session", "A"}, {"method", "m"}, {"expect", {{"response", "maybe"}}}}),
       "result, error, none, any"},
      {with_step({{"op", "post"}, {"session", "A"}, {"method", "m"}, {"expect", {{"response_level", "x"}}}}),
       "spec or graceway"},
      {with_step({{"op", "post"}, {"session", "A"}, {"method", "m"}, {"expect", {{"ends", 1}}}}), "true or false"},
      {with_step({{"op", "post"}, {"session", "A"}, {"method", "m"}, {"expect", {{"eventually", 1}}}}),
       "unknown key \"eventually\""},
      {with_step({{"op", "post"}, {"era", "future"}, {"method", "m"}}), "\"era\" is legacy or modern"},
      {with_step({{"op", "delete"}, {"era", "modern"}, {"session", "A"}}), "\"era\": \"modern\" applies to post and call"},
      {with_step({{"op", "post"}, {"method", "m"}}), "\"post\" needs a session and \"method\""},
      {with_step({{"op", "call"}, {"era", "modern"}}), "needs a session and \"tool\" or \"gate\""},
      {with_step({{"op", "cancelled"}}), "\"cancelled\" needs \"request\""},
      {with_step({{"op", "post"}, {"era", "modern"}, {"method", "m"}, {"expect", {{"session_header", "no"}}}}),
       "\"session_header\" must be true or false"},
  };
  for (const auto& [doc, needle] : cases) {
    const auto error = parse_error(doc);
    EXPECT_NE(error.find("f.json"), std::string::npos) << error;
    EXPECT_NE(error.find(needle), std::string::npos) << "expected '" << needle << "' in: " << error;
  }
  auto twice = minimal();
  twice["steps"].push_back({{"op", "post"}, {"as", "x"}, {"session", "A"}, {"method", "m"}});
  twice["steps"].push_back({{"op", "post"}, {"as", "x"}, {"session", "A"}, {"method", "m"}});
  EXPECT_NE(parse_error(twice).find("names two requests"), std::string::npos);
  auto counters = minimal();
  counters["expect"] = {{"counters", {{"bogus", {{"min", 1}}}}}};
  EXPECT_NE(parse_error(counters).find("unknown key \"bogus\""), std::string::npos);
  EXPECT_THROW((void)load_scenario("/nonexistent/x.json"), std::runtime_error);
}

Result sample() {
  Result r;
  r.name = "a<b";
  r.summary = "s & t";
  r.duration_ms = 100;
  r.requests = {
      {"w", "tools/call gate (g1)", "A", 1, 2, 90, 200, "", "result", 3},
      {"#2", "ping", "A", 10, 11, 11, 503, "5", "error -32000", 0},
      {"#3", "ping", "A", 20, -1, -1, 0, "", "no response", 0},
      {"#4", "GET", "A", 30, 31, 40, 200, "", "dropped by client", 0},
      {"#5", "tools/list", "A", 50, 51, -1, 200, "", "never ended", 0},
      {"#6", "DELETE", "A", 60, 61, 61, 404, "", "done", 0},
  };
  r.sessions["A"] = {{0, "open"}, {10, "draining"}, {95, "closed"}};
  return r;
}

// A driver with no server behind it: each counter reads the next of its scripted values (nullopt
// once they run out), so a test decides what the scenario's start and end see. The scenario's
// only step is a shutdown, which the runner follows with no request of its own.
class ScriptedCounters final : public Driver {
public:
  explicit ScriptedCounters(std::map<std::string, std::deque<std::optional<std::uint64_t>>> values)
      : values_(std::move(values)) {}
  std::string host() const override { return "127.0.0.1"; }
  std::uint16_t port() const override { return 1; }
  std::string path() const override { return "/mcp"; }
  GateCall gate_call(const std::string&, bool) override { return {"sleep", json::object(), false}; }
  std::optional<bool> wait_started(const std::string&, std::chrono::milliseconds) override { return true; }
  std::optional<bool> wait_cancelled(const std::string&, std::chrono::milliseconds) override { return true; }
  void release(const std::string&) override {}
  std::optional<bool> wait_state(const std::string&, const std::string&, std::chrono::milliseconds) override {
    return true;
  }
  bool shutdown() override { return true; }
  std::optional<int> wait_exit(std::chrono::milliseconds) override { return 0; }
  std::optional<std::uint64_t> counter(const std::string& name) override {
    ++reads[name];
    auto& queue = values_[name];
    if (queue.empty()) return std::nullopt;
    const auto v = queue.front();
    queue.pop_front();
    return v;
  }
  std::optional<std::uint64_t> error_lines() override { return 0; }
  std::map<std::string, int> reads;

private:
  std::map<std::string, std::deque<std::optional<std::uint64_t>>> values_;
};

Scenario counting(std::map<std::string, CounterBound> counters) {
  Scenario sc;
  sc.name = "counting";
  Step shutdown;
  shutdown.op = "shutdown";
  sc.steps.push_back(shutdown);
  sc.counters = std::move(counters);
  return sc;
}

// A long-running server carries counts from earlier scenarios: a bound is on the change over
// this scenario, not on the value.
TEST(RunnerCountersTest, BoundsApplyToTheChangeOverTheScenarioNotTheValue) {
  ScriptedCounters driver({{"tool_calls_cancelled", {7, 7}}, {"sessions_created", {250, 350}}});
  const auto r = run_scenario(counting({{"tool_calls_cancelled", {std::nullopt, 0}}, {"sessions_created", {100, std::nullopt}}}),
                              driver);
  EXPECT_EQ(r.verdict(), "pass") << render_text(r, true);
  EXPECT_EQ(driver.reads["tool_calls_cancelled"], 2) << "read at the start and at the end";
  EXPECT_EQ(driver.reads["sessions_created"], 2);
}

TEST(RunnerCountersTest, AChangeOutsideTheBoundIsAGracewayExpectationNamingTheChange) {
  ScriptedCounters driver({{"tool_calls_cancelled", {7, 8}}, {"sessions_created", {250, 349}}});
  const auto r = run_scenario(counting({{"tool_calls_cancelled", {std::nullopt, 0}}, {"sessions_created", {100, std::nullopt}}}),
                              driver);
  EXPECT_EQ(r.verdict(), "graceway-expectation");
  ASSERT_EQ(r.failures.size(), 2U) << render_text(r, true);
  EXPECT_EQ(r.failures[0].level, Level::graceway);
  EXPECT_EQ(r.failures[0].what, "counter sessions_created rose by 99 (250 -> 349), expected >= 100");
  EXPECT_EQ(r.failures[1].what, "counter tool_calls_cancelled rose by 1 (7 -> 8), expected <= 0");
}

TEST(RunnerCountersTest, ACounterSeenAtOnlyOneEndOrGoingBackIsANoteNotAVerdict) {
  ScriptedCounters driver({{"deadline_errors", {std::nullopt, 3}},  // no /metrics at the start
                           {"late_results", {5}},                    // none at the end (it exited)
                           {"dropped_writes", {9, 2}}});             // the server restarted
  const auto r = run_scenario(
      counting({{"deadline_errors", {1, std::nullopt}}, {"late_results", {std::nullopt, 0}}, {"dropped_writes", {std::nullopt, 0}}}),
      driver);
  EXPECT_EQ(r.verdict(), "pass") << render_text(r, true);
  ASSERT_EQ(r.notes.size(), 3U) << render_text(r, true);
  EXPECT_EQ(r.notes[0], "counter deadline_errors not observable here");
  EXPECT_EQ(r.notes[1], "counter dropped_writes went back from 9 to 2 (the server restarted?); not judged");
  EXPECT_EQ(r.notes[2], "counter late_results not observable here");
}

TEST(ReportTest, VerdictsKeepSpecViolationsApart) {
  Result r = sample();
  EXPECT_EQ(r.verdict(), "pass");
  EXPECT_TRUE(r.passed());
  r.failures.push_back({Level::graceway, "step 2 (post)", "HTTP 404; graceway answers 503"});
  EXPECT_EQ(r.verdict(), "graceway-expectation");
  r.failures.push_back({Level::spec, "step 3 (post)", "no HTTP response"});
  EXPECT_EQ(r.verdict(), "spec-violation");
  EXPECT_FALSE(r.passed());
  Result skipped;
  skipped.skipped = true;
  EXPECT_EQ(skipped.verdict(), "skipped");
  EXPECT_FALSE(skipped.passed());
}

TEST(ReportTest, TextShowsTheVerdictFailuresNotesAndTimeline) {
  Result r = sample();
  r.failures.push_back({Level::spec, "step 3 (post)", "no HTTP response"});
  r.notes.push_back("counter x not observable here");
  const auto brief = render_text(r, false);
  EXPECT_EQ(brief.rfind("SPEC-VIOLATION  a<b", 0), 0U) << brief;
  EXPECT_NE(brief.find("[spec] step 3 (post): no HTTP response"), std::string::npos);
  EXPECT_NE(brief.find("note: counter x"), std::string::npos);
  EXPECT_EQ(brief.find("+1.0ms"), std::string::npos) << "no timeline unless asked";
  const auto full = render_text(r, true);
  EXPECT_NE(full.find("+10.0ms  #2  ping [A]  -> 503 Retry-After 5, error -32000 (1.0 ms)"), std::string::npos) << full;
  EXPECT_NE(full.find("-> no response, no response"), std::string::npos);
  EXPECT_NE(full.find("3 progress"), std::string::npos);
  EXPECT_NE(full.find("session A: open@0.0ms draining@10.0ms closed@95.0ms"), std::string::npos);
  Result skipped;
  skipped.name = "s";
  skipped.skipped = true;
  skipped.skip_reason = "needs a shutdown";
  EXPECT_NE(render_text(skipped, false).find("skipped: needs a shutdown"), std::string::npos);
}

TEST(ReportTest, JsonCarriesEveryRequestAndState) {
  Result r = sample();
  r.failures.push_back({Level::graceway, "end", "1 error-level log line(s)"});
  Result skipped;
  skipped.name = "s";
  skipped.skipped = true;
  skipped.skip_reason = "why";
  const auto j = render_json({r, skipped});
  ASSERT_EQ(j.size(), 2U);
  EXPECT_EQ(j[0]["verdict"], "graceway-expectation");
  EXPECT_EQ(j[0]["requests"].size(), 6U);
  EXPECT_EQ(j[0]["requests"][1]["retry_after"], "5");
  EXPECT_EQ(j[0]["failures"][0]["level"], "graceway");
  EXPECT_EQ(j[0]["sessions"]["A"][1]["state"], "draining");
  EXPECT_EQ(j[1]["skip_reason"], "why");
}

TEST(ReportTest, HtmlDrawsABarPerRequestAndABandPerStateEscapingText) {
  Result r = sample();
  r.failures.push_back({Level::spec, "step <1>", "bad & worse"});
  const auto html = render_html({r}, "t<itle>");
  EXPECT_NE(html.find("<title>t&lt;itle&gt;</title>"), std::string::npos);
  EXPECT_NE(html.find("a&lt;b"), std::string::npos);
  EXPECT_EQ(html.find("a<b"), std::string::npos) << "names are escaped";
  EXPECT_NE(html.find("bad &amp; worse"), std::string::npos);
  std::size_t bars = 0;
  for (auto at = html.find("<rect"); at != std::string::npos; at = html.find("<rect", at + 1)) ++bars;
  EXPECT_EQ(bars, 6U + 3U) << "six requests, three state bands";
  for (const char* colour : {"#2ca02c", "#ff9f1c", "#d62728", "#7f7f7f", "#e3f2e1", "#fff1d6", "#eeeeee"}) {
    EXPECT_NE(html.find(colour), std::string::npos) << colour;
  }
}

}  // namespace
}  // namespace graceway::replay
