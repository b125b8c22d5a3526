#include "transport/elastic_task_queue.hpp"

#include <algorithm>

namespace graceway {
namespace {
thread_local bool t_overflow_lane = false;
}

ElasticTaskQueue::ElasticTaskQueue(std::size_t max_threads, std::size_t max_queued,
                                   std::chrono::milliseconds max_queue_wait, Metrics& metrics,
                                   std::chrono::milliseconds idle_retire)
    : max_threads_(max_threads),
      max_queued_(max_queued),
      max_queue_wait_(max_queue_wait),
      idle_retire_(idle_retire),
      metrics_(metrics) {}

ElasticTaskQueue::~ElasticTaskQueue() { shutdown(); }

bool ElasticTaskQueue::in_overflow_lane() noexcept { return t_overflow_lane; }

void ElasticTaskQueue::reap_exited_locked() {
  for (const auto id : exited_) {
    const auto it = std::find_if(threads_.begin(), threads_.end(), [id](const std::thread& t) { return t.get_id() == id; });
    if (it != threads_.end()) {
      it->join();  // it has left work(); join returns as soon as the thread function returns
      threads_.erase(it);
    }
  }
  exited_.clear();
}

void ElasticTaskQueue::start_overflow_locked() {
  if (!overflow_thread_.joinable()) overflow_thread_ = std::thread([this] { overflow_work(); });
}

void ElasticTaskQueue::expire_queued_locked(std::chrono::steady_clock::time_point now) {
  // FIFO: the front is the oldest. During shutdown queued connections are still served.
  while (!shutdown_ && !jobs_.empty() && now - jobs_.front().queued_at >= max_queue_wait_) {
    ++metrics_.http_overload_rejections;
    overflow_jobs_.push_back(std::move(jobs_.front().fn));
    jobs_.pop_front();
  }
}

void ElasticTaskQueue::enqueue(std::function<void()> fn) {
  const auto now = std::chrono::steady_clock::now();
  std::unique_lock lock(mu_);
  if (shutdown_) return;
  reap_exited_locked();
  // Threads not inside a connection (idle, just started, or between two jobs) take queued jobs
  // without anyone waiting on a busy one; only jobs beyond them count against the queue bound.
  const std::size_t free_threads = threads_.size() - busy_;
  const std::size_t waiting = jobs_.size() > free_threads ? jobs_.size() - free_threads : 0;
  if (jobs_.size() < free_threads) {
    jobs_.push_back({std::move(fn), now});
    lock.unlock();
    cv_.notify_one();
    return;
  }
  if (threads_.size() < max_threads_) {
    jobs_.push_back({std::move(fn), now});
    threads_.emplace_back([this] { work(); });
    return;
  }
  if (waiting < max_queued_) {
    // It waits for a busy thread; the overflow thread answers it 503 if none frees up in time.
    jobs_.push_back({std::move(fn), now});
    start_overflow_locked();
    lock.unlock();
    cv_.notify_one();
    overflow_cv_.notify_one();
    return;
  }
  ++metrics_.http_overload_rejections;
  overflow_jobs_.push_back(std::move(fn));
  start_overflow_locked();
  lock.unlock();
  overflow_cv_.notify_one();
}

void ElasticTaskQueue::work() {
  std::unique_lock lock(mu_);
  for (;;) {
    const bool woke = cv_.wait_for(lock, idle_retire_, [this] { return shutdown_ || !jobs_.empty(); });
    if (jobs_.empty()) {
      if (shutdown_) return;
      if (!woke) {
        // Idle too long: retire. enqueue() or shutdown() joins us.
        exited_.push_back(std::this_thread::get_id());
        return;
      }
      continue;
    }
    auto job = std::move(jobs_.front().fn);
    jobs_.pop_front();
    ++busy_;
    lock.unlock();
    job();
    job = nullptr;
    lock.lock();
    --busy_;
  }
}

void ElasticTaskQueue::overflow_work() {
  t_overflow_lane = true;
  std::unique_lock lock(mu_);
  for (;;) {
    expire_queued_locked(std::chrono::steady_clock::now());
    if (overflow_jobs_.empty()) {
      if (shutdown_) return;
      if (jobs_.empty()) {
        overflow_cv_.wait(lock);
      } else {
        overflow_cv_.wait_until(lock, jobs_.front().queued_at + max_queue_wait_);
      }
      continue;
    }
    auto job = std::move(overflow_jobs_.front());
    overflow_jobs_.pop_front();
    lock.unlock();
    job();
    job = nullptr;
    lock.lock();
  }
}

void ElasticTaskQueue::shutdown() {
  std::list<std::thread> threads;
  std::thread overflow;
  {
    std::lock_guard lock(mu_);
    if (shutdown_ && threads_.empty() && !overflow_thread_.joinable()) return;
    shutdown_ = true;
    threads.swap(threads_);
    overflow = std::move(overflow_thread_);
    exited_.clear();
  }
  cv_.notify_all();
  overflow_cv_.notify_all();
  // Queued connections are still served (httplib expects that); then every thread returns.
  for (auto& t : threads) t.join();
  if (overflow.joinable()) overflow.join();
}

}  // namespace graceway
