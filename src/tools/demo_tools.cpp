#include "graceway/demo_tools.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <optional>
#include <string>

namespace graceway {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

// Progress is reported at this interval, well inside the promised "at least every 100 ms".
constexpr milliseconds kProgressStep{50};
constexpr std::int64_t kMaxSleepMs = 3'600'000;

ToolResult echo(ToolContext& ctx) {
  const auto& args = ctx.arguments();
  const auto text = args.find("text");
  if (text == args.end() || !text->is_string()) return ToolResult::error("echo: \"text\" must be a string");
  return ToolResult::text(text->get<std::string>());
}

ToolResult sleep(ToolContext& ctx) {
  const auto& args = ctx.arguments();
  const auto ms_arg = args.find("ms");
  if (ms_arg == args.end() || !ms_arg->is_number_integer()) {
    return ToolResult::error("sleep: \"ms\" must be an integer");
  }
  const auto ms = ms_arg->get<std::int64_t>();
  if (ms < 0 || ms > kMaxSleepMs) return ToolResult::error("sleep: \"ms\" must be between 0 and 3600000");

  const auto total = milliseconds(ms);
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    const auto elapsed = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
    if (elapsed >= total) break;
    if (!ctx.wait_for(std::min(kProgressStep, total - elapsed))) {
      return ToolResult::error("sleep: cancelled");
    }
    if (ctx.has_progress_token()) {
      const auto done = std::min(total, std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start));
      ctx.report_progress(static_cast<double>(done.count()), static_cast<double>(ms));
    }
  }
  return ToolResult::text("slept " + std::to_string(ms) + " ms");
}

// The value as an int64 when it is a JSON integer that fits; nullopt otherwise.
std::optional<std::int64_t> exact_integer(const json& v) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    return static_cast<std::int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<std::int64_t>();
  return std::nullopt;
}

ToolResult add(ToolContext& ctx) {
  const auto& args = ctx.arguments();
  const auto a = args.find("a");
  const auto b = args.find("b");
  if (a == args.end() || b == args.end() || !a->is_number() || !b->is_number()) {
    return ToolResult::error("add: \"a\" and \"b\" must be numbers");
  }
  // Integers stay exact when both fit in int64 and so does the sum; anything else is a double.
  json sum;
  const auto x = exact_integer(*a);
  const auto y = exact_integer(*b);
  std::int64_t exact = 0;
  if (x && y && !__builtin_add_overflow(*x, *y, &exact)) {
    sum = exact;
  } else {
    sum = a->get<double>() + b->get<double>();
  }
  ToolResult result = ToolResult::text(sum.dump());
  result.structured_content = {{"sum", sum}};
  return result;
}

ToolDefinition define(std::string name, std::string title, std::string description, json input_schema,
                      json output_schema = nullptr) {
  ToolDefinition d;
  d.name = std::move(name);
  d.title = std::move(title);
  d.description = std::move(description);
  d.input_schema = std::move(input_schema);
  d.output_schema = std::move(output_schema);
  return d;
}

}  // namespace

void add_demo_tools(ToolRegistry& registry) {
  registry.add(define("echo", "Echo", "Returns the given text unchanged.",
                      {{"type", "object"},
                       {"properties", {{"text", {{"type", "string"}, {"description", "Text to echo"}}}}},
                       {"required", {"text"}}}),
               echo, ToolExecution::inline_nonblocking);  // computes only: no hand-off to the pool
  registry.add(define("sleep", "Sleep", "Waits the given number of milliseconds, reporting progress; honours cancellation.",
                      {{"type", "object"},
                       {"properties",
                        {{"ms", {{"type", "integer"}, {"minimum", 0}, {"maximum", kMaxSleepMs},
                                 {"description", "Milliseconds to wait"}}}}},
                       {"required", {"ms"}}}),
               sleep);
  registry.add(define("add", "Add", "Adds two numbers.",
                      {{"type", "object"},
                       {"properties", {{"a", {{"type", "number"}}}, {"b", {{"type", "number"}}}}},
                       {"required", {"a", "b"}}},
                      {{"type", "object"}, {"properties", {{"sum", {{"type", "number"}}}}}, {"required", {"sum"}}}),
               add, ToolExecution::inline_nonblocking);
}

}  // namespace graceway
