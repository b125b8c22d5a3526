// The JWT access-token path on untrusted bytes: the input as a compact token (parse_jwt, then
// signature checks with a fixed Ed25519 key and a fixed RSA key under every algorithm), as
// base64url, and as a JWKS document (parse_jwks). The seeds include tokens these keys really
// signed, so mutations start from the accepting path.
// Invariants: nothing throws or crashes; a parsed token is within the size cap and has exactly
// three canonical base64url segments, its signing input is the input up to the last '.', its
// header and claims are objects and its "alg" is the one parsed; a key verifies only under an
// algorithm it fits; base64url decoding is the inverse of encoding; a key set holds at most
// max_keys entries.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_input.hpp"
#include "security/base64url.hpp"
#include "security/jwk.hpp"
#include "security/jwt.hpp"

namespace {

using namespace graceway::security;

constexpr std::string_view kEd25519Jwk =
    R"({"kty":"OKP","crv":"Ed25519","kid":"fuzz-ed","alg":"EdDSA","use":"sig","x":"5CIF2-gqRRAkLMr734-mNLHvI9u4jcTDkXMk19yhwtI"})";
// No "alg": the key fits RS256 and PS256 both.
constexpr std::string_view kRsaJwk =
    R"({"kty":"RSA","kid":"fuzz-rsa","use":"sig","e":"AQAB","n":"pZHJIq1zcimBoVuJE_O9XVB-XeCDBjKL_oIAR3Nu-p7VKtzzz57aX7wP4Fw63-Cx1qEptaPb9sHa21SpCgeRItav4NiMskNOTf_viDYTgKlW8wwJpbn1P9WtX1lmAKfZO4B7xt2oPCSsUBf-l9bqkkoyaAIPrfY6S_TLYYOtbydt5IgLRq-cp2BQwwG6fC3i6fBJl_-Mcj3xJaqKNXlYTlnKfPyjmkgJwpSBWA9Vaet_eiHl17QZD27hCBY3VUFV1FMtk5Pk8goqlGKX3SVrmqr8jxMpkNzNIrQ4GsCnGxTzSDcghaz0U8TplM19RMHVDRWhWwPtMyLr0tX7SgXWhw"})";

constexpr std::array kAlgorithms = {JwsAlgorithm::rs256, JwsAlgorithm::ps256, JwsAlgorithm::es256,
                                    JwsAlgorithm::eddsa};
constexpr std::size_t kMaxKeys = 8;

PublicKey fixed_key(std::string_view jwk) {
  std::string error;
  auto key = PublicKey::from_jwk(nlohmann::json::parse(jwk), error);
  FUZZ_CHECK(key.has_value());
  return std::move(*key);
}

const std::array<PublicKey, 2>& fixed_keys() {
  static const std::array<PublicKey, 2> keys = {fixed_key(kEd25519Jwk), fixed_key(kRsaJwk)};
  return keys;
}

bool canonical(std::string_view segment) {
  const auto bytes = base64url_decode(segment);
  return bytes && base64url_encode(*bytes) == segment;
}

void check_token(std::string_view input, const Jwt& token) {
  FUZZ_CHECK(input.size() <= kMaxTokenBytes);
  FUZZ_CHECK(looks_like_jwt(input));
  const auto last_dot = input.rfind('.');
  FUZZ_CHECK(token.signing_input == input.substr(0, last_dot));
  const auto first_dot = input.find('.');
  FUZZ_CHECK(first_dot > 0 && first_dot + 1 < last_dot && last_dot + 1 < input.size());
  FUZZ_CHECK(canonical(input.substr(0, first_dot)));
  FUZZ_CHECK(canonical(input.substr(first_dot + 1, last_dot - first_dot - 1)));
  FUZZ_CHECK(base64url_decode(input.substr(last_dot + 1)) == token.signature);
  FUZZ_CHECK(token.header.is_object() && token.claims.is_object());
  FUZZ_CHECK(!token.header.contains("crit"));
  const auto alg = token.header.find("alg");
  FUZZ_CHECK(alg != token.header.end() && alg->is_string());
  FUZZ_CHECK(parse_algorithm(alg->get_ref<const std::string&>()) == token.alg);

  for (const auto& key : fixed_keys()) {
    for (const auto candidate : kAlgorithms) {
      if (key.verify(candidate, token.signing_input, token.signature)) FUZZ_CHECK(key.fits(candidate));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  const auto parsed = parse_jwt(input);
  FUZZ_CHECK(parsed.token.has_value() == parsed.error.empty());
  if (parsed.token) check_token(input, *parsed.token);
  if (!looks_like_jwt(input)) FUZZ_CHECK(!parsed.token);

  if (const auto bytes = base64url_decode(input)) FUZZ_CHECK(base64url_encode(*bytes) == input);
  FUZZ_CHECK(base64url_decode(base64url_encode(input)) == input);

  std::string error;
  const auto set = parse_jwks(input, error, kMaxKeys);
  FUZZ_CHECK(set.has_value() == error.empty());
  if (set) {
    FUZZ_CHECK(set->keys.size() + set->skipped <= kMaxKeys);
    for (const auto& key : set->keys) {
      if (const auto declared = key.declared_alg()) FUZZ_CHECK(key.fits(*declared));
      if (parsed.token) static_cast<void>(key.verify(parsed.token->alg, parsed.token->signing_input, parsed.token->signature));
    }
  }
  return 0;
}
