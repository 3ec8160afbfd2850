// Writes that meet a full disk, for real: a file size limit (RLIMIT_FSIZE)
// stops every file of the process from growing past a chosen byte, so the
// WAL, a snapshot file, the log or latest_periodic.json fails part way,
// depending on where the limit falls. Swept over many limits, each write
// call must either succeed (and its snapshot be kept everywhere, at once or
// by the next reconciliation) or fail having stored nothing; and the Store
// must go on writing once there is room again.
#include "support/test_util.h"

#include <barrot/health.h>
#include <barrot/tracker.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace barrot;
using namespace barrot::test;
using std::filesystem::file_size;

namespace {

struct Paths {
  std::string snaps, db, wal, log, latest;
  explicit Paths(const Options& o)
      : snaps(o.snapshots_dir), db(snaps + "/.barrot/barrot.db"), wal(db + "-wal"),
        log(snaps + "/action_log.jsonl"), latest(snaps + "/latest_periodic.json") {}
};

// `n` actions of type `type`, each with `pad` bytes of padding in its details.
std::vector<ActionInput> padded(int n, const std::string& type, std::size_t pad) {
  std::vector<ActionInput> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(action(type, Json{{"i", i}, {"pad", std::string(pad, 'p')}}));
  }
  return out;
}

std::uint64_t size_or_zero(const std::string& path) {
  return file_exists(path) ? file_size(path) : 0;
}

// Where a limit falls: just past where the WAL or the log ends now, so that
// its next write fails at once, part way through a frame or a line, or
// fits. (latest_periodic.json is never the first to fail: it is smaller
// than any commit's frames.)
struct Where {
  const std::string* file;
  std::uint64_t past_end;
};

std::vector<Where> limits_around(const Paths& p) {
  std::vector<Where> out;
  for (const std::string* f : {&p.wal, &p.log}) {
    for (const std::uint64_t d : {0, 1, 30, 500, 4100, 9000, 30000, 70000}) {
      out.push_back({f, d});
    }
  }
  return out;
}

} // namespace

TEST_CASE("under every limit a write stores all or nothing, and the next one succeeds", "[fault]") {
  for (const bool background : {false, true}) {
    INFO("background mirror " << background);
    TempDir dir;
    Options o = options_in(dir);
    o.background_mirror = background;
    const Paths p(o);
    std::map<std::string, SnapshotType> kept; // every snapshot a call said it stored
    auto store = open_store(o);
    const auto keep = [&](const Snapshot& s) { kept[s.id] = s.type; };
    // A log far longer than any WAL below (which each write starts empty),
    // so that a limit near the log's end lets the commit through and stops
    // the append.
    auto first = store->record_actions(padded(300, "warmup", 2000));
    REQUIRE_OK(first.status());
    for (const Snapshot& s : *first) {
      keep(s);
    }
    int failed_calls = 0;
    int calls = 0;
    int mirror_behind = 0; // stored, with a mirror file or line still to write
    for (int round = 0; round < 3; ++round) {
      // A new Store each round: its first writes (nothing prepared yet, the
      // chain head read from the database) meet the limits too.
      store.reset();
      store = open_store(o);
      for (const Where& where : limits_around(p)) {
        for (int op = 0; op < 3; ++op) {
          exec_sql(p.db, "PRAGMA wal_checkpoint(TRUNCATE)");
          const std::uint64_t limit = size_or_zero(*where.file) + where.past_end;
          INFO("op " << op << ", limit " << limit << ": " << where.past_end << " past the end of "
                     << *where.file);
          ++calls;
          {
            FileSizeLimit room(limit);
            std::vector<Snapshot> stored;
            Status s;
            if (op == 0) {
              auto one = store->record_action(action("one", Json{{"limit", limit}}));
              s = one.status();
              if (one.ok()) {
                stored.push_back(*one);
              }
            } else if (op == 1) {
              auto many = store->record_actions(
                  {action("many", Json{{"k", 1}}), action("many", Json{{"k", 2}})});
              s = many.status();
              if (many.ok()) {
                stored = *many;
              }
            } else {
              PeriodicInput pi;
              pi.sections["system_state"] = Json{{"limit", limit}};
              auto periodic = store->record_periodic(pi);
              s = periodic.status();
              if (periodic.ok()) {
                stored.push_back(*periodic);
              }
            }
            // A background mirror's errors: reported here, healed later.
            if (!store->flush().ok()) {
              ++mirror_behind;
            }
            if (s.ok()) {
              for (const Snapshot& one : stored) {
                keep(one);
                if (!one.mirror.ok()) {
                  ++mirror_behind;
                }
              }
            } else {
              ++failed_calls;
            }
          }
          // Room again: the very next write succeeds.
          auto after = store->record_action(action("after", Json{{"limit", limit}}));
          REQUIRE_OK(after.status());
          keep(*after);
          // Its file and line written before the next limit is placed.
          REQUIRE_OK(store->flush());
        }
      }
    }
    // Under the limits, some calls failed, some stored their snapshots but
    // not all of the mirror, and some did it all: the sweep met each case.
    CHECK(failed_calls > 0);
    CHECK(mirror_behind > 0);
    CHECK(failed_calls + mirror_behind < calls);
    store.reset(); // the close reconciles what a failed mirror write left

    auto reopened = open_store(o);
    auto report = reopened->verify();
    REQUIRE_OK(report.status());
    for (const Problem& pr : report->problems) {
      UNSCOPED_INFO(std::string(to_string(pr.kind)) + " " + pr.id + " " + pr.detail);
    }
    CHECK(report->clean());
    CHECK(report->snapshots == static_cast<std::int64_t>(kept.size()));
    auto chain = reopened->verify_chain({});
    REQUIRE_OK(chain.status());
    CHECK(chain->clean());
    const std::string log_text = read_text(p.log);
    std::int64_t actions = 0;
    for (const auto& [id, type] : kept) {
      CHECK(reopened->get(id).ok());
      CHECK(file_exists(p.snaps + "/" + id + ".json"));
      if (type == SnapshotType::action) {
        ++actions;
        CHECK(log_text.find("{\"snapshot_id\":\"" + id + "\"") != std::string::npos);
      }
    }
    CHECK(static_cast<std::int64_t>(read_lines(p.log).size()) == actions);
    auto latest = reopened->latest_periodic();
    REQUIRE_OK(latest.status());
    CHECK(Json::parse(read_text(p.latest))["snapshot_id"] == latest->id);
  }
}

