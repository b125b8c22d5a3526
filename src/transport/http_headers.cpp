#include "transport/http_headers.hpp"

#include <algorithm>
#include <cctype>

namespace graceway::http {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string percent_encode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : value) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4U]);
      out.push_back(kHex[c & 0x0FU]);
    }
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Splits "a, b;q=0.5" on commas, calling f(media_range, q_is_zero) for each element.
template <typename F>
void for_each_media_range(std::string_view header, F f) {
  while (!header.empty()) {
    const auto comma = header.find(',');
    std::string_view element = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    const auto semi = element.find(';');
    const std::string_view range = trim(element.substr(0, semi));
    bool q_zero = false;
    if (semi != std::string_view::npos) {
      std::string_view params = element.substr(semi + 1);
      while (!params.empty()) {
        const auto next = params.find(';');
        const auto param = trim(params.substr(0, next));
        params = next == std::string_view::npos ? std::string_view{} : params.substr(next + 1);
        if (param.size() >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
          const auto value = trim(param.substr(2));
          q_zero = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) { return c == '0' || c == '.'; });
        }
      }
    }
    if (!range.empty()) f(range, q_zero);
  }
}

// "name[:port]" split in two; "[v6]" keeps its brackets. nullopt for an empty name, an empty or
// non-numeric port, or a malformed bracket.
struct Authority {
  std::string_view name;
  std::string_view port;  // empty: none given
};
std::optional<Authority> split_authority(std::string_view authority) {
  Authority out;
  std::string_view rest;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    out.name = authority.substr(0, close + 1);
    rest = authority.substr(close + 1);
  } else {
    const auto colon = authority.find(':');
    out.name = authority.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view{} : authority.substr(colon);
  }
  if (!rest.empty()) {
    if (rest.front() != ':') return std::nullopt;
    out.port = rest.substr(1);
    if (out.port.empty() || !std::all_of(out.port.begin(), out.port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::nullopt;
    }
  }
  if (out.name.empty() || out.name == "[]") return std::nullopt;
  return out;
}

}  // namespace

bool is_json_content_type(std::string_view content_type) {
  const auto semi = content_type.find(';');
  return iequals(trim(content_type.substr(0, semi)), "application/json");
}

Acceptable parse_accept(std::string_view accept) {
  if (trim(accept).empty()) return {true, true};
  Acceptable out;
  for_each_media_range(accept, [&](std::string_view range, bool q_zero) {
    if (q_zero) return;
    if (range == "*/*") {
      out.json = out.sse = true;
    } else if (iequals(range, "application/json") || iequals(range, "application/*")) {
      out.json = true;
    } else if (iequals(range, "text/event-stream") || iequals(range, "text/*")) {
      out.sse = true;
    }
  });
  return out;
}

bool is_loopback_host(std::string_view host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

bool origin_allowed(std::string_view origin, const std::vector<std::string>& allowed, bool loopback_bound) {
  origin = trim(origin);
  if (origin.empty()) return true;
  if (!allowed.empty()) {
    // An explicit list replaces the default (docs/configuration.md, --allowed-origins).
    return std::any_of(allowed.begin(), allowed.end(),
                       [&](const std::string& entry) { return entry == "*" || iequals(entry, origin); });
  }
  if (!loopback_bound) return false;
  const std::string o = lower(origin);
  std::string_view rest(o);
  if (rest.rfind("http://", 0) == 0) {
    rest.remove_prefix(7);
  } else if (rest.rfind("https://", 0) == 0) {
    rest.remove_prefix(8);
  } else {
    return false;  // "null", file://, chrome-extension://, ...
  }
  std::string_view host = rest;
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string_view::npos) return false;
    const auto after = host.substr(close + 1);
    if (!after.empty() && after.front() != ':') return false;
    host = host.substr(0, close + 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  if (host.find('/') != std::string_view::npos) return false;
  return host == "localhost" || host == "127.0.0.1" || host == "[::1]";
}

bool host_allowed(std::optional<std::string_view> host, const std::vector<std::string>& allowed, bool loopback_bound,
                  std::string_view bound_host) {
  const bool any = allowed.empty() ? !loopback_bound
                                   : std::find(allowed.begin(), allowed.end(), "*") != allowed.end();
  if (any) return true;
  const auto given = split_authority(trim(host.value_or("")));
  if (!given) return false;
  auto matches = [&](std::string_view entry) {
    const auto want = split_authority(trim(entry));
    return want && iequals(want->name, given->name) && (want->port.empty() || want->port == given->port);
  };
  if (!allowed.empty()) return std::any_of(allowed.begin(), allowed.end(), matches);
  if (matches("localhost") || matches("127.0.0.1") || matches("[::1]")) return true;
  if (bound_host.empty()) return false;
  // --host takes a bare IPv6 address ("::1"); Host brackets it.
  const bool bare_ipv6 = bound_host.find(':') != std::string_view::npos && bound_host.front() != '[';
  if (!bare_ipv6) return matches(bound_host);
  // Built by appending: gcc 12 at -O3 reports a false -Wrestrict for `"[" + std::string(...)`.
  std::string bracketed(1, '[');
  bracketed.append(bound_host).push_back(']');
  return matches(bracketed);
}

}  // namespace graceway::http

namespace graceway::http {

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] != '%') {
      out.push_back(s[i]);
    } else {
      const int hi = i + 2 < s.size() ? hex_value(s[i + 1]) : -1;
      const int lo = hi >= 0 ? hex_value(s[i + 2]) : -1;
      if (lo < 0) return std::nullopt;
      out.push_back(static_cast<char>((hi << 4) | lo));
      i += 2;
    }
  }
  return out;
}

std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto eq = pair.find('=');
    const auto key = percent_decode(pair.substr(0, eq));
    if (!key || *key != name) continue;
    return eq == std::string_view::npos ? std::string{} : percent_decode(pair.substr(eq + 1));
  }
  return std::nullopt;
}

}  // namespace graceway::http
