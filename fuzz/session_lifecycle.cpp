// The session lifecycle: bytes decoded into operations on a few sessions (open, request start and
// finish, DELETE, notifications/cancelled, client gone, GET stream attach/detach, clock advance
// with the deadline timer firing, idle tick, process shutdown), with a ManualClock and a timer
// queue standing in for the runtime thread. After every operation:
//  - no transition out of closed, and open is never re-entered;
//  - in flight never negative: each session's count equals the guards the model still holds,
//    and the process gauges equal the sums over sessions;
//  - a session closes only when nothing is in flight or its drain deadline has passed;
//  - Retry-After is at least 1 and never beyond the drain window (rounded up to seconds).

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "fuzz_input.hpp"
#include "graceway/logging.hpp"
#include "session/session.hpp"
#include "transport/reply_stream.hpp"

namespace {

using namespace graceway;
using namespace std::chrono_literals;

struct Timer {
  Clock::time_point when;
  std::function<void()> fn;
};

struct Tracked {
  std::shared_ptr<Session> session;
  std::map<std::string, InFlightGuard> guards;  // requests the "transport" still holds
  std::shared_ptr<ReplyStream> get_stream;
  SessionState last = SessionState::open;
  std::chrono::milliseconds window{0};          // of the drain that started, if any
  int next_id = 0;
};

struct World {
  ManualClock clock;
  Metrics metrics;
  std::vector<Timer> timers;
  SessionEnvironment env;
  std::vector<Tracked> sessions;

  World() {
    env.clock = &clock;
    env.metrics = &metrics;
    env.schedule = [this](Clock::time_point when, std::function<void()> fn) {
      timers.push_back({when, std::move(fn)});
    };
  }

