#include "session/session.hpp"

#include <spdlog/spdlog.h>

#include "graceway/duration.hpp"
#include "graceway/logging.hpp"
#include "transport/error_mapping.hpp"

namespace graceway {
namespace {

std::shared_ptr<spdlog::logger> log() {
  static const auto logger = logging::get("graceway.session");
  return logger;
}

}  // namespace

InFlightGuard& InFlightGuard::operator=(InFlightGuard&& other) noexcept {
  if (this != &other) {
    release();
    session_ = std::move(other.session_);
    key_ = std::move(other.key_);
  }
  return *this;
}

void InFlightGuard::release() noexcept {
  if (auto session = std::move(session_)) session->end_request(key_);
}

Session::Session(std::string id, std::string protocol_version, const SessionEnvironment& env,
                 nlohmann::json client_capabilities, SessionTransport transport, std::string owner)
    : id_(std::move(id)), transport_(transport), owner_(std::move(owner)), env_(env),
      events_(env.event_log_size > 0 ? std::make_shared<EventLog>(env.event_log_size, env.event_log_bytes) : nullptr),
      protocol_version_(std::move(protocol_version)),
      client_capabilities_(client_capabilities.is_object() ? std::move(client_capabilities) : nlohmann::json::object()),
      awaiting_initialize_(transport == SessionTransport::legacy_sse), last_activity_(env.clock->now()) {
  ++env_.metrics->sessions_open;
}

std::string Session::protocol_version() const {
  std::lock_guard lock(mu_);
  return protocol_version_;
}

nlohmann::json Session::client_capabilities() const {
  std::lock_guard lock(mu_);
  return client_capabilities_;
}

bool Session::awaiting_initialize() const {
  std::lock_guard lock(mu_);
  return awaiting_initialize_;
}

bool Session::initialize(std::string protocol_version, nlohmann::json client_capabilities) {
  std::lock_guard lock(mu_);
  if (!awaiting_initialize_) return false;
  awaiting_initialize_ = false;
  protocol_version_ = std::move(protocol_version);
  client_capabilities_ = client_capabilities.is_object() ? std::move(client_capabilities) : nlohmann::json::object();
  last_activity_ = env_.clock->now();
  return true;
}

void Session::set_protocol_version(std::string protocol_version) {
  std::lock_guard lock(mu_);
  protocol_version_ = std::move(protocol_version);
}

Session::~Session() = default;

SessionState Session::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

std::size_t Session::in_flight() const {
  std::lock_guard lock(mu_);
  return in_flight_.size();
}

Clock::time_point Session::deadline() const {
  std::lock_guard lock(mu_);
  return deadline_;
}

void Session::touch() {
  std::lock_guard lock(mu_);
  last_activity_ = env_.clock->now();
}

Session::Begin Session::begin_request(InFlightRequest&& request) {
  auto key = jsonrpc::key_of(request.id);
  {
    std::lock_guard lock(mu_);
    if (state_ != SessionState::open) return {BeginResult::not_open, {}};
    const auto [it, admitted] = in_flight_.try_emplace(key, std::move(request));
    if (!admitted) return {BeginResult::duplicate_id, {}};
    // The response slot is registered with the in-flight record, in one critical section: a
    // cancellation that finds the record also finds the slot, and a refused duplicate never
    // touches the slot of the request already in flight under its id. Lock order: mu_, then the
    // reply stream's.
    if (it->second.reply) it->second.reply->expect(key);
    last_activity_ = env_.clock->now();
  }
  ++env_.metrics->requests;
  ++env_.metrics->requests_in_flight;
  return {BeginResult::admitted, InFlightGuard(shared_from_this(), std::move(key))};
}

void Session::end_request(const std::string& key) noexcept {
  std::unique_lock lock(mu_);
  if (in_flight_.erase(key) == 0) return;  // already settled by the deadline
  --env_.metrics->requests_in_flight;
  last_activity_ = env_.clock->now();
  if (state_ == SessionState::draining && in_flight_.empty()) {
    transition(lock, SessionState::closed, EndReason::drained);
  }
}

bool Session::cancel_request(const std::string& key) {
  std::stop_source stop;
  std::shared_ptr<Outbox> reply;
  std::optional<jsonrpc::RequestId> id;
  {
    std::lock_guard lock(mu_);
    const auto it = in_flight_.find(key);
    if (it == in_flight_.end() || it->second.cancelled) return false;
    it->second.cancelled = true;
    stop = it->second.stop;
    reply = it->second.reply;
    id = it->second.id;
  }
  // Give up the response slot before stopping the work: a tool that returns as soon as it is
  // stopped must find its answer already abandoned, or its result would still be sent.
  ++env_.metrics->tool_calls_cancelled;  // before anything the client can observe
  if (reply) reply->abandon(key, error_response(errc::request_cancelled, id));
  stop.request_stop();
  log()->debug("session {}: request {} cancelled by the client", id_, key);
  return true;
}

void Session::stop_requests(const std::vector<std::string>& keys) {
  std::vector<std::stop_source> stops;
  {
    std::lock_guard lock(mu_);
    for (const auto& key : keys) {
      if (const auto it = in_flight_.find(key); it != in_flight_.end()) stops.push_back(it->second.stop);
    }
  }
  for (auto& stop : stops) stop.request_stop();
  if (!stops.empty()) {
    env_.metrics->tool_calls_cancelled += stops.size();
    log()->debug("session {}: client left, {} request(s) cancelled", id_, stops.size());
  }
}

void Session::begin_drain(EndReason why, std::chrono::milliseconds window) {
  std::unique_lock lock(mu_);
  drain_locked(lock, why, window);
}

void Session::drain_locked(std::unique_lock<std::mutex>& lock, EndReason why, std::chrono::milliseconds window) {
  const auto now = env_.clock->now();
  switch (state_) {
    case SessionState::open:
      if (in_flight_.empty()) {
        transition(lock, SessionState::closed, why);
      } else {
        deadline_ = now + window;
        window_ = window;
        transition(lock, SessionState::draining, why);
      }
      return;
    case SessionState::draining:
      // A repeated DELETE keeps the deadline; shutdown may only bring it closer.
      if (why == EndReason::shutdown && now + window < deadline_) {
        deadline_ = now + window;
        const auto when = deadline_;
        lock.unlock();
        log()->info("session {}: drain deadline moved to {} from now (shutdown)", id_,
                    format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(window)));
        schedule_deadline(when);
      }
      return;
    case SessionState::closed:
      return;
  }
}

