// Archiver: monthly retention. Moves every snapshot of a complete calendar
// month past its retention into one zstd-compressed JSONL file (plus a
// manifest), proves the file complete, and only then deletes the month from
// the database and the mirror. See docs/formats.md ("Archives") and
// docs/operations.md ("Retention").
//
// Order of a month's archiving, each step safe to interrupt (a later run, or
// barrot repair, finishes what a crash left; docs/operations.md):
//   1. read the month's recorded archive, if any, checked against its manifest
//   2. stream the month's rows, merged with it, through zstd into
//      <month>.next.jsonl.zst: temp, fsync, rename
//   3. re-read it: checksums, size, count, every line parsed
//   4. write <month>.next.manifest.json: temp, fsync, rename
//   5. one transaction: record the archive (state "cleaning") and delete the
//      rows archived; then rename the .next files into place
//   6. remove their <id>.json files and their log lines (the log rewritten
//      atomically), then mark the archive "archived"
// One Archiver works on a store at a time (run and restore hold a lock).
// The newest periodic snapshot is never archived, so latest_periodic.json
// and `barrot latest` stay right.
//
// Thread-safety: as Store (one thread at a time).
#pragma once

#include <barrot/export.h>
#include <barrot/search.h>
#include <barrot/snapshot.h>
#include <barrot/status.h>
#include <barrot/store.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace barrot {

// How long snapshots stay in the store before they are archived, by type. A
// month is archived once all of it is older than this.
struct Retention {
  std::int64_t periodic_days = 30;
  std::int64_t action_days = 90;
};

struct ArchiveProgress {
  std::string month;
  const char* phase = ""; // "reading", "writing", "verifying", "deleting", "cleaning"
  std::int64_t done = 0;
  std::int64_t total = 0;
};

struct ArchiveOptions {
  // Where archives are kept. Default (empty): <snapshots_dir>/archive.
  std::string archive_dir;
  Retention retention;
  // "YYYY-MM": archive this month only, every snapshot of it whatever the
  // retention (the month must have ended). Empty: every month that is due.
  std::string month;
  // Plan only: report what would move; change nothing.
  bool dry_run = false;
  // zstd level, as `zstd -LEVEL`. Default 3, zstd's own default.
  int level = 3;
  // The time retention counts back from. 0: now.
  TimeUs now = 0;
  // Called now and then during long steps.
  std::function<void(const ArchiveProgress&)> progress;
};

struct ArchiveProblem {
  std::string month;
  std::string file;
  std::string detail;
};

// What one run did (or, on a dry run, would do) to one month.
struct MonthReport {
  std::string month;
  std::string file;            // the archive's path
  std::int64_t actions = 0;    // action snapshots moved out of the store
  std::int64_t periodic = 0;   // periodic snapshots moved out of the store
  std::int64_t bytes = 0;      // their documents' size (uncompressed)
  std::int64_t in_archive = 0; // snapshots the archive holds after the run
  std::int64_t archive_bytes = 0;
  std::int64_t files_removed = 0; // <id>.json files deleted
  std::int64_t lines_removed = 0; // action_log.jsonl lines deleted
  double archive_seconds = 0;     // read, compress, write, verify
  double delete_seconds = 0;      // the database transaction
  double cleanup_seconds = 0;     // mirror files and log lines
};

struct ArchiveRunReport {
  bool dry_run = false;
  std::vector<MonthReport> months;
  // Months whose interrupted cleanup (step 5) this run finished first.
  std::vector<std::string> resumed;
  // Months whose archive was not where the store recorded it but in the
  // archive directory (moved there): the store now records it there.
  std::vector<std::string> relocated;
  // Months whose interrupted cleanup cannot be finished (their archive is
  // missing or damaged): their files stay; the run goes on with the rest.
  std::vector<ArchiveProblem> problems;
  std::int64_t db_bytes_before = 0; // database and WAL files, before and after
  std::int64_t db_bytes_after = 0;  // the space reclaimed
  double vacuum_seconds = 0;
  // OK when the run did all it set out to do. Else what stopped it after
  // some work was done: a month that could not be archived after others
  // were, the cleanup of an archived month (its files and log lines), or
  // giving the space back. Every month in `months` has left the store
  // either way, and the months after it wait. IOError or Busy (a full disk,
  // a store kept busy) pass: the next run (or `barrot repair`, for a
  // cleanup) finishes the rest. Any other code needs the operator first, as
  // its message says (e.g. a file in the way of a month's archive).
  Status unfinished;
};

