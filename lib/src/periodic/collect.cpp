// Collecting the system state for a periodic snapshot. Every source is read
// on its own; one that fails or is absent says so in its section and never
// fails the snapshot.
#include "util/fs.h"
#include "util/json_parse.h"
#include "util/proc.h"
#include "util/utf8.h"
#include "util/yaml_json.h"

#include <barrot/periodic.h>

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fnmatch.h>
#include <string>
#include <vector>

namespace barrot {

namespace {

// Lists of activities and actions in a snapshot stay this short; counts
// cover the rest. Enough to see what happened; a snapshot stays small.
constexpr std::size_t k_max_listed_actions = 20;
constexpr std::size_t k_recent_activities = 10;

// Below this share of free space the store reports itself degraded.
constexpr double k_low_disk_fraction = 0.05;

Json error_section(const std::string& message) {
  return Json{{"error", message}};
}

std::string human_duration(std::int64_t seconds) {
  const std::int64_t d = seconds / 86400;
  const std::int64_t h = seconds % 86400 / 3600;
  const std::int64_t m = seconds % 3600 / 60;
  std::string out;
  if (d > 0) {
    out += std::to_string(d) + "d ";
  }
  return out + std::to_string(h) + "h " + std::to_string(m) + "m";
}

// Text safe to put in JSON: invalid UTF-8 bytes become U+FFFD.
std::string safe_text(const std::string& s) {
  return util::to_valid_utf8(s);
}

// Inputs larger than this are refused: a section of a snapshot taken every
// 30 minutes should stay small (action details have the same cap).
constexpr std::size_t k_max_input_bytes = 1 << 20;

Json section_from(const std::function<Json()>& fn,
                  std::vector<std::string>* problems,
                  const char* name) {
  try {
    Json j = fn();
    if (j.is_object() && j.contains("error")) {
      problems->push_back(std::string(name) + ": " + j["error"].get<std::string>());
    }
    return j;
  } catch (const std::exception& e) {
    problems->push_back(std::string(name) + ": " + e.what());
    return error_section(e.what());
  }
}

Json system_state(Store& store, TimeUs now, std::vector<std::string>* reasons) {
  Json s = Json::object();
  s["timestamp"] = format_iso8601(now);
  std::string text;
  double up = 0;
  if (util::read_file(AT_FDCWD, "/proc/uptime", &text, false).ok() &&
      std::sscanf(text.c_str(), "%lf", &up) == 1) {
    s["uptime"] = human_duration(static_cast<std::int64_t>(up));
    s["uptime_seconds"] = static_cast<std::int64_t>(up);
  } else {
    s["uptime"] = "unknown";
  }
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) == 0) {
    s["hostname"] = safe_text(host);
  }
  double load[3] = {};
  if (util::read_file(AT_FDCWD, "/proc/loadavg", &text, false).ok() &&
      std::sscanf(text.c_str(), "%lf %lf %lf", &load[0], &load[1], &load[2]) == 3) {
    s["load_average"] = Json::array({load[0], load[1], load[2]});
  }
  if (util::read_file(AT_FDCWD, "/proc/meminfo", &text, false).ok()) {
    long long total = -1;
    long long available = -1;
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t nl = text.find('\n', pos);
      std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      std::sscanf(line.c_str(), "MemTotal: %lld kB", &total);
      std::sscanf(line.c_str(), "MemAvailable: %lld kB", &available);
      pos = nl == std::string::npos ? text.size() : nl + 1;
    }
    if (total >= 0 && available >= 0) {
      s["memory"] = Json{{"total_kb", total}, {"available_kb", available}};
    }
  }
  struct statvfs vfs {};
  const std::string& dir = store.options().snapshots_dir;
  if (::statvfs(dir.c_str(), &vfs) == 0) {
    const auto free_bytes = static_cast<std::int64_t>(vfs.f_bavail) * vfs.f_frsize;
    const auto total_bytes = static_cast<std::int64_t>(vfs.f_blocks) * vfs.f_frsize;
    s["disk"] =
        Json{{"path", safe_text(dir)}, {"free_bytes", free_bytes}, {"total_bytes", total_bytes}};
    if (total_bytes > 0 && static_cast<double>(free_bytes) < k_low_disk_fraction * total_bytes) {
      reasons->push_back("less than 5% disk space free where the snapshots live");
    }
  }
  auto sum = store.summary();
  if (sum.ok()) {
    s["snapshots_stored"] = sum->total;
  } else {
    reasons->push_back("store: " + sum.status().message());
  }
  auto backlog = store.mirror_backlog();
  if (backlog.ok() && *backlog > 0) {
    reasons->push_back(std::to_string(*backlog) +
                       " snapshot(s) not yet mirrored (a writer busy or interrupted)");
  }
  return s;
}

