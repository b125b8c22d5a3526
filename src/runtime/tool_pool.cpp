#include "runtime/tool_pool.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

namespace graceway {

struct ToolPool::Impl {
  explicit Impl(std::size_t threads) : pool(threads) {}
  boost::asio::thread_pool pool;
  bool stopped = false;  // the server's lifecycle thread only
};

ToolPool::ToolPool(std::size_t threads) : impl_(std::make_unique<Impl>(threads)) {}

ToolPool::~ToolPool() { stop(); }

void ToolPool::submit(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    ++outstanding_;
  }
  boost::asio::post(impl_->pool, [this, job = std::move(job)]() mutable {
    job();
    job = nullptr;  // release what the job holds (in-flight guards) before reporting idle
    std::lock_guard lock(mu_);
    if (--outstanding_ == 0) idle_cv_.notify_all();
  });
}

bool ToolPool::wait_idle(std::chrono::steady_clock::time_point give_up) {
  std::unique_lock lock(mu_);
  return idle_cv_.wait_until(lock, give_up, [this] { return outstanding_ == 0; });
}

void ToolPool::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->pool.join();
}

}  // namespace graceway
