#include "transport/error_mapping.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace graceway {
namespace {

TEST(ErrorMappingTest, StatusesFollowTheChecklist) {
  EXPECT_EQ(mapping_of(errc::parse_error).http_status, 400);
  EXPECT_EQ(mapping_of(errc::parse_error).jsonrpc_code, -32700);
  EXPECT_EQ(mapping_of(errc::invalid_request).jsonrpc_code, -32600);
  EXPECT_EQ(mapping_of(errc::method_not_found).jsonrpc_code, -32601);
  EXPECT_EQ(mapping_of(errc::invalid_params).jsonrpc_code, -32602);
  EXPECT_EQ(mapping_of(errc::session_required).http_status, 400);
  EXPECT_EQ(mapping_of(errc::session_not_found).http_status, 404);
  EXPECT_EQ(mapping_of(errc::session_terminated).http_status, 404);
  EXPECT_EQ(mapping_of(errc::session_draining).http_status, 503);
  EXPECT_EQ(mapping_of(errc::server_draining).http_status, 503);
  EXPECT_EQ(mapping_of(errc::too_many_sessions).http_status, 503);
  EXPECT_EQ(mapping_of(errc::unsupported_protocol_version).http_status, 400);
  EXPECT_EQ(mapping_of(errc::forbidden_origin).http_status, 403);
  EXPECT_EQ(mapping_of(errc::forbidden_host).http_status, 403);
  EXPECT_EQ(mapping_of(errc::forbidden_host).jsonrpc_code, -32000);
  EXPECT_EQ(mapping_of(errc::not_acceptable).http_status, 406);
  EXPECT_EQ(mapping_of(errc::unsupported_media_type).http_status, 415);
  EXPECT_EQ(mapping_of(errc::payload_too_large).http_status, 413);
  EXPECT_EQ(mapping_of(errc::method_not_allowed).http_status, 405);
  EXPECT_EQ(mapping_of(errc::stream_conflict).http_status, 409);
}

TEST(ErrorMappingTest, BodiesCarryTheIdAndDetail) {
  const auto body = error_response(errc::invalid_params, jsonrpc::RequestId{std::string("x")}, "unknown tool 'z'");
  EXPECT_EQ(body["id"], "x");
  EXPECT_EQ(body["error"]["code"], -32602);
  EXPECT_EQ(body["error"]["message"], "Invalid params: unknown tool 'z'");
  EXPECT_TRUE(error_response(errc::parse_error, std::nullopt)["id"].is_null());
}

TEST(ErrorMappingTest, ErrorCodesHaveMessages) {
  const std::error_code ec = errc::session_not_found;
  EXPECT_EQ(ec.category().name(), std::string("graceway"));
  EXPECT_EQ(ec.message(), "session not found");
  // Every code has its own message, distinct from the fallback and from each other.
  std::set<std::string> seen;
  for (int v = static_cast<int>(errc::parse_error); v <= static_cast<int>(errc::rate_limited); ++v) {
    const auto message = make_error_code(static_cast<errc>(v)).message();
    EXPECT_NE(message, "unknown graceway error") << v;
    EXPECT_TRUE(seen.insert(message).second) << "duplicate message " << message;
  }
  EXPECT_EQ(make_error_code(static_cast<errc>(0)).message(), "unknown graceway error");
}

}  // namespace
}  // namespace graceway
