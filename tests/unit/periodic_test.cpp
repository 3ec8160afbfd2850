#include "support/test_util.h"
#include "util/time.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

using namespace barrot;
using namespace barrot::test;

namespace {

const std::string k_manifest = std::string(BARROT_TEST_DATA) + "/build_manifest.yaml";

struct Base {
  TempDir dir;
  Options options = options_in(dir);
  PeriodicConfig config;
  std::unique_ptr<Store> store = open_store(options);

  Base() { config.base_dir = dir.path(); }

  void put(const std::string& rel, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(dir / rel).parent_path());
    write_text(dir / rel, text);
  }

  Json collect() {
    PeriodicInput in = collect_periodic(*store, config);
    return in.sections;
  }
};

} // namespace

TEST_CASE("a periodic snapshot has every section, in the seed's order", "[periodic]") {
  Base b;
  auto snap = take_periodic_snapshot(*b.store, b.config);
  REQUIRE_OK(snap.status());
  std::vector<std::string> keys;
  for (const auto& [k, v] : snap->document.items()) {
    keys.push_back(k);
  }
  CHECK(keys == std::vector<std::string>{"snapshot_id",
                                         "snapshot_type",
                                         "timestamp",
                                         "interval",
                                         "system_state",
                                         "build_state",
                                         "rail_status",
                                         "active_processes",
                                         "workflows",
                                         "cognitive_state",
                                         "task_progress",
                                         "metadata"});
  CHECK(snap->document["interval"] == "30_minutes");
}

TEST_CASE("a periodic snapshot refuses what the configuration file refuses", "[periodic]") {
  Base b;
  for (std::int64_t seconds : {0, -5}) {
    PeriodicConfig c = b.config;
    c.interval_seconds = seconds;
    CHECK(take_periodic_snapshot(*b.store, c).status().IsInvalidArgument());
  }
  PeriodicConfig c = b.config;
  c.max_processes = -1;
  CHECK(take_periodic_snapshot(*b.store, c).status().IsInvalidArgument());
  CHECK(b.store->summary()->total == 0);
}

TEST_CASE("system_state reports real figures", "[periodic]") {
  Base b;
  REQUIRE_OK(b.store->record_action(action("before")).status());
  Json s = b.collect()["system_state"];
  CHECK(s["uptime_seconds"].get<std::int64_t>() > 0);
  CHECK(s["load_average"].size() == 3);
  CHECK(s["memory"]["total_kb"].get<std::int64_t>() > 0);
  CHECK(s["disk"]["total_bytes"].get<std::int64_t>() >=
        s["disk"]["free_bytes"].get<std::int64_t>());
  CHECK(s["snapshots_stored"] == 1);
  CHECK(s["hostname"].is_string());
  // Operational, unless this machine's disk is nearly full (a real reason).
  if (s["health"] != "operational") {
    for (const Json& r : s["health_reasons"]) {
      CHECK(r.get<std::string>().find("disk space") != std::string::npos);
    }
  }
}

