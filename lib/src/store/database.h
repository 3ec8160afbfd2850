// Opening the SQLite database, applying migrations, and mapping SQLite errors
// to Status. The only place that turns SQLite::Exception into a Status.
#pragma once

#include <barrot/options.h>
#include <barrot/status.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <exception>
#include <memory>
#include <string>
#include <string_view>

namespace barrot::store {

// Maps an exception thrown by SQLiteCpp (or anything else) to a Status:
// SQLITE_BUSY/LOCKED to Busy, CORRUPT/NOTADB to Corruption, CANTOPEN/IOERR/FULL
// /READONLY to IOError, constraint failures to InvalidArgument.
Status status_from_exception(const std::exception& e, std::string_view context);

// Runs `fn`, turning any exception into a Status with `context`.
template <typename Fn>
Status guarded(std::string_view context, Fn&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return status_from_exception(e, context);
  }
}

// Readies a statement kept across calls (a Store's BEGIN, COMMIT, insert,
// checkpoint read) for another run. When its last run failed, sqlite3_reset
// returns that error again, and SQLiteCpp's reset() throws it: the failure
// already reported (a commit on a full disk) would fail the next, unrelated
// call too, even once the disk has room again.
inline void rewind(SQLite::Statement& st) {
  (void)st.tryReset();
}

// What the WAL hook last saw: frames in the write-ahead log, and whether
// this connection made the file long (its automatic checkpoint ran: the
// file keeps its length, though the next writer reuses it from the start).
struct WalState {
  int frames = 0;
  bool long_file = false;
};

// Every process that opens a store first reads the whole WAL to rebuild its
// index, so a closing writer checkpoints and truncates a WAL longer than this
// (about four CLI writes): ~0.6 ms of fsync now and then, against ~1 ms on
// every start with SQLite's default 1000-frame WAL (measured; 48 measured a
// little better than 128, within the noise of this machine).
inline constexpr int k_close_checkpoint_frames = 48;

// Opens `path` with WAL, the busy timeout and the synchronous level of
// `options`, and on Access::read_write applies pending migrations. `wal`
// (which must outlive the connection) tracks the WAL's length.
Status open_database(const std::string& path,
                     const Options& options,
                     std::unique_ptr<SQLite::Database>* out,
                     int* schema_version,
                     WalState* wal);

// Checkpoints and truncates the WAL when it is longer than
// k_close_checkpoint_frames (or this connection's automatic checkpoint left
// a long file: a large import or a long-lived writer) and nobody else is
// using it at this moment.
void checkpoint_if_long(SQLite::Database& db, WalState& wal, int busy_timeout_ms);

// Applies migrations up to `target` (all when -1), each in its own
// IMMEDIATE transaction that re-reads the version, so concurrent openers
// never apply one twice. SchemaTooNew when the database is newer than the binary.
Status migrate(SQLite::Database& db, int target, int* version_after);

int latest_version();

} // namespace barrot::store
