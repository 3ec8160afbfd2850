// Health checks, each on a store built to trigger it and on one built not
// to; alerts recorded once per change; delivery to a real command.
#include "support/test_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

using namespace barrot;
using namespace barrot::test;

namespace {

constexpr TimeUs k_minute = k_us_per_minute;
constexpr TimeUs k_second = 1'000'000;
constexpr TimeUs k_hour = k_us_per_hour;
// A fixed "now", so that the stores below are the same on every run.
constexpr TimeUs k_now = 1795000000LL * 1000000;

HealthCheck find(const HealthReport& r, const std::string& name) {
  for (const HealthCheck& c : r.checks) {
    if (c.name == name) {
      return c;
    }
  }
  FAIL("no check named " << name);
  return r.checks.front();
}

HealthOptions at_now() {
  HealthOptions o;
  o.now = k_now;
  o.quick = true;       // the two whole-store checks have their own tests
  o.disk_warning = 0.0; // and so has disk_space: a full disk here must not fail the others
  o.disk_critical = 0.0;
  return o;
}

HealthReport check(Store& store, const HealthOptions& o = at_now()) {
  auto r = check_health(store, o);
  REQUIRE_OK(r.status());
  return *r;
}

void periodic_at(Store& store, TimeUs t) {
  PeriodicInput in;
  in.sections = Json{{"system_state", {{"health", "operational"}}}};
  in.at = t;
  REQUIRE_OK(store.record_periodic(in).status());
}

// `n` actions of `type` and `status`, evenly spread over [from, to).
void actions_between(Store& store,
                     TimeUs from,
                     TimeUs to,
                     int n,
                     const std::string& type = "deploy",
                     ActionStatus status = ActionStatus::completed) {
  std::vector<ActionInput> batch;
  for (int i = 0; i < n; ++i) {
    ActionInput in = action(type);
    in.status = status;
    in.at = from + (to - from) * i / n;
    batch.push_back(in);
  }
  REQUIRE_OK(store.record_actions(batch).status());
}

} // namespace

TEST_CASE("health: an empty store has no periodic verdict, and the rest pass", "[health]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  HealthReport r = check(*store);
  CHECK(find(r, "periodic_gap").state == HealthState::unknown);
  CHECK(find(r, "generation_rate").state == HealthState::unknown);
  CHECK(r.state == HealthState::unknown);
  for (const char* name : {"error_rate",
                           "action_diversity",
                           "action_pattern",
                           "stale_actions",
                           "mirror_backlog",
                           "mirror_files",
                           "integrity"}) {
    INFO(name);
    CHECK(find(r, name).state == HealthState::ok);
  }
  // Always the same checks, in the same order.
  std::vector<std::string> names;
  for (const HealthCheck& c : r.checks) {
    names.push_back(c.name);
  }
  CHECK(names == health_check_names());
}

TEST_CASE("health: periodic_gap warns past 35 minutes and is critical past the second threshold",
          "[health]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  periodic_at(*store, k_now - 20 * k_minute);
  HealthOptions o = at_now();
  CHECK(check(*store, o).checks[0].state == HealthState::ok);
  o.now = k_now + 16 * k_minute; // 36 minutes after
  HealthReport r = check(*store, o);
  CHECK(find(r, "periodic_gap").state == HealthState::warning);
  CHECK(find(r, "periodic_gap").metrics["age_seconds"] == 36 * 60.0);
  CHECK(find(r, "periodic_gap").summary.find("36 min ago") != std::string::npos);
  o.now = k_now + 71 * k_minute; // 91 minutes after
  CHECK(find(check(*store, o), "periodic_gap").state == HealthState::critical);
  o.periodic_critical = 3 * k_hour; // a late scheduler: wider thresholds
  o.periodic_warning = 2 * k_hour;
  CHECK(find(check(*store, o), "periodic_gap").state == HealthState::ok);
  // Just past a threshold: the seconds say why it is past.
  HealthOptions just = at_now();
  just.now = k_now + 15 * k_minute + 1 * k_second; // 35 min 1 s after
  CHECK(find(check(*store, just), "periodic_gap").summary ==
        "last periodic snapshot 35 min 1 s ago (warning past 35 min)");
  // Short thresholds in seconds, not "past 0 min".
  o.periodic_critical = 90 * k_second;
  o.periodic_warning = 1 * k_second;
  o.now = k_now - 20 * k_minute + 30 * k_second;
  CHECK(find(check(*store, o), "periodic_gap").summary ==
        "last periodic snapshot 30 s ago (warning past 1 s)");
  // Checked as of a past time, what came later does not count.
  periodic_at(*store, k_now + 5 * k_hour);
  CHECK(find(check(*store, at_now()), "periodic_gap").metrics["age_seconds"] == 20 * 60.0);
}

