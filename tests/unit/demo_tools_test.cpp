// The demo tools against a fake ToolContext: results, argument errors, cancellation, progress.

#include "graceway/demo_tools.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace graceway {
namespace {

using nlohmann::json;

class FakeContext final : public ToolContext {
public:
  explicit FakeContext(json args, bool progress = false) : args_(std::move(args)), progress_(progress) {}
  [[nodiscard]] const json& arguments() const override { return args_; }
  [[nodiscard]] const std::string& session_id() const override { return session_; }
  [[nodiscard]] std::stop_token stop_token() const override { return stop_.get_token(); }
  [[nodiscard]] bool has_progress_token() const override { return progress_; }
  bool report_progress(double p, std::optional<double> total, std::string_view) override {
    reports.push_back(p);
    totals.push_back(total.value_or(-1));
    return true;
  }
  [[nodiscard]] const json& client_capabilities() const override { return capabilities_; }
  bool log(LogLevel, const json&, std::string_view) override { return false; }
  ClientReply ask_client(std::string_view, json, std::chrono::milliseconds, std::string_view) override { return {}; }
  bool close_stream() override { return false; }
  std::stop_source stop_;
  std::vector<double> reports;
  std::vector<double> totals;

private:
  json args_;
  bool progress_;
  std::string session_ = "s";
  json capabilities_ = json::object();
};

ToolResult call(const std::string& name, ToolContext& ctx) {
  ToolRegistry tools;
  add_demo_tools(tools);
  return tools.find(name)->handler(ctx);
}

TEST(DemoToolsTest, EchoReturnsTheText) {
  FakeContext ctx(json{{"text", "héllo"}});
  const auto r = call("echo", ctx).to_json();
  EXPECT_EQ(r["content"][0]["type"], "text");
  EXPECT_EQ(r["content"][0]["text"], "héllo");
  EXPECT_FALSE(r.contains("isError"));
  FakeContext bad(json{{"text", 3}});
  EXPECT_TRUE(call("echo", bad).is_error);
}

TEST(DemoToolsTest, AddKeepsIntegersExact) {
  FakeContext ints(json{{"a", 2}, {"b", 3}});
  const auto r = call("add", ints).to_json();
  EXPECT_EQ(r["content"][0]["text"], "5");
  EXPECT_EQ(r["structuredContent"]["sum"], 5);
  FakeContext reals(json{{"a", 0.5}, {"b", 0.25}});
  EXPECT_EQ(call("add", reals).to_json()["structuredContent"]["sum"], 0.75);
  FakeContext huge(json{{"a", 18446744073709551615ULL}, {"b", 1}});
  EXPECT_EQ(call("add", huge).to_json()["structuredContent"]["sum"], 18446744073709551616.0);
  FakeContext overflow(json{{"a", 9223372036854775807LL}, {"b", 1}});
  EXPECT_TRUE(call("add", overflow).to_json()["structuredContent"]["sum"].is_number_float());
  FakeContext bad(json{{"a", "2"}, {"b", 3}});
  EXPECT_TRUE(call("add", bad).is_error);
}

TEST(DemoToolsTest, SleepRejectsBadArguments) {
  for (const json& args : {json{{"ms", -1}}, json{{"ms", "10"}}, json{{"ms", 1.5}}, json::object(), json{{"ms", 3600001}}}) {
    FakeContext ctx(args);
    EXPECT_TRUE(call("sleep", ctx).is_error) << args.dump();
  }
}

TEST(DemoToolsTest, SleepStopsWhenCancelled) {
  FakeContext ctx(json{{"ms", 3'600'000}});
  ctx.stop_.request_stop();  // cancelled before it starts: returns at once instead of in an hour
  const auto r = call("sleep", ctx);
  EXPECT_TRUE(r.is_error);
  EXPECT_EQ(r.to_json()["content"][0]["text"], "sleep: cancelled");
}

TEST(DemoToolsTest, SleepReportsIncreasingProgressOnlyWithAToken) {
  FakeContext with(json{{"ms", 120}}, true);
  EXPECT_FALSE(call("sleep", with).is_error);
  ASSERT_FALSE(with.reports.empty());
  for (std::size_t i = 1; i < with.reports.size(); ++i) EXPECT_GT(with.reports[i], with.reports[i - 1]);
  EXPECT_EQ(with.reports.back(), 120);
  EXPECT_EQ(with.totals.back(), 120);

  FakeContext without(json{{"ms", 10}}, false);
  EXPECT_FALSE(call("sleep", without).is_error);
  EXPECT_TRUE(without.reports.empty());
}

}  // namespace
}  // namespace graceway
