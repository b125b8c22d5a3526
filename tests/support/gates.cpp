#include "support/gates.hpp"

#include <stop_token>

namespace graceway::test {

void GateBoard::install(ToolRegistry& registry) {
  ToolDefinition gate;
  gate.name = "gate";
  gate.description = "Test tool: waits until the test releases the named gate, or cancellation.";
  gate.input_schema = {{"type", "object"}, {"properties", {{"name", {{"type", "string"}}}}}, {"required", {"name"}}};
  ToolDefinition stubborn = gate;
  stubborn.name = "stubborn_gate";
  stubborn.description = "Test tool: waits until the test releases the named gate; ignores cancellation.";
  registry.add(gate, [this](ToolContext& ctx) { return run(ctx, true); });
  registry.add(stubborn, [this](ToolContext& ctx) { return run(ctx, false); });
}

ToolResult GateBoard::run(ToolContext& ctx, bool honour_cancel) {
  const std::string name = ctx.arguments().value("name", std::string("default"));
  // Records the stop request as it happens, even for a stubborn call. Registered before mu_ is
  // taken and destroyed after it is released: the callback takes mu_ itself.
  std::stop_callback on_stop(ctx.stop_token(), [this, name] {
    {
      std::lock_guard lock(mu_);
      gates_[name].stop_requested = true;
    }
    cv_.notify_all();
  });
  Outcome outcome = Outcome::cancelled;
  {
    std::unique_lock lock(mu_);
    ++gates_[name].entered;
    cv_.notify_all();
    auto released = [&] { return gates_[name].released || released_all_; };
    if (honour_cancel) {
      cv_.wait(lock, ctx.stop_token(), released);
    } else {
      cv_.wait(lock, released);
    }
    outcome = released() ? Outcome::released : Outcome::cancelled;
    // The wait's own stop callback may wake us before on_stop has run; on_stop's destructor
    // then deregisters it unrun. The token itself says a stop was requested either way.
    if (ctx.stop_token().stop_requested()) gates_[name].stop_requested = true;
    gates_[name].exited = outcome;
  }
  cv_.notify_all();
  return ToolResult::text(outcome == Outcome::released ? "released " + name : "cancelled " + name);
}

void GateBoard::release(const std::string& name) {
  {
    std::lock_guard lock(mu_);
    gates_[name].released = true;
  }
  cv_.notify_all();
}

void GateBoard::release_all() {
  {
    std::lock_guard lock(mu_);
    released_all_ = true;
  }
  cv_.notify_all();
}

bool GateBoard::wait_entered(const std::string& name, int count, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return gates_[name].entered >= count; });
}

std::optional<GateBoard::Outcome> GateBoard::wait_exited(const std::string& name, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return gates_[name].exited.has_value(); });
  return gates_[name].exited;
}

bool GateBoard::wait_stop_requested(const std::string& name, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return gates_[name].stop_requested; });
}

}  // namespace graceway::test
