// URI templates, the resource and prompt registries, and MCP log levels.

#include <gtest/gtest.h>

#include "graceway/log_level.hpp"
#include "graceway/prompt_registry.hpp"
#include "graceway/resource_registry.hpp"
#include "graceway/uri_template.hpp"

namespace graceway {
namespace {

using nlohmann::json;

TEST(UriTemplateTest, MatchesAndRecoversVariables) {
  const auto t = UriTemplate::parse("test://template/{id}/data");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->variables(), std::vector<std::string>{"id"});
  const auto m = t->match("test://template/123/data");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->at("id"), "123");
  EXPECT_FALSE(t->match("test://template//data")) << "a value is at least one character";
  EXPECT_FALSE(t->match("test://template/1/2/data")) << "a value never contains '/'";
  EXPECT_FALSE(t->match("test://template/1/data/more"));
  EXPECT_FALSE(t->match("test://template/1"));
  EXPECT_FALSE(t->match("other://template/1/data"));
}

TEST(UriTemplateTest, SeveralVariablesAndLiteralsInsideASegment) {
  const auto t = UriTemplate::parse("file:///{dir}/{name}.json");
  ASSERT_TRUE(t);
  const auto m = t->match("file:///etc/a.b.json");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->at("dir"), "etc");
  EXPECT_EQ(m->at("name"), "a.b") << "a value ends at the first occurrence of the literal after it";
}

TEST(UriTemplateTest, RefusesWhatLevelOneCannotMean) {
  for (const char* bad : {"a/{", "a/}", "a/{}", "a/{+x}", "a/{?x}", "a/{x}{y}", "a/{x}/{x}", "a/{x y}"}) {
    EXPECT_FALSE(UriTemplate::parse(bad)) << bad;
  }
  const auto plain = UriTemplate::parse("test://static");
  ASSERT_TRUE(plain);
  EXPECT_TRUE(plain->match("test://static"));
  EXPECT_FALSE(plain->match("test://static2"));
}

std::vector<ResourceContent> read_as(const std::string& text) {
  return {ResourceContent::text_of("u", "text/plain", text)};
}

TEST(ResourceRegistryTest, FixedResourcesWinOverTemplatesAndDuplicatesAreRefused) {
  ResourceRegistry r;
  ResourceDefinition fixed;
  fixed.uri = "x://a/1";
  fixed.name = "one";
  EXPECT_TRUE(r.add(fixed, [](const std::string&, const UriVariables&) { return read_as("fixed"); }));
  EXPECT_FALSE(r.add(fixed, [](const std::string&, const UriVariables&) { return read_as("again"); }));
  ResourceTemplateDefinition family;
  family.uri_template = "x://a/{n}";
  family.name = "family";
  EXPECT_TRUE(r.add_template(family, [](const std::string&, const UriVariables& v) { return read_as(v.at("n")); }));
  family.uri_template = "x://{bad";
  EXPECT_FALSE(r.add_template(family, [](const std::string&, const UriVariables&) { return read_as(""); }));

  const auto one = r.find("x://a/1");
  ASSERT_TRUE(one);
  EXPECT_EQ((*one->reader)("x://a/1", one->variables)[0].text, "fixed");
  const auto two = r.find("x://a/2");
  ASSERT_TRUE(two);
  EXPECT_EQ((*two->reader)("x://a/2", two->variables)[0].text, "2");
  EXPECT_FALSE(r.find("x://b/2"));
  EXPECT_TRUE(r.completer("x://a/{n}"));
  EXPECT_FALSE(*r.completer("x://a/{n}")) << "registered without a completer";
  EXPECT_FALSE(r.completer("x://nope/{n}"));
  EXPECT_FALSE(r.has_completions());
  EXPECT_EQ(r.list(), json::parse(R"([{"uri":"x://a/1","name":"one"}])"));
  EXPECT_EQ(r.list_templates(), json::parse(R"([{"uriTemplate":"x://a/{n}","name":"family"}])"));
}

TEST(ResourceRegistryTest, ContentIsTextOrBlob) {
  EXPECT_EQ(ResourceContent::text_of("u", "", "t").to_json(), json::parse(R"({"uri":"u","text":"t"})"));
  EXPECT_EQ(ResourceContent::blob_of("u", "image/png", "AA==").to_json(),
            json::parse(R"({"uri":"u","mimeType":"image/png","blob":"AA=="})"));
}

// A prompt handler's context: nothing a plain prompt uses.
class NoContext final : public ToolContext {
public:
  [[nodiscard]] const json& arguments() const override { return args_; }
  [[nodiscard]] const std::string& session_id() const override { return session_; }
  [[nodiscard]] std::stop_token stop_token() const override { return {}; }
  [[nodiscard]] bool has_progress_token() const override { return false; }
  bool report_progress(double, std::optional<double>, std::string_view) override { return false; }
  [[nodiscard]] const json& client_capabilities() const override { return args_; }
  bool log(LogLevel, const json&, std::string_view) override { return false; }
  ClientReply ask_client(std::string_view, json, std::chrono::milliseconds, std::string_view) override { return {}; }
  bool close_stream() override { return false; }

private:
  json args_ = json::object();
  std::string session_;
};

TEST(PromptRegistryTest, ListsArgumentsAndRefusesDuplicates) {
  PromptRegistry p;
  PromptDefinition d;
  d.name = "greet";
  d.arguments.push_back({"who", "", "Whom to greet", true});
  auto handler = [](const PromptArguments& a) { return PromptResult{}.add("user", {{"type", "text"}, {"text", a.at("who")}}); };
  EXPECT_TRUE(p.add(d, handler));
  EXPECT_FALSE(p.add(d, handler));
  EXPECT_FALSE(p.has_completions());
  EXPECT_EQ(p.list(), json::parse(R"([{"name":"greet","arguments":[{"name":"who","description":"Whom to greet","required":true}]}])"));
  ASSERT_NE(p.find("greet"), nullptr);
  NoContext context;
  EXPECT_EQ(p.find("greet")->handler({{"who", "you"}}, context).to_json(),
            json::parse(R"({"messages":[{"role":"user","content":{"type":"text","text":"you"}}]})"));
  EXPECT_EQ(p.find("nope"), nullptr);
}

TEST(LogLevelTest, ParsesTheEightLevelsInSeverityOrder) {
  EXPECT_EQ(parse_log_level("debug"), LogLevel::debug);
  EXPECT_EQ(parse_log_level("emergency"), LogLevel::emergency);
  EXPECT_FALSE(parse_log_level("warn")) << "MCP spells it warning";
  EXPECT_FALSE(parse_log_level("INFO"));
  EXPECT_LT(LogLevel::notice, LogLevel::warning);
  for (auto level : {LogLevel::debug, LogLevel::info, LogLevel::notice, LogLevel::warning, LogLevel::error,
                     LogLevel::critical, LogLevel::alert, LogLevel::emergency}) {
    EXPECT_EQ(parse_log_level(to_string(level)), level);
  }
}

}  // namespace
}  // namespace graceway
