#include "replay/report.hpp"

#include <algorithm>
#include <cstdio>

namespace graceway::replay {
namespace {

std::string fixed(double v, int decimals = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string escape_html(std::string_view s) {
  std::string out;
  for (const char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

const char* level_name(Level l) { return l == Level::spec ? "spec" : "graceway"; }

// Bar colour by outcome: delivered, refused as designed (503/404), error answer, lost.
const char* colour_of(const RequestRecord& r) {
  if (r.status == 0 || r.outcome == "never ended") return "#d62728";
  if (r.outcome == "dropped by client") return "#7f7f7f";
  if (r.status == 503 || r.status == 404) return "#ff9f1c";
  if (r.outcome.rfind("error", 0) == 0) return "#9467bd";
  return "#2ca02c";
}

const char* band_colour(const std::string& state) {
  if (state == "open") return "#e3f2e1";
  if (state == "draining") return "#fff1d6";
  return "#eeeeee";
}

}  // namespace

std::string render_text(const Result& r, bool with_timeline) {
  std::string out;
  std::string verdict = r.verdict();
  std::transform(verdict.begin(), verdict.end(), verdict.begin(), [](unsigned char c) { return std::toupper(c); });
  out += verdict + "  " + r.name + "  (" + fixed(r.duration_ms, 0) + " ms)\n";
  if (r.skipped) out += "    skipped: " + r.skip_reason + "\n";
  for (const auto& f : r.failures) out += std::string("    [") + level_name(f.level) + "] " + f.where + ": " + f.what + "\n";
  for (const auto& n : r.notes) out += "    note: " + n + "\n";
  if (!with_timeline) return out;
  for (const auto& q : r.requests) {
    out += "    +" + fixed(q.start_ms) + "ms  " + q.name + "  " + q.label;
    if (!q.session.empty()) out += " [" + q.session + "]";
    out += "  -> " + (q.status == 0 ? std::string("no response") : std::to_string(q.status));
    if (!q.retry_after.empty()) out += " Retry-After " + q.retry_after;
    out += ", " + q.outcome;
    if (q.progress > 0) out += ", " + std::to_string(q.progress) + " progress";
    if (q.end_ms >= 0) out += " (" + fixed(q.end_ms - q.start_ms) + " ms)";
    out += "\n";
  }
  for (const auto& [session, marks] : r.sessions) {
    out += "    session " + session + ":";
    for (const auto& m : marks) out += " " + m.state + "@" + fixed(m.at_ms) + "ms";
    out += "\n";
  }
  return out;
}

nlohmann::json render_json(const std::vector<Result>& results) {
  auto out = nlohmann::json::array();
  for (const auto& r : results) {
    nlohmann::json j = {{"name", r.name},         {"file", r.file},         {"verdict", r.verdict()},
                        {"summary", r.summary},   {"duration_ms", r.duration_ms}, {"notes", r.notes},
                        {"failures", nlohmann::json::array()}, {"requests", nlohmann::json::array()},
                        {"sessions", nlohmann::json::object()}};
    if (r.skipped) j["skip_reason"] = r.skip_reason;
    for (const auto& f : r.failures) j["failures"].push_back({{"level", level_name(f.level)}, {"where", f.where}, {"what", f.what}});
    for (const auto& q : r.requests) {
      j["requests"].push_back({{"name", q.name}, {"label", q.label}, {"session", q.session}, {"start_ms", q.start_ms},
                               {"head_ms", q.head_ms}, {"end_ms", q.end_ms}, {"status", q.status},
                               {"retry_after", q.retry_after}, {"outcome", q.outcome}, {"progress", q.progress}});
    }
    for (const auto& [session, marks] : r.sessions) {
      auto& list = j["sessions"][session] = nlohmann::json::array();
      for (const auto& m : marks) list.push_back({{"at_ms", m.at_ms}, {"state", m.state}});
    }
    out.push_back(std::move(j));
  }
  return out;
}

std::string render_html(const std::vector<Result>& results, const std::string& title) {
  std::string out = "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>" + escape_html(title) +
                    "</title>\n<style>body{font:13px sans-serif;margin:20px}h2{font-size:15px;margin:24px 0 4px}"
                    ".pass{color:#2ca02c}.fail{color:#d62728}.skip{color:#7f7f7f}text{font:11px sans-serif}"
                    ".legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}"
                    "</style></head><body>\n<h1>" + escape_html(title) + "</h1>\n"
                    "<p class=\"legend\">Requests:<span style=\"background:#2ca02c\"></span>answered"
                    "<span style=\"background:#ff9f1c\"></span>503/404 as designed"
                    "<span style=\"background:#9467bd\"></span>JSON-RPC error"
                    "<span style=\"background:#7f7f7f\"></span>dropped by the client"
                    "<span style=\"background:#d62728\"></span>lost or hung. Session bands:"
                    "<span style=\"background:#e3f2e1\"></span>open<span style=\"background:#fff1d6\"></span>draining"
                    "<span style=\"background:#eeeeee\"></span>closed</p>\n";
  constexpr int kLabelWidth = 260;
  constexpr int kPlotWidth = 640;
  constexpr int kRow = 18;
  for (const auto& r : results) {
    const auto verdict = r.verdict();
    const char* cls = verdict == "pass" ? "pass" : verdict == "skipped" ? "skip" : "fail";
    out += "<h2>" + escape_html(r.name) + " <span class=\"" + cls + "\">" + verdict + "</span></h2>\n<p>" +
           escape_html(r.summary) + "</p>\n";
    for (const auto& f : r.failures) {
      out += "<p class=\"fail\">[" + std::string(level_name(f.level)) + "] " + escape_html(f.where + ": " + f.what) + "</p>\n";
    }
    double span = std::max(1.0, r.duration_ms);
    const int rows = static_cast<int>(r.requests.size() + r.sessions.size());
    const int height = (rows + 1) * kRow + 10;
    auto x_of = [&](double ms) { return kLabelWidth + static_cast<int>(ms / span * kPlotWidth); };
    out += "<svg width=\"" + std::to_string(kLabelWidth + kPlotWidth + 120) + "\" height=\"" +
           std::to_string(height) + "\">\n";
    int y = 4;
    for (const auto& [session, marks] : r.sessions) {
      out += "<text x=\"0\" y=\"" + std::to_string(y + 12) + "\">session " + escape_html(session) + "</text>\n";
      for (std::size_t i = 0; i < marks.size(); ++i) {
        const double from = marks[i].at_ms;
        const double to = i + 1 < marks.size() ? marks[i + 1].at_ms : span;
        out += "<rect x=\"" + std::to_string(x_of(from)) + "\" y=\"" + std::to_string(y) + "\" width=\"" +
               std::to_string(std::max(1, x_of(to) - x_of(from))) + "\" height=\"" + std::to_string(kRow - 4) +
               "\" fill=\"" + band_colour(marks[i].state) + "\"><title>" + marks[i].state + " from " +
               fixed(from) + " ms</title></rect>\n";
      }
      y += kRow;
    }
    for (const auto& q : r.requests) {
      const double end = q.end_ms >= 0 ? q.end_ms : span;
      const std::string label = q.name + " " + q.label + (q.session.empty() ? "" : " [" + q.session + "]");
      out += "<text x=\"0\" y=\"" + std::to_string(y + 12) + "\">" + escape_html(label) + "</text>\n";
      out += "<rect x=\"" + std::to_string(x_of(q.start_ms)) + "\" y=\"" + std::to_string(y + 2) + "\" width=\"" +
             std::to_string(std::max(2, x_of(end) - x_of(q.start_ms))) + "\" height=\"" + std::to_string(kRow - 6) +
             "\" fill=\"" + colour_of(q) + "\"><title>" +
             escape_html(label + ": " + (q.status == 0 ? std::string("no response") : std::to_string(q.status)) + ", " +
                         q.outcome + ", " + fixed(q.start_ms) + " to " + fixed(end) + " ms") +
             "</title></rect>\n";
      out += "<text x=\"" + std::to_string(x_of(end) + 4) + "\" y=\"" + std::to_string(y + 12) + "\">" +
             escape_html((q.status == 0 ? std::string("-") : std::to_string(q.status)) + " " + q.outcome) + "</text>\n";
      y += kRow;
    }
    out += "<text x=\"" + std::to_string(kLabelWidth) + "\" y=\"" + std::to_string(height - 2) +
           "\">0 ms</text><text x=\"" + std::to_string(kLabelWidth + kPlotWidth - 40) + "\" y=\"" +
           std::to_string(height - 2) + "\">" + fixed(span, 0) + " ms</text>\n</svg>\n";
  }
  out += "</body></html>\n";
  return out;
}

}  // namespace graceway::replay
