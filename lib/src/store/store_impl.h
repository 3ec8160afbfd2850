// Store::Impl: shared by the store's translation units (writes, reads,
// reconciliation, import). Not part of the public API.
#pragma once

#include "mirror/mirror.h"
#include "store/background_mirror.h"
#include "store/chain.h"
#include "store/database.h"

#include <barrot/store.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace barrot {

// A snapshot ready to be inserted.
struct PendingRow {
  std::string id;
  SnapshotType type = SnapshotType::action;
  TimeUs ts = 0;
  std::string action_type;
  std::string status;
  std::string origin = "barrot";
  Json document;
  std::string compact; // document serialized
  std::string details; // actions: action.details serialized, as within `compact`
  // Set by prepare_action when `compact` is the standard form of an action
  // (append_standard_action_text), so bind_insert need not check: the row is
  // stored as columns, with these two.
  bool standard = false;
  std::optional<TimeUs> started_us;             // action.started_at, when not ts
  std::optional<std::string> start_snapshot_id; // action.start_snapshot_id
  // action.started_at was given (an end: its start's time), so it stays
  // when the snapshot's own time moves to a free id.
  bool started_at_given = false;
  // A new end of the action start_snapshot_id began: refused in the write
  // transaction if another snapshot ended that start already.
  bool ends_start = false;
  std::int64_t seq = 0; // set on insert, unless keep_seq
  // Inserted with `seq` and chain.prev as they are (a restored archive line
  // that carried its chain record), not at the end of the chain.
  bool keep_seq = false;
  store::ChainLink chain; // prev set before insert; seq and hash after
  // The chain record the input document carried (row_from_document takes it
  // out of `document`), if any.
  std::optional<store::ChainLink> carried_chain;
};

struct Store::Impl {
  Options options;
  std::string db_path;
  int schema_version = 0;
  store::WalState wal; // declared before db: the connection's hook points here
  std::unique_ptr<SQLite::Database> db;
  std::unique_ptr<mirror::Mirror> mirror;
  // With Options::background_mirror: the thread that writes action
  // snapshots' files and lines after their commit. Declared after `mirror`,
  // so it stops before the mirror closes.
  std::unique_ptr<store::BackgroundMirror> background;
  Status background_error; // met by the background mirror since the last flush

  // Seq ranges this process committed and mirrored since it last moved the
  // checkpoint: reconciliation need not re-read them. [first, last] inclusive, ascending.
  // With them, the bytes of log lines appended for them and whether any was
  // a periodic snapshot. Guarded by self_mirrored_mu: the background mirror
  // adds to them.
  std::vector<std::pair<std::int64_t, std::int64_t>> self_mirrored;
  std::int64_t self_log_bytes = 0;
  bool self_periodic = false;
  mutable std::mutex self_mirrored_mu;
  std::int64_t last_checkpoint_mono_us = 0;

  std::unique_ptr<SQLite::Statement> insert_stmt;
  std::unique_ptr<SQLite::Statement> chain_head_stmt;
  std::unique_ptr<SQLite::Statement> chain_tail_stmt;
  std::unique_ptr<SQLite::Statement> checkpoint_stmt; // reconcile.cpp: read_checkpoint
  std::unique_ptr<SQLite::Statement> begin_stmt;      // BEGIN IMMEDIATE
  std::unique_ptr<SQLite::Statement> commit_stmt;     // COMMIT

  // An IMMEDIATE transaction through the two statements above, prepared once
  // per Store (SQLite::Transaction parses BEGIN and COMMIT again each time).
  // Rolled back on destruction unless committed. Throws SQLite::Exception.
  class WriteTxn {
  public:
    explicit WriteTxn(Impl& impl);
    ~WriteTxn();
    WriteTxn(const WriteTxn&) = delete;
    WriteTxn& operator=(const WriteTxn&) = delete;
    void commit();

  private:
    Impl& m_impl;
    bool m_open = true;
  };

