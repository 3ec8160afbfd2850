// The periodic configuration file and durations.
#include "util/fs.h"
#include "util/yaml_json.h"

#include <barrot/periodic.h>

#include <fcntl.h>

#include <charconv>
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
    return Status::InvalidArgument("duration '" + std::string(text) + "' is longer than a year");
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

Status load_periodic_config(const std::string& path, PeriodicConfig* config) {
  std::string text;
  Status s = util::read_file(AT_FDCWD, path, &text, /*nofollow=*/false);
  if (!s.ok()) {
    return Status::InvalidArgument("configuration file: " + s.message());
  }
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(path + ": line " + std::to_string(e.mark.line + 1) + ": " +
                                   e.msg);
  }
  if (root.IsNull()) {
    return Status::OK(); // an empty file changes nothing
  }
  if (!root.IsMap()) {
    return Status::InvalidArgument(path + ": not a mapping of settings");
  }
  PeriodicConfig c = *config;
  for (const auto& kv : root) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
    const YAML::Node& v = kv.second;
    const std::string where =
        path + ": line " + std::to_string(kv.first.Mark().line + 1) + ": '" + key + "'";
    auto text_value = [&](std::string* out) -> Status {
      if (!v.IsScalar() || v.Scalar().empty()) {
        return Status::InvalidArgument(where + " must be a non-empty text");
      }
      *out = v.Scalar();
      return Status::OK();
    };
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
        if (!item.IsScalar() || item.Scalar().empty()) {
          return Status::InvalidArgument(where + " must hold non-empty texts");
        }
        c.process_patterns.push_back(item.Scalar());
      }
    } else if (key == "max_processes") {
      std::string t;
      BARROT_TRY(text_value(&t));
      std::int64_t n = -1;
      auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
      if (ec != std::errc() || ptr != t.data() + t.size() || n < 0 || n > 100000) {
        return Status::InvalidArgument(where + " must be a whole number from 0 to 100000");
      }
      c.max_processes = n;
    } else if (key == "interval") {
      std::string t;
      BARROT_TRY(text_value(&t));
      auto d = parse_duration(t);
      if (!d.ok()) {
        return d.status().WithContext(where);
      }
      c.interval_seconds = *d;
    } else {
      return Status::InvalidArgument(where + " is not a setting (known: base_dir, manifest, "
                                             "workflows_dir, registry, outcome_relay, "
                                             "process_patterns, max_processes, interval)");
    }
  }
  *config = c;
  return Status::OK();
}

} // namespace barrot