TEST_CASE("health: generation_rate compares periodic snapshots with those expected", "[health]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  HealthOptions o = at_now();
  SECTION("every 30 minutes: OK") {
    for (int i = 0; i < 60; ++i) {
      periodic_at(*store, k_now - i * 30 * k_minute);
    }
    const HealthCheck c = find(check(*store, o), "generation_rate");
    CHECK(c.state == HealthState::ok);
    CHECK(c.metrics["expected"] == 48);
    CHECK(c.metrics["periodic"] == 48);
  }
  SECTION("every hour: half of them, a warning") {
    for (int i = 0; i < 30; ++i) {
      periodic_at(*store, k_now - i * k_hour);
    }
    CHECK(find(check(*store, o), "generation_rate").state == HealthState::warning);
  }
  SECTION("every 90 minutes: critical") {
    for (int i = 0; i < 20; ++i) {
      periodic_at(*store, k_now - i * 90 * k_minute);
    }
    CHECK(find(check(*store, o), "generation_rate").state == HealthState::critical);
  }
  SECTION("imported periodic snapshots do not make a migrated store old") {
    TempDir legacy;
    const TimeUs long_ago = k_now - 300 * 24 * k_hour;
    const std::string id = make_snapshot_id(SnapshotType::periodic, long_ago);
    write_text(legacy / (id + ".json"),
               Json{{"snapshot_id", id},
                    {"snapshot_type", "periodic"},
                    {"timestamp", format_iso8601(long_ago)},
                    {"interval", "30_minutes"},
                    {"system_state", Json::object()}}
                   .dump());
    auto imported = store->import_legacy(legacy.path());
    REQUIRE_OK(imported.status());
    REQUIRE(imported->imported == 1);
    for (int i = 0; i < 3; ++i) {
      periodic_at(*store, k_now - i * 30 * k_minute);
    }
    const HealthCheck c = find(check(*store, o), "generation_rate");
    CHECK(c.state == HealthState::ok);
    CHECK(c.metrics["expected"] == 2);
  }
  SECTION("a store younger than the window is judged over its age") {
    for (int i = 0; i < 5; ++i) {
      periodic_at(*store, k_now - i * 30 * k_minute);
    }
    const HealthCheck c = find(check(*store, o), "generation_rate");
    CHECK(c.state == HealthState::ok);
    CHECK(c.metrics["expected"] == 4);
  }
}

TEST_CASE("health: error_rate is failed over ended actions in the window", "[health]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  HealthOptions o = at_now();
  const TimeUs from = k_now - 10 * k_hour;
  actions_between(*store, from, k_now, 17);
  SECTION("too few ended actions: no verdict") {
    actions_between(*store, from, k_now, 3, "deploy", ActionStatus::failed);
    o.error_min_actions = 100;
    CHECK(find(check(*store, o), "error_rate").state == HealthState::ok);
  }
  SECTION("3 of 20: a warning") {
    actions_between(*store, from, k_now, 3, "deploy", ActionStatus::failed);
    const HealthCheck c = find(check(*store, o), "error_rate");
    CHECK(c.state == HealthState::warning);
    CHECK(c.metrics["failed"] == 3);
    CHECK(c.metrics["ratio"] == Approx(0.15));
  }
  SECTION("6 of 23: critical") {
    actions_between(*store, from, k_now, 6, "deploy", ActionStatus::failed);
    CHECK(find(check(*store, o), "error_rate").state == HealthState::critical);
  }
  SECTION("failures outside the window, executing actions and alerts do not count") {
    actions_between(
        *store, k_now - 48 * k_hour, k_now - 30 * k_hour, 50, "deploy", ActionStatus::failed);
    actions_between(*store, from, k_now, 50, "deploy", ActionStatus::executing);
    actions_between(*store, from, k_now, 50, "alert", ActionStatus::failed);
    const HealthCheck c = find(check(*store, o), "error_rate");
    CHECK(c.state == HealthState::ok);
    CHECK(c.metrics["failed"] == 0);
    CHECK(c.metrics["executing"] == 50);
  }
}