  // The chain record this Store last committed: the next write links to it
  // without hashing again when no other process wrote in between.
  std::int64_t head_seq = 0;
  std::string head_id;
  store::Digest head_hash{};

  // The hash the next snapshot links to: the newest row's, or chain_tail's
  // when that is newer (archived), or the genesis. REQUIRES: a write
  // transaction open. Throws SQLite::Exception; Corruption for a newest row
  // without a link.
  Status chain_head_in_txn(store::Digest* out);

  // The newest action time this Store handed out: actions recorded without
  // an explicit time get strictly increasing times, so a batch, or a tight
  // loop, never collides with itself (docs/formats.md, "Ids").
  TimeUs last_action_ts = 0;

  // now_us(), moved past last_action_ts when needed.
  TimeUs next_action_time();

  // Inserts `rows` in one IMMEDIATE transaction, moving an id that is taken
  // (in the database or as a file) forward in time until it is free, then
  // mirrors them. REQUIRES: the caller holds no lock.
  Status commit_and_mirror(std::vector<PendingRow>* rows, std::vector<Status>* mirror_status);

  // Every minute (k_checkpoint_interval_us), after a write: reconcile(0), so
  // a long-lived writer keeps the checkpoint near the newest row.
  void try_periodic_reconcile();

  // Writes latest_periodic.json from the newest periodic row in the database;
  // `*written` (if given) says whether there was one.
  Status write_latest_from_db(bool* written = nullptr);

  // The mirror checkpoint (migrations/0001_initial.sql), with the newest
  // row's seq and the store's mirror binding (0006_mirror_id.sql).
  struct Checkpoint {
    std::int64_t seq = 0;
    std::int64_t log_offset = 0;
    std::int64_t log_inode = 0;
    std::int64_t updated_us = 0;
    std::int64_t newest_seq = 0; // the newest row's, not the checkpoint's
    std::string store_id;
    std::string mirror_id; // "" until a directory is bound
  };
  // Reads it through one statement, prepared once per Store (a CLI write
  // reads it four times).
  Status read_checkpoint(Checkpoint* cp);

  // The binding of a store to its snapshots directory (mirror/binding.cpp;
  // docs/formats.md, "The .barrot folder"). The mirror id this Store found
  // or made at open ("" read-only): a write commits only while the database
  // still holds it, and the checkpoint moves only then.
  std::string mirror_id;
  // The checkpoint as the open's binding check read it, for the open's
  // reconciliation to use rather than read again.
  std::optional<Checkpoint> opened_checkpoint;
  // Before a database is created: InvalidArgument when the snapshots
  // directory already mirrors a store (its database is elsewhere, or lost),
  // unless options.adopt_mirror. Reads the directory by path.
  Status check_new_database();
  // Whether the snapshots directory is this store's mirror: it holds the
  // store's id and mirror id. Reads the directory's by path, before the
  // Mirror is opened, so that a refused directory is not created. `bind`:
  // set when bind_mirror() must run (a first binding, or one `adopt`
  // allows); `cp`: the checkpoint read. InvalidArgument, naming both paths,
  // when the directory mirrors another store or this store mirrors to
  // another directory; Corruption for a damaged .barrot/mirror-id.
  Status check_mirror_binding(Adopt adopt, bool* bind, Checkpoint* cp);
  // Makes the snapshots directory this store's mirror, under the store's
  // lock and in one write transaction: writes .barrot/mirror-id (fsynced),
  // then the database's mirror id; a directory adopted also rewinds the
  // checkpoint, so the next reconciliation checks every snapshot against it.
  Status bind_mirror();
  // InvalidArgument when the database no longer holds this Store's
  // mirror_id (a `mirror --rebuild` elsewhere adopted another directory
  // since the open). REQUIRES: a write transaction open.
  Status check_bound_in_txn();
  // InvalidArgument when a snapshot (in the database, or one of
  // `batch_ended`) ended the action `start_id` began already.
  // REQUIRES: a write transaction open.
  Status check_start_open_in_txn(const std::string& start_id,
                                 const std::set<std::string_view>& batch_ended);

