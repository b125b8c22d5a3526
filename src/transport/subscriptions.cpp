#include "transport/subscriptions.hpp"

#include <utility>
#include <vector>

#include "mcp/modern_request.hpp"

namespace graceway {
namespace {

using nlohmann::json;

json subscription_meta(const json& id) { return {{std::string(mcp::modern::kMetaSubscriptionId), id}}; }

}  // namespace

Subscriptions::Subscriptions(std::size_t capacity, Metrics& metrics) : capacity_(capacity), metrics_(metrics) {}

json Subscriptions::tagged(const Entry& entry, json message) {
  auto& params = message["params"];
  if (!params.is_object()) params = json::object();
  params["_meta"] = subscription_meta(entry.id);
  return message;
}

Subscriptions::Open Subscriptions::open(const jsonrpc::RequestId& id, Filter filter, const json& honoured,
                                        const std::shared_ptr<Outbox>& stream, std::uint64_t& number) {
  Entry entry{jsonrpc::to_json(id), jsonrpc::key_of(id), std::move(filter), stream};
  const std::lock_guard lock(mu_);
  if (closed_) return Open::closed;
  if (open_.size() >= capacity_) {
    ++metrics_.subscriptions_refused;
    return Open::full;
  }
  stream->expect(entry.key);
  // Under the lock, so no notification can reach the stream before its acknowledgement.
  stream->push(tagged(entry, jsonrpc::make_notification("notifications/subscriptions/acknowledged",
                                                         {{"notifications", honoured}})));
  number = ++opened_;
  open_.emplace(number, std::move(entry));
  metrics_.subscriptions_open.store(static_cast<std::int64_t>(open_.size()));
  return Open::opened;
}

void Subscriptions::close(std::uint64_t number) {
  const std::lock_guard lock(mu_);
  open_.erase(number);
  metrics_.subscriptions_open.store(static_cast<std::int64_t>(open_.size()));
}

template <class Wants>
std::size_t Subscriptions::notify(const Wants& wants, const json& message) {
  std::vector<std::pair<std::shared_ptr<Outbox>, json>> targets;
  {
    const std::lock_guard lock(mu_);
    for (const auto& [number, entry] : open_) {
      if (wants(entry.filter)) targets.emplace_back(entry.stream, tagged(entry, message));
    }
  }
  std::size_t sent = 0;
  for (const auto& [stream, tagged_message] : targets) {
    if (stream->push(tagged_message)) ++sent;
  }
  return sent;
}

std::size_t Subscriptions::list_changed(ChangeFeed::List which) {
  return notify(
      [which](const Filter& f) {
        return which == ChangeFeed::List::tools ? f.tools : which == ChangeFeed::List::prompts ? f.prompts : f.resources;
      },
      jsonrpc::make_notification(ChangeFeed::notification_method(which), json::object()));
}

std::size_t Subscriptions::resource_updated(std::string_view uri) {
  return notify([uri](const Filter& f) { return f.resource_uris.contains(uri); },
                jsonrpc::make_notification("notifications/resources/updated", {{"uri", std::string(uri)}}));
}

void Subscriptions::end_all() {
  std::unordered_map<std::uint64_t, Entry> ending;
  {
    const std::lock_guard lock(mu_);
    closed_ = true;
    ending.swap(open_);
    metrics_.subscriptions_open.store(0);
  }
  for (auto& [number, entry] : ending) {
    // The listen result ends the stream: the client knows the server ended it on purpose.
    const auto id = jsonrpc::id_from_json(entry.id);
    if (!id) continue;
    entry.stream->complete(entry.key,
                           jsonrpc::make_result(*id, {{"resultType", "complete"}, {"_meta", subscription_meta(entry.id)}}));
  }
}

}  // namespace graceway
