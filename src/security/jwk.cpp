#include "security/jwk.hpp"

#include <array>
#include <utility>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "graceway/jsonrpc.hpp"
#include "security/base64url.hpp"
#include "security/openssl_ptr.hpp"

namespace graceway::security {

namespace {

using json = nlohmann::json;

using ParamBuilder = std::unique_ptr<OSSL_PARAM_BLD, OpenSslFree<OSSL_PARAM_BLD_free>>;
using Params = std::unique_ptr<OSSL_PARAM, OpenSslFree<OSSL_PARAM_free>>;

// Smaller RSA moduli are within reach of factoring (RFC 7518 section 3.3 requires 2048); larger
// ones only make every verification slower, and no authorization server publishes them.
constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 8192;
// OpenSSL refuses exponents above 64 bits for large moduli at verification; refusing them at
// import says why.
constexpr int kMaxRsaExponentBits = 64;
constexpr std::size_t kP256CoordinateBytes = 32;
constexpr std::size_t kEd25519KeyBytes = 32;
constexpr std::size_t kEs256SignatureBytes = 64;
constexpr std::size_t kEd25519SignatureBytes = 64;
constexpr int kSha256Bytes = 32;
// A DER ECDSA-Sig-Value over P-256 is at most 72 bytes (two 33-byte INTEGERs and headers).
constexpr std::size_t kMaxEs256DerBytes = 80;

const unsigned char* bytes_of(std::string_view text) noexcept {
  return reinterpret_cast<const unsigned char*>(text.data());
}

std::string_view without_leading_zeros(std::string_view big_endian) noexcept {
  const auto first = big_endian.find_first_not_of('\0');
  return first == std::string_view::npos ? std::string_view{} : big_endian.substr(first);
}

// A member of a JWK as JSON gives it: absent, a string, or present with another type.
struct Member {
  bool present = false;
  const std::string* text = nullptr;
};

Member member(const json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end()) return {};
  return {true, it->is_string() ? &it->get_ref<const std::string&>() : nullptr};
}

// A required base64url member, decoded.
std::optional<std::string> bytes_member(const json& jwk, const char* name, std::string& error) {
  const Member m = member(jwk, name);
  if (!m.present) {
    error = std::string("missing ") + name;
    return std::nullopt;
  }
  if (m.text == nullptr) {
    error = std::string(name) + " is not a string";
    return std::nullopt;
  }
  auto bytes = base64url_decode(*m.text);
  if (!bytes) error = std::string(name) + " is not base64url";
  return bytes;
}

// A required string member that must equal one expected value (kty, crv).
bool names_member(const json& jwk, const char* name, std::string_view expected, std::string& error) {
  const Member m = member(jwk, name);
  if (!m.present) {
    error = std::string("missing ") + name;
    return false;
  }
  if (m.text == nullptr) {
    error = std::string(name) + " is not a string";
    return false;
  }
  if (*m.text != expected) {
    error = std::string("unsupported ") + name;
    return false;
  }
  return true;
}

Pkey key_from_params(const char* type, OSSL_PARAM_BLD* builder) {
  const Params params(OSSL_PARAM_BLD_to_param(builder));
  const PkeyContext context(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!params || !context || EVP_PKEY_fromdata_init(context.get()) != 1) return nullptr;
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(context.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) return nullptr;
  return Pkey(raw);
}

Pkey rsa_key(const json& jwk, std::string& error) {
  const auto modulus_bytes = bytes_member(jwk, "n", error);
  if (!modulus_bytes) return nullptr;
  const auto exponent_bytes = bytes_member(jwk, "e", error);
  if (!exponent_bytes) return nullptr;
  // Some libraries prefix a zero octet to keep the integer positive; it changes nothing.
  const auto modulus_text = without_leading_zeros(*modulus_bytes);
  const auto exponent_text = without_leading_zeros(*exponent_bytes);
  if (modulus_text.size() * 8 > static_cast<std::size_t>(kMaxRsaBits)) {
    error = "rsa key larger than 8192 bits";
    return nullptr;
  }
  if (modulus_text.size() * 8 < static_cast<std::size_t>(kMinRsaBits)) {
    error = "rsa key smaller than 2048 bits";
    return nullptr;
  }
  if (exponent_text.empty() || exponent_text.size() * 8 > static_cast<std::size_t>(kMaxRsaExponentBits)) {
    error = "bad rsa exponent";
    return nullptr;
  }
  const Bignum modulus(BN_bin2bn(bytes_of(modulus_text), static_cast<int>(modulus_text.size()), nullptr));
  const Bignum exponent(BN_bin2bn(bytes_of(exponent_text), static_cast<int>(exponent_text.size()), nullptr));
  if (!modulus || !exponent) {
    error = "out of memory";
    return nullptr;
  }
  if (BN_num_bits(modulus.get()) < kMinRsaBits) {
    error = "rsa key smaller than 2048 bits";
    return nullptr;
  }
  // An even modulus or exponent, or e = 1, cannot be an RSA public key.
  if (BN_is_odd(modulus.get()) != 1 || BN_is_odd(exponent.get()) != 1 || BN_is_one(exponent.get()) == 1) {
    error = "bad rsa key";
    return nullptr;
  }
  const ParamBuilder builder(OSSL_PARAM_BLD_new());
  if (!builder || OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, modulus.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, exponent.get()) != 1) {
    error = "out of memory";
    return nullptr;
  }
  auto key = key_from_params("RSA", builder.get());
  if (!key) error = "bad rsa key";
  return key;
}

