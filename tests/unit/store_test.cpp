#include "support/test_util.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <limits>
#include <set>
#include <thread>

using namespace barrot;
using namespace barrot::test;

namespace {

std::string db_of(const TempDir& dir) {
  return dir / "snapshots/.barrot/barrot.db";
}

} // namespace

TEST_CASE("an action is written to the database, its file and the log", "[store]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  ActionInput in = action("deployment", Json{{"environment", "production"}, {"version", "1.0.0"}});
  in.status = ActionStatus::completed;
  auto snap = store->record_action(in);
  REQUIRE_OK(snap.status());
  REQUIRE_OK(snap->mirror);

  const Json& doc = snap->document;
  std::vector<std::string> keys;
  for (const auto& [k, v] : doc.items()) {
    keys.push_back(k);
  }
  CHECK(keys == std::vector<std::string>{
                    "snapshot_id", "snapshot_type", "timestamp", "action", "metadata"});
  CHECK(doc["action"]["status"] == "completed");
  CHECK(doc["action"]["started_at"] == doc["timestamp"]);
  CHECK(doc["metadata"]["generated_by"] == "BarrotSnapshotGenerator");

  // The mirror carries the document with its chain record; the first
  // snapshot links to the genesis.
  const Json mirrored = with_chain(doc, 1, k_genesis_hex);
  CHECK(read_text(dir / ("snapshots/" + snap->id + ".json")) == mirrored.dump(2));
  auto lines = read_lines(dir / "snapshots/action_log.jsonl");
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == mirrored.dump());
  auto stored = store->get(snap->id);
  REQUIRE_OK(stored.status());
  CHECK(stored->document == doc);
}

TEST_CASE("the true status is recorded for each of the three", "[store]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  for (ActionStatus st : {ActionStatus::executing, ActionStatus::completed, ActionStatus::failed}) {
    ActionInput in = action("job");
    in.status = st;
    auto snap = store->record_action(in);
    REQUIRE_OK(snap.status());
    CHECK(snap->document["action"]["status"] == std::string(to_string(st)));
  }
  auto sum = store->summary();
  REQUIRE_OK(sum.status());
  CHECK(sum->actions_by_status ==
        std::map<std::string, std::int64_t>{{"completed", 1}, {"executing", 1}, {"failed", 1}});
}

TEST_CASE("two actions in the same microsecond both get kept", "[store][ids]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  const TimeUs t = parse_iso8601("2025-12-22T02:32:11.483890Z").value();
  std::set<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ActionInput in = action("same", Json{{"i", i}});
    in.at = t;
    auto snap = store->record_action(in);
    REQUIRE_OK(snap.status());
    ids.insert(snap->id);
    CHECK(snap->document["timestamp"] == format_iso8601(snap->timestamp));
  }
  CHECK(ids == std::set<std::string>{"action_20251222_023211_483890",
                                     "action_20251222_023211_483891",
                                     "action_20251222_023211_483892"});
  CHECK(read_lines(dir / "snapshots/action_log.jsonl").size() == 3);
}

TEST_CASE("a batch of one time takes the next free ids in one pass", "[store][ids]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  const TimeUs t = parse_iso8601("2025-12-22T02:32:11Z").value();
  ActionInput first = action("early");
  first.at = t + 1; // taken already: the batch steps over it
  REQUIRE_OK(store->record_action(first).status());
  std::vector<ActionInput> batch(3000, action("backfill"));
  for (ActionInput& in : batch) {
    in.at = t;
  }
  auto snaps = store->record_actions(batch);
  REQUIRE_OK(snaps.status());
  std::set<TimeUs> times;
  for (const Snapshot& s : *snaps) {
    times.insert(s.timestamp);
  }
  CHECK(times.size() == 3000);
  CHECK(*times.begin() == t);
  CHECK(*times.rbegin() == t + 3000); // t + 1 was taken
  // One seq each, in order.
  CHECK(snaps->back().chain->seq == 3001);
}

