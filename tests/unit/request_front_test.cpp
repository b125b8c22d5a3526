#include "transport/request_front.hpp"

#include <gtest/gtest.h>

namespace graceway::front {
namespace {

using Format = ReplyStream::Format;
constexpr std::string_view kPing = R"({"jsonrpc":"2.0","id":7,"method":"ping"})";

Headers mcp_headers() {
  return {.content_type = "application/json",
          .accept = "application/json, text/event-stream",
          .origin = std::nullopt,
          .host = "localhost:8080",
          .protocol_version = std::nullopt,
          .session_id = std::nullopt,
          .last_event_id = std::nullopt};
}

TEST(RequestFrontTest, AWellFormedRequestPassesWithTheConfiguredFormat) {
  Policy policy;
  auto post = read_post(mcp_headers(), kPing, policy);
  ASSERT_FALSE(post.refusal.has_value());
  EXPECT_EQ(post.format, Format::sse);
  EXPECT_EQ(post.body, admission::Body::request);
  ASSERT_TRUE(post.request_id.has_value());
  EXPECT_EQ(jsonrpc::key_of(*post.request_id), jsonrpc::key_of(jsonrpc::RequestId{std::int64_t{7}}));
  policy.response_mode = ResponseMode::json;
  EXPECT_EQ(read_post(mcp_headers(), kPing, policy).format, Format::json);
}

TEST(RequestFrontTest, TheFormatFollowsWhatTheClientAccepts) {
  auto h = mcp_headers();
  h.accept = "application/json";
  EXPECT_EQ(read_post(h, kPing, {}).format, Format::json);
  h.accept = "text/event-stream";
  Policy json_mode;
  json_mode.response_mode = ResponseMode::json;
  EXPECT_EQ(read_post(h, kPing, json_mode).format, Format::sse);
  h.accept = "image/png";
  EXPECT_EQ(read_post(h, kPing, {}).refusal->code, errc::not_acceptable);
}

TEST(RequestFrontTest, ChecksRunInTheOrderTheTransportAnswersThem) {
  auto h = mcp_headers();
  h.origin = "https://evil.example";
  h.content_type = "text/plain";
  EXPECT_EQ(read_post(h, "not json", {}).refusal->code, errc::forbidden_origin) << "Origin first";
  h.origin = "http://localhost:6274";
  EXPECT_EQ(read_post(h, "not json", {}).refusal->code, errc::unsupported_media_type);
  h.content_type = std::nullopt;
  EXPECT_EQ(read_post(h, kPing, {}).refusal->code, errc::unsupported_media_type) << "absent Content-Type";
  h.content_type = "application/json; charset=utf-8";
  EXPECT_EQ(read_post(h, "not json", {}).refusal->code, errc::parse_error);
}

TEST(RequestFrontTest, BodyProblemsCarryTheIdWhenOneCanBeRead) {
  auto post = read_post(mcp_headers(), R"({"jsonrpc":"2.0","id":"a","method":5})", {});
  ASSERT_TRUE(post.refusal.has_value());
  EXPECT_EQ(post.refusal->code, errc::invalid_request);
  ASSERT_TRUE(post.refusal->id.has_value());
  EXPECT_EQ(std::get<std::string>(*post.refusal->id), "a");
}

TEST(RequestFrontTest, ABatchedInitializeIsRefused) {
  auto post = read_post(mcp_headers(), R"([{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}])", {});
  ASSERT_TRUE(post.refusal.has_value());
  EXPECT_EQ(post.refusal->code, errc::batched_initialize);
}

TEST(RequestFrontTest, ClassifiesTheBodyForTheAdmissionTable) {
  auto kind = [](std::string_view body) { return read_post(mcp_headers(), body, {}).body; };
  EXPECT_EQ(kind(R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{}})"), admission::Body::initialize);
  EXPECT_EQ(kind(R"({"jsonrpc":"2.0","method":"notifications/initialized"})"),
            admission::Body::notification_or_response);
  EXPECT_EQ(kind(R"([{"jsonrpc":"2.0","method":"n"},{"jsonrpc":"2.0","id":2,"method":"ping"}])"),
            admission::Body::request);
  EXPECT_FALSE(read_post(mcp_headers(), R"([{"jsonrpc":"2.0","id":2,"method":"ping"}])", {}).request_id)
      << "a batch has no single id";
}

TEST(RequestFrontTest, GetNeedsAnEventStream) {
  auto h = mcp_headers();
  EXPECT_FALSE(check_get(h, {}).has_value());
  h.accept = "application/json";
  EXPECT_EQ(check_get(h, {})->code, errc::not_acceptable);
  h.accept = std::nullopt;
  EXPECT_FALSE(check_get(h, {}).has_value()) << "no Accept takes anything";
}

TEST(RequestFrontTest, OriginFollowsThePolicy) {
  Headers h;
  h.origin = "https://app.example";
  Policy policy;
  EXPECT_EQ(check_origin(h, policy)->code, errc::forbidden_origin);
  policy.allowed_origins = {"https://app.example"};
  EXPECT_FALSE(check_origin(h, policy).has_value());
  h.origin = "http://localhost:1";
  policy.loopback_bound = false;
  EXPECT_TRUE(check_origin(h, policy).has_value()) << "localhost is allowed only when bound to loopback";
  policy.loopback_bound = true;
  EXPECT_TRUE(check_origin(h, policy).has_value()) << "an explicit list replaces the localhost default";
  policy.allowed_origins = {"*"};
  EXPECT_FALSE(check_origin(h, policy).has_value());
}

TEST(RequestFrontTest, HostFollowsThePolicyAndComesFirst) {
  auto h = mcp_headers();
  h.host = "evil.example.com";
  h.origin = "https://evil.example.com";
  Policy policy;
  EXPECT_EQ(read_post(h, kPing, policy).refusal->code, errc::forbidden_host) << "Host before Origin";
  EXPECT_EQ(check_get(h, policy)->code, errc::forbidden_host);
  EXPECT_EQ(check_caller(h, policy)->code, errc::forbidden_host);
  h.origin = std::nullopt;
  EXPECT_EQ(check_caller(h, policy)->code, errc::forbidden_host) << "a forged Host alone is refused";
  h.host = std::nullopt;
  EXPECT_EQ(check_caller(h, policy)->code, errc::forbidden_host) << "no Host on a loopback bind";
  policy.loopback_bound = false;
  EXPECT_FALSE(check_caller(h, policy).has_value()) << "elsewhere any Host, and none, is allowed";
  h.host = "evil.example.com";
  EXPECT_FALSE(check_caller(h, policy).has_value());
  policy.allowed_hosts = {"mcp.example.com"};
  EXPECT_EQ(check_caller(h, policy)->code, errc::forbidden_host);
  h.host = "MCP.example.com:443";
  EXPECT_FALSE(check_caller(h, policy).has_value());
}

TEST(RequestFrontTest, PolicyFromConfigDropsEmptyEntries) {
  ServerConfig config;
  config.allowed_hosts = {""};
  config.allowed_origins = {"", "https://app.example"};
  const auto policy = Policy::from(config);
  EXPECT_TRUE(policy.allowed_hosts.empty()) << "--allowed-hosts '' keeps the default";
  EXPECT_EQ(policy.allowed_origins, std::vector<std::string>{"https://app.example"});
  EXPECT_TRUE(policy.loopback_bound);
  EXPECT_EQ(policy.bound_host, "127.0.0.1");
}

TEST(RequestFrontTest, AllInvalidBatchesNeedAnAnswer) {
  auto kind = [](std::string_view body) { return read_post(mcp_headers(), body, {}).body; };
  EXPECT_EQ(kind("[1]"), admission::Body::request);
  EXPECT_EQ(kind("[1,2]"), admission::Body::request);
  EXPECT_EQ(kind(R"([{"jsonrpc":"2.0","method":"n"},42])"), admission::Body::request);
  EXPECT_EQ(kind(R"([{"jsonrpc":"2.0","method":"n"}])"), admission::Body::notification_or_response);
}

TEST(RequestFrontTest, ProtocolVersion) {
  Headers h;
  EXPECT_FALSE(check_protocol_version(h, std::nullopt).has_value()) << "absent: the negotiated version";
  h.protocol_version = "2025-06-18";
  EXPECT_FALSE(check_protocol_version(h, std::nullopt).has_value());
  h.protocol_version = "1999-01-01";
  auto refusal = check_protocol_version(h, jsonrpc::RequestId{std::int64_t{3}});
  ASSERT_TRUE(refusal.has_value());
  EXPECT_EQ(refusal->code, errc::unsupported_protocol_version);
  EXPECT_EQ(refusal->data["requested"], "1999-01-01");
  EXPECT_TRUE(refusal->id.has_value());
}

}  // namespace
}  // namespace graceway::front
