// The snapshots directory: per-snapshot files, the action log, the latest
// periodic copy, and the lock that orders writers against reconciliation.
// Knows file names and atomic writes; knows nothing of the database.
//
// Locking protocol (see docs/architecture.md): a writer holds the mirror
// lock shared from before its commit until its mirror files are written;
// reconciliation, repair and verify hold it exclusive, so they never see a
// commit whose mirroring is still in flight. The lock is always taken before
// the SQLite write lock.
//
// Thread-safety: one thread at a time, except that a Store's background
// mirror (store/background_mirror.h) writes snapshot files and appends lines
// on its thread while the Store's thread checks file_exists() and takes the
// lock; the lock hook drains the background mirror before anything else.
#pragma once

#include "util/fs.h"

#include <barrot/options.h>
#include <barrot/status.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace barrot::mirror {

inline constexpr const char* k_log_name = "action_log.jsonl";
inline constexpr const char* k_latest_name = "latest_periodic.json";
inline constexpr const char* k_state_dir = ".barrot";
inline constexpr const char* k_lock_name = ".barrot/lock";
inline constexpr const char* k_latest_lock_name = ".barrot/latest.lock";
// The turnstile in front of the store's lock (util::FileLock::lock_through).
inline constexpr const char* k_gate_name = ".barrot/gate";
inline constexpr const char* k_archive_lock_name = ".barrot/archive.lock";
inline constexpr const char* k_quarantine_dir = ".barrot/quarantine";
// Where the monthly archives go when no other directory is given.
inline constexpr const char* k_archive_dir = "archive";
// The store this directory mirrors, and the binding (migrations/0006_mirror_id.sql).
inline constexpr const char* k_mirror_id_name = ".barrot/mirror-id";
// Present from the moment a restore overwrites the database until it has
// imported the mirror's newer snapshots (store/backup.cpp): its backup's path.
inline constexpr const char* k_restoring_name = ".barrot/restoring";

struct LogIdentity {
  std::int64_t size = 0;
  std::int64_t inode = 0; // 0 when the log does not exist
};

// The snapshot id of a log line, or "" when the line is not a JSON object
// with a string snapshot_id. Lines Barrot wrote are recognized without a
// full parse.
std::string log_line_id(std::string_view line);

class Mirror {
public:
  // Opens (on read_write: creates, and checks writable) the directory `dir`.
  static Status
  Open(const std::string& dir, Sync sync, Access access, std::unique_ptr<Mirror>* out);

  const std::string& dir() const { return m_dir; }
  int dir_fd() const { return m_dir_fd.get(); }
  // -1 when there is no lock file (a read-only directory never written to).
  int lock_fd() const { return m_lock_fd.get(); }
  // The gate in front of it (-1: none; util::FileLock::lock_through).
  int gate_fd() const { return m_gate_fd.get(); }
  // The store's lock taken through its gate, so that an exclusive taker
  // (verify, repair, import, archive) is not starved by a stream of writers.
  Status lock_store(util::FileLock* lock, util::FileLock::Mode mode, int timeout_ms) const {
    if (mode == util::FileLock::Mode::exclusive && m_before_exclusive) {
      m_before_exclusive();
    }
    return lock->lock_through(m_gate_fd.get(), m_lock_fd.get(), mode, timeout_ms);
  }
  // Called before this process takes the store's lock exclusive: the Store
  // lets its background mirror finish. Otherwise flock would turn the
  // process's own shared hold (the same open file description) exclusive
  // while the worker is still writing, and the taker would see its files
  // on their way.
  void set_before_exclusive(std::function<void()> fn) { m_before_exclusive = std::move(fn); }
  // Takes .barrot/archive.lock exclusive (created if missing), held while
  // `*fd` stays open: one archive run or month restore at a time, and no
  // database restore while one is on its way. Busy names the holder.
  Status lock_archiving(util::UniqueFd* fd, util::FileLock* lock, int timeout_ms) const;
  // Takes .barrot/archive.lock shared, held while `*fd` stays open: for a
  // check or fix of the whole store (verify, repair, import), which an
  // archive run or month restore would change under it. Waits for one in
  // progress (Busy after `timeout_ms`). Holds nothing where the file is
  // missing and cannot be made (a read-only store never archived) or
  // cannot be opened.
  Status hold_off_archiving(util::UniqueFd* fd, util::FileLock* lock, int timeout_ms) const;
  // Serializes updates of latest_periodic.json (query newest, then write).
  int latest_lock_fd() const { return m_latest_lock_fd.get(); }
  Sync sync() const { return m_sync; }