namespace {

// The ids of the stored snapshots, oldest first.
std::vector<std::string> stored_ids(Store& store) {
  std::vector<std::string> ids;
  REQUIRE_OK(store.list([&](const SnapshotInfo& s) {
    ids.push_back(s.id);
    return true;
  }));
  return ids;
}

// No temporary file of an atomic write left in the snapshots directory.
void check_no_temporaries(const Paths& p) {
  for (const std::string& name : list_dir(p.snaps)) {
    INFO(name);
    CHECK(name.find(".tmp") == std::string::npos);
  }
}

} // namespace

TEST_CASE("repair and rebuild that run out of room lose nothing and finish next time", "[fault]") {
  TempDir dir;
  Options o = options_in(dir);
  const Paths p(o);
  auto store = open_store(o);
  auto written = store->record_actions(padded(200, "deploy", 1500));
  REQUIRE_OK(written.status());
  REQUIRE_OK(store->record_periodic(PeriodicInput{}).status());
  const std::vector<std::string> ids = stored_ids(*store);
  const std::string good_log = read_text(p.log);

  // Damage for repair to mend: files gone, one line edited, a torn tail.
  const auto damage = [&] {
    for (int i = 0; i < 5; ++i) {
      std::remove((p.snaps + "/" + (*written)[i * 7].id + ".json").c_str());
    }
    std::string log = good_log;
    log.replace(log.find("\"i\":3,"), 6, "\"i\":9,");
    write_text(p.log, log + "{\"snapshot_id\":\"action_2");
  };
  const std::vector<std::uint64_t> limits = {
      0, 4096, 100000, file_size(p.log) / 2, file_size(p.log) - 10};
  for (const std::string what : {"repair", "rebuild"}) {
    for (const std::uint64_t limit : limits) {
      INFO(what << " with a limit of " << limit);
      damage();
      exec_sql(p.db, "PRAGMA wal_checkpoint(TRUNCATE)");
      const std::string log_before = read_text(p.log);
      Status s;
      {
        FileSizeLimit room(limit);
        s = what == "repair" ? store->repair().status() : store->rebuild_mirror().status();
      }
      check_no_temporaries(p);
      if (!s.ok()) {
        // Failed, naming the file: the snapshots as they were, the log
        // either as it was or whole (a log rewrite is renamed into place
        // only once complete).
        INFO(s.ToString());
        CHECK(s.message().find("cannot write ") != std::string::npos);
        CHECK(stored_ids(*store) == ids);
        const std::string log_now = read_text(p.log);
        CHECK((log_now == log_before || log_now == good_log));
      }
      // With room again the same call finishes the work.
      REQUIRE_OK(what == "repair" ? store->repair().status() : store->rebuild_mirror().status());
      auto report = store->verify();
      REQUIRE_OK(report.status());
      CHECK(report->clean());
      CHECK(read_text(p.log) == good_log);
      CHECK(stored_ids(*store) == ids);
    }
  }
  auto chain = store->verify_chain({});
  REQUIRE_OK(chain.status());
  CHECK(chain->clean());
}

