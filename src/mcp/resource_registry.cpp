#include "graceway/resource_registry.hpp"

#include <algorithm>

namespace graceway {
namespace {

using nlohmann::json;

// Fields every listing entry shares; empty strings and null annotations are omitted.
void put_common(json& entry, const std::string& title, const std::string& description, const std::string& mime_type,
                const json& annotations) {
  if (!title.empty()) entry["title"] = title;
  if (!description.empty()) entry["description"] = description;
  if (!mime_type.empty()) entry["mimeType"] = mime_type;
  if (!annotations.is_null()) entry["annotations"] = annotations;
}

}  // namespace

json ResourceDefinition::to_json() const {
  json entry = {{"uri", uri}, {"name", name}};
  put_common(entry, title, description, mime_type, annotations);
  if (size) entry["size"] = *size;
  return entry;
}

json ResourceTemplateDefinition::to_json() const {
  json entry = {{"uriTemplate", uri_template}, {"name", name}};
  put_common(entry, title, description, mime_type, annotations);
  return entry;
}

ResourceContent ResourceContent::text_of(std::string uri, std::string mime_type, std::string text) {
  return {std::move(uri), std::move(mime_type), std::move(text), {}, false};
}

ResourceContent ResourceContent::blob_of(std::string uri, std::string mime_type, std::string base64) {
  return {std::move(uri), std::move(mime_type), {}, std::move(base64), true};
}

json ResourceContent::to_json() const {
  json content = {{"uri", uri}};
  if (!mime_type.empty()) content["mimeType"] = mime_type;
  if (is_blob) {
    content["blob"] = blob;
  } else {
    content["text"] = text;
  }
  return content;
}

bool ResourceRegistry::add(ResourceDefinition definition, ResourceReader reader) {
  if (definition.uri.empty() || !reader) return false;
  const bool taken = std::any_of(resources_.begin(), resources_.end(),
                                 [&](const Resource& r) { return r.definition.uri == definition.uri; });
  if (taken) return false;
  resources_.push_back({std::move(definition), std::move(reader)});
  return true;
}

bool ResourceRegistry::add_template(ResourceTemplateDefinition definition, ResourceReader reader, Completer completer) {
  auto pattern = UriTemplate::parse(definition.uri_template);
  if (!pattern || !reader) return false;
  const bool taken = std::any_of(templates_.begin(), templates_.end(), [&](const Template& t) {
    return t.definition.uri_template == definition.uri_template;
  });
  if (taken) return false;
  templates_.push_back({std::move(definition), std::move(*pattern), std::move(reader), std::move(completer)});
  return true;
}

std::optional<ResourceRegistry::Match> ResourceRegistry::find(std::string_view uri) const {
  for (const auto& r : resources_) {
    if (r.definition.uri == uri) return Match{&r.reader, {}};
  }
  for (const auto& t : templates_) {
    if (auto variables = t.pattern.match(uri)) return Match{&t.reader, std::move(*variables)};
  }
  return std::nullopt;
}

std::optional<Completer> ResourceRegistry::completer(std::string_view uri_template) const {
  for (const auto& t : templates_) {
    if (t.definition.uri_template == uri_template) return t.completer;
  }
  return std::nullopt;
}

json ResourceRegistry::list() const {
  json out = json::array();
  for (const auto& r : resources_) out.push_back(r.definition.to_json());
  return out;
}

json ResourceRegistry::list_templates() const {
  json out = json::array();
  for (const auto& t : templates_) out.push_back(t.definition.to_json());
  return out;
}

bool ResourceRegistry::has_completions() const {
  return std::any_of(templates_.begin(), templates_.end(), [](const Template& t) { return bool(t.completer); });
}

}  // namespace graceway
