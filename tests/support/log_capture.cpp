#include "support/log_capture.hpp"

#include <cstdlib>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include "graceway/logging.hpp"

namespace graceway::test {
namespace {

class CaptureSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
  explicit CaptureSink(std::shared_ptr<LogCapture::State> state) : state_(std::move(state)) {}

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    {
      std::lock_guard lock(state_->mu);
      state_->lines.push_back({msg.level, std::string(msg.logger_name.data(), msg.logger_name.size()),
                               std::string(msg.payload.data(), msg.payload.size())});
    }
    state_->cv.notify_all();
  }
  void flush_() override {}

private:
  std::shared_ptr<LogCapture::State> state_;
};

}  // namespace

LogCapture::LogCapture() : state_(std::make_shared<State>()), sink_(std::make_shared<CaptureSink>(state_)) {
  logging::Options options;
  options.level = spdlog::level::debug;
  // GRACEWAY_TEST_LOG=1 also prints the lines, for debugging a failing test.
  const char* echo = std::getenv("GRACEWAY_TEST_LOG");
  options.to_stderr = echo != nullptr && std::string(echo) == "1";
  logging::configure(options);
  for (const char* name : {"graceway.session", "graceway.http", "graceway.tool", "graceway.server", "graceway.runtime"}) {
    logging::get(name)->set_level(spdlog::level::debug);
  }
  logging::add_sink(sink_);
}

LogCapture::~LogCapture() { logging::remove_sink(sink_); }

bool LogCapture::wait_for(std::string_view needle, std::size_t count, std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mu);
  return state_->cv.wait_for(lock, timeout, [&] {
    std::size_t seen = 0;
    for (const auto& line : state_->lines) {
      if (line.text.find(needle) != std::string::npos) ++seen;
    }
    return seen >= count;
  });
}

std::size_t LogCapture::count(std::string_view needle) const {
  std::lock_guard lock(state_->mu);
  std::size_t seen = 0;
  for (const auto& line : state_->lines) {
    if (line.text.find(needle) != std::string::npos) ++seen;
  }
  return seen;
}

std::vector<LogCapture::Line> LogCapture::errors() const {
  std::lock_guard lock(state_->mu);
  std::vector<Line> out;
  for (const auto& line : state_->lines) {
    if (line.level >= spdlog::level::err && line.level != spdlog::level::off) out.push_back(line);
  }
  return out;
}

std::vector<LogCapture::Line> LogCapture::lines() const {
  std::lock_guard lock(state_->mu);
  return state_->lines;
}

}  // namespace graceway::test