TEST_CASE("build_state and rail_status come from the manifest", "[periodic][manifest]") {
  Base b;
  SECTION("present") {
    b.config.manifest_path = k_manifest;
    Json j = b.collect();
    CHECK(j["build_state"]["build_signature"] == "BNDL-V2");
    CHECK(j["build_state"]["timestamp"] == "2026-01-06T11:29:03Z");
    CHECK(j["build_state"]["modules"].size() == 6);
    CHECK(j["build_state"]["provenance_hash"] == "123e4567-e89b-12d3-a456-426614174000");
    CHECK(j["rail_status"]["deployment"] == "stable");
  }
  SECTION("missing") {
    Json j = b.collect();
    CHECK(j["build_state"] == Json{{"status", "no_build_manifest"}});
    CHECK(j["rail_status"] == Json{{"status", "no_build_manifest"}});
  }
  SECTION("invalid YAML") {
    b.put("build_manifest.yaml", "build_signature: [unclosed\n");
    Json j = b.collect();
    CHECK(j["build_state"]["error"].get<std::string>().find("line") != std::string::npos);
    CHECK(j["system_state"]["health"] == "degraded");
    CHECK(j["system_state"]["health_reasons"][0].get<std::string>().find("build_state") == 0);
  }
  SECTION("rail_status that is not a mapping") {
    b.put("build_manifest.yaml", "build_signature: X\nrail_status: [a, b]\n");
    Json j = b.collect();
    CHECK(j["build_state"]["build_signature"] == "X");
    CHECK(j["rail_status"].contains("error"));
    CHECK(j["system_state"]["health"] == "degraded");
  }
  SECTION("invalid UTF-8 and alias bombs") {
    b.put("build_manifest.yaml",
          "build_signature: \"\xff\"\na: &a [x, x, x, x, x, x, x, x, x, x]\n"
          "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, "
          "*b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, "
          "*d, *d, *d, *d, *d, *d]\n");
    auto snap = take_periodic_snapshot(*b.store, b.config); // never fails
    REQUIRE_OK(snap.status());
    CHECK(snap->document["build_state"]["error"].get<std::string>().find("aliases") !=
          std::string::npos);
    b.put("build_manifest.yaml", "build_signature: \"\xff\"\n");
    auto utf = take_periodic_snapshot(*b.store, b.config);
    REQUIRE_OK(utf.status());
    CHECK(utf->document["build_state"]["build_signature"] == "\xEF\xBF\xBD");
  }
  SECTION("a key given twice") {
    b.put("build_manifest.yaml", "build_signature: X\nrail_status:\n  r1: ok\n  r1: down\n");
    Json j = b.collect();
    CHECK(j["build_state"]["error"].get<std::string>().find("'r1' appears twice") !=
          std::string::npos);
  }
  SECTION("not a mapping") {
    b.put("build_manifest.yaml", "- just\n- a list\n");
    Json j = b.collect();
    CHECK(j["build_state"]["error"].get<std::string>().find("not a mapping") != std::string::npos);
    CHECK(j["rail_status"].contains("error"));
  }
}

TEST_CASE("processes come from /proc, filtered, without command lines", "[periodic][proc]") {
  Base b;
  Json all = b.collect()["active_processes"];
  CHECK(all["count"].get<std::int64_t>() > 1);
  CHECK(all["processes"].size() == std::min<std::size_t>(50, all["count"].get<std::size_t>()));
  b.config.process_patterns = {"barrot_test*"}; // other test processes may run beside us
  Json mine = b.collect()["active_processes"];
  REQUIRE(mine["count"].get<std::int64_t>() >= 1);
  CHECK(mine["count"].get<std::int64_t>() < all["count"].get<std::int64_t>());
  Json p;
  for (const Json& q : mine["processes"]) {
    if (q["pid"] == static_cast<std::int64_t>(::getpid())) {
      p = q;
    }
  }
  REQUIRE(p.is_object());
  CHECK(p["name"] == "barrot_tests");
  CHECK(p["rss_kb"].get<std::int64_t>() > 0);
  std::vector<std::string> keys;
  for (const auto& [k, v] : p.items()) {
    keys.push_back(k);
  }
  CHECK(keys == std::vector<std::string>{"pid", "name", "state", "rss_kb", "cpu_seconds"});
  b.config.max_processes = 0;
  Json none = b.collect()["active_processes"];
  CHECK(none["count"].get<std::int64_t>() >= 1);
  CHECK(none["processes"].empty());
}

TEST_CASE("workflows: scheduled from workflow files, active and completed from the store",
          "[periodic][workflows]") {
  Base b;
  b.put(".github/workflows/snap.yml",
        "name: Barrot snapshot\non:\n  schedule:\n    - cron: '*/30 * * * *'\n"
        "  workflow_dispatch:\njobs: {}\n");
  b.put(".github/workflows/ci.yaml", "name: CI\non: [push]\njobs: {}\n");
  b.put(".github/workflows/broken.yml", "on: [unclosed\n");
  ActionTracker tracker(*b.store);
  auto open = tracker.track_start("deploy");
  REQUIRE_OK(open.status());
  { TrackedAction done(tracker, "build"); }
  Json w = b.collect()["workflows"];
  REQUIRE(w["scheduled"].size() == 1);
  CHECK(w["scheduled"][0]["name"] == "Barrot snapshot");
  CHECK(w["scheduled"][0]["cron"] == Json::array({"*/30 * * * *"}));
  REQUIRE(w["active"].size() == 1);
  CHECK(w["active"][0]["snapshot_id"] == *open);
  CHECK(w["completed_count"] == 1);
  CHECK(w["completed"][0]["type"] == "build");
  // The broken file is named, the snapshot still taken.
  auto snap = take_periodic_snapshot(*b.store, b.config);
  REQUIRE_OK(snap.status());
  CHECK(snap->document["system_state"]["health"] == "degraded");
  // Completed counts only what ended since the previous periodic snapshot.
  CHECK(b.collect()["workflows"]["completed_count"] == 0);
}

