#include "transport/reply_stream.hpp"

#include "graceway/jsonrpc.hpp"
#include "session/event_log.hpp"
#include "transport/sse.hpp"

namespace graceway {

ReplyStream::ReplyStream(Format format, bool batch, std::size_t max_queued, Metrics& metrics)
    : format_(format), batch_(batch && format != Format::lazy), max_queued_(max_queued), metrics_(metrics), mode_(format) {}

void ReplyStream::set_status_picker(std::function<int(const nlohmann::json& response)> picker) {
  std::lock_guard lock(mu_);
  status_picker_ = std::move(picker);
}

void ReplyStream::settle_locked(Format format, int status) {
  if (mode_ != Format::lazy) return;
  mode_ = format;
  status_ = status;
}

int ReplyStream::status_for_locked(const nlohmann::json& response) const {
  if (!status_picker_) return 200;
  try {
    const int status = status_picker_(response);
    // The engine writes it as the status line: only a final status is a valid answer.
    return status >= 200 && status <= 599 ? status : 500;
  } catch (...) {
    return 500;  // complete() never throws; the body still says what happened
  }
}

std::optional<ReplyStream::Head> ReplyStream::settled() const {
  std::lock_guard lock(mu_);
  if (mode_ == Format::lazy) return std::nullopt;
  return Head{mode_, status_};
}

bool ReplyStream::streams() const {
  std::lock_guard lock(mu_);
  return mode_ != Format::json;
}

void ReplyStream::expect(const std::string& key) {
  std::lock_guard lock(mu_);
  pending_.insert(key);
  expects_responses_ = true;
}

void ReplyStream::on_gone(std::function<void(std::vector<std::string>)> callback) {
  std::lock_guard lock(mu_);
  on_gone_ = std::move(callback);
}

void ReplyStream::make_resumable(std::shared_ptr<EventLog> log, std::uint64_t stream, bool prime,
                                 std::chrono::milliseconds retry) {
  std::lock_guard lock(mu_);
  if (format_ != Format::sse || !log) return;
  log_ = std::move(log);
  stream_ = stream;
  if (prime) {
    sse::Event priming;
    priming.id = EventId{stream_, 0}.to_string();
    priming.retry_ms = static_cast<unsigned long long>(retry.count());
    queued_.push_front(sse::encode(priming));
  }
}

void ReplyStream::preload(const std::vector<std::string>& framed) {
  std::function<void()> w;
  {
    std::lock_guard lock(mu_);
    queued_.insert(queued_.begin(), framed.begin(), framed.end());
    w = wake_locked();
  }
  notify(w);
}

bool ReplyStream::resumable() const {
  std::lock_guard lock(mu_);
  return log_ != nullptr;
}

void ReplyStream::delivered() {
  std::lock_guard lock(mu_);
  if (log_ && expects_responses_ && !gone_ && !cut_ && !successor_ && ended_locked()) log_->forget_stream(stream_);
}

std::vector<std::string> ReplyStream::unanswered() const {
  std::lock_guard lock(mu_);
  return {pending_.begin(), pending_.end()};
}

bool ReplyStream::resumed() const {
  std::lock_guard lock(mu_);
  return successor_ != nullptr;
}

void ReplyStream::carry_responses_until_closed() {
  std::lock_guard lock(mu_);
  until_closed_ = true;
}

std::string ReplyStream::sse_event(const nlohmann::json& message, const std::string& id) {
  // Compact JSON has no raw newlines, so one data line always suffices.
  sse::Event event;
  event.id = id;
  event.type = "message";
  event.data = jsonrpc::serialize(message);
  return sse::encode(event);
}

void ReplyStream::append_locked(const nlohmann::json& message) {
  if (mode_ == Format::sse) {
    emit_locked(message);
  } else {
    json_responses_.push_back(jsonrpc::serialize(message));
  }
}

void ReplyStream::emit_locked(const nlohmann::json& message) {
  if (!log_) {
    queued_.push_back(sse_event(message));
    return;
  }
  const EventId id{stream_, ++seq_};
  auto framed = sse_event(message, id.to_string());
  log_->record(id, framed);
  if (successor_) {
    successor_->preload_tail(std::move(framed));
  } else if (!gone_ && !cut_) {
    queued_.push_back(std::move(framed));
  }
  // Gone or cut, and not resumed: the log keeps it for a client that comes back.
}

void ReplyStream::preload_tail(std::string framed) {
  std::function<void()> w;
  {
    std::lock_guard lock(mu_);
    if (gone_) return;
    queued_.push_back(std::move(framed));
    w = wake_locked();
  }
  notify(w);
}

void ReplyStream::after_response_locked() {
  if (!expects_responses_ || until_closed_ || !pending_.empty()) return;
  if (log_) log_->end_stream(stream_);
  if (successor_) {
    successor_->close();
    successor_.reset();
  }
}

bool ReplyStream::ended_locked() const {
  return expects_responses_ && !until_closed_ ? pending_.empty() : closed_;
}

bool ReplyStream::push(const nlohmann::json& message) {
  std::function<void()> w;
  {
    std::lock_guard lock(mu_);
    if (mode_ == Format::json || ended_locked()) return false;
    if (successor_ || (cut_ && !gone_)) {
      emit_locked(message);  // forwarded to the client that resumed, or kept for its return
      return true;
    }
    if (gone_ || queued_notifications_ >= max_queued_) {
      // Not written; a resumable stream still records it for a client that comes back.
      if (gone_ && log_) emit_locked(message);
      ++metrics_.dropped_writes;
      return false;
    }
    settle_locked(Format::sse, 200);  // a notification first: the answer is a stream
    ++queued_notifications_;
    emit_locked(message);
    w = wake_locked();
  }
  notify(w);
  return true;
}

bool ReplyStream::complete(const std::string& key, const nlohmann::json& response, Metrics::counter* tally) {
  std::function<void()> w;
  {
    std::lock_guard lock(mu_);
    if (pending_.erase(key) == 0) {
      ++metrics_.late_results;
      return false;
    }
    if (cut_ && !gone_ && !successor_) {
      emit_locked(response);  // kept for the client's GET + Last-Event-ID
      after_response_locked();
      return true;
    }
    if ((gone_ && !successor_) || (until_closed_ && closed_)) {
      // Not written: the client is gone (a resumable stream records the response for a client
      // that comes back with Last-Event-ID), or a legacy session stream has ended.
      if (gone_ && log_) emit_locked(response);
      after_response_locked();
      ++metrics_.dropped_writes;
      return false;
    }
    // Counted before the consumer can write it, so whoever reads the response sees the count.
    if (tally != nullptr) ++*tally;
    if (mode_ == Format::lazy) settle_locked(Format::json, status_for_locked(response));
    append_locked(response);
    after_response_locked();
    w = wake_locked();
  }
  notify(w);
  return true;
}

void ReplyStream::abandon(const std::string& key, const nlohmann::json& error_response) {
  std::function<void()> w;
  {
    std::lock_guard lock(mu_);
    if (pending_.erase(key) == 0) return;
    // JSON mode must still finish the HTTP exchange with a body; SSE simply leaves it out.
    if (mode_ == Format::json && !gone_) append_locked(error_response);
    after_response_locked();
    w = wake_locked();
  }
  notify(w);
}

bool ReplyStream::push_event(std::string_view type, std::string_view data) {
  std::function<void()> w;
  {
    std::lock_guard lock(mu_);
    if (mode_ == Format::json || ended_locked()) return false;
    if (gone_) {
      ++metrics_.dropped_writes;
      return false;
    }
    settle_locked(Format::sse, 200);
    sse::Event event;
    event.type = std::string(type);
    event.data = std::string(data);
    queued_.push_back(sse::encode(event));
    w = wake_locked();
  }
  notify(w);
  return true;
}

void ReplyStream::close() {
  std::function<void()> w;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    if (log_ && !expects_responses_) log_->end_stream(stream_);
    w = wake_locked();
  }
  notify(w);
}

