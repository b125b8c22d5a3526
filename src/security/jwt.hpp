#pragma once
// The structure of a JWS compact token (RFC 7515/7519) as an access token arrives in
// "Authorization: Bearer": three strict base64url segments, a JSON object header naming one of the
// four algorithms graceway verifies, and a JSON object claims set. No key and no claim meaning
// here; the verifier takes it from there. Error strings never quote the token, since they are logged.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "security/jwk.hpp"

namespace graceway::security {

// Tokens larger than this are refused before any decoding (real access tokens are under 2 KiB).
inline constexpr std::size_t kMaxTokenBytes = 8192;

struct Jwt {
  nlohmann::json header;         // a JSON object
  nlohmann::json claims;         // a JSON object
  JwsAlgorithm alg = JwsAlgorithm::rs256;
  std::string kid;               // "" when absent
  std::string typ;               // "" when absent
  std::string signing_input;     // "<header b64>.<payload b64>", as sent
  std::string signature;         // decoded bytes
};

struct JwtParse {
  std::optional<Jwt> token;
  std::string error;  // set when token is not: short, lowercase, no token bytes
};

// Never throws. Refuses oversized tokens, anything but three non-empty segments (a JWE's five get
// their own reason), non-canonical base64url, non-object or over-deep header and claims, an "alg"
// outside the four (so "none" and "HS256" never get as far as a key), non-string "kid" or "typ",
// and any "crit". "jku", "x5u", "jwk" and "x5c" are left in the header and never used.
[[nodiscard]] JwtParse parse_jwt(std::string_view compact);

// Exactly two '.': a JWS compact token, verified locally; anything else goes to introspection.
[[nodiscard]] bool looks_like_jwt(std::string_view token) noexcept;

}  // namespace graceway::security
