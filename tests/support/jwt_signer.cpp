#include "support/jwt_signer.hpp"

#include <array>
#include <stdexcept>
#include <utility>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "security/base64url.hpp"
#include "security/openssl_ptr.hpp"

namespace graceway::test {

namespace {

using json = nlohmann::json;
using security::base64url_encode;
using security::JwsAlgorithm;

using security::Bignum;
using security::DigestContext;
using security::EcdsaSignature;
using security::OpenSslFree;
using Bio = std::unique_ptr<BIO, OpenSslFree<BIO_free>>;

void require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("openssl: ") + what);
}

const unsigned char* bytes_of(std::string_view text) { return reinterpret_cast<const unsigned char*>(text.data()); }

std::string bignum_member(const EVP_PKEY* key, const char* name, int width = 0) {
  BIGNUM* raw = nullptr;
  require(EVP_PKEY_get_bn_param(key, name, &raw) == 1, name);
  const Bignum value(raw);
  const int length = width > 0 ? width : BN_num_bytes(value.get());
  std::string out(static_cast<std::size_t>(length), '\0');
  require(BN_bn2binpad(value.get(), reinterpret_cast<unsigned char*>(out.data()), length) == length, name);
  return out;
}

std::string encoded_json(const json& value) { return base64url_encode(value.dump()); }

// OpenSSL's one-shot signature over `input` (DER for ECDSA).
std::string openssl_signature(EVP_PKEY* key, JwsAlgorithm alg, std::string_view input) {
  const DigestContext context(EVP_MD_CTX_new());
  require(context != nullptr, "EVP_MD_CTX_new");
  EVP_PKEY_CTX* key_context = nullptr;
  const EVP_MD* digest = alg == JwsAlgorithm::eddsa ? nullptr : EVP_sha256();
  require(EVP_DigestSignInit(context.get(), &key_context, digest, nullptr, key) == 1, "EVP_DigestSignInit");
  if (alg == JwsAlgorithm::ps256) {
    require(EVP_PKEY_CTX_set_rsa_padding(key_context, RSA_PKCS1_PSS_PADDING) > 0 &&
                EVP_PKEY_CTX_set_rsa_mgf1_md(key_context, EVP_sha256()) > 0 &&
                EVP_PKEY_CTX_set_rsa_pss_saltlen(key_context, 32) > 0,
            "pss parameters");
  }
  std::size_t length = 0;
  require(EVP_DigestSign(context.get(), nullptr, &length, bytes_of(input), input.size()) == 1, "EVP_DigestSign");
  std::string out(length, '\0');
  require(EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(out.data()), &length, bytes_of(input),
                         input.size()) == 1,
          "EVP_DigestSign");
  out.resize(length);
  return out;
}

std::string der_to_raw(std::string_view der) {
  const unsigned char* cursor = bytes_of(der);
  const EcdsaSignature value(d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(der.size())));
  require(value != nullptr, "d2i_ECDSA_SIG");
  std::string out(64, '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  require(BN_bn2binpad(ECDSA_SIG_get0_r(value.get()), bytes, 32) == 32 &&
              BN_bn2binpad(ECDSA_SIG_get0_s(value.get()), bytes + 32, 32) == 32,
          "BN_bn2binpad");
  return out;
}

}  // namespace

void TestSigningKey::FreeKey::operator()(evp_pkey_st* key) const noexcept { EVP_PKEY_free(key); }

TestSigningKey::TestSigningKey(JwsAlgorithm alg, std::string kid, std::unique_ptr<evp_pkey_st, FreeKey> key)
    : alg_(alg), kid_(std::move(kid)), key_(std::move(key)) {}

TestSigningKey TestSigningKey::generate(JwsAlgorithm alg, std::string kid) {
  EVP_PKEY* raw = nullptr;
  switch (alg) {
    case JwsAlgorithm::rs256:
    case JwsAlgorithm::ps256: raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048}); break;
    case JwsAlgorithm::es256: raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"); break;
    case JwsAlgorithm::eddsa: raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"); break;
  }
  require(raw != nullptr, "EVP_PKEY_Q_keygen");
  return {alg, std::move(kid), std::unique_ptr<evp_pkey_st, FreeKey>(raw)};
}

