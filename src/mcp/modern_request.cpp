#include "mcp/modern_request.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <map>

#include "mcp/era.hpp"
#include "transport/http_headers.hpp"

namespace graceway::mcp::modern {
namespace {

using json = nlohmann::json;

// A client-supplied value inside a detail: JSON-quoted so control characters show as escapes, and
// cut short so a hostile header cannot fill the log.
std::string shown_value(std::string_view value) {
  constexpr std::size_t kMaxShown = 120;
  const bool cut = value.size() > kMaxShown;
  std::string shown =
      json(std::string(value.substr(0, kMaxShown))).dump(-1, ' ', false, json::error_handler_t::replace);
  if (cut) shown += "...";
  return shown;
}

std::string type_name(const json& value) { return value.type_name(); }

std::string joined(std::span<const std::string_view> items) {
  std::string out;
  for (const auto item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out.empty() ? "none" : out;
}

bool contains(std::span<const std::string_view> items, std::string_view value) {
  return std::find(items.begin(), items.end(), value) != items.end();
}

Problem problem(errc code, std::string detail, json data = nullptr) {
  return Problem{code, std::move(detail), std::move(data)};
}

// One allocation for a detail built inside a loop.
template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::string out;
  (out.append(parts), ...);
  return out;
}

// --- header values ---------------------------------------------------------------------------

// Visible ASCII and interior spaces: what a client may send without the Base64 form.
std::string literal_problem(std::string_view value) {
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) return "it contains a control character (a client must Base64-encode such a value)";
    if (byte > 0x7E) return "it contains a byte outside ASCII (a client must send such a value as =?base64?...?=)";
  }
  return {};
}

constexpr std::uint8_t kNotBase64 = 0xFF;

constexpr std::array<std::uint8_t, 256> make_base64_values() {
  constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::array<std::uint8_t, 256> values{};
  values.fill(kNotBase64);
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    values[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::uint8_t>(i);
  }
  return values;
}

constexpr std::array<std::uint8_t, 256> kBase64Values = make_base64_values();

// Standard-alphabet Base64 with its padding, in the one spelling an encoder produces: a value
// with two spellings could pass a proxy's check in one and reach us in the other.
std::optional<std::string> base64_decode(std::string_view text, std::string& why) {
  // Foreign characters first: "!!!" says more about the value than the length it leads to.
  const std::size_t digits_end = text.find_last_not_of('=') + 1;  // npos + 1 == 0: all '='
  for (std::size_t i = 0; i < digits_end; ++i) {
    if (kBase64Values[static_cast<unsigned char>(text[i])] == kNotBase64) {
      why = "its Base64 contains " + shown_value(text.substr(i, 1)) +
            (text[i] == '=' ? " before the end ('=' is only final padding)"
                            : ", which is not in the standard alphabet (A-Z a-z 0-9 + /, '=' only as final padding)");
      return std::nullopt;
    }
  }
  const std::size_t padding = text.size() - digits_end;
  if (padding > 2) {
    why = "its Base64 ends in " + std::to_string(padding) + " '=' (at most 2 pad a value)";
    return std::nullopt;
  }
  if (text.size() % 4 != 0) {
    why = "its Base64 is " + std::to_string(text.size()) +
          " characters long, not a multiple of 4 (the '=' padding is required)";
    return std::nullopt;
  }
  std::string out;
  out.reserve(text.size() / 4 * 3);
  std::uint32_t accumulator = 0;
  unsigned bits = 0;
  for (const char c : text.substr(0, digits_end)) {
    accumulator = (accumulator << 6U) | kBase64Values[static_cast<unsigned char>(c)];
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((accumulator >> bits) & 0xFFU));
      accumulator &= (1U << bits) - 1U;
    }
  }
  // With the length a multiple of 4, one or two '=' leave 4 or 2 bits over; an encoder zeroes them.
  if (accumulator != 0) {
    why = "its Base64 is not canonical (the bits before the '=' padding are not zero)";
    return std::nullopt;
  }
  return out;
}

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    std::uint32_t code = 0;
    std::uint32_t minimum = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    }
    if ((lead & 0xE0U) == 0xC0U) {
      length = 2;
      code = lead & 0x1FU;
      minimum = 0x80;
    } else if ((lead & 0xF0U) == 0xE0U) {
      length = 3;
      code = lead & 0x0FU;
      minimum = 0x800;
    } else if ((lead & 0xF8U) == 0xF0U) {
      length = 4;
      code = lead & 0x07U;
      minimum = 0x10000;
    } else {
      return false;  // a continuation byte first, or 0xF8..0xFF
    }
    if (text.size() - i < length) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0U) != 0x80U) return false;
      code = (code << 6U) | (next & 0x3FU);
    }
    if (code < minimum || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += length;
  }
  return true;
}

