#pragma once
// Captures graceway log lines for assertions ("open -> draining (delete)") and lets a test wait
// for a line to appear instead of sleeping.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/common.h>

namespace graceway::test {

class LogCapture {
public:
  LogCapture();  // attaches to every graceway logger; sets them to debug
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  struct Line {
    spdlog::level::level_enum level;
    std::string logger;
    std::string text;
  };

  // Waits until `count` lines contain `needle`. False on timeout (the test then fails).
  bool wait_for(std::string_view needle, std::size_t count = 1,
                std::chrono::milliseconds timeout = std::chrono::seconds(20));
  [[nodiscard]] std::size_t count(std::string_view needle) const;
  // Lines at error level or above.
  [[nodiscard]] std::vector<Line> errors() const;
  [[nodiscard]] std::vector<Line> lines() const;

  struct State {
    mutable std::mutex mu;  // guards lines
    std::condition_variable cv;
    std::vector<Line> lines;
  };

private:
  std::shared_ptr<State> state_;
  spdlog::sink_ptr sink_;
};

}  // namespace graceway::test
