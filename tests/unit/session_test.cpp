// The session state machine, driven by a ManualClock and a hand-fired scheduler: every edge of
// open -> draining -> closed, and the refusal of every other edge.

#include "session/session.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <stop_token>
#include <vector>

#include "graceway/clock.hpp"
#include "graceway/metrics.hpp"
#include "transport/reply_stream.hpp"

namespace graceway {
namespace {

using namespace std::chrono_literals;

struct ScheduledCall {
  Clock::time_point when;
  std::function<void()> fn;
};

class SessionTest : public ::testing::Test {
protected:
  SessionTest() {
    env_.clock = &clock_;
    env_.metrics = &metrics_;
    env_.schedule = [this](Clock::time_point when, std::function<void()> fn) {
      scheduled_.push_back({when, std::move(fn)});
    };
    env_.forget = [this](const std::string& id) { forgotten_.push_back(id); };
  }

  std::shared_ptr<Session> make_session() { return std::make_shared<Session>("s1", "2025-11-25", env_); }

  std::shared_ptr<ReplyStream> make_stream(ReplyStream::Format format = ReplyStream::Format::sse) {
    return std::make_shared<ReplyStream>(format, false, 16, metrics_);
  }

  // Admits request `n` on `session`, its response expected on `stream`.
  Session::Begin admit(Session& session, std::int64_t n, const std::shared_ptr<ReplyStream>& stream,
                       std::stop_source stop = {}) {
    stream->expect(jsonrpc::key_of(jsonrpc::RequestId{n}));
    return session.begin_request({jsonrpc::RequestId{n}, std::move(stop), stream});
  }

  // Fires every scheduled call that is due at the clock's current time.
  void fire_due() {
    auto due = std::move(scheduled_);
    scheduled_.clear();
    for (auto& call : due) {
      if (call.when <= clock_.now()) {
        call.fn();
      } else {
        scheduled_.push_back(std::move(call));
      }
    }
  }

  // Admits request 7 with a tool that returns its result the moment it is stopped, as the demo
  // sleep tool does; its key.
  std::string admit_tool_that_returns_when_stopped(Session& session, const std::shared_ptr<ReplyStream>& stream) {
    const auto key = jsonrpc::key_of(jsonrpc::RequestId{7});
    returning_tool_.emplace(admit(session, 7, stream, tool_stop_));
    EXPECT_EQ(returning_tool_->result, Session::BeginResult::admitted);
    tool_returns_.emplace(tool_stop_.get_token(), [stream, key] {
      stream->complete(key, jsonrpc::make_result(jsonrpc::RequestId{7}, {{"content", nlohmann::json::array()}}));
    });
    return key;
  }

