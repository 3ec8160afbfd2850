// Writes that meet a full disk, for real: a file size limit (RLIMIT_FSIZE)
// stops every file of the process from growing past a chosen byte, so the
// WAL, a snapshot file, the log or latest_periodic.json fails part way,
// depending on where the limit falls. Swept over many limits, each write
// call must either succeed (and its snapshot be kept everywhere, at once or
// by the next reconciliation) or fail having stored nothing; and the Store
// must go on writing once there is room again.
#include "support/test_util.h"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace barrot;
using namespace barrot::test;

namespace {

struct Paths {
  std::string snaps, db, wal, log, latest;
  explicit Paths(const Options& o)
      : snaps(o.snapshots_dir), db(snaps + "/.barrot/barrot.db"), wal(db + "-wal"),
        log(snaps + "/action_log.jsonl"), latest(snaps + "/latest_periodic.json") {}
};

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
    std::vector<ActionInput> warmup;
    for (int i = 0; i < 300; ++i) {
      warmup.push_back(action("warmup", Json{{"i", i}, {"pad", std::string(2000, 'w')}}));
    }
    auto first = store->record_actions(warmup);
    REQUIRE_OK(first.status());
    for (const Snapshot& s : *first) {
      keep(s);
    }
    int failed_calls = 0;
    int calls = 0;
    int mirror_behind = 0; // stored, with a mirror file or line still to write
    for (int round = 0; round < 3; ++round) {
      // Closed and opened again: the close truncates a long WAL, so that
      // the log, not only the WAL, is the longer file in later rounds.
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

TEST_CASE("repair, rebuild and import that run out of room lose nothing and finish next time",
          "[fault]") {
  TempDir dir;
  Options o = options_in(dir);
  const Paths p(o);
  auto store = open_store(o);
  std::vector<ActionInput> batch;
  for (int i = 0; i < 200; ++i) {
    batch.push_back(action("deploy", Json{{"i", i}, {"pad", std::string(1500, 'p')}}));
  }
  auto written = store->record_actions(batch);
  REQUIRE_OK(written.status());
  REQUIRE_OK(store->record_periodic(PeriodicInput{}).status());
  std::vector<std::string> ids = stored_ids(*store);
  std::string good_log = read_text(p.log);

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
  bool imported = false;
  for (const std::string what : {"repair", "rebuild", "import"}) {
    for (const std::uint64_t limit : limits) {
      INFO(what << " with a limit of " << limit);
      if (what != "import") {
        damage();
      }
      exec_sql(p.db, "PRAGMA wal_checkpoint(TRUNCATE)");
      const std::string log_before = read_text(p.log);
      Status s;
      {
        FileSizeLimit room(limit);
        if (what == "repair") {
          s = store->repair().status();
        } else if (what == "rebuild") {
          s = store->rebuild_mirror().status();
        } else {
          s = store->import_legacy(std::string(BARROT_TEST_DATA) + "/legacy-snapshots").status();
        }
      }
      check_no_temporaries(p);
      if (!s.ok()) {
        // Failed: the database as it was, the log either as it was or
        // whole (a log rewrite is renamed into place only once complete).
        CHECK(stored_ids(*store) == ids);
        const std::string log_now = read_text(p.log);
        CHECK((log_now == log_before || log_now == good_log));
      }
      // With room again the same call finishes the work.
      if (what == "repair") {
        REQUIRE_OK(store->repair().status());
      } else if (what == "rebuild") {
        REQUIRE_OK(store->rebuild_mirror().status());
      } else {
        const bool first = !imported;
        auto r = store->import_legacy(std::string(BARROT_TEST_DATA) + "/legacy-snapshots");
        REQUIRE_OK(r.status());
        imported = imported || r->imported > 0 || s.ok();
        CHECK((r->imported > 0) == (first && !s.ok()));
        ids = stored_ids(*store);
        good_log = read_text(p.log);
      }
      auto report = store->verify();
      REQUIRE_OK(report.status());
      CHECK(report->clean());
      CHECK(read_text(p.log) == good_log);
      CHECK(stored_ids(*store) == ids);
    }
  }
  CHECK(imported);
  auto chain = store->verify_chain({});
  REQUIRE_OK(chain.status());
  CHECK(chain->clean());
}
