// render_dashboard: one HTML page, built as a string.
//
// Values from snapshots go through html_escape into element content and
// nowhere else: never into an attribute, a URL, a style or a class. Status classes
// come from a fixed list. The sizes of the lists and charts are bounded, so
// the page stays small whatever the store holds.
#include "health/report_util.h"
#include "view/records.h"

#include <barrot/dashboard.h>
#include <barrot/view.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>

namespace barrot {

namespace {

using report::as_int;
using report::fixed;
using report::Rows;
using report::select;

constexpr std::size_t k_max_text = 400;         // characters of one value shown
constexpr std::size_t k_max_items = 40;         // items of one array or object shown
constexpr int k_max_depth = 4;                  // nesting shown in periodic sections
constexpr std::int64_t k_max_gap_points = 2000; // periodic snapshots in the gap chart

// j[key] when j is an object holding it, else an empty object (operator[]
// on a const json with a missing key is undefined).
const Json& member(const Json& j, const char* key) {
  static const Json k_empty = Json::object();
  if (!j.is_object()) {
    return k_empty;
  }
  auto it = j.find(key);
  return it == j.end() ? k_empty : *it;
}

std::string shorten(std::string text, std::size_t max = k_max_text) {
  if (text.size() > max) {
    std::size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
      --cut; // not inside a UTF-8 sequence
    }
    text.resize(cut);
    text += "…";
  }
  return text;
}

// Escaped, shortened text of any JSON value (strings without their quotes).
std::string text_of(const Json& v, std::size_t max = k_max_text) {
  return html_escape(shorten(v.is_string() ? v.get<std::string>() : dump_json(v, -1), max));
}

std::string thousands(std::int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) {
      out += ',';
    }
    out += digits[i];
  }
  return (n < 0 ? "-" : "") + out;
}

// The CSS class for a status or state: from a fixed list, never the value.
const char* status_class(std::string_view status) {
  if (status == "completed" || status == "OK") {
    return "good";
  }
  if (status == "failed" || status == "CRITICAL") {
    return "bad";
  }
  if (status == "executing" || status == "WARNING") {
    return "warn";
  }
  return "other";
}

std::string badge(std::string_view text) {
  return std::string("<span class=\"badge ") + status_class(text) + "\">" + html_escape(text) +
         "</span>";
}

// Columns for an array of flat records (a process list, say), shown as a
// table when there are few enough of them to fit.
std::vector<std::string> table_columns(const Json& v) {
  std::vector<std::string> columns = view::record_columns(v);
  return columns.size() <= 8 ? columns : std::vector<std::string>();
}

void json_html(const Json& v, int depth, std::string* out);

void json_table(const Json& v, const std::vector<std::string>& columns, std::string* out) {
  *out += "<div class=\"scroll\"><table class=\"compact\"><thead><tr>";
  for (const std::string& c : columns) {
    *out += "<th>" + html_escape(shorten(c, 60)) + "</th>";
  }
  *out += "</tr></thead><tbody>";
  std::size_t shown = 0;
  for (const Json& item : v) {
    if (shown++ == k_max_items) {
      *out += "<tr><td colspan=\"" + std::to_string(columns.size()) + "\" class=\"dim\">… " +
              std::to_string(v.size() - k_max_items) + " more</td></tr>";
      break;
    }
    *out += "<tr>";
    for (const std::string& c : columns) {
      *out += "<td>" + (item.contains(c) ? text_of(item[c], 120) : std::string()) + "</td>";
    }
    *out += "</tr>";
  }
  *out += "</tbody></table></div>";
}

