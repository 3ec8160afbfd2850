#include "store/database.h"
#include "store/migrations.h"
#include "support/test_util.h"

#include <SQLiteCpp/Database.h>

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
        db.exec("INSERT INTO snapshots (snapshot_id, snapshot_type, ts_us, action_type, status, "
                "document) VALUES ('action_20250101_000000_000000', 'action', 1735689600000000, "
                "'old', 'completed', '{\"snapshot_id\":\"action_20250101_000000_000000\"}')");
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
