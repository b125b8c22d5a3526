#pragma once
// Public keys read from an authorization server's JWKS (RFC 7517/7518), and the four JWS
// algorithms graceway verifies access tokens with. A key is bound to the algorithms its type
// allows (and to its own "alg", when it declares one), so a token cannot pick how it is checked:
// that binding is what defeats "alg": "none" and RS256-to-HS256 confusion.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

// OpenSSL's EVP_PKEY, named without including OpenSSL.
struct evp_pkey_st;

namespace graceway::security {

enum class JwsAlgorithm { rs256, ps256, es256, eddsa };

// Exactly "RS256", "PS256", "ES256" or "EdDSA"; nullopt for everything else ("none", "HS256",
// "RS384", "rs256", ...).
[[nodiscard]] std::optional<JwsAlgorithm> parse_algorithm(std::string_view name) noexcept;
[[nodiscard]] std::string_view name_of(JwsAlgorithm alg) noexcept;

class PublicKey {
public:
  // An RSA key of at least 2048 bits, an EC P-256 key whose point is on the curve, or an Ed25519
  // key. nullopt, with a short reason in `error`, for anything else, and for keys meant for
  // encryption or declaring an algorithm outside the four. Private members are ignored.
  [[nodiscard]] static std::optional<PublicKey> from_jwk(const nlohmann::json& jwk, std::string& error);

  PublicKey(PublicKey&&) noexcept = default;
  PublicKey& operator=(PublicKey&&) noexcept = default;
  PublicKey(const PublicKey&) = delete;
  PublicKey& operator=(const PublicKey&) = delete;
  ~PublicKey() = default;

  [[nodiscard]] const std::string& kid() const noexcept { return kid_; }  // "" when absent
  [[nodiscard]] std::optional<JwsAlgorithm> declared_alg() const noexcept { return declared_alg_; }
  // Whether a signature made with `alg` may be checked with this key at all.
  [[nodiscard]] bool fits(JwsAlgorithm alg) const noexcept;
  // True only for a good signature by this key under `alg`, and only when the key fits `alg`.
  // `signature` is in JWS form (for ES256 the raw 64-byte r||s).
  [[nodiscard]] bool verify(JwsAlgorithm alg, std::string_view signing_input, std::string_view signature) const noexcept;

private:
  enum class Family { rsa, ec_p256, ed25519 };
  struct FreeKey {
    void operator()(evp_pkey_st* key) const noexcept;
  };
  using KeyHandle = std::unique_ptr<evp_pkey_st, FreeKey>;

  PublicKey(Family family, KeyHandle key, std::string kid, std::optional<JwsAlgorithm> declared_alg) noexcept;

  Family family_;
  KeyHandle key_;
  std::string kid_;
  std::optional<JwsAlgorithm> declared_alg_;
};

struct KeySet {
  std::vector<PublicKey> keys;
  std::size_t skipped = 0;  // entries that are not usable verification keys
};

// How deep a JWKS document (or a JWT header or claims set) may nest; real ones nest 2 or 3 levels.
inline constexpr std::size_t kMaxJoseJsonDepth = 16;

// A JWKS document: a JSON object with a "keys" array. Keys that cannot be used are skipped and
// counted, so one exotic key does not hide the rest; more than `max_keys` entries, or a document
// that is not such an object, is an error.
[[nodiscard]] std::optional<KeySet> parse_jwks(std::string_view document, std::string& error,
                                               std::size_t max_keys = 64);

}  // namespace graceway::security