TEST_CASE("two periodic snapshots in the same second both get kept", "[store][ids]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  PeriodicInput in;
  in.at = parse_iso8601("2025-12-22T02:32:11.100000Z").value();
  auto a = store->record_periodic(in);
  in.at = parse_iso8601("2025-12-22T02:32:11.900000Z").value();
  auto b = store->record_periodic(in);
  REQUIRE_OK(a.status());
  REQUIRE_OK(b.status());
  CHECK(a->id == "periodic_20251222_023211");
  CHECK(b->id == "periodic_20251222_023212");
  CHECK(b->document["timestamp"] == "2025-12-22T02:32:12.900000Z");
}

TEST_CASE("an id whose file already exists is not overwritten", "[store][ids]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  const std::string foreign = dir / "snapshots/action_20251222_023211_483890.json";
  write_text(foreign, "{\"not\":\"ours\"}");
  ActionInput in = action("x");
  in.at = parse_iso8601("2025-12-22T02:32:11.483890Z").value();
  auto snap = store->record_action(in);
  REQUIRE_OK(snap.status());
  CHECK(snap->id == "action_20251222_023211_483891");
  CHECK(read_text(foreign) == "{\"not\":\"ours\"}");
}

TEST_CASE("latest_periodic.json is the newest periodic by timestamp", "[store]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  PeriodicInput newer;
  newer.at = parse_iso8601("2025-12-22T03:00:00Z").value();
  PeriodicInput older;
  older.at = parse_iso8601("2025-12-22T02:30:00Z").value();
  auto n = store->record_periodic(newer);
  auto o = store->record_periodic(older); // recorded later, but older
  REQUIRE_OK(n.status());
  REQUIRE_OK(o.status());
  CHECK(read_text(dir / "snapshots/latest_periodic.json") ==
        with_chain(n->document, 1, k_genesis_hex).dump(2));
  auto latest = store->latest_periodic();
  REQUIRE_OK(latest.status());
  CHECK(latest->id == n->id);
}

TEST_CASE("a batch is one transaction and one append", "[store][batch]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  std::vector<ActionInput> inputs;
  for (int i = 0; i < 50; ++i) {
    inputs.push_back(action("batch", Json{{"i", i}}));
  }
  auto snaps = store->record_actions(inputs);
  REQUIRE_OK(snaps.status());
  CHECK(snaps->size() == 50);
  CHECK(read_lines(dir / "snapshots/action_log.jsonl").size() == 50);
  std::set<std::string> ids;
  for (const auto& s : *snaps) {
    ids.insert(s.id);
    CHECK(file_exists(dir / ("snapshots/" + s.id + ".json")));
  }
  CHECK(ids.size() == 50);
}

TEST_CASE("a transaction longer than the automatic checkpoint leaves no long WAL at close",
          "[store][batch]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  std::vector<ActionInput> inputs;
  for (int i = 0; i < 2000; ++i) {
    inputs.push_back(action("batch", Json{{"i", i}, {"pad", std::string(2000, 'p')}}));
  }
  REQUIRE_OK(store->record_actions(inputs).status());
  const std::string wal = db_of(dir) + "-wal";
  REQUIRE(std::filesystem::file_size(wal) > 1000 * (4096 + 24)); // past 1000 frames: checkpointed
  REQUIRE_OK(store->record_action(action("small")).status());
  store.reset();
  CHECK(std::filesystem::file_size(wal) == 0);
  CHECK(query_int(db_of(dir), "SELECT count(*) FROM snapshots") == 2001);
}

