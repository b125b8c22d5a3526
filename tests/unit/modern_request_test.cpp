#include "mcp/modern_request.hpp"

#include <array>

#include <gtest/gtest.h>

namespace graceway::mcp::modern {
namespace {

using json = nlohmann::json;

constexpr std::string_view kModern = "2026-07-28";
constexpr std::array<std::string_view, 1> kServed = {"2026-07-28"};
constexpr std::array<std::string_view, 2> kLegacy = {"2025-11-25", "2025-06-18"};

json envelope_meta(std::string_view version = kModern) {
  return {{std::string(kMetaProtocolVersion), version}, {std::string(kMetaClientCapabilities), json::object()}};
}

jsonrpc::Message request(std::string_view method, json params) {
  return jsonrpc::classify({{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", std::move(params)}});
}

jsonrpc::Message modern_request(std::string_view method, json params = json::object(),
                                std::string_view version = kModern) {
  params["_meta"] = envelope_meta(version);
  return request(method, std::move(params));
}

RoutingHeaders routing(std::string_view method, std::string_view version = kModern) {
  RoutingHeaders h;
  h.protocol_version = version;
  h.method = method;
  return h;
}

FrontResult front(const jsonrpc::Message& m, const RoutingHeaders& h, bool tolerate = false) {
  return check_front(m, h, kServed, tolerate, kLegacy);
}

void expect_problem(const FrontResult& r, errc code, std::string_view detail_part = {}) {
  ASSERT_TRUE(r.problem.has_value()) << "expected a refusal";
  EXPECT_EQ(r.problem->code, code) << r.problem->detail;
  EXPECT_NE(r.problem->detail.find(detail_part), std::string::npos)
      << "detail: " << r.problem->detail << "\nexpected to contain: " << detail_part;
}

void expect_passes(const FrontResult& r) {
  EXPECT_FALSE(r.problem.has_value()) << r.problem->detail;
}

// --- claims_modern ---------------------------------------------------------------------------

TEST(ModernClaimTest, TheVersionKeyInMetaIsAClaimWhateverItsValue) {
  EXPECT_TRUE(claims_modern(modern_request("tools/list")));
  for (const json& value : {json("v999"), json(7), json(nullptr), json::object()}) {
    EXPECT_TRUE(claims_modern(request("tools/list", {{"_meta", {{std::string(kMetaProtocolVersion), value}}}})))
        << value.dump();
  }
}

TEST(ModernClaimTest, NoClaimWithoutTheKeyInAnObjectMeta) {
  EXPECT_FALSE(claims_modern(request("tools/list", nullptr)));
  EXPECT_FALSE(claims_modern(request("tools/list", json::array({1}))));
  EXPECT_FALSE(claims_modern(request("tools/list", json::object())));
  EXPECT_FALSE(claims_modern(request("tools/list", {{"_meta", "io.modelcontextprotocol/protocolVersion"}})));
  EXPECT_FALSE(claims_modern(request("tools/list", {{"_meta", {{"progressToken", 1}}}})));
  // Only under _meta: a top-level params member of that name is not a claim.
  EXPECT_FALSE(claims_modern(request("initialize", {{std::string(kMetaProtocolVersion), "2026-07-28"}})));
}

// --- decode_header_value -----------------------------------------------------------------------

TEST(HeaderValueTest, APlainValueIsItself) {
  EXPECT_EQ(decode_header_value("echo"), "echo");
  EXPECT_EQ(decode_header_value("file:///tmp/a%20b.txt"), "file:///tmp/a%20b.txt");
  EXPECT_EQ(decode_header_value("my tool"), "my tool");  // interior spaces are part of the value
  EXPECT_EQ(decode_header_value(""), "");
}

TEST(HeaderValueTest, OptionalWhitespaceAroundTheValueIsStripped) {
  EXPECT_EQ(decode_header_value("  name  "), "name");
  EXPECT_EQ(decode_header_value("\tname\t"), "name");
  EXPECT_EQ(decode_header_value(" \t name \t "), "name");
  EXPECT_EQ(decode_header_value("  =?base64?SGVsbG8=?=\t"), "Hello");
}

TEST(HeaderValueTest, TheBase64FormIsDecoded) {
  EXPECT_EQ(decode_header_value("=?base64?SGVsbG8=?="), "Hello");
  EXPECT_EQ(decode_header_value("=?base64?Y2Fmw6k=?="), "caf\xc3\xa9");       // non-ASCII UTF-8
  EXPECT_EQ(decode_header_value("=?base64?YQpi?="), "a\nb");                  // control characters, once encoded
  EXPECT_EQ(decode_header_value("=?base64?ICBwYWRkZWQgIA==?="), "  padded  ");  // whitespace kept
  EXPECT_EQ(decode_header_value("=?base64?Pz0=?="), "?=");
  EXPECT_EQ(decode_header_value("=?base64?" "?="), "");  // split: "??=" would be a trigraph
  EXPECT_EQ(decode_header_value("=?base64?YWI/Pz4+?="), "ab?" "?>>");  // '/' and '+' are in the alphabet
}

TEST(HeaderValueTest, Base64WithoutItsPaddingIsRefused) {
  EXPECT_EQ(decode_header_value("=?base64?SGVsbG8?="), std::nullopt);
  EXPECT_NE(header_value_problem("=?base64?SGVsbG8?=").find("padding"), std::string::npos);
  EXPECT_EQ(decode_header_value("=?base64?QQ?="), std::nullopt);
  EXPECT_EQ(decode_header_value("=?base64?QQ=?="), std::nullopt);
}

TEST(HeaderValueTest, Base64OutsideTheStandardAlphabetIsRefused) {
  EXPECT_EQ(decode_header_value("=?base64?SGVs!!!bG8=?="), std::nullopt);
  EXPECT_NE(header_value_problem("=?base64?SGVs!!!bG8=?=").find("alphabet"), std::string::npos);
  EXPECT_EQ(decode_header_value("=?base64?YWI_Pz4-?="), std::nullopt);   // base64url's '-' and '_'
  EXPECT_EQ(decode_header_value("=?base64?SG=sbG8=?="), std::nullopt);   // '=' before the end
  EXPECT_EQ(decode_header_value("=?base64?S===?="), std::nullopt);       // three '='
  EXPECT_EQ(decode_header_value("=?base64?SGVs bG8=?="), std::nullopt);  // interior space
  EXPECT_NE(header_value_problem("=?base64?SG=sbG8=?=").find("before the end"), std::string::npos);
  EXPECT_NE(header_value_problem("=?base64?S===?=").find("3 '='"), std::string::npos);
  EXPECT_EQ(decode_header_value("=?base64?====?="), std::nullopt);
}

TEST(HeaderValueTest, NonCanonicalBase64IsRefused) {
  EXPECT_EQ(decode_header_value("=?base64?QQ==?="), "A");
  EXPECT_EQ(decode_header_value("=?base64?QR==?="), std::nullopt);
  EXPECT_EQ(decode_header_value("=?base64?SGVsbG9=?="), std::nullopt);
  EXPECT_NE(header_value_problem("=?base64?QR==?=").find("canonical"), std::string::npos);
}

TEST(HeaderValueTest, Base64OfInvalidUtf8IsRefused) {
  EXPECT_EQ(decode_header_value("=?base64?//4=?="), std::nullopt);  // ff fe
  EXPECT_EQ(decode_header_value("=?base64?wK8=?="), std::nullopt);  // overlong '/'
  EXPECT_EQ(decode_header_value("=?base64?7aCA?="), std::nullopt);  // a UTF-16 surrogate
  EXPECT_EQ(decode_header_value("=?base64?w6?="), std::nullopt);
  EXPECT_EQ(decode_header_value("=?base64?9JCAgA==?="), std::nullopt);  // above U+10FFFF
  EXPECT_EQ(decode_header_value("=?base64?8J+YgA==?="), "\xf0\x9f\x98\x80");
  EXPECT_NE(header_value_problem("=?base64?//4=?=").find("UTF-8"), std::string::npos);
}

TEST(HeaderValueTest, OneMarkerAloneMakesALiteral) {
  EXPECT_EQ(decode_header_value("=?base64?SGVsbG8="), "=?base64?SGVsbG8=");
  EXPECT_EQ(decode_header_value("SGVsbG8=?="), "SGVsbG8=?=");
  EXPECT_EQ(decode_header_value("=?BASE64?SGVsbG8=?="), "=?BASE64?SGVsbG8=?=");  // markers are lowercase
  EXPECT_EQ(decode_header_value("=?base64?="), "=?base64?=");                    // the markers overlap
}

TEST(HeaderValueTest, ControlCharactersAndRawNonAsciiAreRefused) {
  for (const std::string& value : {std::string("a\rb"), std::string("a\nb"), std::string("a\0b", 3),
                                  std::string("a\x01"), std::string("a\x7f"), std::string("a\tb")}) {
    EXPECT_EQ(decode_header_value(value), std::nullopt) << json(value).dump();
    EXPECT_NE(header_value_problem(value).find("control"), std::string::npos);
  }
  EXPECT_EQ(decode_header_value("caf\xc3\xa9"), std::nullopt);
  EXPECT_NE(header_value_problem("caf\xc3\xa9").find("ASCII"), std::string::npos);
  EXPECT_EQ(header_value_problem("fine"), "");
}

TEST(HeaderValueTest, EncodingRoundTripsAndLeavesPlainValuesAlone) {
  EXPECT_EQ(encode_header_value("echo"), "echo");
  EXPECT_EQ(encode_header_value("my tool"), "my tool");
  EXPECT_EQ(encode_header_value("Hello "), "=?base64?SGVsbG8g?=");
  for (const std::string& value : {std::string(" lead"), std::string("trail "), std::string("caf\xc3\xa9"),
                                  std::string("a\nb"), std::string("=?base64?SGVsbG8=?="), std::string("x"),
                                  std::string("xy"), std::string("xyz"), std::string("wxyz")}) {
    const std::string encoded = encode_header_value(value);
    EXPECT_EQ(decode_header_value(encoded), value) << encoded;
  }
  EXPECT_TRUE(encode_header_value("=?base64?SGVsbG8=?=").starts_with(kBase64Prefix));
}

// --- check_front: the envelope rung ------------------------------------------------------------

TEST(ModernFrontTest, AWellFormedRequestPassesWithItsEnvelope) {
  auto params = json::object();
  params["_meta"] = envelope_meta();
  params["_meta"][std::string(kMetaClientCapabilities)] = {{"elicitation", json::object()}};
  params["_meta"][std::string(kMetaClientInfo)] = {{"name", "probe"}, {"version", "1.0"}};
  params["_meta"][std::string(kMetaLogLevel)] = "warning";
  const auto r = front(request("tools/list", params), routing("tools/list"));
  expect_passes(r);
  EXPECT_EQ(r.envelope.version, "2026-07-28");
  EXPECT_EQ(r.envelope.client_capabilities, json({{"elicitation", json::object()}}));
  EXPECT_EQ(r.envelope.client_info, json({{"name", "probe"}, {"version", "1.0"}}));
  EXPECT_EQ(r.envelope.log_level, LogLevel::warning);
  EXPECT_FALSE(r.tolerated_legacy_header);
}

TEST(ModernFrontTest, ClientInfoAndLogLevelAreOptional) {
  const auto r = front(modern_request("tools/list"), routing("tools/list"));
  expect_passes(r);
  EXPECT_TRUE(r.envelope.client_info.is_null());
  EXPECT_FALSE(r.envelope.log_level.has_value());
  EXPECT_EQ(r.envelope.client_capabilities, json::object());
}

TEST(ModernFrontTest, AClientInfoThatIsNotAnObjectIsIgnored) {
  auto params = json::object();
  params["_meta"] = envelope_meta();
  params["_meta"][std::string(kMetaClientInfo)] = "probe/1.0";
  const auto r = front(request("tools/list", params), routing("tools/list"));
  expect_passes(r);
  EXPECT_TRUE(r.envelope.client_info.is_null());
}

TEST(ModernFrontTest, ParamsAndMetaMustBeObjects) {
  expect_problem(front(request("tools/list", nullptr), routing("tools/list")), errc::invalid_meta, "no params");
  expect_problem(front(request("tools/list", json::array()), routing("tools/list")), errc::invalid_meta, "array");
  expect_problem(front(request("tools/list", json::object()), routing("tools/list")), errc::invalid_meta, "no _meta");
  expect_problem(front(request("tools/list", {{"_meta", 5}}), routing("tools/list")), errc::invalid_meta,
                 "params._meta is number");
}

TEST(ModernFrontTest, AMissingOrNonStringVersionIsNamed) {
  json meta = envelope_meta();
  meta.erase(std::string(kMetaProtocolVersion));
  expect_problem(front(request("tools/list", {{"_meta", meta}}), routing("tools/list")), errc::invalid_meta,
                 "has no \"io.modelcontextprotocol/protocolVersion\"");
  meta[std::string(kMetaProtocolVersion)] = 20260728;
  expect_problem(front(request("tools/list", {{"_meta", meta}}), routing("tools/list")), errc::invalid_meta,
                 "not a string");
}

TEST(ModernFrontTest, MissingOrNonObjectCapabilitiesAreNamed) {
  json meta = envelope_meta();
  meta.erase(std::string(kMetaClientCapabilities));
  const auto r = front(request("tools/list", {{"_meta", meta}}), routing("tools/list"));
  expect_problem(r, errc::invalid_meta, "has no \"io.modelcontextprotocol/clientCapabilities\"");
  EXPECT_TRUE(r.problem->data.is_null());
  meta[std::string(kMetaClientCapabilities)] = json::array();
  expect_problem(front(request("tools/list", {{"_meta", meta}}), routing("tools/list")), errc::invalid_meta,
                 "not an object");
}

TEST(ModernFrontTest, AnInvalidLogLevelIsRefused) {
  for (const json& level : {json("verbose"), json("WARNING"), json(3), json(nullptr)}) {
    json meta = envelope_meta();
    meta[std::string(kMetaLogLevel)] = level;
    expect_problem(front(request("tools/list", {{"_meta", meta}}), routing("tools/list")), errc::invalid_meta,
                   "must be one of debug, info");
  }
}

TEST(ModernFrontTest, TheEnvelopeRungComesBeforeEveryHeaderRung) {
  RoutingHeaders none;
  none.repeated = true;
  expect_problem(front(request("tools/list", json::object()), none), errc::invalid_meta);
  expect_problem(front(request("tools/list", {{"_meta", {{std::string(kMetaProtocolVersion), "v999"}}}}), none),
                 errc::invalid_meta, "clientCapabilities");
}

// --- check_front: MCP-Protocol-Version ---------------------------------------------------------

TEST(ModernFrontTest, AMissingVersionHeaderIsAMismatch) {
  RoutingHeaders h = routing("tools/list");
  h.protocol_version.reset();
  const auto r = front(modern_request("tools/list"), h);
  expect_problem(r, errc::header_mismatch, "MCP-Protocol-Version header is missing");
  // The envelope is known even though the request is refused.
  EXPECT_EQ(r.envelope.version, "2026-07-28");
}

TEST(ModernFrontTest, AVersionHeaderOtherThanTheBodysIsAMismatch) {
  expect_problem(front(modern_request("tools/list"), routing("tools/list", "2025-11-25")), errc::header_mismatch,
                 "is \"2025-11-25\" but params._meta[\"io.modelcontextprotocol/protocolVersion\"] is \"2026-07-28\"");
  expect_problem(front(modern_request("tools/list"), routing("tools/list", "2026-07-28x")), errc::header_mismatch);
}

TEST(ModernFrontTest, OptionalWhitespaceAroundTheVersionHeaderIsStripped) {
  expect_passes(front(modern_request("tools/list"), routing("tools/list", " \t2026-07-28 ")));
}

TEST(ModernFrontTest, ALegacyHeaderOverAServedBodyPassesOnlyWhenTolerated) {
  const auto tolerated = front(modern_request("tools/list"), routing("tools/list", "2025-11-25"), true);
  expect_passes(tolerated);
  EXPECT_TRUE(tolerated.tolerated_legacy_header);
  // Not a legacy version: still a mismatch.
  expect_problem(front(modern_request("tools/list"), routing("tools/list", "2024-01-01"), true), errc::header_mismatch);
  // A body naming an unserved version is not rescued by the tolerance.
  expect_problem(front(modern_request("tools/list", json::object(), "v999"), routing("tools/list", "2025-11-25"), true),
                 errc::header_mismatch);
  const auto strict = front(modern_request("tools/list"), routing("tools/list", "2025-11-25"), false);
  expect_problem(strict, errc::header_mismatch);
  EXPECT_FALSE(strict.tolerated_legacy_header);
  // An equal header is not "tolerated".
  const auto equal = front(modern_request("tools/list"), routing("tools/list"), true);
  expect_passes(equal);
  EXPECT_FALSE(equal.tolerated_legacy_header);
}

TEST(ModernFrontTest, TheToleranceStillNeedsAHeader) {
  RoutingHeaders h = routing("tools/list");
  h.protocol_version.reset();
  expect_problem(front(modern_request("tools/list"), h, true), errc::header_mismatch, "missing");
}

// --- check_front: the version served -------------------------------------------------------------

TEST(ModernFrontTest, AnUnservedVersionInBothPlacesListsWhatIsSupported) {
  const auto r = front(modern_request("tools/list", json::object(), "v999.0.0"), routing("tools/list", "v999.0.0"));
  expect_problem(r, errc::unsupported_modern_version, "\"v999.0.0\" is not served here; supported: 2026-07-28");
  EXPECT_EQ(r.problem->data, json({{"supported", {"2026-07-28"}}, {"requested", "v999.0.0"}}));
}

TEST(ModernFrontTest, ASupportedHeaderOverAnUnservedBodyIsAMismatchNotUnsupported) {
  expect_problem(front(modern_request("tools/list", json::object(), "v999.0.0"), routing("tools/list")),
                 errc::header_mismatch, "\"v999.0.0\"");
}

TEST(ModernFrontTest, ALegacyVersionInBothPlacesIsNotServedByTheModernPath) {
  const auto r =
      front(modern_request("tools/list", json::object(), "2025-11-25"), routing("tools/list", "2025-11-25"), true);
  expect_problem(r, errc::unsupported_modern_version);
  EXPECT_EQ(r.problem->data["requested"], "2025-11-25");
}

TEST(ModernFrontTest, TheSupportedListIsTheOneGiven) {
  constexpr std::array<std::string_view, 2> served = {"2026-07-28", "2027-01-01"};
  const auto r = check_front(modern_request("tools/list", json::object(), "v1"), routing("tools/list", "v1"), served,
                             false, kLegacy);
  expect_problem(r, errc::unsupported_modern_version, "supported: 2026-07-28, 2027-01-01");
  EXPECT_EQ(r.problem->data["supported"], json({"2026-07-28", "2027-01-01"}));
  expect_passes(check_front(modern_request("tools/list", json::object(), "2027-01-01"),
                            routing("tools/list", "2027-01-01"), served, false, kLegacy));
}

TEST(ModernFrontTest, TheVersionRungComesBeforeTheMethodRung) {
  RoutingHeaders h = routing("tools/list", "v999");
  h.method.reset();
  expect_problem(front(modern_request("tools/list", json::object(), "v999"), h), errc::unsupported_modern_version);
}

// --- check_front: Mcp-Method -----------------------------------------------------------------------

TEST(ModernFrontTest, AMissingMethodHeaderIsAMismatch) {
  RoutingHeaders h = routing("tools/list");
  h.method.reset();
  expect_problem(front(modern_request("tools/list"), h), errc::header_mismatch,
                 "Mcp-Method header is missing; it must repeat the body's method \"tools/list\"");
}

TEST(ModernFrontTest, TheMethodHeaderValueIsCaseSensitive) {
  expect_problem(front(modern_request("tools/list"), routing("TOOLS/LIST")), errc::header_mismatch,
                 "is \"TOOLS/LIST\" but the body's method is \"tools/list\" (header values are case-sensitive)");
  expect_problem(front(modern_request("tools/list"), routing("prompts/list")), errc::header_mismatch);
}

TEST(ModernFrontTest, OptionalWhitespaceAroundTheMethodHeaderIsStripped) {
  expect_passes(front(modern_request("tools/list"), routing("  tools/list\t")));
}

TEST(ModernFrontTest, TheMethodRungComesBeforeTheNameRung) {
  RoutingHeaders h = routing("tools/lisT");
  expect_problem(front(modern_request("tools/call", {{"name", "echo"}}), h), errc::header_mismatch, "Mcp-Method");
}

// --- check_front: Mcp-Name ---------------------------------------------------------------------------

TEST(ModernFrontTest, ToolsCallAndPromptsGetMirrorTheirName) {
  for (const std::string_view method : {"tools/call", "prompts/get"}) {
    RoutingHeaders h = routing(method);
    expect_problem(front(modern_request(method, {{"name", "echo"}}), h), errc::header_mismatch,
                   "Mcp-Name header is missing");
    h.name = "echo";
    expect_passes(front(modern_request(method, {{"name", "echo"}}), h));
    h.name = "Echo";
    expect_problem(front(modern_request(method, {{"name", "echo"}}), h), errc::header_mismatch,
                   "Mcp-Name header is \"Echo\" but params.name is \"echo\"");
  }
}

TEST(ModernFrontTest, ResourcesReadMirrorsItsUri) {
  RoutingHeaders h = routing("resources/read");
  const auto read = modern_request("resources/read", {{"uri", "file:///a.txt"}});
  expect_problem(front(read, h), errc::header_mismatch, "params.uri");
  h.name = "file:///a.txt";
  expect_passes(front(read, h));
  h.name = "file:///b.txt";
  expect_problem(front(read, h), errc::header_mismatch, "but params.uri is \"file:///a.txt\"");
}

TEST(ModernFrontTest, TheNameHeaderIsTrimmedAndDecoded) {
  RoutingHeaders h = routing("tools/call");
  h.name = "  echo  ";
  expect_passes(front(modern_request("tools/call", {{"name", "echo"}}), h));
  h.name = "=?base64?Y2Fmw6k=?=";
  expect_passes(front(modern_request("tools/call", {{"name", "caf\xc3\xa9"}}), h));
  // A name that itself looks encoded travels encoded.
  const std::string tricky = "=?base64?SGVsbG8=?=";
  const std::string encoded = encode_header_value(tricky);
  h.name = encoded;
  expect_passes(front(modern_request("tools/call", {{"name", tricky}}), h));
  h.name = tricky;  // sent literally, it decodes to "Hello"
  expect_problem(front(modern_request("tools/call", {{"name", tricky}}), h), errc::header_mismatch,
                 "decodes to \"Hello\"");
}

TEST(ModernFrontTest, ABadlyEncodedNameIsAMismatchThatSaysWhy) {
  RoutingHeaders h = routing("tools/call");
  h.name = "=?base64?SGVsbG8?=";
  expect_problem(front(modern_request("tools/call", {{"name", "Hello"}}), h), errc::header_mismatch, "padding");
  h.name = "=?base64?SGVs!!!bG8=?=";
  expect_problem(front(modern_request("tools/call", {{"name", "Hello"}}), h), errc::header_mismatch, "alphabet");
  h.name = "caf\xc3\xa9";
  expect_problem(front(modern_request("tools/call", {{"name", "caf\xc3\xa9"}}), h), errc::header_mismatch, "ASCII");
}

TEST(ModernFrontTest, OtherMethodsNeedNoNameHeader) {
  RoutingHeaders h = routing("tools/list");
  h.name = "whatever";
  expect_passes(front(modern_request("tools/list"), h));
  expect_passes(front(modern_request("prompts/list"), routing("prompts/list")));
}

TEST(ModernFrontTest, ABodyWithoutTheMirroredMemberIsLeftToTheParamsCheck) {
  expect_passes(front(modern_request("tools/call"), routing("tools/call")));
  expect_passes(front(modern_request("tools/call", {{"name", 5}}), routing("tools/call")));
}

// --- check_front: repeated routing headers ---------------------------------------------------------

TEST(ModernFrontTest, ARepeatedRoutingHeaderIsAMismatch) {
  RoutingHeaders h = routing("tools/list");
  h.repeated = true;
  expect_problem(front(modern_request("tools/list"), h), errc::header_mismatch, "more than once");
}

TEST(ModernFrontTest, ARepeatedHeaderIsRefusedBeforeTheVersionIsJudged) {
  RoutingHeaders h = routing("tools/list", "v999");
  h.repeated = true;
  expect_problem(front(modern_request("tools/list", json::object(), "v999"), h), errc::header_mismatch,
                 "more than once");
}

// --- check_param_headers -------------------------------------------------------------------------

json annotated_schema() {
  return json::parse(R"({
    "type": "object",
    "properties": {
      "region": {"type": "string", "x-mcp-header": "Region"},
      "count": {"type": "integer", "x-mcp-header": "Count"},
      "dry": {"type": "boolean", "x-mcp-header": "Dry-Run"},
      "place": {"type": "object", "properties": {"zone": {"type": "string", "x-mcp-header": "Zone"}}},
      "tags": {"type": "array", "items": {"type": "string", "x-mcp-header": "Tag"}},
      "note": {"type": "string"}
    }
  })");
}

RoutingHeaders params_headers(std::vector<std::pair<std::string_view, std::string_view>> params) {
  RoutingHeaders h;
  h.params = std::move(params);
  return h;
}

void expect_param_problem(const std::optional<Problem>& p, std::string_view detail_part) {
  ASSERT_TRUE(p.has_value()) << "expected a refusal";
  EXPECT_EQ(p->code, errc::header_mismatch);
  EXPECT_NE(p->detail.find(detail_part), std::string::npos)
      << "detail: " << p->detail << "\nexpected to contain: " << detail_part;
}

TEST(ParamHeadersTest, EveryMirroredArgumentWithItsHeaderPasses) {
  const json args = {{"region", "eu-west"}, {"count", 3}, {"dry", true}, {"place", {{"zone", "b"}}}};
  EXPECT_EQ(check_param_headers(annotated_schema(), args,
                                params_headers({{"Region", "eu-west"}, {"Count", "3"}, {"Dry-Run", "true"}, {"Zone", "b"}})),
            std::nullopt);
}

TEST(ParamHeadersTest, HeaderNamesCompareIgnoringCase) {
  const json args = {{"region", "eu-west"}, {"dry", false}};
  EXPECT_EQ(check_param_headers(annotated_schema(), args, params_headers({{"REGION", "eu-west"}, {"dry-run", "false"}})),
            std::nullopt);
}

TEST(ParamHeadersTest, AnArgumentWithAValueNeedsItsHeader) {
  expect_param_problem(check_param_headers(annotated_schema(), {{"region", "eu-west"}}, params_headers({})),
                       "Mcp-Param-Region header is missing; the tool mirrors argument \"region\" (\"eu-west\")");
  expect_param_problem(check_param_headers(annotated_schema(), {{"place", {{"zone", "b"}}}}, params_headers({})),
                       "argument \"place.zone\"");
}

TEST(ParamHeadersTest, ANullOrAbsentArgumentNeedsNoHeader) {
  EXPECT_EQ(check_param_headers(annotated_schema(), json::object(), params_headers({})), std::nullopt);
  EXPECT_EQ(check_param_headers(annotated_schema(), nullptr, params_headers({})), std::nullopt);
  EXPECT_EQ(check_param_headers(annotated_schema(), {{"region", nullptr}, {"place", nullptr}}, params_headers({})),
            std::nullopt);
  EXPECT_EQ(check_param_headers(annotated_schema(), {{"place", json::object()}}, params_headers({})), std::nullopt);
}

TEST(ParamHeadersTest, AHeaderForANullOrAbsentArgumentIsRefused) {
  expect_param_problem(check_param_headers(annotated_schema(), json::object(), params_headers({{"Region", "eu"}})),
                       "Mcp-Param-Region header was sent but argument \"region\" is absent");
  expect_param_problem(
      check_param_headers(annotated_schema(), {{"region", nullptr}}, params_headers({{"Region", "eu"}})), "is null");
}

TEST(ParamHeadersTest, StringValuesCompareExactlyAfterTrimmingAndDecoding) {
  const json args = {{"region", "eu-west"}};
  expect_param_problem(check_param_headers(annotated_schema(), args, params_headers({{"Region", "EU-WEST"}})),
                       "it is \"EU-WEST\" but the argument is \"eu-west\"");
  EXPECT_EQ(check_param_headers(annotated_schema(), args, params_headers({{"Region", "  eu-west\t"}})), std::nullopt);
  EXPECT_EQ(check_param_headers(annotated_schema(), args, params_headers({{"Region", "=?base64?ZXUtd2VzdA==?="}})),
            std::nullopt);
  const json spaced = {{"region", " eu "}};
  EXPECT_EQ(check_param_headers(annotated_schema(), spaced, params_headers({{"Region", "=?base64?IGV1IA==?="}})),
            std::nullopt);
}

TEST(ParamHeadersTest, ABadlyEncodedValueIsRefused) {
  expect_param_problem(
      check_param_headers(annotated_schema(), {{"region", "Hello"}}, params_headers({{"Region", "=?base64?SGVsbG8?="}})),
      "padding");
  expect_param_problem(
      check_param_headers(annotated_schema(), {{"region", "a\nb"}}, params_headers({{"Region", "a\nb"}})), "control");
}

TEST(ParamHeadersTest, IntegersCompareNumerically) {
  for (const std::string_view header : {"42", "42.0", "4.2e1", " 42 "}) {
    EXPECT_EQ(check_param_headers(annotated_schema(), {{"count", 42}}, params_headers({{"Count", header}})), std::nullopt)
        << header;
  }
  EXPECT_EQ(check_param_headers(annotated_schema(), {{"count", 42.0}}, params_headers({{"Count", "42"}})), std::nullopt);
  EXPECT_EQ(check_param_headers(annotated_schema(), {{"count", -7}}, params_headers({{"Count", "-7"}})), std::nullopt);
  EXPECT_EQ(check_param_headers(annotated_schema(), {{"count", 9007199254740991}},
                                params_headers({{"Count", "9007199254740991"}})),
            std::nullopt);
  expect_param_problem(check_param_headers(annotated_schema(), {{"count", 42}}, params_headers({{"Count", "43"}})),
                       "it is \"43\" but the argument is 42");
  expect_param_problem(check_param_headers(annotated_schema(), {{"count", 42}}, params_headers({{"Count", "forty-two"}})),
                       "not a number");
  expect_param_problem(check_param_headers(annotated_schema(), {{"count", 42}}, params_headers({{"Count", "42abc"}})),
                       "not a number");
}

TEST(ParamHeadersTest, BooleansAreLowercaseTrueOrFalse) {
  EXPECT_EQ(check_param_headers(annotated_schema(), {{"dry", true}}, params_headers({{"Dry-Run", "true"}})), std::nullopt);
  for (const std::string_view header : {"True", "TRUE", "1", "yes", "false"}) {
    expect_param_problem(check_param_headers(annotated_schema(), {{"dry", true}}, params_headers({{"Dry-Run", header}})),
                         "booleans are sent as true or false");
  }
}

TEST(ParamHeadersTest, AnArgumentOfANonScalarTypeCannotBeMirrored) {
  expect_param_problem(
      check_param_headers(annotated_schema(), {{"region", json::array({"a"})}}, params_headers({{"Region", "a"}})),
      "only strings, integers and booleans");
}

TEST(ParamHeadersTest, DuplicateCopiesOfARecognisedHeaderAreRefused) {
  expect_param_problem(check_param_headers(annotated_schema(), {{"region", "eu"}},
                                           params_headers({{"Region", "eu"}, {"region", "eu"}})),
                       "Mcp-Param-Region header was sent 2 times");
}

TEST(ParamHeadersTest, UnrecognisedParamHeadersAreIgnored) {
  // "Tag" is annotated under items, out of reach, so it is no recognised header either.
  EXPECT_EQ(check_param_headers(annotated_schema(), {{"note", "x"}, {"tags", {"a"}}},
                                params_headers({{"Note", "y"}, {"Tag", "a"}, {"Tag", "b"}, {"Other", "1"}})),
            std::nullopt);
}

TEST(ParamHeadersTest, ASchemaWithoutAnnotationsNeedsNoHeaders) {
  EXPECT_EQ(check_param_headers({{"type", "object"}}, {{"a", 1}}, params_headers({{"A", "2"}})), std::nullopt);
  EXPECT_EQ(check_param_headers(nullptr, nullptr, params_headers({})), std::nullopt);
}

// --- header_annotations_problems --------------------------------------------------------------

TEST(HeaderAnnotationsTest, AWellAnnotatedSchemaHasNoProblems) {
  json schema = annotated_schema();
  schema["properties"].erase("tags");
  EXPECT_TRUE(header_annotations_problems(schema).empty());
  EXPECT_TRUE(header_annotations_problems({{"type", "object"}}).empty());
  EXPECT_TRUE(header_annotations_problems(
                  json::parse(R"({"properties": {"a": {"type": ["string", "null"], "x-mcp-header": "A"}}})"))
                  .empty());
}

TEST(HeaderAnnotationsTest, ANameThatIsNotATokenIsAProblem) {
  for (const json& name : {json(""), json("Bad Name"), json("a:b"), json("caf\xc3\xa9"), json("a\r\nb")}) {
    const json schema = {{"properties", {{"a", {{"type", "string"}, {"x-mcp-header", name}}}}}};
    const auto problems = header_annotations_problems(schema);
    ASSERT_EQ(problems.size(), 1U) << name.dump();
    EXPECT_NE(problems[0].find("not a valid header name"), std::string::npos) << problems[0];
    EXPECT_NE(problems[0].find("/properties/a"), std::string::npos) << problems[0];
  }
  const auto problems =
      header_annotations_problems({{"properties", {{"a", {{"type", "string"}, {"x-mcp-header", 5}}}}}});
  ASSERT_EQ(problems.size(), 1U);
  EXPECT_NE(problems[0].find("must be a header name"), std::string::npos);
}

TEST(HeaderAnnotationsTest, NamesEqualIgnoringCaseAreAProblem) {
  const auto problems = header_annotations_problems(json::parse(R"({"properties": {
      "a": {"type": "string", "x-mcp-header": "Region"},
      "b": {"type": "object", "properties": {"c": {"type": "integer", "x-mcp-header": "REGION"}}}}})"));
  ASSERT_EQ(problems.size(), 1U);
  EXPECT_NE(problems[0].find("already names"), std::string::npos) << problems[0];
  EXPECT_NE(problems[0].find("/properties/a"), std::string::npos) << problems[0];
}

TEST(HeaderAnnotationsTest, OnlyStringIntegerAndBooleanPropertiesCanBeMirrored) {
  for (const json& type : {json("number"), json("object"), json("array"), json("null"), json({"string", "integer"}),
                           json::array()}) {
    const json schema = {{"properties", {{"a", {{"type", type}, {"x-mcp-header", "A"}}}}}};
    const auto problems = header_annotations_problems(schema);
    ASSERT_EQ(problems.size(), 1U) << type.dump();
    EXPECT_NE(problems[0].find("only string, integer and boolean"), std::string::npos) << problems[0];
  }
  const auto untyped = header_annotations_problems({{"properties", {{"a", {{"x-mcp-header", "A"}}}}}});
  ASSERT_EQ(untyped.size(), 1U);
  EXPECT_NE(untyped[0].find("without a \"type\""), std::string::npos);
}

TEST(HeaderAnnotationsTest, AnnotationsOutOfReachOfPropertiesAloneAreAProblem) {
  for (const char* text : {
           R"({"properties": {"a": {"type": "array", "items": {"type": "string", "x-mcp-header": "A"}}}})",
           R"({"oneOf": [{"properties": {"a": {"type": "string", "x-mcp-header": "A"}}}]})",
           R"({"properties": {"a": {"anyOf": [{"type": "string", "x-mcp-header": "A"}]}}})",
           R"({"$defs": {"x": {"type": "string", "x-mcp-header": "A"}}, "properties": {"a": {"$ref": "#/$defs/x"}}})",
           R"({"additionalProperties": {"type": "string", "x-mcp-header": "A"}})",
           R"({"if": {"properties": {"a": {"type": "string", "x-mcp-header": "A"}}}})",
       }) {
    const auto problems = header_annotations_problems(json::parse(text));
    ASSERT_EQ(problems.size(), 1U) << text;
    EXPECT_NE(problems[0].find("not reachable"), std::string::npos) << problems[0];
  }
}

TEST(HeaderAnnotationsTest, AnAnnotationOnTheRootIsAProblem) {
  const auto problems = header_annotations_problems({{"type", "string"}, {"x-mcp-header", "A"}});
  ASSERT_EQ(problems.size(), 1U);
  EXPECT_NE(problems[0].find("the schema root"), std::string::npos) << problems[0];
}

TEST(HeaderAnnotationsTest, DataAndPropertyNamesAreNotAnnotations) {
  EXPECT_TRUE(header_annotations_problems(json::parse(R"({"properties": {
      "x-mcp-header": {"type": "string"},
      "a": {"type": "object", "default": {"x-mcp-header": "A"}, "examples": [{"x-mcp-header": "B"}]},
      "b": {"type": "string", "enum": ["x-mcp-header"], "const": {"x-mcp-header": "C"}}}})"))
                  .empty());
  // The annotated property of that odd name is still checked.
  EXPECT_TRUE(header_annotations_problems(
                  json::parse(R"({"properties": {"x-mcp-header": {"type": "string", "x-mcp-header": "Odd"}}})"))
                  .empty());
}

TEST(HeaderAnnotationsTest, EveryProblemIsReported) {
  const auto problems = header_annotations_problems(json::parse(R"({"properties": {
      "a": {"type": "number", "x-mcp-header": "Bad Name"},
      "b": {"type": "array", "items": {"type": "string", "x-mcp-header": "B"}}}})"));
  EXPECT_EQ(problems.size(), 3U);
}

}  // namespace
}  // namespace graceway::mcp::modern