void Session::on_deadline() {
  std::unique_lock lock(mu_);
  if (state_ != SessionState::draining || env_.clock->now() < deadline_) return;
  transition(lock, SessionState::closed, EndReason::deadline);
}

bool Session::expire_if_idle(Clock::duration idle_timeout) {
  std::unique_lock lock(mu_);
  if (state_ != SessionState::open || !in_flight_.empty() || get_stream_ ||
      env_.clock->now() - last_activity_ < idle_timeout) {
    return false;
  }
  return transition(lock, SessionState::closed, EndReason::idle);
}

std::chrono::seconds Session::retry_after() const {
  if (env_.retry_after_override.count() > 0) return env_.retry_after_override;
  std::lock_guard lock(mu_);
  if (state_ != SessionState::draining) return std::chrono::seconds(1);
  const auto left = deadline_ - env_.clock->now();
  const auto secs = std::chrono::ceil<std::chrono::seconds>(left);
  return std::max(secs, std::chrono::seconds(1));
}

void Session::schedule_deadline(Clock::time_point when) {
  if (!env_.schedule) return;
  env_.schedule(when, [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->on_deadline();
  });
}

bool Session::transition(std::unique_lock<std::mutex>& lock, SessionState next, EndReason why) {
  const SessionState from = state_;
  if (!is_legal_transition(from, next, why)) {
    lock.unlock();
    log()->debug("session {}: refused illegal transition {} -> {} ({})", id_, to_string(from), to_string(next),
                 to_string(why));
    return false;
  }
  state_ = next;
  const std::size_t in_flight = in_flight_.size();
  const auto window = window_;
  const auto deadline = deadline_;
  std::vector<std::pair<std::string, InFlightRequest>> unfinished;
  std::shared_ptr<Outbox> stream;
  if (next == SessionState::closed) {
    unfinished.reserve(in_flight_.size());
    for (auto& entry : in_flight_) unfinished.emplace_back(entry.first, std::move(entry.second));
    in_flight_.clear();
    stream = std::move(get_stream_);
  }
  lock.unlock();

  // Gauges and the log line, outside the lock.
  auto& m = *env_.metrics;
  if (from == SessionState::open) --m.sessions_open;
  if (from == SessionState::draining) --m.sessions_draining;
  if (next == SessionState::draining) {
    ++m.sessions_draining;
    log()->info("session {}: {} -> {} ({}), {} in flight, window {}", id_, to_string(from), to_string(next),
                to_string(why), in_flight, format_duration(window));
    schedule_deadline(deadline);
    if (env_.observe) env_.observe(id_, from, next);
    return true;
  }

  // next == closed
  m.count_session_end(why);
  m.requests_in_flight -= static_cast<std::int64_t>(unfinished.size());
  if (unfinished.empty()) {
    log()->info("session {}: {} -> {} ({})", id_, to_string(from), to_string(next), to_string(why));
  } else {
    log()->info("session {}: {} -> {} ({}), {} request(s) still running are cancelled", id_, to_string(from),
                to_string(next), to_string(why), unfinished.size());
  }
  // Answer before stopping: a tool that returns as soon as it is stopped must find its response
  // already settled by the deadline error, or its result would race that error onto the wire.
  for (auto& [key, request] : unfinished) {
    if (!request.cancelled && request.reply) {
      request.reply->complete(key, error_response(errc::drain_deadline, request.id), &m.deadline_errors);
    }
    request.stop.request_stop();
  }
  if (stream) stream->close();
  if (env_.forget) env_.forget(id_);
  if (env_.observe) env_.observe(id_, from, next);
  return true;
}

