// Store: the snapshot store. An SQLite database (the source of truth)
// mirrored to the seed's JSON files in a snapshots directory.
//
// Writes commit one SQLite transaction, then mirror the committed snapshots
// to <snapshots_dir>/<id>.json, action_log.jsonl and latest_periodic.json.
// Any number of processes may open the same store and write at once.
//
// Thread-safety: a Store is used by one thread at a time. Open one Store per
// thread, or serialize calls.
//
// Paths: relative paths in Options are resolved against the working
// directory when used; do not chdir() while a Store is open (or give
// absolute paths).
//
// Callbacks (search, list, query) should not throw: search and list return
// a std::exception thrown by one as an IOError naming its what(), query
// lets it through to the caller.
#pragma once

#include <barrot/export.h>
#include <barrot/options.h>
#include <barrot/search.h>
#include <barrot/snapshot.h>
#include <barrot/status.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace barrot {

// A snapshot without its document, for listings.
struct SnapshotInfo {
  std::string id;
  SnapshotType type = SnapshotType::action;
  TimeUs timestamp = 0;
  std::string action_type; // empty for periodic snapshots
  std::string status;      // empty for periodic snapshots
};

struct Summary {
  std::int64_t total = 0;
  std::int64_t actions = 0;
  std::int64_t periodic = 0;
  std::map<std::string, std::int64_t> actions_by_status;
  std::map<std::string, std::int64_t> actions_by_type;
  std::optional<TimeUs> first;           // oldest snapshot
  std::optional<TimeUs> last;            // newest snapshot
  std::optional<TimeUs> latest_action;   // newest action snapshot
  std::optional<TimeUs> latest_periodic; // newest periodic snapshot
};

// One disagreement between the database and the mirror.
struct Problem {
  enum class Kind {
    missing_file,    // a snapshot has no <id>.json
    different_file,  // <id>.json holds other content than the database
    torn_file,       // <id>.json is not valid JSON (e.g. cut short)
    extra_file,      // a snapshot-named file the database does not hold
    missing_line,    // an action snapshot has no line in action_log.jsonl
    different_line,  // its line holds other content
    torn_line,       // a line that is not valid JSON, or lacks its newline
    duplicate_line,  // a second line for the same snapshot
    extra_line,      // a line for a snapshot the database does not hold
    missing_latest,  // latest_periodic.json is absent but periodic snapshots exist
    stale_latest,    // latest_periodic.json is not the newest periodic snapshot
    extra_latest,    // latest_periodic.json exists but no periodic snapshot does
    temp_file,       // a temporary file left by an interrupted write
    archive_cleanup, // files and lines of an archived month not yet removed
    not_the_mirror,  // the directory is not this store's mirror (Store::mirror_binding)
  };
  Kind kind;
  std::string id;     // the snapshot id, when one is known
  std::string path;   // the file concerned, relative to the snapshots directory
  std::string detail; // line number, reason
};

BARROT_EXPORT std::string_view to_string(Problem::Kind kind);

struct VerifyReport {
  std::int64_t snapshots = 0; // rows checked
  std::int64_t files = 0;     // snapshot files checked
  std::int64_t lines = 0;     // log lines checked
  std::vector<Problem> problems;
  bool clean() const { return problems.empty(); }
};

// Where the hash chain does not hold (Store::verify_chain).
struct ChainBreak {
  std::string where;    // "chain", "database", "file", "log", "latest", "archive", "anchor"
  std::string id;       // the snapshot concerned, when known
  std::int64_t seq = 0; // its place in the chain, when known
  std::string path;     // the file concerned, when there is one
  std::string detail;   // what does not hold
};

// A chain record known from elsewhere (a copy committed to git, say) that
// the chain must still hold: the snapshot at `seq` has hash `hash`.
struct ChainAnchor {
  std::int64_t seq = 0;
  std::string hash;        // 64 lowercase hex digits
  std::string snapshot_id; // the snapshot at seq, when the anchor names it (a chain-head file)
};

// The newest link of the chain: what the next snapshot will link to.
struct ChainHead {
  std::string id;
  ChainRecord record;
};

struct ChainReport {
  std::int64_t snapshots = 0;          // chain records in the database
  std::int64_t archived = 0;           // chain records in archives (not also in the database)
  std::int64_t archived_unchained = 0; // archived before the chain existed: digest-checked only
  std::int64_t files = 0;              // snapshot files checked (latest_periodic.json included)
  std::int64_t lines = 0;              // log lines checked
  std::int64_t anchors = 0;            // anchors found in the chain as given
  std::optional<ChainHead> head;       // none for an empty store
  std::vector<ChainBreak> breaks;      // the first few of each kind, in chain order
  std::int64_t more_breaks = 0;        // breaks found beyond those listed
  bool clean() const { return breaks.empty(); }
};

