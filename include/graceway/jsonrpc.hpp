#pragma once
// JSON-RPC 2.0 as MCP uses it: the message model and a codec that never throws.
// Decoding classifies every element of a body; invalid elements carry the errc that
// error_mapping turns into a JSON-RPC error, with the id when one could be read.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "graceway/errc.hpp"

namespace graceway::jsonrpc {

using json = nlohmann::json;

// MCP request ids are strings or integers, never null.
using RequestId = std::variant<std::int64_t, std::string>;

[[nodiscard]] json to_json(const RequestId& id);
// A map key that keeps 5 and "5" apart.
[[nodiscard]] std::string key_of(const RequestId& id);
// Reads a RequestId from JSON; nullopt for null, fractions, booleans, objects...
[[nodiscard]] std::optional<RequestId> id_from_json(const json& value);

enum class Kind { request, notification, response, error_response, invalid };

struct Message {
  Kind kind = Kind::invalid;
  std::optional<RequestId> id;  // request, response, error_response; invalid when readable
  std::string method;           // request, notification
  json params;                  // request, notification: object, array or null when absent
  json result;                  // response
  json error;                   // error_response: the error object
  errc problem = errc::invalid_request;  // invalid: why
  std::string detail;                    // invalid: human-readable reason

  [[nodiscard]] bool is_request() const noexcept { return kind == Kind::request; }
};

struct Decoded {
  bool batch = false;           // the body was a JSON array
  std::vector<Message> items;   // one per element (one for a plain object)
  std::optional<Message> fatal; // the whole body is unusable (parse error, empty batch, scalar)
};

// How deep a body may nest arrays and objects. Copying and serialising a JSON value recurses,
// so a small body of a million '[' would exhaust a thread's stack; such bodies are refused
// before they are parsed.
inline constexpr std::size_t kDefaultMaxDepth = 64;

// True when `text` nests arrays/objects deeper than `max_depth` (strings are skipped). Linear,
// allocation-free; meaningful for valid JSON, harmless for anything else.
[[nodiscard]] bool nests_deeper_than(std::string_view text, std::size_t max_depth) noexcept;

// Never throws, whatever the bytes.
[[nodiscard]] Decoded decode(std::string_view body, std::size_t max_depth = kDefaultMaxDepth) noexcept;
// Classifies one already-parsed value.
[[nodiscard]] Message classify(const json& value) noexcept;

// `object[key]` when `object` is an object and that member is a string; never throws, whatever
// the client sent.
[[nodiscard]] std::optional<std::string> string_member(const json& object, std::string_view key);

// Builders for outgoing messages.
[[nodiscard]] json make_result(const RequestId& id, json result);
[[nodiscard]] json make_error(const std::optional<RequestId>& id, int code, std::string_view message,
                              const json& data = nullptr);
[[nodiscard]] json make_notification(std::string_view method, json params);

// The wire form of a decoded message (the inverse of classify); null for Kind::invalid.
[[nodiscard]] json encode(const Message& message);

// Compact serialisation; invalid UTF-8 in strings is replaced, never thrown.
[[nodiscard]] std::string serialize(const json& value) noexcept;

}  // namespace graceway::jsonrpc
