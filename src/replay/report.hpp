#pragma once
// How replay results are shown: a verdict line per scenario with its timeline (text), the same
// as JSON, and an HTML page that draws each request as a bar across time over the sessions'
// state bands.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "replay/runner.hpp"

namespace graceway::replay {

[[nodiscard]] std::string render_text(const Result& result, bool with_timeline);
[[nodiscard]] nlohmann::json render_json(const std::vector<Result>& results);
[[nodiscard]] std::string render_html(const std::vector<Result>& results, const std::string& title);

}  // namespace graceway::replay
