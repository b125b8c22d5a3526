#pragma once
// One HTTP response that carries JSON-RPC messages: a POST's answer (SSE or JSON), a session's
// standalone GET stream, or a legacy HTTP+SSE session's one stream (every response of the session,
// for as long as the session lives). Producers (tool workers, the runtime thread, other HTTP threads) push;
// exactly one HTTP thread consumes. push/complete never throw and never block: they return
// whether the message will be written, and count what they drop.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "graceway/errc.hpp"
#include "graceway/metrics.hpp"

namespace graceway {

class ReplyStream {
public:
  enum class Format { sse, json };
  // Overflow policy for notifications when max_queued messages wait unwritten: the new
  // notification is dropped and counted (responses are never dropped for space).
  enum class Next { data, idle, end };

  ReplyStream(Format format, bool batch, std::size_t max_queued, Metrics& metrics);

  // --- set-up, before the stream is served -------------------------------------------------
  // Registers a request whose response this stream must carry.
  void expect(const std::string& key);
  // Called once, with the keys still unanswered, when the client goes away.
  void on_gone(std::function<void(std::vector<std::string>)> callback);
  // Legacy HTTP+SSE (2024-11-05): the stream carries responses for any number of keys, expected
  // at any time, and ends only on close(), never because every expected response is in.
  void carry_responses_until_closed();

  // --- producers ---------------------------------------------------------------------------
  // Notification or server request (SSE only). False: not sent (JSON mode, gone, ended, full).
  bool push(const nlohmann::json& message);
  // The response for `key`. False: dropped (client gone, or key already answered/abandoned).
  // `tally`, when given, is incremented if the response will be written, before any reader can
  // see it.
  bool complete(const std::string& key, const nlohmann::json& response, Metrics::counter* tally = nullptr);
  // The request was cancelled: SSE sends nothing for it; JSON mode answers `error` in its place.
  void abandon(const std::string& key, const nlohmann::json& error_response);
  // An SSE event that is not a JSON-RPC message (legacy HTTP+SSE's `endpoint` event). Not
  // counted against the notification bound. False: not sent (JSON mode, gone, ended).
  bool push_event(std::string_view type, std::string_view data);
  // Ends a standalone or legacy session stream after what is queued; later writes are dropped.
  void close();

  // --- the consumer (one HTTP thread) ------------------------------------------------------
  // Waits up to `wait` for output. data: `out` holds bytes to write; end: write nothing more.
  Next next(std::chrono::milliseconds wait, std::string& out);
  // The client has gone: later pushes are dropped and counted; the on_gone callback runs.
  void mark_gone();
  // True when every expected response is in (the fast path serves such a stream as one body).
  [[nodiscard]] bool finished() const;
  [[nodiscard]] Format format() const { return format_; }
  [[nodiscard]] bool gone() const;

  // SSE framing of one message.
  [[nodiscard]] static std::string sse_event(const nlohmann::json& message);
  // Drains everything queued into one body. Only valid when finished().
  [[nodiscard]] std::string take_body();

private:
  void append_locked(const nlohmann::json& message);  // mu_ held
  [[nodiscard]] bool ended_locked() const;             // mu_ held

  const Format format_;
  const bool batch_;
  const std::size_t max_queued_;
  Metrics& metrics_;

  mutable std::mutex mu_;                      // guards everything below
  std::condition_variable cv_;                 // consumer waits here
  std::unordered_set<std::string> pending_;    // expected responses not yet in
  std::deque<std::string> queued_;             // SSE: framed events waiting to be written
  std::size_t queued_notifications_ = 0;
  std::vector<std::string> json_responses_;    // JSON mode: serialized responses
  bool expects_responses_ = false;             // POST stream (vs standalone GET)
  bool until_closed_ = false;                  // legacy session stream: ends on close() only
  bool closed_ = false;                        // standalone or legacy stream asked to end
  bool gone_ = false;                          // client went away
  bool end_reported_ = false;
  std::function<void(std::vector<std::string>)> on_gone_;
};

}  // namespace graceway
