#pragma once
// The tool worker pool: tool handlers run here, never on HTTP threads. Owns its threads and
// joins them in stop().

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>

namespace graceway {

class ToolPool {
public:
  explicit ToolPool(std::size_t threads);
  ~ToolPool();  // stop()
  ToolPool(const ToolPool&) = delete;
  ToolPool& operator=(const ToolPool&) = delete;

  // Queues `job`. Jobs are not dropped: the number waiting is bounded by the requests the HTTP
  // side admitted, which the HTTP thread limit bounds.
  void submit(std::function<void()> job);
  // Waits until no job is queued or running, or `give_up` passes. True when idle.
  bool wait_idle(std::chrono::steady_clock::time_point give_up);
  // Waits for running jobs, then joins the threads. Idempotent.
  void stop();

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::mutex mu_;                   // guards outstanding_
  std::condition_variable idle_cv_;
  std::size_t outstanding_ = 0;     // queued + running jobs
};

}  // namespace graceway
