#pragma once
// The runtime thread: one Asio io_context that runs drain deadlines, idle reaping and signal
// handling. Everything posted here runs on that one thread, in order. Asio stays in this file's
// .cpp so public headers and most translation units never see it.

#include <chrono>
#include <functional>
#include <memory>

namespace graceway {

class Runtime {
public:
  Runtime();
  ~Runtime();  // stop() + join
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  void start();
  // Cancels timers, lets queued handlers finish, joins the thread. Idempotent.
  void stop();

  // Runs `fn` on the runtime thread at or after `when`.
  void schedule_at(std::chrono::steady_clock::time_point when, std::function<void()> fn);
  // Runs `fn` every `interval` until stop().
  void every(std::chrono::milliseconds interval, std::function<void()> fn);
  // Calls `on_signal(signo)` on the runtime thread for each SIGTERM or SIGINT.
  void watch_signals(std::function<void(int)> on_signal);

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace graceway