TEST_CASE("health: action_diversity warns when one action type is all there is", "[health]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  actions_between(*store, k_now - 5 * k_hour, k_now, 10, "deploy");
  actions_between(*store, k_now - 5 * k_hour, k_now, 10, "alert");
  const HealthCheck one = find(check(*store), "action_diversity");
  CHECK(one.state == HealthState::warning);
  CHECK(one.metrics["types"] == 1);
  actions_between(*store, k_now - 5 * k_hour, k_now, 1, "build");
  CHECK(find(check(*store), "action_diversity").state == HealthState::ok);
}

TEST_CASE("health: action_pattern flags a spike and a silence against the baseline", "[health]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  // Two days at 10 an hour, up to the last hour.
  actions_between(*store, k_now - 49 * k_hour, k_now - k_hour, 480);
  HealthOptions o = at_now();
  SECTION("silence") {
    const HealthCheck c = find(check(*store, o), "action_pattern");
    CHECK(c.state == HealthState::warning);
    CHECK(c.summary.rfind("silence", 0) == 0);
    CHECK(c.metrics["baseline_hourly_mean"] == Approx(10.0));
  }
  SECTION("a normal hour") {
    actions_between(*store, k_now - k_hour + 1, k_now, 12);
    CHECK(find(check(*store, o), "action_pattern").state == HealthState::ok);
  }
  SECTION("a spike") {
    actions_between(*store, k_now - k_hour + 1, k_now, 200);
    const HealthCheck c = find(check(*store, o), "action_pattern");
    CHECK(c.state == HealthState::warning);
    CHECK(c.summary.rfind("spike", 0) == 0);
    CHECK(c.metrics["last_hour"] == 200);
  }
  SECTION("too little history to judge") {
    o.pattern_min_baseline = 72 * k_hour;
    CHECK(find(check(*store, o), "action_pattern").state == HealthState::ok);
  }
}

TEST_CASE("health: stale_actions names actions started long ago and never ended", "[health]") {
  TempDir dir;
  Options opts = options_in(dir);
  auto store = open_store(opts);
  ActionInput started = action("migrate");
  started.at = k_now - 7 * k_hour;
  auto open = store->record_action(started);
  REQUIRE_OK(open.status());
  ActionInput recent = action("build"); // started an hour ago: not stale yet
  recent.at = k_now - k_hour;
  REQUIRE_OK(store->record_action(recent).status());
  // An import's "executing" is the legacy tracker's, not a real start.
  const std::string legacy = dir / "legacy";
  REQUIRE(::mkdir(legacy.c_str(), 0755) == 0);
  const TimeUs t = k_now - 8 * k_hour;
  const std::string id = make_snapshot_id(SnapshotType::action, t);
  write_text(legacy + "/" + id + ".json",
             Json{{"snapshot_id", id},
                  {"snapshot_type", "action"},
                  {"timestamp", format_iso8601(t)},
                  {"action",
                   {{"type", "legacy"},
                    {"status", "executing"},
                    {"details", Json::object()},
                    {"started_at", format_iso8601(t)}}},
                  {"metadata", {{"generated_by", "BarrotSnapshotGenerator"}, {"version", "1.0.0"}}}}
                 .dump(2));
  REQUIRE_OK(store->import_legacy(legacy).status());

  const HealthCheck c = find(check(*store), "stale_actions");
  CHECK(c.state == HealthState::warning);
  CHECK(c.metrics["stale"] == 1);
  CHECK(c.metrics["oldest"] == Json::array({open->id}));
  CHECK(c.summary.find(open->id + " (migrate)") != std::string::npos);

  ActionInput end = action("migrate");
  end.status = ActionStatus::completed;
  end.at = k_now - 10 * k_minute;
  end.start_snapshot_id = open->id;
  REQUIRE_OK(store->record_action(end).status());
  CHECK(find(check(*store), "stale_actions").state == HealthState::ok);
}

TEST_CASE("health: disk_space compares the free share with its thresholds", "[health]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  HealthOptions o = at_now();
  const HealthCheck c = find(check(*store, o), "disk_space");
  REQUIRE(c.metrics["filesystems"].size() >= 1);
  const double free_share = c.metrics["worst_free_ratio"].get<double>();
  REQUIRE(free_share > 0.0);
  REQUIRE(free_share < 1.0);
  o.disk_warning = 0.0;
  o.disk_critical = 0.0;
  CHECK(find(check(*store, o), "disk_space").state == HealthState::ok);
  o.disk_warning = 1.0; // every real disk has less than all of it free
  CHECK(find(check(*store, o), "disk_space").state == HealthState::warning);
  o.disk_critical = 1.0;
  CHECK(find(check(*store, o), "disk_space").state == HealthState::critical);
}

