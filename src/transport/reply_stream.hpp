#pragma once
// One HTTP response that carries JSON-RPC messages: a POST's answer (SSE or JSON), a session's
// standalone GET stream, or a legacy HTTP+SSE session's one stream (every response of the session,
// for as long as the session lives), or a 2026-07-28 request's answer, which becomes one JSON body
// or an SSE stream only once its handler shows which (Format::lazy). Producers (tool workers, the runtime thread, other HTTP threads) push;
// exactly one HTTP thread consumes. push/complete never throw and never block: they return
// whether the message will be written, and count what they drop.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "graceway/errc.hpp"
#include "graceway/metrics.hpp"
#include "session/outbox.hpp"

namespace graceway {

class EventLog;

class ReplyStream final : public Outbox {
public:
  // lazy: one request (batch false), answered with one JSON body unless a notification comes
  // first, when it becomes an SSE stream. Deciding late lets an error the handler finds still set
  // the HTTP status (a 404 or a 400) of a body nobody has seen yet. Never resumable.
  enum class Format { sse, json, lazy };
  // How the HTTP response starts, once it is known.
  struct Head {
    Format format;  // sse or json, never lazy
    int status;     // the HTTP status; 200 for every stream that is not lazy
  };
  // Overflow policy for notifications when max_queued messages wait unwritten: the new
  // notification is dropped and counted (responses are never dropped for space).
  enum class Next { data, idle, end };

  ReplyStream(Format format, bool batch, std::size_t max_queued, Metrics& metrics);

  // --- set-up, before the stream is served -------------------------------------------------
  // Registers a request whose response this stream must carry.
  void expect(const std::string& key) override;
  // Called once, with the keys still unanswered, when the client goes away.
  void on_gone(std::function<void(std::vector<std::string>)> callback);
  // SSE only. Every event gets the id "<stream>-<seq>" and is recorded in `log`, so the client can
  // resume the stream with GET + Last-Event-ID after it broke; after the client has gone the
  // stream keeps recording what its producers send. `prime` first sends the priming event (an id
  // and empty data) with `retry:` = retry, as 2025-11-25 asks.
  void make_resumable(std::shared_ptr<EventLog> log, std::uint64_t stream, bool prime, std::chrono::milliseconds retry);
  // Events written before anything else (a replay), already framed.
  void preload(const std::vector<std::string>& framed);
  // One framed event after what is queued (forwarded by a stream this one resumes).
  void preload_tail(std::string framed);
  // Legacy HTTP+SSE (2024-11-05): the stream carries responses for any number of keys, expected
  // at any time, and ends only on close(), never because every expected response is in.
  void carry_responses_until_closed();
  // Lazy only: the HTTP status of an answer settled as JSON, from its one response (absent: 200).
  // It runs under the stream's lock, so it must be a pure function of the response and never
  // call back into the stream; a status that is not a final one (200-599), or an exception,
  // gives 500.
  void set_status_picker(std::function<int(const nlohmann::json& response)> picker);

  // --- producers ---------------------------------------------------------------------------
  // Notification or server request (SSE only; the first one settles a lazy stream as SSE).
  // False: not sent (JSON mode, gone, ended, full).
  bool push(const nlohmann::json& message) override;
  // The response for `key`. False: dropped (client gone, or key already answered/abandoned).
  // `tally`, when given, is incremented if the response will be written, before any reader can
  // see it. Before any notification, it settles a lazy stream as JSON.
  bool complete(const std::string& key, const nlohmann::json& response, Metrics::counter* tally) override;
  using Outbox::complete;
  // The request was cancelled: SSE sends nothing for it; JSON mode answers `error` in its place.
  // A lazy stream not settled yet ends with nothing to send (`error_response` is not used): its
  // client is gone, or was the one who cancelled.
  void abandon(const std::string& key, const nlohmann::json& error_response) override;
  // An SSE event that is not a JSON-RPC message (legacy HTTP+SSE's `endpoint` event). Not
  // counted against the notification bound. False: not sent (JSON mode, gone, ended).
  bool push_event(std::string_view type, std::string_view data);
  // Ends a standalone or legacy session stream after what is queued; later writes are dropped.
  void close() override;
  // Ends the HTTP response after what is queued while the work goes on (SEP-1699 polling): later
  // events are only recorded, for the client to fetch with GET + Last-Event-ID. Nothing is
  // cancelled. False (and nothing changes) when the stream is not resumable or already gone.
  bool cut() override;
  bool has_room_or_call(std::function<void()> resume) override;

