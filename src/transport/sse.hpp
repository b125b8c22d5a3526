#pragma once
// Server-Sent Events framing (WHATWG HTML, "event stream interpretation"): the encoder the server
// writes with and the decoder that tests, tools and the fuzz target read with. Pure functions and
// a byte-at-a-time state machine; nothing here throws on any input.

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace graceway::sse {

struct Event {
  std::string id;     // "id:" field; empty when absent
  std::string type;   // "event:" field; empty means the default type "message"
  std::string data;   // "data:" lines joined with '\n'
  std::optional<unsigned long long> retry_ms;  // "retry:" field when all digits
};

// Frames one event. `data` may hold newlines (each line becomes a data: line); CR, LF and NUL in
// `id` and `type` are dropped because they would end the field early or void the id. An event with empty data is
// written as a single empty data: line, so it is still dispatched.
[[nodiscard]] std::string encode(const Event& event);

// An SSE comment, which clients ignore: used for keep-alives.
[[nodiscard]] std::string comment(std::string_view text);

// Incremental decoder: feed bytes as they arrive, take events as they complete. Lines may end in
// CRLF, LF or CR (a CR at the end of a feed waits for the next byte). Comments and unknown fields
// are skipped; a block without any data: line is not dispatched. Unlike a browser, a block whose
// data is empty is dispatched, so a reader can see a priming event (id and empty data).
// `retry` is reported on the event it arrived with. `max_event_bytes` bounds
// the memory one unterminated event can take: beyond it the event is discarded and counted.
class Decoder {
public:
  explicit Decoder(std::size_t max_event_bytes = std::size_t{16} << 20) : max_event_bytes_(max_event_bytes) {}

  void feed(std::string_view bytes);
  // The next complete event, in order.
  [[nodiscard]] std::optional<Event> next();
  [[nodiscard]] std::size_t oversized() const { return oversized_; }
  // The last id seen (it persists across events, as Last-Event-ID does).
  [[nodiscard]] const std::string& last_event_id() const { return last_id_; }

private:
  void line_done();
  void dispatch();

  std::size_t max_event_bytes_;
  std::string line_;              // the current line, without its terminator
  std::size_t line_bytes_ = 0;    // bytes seen on the current line, kept or discarded
  bool after_cr_ = false;         // the previous byte was CR: a following LF belongs to it
  bool has_data_ = false;
  bool discarding_ = false;       // the current event grew past max_event_bytes_
  Event building_;
  std::string last_id_;
  std::size_t oversized_ = 0;
  std::deque<Event> ready_;       // completed events, oldest first
};

// Every event of a complete body, in order.
[[nodiscard]] std::vector<Event> decode_all(std::string_view body);

}  // namespace graceway::sse