// A JSON value as nested lists: objects as <dl>, arrays as <ol> (or a
// table, for an array of flat objects).
void json_html(const Json& v, int depth, std::string* out) {
  if (!v.is_structured()) {
    *out += "<span class=\"v\">" + text_of(v) + "</span>";
    return;
  }
  if (depth >= k_max_depth) {
    *out += "<code>" + text_of(v) + "</code>";
    return;
  }
  if (v.empty()) {
    *out += v.is_object() ? "<span class=\"v dim\">{}</span>" : "<span class=\"v dim\">[]</span>";
    return;
  }
  if (auto columns = table_columns(v); !columns.empty()) {
    json_table(v, columns, out);
    return;
  }
  std::size_t shown = 0;
  *out += v.is_object() ? "<dl>" : "<ol>";
  for (const auto& [key, value] : v.items()) {
    if (shown++ == k_max_items) {
      *out += std::string(v.is_object() ? "<dt>" : "<li>") + "<span class=\"dim\">… " +
              std::to_string(v.size() - k_max_items) + " more</span>" +
              (v.is_object() ? "</dt>" : "</li>");
      break;
    }
    if (v.is_object()) {
      *out += "<dt>" + html_escape(shorten(key, 120)) + "</dt><dd>";
      json_html(value, depth + 1, out);
      *out += "</dd>";
    } else {
      *out += "<li>";
      json_html(value, depth + 1, out);
      *out += "</li>";
    }
  }
  *out += v.is_object() ? "</dl>" : "</ol>";
}

// "2026-11-26 14:05" from a time.
std::string short_time(TimeUs t) {
  std::string iso = format_iso8601(t);
  return iso.substr(0, 10) + " " + iso.substr(11, 5);
}

// --- Sections -----------------------------------------------------------------

void health_section(const HealthReport& report, std::string* out) {
  const std::string state(to_string(report.state));
  *out += "<section id=\"health\" data-state=\"" + state + "\"><h2>Health</h2>";
  *out += "<p class=\"verdict\">" + badge(state) + "</p><ul class=\"reasons\">";
  bool any = false;
  for (const HealthCheck& c : report.checks) {
    if (c.state != HealthState::ok) {
      any = true;
      *out += "<li>" + badge(to_string(c.state)) + " <b>" + html_escape(c.name) +
              "</b>: " + html_escape(c.summary) + "</li>";
    }
  }
  std::size_t skipped = 0;
  for (const HealthCheck& c : report.checks) {
    skipped += c.skipped ? 1 : 0;
  }
  if (!any) {
    *out += "<li>All " + std::to_string(report.checks.size() - skipped) +
            (skipped > 0 ? " checks that ran pass (" + std::to_string(skipped) +
                               " skipped: --full-checks runs them)."
                         : " checks pass.") +
            "</li>";
  }
  *out += "</ul><details><summary>All checks</summary><div class=\"scroll\"><table>"
          "<thead><tr><th>Check</th><th>State</th><th>Why</th></tr></thead><tbody>";
  for (const HealthCheck& c : report.checks) {
    // A check not run is no green OK (health's text says SKIPPED too).
    *out += "<tr><td>" + html_escape(c.name) + "</td><td>" +
            badge(c.skipped ? "SKIPPED" : to_string(c.state)) + "</td><td>" +
            html_escape(c.summary) + "</td></tr>";
  }
  *out += "</tbody></table></div></details></section>";
}

void totals_section(const Summary& s, std::string* out) {
  auto stat = [&](const std::string& key, const std::string& label, std::int64_t n) {
    *out += "<div class=\"stat\"><span class=\"n\" data-count=\"" + key + "\">" + thousands(n) +
            "</span><span class=\"label\">" + label + "</span></div>";
  };
  *out += "<section id=\"totals\"><h2>Totals</h2><div class=\"stats\">";
  stat("snapshots", "snapshots", s.total);
  stat("actions", "actions", s.actions);
  stat("periodic", "periodic", s.periodic);
  for (const char* st : {"completed", "failed", "executing"}) {
    auto it = s.actions_by_status.find(st);
    stat(st, st, it == s.actions_by_status.end() ? 0 : it->second);
  }
  stat("action_types", "action types", static_cast<std::int64_t>(s.actions_by_type.size()));
  *out += "</div>";
  if (s.first && s.last) {
    *out += "<p class=\"dim\">From " + html_escape(format_iso8601(*s.first)) + " to " +
            html_escape(format_iso8601(*s.last)) + ".</p>";
  }
  *out += "</section>";
}

