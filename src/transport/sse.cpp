#include "transport/sse.hpp"

#include <algorithm>

namespace graceway::sse {
namespace {

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": ";
  for (const char c : value) {
    if (c != '\r' && c != '\n' && c != '\0') out += c;
  }
  out += '\n';
}

}  // namespace

std::string encode(const Event& event) {
  std::string out;
  out.reserve(event.data.size() + event.id.size() + event.type.size() + 32);
  if (!event.id.empty()) append_field(out, "id", event.id);
  if (!event.type.empty()) append_field(out, "event", event.type);
  if (event.retry_ms) out += "retry: " + std::to_string(*event.retry_ms) + "\n";
  // Each line of the data is its own data: field; CRLF and CR end lines as LF does.
  std::size_t start = 0;
  const std::string_view data = event.data;
  for (;;) {
    const auto end = data.find_first_of("\r\n", start);
    out += "data: ";
    out += data.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    out += '\n';
    if (end == std::string_view::npos) break;
    start = end + 1;
    if (data[end] == '\r' && start < data.size() && data[start] == '\n') ++start;
  }
  out += '\n';
  return out;
}

std::string comment(std::string_view text) {
  std::string out = ":";
  if (!text.empty()) out += ' ';
  for (const char c : text) {
    if (c != '\r' && c != '\n') out += c;
  }
  out += "\n\n";
  return out;
}

void Decoder::feed(std::string_view bytes) {
  for (const char c : bytes) {
    if (after_cr_) {
      after_cr_ = false;
      if (c == '\n') continue;  // the LF of a CRLF
    }
    if (c == '\r' || c == '\n') {
      after_cr_ = c == '\r';
      line_done();
      continue;
    }
    ++line_bytes_;
    if (discarding_) continue;
    line_ += c;
    if (line_.size() + building_.data.size() > max_event_bytes_) {
      discarding_ = true;
      line_.clear();
    }
  }
}

std::optional<Event> Decoder::next() {
  if (ready_.empty()) return std::nullopt;
  Event e = std::move(ready_.front());
  ready_.pop_front();
  return e;
}

void Decoder::line_done() {
  const bool blank = line_bytes_ == 0;
  line_bytes_ = 0;
  if (blank) {
    dispatch();
    return;
  }
  if (discarding_) return;
  const std::string_view line = line_;
  if (line.front() == ':') {  // comment
    line_.clear();
    return;
  }
  const auto colon = line.find(':');
  const std::string_view name = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (name == "data") {
    if (has_data_) building_.data += '\n';
    building_.data += value;
    has_data_ = true;
  } else if (name == "event") {
    building_.type = value;
  } else if (name == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_ = value;  // NUL ids are ignored
  } else if (name == "retry") {
    if (!value.empty() && value.size() <= 18 &&
        std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      building_.retry_ms = std::stoull(std::string(value));
    }
  }
  line_.clear();
}

void Decoder::dispatch() {
  if (discarding_) {
    ++oversized_;
  } else if (has_data_) {
    building_.id = last_id_;
    ready_.push_back(std::move(building_));
  }
  building_ = Event{};
  has_data_ = false;
  discarding_ = false;
  line_.clear();
}

std::vector<Event> decode_all(std::string_view body) {
  Decoder decoder;
  decoder.feed(body);
  std::vector<Event> out;
  while (auto e = decoder.next()) out.push_back(std::move(*e));
  return out;
}

}  // namespace graceway::sse
