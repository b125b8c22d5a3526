#pragma once
// A session's record of the SSE events it has sent, so a client whose stream broke can resume it
// with GET + Last-Event-ID (spec-checklist.md section 1.5). Bounded in events and in bytes: the
// oldest events are forgotten first, so a client that comes back too late misses what was
// evicted. A stream delivered whole is forgotten at once (forget_stream), so the log holds what
// is in progress or broken, and the standalone stream's recent events.
//
// Event ids are "<stream>-<seq>": the stream number (unique in the session) and the event's
// position in that stream, from 1. Seq 0 is the priming event, which is never stored. The stream
// in the id is what lets a resume replay only the events of the stream that broke.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace graceway {

struct EventId {
  std::uint64_t stream = 0;
  std::uint64_t seq = 0;

  [[nodiscard]] std::string to_string() const;
  // "<stream>-<seq>" with both parts decimal; nullopt for anything else.
  [[nodiscard]] static std::optional<EventId> parse(std::string_view text);
};

class EventLog {
public:
  enum class StreamKind { post, get };

  EventLog(std::size_t capacity, std::size_t max_bytes) : capacity_(capacity), max_bytes_(max_bytes) {}

  // A new stream number for this session.
  std::uint64_t open_stream(StreamKind kind);
  // Keeps one framed event (the exact bytes written to the client).
  void record(EventId id, std::string framed);
  // The stream will carry nothing more (its last response is in).
  void end_stream(std::uint64_t stream);
  // The stream reached its client whole: nothing of it needs replaying.
  void forget_stream(std::uint64_t stream);

  struct Replay {
    bool known = false;        // the stream is one of this session's and not forgotten
    StreamKind kind = StreamKind::get;
    bool ended = false;
    std::vector<std::string> events;  // framed, oldest first, seq > the cursor
  };
  [[nodiscard]] Replay replay(EventId after) const;
  [[nodiscard]] std::size_t size() const;
  [[nodiscard]] std::size_t bytes() const;

private:
  struct Entry {
    EventId id;
    std::string framed;
  };
  struct StreamInfo {
    StreamKind kind;
    bool ended = false;
    std::size_t entries = 0;  // events of this stream still in log_
  };
  void forget_if_done_locked(std::uint64_t stream);

  const std::size_t capacity_;
  const std::size_t max_bytes_;
  mutable std::mutex mu_;                                   // guards the fields below
  std::size_t bytes_ = 0;                                   // framed bytes in log_
  std::uint64_t next_stream_ = 1;
  std::deque<Entry> log_;                                   // oldest first, at most capacity_
  std::unordered_map<std::uint64_t, StreamInfo> streams_;   // streams that may still be resumed
};

}  // namespace graceway