TEST_CASE("health: the mirror check sees what verify sees", "[health]") {
  TempDir dir;
  Options opts = options_in(dir);
  auto store = open_store(opts);
  auto a = store->record_action(action("deploy"));
  REQUIRE_OK(a.status());
  HealthOptions o = at_now();
  o.quick = false;
  CHECK(find(check(*store, o), "mirror_files").state == HealthState::ok);
  REQUIRE(::unlink((opts.snapshots_dir + "/" + a->id + ".json").c_str()) == 0);
  const HealthCheck c = find(check(*store, o), "mirror_files");
  CHECK(c.state == HealthState::warning);
  CHECK(c.metrics["problems"] == 1);
  CHECK(c.metrics["problem_kinds"]["missing_file"] == 1);
  CHECK(c.summary.find("barrot repair fixes them") != std::string::npos);
  // A file the database does not hold: repair leaves it, and the advice says so.
  REQUIRE_OK(store->repair().status());
  write_text(opts.snapshots_dir + "/action_20200101_000000_000000.json", "{}");
  const HealthCheck extra = find(check(*store, o), "mirror_files");
  CHECK(extra.state == HealthState::warning);
  CHECK(extra.summary.find("barrot repair leaves them") != std::string::npos);
  REQUIRE(::unlink((opts.snapshots_dir + "/action_20200101_000000_000000.json").c_str()) == 0);
  CHECK(find(check(*store, o), "mirror_backlog").state == HealthState::ok);
  o.quick = true; // not looked at
  const HealthCheck quick = find(check(*store, o), "mirror_files");
  CHECK(quick.state == HealthState::ok);
  CHECK(quick.skipped);
}

