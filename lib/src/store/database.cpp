#include "store/database.h"

#include "store/chain.h"
#include "store/migrations.h"
#include "store/store_impl.h"
#include "store/wal_vfs.h"

#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>

namespace barrot::store {

namespace {

// SQLite's own automatic checkpoint threshold, kept for long-lived writers.
constexpr int k_wal_autocheckpoint_frames = 1000;

int on_wal_commit(void* state, sqlite3* db, const char* name, int frames) {
  static_cast<WalState*>(state)->frames = frames;
  if (frames >= k_wal_autocheckpoint_frames) {
    sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    static_cast<WalState*>(state)->frames = 0;
    static_cast<WalState*>(state)->long_file = true;
  }
  return SQLITE_OK;
}

} // namespace

void checkpoint_if_long(SQLite::Database& db, WalState& wal, int busy_timeout_ms) {
  if (wal.frames < k_close_checkpoint_frames && !wal.long_file) {
    return;
  }
  // TRUNCATE, not PASSIVE: the next process rebuilds its WAL index by reading
  // every frame still in the file, checkpointed or not. Without waiting: if
  // another process is using the WAL right now, a later close will do it.
  sqlite3_busy_timeout(db.getHandle(), 0);
  sqlite3_wal_checkpoint_v2(db.getHandle(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
  sqlite3_busy_timeout(db.getHandle(), busy_timeout_ms);
  wal.frames = 0;
  wal.long_file = false;
}

Status status_from_exception(const std::exception& e, std::string_view context) {
  std::string msg = std::string(context) + ": " + e.what();
  const auto* se = dynamic_cast<const SQLite::Exception*>(&e);
  if (se == nullptr) {
    return Status::IOError(msg);
  }
  switch (se->getErrorCode()) {
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return Status::Busy(msg);
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB:
    return Status::Corruption(msg);
  case SQLITE_CONSTRAINT:
  case SQLITE_MISMATCH:
  case SQLITE_TOOBIG:
    return Status::InvalidArgument(msg);
  case SQLITE_CANTOPEN:
  case SQLITE_READONLY:
  case SQLITE_PERM:
  case SQLITE_AUTH:
    return Status::InvalidArgument(msg);
  default:
    return Status::IOError(msg);
  }
}

int latest_version() {
  return k_migrations[k_migration_count - 1].version;
}

namespace {

int read_user_version(SQLite::Database& db) {
  return db.execAndGet("PRAGMA user_version").getInt();
}

// The version whose script adds snapshot_rows.chain_prev (0004_hash_chain).
constexpr int k_chain_version = 4;

// Links every row stored before the chain existed, oldest seq first, from
// the genesis: what 0004_hash_chain.sql leaves to code.
void chain_existing_rows(SQLite::Database& db) {
  std::vector<std::pair<std::int64_t, Digest>> links;
  {
    SQLite::Statement st(db,
                         std::string("SELECT seq, ") + k_document_columns +
                             " FROM snapshot_rows WHERE chain_prev IS NULL ORDER BY seq");
    Digest prev = k_genesis;
    std::string buffer;
    while (st.executeStep()) {
      links.emplace_back(st.getColumn(0).getInt64(), prev);
      prev = chain_hash(prev, stored_document(st, 1, &buffer));
    }
  }
  SQLite::Statement update(db, "UPDATE snapshot_rows SET chain_prev = ? WHERE seq = ?");
  for (const auto& [seq, prev] : links) {
    update.reset();
    update.bind(1, prev.data(), static_cast<int>(prev.size()));
    update.bind(2, seq);
    update.exec();
  }
}

} // namespace

Status migrate(SQLite::Database& db, int target, int* version_after) {
  if (target < 0) {
    target = latest_version();
  }
  return guarded("cannot upgrade the database schema", [&]() -> Status {
    int version = read_user_version(db);
    if (version > latest_version()) {
      return Status::SchemaTooNew("database schema version " + std::to_string(version) +
                                  " is newer than this barrot understands (" +
                                  std::to_string(latest_version()) + "); use a newer barrot");
    }
    for (std::size_t i = 0; i < k_migration_count; ++i) {
      const Migration& m = k_migrations[i];
      if (m.version > target) {
        break;
      }
      if (m.version <= version) {
        continue;
      }
      SQLite::Transaction txn(db, SQLite::TransactionBehavior::IMMEDIATE);
      // Another process may have applied it while we waited for the lock.
      version = read_user_version(db);
      if (m.version <= version) {
        continue;
      }
      db.exec(m.sql);
      if (m.version == k_chain_version) {
        chain_existing_rows(db);
      }
      db.exec("PRAGMA user_version = " + std::to_string(m.version));
      txn.commit();
      version = m.version;
    }
    *version_after = version; // as read, or as this call (or a racing one) left it
    return Status::OK();
  });
}

namespace {

Status open_database_once(const std::string& path,
                          const Options& options,
                          std::unique_ptr<SQLite::Database>* out,
                          int* schema_version,
                          WalState* wal) {
  const bool rw = options.access == Access::read_write;
  return guarded("cannot open database " + path, [&]() -> Status {
    int flags = rw ? (SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE) : SQLite::OPEN_READONLY;
    // Through the VFS that writes a transaction's WAL frames in one call
    // (store/wal_vfs.h); SQLite's default one if it cannot be set up.
    auto db = std::make_unique<SQLite::Database>(
        path.c_str(), flags | SQLite::OPEN_NOMUTEX, options.busy_timeout_ms, coalescing_vfs_name());
    // The first read tells a non-database file (SQLITE_NOTADB) from a database.
    int version = read_user_version(*db);
    if (version > latest_version()) {
      return Status::SchemaTooNew("database " + path + " has schema version " +
                                  std::to_string(version) +
                                  ", newer than this barrot understands (" +
                                  std::to_string(latest_version()) + "); use a newer barrot");
    }
    // Version 0 is a new store, unless the file holds tables already:
    // another application's database (a mistyped --db or BARROT_DB), which
    // must not get Barrot's schema, or even WAL mode.
    if (version == 0 && db->execAndGet("SELECT count(*) FROM sqlite_schema").getInt64() > 0) {
      // Read again: another process creating the store may have committed
      // its first migration between the two reads (the version only grows).
      version = read_user_version(*db);
      if (version == 0) {
        return Status::InvalidArgument("database " + path +
                                       " holds tables but no barrot schema: not a barrot store "
                                       "(another application's database?); nothing changed");
      }
    }
    if (rw) {
      if (version == 0) {
        // A new database: let barrot-archive give back the space of archived
        // months with PRAGMA incremental_vacuum (possible only before the
        // first table exists; older stores get it from barrot-archive's first VACUUM).
        db->exec("PRAGMA auto_vacuum = INCREMENTAL");
      }
      std::string mode = db->execAndGet("PRAGMA journal_mode = WAL").getString();
      if (mode != "wal") {
        return Status::IOError("cannot switch " + path + " to WAL mode (got " + mode + ")");
      }
      BARROT_TRY(migrate(*db, -1, &version));
    } else if (version == 0) { // an empty file: as if there were none
      return Status::NotFound(
          "no barrot store at " + path +
          " (the file is empty: record a snapshot first, or pass --dir / --db)");
    } else if (version < latest_version()) {
      return Status::InvalidArgument(
          "database " + path + " has schema version " + std::to_string(version) +
          "; a read-write command (e.g. 'barrot repair') creates or upgrades it");
    }
    db->exec(options.sync == Sync::full ? "PRAGMA synchronous = FULL"
                                        : "PRAGMA synchronous = NORMAL");
    // A CLI process opens, writes once and closes: a WAL checkpoint at every
    // close would cost two fsyncs per command. The WAL is checkpointed by the
    // automatic checkpoint (every 1000 frames) and by checkpoint_if_long()
    // when a Store closes; nothing is less durable.
    sqlite3_db_config(db->getHandle(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    sqlite3_wal_hook(db->getHandle(), on_wal_commit, wal);
    db->exec("PRAGMA foreign_keys = ON");
    // Reads through a memory map: a search that looks up a hundred rows
    // scattered over the file reads pages without a system call each.
    db->exec("PRAGMA mmap_size = 1073741824");
    *schema_version = version;
    *out = std::move(db);
    return Status::OK();
  });
}

} // namespace

Status open_database(const std::string& path,
                     const Options& options,
                     std::unique_ptr<SQLite::Database>* out,
                     int* schema_version,
                     WalState* wal) {
  // While another process creates the store or switches it to WAL, SQLite can
  // answer BUSY at once, without waiting in the busy handler: try again,
  // within the same busy timeout.
  const auto start = std::chrono::steady_clock::now();
  for (int delay_ms = 2;; delay_ms = std::min(delay_ms * 2, 100)) {
    Status s = open_database_once(path, options, out, schema_version, wal);
    const auto waited = std::chrono::steady_clock::now() - start;
    if (!s.IsBusy() || waited > std::chrono::milliseconds(options.busy_timeout_ms)) {
      return s;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  }
}

} // namespace barrot::store