bool ReplyStream::cut() {
  std::function<void()> w;
  std::vector<std::function<void()>> resume;
  {
    std::lock_guard lock(mu_);
    if (!log_ || gone_ || cut_ || ended_locked()) return false;
    cut_ = true;
    w = wake_locked();
    resume = std::exchange(room_waiters_, {});
  }
  notify(w);
  for (const auto& r : resume) r();
  return true;
}

bool ReplyStream::has_room_or_call(std::function<void()> resume) {
  std::lock_guard lock(mu_);
  // Once nobody reads this response (gone, cut, resumed elsewhere) or it has ended, holding the
  // producer back would only stall the work: its events go to the log or are dropped and counted.
  if (mode_ == Format::json || gone_ || cut_ || successor_ || ended_locked() || queued_notifications_ * 2 < max_queued_) {
    return true;
  }
  room_waiters_.push_back(std::move(resume));
  return false;
}

bool ReplyStream::resume_into(const std::shared_ptr<ReplyStream>& successor, std::uint64_t after_seq) {
  std::function<void(std::vector<std::string>)> callback;
  std::vector<std::string> unanswered;
  std::function<void()> w;
  std::vector<std::function<void()>> resume;
  {
    std::lock_guard lock(mu_);
    if (!log_) return false;
    // Replay and hand-over under one lock: every event is either in the replay or forwarded.
    const auto replay = log_->replay({stream_, after_seq});
    successor->preload(replay.events);
    if (ended_locked()) {
      successor->close();
    } else {
      successor_ = successor;
    }
    if (!gone_) {
      // The client came back on a new connection, so the old one is dead even if no write has
      // failed yet.
      gone_ = true;
      queued_.clear();
      queued_notifications_ = 0;
      unanswered.assign(pending_.begin(), pending_.end());
      callback = std::move(on_gone_);
    }
    w = wake_locked();
    resume = std::exchange(room_waiters_, {});
  }
  notify(w);
  for (const auto& r : resume) r();
  if (callback) callback(std::move(unanswered));
  return true;
}

