#pragma once
// Who may use the MCP endpoint: an OAuth 2.1 resource server (graceway verifies access tokens an
// authorization server issued; it never issues any) and API keys, each optional, both at once
// allowed. With neither set, graceway is authless, as it always was. Set Server::Options::auth;
// main.cpp fills it from the --public-url, --auth-* and --api-keys flags (docs/security.md).

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace graceway {

// One API key as the key file holds it: its name (the principal) and the SHA-256 of its bytes.
struct ApiKey {
  std::string name;
  std::array<std::uint8_t, 32> sha256{};
};

struct AuthOptions {
  // The canonical URI of the MCP endpoint as clients reach it ("https://mcp.example.com/mcp"): the
  // protected resource metadata's `resource`, the audience tokens must carry, and the base of
  // every absolute URL graceway hands out. Required by OAuth; optional with API keys only.
  std::string public_url;
  // Trusted issuers, byte-exact as their metadata's `issuer`. Their metadata (RFC 8414, then
  // OpenID discovery) names jwks_uri and the introspection endpoint. The authorization server's
  // URLs must be https://, or http:// on a loopback host.
  std::vector<std::string> issuers;
  // A JWK Set (an http(s) URL or a file) used instead of discovering each issuer's jwks_uri.
  std::string jwks;
  // Audiences accepted besides public_url.
  std::vector<std::string> audiences;
  // The scopes a token must hold to use the endpoint at all; also PRM's scopes_supported and the
  // scope of every challenge. Empty: any valid token will do.
  std::vector<std::string> scopes;
  // RFC 7662 introspection of opaque tokens, as this client (client_secret_basic). Empty id: off.
  std::string introspection_client_id;
  std::string introspection_client_secret;
  // exp, nbf and iat are checked with this much tolerance for clock skew.
  std::chrono::seconds leeway{60};
  // A JWKS or metadata fetch, or an introspection call, gives up after this.
  std::chrono::milliseconds fetch_timeout{5000};
  // After fetching an issuer's keys, a token naming an unknown kid waits this long before it may
  // cause another fetch: invented kids cannot make graceway hammer the authorization server.
  std::chrono::milliseconds jwks_cooldown{30000};
  // Introspection answers are kept this long at most (and never past the token's exp).
  std::chrono::milliseconds introspection_cache{60000};
  // API keys accepted as "Authorization: Bearer <key>" or "X-API-Key: <key>".
  std::vector<ApiKey> api_keys;

  [[nodiscard]] bool oauth() const { return !issuers.empty() || !jwks.empty(); }
  [[nodiscard]] bool enabled() const { return oauth() || !api_keys.empty(); }
};

// Problems with the options, one line each, naming the flag; empty when they are usable.
[[nodiscard]] std::vector<std::string> validate(const AuthOptions& options);

// Parses an API key file: one "NAME SHA256HEX" per line ('#' comments and blank lines skipped).
// Problems go to `errors`, one line each with its line number.
[[nodiscard]] std::vector<ApiKey> parse_api_keys(std::string_view text, std::vector<std::string>& errors);
// The line of an API key file for `name` and `key` (what `graceway hash-key` prints).
[[nodiscard]] std::string api_key_line(std::string_view name, std::string_view key);

}  // namespace graceway
