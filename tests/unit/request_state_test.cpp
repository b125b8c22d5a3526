// RequestStateSeal: a sealed requestState opens to its payload under the same key before its
// expiry, and every other token (altered, foreign-keyed, late, misshapen, oversized) is refused
// with the reason a log line would name.

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <openssl/evp.h>
#include <unistd.h>

#include "mcp/request_state.hpp"
#include "security/base64url.hpp"

namespace graceway::mcp {
namespace {

using nlohmann::json;
using std::chrono::system_clock;
using namespace std::chrono_literals;

const std::string kKey(32, 'k');
const system_clock::time_point kNow = system_clock::time_point{} + std::chrono::hours(24 * 365 * 56);

std::string flip_byte(std::string bytes, std::size_t index) {
  bytes[index] = static_cast<char>(bytes[index] ^ 0x01);
  return bytes;
}

// A token whose MAC is right for `body` under `key`, built independently of seal(), so shapes
// that seal() never produces can reach the checks behind the MAC.
std::string token_for_body(const std::string& key, std::string_view body) {
  std::string input(kRequestStateMacTag);
  input.append(body);
  std::array<unsigned char, 32> mac{};
  std::size_t length = 0;
  EXPECT_NE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                      reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac.data(), mac.size(),
                      &length),
            nullptr);
  return security::base64url_encode(body) + "." +
         security::base64url_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

struct Parts {
  std::string body;
  std::string mac;
};

Parts split(const std::string& token) {
  const auto dot = token.find('.');
  return {*security::base64url_decode(token.substr(0, dot)), *security::base64url_decode(token.substr(dot + 1))};
}

std::string join(const Parts& parts) {
  return security::base64url_encode(parts.body) + "." + security::base64url_encode(parts.mac);
}

std::string why_refused(const RequestStateSeal& seal, std::string_view token) {
  std::string why;
  const auto opened = seal.open(token, kNow, why);
  EXPECT_FALSE(opened.has_value());
  return why;
}

TEST(RequestStateTest, RoundTripsThePayload) {
  const RequestStateSeal seal(kKey);
  const json payload = {{"method", "tools/call"}, {"step", 2}, {"nested", {{"list", {1, "two", nullptr}}}}};
  const std::string token = seal.seal(payload, kNow + 5min);
  EXPECT_EQ(token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."),
            std::string::npos);
  std::string why;
  const auto opened = seal.open(token, kNow, why);
  ASSERT_TRUE(opened.has_value()) << why;
  EXPECT_EQ(*opened, payload);
}

TEST(RequestStateTest, RoundTripsAnEmptyObject) {
  const RequestStateSeal seal(kKey);
  std::string why;
  const auto opened = seal.open(seal.seal(json::object(), kNow + 1s), kNow, why);
  ASSERT_TRUE(opened.has_value()) << why;
  EXPECT_EQ(*opened, json::object());
}

TEST(RequestStateTest, AnyFlippedPayloadByteIsTampered) {
  const RequestStateSeal seal(kKey);
  const std::string token = seal.seal({{"a", "b"}}, kNow + 1min);
  const Parts parts = split(token);
  for (std::size_t i = 0; i < parts.body.size(); ++i) {
    EXPECT_EQ(why_refused(seal, join({flip_byte(parts.body, i), parts.mac})), "tampered") << "byte " << i;
  }
}

TEST(RequestStateTest, AnyFlippedMacByteIsTampered) {
  const RequestStateSeal seal(kKey);
  const std::string token = seal.seal({{"a", "b"}}, kNow + 1min);
  const Parts parts = split(token);
  ASSERT_EQ(parts.mac.size(), 32U);
  for (std::size_t i = 0; i < parts.mac.size(); ++i) {
    EXPECT_EQ(why_refused(seal, join({parts.body, flip_byte(parts.mac, i)})), "tampered") << "byte " << i;
  }
}

TEST(RequestStateTest, ATruncatedOrExtendedMacIsTampered) {
  const RequestStateSeal seal(kKey);
  const Parts parts = split(seal.seal({{"a", "b"}}, kNow + 1min));
  EXPECT_EQ(why_refused(seal, join({parts.body, parts.mac.substr(0, 31)})), "tampered");
  EXPECT_EQ(why_refused(seal, join({parts.body, parts.mac + "x"})), "tampered");
  EXPECT_EQ(why_refused(seal, join({parts.body, ""})), "tampered");
}

TEST(RequestStateTest, NoChangedTokenCharacterIsAccepted) {
  // Some substitutions break the base64url spelling (malformed), the rest the MAC (tampered);
  // none opens.
  const RequestStateSeal seal(kKey);
  const std::string token = seal.seal({{"k", 1}}, kNow + 1min);
  for (std::size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '.') continue;
    std::string changed = token;
    changed[i] = token[i] == 'A' ? 'B' : 'A';
    const std::string why = why_refused(seal, changed);
    EXPECT_TRUE(why == "tampered" || why == "malformed") << "position " << i << ": " << why;
  }
}

