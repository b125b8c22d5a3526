#pragma once
// One MCP session and its lifecycle: open -> draining -> closed (design.md section 2).
// Thread-safe: HTTP threads admit and cancel requests, tool workers finish them, the runtime
// thread fires deadlines and idle expiry. State changes only in Session::transition().

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <atomic>
#include <mutex>
#include <set>
#include <stop_token>
#include <string>
#include <unordered_map>
#include <vector>

#include "graceway/clock.hpp"
#include "graceway/jsonrpc.hpp"
#include "graceway/log_level.hpp"
#include "graceway/metrics.hpp"
#include "graceway/session_state.hpp"
#include "session/client_requests.hpp"
#include "session/event_log.hpp"
#include "session/outbox.hpp"

namespace graceway {


// What a session needs from the rest of the server. Owned by the SessionRegistry; outlives
// every session (the server joins all threads before destroying it).
struct SessionEnvironment {
  const Clock* clock = nullptr;
  Metrics* metrics = nullptr;
  // Runs `fn` on the runtime thread at or after `when`.
  std::function<void(Clock::time_point when, std::function<void()> fn)> schedule;
  // Called once when the session reaches closed, after its own lock is released.
  std::function<void(const std::string& id)> forget;
  std::chrono::seconds retry_after_override{0};
  // Events each session keeps for resumption (GET + Last-Event-ID); 0 turns resumability off.
  std::size_t event_log_size = 0;
  std::size_t event_log_bytes = 0;  // and at most this many bytes of them
  // Called after every state change, outside the session's lock (observers, tests, tools).
  std::function<void(const std::string& id, SessionState from, SessionState to)> observe;
};

// An admitted request: how to stop it and where its response goes.
struct InFlightRequest {
  jsonrpc::RequestId id;
  std::stop_source stop;
  std::shared_ptr<Outbox> reply;
  bool cancelled = false;  // by notifications/cancelled: its response slot is already gone
};

// What keeps track of requests in flight: a session, or the process's stateless requests
// (runtime/stateless_requests.hpp).
class InFlightOwner {
public:
  InFlightOwner() = default;
  InFlightOwner(const InFlightOwner&) = delete;
  InFlightOwner& operator=(const InFlightOwner&) = delete;
  // The request `key` has ended (its guard was released).
  virtual void end_request(const std::string& key) noexcept = 0;

protected:
  virtual ~InFlightOwner() = default;
};

// Holds one request in flight; releasing it (or destroying it) ends the request, which may
// close a draining session (or let a shutdown finish).
class InFlightGuard {
public:
  InFlightGuard() = default;
  InFlightGuard(std::shared_ptr<InFlightOwner> owner, std::string key)
      : session_(std::move(owner)), key_(std::move(key)) {}
  InFlightGuard(InFlightGuard&& other) noexcept = default;
  InFlightGuard& operator=(InFlightGuard&& other) noexcept;
  InFlightGuard(const InFlightGuard&) = delete;
  InFlightGuard& operator=(const InFlightGuard&) = delete;
  ~InFlightGuard() { release(); }

  void release() noexcept;
  [[nodiscard]] explicit operator bool() const { return session_ != nullptr; }

private:
  std::shared_ptr<InFlightOwner> session_;
  std::string key_;
};

// How the client reaches the session. A Streamable HTTP session starts with its initialize; a
// legacy HTTP+SSE (2024-11-05) session starts with GET on the SSE endpoint and is initialized by
// the first initialize POSTed to the messages endpoint.
enum class SessionTransport { streamable_http, legacy_sse };

class Session final : public InFlightOwner, public std::enable_shared_from_this<Session> {
public:
  Session(std::string id, std::string protocol_version, const SessionEnvironment& env,
          nlohmann::json client_capabilities = nlohmann::json::object(),
          SessionTransport transport = SessionTransport::streamable_http, std::string owner = {});
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session() override;

  [[nodiscard]] const std::string& id() const { return id_; }
  [[nodiscard]] SessionTransport transport() const { return transport_; }
  // The principal that opened the session (Principal::id; empty when authless). Only requests
  // of the same principal find it (docs/security.md, "Sessions bound to their principal").
  [[nodiscard]] const std::string& owner() const { return owner_; }
  // A copy: a legacy session learns its version from the initialize that follows its creation.
  [[nodiscard]] std::string protocol_version() const;
  // initialize's params.capabilities (an object); a copy, for the same reason.
  [[nodiscard]] nlohmann::json client_capabilities() const;
  // Legacy HTTP+SSE: true until the session's initialize has been applied.
  [[nodiscard]] bool awaiting_initialize() const;
  // Legacy HTTP+SSE: applies the negotiated version and the client's capabilities, once. False
  // when the session was initialized already (the caller answers already_initialized).
  bool initialize(std::string protocol_version, nlohmann::json client_capabilities);
  // Gateway: the version the session's MCP server answered initialize with replaces the one
  // graceway would have negotiated.
  void set_protocol_version(std::string protocol_version);
  [[nodiscard]] SessionState state() const;
  [[nodiscard]] std::size_t in_flight() const;
  [[nodiscard]] Clock::time_point deadline() const;