  ManualClock clock_;
  Metrics metrics_;
  SessionEnvironment env_;
  std::stop_source tool_stop_;
  std::optional<Session::Begin> returning_tool_;
  std::optional<std::stop_callback<std::function<void()>>> tool_returns_;
  std::vector<ScheduledCall> scheduled_;
  std::vector<std::string> forgotten_;
};

TEST_F(SessionTest, StartsOpenAndAdmitsRequests) {
  auto session = make_session();
  auto stream = make_stream();
  EXPECT_EQ(session->state(), SessionState::open);
  auto begin = admit(*session, 1, stream);
  EXPECT_EQ(begin.result, Session::BeginResult::admitted);
  EXPECT_TRUE(begin.guard);
  EXPECT_EQ(session->in_flight(), 1U);
  EXPECT_EQ(metrics_.requests_in_flight.load(), 1);
  begin.guard.release();
  EXPECT_EQ(session->in_flight(), 0U);
  EXPECT_EQ(metrics_.requests_in_flight.load(), 0);
  EXPECT_EQ(session->state(), SessionState::open);
}

TEST_F(SessionTest, DeleteWithNothingInFlightClosesAtOnce) {
  auto session = make_session();
  session->begin_drain(EndReason::remote_delete, 30s);
  EXPECT_EQ(session->state(), SessionState::closed);
  EXPECT_TRUE(scheduled_.empty());
  ASSERT_EQ(forgotten_.size(), 1U);
  EXPECT_EQ(metrics_.sessions_open.load(), 0);
  EXPECT_EQ(metrics_.sessions_ended[static_cast<int>(EndReason::remote_delete)].load(), 1U);
}

TEST_F(SessionTest, DeleteWithWorkInFlightDrainsUntilTheLastRequestEnds) {
  auto session = make_session();
  auto stream = make_stream();
  auto first = admit(*session, 1, stream);
  auto second = admit(*session, 2, stream);

  session->begin_drain(EndReason::remote_delete, 30s);
  EXPECT_EQ(session->state(), SessionState::draining);
  EXPECT_EQ(session->deadline(), clock_.now() + 30s);
  ASSERT_EQ(scheduled_.size(), 1U);
  EXPECT_EQ(scheduled_.front().when, clock_.now() + 30s);
  EXPECT_EQ(metrics_.sessions_draining.load(), 1);
  EXPECT_EQ(metrics_.sessions_open.load(), 0);

  first.guard.release();
  EXPECT_EQ(session->state(), SessionState::draining);
  second.guard.release();
  EXPECT_EQ(session->state(), SessionState::closed);
  EXPECT_EQ(metrics_.sessions_ended[static_cast<int>(EndReason::drained)].load(), 1U);
  EXPECT_EQ(metrics_.sessions_draining.load(), 0);
  EXPECT_EQ(forgotten_.size(), 1U);

  // The timer still fires later; a closed session ignores it.
  clock_.advance(31s);
  fire_due();
  EXPECT_EQ(session->state(), SessionState::closed);
  EXPECT_EQ(metrics_.sessions_ended[static_cast<int>(EndReason::deadline)].load(), 0U);
}

TEST_F(SessionTest, DeadlineClosesAndAnswersWorkStillRunning) {
  auto session = make_session();
  auto stream = make_stream(ReplyStream::Format::json);
  std::stop_source stop;
  auto begin = admit(*session, 7, stream, stop);
  session->begin_drain(EndReason::remote_delete, 2s);

  clock_.advance(1999ms);
  fire_due();
  EXPECT_EQ(session->state(), SessionState::draining) << "the deadline has not passed yet";

  clock_.advance(1ms);
  fire_due();
  EXPECT_EQ(session->state(), SessionState::closed);
  EXPECT_TRUE(stop.stop_requested()) << "work still running is cancelled";
  EXPECT_EQ(session->in_flight(), 0U);
  EXPECT_EQ(metrics_.requests_in_flight.load(), 0);
  EXPECT_EQ(metrics_.deadline_errors.load(), 1U);
  ASSERT_TRUE(stream->finished());
  const auto body = nlohmann::json::parse(stream->take_body());
  EXPECT_EQ(body["id"], 7);
  EXPECT_EQ(body["error"]["code"], -32000);

  // The tool finishes after the deadline: its guard is a no-op, its result is dropped.
  begin.guard.release();
  EXPECT_EQ(metrics_.requests_in_flight.load(), 0);
  EXPECT_FALSE(stream->complete(jsonrpc::key_of(jsonrpc::RequestId{7}), nlohmann::json::object()));
  EXPECT_EQ(metrics_.late_results.load(), 1U);
}

TEST_F(SessionTest, RetryAfterIsSecondsLeftRoundedUpAndAtLeastOne) {
  auto session = make_session();
  auto stream = make_stream();
  auto begin = admit(*session, 1, stream);
  EXPECT_EQ(session->retry_after(), 1s) << "an open session has no window";
  session->begin_drain(EndReason::remote_delete, 30s);
  EXPECT_EQ(session->retry_after(), 30s);
  clock_.advance(500ms);
  EXPECT_EQ(session->retry_after(), 30s);
  clock_.advance(28600ms);  // 900 ms left
  EXPECT_EQ(session->retry_after(), 1s);
  clock_.advance(900ms);  // at the deadline, timer not fired yet
  EXPECT_EQ(session->retry_after(), 1s);
}

TEST_F(SessionTest, RetryAfterOverrideWins) {
  env_.retry_after_override = 7s;
  auto session = make_session();
  auto stream = make_stream();
  auto begin = admit(*session, 1, stream);
  session->begin_drain(EndReason::remote_delete, 30s);
  EXPECT_EQ(session->retry_after(), 7s);
}

TEST_F(SessionTest, DeleteWhileDrainingKeepsDeadline) {
  auto session = make_session();
  auto stream = make_stream();
  auto begin = admit(*session, 1, stream);
  session->begin_drain(EndReason::remote_delete, 30s);
  const auto deadline = session->deadline();
  clock_.advance(10s);
  session->begin_drain(EndReason::remote_delete, 30s);
  EXPECT_EQ(session->state(), SessionState::draining);
  EXPECT_EQ(session->deadline(), deadline);
  EXPECT_EQ(scheduled_.size(), 1U);
}

TEST_F(SessionTest, ShutdownBringsTheDeadlineCloserButNeverFurther) {
  auto session = make_session();
  auto stream = make_stream();
  auto begin = admit(*session, 1, stream);
  session->begin_drain(EndReason::remote_delete, 30s);
  const auto first = session->deadline();

  session->begin_drain(EndReason::shutdown, 60s);
  EXPECT_EQ(session->deadline(), first) << "shutdown never extends a window";

  session->begin_drain(EndReason::shutdown, 5s);
  EXPECT_EQ(session->deadline(), clock_.now() + 5s);
  ASSERT_EQ(scheduled_.size(), 2U);

  clock_.advance(5s);
  fire_due();
  EXPECT_EQ(session->state(), SessionState::closed);
  EXPECT_EQ(metrics_.sessions_ended[static_cast<int>(EndReason::deadline)].load(), 1U);
}

TEST_F(SessionTest, ShutdownOfAnOpenSessionDrainsOrClosesIt) {
  auto idle = make_session();
  idle->begin_drain(EndReason::shutdown, 5s);
  EXPECT_EQ(idle->state(), SessionState::closed);

  auto busy = make_session();
  auto stream = make_stream();
  auto begin = admit(*busy, 1, stream);
  busy->begin_drain(EndReason::shutdown, 5s);
  EXPECT_EQ(busy->state(), SessionState::draining);
  EXPECT_EQ(metrics_.sessions_ended[static_cast<int>(EndReason::shutdown)].load(), 1U);
}

TEST_F(SessionTest, DrainingSessionRefusesNewRequests) {
  auto session = make_session();
  auto stream = make_stream();
  auto begin = admit(*session, 1, stream);
  session->begin_drain(EndReason::remote_delete, 30s);
  auto refused = admit(*session, 2, stream);
  EXPECT_EQ(refused.result, Session::BeginResult::not_open);
  EXPECT_FALSE(refused.guard);
  EXPECT_EQ(session->in_flight(), 1U);
}

TEST_F(SessionTest, DuplicateRequestIdIsRefused) {
  auto session = make_session();
  auto stream = make_stream();
  auto begin = admit(*session, 1, stream);
  auto dup = admit(*session, 1, stream);
  EXPECT_EQ(dup.result, Session::BeginResult::duplicate_id);
  EXPECT_EQ(session->in_flight(), 1U);
  // A string id "1" is a different id.
  stream->expect(jsonrpc::key_of(jsonrpc::RequestId{std::string("1")}));
  auto text = session->begin_request({jsonrpc::RequestId{std::string("1")}, {}, stream});
  EXPECT_EQ(text.result, Session::BeginResult::admitted);
}

TEST_F(SessionTest, CancelStopsTheRequestAndDropsItsResponse) {
  auto session = make_session();
  auto stream = make_stream();
  std::stop_source stop;
  auto begin = admit(*session, 3, stream, stop);
  const auto key = jsonrpc::key_of(jsonrpc::RequestId{3});
  EXPECT_FALSE(session->cancel_request("i:999"));
  EXPECT_TRUE(session->cancel_request(key));
  EXPECT_TRUE(stop.stop_requested());
  EXPECT_TRUE(stream->finished()) << "SSE: a cancelled request gets no response";
  EXPECT_FALSE(stream->complete(key, nlohmann::json::object()));
  EXPECT_EQ(session->in_flight(), 1U) << "still in flight until the tool returns";
  begin.guard.release();
  EXPECT_EQ(session->in_flight(), 0U);
}

TEST_F(SessionTest, CancelledRequestInJsonModeStillGetsABody) {
  auto session = make_session();
  auto stream = make_stream(ReplyStream::Format::json);
  auto begin = admit(*session, 3, stream);
  EXPECT_TRUE(session->cancel_request(jsonrpc::key_of(jsonrpc::RequestId{3})));
  ASSERT_TRUE(stream->finished());
  const auto body = nlohmann::json::parse(stream->take_body());
  EXPECT_EQ(body["id"], 3);
  EXPECT_TRUE(body.contains("error"));
}

TEST_F(SessionTest, StopRequestsCancelsOnlyTheNamedOnes) {
  auto session = make_session();
  auto stream = make_stream();
  std::stop_source a;
  std::stop_source b;
  auto first = admit(*session, 1, stream, a);
  auto second = admit(*session, 2, stream, b);
  session->stop_requests({jsonrpc::key_of(jsonrpc::RequestId{1}), "i:404"});
  EXPECT_TRUE(a.stop_requested());
  EXPECT_FALSE(b.stop_requested());
  EXPECT_EQ(metrics_.tool_calls_cancelled.load(), 1U);
}

TEST_F(SessionTest, IdleExpiryClosesOnlyIdleSessions) {
  auto session = make_session();
  clock_.advance(59s);
  EXPECT_FALSE(session->expire_if_idle(60s));
  session->touch();
  clock_.advance(59s);
  EXPECT_FALSE(session->expire_if_idle(60s)) << "activity restarts the idle clock";

  auto stream = make_stream();
  auto begin = admit(*session, 1, stream);
  clock_.advance(5min);
  EXPECT_FALSE(session->expire_if_idle(60s)) << "a request in flight is activity";
  begin.guard.release();

  auto get_stream = make_stream();
  ASSERT_EQ(session->attach_stream(get_stream), Session::AttachResult::attached);
  clock_.advance(5min);
  EXPECT_FALSE(session->expire_if_idle(60s)) << "an open GET stream is activity";
  session->detach_stream(get_stream.get());

  clock_.advance(59s);
  EXPECT_FALSE(session->expire_if_idle(60s));
  clock_.advance(1s);
  EXPECT_TRUE(session->expire_if_idle(60s));
  EXPECT_EQ(session->state(), SessionState::closed);
  EXPECT_EQ(metrics_.sessions_ended[static_cast<int>(EndReason::idle)].load(), 1U);
}

TEST_F(SessionTest, NothingLeavesClosed) {
  auto session = make_session();
  session->begin_drain(EndReason::remote_delete, 30s);
  ASSERT_EQ(session->state(), SessionState::closed);
  session->begin_drain(EndReason::shutdown, 1s);
  session->on_deadline();
  clock_.advance(1h);
  EXPECT_FALSE(session->expire_if_idle(1s));
  auto stream = make_stream();
  EXPECT_EQ(admit(*session, 1, stream).result, Session::BeginResult::not_open);
  EXPECT_EQ(session->attach_stream(stream), Session::AttachResult::not_open);
  EXPECT_EQ(session->state(), SessionState::closed);
  EXPECT_EQ(forgotten_.size(), 1U) << "closing happens exactly once";
}

TEST_F(SessionTest, OnlyTheDesignedEdgesAreLegal) {
  const SessionState states[] = {SessionState::open, SessionState::draining, SessionState::closed};
  const EndReason reasons[] = {EndReason::remote_delete, EndReason::idle, EndReason::shutdown, EndReason::drained,
                               EndReason::deadline, EndReason::stream_closed, EndReason::server_gone};
  int legal = 0;
  for (auto from : states) {
    for (auto to : states) {
      for (auto why : reasons) {
        const bool expected =
            (from == SessionState::open && (to == SessionState::draining || to == SessionState::closed) &&
             (why == EndReason::remote_delete || why == EndReason::idle || why == EndReason::shutdown ||
              why == EndReason::stream_closed || why == EndReason::server_gone)) ||
            (from == SessionState::draining && to == SessionState::closed &&
             (why == EndReason::drained || why == EndReason::deadline));
        EXPECT_EQ(is_legal_transition(from, to, why), expected)
            << to_string(from) << " -> " << to_string(to) << " (" << to_string(why) << ")";
        legal += expected ? 1 : 0;
      }
    }
  }
  EXPECT_EQ(legal, 12);
}

TEST_F(SessionTest, OneGetStreamAtATime) {
  auto session = make_session();
  auto first = make_stream();
  auto second = make_stream();
  EXPECT_EQ(session->attach_stream(first), Session::AttachResult::attached);
  EXPECT_EQ(session->attach_stream(second), Session::AttachResult::conflict);
  first->mark_gone();
  EXPECT_EQ(session->attach_stream(second), Session::AttachResult::attached)
      << "a stream whose client left does not block a new one";
  EXPECT_TRUE(session->notify(nlohmann::json{{"jsonrpc", "2.0"}, {"method", "x"}}));
}

TEST_F(SessionTest, ClosingEndsTheGetStream) {
  auto session = make_session();
  auto stream = make_stream();
  ASSERT_EQ(session->attach_stream(stream), Session::AttachResult::attached);
  EXPECT_FALSE(stream->finished());
  session->begin_drain(EndReason::remote_delete, 30s);
  EXPECT_TRUE(stream->finished());
  EXPECT_FALSE(session->notify(nlohmann::json::object()));
}

TEST_F(SessionTest, DrainingSessionRefusesAGetStream) {
  auto session = make_session();
  auto work = make_stream();
  auto begin = admit(*session, 1, work);
  session->begin_drain(EndReason::idle, 30s);
  EXPECT_EQ(session->attach_stream(make_stream()), Session::AttachResult::not_open);
}

}  // namespace
}  // namespace graceway