Pkey p256_key(const json& jwk, std::string& error) {
  if (!names_member(jwk, "crv", "P-256", error)) return nullptr;
  const auto x = bytes_member(jwk, "x", error);
  if (!x) return nullptr;
  const auto y = bytes_member(jwk, "y", error);
  if (!y) return nullptr;
  if (x->size() != kP256CoordinateBytes || y->size() != kP256CoordinateBytes) {
    error = "p-256 coordinates must be 32 bytes";
    return nullptr;
  }
  // SEC 1 uncompressed point: 0x04 || x || y.
  std::array<unsigned char, 1 + 2 * kP256CoordinateBytes> point{};
  point[0] = 0x04;
  std::copy(x->begin(), x->end(), point.begin() + 1);
  std::copy(y->begin(), y->end(), point.begin() + 1 + kP256CoordinateBytes);
  const ParamBuilder builder(OSSL_PARAM_BLD_new());
  if (!builder || OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
    error = "out of memory";
    return nullptr;
  }
  auto key = key_from_params("EC", builder.get());
  // Import already decodes the point; the full public check also rules out the point at
  // infinity and points outside the prime-order group, which invalid-curve attacks rely on.
  const PkeyContext check(key ? EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr) : nullptr);
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    error = "ec point is not on p-256";
    return nullptr;
  }
  return key;
}

Pkey ed25519_key(const json& jwk, std::string& error) {
  if (!names_member(jwk, "crv", "Ed25519", error)) return nullptr;
  const auto x = bytes_member(jwk, "x", error);
  if (!x) return nullptr;
  if (x->size() != kEd25519KeyBytes) {
    error = "ed25519 key must be 32 bytes";
    return nullptr;
  }
  Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes_of(*x), x->size()));
  if (!key) error = "bad ed25519 key";
  return key;
}