  // --- requests ------------------------------------------------------------------------
  enum class BeginResult { admitted, not_open, duplicate_id };
  struct Begin {
    BeginResult result;
    InFlightGuard guard;  // set when admitted
  };
  // Admits a request if the session is open, in the same critical section that checks it, and
  // registers its response slot (request.reply->expect) with it.
  Begin begin_request(InFlightRequest&& request);
  // notifications/cancelled: stops the request and drops its response. False if unknown.
  bool cancel_request(const std::string& key);
  // The client of these requests went away: stop them (their results will be dropped).
  void stop_requests(const std::vector<std::string>& keys);

  // --- lifecycle -----------------------------------------------------------------------
  // DELETE, idle expiry, process shutdown. Closed at once when nothing is in flight, else
  // draining for `window`. On a draining session only shutdown may move the deadline earlier.
  void begin_drain(EndReason why, std::chrono::milliseconds window);
  // The runtime timer: closes a draining session whose deadline has passed.
  void on_deadline();
  // The idle reaper: closes an open session with nothing in flight, no GET stream and no
  // activity for `idle_timeout`. Returns true when it closed the session.
  bool expire_if_idle(Clock::duration idle_timeout);
  // Seconds to put in Retry-After: left in the window, rounded up, at least 1.
  [[nodiscard]] std::chrono::seconds retry_after() const;
  void touch();

  // --- the standalone GET stream -------------------------------------------------------
  enum class AttachResult { attached, conflict, not_open };
  // `replace`: a resuming client takes over from a stream whose end we have not noticed yet.
  AttachResult attach_stream(std::shared_ptr<Outbox> stream, bool replace = false);
  void detach_stream(const Outbox* stream);
  // A server-initiated message on the GET stream. False when no stream takes it.
  bool notify(const nlohmann::json& message);
  // The attached stream (a legacy session's one stream carries its responses too); may be null.
  [[nodiscard]] std::shared_ptr<Outbox> attached_stream() const;

  // --- what the client asked of the session ----------------------------------------------
  // notifications/initialized has arrived: the server may now send the client requests (2.3).
  void mark_initialized() { initialized_.store(true); }
  [[nodiscard]] bool initialized() const { return initialized_.load(); }
  // logging/setLevel. Until it is called every level passes.
  void set_log_level(LogLevel level);
  [[nodiscard]] bool log_passes(LogLevel level) const;
  // resources/subscribe and resources/unsubscribe; the URIs are matched exactly.
  void subscribe(const std::string& uri);
  void unsubscribe(const std::string& uri);
  [[nodiscard]] bool subscribed(const std::string& uri) const;
  // Requests sent to this client and awaiting its answer.
  [[nodiscard]] ClientRequests& client_requests() { return client_requests_; }

  // --- resumability --------------------------------------------------------------------
  // The session's event log; null when resumability is off.
  [[nodiscard]] const std::shared_ptr<EventLog>& events() const { return events_; }
  // A POST stream that a GET with Last-Event-ID may take over while it still has work.
  void register_stream(std::uint64_t number, const std::shared_ptr<Outbox>& stream);
  [[nodiscard]] std::shared_ptr<Outbox> find_stream(std::uint64_t number) const;
  // The client of a resumable stream left: stop `keys` after `window` unless a GET has resumed
  // the stream by then.
  void stop_unless_resumed(std::weak_ptr<Outbox> stream, std::vector<std::string> keys,
                           std::chrono::milliseconds window);

private:
  void end_request(const std::string& key) noexcept override;
  // Starts a drain with mu_ held; consumes the lock.
  void drain_locked(std::unique_lock<std::mutex>& lock, EndReason why, std::chrono::milliseconds window);
  // The only writer of state_. Checks the edge, applies it, releases mu_, then logs
  // "old -> new (why)" and carries out what the new state implies. Returns false for an
  // illegal edge (nothing changes).
  bool transition(std::unique_lock<std::mutex>& lock, SessionState next, EndReason why);
  void schedule_deadline(Clock::time_point when);

  const std::string id_;
  const SessionTransport transport_;
  const std::string owner_;
  const SessionEnvironment& env_;
  // -1 until logging/setLevel; then the LogLevel's value. Atomic: read by tool workers.
  std::atomic<int> log_threshold_{-1};
  std::atomic<bool> initialized_{false};  // set by notifications/initialized; read by tool workers
  ClientRequests client_requests_;  // has its own lock
  const std::shared_ptr<EventLog> events_;  // has its own lock; null when resumability is off

  mutable std::mutex mu_;                                       // guards the fields below
  SessionState state_ = SessionState::open;                     // written by transition() only
  std::string protocol_version_;                                // set once more by initialize()
  nlohmann::json client_capabilities_;                          // set once more by initialize()
  bool awaiting_initialize_ = false;                            // legacy session before initialize
  std::unordered_map<std::string, InFlightRequest> in_flight_;  // keyed by jsonrpc::key_of(id)
  Clock::time_point deadline_{};                                // meaningful while draining
  std::chrono::milliseconds window_{0};                         // the drain's grace window
  Clock::time_point last_activity_{};
  std::shared_ptr<Outbox> get_stream_;
  std::set<std::string, std::less<>> subscriptions_;  // resource URIs
  std::unordered_map<std::uint64_t, std::weak_ptr<Outbox>> post_streams_;  // resumable, by number
};

}  // namespace graceway
