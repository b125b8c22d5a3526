#pragma once
// The open subscriptions/listen streams of stateless (2026-07-28) clients: what each asked to
// hear, and the stream it hears it on. Notifications go only to the streams whose filter names
// them, each tagged with the subscription's id; a shutdown ends every stream with the listen
// result. Thread-safe: HTTP threads open, the engine's end callbacks close, publishers notify
// from any thread.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "graceway/catalog.hpp"
#include "graceway/jsonrpc.hpp"
#include "graceway/metrics.hpp"
#include "session/outbox.hpp"

namespace graceway {

class Subscriptions {
public:
  // What a listen request asks for (params.notifications).
  struct Filter {
    bool tools = false;
    bool prompts = false;
    bool resources = false;
    std::set<std::string, std::less<>> resource_uris;  // resources/updated for these, exactly
  };

  Subscriptions(std::size_t capacity, Metrics& metrics);

  enum class Open { opened, full, closed };
  // Sends the acknowledgement (naming `honoured`, what will be delivered) first on `stream`, then
  // registers it. `number` identifies the subscription for close().
  Open open(const jsonrpc::RequestId& id, Filter filter, const nlohmann::json& honoured,
            const std::shared_ptr<Outbox>& stream, std::uint64_t& number);
  // The client closed the stream.
  void close(std::uint64_t number);
  // notifications/<list>/list_changed on every stream that asked for it. Returns how many.
  std::size_t list_changed(ChangeFeed::List which);
  std::size_t resource_updated(std::string_view uri);
  // Shutdown: no new subscriptions; each stream gets the listen result and ends.
  void end_all();

private:
  struct Entry {
    nlohmann::json id;  // the listen request's JSON-RPC id: the subscription id
    std::string key;    // jsonrpc::key_of(id): its response slot on the stream
    Filter filter;
    std::shared_ptr<Outbox> stream;
  };
  // `message` tagged for `entry`.
  static nlohmann::json tagged(const Entry& entry, nlohmann::json message);
  template <class Wants>
  std::size_t notify(const Wants& wants, const nlohmann::json& message);

  const std::size_t capacity_;
  Metrics& metrics_;
  mutable std::mutex mu_;  // guards the fields below
  std::unordered_map<std::uint64_t, Entry> open_;
  std::uint64_t opened_ = 0;
  bool closed_ = false;
};

}  // namespace graceway
