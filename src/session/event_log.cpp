#include "session/event_log.hpp"

#include <charconv>

namespace graceway {

std::string EventId::to_string() const { return std::to_string(stream) + "-" + std::to_string(seq); }

std::optional<EventId> EventId::parse(std::string_view text) {
  const auto dash = text.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == text.size()) return std::nullopt;
  EventId id;
  const auto* end = text.data() + text.size();
  const auto a = std::from_chars(text.data(), text.data() + dash, id.stream);
  const auto b = std::from_chars(text.data() + dash + 1, end, id.seq);
  if (a.ec != std::errc() || a.ptr != text.data() + dash || b.ec != std::errc() || b.ptr != end) return std::nullopt;
  return id;
}

std::uint64_t EventLog::open_stream(StreamKind kind) {
  std::lock_guard lock(mu_);
  const auto stream = next_stream_++;
  streams_.emplace(stream, StreamInfo{kind});
  return stream;
}

void EventLog::record(EventId id, std::string framed) {
  if (capacity_ == 0) return;
  std::lock_guard lock(mu_);
  const auto info = streams_.find(id.stream);
  if (info == streams_.end()) return;
  ++info->second.entries;
  bytes_ += framed.size();
  log_.push_back({id, std::move(framed)});
  while (!log_.empty() && (log_.size() > capacity_ || bytes_ > max_bytes_)) {
    const auto evicted = log_.front().id.stream;
    bytes_ -= log_.front().framed.size();
    log_.pop_front();
    if (const auto it = streams_.find(evicted); it != streams_.end()) {
      --it->second.entries;
      forget_if_done_locked(evicted);
    }
  }
}

void EventLog::end_stream(std::uint64_t stream) {
  std::lock_guard lock(mu_);
  const auto it = streams_.find(stream);
  if (it == streams_.end()) return;
  it->second.ended = true;
  forget_if_done_locked(stream);
}

void EventLog::forget_stream(std::uint64_t stream) {
  std::lock_guard lock(mu_);
  const auto it = streams_.find(stream);
  if (it == streams_.end()) return;
  if (it->second.entries > 0) {
    std::erase_if(log_, [&](const Entry& e) {
      if (e.id.stream != stream) return false;
      bytes_ -= e.framed.size();
      return true;
    });
  }
  streams_.erase(it);
}

void EventLog::forget_if_done_locked(std::uint64_t stream) {
  // An ended stream with nothing left to replay cannot be resumed usefully.
  const auto it = streams_.find(stream);
  if (it != streams_.end() && it->second.ended && it->second.entries == 0) streams_.erase(it);
}

EventLog::Replay EventLog::replay(EventId after) const {
  std::lock_guard lock(mu_);
  Replay out;
  const auto info = streams_.find(after.stream);
  if (info == streams_.end()) return out;
  out.known = true;
  out.kind = info->second.kind;
  out.ended = info->second.ended;
  for (const auto& entry : log_) {
    if (entry.id.stream == after.stream && entry.id.seq > after.seq) out.events.push_back(entry.framed);
  }
  return out;
}

std::size_t EventLog::size() const {
  std::lock_guard lock(mu_);
  return log_.size();
}

std::size_t EventLog::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

}  // namespace graceway
