#include "transport/reply_stream.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

namespace graceway {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

json response(int id) { return {{"jsonrpc", "2.0"}, {"id", id}, {"result", json::object()}}; }
json note(int n) { return {{"jsonrpc", "2.0"}, {"method", "notifications/progress"}, {"params", {{"progress", n}}}}; }

TEST(ReplyStreamTest, SseCarriesNotificationsThenTheResponseThenEnds) {
  Metrics m;
  ReplyStream s(ReplyStream::Format::sse, false, 8, m);
  s.expect("i:1");
  EXPECT_TRUE(s.push(note(1)));
  std::string out;
  EXPECT_EQ(s.next(0ms, out), ReplyStream::Next::data);
  EXPECT_EQ(out, "event: message\ndata: " + note(1).dump() + "\n\n");
  EXPECT_EQ(s.next(0ms, out), ReplyStream::Next::idle);
  EXPECT_TRUE(s.complete("i:1", response(1)));
  EXPECT_EQ(s.next(0ms, out), ReplyStream::Next::data);
  EXPECT_EQ(s.next(0ms, out), ReplyStream::Next::end);
  EXPECT_FALSE(s.push(note(2))) << "nothing after the response";
  EXPECT_FALSE(s.complete("i:1", response(1)));
  EXPECT_EQ(m.late_results.load(), 1U);
}

TEST(ReplyStreamTest, JsonModeWritesOneBodyWhenEveryResponseIsIn) {
  Metrics m;
  ReplyStream s(ReplyStream::Format::json, true, 8, m);
  s.expect("i:1");
  s.expect("i:2");
  EXPECT_FALSE(s.push(note(1))) << "JSON mode has no stream for notifications";
  EXPECT_EQ(m.dropped_writes.load(), 0U);
  EXPECT_TRUE(s.complete("i:2", response(2)));
  std::string out;
  EXPECT_EQ(s.next(0ms, out), ReplyStream::Next::idle);
  EXPECT_TRUE(s.complete("i:1", response(1)));
  EXPECT_EQ(s.next(0ms, out), ReplyStream::Next::data);
  const auto body = json::parse(out);
  ASSERT_TRUE(body.is_array());
  EXPECT_EQ(body.size(), 2U);
  EXPECT_EQ(s.next(0ms, out), ReplyStream::Next::end);
}

TEST(ReplyStreamTest, WritesAfterTheClientLeftAreDroppedAndCounted) {
  Metrics m;
  ReplyStream s(ReplyStream::Format::sse, false, 8, m);
  s.expect("i:1");
  s.expect("i:2");
  std::vector<std::string> told;
  s.on_gone([&](std::vector<std::string> keys) { told = std::move(keys); });
  s.push(note(1));
  s.mark_gone();
  EXPECT_EQ(m.dropped_writes.load(), 1U) << "the queued notification was never written";
  EXPECT_EQ(told.size(), 2U);
  EXPECT_FALSE(s.push(note(2)));
  EXPECT_FALSE(s.complete("i:1", response(1)));
  EXPECT_EQ(m.dropped_writes.load(), 3U);
  std::string out;
  EXPECT_EQ(s.next(0ms, out), ReplyStream::Next::end);
  s.mark_gone();  // idempotent
  EXPECT_EQ(m.dropped_writes.load(), 3U);
}

TEST(ReplyStreamTest, NotificationsBeyondTheBoundAreDroppedButResponsesAreNot) {
  Metrics m;
  ReplyStream s(ReplyStream::Format::sse, false, 2, m);
  s.expect("i:1");
  EXPECT_TRUE(s.push(note(1)));
  EXPECT_TRUE(s.push(note(2)));
  EXPECT_FALSE(s.push(note(3)));
  EXPECT_EQ(m.dropped_writes.load(), 1U);
  EXPECT_TRUE(s.complete("i:1", response(1)));
  std::string out;
  EXPECT_EQ(s.next(0ms, out), ReplyStream::Next::data);
  EXPECT_EQ(out.find("\"progress\":3"), std::string::npos);
  EXPECT_NE(out.find("\"id\":1"), std::string::npos);
}

TEST(ReplyStreamTest, StandaloneStreamEndsOnClose) {
  Metrics m;
  ReplyStream s(ReplyStream::Format::sse, false, 8, m);
  EXPECT_FALSE(s.finished());
  EXPECT_TRUE(s.push(note(1)));
  s.close();
  std::string out;
  EXPECT_EQ(s.next(0ms, out), ReplyStream::Next::data) << "what was queued is still written";
  EXPECT_EQ(s.next(0ms, out), ReplyStream::Next::end);
}

TEST(ReplyStreamTest, TheConsumerWakesWhenAProducerPushes) {
  Metrics m;
  ReplyStream s(ReplyStream::Format::sse, false, 8, m);
  s.expect("i:1");
  std::jthread producer([&] { s.complete("i:1", response(1)); });
  std::string out;
  // Bounded wait: returns as soon as the response is in.
  auto next = s.next(20s, out);
  while (next == ReplyStream::Next::idle) next = s.next(20s, out);
  EXPECT_EQ(next, ReplyStream::Next::data);
  EXPECT_NE(out.find("\"id\":1"), std::string::npos);
}

TEST(ReplyStreamTest, ALegacySessionStreamCarriesResponsesUntilClosed) {
  Metrics m;
  ReplyStream s(ReplyStream::Format::sse, false, 8, m);
  s.carry_responses_until_closed();
  EXPECT_TRUE(s.push_event("endpoint", "/messages?sessionId=abc"));
  std::string out;
  EXPECT_EQ(s.next(0ms, out), ReplyStream::Next::data);
  EXPECT_EQ(out, "event: endpoint\ndata: /messages?sessionId=abc\n\n");
  EXPECT_EQ(s.next(0ms, out), ReplyStream::Next::idle) << "open with nothing expected";

  s.expect("i:1");
  EXPECT_TRUE(s.complete("i:1", response(1)));
  EXPECT_EQ(s.next(0ms, out), ReplyStream::Next::data);
  EXPECT_EQ(s.next(0ms, out), ReplyStream::Next::idle) << "every response in, and still open";
  EXPECT_FALSE(s.finished());
  s.expect("i:2");
  EXPECT_TRUE(s.push(note(1)));
  EXPECT_TRUE(s.complete("i:2", response(2)));
  EXPECT_EQ(s.next(0ms, out), ReplyStream::Next::data);
  EXPECT_EQ(out, ReplyStream::sse_event(note(1)) + ReplyStream::sse_event(response(2)));

  s.expect("i:3");
  s.close();
  EXPECT_FALSE(s.complete("i:3", response(3))) << "nothing after close";
  EXPECT_EQ(m.dropped_writes.load(), 1U);
  EXPECT_FALSE(s.push(note(2)));
  EXPECT_EQ(s.next(0ms, out), ReplyStream::Next::end);
}

TEST(ReplyStreamTest, ALegacySessionStreamWhoseClientLeftDropsAndCounts) {
  Metrics m;
  ReplyStream s(ReplyStream::Format::sse, false, 8, m);
  s.carry_responses_until_closed();
  int told = 0;
  s.on_gone([&](const std::vector<std::string>&) { ++told; });
  s.expect("i:1");
  s.mark_gone();
  EXPECT_EQ(told, 1);
  EXPECT_FALSE(s.complete("i:1", response(1)));
  EXPECT_FALSE(s.push_event("endpoint", "x"));
  EXPECT_EQ(m.dropped_writes.load(), 2U);
  std::string out;
  EXPECT_EQ(s.next(0ms, out), ReplyStream::Next::end);
}

TEST(ReplyStreamTest, ARelayIsHeldBackAtHalfTheBoundAndResumedWhenTheClientTakesTheQueue) {
  Metrics m;
  ReplyStream s(ReplyStream::Format::sse, false, 4, m);
  s.expect("i:1");
  int resumed = 0;
  EXPECT_TRUE(s.has_room_or_call([&] { ++resumed; }));
  EXPECT_TRUE(s.push(note(1)));
  EXPECT_TRUE(s.has_room_or_call([&] { ++resumed; })) << "one of four waits: room";
  EXPECT_TRUE(s.push(note(2)));
  EXPECT_FALSE(s.has_room_or_call([&] { ++resumed; })) << "two of four wait: the relay pauses";
  EXPECT_FALSE(s.has_room_or_call([&] { ++resumed; })) << "a second relay (a batch) pauses too";
  EXPECT_EQ(resumed, 0);
  std::string out;
  EXPECT_EQ(s.next(0ms, out), ReplyStream::Next::data);
  EXPECT_EQ(resumed, 2) << "taking the queue resumes each relay, once";
  EXPECT_TRUE(s.has_room_or_call([&] { ++resumed; }));
  EXPECT_EQ(m.dropped_writes.load(), 0U) << "held back, nothing was dropped";
}

TEST(ReplyStreamTest, ARelayHeldBackIsResumedWhenTheClientGoes) {
  Metrics m;
  ReplyStream s(ReplyStream::Format::sse, false, 2, m);
  s.expect("i:1");
  EXPECT_TRUE(s.push(note(1)));
  int resumed = 0;
  EXPECT_FALSE(s.has_room_or_call([&] { ++resumed; }));
  s.mark_gone();
  EXPECT_EQ(resumed, 1) << "a relay must not wait for a client that left";
  EXPECT_TRUE(s.has_room_or_call([&] { ++resumed; }));
  ReplyStream json_mode(ReplyStream::Format::json, false, 2, m);
  EXPECT_TRUE(json_mode.has_room_or_call([&] { ++resumed; })) << "one body: nothing to hold back";
}

// --- lazy: one request, answered with one JSON body unless a notification comes first ----------

json error_response(int id, int code) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", "no"}}}};
}