  // --- resumption ------------------------------------------------------------------------------
  // A GET with Last-Event-ID continues this stream on `successor`: the recorded events after
  // `after_seq`, then whatever this stream carries until it ends (then `successor` is closed).
  // This stream's own client is taken to be gone. False when the stream is not resumable.
  bool resume_into(const std::shared_ptr<ReplyStream>& successor, std::uint64_t after_seq);
  // `successor` lost its client: stop forwarding to it (events are still recorded).
  void successor_gone(const ReplyStream* successor);
  // True while a successor carries this stream.
  [[nodiscard]] bool resumed() const override;
  // Lazy: true until it settles as JSON.
  [[nodiscard]] bool streams() const override;
  [[nodiscard]] bool resumable() const;
  // The HTTP response carried the whole stream: its recorded events need no replay.
  void delivered();
  // Keys of the responses still expected.
  [[nodiscard]] std::vector<std::string> unanswered() const;

  // --- the consumer (one HTTP thread) ------------------------------------------------------
  // Waits up to `wait` for output. data: `out` holds bytes to write; end: write nothing more.
  Next next(std::chrono::milliseconds wait, std::string& out);
  // next() without waiting, for an event loop: after `idle`, the waker runs once when there is
  // output (or an end) to take.
  Next take(std::string& out) { return next(std::chrono::milliseconds(0), out); }
  // Called, outside the stream's lock and from whichever thread produced it, when output
  // becomes ready after take() or next() found none. It must only schedule the consumer (post
  // to its event loop), never write or call back into the stream.
  void set_waker(std::function<void()> waker);
  // The client has gone: later pushes are dropped and counted; the on_gone callback runs.
  void mark_gone() override;
  // True when every expected response is in (the fast path serves such a stream as one body).
  [[nodiscard]] bool finished() const;
  // The format the stream was made with (lazy stays lazy: see settled()).
  [[nodiscard]] Format format() const { return format_; }
  // How the response starts: nullopt while a lazy stream is undecided, and for one that ended
  // undecided (abandoned, or its client gone): then there is nothing to send. After take() or
  // next() returned data, a lazy stream is settled.
  [[nodiscard]] std::optional<Head> settled() const;
  [[nodiscard]] bool gone() const override;

  // SSE framing of one message; `id` may be empty.
  [[nodiscard]] static std::string sse_event(const nlohmann::json& message, const std::string& id = {});
  // Drains everything queued into one body. Only valid when finished().
  [[nodiscard]] std::string take_body();

private:
  void append_locked(const nlohmann::json& message);  // mu_ held
  // A lazy stream not settled yet becomes `format` (sse or json). mu_ held.
  void settle_locked(Format format, int status);
  // The status picker's verdict on a lazy stream's one response, 500 when it has none to give.
  // mu_ held.
  [[nodiscard]] int status_for_locked(const nlohmann::json& response) const;
  // Frames an SSE event, records it when resumable, and hands it to whoever writes it now: the
  // successor, the queue, or nobody (gone, kept in the log only). mu_ held.
  void emit_locked(const nlohmann::json& message);
  [[nodiscard]] bool ended_locked() const;             // mu_ held
  // After a response: when the stream has ended, tell the log and the successor. mu_ held.
  void after_response_locked();
  // The waker to run once the lock is released, if the consumer waits for one. mu_ held.
  [[nodiscard]] std::function<void()> wake_locked();
  // Wakes the consumer: the condition variable and the waker `w` (from wake_locked()).
  void notify(const std::function<void()>& w);

  const Format format_;
  const bool batch_;
  const std::size_t max_queued_;
  Metrics& metrics_;

  mutable std::mutex mu_;                      // guards everything below
  // sse or json: how the stream behaves; lazy while a lazy stream is undecided.
  Format mode_;
  int status_ = 200;                           // the HTTP status, once settled
  std::function<int(const nlohmann::json&)> status_picker_;  // lazy: set up before serving
  std::condition_variable cv_;                 // consumer waits here
  std::unordered_set<std::string> pending_;    // expected responses not yet in
  std::deque<std::string> queued_;             // SSE: framed events waiting to be written
  std::size_t queued_notifications_ = 0;
  std::vector<std::string> json_responses_;    // JSON mode: serialized responses
  bool expects_responses_ = false;             // POST stream (vs standalone GET)
  bool until_closed_ = false;                  // legacy session stream: ends on close() only
  bool closed_ = false;                        // standalone or legacy stream asked to end
  bool gone_ = false;                          // client went away
  bool cut_ = false;                           // the server ended the response early (cut())
  bool end_reported_ = false;
  std::function<void(std::vector<std::string>)> on_gone_;
  std::function<void()> waker_;                // set by an event-loop consumer
  // Relaying producers paused by has_room_or_call() (one per upstream stream a batch relays);
  // bounded by the requests the response carries.
  std::vector<std::function<void()>> room_waiters_;
  bool consumer_waiting_ = false;              // the consumer found nothing and waits for the waker
  // Resumability (set up before serving; then under mu_).
  std::shared_ptr<EventLog> log_;              // null: not resumable
  std::uint64_t stream_ = 0;
  std::uint64_t seq_ = 0;                      // the last event's seq
  std::shared_ptr<ReplyStream> successor_;     // a resuming GET that carries this stream now
};

}  // namespace graceway