void periodic_section(const Result<Snapshot>& latest, TimeUs now, std::string* out) {
  *out += "<section id=\"latest-periodic\"><h2>Latest periodic snapshot</h2>";
  if (!latest.ok()) {
    *out += "<p class=\"dim\">" + html_escape(latest.status().message()) + "</p></section>";
    return;
  }
  const Json& doc = latest->document;
  *out += "<p><code>" + html_escape(latest->id) + "</code> at " +
          html_escape(format_iso8601(latest->timestamp)) + " (" +
          html_escape(report::human_duration(std::max<TimeUs>(0, now - latest->timestamp))) +
          " ago)";
  if (doc.contains("interval")) {
    *out += ", interval " + text_of(doc["interval"]);
  }
  *out += "</p><div class=\"cards\">";
  static const std::vector<std::pair<std::string, std::string>> k_sections = {
      {"system_state", "System"},
      {"build_state", "Build"},
      {"rail_status", "Rails"},
      {"active_processes", "Processes"},
      {"workflows", "Workflows"},
      {"cognitive_state", "Cognitive state"},
      {"task_progress", "Task progress"},
  };
  // `section` is one of the seed's names or "other": never text from the document.
  auto card = [&](const std::string& section, const std::string& title, const Json& value) {
    *out += "<article class=\"card\" data-section=\"" + section + "\"><h3>" + html_escape(title) +
            "</h3>";
    json_html(value, 0, out);
    *out += "</article>";
  };
  for (const auto& [key, title] : k_sections) {
    if (doc.contains(key)) {
      card(key, title, doc[key]);
    }
  }
  static const std::vector<std::string> k_skip = {
      "snapshot_id", "snapshot_type", "timestamp", "interval", "metadata"};
  std::size_t extra = 0;
  for (const auto& item : doc.items()) { // sections added since the seed
    const std::string& key = item.key(); // not a binding: clang 14 cannot capture one
    const bool known = std::any_of(
        k_sections.begin(), k_sections.end(), [&](const auto& s) { return s.first == key; });
    if (!known && std::find(k_skip.begin(), k_skip.end(), key) == k_skip.end() &&
        extra++ < k_max_items) {
      card("other", key, item.value());
    }
  }
  *out += "</div></section>";
}

std::string duration_text(const Snapshot& s) {
  const Json& action = member(s.document, "action");
  if (action.contains("details") && action["details"].is_object() &&
      action["details"].contains("duration_seconds") &&
      action["details"]["duration_seconds"].is_number()) {
    return fixed(action["details"]["duration_seconds"].get<double>(), 2) + " s";
  }
  if (action.contains("started_at") && action["started_at"].is_string()) {
    auto started = parse_iso8601(action["started_at"].get<std::string>());
    if (started.ok() && *started < s.timestamp) {
      return fixed(static_cast<double>(s.timestamp - *started) / 1e6, 2) + " s";
    }
  }
  return "—";
}

void actions_section(const std::vector<Snapshot>& actions, std::size_t asked, std::string* out) {
  *out += "<section id=\"recent-actions\"><h2>Newest actions</h2>";
  if (actions.empty()) {
    *out += asked == 0 ? "<p class=\"dim\">None asked for (--actions 0).</p></section>"
                       : "<p class=\"dim\">No action recorded yet.</p></section>";
    return;
  }
  *out += "<div class=\"scroll\"><table><thead><tr><th>Time (UTC)</th><th>Type</th>"
          "<th>Status</th><th>Duration</th><th>Details</th></tr></thead><tbody>";
  for (const Snapshot& s : actions) {
    const Json& a = member(s.document, "action");
    *out += "<tr class=\"action\"><td class=\"nowrap\">";
    *out += html_escape(short_time(s.timestamp));
    *out += "</td><td>";
    *out += text_of(member(a, "type"));
    *out += "</td><td>";
    *out += badge(member(a, "status").is_string() ? member(a, "status").get<std::string>() : "");
    *out += "</td><td class=\"num\">";
    *out += html_escape(duration_text(s));
    *out += "</td><td><code>";
    *out += text_of(member(a, "details"), 200);
    *out += "</code></td></tr>";
  }
  *out += "</tbody></table></div></section>";
}

