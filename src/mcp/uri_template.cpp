#include "graceway/uri_template.hpp"

#include <algorithm>

namespace graceway {
namespace {

bool is_varchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
}

}  // namespace

std::optional<UriTemplate> UriTemplate::parse(std::string_view text) {
  UriTemplate t;
  t.text_ = std::string(text);
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '}') return std::nullopt;
    if (text[i] != '{') {
      const auto next = text.find_first_of("{}", i);
      const auto end = next == std::string_view::npos ? text.size() : next;
      t.parts_.push_back({false, std::string(text.substr(i, end - i))});
      i = end;
      continue;
    }
    const auto close = text.find('}', i);
    if (close == std::string_view::npos) return std::nullopt;
    const auto name = text.substr(i + 1, close - i - 1);
    if (name.empty() || !std::all_of(name.begin(), name.end(), is_varchar)) return std::nullopt;
    if (!t.parts_.empty() && t.parts_.back().variable) return std::nullopt;
    if (std::find(t.variables_.begin(), t.variables_.end(), name) != t.variables_.end()) return std::nullopt;
    t.parts_.push_back({true, std::string(name)});
    t.variables_.emplace_back(name);
    i = close + 1;
  }
  return t;
}

std::optional<UriVariables> UriTemplate::match(std::string_view uri) const {
  UriVariables values;
  std::size_t pos = 0;
  for (std::size_t p = 0; p < parts_.size(); ++p) {
    const auto& part = parts_[p];
    if (!part.variable) {
      if (uri.substr(pos, part.text.size()) != part.text) return std::nullopt;
      pos += part.text.size();
      continue;
    }
    // A value runs to the next '/' or, when a literal follows, to that literal's first
    // occurrence; values never contain '/', so the first occurrence is the only candidate.
    auto end = uri.find('/', pos);
    if (end == std::string_view::npos) end = uri.size();
    if (p + 1 < parts_.size()) {
      const auto& literal = parts_[p + 1].text;
      const auto at = uri.substr(0, end + literal.size()).find(literal, pos + 1);
      if (at == std::string_view::npos || at > end) return std::nullopt;
      end = at;
    }
    if (end <= pos) return std::nullopt;
    values.emplace(part.text, std::string(uri.substr(pos, end - pos)));
    pos = end;
  }
  if (pos != uri.size()) return std::nullopt;
  return values;
}

}  // namespace graceway
