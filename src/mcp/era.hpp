#pragma once
// Protocol versions and the two eras they belong to (docs/spec-rules.md, "Protocol eras"). Every
// rule that differs by version is a trait here, looked up once, so no other file compares
// version strings.
//
//   legacy  2024-11-05 .. 2025-11-25: initialize opens a session; GET stream, DELETE, resumability
//   modern  2026-07-28: no initialize, no session; every request carries its version and the
//           client's capabilities in params._meta and is served on its own

#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace graceway::mcp {

enum class Era { legacy, modern };

struct VersionTraits {
  std::string_view version;
  Era era;
  bool batches;         // JSON-RPC batches are allowed (2025-03-26 only)
  bool priming_event;   // SSE streams start with an id and empty data, plus retry: (2025-11-25 on)
  bool version_header;  // clients send MCP-Protocol-Version on every request (2025-06-18 on)
  bool pollable;        // the server may end a POST stream early for the client to poll (SEP-1699)
  bool stateless;       // no session: each request stands alone
};

// Newest first.
inline constexpr std::array<VersionTraits, 5> kVersions{{
    {"2026-07-28", Era::modern, false, false, true, false, true},
    {"2025-11-25", Era::legacy, false, true, true, true, false},
    {"2025-06-18", Era::legacy, false, false, true, false, false},
    {"2025-03-26", Era::legacy, true, false, false, false, false},
    {"2024-11-05", Era::legacy, false, false, false, false, false},
}};

// The versions an initialize negotiates (legacy), newest first.
inline constexpr std::array<std::string_view, 4> kSupportedVersions = {"2025-11-25", "2025-06-18", "2025-03-26",
                                                                        "2024-11-05"};
// The versions a stateless request may name, newest first.
inline constexpr std::array<std::string_view, 1> kModernVersions = {"2026-07-28"};
inline constexpr std::string_view kLatestVersion = kSupportedVersions.front();
// The version of the legacy HTTP+SSE transport (GET /sse + POST /messages).
inline constexpr std::string_view kLegacySseVersion = "2024-11-05";

// The traits of `version`; nullopt for a version graceway does not know.
[[nodiscard]] constexpr std::optional<VersionTraits> traits_of(std::string_view version) {
  for (const auto& t : kVersions) {
    if (t.version == version) return t;
  }
  return std::nullopt;
}

// Unknown versions have no traits; these answer for them as the oldest legacy version would.
[[nodiscard]] constexpr bool allows_batches(std::string_view version) {
  const auto t = traits_of(version);
  return t && t->batches;
}
[[nodiscard]] constexpr bool sends_priming_event(std::string_view version) {
  const auto t = traits_of(version);
  return t && t->priming_event;
}
[[nodiscard]] constexpr bool pollable(std::string_view version) {
  const auto t = traits_of(version);
  return t && t->pollable;
}
// A known version of the modern era (a header naming one routes a request there).
[[nodiscard]] constexpr bool is_modern_version(std::string_view version) {
  const auto t = traits_of(version);
  return t && t->era == Era::modern;
}
[[nodiscard]] constexpr bool is_legacy_version(std::string_view version) {
  const auto t = traits_of(version);
  return t && t->era == Era::legacy;
}

// `versions` as a JSON array of strings (what -32022's data.supported and discover list).
[[nodiscard]] inline nlohmann::json version_list(std::span<const std::string_view> versions) {
  auto list = nlohmann::json::array();
  for (const auto v : versions) list.push_back(std::string(v));
  return list;
}

static_assert(traits_of("2025-03-26")->batches && !traits_of("2025-06-18")->batches);
static_assert(traits_of("2026-07-28")->stateless && traits_of("2026-07-28")->era == Era::modern);

}  // namespace graceway::mcp
