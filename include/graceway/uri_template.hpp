#pragma once
// RFC 6570 level 1 URI templates, as resource templates use them: literal text and simple
// `{name}` expressions. Matching a URI recovers each variable's value; a value is one or more
// characters and never contains '/', so `test://template/{id}/data` matches
// `test://template/123/data` with id = "123" and nothing else. A value ends at the first
// occurrence of the literal that follows it (no backtracking).

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace graceway {

using UriVariables = std::map<std::string, std::string, std::less<>>;

class UriTemplate {
public:
  // nullopt when `text` is not a level-1 template: an unclosed or empty `{}`, an operator
  // (`{+x}`, `{?x}`, ...), a variable used twice, or two expressions with no literal between them
  // (which would make matching ambiguous).
  [[nodiscard]] static std::optional<UriTemplate> parse(std::string_view text);

  // The variables when `uri` matches the whole template, else nullopt. Linear in the URI's size.
  [[nodiscard]] std::optional<UriVariables> match(std::string_view uri) const;
  [[nodiscard]] const std::string& text() const { return text_; }
  [[nodiscard]] const std::vector<std::string>& variables() const { return variables_; }

private:
  struct Part {
    bool variable = false;
    std::string text;  // the literal, or the variable's name
  };
  std::string text_;
  std::vector<Part> parts_;
  std::vector<std::string> variables_;
};

}  // namespace graceway
