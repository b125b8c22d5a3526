// JWT access-token structure, JWK import and JWS signature checks (docs security.md A.5, A.6):
// strict base64url, the structural refusals of parse_jwt, the key-to-algorithm binding, and
// verification for RS256, PS256, ES256 and EdDSA with good, altered and foreign signatures.

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "security/base64url.hpp"
#include "security/jwk.hpp"
#include "security/jwt.hpp"
#include "support/jwt_signer.hpp"

namespace graceway::security {
namespace {

using nlohmann::json;
using test::TestSigningKey;

constexpr std::array kAllAlgorithms = {JwsAlgorithm::rs256, JwsAlgorithm::ps256, JwsAlgorithm::es256,
                                       JwsAlgorithm::eddsa};

// RSA generation is slow: every test shares one key per algorithm, plus a second ("other") one.
const TestSigningKey& signing_key(JwsAlgorithm alg, bool other = false) {
  static const std::array<TestSigningKey, 8> keys = {
      TestSigningKey::generate(JwsAlgorithm::rs256, "rs-1"), TestSigningKey::generate(JwsAlgorithm::ps256, "ps-1"),
      TestSigningKey::generate(JwsAlgorithm::es256, "es-1"), TestSigningKey::generate(JwsAlgorithm::eddsa, "ed-1"),
      TestSigningKey::generate(JwsAlgorithm::rs256, "rs-2"), TestSigningKey::generate(JwsAlgorithm::ps256, "ps-2"),
      TestSigningKey::generate(JwsAlgorithm::es256, "es-2"), TestSigningKey::generate(JwsAlgorithm::eddsa, "ed-2")};
  return keys[static_cast<std::size_t>(alg) + (other ? 4 : 0)];
}

PublicKey public_key(const json& jwk) {
  std::string error;
  auto key = PublicKey::from_jwk(jwk, error);
  if (!key) throw std::runtime_error("from_jwk refused a test key: " + error);
  return std::move(*key);
}

PublicKey public_key(const TestSigningKey& signer) { return public_key(signer.public_jwk()); }

// The reason from_jwk gives for refusing `jwk`; "" when it accepts it.
std::string refusal(const json& jwk) {
  std::string error;
  return PublicKey::from_jwk(jwk, error) ? std::string() : error;
}

std::string parse_error(std::string_view token) {
  const auto parsed = parse_jwt(token);
  EXPECT_EQ(parsed.token.has_value(), parsed.error.empty());
  return parsed.error;
}

std::string b64(std::string_view text) { return base64url_encode(text); }

std::string token_of(const json& header, const json& claims, std::string_view signature = "sig") {
  return b64(header.dump()) + "." + b64(claims.dump()) + "." + b64(signature);
}

const json kClaims = {{"iss", "https://as.example"}, {"sub", "alice"}, {"exp", 4102444800}};

// Verifies `token` (compact) with `key` as the token's header says.
bool verifies(const PublicKey& key, std::string_view token) {
  const auto parsed = parse_jwt(token);
  return parsed.token && key.verify(parsed.token->alg, parsed.token->signing_input, parsed.token->signature);
}

// ---- base64url ----------------------------------------------------------------------------------

TEST(Base64UrlTest, EncodesTheRfc4648Vectors) {
  const std::vector<std::pair<std::string, std::string>> vectors = {
      {"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"}, {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"},
      {"foobar", "Zm9vYmFy"}, {"\xfb\xff", "-_8"}};
  for (const auto& [bytes, text] : vectors) {
    EXPECT_EQ(base64url_encode(bytes), text);
    EXPECT_EQ(base64url_decode(text), bytes) << text;
  }
}

TEST(Base64UrlTest, RoundTripsEveryLengthAndByte) {
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    const auto back = base64url_decode(base64url_encode(bytes));
    ASSERT_TRUE(back) << i;
    EXPECT_EQ(*back, bytes);
    bytes.push_back(static_cast<char>((i * 37) & 0xFF));
  }
}

TEST(Base64UrlTest, RefusesPadding) {
  for (const char* text : {"Zg==", "Zm8=", "Zg=", "Zm9v====", "="}) EXPECT_FALSE(base64url_decode(text)) << text;
}

TEST(Base64UrlTest, RefusesCharactersOutsideTheUrlAlphabet) {
  for (const std::string& text : std::vector<std::string>{"Zm+v", "Zm/v", "Zm9v\n", "Zm 9", "Zm.v",
                                                           std::string("Zm\0v", 4), "Zm9\xc3\xa9"}) {
    EXPECT_FALSE(base64url_decode(text)) << text;
  }
}

TEST(Base64UrlTest, RefusesALengthOfOneModFour) {
  for (const char* text : {"Z", "Zm9vY", "Zm9vYmFyZ"}) EXPECT_FALSE(base64url_decode(text)) << text;
}

TEST(Base64UrlTest, RefusesNonZeroTrailingBits) {
  // "Zh" and "Zm9" decode to the same bytes as "Zg" and "Zm8" with padding bits set.
  for (const char* text : {"Zh", "Zv", "Zm9", "Zm-"}) EXPECT_FALSE(base64url_decode(text)) << text;
  EXPECT_TRUE(base64url_decode("Zg"));
  EXPECT_TRUE(base64url_decode("Zm8"));
}

// ---- algorithms ---------------------------------------------------------------------------------

TEST(JwtTest, ParsesExactlyTheFourAlgorithmNames) {
  for (const auto alg : kAllAlgorithms) EXPECT_EQ(parse_algorithm(name_of(alg)), alg);
  for (const char* name : {"none", "None", "HS256", "HS512", "RS384", "RS512", "PS384", "ES384", "ES512", "rs256",
                           "eddsa", "EDDSA", "Ed25519", "RS256 ", ""}) {
    EXPECT_FALSE(parse_algorithm(name)) << name;
  }
}

// ---- parse_jwt ----------------------------------------------------------------------------------

TEST(JwtTest, ParsesAWellFormedToken) {
  const auto& signer = signing_key(JwsAlgorithm::es256);
  const auto compact = signer.sign(kClaims);
  const auto parsed = parse_jwt(compact);
  ASSERT_TRUE(parsed.token) << parsed.error;
  EXPECT_TRUE(parsed.error.empty());
  const auto& token = *parsed.token;
  EXPECT_EQ(token.alg, JwsAlgorithm::es256);
  EXPECT_EQ(token.kid, "es-1");
  EXPECT_EQ(token.typ, "at+jwt");
  EXPECT_EQ(token.claims, kClaims);
  EXPECT_EQ(token.header.at("alg"), "ES256");
  EXPECT_EQ(token.signing_input, compact.substr(0, compact.rfind('.')));
  EXPECT_EQ(token.signature.size(), 64U);
  EXPECT_EQ(b64(token.signature), compact.substr(compact.rfind('.') + 1));
}

TEST(JwtTest, AbsentKidAndTypAreEmpty) {
  const auto parsed = parse_jwt(token_of({{"alg", "RS256"}}, kClaims));
  ASSERT_TRUE(parsed.token) << parsed.error;
  EXPECT_EQ(parsed.token->kid, "");
  EXPECT_EQ(parsed.token->typ, "");
}

TEST(JwtTest, RefusesATokenOverTheSizeCap) {
  const std::string header = b64(R"({"alg":"RS256"})");
  std::string big = header + "." + std::string(kMaxTokenBytes, 'A') + ".c2ln";
  EXPECT_EQ(parse_error(big), "token too large");
  // At exactly the cap the size is fine, and the refusal is about something else.
  big.resize(kMaxTokenBytes);
  big.replace(big.size() - 5, 5, ".c2ln");
  EXPECT_NE(parse_error(big), "token too large");
  EXPECT_NE(parse_error(big), "");
}

TEST(JwtTest, RefusesAnythingButThreeSegments) {
  for (const char* token : {"", "abc", "YQ.Yg", "YQ.Yg.Yw.ZA", "YQ.Yg.Yw.ZA.ZQ.Zg", "......"}) {
    EXPECT_EQ(parse_error(token), "token must have three segments") << token;
  }
}

TEST(JwtTest, RefusesAFiveSegmentJweWithItsOwnReason) {
  const auto jwe = b64(R"({"alg":"RSA-OAEP","enc":"A256GCM"})") + ".a2V5.aXY.Y2lwaGVy.dGFn";
  EXPECT_EQ(parse_error(jwe), "encrypted tokens (jwe) are not supported");
}

TEST(JwtTest, RefusesEmptySegments) {
  const auto header = b64(R"({"alg":"RS256"})");
  const auto claims = b64(kClaims.dump());
  for (const auto& token : {".." + claims, header + ".." + b64("s"), "." + claims + "." + b64("s"),
                            header + "." + claims + "."}) {
    EXPECT_EQ(parse_error(token), "empty token segment") << token;
  }
}

TEST(JwtTest, RefusesSegmentsThatAreNotStrictBase64Url) {
  const auto header = b64(R"({"alg":"RS256"})");
  const auto claims = b64(kClaims.dump());
  const auto signature = b64("signature");
  EXPECT_EQ(parse_error(header + "=." + claims + "." + signature), "header is not base64url");
  EXPECT_EQ(parse_error(header + "." + claims + "+." + signature), "payload is not base64url");
  EXPECT_EQ(parse_error(header + "." + claims + "." + signature + "=="), "signature is not base64url");
  EXPECT_EQ(parse_error(header + "." + claims + ".Zh"), "signature is not base64url") << "non-canonical";
  EXPECT_EQ(parse_error(header + "." + claims + ". " + signature), "signature is not base64url");
}

TEST(JwtTest, RefusesAHeaderThatIsNotAJsonObject) {
  for (const char* header : {R"(["RS256"])", R"("RS256")", "42", "null", "not json", R"({"alg":"RS256")",
                             "{\"alg\":\"RS256\"}{}", "\xff\xfe"}) {
    EXPECT_EQ(parse_error(b64(header) + "." + b64(kClaims.dump()) + ".c2ln"), "header is not a json object")
        << header;
  }
}

TEST(JwtTest, RefusesClaimsThatAreNotAJsonObject) {
  for (const char* claims : {"[]", R"("alice")", "1", "{", ""}) {
    const auto token = b64(R"({"alg":"RS256"})") + "." + (claims[0] == '\0' ? "" : b64(claims)) + ".c2ln";
    EXPECT_NE(parse_error(token), "") << claims;
  }
  EXPECT_EQ(parse_error(b64(R"({"alg":"RS256"})") + "." + b64("[1]") + ".c2ln"), "claims are not a json object");
}

TEST(JwtTest, RefusesDeeplyNestedJson) {
  std::string deep = std::string(40, '[') + std::string(40, ']');
  EXPECT_EQ(parse_error(token_of({{"alg", "RS256"}, {"x", json::parse(deep)}}, kClaims)), "header is not a json object");
  EXPECT_EQ(parse_error(token_of({{"alg", "RS256"}}, {{"x", json::parse(deep)}})), "claims are not a json object");
  // Real tokens nest a little (aud arrays, cnf objects): that is fine.
  EXPECT_EQ(parse_error(token_of({{"alg", "RS256"}}, {{"cnf", {{"jkt", {1, {2, 3}}}}}})), "");
}

TEST(JwtTest, RefusesAlgNone) {
  EXPECT_NE(parse_error(test::unsigned_token({{"typ", "at+jwt"}}, kClaims)), "");
  for (const char* none : {"none", "None", "NONE", "nOnE"}) {
    // With a signature segment, so the refusal is about the algorithm and nothing else.
    EXPECT_EQ(parse_error(token_of({{"alg", none}}, kClaims)), "unsigned tokens (alg none) are refused") << none;
  }
}

TEST(JwtTest, RefusesHs256) {
  EXPECT_EQ(parse_error(test::hs256_token("secret", {{"kid", "rs-1"}}, kClaims)), "unsupported alg");
}

TEST(JwtTest, RefusesTheHmacTokenKeyedWithThePublicKey) {
  // The classic confusion: HS256 keyed with the server's own RSA public key, as PEM and as JWK.
  const auto& rsa = signing_key(JwsAlgorithm::rs256);
  const auto key = public_key(rsa);
  for (const auto& secret : {rsa.public_key_pem(), rsa.public_jwk().dump()}) {
    const auto token = test::hs256_token(secret, {{"kid", "rs-1"}}, kClaims);
    EXPECT_EQ(parse_error(token), "unsupported alg");
    // Even relabelled as RS256, an HMAC is not an RSA signature.
    const auto relabelled = test::hs256_token(secret, {{"alg", "RS256"}, {"kid", "rs-1"}}, kClaims);
    EXPECT_FALSE(verifies(key, relabelled));
  }
}

TEST(JwtTest, RefusesAlgorithmsOutsideTheFour) {
  for (const char* alg : {"RS384", "RS512", "ES384", "PS512", "rs256", "eddsa", "Ed25519", "dir", "RSA-OAEP"}) {
    EXPECT_EQ(parse_error(token_of({{"alg", alg}}, kClaims)), "unsupported alg") << alg;
  }
  EXPECT_EQ(parse_error(token_of({{"typ", "at+jwt"}}, kClaims)), "header has no alg");
  EXPECT_EQ(parse_error(token_of({{"alg", 256}}, kClaims)), "alg is not a string");
  EXPECT_EQ(parse_error(token_of({{"alg", {"RS256"}}}, kClaims)), "alg is not a string");
}

TEST(JwtTest, RefusesCrit) {
  EXPECT_EQ(parse_error(token_of({{"alg", "ES256"}, {"crit", {"exp"}}, {"exp", 1}}, kClaims)),
            "crit header is not supported");
  EXPECT_EQ(parse_error(token_of({{"alg", "ES256"}, {"crit", json::array()}}, kClaims)), "crit header is not supported");
}

TEST(JwtTest, RefusesKidThatIsNotAString) {
  EXPECT_EQ(parse_error(token_of({{"alg", "RS256"}, {"kid", 7}}, kClaims)), "kid is not a string");
  EXPECT_EQ(parse_error(token_of({{"alg", "RS256"}, {"kid", nullptr}}, kClaims)), "kid is not a string");
  EXPECT_EQ(parse_error(token_of({{"alg", "RS256"}, {"typ", {{"a", 1}}}}, kClaims)), "typ is not a string");
}

TEST(JwtTest, IgnoresKeysTheTokenNamesItself) {
  // An attacker's embedded key or key URL must play no part: only the trusted key verifies.
  const auto& mine = signing_key(JwsAlgorithm::eddsa);
  const auto& attacker = signing_key(JwsAlgorithm::eddsa, /*other=*/true);
  const json embedded = {{"jwk", attacker.public_jwk()},
                         {"jku", "https://evil.example/jwks"},
                         {"x5u", "https://evil.example/cert"},
                         {"x5c", {"MIIB"}}};
  const auto forged = attacker.sign(kClaims, embedded);
  const auto parsed = parse_jwt(forged);
  ASSERT_TRUE(parsed.token) << parsed.error;
  EXPECT_FALSE(verifies(public_key(mine), forged));
  EXPECT_TRUE(verifies(public_key(mine), mine.sign(kClaims, embedded)));
}

TEST(JwtTest, DuplicateClaimsResolveToTheLastValue) {
  const auto token = b64(R"({"alg":"RS256"})") + "." + b64(R"({"sub":"alice","sub":"mallory"})") + ".c2ln";
  const auto parsed = parse_jwt(token);
  ASSERT_TRUE(parsed.token) << parsed.error;
  EXPECT_EQ(parsed.token->claims.at("sub"), "mallory");
}

TEST(JwtTest, ErrorsNeverQuoteTheToken) {
  const std::string marker = "ZZmarkerZZ";
  const std::vector<std::string> tokens = {
      marker,
      marker + "." + marker,
      marker + ".." + marker,
      marker + "=." + marker + "." + marker,
      b64(R"({"alg":")" + marker + R"("})") + "." + b64("{}") + ".c2ln",
      b64(R"({"alg":"RS256","kid":[")" + marker + R"("]})") + "." + b64("{}") + ".c2ln",
      b64(marker) + "." + b64("{}") + ".c2ln",
  };
  for (const auto& token : tokens) {
    const auto error = parse_error(token);
    EXPECT_NE(error, "");
    EXPECT_EQ(error.find("marker"), std::string::npos) << error;
    EXPECT_EQ(error.find("ZZ"), std::string::npos) << error;
  }
}

TEST(JwtTest, LooksLikeJwtWhenItHasExactlyTwoDots) {
  EXPECT_TRUE(looks_like_jwt("a.b.c"));
  EXPECT_TRUE(looks_like_jwt(".."));
  EXPECT_TRUE(looks_like_jwt(signing_key(JwsAlgorithm::eddsa).sign(kClaims)));
  for (const char* opaque : {"", "opaque-token", "a.b", "a.b.c.d", "a.b.c.d.e"}) EXPECT_FALSE(looks_like_jwt(opaque));
}

// ---- verification -------------------------------------------------------------------------------

TEST(JwtTest, VerifiesAGoodSignatureForEachAlgorithm) {
  for (const auto alg : kAllAlgorithms) {
    const auto& signer = signing_key(alg);
    const auto key = public_key(signer);
    EXPECT_TRUE(key.fits(alg)) << name_of(alg);
    EXPECT_TRUE(verifies(key, signer.sign(kClaims))) << name_of(alg);
  }
}

TEST(JwtTest, FailsWhenAnyByteIsFlipped) {
  for (const auto alg : kAllAlgorithms) {
    const auto& signer = signing_key(alg);
    const auto key = public_key(signer);
    const auto token = parse_jwt(signer.sign(kClaims)).token;
    ASSERT_TRUE(token);
    for (std::size_t i = 0; i < token->signature.size(); i += 7) {
      auto signature = token->signature;
      signature[i] = static_cast<char>(signature[i] ^ 0x01);
      EXPECT_FALSE(key.verify(alg, token->signing_input, signature)) << name_of(alg) << " signature byte " << i;
    }
    for (std::size_t i = 0; i < token->signing_input.size(); i += 11) {
      auto input = token->signing_input;
      input[i] = static_cast<char>(input[i] ^ 0x01);
      EXPECT_FALSE(key.verify(alg, input, token->signature)) << name_of(alg) << " input byte " << i;
    }
  }
}

TEST(JwtTest, FailsWithAnotherKeyOfTheSameType) {
  for (const auto alg : kAllAlgorithms) {
    const auto other = public_key(signing_key(alg, /*other=*/true));
    EXPECT_FALSE(verifies(other, signing_key(alg).sign(kClaims))) << name_of(alg);
  }
}

TEST(JwtTest, Rs256SignatureCheckedAsPs256Fails) {
  // Without a declared alg an RSA key fits both paddings; neither signature passes as the other.
  auto jwk = signing_key(JwsAlgorithm::rs256).public_jwk();
  jwk.erase("alg");
  const auto key = public_key(jwk);
  ASSERT_TRUE(key.fits(JwsAlgorithm::rs256));
  ASSERT_TRUE(key.fits(JwsAlgorithm::ps256));
  const auto& rs = signing_key(JwsAlgorithm::rs256);
  const auto input = std::string("header.payload");
  EXPECT_TRUE(key.verify(JwsAlgorithm::rs256, input, rs.signature(input)));
  EXPECT_FALSE(key.verify(JwsAlgorithm::ps256, input, rs.signature(input)));

  auto ps_jwk = signing_key(JwsAlgorithm::ps256).public_jwk();
  ps_jwk.erase("alg");
  const auto ps_key = public_key(ps_jwk);
  const auto& ps = signing_key(JwsAlgorithm::ps256);
  EXPECT_TRUE(ps_key.verify(JwsAlgorithm::ps256, input, ps.signature(input)));
  EXPECT_FALSE(ps_key.verify(JwsAlgorithm::rs256, input, ps.signature(input)));
}

TEST(JwtTest, KeyDeclaringRs256DoesNotFitPs256) {
  const auto& rs = signing_key(JwsAlgorithm::rs256);
  const auto key = public_key(rs);  // its JWK says "alg": "RS256"
  EXPECT_EQ(key.declared_alg(), JwsAlgorithm::rs256);
  EXPECT_FALSE(key.fits(JwsAlgorithm::ps256));
  // A valid PSS signature, checked with its own key but labelled RS256 in the JWK, is refused.
  const auto input = std::string("header.payload");
  const auto& ps = signing_key(JwsAlgorithm::ps256);
  auto ps_as_declared = ps.public_jwk();
  ps_as_declared["alg"] = "RS256";
  const auto declared_rs = public_key(ps_as_declared);
  EXPECT_FALSE(declared_rs.verify(JwsAlgorithm::ps256, input, ps.signature(input)));
  EXPECT_TRUE(public_key(ps).verify(JwsAlgorithm::ps256, input, ps.signature(input)));
}

TEST(JwtTest, KeyTypeMustFitTheAlgorithm) {
  const auto rsa = public_key(signing_key(JwsAlgorithm::rs256));
  const auto ec = public_key(signing_key(JwsAlgorithm::es256));
  const auto ed = public_key(signing_key(JwsAlgorithm::eddsa));
  EXPECT_FALSE(rsa.fits(JwsAlgorithm::es256));
  EXPECT_FALSE(rsa.fits(JwsAlgorithm::eddsa));
  EXPECT_FALSE(ec.fits(JwsAlgorithm::rs256));
  EXPECT_FALSE(ec.fits(JwsAlgorithm::eddsa));
  EXPECT_FALSE(ed.fits(JwsAlgorithm::es256));
  EXPECT_FALSE(ed.fits(JwsAlgorithm::ps256));
  // A token relabelled to another algorithm is refused by the key, whatever its signature.
  const auto& es = signing_key(JwsAlgorithm::es256);
  const auto input = std::string("header.payload");
  EXPECT_FALSE(ec.verify(JwsAlgorithm::eddsa, input, es.signature(input)));
  EXPECT_FALSE(ed.verify(JwsAlgorithm::es256, input, es.signature(input)));
}

TEST(JwtTest, Es256DerSignatureFails) {
  const auto& es = signing_key(JwsAlgorithm::es256);
  const auto key = public_key(es);
  const auto input = std::string("header.payload");
  EXPECT_TRUE(key.verify(JwsAlgorithm::es256, input, es.signature(input)));
  EXPECT_FALSE(key.verify(JwsAlgorithm::es256, input, es.der_signature(input)));
  const auto raw = es.signature(input);
  EXPECT_FALSE(key.verify(JwsAlgorithm::es256, input, raw.substr(0, 63)));
  EXPECT_FALSE(key.verify(JwsAlgorithm::es256, input, raw + '\0'));
  EXPECT_FALSE(key.verify(JwsAlgorithm::es256, input, std::string(64, '\0'))) << "r = s = 0";
}

TEST(JwtTest, VerifyRefusesGarbageSignaturesWithoutThrowing) {
  for (const auto alg : kAllAlgorithms) {
    const auto key = public_key(signing_key(alg));
    for (const auto& signature : {std::string(), std::string(1, 'x'), std::string(64, '\xff'), std::string(256, 'a'),
                                  std::string(100000, '\x01')}) {
      EXPECT_FALSE(key.verify(alg, "a.b", signature)) << name_of(alg) << " " << signature.size();
    }
  }
}

TEST(JwtTest, KeysMoveWithoutLosingTheirKey) {
  auto key = public_key(signing_key(JwsAlgorithm::eddsa));
  const PublicKey moved = std::move(key);
  EXPECT_EQ(moved.kid(), "ed-1");
  EXPECT_TRUE(verifies(moved, signing_key(JwsAlgorithm::eddsa).sign(kClaims)));
}

// ---- from_jwk -----------------------------------------------------------------------------------

TEST(JwtTest, ReadsKidAndDeclaredAlgFromTheJwk) {
  auto jwk = signing_key(JwsAlgorithm::es256).public_jwk();
  EXPECT_EQ(public_key(jwk).kid(), "es-1");
  EXPECT_EQ(public_key(jwk).declared_alg(), JwsAlgorithm::es256);
  jwk.erase("kid");
  jwk.erase("alg");
  jwk.erase("use");
  EXPECT_EQ(public_key(jwk).kid(), "");
  EXPECT_EQ(public_key(jwk).declared_alg(), std::nullopt);
  EXPECT_TRUE(public_key(jwk).fits(JwsAlgorithm::es256));
}

TEST(JwtTest, RefusesAnEcKeyWithAPointOffTheCurve) {
  auto jwk = signing_key(JwsAlgorithm::es256).public_jwk();
  auto y = *base64url_decode(jwk["y"].get<std::string>());
  y.back() = static_cast<char>(y.back() ^ 0x01);
  jwk["y"] = b64(y);
  EXPECT_EQ(refusal(jwk), "ec point is not on p-256");
  jwk["x"] = b64(std::string(32, '\0'));
  jwk["y"] = b64(std::string(32, '\0'));
  EXPECT_EQ(refusal(jwk), "ec point is not on p-256");
  jwk["x"] = b64(std::string(32, '\xff'));  // not even a field element
  EXPECT_EQ(refusal(jwk), "ec point is not on p-256");
}

TEST(JwtTest, RefusesCoordinatesOfTheWrongLength) {
  auto ec = signing_key(JwsAlgorithm::es256).public_jwk();
  ec["x"] = b64(std::string(31, '\x01'));
  EXPECT_EQ(refusal(ec), "p-256 coordinates must be 32 bytes");
  ec["x"] = b64(std::string(33, '\x01'));
  EXPECT_EQ(refusal(ec), "p-256 coordinates must be 32 bytes");
  auto ed = signing_key(JwsAlgorithm::eddsa).public_jwk();
  ed["x"] = b64(std::string(33, '\x01'));
  EXPECT_EQ(refusal(ed), "ed25519 key must be 32 bytes");
  ed["x"] = "";
  EXPECT_EQ(refusal(ed), "ed25519 key must be 32 bytes");
}

TEST(JwtTest, RefusesRsaKeysUnder2048Bits) {
  auto jwk = signing_key(JwsAlgorithm::rs256).public_jwk();
  std::string modulus(128, '\xc5');  // 1024 bits, odd
  jwk["n"] = b64(modulus);
  EXPECT_EQ(refusal(jwk), "rsa key smaller than 2048 bits");
  modulus.assign(256, '\xc5');
  modulus[0] = '\x7f';  // 2047 bits
  jwk["n"] = b64(modulus);
  EXPECT_EQ(refusal(jwk), "rsa key smaller than 2048 bits");
  jwk["n"] = b64(std::string(2, '\0') + std::string(128, '\xc5'));  // leading zeros do not add bits
  EXPECT_EQ(refusal(jwk), "rsa key smaller than 2048 bits");
}

TEST(JwtTest, AcceptsAnRsaModulusWithALeadingZeroOctet) {
  const auto& rs = signing_key(JwsAlgorithm::rs256);
  auto jwk = rs.public_jwk();
  jwk["n"] = b64(std::string(1, '\0') + *base64url_decode(jwk["n"].get<std::string>()));
  EXPECT_TRUE(verifies(public_key(jwk), rs.sign(kClaims)));
}

TEST(JwtTest, RefusesBadRsaExponents) {
  auto jwk = signing_key(JwsAlgorithm::rs256).public_jwk();
  for (const std::string& e : {std::string("\x01", 1), std::string("\x01\x00\x00", 3), std::string(1, '\0'),
                              std::string(9, '\x01')}) {
    jwk["e"] = b64(e);
    EXPECT_NE(refusal(jwk), "") << e.size();
  }
  jwk["e"] = "";
  EXPECT_NE(refusal(jwk), "");
}

TEST(JwtTest, RefusesKeysForEncryption) {
  auto jwk = signing_key(JwsAlgorithm::rs256).public_jwk();
  jwk["use"] = "enc";
  EXPECT_EQ(refusal(jwk), "key is not for signatures");
  jwk["use"] = 1;
  EXPECT_EQ(refusal(jwk), "key is not for signatures");
  jwk.erase("use");
  EXPECT_EQ(refusal(jwk), "");
}

TEST(JwtTest, RefusesUnknownKeyTypesAndCurves) {
  EXPECT_EQ(refusal({{"kty", "oct"}, {"k", b64("secret")}}), "unsupported kty");
  EXPECT_EQ(refusal({{"kty", "rsa"}, {"n", "AQAB"}, {"e", "AQAB"}}), "unsupported kty");
  auto ec = signing_key(JwsAlgorithm::es256).public_jwk();
  ec["crv"] = "P-384";
  EXPECT_EQ(refusal(ec), "unsupported crv");
  ec["crv"] = "secp256k1";
  EXPECT_EQ(refusal(ec), "unsupported crv");
  auto ed = signing_key(JwsAlgorithm::eddsa).public_jwk();
  for (const char* crv : {"Ed448", "X25519", "ed25519"}) {
    ed["crv"] = crv;
    EXPECT_EQ(refusal(ed), "unsupported crv") << crv;
  }
}

TEST(JwtTest, RefusesMissingOrNonStringMembers) {
  EXPECT_EQ(refusal("a string"), "key is not a json object");
  EXPECT_EQ(refusal(json::array()), "key is not a json object");
  EXPECT_EQ(refusal(json::object()), "missing kty");
  EXPECT_EQ(refusal({{"kty", 1}}), "kty is not a string");
  auto rsa = signing_key(JwsAlgorithm::rs256).public_jwk();
  rsa.erase("n");
  EXPECT_EQ(refusal(rsa), "missing n");
  rsa["n"] = 12345;
  EXPECT_EQ(refusal(rsa), "n is not a string");
  rsa["n"] = "not+base64";
  EXPECT_EQ(refusal(rsa), "n is not base64url");
  auto ec = signing_key(JwsAlgorithm::es256).public_jwk();
  ec.erase("y");
  EXPECT_EQ(refusal(ec), "missing y");
  ec.erase("crv");
  EXPECT_EQ(refusal(ec), "missing crv");
  auto ed = signing_key(JwsAlgorithm::eddsa).public_jwk();
  ed["kid"] = 3;
  EXPECT_EQ(refusal(ed), "kid is not a string");
  ed["kid"] = "ed-1";
  ed["x"] = nullptr;
  EXPECT_EQ(refusal(ed), "x is not a string");
}

TEST(JwtTest, RefusesADeclaredAlgOutsideTheFourOrUnfitForTheKey) {
  auto rsa = signing_key(JwsAlgorithm::rs256).public_jwk();
  for (const char* alg : {"RS384", "HS256", "none", "RSA-OAEP", "rs256"}) {
    rsa["alg"] = alg;
    EXPECT_EQ(refusal(rsa), "unsupported alg") << alg;
  }
  rsa["alg"] = 256;
  EXPECT_EQ(refusal(rsa), "alg is not a string");
  rsa["alg"] = "ES256";
  EXPECT_EQ(refusal(rsa), "alg does not fit the key type");
  auto ed = signing_key(JwsAlgorithm::eddsa).public_jwk();
  ed["alg"] = "ES256";
  EXPECT_EQ(refusal(ed), "alg does not fit the key type");
}

TEST(JwtTest, IgnoresPrivateKeyMembers) {
  const auto& rs = signing_key(JwsAlgorithm::rs256);
  auto jwk = rs.public_jwk();
  jwk["d"] = "bm90IGEga2V5";
  jwk["p"] = 17;
  jwk["q"] = json::array();
  EXPECT_TRUE(verifies(public_key(jwk), rs.sign(kClaims)));
}

// ---- parse_jwks ---------------------------------------------------------------------------------

TEST(JwtTest, JwksSkipsAndCountsUnusableKeys) {
  auto enc = signing_key(JwsAlgorithm::rs256, /*other=*/true).public_jwk();
  enc["use"] = "enc";
  auto small = signing_key(JwsAlgorithm::rs256).public_jwk();
  small["n"] = b64(std::string(128, '\xc5'));
  json document = json::parse(test::jwks_document({&signing_key(JwsAlgorithm::rs256), &signing_key(JwsAlgorithm::es256),
                                                   &signing_key(JwsAlgorithm::eddsa)}));
  for (const json& bad : {enc, small, json{{"kty", "oct"}, {"k", "c2VjcmV0"}}, json("a string"), json(5), json()}) {
    document["keys"].push_back(bad);
  }
  std::string error;
  const auto set = parse_jwks(document.dump(), error);
  ASSERT_TRUE(set) << error;
  EXPECT_EQ(set->keys.size(), 3U);
  EXPECT_EQ(set->skipped, 6U);
  std::vector<std::string> kids;
  for (const auto& key : set->keys) kids.push_back(key.kid());
  EXPECT_EQ(kids, (std::vector<std::string>{"rs-1", "es-1", "ed-1"}));
}

TEST(JwtTest, JwksKeyVerifiesTheTokenItsKidNames) {
  std::string error;
  const auto set = parse_jwks(test::jwks_document({&signing_key(JwsAlgorithm::ps256), &signing_key(JwsAlgorithm::eddsa)}),
                              error);
  ASSERT_TRUE(set) << error;
  const auto compact = signing_key(JwsAlgorithm::ps256).sign(kClaims);
  const auto token = parse_jwt(compact).token;
  ASSERT_TRUE(token);
  int verified = 0;
  for (const auto& key : set->keys) {
    if (key.kid() == token->kid && key.verify(token->alg, token->signing_input, token->signature)) ++verified;
  }
  EXPECT_EQ(verified, 1);
}

TEST(JwtTest, JwksRefusesMoreThanMaxKeys) {
  const auto* ed = &signing_key(JwsAlgorithm::eddsa);
  const auto document = test::jwks_document({ed, ed, ed});
  std::string error;
  EXPECT_FALSE(parse_jwks(document, error, 2));
  EXPECT_EQ(error, "jwks has more than 2 keys");
  error.clear();
  const auto exactly = parse_jwks(document, error, 3);
  ASSERT_TRUE(exactly) << error;
  EXPECT_EQ(exactly->keys.size(), 3U);
  // Unusable entries count toward the cap too: the cap bounds the work, not the result.
  EXPECT_FALSE(parse_jwks(R"({"keys":[1,2,3]})", error, 2));
}

TEST(JwtTest, JwksRefusesDocumentsThatAreNotAKeySet) {
  for (const char* document : {"", "not json", "[]", "{}", R"({"keys":{}})", R"({"keys":"x"})", R"({"Keys":[]})",
                               R"({"keys":[])", "null"}) {
    std::string error;
    EXPECT_FALSE(parse_jwks(document, error)) << document;
    EXPECT_NE(error, "") << document;
  }
  std::string error;
  const auto empty = parse_jwks(R"({"keys":[]})", error);
  ASSERT_TRUE(empty) << error;
  EXPECT_TRUE(empty->keys.empty());
}

TEST(JwtTest, JwksRefusesDeeplyNestedDocuments) {
  const std::string deep = R"({"keys":[{"kty":"OKP","x":)" + std::string(30, '[') + std::string(30, ']') + "}]}";
  std::string error;
  EXPECT_FALSE(parse_jwks(deep, error));
  EXPECT_EQ(error, "jwks nested too deeply");
}

}  // namespace
}  // namespace graceway::security