// JWS ES256 carries r||s; OpenSSL verifies the DER ECDSA-Sig-Value.
bool verify_es256(EVP_MD_CTX* context, std::string_view signing_input, std::string_view signature) noexcept {
  if (signature.size() != kEs256SignatureBytes) return false;
  const auto half = static_cast<int>(kEs256SignatureBytes / 2);
  Bignum r(BN_bin2bn(bytes_of(signature), half, nullptr));
  Bignum s(BN_bin2bn(bytes_of(signature.substr(kEs256SignatureBytes / 2)), half, nullptr));
  const EcdsaSignature value(ECDSA_SIG_new());
  if (!r || !s || !value || ECDSA_SIG_set0(value.get(), r.get(), s.get()) != 1) return false;
  static_cast<void>(r.release());  // owned by `value` now
  static_cast<void>(s.release());
  std::array<unsigned char, kMaxEs256DerBytes> der{};
  const int length = i2d_ECDSA_SIG(value.get(), nullptr);
  if (length <= 0 || static_cast<std::size_t>(length) > der.size()) return false;
  unsigned char* cursor = der.data();
  if (i2d_ECDSA_SIG(value.get(), &cursor) != length) return false;
  return EVP_DigestVerify(context, der.data(), static_cast<std::size_t>(length), bytes_of(signing_input),
                          signing_input.size()) == 1;
}

bool verify_with(EVP_PKEY* key, JwsAlgorithm alg, std::string_view signing_input, std::string_view signature) noexcept {
  const DigestContext context(EVP_MD_CTX_new());
  if (!context) return false;
  EVP_PKEY_CTX* key_context = nullptr;  // owned by `context`
  const EVP_MD* digest = alg == JwsAlgorithm::eddsa ? nullptr : EVP_sha256();
  if (EVP_DigestVerifyInit(context.get(), &key_context, digest, nullptr, key) != 1) return false;
  switch (alg) {
    case JwsAlgorithm::rs256:
      if (signature.size() != static_cast<std::size_t>(EVP_PKEY_get_size(key))) return false;
      if (EVP_PKEY_CTX_set_rsa_padding(key_context, RSA_PKCS1_PADDING) <= 0) return false;
      break;
    case JwsAlgorithm::ps256:
      if (signature.size() != static_cast<std::size_t>(EVP_PKEY_get_size(key))) return false;
      // RFC 7518 section 3.5: MGF1 with SHA-256 and a salt as long as the digest, exactly.
      if (EVP_PKEY_CTX_set_rsa_padding(key_context, RSA_PKCS1_PSS_PADDING) <= 0 ||
          EVP_PKEY_CTX_set_rsa_mgf1_md(key_context, EVP_sha256()) <= 0 ||
          EVP_PKEY_CTX_set_rsa_pss_saltlen(key_context, kSha256Bytes) <= 0) {
        return false;
      }
      break;
    case JwsAlgorithm::es256: return verify_es256(context.get(), signing_input, signature);
    case JwsAlgorithm::eddsa:
      if (signature.size() != kEd25519SignatureBytes) return false;
      break;
  }
  return EVP_DigestVerify(context.get(), bytes_of(signature), signature.size(), bytes_of(signing_input),
                          signing_input.size()) == 1;
}

}  // namespace

std::optional<JwsAlgorithm> parse_algorithm(std::string_view name) noexcept {
  if (name == "RS256") return JwsAlgorithm::rs256;
  if (name == "PS256") return JwsAlgorithm::ps256;
  if (name == "ES256") return JwsAlgorithm::es256;
  if (name == "EdDSA") return JwsAlgorithm::eddsa;
  return std::nullopt;
}

std::string_view name_of(JwsAlgorithm alg) noexcept {
  switch (alg) {
    case JwsAlgorithm::rs256: return "RS256";
    case JwsAlgorithm::ps256: return "PS256";
    case JwsAlgorithm::es256: return "ES256";
    case JwsAlgorithm::eddsa: return "EdDSA";
  }
  return "";
}

void PublicKey::FreeKey::operator()(evp_pkey_st* key) const noexcept { EVP_PKEY_free(key); }

PublicKey::PublicKey(Family family, KeyHandle key, std::string kid, std::optional<JwsAlgorithm> declared_alg) noexcept
    : family_(family), key_(std::move(key)), kid_(std::move(kid)), declared_alg_(declared_alg) {}

