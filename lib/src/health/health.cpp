// check_health: the checks of the seed's monitoring section, and the store's own.
//
// Every query here goes through Store::query (read-only, fenced) and uses
// the indexes on (snapshot_type, ts_us): a check reads the rows of its
// window, never the whole store. Only `mirror` (a full verify) and
// `integrity` (quick_check) read everything, and --quick skips both.
#include "health/report_util.h"
#include "util/fs.h"

#include <barrot/health.h>

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace barrot {

namespace {

using report::as_int;
using report::fixed;
using report::human_duration;
using report::Rows;
using report::select;
using report::short_number;

// "15%", "10.3%".
std::string percent(double ratio) {
  return short_number(ratio * 100) + "%";
}

double seconds(TimeUs us) {
  return static_cast<double>(us) / 1e6;
}

HealthCheck make(std::string name) {
  HealthCheck c;
  c.name = std::move(name);
  return c;
}

void set(HealthCheck* c, HealthState state, std::string summary) {
  c->state = state;
  c->summary = std::move(summary);
}

// Runs `body` and turns a failure into an UNKNOWN check with the reason.
template <typename Body>
HealthCheck run_check(const std::string& name, Body&& body) {
  HealthCheck c = make(name);
  Status s = body(&c);
  if (!s.ok()) {
    set(&c, HealthState::unknown, "cannot check: " + s.message());
  }
  return c;
}

// Newest/oldest periodic or action (not alert) timestamp up to `now` (a check --at a
// past time ignores what came after); nullopt for none.
Result<std::optional<TimeUs>> edge_time(Store& store, const char* type, bool newest, TimeUs now) {
  BARROT_TRY_ASSIGN(Rows rows,
                    select(store,
                           std::string("SELECT ts_us FROM snapshots WHERE snapshot_type = '") +
                               type + "' AND ts_us <= " + std::to_string(now) +
                               " AND coalesce(action_type, '') <> 'alert' ORDER BY ts_us " +
                               (newest ? "DESC" : "ASC") + " LIMIT 1"));
  if (rows.empty()) {
    return std::optional<TimeUs>();
  }
  return std::optional<TimeUs>(as_int(rows[0][0]));
}

// Actions other than alerts with a timestamp in (from, to].
std::string actions_between(TimeUs from, TimeUs to) {
  return " FROM snapshots WHERE snapshot_type = 'action' AND ts_us > " + std::to_string(from) +
         " AND ts_us <= " + std::to_string(to) + " AND action_type <> 'alert'";
}

Status periodic_gap(Store& store, const HealthOptions& o, HealthCheck* c) {
  BARROT_TRY_ASSIGN(auto newest, edge_time(store, "periodic", true, o.now));
  c->metrics["warning_seconds"] = seconds(o.periodic_warning);
  c->metrics["critical_seconds"] = seconds(o.periodic_critical);
  if (!newest) {
    set(c, HealthState::unknown, "no periodic snapshot recorded yet");
    return Status::OK();
  }
  const TimeUs age = std::max<TimeUs>(0, o.now - *newest);
  c->metrics["age_seconds"] = seconds(age);
  c->metrics["latest"] = format_iso8601(*newest);
  const std::string text = "last periodic snapshot " + human_duration(age) + " ago";
  if (age > o.periodic_critical) {
    set(c,
        HealthState::critical,
        text + " (critical past " + human_duration(o.periodic_critical) + ")");
  } else if (age > o.periodic_warning) {
    set(c,
        HealthState::warning,
        text + " (warning past " + human_duration(o.periodic_warning) + ")");
  } else {
    set(c, HealthState::ok, text);
  }
  return Status::OK();
}

Status generation_rate(Store& store, const HealthOptions& o, HealthCheck* c) {
  BARROT_TRY_ASSIGN(auto first, edge_time(store, "periodic", false, o.now));
  if (!first) {
    set(c, HealthState::unknown, "no periodic snapshot recorded yet");
    return Status::OK();
  }
  // The window starts no earlier than the first periodic snapshot this
  // store took itself: after a migration, the imported ones (months old)
  // would otherwise make a day of expected snapshots out of one.
  BARROT_TRY_ASSIGN(Rows own,
                    select(store,
                           "SELECT min(ts_us) FROM snapshots WHERE snapshot_type = 'periodic' AND "
                           "origin = 'barrot' AND ts_us <= " +
                               std::to_string(o.now)));
  const TimeUs began = own.at(0).at(0).is_number() ? as_int(own.at(0).at(0)) : *first;
  const TimeUs from = std::max(o.now - o.rate_window, began - 1);
  BARROT_TRY_ASSIGN(Rows rows,
                    select(store,
                           "SELECT count(*) FROM snapshots WHERE snapshot_type = 'periodic' AND "
                           "ts_us > " +
                               std::to_string(from) + " AND ts_us <= " + std::to_string(o.now)));
  const std::int64_t seen = as_int(rows.at(0).at(0));
  const std::int64_t expected = o.periodic_interval > 0 ? (o.now - from) / o.periodic_interval : 0;
  c->metrics["window_seconds"] = seconds(o.now - from);
  c->metrics["periodic"] = seen;
  c->metrics["expected"] = expected;
  if (expected == 0) {
    set(c,
        HealthState::ok,
        std::to_string(seen) + " periodic snapshot(s); the first was taken less "
                               "than one interval ago");
    return Status::OK();
  }
  const double ratio = static_cast<double>(seen) / static_cast<double>(expected);
  c->metrics["ratio"] = ratio;
  const std::string text = std::to_string(seen) + " periodic snapshots in the last " +
                           human_duration(o.now - from) + ", " + std::to_string(expected) +
                           " expected (" + percent(ratio) + ")";
  set(c,
      ratio < o.rate_critical  ? HealthState::critical
      : ratio < o.rate_warning ? HealthState::warning
                               : HealthState::ok,
      text);
  return Status::OK();
}

Status error_rate(Store& store, const HealthOptions& o, HealthCheck* c) {
  BARROT_TRY_ASSIGN(Rows rows,
                    select(store,
                           "SELECT status, count(*)" +
                               actions_between(o.now - o.error_window, o.now) +
                               " GROUP BY status"));
  std::map<std::string, std::int64_t> by_status = {
      {"completed", 0}, {"executing", 0}, {"failed", 0}};
  for (const auto& r : rows) {
    by_status[r[0].is_string() ? r[0].get<std::string>() : "?"] = as_int(r[1]);
  }
  const std::int64_t ended = by_status["completed"] + by_status["failed"];
  c->metrics["window_seconds"] = seconds(o.error_window);
  c->metrics["completed"] = by_status["completed"];
  c->metrics["failed"] = by_status["failed"];
  c->metrics["executing"] = by_status["executing"];
  const std::string window = " in the last " + human_duration(o.error_window);
  if (ended < o.error_min_actions) {
    set(c,
        HealthState::ok,
        std::to_string(ended) + " action(s) ended" + window + ": too few to judge the error rate");
    return Status::OK();
  }
  const double ratio = static_cast<double>(by_status["failed"]) / static_cast<double>(ended);
  c->metrics["ratio"] = ratio;
  set(c,
      ratio >= o.error_critical  ? HealthState::critical
      : ratio >= o.error_warning ? HealthState::warning
                                 : HealthState::ok,
      std::to_string(by_status["failed"]) + " of " + std::to_string(ended) + " actions failed" +
          window + " (" + percent(ratio) + ")");
  return Status::OK();
}

Status action_diversity(Store& store, const HealthOptions& o, HealthCheck* c) {
  BARROT_TRY_ASSIGN(Rows rows,
                    select(store,
                           "SELECT count(DISTINCT action_type), count(*)" +
                               actions_between(o.now - o.diversity_window, o.now)));
  const std::int64_t types = as_int(rows.at(0).at(0));
  const std::int64_t actions = as_int(rows.at(0).at(1));
  c->metrics["window_seconds"] = seconds(o.diversity_window);
  c->metrics["types"] = types;
  c->metrics["actions"] = actions;
  c->metrics["min_types"] = o.diversity_min_types;
  const std::string window = " in the last " + human_duration(o.diversity_window);
  if (actions == 0) {
    set(c, HealthState::ok, "no actions" + window + " (action_pattern watches for silence)");
  } else if (types < o.diversity_min_types) {
    set(c,
        HealthState::warning,
        std::to_string(types) + " action type(s)" + window + ", fewer than " +
            std::to_string(o.diversity_min_types));
  } else {
    set(c, HealthState::ok, std::to_string(types) + " action types" + window);
  }
  return Status::OK();
}

Status action_pattern(Store& store, const HealthOptions& o, HealthCheck* c) {
  const TimeUs hour_start = o.now - k_us_per_hour;
  BARROT_TRY_ASSIGN(auto first, edge_time(store, "action", false, o.now));
  BARROT_TRY_ASSIGN(Rows last,
                    select(store, "SELECT count(*)" + actions_between(hour_start, o.now)));
  const std::int64_t recent = as_int(last.at(0).at(0));
  c->metrics["last_hour"] = recent;
  const TimeUs base_from =
      std::max(hour_start - o.pattern_baseline, first ? *first - 1 : hour_start);
  const TimeUs covered = hour_start - base_from;
  c->metrics["baseline_seconds"] = seconds(std::max<TimeUs>(0, covered));
  if (!first || covered < o.pattern_min_baseline) {
    set(c,
        HealthState::ok,
        std::to_string(recent) + " action(s) in the last hour; less than " +
            human_duration(o.pattern_min_baseline) + " of history to compare with");
    return Status::OK();
  }
  BARROT_TRY_ASSIGN(Rows base,
                    select(store, "SELECT count(*)" + actions_between(base_from, hour_start)));
  const double mean = static_cast<double>(as_int(base.at(0).at(0))) /
                      (static_cast<double>(covered) / static_cast<double>(k_us_per_hour));
  c->metrics["baseline_hourly_mean"] = mean;
  const std::string text = std::to_string(recent) +
                           " action(s) in the last hour against a mean of " + fixed(mean, 1) +
                           " an hour over the " + human_duration(covered) + " before";
  const auto r = static_cast<double>(recent);
  if (r > o.pattern_factor * mean && r - mean >= o.pattern_min_excess) {
    set(c, HealthState::warning, "spike: " + text);
  } else if (recent == 0 && mean >= o.pattern_silence_mean) {
    set(c, HealthState::warning, "silence: " + text);
  } else {
    set(c, HealthState::ok, text);
  }
  return Status::OK();
}

Status stale_actions(Store& store, const HealthOptions& o, HealthCheck* c) {
  // Started by Barrot (imports carry the legacy tracker's false "executing"),
  // and no end snapshot links back to it.
  const std::string where = " FROM actions s WHERE s.ts_us > " +
                            std::to_string(o.now - o.stale_after - o.stale_window) +
                            " AND s.ts_us <= " + std::to_string(o.now - o.stale_after) +
                            " AND s.status = 'executing' AND s.origin = 'barrot' AND NOT EXISTS "
                            "(SELECT 1 FROM actions e WHERE e.start_snapshot_id = s.snapshot_id)";
  BARROT_TRY_ASSIGN(Rows n, select(store, "SELECT count(*)" + where));
  BARROT_TRY_ASSIGN(
      Rows oldest,
      select(store,
             "SELECT s.snapshot_id, s.action_type, s.ts_us" + where + " ORDER BY s.ts_us LIMIT 5"));
  const std::int64_t count = as_int(n.at(0).at(0));
  c->metrics["stale"] = count;
  c->metrics["after_seconds"] = seconds(o.stale_after);
  Json ids = Json::array();
  std::string named;
  for (const auto& r : oldest) {
    ids.push_back(r[0]);
    named += (named.empty() ? "" : ", ") + r[0].get<std::string>() + " (" +
             r[1].get<std::string>() + ")";
  }
  c->metrics["oldest"] = ids;
  if (count == 0) {
    set(c,
        HealthState::ok,
        "no action left executing for more than " + human_duration(o.stale_after));
  } else {
    set(c,
        HealthState::warning,
        std::to_string(count) + " action(s) still executing more than " +
            human_duration(o.stale_after) + " after their start: " + named +
            (count > 5 ? ", ..." : ""));
  }
  return Status::OK();
}

Status disk_space(Store& store, const HealthOptions& o, HealthCheck* c) {
  std::vector<std::string> places = {store.options().snapshots_dir,
                                     util::parent_dir(store.db_path())};
  std::vector<dev_t> seen;
  Json fs = Json::array();
  double worst = 1.0;
  std::string worst_place;
  for (const std::string& place : places) {
    struct stat st {};
    struct statvfs vfs {};
    if (::stat(place.c_str(), &st) != 0 || ::statvfs(place.c_str(), &vfs) != 0) {
      return Status::IOError("cannot read the free space of " + place);
    }
    if (std::find(seen.begin(), seen.end(), st.st_dev) != seen.end()) {
      continue;
    }
    seen.push_back(st.st_dev);
    const auto free_bytes =
        static_cast<std::int64_t>(vfs.f_bavail) * static_cast<std::int64_t>(vfs.f_frsize);
    const auto total =
        static_cast<std::int64_t>(vfs.f_blocks) * static_cast<std::int64_t>(vfs.f_frsize);
    const double ratio =
        total > 0 ? static_cast<double>(free_bytes) / static_cast<double>(total) : 1.0;
    fs.push_back(Json{{"path", place},
                      {"free_bytes", free_bytes},
                      {"total_bytes", total},
                      {"free_ratio", ratio}});
    if (ratio < worst || worst_place.empty()) {
      worst = std::min(worst, ratio);
      worst_place = place;
    }
  }
  c->metrics["filesystems"] = fs;
  c->metrics["worst_free_ratio"] = worst;
  const std::string text = percent(worst) + " free where " + worst_place + " lives";
  set(c,
      worst < o.disk_critical  ? HealthState::critical
      : worst < o.disk_warning ? HealthState::warning
                               : HealthState::ok,
      text);
  return Status::OK();
}

Status mirror_backlog(Store& store, const HealthOptions&, HealthCheck* c) {
  BARROT_TRY_ASSIGN(std::int64_t backlog, store.mirror_backlog());
  c->metrics["backlog"] = backlog;
  if (backlog == 0) {
    set(c, HealthState::ok, "nothing committed is waiting to be mirrored");
  } else {
    set(c,
        HealthState::warning,
        std::to_string(backlog) + " snapshot(s) committed but not mirrored (a writer died or "
                                  "is stuck): the next write or barrot repair mirrors them");
  }
  return Status::OK();
}

Status mirror_files(Store& store, const HealthOptions& o, HealthCheck* c) {
  // A directory that is not the store's mirror: every write fails.
  auto refused = [&](const std::string& why) {
    c->metrics["problems"] = 1;
    set(c, HealthState::critical, "every write is refused: " + why);
    return Status::OK();
  };
  if (o.quick) {
    // Checked even so: one small file read.
    if (Status bound = store.mirror_binding(); !bound.ok()) {
      if (!bound.IsInvalidArgument() && !bound.IsCorruption()) {
        return bound;
      }
      return refused(bound.message());
    }
    c->skipped = true;
    set(c, HealthState::ok, "not checked (--quick)");
    return Status::OK();
  }
  auto verified = store.verify(); // checks the binding first
  if (!verified.ok() && verified.status().IsBusy()) {
    // The store held past the busy timeout: by the monthly archive run (which
    // moves files and lines out as it goes), a repair, an import. Checked
    // again next time, rather than an alert and its all-clear for a normal
    // overlap; what stays busy for good shows in the other checks.
    c->skipped = true;
    set(c, HealthState::ok, "not checked: " + verified.status().message());
    return Status::OK();
  }
  BARROT_TRY_ASSIGN(VerifyReport report, std::move(verified));
  if (report.problems.size() == 1 && report.problems[0].kind == Problem::Kind::not_the_mirror) {
    return refused(report.problems[0].detail);
  }
  std::map<std::string, std::int64_t> kinds;
  std::int64_t extra = 0; // files and lines the database does not hold: repair leaves them
  for (const Problem& p : report.problems) {
    ++kinds[std::string(to_string(p.kind))];
    extra += p.kind == Problem::Kind::extra_file || p.kind == Problem::Kind::extra_line ||
             p.kind == Problem::Kind::extra_latest;
  }
  c->metrics["problems"] = static_cast<std::int64_t>(report.problems.size());
  c->metrics["problem_kinds"] = kinds;
  if (report.problems.empty()) {
    set(c, HealthState::ok, "database, files and log agree");
    return Status::OK();
  }
  std::string list;
  for (const auto& [kind, n] : kinds) {
    list += (list.empty() ? "" : ", ") + std::to_string(n) + " " + kind;
  }
  const auto all = static_cast<std::int64_t>(report.problems.size());
  set(c,
      HealthState::warning,
      std::to_string(all) + " disagreement(s) between the database and its files (" + list + "): " +
          (extra == all ? "files or lines the database does not hold: barrot repair leaves them "
                          "(move them away, or mirror --rebuild drops extra lines)"
           : extra > 0  ? "barrot repair fixes all but the extra files and lines from the "
                          "database"
                        : "barrot repair fixes them from the database"));
  return Status::OK();
}

Status integrity(Store& store, const HealthOptions& o, HealthCheck* c) {
  if (o.quick) {
    c->skipped = true;
    set(c, HealthState::ok, "not checked (--quick)");
    return Status::OK();
  }
  auto checked = store.integrity_check();
  if (!checked.ok() && checked.status().IsCorruption()) {
    checked = std::vector<std::string>{checked.status().message()};
  }
  BARROT_TRY_ASSIGN(std::vector<std::string> errors, std::move(checked));
  c->metrics["errors"] = errors;
  if (errors.empty()) {
    set(c, HealthState::ok, "SQLite quick_check: ok");
  } else {
    set(c,
        HealthState::critical,
        "SQLite quick_check: " + errors.front() +
            (errors.size() > 1 ? " (and " + std::to_string(errors.size() - 1) + " more)" : ""));
  }
  return Status::OK();
}

using CheckFn = Status (*)(Store&, const HealthOptions&, HealthCheck*);

const std::vector<std::pair<std::string, CheckFn>>& checks() {
  static const std::vector<std::pair<std::string, CheckFn>> k_checks = {
      {"periodic_gap", periodic_gap},
      {"generation_rate", generation_rate},
      {"error_rate", error_rate},
      {"action_diversity", action_diversity},
      {"action_pattern", action_pattern},
      {"stale_actions", stale_actions},
      {"disk_space", disk_space},
      {"mirror_backlog", mirror_backlog},
      {"mirror_files", mirror_files},
      {"integrity", integrity},
  };
  return k_checks;
}

} // namespace

std::string_view to_string(HealthState state) {
  switch (state) {
  case HealthState::ok:
    return "OK";
  case HealthState::warning:
    return "WARNING";
  case HealthState::critical:
    return "CRITICAL";
  case HealthState::unknown:
    return "UNKNOWN";
  }
  return "UNKNOWN";
}

Result<HealthState> parse_health_state(std::string_view text) {
  for (HealthState s :
       {HealthState::ok, HealthState::warning, HealthState::critical, HealthState::unknown}) {
    std::string upper(text);
    std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char ch) {
      return static_cast<char>(std::toupper(ch));
    });
    if (upper == to_string(s)) {
      return s;
    }
  }
  return Status::InvalidArgument("not a health state (OK, WARNING, CRITICAL, UNKNOWN): '" +
                                 std::string(text) + "'");
}