// The status a lazy stream's JSON answer gets: 404 for an unknown method, else 200.
int pick_status(const json& response) {
  return response.contains("error") && response["error"]["code"] == -32601 ? 404 : 200;
}

TEST(ReplyStreamTest, ALazyStreamShowsNothingUntilItSettles) {
  Metrics m;
  ReplyStream s(ReplyStream::Format::lazy, false, 8, m);
  s.expect("i:1");
  EXPECT_EQ(s.format(), ReplyStream::Format::lazy);
  EXPECT_FALSE(s.settled().has_value());
  EXPECT_FALSE(s.finished());
  EXPECT_TRUE(s.streams()) << "a notification may still come first";
  std::string out;
  EXPECT_EQ(s.next(0ms, out), ReplyStream::Next::idle);
  EXPECT_TRUE(out.empty());
}

TEST(ReplyStreamTest, ALazyStreamAnsweredFirstSettlesAsJsonWithThePickedStatus) {
  Metrics m;
  ReplyStream s(ReplyStream::Format::lazy, false, 8, m);
  s.set_status_picker(pick_status);
  s.expect("i:1");
  EXPECT_TRUE(s.complete("i:1", error_response(1, -32601)));
  const auto head = s.settled();
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->format, ReplyStream::Format::json);
  EXPECT_EQ(head->status, 404);
  EXPECT_FALSE(s.streams());
  EXPECT_FALSE(s.push(note(1))) << "settled as one body: no stream for notifications";
  ASSERT_TRUE(s.finished()) << "the endpoint's fast path answers it as one body";
  EXPECT_EQ(json::parse(s.take_body()), error_response(1, -32601)) << "one value, not a batch array";
}