TEST(RequestStateTest, AnotherKeysTokenIsTampered) {
  const RequestStateSeal ours(kKey);
  const RequestStateSeal theirs(std::string(32, 'x'));
  EXPECT_EQ(why_refused(ours, theirs.seal({{"a", 1}}, kNow + 1min)), "tampered");
}

TEST(RequestStateTest, ExpiresAtItsExpiryInstant) {
  const RequestStateSeal seal(kKey);
  const std::string token = seal.seal({{"a", 1}}, kNow + 10s);
  std::string why;
  EXPECT_TRUE(seal.open(token, kNow + 10s - 1ms, why).has_value()) << why;
  EXPECT_FALSE(seal.open(token, kNow + 10s, why).has_value());
  EXPECT_EQ(why, "expired");
  EXPECT_FALSE(seal.open(token, kNow + 1h, why).has_value());
  EXPECT_EQ(why, "expired");
  EXPECT_EQ(why_refused(seal, seal.seal({{"a", 1}}, kNow - 1s)), "expired");
}

TEST(RequestStateTest, TheExpiryIsUnderTheMac) {
  // Rewriting "exp" to a later instant is a payload change like any other.
  const RequestStateSeal seal(kKey);
  const Parts parts = split(seal.seal({{"a", 1}}, kNow - 1s));
  json body = json::parse(parts.body);
  body["exp"] = body["exp"].get<std::int64_t>() + 3'600'000;
  EXPECT_EQ(why_refused(seal, join({body.dump(), parts.mac})), "tampered");
}

TEST(RequestStateTest, MalformedTokens) {
  const RequestStateSeal seal(kKey);
  const std::string good = seal.seal({{"a", 1}}, kNow + 1min);
  const auto dot = good.find('.');
  EXPECT_EQ(why_refused(seal, ""), "malformed");
  EXPECT_EQ(why_refused(seal, "no-dot-at-all"), "malformed");
  EXPECT_EQ(why_refused(seal, good.substr(0, dot)), "malformed");
  EXPECT_EQ(why_refused(seal, good + ".extra"), "malformed");
  EXPECT_EQ(why_refused(seal, "." + good.substr(dot + 1)), "malformed");
  EXPECT_EQ(why_refused(seal, good.substr(0, dot) + "=." + good.substr(dot + 1)), "malformed");
  EXPECT_EQ(why_refused(seal, "ab+/." + good.substr(dot + 1)), "malformed");
  EXPECT_EQ(why_refused(seal, good.substr(0, dot) + ".!!!!"), "malformed");
  EXPECT_EQ(why_refused(seal, "A." + good.substr(dot + 1)), "malformed");
}

TEST(RequestStateTest, AuthenticatedButMisshapenBodiesAreMalformed) {
  // Only a MAC-valid body reaches the parser; these need the key to build.
  const RequestStateSeal seal(kKey);
  EXPECT_EQ(why_refused(seal, token_for_body(kKey, "not json {")), "malformed");
  EXPECT_EQ(why_refused(seal, token_for_body(kKey, "[1,2,3]")), "malformed");
  EXPECT_EQ(why_refused(seal, token_for_body(kKey, "\"text\"")), "malformed");
  EXPECT_EQ(why_refused(seal, token_for_body(kKey, R"({"p":{}})")), "malformed");
  EXPECT_EQ(why_refused(seal, token_for_body(kKey, R"({"exp":"soon","p":{}})")), "malformed");
  EXPECT_EQ(why_refused(seal, token_for_body(kKey, R"({"exp":99999999999999})")), "malformed");
  EXPECT_EQ(why_refused(seal, token_for_body(kKey, R"({"exp":99999999999999,"p":[1]})")), "malformed");
  // The same bodies without the key are tampered: nothing unauthenticated is parsed.
  EXPECT_EQ(why_refused(seal, token_for_body(std::string(32, 'z'), "not json {")), "tampered");
  // And a hand-built body of the right shape does open, so the helper matches seal().
  std::string why;
  const auto opened = seal.open(token_for_body(kKey, R"({"exp":99999999999999,"p":{"x":1}})"), kNow, why);
  ASSERT_TRUE(opened.has_value()) << why;
  EXPECT_EQ(*opened, (json{{"x", 1}}));
}

TEST(RequestStateTest, TooLargeIsRefusedBeforeDecoding) {
  const RequestStateSeal seal(kKey);
  EXPECT_EQ(why_refused(seal, std::string(kMaxStateBytes + 1, 'A')), "too large");
  EXPECT_EQ(why_refused(seal, std::string(kMaxStateBytes + 1, '.')), "too large");
  // At the cap a token is judged on its content instead.
  EXPECT_EQ(why_refused(seal, std::string(kMaxStateBytes, 'A')), "malformed");
}