TEST_CASE("an import that runs out of room stores all of it or nothing, and completes next time",
          "[fault]") {
  const std::string legacy = std::string(BARROT_TEST_DATA) + "/legacy-snapshots";
  std::vector<std::string> all; // the ids of a store that imported with room
  std::map<std::string, int> outcomes;
  {
    TempDir dir;
    auto store = open_store(options_in(dir));
    REQUIRE_OK(store->import_legacy(legacy).status());
    all = stored_ids(*store);
    REQUIRE(all.size() > 5);
  }
  // Limits from none at all to around the end of a log far longer than the
  // import's commit, where the commit goes through and the mirror's append
  // is cut.
  for (const std::int64_t past_log_end : {-100000000, -300000, -10, 0, 100, 3000, 100000000}) {
    INFO(past_log_end << " bytes past the log's end");
    TempDir dir;
    Options o = options_in(dir);
    const Paths p(o);
    auto store = open_store(o);
    REQUIRE_OK(store->record_actions(padded(200, "warmup", 1500)).status());
    const std::vector<std::string> before = stored_ids(*store);
    exec_sql(p.db, "PRAGMA wal_checkpoint(TRUNCATE)");
    const std::int64_t limit =
        std::max<std::int64_t>(0, static_cast<std::int64_t>(size_or_zero(p.log)) + past_log_end);
    Status s;
    Status mirror;
    {
      FileSizeLimit room(static_cast<std::uint64_t>(limit));
      auto r = store->import_legacy(legacy);
      s = r.status();
      mirror = r.ok() ? r->mirror : Status::OK();
    }
    check_no_temporaries(p);
    const std::size_t added = stored_ids(*store).size() - before.size();
    if (!s.ok()) {
      ++outcomes["nothing"]; // the transaction failed
      CHECK(added == 0);
    } else if (!mirror.ok()) {
      // All stored, the mirror cut short: said so, as a write's
      // Snapshot::mirror does.
      ++outcomes["mirror cut"];
      CHECK(added == all.size());
      INFO(mirror.ToString());
      CHECK(mirror.message().find("but mirroring them failed") != std::string::npos);
    } else {
      CHECK(added == all.size());
    }
    // With room again: what is missing of the mirror is written (by the
    // next write, or by repair), and a second import adds what is missing.
    REQUIRE_OK(store->repair().status());
    auto again = store->import_legacy(legacy);
    REQUIRE_OK(again.status());
    CHECK(again->imported == (added == 0 ? static_cast<std::int64_t>(all.size()) : 0));
    CHECK(stored_ids(*store).size() == before.size() + all.size());
    auto report = store->verify();
    REQUIRE_OK(report.status());
    CHECK(report->clean());
  }
  CHECK(outcomes["nothing"] > 0);
  CHECK(outcomes["mirror cut"] > 0);
}

namespace {

// A details object of `n` small keys: its indented file is more than twice
// its compact row.
Json wide(int n) {
  Json d = Json::object();
  for (int i = 0; i < n; ++i) {
    d["k" + std::to_string(100000 + i)] = i;
  }
  return d;
}

// An action with wide details, or a periodic snapshot with a wide section.
Result<Snapshot> write_wide(Store& store, bool periodic) {
  if (!periodic) {
    return store.record_action(action("wide", wide(12000)));
  }
  PeriodicInput pi;
  pi.sections["system_state"] = wide(12000);
  return store.record_periodic(pi);
}

} // namespace