bool is_encoded_form(std::string_view value) {
  return value.size() >= kBase64Prefix.size() + kBase64Suffix.size() && value.starts_with(kBase64Prefix) &&
         value.ends_with(kBase64Suffix);
}

struct HeaderValue {
  std::optional<std::string> value;
  std::string why;  // set when value is nullopt
  bool encoded = false;
};

HeaderValue read_header_value(std::string_view raw) {
  HeaderValue out;
  const std::string_view value = http::trim(raw);
  if (is_encoded_form(value)) {
    out.encoded = true;
    const std::string_view payload =
        value.substr(kBase64Prefix.size(), value.size() - kBase64Prefix.size() - kBase64Suffix.size());
    auto decoded = base64_decode(payload, out.why);
    if (!decoded) return out;
    if (!valid_utf8(*decoded)) {
      out.why = "its Base64 decodes to bytes that are not valid UTF-8";
      return out;
    }
    out.value = std::move(decoded);
    return out;
  }
  out.why = literal_problem(value);
  if (out.why.empty()) out.value = std::string(value);
  return out;
}

bool is_plain(std::string_view value) {
  if (!value.empty() && (value.front() == ' ' || value.back() == ' ')) return false;
  return literal_problem(value).empty() && !is_encoded_form(value);
}

std::string base64_encode(std::string_view bytes) {
  constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t n = (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16U) |
                            (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8U) |
                            static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(n >> 18U) & 0x3FU];
    out += kAlphabet[(n >> 12U) & 0x3FU];
    out += kAlphabet[(n >> 6U) & 0x3FU];
    out += kAlphabet[n & 0x3FU];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16U;
    if (rest == 2) n |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8U;
    out += kAlphabet[(n >> 18U) & 0x3FU];
    out += kAlphabet[(n >> 12U) & 0x3FU];
    out += rest == 2 ? kAlphabet[(n >> 6U) & 0x3FU] : '=';
    out += '=';
  }
  return out;
}

// --- x-mcp-header annotations ---------------------------------------------------------------

struct Annotation {
  std::vector<std::string> path;  // property names from the root, through "properties"
  std::string header;             // <Name> of Mcp-Param-<Name>
};

// Bounds the walks over a schema (server-written, but a generated one may nest deeply).
constexpr int kMaxSchemaDepth = 64;

void collect_annotations(const json& schema, std::vector<std::string>& path, std::vector<Annotation>& out,
                         int depth) {
  if (depth > kMaxSchemaDepth || !schema.is_object()) return;
  const auto properties = schema.find("properties");
  if (properties == schema.end() || !properties->is_object()) return;
  for (const auto& [name, property] : properties->items()) {
    if (!property.is_object()) continue;
    path.push_back(name);
    const auto header = property.find(kSchemaHeaderKeyword);
    if (header != property.end() && header->is_string()) {
      out.push_back({path, header->get<std::string>()});
    }
    collect_annotations(property, path, out, depth + 1);
    path.pop_back();
  }
}

