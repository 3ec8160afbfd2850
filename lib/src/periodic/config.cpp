// The periodic configuration file and durations.
#include "util/fs.h"
#include "util/utf8.h"
#include "util/yaml_json.h"

#include <barrot/archive.h>
#include <barrot/periodic.h>

#include <fcntl.h>

#include <charconv>
#include <unordered_map>
#include <yaml-cpp/yaml.h>

namespace barrot {

Result<std::int64_t> parse_duration(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument("invalid duration '" + std::string(text) +
                                   "' (expected e.g. 90s, 30m, 1h, 1d or 30_minutes)");
  };
  std::int64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || n <= 0) {
    return bad();
  }
  const std::string_view unit = text.substr(static_cast<std::size_t>(ptr - text.data()));
  std::int64_t scale = 0;
  if (unit.empty() || unit == "s" || unit == "_seconds" || unit == "_second") {
    scale = 1;
  } else if (unit == "m" || unit == "_minutes" || unit == "_minute") {
    scale = 60;
  } else if (unit == "h" || unit == "_hours" || unit == "_hour") {
    scale = 3600;
  } else if (unit == "d" || unit == "_days" || unit == "_day") {
    scale = 86400;
  } else {
    return bad();
  }
  // A year at most: longer is a typo, and keeps every later sum in range.
  constexpr std::int64_t k_max_seconds = 366 * 86400;
  if (n > k_max_seconds / scale) {
    return Status::InvalidArgument("duration '" + std::string(text) + "' is longer than 366 days");
  }
  return n * scale;
}

std::string interval_name(std::int64_t seconds) {
  if (seconds % 86400 == 0) {
    return std::to_string(seconds / 86400) + "_days";
  }
  if (seconds % 3600 == 0) {
    return std::to_string(seconds / 3600) + "_hours";
  }
  if (seconds % 60 == 0) {
    return std::to_string(seconds / 60) + "_minutes";
  }
  return std::to_string(seconds) + "_seconds";
}

namespace {

// Reads `path` as YAML; `root` is null for an empty file, else a mapping.
// A setting given twice is a mistake whichever one was meant (YAML wants
// keys unique; yaml-cpp would keep the last silently).
Status unique_keys(const YAML::Node& map, const std::string& path, const std::string& prefix) {
  std::unordered_map<std::string, int> lines;
  for (const auto& kv : map) {
    if (!kv.first.IsScalar()) {
      continue; // refused where the key is read
    }
    const int line = kv.first.Mark().line + 1;
    auto [it, added] = lines.emplace(kv.first.Scalar(), line);
    if (!added) {
      return Status::InvalidArgument(path + ": line " + std::to_string(line) + ": '" + prefix +
                                     kv.first.Scalar() + "' is set twice (first on line " +
                                     std::to_string(it->second) + ")");
    }
  }
  return Status::OK();
}

Status load_yaml_map(const std::string& path, YAML::Node* root) {
  std::string text;
  Status s = util::read_file(AT_FDCWD, path, &text, /*nofollow=*/false);
  if (!s.ok()) {
    return Status::InvalidArgument("configuration file: " + s.message());
  }
  try {
    *root = YAML::Load(text); // the first document
    // Settings in a second one (after `---`) are refused, not ignored.
    if (util::has_second_document(text)) {
      return Status::InvalidArgument(path + ": holds more than one YAML document (split by ---): "
                                            "settings go in one");
    }
  } catch (const YAML::Exception& e) {
    return util::yaml_error(path, e);
  }
  if (!root->IsNull() && !root->IsMap()) {
    return Status::InvalidArgument(path + ": not a mapping of settings");
  }
  return root->IsNull() ? Status::OK() : unique_keys(*root, path, "");
}

constexpr const char* k_known_keys = "known: base_dir, manifest, workflows_dir, registry, "
                                     "outcome_relay, process_patterns, max_processes, interval, "
                                     "archive";

std::string where_of(const std::string& path, const YAML::Node& key_node, const std::string& key) {
  return path + ": line " + std::to_string(key_node.Mark().line + 1) + ": '" + key + "'";
}

Status text_of(const YAML::Node& v, const std::string& where, std::string* out) {
  if (!v.IsScalar() || v.Scalar().empty()) {
    return Status::InvalidArgument(where + " must be a non-empty text");
  }
  if (util::has_control_chars(v.Scalar())) {
    // A NUL would cut a path short where the system reads it.
    return Status::InvalidArgument(where + " holds a control character (a NUL, say)");
  }
  *out = v.Scalar();
  return Status::OK();
}

Status whole_number(const std::string& t, std::int64_t lo, std::int64_t hi, std::int64_t* out) {
  std::int64_t n = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
  if (t.empty() || ec != std::errc() || ptr != t.data() + t.size() || n < lo || n > hi) {
    return Status::InvalidArgument("must be a whole number from " + std::to_string(lo) + " to " +
                                   std::to_string(hi));
  }
  *out = n;
  return Status::OK();
}

} // namespace