// One archive, as recorded in the store and found on disk.
struct ArchiveInfo {
  std::string month;
  std::string file;  // path
  std::string state; // "archived", "cleaning" (step 5 unfinished), "restored"
  std::int64_t snapshots = 0;
  std::int64_t actions = 0;
  std::int64_t periodic = 0;
  std::int64_t content_bytes = 0; // uncompressed
  std::int64_t archive_bytes = 0; // on disk; 0 when the file is missing
  std::string first_id, last_id;
  std::string first_timestamp, last_timestamp;
  Json manifest;
};

struct ArchiveVerifyReport {
  std::int64_t archives = 0;
  std::int64_t snapshots = 0; // lines checked
  std::vector<ArchiveProblem> problems;
  bool clean() const { return problems.empty(); }
};

struct RestoreReport {
  std::string month;
  // As ArchiveRunReport::relocated: archives found moved into the archive
  // directory, and recorded there.
  std::vector<std::string> relocated;
  std::int64_t restored = 0;        // put back into the store
  std::int64_t already_present = 0; // in the store already (same content)
  std::int64_t conflicts = 0;       // same id, other content: the stored one kept
  // OK when the restored snapshots' files and log lines were written, else
  // why not (a full disk, say). They are in the store either way, and the
  // next read-write open or `barrot repair` writes what is missing.
  Status mirror;
};

// Reads the `archive:` section of a configuration file (the YAML file
// barrot periodic reads; docs/operations.md) over `options`: dir,
// retain_periodic, retain_actions, level. InvalidArgument naming the key and
// line for an unknown key or a bad value.
BARROT_EXPORT Status load_archive_config(const std::string& path, ArchiveOptions* options);

// "30d", "12w" or "90" (days) to days, 0 to 36600.
BARROT_EXPORT Result<std::int64_t> parse_retention_days(std::string_view text);

class BARROT_EXPORT Archiver {
public:
  // InvalidArgument for a bad month, level or archive directory. `store`
  // must outlive the Archiver.
  static Result<std::unique_ptr<Archiver>> Open(Store& store, const ArchiveOptions& options);
  ~Archiver();
  Archiver(const Archiver&) = delete;
  Archiver& operator=(const Archiver&) = delete;

  // Archives every due month (or options.month); finishes any interrupted
  // cleanup first. With dry_run, reports the plan and changes nothing. An
  // error means no month left the store; trouble once one has is told in
  // ArchiveRunReport::unfinished.
  Result<ArchiveRunReport> run();

  // Every archive, oldest month first.
  Result<std::vector<ArchiveInfo>> list();

  // Re-checks archives (all, or `month`) against their manifests and the
  // store: checksums, counts, every line parsed, no snapshot both archived
  // and in the store. Changes nothing.
  Result<ArchiveVerifyReport> verify(const std::string& month);

  // Puts an archived month back into the store and mirror. Idempotent. The
  // archive file stays; the next run archives the month again if it is due.
  // An error means nothing was restored; a mirror that could not be
  // completed is told in RestoreReport::mirror.
  Result<RestoreReport> restore(const std::string& month);

  // Searches the archived months that `filter`'s time range overlaps, with
  // the same filter semantics as Store::search (newest first unless
  // filter.oldest_first, at most filter.limit). Each archive is checked
  // against its manifest and loaded into memory first: a month takes about
  // a second per 300,000 snapshots. Restored months are skipped (the store
  // holds them).
  Status search(const SearchFilter& filter, const std::function<bool(const Snapshot&)>& fn);

  // How many snapshots of those archives match `filter`.
  Result<std::int64_t> count(const SearchFilter& filter);

  // The store and its archived months together (barrot search --archives):
  // the same filters, in time order with ties by id (newest first unless
  // filter.oldest_first), at most filter.limit over both. The cursor
  // filter.after_id may name a snapshot in either; NotFound when neither
  // holds it.
  Status search_with_store(const SearchFilter& filter,
                           const std::function<bool(const Snapshot&)>& fn);

  // How many snapshots of the store and those archives match `filter`
  // (after its cursor, if any).
  Result<std::int64_t> count_with_store(const SearchFilter& filter);

  // Archived months (state archived or cleaning) overlapping [from, to).
  static Result<std::vector<std::string>> archived_months(Store& store, TimeUs from, TimeUs to);

  struct Impl;

private:
  explicit Archiver(std::unique_ptr<Impl> impl);
  // The snapshot a cursor names (its id and time), in the store or an archive.
  Result<Snapshot> find_cursor(const std::string& id);
  std::unique_ptr<Impl> m_impl;
};

} // namespace barrot
