#pragma once
// A child process (the real graceway binary) with its stdout and stderr on one pipe, so a test or
// graceway-replay can wait for a log line, signal the process and collect its exit code, all with
// deadlines.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace graceway::replay {

class ChildProcess {
public:
  ChildProcess(const std::string& path, const std::vector<std::string>& args);
  ~ChildProcess();  // SIGKILL if still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  [[nodiscard]] bool started() const { return pid_ > 0; }
  [[nodiscard]] pid_t pid() const { return pid_; }
  // Reads output until a line contains `needle`; that line, or nullopt on timeout or EOF.
  std::optional<std::string> wait_for_line(std::string_view needle,
                                           std::chrono::milliseconds timeout = std::chrono::seconds(20));
  [[nodiscard]] const std::string& output() const { return output_; }
  // Reads whatever output is already waiting, without blocking.
  void collect();
  void signal(int signo);
  // Exit code (128 + signal when killed), or nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds(60));

private:
  bool read_some(std::chrono::steady_clock::time_point deadline);

  pid_t pid_ = -1;
  int out_ = -1;
  bool eof_ = false;
  std::string output_;
  std::size_t scanned_ = 0;
  std::optional<int> exit_code_;
};

}  // namespace graceway::replay
