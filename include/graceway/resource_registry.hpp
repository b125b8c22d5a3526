#pragma once
// The resources a server offers: fixed resources by URI and resource templates (RFC 6570 level 1)
// that cover families of URIs. Filled before Server::start(); read-only afterwards, so lookups
// from many threads need no lock. Readers run on the tool worker pool.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "graceway/completion.hpp"
#include "graceway/uri_template.hpp"

namespace graceway {

struct ResourceDefinition {
  std::string uri;
  std::string name;
  std::string title;        // optional display name
  std::string description;
  std::string mime_type;    // empty: omitted
  std::optional<std::uint64_t> size;
  nlohmann::json annotations;  // null: none

  [[nodiscard]] nlohmann::json to_json() const;  // the resources/list entry
};

struct ResourceTemplateDefinition {
  std::string uri_template;
  std::string name;
  std::string title;
  std::string description;
  std::string mime_type;
  nlohmann::json annotations;

  [[nodiscard]] nlohmann::json to_json() const;  // the resources/templates/list entry
};

// One element of ReadResourceResult.contents: text, or binary as base64.
struct ResourceContent {
  std::string uri;
  std::string mime_type;  // empty: omitted
  std::string text;       // TextResourceContents
  std::string blob;       // BlobResourceContents (base64); used when is_blob
  bool is_blob = false;

  [[nodiscard]] static ResourceContent text_of(std::string uri, std::string mime_type, std::string text);
  [[nodiscard]] static ResourceContent blob_of(std::string uri, std::string mime_type, std::string base64);
  [[nodiscard]] nlohmann::json to_json() const;
};

// Reads `uri`; `variables` holds the template's values (empty for a fixed resource). An empty
// result means the resource does not exist (the client gets "Resource not found").
using ResourceReader = std::function<std::vector<ResourceContent>(const std::string& uri, const UriVariables& variables)>;

class ResourceRegistry {
public:
  // False (and nothing changes) when the URI is empty or already registered.
  bool add(ResourceDefinition definition, ResourceReader reader);
  // False when the template does not parse or is already registered.
  bool add_template(ResourceTemplateDefinition definition, ResourceReader reader, Completer completer = {});

  struct Match {
    const ResourceReader* reader = nullptr;
    UriVariables variables;
  };
  // A fixed resource first, then the first template (in registration order) that matches.
  [[nodiscard]] std::optional<Match> find(std::string_view uri) const;
  // The completer of the template whose text is `uri_template` (completion/complete's ref/resource).
  // nullopt when there is no such template; an empty function when it has no completer.
  [[nodiscard]] std::optional<Completer> completer(std::string_view uri_template) const;

  [[nodiscard]] nlohmann::json list() const;            // resources/list "resources"
  [[nodiscard]] nlohmann::json list_templates() const;  // resources/templates/list "resourceTemplates"
  [[nodiscard]] bool empty() const { return resources_.empty() && templates_.empty(); }
  [[nodiscard]] bool has_completions() const;

private:
  struct Resource {
    ResourceDefinition definition;
    ResourceReader reader;
  };
  struct Template {
    ResourceTemplateDefinition definition;
    UriTemplate pattern;
    ResourceReader reader;
    Completer completer;
  };
  std::vector<Resource> resources_;
  std::vector<Template> templates_;
};

}  // namespace graceway