// build_state and rail_status, from one reading of the manifest.
void manifest_sections(const PeriodicConfig& config, Json* build, Json* rails) {
  std::string text;
  Status s = util::read_file(AT_FDCWD, config.manifest_path, &text, false, k_max_input_bytes);
  if (s.IsNotFound()) {
    *build = Json{{"status", "no_build_manifest"}};
    *rails = *build;
    return;
  }
  if (!s.ok()) {
    *build = error_section("build manifest: " + s.message());
    *rails = *build;
    return;
  }
  auto doc = util::parse_yaml(text, config.manifest_path);
  if (!doc.ok()) {
    *build = error_section(doc.status().message());
    *rails = *build;
    return;
  }
  if (!doc->is_object()) {
    *build = error_section(config.manifest_path + " is not a mapping");
    *rails = *build;
    return;
  }
  *build = Json::object();
  for (const char* key : {"build_signature", "timestamp", "modules", "provenance_hash"}) {
    if (doc->contains(key)) {
      (*build)[key] = (*doc)[key];
    }
  }
  if (!doc->contains("rail_status")) {
    *rails = Json{{"status", "no_rail_status_in_manifest"}};
  } else if (!(*doc)["rail_status"].is_object()) {
    *rails = error_section("rail_status in " + config.manifest_path + " is not a mapping");
  } else {
    *rails = (*doc)["rail_status"];
  }
}

bool name_matches(const std::string& name, const std::vector<std::string>& patterns) {
  if (patterns.empty()) {
    return true;
  }
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) {
    return ::fnmatch(p.c_str(), name.c_str(), 0) == 0;
  });
}

Json active_processes(const PeriodicConfig& config) {
  std::vector<util::ProcessInfo> found;
  Status s = util::for_each_process([&](const util::ProcessInfo& p) {
    if (name_matches(p.name, config.process_patterns)) {
      found.push_back(p);
    }
  });
  if (!s.ok()) {
    return error_section(s.message());
  }
  // The heaviest first: what an operator looks for.
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.rss_kb != b.rss_kb ? a.rss_kb > b.rss_kb : a.pid < b.pid;
  });
  Json list = Json::array();
  for (const auto& p : found) {
    if (static_cast<std::int64_t>(list.size()) >= config.max_processes) {
      break;
    }
    list.push_back(Json{{"pid", p.pid},
                        {"name", safe_text(p.name)},
                        {"state", std::string(1, p.state)},
                        {"rss_kb", p.rss_kb},
                        {"cpu_seconds", std::round(p.cpu_seconds * 100) / 100}});
  }
  Json out = Json::object();
  out["count"] = found.size();
  out["processes"] = std::move(list);
  if (!config.process_patterns.empty()) {
    out["filter"] = config.process_patterns;
  }
  return out;
}

Json infos_json(const std::vector<SnapshotInfo>& infos) {
  Json arr = Json::array();
  for (const auto& i : infos) {
    arr.push_back(Json{{"snapshot_id", i.id},
                       {"type", i.action_type},
                       {"status", i.status},
                       {"timestamp", format_iso8601(i.timestamp)}});
  }
  return arr;
}