json TestSigningKey::public_jwk() const {
  json jwk = json::object();
  switch (alg_) {
    case JwsAlgorithm::rs256:
    case JwsAlgorithm::ps256:
      jwk["kty"] = "RSA";
      jwk["n"] = base64url_encode(bignum_member(key_.get(), OSSL_PKEY_PARAM_RSA_N));
      jwk["e"] = base64url_encode(bignum_member(key_.get(), OSSL_PKEY_PARAM_RSA_E));
      break;
    case JwsAlgorithm::es256:
      jwk["kty"] = "EC";
      jwk["crv"] = "P-256";
      jwk["x"] = base64url_encode(bignum_member(key_.get(), OSSL_PKEY_PARAM_EC_PUB_X, 32));
      jwk["y"] = base64url_encode(bignum_member(key_.get(), OSSL_PKEY_PARAM_EC_PUB_Y, 32));
      break;
    case JwsAlgorithm::eddsa: {
      std::array<unsigned char, 32> x{};
      std::size_t length = x.size();
      require(EVP_PKEY_get_raw_public_key(key_.get(), x.data(), &length) == 1 && length == x.size(),
              "EVP_PKEY_get_raw_public_key");
      jwk["kty"] = "OKP";
      jwk["crv"] = "Ed25519";
      jwk["x"] = base64url_encode(std::string_view(reinterpret_cast<const char*>(x.data()), length));
      break;
    }
  }
  jwk["kid"] = kid_;
  jwk["alg"] = std::string(security::name_of(alg_));
  jwk["use"] = "sig";
  return jwk;
}

std::string TestSigningKey::public_key_pem() const {
  const Bio bio(BIO_new(BIO_s_mem()));
  require(bio != nullptr && PEM_write_bio_PUBKEY(bio.get(), key_.get()) == 1, "PEM_write_bio_PUBKEY");
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  require(length > 0 && data != nullptr, "BIO_get_mem_data");
  return {data, static_cast<std::size_t>(length)};
}

std::string TestSigningKey::signature(std::string_view signing_input) const {
  auto bytes = openssl_signature(key_.get(), alg_, signing_input);
  return alg_ == JwsAlgorithm::es256 ? der_to_raw(bytes) : bytes;
}

std::string TestSigningKey::der_signature(std::string_view signing_input) const {
  require(alg_ == JwsAlgorithm::es256, "der_signature needs an ES256 key");
  return openssl_signature(key_.get(), alg_, signing_input);
}

std::string TestSigningKey::sign(const json& claims, const json& header_overrides) const {
  json header = {{"alg", std::string(security::name_of(alg_))}, {"kid", kid_}, {"typ", "at+jwt"}};
  for (const auto& [name, value] : header_overrides.items()) {
    if (value.is_null()) {
      header.erase(name);
    } else {
      header[name] = value;
    }
  }
  const std::string signing_input = encoded_json(header) + "." + encoded_json(claims);
  return signing_input + "." + base64url_encode(signature(signing_input));
}

std::string jwks_document(const std::vector<const TestSigningKey*>& keys) {
  json list = json::array();
  for (const auto* key : keys) list.push_back(key->public_jwk());
  return json{{"keys", list}}.dump();
}

std::string hs256_token(std::string_view secret, const json& header, const json& claims) {
  json full = header;
  if (!full.contains("alg")) full["alg"] = "HS256";
  const std::string signing_input = encoded_json(full) + "." + encoded_json(claims);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  std::size_t length = 0;
  require(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(), bytes_of(signing_input),
                    signing_input.size(), mac.data(), mac.size(), &length) != nullptr,
          "EVP_Q_mac");
  return signing_input + "." + base64url_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), length));
}

std::string unsigned_token(const json& header, const json& claims) {
  json full = header;
  if (!full.contains("alg")) full["alg"] = "none";
  return encoded_json(full) + "." + encoded_json(claims) + ".";
}

}  // namespace graceway::test
