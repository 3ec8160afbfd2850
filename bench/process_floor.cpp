// barrot_process_floor DB: the least a process that records one snapshot in
// Barrot's database can do, as the floor of barrot_bench's process row
// (docs/performance.md). It opens DB with plain SQLite (default VFS),
// inserts one row into Barrot's schema in one transaction and closes, with
// the WAL kept as Barrot keeps it (no checkpoint at close; truncated once it
// passes 48 frames, else every start would replay a growing WAL). No
// argument parsing, no JSON, no checks, no mirror file, no log line.
//
// It uses only SQLite's C API and C stdio, and is linked like `barrot`
// (static PIE where the build can), so that what separates the two is
// Barrot's own work.
#include <sqlite3.h>

#include <cstdio>
#include <ctime>

namespace {

int g_wal_frames = 0;

int on_commit(void*, sqlite3*, const char*, int frames) {
  g_wal_frames = frames;
  return SQLITE_OK;
}

int fail(sqlite3* db, const char* what) {
  std::fprintf(stderr, "barrot_process_floor: %s: %s\n", what, sqlite3_errmsg(db));
  sqlite3_close(db);
  return 1;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: barrot_process_floor DB\n");
    return 2;
  }
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    return fail(db, "open");
  }
  sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_wal_hook(db, on_commit, nullptr);
  if (sqlite3_exec(db, "PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return fail(db, "synchronous");
  }
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  const long long us = static_cast<long long>(now.tv_sec) * 1000000 + now.tv_nsec / 1000;
  const std::time_t secs = now.tv_sec;
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char id[64];
  std::snprintf(id,
                sizeof id,
                "action_%04d%02d%02d_%02d%02d%02d_%06lld",
                utc.tm_year + 1900,
                utc.tm_mon + 1,
                utc.tm_mday,
                utc.tm_hour,
                utc.tm_min,
                utc.tm_sec,
                us % 1000000);
  if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return fail(db, "begin");
  }
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db,
                         "INSERT INTO snapshot_rows (snapshot_id, snapshot_type, ts_us, "
                         "action_type, status, details) VALUES (?, 'action', ?, 'deployment', "
                         "'executing', '{\"environment\":\"production\",\"version\":\"1.0.0\"}')",
                         -1,
                         &st,
                         nullptr) != SQLITE_OK) {
    return fail(db, "prepare");
  }
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, us);
  const int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) {
    return fail(db, "insert");
  }
  if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return fail(db, "commit");
  }
  if (g_wal_frames > 48 &&
      sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return fail(db, "checkpoint");
  }
  return sqlite3_close(db) == SQLITE_OK ? 0 : 1;
}
