#pragma once
// The prompts a server offers (prompts/list, prompts/get) and their argument completers. Filled
// before Server::start(); read-only afterwards. Handlers run on the tool worker pool.

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "graceway/completion.hpp"
#include "graceway/tool.hpp"

namespace graceway {

struct PromptArgument {
  std::string name;
  std::string title;
  std::string description;
  bool required = false;
};

struct PromptDefinition {
  std::string name;
  std::string title;
  std::string description;
  std::vector<PromptArgument> arguments;

  [[nodiscard]] nlohmann::json to_json() const;  // the prompts/list entry
};

// A GetPromptResult.
struct PromptResult {
  std::string description;                             // empty: omitted
  nlohmann::json messages = nlohmann::json::array();   // PromptMessage objects

  // Appends {role, content}.
  PromptResult& add(std::string_view role, nlohmann::json content);
  [[nodiscard]] nlohmann::json to_json() const;
};

using PromptArguments = std::map<std::string, std::string, std::less<>>;
// Builds the prompt. Every required argument is present (the server checks before calling).
using PromptHandler = std::function<PromptResult(const PromptArguments& arguments)>;
// A prompt that may ask the client (ToolContext::ask_client) while it builds; the context's
// arguments() are the prompt's arguments as a JSON object.
using PromptContextHandler = std::function<PromptResult(const PromptArguments& arguments, ToolContext& context)>;

class PromptRegistry {
public:
  struct Entry {
    PromptDefinition definition;
    PromptContextHandler handler;
    Completer completer;  // may be empty
  };

  // False (and nothing changes) when the name is empty or already taken.
  bool add(PromptDefinition definition, PromptHandler handler, Completer completer = {});
  bool add(PromptDefinition definition, PromptContextHandler handler, Completer completer = {});
  [[nodiscard]] const Entry* find(std::string_view name) const;
  [[nodiscard]] nlohmann::json list() const;  // prompts/list "prompts", in insertion order
  [[nodiscard]] bool empty() const { return entries_.empty(); }
  [[nodiscard]] bool has_completions() const;

private:
  std::vector<Entry> entries_;
};

}  // namespace graceway