std::string dotted(const std::vector<std::string>& path) {
  std::string out;
  for (const auto& part : path) {
    if (!out.empty()) out += '.';
    out += part;
  }
  return out;
}

// The argument at `path`; nullptr when some step is missing or not an object.
const json* argument_at(const json& arguments, const std::vector<std::string>& path) {
  const json* at = &arguments;
  for (const auto& part : path) {
    if (!at->is_object()) return nullptr;
    const auto next = at->find(part);
    if (next == at->end()) return nullptr;
    at = &*next;
  }
  return at;
}

// Empty when `header_value` (decoded) mirrors `argument`, else why not.
std::string mirror_problem(const json& argument, const std::string& header_value) {
  if (argument.is_string()) {
    if (header_value == argument.get_ref<const std::string&>()) return {};
    return "it is " + shown_value(header_value) + " but the argument is " + shown_value(argument.get_ref<const std::string&>());
  }
  if (argument.is_boolean()) {
    const std::string_view expected = argument.get<bool>() ? "true" : "false";
    if (header_value == expected) return {};
    return "it is " + shown_value(header_value) + " but the argument is " + std::string(expected) +
           " (booleans are sent as true or false, lowercase)";
  }
  if (argument.is_number()) {
    const json number = json::parse(header_value, nullptr, /*allow_exceptions=*/false);
    if (!number.is_number()) return "it is " + shown_value(header_value) + ", not a number, but the argument is " + argument.dump();
    // nlohmann compares integer with floating point as doubles: 42 == 42.0, as the spec asks.
    if (number == argument) return {};
    return "it is " + shown_value(header_value) + " but the argument is " + argument.dump();
  }
  return "the argument is " + type_name(argument) + ", and only strings, integers and booleans are mirrored in headers";
}

bool is_tchar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c)) != 0) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x80 && is_tchar(c);
  });
}