  // Brings the mirror up to date with rows past the checkpoint. Waits at
  // most `wait_ms` for the mirror lock; when other processes keep it longer,
  // does nothing (they, or a later open, will). `look_first`: a look without
  // the lock first, for when there is likely nothing to do (an open); a
  // writer that mirrored rows itself knows there is.
  Status reconcile(int wait_ms, bool look_first = true);

  // reconcile() with the mirror lock already held exclusive.
  Status reconcile_locked();

  // Held by a check or fix of the whole store: archive runs wait for it, and
  // it for them (Mirror::hold_off_archiving). Holds nothing in a process
  // that holds the archive lock itself (a database restore).
  struct ArchiveHold {
    util::UniqueFd fd;
    util::FileLock lock; // let go before fd closes
  };
  Status hold_off_archiving(ArchiveHold* hold) {
    return holds_archive_lock
               ? Status::OK()
               : mirror->hold_off_archiving(&hold->fd, &hold->lock, options.busy_timeout_ms);
  }
  bool holds_archive_lock = false;

  // Full scan and repair. REQUIRES: the mirror lock held exclusive.
  // `archived_copies`: also move copies of archived snapshots aside (an
  // explicit repair; not a reconciliation that falls back to a full scan).
  // `scanned` (if not null) is set once the scan is done, before anything is
  // changed: a failure without it changed nothing.
  Status repair_locked(RepairReport* report, bool archived_copies = false, bool* scanned = nullptr);

  // Store::import_legacy, with the archive lock already handled by the
  // caller's ArchiveHold. The snapshots whose ids `barrot_ids` holds (if not
  // null) were recorded by Barrot and keep origin 'barrot'; every other
  // imported one is 'import'.
  Result<ImportReport> import_dir(const std::string& dir,
                                  const std::unordered_set<std::string>* barrot_ids);

  // Moves the mirror checkpoint to the newest row and the current log end,
  // and brings the full-text index up to date when it is due (or `fts_now`),
  // in one transaction. `unchecked_rows`: how many rows lie past the old
  // checkpoint (with Sync::full, a few are fsynced one by one, many by syncfs). REQUIRES: the
  // mirror lock held exclusive and the mirror complete up to the newest row.
  Status advance_checkpoint(std::int64_t unchecked_rows, bool fts_now);

  // Makes the next reconciliation read the whole log and every row past
  // `mirrored_upto` (the checkpoint's seq, if that is lower): for rows whose
  // lines may already lie before the checkpoint's log offset (an import in
  // place) or that go in below it (a restore). REQUIRES: a write transaction
  // open. Throws SQLite::Exception.
  void rewind_checkpoint_in_txn(std::int64_t mirrored_upto);

  // What only an exclusive holder of the store's lock changes (archive
  // runs, restores, repairs and imports move the checkpoint or the archives
  // table): read before and after turning the lock shared, it tells whether
  // one slipped in as the lock changed hands (mirror/reconcile.cpp).
  Result<std::string> exclusive_fingerprint();

  // Turns `lock`, held exclusive, shared (writers may go on). False when an
  // exclusive holder may have slipped in as flock changed hands (the lock
  // was lost, or the fingerprint moved): the caller starts again, exclusive
  // throughout.
  Result<bool> downgrade_unchanged(util::FileLock* lock);

  // Adds every action past fts_state.indexed_seq to the full-text index and
  // records it. REQUIRES: a write transaction open. Throws SQLite::Exception.
  void index_fts_in_txn(TimeUs now);

  // Archives (archive/archive.cpp). The snapshots of months archived but not
  // yet cleaned (their rows deleted, their files and log lines not yet
  // removed), id to month; a problem for each such archive it cannot read.
  Status pending_archive_ids(std::unordered_map<std::string, std::string>* out,
                             std::vector<Problem>* unreadable);