namespace graceway {
namespace {

TEST_F(SessionTest, TheDeadlineLeavesCancelledRequestsAlone) {
  auto session = make_session();
  auto stream = make_stream();
  auto cancelled = admit(*session, 1, stream);
  auto running = admit(*session, 2, stream);
  ASSERT_TRUE(session->cancel_request(jsonrpc::key_of(jsonrpc::RequestId{1})));
  EXPECT_FALSE(session->cancel_request(jsonrpc::key_of(jsonrpc::RequestId{1}))) << "cancelling twice is a no-op";
  session->begin_drain(EndReason::remote_delete, 1s);
  clock_.advance(1s);
  fire_due();
  ASSERT_EQ(session->state(), SessionState::closed);
  EXPECT_EQ(metrics_.deadline_errors.load(), 1U) << "only the running request is answered with the error";
  EXPECT_EQ(metrics_.late_results.load(), 0U);
  EXPECT_EQ(metrics_.tool_calls_cancelled.load(), 1U);
}

}  // namespace
}  // namespace graceway

namespace graceway {
namespace {

// Found by the race catalogue (race.cancel-during-drain under ASan): a tool that returns as soon
// as it is stopped used to complete its response before the cancellation gave up the slot, so
// the client still got a result. The stop callback below plays such a tool, synchronously.
TEST_F(SessionTest, ACancelledRequestsResultIsNeverSentEvenIfTheToolReturnsAtOnce) {
  auto session = make_session();
  auto stream = make_stream();
  const auto key = admit_tool_that_returns_when_stopped(*session, stream);
  ASSERT_TRUE(session->cancel_request(key));
  std::string out;
  EXPECT_EQ(stream->next(0ms, out), ReplyStream::Next::end) << "nothing may be written: " << out;
  EXPECT_EQ(metrics_.late_results.load(), 1U) << "the tool's result is counted as late";
  EXPECT_EQ(metrics_.tool_calls_cancelled.load(), 1U);
}


// Found by race.catalogue_over_the_wire: over the wire the "stubborn" tool is the sleep tool, which
// returns as soon as it is stopped. The deadline must answer before it stops the work.
TEST_F(SessionTest, TheDeadlineAnswersWithItsErrorEvenIfTheToolReturnsAtOnceWhenStopped) {
  auto session = make_session();
  auto stream = make_stream(ReplyStream::Format::json);
  admit_tool_that_returns_when_stopped(*session, stream);
  session->begin_drain(EndReason::remote_delete, 2s);
  clock_.advance(2s);
  fire_due();
  ASSERT_EQ(session->state(), SessionState::closed);
  ASSERT_TRUE(stream->finished());
  const auto body = nlohmann::json::parse(stream->take_body(), nullptr, false);
  ASSERT_TRUE(body.is_object() && body.contains("error")) << "the tool's result was sent: " << body.dump();
  EXPECT_EQ(body["error"]["code"], -32000) << body.dump();
  EXPECT_EQ(metrics_.deadline_errors.load(), 1U);
  EXPECT_EQ(metrics_.late_results.load(), 1U) << "the tool's result is counted as late";
}

TEST_F(SessionTest, ALegacySessionIsInitializedOnce) {
  auto legacy = std::make_shared<Session>("s2", "2024-11-05", env_, nlohmann::json::object(),
                                          SessionTransport::legacy_sse);
  EXPECT_EQ(legacy->transport(), SessionTransport::legacy_sse);
  EXPECT_TRUE(legacy->awaiting_initialize());
  EXPECT_TRUE(legacy->initialize("2025-03-26", {{"sampling", nlohmann::json::object()}}));
  EXPECT_FALSE(legacy->awaiting_initialize());
  EXPECT_EQ(legacy->protocol_version(), "2025-03-26");
  EXPECT_TRUE(legacy->client_capabilities().contains("sampling"));
  EXPECT_FALSE(legacy->initialize("2024-11-05", nlohmann::json::object())) << "only once";
  EXPECT_EQ(legacy->protocol_version(), "2025-03-26");

  auto streamable = make_session();
  EXPECT_FALSE(streamable->awaiting_initialize()) << "initialized by the request that created it";
  EXPECT_FALSE(streamable->initialize("2024-11-05", nlohmann::json::object()));
}

TEST_F(SessionTest, StreamClosedEndsAnOpenSessionLikeADelete) {
  auto session = make_session();
  session->begin_drain(EndReason::stream_closed, std::chrono::seconds(5));
  EXPECT_EQ(session->state(), SessionState::closed);
  EXPECT_EQ(metrics_.sessions_ended[static_cast<int>(EndReason::stream_closed)].load(), 1U);
}

}  // namespace
}  // namespace graceway
