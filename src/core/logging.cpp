#include "graceway/logging.hpp"

#include <atomic>
#include <chrono>
#include <ctime>
#include <iterator>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace graceway::logging {
namespace {

// One JSON object per line: {"ts","level","logger","thread","msg"}. Escaping goes through
// nlohmann::json so any bytes in a message still give valid JSON.
class JsonFormatter final : public spdlog::formatter {
public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto since_epoch = msg.time.time_since_epoch();
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
    const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - secs);
    const std::time_t t = secs.count();
    std::tm tm{};
    gmtime_r(&t, &tm);
    char stamp[40];
    const auto n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    std::string ts(stamp, n);
    ts += '.';
    const auto ms = std::to_string(millis.count());
    ts.append(3 - ms.size(), '0').append(ms).append("Z");

    nlohmann::json line = {
        {"ts", ts},
        {"level", std::string(spdlog::level::to_string_view(msg.level).data(),
                              spdlog::level::to_string_view(msg.level).size())},
        {"logger", std::string(msg.logger_name.data(), msg.logger_name.size())},
        {"thread", msg.thread_id},
        {"msg", std::string(msg.payload.data(), msg.payload.size())},
    };
    const auto text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(text.data(), text.data() + text.size());
    dest.push_back('\n');
  }
  [[nodiscard]] std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

// Counts error-level lines; tests and /metrics use it to prove that nothing on the drain paths
// logs at error.
class ErrorCountingSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
  std::atomic<std::uint64_t> errors{0};

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (msg.level >= spdlog::level::err && msg.level != spdlog::level::off) ++errors;
  }
  void flush_() override {}
};

struct State {
  std::mutex mu;  // guards `configured` and logger creation
  std::shared_ptr<spdlog::sinks::dist_sink_mt> fanout = std::make_shared<spdlog::sinks::dist_sink_mt>();
  std::shared_ptr<ErrorCountingSink> counter = std::make_shared<ErrorCountingSink>();
  spdlog::sink_ptr console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  Options options;
  bool console_attached = false;
};

State& state() {
  static State s;
  return s;
}

constexpr const char* text_pattern = "%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v";

void apply_format(State& s) {
  if (s.options.format == Format::json) {
    s.fanout->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    s.fanout->set_pattern(text_pattern);
  }
}

}  // namespace

void configure(const Options& options) {
  auto& s = state();
  std::lock_guard lock(s.mu);
  s.options = options;
  if (options.to_stderr && !s.console_attached) {
    s.fanout->add_sink(s.console);
    s.console_attached = true;
  } else if (!options.to_stderr && s.console_attached) {
    s.fanout->remove_sink(s.console);
    s.console_attached = false;
  }
  apply_format(s);
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) {
    if (l->name().rfind("graceway.", 0) == 0) {
      l->set_level(options.level);
      l->flush_on(spdlog::level::warn);
    }
  });
}

std::shared_ptr<spdlog::logger> get(std::string_view name) {
  auto& s = state();
  const std::string key(name);
  if (auto existing = spdlog::get(key)) return existing;
  std::lock_guard lock(s.mu);
  if (auto existing = spdlog::get(key)) return existing;
  if (!s.console_attached && s.options.to_stderr) {
    s.fanout->add_sink(s.console);
    s.console_attached = true;
    apply_format(s);
  }
  auto logger = std::make_shared<spdlog::logger>(key, spdlog::sinks_init_list{s.fanout, s.counter});
  logger->set_level(s.options.level);
  logger->flush_on(spdlog::level::warn);
  // A failing sink must never take a request down with it.
  logger->set_error_handler([](const std::string&) {});
  spdlog::register_logger(logger);
  return logger;
}

void add_sink(const spdlog::sink_ptr& sink) { state().fanout->add_sink(sink); }
void remove_sink(const spdlog::sink_ptr& sink) { state().fanout->remove_sink(sink); }

std::uint64_t error_lines() { return state().counter->errors.load(); }

bool parse_level(std::string_view text, spdlog::level::level_enum& out) {
  static constexpr std::pair<std::string_view, spdlog::level::level_enum> table[] = {
      {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},   {"warn", spdlog::level::warn},
      {"error", spdlog::level::err},   {"critical", spdlog::level::critical},
      {"off", spdlog::level::off},
  };
  for (const auto& [name, level] : table) {
    if (name == text) {
      out = level;
      return true;
    }
  }
  return false;
}

}  // namespace graceway::logging