  // The snapshots the store's archive of `ts`'s month holds, id to document
  // (without its chain record), unless the month was restored (its
  // snapshots are back in the store then); empty when there is no archive
  // of that month. An error when the archive cannot be read or does not
  // match its manifest.
  Status archived_documents(TimeUs ts, std::unordered_map<std::string, Json>* out);

  // Removes the files and log lines of every month left "cleaning" by an
  // interrupted archive run, and marks it archived; `months` gets those
  // done, `stuck` a problem for each whose archive cannot be read (its
  // files stay). REQUIRES: the mirror lock held exclusive and the mirror
  // complete (it moves the checkpoint).
  Status finish_archive_cleanups_locked(std::vector<std::string>* months,
                                        std::vector<Problem>* stuck);

  // Of `ids` (files and log lines the store does not hold), those that an
  // archive of a month recorded archived holds, id to month: copies left in,
  // or put back into, the mirror. Reads only the archives of the months the
  // ids fall in; one that cannot be read holds none.
  Status archived_copies(const std::vector<std::string>& ids,
                         std::unordered_map<std::string, std::string>* held);

  // Moves the files and log lines of archived copies out of the mirror into
  // .barrot/quarantine/<stamp>/ (the lines as action_log.archived-copies.jsonl):
  // an id alone says the archive holds that snapshot, not that the copy is
  // the same, so nothing is deleted. REQUIRES: the mirror lock held
  // exclusive and the mirror complete (it moves the checkpoint).
  Status remove_archived_copies_locked(const std::unordered_set<std::string>& ids,
                                       const std::string& stamp,
                                       RepairReport* report);

  // Every line of every archive the store recorded, with the chain record
  // it carries (whose hash parse_line checked against its content), for
  // verify_chain. An archive that does not read, or does not match its
  // manifest, goes to `unreadable` (with its lines still given to `fn` when
  // they read without the manifest).
  struct ArchivedLine {
    std::string id;
    std::optional<store::ChainLink> chain;
  };
  Status for_each_archived_line(
      const std::function<void(const std::string& file, const ArchivedLine& line)>& fn,
      const std::function<void(const std::string& file, const std::string& problem)>& unreadable);

  // `log_bytes`: the length of the snapshot's log line and its newline (0
  // for a periodic snapshot, which has none).
  void note_self_mirrored(std::int64_t seq, std::int64_t log_bytes, bool periodic);
  bool is_self_mirrored(std::int64_t seq) const;
  // Whether every seq in (after, upto] is one this process mirrored, none of
  // them periodic, and their log lines come to `log_bytes`.
  bool only_self_mirrored(std::int64_t after, std::int64_t upto, std::int64_t log_bytes) const;
  bool any_self_mirrored() const;
  void clear_self_mirrored();
  // Forgets the ranges at or below `seq` (another process's checkpoint
  // covers them), so a long-lived writer among many does not keep one range
  // per row for ever.
  void prune_self_mirrored(std::int64_t seq);

  // Waits for the background mirror (if any) to write everything queued,
  // keeping the first error it met for Store::flush.
  void drain_background();
};

// The chain link of a row selected with its seq in column `seq_col` and its
// chain_prev in `prev_col`, whose document is `content`. Corruption when the
// row has no link.
Result<store::ChainLink>
row_link(SQLite::Statement& st, int seq_col, int prev_col, std::string_view content);

// Renders `row.document` for a new id/timestamp when the first choice was taken.
void rerender_with_time(PendingRow* row, TimeUs ts);

// OK for a JSON object of at most k_max_details_bytes (compact) and 64
// levels; sets `compact_out` to its compact text.
Status validate_details(const Json& details, std::string* compact_out);

