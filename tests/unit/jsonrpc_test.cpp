#include "graceway/jsonrpc.hpp"

#include <gtest/gtest.h>

namespace graceway::jsonrpc {
namespace {

Message one(std::string_view body) {
  auto d = decode(body);
  EXPECT_FALSE(d.fatal) << body;
  EXPECT_EQ(d.items.size(), 1U) << body;
  return d.items.empty() ? Message{} : d.items.front();
}

TEST(JsonRpcTest, ClassifiesRequestsNotificationsAndResponses) {
  auto r = one(R"({"jsonrpc":"2.0","id":1,"method":"ping"})");
  EXPECT_EQ(r.kind, Kind::request);
  EXPECT_EQ(std::get<std::int64_t>(*r.id), 1);
  EXPECT_EQ(r.method, "ping");
  EXPECT_TRUE(r.params.is_null());

  auto s = one(R"({"jsonrpc":"2.0","id":"abc","method":"tools/list","params":{}})");
  EXPECT_EQ(s.kind, Kind::request);
  EXPECT_EQ(std::get<std::string>(*s.id), "abc");

  EXPECT_EQ(one(R"({"jsonrpc":"2.0","method":"notifications/initialized"})").kind, Kind::notification);
  EXPECT_EQ(one(R"({"jsonrpc":"2.0","id":5,"result":{}})").kind, Kind::response);
  EXPECT_EQ(one(R"({"jsonrpc":"2.0","id":5,"error":{"code":-1,"message":"x"}})").kind, Kind::error_response);
  EXPECT_EQ(one(R"({"jsonrpc":"2.0","id":null,"error":{"code":-1,"message":"x"}})").kind, Kind::error_response);
}

TEST(JsonRpcTest, RejectsWhatMcpForbids) {
  auto null_id = one(R"({"jsonrpc":"2.0","id":null,"method":"tools/list"})");
  EXPECT_EQ(null_id.kind, Kind::invalid);
  EXPECT_EQ(null_id.problem, errc::invalid_request);
  EXPECT_FALSE(null_id.id);

  EXPECT_EQ(one(R"({"jsonrpc":"2.0","id":1.5,"method":"x"})").kind, Kind::invalid);
  EXPECT_EQ(one(R"({"jsonrpc":"2.0","id":true,"method":"x"})").kind, Kind::invalid);
  EXPECT_EQ(one(R"({"jsonrpc":"1.0","id":1,"method":"x"})").kind, Kind::invalid);
  EXPECT_EQ(one(R"({"id":1,"method":"x"})").kind, Kind::invalid);
  EXPECT_EQ(one(R"({"jsonrpc":"2.0","id":1,"method":7})").kind, Kind::invalid);
  EXPECT_EQ(one(R"({"jsonrpc":"2.0","id":1,"method":"x","params":3})").kind, Kind::invalid);
  EXPECT_EQ(one(R"({"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1}})").kind, Kind::invalid);
  EXPECT_EQ(one(R"({"jsonrpc":"2.0","result":{}})").kind, Kind::invalid);
  EXPECT_EQ(one(R"({"jsonrpc":"2.0","id":1,"error":{"message":"no code"}})").kind, Kind::invalid);

  // The id is kept when it could be read, so the error can name it.
  auto bad_version = one(R"({"jsonrpc":"1.0","id":"k","method":"x"})");
  ASSERT_TRUE(bad_version.id);
  EXPECT_EQ(std::get<std::string>(*bad_version.id), "k");
}

TEST(JsonRpcTest, FatalBodies) {
  EXPECT_EQ(decode("{bad json").fatal->problem, errc::parse_error);
  EXPECT_EQ(decode("").fatal->problem, errc::parse_error);
  EXPECT_EQ(decode("[]").fatal->problem, errc::invalid_request);
  EXPECT_EQ(decode("42").fatal->problem, errc::invalid_request);
  EXPECT_EQ(decode("\"text\"").fatal->problem, errc::invalid_request);
}

TEST(JsonRpcTest, BatchesKeepEveryElement) {
  auto d = decode(R"([{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","method":"n"},7])");
  EXPECT_FALSE(d.fatal);
  EXPECT_TRUE(d.batch);
  ASSERT_EQ(d.items.size(), 3U);
  EXPECT_EQ(d.items[0].kind, Kind::request);
  EXPECT_EQ(d.items[1].kind, Kind::notification);
  EXPECT_EQ(d.items[2].kind, Kind::invalid);
}

TEST(JsonRpcTest, KeysKeepNumbersAndStringsApart) {
  EXPECT_NE(key_of(RequestId{std::int64_t{5}}), key_of(RequestId{std::string("5")}));
  EXPECT_EQ(key_of(RequestId{std::int64_t{5}}), key_of(*id_from_json(5)));
  EXPECT_FALSE(id_from_json(nlohmann::json(18446744073709551615ULL)));
}

TEST(JsonRpcTest, DepthIsMeasuredOutsideStrings) {
  EXPECT_FALSE(nests_deeper_than(R"({"a":[1,{"b":2}]})", 3));
  EXPECT_TRUE(nests_deeper_than(R"({"a":[1,{"b":2}]})", 2));
  EXPECT_FALSE(nests_deeper_than(R"({"a":"[[[[[[{{{{"})", 1)) << "brackets inside strings do not count";
  EXPECT_FALSE(nests_deeper_than(R"({"a":"\"[[[["})", 1)) << "an escaped quote does not end the string";
  EXPECT_TRUE(nests_deeper_than(std::string(100, '['), 64));
}

TEST(JsonRpcTest, DeepBodiesAreRefusedBeforeParsing) {
  const std::string deep = R"({"jsonrpc":"2.0","id":1,"method":"x","params":{"v":)" + std::string(1'000'000, '[') +
                           std::string(1'000'000, ']') + "}}";
  const auto d = decode(deep);
  ASSERT_TRUE(d.fatal);
  EXPECT_EQ(d.fatal->problem, errc::invalid_request);
  std::string ok = R"({"jsonrpc":"2.0","id":1,"method":"x","params":{"v":)" + std::string(60, '[') + std::string(60, ']') + "}}";
  EXPECT_FALSE(decode(ok).fatal);
}

TEST(JsonRpcTest, StringMemberNeverThrows) {
  EXPECT_EQ(string_member({{"name", "x"}}, "name"), "x");
  EXPECT_FALSE(string_member({{"name", 5}}, "name"));
  EXPECT_FALSE(string_member(nlohmann::json::array(), "name"));
  EXPECT_FALSE(string_member(nullptr, "name"));
}

TEST(JsonRpcTest, BuildersAndSerialisation) {
  EXPECT_EQ(serialize(make_result(RequestId{std::int64_t{1}}, {{"a", 1}})), R"({"id":1,"jsonrpc":"2.0","result":{"a":1}})");
  EXPECT_EQ(serialize(make_error(std::nullopt, -32700, "Parse error")),
            R"({"error":{"code":-32700,"message":"Parse error"},"id":null,"jsonrpc":"2.0"})");
  EXPECT_EQ(serialize(make_notification("n", nullptr)), R"({"jsonrpc":"2.0","method":"n"})");
  // Invalid UTF-8 never throws.
  const std::string bad = "\xff\xfe";
  EXPECT_FALSE(serialize(nlohmann::json(bad)).empty());
}

}  // namespace
}  // namespace graceway::jsonrpc