TEST_CASE("bad input is rejected and nothing is written", "[store][input]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  SECTION("empty type") {
    CHECK(store->record_action(action("")).status().IsInvalidArgument());
  }
  SECTION("control characters in the type") {
    CHECK(store->record_action(action("a\x01")).status().IsInvalidArgument());
  }
  SECTION("details that are not an object") {
    CHECK(store->record_action(action("t", Json::array({1}))).status().IsInvalidArgument());
  }
  SECTION("details with invalid UTF-8") {
    CHECK(store->record_action(action("t", Json{{"k", "\xff"}})).status().IsInvalidArgument());
  }
  SECTION("oversized details") {
    Json big{{"blob", std::string(k_max_details_bytes, 'x')}};
    CHECK(store->record_action(action("t", big)).status().IsInvalidArgument());
  }
  SECTION("one bad action in a batch rejects the whole batch") {
    auto r = store->record_actions({action("good"), action("")});
    CHECK(r.status().IsInvalidArgument());
    CHECK(r.status().message().find("action 2") != std::string::npos);
  }
  SECTION("numbers and values JSON text cannot hold (they would be stored changed)") {
    for (const Json& v : {Json(std::nan("")),
                          Json(std::numeric_limits<double>::infinity()),
                          Json(-std::numeric_limits<double>::infinity()),
                          Json::binary({1, 2, 3})}) {
      auto r = store->record_action(action("t", Json{{"a", {{"b", v}}}}));
      CHECK(r.status().IsInvalidArgument());
      CHECK(r.status().message().find("JSON text cannot hold") != std::string::npos);
      PeriodicInput p;
      p.sections = Json{{"s", {{"v", v}}}};
      CHECK(store->record_periodic(p).status().IsInvalidArgument());
    }
  }
  SECTION("an unknown status, a start after the end, an interval with a control character") {
    ActionInput odd = action("t");
    odd.status = static_cast<ActionStatus>(7);
    CHECK(store->record_action(odd).status().IsInvalidArgument());
    ActionInput backwards = action("t");
    backwards.at = 2'000'000;
    backwards.started_at = 3'000'000;
    CHECK(store->record_action(backwards).status().IsInvalidArgument());
    PeriodicInput p;
    p.interval = "a\nb";
    CHECK(store->record_periodic(p).status().IsInvalidArgument());
  }
  SECTION("periodic sections named as the store's own keys") {
    for (const char* own : {"snapshot_id", "snapshot_type", "timestamp", "interval", "metadata"}) {
      PeriodicInput p;
      p.sections = Json{{"system_state", Json::object()}, {own, {{"x", 1}}}};
      auto r = store->record_periodic(p);
      CHECK(r.status().IsInvalidArgument());
      CHECK(r.status().message().find(own) != std::string::npos);
    }
  }
  SECTION("a start id that is not an id") {
    ActionInput in = action("t");
    in.start_snapshot_id = "../../etc/passwd";
    CHECK(store->record_action(in).status().IsInvalidArgument());
  }
  CHECK(query_int(db_of(dir), "SELECT count(*) FROM snapshots") == 0);
  CHECK(read_text(dir / "snapshots/action_log.jsonl").empty());
  for (const auto& name : list_dir(dir / "snapshots")) {
    CHECK((name == ".barrot" || name == "action_log.jsonl"));
  }
}

TEST_CASE("an action's start is ended once: a second end is refused in the write transaction",
          "[store][input]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  auto start = store->record_action(action("deploy"));
  REQUIRE_OK(start.status());
  auto end_of = [&](ActionStatus status) {
    ActionInput in = action("deploy");
    in.status = status;
    in.started_at = start->timestamp;
    in.start_snapshot_id = start->id;
    return in;
  };
  SECTION("one after the other") {
    auto first = store->record_action(end_of(ActionStatus::completed));
    REQUIRE_OK(first.status());
    auto second = store->record_action(end_of(ActionStatus::failed));
    CHECK(second.status().IsInvalidArgument());
    CHECK(second.status().message() ==
          "the start snapshot " + start->id + " already ended (" + first->id + ")");
    CHECK(query_int(db_of(dir), "SELECT count(*) FROM snapshots") == 2);
  }
  SECTION("twice in one batch: nothing of it is written") {
    auto both = store->record_actions(
        {action("other"), end_of(ActionStatus::completed), end_of(ActionStatus::failed)});
    CHECK(both.status().IsInvalidArgument());
    CHECK(query_int(db_of(dir), "SELECT count(*) FROM snapshots") == 1);
  }
  SECTION("from several writers at once: one of them") {
    constexpr int k_writers = 6;
    std::vector<std::unique_ptr<Store>> stores;
    for (int i = 0; i < k_writers; ++i) {
      stores.push_back(open_store(options_in(dir)));
    }
    std::atomic<int> ended{0};
    std::atomic<int> refused{0};
    std::vector<std::thread> writers;
    for (int i = 0; i < k_writers; ++i) {
      writers.emplace_back([&, i] {
        auto r = stores[i]->record_action(
            end_of(i % 2 == 0 ? ActionStatus::completed : ActionStatus::failed));
        (r.ok() ? ended : refused)++;
      });
    }
    for (auto& w : writers) {
      w.join();
    }
    CHECK(ended == 1);
    CHECK(refused == k_writers - 1);
    CHECK(query_int(db_of(dir),
                    "SELECT count(*) FROM snapshots WHERE json_extract(document, "
                    "'$.action.start_snapshot_id') = '" +
                        start->id + "'") == 1);
  }
}