// InvalidArgument when `doc` nests deeper than 64 levels plus `outer` (the
// levels of a whole document around its details or sections). Checked
// without recursion, before anything recursive such as dump() touches it.
Status validate_depth(const Json& doc, const char* what, int outer = 0);

// Checks a snapshot document from outside the write path (a legacy file or
// log line, an archive line) and turns it into a row with origin "import";
// InvalidArgument naming what is wrong. `expect_id`: the id it must have, if
// not empty.
Status row_from_document(const Json& doc, const std::string& expect_id, PendingRow* row);

namespace store {

// Before a database is made at `db_path`, where there is none: renames a
// -wal, -shm or -journal a lost database left to <name>.before-new-<time>
// (SQLite would replay such a WAL into the new file), naming each in
// `*moved` (may be null).
Status set_aside_stale_wal(const std::string& db_path, std::vector<std::string>* moved);

// OK when the snapshots directory `dir` is the mirror of the store whose
// ids are `store_id` and `mirror_id` (as a backup of it holds them), or has
// no binding while the store has none either; else InvalidArgument naming
// `backup` and the way on (mirror/binding.cpp).
Status check_backup_binding(const std::string& dir,
                            const std::string& store_id,
                            const std::string& mirror_id,
                            const std::string& backup);

// Store::search and Store::count over any database with the store's schema
// (the store's own, or archives loaded into memory).
Status search_db(SQLite::Database& db,
                 const SearchFilter& filter,
                 const std::function<bool(const Snapshot&)>& fn);
Result<std::int64_t> count_db(SQLite::Database& db, const SearchFilter& filter);

} // namespace store

// Inserts one row (parameters: bind_insert); does nothing for an id taken.
inline constexpr const char* k_insert_row_sql =
    "INSERT INTO snapshot_rows (snapshot_id, snapshot_type, ts_us, action_type, status, origin, "
    "details, started_us, start_snapshot_id, document, seq, chain_prev) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (snapshot_id) DO NOTHING";

// Binds `row` to k_insert_row_sql's parameters: an action whose
// document is exactly its standard form is stored as columns alone
// (migrations/0003_compact_rows.sql), anything else with its whole document;
// row.chain.prev as chain_prev, and row.seq when row.keep_seq.
void bind_insert(SQLite::Statement& st, const PendingRow& row);

// The columns of snapshot_rows that hold a document, and the document they
// hold: its text from columns [first, first + 8) of `st` selecting them
// (rebuilt into `*buffer` when the row is stored as columns). Cheaper than
// the `snapshots` view's SQL rebuild.
inline constexpr const char* k_document_columns =
    "document, snapshot_id, ts_us, action_type, status, details, started_us, start_snapshot_id";
std::string_view stored_document(SQLite::Statement& st, int first, std::string* buffer);
// The same on a raw statement: for loops over hundreds of thousands of rows,
// where SQLiteCpp's per-column objects cost as much as the row.
std::string_view stored_document(sqlite3_stmt* st, int first, std::string* buffer);

// SQL for the length in bytes of a snapshot_rows row's document, without
// rebuilding it (244 bytes of the standard form are fixed; test:
// "standard actions are stored as columns and read back byte for byte").
inline constexpr const char* k_document_bytes_sql =
    "coalesce(length(CAST(document AS BLOB)), 244 + length(CAST(snapshot_id AS BLOB)) + "
    "length(CAST(action_type AS BLOB)) + length(status) + length(CAST(details AS BLOB)) + "
    "coalesce(23 + length(CAST(start_snapshot_id AS BLOB)), 0))";

// Appends the standard form of an action document, as the `snapshots` view
// rebuilds it from the columns (0003_compact_rows.sql): one line, the
// seed's key order.
void append_standard_action_text(std::string* out,
                                 std::string_view id,
                                 TimeUs ts,
                                 std::string_view action_type,
                                 std::string_view status,
                                 std::string_view details,
                                 std::optional<TimeUs> started,
                                 std::optional<std::string_view> start_snapshot_id);

} // namespace barrot
