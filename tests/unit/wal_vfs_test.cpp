// The VFS that writes a transaction's WAL frames in one call
// (store/wal_vfs.h): whatever it buffers, connections on SQLite's plain
// default VFS (as the sqlite3 shell) see every commit whole and the
// database stays sound.
#include "store/database.h"
#include "store/wal_vfs.h"
#include "support/test_util.h"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>

using namespace barrot;
using namespace barrot::test;
using std::filesystem::file_size;

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

// The database at `path` as a process that opens it afresh would find it:
// the file and its WAL copied aside (with no WAL index, so SQLite rebuilds
// it from the frames on disk), opened on the default VFS.
std::unique_ptr<Conn> fresh_copy(const TempDir& dir, const std::string& path) {
  const std::string copy = dir / "copy.db";
  std::filesystem::remove(copy);
  std::filesystem::remove(copy + "-wal");
  std::filesystem::remove(copy + "-shm");
  std::filesystem::copy_file(path, copy);
  std::filesystem::copy_file(path + "-wal", copy + "-wal");
  return std::make_unique<Conn>(copy, nullptr);
}

bool is_write_error(int rc) {
  return rc == SQLITE_IOERR || rc == SQLITE_FULL;
}

// After a failed write of rows tagged `failed`: the other writer `b`
// appends `b_rows` rows where its frames were, then `a` writes five more.
// Both, and a process that opens the files afresh, see every committed row
// (`total`) and none of the failed ones, in a sound database.
void check_writes_resume(const TempDir& dir,
                         const std::string& path,
                         Conn& a,
                         Conn& b,
                         const char* failed,
                         int b_rows,
                         int total) {
  REQUIRE(b.exec(insert_rows(b_rows, "b")) == SQLITE_OK);
  REQUIRE(a.exec(insert_rows(5, "a")) == SQLITE_OK);
  auto fresh = fresh_copy(dir, path);
  for (Conn* c : {&a, &b, fresh.get()}) {
    CHECK(c->text("SELECT count(*) FROM t WHERE tag = '" + std::string(failed) + "'") == "0");
    CHECK(c->text("SELECT count(*) FROM t") == std::to_string(total));
    CHECK(c->text("PRAGMA integrity_check") == "ok");
  }
}

// A WAL database with ten rows, written by `a` through the coalescing VFS
// (never checkpointing: the WAL only grows) and by `b` on the default VFS.
struct TwoWriters {
  TempDir dir;
  std::string path = dir / "t.db";
  std::unique_ptr<Conn> conn = coalescing_db(path);
  Conn& a = *conn;
  Conn b{path, nullptr};
  TwoWriters() {
    REQUIRE(a.exec("PRAGMA wal_autocheckpoint = 0") == SQLITE_OK);
    REQUIRE(a.exec(insert_rows(10, "a0")) == SQLITE_OK);
  }
};

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

// Write errors, for real: a file size limit (RLIMIT_FSIZE) makes the WAL's
// growth fail with EFBIG at a chosen byte, as a full disk would.

TEST_CASE("a commit whose WAL write fails is not committed, and writing resumes whole",
          "[store][wal]") {
  TempDir dir;
  const std::string path = dir / "t.db";
  auto conn = coalescing_db(path);
  Conn& a = *conn;
  REQUIRE(a.exec("PRAGMA wal_autocheckpoint = 0") == SQLITE_OK); // the WAL only grows
  REQUIRE(a.exec(insert_rows(20, "before")) == SQLITE_OK);
  Conn reader(path, nullptr);
  int committed = 20;
  // No room at all; room for part of a frame header; for one frame and
  // part of the next (eight rows of ~1 kB fill three or more pages).
  for (const std::uint64_t room : {0, 10, 5000}) {
    INFO("room " << room);
    const std::uint64_t wal = file_size(path + "-wal");
    int rc = SQLITE_OK;
    {
      FileSizeLimit limit(wal + room);
      rc = a.exec(insert_rows(8, "failed"));
    }
    CHECK(is_write_error(rc));
    // Whatever part of the frames reached the file, the commit did not: not
    // for the connections open now, nor for a process that starts now.
    CHECK(file_size(path + "-wal") == wal + room);
    CHECK(sqlite3_get_autocommit(a.db) != 0);
    CHECK(reader.text("SELECT count(*) FROM t") == std::to_string(committed));
    CHECK(fresh_copy(dir, path)->text("SELECT count(*) FROM t") == std::to_string(committed));
    // With room again, the next commit goes where the failed one began.
    REQUIRE(a.exec(insert_rows(1, "after")) == SQLITE_OK);
    ++committed;
    CHECK(reader.text("SELECT count(*) FROM t") == std::to_string(committed));
  }
  CHECK(a.text("SELECT count(*) FROM t WHERE tag = 'failed'") == "0");
  CHECK(reader.text("PRAGMA integrity_check") == "ok");
  auto fresh = fresh_copy(dir, path);
  CHECK(fresh->text("SELECT count(*) FROM t") == std::to_string(committed));
  CHECK(fresh->text("SELECT count(*) FROM t WHERE tag = 'after'") == "3");
  CHECK(fresh->text("PRAGMA integrity_check") == "ok");
}

