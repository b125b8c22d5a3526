#include "transport/reply_stream.hpp"

#include "graceway/jsonrpc.hpp"
#include "transport/sse.hpp"

namespace graceway {

ReplyStream::ReplyStream(Format format, bool batch, std::size_t max_queued, Metrics& metrics)
    : format_(format), batch_(batch), max_queued_(max_queued), metrics_(metrics) {}

void ReplyStream::expect(const std::string& key) {
  std::lock_guard lock(mu_);
  pending_.insert(key);
  expects_responses_ = true;
}

void ReplyStream::on_gone(std::function<void(std::vector<std::string>)> callback) {
  std::lock_guard lock(mu_);
  on_gone_ = std::move(callback);
}

void ReplyStream::carry_responses_until_closed() {
  std::lock_guard lock(mu_);
  until_closed_ = true;
}

std::string ReplyStream::sse_event(const nlohmann::json& message) {
  // Compact JSON has no raw newlines, so one data line always suffices.
  sse::Event event;
  event.type = "message";
  event.data = jsonrpc::serialize(message);
  return sse::encode(event);
}

void ReplyStream::append_locked(const nlohmann::json& message) {
  if (format_ == Format::sse) {
    queued_.push_back(sse_event(message));
  } else {
    json_responses_.push_back(jsonrpc::serialize(message));
  }
}

bool ReplyStream::ended_locked() const {
  return expects_responses_ && !until_closed_ ? pending_.empty() : closed_;
}

bool ReplyStream::push(const nlohmann::json& message) {
  {
    std::lock_guard lock(mu_);
    if (format_ == Format::json || ended_locked()) return false;
    if (gone_ || queued_notifications_ >= max_queued_) {
      ++metrics_.dropped_writes;
      return false;
    }
    ++queued_notifications_;
    queued_.push_back(sse_event(message));
  }
  cv_.notify_one();
  return true;
}

bool ReplyStream::complete(const std::string& key, const nlohmann::json& response, Metrics::counter* tally) {
  {
    std::lock_guard lock(mu_);
    if (pending_.erase(key) == 0) {
      ++metrics_.late_results;
      return false;
    }
    if (gone_ || (until_closed_ && closed_)) {
      ++metrics_.dropped_writes;
      return false;
    }
    // Counted before the consumer can write it, so whoever reads the response sees the count.
    if (tally != nullptr) ++*tally;
    append_locked(response);
  }
  cv_.notify_one();
  return true;
}

void ReplyStream::abandon(const std::string& key, const nlohmann::json& error_response) {
  {
    std::lock_guard lock(mu_);
    if (pending_.erase(key) == 0) return;
    // JSON mode must still finish the HTTP exchange with a body; SSE simply leaves it out.
    if (format_ == Format::json && !gone_) append_locked(error_response);
  }
  cv_.notify_one();
}

bool ReplyStream::push_event(std::string_view type, std::string_view data) {
  {
    std::lock_guard lock(mu_);
    if (format_ == Format::json || ended_locked()) return false;
    if (gone_) {
      ++metrics_.dropped_writes;
      return false;
    }
    sse::Event event;
    event.type = std::string(type);
    event.data = std::string(data);
    queued_.push_back(sse::encode(event));
  }
  cv_.notify_one();
  return true;
}

void ReplyStream::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  cv_.notify_one();
}

bool ReplyStream::finished() const {
  std::lock_guard lock(mu_);
  return ended_locked();
}

bool ReplyStream::gone() const {
  std::lock_guard lock(mu_);
  return gone_;
}

std::string ReplyStream::take_body() {
  std::lock_guard lock(mu_);
  std::string body;
  if (format_ == Format::sse) {
    for (auto& event : queued_) body += event;
    queued_.clear();
    queued_notifications_ = 0;
  } else if (batch_) {
    body.push_back('[');  // not `body = "["`: GCC 12 -Wrestrict false positive (PR 105329)
    for (std::size_t i = 0; i < json_responses_.size(); ++i) {
      if (i != 0) body += ',';
      body += json_responses_[i];
    }
    body += ']';
  } else if (!json_responses_.empty()) {
    body = std::move(json_responses_.front());
  }
  json_responses_.clear();
  end_reported_ = true;
  return body;
}

ReplyStream::Next ReplyStream::next(std::chrono::milliseconds wait, std::string& out) {
  out.clear();
  std::unique_lock lock(mu_);
  auto ready = [&] {
    if (gone_) return true;
    if (format_ == Format::sse) return !queued_.empty() || ended_locked();
    return ended_locked();  // JSON: one body, written when every response is in
  };
  if (!ready()) cv_.wait_for(lock, wait, ready);
  if (gone_ || end_reported_) return Next::end;
  if (format_ == Format::sse && !queued_.empty()) {
    for (auto& event : queued_) out += event;
    queued_.clear();
    queued_notifications_ = 0;
    return Next::data;
  }
  if (!ended_locked()) return Next::idle;
  if (format_ == Format::json) {
    lock.unlock();
    out = take_body();
    return Next::data;  // the following call reports end
  }
  end_reported_ = true;
  return Next::end;
}

void ReplyStream::mark_gone() {
  std::function<void(std::vector<std::string>)> callback;
  std::vector<std::string> unanswered;
  {
    std::lock_guard lock(mu_);
    if (gone_) return;
    gone_ = true;
    // What was queued but never written is lost with the client.
    metrics_.dropped_writes += queued_.size() + json_responses_.size();
    queued_.clear();
    json_responses_.clear();
    unanswered.assign(pending_.begin(), pending_.end());
    callback = std::move(on_gone_);
  }
  cv_.notify_all();
  if (callback) callback(std::move(unanswered));
}

}  // namespace graceway
