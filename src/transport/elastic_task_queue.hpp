#pragma once
// httplib's connection task queue, made elastic and bounded. cpp-httplib serves each connection
// on one thread for its whole life (SSE streams included), so a fixed pool with an unbounded
// queue lets a few long streams starve everyone else. This queue:
//   * starts threads on demand up to `max_threads`, and retires threads idle for `idle_retire`;
//   * queues at most `max_queued` connections when every thread is busy, each for at most
//     `max_queue_wait` (threads held by long streams may never free up);
//   * hands any further connection, and any that waited too long, to a single overflow thread,
//     where the request is answered at once with 503 + Retry-After (see in_overflow_lane()).

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

#include <httplib.h>

#include "graceway/metrics.hpp"

namespace graceway {

class ElasticTaskQueue final : public httplib::TaskQueue {
public:
  ElasticTaskQueue(std::size_t max_threads, std::size_t max_queued, std::chrono::milliseconds max_queue_wait,
                   Metrics& metrics, std::chrono::milliseconds idle_retire = std::chrono::seconds(30));
  ~ElasticTaskQueue() override;
  ElasticTaskQueue(const ElasticTaskQueue&) = delete;
  ElasticTaskQueue& operator=(const ElasticTaskQueue&) = delete;

  void enqueue(std::function<void()> fn) override;  // the accept thread
  void shutdown() override;                         // joins every thread

  // True on the overflow thread: the request handler must answer 503 without doing work.
  [[nodiscard]] static bool in_overflow_lane() noexcept;

private:
  struct Job {
    std::function<void()> fn;
    std::chrono::steady_clock::time_point queued_at;
  };

  void work();           // a pool thread
  void overflow_work();  // the overflow thread
  void reap_exited_locked();
  void start_overflow_locked();
  void expire_queued_locked(std::chrono::steady_clock::time_point now);

  const std::size_t max_threads_;
  const std::size_t max_queued_;
  const std::chrono::milliseconds max_queue_wait_;
  const std::chrono::milliseconds idle_retire_;
  Metrics& metrics_;

  std::mutex mu_;                                 // guards everything below
  std::condition_variable cv_;                    // pool threads wait for jobs
  std::deque<Job> jobs_;                          // oldest first
  std::list<std::thread> threads_;                // owned; joined on retire or shutdown
  std::vector<std::thread::id> exited_;           // retired threads waiting to be joined
  std::size_t busy_ = 0;                          // threads inside a connection
  bool shutdown_ = false;

  std::condition_variable overflow_cv_;           // also wakes when the oldest queued job expires
  std::deque<std::function<void()>> overflow_jobs_;
  std::thread overflow_thread_;                   // started when a connection first has to wait
};

}  // namespace graceway