TEST_CASE("a transaction whose spilled frames cannot be written leaves nothing behind",
          "[store][wal]") {
  TwoWriters w;
  Conn& a = w.a;
  const std::string& path = w.path;
  // A transaction of ~5 MB in a small page cache: SQLite spills frames to
  // the WAL as it goes, and the VFS writes them before it reads one back or
  // once 1 MiB is buffered. The file may grow by 64 KiB only.
  REQUIRE(a.exec("PRAGMA cache_size = 8") == SQLITE_OK);
  int rc = SQLITE_OK;
  {
    FileSizeLimit limit(file_size(path + "-wal") + 64 * 1024);
    rc = a.exec("BEGIN; " + insert_rows(5000, "spilled") + "; COMMIT");
  }
  CHECK(is_write_error(rc));
  if (sqlite3_get_autocommit(a.db) == 0) {
    REQUIRE(a.exec("ROLLBACK") == SQLITE_OK);
  }
  CHECK(fresh_copy(w.dir, path)->text("SELECT count(*) FROM t") == "10");
  check_writes_resume(w.dir, path, a, w.b, "spilled", 400, 415);
}

TEST_CASE("a rollback whose buffered frames cannot be written still lets the WAL go",
          "[store][wal]") {
  TwoWriters w;
  Conn& a = w.a;
  const std::string& path = w.path;
  sqlite3_busy_timeout(w.b.db, 0); // a lock still held would fail b at once
  REQUIRE(a.exec("PRAGMA cache_size = 8") == SQLITE_OK);
  REQUIRE(a.exec("BEGIN; " + insert_rows(100, "pending")) == SQLITE_OK);
  // The statement ended with spilled frames still in the VFS's buffer. The
  // rollback writes them before it reads a page back, and that write fails
  // 100 bytes in: the rollback must still end the transaction and let the
  // WAL's write lock go.
  const std::uint64_t wal = file_size(path + "-wal");
  {
    FileSizeLimit limit(wal + 100);
    a.exec("ROLLBACK");
  }
  CHECK(file_size(path + "-wal") == wal + 100);
  CHECK(sqlite3_get_autocommit(a.db) != 0);
  CHECK(fresh_copy(w.dir, path)->text("SELECT count(*) FROM t") == "10");
  // b writes at once: a lock still held would fail it (no busy timeout).
  check_writes_resume(w.dir, path, a, w.b, "pending", 50, 65);
}

TEST_CASE("a snapshot whose commit cannot be written is neither stored nor mirrored",
          "[store][wal]") {
  TempDir dir;
  for (const bool background : {false, true}) {
    INFO("background mirror " << background);
    Options o = options_in(dir);
    o.snapshots_dir = dir / (background ? "bg" : "sync");
    o.background_mirror = background;
    auto store = open_store(o);
    for (int i = 0; i < 3; ++i) {
      REQUIRE(store->record_action(action("deploy", Json{{"n", i}})).ok());
    }
    REQUIRE_OK(store->flush());
    const std::string wal = o.snapshots_dir + "/.barrot/barrot.db-wal";
    const std::string log = o.snapshots_dir + "/action_log.jsonl";
    const auto files = list_dir(o.snapshots_dir);
    const std::string lines = read_text(log);
    REQUIRE(file_size(log) < file_size(wal)); // only the WAL meets the limit
    // One call fails, then the other kind: the first write once the disk has
    // room again must succeed (a failed COMMIT once left its error in the
    // prepared statement, and the next write threw it again).
    Status one;
    {
      FileSizeLimit limit(file_size(wal));
      one = store->record_action(action("deploy", Json{{"n", 99}})).status();
    }
    CHECK_FALSE(one.ok());
    INFO(one.ToString());
    CHECK(one.ToString().find("disk") != std::string::npos);
    REQUIRE_OK(store->record_actions({action("batch"), action("batch")}).status());
    Status many;
    {
      FileSizeLimit limit(file_size(wal));
      many = store->record_actions({action("failed"), action("failed")}).status();
    }
    CHECK_FALSE(many.ok());
    REQUIRE_OK(store->record_action(action("after")).status());
    REQUIRE_OK(store->flush());
    // Nothing of the failed calls anywhere; the chain links each snapshot to
    // the last one stored, not to one that failed.
    auto files_now = list_dir(o.snapshots_dir);
    CHECK(files_now.size() == files.size() + 3);
    for (const std::string& name : files) {
      CHECK(std::find(files_now.begin(), files_now.end(), name) != files_now.end());
    }
    const std::string lines_now = read_text(log);
    CHECK(lines_now.rfind(lines, 0) == 0);
    CHECK(lines_now.find("\"failed\"") == std::string::npos);
    CHECK(lines_now.find("\"n\":99") == std::string::npos);
    auto report = store->verify();
    REQUIRE(report.ok());
    CHECK(report.value().snapshots == 6);
    CHECK(report.value().clean());
    auto chain = store->verify_chain({});
    REQUIRE(chain.ok());
    CHECK(chain.value().snapshots == 6);
    CHECK(chain.value().clean());
  }
}