// --- Charts ---------------------------------------------------------------------

constexpr const char* k_status_order[] = {"completed", "failed", "executing"};

void hourly_chart(Store& store, TimeUs now, TimeUs window, std::string* out) {
  const TimeUs hour = k_us_per_hour;
  const TimeUs end = (now / hour + 1) * hour; // the end of the current hour
  const auto hours = static_cast<std::size_t>(std::max<TimeUs>(1, window / hour));
  const TimeUs start = end - static_cast<TimeUs>(hours) * hour;
  std::vector<std::array<std::int64_t, 3>> counts(hours, {0, 0, 0});
  auto rows = select(store,
                     "SELECT (ts_us - " + std::to_string(start) + ") / " + std::to_string(hour) +
                         ", status, count(*) FROM snapshots WHERE snapshot_type = 'action' AND "
                         "ts_us >= " +
                         std::to_string(start) + " AND ts_us < " + std::to_string(end) +
                         " AND ts_us <= " + std::to_string(now) + " GROUP BY 1, 2");
  std::int64_t max = 1;
  std::int64_t total = 0;
  if (rows.ok()) {
    for (const auto& r : *rows) {
      const std::int64_t h = as_int(r[0]);
      const std::string st = r[1].is_string() ? r[1].get<std::string>() : "";
      for (std::size_t k = 0; k < 3; ++k) {
        if (st == k_status_order[k] && h >= 0 && h < static_cast<std::int64_t>(hours)) {
          counts[static_cast<std::size_t>(h)][k] += as_int(r[2]);
          total += as_int(r[2]);
        }
      }
    }
  }
  for (const auto& c : counts) {
    max = std::max(max, c[0] + c[1] + c[2]);
  }
  const double bar = 6, left = 44, top = 10, height = 160;
  const double width = left + bar * static_cast<double>(hours) + 4;
  *out += "<figure id=\"chart-hourly\" data-total=\"" + std::to_string(total) +
          "\"><figcaption>Actions per hour by status, last " + report::human_duration(window) +
          "</figcaption><svg viewBox=\"0 0 " + fixed(width, 0) + " " + fixed(top + height + 24, 0) +
          "\" role=\"img\" aria-label=\"actions per hour\">";
  *out += "<text x=\"" + fixed(left - 4, 0) + "\" y=\"" + fixed(top + 8, 0) +
          "\" class=\"axis\" text-anchor=\"end\">" + thousands(max) + "</text><text x=\"" +
          fixed(left - 4, 0) + "\" y=\"" + fixed(top + height, 0) +
          "\" class=\"axis\" text-anchor=\"end\">0</text>";
  *out += "<line x1=\"" + fixed(left, 0) + "\" x2=\"" + fixed(width, 0) + "\" y1=\"" +
          fixed(top + height, 1) + "\" y2=\"" + fixed(top + height, 1) + "\" class=\"base\"/>";
  for (std::size_t h = 0; h < hours; ++h) {
    const TimeUs t = start + static_cast<TimeUs>(h) * hour;
    const double x = left + bar * static_cast<double>(h);
    if ((t / hour) % 24 == 0) { // a day starts: a tick and its date
      *out += "<text x=\"" + fixed(x, 1) + "\" y=\"" + fixed(top + height + 16, 0) +
              "\" class=\"axis\">" + format_iso8601(t).substr(5, 5) + "</text>";
    }
    const auto& c = counts[h];
    if (c[0] + c[1] + c[2] == 0) {
      continue;
    }
    *out += "<g><title>" + short_time(t) + " UTC: " + std::to_string(c[0]) + " completed, " +
            std::to_string(c[1]) + " failed, " + std::to_string(c[2]) + " executing</title>";
    double y = top + height;
    for (std::size_t k = 0; k < 3; ++k) {
      if (c[k] == 0) {
        continue;
      }
      const double hgt = height * static_cast<double>(c[k]) / static_cast<double>(max);
      y -= hgt;
      *out += "<rect x=\"" + fixed(x, 1) + "\" y=\"" + fixed(y, 2) + "\" width=\"" +
              fixed(bar - 1, 1) + "\" height=\"" + fixed(hgt, 2) + "\" class=\"" +
              status_class(k_status_order[k]) + "\"/>";
    }
    *out += "</g>";
  }
  *out += "</svg><p class=\"legend\"><span class=\"key good\"></span>completed "
          "<span class=\"key bad\"></span>failed <span class=\"key warn\"></span>executing</p>"
          "</figure>";
}