TEST_CASE("a snapshot whose own file finds no room is stored, says so, and is completed",
          "[fault]") {
  TempDir dir;
  Options o = options_in(dir);
  const Paths p(o);
  auto store = open_store(o);
  // How much WAL one such write takes from empty, and how large its file is.
  const auto measure = [&](bool periodic, std::uint64_t* wal, std::uint64_t* file) {
    exec_sql(p.db, "PRAGMA wal_checkpoint(TRUNCATE)");
    Result<Snapshot> s = write_wide(*store, periodic);
    REQUIRE_OK(s.status());
    REQUIRE_OK(s->mirror);
    *wal = file_size(p.wal);
    *file = file_size(p.snaps + "/" + s->id + ".json");
  };
  for (const bool periodic : {false, true}) {
    INFO("periodic " << periodic);
    std::uint64_t wal = 0;
    std::uint64_t file = 0;
    measure(periodic, &wal, &file);
    REQUIRE(wal + 16384 < file);
    // A limit between the two: the commit fits, the file does not.
    exec_sql(p.db, "PRAGMA wal_checkpoint(TRUNCATE)");
    Result<Snapshot> s = Status::IOError("unset");
    {
      FileSizeLimit room((wal + file) / 2);
      s = write_wide(*store, periodic);
    }
    REQUIRE_OK(s.status());
    CHECK_FALSE(s->mirror.ok());
    CHECK(s->mirror.message().find(s->id + ".json") != std::string::npos);
    check_no_temporaries(p);
    const std::string id = s->id;
    store.reset(); // the close completes the mirror
    store = open_store(o);
    CHECK(file_size(p.snaps + "/" + id + ".json") == file);
    if (periodic) {
      CHECK(Json::parse(read_text(p.latest))["snapshot_id"] == id);
    }
    auto report = store->verify();
    REQUIRE_OK(report.status());
    CHECK(report->clean());
  }
}

TEST_CASE("the tracker and alerts say when a mirror file found no room", "[fault]") {
  TempDir dir;
  Options o = options_in(dir);
  const Paths p(o);
  auto store = open_store(o);
  ActionTracker tracker(*store);
  // As above: a wide action's commit fits under a limit its file does not.
  exec_sql(p.db, "PRAGMA wal_checkpoint(TRUNCATE)");
  auto first = tracker.track_complete("wide", wide(12000));
  REQUIRE_OK(first.status());
  const std::uint64_t wal = file_size(p.wal);
  const std::uint64_t file = file_size(p.snaps + "/" + *first + ".json");
  REQUIRE(wal + 16384 < file);
  REQUIRE_OK(tracker.mirror());
  exec_sql(p.db, "PRAGMA wal_checkpoint(TRUNCATE)");
  Result<std::string> cut = Status::IOError("unset");
  {
    FileSizeLimit room((wal + file) / 2);
    cut = tracker.track_complete("wide", wide(12000));
  }
  REQUIRE_OK(cut.status());
  CHECK(tracker.mirror().message().find(*cut + ".json") != std::string::npos);
  // It stays: the first problem is what a caller checking at the end sees.
  REQUIRE_OK(tracker.track_start("small").status());
  CHECK_FALSE(tracker.mirror().ok());

  // An alert whose log line finds no room: a log far longer than the
  // alert's commit, and a limit just past its end.
  REQUIRE_OK(store->record_actions(padded(200, "warmup", 1500)).status());
  exec_sql(p.db, "PRAGMA wal_checkpoint(TRUNCATE)");
  HealthReport report;
  report.checks.push_back({"periodic_gap", HealthState::critical, false, "no snapshot", {}});
  Result<std::vector<HealthAlert>> alerts = Status::IOError("unset");
  {
    FileSizeLimit room(file_size(p.log) + 10);
    alerts = record_alerts(*store, report, ActionStatus::completed);
  }
  REQUIRE_OK(alerts.status());
  REQUIRE(alerts->size() == 1);
  CHECK_FALSE((*alerts)[0].mirror.ok());
  CHECK(store->get((*alerts)[0].snapshot_id).ok());
  // Delivered, but with no room to record its end: told apart. (Room for
  // the alert's input, a small memory file, not for a WAL frame.)
  exec_sql(p.db, "PRAGMA wal_checkpoint(TRUNCATE)");
  AlertDelivery d;
  {
    FileSizeLimit room(4096);
    d = deliver_alert(*store, (*alerts)[0], "true", 10000);
  }
  CHECK(d.delivered());
  CHECK_FALSE(d.recorded.ok());
  store.reset(); // the close completes the mirror
  store = open_store(o);
  auto v = store->verify();
  REQUIRE_OK(v.status());
  CHECK(v->clean());
}