TEST_CASE("an end at its start's very microsecond keeps the start's time as started_at",
          "[store]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  ActionInput begin = action("job");
  begin.at = 1'900'000'000'000'000;
  auto start = store->record_action(begin);
  REQUIRE_OK(start.status());
  ActionInput end = action("job");
  end.status = ActionStatus::completed;
  end.at = start->timestamp; // its id is taken: the end moves a microsecond on
  end.started_at = start->timestamp;
  end.start_snapshot_id = start->id;
  auto done = store->record_action(end);
  REQUIRE_OK(done.status());
  CHECK(done->timestamp == start->timestamp + 1);
  CHECK(done->document["action"]["started_at"] == start->document["timestamp"]);
  CHECK(store->get(done->id)->document == done->document);
  auto report = store->verify();
  REQUIRE_OK(report.status());
  CHECK(report->clean());
}

TEST_CASE("deeply nested details and impossible times are refused", "[store][input]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  Json deep = Json::object();
  Json* cur = &deep;
  for (int i = 0; i < 100; ++i) {
    (*cur)["k"] = Json::object();
    cur = &(*cur)["k"];
  }
  auto r = store->record_action(action("deep", deep));
  CHECK(r.status().IsInvalidArgument());
  CHECK(r.status().message().find("nest deeper") != std::string::npos);
  // Far deeper, built in place: refused before anything copies it (a
  // copy recurses once a level, and overflowed the stack).
  ActionInput abyss;
  abyss.type = "abyss";
  cur = &abyss.details;
  for (int i = 0; i < 200'000; ++i) {
    (*cur)["d"] = Json::object();
    cur = &(*cur)["d"];
  }
  CHECK(store->record_action(abyss).status().IsInvalidArgument());
  ActionTracker tracker(*store);
  CHECK(tracker.track_action("abyss", abyss.details).status().IsInvalidArgument());
  CHECK(tracker.track_failure("abyss", "e", abyss.details).status().IsInvalidArgument());
  PeriodicInput sunk;
  sunk.sections["s"] = std::move(abyss.details);
  CHECK(store->record_periodic(sunk).status().IsInvalidArgument());
  ActionInput far = action("far");
  far.at = std::numeric_limits<TimeUs>::max() - 1;
  CHECK(store->record_action(far).status().IsInvalidArgument());
  PeriodicInput early;
  early.at = std::numeric_limits<TimeUs>::min();
  CHECK(store->record_periodic(early).status().IsInvalidArgument());
  CHECK(store->summary()->total == 0);
}

TEST_CASE("a writer that cannot get the store's lock fails with Busy, not a hang",
          "[store][lock]") {
  TempDir dir;
  Options o = options_in(dir);
  o.busy_timeout_ms = 200;
  auto store = open_store(o);
  int fd = ::open((dir / "snapshots/.barrot/lock").c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX) == 0); // as a long repair would
  auto r = store->record_action(action("blocked"));
  ::close(fd);
  CHECK(r.status().IsBusy());
  REQUIRE_OK(store->record_action(action("free again")).status());
}

