#pragma once
// Everything a server offers its clients: tools, resources and prompts. The InitializeResult
// declares a capability for each part that is not empty (tools always).

#include <functional>
#include <memory>
#include <mutex>

#include "graceway/prompt_registry.hpp"
#include "graceway/resource_registry.hpp"
#include "graceway/tool_registry.hpp"

namespace graceway {

// Tells clients that a list changed: notifications/tools/list_changed (and prompts, resources)
// on every legacy session's GET stream and on every subscriptions/listen stream that asked for
// it. Whoever changes what a list returns publishes; the server listens from start() until it
// is destroyed. Thread-safe.
class ChangeFeed {
public:
  enum class List { tools, prompts, resources };
  using Listener = std::function<void(List)>;

  // notifications/<list>/list_changed, the message that announces `which`.
  [[nodiscard]] static const char* notification_method(List which);

  void publish(List which) const;
  void set_listener(Listener listener);

private:
  mutable std::mutex mu_;  // guards listener_
  Listener listener_;
};

struct Catalog {
  ToolRegistry tools;
  ResourceRegistry resources;
  PromptRegistry prompts;
  // Shared, so a handler that captures it stays valid when the catalog moves into the server.
  std::shared_ptr<ChangeFeed> changes = std::make_shared<ChangeFeed>();

  // Whether any prompt argument or template variable offers completion (completion/complete).
  [[nodiscard]] bool has_completions() const { return prompts.has_completions() || resources.has_completions(); }
};

}  // namespace graceway