std::string lowered(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string pointer_append(const std::string& pointer, std::string_view key) {
  std::string out = pointer + '/';
  for (const char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string shown_pointer(const std::string& pointer) { return pointer.empty() ? "the schema root" : pointer; }

// Keywords whose values are instance data, not schemas: an "x-mcp-header" key inside is data.
bool is_data_keyword(std::string_view key) {
  return key == "enum" || key == "const" || key == "default" || key == "examples";
}

// The type of an annotated property allows a header: string, integer or boolean, optionally
// together with "null" (a null argument sends no header).
bool mirrorable_type(const json& type) {
  const auto scalar = [](const json& t) {
    return t.is_string() && (t == "string" || t == "integer" || t == "boolean");
  };
  if (type.is_string()) return scalar(type);
  if (!type.is_array()) return false;
  int scalars = 0;
  for (const auto& t : type) {
    if (scalar(t)) {
      ++scalars;
    } else if (t != "null") {
      return false;
    }
  }
  return scalars == 1;
}

class AnnotationAudit {
 public:
  std::vector<std::string> problems;

  // A schema reached from the root through "properties" alone.
  void reachable(const json& schema, const std::string& pointer, int depth) {
    if (!too_deep(pointer, depth) && schema.is_object()) {
      for (const auto& [key, value] : schema.items()) {
        if (key == kSchemaHeaderKeyword) {
          annotation(schema, value, pointer);
        } else if (key == "properties" && value.is_object()) {
          for (const auto& [name, property] : value.items()) {
            reachable(property, pointer_append(pointer_append(pointer, "properties"), name), depth + 1);
          }
        } else if (!is_data_keyword(key)) {
          unreachable(value, pointer_append(pointer, key), depth + 1);
        }
      }
    }
  }

 private:
  std::map<std::string, std::string> seen_;  // lowercased header name -> pointer of its first use

  bool too_deep(const std::string& pointer, int depth) {
    if (depth <= kMaxSchemaDepth) return false;
    problems.push_back("the schema nests deeper than " + std::to_string(kMaxSchemaDepth) + " levels at " + pointer +
                       "; x-mcp-header annotations below it cannot be checked");
    return true;
  }

  void annotation(const json& schema, const json& value, const std::string& pointer) {
    const std::string where = "x-mcp-header at " + shown_pointer(pointer);
    if (pointer.empty()) {
      problems.push_back(where + " annotates the schema itself, not one of its properties");
      return;
    }
    if (!value.is_string()) {
      problems.push_back(where + " is " + type_name(value) + "; it must be a header name (a string)");
      return;
    }
    const auto& name = value.get_ref<const std::string&>();
    if (!is_token(name)) {
      problems.push_back(where + " is " + shown_value(name) +
                         ", not a valid header name (a non-empty RFC 9110 token: letters, digits and !#$%&'*+-.^_`|~)");
    } else if (const auto [first, inserted] = seen_.emplace(lowered(name), pointer); !inserted) {
      problems.push_back(where + " names Mcp-Param-" + name + ", which " + first->second +
                         " already names (header names ignore case)");
    }
    const auto type = schema.find("type");
    if (type == schema.end()) {
      problems.push_back(where + " is on a property without a \"type\"; only string, integer and boolean properties can be mirrored");
    } else if (!mirrorable_type(*type)) {
      problems.push_back(where + " is on a property of type " + type->dump() +
                         "; only string, integer and boolean properties can be mirrored");
    }
  }

  // Anything under a schema keyword other than "properties" (items, oneOf, $defs, ...): clients
  // cannot find an argument there, so an annotation there is refused.
  void unreachable(const json& value, const std::string& pointer, int depth) {
    if (too_deep(pointer, depth)) return;
    if (value.is_array()) {
      for (std::size_t i = 0; i < value.size(); ++i) unreachable(value[i], pointer_append(pointer, std::to_string(i)), depth + 1);
      return;
    }
    if (!value.is_object()) return;
    for (const auto& [key, member] : value.items()) {
      // An object under this key is a named subschema in a map ($defs, patternProperties, ...).
      if (key == kSchemaHeaderKeyword && !member.is_object()) {
        problems.push_back("x-mcp-header at " + pointer +
                           " is not reachable from the schema root through \"properties\" alone, so clients cannot mirror it");
        continue;
      }
      if (!is_data_keyword(key)) unreachable(member, pointer_append(pointer, key), depth + 1);
    }
  }
};

}  // namespace

bool claims_modern(const jsonrpc::Message& m) {
  if (!m.params.is_object()) return false;
  const auto meta = m.params.find("_meta");
  return meta != m.params.end() && meta->is_object() && meta->contains(kMetaProtocolVersion);
}

std::optional<std::string> decode_header_value(std::string_view raw) { return read_header_value(raw).value; }

std::string header_value_problem(std::string_view raw) { return read_header_value(raw).why; }

std::string encode_header_value(std::string_view value) {
  if (is_plain(value)) return std::string(value);
  return std::string(kBase64Prefix) + base64_encode(value) + std::string(kBase64Suffix);
}

FrontResult check_front(const jsonrpc::Message& request, const RoutingHeaders& headers,
                        std::span<const std::string_view> served_versions, bool tolerate_legacy_header,
                        std::span<const std::string_view> legacy_versions) {
  FrontResult out;
  const auto fail = [&](Problem p) {
    out.problem = std::move(p);
    return out;
  };
  const std::string needs = std::string("; a 2026-07-28 request carries params._meta with \"") +
                            std::string(kMetaProtocolVersion) + "\" (a string) and \"" +
                            std::string(kMetaClientCapabilities) + "\" (an object, {} when it declares none)";

  // 1. The envelope.
  if (!request.params.is_object()) {
    return fail(problem(errc::invalid_meta, request.params.is_null()
                                                ? "the request has no params" + needs
                                                : "params is " + type_name(request.params) + ", not an object" + needs));
  }
  const auto meta = request.params.find("_meta");
  if (meta == request.params.end()) return fail(problem(errc::invalid_meta, "params has no _meta" + needs));
  if (!meta->is_object()) {
    return fail(problem(errc::invalid_meta, "params._meta is " + type_name(*meta) + ", not an object" + needs));
  }
  const auto version = meta->find(kMetaProtocolVersion);
  if (version == meta->end()) {
    return fail(problem(errc::invalid_meta, "params._meta has no \"" + std::string(kMetaProtocolVersion) + "\"" + needs));
  }
  if (!version->is_string()) {
    return fail(problem(errc::invalid_meta, "params._meta[\"" + std::string(kMetaProtocolVersion) + "\"] is " +
                                                type_name(*version) + ", not a string such as \"2026-07-28\""));
  }
  const auto capabilities = meta->find(kMetaClientCapabilities);
  if (capabilities == meta->end()) {
    return fail(
        problem(errc::invalid_meta, "params._meta has no \"" + std::string(kMetaClientCapabilities) + "\"" + needs));
  }
  if (!capabilities->is_object()) {
    return fail(problem(errc::invalid_meta, "params._meta[\"" + std::string(kMetaClientCapabilities) + "\"] is " +
                                                type_name(*capabilities) +
                                                ", not an object ({} when the client declares no capabilities)"));
  }
  std::optional<LogLevel> log_level;
  if (const auto level = meta->find(kMetaLogLevel); level != meta->end()) {
    if (level->is_string()) log_level = parse_log_level(level->get_ref<const std::string&>());
    if (!log_level) {
      return fail(problem(errc::invalid_meta,
                          "params._meta[\"" + std::string(kMetaLogLevel) + "\"] is " +
                              (level->is_string() ? shown_value(level->get_ref<const std::string&>()) : type_name(*level)) +
                              "; it must be one of debug, info, notice, warning, error, critical, alert, emergency"));
    }
  }
  out.envelope.version = version->get<std::string>();
  out.envelope.client_capabilities = *capabilities;
  out.envelope.log_level = log_level;
  // Self-reported and advisory: a malformed clientInfo is dropped rather than refused.
  if (const auto info = meta->find(kMetaClientInfo); info != meta->end() && info->is_object()) {
    out.envelope.client_info = *info;
  }
  const std::string& body_version = out.envelope.version;

  // 2. Routing headers sent once, and MCP-Protocol-Version equal to the body's version. Repeats
  // are refused before any header is compared, since which copy to compare is the question.
  if (headers.repeated) {
    return fail(problem(errc::header_mismatch,
                        "a routing header (MCP-Protocol-Version, Mcp-Method or Mcp-Name) was sent more than once; send "
                        "each once, since readers taking the first copy and readers taking the last would disagree"));
  }
  if (!headers.protocol_version) {
    return fail(problem(errc::header_mismatch, "the MCP-Protocol-Version header is missing; params._meta names version " +
                                                   shown_value(body_version) + " and the header must repeat it"));
  }
  const std::string_view header_version = http::trim(*headers.protocol_version);
  if (header_version != body_version) {
    if (tolerate_legacy_header && contains(legacy_versions, header_version) && contains(served_versions, body_version)) {
      out.tolerated_legacy_header = true;
    } else {
      return fail(problem(errc::header_mismatch, "the MCP-Protocol-Version header is " + shown_value(header_version) +
                                                     " but params._meta[\"" + std::string(kMetaProtocolVersion) +
                                                     "\"] is " + shown_value(body_version) + "; they must be equal"));
    }
  }

  // 3. A version this server serves.
  if (!contains(served_versions, body_version)) {
    return fail(problem(errc::unsupported_modern_version,
                        "protocol version " + shown_value(body_version) + " is not served here; supported: " +
                            joined(served_versions),
                        json{{"supported", version_list(served_versions)}, {"requested", body_version}}));
  }

  // 4. Mcp-Method equal to the method, case and all.
  if (!headers.method) {
    return fail(problem(errc::header_mismatch,
                        "the Mcp-Method header is missing; it must repeat the body's method " + shown_value(request.method)));
  }
  const std::string_view header_method = http::trim(*headers.method);
  if (header_method != request.method) {
    return fail(problem(errc::header_mismatch, "the Mcp-Method header is " + shown_value(header_method) +
                                                   " but the body's method is " + shown_value(request.method) +
                                                   " (header values are case-sensitive)"));
  }

  // 5. Mcp-Name for the methods that name their target. A body without that member (or with a
  // non-string one) is left to the method's own params check, whose -32602 says what is missing.
  std::string_view mirrored;
  if (request.method == "tools/call" || request.method == "prompts/get") {
    mirrored = "name";
  } else if (request.method == "resources/read") {
    mirrored = "uri";
  }
  if (!mirrored.empty()) {
    if (const auto body_name = jsonrpc::string_member(request.params, mirrored)) {
      const std::string field = "params." + std::string(mirrored);
      if (!headers.name) {
        return fail(problem(errc::header_mismatch, "the Mcp-Name header is missing; " + request.method +
                                                       " must repeat " + field + " " + shown_value(*body_name) +
                                                       " in it (as =?base64?...?= when not plain ASCII)"));
      }
      const HeaderValue name = read_header_value(*headers.name);
      if (!name.value) {
        return fail(problem(errc::header_mismatch,
                            "the Mcp-Name header " + shown_value(http::trim(*headers.name)) + " is not valid: " + name.why));
      }
      if (*name.value != *body_name) {
        return fail(problem(errc::header_mismatch,
                            "the Mcp-Name header " + std::string(name.encoded ? "decodes to " : "is ") +
                                shown_value(*name.value) + " but " + field + " is " + shown_value(*body_name)));
      }
    }
  }
  return out;
}

std::optional<Problem> check_param_headers(const json& input_schema, const json& arguments,
                                           const RoutingHeaders& headers) {
  std::vector<Annotation> annotations;
  std::vector<std::string> path;
  collect_annotations(input_schema, path, annotations, 0);
  for (const auto& annotation : annotations) {
    const std::string header = std::string(kHeaderParamPrefix) + annotation.header;
    const std::string argument_name = "argument " + shown_value(dotted(annotation.path));
    std::optional<std::string_view> raw;
    std::size_t copies = 0;
    for (const auto& [name, value] : headers.params) {
      if (http::iequals(name, annotation.header)) {
        ++copies;
        raw = value;
      }
    }
    if (copies > 1) {
      return problem(errc::header_mismatch, concat("the ", header, " header was sent ", std::to_string(copies),
                                                   " times; it must be sent once, mirroring ", argument_name));
    }
    const json* argument = argument_at(arguments, annotation.path);
    if (argument == nullptr || argument->is_null()) {
      if (raw) {
        return problem(errc::header_mismatch,
                       concat("the ", header, " header was sent but ", argument_name, " is ",
                              std::string_view(argument == nullptr ? "absent" : "null"),
                              "; a client omits the header when the argument has no value"));
      }
      continue;
    }
    if (!raw) {
      return problem(errc::header_mismatch,
                     concat("the ", header, " header is missing; the tool mirrors ", argument_name, " (",
                            argument->dump(-1, ' ', false, json::error_handler_t::replace), ") in it"));
    }
    const HeaderValue value = read_header_value(*raw);
    if (!value.value) {
      return problem(errc::header_mismatch,
                     concat("the ", header, " header ", shown_value(http::trim(*raw)), " is not valid: ", value.why));
    }
    if (auto why = mirror_problem(*argument, *value.value); !why.empty()) {
      return problem(errc::header_mismatch, concat("the ", header, " header does not match ", argument_name, ": ", why));
    }
  }
  return std::nullopt;
}

std::vector<std::string> header_annotations_problems(const json& input_schema) {
  AnnotationAudit audit;
  audit.reachable(input_schema, "", 0);
  return std::move(audit.problems);
}

}  // namespace graceway::mcp::modern
