#include "store/database.h"
#include "store/migrations.h"
#include "store/render.h"
#include "store/store_impl.h"
#include "support/test_util.h"

#include <SQLiteCpp/Database.h>

#include <filesystem>
#include <map>

using namespace barrot;
using namespace barrot::test;

TEST_CASE("a fresh store is at the latest schema version", "[schema]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  CHECK(store->schema_version() == Store::latest_schema_version());
  CHECK(query_int(store->db_path(), "PRAGMA user_version") == Store::latest_schema_version());
  CHECK(query_int(store->db_path(),
                  "SELECT count(*) FROM sqlite_master WHERE name = "
                  "'snapshots_fts'") == 1);
}

TEST_CASE("a store at every older version upgrades and keeps its rows", "[schema]") {
  for (int from = 0; from < Store::latest_schema_version(); ++from) {
    INFO("from version " << from);
    TempDir dir;
    Options o = options_in(dir);
    o.db_path = dir / "old.db";
    {
      SQLite::Database db(o.db_path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
      int version = 0;
      REQUIRE_OK(store::migrate(db, from, &version));
      CHECK(version == from);
      if (from >= 1) {
        // A view from version 3 on: the rows are in snapshot_rows. From 4
        // on every row carries its chain link: the genesis one here.
        db.exec(std::string("INSERT INTO ") + (from >= 3 ? "snapshot_rows" : "snapshots") +
                " (snapshot_id, snapshot_type, ts_us, action_type, status, document" +
                (from >= 4 ? ", chain_prev" : "") +
                ") VALUES ('action_20250101_000000_000000', 'action', 1735689600000000, "
                "'old', 'completed', '{\"snapshot_id\":\"action_20250101_000000_000000\"}'" +
                (from >= 4 ? ", zeroblob(32)" : "") + ")");
      }
    }
    auto store = open_store(o);
    CHECK(store->schema_version() == Store::latest_schema_version());
    if (from >= 1) {
      CHECK(query_int(o.db_path, "SELECT count(*) FROM snapshots") == 1);
    }
    REQUIRE_OK(store->record_action(action("after_upgrade")).status());
  }
}

TEST_CASE("a schema newer than the binary is refused and left untouched", "[schema]") {
  TempDir dir;
  Options o = options_in(dir);
  { open_store(o); }
  const std::string db = dir / "snapshots/.barrot/barrot.db";
  exec_sql(db, "PRAGMA user_version = " + std::to_string(Store::latest_schema_version() + 1));
  const std::string before = read_text(db);
  auto r = Store::Open(o);
  CHECK(r.status().IsSchemaTooNew());
  CHECK(r.status().message().find("newer") != std::string::npos);
  CHECK(read_text(db) == before);
  o.access = Access::read_only;
  CHECK(Store::Open(o).status().IsSchemaTooNew());
}

TEST_CASE("a file that is not SQLite is reported as corruption and left untouched", "[schema]") {
  TempDir dir;
  Options o = options_in(dir);
  o.db_path = dir / "garbage.db";
  std::string garbage(8192, '\x5a');
  write_text(o.db_path, garbage);
  auto r = Store::Open(o);
  CHECK(r.status().IsCorruption());
  CHECK(r.status().message().find("garbage.db") != std::string::npos);
  CHECK(read_text(o.db_path) == garbage);
}

TEST_CASE("a truncated database is reported, not silently recreated", "[schema]") {
  TempDir dir;
  Options o = options_in(dir);
  {
    auto store = open_store(o);
    for (int i = 0; i < 200; ++i) {
      REQUIRE_OK(store->record_action(action("fill", Json{{"i", i}})).status());
    }
  }
  const std::string db = dir / "snapshots/.barrot/barrot.db";
  exec_sql(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  std::string text = read_text(db);
  REQUIRE(text.size() > 8192);
  write_text(db, text.substr(0, 4096 + 100));
  auto r = Store::Open(o);
  if (r.ok()) {
    // SQLite may open a cut file; every read of the lost pages must then fail.
    CHECK_FALSE((*r)->summary().ok());
  } else {
    CHECK((r.status().IsCorruption() || r.status().IsIOError()));
  }
}

TEST_CASE("migrations are numbered from 1 without gaps", "[schema]") {
  REQUIRE(store::k_migration_count >= 1);
  for (std::size_t i = 0; i < store::k_migration_count; ++i) {
    CHECK(store::k_migrations[i].version == static_cast<int>(i + 1));
  }
}

namespace {

// Every (document, stored whole?) pair of the store at `db_path`, by seq.
std::vector<std::pair<std::string, bool>> stored_documents(const std::string& db_path) {
  SQLite::Database db(db_path, SQLite::OPEN_READONLY);
  SQLite::Statement st(db,
                       "SELECT s.document, r.document IS NOT NULL FROM snapshots s "
                       "JOIN snapshot_rows r USING (seq) ORDER BY seq");
  std::vector<std::pair<std::string, bool>> out;
  while (st.executeStep()) {
    out.emplace_back(st.getColumn(0).getString(), st.getColumn(1).getInt() != 0);
  }
  return out;
}

} // namespace

TEST_CASE("standard actions are stored as columns and read back byte for byte", "[schema]") {
  TempDir dir;
  Options o = options_in(dir);
  auto store = open_store(o);
  std::vector<Json> details = {
      Json::object(),
      Json{{"quote", "say \"hi\"\\ \n\t\u0001"}, {"unicode", "caf\u00e9 \u2603 \U0001F600"}},
      Json{{"n", -1.5e300}, {"i", -9007199254740993LL}, {"b", true}, {"z", nullptr}},
      Json{{"nested", {{"a", Json::array({1, "two", Json::object()})}}}, {"", ""}},
  };
  std::vector<std::string> expected;
  for (std::size_t i = 0; i < details.size(); ++i) {
    ActionInput in = action("t.y-p_e" + std::to_string(i), details[i]);
    in.at = static_cast<TimeUs>(i) * 1'000'000; // 1970, micros 000000
    auto id = store->record_action(in);
    REQUIRE_OK(id.status());
    expected.push_back(id->document.dump());
  }
  // A completion linked to its start (started_at and start_snapshot_id set).
  ActionInput end = action("deploy", Json{{"ok", true}});
  end.status = ActionStatus::completed;
  end.started_at = 7'000'001;
  end.start_snapshot_id = make_snapshot_id(SnapshotType::action, 7'000'001);
  end.at = 9'000'000;
  auto done = store->record_action(end);
  REQUIRE_OK(done.status());
  expected.push_back(done->document.dump());
  // A periodic snapshot and a legacy document in another key order: whole.
  PeriodicInput p;
  p.sections["system_state"] = Json{{"health", "operational"}};
  REQUIRE_OK(store->record_periodic(p).status());
  const std::string dir_in = dir / "legacy";
  std::filesystem::create_directories(dir_in);
  const std::string legacy =
      R"({"snapshot_type":"action","snapshot_id":"action_20251222_022057_454420",)"
      R"("timestamp":"2025-12-22T02:20:57.454420Z","action":{"type":"x","status":"executing",)"
      R"("details":{"a":1},"started_at":"2025-12-22T02:20:57.454420Z"},"metadata":{}})";
  write_text(dir_in + "/action_log.jsonl", legacy + "\n");
  REQUIRE(store->import_legacy(dir_in)->imported == 1);

  const auto stored = stored_documents(store->db_path());
  REQUIRE(stored.size() == expected.size() + 2);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO(expected[i]);
    CHECK(stored[i].first == expected[i]);
    CHECK_FALSE(stored[i].second); // columns only
  }
  CHECK(query_int(store->db_path(),
                  std::string("SELECT sum(") + k_document_bytes_sql + ") FROM snapshot_rows") ==
        query_int(store->db_path(), "SELECT sum(length(CAST(document AS BLOB))) FROM snapshots"));
  CHECK(stored[expected.size()].second); // periodic: whole
  CHECK(stored.back().first == legacy);  // imported as it was
  CHECK(stored.back().second);           // not the standard form: whole
  CHECK(store->verify()->clean());
}

TEST_CASE("upgrading to 0003 keeps every document byte for byte", "[schema]") {
  TempDir dir;
  Options o = options_in(dir);
  o.db_path = dir / "v2.db";
  std::vector<std::string> docs;
  {
    SQLite::Database db(o.db_path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    int version = 0;
    REQUIRE_OK(store::migrate(db, 2, &version));
    SQLite::Statement st(db,
                         "INSERT INTO snapshots (snapshot_id, snapshot_type, ts_us, action_type, "
                         "status, document) VALUES (?, ?, ?, ?, ?, ?)");
    auto add = [&](const std::string& id,
                   TimeUs ts,
                   const char* type,
                   const char* status,
                   const std::string& doc) {
      st.reset();
      st.bind(1, id);
      st.bind(2, type ? "action" : "periodic");
      st.bind(3, ts);
      type ? st.bind(4, type) : st.bind(4);
      status ? st.bind(5, status) : st.bind(5);
      st.bind(6, doc);
      st.exec();
      docs.push_back(doc);
    };
    const TimeUs t = 1766370057454420;
    ActionInput in = action("deploy", Json{{"s", "\"q\" \u00e9"}, {"n", 1.25}});
    const std::string id = make_snapshot_id(SnapshotType::action, t);
    add(id, t, "deploy", "executing", store::action_document(id, t, in).dump());
    ActionInput end = action("deploy", Json{{"ok", true}});
    end.status = ActionStatus::completed;
    end.started_at = t;
    end.start_snapshot_id = id;
    const std::string id2 = make_snapshot_id(SnapshotType::action, t + 5'000'000);
    add(id2,
        t + 5'000'000,
        "deploy",
        "completed",
        store::action_document(id2, t + 5'000'000, end).dump());
    add("action_20251222_022057_000001",
        t + 1,
        "legacy",
        "executing",
        R"({"snapshot_id":"action_20251222_022057_000001","snapshot_type":"action",)"
        R"("timestamp":"2025-12-22T02:20:57.000001+00:00","action":{"type":"legacy",)"
        R"("status":"executing","details":{}}})");
    // The standard form with an empty start_snapshot_id (a legacy import
    // could carry one): stored as columns, rebuilt with the key.
    add("action_20251222_022057_454423",
        t + 3,
        "legacy",
        "completed",
        R"({"snapshot_id":"action_20251222_022057_454423","snapshot_type":"action",)"
        R"("timestamp":"2025-12-22T02:20:57.454423Z","action":{"type":"legacy",)"
        R"("status":"completed","details":{},"started_at":"2025-12-22T02:20:57.454423Z",)"
        R"("start_snapshot_id":""},"metadata":{"generated_by":"BarrotSnapshotGenerator",)"
        R"("version":"1.0.0"}})");
    add("periodic_20251222_030000",
        t + 2,
        nullptr,
        nullptr,
        R"({"snapshot_id":"periodic_20251222_030000","snapshot_type":"periodic"})");
  }
  auto store = open_store(o);
  const auto stored = stored_documents(o.db_path);
  REQUIRE(stored.size() == docs.size());
  for (std::size_t i = 0; i < docs.size(); ++i) {
    CHECK(stored[i].first == docs[i]);
  }
  CHECK_FALSE(stored[0].second);
  CHECK_FALSE(stored[1].second);
  CHECK(stored[2].second);
  CHECK_FALSE(stored[3].second);
  CHECK(stored[4].second);
  // The library's own rebuild (search_rows) gives the same bytes as the view.
  std::map<std::string, std::string> by_id;
  SearchFilter all;
  all.limit = 100;
  REQUIRE_OK(store->search_rows(all, [&](const SnapshotRow& r) {
    by_id[std::string(r.id)] = std::string(r.document);
    return true;
  }));
  REQUIRE(by_id.size() == docs.size());
  for (const std::string& doc : docs) {
    const std::string id = Json::parse(doc)["snapshot_id"].get<std::string>();
    CHECK(by_id[id] == doc);
  }
  CHECK(query_int(o.db_path,
                  "SELECT count(*) FROM actions WHERE start_snapshot_id IS NOT NULL "
                  "AND started_at = '2025-12-22T02:20:57.454420Z'") == 1);
  // seq keeps counting from where it was.
  auto next = store->record_action(action("after"));
  REQUIRE_OK(next.status());
  CHECK(query_int(o.db_path, "SELECT max(seq) FROM snapshot_rows") == 6);
}

TEST_CASE("another application's SQLite database is refused and left as it was", "[schema]") {
  TempDir dir;
  Options o = options_in(dir);
  o.db_path = dir / "app.db";
  {
    SQLite::Database app(o.db_path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    app.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); "
             "INSERT INTO users VALUES (1, 'alice')");
  }
  const std::string before = read_text(o.db_path);
  for (const Access access : {Access::read_write, Access::read_only}) {
    o.access = access;
    auto r = Store::Open(o);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().IsInvalidArgument());
    CHECK(r.status().message().find("not a barrot store") != std::string::npos);
  }
  CHECK(read_text(o.db_path) == before); // no schema, not even WAL mode
  CHECK_FALSE(file_exists(o.db_path + "-wal"));
}
