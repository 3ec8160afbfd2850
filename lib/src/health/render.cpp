// Renderings of a health report: text, JSON, Prometheus exposition.
#include <barrot/health.h>

#include <charconv>
#include <cmath>
#include <map>
#include <utility>

namespace barrot {

namespace {

// A Prometheus label value: backslash, double quote and newline escaped.
std::string label_value(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '\\' || ch == '"') {
      out += '\\';
      out += ch;
    } else if (ch == '\n') {
      out += "\\n";
    } else {
      out += ch;
    }
  }
  return out;
}

// A metric name part: [a-z0-9_] only.
std::string name_part(const std::string& s) {
  std::string out;
  for (char ch : s) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
    out += ok ? ch : (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : '_';
  }
  return out;
}

std::string number(const Json& v) {
  if (v.is_boolean()) {
    return v.get<bool>() ? "1" : "0";
  }
  const double d = v.get<double>();
  if (std::isnan(d)) {
    return "NaN";
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d); // shortest that reads back
  return ec == std::errc() ? std::string(buf, end) : "NaN";
}

// Samples grouped by metric family, families in first-seen order: the
// exposition format wants each family's samples together under one TYPE.
class Exposition {
public:
  void add(const std::string& name,
           const std::string& help,
           const std::string& labels,
           const std::string& value) {
    auto it = m_index.find(name);
    if (it == m_index.end()) {
      it = m_index.emplace(name, m_families.size()).first;
      m_families.push_back({name, help, {}});
    }
    m_families[it->second].samples.push_back(name + (labels.empty() ? "" : "{" + labels + "}") +
                                             " " + value);
  }

  std::string text() const {
    std::string out;
    for (const Family& f : m_families) {
      out += "# HELP " + f.name + " " + f.help + "\n# TYPE " + f.name + " gauge\n";
      for (const std::string& s : f.samples) {
        out += s + "\n";
      }
    }
    return out;
  }

private:
  struct Family {
    std::string name;
    std::string help;
    std::vector<std::string> samples;
  };
  std::vector<Family> m_families;
  std::map<std::string, std::size_t> m_index;
};

// A check's numeric metrics: numbers and booleans as they are, objects of
// numbers with their keys as a label, arrays of objects with their string
// fields as labels. Text (ids, times) is for the JSON output only.
void add_metrics(Exposition* e, const HealthCheck& c) {
  const std::string prefix = "barrot_health_" + name_part(c.name) + "_";
  const std::string check = "check=\"" + label_value(c.name) + "\"";
  const std::string help = "Metric of the " + c.name + " check (docs/operations.md).";
  for (const auto& [key, value] : c.metrics.items()) {
    const std::string name = prefix + name_part(key);
    if (value.is_number() || value.is_boolean()) {
      e->add(name, help, check, number(value));
    } else if (value.is_object()) {
      for (const auto& [k, v] : value.items()) {
        if (v.is_number()) {
          e->add(name, help, check + ",key=\"" + label_value(k) + "\"", number(v));
        }
      }
    } else if (value.is_array()) {
      for (const Json& item : value) {
        if (!item.is_object()) {
          continue;
        }
        std::string labels = check;
        for (const auto& [k, v] : item.items()) {
          if (v.is_string()) { // appended piece by piece: GCC 12 -O3 misreads "," + string
            labels += ',';
            labels += name_part(k);
            labels += "=\"";
            labels += label_value(v.get<std::string>());
            labels += '"';
          }
        }
        for (const auto& [k, v] : item.items()) {
          if (v.is_number()) {
            e->add(prefix + name_part(k), help, labels, number(v));
          }
        }
      }
    }
  }
}

} // namespace

std::string format_health(const HealthReport& report) {
  // The first line is a monitoring plugin's status line.
  std::string reasons;
  int bad = 0;
  int skipped = 0;
  for (const HealthCheck& c : report.checks) {
    skipped += c.skipped ? 1 : 0;
    if (c.state != HealthState::ok) {
      ++bad;
      reasons += (reasons.empty() ? "" : "; ") + c.name + ": " + c.summary;
    }
  }
  std::string out =
      "BARROT " + std::string(to_string(report.state)) + " - " +
      (bad > 0       ? reasons
       : skipped > 0 ? std::to_string(report.checks.size() - skipped) + " checks pass, " +
                           std::to_string(skipped) + " skipped"
                     : "all " + std::to_string(report.checks.size()) + " checks pass") +
      "\n";
  std::size_t width = 0;
  for (const HealthCheck& c : report.checks) {
    width = std::max(width, c.name.size());
  }
  for (const HealthCheck& c : report.checks) {
    std::string state(c.skipped ? "SKIPPED" : to_string(c.state));
    out += "  " + state + std::string(9 - state.size(), ' ') + c.name +
           std::string(width + 2 - c.name.size(), ' ') + c.summary + "\n";
  }
  return out;
}

Json to_json(const HealthReport& report) {
  Json checks = Json::array();
  for (const HealthCheck& c : report.checks) {
    checks.push_back(Json{{"name", c.name},
                          {"state", to_string(c.state)},
                          {"skipped", c.skipped},
                          {"summary", c.summary},
                          {"metrics", c.metrics}});
  }
  return Json{{"state", to_string(report.state)},
              {"exit_code", static_cast<int>(report.state)},
              {"at", format_iso8601(report.at)},
              {"checks", checks}};
}

std::string format_prometheus(const HealthReport& report) {
  Exposition e;
  e.add("barrot_health_state",
        "Overall health: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
        "",
        std::to_string(static_cast<int>(report.state)));
  e.add("barrot_health_timestamp_seconds",
        "When the checks ran, in seconds since the epoch.",
        "",
        number(Json(static_cast<double>(report.at) / 1e6)));
  for (const HealthCheck& c : report.checks) {
    if (c.skipped) { // not checked: no sample rather than a false OK
      continue;
    }
    e.add("barrot_health_check_state",
          "State of one check: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
          "check=\"" + label_value(c.name) + "\"",
          std::to_string(static_cast<int>(c.state)));
  }
  for (const HealthCheck& c : report.checks) {
    add_metrics(&e, c);
  }
  return e.text();
}

} // namespace barrot