TEST_CASE("health: integrity is critical for a damaged database file", "[health]") {
  TempDir dir;
  Options opts = options_in(dir);
  {
    auto store = open_store(opts);
    std::vector<ActionInput> batch(3000,
                                   action("deploy", Json{{"padding", std::string(200, 'x')}}));
    REQUIRE_OK(store->record_actions(batch).status());
    HealthOptions o = at_now();
    o.quick = false;
    CHECK(find(check(*store, o), "integrity").state == HealthState::ok);
  }
  // Overwrite a page in the middle of the file (not the schema on page 1).
  const std::string db = opts.snapshots_dir + "/.barrot/barrot.db";
  exec_sql(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  const std::int64_t pages = query_int(db, "PRAGMA page_count");
  REQUIRE(pages > 20);
  {
    std::fstream f(db, std::ios::in | std::ios::out | std::ios::binary);
    const std::int64_t page_size = query_int(db, "PRAGMA page_size");
    f.seekp(static_cast<std::streamoff>(pages / 2 * page_size));
    const std::string garbage(static_cast<std::size_t>(page_size), '\x5a');
    f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  opts.access = Access::read_only;
  auto store = Store::Open(opts);
  REQUIRE_OK(store.status());
  HealthOptions o = at_now();
  o.quick = false;
  auto r = check_health(**store, o);
  REQUIRE_OK(r.status());
  CHECK(find(*r, "integrity").state == HealthState::critical);
  CHECK(r->state == HealthState::critical);
}

TEST_CASE("health: alerts are recorded once per change, as alert snapshots", "[health]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  periodic_at(*store, k_now - 10 * k_minute);
  HealthOptions o = at_now();
  o.periodic_interval = 4 * k_hour; // so that only periodic_gap changes
  HealthReport ok = check(*store, o);
  REQUIRE(ok.state == HealthState::ok);
  auto none = record_alerts(*store, ok, ActionStatus::completed);
  REQUIRE_OK(none.status());
  CHECK(none->empty()); // OK from the start: nothing to say

  o.now = k_now + 40 * k_minute;
  HealthReport late = check(*store, o);
  auto first = record_alerts(*store, late, ActionStatus::completed);
  REQUIRE_OK(first.status());
  REQUIRE(first->size() == 1);
  const HealthAlert& a = first->front();
  CHECK(a.check == "periodic_gap");
  CHECK(a.from == HealthState::ok);
  CHECK(a.to == HealthState::warning);
  auto snap = store->get(a.snapshot_id);
  REQUIRE_OK(snap.status());
  CHECK(snap->document["action"]["type"] == "alert");
  CHECK(snap->document["action"]["status"] == "completed");
  CHECK(snap->document["action"]["details"]["check"] == "periodic_gap");
  CHECK(snap->document["action"]["details"]["to"] == "WARNING");

  auto again = record_alerts(*store, late, ActionStatus::completed); // no change: no alert
  REQUIRE_OK(again.status());
  CHECK(again->empty());

  o.now = k_now + 100 * k_minute;
  auto worse = record_alerts(*store, check(*store, o), ActionStatus::completed);
  REQUIRE_OK(worse.status());
  REQUIRE(worse->size() == 1);
  CHECK(worse->front().from == HealthState::warning);
  CHECK(worse->front().to == HealthState::critical);

  periodic_at(*store, o.now - k_minute);
  auto back = record_alerts(*store, check(*store, o), ActionStatus::completed);
  REQUIRE_OK(back.status());
  REQUIRE(back->size() == 1);
  CHECK(back->front().to == HealthState::ok);
}

TEST_CASE("health: two runs at once record a change once", "[health]") {
  TempDir dir;
  Options opts = options_in(dir);
  {
    auto store = open_store(opts);
    periodic_at(*store, k_now - 50 * k_minute);
  }
  std::vector<std::size_t> counts(4, 1000); // stays 1000 if a run could not take part
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    threads.emplace_back([&, i] {
      auto store = Store::Open(opts);
      if (!store.ok()) {
        return;
      }
      auto report = check_health(**store, at_now());
      if (report.ok()) {
        auto alerts = record_alerts(**store, *report, ActionStatus::completed);
        counts[i] = alerts.ok() ? alerts->size() : 100;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  CHECK(counts[0] + counts[1] + counts[2] + counts[3] == 1);
  CHECK(query_int(opts.snapshots_dir + "/.barrot/barrot.db",
                  "SELECT count(*) FROM snapshots WHERE action_type = 'alert'") == 1);
}

TEST_CASE("health: an alert is delivered to a command as JSON, and its end recorded", "[health]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  HealthOptions o = at_now();
  o.now = k_now + 2 * k_hour;
  o.periodic_interval = 4 * k_hour; // so that only periodic_gap changes
  periodic_at(*store, k_now);
  auto alerts = record_alerts(*store, check(*store, o), ActionStatus::executing);
  REQUIRE_OK(alerts.status());
  REQUIRE(alerts->size() == 1);
  const HealthAlert& a = alerts->front();

  SECTION("delivered") {
    const std::string out = dir / "alert.json";
    const std::string env = dir / "alert.env";
    const AlertDelivery d = deliver_alert(*store,
                                          a,
                                          "cat > '" + out +
                                              "'; echo \"$BARROT_ALERT_CHECK $BARROT_ALERT_FROM "
                                              "$BARROT_ALERT_TO $BARROT_ALERT_SNAPSHOT\" > '" +
                                              env + "'",
                                          10000);
    REQUIRE_OK(d.command);
    REQUIRE_OK(d.recorded);
    REQUIRE_OK(d.mirror);
    Json got = Json::parse(read_text(out));
    CHECK(got["check"] == "periodic_gap");
    CHECK(got["from"] == "OK");
    CHECK(got["to"] == "CRITICAL");
    CHECK(got["snapshot_id"] == a.snapshot_id);
    CHECK(got["metrics"]["age_seconds"] == 7200.0);
    CHECK(read_text(env) == "periodic_gap OK CRITICAL " + a.snapshot_id + "\n");
    auto end = store->latest(1, SnapshotType::action);
    REQUIRE_OK(end.status());
    const Json& action = (*end)[0].document["action"];
    CHECK(action["status"] == "completed");
    CHECK(action["start_snapshot_id"] == a.snapshot_id);
    CHECK(action["details"]["delivered"] == true);
  }
  SECTION("a failing command: an error, and a failed end") {
    const AlertDelivery d = deliver_alert(*store, a, "exit 7", 10000);
    const Status& s = d.command;
    REQUIRE_OK(d.recorded);
    CHECK(s.IsIOError());
    CHECK(s.message().find("status 7") != std::string::npos);
    auto end = store->latest(1, SnapshotType::action);
    const Json& action = (*end)[0].document["action"];
    CHECK(action["status"] == "failed");
    CHECK(action["details"]["error"] == s.message());
  }
  SECTION("a command that hangs is killed at the timeout, its children too") {
    const std::string pid_file = dir / "child.pid";
    const auto t0 = std::chrono::steady_clock::now();
    const Status s =
        deliver_alert(*store, a, "sleep 30 & echo $! > '" + pid_file + "'; wait", 500).command;
    const auto took = std::chrono::steady_clock::now() - t0;
    CHECK(s.IsIOError());
    CHECK(s.message().find("killed") != std::string::npos);
    CHECK(took < std::chrono::seconds(10));
    // The background sleep was in the command's process group: gone too
    // (reaped by init shortly after the kill).
    const pid_t child = static_cast<pid_t>(std::stol(read_text(pid_file)));
    bool gone = false;
    for (int i = 0; i < 200 && !gone; ++i) {
      gone = ::kill(child, 0) != 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(gone);
  }
  SECTION("a command that never reads its input neither blocks nor kills us") {
    REQUIRE_OK(deliver_alert(*store, a, "true", 10000).command);
  }
}

TEST_CASE("health: the Prometheus rendering is valid exposition text", "[health]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  periodic_at(*store, k_now - 50 * k_minute);
  actions_between(*store, k_now - 5 * k_hour, k_now, 20);
  HealthOptions o = at_now();
  o.quick = false;
  const std::string text = format_prometheus(check(*store, o));
  const std::regex sample(
      R"(^[a-z_][a-z0-9_]*(\{[a-z_]+="([^"\\\n]|\\[\\"n])*"(,[a-z_]+="([^"\\\n]|\\[\\"n])*")*\})? [-+0-9.eE]+$)");
  std::set<std::string> typed;
  std::string last_family;
  std::set<std::string> closed; // families whose samples are over
  std::istringstream lines(text);
  std::string line;
  int samples = 0;
  while (std::getline(lines, line)) {
    INFO(line);
    if (line.rfind("# HELP ", 0) == 0) {
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      const std::string name = line.substr(7, line.find(' ', 7) - 7);
      CHECK(typed.insert(name).second); // one TYPE per family
      if (!last_family.empty()) {
        closed.insert(last_family);
      }
      last_family = name;
      continue;
    }
    REQUIRE(std::regex_match(line, sample));
    const std::string name = line.substr(0, line.find_first_of("{ "));
    CHECK(name == last_family); // samples follow their own TYPE line
    CHECK(closed.count(name) == 0);
    ++samples;
  }
  CHECK(samples > 20);
  CHECK(text.find("barrot_health_state 1\n") != std::string::npos);
  CHECK(text.find("barrot_health_check_state{check=\"periodic_gap\"} 1\n") != std::string::npos);
  CHECK(text.find("barrot_health_periodic_gap_age_seconds{check=\"periodic_gap\"} 3000\n") !=
        std::string::npos);
}

TEST_CASE("health: the text rendering starts with a plugin status line", "[health]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  periodic_at(*store, k_now - 50 * k_minute);
  const std::string text = format_health(check(*store));
  CHECK(text.rfind("BARROT WARNING - periodic_gap: last periodic snapshot 50 min ago", 0) == 0);
  CHECK(text.find("\n  WARNING  periodic_gap") != std::string::npos);
  CHECK(to_json(check(*store))["exit_code"] == 1);
}

TEST_CASE("health: states combine and parse", "[health]") {
  CHECK(worse(HealthState::ok, HealthState::warning) == HealthState::warning);
  CHECK(worse(HealthState::unknown, HealthState::warning) == HealthState::unknown);
  CHECK(worse(HealthState::unknown, HealthState::critical) == HealthState::critical);
  CHECK(*parse_health_state("warning") == HealthState::warning);
  CHECK(parse_health_state("bad").status().IsInvalidArgument());
}

TEST_CASE("health: a directory that is not the store's mirror is critical, also when quick",
          "[health]") {
  TempDir dir;
  Options o = options_in(dir);
  o.db_path = dir / "store.db";
  { periodic_at(*open_store(o), k_now - k_minute); }
  o.snapshots_dir = dir / "elsewhere";
  std::filesystem::create_directories(o.snapshots_dir);
  o.access = Access::read_only;
  auto store = open_store(o);
  for (bool quick : {true, false}) {
    HealthOptions h = at_now();
    h.quick = quick;
    HealthCheck c = find(check(*store, h), "mirror_files");
    CHECK(c.state == HealthState::critical);
    CHECK(c.summary.find("every write is refused") == 0);
  }
  auto v = store->verify();
  REQUIRE_OK(v.status());
  REQUIRE(v->problems.size() == 1);
  CHECK(v->problems[0].kind == Problem::Kind::not_the_mirror);
  CHECK(v->problems[0].path == ".barrot/mirror-id");
}