TEST_CASE("a workflows folder that is a file is named as the reason, not taken for none",
          "[periodic][workflows]") {
  Base b;
  b.put("not-a-folder", "x");
  b.config.workflows_dir = b.dir / "not-a-folder";
  auto snap = take_periodic_snapshot(*b.store, b.config);
  REQUIRE_OK(snap.status());
  CHECK(snap->document["workflows"]["scheduled"] == Json::array());
  auto named = [](const std::vector<std::string>& reasons, const std::string& start) {
    return std::any_of(reasons.begin(), reasons.end(), [&](const std::string& r) {
      return r.rfind(start, 0) == 0;
    });
  };
  CHECK(named(health_reasons(*snap), "workflows: cannot list " + b.config.workflows_dir));
  b.config.workflows_dir = b.dir / "absent"; // none at all: nothing scheduled, no reason
  CHECK_FALSE(
      named(health_reasons(take_periodic_snapshot(*b.store, b.config).value()), "workflow"));
}

TEST_CASE("completed counts from the previous snapshot's collection, not its moved stamp",
          "[periodic][workflows]") {
  Base b;
  // Five in one second: each later one is stamped a second on (ids are per
  // second), the last some seconds ahead of the clock.
  for (int i = 0; i < 5; ++i) {
    REQUIRE_OK(take_periodic_snapshot(*b.store, b.config).status());
  }
  auto last = b.store->latest_periodic();
  REQUIRE_OK(last.status());
  REQUIRE(last->timestamp > util::realtime_us() + 1'000'000);
  ActionInput ended = action("build");
  ended.status = ActionStatus::completed;
  REQUIRE_OK(b.store->record_action(ended).status()); // before that stamp
  Json w = b.collect()["workflows"];
  CHECK(w["completed_count"] == 1);
}