struct RepairReport {
  std::int64_t files_written = 0;  // missing or damaged files rewritten
  std::int64_t lines_appended = 0; // missing log lines appended
  std::int64_t lines_dropped = 0;  // torn, duplicate or stale lines removed
  bool log_rewritten = false;
  bool latest_written = false;
  std::int64_t temp_files_removed = 0;
  // Files and log lines of snapshots an archive holds (archive_cleanup),
  // moved to quarantine_dir.
  std::int64_t archived_files_removed = 0;
  std::int64_t archived_lines_removed = 0;
  std::vector<Problem> left_alone; // extra files and lines: not ours to delete
  std::string quarantine_dir;      // where replaced content was kept, if any
};

struct ImportReport {
  std::int64_t files_read = 0;
  std::int64_t lines_read = 0;
  std::int64_t imported = 0;        // new snapshots added
  std::int64_t already_present = 0; // same id and content already stored
  std::int64_t conflicts = 0;       // same id, other content: the stored one is kept
  struct Skipped {
    std::string source; // "file.json" or "action_log.jsonl:17"
    std::string reason;
  };
  std::vector<Skipped> skipped; // unreadable, truncated or invalid input
  // Imported snapshots dated more than five minutes after the import (a
  // wrong clock?), and the newest of them: they sort after everything
  // recorded until then, and a periodic one stays latest_periodic.json.
  std::int64_t future = 0;
  std::string newest_future;
  double database_seconds = 0; // reading, checking, inserting, indexing, committing
  double mirror_seconds = 0;   // writing the new snapshots' files and log lines
  // OK when the imported snapshots' files and log lines were written, else
  // why not (a full disk, say). They are committed either way, and the next
  // read-write open or `barrot repair` writes what is missing (as
  // Snapshot::mirror for a write).
  Status mirror;
};

// What Store::Restore did.
struct DatabaseRestoreReport {
  std::int64_t snapshots = 0;         // in the backup
  std::string newest;                 // its newest snapshot's id ("" for none)
  int backup_schema = 0;              // the backup's schema version (upgraded after)
  bool replaced = false;              // a database was there (else one was made)
  std::vector<std::string> set_aside; // a lost database's -wal/-shm, renamed
  // The mirror brought in line with the database being replaced, first: what
  // it committed and what was changed in the files since, so that the import
  // brings back the database's own snapshots (a damaged database that cannot
  // be scanned: only what it committed past its mirror checkpoint).
  RepairReport repaired_before;
  // Months archived (by the database replaced, or found in the snapshots
  // directory's archive/) whose archive the backup does not record: the
  // snapshots of them the backup does not hold are only in that archive,
  // which `barrot-archive restore MONTH` brings back into the store. `file`
  // is its path (under the snapshots directory given, for an archive
  // recorded inside it).
  struct ArchivedSince {
    std::string month;
    std::string file;
  };
  std::vector<ArchivedSince> archived_since;
  ImportReport imported; // snapshots of the mirror newer than the backup
  RepairReport repaired; // the mirror brought in line afterwards
};

class BARROT_EXPORT Store {
public:
  // Opens (creating if needed, on read-write) the store described by
  // `options`, upgrading its schema. Errors: InvalidArgument for an unusable
  // snapshots directory, Corruption for a file that is not an SQLite database,
  // SchemaTooNew for a database written by a newer barrot, IOError, Busy.
  static Result<std::unique_ptr<Store>> Open(const Options& options);

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // --- Writing --------------------------------------------------------------

  // Records one action snapshot and mirrors it. The returned snapshot's id is
  // unique in the store (see docs/formats.md, "Ids"). InvalidArgument, with
  // nothing written, for a bad type, details that are not an object, or
  // oversize details.
  Result<Snapshot> record_action(const ActionInput& input);

  // Records many action snapshots in one transaction (all or none) and one
  // append to the log. Much faster than one call each.
  Result<std::vector<Snapshot>> record_actions(const std::vector<ActionInput>& inputs);

  // Records one periodic snapshot and updates latest_periodic.json.
  Result<Snapshot> record_periodic(const PeriodicInput& input);

