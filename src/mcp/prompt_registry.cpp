#include "graceway/prompt_registry.hpp"

#include <algorithm>

namespace graceway {

nlohmann::json PromptDefinition::to_json() const {
  nlohmann::json entry = {{"name", name}};
  if (!title.empty()) entry["title"] = title;
  if (!description.empty()) entry["description"] = description;
  if (!arguments.empty()) {
    auto& list = entry["arguments"] = nlohmann::json::array();
    for (const auto& a : arguments) {
      nlohmann::json arg = {{"name", a.name}, {"required", a.required}};
      if (!a.title.empty()) arg["title"] = a.title;
      if (!a.description.empty()) arg["description"] = a.description;
      list.push_back(std::move(arg));
    }
  }
  return entry;
}

PromptResult& PromptResult::add(std::string_view role, nlohmann::json content) {
  messages.push_back({{"role", std::string(role)}, {"content", std::move(content)}});
  return *this;
}

nlohmann::json PromptResult::to_json() const {
  nlohmann::json result = {{"messages", messages}};
  if (!description.empty()) result["description"] = description;
  return result;
}

bool PromptRegistry::add(PromptDefinition definition, PromptHandler handler, Completer completer) {
  if (!handler) return false;
  return add(std::move(definition),
             PromptContextHandler([handler = std::move(handler)](const PromptArguments& arguments, ToolContext&) {
               return handler(arguments);
             }),
             std::move(completer));
}

bool PromptRegistry::add(PromptDefinition definition, PromptContextHandler handler, Completer completer) {
  if (definition.name.empty() || !handler || find(definition.name) != nullptr) return false;
  entries_.push_back({std::move(definition), std::move(handler), std::move(completer)});
  return true;
}

const PromptRegistry::Entry* PromptRegistry::find(std::string_view name) const {
  const auto it = std::find_if(entries_.begin(), entries_.end(),
                               [&](const Entry& e) { return e.definition.name == name; });
  return it == entries_.end() ? nullptr : &*it;
}

nlohmann::json PromptRegistry::list() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : entries_) out.push_back(e.definition.to_json());
  return out;
}

bool PromptRegistry::has_completions() const {
  return std::any_of(entries_.begin(), entries_.end(), [](const Entry& e) { return bool(e.completer); });
}

}  // namespace graceway