TEST(ReplyStreamTest, ALazyJsonAnswerIsTakenAsOneBodyThenEnds) {
  Metrics m;
  ReplyStream s(ReplyStream::Format::lazy, false, 8, m);
  s.expect("i:1");
  EXPECT_TRUE(s.complete("i:1", response(1)));
  EXPECT_EQ(s.settled()->status, 200) << "no picker: 200";
  std::string out;
  EXPECT_EQ(s.next(0ms, out), ReplyStream::Next::data);
  EXPECT_EQ(json::parse(out), response(1));
  EXPECT_EQ(s.next(0ms, out), ReplyStream::Next::end);
}

TEST(ReplyStreamTest, ALazyStatusPickerThatFailsGives500) {
  Metrics m;
  ReplyStream throws(ReplyStream::Format::lazy, false, 8, m);
  throws.set_status_picker([](const json&) -> int { throw std::runtime_error("bug"); });
  throws.expect("i:1");
  EXPECT_TRUE(throws.complete("i:1", response(1))) << "complete never throws";
  EXPECT_EQ(throws.settled()->status, 500);
  ReplyStream interim(ReplyStream::Format::lazy, false, 8, m);
  interim.set_status_picker([](const json&) { return 102; });
  interim.expect("i:1");
  EXPECT_TRUE(interim.complete("i:1", response(1)));
  EXPECT_EQ(interim.settled()->status, 500) << "not a final status";
}

TEST(ReplyStreamTest, ALazyStreamNotifiedFirstSettlesAsSse) {
  Metrics m;
  ReplyStream s(ReplyStream::Format::lazy, false, 8, m);
  s.set_status_picker(pick_status);
  s.expect("i:1");
  EXPECT_TRUE(s.push(note(1)));
  const auto head = s.settled();
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->format, ReplyStream::Format::sse);
  EXPECT_EQ(head->status, 200);
  std::string out;
  EXPECT_EQ(s.next(0ms, out), ReplyStream::Next::data);
  EXPECT_EQ(out, ReplyStream::sse_event(note(1)));
  EXPECT_EQ(s.next(0ms, out), ReplyStream::Next::idle);
  EXPECT_TRUE(s.complete("i:1", error_response(1, -32601)));
  EXPECT_EQ(s.settled()->status, 200) << "the head is out: the picker has no say any more";
  EXPECT_EQ(s.settled()->format, ReplyStream::Format::sse);
  EXPECT_EQ(s.next(0ms, out), ReplyStream::Next::data);
  EXPECT_EQ(out, ReplyStream::sse_event(error_response(1, -32601)));
  EXPECT_EQ(s.next(0ms, out), ReplyStream::Next::end);
}