  // With Options::background_mirror: waits until every snapshot written so
  // far has its file and log line, and returns the first error met writing
  // them since the last flush (IOError, say, for a full disk). The snapshots
  // concerned are committed either way, and the next reconciliation (this
  // Store's close, the next open, or `barrot repair`) writes what is missing.
  // Without background_mirror, writes are mirrored in the call and this
  // returns OK at once.
  Status flush();

  // --- Reading --------------------------------------------------------------

  // NotFound when no snapshot has this id; InvalidArgument when `id` is not a
  // snapshot id at all.
  Result<Snapshot> get(std::string_view id);

  // The newest periodic snapshot by timestamp; NotFound when there is none.
  Result<Snapshot> latest_periodic();

  // The newest `count` snapshots by timestamp (of `type` when given), newest first.
  Result<std::vector<Snapshot>> latest(std::size_t count, std::optional<SnapshotType> type);

  // Calls `fn` for every snapshot, oldest first, until it returns false.
  Status list(const std::function<bool(const SnapshotInfo&)>& fn);

  Result<Summary> summary();

  // Actions recorded as started (executing) by Barrot with no end snapshot
  // linked to them (action.start_snapshot_id), newest first, at most `limit`.
  Result<std::vector<SnapshotInfo>> open_actions(std::size_t limit);

  // Actions that ended (completed or failed) after `after` and at or before
  // `until`, newest first, at most `limit`; `total` (if not null) gets how
  // many there are in all.
  Result<std::vector<SnapshotInfo>>
  ended_actions(TimeUs after, TimeUs until, std::size_t limit, std::int64_t* total);

  // Snapshots committed but not known to be mirrored: past a mirror
  // checkpoint that has not moved for two minutes (live writers move it every
  // minute), and not mirrored by this Store. Normally 0; more means a writer
  // died or is stuck mid-write (the next read-write open reconciles).
  Result<std::int64_t> mirror_backlog();

  // Calls `fn` for each snapshot matching `filter` (newest first unless
  // filter.oldest_first), at most filter.limit, until it returns false.
  // InvalidArgument for an unusable filter (an empty word, say).
  Status search(const SearchFilter& filter, const std::function<bool(const Snapshot&)>& fn);

  // search() without parsing each document: the rows as stored. Several
  // times faster when the results are printed, not inspected.
  Status search_rows(const SearchFilter& filter, const std::function<bool(const SnapshotRow&)>& fn);

  // How many snapshots match `filter` (its limit ignored; after its
  // cursor, after_id, if any).
  Result<std::int64_t> count(const SearchFilter& filter);

  // For following new writes (barrot tail -f): the insertion counter of the
  // newest snapshot (the `seq` column; 0 for an empty store).
  Result<std::int64_t> newest_seq();

  // The id of the snapshot at insertion counter `seq`; "" when there is
  // none (archived, or the store was restored to before it).
  Result<std::string> id_at_seq(std::int64_t seq);

  // Calls `fn` for each snapshot matching `filter` (its limit, order and
  // cursor ignored) inserted after counter `*seq`, in insertion order, and
  // moves `*seq` past each one passed to `fn`. REQUIRES: seq not null.
  Status search_inserted_after(const SearchFilter& filter,
                               std::int64_t* seq,
                               const std::function<bool(const Snapshot&)>& fn);

  // Whether the database file was removed or replaced (renamed over, or
  // restored from a backup) since this Store opened it: this Store still
  // reads the old file, and sees nothing written to the new one.
  Result<bool> moved();

  // Runs one read-only SQL statement (SELECT, WITH ... SELECT, or a read-only
  // PRAGMA such as table_info) and calls `header` once with the column names,
  // then `row` per row until it returns false. Anything that could write or
  // reach outside the store is refused with InvalidArgument before it runs:
  // INSERT/UPDATE/DELETE/DDL, ATTACH/DETACH, transactions, pragmas that set
  // or change state, load_extension(), and more than one statement.
  Status query(const std::string& sql,
               const std::function<void(const std::vector<std::string>& columns)>& header,
               const std::function<bool(const std::vector<Json>& values)>& row);

  // SQLite's quick_check of the database file: the problems it names (at
  // most 20), none when the file is sound. Reads the whole file.
  Result<std::vector<std::string>> integrity_check();

  // --- Mirror maintenance -----------------------------------------------------

  // Compares every snapshot with its file and log line. Changes nothing.
  Result<VerifyReport> verify();

  // Fixes every disagreement verify finds, from the database: rewrites
  // missing and damaged files, appends missing lines, drops torn and
  // duplicate lines, rewrites latest_periodic.json, removes temp files.
  // Content it replaces is kept under .barrot/quarantine/. Extra files and
  // lines are reported, not deleted.
  Result<RepairReport> repair();

