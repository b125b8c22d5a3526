#include "graceway/conformance_tools.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <string>
#include <string_view>

namespace graceway {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

// A 1x1 RGBA PNG and 10 ms of silent 8 kHz mono 16-bit WAV, generated for this file.
constexpr std::string_view kPng =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGPQztnwHwAEVAJHnALJDgAAAABJRU5ErkJggg==";
constexpr std::string_view kWav =
    "UklGRsQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YaAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
// Spacing of the logging and progress steps: long enough that a client sees them arrive apart.
constexpr milliseconds kStep{50};

json text_content(std::string text) { return {{"type", "text"}, {"text", std::move(text)}}; }
json image_content() { return {{"type", "image"}, {"data", std::string(kPng)}, {"mimeType", "image/png"}}; }
json embedded_text(std::string uri, std::string text) {
  return {{"type", "resource"}, {"resource", {{"uri", std::move(uri)}, {"mimeType", "text/plain"}, {"text", std::move(text)}}}};
}

ToolResult contents(json items) {
  ToolResult r;
  r.content = std::move(items);
  return r;
}

// -Wmissing-field-initializers rules out designated initializers that skip optional fields.
ToolDefinition no_arguments(std::string name, std::string description) {
  ToolDefinition d;
  d.name = std::move(name);
  d.description = std::move(description);
  return d;
}

ToolDefinition string_arguments(std::string name, std::string description, std::string argument,
                                std::string argument_description) {
  auto d = no_arguments(std::move(name), std::move(description));
  d.input_schema = {{"type", "object"},
                    {"properties", {{argument, {{"type", "string"}, {"description", std::move(argument_description)}}}}},
                    {"required", {argument}}};
  return d;
}

// Asks the client to fill `schema` and reports its answer as text, or the failure as an error.
ToolResult elicit(ToolContext& ctx, std::string message, json schema, std::string_view prefix) {
  const auto reply = ctx.ask_client("elicitation/create", {{"message", std::move(message)}, {"requestedSchema", std::move(schema)}});
  if (!reply.ok()) {
    return ToolResult::error("elicitation failed: " + (reply.status == ClientReply::Status::error ? reply.value.dump() : reply.detail));
  }
  const auto action = reply.value.value("action", std::string("?"));
  const auto content = reply.value.contains("content") ? reply.value["content"].dump() : std::string("{}");
  return ToolResult::text(std::string(prefix) + "action=" + action + ", content=" + content);
}

void add_tools(ToolRegistry& tools) {
  tools.add(no_arguments("test_simple_text", "Returns one text content"), [](ToolContext&) {
    return ToolResult::text("This is a simple text response for testing.");
  }, ToolExecution::inline_nonblocking);
  tools.add(no_arguments("test_image_content", "Returns one image content (PNG)"), [](ToolContext&) {
    return contents(json::array({image_content()}));
  }, ToolExecution::inline_nonblocking);
  tools.add(no_arguments("test_audio_content", "Returns one audio content (WAV)"), [](ToolContext&) {
    return contents(json::array({{{"type", "audio"}, {"data", std::string(kWav)}, {"mimeType", "audio/wav"}}}));
  }, ToolExecution::inline_nonblocking);
  tools.add(no_arguments("test_embedded_resource", "Returns one embedded text resource"), [](ToolContext&) {
    return contents(json::array({embedded_text("test://embedded-resource", "This is an embedded resource content.")}));
  }, ToolExecution::inline_nonblocking);
  tools.add(no_arguments("test_multiple_content_types", "Returns text, image and resource content"), [](ToolContext&) {
    return contents(json::array({text_content("Multiple content types test:"), image_content(),
                                 embedded_text("test://mixed-content-resource", "{\"test\":\"data\",\"value\":123}")}));
  }, ToolExecution::inline_nonblocking);
  tools.add(no_arguments("test_error_handling", "Always fails with isError"), [](ToolContext&) {
    return ToolResult::error("This tool intentionally returns an error for testing");
  }, ToolExecution::inline_nonblocking);

  tools.add(no_arguments("test_tool_with_logging", "Sends three info log messages 50 ms apart"), [](ToolContext& ctx) {
    constexpr std::array messages = {"Tool execution started", "Tool processing data", "Tool execution completed"};
    for (std::size_t i = 0; i < messages.size(); ++i) {
      if (i > 0 && !ctx.wait_for(kStep)) return ToolResult::error("cancelled");
      ctx.log(LogLevel::info, messages[i], "conformance");
    }
    return ToolResult::text("Tool with logging executed successfully");
  });
  tools.add(no_arguments("test_tool_with_progress", "Reports progress 0, 50 and 100 of 100, 50 ms apart"),
            [](ToolContext& ctx) {
              for (const double progress : {0.0, 50.0, 100.0}) {
                if (progress > 0 && !ctx.wait_for(kStep)) return ToolResult::error("cancelled");
                ctx.report_progress(progress, 100.0);
              }
              return ToolResult::text("Tool with progress executed successfully");
            });

  tools.add(string_arguments("test_sampling", "Asks the client's LLM (sampling/createMessage)", "prompt",
                             "The prompt to send to the LLM"),
            [](ToolContext& ctx) {
              const auto prompt = ctx.arguments().value("prompt", std::string());
              const auto reply = ctx.ask_client(
                  "sampling/createMessage",
                  {{"messages", json::array({{{"role", "user"}, {"content", text_content(prompt)}}})}, {"maxTokens", 100}});
              if (!reply.ok()) {
                return ToolResult::error("sampling failed: " +
                                         (reply.status == ClientReply::Status::error ? reply.value.dump() : reply.detail));
              }
              const auto& content = reply.value.contains("content") ? reply.value["content"] : json();
              const auto text = content.is_object() ? content.value("text", content.dump()) : content.dump();
              return ToolResult::text("LLM response: " + text);
            });
  tools.add(string_arguments("test_elicitation", "Asks the user for a username and email (elicitation/create)",
                             "message", "The message to show the user"),
            [](ToolContext& ctx) {
              json schema = {{"type", "object"},
                             {"properties",
                              {{"username", {{"type", "string"}, {"description", "User's response"}}},
                               {"email", {{"type", "string"}, {"description", "User's email address"}}}}},
                             {"required", {"username", "email"}}};
              return elicit(ctx, ctx.arguments().value("message", std::string()), std::move(schema), "User response: ");
            });
  tools.add(no_arguments("test_elicitation_sep1034_defaults", "Elicitation whose fields all have defaults (SEP-1034)"),
            [](ToolContext& ctx) {
              json schema = {
                  {"type", "object"},
                  {"properties",
                   {{"name", {{"type", "string"}, {"description", "User name"}, {"default", "John Doe"}}},
                    {"age", {{"type", "integer"}, {"description", "User age"}, {"default", 30}}},
                    {"score", {{"type", "number"}, {"description", "User score"}, {"default", 95.5}}},
                    {"status",
                     {{"type", "string"}, {"description", "User status"}, {"enum", {"active", "inactive", "pending"}},
                      {"default", "active"}}},
                    {"verified", {{"type", "boolean"}, {"description", "Verification status"}, {"default", true}}}}}};
              return elicit(ctx, "Please review and update the form fields with defaults", std::move(schema),
                            "Elicitation completed: ");
            });
  tools.add(no_arguments("test_elicitation_sep1330_enums", "Elicitation with every enum form (SEP-1330)"),
            [](ToolContext& ctx) {
              auto titled = [](std::string_view prefix, std::array<std::string_view, 3> titles) {
                json options = json::array();
                for (std::size_t i = 0; i < titles.size(); ++i) {
                  options.push_back({{"const", std::string(prefix) + std::to_string(i + 1)}, {"title", std::string(titles[i])}});
                }
                return options;
              };
              json schema = {
                  {"type", "object"},
                  {"properties",
                   {{"untitledSingle",
                     {{"type", "string"}, {"description", "Untitled single-select"}, {"enum", {"option1", "option2", "option3"}}}},
                    {"titledSingle",
                     {{"type", "string"},
                      {"description", "Titled single-select"},
                      {"oneOf", titled("value", {"First Option", "Second Option", "Third Option"})}}},
                    {"legacyEnum",
                     {{"type", "string"},
                      {"description", "Legacy titled enum"},
                      {"enum", {"opt1", "opt2", "opt3"}},
                      {"enumNames", {"Option One", "Option Two", "Option Three"}}}},
                    {"untitledMulti",
                     {{"type", "array"},
                      {"description", "Untitled multi-select"},
                      {"items", {{"type", "string"}, {"enum", {"option1", "option2", "option3"}}}}}},
                    {"titledMulti",
                     {{"type", "array"},
                      {"description", "Titled multi-select"},
                      {"items", {{"anyOf", titled("value", {"First Choice", "Second Choice", "Third Choice"})}}}}}}}};
              return elicit(ctx, "Please select options from the enum fields", std::move(schema), "Elicitation completed: ");
            });

  tools.add(no_arguments("test_reconnection",
                         "Closes its SSE stream mid-call; the result arrives when the client resumes (SEP-1699)"),
            [](ToolContext& ctx) {
              if (!ctx.close_stream()) return ToolResult::error("this call's stream cannot be resumed");
              return ToolResult::text(
                  "Reconnection test completed successfully. If you received this, the client properly reconnected "
                  "after stream closure.");
            });

  auto schema_2020 = no_arguments("json_schema_2020_12_tool", "Tool with JSON Schema 2020-12 features");
  schema_2020.input_schema = {
      {"$schema", "https://json-schema.org/draft/2020-12/schema"},
      {"type", "object"},
      {"$defs",
       {{"address",
         {{"$anchor", "address"},
          {"type", "object"},
          {"properties", {{"street", {{"type", "string"}}}, {"city", {{"type", "string"}}}}}}}}},
      {"properties", {{"name", {{"type", "string"}}}, {"address", {{"$ref", "#/$defs/address"}}}}},
      // Composition and conditional keywords, which SEP-2106 says servers keep as written.
      {"allOf", json::array({{{"anyOf", json::array({{{"required", {"name"}}}, {{"required", {"address"}}}})}}})},
      {"if", {{"properties", {{"name", {{"const", "with-address"}}}}}}},
      {"then", {{"required", {"address"}}}},
      {"else", json::object()},
      {"additionalProperties", false}};
  tools.add(std::move(schema_2020), [](ToolContext& ctx) { return ToolResult::text("received " + ctx.arguments().dump()); },
            ToolExecution::inline_nonblocking);
}

// An elicitation input request for one string (or boolean) field.
json elicitation(std::string message, std::string field, std::string type = "string") {
  return {{"message", std::move(message)},
          {"requestedSchema", {{"type", "object"}, {"properties", {{field, {{"type", std::move(type)}}}}}, {"required", {field}}}}};
}
json sampling(std::string text, int max_tokens) {
  return {{"messages", json::array({{{"role", "user"}, {"content", text_content(std::move(text))}}})}, {"maxTokens", max_tokens}};
}

// The content a client's elicitation answer accepted, or null.
json accepted(const ClientReply& reply) {
  if (!reply.ok() || reply.value.value("action", std::string()) != "accept") return nullptr;
  const auto content = reply.value.find("content");
  return content != reply.value.end() && content->is_object() ? *content : json(nullptr);
}

// What a round that asked the client answers while it waits for the retry (the server replaces
// it with the InputRequiredResult), or the failure of a legacy session's request.
ToolResult unanswered(const ClientReply& reply) {
  if (reply.status == ClientReply::Status::input_required) return {};
  return ToolResult::error("the client did not answer: " + (reply.status == ClientReply::Status::error ? reply.value.dump() : reply.detail));
}

// The 2026-07-28 fixtures: multi round-trip requests (the client's answers come back in a retry),
// the capability gate, list-changed triggers, logging without a level, a long cancellable call.
void add_modern_tools(ToolRegistry& tools, const std::shared_ptr<ChangeFeed>& changes) {
  tools.add(no_arguments("test_input_required_result_elicitation", "Asks the user's name, then greets them"),
            [](ToolContext& ctx) {
              const auto reply = ctx.ask_client("elicitation/create", elicitation("What is your name?", "name"), {}, "user_name");
              const auto content = accepted(reply);
              if (content.is_null()) return unanswered(reply);
              return ToolResult::text("Hello, " + content.value("name", std::string("?")) + "!");
            });
  tools.add(no_arguments("test_input_required_result_sampling", "Asks the client's LLM a question"), [](ToolContext& ctx) {
    const auto reply = ctx.ask_client("sampling/createMessage", sampling("What is the capital of France?", 100), {},
                                      "capital_question");
    if (!reply.ok()) return unanswered(reply);
    const auto content = reply.value.value("content", json::object());
    return ToolResult::text("LLM said: " + (content.is_object() ? content.value("text", content.dump()) : content.dump()));
  });
  tools.add(no_arguments("test_input_required_result_list_roots", "Asks the client for its roots"), [](ToolContext& ctx) {
    const auto reply = ctx.ask_client("roots/list", json::object(), {}, "client_roots");
    if (!reply.ok()) return unanswered(reply);
    return ToolResult::text("roots: " + reply.value.value("roots", json::array()).dump());
  });
  tools.add(no_arguments("test_input_required_result_request_state", "Asks for a confirmation across one retry"),
            [](ToolContext& ctx) {
              const auto reply = ctx.ask_client("elicitation/create", elicitation("Please confirm", "ok", "boolean"), {}, "confirm");
              const auto content = accepted(reply);
              if (content.is_null()) return unanswered(reply);
              return ToolResult::text(std::string("confirmed: ") + (content.value("ok", false) ? "yes" : "no"));
            });
  tools.add(no_arguments("test_input_required_result_tampered_state", "Asks for a confirmation; refuses forged state"),
            [](ToolContext& ctx) {
              const auto reply = ctx.ask_client("elicitation/create", elicitation("Please confirm", "ok", "boolean"), {}, "confirm");
              if (accepted(reply).is_null()) return unanswered(reply);
              return ToolResult::text("state verified");
            });
  tools.add(no_arguments("test_input_required_result_multiple_inputs", "Asks an elicitation, a sampling and the roots at once"),
            [](ToolContext& ctx) {
              const auto name = ctx.ask_client("elicitation/create", elicitation("What is your name?", "name"), {}, "user_name");
              const auto greeting = ctx.ask_client("sampling/createMessage", sampling("Generate a greeting", 50), {}, "greeting");
              const auto roots = ctx.ask_client("roots/list", json::object(), {}, "client_roots");
              for (const auto* reply : {&name, &greeting, &roots}) {
                if (!reply->ok()) return unanswered(*reply);
              }
              return ToolResult::text("name, greeting and roots received");
            });
  tools.add(no_arguments("test_input_required_result_multi_round", "Asks two questions, one round each"),
            [](ToolContext& ctx) {
              const auto step1 = ctx.ask_client("elicitation/create", elicitation("Step 1: What is your name?", "name"), {}, "step1");
              const auto name = accepted(step1);
              if (name.is_null()) return unanswered(step1);
              const auto step2 =
                  ctx.ask_client("elicitation/create", elicitation("Step 2: What is your favorite color?", "color"), {}, "step2");
              const auto color = accepted(step2);
              if (color.is_null()) return unanswered(step2);
              return ToolResult::text(name.value("name", std::string("?")) + " likes " + color.value("color", std::string("?")));
            });
  tools.add(no_arguments("test_input_required_result_capabilities", "Asks only what the client declared it can answer"),
            [](ToolContext& ctx) {
              // ask_client skips what the client did not declare: only those asks come back.
              const auto name = ctx.ask_client("elicitation/create", elicitation("What is your name?", "name"), {}, "user_name");
              const auto greeting = ctx.ask_client("sampling/createMessage", sampling("Generate a greeting", 50), {}, "greeting");
              for (const auto* reply : {&name, &greeting}) {
                if (reply->status == ClientReply::Status::input_required) return ToolResult{};
              }
              return ToolResult::text("answered what the client could");
            });
  auto missing = no_arguments("test_missing_capability", "Cannot work without the client's sampling capability");
  missing.required_client_capabilities = {"sampling"};
  tools.add(std::move(missing), [](ToolContext& ctx) {
    const auto reply = ctx.ask_client("sampling/createMessage", sampling("Say hello", 20), {}, "hello");
    if (!reply.ok()) return unanswered(reply);
    return ToolResult::text("sampling answered");
  });
  tools.add(no_arguments("test_streaming_elicitation", "Answers on its stream without sending the client requests"),
            [](ToolContext& ctx) {
              ctx.report_progress(1, 1, "stream observed");
              return ToolResult::text("stream observed: no requests were sent to the client");
            }, ToolExecution::inline_nonblocking);
  tools.add(no_arguments("test_logging_tool", "Logs three messages (sent only at the request's logLevel)"),
            [](ToolContext& ctx) {
              for (const auto* message : {"Tool execution started", "Tool processing data", "Tool execution completed"}) {
                ctx.log(LogLevel::info, message, "conformance");
              }
              return ToolResult::text("Tool with logging executed successfully");
            }, ToolExecution::inline_nonblocking);
  tools.add(no_arguments("test_trigger_tool_change", "Announces that the tool list changed"), [changes](ToolContext&) {
    changes->publish(ChangeFeed::List::tools);
    return ToolResult::text("tools/list_changed sent");
  });
  tools.add(no_arguments("test_trigger_prompt_change", "Announces that the prompt list changed"), [changes](ToolContext&) {
    changes->publish(ChangeFeed::List::prompts);
    return ToolResult::text("prompts/list_changed sent");
  });
  auto header = no_arguments("test_x_mcp_header", "Mirrors its region argument into the Mcp-Param-Region header");
  header.input_schema = {{"type", "object"},
                         {"properties", {{"region", {{"type", "string"}, {"x-mcp-header", "Region"}}}, {"level", {{"type", "integer"}}}}}};
  tools.add(std::move(header), [](ToolContext& ctx) {
    return ToolResult::text("region=" + ctx.arguments().value("region", std::string()));
  }, ToolExecution::inline_nonblocking);
  auto long_running = no_arguments("test_long_running_operation", "Reports progress until durationMs has passed");
  long_running.input_schema = {{"type", "object"},
                               {"properties",
                                {{"durationMs", {{"type", "integer"}, {"minimum", 0}, {"maximum", 60000}}},
                                 {"stepMs", {{"type", "integer"}, {"minimum", 10}}}}}};
  tools.add(std::move(long_running), [](ToolContext& ctx) {
    const auto duration = std::clamp<std::int64_t>(ctx.arguments().value("durationMs", std::int64_t{10000}), 0, 60000);
    const auto step = std::max<std::int64_t>(ctx.arguments().value("stepMs", std::int64_t{100}), 10);
    std::int64_t elapsed = 0;
    while (elapsed < duration) {
      const auto wait = std::min(step, duration - elapsed);
      if (!ctx.wait_for(milliseconds(wait))) return ToolResult::error("cancelled after " + std::to_string(elapsed) + " ms");
      elapsed += wait;
      ctx.report_progress(static_cast<double>(elapsed), static_cast<double>(duration));
    }
    return ToolResult::text("completed after " + std::to_string(elapsed) + " ms");
  });
}

// The values among `candidates` that start with `typed`.
std::vector<std::string> starting_with(std::initializer_list<std::string_view> candidates, std::string_view typed) {
  std::vector<std::string> out;
  for (const auto c : candidates) {
    if (c.substr(0, typed.size()) == typed) out.emplace_back(c);
  }
  return out;
}

ResourceDefinition resource(std::string uri, std::string name, std::string description, std::string mime_type) {
  ResourceDefinition d;
  d.uri = std::move(uri);
  d.name = std::move(name);
  d.description = std::move(description);
  d.mime_type = std::move(mime_type);
  return d;
}

PromptDefinition prompt(std::string name, std::string description, std::vector<std::string> required_arguments = {},
                        std::vector<std::string> argument_descriptions = {}) {
  PromptDefinition d;
  d.name = std::move(name);
  d.description = std::move(description);
  for (std::size_t i = 0; i < required_arguments.size(); ++i) {
    PromptArgument a;
    a.name = std::move(required_arguments[i]);
    if (i < argument_descriptions.size()) a.description = std::move(argument_descriptions[i]);
    a.required = true;
    d.arguments.push_back(std::move(a));
  }
  return d;
}

void add_resources(ResourceRegistry& resources) {
  auto fixed_text = [&](const std::string& uri, std::string name, std::string description, const std::string& text) {
    resources.add(resource(uri, std::move(name), std::move(description), "text/plain"),
                  [uri, text](const std::string&, const UriVariables&) {
                    return std::vector{ResourceContent::text_of(uri, "text/plain", text)};
                  });
  };
  fixed_text("test://static-text", "Static Text Resource", "A static text resource for testing",
             "This is the content of the static text resource.");
  resources.add(resource("test://static-binary", "Static Binary Resource", "A static binary resource (PNG) for testing",
                         "image/png"),
                [](const std::string& uri, const UriVariables&) {
                  return std::vector{ResourceContent::blob_of(uri, "image/png", std::string(kPng))};
                });
  fixed_text("test://watched-resource", "Watched Resource", "A resource clients may subscribe to",
             "Watched resource content");
  ResourceTemplateDefinition family;
  family.uri_template = "test://template/{id}/data";
  family.name = "Resource Template";
  family.description = "A resource template whose {id} the reader substitutes";
  family.mime_type = "application/json";
  resources.add_template(
      std::move(family),
      [](const std::string& uri, const UriVariables& variables) {
        const auto& id = variables.at("id");
        const json data = {{"id", id}, {"templateTest", true}, {"data", "Data for ID: " + id}};
        return std::vector{ResourceContent::text_of(uri, "application/json", data.dump())};
      },
      [](std::string_view argument, std::string_view value, const CompletionContext&) {
        return argument == "id" ? starting_with({"1", "2", "3", "42", "123"}, value) : std::vector<std::string>{};
      });
}

void add_prompts(PromptRegistry& prompts) {
  prompts.add(prompt("test_simple_prompt", "A simple prompt without arguments"),
              [](const PromptArguments&) {
                return PromptResult{}.add("user", text_content("This is a simple prompt for testing."));
              });
  prompts.add(prompt("test_prompt_with_arguments", "A prompt with two required arguments", {"arg1", "arg2"},
                     {"First test argument", "Second test argument"}),
              [](const PromptArguments& args) {
                return PromptResult{}.add("user", text_content("Prompt with arguments: arg1='" + args.at("arg1") +
                                                               "', arg2='" + args.at("arg2") + "'"));
              },
              [](std::string_view argument, std::string_view value, const CompletionContext&) {
                return argument == "arg1" ? starting_with({"paris", "park", "party", "test", "testing"}, value)
                                          : std::vector<std::string>{};
              });
  prompts.add(prompt("test_prompt_with_embedded_resource", "A prompt that embeds a resource", {"resourceUri"},
                     {"URI of the resource to embed"}),
              [](const PromptArguments& args) {
                return PromptResult{}
                    .add("user", embedded_text(args.at("resourceUri"), "Embedded resource content for testing."))
                    .add("user", text_content("Please process the embedded resource above."));
              });
  prompts.add(prompt("test_prompt_with_image", "A prompt with an image"), [](const PromptArguments&) {
    return PromptResult{}.add("user", image_content()).add("user", text_content("Please analyze the image above."));
  });
  prompts.add(prompt("test_input_required_result_prompt", "Asks the user for context before it is built"),
              PromptContextHandler([](const PromptArguments&, ToolContext& ctx) {
                const auto reply = ctx.ask_client(
                    "elicitation/create", elicitation("What context should the prompt use?", "context"), {}, "user_context");
                const auto content = accepted(reply);
                if (content.is_null()) return PromptResult{};  // replaced by the InputRequiredResult, or a retry
                return PromptResult{}.add("user", text_content("Use this context: " + content.value("context", std::string())));
              }));
}

}  // namespace

void add_conformance_set(Catalog& catalog) {
  add_tools(catalog.tools);
  add_modern_tools(catalog.tools, catalog.changes);
  add_resources(catalog.resources);
  add_prompts(catalog.prompts);
}

}  // namespace graceway