Session::AttachResult Session::attach_stream(std::shared_ptr<Outbox> stream, bool replace) {
  std::shared_ptr<Outbox> replaced;
  {
    std::lock_guard lock(mu_);
    if (state_ != SessionState::open) return AttachResult::not_open;
    if (get_stream_ && !get_stream_->gone()) {
      if (!replace) return AttachResult::conflict;
      replaced = std::move(get_stream_);
    }
    get_stream_ = std::move(stream);
    last_activity_ = env_.clock->now();
  }
  // Its client came back on a new connection, so the old one is dead even if no write failed.
  if (replaced) replaced->mark_gone();
  return AttachResult::attached;
}

void Session::detach_stream(const Outbox* stream) {
  std::lock_guard lock(mu_);
  if (get_stream_.get() == stream) get_stream_.reset();
  last_activity_ = env_.clock->now();
}

std::shared_ptr<Outbox> Session::attached_stream() const {
  std::lock_guard lock(mu_);
  return get_stream_;
}

bool Session::notify(const nlohmann::json& message) {
  std::shared_ptr<Outbox> stream;
  {
    std::lock_guard lock(mu_);
    stream = get_stream_;
  }
  return stream && stream->push(message);
}

void Session::set_log_level(LogLevel level) { log_threshold_.store(static_cast<int>(level)); }

bool Session::log_passes(LogLevel level) const { return static_cast<int>(level) >= log_threshold_.load(); }

void Session::subscribe(const std::string& uri) {
  std::lock_guard lock(mu_);
  subscriptions_.insert(uri);
}

void Session::unsubscribe(const std::string& uri) {
  std::lock_guard lock(mu_);
  subscriptions_.erase(uri);
}

bool Session::subscribed(const std::string& uri) const {
  std::lock_guard lock(mu_);
  return subscriptions_.count(uri) != 0;
}

void Session::register_stream(std::uint64_t number, const std::shared_ptr<Outbox>& stream) {
  std::lock_guard lock(mu_);
  // Streams whose work is done expire; sweep them out as the map grows.
  if (post_streams_.size() >= 64) std::erase_if(post_streams_, [](const auto& e) { return e.second.expired(); });
  post_streams_.emplace(number, stream);
}

std::shared_ptr<Outbox> Session::find_stream(std::uint64_t number) const {
  std::lock_guard lock(mu_);
  const auto it = post_streams_.find(number);
  return it == post_streams_.end() ? nullptr : it->second.lock();
}

void Session::stop_unless_resumed(std::weak_ptr<Outbox> stream, std::vector<std::string> keys,
                                  std::chrono::milliseconds window) {
  env_.schedule(env_.clock->now() + window, [weak = weak_from_this(), stream = std::move(stream),
                                             keys = std::move(keys)] {
    const auto live = stream.lock();
    if (live && live->resumed()) return;
    if (auto self = weak.lock()) self->stop_requests(keys);
  });
}

}  // namespace graceway