  // Rewrites every mirror file and the whole log from the database.
  Result<RepairReport> rebuild_mirror();

  // Whether the snapshots directory is this store's mirror (docs/formats.md,
  // "The .barrot folder"): OK when it is, or when neither is bound yet (the
  // next write binds them); else the error a read-write open gives
  // (InvalidArgument: another store's directory, or not this store's;
  // Corruption: a damaged .barrot/mirror-id). For read-only stores, which
  // are not checked at open: verify and health report it.
  Status mirror_binding();

  // --- The hash chain (docs/integrity.md) ---------------------------------------

  // Recomputes the hash chain over the database and the archives, and checks
  // every chain record the snapshot files, latest_periodic.json and the log
  // carry against it and against their own content; then that each of
  // `anchors` is still in the chain. Changes nothing. Names the first
  // snapshot where an edit, deletion, insertion or reordering breaks it, in
  // each place.
  Result<ChainReport> verify_chain(const std::vector<ChainAnchor>& anchors);

  // The newest link of the chain (nullopt for an empty store).
  Result<std::optional<ChainHead>> chain_head();

  // --- Import ---------------------------------------------------------------

  // Imports a legacy snapshots directory (<id>.json files, action_log.jsonl,
  // latest_periodic.json), merging copies by snapshot id. Idempotent.
  // Unreadable or invalid inputs are skipped and named in the report; the
  // rest is imported in one transaction and mirrored. An error means nothing
  // was imported; a mirror that could not be completed is told in
  // ImportReport::mirror.
  Result<ImportReport> import_legacy(const std::string& dir);

  // --- Backup and restore --------------------------------------------------

  // Writes a copy of the database as of one moment to `path`, atomically (a
  // temporary file beside it, fsynced, renamed over it, the directory
  // fsynced): a self-contained SQLite file, checked (quick_check) before it
  // replaces a previous backup. Writers go on meanwhile. InvalidArgument for
  // a path that is the database itself, its -wal or -shm, or a directory.
  Status backup(const std::string& path);

  // Where a report may not be written (barrot health, dashboard and
  // chain-head -o): InvalidArgument naming why when `path` is the database,
  // its -wal, -shm or -journal, a file in .barrot/ or in the snapshots
  // directory's archive/, or one of the mirror's own files there (the log,
  // latest_periodic.json, a snapshot's <id>.json, a hidden temporary or lock
  // file). Other files in the snapshots directory (a chain_head.json, a
  // dashboard) are fine.
  Status check_output_path(const std::string& path) const;

  // Puts the backup at `backup_path` in place of the database of `options`
  // (whose read-write open is then Open's), then brings back from the
  // snapshots directory what was recorded after the backup (import_legacy
  // of the directory) and repairs the mirror. The backup is checked first
  // (an SQLite database passing quick_check, a Barrot schema no newer than
  // this binary, the same store and mirror ids as the directory's
  // .barrot/mirror-id); a backup that fails a check changes nothing. A
  // database that is there first brings the mirror in line with itself
  // (what it committed unmirrored; files and lines edited since, by a
  // repair: repaired_before), so the import brings back its snapshots, and
  // those it recorded keep origin 'barrot'. It is then overwritten through
  // SQLite (its WAL and every open connection see the backup's content,
  // atomically); a missing
  // one is made from the backup, its stale -wal and -shm set aside first (a
  // WAL left by a lost database would be replayed into the new one).
  // Corruption when the database there cannot be opened: move it aside.
  // Stop long-running writers (barrot daemon) first: their next write would
  // otherwise find the chain moved under them. Until a restore has brought
  // the mirror's newer snapshots back, .barrot/restoring says so, and a
  // read-write Open fails (IOError naming the backup): a restore cut short
  // (kill -9) is finished by running it again.
  static Result<DatabaseRestoreReport> Restore(const Options& options,
                                               const std::string& backup_path);

  // --- Introspection ----------------------------------------------------------

  const Options& options() const;
  const std::string& db_path() const;
  int schema_version() const;

  // The schema version this binary writes.
  static int latest_schema_version();

  struct Impl;

private:
  friend class Archiver;
  explicit Store(std::unique_ptr<Impl> impl);
  // Open, and for Restore: `restoring` opens a store whose restore was
  // interrupted (which Open refuses to write to).
  static Result<std::unique_ptr<Store>> OpenStore(const Options& options, bool restoring);
  std::unique_ptr<Impl> m_impl;
};

} // namespace barrot