void failure_chart(Store& store, TimeUs now, const DashboardOptions& o, std::string* out) {
  auto rows =
      select(store,
             "SELECT action_type AS t, sum(status = 'failed') AS f, "
             "sum(status IN ('completed', 'failed')) AS e FROM snapshots "
             "WHERE snapshot_type = 'action' AND ts_us > " +
                 std::to_string(now - o.chart_window) + " AND ts_us <= " + std::to_string(now) +
                 " GROUP BY t HAVING e > 0 ORDER BY f * 1.0 / e DESC, e DESC, t LIMIT " +
                 std::to_string(o.max_failure_types));
  *out += "<figure id=\"chart-failures\"><figcaption>Failure rate by action type (ended actions, "
          "last " +
          report::human_duration(o.chart_window) + ")</figcaption>";
  if (!rows.ok() || rows->empty()) {
    *out += "<p class=\"dim\">No action ended in this window.</p></figure>";
    return;
  }
  const double row = 22, label = 170, bar_width = 300, width = label + bar_width + 110;
  *out += "<svg viewBox=\"0 0 " + fixed(width, 0) + " " +
          fixed(row * static_cast<double>(rows->size()) + 4, 0) +
          "\" role=\"img\" aria-label=\"failure rate by action type\">";
  double y = 2;
  for (const auto& r : *rows) {
    const std::int64_t failed = as_int(r[1]);
    const std::int64_t ended = as_int(r[2]);
    const double rate = ended > 0 ? static_cast<double>(failed) / static_cast<double>(ended) : 0;
    const std::string type = text_of(r[0], 22);
    *out += "<g><title>" + text_of(r[0]) + ": " + std::to_string(failed) + " of " +
            std::to_string(ended) + " failed</title>";
    *out += "<text x=\"" + fixed(label - 6, 0) + "\" y=\"" + fixed(y + 15, 1) +
            "\" class=\"axis\" text-anchor=\"end\">" + type + "</text>";
    *out += "<rect x=\"" + fixed(label, 0) + "\" y=\"" + fixed(y + 3, 1) + "\" width=\"" +
            fixed(bar_width, 0) + "\" height=\"" + fixed(row - 6, 0) + "\" class=\"track\"/>";
    *out += "<rect x=\"" + fixed(label, 0) + "\" y=\"" + fixed(y + 3, 1) + "\" width=\"" +
            fixed(bar_width * rate, 2) + "\" height=\"" + fixed(row - 6, 0) + "\" class=\"" +
            (rate >= 0.25   ? "bad"
             : rate >= 0.10 ? "warn"
                            : "good") +
            "\"/>";
    *out += "<text x=\"" + fixed(label + bar_width + 6, 0) + "\" y=\"" + fixed(y + 15, 1) +
            "\" class=\"axis\">" + fixed(rate * 100, 1) + "% (" + std::to_string(failed) + "/" +
            std::to_string(ended) + ")</text></g>";
    y += row;
  }
  *out += "</svg></figure>";
}

