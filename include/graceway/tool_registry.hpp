#pragma once
// The tools a server offers. Filled before Server::start(); read-only afterwards, so lookups
// from many threads need no lock.

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "graceway/tool.hpp"

namespace graceway {

class ToolRegistry {
public:
  struct Entry {
    ToolDefinition definition;
    ToolHandler handler;
    ToolExecution execution = ToolExecution::pool;
  };

  // Returns false (and changes nothing) when the name is empty or already taken.
  bool add(ToolDefinition definition, ToolHandler handler, ToolExecution execution = ToolExecution::pool);
  [[nodiscard]] const Entry* find(std::string_view name) const;
  [[nodiscard]] nlohmann::json list() const;  // tools/list "tools" array, in insertion order
  [[nodiscard]] std::size_t size() const { return entries_.size(); }

private:
  std::vector<Entry> entries_;
};

}  // namespace graceway
