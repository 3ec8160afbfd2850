#include "util/utf8.h"
#include "view/records.h"

#include <barrot/diff.h>
#include <barrot/view.h>

#include <cmath>
#include <map>
#include <set>
#include <sstream>

namespace barrot {

namespace {

// Values that differ in every snapshot and say nothing by changing.
bool is_volatile(const std::string& path) {
  return path == "system_state.timestamp" || path == "system_state.uptime" ||
         path == "system_state.uptime_seconds";
}

// Sections with their own comparison below.
bool is_special(const std::string& section) {
  return section == "active_processes" || section == "snapshot_id" || section == "snapshot_type" ||
         section == "timestamp" || section == "metadata";
}

// JSON's kinds: numbers are one, however nlohmann holds them.
int kind_of(const Json& j) {
  return j.is_number() ? -1 : static_cast<int>(j.type());
}

void diff_values(const std::string& path, const Json& a, const Json& b, Json* changed) {
  // A volatile value is still shown when it changes kind: it appeared, went,
  // or turned from text into a number or an object.
  if (a == b || (is_volatile(path) && kind_of(a) == kind_of(b))) {
    return;
  }
  if (a.is_object() && b.is_object()) {
    std::set<std::string> keys;
    for (const auto& [k, v] : a.items()) {
      keys.insert(k);
    }
    for (const auto& [k, v] : b.items()) {
      keys.insert(k);
    }
    for (const std::string& k : keys) {
      diff_values(path + "." + k,
                  a.contains(k) ? a[k] : Json(nullptr),
                  b.contains(k) ? b[k] : Json(nullptr),
                  changed);
    }
    return;
  }
  Json entry{{"from", a}, {"to", b}};
  if (a.is_number() && b.is_number()) {
    // In doubles: exact for every figure a snapshot holds, and no overflow.
    const double d = b.get<double>() - a.get<double>();
    if (a.is_number_integer() && b.is_number_integer() && std::abs(d) < 9e15) {
      entry["delta"] = static_cast<std::int64_t>(d);
    } else {
      entry["delta"] = d;
    }
  }
  (*changed)[path] = std::move(entry);
}

std::map<std::string, std::int64_t> process_names(const Json& section) {
  std::map<std::string, std::int64_t> names;
  if (section.is_object() && section.contains("processes") && section["processes"].is_array()) {
    for (const Json& p : section["processes"]) {
      if (p.is_object() && p.contains("name") && p["name"].is_string()) {
        ++names[p["name"].get<std::string>()];
      }
    }
  }
  return names;
}

Json processes_diff(const Json& a, const Json& b) {
  auto na = process_names(a);
  auto nb = process_names(b);
  Json appeared = Json::object();
  Json gone = Json::object();
  for (const auto& [name, n] : nb) {
    const std::int64_t before = na.count(name) ? na[name] : 0;
    if (n > before) {
      appeared[name] = n - before;
    }
  }
  for (const auto& [name, n] : na) {
    const std::int64_t after = nb.count(name) ? nb[name] : 0;
    if (n > after) {
      gone[name] = n - after;
    }
  }
  Json out = Json::object();
  const Json ca = a.is_object() && a.contains("count") ? a["count"] : Json(nullptr);
  const Json cb = b.is_object() && b.contains("count") ? b["count"] : Json(nullptr);
  out["count"] = Json{{"from", ca}, {"to", cb}};
  out["appeared"] = std::move(appeared);
  out["gone"] = std::move(gone);
  // A snapshot lists only its largest processes: a name missing from one
  // list may just have been ranked out of it.
  auto listed_all = [](const Json& s) {
    return s.is_object() && s.contains("count") && s.contains("processes") &&
           s["count"] == s["processes"].size();
  };
  out["complete_lists"] = listed_all(a) && listed_all(b);
  return out;
}

std::set<std::string> ids_of(const Json& workflows, const char* key) {
  std::set<std::string> ids;
  if (workflows.is_object() && workflows.contains(key) && workflows[key].is_array()) {
    for (const Json& w : workflows[key]) {
      if (w.is_object() && w.contains("snapshot_id") && w["snapshot_id"].is_string()) {
        ids.insert(w["snapshot_id"].get<std::string>());
      }
    }
  }
  return ids;
}

std::set<std::string> schedules_of(const Json& workflows) {
  std::set<std::string> out;
  if (workflows.is_object() && workflows.contains("scheduled") &&
      workflows["scheduled"].is_array()) {
    for (const Json& w : workflows["scheduled"]) {
      out.insert(w.dump());
    }
  }
  return out;
}

Json minus(const std::set<std::string>& a, const std::set<std::string>& b, bool parse) {
  Json out = Json::array();
  for (const std::string& x : a) {
    if (b.count(x) == 0) {
      out.push_back(parse ? Json::parse(x) : Json(x));
    }
  }
  return out;
}

// "12s", "30m 0s", "2h 5m 0s", "340d 21h 14m 12s": no unit larger than
// needed, every smaller one shown.
std::string days_to_seconds(std::int64_t s) {
  std::string out;
  const std::int64_t units[] = {86400, 3600, 60, 1};
  const char* names[] = {"d", "h", "m", "s"};
  for (int i = 0; i < 4; ++i) {
    if (s >= units[i] || !out.empty() || i == 3) {
      // Appended piece by piece (GCC 12's -Wrestrict misreads a concatenation).
      if (!out.empty()) {
        out += ' ';
      }
      out += std::to_string(s / units[i]);
      out += names[i];
      s %= units[i];
    }
  }
  return out;
}

const Json& section(const Json& doc, const char* name) {
  static const Json k_null;
  return doc.contains(name) ? doc[name] : k_null;
}

} // namespace

Result<Json> diff_periodic(const Snapshot& a, const Snapshot& b) {
  for (const Snapshot* s : {&a, &b}) {
    if (s->type != SnapshotType::periodic) {
      return Status::InvalidArgument(s->id + " is not a periodic snapshot");
    }
  }
  Json out = Json::object();
  out["from"] = a.id;
  out["to"] = b.id;
  // Exact (microseconds), so that 3.9955 s is not shown as 3.
  out["seconds_between"] = static_cast<double>(b.timestamp - a.timestamp) / 1e6;
  const Json& sa = section(a.document, "system_state");
  const Json& sb = section(b.document, "system_state");
  // Known only when both give their uptime (a legacy snapshot does not):
  // null otherwise.
  Json rebooted = nullptr;
  if (sa.is_object() && sb.is_object() && sa.contains("uptime_seconds") &&
      sb.contains("uptime_seconds") && sa["uptime_seconds"].is_number() &&
      sb["uptime_seconds"].is_number()) {
    const Json& earlier = b.timestamp >= a.timestamp ? sa : sb;
    const Json& later = b.timestamp >= a.timestamp ? sb : sa;
    rebooted = later["uptime_seconds"].get<double>() < earlier["uptime_seconds"].get<double>();
  }
  out["rebooted"] = rebooted;
  out["processes"] = processes_diff(section(a.document, "active_processes"),
                                    section(b.document, "active_processes"));
  const Json& wa = section(a.document, "workflows");
  const Json& wb = section(b.document, "workflows");
  out["workflows"] = Json{{"started", minus(ids_of(wb, "active"), ids_of(wa, "active"), false)},
                          {"ended", minus(ids_of(wa, "active"), ids_of(wb, "active"), false)},
                          {"scheduled_added", minus(schedules_of(wb), schedules_of(wa), true)},
                          {"scheduled_removed", minus(schedules_of(wa), schedules_of(wb), true)}};
  Json changed = Json::object();
  std::set<std::string> names;
  for (const auto& [k, v] : a.document.items()) {
    names.insert(k);
  }
  for (const auto& [k, v] : b.document.items()) {
    names.insert(k);
  }
  for (const std::string& name : names) {
    if (is_special(name)) {
      continue;
    }
    Json va = a.document.contains(name) ? a.document[name] : Json(nullptr);
    Json vb = b.document.contains(name) ? b.document[name] : Json(nullptr);
    if (name == "workflows") { // its lists are summarized above
      for (Json* w : {&va, &vb}) {
        if (w->is_object()) {
          w->erase("active");
          w->erase("completed");
          w->erase("scheduled");
        }
      }
    }
    diff_values(name, va, vb, &changed);
  }
  out["changed"] = std::move(changed);
  return out;
}

std::string format_diff(const Json& d_in) {
  // Tolerate any object: fill in what diff_periodic always sets.
  Json d = d_in.is_object() ? d_in : Json::object();
  for (const char* key : {"processes", "workflows", "changed"}) {
    if (!d.contains(key) || !d[key].is_object()) {
      d[key] = Json::object();
    }
  }
  for (const char* key : {"appeared", "gone"}) {
    if (!d["processes"].contains(key) || !d["processes"][key].is_object()) {
      d["processes"][key] = Json::object();
    }
  }
  if (!d["processes"].contains("count") || !d["processes"]["count"].is_object()) {
    d["processes"]["count"] = Json{{"from", nullptr}, {"to", nullptr}};
  }
  for (const char* key : {"started", "ended", "scheduled_added", "scheduled_removed"}) {
    if (!d["workflows"].contains(key) || !d["workflows"][key].is_array()) {
      d["workflows"][key] = Json::array();
    }
  }
  std::ostringstream out;
  const Json& between = d.contains("seconds_between") ? d["seconds_between"] : Json(0);
  const double seconds = between.is_number() ? between.get<double>() : 0.0;
  out << view::visible(d.value("from", "")) << " -> " << view::visible(d.value("to", "")) << " ("
      << days_to_seconds(std::llround(std::fabs(seconds))) << " "
      << (seconds < 0 ? "earlier" : "later") << ")\n";
  const Json& rebooted = d.contains("rebooted") ? d["rebooted"] : Json(nullptr);
  if (rebooted.is_boolean() && rebooted.get<bool>()) {
    out << "rebooted in between (uptime went down)\n";
  } else if (!rebooted.is_boolean()) {
    out << "reboot in between unknown (no uptime_seconds in both)\n";
  }
  const Json& p = d["processes"];
  out << "processes: " << dump_json(p["count"]["from"], -1) << " -> "
      << dump_json(p["count"]["to"], -1)
      << (p.value("complete_lists", true) ? "" : " (among the largest listed)") << "\n";
  for (const char* key : {"appeared", "gone"}) {
    for (const auto& [name, n] : p[key].items()) {
      out << "  " << key << ": " << view::visible(name)
          << (n.is_number() && n.get<double>() > 1 ? " x" + n.dump() : "") << "\n";
    }
  }
  const Json& w = d["workflows"];
  for (const char* key : {"started", "ended"}) {
    for (const Json& id : w[key]) {
      out << "action " << key << ": "
          << (id.is_string() ? view::visible(id.get<std::string>()) : id.dump()) << "\n";
    }
  }
  for (const char* key : {"scheduled_added", "scheduled_removed"}) {
    for (const Json& s : w[key]) {
      out << "workflow schedule " << (std::string(key) == "scheduled_added" ? "added" : "removed")
          << ": " << dump_json(s, -1) << "\n";
    }
  }
  for (const auto& [path, c] : d["changed"].items()) {
    if (!c.is_object()) {
      continue;
    }
    out << view::visible(path) << ": " << dump_json(c.value("from", Json()), -1) << " -> "
        << dump_json(c.value("to", Json()), -1);
    if (c.contains("delta") && c["delta"].is_number()) {
      const Json& delta = c["delta"];
      const bool positive = delta.get<double>() > 0;
      out << " (" << (positive ? "+" : "") << dump_json(delta, -1) << ")";
    }
    out << "\n";
  }
  if (d["changed"].empty() && p["appeared"].empty() && p["gone"].empty()) {
    out << "nothing else changed\n";
  }
  return util::escape_c1(out.str()); // JSON values of the stored sections: C1 unescaped
}

} // namespace barrot
