#include "transport/sse.hpp"

#include <gtest/gtest.h>

namespace graceway::sse {
namespace {

Event event(std::string data, std::string type = {}, std::string id = {}) {
  Event e;
  e.data = std::move(data);
  e.type = std::move(type);
  e.id = std::move(id);
  return e;
}

TEST(SseTest, EncodesOneDataLinePerLine) {
  EXPECT_EQ(encode(event("{}", "message")), "event: message\ndata: {}\n\n");
  EXPECT_EQ(encode(event("a\nb\r\nc\rd", "", "7")), "id: 7\ndata: a\ndata: b\ndata: c\ndata: d\n\n");
  EXPECT_EQ(encode(event("", "", "p1")), "id: p1\ndata: \n\n") << "a priming event is still dispatched";
}

TEST(SseTest, EncoderDropsBytesThatWouldBreakAField) {
  EXPECT_EQ(encode(event("x", "a\nb", "1\r\n2")), "id: 12\nevent: ab\ndata: x\n\n");
}

TEST(SseTest, CommentsAreIgnoredByTheDecoder) {
  EXPECT_EQ(comment("keepalive"), ": keepalive\n\n");
  EXPECT_TRUE(decode_all(comment("keepalive") + ":\n\n").empty());
}

TEST(SseTest, DecodesEventsSplitAtAnyByte) {
  const std::string body = "id: 1\nevent: message\ndata: {\"a\":1}\n\nid: 2\r\ndata: x\r\ndata: y\r\n\r\nretry: 250\rdata:z\r\r";
  for (std::size_t cut = 0; cut <= body.size(); ++cut) {
    Decoder d;
    d.feed(std::string_view(body).substr(0, cut));
    d.feed(std::string_view(body).substr(cut));
    std::vector<Event> got;
    while (auto e = d.next()) got.push_back(std::move(*e));
    ASSERT_EQ(got.size(), 3U) << "cut at " << cut;
    EXPECT_EQ(got[0].id, "1");
    EXPECT_EQ(got[0].type, "message");
    EXPECT_EQ(got[0].data, "{\"a\":1}");
    EXPECT_EQ(got[1].id, "2");
    EXPECT_EQ(got[1].data, "x\ny");
    EXPECT_EQ(got[2].id, "2") << "the last id persists";
    EXPECT_EQ(got[2].data, "z") << "no space after the colon is fine";
    ASSERT_TRUE(got[2].retry_ms.has_value());
    EXPECT_EQ(*got[2].retry_ms, 250U);
    EXPECT_EQ(d.last_event_id(), "2");
  }
}

TEST(SseTest, BlocksWithoutDataAreNotDispatched) {
  EXPECT_TRUE(decode_all("event: x\nid: 3\n\nunknown: 1\n\n").empty());
  EXPECT_TRUE(decode_all("data: never terminated").empty());
}

TEST(SseTest, RetryMustBeDigits) {
  auto events = decode_all("retry: 12a\ndata: 1\n\nretry: 99999999999999999999\ndata: 2\n\n");
  ASSERT_EQ(events.size(), 2U);
  EXPECT_FALSE(events[0].retry_ms.has_value());
  EXPECT_FALSE(events[1].retry_ms.has_value());
}

TEST(SseTest, IdWithNulIsIgnored) {
  using namespace std::string_literals;
  auto events = decode_all("id: 5\ndata: a\n\nid: 6\0x\ndata: b\n\n"s);
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[1].id, "5");
}

TEST(SseTest, AnOversizedEventIsDiscardedAndCounted) {
  Decoder d(16);
  d.feed("data: " + std::string(64, 'x') + "\ndata: more\n\ndata: ok\n\n");
  auto first = d.next();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->data, "ok");
  EXPECT_FALSE(d.next().has_value());
  EXPECT_EQ(d.oversized(), 1U);
}

TEST(SseTest, RoundTrip) {
  for (const auto& e : {event("{\"jsonrpc\":\"2.0\"}", "message", "s1-4"), event(" lead", " t"), event("")}) {
    auto back = decode_all(encode(e));
    ASSERT_EQ(back.size(), 1U);
    EXPECT_EQ(back[0].data, e.data);
    EXPECT_EQ(back[0].type, e.type);
    EXPECT_EQ(back[0].id, e.id);
  }
}

}  // namespace
}  // namespace graceway::sse
