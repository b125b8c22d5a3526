#pragma once
// Everything a server offers its clients: tools, resources and prompts. The InitializeResult
// declares a capability for each part that is not empty (tools always).

#include "graceway/prompt_registry.hpp"
#include "graceway/resource_registry.hpp"
#include "graceway/tool_registry.hpp"

namespace graceway {

struct Catalog {
  ToolRegistry tools;
  ResourceRegistry resources;
  PromptRegistry prompts;

  // Whether any prompt argument or template variable offers completion (completion/complete).
  [[nodiscard]] bool has_completions() const { return prompts.has_completions() || resources.has_completions(); }
};

}  // namespace graceway