TEST_CASE("the full-text index is built in batches and is always consistent", "[store][fts]") {
  TempDir dir;
  Options o = options_in(dir);
  const std::string db = dir / "snapshots/.barrot/barrot.db";
  auto matches = [&](const char* word) {
    return query_int(db,
                     std::string("SELECT count(*) FROM snapshots_fts WHERE snapshots_fts "
                                 "MATCH '") +
                         word + "'");
  };
  {
    auto store = open_store(o);
    REQUIRE_OK(store->record_action(action("deploy", Json{{"error", "disk full"}})).status());
  }
  // The first checkpoint indexes what is there.
  CHECK(matches("disk") == 1);
  {
    auto store = open_store(o);
    REQUIRE_OK(store->record_action(action("build", Json{{"result", "green"}})).status());
  }
  // A minute has not passed and fewer than 1000 rows wait: not indexed yet.
  CHECK(matches("green") == 0);
  CHECK(query_int(db, "SELECT indexed_seq FROM fts_state") <
        query_int(db, "SELECT max(seq) FROM snapshots"));
  {
    auto store = open_store(o);
    std::vector<ActionInput> many(1000, action("bulk", Json{{"word", "plenty"}}));
    REQUIRE_OK(store->record_actions(many).status());
  }
  CHECK(matches("green") == 1);
  CHECK(matches("plenty") == 1000);
  {
    auto store = open_store(o);
    REQUIRE_OK(store->record_action(action("late", Json{{"note", "tail"}})).status());
  }
  REQUIRE_OK(open_store(o)->repair().status()); // a repair indexes everything
  CHECK(matches("tail") == 1);
  CHECK(query_int(db, "SELECT indexed_seq FROM fts_state") ==
        query_int(db, "SELECT max(seq) FROM snapshots"));
  exec_sql(db, "INSERT INTO snapshots_fts(snapshots_fts) VALUES ('integrity-check')");
}

TEST_CASE("deleting rows keeps the full-text index exact, indexed or not", "[store][fts]") {
  TempDir dir;
  Options o = options_in(dir);
  const std::string db = dir / "snapshots/.barrot/barrot.db";
  { REQUIRE_OK(open_store(o)->record_action(action("a", Json{{"w", "early"}})).status()); }
  { REQUIRE_OK(open_store(o)->record_action(action("b", Json{{"w", "late"}})).status()); }
  REQUIRE(query_int(db, "SELECT indexed_seq FROM fts_state") == 1); // "late" not indexed
  // As barrot-archive does: one indexed row, one not yet indexed, deleted
  // while their month is being archived (a delete is refused otherwise).
  CHECK_THROWS(exec_sql(db, "DELETE FROM snapshot_rows WHERE seq IN (1, 2)"));
  exec_sql(db,
           "INSERT INTO archives (month, file, snapshots, manifest, archived_us, state) "
           "SELECT DISTINCT strftime('%Y-%m', ts_us / 1000000, 'unixepoch'), '/a', 2, '{}', 0, "
           "'cleaning' FROM snapshots");
  exec_sql(db, "DELETE FROM snapshot_rows WHERE seq IN (1, 2)");
  // The index's own structure holds ('integrity-check' with rank 1 would
  // also compare it with its content, which FTS5 cannot read from inside
  // itself through fts_text's json_tree), and a 'delete' given other text
  // than was indexed would have left the words of the row behind.
  exec_sql(db, "INSERT INTO snapshots_fts(snapshots_fts, rank) VALUES ('integrity-check', 0)");
  for (const char* word : {"early", "w", "a"}) {
    INFO(word);
    CHECK(query_int(db,
                    std::string("SELECT count(*) FROM snapshots_fts WHERE snapshots_fts MATCH '") +
                        word + "'") == 0);
  }
}