TEST(ReplyStreamTest, ALazyStreamAbandonedUndecidedEndsWithNothingToSend) {
  Metrics m;
  ReplyStream s(ReplyStream::Format::lazy, false, 8, m);
  s.expect("i:1");
  std::string out;
  EXPECT_EQ(s.next(0ms, out), ReplyStream::Next::idle);
  s.abandon("i:1", error_response(1, -32800));
  EXPECT_FALSE(s.settled().has_value()) << "no head to write";
  EXPECT_TRUE(s.finished());
  EXPECT_EQ(s.next(0ms, out), ReplyStream::Next::end);
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(s.complete("i:1", response(1)));
  EXPECT_EQ(m.late_results.load(), 1U);
}

TEST(ReplyStreamTest, ALazyStreamWhoseClientLeftUndecidedTellsWhatWasUnanswered) {
  Metrics m;
  ReplyStream s(ReplyStream::Format::lazy, false, 8, m);
  s.expect("i:1");
  std::vector<std::string> told;
  s.on_gone([&](std::vector<std::string> keys) { told = std::move(keys); });
  s.mark_gone();
  EXPECT_EQ(told, std::vector<std::string>{"i:1"}) << "how the request is cancelled";
  EXPECT_FALSE(s.push(note(1)));
  EXPECT_FALSE(s.complete("i:1", response(1)));
  EXPECT_EQ(m.dropped_writes.load(), 2U);
  EXPECT_FALSE(s.settled().has_value()) << "nothing was written, so nothing settled";
  std::string out;
  EXPECT_EQ(s.next(0ms, out), ReplyStream::Next::end);
}

TEST(ReplyStreamTest, ALazyStreamWakesItsConsumerOnceWhenItSettles) {
  for (const bool notify_first : {false, true}) {
    Metrics m;
    ReplyStream s(ReplyStream::Format::lazy, false, 8, m);
    s.expect("i:1");
    int woken = 0;
    s.set_waker([&] { ++woken; });
    std::string out;
    EXPECT_EQ(s.take(out), ReplyStream::Next::idle);
    EXPECT_EQ(woken, 0);
    if (notify_first) {
      EXPECT_TRUE(s.push(note(1)));
      EXPECT_TRUE(s.push(note(2)));
    } else {
      EXPECT_TRUE(s.complete("i:1", response(1)));
    }
    EXPECT_EQ(woken, 1) << "notify_first " << notify_first;
    EXPECT_EQ(s.take(out), ReplyStream::Next::data);
    EXPECT_EQ(s.settled()->format, notify_first ? ReplyStream::Format::sse : ReplyStream::Format::json);
  }
}

TEST(ReplyStreamTest, ALazyStreamWakesItsConsumerWhenItEndsUndecided) {
  Metrics m;
  ReplyStream abandoned(ReplyStream::Format::lazy, false, 8, m);
  abandoned.expect("i:1");
  int woken = 0;
  abandoned.set_waker([&] { ++woken; });
  std::string out;
  EXPECT_EQ(abandoned.take(out), ReplyStream::Next::idle);
  abandoned.abandon("i:1", error_response(1, -32800));
  EXPECT_EQ(woken, 1);
  EXPECT_EQ(abandoned.take(out), ReplyStream::Next::end);

  ReplyStream left(ReplyStream::Format::lazy, false, 8, m);
  left.expect("i:1");
  left.set_waker([&] { ++woken; });
  EXPECT_EQ(left.take(out), ReplyStream::Next::idle);
  left.mark_gone();
  EXPECT_EQ(woken, 2);
  EXPECT_EQ(left.take(out), ReplyStream::Next::end);
}

TEST(ReplyStreamTest, AStreamMadeSseOrJsonIsSettledFromTheStart) {
  Metrics m;
  ReplyStream sse(ReplyStream::Format::sse, false, 8, m);
  ReplyStream one_body(ReplyStream::Format::json, false, 8, m);
  ASSERT_TRUE(sse.settled().has_value());
  EXPECT_EQ(sse.settled()->format, ReplyStream::Format::sse);
  EXPECT_EQ(sse.settled()->status, 200);
  ASSERT_TRUE(one_body.settled().has_value());
  EXPECT_EQ(one_body.settled()->format, ReplyStream::Format::json);
  EXPECT_TRUE(sse.streams());
  EXPECT_FALSE(one_body.streams());
}

}  // namespace
}  // namespace graceway