void gap_chart(Store& store, TimeUs now, const DashboardOptions& o, std::string* out) {
  auto rows = select(store,
                     "SELECT ts_us FROM (SELECT ts_us FROM snapshots WHERE snapshot_type = "
                     "'periodic' AND ts_us <= " +
                         std::to_string(now) + " AND ts_us > " +
                         std::to_string(now - o.chart_window) + " ORDER BY ts_us DESC LIMIT " +
                         std::to_string(k_max_gap_points) + ") ORDER BY ts_us");
  const double warn_min =
      static_cast<double>(o.health.periodic_warning) / static_cast<double>(k_us_per_minute);
  *out += "<figure id=\"chart-gaps\"><figcaption>Minutes between periodic snapshots, last " +
          report::human_duration(o.chart_window) + " (dashed: the " + fixed(warn_min, 0) +
          "-minute warning)</figcaption>";
  std::vector<std::pair<TimeUs, double>> gaps; // (time of the later one, minutes)
  if (rows.ok()) {
    for (std::size_t i = 1; i < rows->size(); ++i) {
      const TimeUs a = as_int((*rows)[i - 1][0]);
      const TimeUs b = as_int((*rows)[i][0]);
      gaps.emplace_back(b, static_cast<double>(b - a) / static_cast<double>(k_us_per_minute));
    }
    if (!rows->empty()) { // the open gap up to now
      const TimeUs last = as_int(rows->back()[0]);
      gaps.emplace_back(now,
                        static_cast<double>(now - last) / static_cast<double>(k_us_per_minute));
    }
  }
  if (gaps.empty()) {
    *out += "<p class=\"dim\">No periodic snapshot in this window.</p></figure>";
    return;
  }
  double max = warn_min * 1.25;
  for (const auto& g : gaps) {
    max = std::max(max, g.second);
  }
  const double left = 44, top = 10, height = 140, width = 860;
  const double bar = (width - left) / static_cast<double>(gaps.size());
  *out += "<svg viewBox=\"0 0 " + fixed(width, 0) + " " + fixed(top + height + 8, 0) +
          "\" role=\"img\" aria-label=\"gaps between periodic snapshots\">";
  *out += "<text x=\"" + fixed(left - 4, 0) + "\" y=\"" + fixed(top + 8, 0) +
          "\" class=\"axis\" text-anchor=\"end\">" + fixed(max, 0) + "</text><text x=\"" +
          fixed(left - 4, 0) + "\" y=\"" + fixed(top + height, 0) +
          "\" class=\"axis\" text-anchor=\"end\">0</text>";
  for (std::size_t i = 0; i < gaps.size(); ++i) {
    const double hgt = std::max(1.0, height * gaps[i].second / max);
    *out += "<rect x=\"" + fixed(left + bar * static_cast<double>(i), 2) + "\" y=\"" +
            fixed(top + height - hgt, 2) + "\" width=\"" + fixed(std::max(bar - 0.5, 0.5), 2) +
            "\" height=\"" + fixed(hgt, 2) + "\" class=\"" +
            (gaps[i].second > warn_min ? "bad" : "good") + "\"><title>" +
            short_time(gaps[i].first) + " UTC: " + fixed(gaps[i].second, 1) + " min</title></rect>";
  }
  const double wy = top + height - height * warn_min / max;
  *out += "<line x1=\"" + fixed(left, 0) + "\" x2=\"" + fixed(width, 0) + "\" y1=\"" +
          fixed(wy, 2) + "\" y2=\"" + fixed(wy, 2) + "\" class=\"threshold\"/></svg></figure>";
}

