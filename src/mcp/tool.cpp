#include "graceway/tool.hpp"

#include <condition_variable>
#include <mutex>

namespace graceway {

nlohmann::json ToolDefinition::to_json() const {
  nlohmann::json tool = {{"name", name}, {"inputSchema", input_schema}};
  if (!title.empty()) tool["title"] = title;
  if (!description.empty()) tool["description"] = description;
  if (!output_schema.is_null()) tool["outputSchema"] = output_schema;
  if (!annotations.is_null()) tool["annotations"] = annotations;
  return tool;
}

ToolResult ToolResult::text(std::string text) {
  ToolResult r;
  r.content.push_back({{"type", "text"}, {"text", std::move(text)}});
  return r;
}

ToolResult ToolResult::error(std::string message) {
  ToolResult r = text(std::move(message));
  r.is_error = true;
  return r;
}

nlohmann::json ToolResult::to_json() const {
  nlohmann::json result = {{"content", content}};
  if (is_error) result["isError"] = true;
  if (!structured_content.is_null()) result["structuredContent"] = structured_content;
  return result;
}

bool ToolContext::wait_for(std::chrono::milliseconds d) const {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock lock(mu);
  // Nothing notifies cv: it wakes on the timeout or when the stop token fires.
  cv.wait_for(lock, stop_token(), d, [] { return false; });
  return !cancelled();
}

}  // namespace graceway
