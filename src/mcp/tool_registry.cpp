#include "graceway/tool_registry.hpp"

#include "mcp/modern_request.hpp"

namespace graceway {

bool ToolRegistry::add(ToolDefinition definition, ToolHandler handler, ToolExecution execution) {
  if (definition.name.empty() || !handler || find(definition.name) != nullptr) return false;
  // A conforming 2026-07-28 client drops a tool whose x-mcp-header annotations it cannot honour;
  // refusing it here tells the author at start instead.
  if (!mcp::modern::header_annotations_problems(definition.input_schema).empty()) return false;
  entries_.push_back({std::move(definition), std::move(handler), execution});
  return true;
}

const ToolRegistry::Entry* ToolRegistry::find(std::string_view name) const {
  for (const auto& entry : entries_) {
    if (entry.definition.name == name) return &entry;
  }
  return nullptr;
}

nlohmann::json ToolRegistry::list() const {
  auto tools = nlohmann::json::array();
  for (const auto& entry : entries_) tools.push_back(entry.definition.to_json());
  return tools;
}

}  // namespace graceway
