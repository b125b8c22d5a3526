#pragma once
// Where the messages of one HTTP response go, as the session and MCP layers see it: the response
// slots of the requests it carries, notifications and requests to the client, and its end. The
// transport implements it (ReplyStream: SSE or JSON, resumable); the session layer never knows how
// the bytes are framed or written. Every operation is thread-safe and never blocks or throws.

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "graceway/metrics.hpp"

namespace graceway {

class Outbox {
public:
  Outbox() = default;
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;
  virtual ~Outbox() = default;

  // Registers a request whose response this outbox must carry.
  virtual void expect(const std::string& key) = 0;
  // A notification or a request to the client. False: not sent (the outbox answers with one body,
  // its client is gone, it ended, or it is full), and counted.
  virtual bool push(const nlohmann::json& message) = 0;
  // The response for `key`. False: dropped (client gone, or key already answered or abandoned).
  // `tally`, when given, is incremented if the response will be written, before any reader can
  // see it.
  virtual bool complete(const std::string& key, const nlohmann::json& response, Metrics::counter* tally) = 0;
  bool complete(const std::string& key, const nlohmann::json& response) { return complete(key, response, nullptr); }
  // The request was cancelled: a stream sends nothing for it; one body answers `error` in its place.
  virtual void abandon(const std::string& key, const nlohmann::json& error_response) = 0;
  // Ends a standalone or legacy session stream after what is queued.
  virtual void close() = 0;
  // Ends the response early while the work goes on (SEP-1699 polling); false when it cannot.
  virtual bool cut() = 0;
  // Flow control for a producer that relays another stream (the upstream gateway): true when the
  // client keeps up (under half the notification bound waits unwritten). Otherwise false, and
  // `resume` runs once, on the consumer's thread, when the client has taken what waits or has
  // gone; it must only schedule the producer.
  virtual bool has_room_or_call(std::function<void()> resume) = 0;
  // True while a resuming client carries this outbox's messages on a newer response.
  [[nodiscard]] virtual bool resumed() const = 0;
  // False when it answers with one body (JSON response mode): nothing can precede the response.
  [[nodiscard]] virtual bool streams() const = 0;
  // The client has gone (a resuming client replaced it): later messages are dropped and counted.
  virtual void mark_gone() = 0;
  [[nodiscard]] virtual bool gone() const = 0;
};

}  // namespace graceway