constexpr const char* k_style = R"css(
:root{color-scheme:light dark;--bg:#f6f7f9;--fg:#1b1f24;--card:#fff;--line:#d8dde3;--dim:#667085;
--good:#1f883d;--bad:#cf222e;--warn:#bf8700;--other:#6e7781}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--card:#161b22;--line:#30363d;
--dim:#8b949e;--good:#3fb950;--bad:#f85149;--warn:#d29922}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif}
header,main,footer{max-width:1400px;margin:0 auto;padding:0 16px}
header{padding-top:16px}h1{font-size:1.5rem;margin:0 0 4px}h2{font-size:1.15rem;margin:0 0 10px}
h3{font-size:1rem;margin:0 0 6px}
section,figure{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px;margin:0 0 16px;min-width:0}
.grid{display:grid;gap:16px;grid-template-columns:repeat(auto-fit,minmax(min(100%,26rem),1fr))}
.grid>*{margin:0}
.cards{display:grid;gap:12px;align-items:start;grid-template-columns:repeat(auto-fit,minmax(min(100%,18rem),1fr))}
.card{border:1px solid var(--line);border-radius:6px;padding:10px;overflow-wrap:anywhere;min-width:0}
.stats{display:flex;flex-wrap:wrap;gap:10px}
.stat{flex:1 1 8rem;border:1px solid var(--line);border-radius:6px;padding:8px 10px}
.stat .n{display:block;font-size:1.4rem;font-weight:600;font-variant-numeric:tabular-nums}
.stat .label,.dim{color:var(--dim)}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:.8rem;font-weight:600;color:#fff;background:var(--other)}
.badge.good{background:var(--good)}.badge.bad{background:var(--bad)}.badge.warn{background:var(--warn)}
.verdict .badge{font-size:1.1rem;padding:4px 14px}
.reasons{margin:8px 0;padding-left:18px}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
td code{font-size:.8rem;overflow-wrap:anywhere}
table.compact th,table.compact td{padding:2px 6px;font-size:.85rem}table.compact th{white-space:nowrap}
.num{text-align:right;font-variant-numeric:tabular-nums}.nowrap{white-space:nowrap}
dl{margin:0}dt{font-weight:600;font-size:.85rem;color:var(--dim)}dd{margin:0 0 4px 10px}
ol{margin:0;padding-left:20px}
figcaption{font-weight:600;margin-bottom:8px}
figure{overflow-x:auto}svg{width:100%;min-width:560px;height:auto;display:block}
svg .axis{font-size:11px;fill:var(--dim)}
svg .good{fill:var(--good)}svg .bad{fill:var(--bad)}svg .warn{fill:var(--warn)}svg .track{fill:var(--line)}
svg .base{stroke:var(--line)}svg .threshold{stroke:var(--bad);stroke-dasharray:6 4;stroke-width:1.5}
.legend{margin:6px 0 0;font-size:.85rem;color:var(--dim)}
.key{display:inline-block;width:10px;height:10px;border-radius:2px;margin:0 4px 0 10px}
.key.good{background:var(--good)}.key.bad{background:var(--bad)}.key.warn{background:var(--warn)}
footer{color:var(--dim);font-size:.85rem;padding-bottom:24px}
)css";

} // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    switch (ch) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&#39;";
      break;
    default:
      out += ch;
    }
  }
  return out;
}

Result<std::string> render_dashboard(Store& store, const DashboardOptions& options) {
  DashboardOptions o = options;
  if (o.now == 0) {
    o.now = now_us();
  }
  o.health.now = o.now;
  BARROT_TRY_ASSIGN(HealthReport health, check_health(store, o.health));
  BARROT_TRY_ASSIGN(Summary summary, store.summary());
  BARROT_TRY_ASSIGN(std::vector<Snapshot> actions,
                    store.latest(o.recent_actions, SnapshotType::action));
  Result<Snapshot> periodic = store.latest_periodic();
  if (!periodic.ok() && !periodic.status().IsNotFound()) {
    return periodic.status();
  }

  std::string out;
  out.reserve(64 * 1024);
  out += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
         "style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'\">"
         "<meta name=\"referrer\" content=\"no-referrer\">"
         "<title>Barrot dashboard</title><style>";
  out += k_style;
  out += "</style></head><body><header><h1>Barrot</h1><p class=\"dim\">Generated " +
         html_escape(format_iso8601(o.now)) + " from <code>" + html_escape(store.db_path()) +
         "</code></p></header><main>";
  out += "<div class=\"grid\">";
  health_section(health, &out);
  totals_section(summary, &out);
  out += "</div><div class=\"grid\">";
  hourly_chart(store, o.now, o.chart_window, &out);
  out += "</div><div class=\"grid\">";
  failure_chart(store, o.now, o, &out);
  gap_chart(store, o.now, o, &out);
  out += "</div>";
  periodic_section(periodic, o.now, &out);
  actions_section(actions, o.recent_actions, &out);
  out += "</main><footer>Barrot schema " + std::to_string(store.schema_version()) +
         ". Every value shown is text taken from the store; this page runs no script.</footer>"
         "</body></html>\n";
  return out;
}

} // namespace barrot
