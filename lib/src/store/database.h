// Opening the SQLite database, applying migrations, and mapping SQLite errors
// to Status. The only place that turns SQLite::Exception into a Status.
#pragma once

#include <barrot/options.h>
#include <barrot/status.h>

#include <SQLiteCpp/Database.h>

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

// Opens `path` with WAL, the busy timeout and the synchronous level of
// `options`, and on Access::read_write applies pending migrations.
Status open_database(const std::string& path,
                     const Options& options,
                     std::unique_ptr<SQLite::Database>* out,
                     int* schema_version);

// Applies migrations up to `target` (all when -1), each in its own
// IMMEDIATE transaction that re-reads the version, so concurrent openers
// never apply one twice. SchemaTooNew when the database is newer than the binary.
Status migrate(SQLite::Database& db, int target, int* version_after);

int latest_version();

} // namespace barrot::store