Result<std::int64_t> parse_retention_days(std::string_view text) {
  std::string t(text);
  std::int64_t scale = 1;
  if (!t.empty() && (t.back() == 'd' || t.back() == 'w')) {
    scale = t.back() == 'w' ? 7 : 1;
    t.pop_back();
  }
  std::int64_t n = 0;
  if (!whole_number(t, 0, 36600, &n).ok() || n * scale > 36600) {
    return Status::InvalidArgument("retention '" + std::string(text.substr(0, 40)) +
                                   "' is not a number of days (e.g. 30d, 12w, 90) up to 36600");
  }
  return n * scale;
}

Status load_archive_config(const std::string& path, ArchiveOptions* options) {
  YAML::Node root;
  BARROT_TRY(load_yaml_map(path, &root));
  if (root.IsNull()) {
    return Status::OK();
  }
  ArchiveOptions o = *options;
  for (const auto& kv : root) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
    if (key != "archive") {
      continue; // barrot periodic's settings: load_periodic_config checks them
    }
    const std::string where = where_of(path, kv.first, key);
    if (!kv.second.IsMap()) {
      return Status::InvalidArgument(where + " must be a mapping (dir, retain_periodic, "
                                             "retain_actions, level)");
    }
    BARROT_TRY(unique_keys(kv.second, path, "archive."));
    for (const auto& akv : kv.second) {
      const std::string akey = akv.first.IsScalar() ? akv.first.Scalar() : "?";
      const std::string awhere = where_of(path, akv.first, "archive." + akey);
      std::string t;
      BARROT_TRY(text_of(akv.second, awhere, &t));
      if (akey == "dir") {
        o.archive_dir = t;
      } else if (akey == "retain_periodic" || akey == "retain_actions") {
        auto days = parse_retention_days(t);
        if (!days.ok()) {
          return days.status().WithContext(awhere);
        }
        (akey == "retain_periodic" ? o.retention.periodic_days : o.retention.action_days) = *days;
      } else if (akey == "level") {
        std::int64_t n = 0;
        Status s = whole_number(t, 1, 19, &n);
        if (!s.ok()) {
          return Status::InvalidArgument(awhere + " " + s.message());
        }
        o.level = static_cast<int>(n);
      } else {
        return Status::InvalidArgument(awhere + " is not a setting (known: dir, retain_periodic, "
                                                "retain_actions, level)");
      }
    }
  }
  *options = o;
  return Status::OK();
}

Status load_periodic_config(const std::string& path, PeriodicConfig* config) {
  YAML::Node root;
  BARROT_TRY(load_yaml_map(path, &root));
  if (root.IsNull()) {
    return Status::OK(); // an empty file changes nothing
  }
  PeriodicConfig c = *config;
  for (const auto& kv : root) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
    const YAML::Node& v = kv.second;
    const std::string where = where_of(path, kv.first, key);
    auto text_value = [&](std::string* out) { return text_of(v, where, out); };
    if (key == "base_dir") {
      BARROT_TRY(text_value(&c.base_dir));
    } else if (key == "manifest") {
      BARROT_TRY(text_value(&c.manifest_path));
    } else if (key == "workflows_dir") {
      BARROT_TRY(text_value(&c.workflows_dir));
    } else if (key == "registry") {
      BARROT_TRY(text_value(&c.registry_path));
    } else if (key == "outcome_relay") {
      BARROT_TRY(text_value(&c.outcome_relay_path));
    } else if (key == "process_patterns") {
      if (!v.IsSequence()) {
        return Status::InvalidArgument(where + " must be a list of name patterns");
      }
      c.process_patterns.clear();
      for (const auto& item : v) {
        std::string pattern;
        BARROT_TRY(text_of(item, where + " (each pattern)", &pattern));
        c.process_patterns.push_back(std::move(pattern));
      }
    } else if (key == "max_processes") {
      std::string t;
      BARROT_TRY(text_value(&t));
      Status ns = whole_number(t, 0, 100000, &c.max_processes);
      if (!ns.ok()) {
        return Status::InvalidArgument(where + " " + ns.message());
      }
    } else if (key == "interval") {
      std::string t;
      BARROT_TRY(text_value(&t));
      auto d = parse_duration(t);
      if (!d.ok()) {
        return d.status().WithContext(where);
      }
      c.interval_seconds = *d;
    } else if (key == "archive") {
      continue; // barrot-archive's settings: load_archive_config checks them
    } else {
      return Status::InvalidArgument(where + " is not a setting (" + k_known_keys + ")");
    }
  }
  *config = c;
  return Status::OK();
}

} // namespace barrot