  // The runtime thread: fires every timer that is due, in time order.
  void run_due_timers() {
    std::stable_sort(timers.begin(), timers.end(), [](const Timer& a, const Timer& b) { return a.when < b.when; });
    std::vector<Timer> due;
    auto it = std::partition_point(timers.begin(), timers.end(), [&](const Timer& t) { return t.when <= clock.now(); });
    due.assign(std::make_move_iterator(timers.begin()), std::make_move_iterator(it));
    timers.erase(timers.begin(), it);
    for (auto& t : due) t.fn();
  }
};

std::chrono::milliseconds window_from(fuzz::FuzzInput& in) { return std::chrono::milliseconds(in.below(16) * 250); }

void check(World& w, Tracked& t) {
  const auto now = w.clock.now();
  const auto state = t.session->state();
  FUZZ_CHECK(!(t.last == SessionState::closed && state != SessionState::closed));
  FUZZ_CHECK(!(t.last == SessionState::draining && state == SessionState::open));
  const std::size_t held = t.guards.size();
  if (state == SessionState::closed) {
    FUZZ_CHECK(t.session->in_flight() == 0);
    if (t.last != SessionState::closed) {
      // It closed during this step: nothing was in flight, or its drain deadline had passed.
      FUZZ_CHECK(held == 0 || (t.last == SessionState::draining && now >= t.session->deadline()));
    }
  } else {
    FUZZ_CHECK(t.session->in_flight() == held);
  }
  if (state == SessionState::draining) {
    FUZZ_CHECK(held > 0 || t.last == SessionState::draining);
    const auto retry = t.session->retry_after();
    const auto ceiling = std::max(std::chrono::ceil<std::chrono::seconds>(t.window), std::chrono::seconds(1));
    FUZZ_CHECK(retry >= 1s && retry <= ceiling);
  }
  t.last = state;
}

void check_gauges(World& w) {
  std::int64_t open = 0;
  std::int64_t draining = 0;
  std::int64_t in_flight = 0;
  for (const auto& t : w.sessions) {
    const auto s = t.session->state();
    open += s == SessionState::open ? 1 : 0;
    draining += s == SessionState::draining ? 1 : 0;
    in_flight += static_cast<std::int64_t>(t.session->in_flight());
  }
  FUZZ_CHECK(w.metrics.sessions_open.load() == open);
  FUZZ_CHECK(w.metrics.sessions_draining.load() == draining);
  FUZZ_CHECK(w.metrics.requests_in_flight.load() == in_flight);
  FUZZ_CHECK(in_flight >= 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = [] {
    logging::configure({.level = spdlog::level::off, .format = logging::Format::text, .to_stderr = false});
    return true;
  }();
  (void)quiet;

  fuzz::FuzzInput in(data, size);
  World w;
  const auto idle_timeout = std::chrono::milliseconds(250 * (1 + in.below(8)));
  int steps = 0;
  while (!in.empty() && steps++ < 256) {
    const unsigned op = in.below(11);
    if (op == 0 || w.sessions.empty()) {
      if (w.sessions.size() < 4) {
        // Built by appending: gcc 12 at -O3 reports a false -Wrestrict for `"s" + std::to_string(...)`
        // (operator+(const char*, string&&) inlined; GCC PR 105329, as in src/transport/http_headers.cpp).
        std::string id(1, 's');
        id.append(std::to_string(w.sessions.size()));
        w.sessions.push_back({std::make_shared<Session>(std::move(id), "2025-11-25", w.env),
                              {}, nullptr, SessionState::open, 0ms, 0});
        ++w.metrics.sessions_created;
      }
      continue;
    }
    Tracked& t = w.sessions[in.below(static_cast<unsigned>(w.sessions.size()))];
    switch (op) {
      case 1: {  // POST a request
        const bool reuse = in.flag() && !t.guards.empty();
        const std::int64_t n = reuse ? std::stoll(t.guards.begin()->first.substr(2)) : t.next_id++;
        auto reply = std::make_shared<ReplyStream>(ReplyStream::Format::sse, false, 8, w.metrics);
        const auto key = jsonrpc::key_of(jsonrpc::RequestId{n});
        reply->expect(key);
        auto begin = t.session->begin_request({jsonrpc::RequestId{n}, {}, reply, false});
        if (begin.result == Session::BeginResult::admitted) {
          FUZZ_CHECK(t.last == SessionState::open && !reuse);
          t.guards.emplace(key, std::move(begin.guard));
        } else if (begin.result == Session::BeginResult::duplicate_id) {
          FUZZ_CHECK(reuse);
        } else {
          FUZZ_CHECK(t.session->state() != SessionState::open);
        }
        break;
      }
      case 2:  // a request finishes
        if (!t.guards.empty()) {
          auto it = std::next(t.guards.begin(), in.below(static_cast<unsigned>(t.guards.size())));
          t.guards.erase(it);
        }
        break;
      case 3: {  // DELETE
        const auto window = window_from(in);
        if (t.session->state() == SessionState::open) t.window = window;
        t.session->begin_drain(EndReason::remote_delete, window);
        break;
      }
      case 4:  // notifications/cancelled: stops the work; the guard is released when it returns
        if (!t.guards.empty()) (void)t.session->cancel_request(t.guards.begin()->first);
        (void)t.session->cancel_request("i:999999");
        break;
      case 5: {  // the client of some requests went away
        std::vector<std::string> keys;
        for (const auto& g : t.guards) keys.push_back(g.first);
        t.session->stop_requests(keys);
        break;
      }
      case 6:  // advance the clock; the runtime fires due deadlines
        w.clock.advance(std::chrono::milliseconds(in.u16() % 5000));
        w.run_due_timers();
        break;
      case 7:  // idle tick
        (void)t.session->expire_if_idle(idle_timeout);
        break;
      case 8: {  // process shutdown: every session drains with the (maybe shorter) window
        const auto window = window_from(in);
        for (auto& s : w.sessions) {
          if (s.session->state() == SessionState::open) s.window = window;
          s.session->begin_drain(EndReason::shutdown, window);
        }
        break;
      }
      case 9:  // GET stream opens
        if (!t.get_stream) {
          auto stream = std::make_shared<ReplyStream>(ReplyStream::Format::sse, false, 8, w.metrics);
          if (t.session->attach_stream(stream) == Session::AttachResult::attached) t.get_stream = std::move(stream);
        }
        (void)t.session->notify(jsonrpc::make_notification("notifications/tools/list_changed", nullptr));
        break;
      case 10:  // GET stream ends
        if (t.get_stream) {
          t.session->detach_stream(t.get_stream.get());
          t.get_stream.reset();
        }
        break;
      default: break;
    }
    for (auto& s : w.sessions) check(w, s);
    check_gauges(w);
  }
  // Every request finishes; every session ends once its deadline passes.
  for (auto& t : w.sessions) t.guards.clear();
  for (auto& t : w.sessions) t.session->begin_drain(EndReason::shutdown, 0ms);
  w.run_due_timers();
  for (auto& t : w.sessions) {
    check(w, t);
    FUZZ_CHECK(t.session->state() == SessionState::closed);
  }
  check_gauges(w);
  FUZZ_CHECK(w.metrics.sessions_open.load() == 0 && w.metrics.sessions_draining.load() == 0);
  return 0;
}
