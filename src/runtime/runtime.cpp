#include "runtime/runtime.hpp"

#include <csignal>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "graceway/logging.hpp"

namespace graceway {

namespace asio = boost::asio;

struct Runtime::Impl {
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::thread thread;                      // owned here; joined by stop()
  std::unique_ptr<asio::signal_set> signals;  // runtime thread only once started

  // Re-arms itself until the io_context stops; the shared_ptr keeps the timer alive.
  static void arm(const std::shared_ptr<asio::steady_timer>& timer, std::chrono::milliseconds interval,
                  const std::shared_ptr<std::function<void()>>& fn) {
    timer->expires_after(interval);
    timer->async_wait([timer, interval, fn](const boost::system::error_code& ec) {
      if (ec) return;
      (*fn)();
      arm(timer, interval, fn);
    });
  }

  void wait_signal(const std::shared_ptr<std::function<void(int)>>& on_signal) {
    signals->async_wait([this, on_signal](const boost::system::error_code& ec, int signo) {
      if (ec) return;
      (*on_signal)(signo);
      wait_signal(on_signal);
    });
  }
};

Runtime::Runtime() : impl_(std::make_unique<Impl>()) {}

Runtime::~Runtime() { stop(); }

void Runtime::start() {
  if (impl_->thread.joinable()) return;
  impl_->thread = std::thread([this] {
    // Handlers are ours and do not throw; if one ever does, log it and keep the thread alive.
    for (;;) {
      try {
        impl_->io.run();
        return;
      } catch (const std::exception& e) {
        logging::get("graceway.runtime")->critical("runtime handler threw: {}", e.what());
      }
    }
  });
}

void Runtime::stop() {
  if (!impl_) return;
  asio::post(impl_->io, [this] {
    if (impl_->signals) {
      boost::system::error_code ignored;
      impl_->signals->cancel(ignored);
    }
  });
  impl_->work.reset();
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->signals.reset();
}

void Runtime::schedule_at(std::chrono::steady_clock::time_point when, std::function<void()> fn) {
  auto timer = std::make_shared<asio::steady_timer>(impl_->io, when);
  timer->async_wait([timer, fn = std::move(fn)](const boost::system::error_code& ec) {
    if (!ec) fn();
  });
}

void Runtime::every(std::chrono::milliseconds interval, std::function<void()> fn) {
  auto timer = std::make_shared<asio::steady_timer>(impl_->io);
  Impl::arm(timer, interval, std::make_shared<std::function<void()>>(std::move(fn)));
}

void Runtime::watch_signals(std::function<void(int)> on_signal) {
  impl_->signals = std::make_unique<asio::signal_set>(impl_->io, SIGTERM, SIGINT);
  impl_->wait_signal(std::make_shared<std::function<void(int)>>(std::move(on_signal)));
}

}  // namespace graceway