void ReplyStream::successor_gone(const ReplyStream* successor) {
  std::lock_guard lock(mu_);
  if (successor_.get() == successor) successor_.reset();
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
  if (mode_ == Format::sse) {
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

void ReplyStream::set_waker(std::function<void()> waker) {
  std::lock_guard lock(mu_);
  waker_ = std::move(waker);
}

std::function<void()> ReplyStream::wake_locked() {
  if (!consumer_waiting_ || !waker_) return {};
  consumer_waiting_ = false;  // one wake-up per wait: the consumer takes everything at once
  return waker_;
}

void ReplyStream::notify(const std::function<void()>& w) {
  cv_.notify_all();
  if (w) w();
}

ReplyStream::Next ReplyStream::next(std::chrono::milliseconds wait, std::string& out) {
  out.clear();
  std::unique_lock lock(mu_);
  auto ready = [&] {
    if (gone_ || cut_) return true;
    if (mode_ == Format::sse) return !queued_.empty() || ended_locked();
    return ended_locked();  // JSON: one body, written when every response is in; lazy: abandoned
  };
  if (!ready()) cv_.wait_for(lock, wait, ready);
  if (gone_ || end_reported_) return Next::end;
  if (mode_ == Format::sse && !queued_.empty()) {
    for (auto& event : queued_) out += event;
    queued_.clear();
    queued_notifications_ = 0;
    const auto resume = std::exchange(room_waiters_, {});
    lock.unlock();
    for (const auto& r : resume) r();
    return Next::data;
  }
  if (cut_) {
    end_reported_ = true;  // what was queued before the cut is out; the rest waits in the log
    return Next::end;
  }
  if (!ended_locked()) {
    consumer_waiting_ = true;
    return Next::idle;
  }
  if (mode_ == Format::json) {
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
  std::function<void()> w;
  std::vector<std::function<void()>> resume;
  {
    std::lock_guard lock(mu_);
    if (gone_) return;
    gone_ = true;
    // What was queued but never written is lost with the client (a resumable stream's events
    // are also in the log, which a client that comes back reads instead).
    metrics_.dropped_writes += queued_.size() + json_responses_.size();
    queued_.clear();
    json_responses_.clear();
    unanswered.assign(pending_.begin(), pending_.end());
    callback = std::move(on_gone_);
    w = wake_locked();
    resume = std::exchange(room_waiters_, {});
  }
  notify(w);
  for (const auto& r : resume) r();
  if (callback) callback(std::move(unanswered));
}

}  // namespace graceway