TEST_CASE("an action is listed as completed by one periodic snapshot, not two",
          "[periodic][workflows]") {
  Base b;
  // Ends after the next snapshot is collected, before that snapshot has
  // listed what ended: as an action that ends while a collection runs.
  ActionInput ended = action("build");
  ended.status = ActionStatus::completed;
  ended.at = util::realtime_us() + 1'000'000;
  REQUIRE_OK(b.store->record_action(ended).status());
  auto first = take_periodic_snapshot(*b.store, b.config);
  REQUIRE_OK(first.status());
  CHECK(first->document["workflows"]["completed_count"] == 0); // not ended when it collected
  while (util::realtime_us() <= *ended.at) {
    ::usleep(50'000);
  }
  auto second = take_periodic_snapshot(*b.store, b.config);
  REQUIRE_OK(second.status());
  CHECK(second->document["workflows"]["completed_count"] == 1);
  CHECK(b.collect()["workflows"]["completed_count"] == 0);
}

TEST_CASE("cognitive_state and task_progress from the memory bundles", "[periodic]") {
  Base b;
  SECTION("absent") {
    Json j = b.collect();
    CHECK(j["cognitive_state"] == Json{{"status", "no_protocol_registry"}});
    CHECK(j["task_progress"] == Json{{"status", "no_outcome_relay"}});
    CHECK(j["system_state"].value("health_reasons", Json::array()).dump().find("cognitive") ==
          std::string::npos);
  }
  SECTION("present") {
    b.put("memory-bundles/protocols/registry.json",
          R"({"protocols": ["Cross Reliance", {"name": "Cross Annex"}, "Cross Index"]})");
    std::string relay;
    for (int i = 1; i <= 14; ++i) {
      relay += "entry " + std::to_string(i) + "\n\n";
    }
    b.put("memory-bundles/outcome-relay.md", relay);
    Json j = b.collect();
    CHECK(j["cognitive_state"]["protocols"] ==
          Json::array({"Cross Reliance", "Cross Annex", "Cross Index"}));
    CHECK(j["cognitive_state"]["status"] == "active");
    CHECK(j["task_progress"]["total_entries"] == 14);
    CHECK(j["task_progress"]["recent_activities"].size() == 10);
    CHECK(j["task_progress"]["recent_activities"][9] == "entry 14");
  }
  SECTION("invalid registry") {
    b.put("memory-bundles/protocols/registry.json", "{nope");
    Json j = b.collect();
    CHECK(j["cognitive_state"].contains("error"));
    CHECK(j["system_state"]["health"] == "degraded");
  }
}

TEST_CASE("the configuration file sets what it names and refuses the rest", "[periodic][config]") {
  TempDir dir;
  PeriodicConfig c;
  write_text(dir / "ok.yaml",
             "base_dir: /srv/app\ninterval: 15m\nprocess_patterns: [nginx*, postgres]\n"
             "max_processes: 10\nmanifest: /etc/manifest.yaml\n");
  REQUIRE_OK(load_periodic_config(dir / "ok.yaml", &c));
  CHECK(c.base_dir == "/srv/app");
  CHECK(c.interval_seconds == 900);
  CHECK(c.process_patterns == std::vector<std::string>{"nginx*", "postgres"});
  CHECK(c.max_processes == 10);
  CHECK(resolved(c).workflows_dir == "/srv/app/.github/workflows");
  CHECK(resolved(c).manifest_path == "/etc/manifest.yaml");
  // A relative input is under the base directory, not the current one.
  PeriodicConfig rel = c;
  rel.manifest_path = "conf/build.yaml";
  rel.registry_path = "reg.json";
  CHECK(resolved(rel).manifest_path == "/srv/app/conf/build.yaml");
  CHECK(resolved(rel).registry_path == "/srv/app/reg.json");
  rel.base_dir.clear(); // no base: the current directory, as given
  CHECK(resolved(rel).manifest_path == "conf/build.yaml");

  write_text(dir / "typo.yaml", "base_dir: /srv\nintervall: 15m\n");
  Status s = load_periodic_config(dir / "typo.yaml", &c);
  CHECK(s.IsInvalidArgument());
  CHECK(s.message().find("line 2: 'intervall' is not a setting") != std::string::npos);
  write_text(dir / "type.yaml", "process_patterns: nginx\n");
  CHECK(load_periodic_config(dir / "type.yaml", &c).message().find("list") != std::string::npos);
  write_text(dir / "bad.yaml", "interval: soon\n");
  CHECK(load_periodic_config(dir / "bad.yaml", &c).message().find("invalid duration") !=
        std::string::npos);
  write_text(dir / "list.yaml", "- a\n");
  CHECK(load_periodic_config(dir / "list.yaml", &c).IsInvalidArgument());
  CHECK(load_periodic_config(dir / "missing.yaml", &c).IsInvalidArgument());
  // A setting given twice: neither silently wins.
  write_text(dir / "twice.yaml", "interval: 30m\nbase_dir: /x\ninterval: 1h\n");
  s = load_periodic_config(dir / "twice.yaml", &c);
  CHECK(s.IsInvalidArgument());
  CHECK(s.message().find("line 3: 'interval' is set twice (first on line 1)") != std::string::npos);
  // A NUL would cut the path short where the system reads it.
  write_text(dir / "nul.yaml", "base_dir: \"/srv/app\\0/etc\"\n");
  s = load_periodic_config(dir / "nul.yaml", &c);
  CHECK(s.IsInvalidArgument());
  CHECK(s.message().find("control character") != std::string::npos);
  // Settings in a second YAML document would be ignored: refused.
  write_text(dir / "two.yaml", "max_processes: 6\n---\nbogus_key: 1\n");
  s = load_periodic_config(dir / "two.yaml", &c);
  CHECK(s.IsInvalidArgument());
  CHECK(s.message().find("holds more than one YAML document") != std::string::npos);
  write_text(dir / "one.yaml", "---\nmax_processes: 6\n");
  PeriodicConfig one;
  REQUIRE_OK(load_periodic_config(dir / "one.yaml", &one));
  CHECK(one.max_processes == 6);
  write_text(dir / "esc.yaml", "process_patterns: [\"a\\e[2J\"]\n");
  CHECK(load_periodic_config(dir / "esc.yaml", &c).IsInvalidArgument());
  CHECK(c.base_dir == "/srv/app"); // failed loads changed nothing
}

TEST_CASE("durations parse in the common forms", "[periodic][config]") {
  CHECK(parse_duration("90").value() == 90);
  CHECK(parse_duration("90s").value() == 90);
  CHECK(parse_duration("30m").value() == 1800);
  CHECK(parse_duration("30_minutes").value() == 1800);
  CHECK(parse_duration("2h").value() == 7200);
  CHECK(parse_duration("1d").value() == 86400);
  for (const char* bad : {"", "0", "-5m", "5x", "m", "99999999999999999999"}) {
    INFO(bad);
    CHECK(parse_duration(bad).status().IsInvalidArgument());
  }
  CHECK(interval_name(1800) == "30_minutes");
  CHECK(interval_name(3600) == "1_hours"); // plural always: a store's intervals stay one spelling
  CHECK(interval_name(45) == "45_seconds");
}

namespace {

// A daemon of three 1-second ticks at most, into `dir`, its lines in `log`.
struct DaemonRun {
  TempDir dir;
  std::atomic<bool> stop{false};
  PeriodicConfig config;
  DaemonOptions options;
  std::vector<std::string> log;
  DaemonRun() {
    config.base_dir = dir.path();
    config.interval_seconds = 1;
    options.stop = &stop;
    options.max_snapshots = 3;
    options.log = [this](const std::string& line) { log.push_back(line); };
  }
};

} // namespace

TEST_CASE("the daemon takes snapshots on a fixed schedule and stops when told",
          "[periodic][daemon]") {
  DaemonRun run;
  TempDir& dir = run.dir;
  PeriodicConfig& c = run.config;
  DaemonOptions& d = run.options;
  std::vector<std::string>& log = run.log;
  { open_store(options_in(dir)); } // created beforehand: every tick costs the same
  REQUIRE_OK(run_periodic_daemon(options_in(dir), c, d));
  auto store = open_store(options_in(dir));
  auto snaps = store->latest(10, SnapshotType::periodic);
  REQUIRE(snaps->size() == 3);
  // One second apart (ids are per second, so they are all distinct too).
  const TimeUs gap = (*snaps)[0].timestamp - (*snaps)[2].timestamp;
  CHECK(gap >= 1'900'000);
  CHECK(gap <= 3'100'000); // a tick landing in the previous one's second moves 1 s on
  CHECK(log.back() == "stopped after 3 snapshot(s)");
}

TEST_CASE("a store deleted while the daemon runs is not started afresh", "[periodic][daemon]") {
  DaemonRun run;
  const Options o = options_in(run.dir);
  bool deleted = false;
  run.options.log = [&](const std::string& line) {
    run.log.push_back(line);
    if (!deleted && line.rfind("snapshot ", 0) == 0) { // after the first tick
      std::filesystem::remove_all(o.snapshots_dir);
      deleted = true;
    }
  };
  Status s = run_periodic_daemon(o, run.config, run.options);
  CHECK(s.IsNotFound());
  CHECK(s.message() == "the store at " + o.snapshots_dir +
                           " is gone (deleted or moved while the daemon ran): put it back, or "
                           "restart the daemon to begin a new one");
  CHECK(deleted);
  CHECK_FALSE(std::filesystem::exists(o.snapshots_dir));
}

TEST_CASE("the daemon stops on what only an operator can fix", "[periodic][daemon]") {
  DaemonRun run;
  TempDir& dir = run.dir;
  PeriodicConfig& c = run.config;
  DaemonOptions& d = run.options;
  std::vector<std::string>& log = run.log;
  Options o = options_in(dir);
  o.db_path = dir / "store.db";
  { open_store(o); } // bound to the default directory
  o.snapshots_dir = dir / "elsewhere";
  const auto t0 = std::chrono::steady_clock::now();
  Status s = run_periodic_daemon(o, c, d);
  CHECK(s.IsInvalidArgument());
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(900)); // no next tick
  REQUIRE(log.size() == 1);
  CHECK(log[0].find("error: the database") == 0);
}