std::optional<PublicKey> PublicKey::from_jwk(const nlohmann::json& jwk, std::string& error) {
  if (!jwk.is_object()) {
    error = "key is not a json object";
    return std::nullopt;
  }
  // A key without "use" may serve either purpose (RFC 7517 section 4.2); one that names a use
  // other than signatures is not ours to verify with.
  if (const Member use = member(jwk, "use"); use.present && (use.text == nullptr || *use.text != "sig")) {
    error = "key is not for signatures";
    return std::nullopt;
  }
  const Member kty = member(jwk, "kty");
  if (!kty.present) {
    error = "missing kty";
    return std::nullopt;
  }
  if (kty.text == nullptr) {
    error = "kty is not a string";
    return std::nullopt;
  }
  std::string kid;
  if (const Member m = member(jwk, "kid"); m.present) {
    if (m.text == nullptr) {
      error = "kid is not a string";
      return std::nullopt;
    }
    kid = *m.text;
  }
  std::optional<JwsAlgorithm> declared_alg;
  if (const Member m = member(jwk, "alg"); m.present) {
    if (m.text == nullptr) {
      error = "alg is not a string";
      return std::nullopt;
    }
    declared_alg = parse_algorithm(*m.text);
    if (!declared_alg) {
      error = "unsupported alg";
      return std::nullopt;
    }
  }

  Family family = Family::rsa;
  Pkey key;
  if (*kty.text == "RSA") {
    family = Family::rsa;
    key = rsa_key(jwk, error);
  } else if (*kty.text == "EC") {
    family = Family::ec_p256;
    key = p256_key(jwk, error);
  } else if (*kty.text == "OKP") {
    family = Family::ed25519;
    key = ed25519_key(jwk, error);
  } else {
    error = "unsupported kty";
    return std::nullopt;
  }
  // Leave no OpenSSL errors queued on this thread for unrelated code to find later.
  ERR_clear_error();
  if (!key) return std::nullopt;
  PublicKey result(family, KeyHandle(key.release()), std::move(kid), std::nullopt);
  if (declared_alg) {
    if (!result.fits(*declared_alg)) {
      error = "alg does not fit the key type";
      return std::nullopt;
    }
    result.declared_alg_ = declared_alg;
  }
  return result;
}

bool PublicKey::fits(JwsAlgorithm alg) const noexcept {
  if (declared_alg_ && *declared_alg_ != alg) return false;
  switch (family_) {
    case Family::rsa: return alg == JwsAlgorithm::rs256 || alg == JwsAlgorithm::ps256;
    case Family::ec_p256: return alg == JwsAlgorithm::es256;
    case Family::ed25519: return alg == JwsAlgorithm::eddsa;
  }
  return false;
}

bool PublicKey::verify(JwsAlgorithm alg, std::string_view signing_input, std::string_view signature) const noexcept {
  if (!key_ || !fits(alg)) return false;
  const bool good = verify_with(key_.get(), alg, signing_input, signature);
  if (!good) ERR_clear_error();
  return good;
}

std::optional<KeySet> parse_jwks(std::string_view document, std::string& error, std::size_t max_keys) {
  if (jsonrpc::nests_deeper_than(document, kMaxJoseJsonDepth)) {
    error = "jwks nested too deeply";
    return std::nullopt;
  }
  const json value = json::parse(document.begin(), document.end(), nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    error = "jwks is not json";
    return std::nullopt;
  }
  if (!value.is_object()) {
    error = "jwks is not a json object";
    return std::nullopt;
  }
  const auto keys = value.find("keys");
  if (keys == value.end() || !keys->is_array()) {
    error = "jwks has no keys array";
    return std::nullopt;
  }
  if (keys->size() > max_keys) {
    error = "jwks has more than " + std::to_string(max_keys) + " keys";
    return std::nullopt;
  }
  KeySet set;
  set.keys.reserve(keys->size());
  for (const auto& entry : *keys) {
    std::string reason;  // one unusable key is expected (new key types, encryption keys); not an error
    if (auto key = PublicKey::from_jwk(entry, reason)) {
      set.keys.push_back(std::move(*key));
    } else {
      ++set.skipped;
    }
  }
  return set;
}

}  // namespace graceway::security