TEST(RequestStateTest, SealRefusesWhatOpenWouldRefuse) {
  const RequestStateSeal seal(kKey);
  EXPECT_THROW((void)seal.seal(json::array({1}), kNow), std::invalid_argument);
  EXPECT_THROW((void)seal.seal(json("s"), kNow), std::invalid_argument);
  EXPECT_THROW((void)seal.seal({{"blob", std::string(kMaxStateBytes, 'x')}}, kNow + 1min), std::length_error);
  // Just under the cap after encoding still seals and opens.
  const std::string token = seal.seal({{"blob", std::string(48'000, 'x')}}, kNow + 1min);
  EXPECT_LE(token.size(), kMaxStateBytes);
  std::string why;
  EXPECT_TRUE(seal.open(token, kNow, why).has_value()) << why;
}

TEST(RequestStateTest, ShortKeysAreRefused) {
  EXPECT_THROW(RequestStateSeal(std::string(31, 'k')), std::invalid_argument);
  EXPECT_THROW(RequestStateSeal(std::string()), std::invalid_argument);
  EXPECT_NO_THROW(RequestStateSeal(std::string(64, 'k')));
}

TEST(RequestStateTest, GeneratedKeysAre32FreshBytes) {
  const std::string first = RequestStateSeal::generate_key();
  const std::string second = RequestStateSeal::generate_key();
  EXPECT_EQ(first.size(), 32U);
  EXPECT_EQ(second.size(), 32U);
  EXPECT_NE(first, second);
  const RequestStateSeal a(first);
  const RequestStateSeal b(second);
  EXPECT_EQ(why_refused(b, a.seal({{"a", 1}}, kNow + 1min)), "tampered");
}

class RequestStateKeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("graceway-request-state-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& contents) {
    const auto path = dir_ / name;
    std::ofstream(path, std::ios::binary) << contents;
    return path.string();
  }

  std::filesystem::path dir_;
};

constexpr std::string_view kHexKey = "00112233445566778899aabbccddeeffFFEEDDCCBBAA99887766554433221100";

TEST_F(RequestStateKeyFileTest, LoadsSixtyFourHexCharactersIgnoringSurroundingWhitespace) {
  std::string why;
  const auto key = RequestStateSeal::load_key(write("key", "  \t" + std::string(kHexKey) + "\r\n\n"), why);
  ASSERT_TRUE(key.has_value()) << why;
  ASSERT_EQ(key->size(), 32U);
  EXPECT_EQ(static_cast<unsigned char>((*key)[0]), 0x00);
  EXPECT_EQ(static_cast<unsigned char>((*key)[1]), 0x11);
  EXPECT_EQ(static_cast<unsigned char>((*key)[15]), 0xff);
  EXPECT_EQ(static_cast<unsigned char>((*key)[16]), 0xff);
  EXPECT_EQ(static_cast<unsigned char>((*key)[31]), 0x00);
  EXPECT_NO_THROW(RequestStateSeal{*key});
}

TEST_F(RequestStateKeyFileTest, RefusesAShortKey) {
  std::string why;
  EXPECT_FALSE(RequestStateSeal::load_key(write("key", std::string(kHexKey.substr(0, 62)) + "\n"), why).has_value());
  EXPECT_NE(why.find("64 hex characters"), std::string::npos) << why;
  EXPECT_NE(why.find("62"), std::string::npos) << why;
}

TEST_F(RequestStateKeyFileTest, RefusesALongKeyAndAnEmptyFile) {
  std::string why;
  EXPECT_FALSE(RequestStateSeal::load_key(write("long", std::string(kHexKey) + "00"), why).has_value());
  EXPECT_NE(why.find("64 hex characters"), std::string::npos) << why;
  EXPECT_FALSE(RequestStateSeal::load_key(write("empty", ""), why).has_value());
  EXPECT_NE(why.find("found 0"), std::string::npos) << why;
  EXPECT_FALSE(RequestStateSeal::load_key(write("huge", std::string(100'000, 'a')), why).has_value());
  EXPECT_NE(why.find("found more"), std::string::npos) << why;
  // Inner whitespace is not surrounding whitespace.
  const std::string split = std::string(kHexKey.substr(0, 32)) + "\n" + std::string(kHexKey.substr(32));
  EXPECT_FALSE(RequestStateSeal::load_key(write("split", split), why).has_value());
}

TEST_F(RequestStateKeyFileTest, RefusesNonHexWithoutQuotingTheKey) {
  std::string contents(kHexKey);
  contents[40] = 'g';
  std::string why;
  EXPECT_FALSE(RequestStateSeal::load_key(write("key", contents), why).has_value());
  EXPECT_NE(why.find("not hexadecimal"), std::string::npos) << why;
  EXPECT_EQ(why.find(contents), std::string::npos) << why;
  EXPECT_EQ(why.find(kHexKey.substr(0, 16)), std::string::npos) << why;
}

TEST_F(RequestStateKeyFileTest, RefusesAMissingFile) {
  std::string why;
  const std::string path = (dir_ / "absent").string();
  EXPECT_FALSE(RequestStateSeal::load_key(path, why).has_value());
  EXPECT_NE(why.find("cannot read"), std::string::npos) << why;
  EXPECT_NE(why.find(path), std::string::npos) << why;
}

}  // namespace
}  // namespace graceway::mcp