// name and cron lines of the scheduled workflows in `dir`.
Json scheduled_workflows(const std::string& dir, std::vector<std::string>* problems) {
  Json out = Json::array();
  std::vector<std::string> names;
  if (Status listed = util::list_dir(AT_FDCWD, dir, &names); !listed.ok()) {
    if (!listed.IsNotFound()) { // a file, a folder that may not be read: said
      problems->push_back("workflows: " + listed.message());
    }
    return out; // no workflows folder: nothing scheduled
  }
  std::erase_if(names, [](const std::string& n) {
    auto ends = [&](const std::string& ext) {
      return n.size() > ext.size() && n.compare(n.size() - ext.size(), ext.size(), ext) == 0;
    };
    return n[0] == '.' || !(ends(".yml") || ends(".yaml"));
  });
  std::sort(names.begin(), names.end());
  for (const std::string& n : names) {
    std::string text;
    Status s = util::read_file(AT_FDCWD, dir + "/" + n, &text, false, k_max_input_bytes);
    auto doc = s.ok() ? util::parse_yaml(text, safe_text(n)) : Result<Json>(s);
    if (!doc.ok()) {
      problems->push_back("workflow " + doc.status().message());
      continue;
    }
    if (!doc->is_object() || !doc->contains("on") || !(*doc)["on"].is_object()) {
      continue;
    }
    const Json& on = (*doc)["on"];
    if (!on.contains("schedule") || !on["schedule"].is_array()) {
      continue;
    }
    Json crons = Json::array();
    for (const Json& item : on["schedule"]) {
      if (item.is_object() && item.contains("cron") && item["cron"].is_string()) {
        crons.push_back(item["cron"]);
      }
    }
    if (crons.empty()) {
      continue;
    }
    Json w = Json::object();
    w["name"] = doc->contains("name") && (*doc)["name"].is_string() ? (*doc)["name"] : Json(n);
    w["file"] = safe_text(n);
    w["cron"] = std::move(crons);
    out.push_back(std::move(w));
  }
  return out;
}

Json workflows(Store& store,
               const PeriodicConfig& config,
               TimeUs now,
               std::vector<std::string>* problems) {
  Json out = Json::object();
  auto open = store.open_actions(k_max_listed_actions);
  out["active"] = open.ok() ? infos_json(*open) : Json::array();
  if (!open.ok()) {
    problems->push_back("workflows.active: " + open.status().message());
  }
  // Finished since the previous periodic snapshot was collected (or ever,
  // for the first): from when it collected, not its stamp, which a second
  // taken already moved ahead (docs/formats.md, "Ids"), and which would
  // then skip what ended in between. Up to when this one collects: what
  // ends while it runs is the next one's, not listed by both.
  TimeUs since = INT64_MIN;
  auto previous = store.latest_periodic();
  if (previous.ok()) {
    since = previous->timestamp;
    const Json& doc = previous->document;
    if (doc.contains("system_state") && doc["system_state"].is_object() &&
        doc["system_state"].contains("timestamp") && doc["system_state"]["timestamp"].is_string()) {
      auto collected = parse_iso8601(doc["system_state"]["timestamp"].get<std::string>());
      if (collected.ok() && *collected < since) {
        since = *collected;
      }
    }
  }
  std::int64_t total = 0;
  auto ended = store.ended_actions(since, now, k_max_listed_actions, &total);
  out["completed"] = ended.ok() ? infos_json(*ended) : Json::array();
  out["completed_count"] = total;
  if (!ended.ok()) {
    problems->push_back("workflows.completed: " + ended.status().message());
  }
  out["scheduled"] = scheduled_workflows(config.workflows_dir, problems);
  return out;
}

Json cognitive_state(const PeriodicConfig& config) {
  std::string text;
  Status s = util::read_file(AT_FDCWD, config.registry_path, &text, false, k_max_input_bytes);
  if (s.IsNotFound()) {
    return Json{{"status", "no_protocol_registry"}};
  }
  if (!s.ok()) {
    return error_section("protocol registry: " + s.message());
  }
  // Read for its protocols' names, not kept: parsed as any JSON reader would.
  Json doc = util::parse_json(text);
  if (doc.is_discarded()) {
    return error_section(config.registry_path + " is not valid JSON");
  }
  // {"protocols": ["Name", ...]} or {"protocols": [{"name": "Name", ...}, ...]}
  const Json* list = doc.is_object() && doc.contains("protocols") ? &doc["protocols"] : &doc;
  if (!list->is_array()) {
    return error_section(config.registry_path + " has no \"protocols\" list");
  }
  Json names = Json::array();
  for (const Json& p : *list) {
    if (p.is_string()) {
      names.push_back(p);
    } else if (p.is_object() && p.contains("name") && p["name"].is_string()) {
      names.push_back(p["name"]);
    }
  }
  return Json{{"protocols", std::move(names)}, {"status", "active"}};
}

