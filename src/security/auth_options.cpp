#include "graceway/auth_options.hpp"

#include <algorithm>
#include <sstream>

#include "security/authenticator.hpp"
#include "security/http_fetch.hpp"

namespace graceway {
namespace {

bool is_url(std::string_view location) { return location.starts_with("http://") || location.starts_with("https://"); }

}  // namespace

std::string api_key_line(std::string_view name, std::string_view key) {
  return std::string(name) + " " + security::sha256_hex(key);
}

std::vector<ApiKey> parse_api_keys(std::string_view text, std::vector<std::string>& errors) {
  std::vector<ApiKey> keys;
  std::istringstream in{std::string(text)};
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    std::istringstream words(line);
    std::string name;
    std::string digest;
    std::string extra;
    words >> name >> digest >> extra;
    const auto at = "line " + std::to_string(number) + ": ";
    if (digest.empty() || !extra.empty()) {
      errors.push_back(at + "expected NAME SHA256HEX (make one with `graceway hash-key NAME`)");
      continue;
    }
    if (digest.size() != 64 || digest.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
      errors.push_back(at + "the hash must be 64 hex digits (the SHA-256 of the key)");
      continue;
    }
    if (std::any_of(keys.begin(), keys.end(), [&](const ApiKey& k) { return k.name == name; })) {
      errors.push_back(std::string(at).append("the name '").append(name).append("' is used twice"));
      continue;
    }
    ApiKey key{.name = name, .sha256 = {}};
    for (std::size_t i = 0; i < 32; ++i) {
      key.sha256[i] = static_cast<std::uint8_t>(std::stoi(digest.substr(2 * i, 2), nullptr, 16));
    }
    keys.push_back(std::move(key));
  }
  return keys;
}

std::vector<std::string> validate(const AuthOptions& options) {
  std::vector<std::string> problems;
  std::string why;
  if (options.oauth()) {
    if (options.public_url.empty()) problems.emplace_back("--public-url is required with --auth-issuer or --auth-jwks");
    if (options.issuers.empty()) problems.emplace_back("--auth-issuer is required with --auth-jwks (tokens' iss is checked)");
  }
  if (!options.public_url.empty()) {
    if (!is_url(options.public_url) || options.public_url.find_first_of("#?") != std::string::npos) {
      problems.emplace_back("--public-url must be an absolute http(s) URL without query or fragment, e.g. https://mcp.example.com/mcp");
    } else if (options.public_url.back() == '/') {
      // Clients compare the metadata's resource with the URL they were given, byte for byte,
      // and Claude's connector drops a trailing slash from what users paste.
      problems.emplace_back("--public-url must not end with '/' (give https://HOST/mcp, or https://HOST for the root)");
    }
  }
  for (const auto& issuer : options.issuers) {
    if (!security::parse_fetch_url(issuer, why)) {
      problems.push_back(std::string("--auth-issuer ").append(issuer).append(": ").append(why));
    }
  }
  if (is_url(options.jwks) && !security::parse_fetch_url(options.jwks, why)) problems.push_back("--auth-jwks: " + why);
  if (!options.introspection_client_id.empty() && options.introspection_client_secret.empty()) {
    problems.emplace_back("--auth-introspection-client-id needs a secret (--auth-introspection-secret-file or GRACEWAY_INTROSPECTION_SECRET)");
  }
  if (!options.introspection_client_id.empty() && options.issuers.empty()) {
    problems.emplace_back("--auth-introspection-client-id needs --auth-issuer (its metadata names the endpoint)");
  }
  if (options.fetch_timeout.count() <= 0) problems.emplace_back("--auth-fetch-timeout must be positive");
  if (options.leeway.count() < 0 || options.leeway.count() > 300) problems.emplace_back("--auth-leeway must be between 0s and 300s");
  return problems;
}

}  // namespace graceway
