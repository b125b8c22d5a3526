#pragma once
// Base64url without padding (RFC 4648 section 5), the encoding of JWS segments and JWK members.
// Decoding accepts the canonical spelling only (no '=', no foreign bytes, zero trailing bits), so
// a token has exactly one textual form and a mutated one can never decode to the same bytes.

#include <optional>
#include <string>
#include <string_view>

namespace graceway::security {

// nullopt for anything but canonical unpadded base64url.
[[nodiscard]] std::optional<std::string> base64url_decode(std::string_view text);
[[nodiscard]] std::string base64url_encode(std::string_view bytes);

}  // namespace graceway::security