HealthState worse(HealthState a, HealthState b) {
  auto rank = [](HealthState s) {
    switch (s) {
    case HealthState::ok:
      return 0;
    case HealthState::warning:
      return 1;
    case HealthState::unknown:
      return 2;
    case HealthState::critical:
      return 3;
    }
    return 2;
  };
  return rank(a) >= rank(b) ? a : b;
}

const std::vector<std::string>& health_check_names() {
  static const std::vector<std::string> k_names = [] {
    std::vector<std::string> names;
    for (const auto& [name, fn] : checks()) {
      names.push_back(name);
    }
    return names;
  }();
  return k_names;
}

Result<HealthReport> check_health(Store& store, const HealthOptions& options) {
  HealthOptions o = options;
  if (o.now == 0) {
    o.now = now_us();
  }
  // One cheap read first, so that an unreadable store fails the call rather
  // than making every check UNKNOWN.
  BARROT_TRY(select(store, "SELECT count(*) FROM snapshots WHERE seq < 0").status());
  HealthReport report;
  report.at = o.now;
  for (const auto& check : checks()) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one.
    const auto& fn = check.second;
    report.checks.push_back(
        run_check(check.first, [&](HealthCheck* c) { return fn(store, o, c); }));
    report.state = worse(report.state, report.checks.back().state);
  }
  return report;
}

} // namespace barrot
