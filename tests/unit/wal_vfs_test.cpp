// The VFS that writes a transaction's WAL frames in one call
// (store/wal_vfs.h): whatever it buffers, connections on SQLite's plain
// default VFS (as the sqlite3 shell) see every commit whole and the
// database stays sound.
#include "store/database.h"
#include "store/wal_vfs.h"
#include "support/test_util.h"

#include <sqlite3.h>

#include <memory>
#include <string>

using namespace barrot;
using namespace barrot::test;

namespace {

// A raw connection through `vfs` (nullptr: SQLite's default VFS).
struct Conn {
  sqlite3* db = nullptr;
  Conn(const std::string& path, const char* vfs) {
    REQUIRE(sqlite3_open_v2(path.c_str(),
                            &db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                            vfs) == SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
  }
  ~Conn() { sqlite3_close(db); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  int exec(const std::string& sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    if (err != nullptr) {
      UNSCOPED_INFO(sql << ": " << err);
      sqlite3_free(err);
    }
    return rc;
  }
  std::string text(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
    std::string out;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    return out;
  }
};

// A new WAL database at `path` with table t, opened through the coalescing
// VFS.
std::unique_ptr<Conn> coalescing_db(const std::string& path) {
  const char* vfs = store::coalescing_vfs_name();
  REQUIRE(vfs != nullptr);
  auto c = std::make_unique<Conn>(path, vfs);
  REQUIRE(c->exec("PRAGMA journal_mode = WAL") == SQLITE_OK);
  REQUIRE(c->exec("CREATE TABLE t (id INTEGER PRIMARY KEY, tag TEXT, body TEXT)") == SQLITE_OK);
  return c;
}

// `n` rows of about 1 kB in one transaction.
std::string insert_rows(int n, const char* tag) {
  return "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < " +
         std::to_string(n) + ") INSERT INTO t (tag, body) SELECT '" + tag +
         "', hex(randomblob(500)) FROM s";
}

} // namespace

TEST_CASE("a store's database is opened through the coalescing VFS", "[store][wal]") {
  TempDir dir;
  Options o = options_in(dir);
  open_store(o); // creates the store
  std::unique_ptr<SQLite::Database> db;
  int version = 0;
  store::WalState wal;
  REQUIRE_OK(store::open_database(dir / "snapshots/.barrot/barrot.db", o, &db, &version, &wal));
  sqlite3_vfs* used = nullptr;
  REQUIRE(sqlite3_file_control(db->getHandle(), "main", SQLITE_FCNTL_VFS_POINTER, &used) ==
          SQLITE_OK);
  REQUIRE(store::coalescing_vfs_name() != nullptr);
  CHECK(used == sqlite3_vfs_find(store::coalescing_vfs_name()));
}

TEST_CASE("commits through the coalescing VFS are whole to plain SQLite, large ones included",
          "[store][wal]") {
  TempDir dir;
  const std::string path = dir / "t.db";
  auto conn = coalescing_db(path);
  Conn& writer = *conn;
  REQUIRE(writer.exec("PRAGMA synchronous = NORMAL") == SQLITE_OK);
  REQUIRE(writer.exec("CREATE INDEX t_tag ON t (tag, body)") == SQLITE_OK);
  Conn reader(path, nullptr);
  // Small commits, one at a time, each seen at once by the other connection.
  for (int i = 1; i <= 50; ++i) {
    REQUIRE(writer.exec(insert_rows(1, "small")) == SQLITE_OK);
    REQUIRE(reader.text("SELECT count(*) FROM t") == std::to_string(i));
  }
  // One transaction far past the buffer's 1 MiB and the unix VFS's 128 KiB
  // a write (about 5 MB of frames).
  REQUIRE(writer.exec("BEGIN; " + insert_rows(2500, "large") + "; COMMIT") == SQLITE_OK);
  CHECK(reader.text("SELECT count(*) FROM t WHERE tag = 'large'") == "2500");
  CHECK(reader.text("PRAGMA integrity_check") == "ok");
  // With synchronous = FULL the frames are written before the sync.
  REQUIRE(writer.exec("PRAGMA synchronous = FULL") == SQLITE_OK);
  REQUIRE(writer.exec(insert_rows(3, "full")) == SQLITE_OK);
  CHECK(reader.text("SELECT count(*) FROM t WHERE tag = 'full'") == "3");
  // And through a checkpoint into the database file.
  REQUIRE(writer.exec("PRAGMA wal_checkpoint(TRUNCATE)") == SQLITE_OK);
  CHECK(reader.text("SELECT count(*) FROM t") == "2553");
  CHECK(reader.text("PRAGMA integrity_check") == "ok");
}

TEST_CASE("frames of a rolled-back transaction never land on another writer's", "[store][wal]") {
  TempDir dir;
  const std::string path = dir / "t.db";
  auto conn = coalescing_db(path);
  Conn& a = *conn;
  REQUIRE(a.exec(insert_rows(10, "a0")) == SQLITE_OK);
  Conn b(path, nullptr);
  for (int round = 0; round < 5; ++round) {
    // A transaction too large for a small page cache: SQLite spills frames
    // into the WAL before the end, and then it rolls back.
    REQUIRE(a.exec("PRAGMA cache_size = 8") == SQLITE_OK);
    REQUIRE(a.exec("BEGIN; " + insert_rows(300, "spilled")) == SQLITE_OK);
    REQUIRE(a.exec("ROLLBACK") == SQLITE_OK);
    // Another writer appends where those frames were, and past them.
    REQUIRE(b.exec(insert_rows(400, "b")) == SQLITE_OK);
    // Then the first one writes again.
    REQUIRE(a.exec(insert_rows(5, "a")) == SQLITE_OK);
  }
  CHECK(b.text("SELECT count(*) FROM t WHERE tag = 'spilled'") == "0");
  CHECK(b.text("SELECT count(*) FROM t WHERE tag = 'b'") == "2000");
  CHECK(b.text("SELECT count(*) FROM t WHERE tag = 'a'") == "25");
  CHECK(b.text("PRAGMA integrity_check") == "ok");
  CHECK(a.text("PRAGMA integrity_check") == "ok");
}