TEST_CASE("get rejects non-ids and reports unknown ids as not found", "[store]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  CHECK(store->get("../../etc/passwd").status().IsInvalidArgument());
  CHECK(store->get("/etc/passwd").status().IsInvalidArgument());
  CHECK(store->get(std::string("action_\0", 8)).status().IsInvalidArgument());
  CHECK(store->get("action_20251222_023211_483890").status().IsNotFound());
}

TEST_CASE("latest lists newest first, by type or all", "[store]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  const TimeUs base = parse_iso8601("2025-01-01T00:00:00Z").value();
  for (int i = 0; i < 5; ++i) {
    ActionInput in = action("t", Json{{"i", i}});
    in.at = base + i * 1'000'000;
    REQUIRE_OK(store->record_action(in).status());
  }
  PeriodicInput p;
  p.at = base + 10'000'000;
  REQUIRE_OK(store->record_periodic(p).status());
  auto actions = store->latest(3, SnapshotType::action);
  REQUIRE_OK(actions.status());
  REQUIRE(actions->size() == 3);
  CHECK((*actions)[0].document["action"]["details"]["i"] == 4);
  CHECK((*actions)[2].document["action"]["details"]["i"] == 2);
  auto all = store->latest(2, std::nullopt);
  REQUIRE_OK(all.status());
  CHECK((*all)[0].type == SnapshotType::periodic);
  std::vector<std::string> listed;
  REQUIRE_OK(store->list([&](const SnapshotInfo& info) {
    listed.push_back(info.id);
    return true;
  }));
  CHECK(listed.size() == 6);
  CHECK(listed.front() == "action_20250101_000000_000000");
  CHECK(listed.back() == "periodic_20250101_000010");
}

TEST_CASE("a read-only store refuses writes and needs an existing store", "[store]") {
  TempDir dir;
  Options o = options_in(dir);
  o.access = Access::read_only;
  CHECK(Store::Open(o).status().IsNotFound());
  REQUIRE_OK(open_store(options_in(dir))->record_action(action("t")).status());
  auto ro = open_store(o);
  CHECK(ro->record_action(action("t")).status().IsInvalidArgument());
  CHECK(ro->summary()->actions == 1);
}

TEST_CASE("a snapshots directory that cannot be created is a clear error", "[store][input]") {
  TempDir dir;
  write_text(dir / "file", "x");
  Options o;
  o.snapshots_dir = dir / "file/snapshots";
  auto r = Store::Open(o);
  CHECK(r.status().IsInvalidArgument());
  CHECK(r.status().message().find("file/snapshots") != std::string::npos);
}

TEST_CASE("the database can live outside the snapshots directory", "[store]") {
  TempDir dir;
  Options o = options_in(dir);
  o.db_path = dir / "elsewhere.db";
  auto store = open_store(o);
  REQUIRE_OK(store->record_action(action("t")).status());
  CHECK(query_int(dir / "elsewhere.db", "SELECT count(*) FROM snapshots") == 1);
  CHECK_FALSE(file_exists(db_of(dir)));
}

TEST_CASE("sync=full writes and reads back", "[store]") {
  TempDir dir;
  Options o = options_in(dir);
  o.sync = Sync::full;
  auto store = open_store(o);
  auto snap = store->record_action(action("durable"));
  REQUIRE_OK(snap.status());
  CHECK(store->get(snap->id).ok());
  auto report = store->verify();
  REQUIRE_OK(report.status());
  CHECK(report->clean());
}

TEST_CASE("a store knows when its database file was removed or replaced", "[store]") {
  TempDir dir;
  Options o = options_in(dir);
  REQUIRE_OK(open_store(o)->record_action(action("a")).status());
  o.access = Access::read_only;
  auto store = open_store(o);
  auto moved = store->moved();
  REQUIRE_OK(moved.status());
  CHECK_FALSE(*moved);
  const std::string db = store->db_path();
  std::filesystem::copy_file(db, db + ".copy");
  std::filesystem::rename(db + ".copy", db); // a restore over it
  moved = store->moved();
  REQUIRE_OK(moved.status());
  CHECK(*moved);
  std::filesystem::remove(db);
  CHECK(store->moved().value());
}