  static std::string file_name(const std::string& id) { return id + ".json"; }

  bool file_exists(const std::string& id) const;

  // Writes <id>.json; never replaces an existing file.
  Status write_snapshot_file(const std::string& id, std::string_view text);

  // Atomically replaces (or creates) `name` with `text`.
  Status replace_file(const std::string& name, std::string_view text);
  // The same built piece by piece: `w` writes `name`'s replacement, synced
  // as the store's Sync asks, until its commit(Overwrite::yes).
  Status open_replacement(const std::string& name, util::AtomicWriter* w) const;

  // Appends whole lines to the action log in one write. Reopens the log
  // first if it was replaced (by repair) since it was opened.
  Status append_log(std::string_view lines);

  Status log_identity(LogIdentity* out) const;

  // Calls fn with successive pieces of the log from byte `offset` up to
  // byte `limit` (its end when negative), until it returns false.
  Status read_log_chunks(std::int64_t offset,
                         std::int64_t limit,
                         const std::function<bool(std::string_view)>& fn) const;

  // Reads the log from byte `offset` to its end.
  Status read_log_from(std::int64_t offset, std::string* out) const;

  // Whether the log holds exactly what the file open at `fd` holds (a
  // missing log: whether that file is empty). Read piece by piece.
  Result<bool> log_equals(int fd) const;

  // Calls fn(line, line_number, has_newline) for each line of the log's
  // first `limit` bytes (all of it when negative), as util::for_each_line
  // does on the whole text, reading it piece by piece: a million-line log is not
  // held in memory. Stops early when fn returns false.
  Status
  for_each_log_line(std::int64_t limit,
                    const std::function<bool(std::string_view, std::int64_t, bool)>& fn) const;

  // Makes everything written to the directory durable (syncfs).
  Status sync_everything() const;

  // fsyncs the files `names` that exist, then the directory.
  Status sync_files(const std::vector<std::string>& names) const;

  // Moves `name` into the quarantine folder `stamp` (created on first use),
  // keeping it for inspection; never replaces anything already kept there.
  // Returns the folder, relative to dir().
  Status quarantine(const std::string& name, const std::string& stamp, std::string* folder);

  // Keeps a copy of the action log in the quarantine folder `stamp`, read and
  // written piece by piece; the log stays where it is.
  Status quarantine_log_copy(const std::string& stamp, std::string* folder);

  // Writes `text` as a file into the quarantine folder `stamp`.
  Status quarantine_text(const std::string& name,
                         std::string_view text,
                         const std::string& stamp,
                         std::string* folder);

private:
  Mirror() = default;
  Status ensure_log_open();
  Status ensure_quarantine(const std::string& stamp, std::string* folder);
  // Removes the quarantine folder `folder` when it is empty (a move or
  // write into it failed).
  void drop_if_empty(const std::string& folder);
  // With Sync::full what repair keeps aside is on disk before the log it
  // came from is replaced.
  util::FsyncMode quarantine_fsync() const {
    return m_sync == Sync::full ? util::FsyncMode::fsync : util::FsyncMode::none;
  }

  std::string m_dir;
  Sync m_sync = Sync::normal;
  Access m_access = Access::read_write;
  util::UniqueFd m_dir_fd;
  util::UniqueFd m_lock_fd;
  util::UniqueFd m_gate_fd; // -1 for a read-only store made before the gate existed
  util::UniqueFd m_latest_lock_fd;
  util::UniqueFd m_log_fd;
  std::int64_t m_log_inode = 0;
  std::function<void()> m_before_exclusive;
};

} // namespace barrot::mirror