Json task_progress(const PeriodicConfig& config) {
  std::string text;
  Status s = util::read_file(AT_FDCWD, config.outcome_relay_path, &text, false, 64u << 20);
  if (s.IsNotFound()) {
    return Json{{"status", "no_outcome_relay"}};
  }
  if (!s.ok()) {
    return error_section("outcome relay: " + s.message());
  }
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.pop_back();
    }
    if (!line.empty()) {
      lines.push_back(safe_text(line));
    }
  }
  Json recent = Json::array();
  const std::size_t first =
      lines.size() > k_recent_activities ? lines.size() - k_recent_activities : 0;
  for (std::size_t i = first; i < lines.size(); ++i) {
    recent.push_back(lines[i]);
  }
  return Json{{"recent_activities", std::move(recent)}, {"total_entries", lines.size()}};
}

} // namespace

PeriodicConfig resolved(const PeriodicConfig& config) {
  PeriodicConfig c = config;
  const std::string base = c.base_dir.empty() ? "." : c.base_dir;
  // Each input: its default name under the base directory; a path given
  // relative, under the base directory too ("manifest: build.yaml" beside
  // "base_dir: /srv/app" is /srv/app/build.yaml).
  auto input = [&](std::string* path, const char* default_name) {
    if (path->empty()) {
      *path = base + "/" + default_name;
    } else if ((*path)[0] != '/' && !c.base_dir.empty()) {
      *path = base + "/" + *path;
    }
  };
  input(&c.manifest_path, "build_manifest.yaml");
  input(&c.workflows_dir, ".github/workflows");
  input(&c.registry_path, "memory-bundles/protocols/registry.json");
  input(&c.outcome_relay_path, "memory-bundles/outcome-relay.md");
  return c;
}

PeriodicInput collect_periodic(Store& store, const PeriodicConfig& config_in) {
  const PeriodicConfig config = resolved(config_in);
  PeriodicInput in;
  in.interval = interval_name(config.interval_seconds);
  in.at = now_us();
  std::vector<std::string> reasons;
  Json build;
  Json rails;
  Json system =
      section_from([&] { return system_state(store, *in.at, &reasons); }, &reasons, "system_state");
  section_from(
      [&] {
        manifest_sections(config, &build, &rails);
        return build;
      },
      &reasons,
      "build_state");
  if (rails.is_object() && rails.contains("error") && !build.contains("error")) {
    reasons.push_back("rail_status: " + rails["error"].get<std::string>());
  }
  in.sections["system_state"] = std::move(system);
  in.sections["build_state"] = std::move(build);
  in.sections["rail_status"] = std::move(rails);
  in.sections["active_processes"] =
      section_from([&] { return active_processes(config); }, &reasons, "active_processes");
  in.sections["workflows"] = section_from(
      [&] { return workflows(store, config, *in.at, &reasons); }, &reasons, "workflows");
  in.sections["cognitive_state"] =
      section_from([&] { return cognitive_state(config); }, &reasons, "cognitive_state");
  in.sections["task_progress"] =
      section_from([&] { return task_progress(config); }, &reasons, "task_progress");
  Json& sys = in.sections["system_state"];
  if (sys.is_object()) {
    sys["health"] = reasons.empty() ? "operational" : "degraded";
    if (!reasons.empty()) {
      sys["health_reasons"] = reasons;
    }
  }
  return in;
}

Result<Snapshot> take_periodic_snapshot(Store& store, const PeriodicConfig& config) {
  // As the configuration file and the flags refuse them.
  if (config.interval_seconds <= 0) {
    return Status::InvalidArgument("the interval must be a positive number of seconds, not " +
                                   std::to_string(config.interval_seconds));
  }
  if (config.max_processes < 0) {
    return Status::InvalidArgument("max_processes must be 0 or more, not " +
                                   std::to_string(config.max_processes));
  }
  for (const std::string& p : config.process_patterns) {
    if (p.empty()) { // matches no name: a list that shows nothing, by mistake
      return Status::InvalidArgument("a process pattern is empty");
    }
  }
  return store.record_periodic(collect_periodic(store, config));
}

} // namespace barrot
