#include "graceway/jsonrpc.hpp"

#include <limits>

namespace graceway::jsonrpc {

json to_json(const RequestId& id) {
  return std::visit([](const auto& v) { return json(v); }, id);
}

std::string key_of(const RequestId& id) {
  if (const auto* n = std::get_if<std::int64_t>(&id)) return "i:" + std::to_string(*n);
  return "s:" + std::get<std::string>(id);
}

std::optional<RequestId> id_from_json(const json& value) {
  if (value.is_string()) return RequestId{value.get_ref<const std::string&>()};
  if (value.is_number_integer() && !value.is_number_unsigned()) {
    return RequestId{value.get<std::int64_t>()};
  }
  if (value.is_number_unsigned()) {
    const auto u = value.get<std::uint64_t>();
    if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return RequestId{static_cast<std::int64_t>(u)};
    }
  }
  return std::nullopt;  // null, fractions, booleans, arrays, objects, huge integers
}

namespace {

Message invalid(std::optional<RequestId> id, errc problem, std::string detail) {
  Message m;
  m.kind = Kind::invalid;
  m.id = std::move(id);
  m.problem = problem;
  m.detail = std::move(detail);
  return m;
}

}  // namespace

Message classify(const json& value) noexcept {
  try {
    if (!value.is_object()) return invalid(std::nullopt, errc::invalid_request, "message must be a JSON object");
    const auto version = value.find("jsonrpc");
    std::optional<RequestId> id;
    const auto id_it = value.find("id");
    const bool has_id = id_it != value.end();
    if (has_id) id = id_from_json(*id_it);
    if (version == value.end() || !version->is_string() || version->get_ref<const std::string&>() != "2.0") {
      return invalid(id, errc::invalid_request, "\"jsonrpc\" must be \"2.0\"");
    }

    const auto method = value.find("method");
    if (method != value.end()) {
      if (!method->is_string()) return invalid(id, errc::invalid_request, "\"method\" must be a string");
      Message m;
      m.method = method->get<std::string>();
      const auto params = value.find("params");
      if (params != value.end()) {
        if (!params->is_object() && !params->is_array()) {
          return invalid(id, errc::invalid_request, "\"params\" must be an object or an array");
        }
        m.params = *params;
      }
      if (!has_id) {
        m.kind = Kind::notification;
        return m;
      }
      if (!id) return invalid(std::nullopt, errc::invalid_request, "request \"id\" must be a string or an integer");
      m.kind = Kind::request;
      m.id = std::move(id);
      return m;
    }

    const auto result = value.find("result");
    const auto error = value.find("error");
    const bool has_result = result != value.end();
    const bool has_error = error != value.end();
    if (has_result == has_error || !has_id) {
      return invalid(id, errc::invalid_request, "not a request, notification or response");
    }
    Message m;
    if (has_result) {
      if (!id) return invalid(std::nullopt, errc::invalid_request, "response \"id\" must be a string or an integer");
      m.kind = Kind::response;
      m.id = std::move(id);
      m.result = *result;
      return m;
    }
    if (!error->is_object() || !error->contains("code") || !(*error)["code"].is_number_integer()) {
      return invalid(id, errc::invalid_request, "\"error\" must be an object with an integer \"code\"");
    }
    if (!id && !id_it->is_null()) {
      return invalid(std::nullopt, errc::invalid_request, "error \"id\" must be a string, an integer or null");
    }
    m.kind = Kind::error_response;
    m.id = std::move(id);
    m.error = *error;
    return m;
  } catch (...) {
    // nlohmann only throws here on type confusion we have already ruled out; keep the promise.
    return invalid(std::nullopt, errc::invalid_request, "malformed message");
  }
}

bool nests_deeper_than(std::string_view text, std::size_t max_depth) noexcept {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"': in_string = true; break;
      case '[':
      case '{':
        if (++depth > max_depth) return true;
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default: break;
    }
  }
  return false;
}

Decoded decode(std::string_view body, std::size_t max_depth) noexcept {
  Decoded out;
  try {
    if (nests_deeper_than(body, max_depth)) {
      out.fatal = invalid(std::nullopt, errc::invalid_request,
                          "JSON nested deeper than " + std::to_string(max_depth) + " levels");
      return out;
    }
    const json value = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) {
      out.fatal = invalid(std::nullopt, errc::parse_error, "body is not valid JSON");
      return out;
    }
    if (value.is_array()) {
      out.batch = true;
      if (value.empty()) {
        out.fatal = invalid(std::nullopt, errc::invalid_request, "empty batch");
        return out;
      }
      out.items.reserve(value.size());
      for (const auto& element : value) out.items.push_back(classify(element));
      return out;
    }
    if (!value.is_object()) {
      out.fatal = invalid(std::nullopt, errc::invalid_request, "message must be a JSON object");
      return out;
    }
    out.items.push_back(classify(value));
  } catch (...) {
    out.items.clear();
    out.fatal = invalid(std::nullopt, errc::internal_error, "out of memory while decoding");
  }
  return out;
}

std::optional<std::string> string_member(const json& object, std::string_view key) {
  if (!object.is_object()) return std::nullopt;
  const auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

json make_result(const RequestId& id, json result) {
  return json{{"jsonrpc", "2.0"}, {"id", to_json(id)}, {"result", std::move(result)}};
}

json make_error(const std::optional<RequestId>& id, int code, std::string_view message, const json& data) {
  json error = {{"code", code}, {"message", std::string(message)}};
  if (!data.is_null()) error["data"] = data;
  return json{{"jsonrpc", "2.0"}, {"id", id ? to_json(*id) : json(nullptr)}, {"error", std::move(error)}};
}

json make_notification(std::string_view method, json params) {
  json n = {{"jsonrpc", "2.0"}, {"method", std::string(method)}};
  if (!params.is_null()) n["params"] = std::move(params);
  return n;
}

json encode(const Message& message) {
  json out = {{"jsonrpc", "2.0"}};
  switch (message.kind) {
    case Kind::request:
    case Kind::notification:
      if (message.id) out["id"] = to_json(*message.id);
      out["method"] = message.method;
      if (!message.params.is_null()) out["params"] = message.params;
      return out;
    case Kind::response:
      out["id"] = message.id ? to_json(*message.id) : json(nullptr);
      out["result"] = message.result;
      return out;
    case Kind::error_response:
      out["id"] = message.id ? to_json(*message.id) : json(nullptr);
      out["error"] = message.error;
      return out;
    case Kind::invalid: break;
  }
  return nullptr;
}

std::string serialize(const json& value) noexcept {
  try {
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
  } catch (...) {
    return R"({"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Internal error"}})";
  }
}

}  // namespace graceway::jsonrpc
