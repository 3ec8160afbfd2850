// Backup and restore of a store's database (docs/operations.md, "Backup and
// restore"), through SQLite's online backup: a copy is of one moment, and a
// restore into a live database goes through its WAL, so that every open
// connection sees the old content or the backup's, never a mix.
#include "mirror/mirror.h"
#include "store/database.h"
#include "store/store_impl.h"
#include "util/fs.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <sqlite3.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>

namespace barrot {

namespace {

// Copies the database `src` into `dest` in one backup step (a copy of one
// moment), retrying while either is busy, for at most `busy_ms`. Throws
// SQLite::Exception.
void copy_database(sqlite3* dest, sqlite3* src, int busy_ms) {
  sqlite3_backup* b = sqlite3_backup_init(dest, "main", src, "main");
  if (b == nullptr) {
    throw SQLite::Exception(dest, sqlite3_errcode(dest));
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(busy_ms);
  int rc = SQLITE_OK;
  for (;;) {
    rc = sqlite3_backup_step(b, -1);
    if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    break;
  }
  const int finished = sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) {
    throw SQLite::Exception(std::string(sqlite3_errstr(rc)) +
                                (rc == SQLITE_READONLY ? " (the two page sizes differ?)" : ""),
                            rc);
  }
  if (finished != SQLITE_OK) {
    throw SQLite::Exception(dest, finished);
  }
}

// True when `a` and `b` name the same file (both exist).
bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {};
  struct stat sb {};
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

std::string base_name(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// fsyncs the file at `path`.
Status fsync_path(const std::string& path) {
  util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid() || ::fsync(fd.get()) != 0) {
    return util::errno_status("cannot sync", path, errno);
  }
  return Status::OK();
}

Status fsync_dir(const std::string& dir) {
  util::UniqueFd fd;
  BARROT_TRY(util::open_dir(dir, &fd));
  if (::fsync(fd.get()) != 0) {
    return util::errno_status("cannot sync", dir, errno);
  }
  return Status::OK();
}

// What a backup holds, read and checked before anything is changed.
struct BackupFacts {
  int schema = 0;
  std::int64_t snapshots = 0;
  std::string newest;
  std::string store_id;
  std::string mirror_id;
};

Status check_backup(SQLite::Database& bak, const std::string& path, BackupFacts* out) {
  return store::guarded("cannot read the backup " + path, [&]() -> Status {
    const std::string check = bak.execAndGet("PRAGMA quick_check").getString();
    if (check != "ok") {
      return Status::Corruption("the backup " + path +
                                " is damaged (SQLite's quick_check: " + check.substr(0, 200) + ")");
    }
    out->schema = bak.execAndGet("PRAGMA user_version").getInt();
    if (out->schema < 1 || !bak.tableExists("mirror_checkpoint")) {
      return Status::InvalidArgument("the backup " + path + " is not a Barrot database");
    }
    if (out->schema > store::latest_version()) {
      return Status::SchemaTooNew("the backup " + path + " has schema version " +
                                  std::to_string(out->schema) + ", newer than this barrot's " +
                                  std::to_string(store::latest_version()) +
                                  ": restore it with a newer barrot");
    }
    SQLite::Statement newest(
        bak,
        "SELECT (SELECT count(*) FROM snapshots), (SELECT snapshot_id FROM snapshots "
        "ORDER BY ts_us DESC, snapshot_id DESC LIMIT 1)");
    newest.executeStep();
    out->snapshots = newest.getColumn(0).getInt64();
    out->newest = newest.getColumn(1).getString();
    if (out->schema >= 6) { // 0006_mirror_id: the store's and its mirror's ids
      SQLite::Statement ids(bak, "SELECT store_id, mirror_id FROM mirror_checkpoint WHERE id = 1");
      if (ids.executeStep()) {
        out->store_id = ids.getColumn(0).getString();
        out->mirror_id = ids.getColumn(1).getString();
      }
    }
    return Status::OK();
  });
}

// Makes the database at `db_path`, which does not exist, from `bak`: built
// under a temporary name, synced, then linked in (never over a database
// made meanwhile). A -wal or -shm left by a lost database is renamed aside
// first: SQLite would replay such a WAL into the new database.
Status create_from_backup(SQLite::Database& bak,
                          const std::string& db_path,
                          int busy_ms,
                          DatabaseRestoreReport* report) {
  const std::string dir = util::parent_dir(db_path);
  BARROT_TRY(util::make_dirs(dir).WithContext("database directory"));
  BARROT_TRY(store::set_aside_stale_wal(db_path, &report->set_aside));
  // One name: what a restore killed here left, the next one replaces.
  const std::string tmp = dir + "/." + base_name(db_path) + ".restore.tmp";
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
    (void)::unlink((tmp + suffix).c_str());
  }
  Status made = store::guarded("cannot write " + tmp, [&]() -> Status {
    SQLite::Database dest(tmp, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    dest.exec("PRAGMA journal_mode = OFF");
    copy_database(dest.getHandle(), bak.getHandle(), busy_ms);
    dest.exec("PRAGMA journal_mode = WAL"); // as the store's own; the file stays whole
    return Status::OK();
  });
  if (made.ok()) {
    made = fsync_path(tmp);
  }
  if (made.ok() && ::link(tmp.c_str(), db_path.c_str()) != 0) {
    made = errno == EEXIST ? Status::Busy("a database appeared at " + db_path +
                                          " while the backup was being copied: nothing was "
                                          "changed; restore again")
                           : util::errno_status("cannot link", db_path, errno);
  }
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
    (void)::unlink((tmp + suffix).c_str());
  }
  BARROT_TRY(made);
  return fsync_dir(dir);
}

// Writes (on) or removes (off) .barrot/restoring in the snapshots
// directory, durably: while it is there, writers refuse the store.
Status mark_restoring(const std::string& snapshots_dir, const std::string& backup, bool on) {
  const std::string state = snapshots_dir + "/" + mirror::k_state_dir;
  BARROT_TRY(util::make_dirs(state));
  util::UniqueFd fd;
  BARROT_TRY(util::open_dir(state, &fd));
  const std::string name = base_name(mirror::k_restoring_name);
  if (on) {
    return util::write_file_atomic(
        fd.get(), name, backup + "\n", util::Overwrite::yes, util::FsyncMode::fsync);
  }
  if (::unlinkat(fd.get(), name.c_str(), 0) != 0 && errno != ENOENT) {
    return util::errno_status("cannot remove", state + "/" + name, errno);
  }
  if (::fsync(fd.get()) != 0) {
    return util::errno_status("cannot sync", state, errno);
  }
  return Status::OK();
}

// True when the directory holding `path` is `dir` (both exist).
bool in_dir(const std::string& path, const std::string& dir) {
  return same_file(util::parent_dir(path), dir);
}

// Months archived in `archive_dir` (named <YYYY-MM>.jsonl.zst there) that
// `recorded` does not know, added to `out` unless there already.
void add_unrecorded_archives(const std::string& archive_dir,
                             const std::set<std::string>& recorded,
                             std::vector<DatabaseRestoreReport::ArchivedSince>* out) {
  std::vector<std::string> names;
  if (!util::list_dir(AT_FDCWD, archive_dir, &names).ok()) {
    return;
  }
  std::sort(names.begin(), names.end());
  constexpr std::string_view k_ext = ".jsonl.zst";
  for (const std::string& name : names) {
    if (name.size() != 7 + k_ext.size() || name.compare(7, k_ext.size(), k_ext) != 0) {
      continue;
    }
    const std::string month = name.substr(0, 7);
    const bool known =
        recorded.contains(month) ||
        std::any_of(out->begin(), out->end(), [&](const auto& a) { return a.month == month; });
    if (!known) {
      out->push_back({month, archive_dir + "/" + name});
    }
  }
}

// What a database about to be replaced has that the backup lacks, dealt
// with while it is still there: its unmirrored snapshots mirrored, the
// mirror brought in line with it (so the import brings back its copies,
// not edited ones), the ids of the snapshots it says Barrot recorded since
// the backup, and the months it archived that the backup does not record.
Status before_replacing(Store::Impl& impl,
                        const Options& o,
                        const std::set<std::string>& backup_archives,
                        std::int64_t backup_max_seq,
                        std::int64_t backup_max_ts,
                        DatabaseRestoreReport* report,
                        std::unordered_set<std::string>* barrot_ids) {
  // What the database committed but never mirrored (a crash, a full disk)
  // reaches the mirror first: the import brings it back. Else the backup
  // would take its place unseen.
  BARROT_TRY(store::guarded("cannot mirror the database's last snapshots before the restore",
                            [&]() { return impl.reconcile_locked(); }));
  // Then files and lines edited or lost since their commit: the import
  // would bring back the edited copy, the database's gone. A repair's scan
  // finds them and puts the database's copies back; the repair must
  // finish, as it moves a file aside before it writes the new one. A
  // database too damaged to be scanned (why it is being replaced, perhaps)
  // cannot say which copy is right: the mirror is taken as it is. Any other
  // failure stops the restore.
  bool scanned = false;
  const Status repaired =
      store::guarded("cannot bring the mirror in line with the database before the restore", [&]() {
        return impl.repair_locked(&report->repaired_before, /*archived_copies=*/false, &scanned);
      });
  if (!repaired.ok() && (scanned || !repaired.IsCorruption())) {
    return repaired.WithContext(scanned ? "nothing was restored, and the database is as it was "
                                          "(what the repair moved aside is in "
                                          ".barrot/quarantine/; see what `barrot repair` says)"
                                        : "nothing was restored");
  }
  // Months it archived that the backup does not record: what the backup
  // lacks of them is only in their archives (no import can bring it back).
  (void)store::guarded("cannot read the database's archives", [&]() -> Status {
    SQLite::Statement months(*impl.db,
                             "SELECT month, file FROM archives WHERE state IN ('archived', "
                             "'cleaning') ORDER BY month");
    while (months.executeStep()) {
      const std::string month = months.getColumn(0).getString();
      if (!backup_archives.contains(month)) {
        std::string file = months.getColumn(1).getString();
        if (!file.empty() && file[0] != '/') { // recorded relative to the snapshots directory
          file = o.snapshots_dir + "/" + file;
        }
        report->archived_since.push_back({month, std::move(file)});
      }
    }
    return Status::OK();
  });
  // Snapshots the database says Barrot recorded, newer than the backup:
  // they come back as Barrot's, not as imports (best effort: a damaged
  // database leaves them imports). Newer by seq, or by time: a history
  // that went on from an older backup has the seqs of the backup's own.
  (void)store::guarded("cannot read the database's own snapshots", [&]() -> Status {
    SQLite::Statement own(*impl.db,
                          "SELECT snapshot_id FROM snapshot_rows WHERE origin = 'barrot' AND "
                          "(seq > ? OR ts_us > ?)");
    own.bind(1, backup_max_seq);
    own.bind(2, backup_max_ts);
    while (own.executeStep()) {
      barrot_ids->insert(own.getColumn(0).getString());
    }
    return Status::OK();
  });
  return Status::OK();
}

} // namespace

Status store::set_aside_stale_wal(const std::string& db_path, std::vector<std::string>* moved) {
  const std::string stamp = std::to_string(now_us() / 1'000'000) + "-" + std::to_string(::getpid());
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    const std::string stale = db_path + suffix;
    if (::access(stale.c_str(), F_OK) == 0) {
      const std::string aside = stale + ".before-new-" + stamp;
      if (util::rename_noreplace(AT_FDCWD, stale, AT_FDCWD, aside) != 0) {
        return util::errno_status("cannot set aside", stale, errno);
      }
      if (moved != nullptr) {
        moved->push_back(aside);
      }
    }
  }
  return Status::OK();
}

Status Store::check_output_path(const std::string& path) const {
  if (path.empty() || path.back() == '/') {
    return Status::InvalidArgument("not a file name: '" + path + "'");
  }
  auto refuse = [&](const std::string& why) {
    return Status::InvalidArgument("cannot write to " + path + ": " + why + "; name another file");
  };
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    // By name too: the -journal (and a -wal between two opens) need not exist.
    const std::string own = m_impl->db_path + suffix;
    if (same_file(path, own) ||
        (base_name(path) == base_name(own) && in_dir(path, util::parent_dir(own)))) {
      return refuse("it is the store's own " + base_name(own));
    }
  }
  const std::string& snapshots = m_impl->options.snapshots_dir;
  for (const std::string& folder :
       {snapshots + "/" + mirror::k_state_dir, snapshots + "/" + mirror::k_archive_dir}) {
    if (in_dir(path, folder)) {
      return refuse("it is in the store's folder " + folder);
    }
  }
  if (in_dir(path, snapshots)) {
    const std::string name = base_name(path);
    const bool snapshot_file =
        name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0 &&
        validate_snapshot_id(std::string_view(name).substr(0, name.size() - 5)).ok();
    if (name == mirror::k_log_name || name == mirror::k_latest_name || snapshot_file ||
        name.front() == '.') {
      return refuse("it is one of the mirror's own files");
    }
  }
  return Status::OK();
}

Status Store::backup(const std::string& path) {
  if (path.empty()) {
    return Status::InvalidArgument("the backup path is empty");
  }
  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument("the backup path " + path + " is a directory: name a file");
  }
  if (exists && !S_ISREG(st.st_mode)) {
    return Status::InvalidArgument("the backup path " + path +
                                   " is not a regular file (a device, a FIFO?): name a file");
  }
  for (const char* suffix : {"", "-wal", "-shm"}) {
    if (same_file(path, m_impl->db_path + suffix)) {
      return Status::InvalidArgument("the backup path " + path + " is the store's own " +
                                     base_name(m_impl->db_path) + suffix);
    }
  }
  if (::access((path + "-wal").c_str(), F_OK) == 0) {
    // Replaced under its -wal, a database in use would take that WAL in.
    return Status::InvalidArgument("the backup path " + path +
                                   " is an SQLite database in use (it has a -wal beside it): "
                                   "name another file");
  }
  const std::string& snapshots = m_impl->options.snapshots_dir;
  if (in_dir(path, snapshots) || in_dir(path, snapshots + "/" + mirror::k_state_dir) ||
      in_dir(path, util::parent_dir(m_impl->db_path))) {
    return Status::InvalidArgument("the backup path " + path +
                                   " is in the store's own folders (the mirror's files, its "
                                   "locks, the database's): name a file elsewhere");
  }
  const std::string dir = util::parent_dir(path);
  struct stat dst {};
  if (::stat(dir.c_str(), &dst) != 0 || !S_ISDIR(dst.st_mode)) {
    return Status::InvalidArgument("the backup's directory " + dir +
                                   (errno == ENOENT ? " does not exist" : " is not a directory"));
  }
  if (::access(dir.c_str(), W_OK) != 0) {
    return util::errno_status("cannot write into", dir, errno);
  }
  // The mode of the backup it replaces, else the database's: a copy of a
  // private database stays private.
  struct stat dbst {};
  const mode_t mode = exists                                        ? (st.st_mode & 07777)
                      : ::stat(m_impl->db_path.c_str(), &dbst) == 0 ? (dbst.st_mode & 07777)
                                                                    : 0600;
  // One backup to a place at a time (a cron job and a hand): each holds a
  // lock beside it while it builds the one temporary file. A backup killed
  // part way leaves that file to the next one, which replaces it.
  const std::string lock_path = dir + "/." + base_name(path) + ".backup.lock";
  util::UniqueFd lock_fd(
      ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600));
  if (!lock_fd.valid()) {
    return util::errno_status("cannot open", lock_path, errno);
  }
  util::FileLock one_at_a_time;
  if (!one_at_a_time.try_lock(lock_fd.get(), util::FileLock::Mode::exclusive)) {
    return Status::Busy("another backup to " + path + " is being written");
  }
  const std::string tmp = dir + "/." + base_name(path) + ".backup.tmp";
  const auto remove_tmp = [&] {
    for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
      (void)::unlink((tmp + suffix).c_str());
    }
  };
  remove_tmp();
  { // made with its mode: a private database's copy is never readable by others
    util::UniqueFd made(
        ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode & 0600));
    if (!made.valid()) {
      return util::errno_status("cannot create", tmp, errno);
    }
  }
  Status made = store::guarded("cannot write the backup " + tmp, [&]() -> Status {
    SQLite::Database dest(tmp, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    dest.exec("PRAGMA journal_mode = OFF");
    copy_database(dest.getHandle(), m_impl->db->getHandle(), m_impl->options.busy_timeout_ms);
    // A file of its own: rollback mode, so that it opens without a -wal
    // (read-only too, where a WAL database needs its -shm).
    dest.exec("PRAGMA journal_mode = DELETE");
    const std::string check = dest.execAndGet("PRAGMA quick_check").getString();
    if (check != "ok") {
      return Status::Corruption("the copy fails SQLite's quick_check (" + check.substr(0, 200) +
                                "): the database itself may be damaged; `barrot verify`");
    }
    return Status::OK();
  });
  if (made.ok() && ::chmod(tmp.c_str(), mode) != 0) {
    made = util::errno_status("cannot set the mode of", tmp, errno);
  }
  if (made.ok()) {
    made = fsync_path(tmp);
  }
  if (made.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    made = util::errno_status("cannot rename the backup to", path, errno);
  }
  if (!made.ok()) {
    remove_tmp();
    return made;
  }
  return fsync_dir(dir);
}

Result<DatabaseRestoreReport> Store::Restore(const Options& options,
                                             const std::string& backup_path) {
  if (backup_path.empty()) {
    return Status::InvalidArgument("the backup path is empty");
  }
  if (options.snapshots_dir.empty()) {
    return Status::InvalidArgument("the snapshots directory is empty");
  }
  Options o = options;
  o.access = Access::read_write;
  o.reconcile_on_open = false; // the repair at the end does it, and reports it
  o.background_mirror = false;
  o.adopt_mirror = Adopt::no;
  const std::string db_path =
      o.db_path.empty() ? o.snapshots_dir + "/" + mirror::k_state_dir + "/barrot.db" : o.db_path;
  struct stat st {};
  if (::stat(backup_path.c_str(), &st) != 0) {
    // None there is bad input, as a file barrot may not read.
    return errno == ENOENT ? Status::InvalidArgument("there is no backup " + backup_path)
                           : util::errno_status("cannot read the backup", backup_path, errno);
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::InvalidArgument("the backup " + backup_path + " is not a regular file");
  }
  for (const char* suffix : {"", "-wal", "-shm"}) {
    if (same_file(backup_path, db_path + suffix)) {
      return Status::InvalidArgument("the backup " + backup_path + " is the store's own " +
                                     base_name(db_path) + suffix);
    }
  }
  const std::string own_db = o.snapshots_dir + "/" + mirror::k_state_dir + "/barrot.db";
  if (!o.db_path.empty() && ::access(db_path.c_str(), F_OK) != 0 &&
      ::access(own_db.c_str(), F_OK) == 0 && !same_file(own_db, db_path)) {
    return Status::InvalidArgument(
        "there is no database at " + db_path + ", but the snapshots directory " + o.snapshots_dir +
        " has one, " + own_db + ": a restore to " + db_path +
        " would make a second store of one mirror; name that one with --db (or none)");
  }
  DatabaseRestoreReport report;
  std::unique_ptr<SQLite::Database> bak;
  BARROT_TRY(store::guarded("cannot open the backup " + backup_path, [&]() -> Status {
    bak = std::make_unique<SQLite::Database>(backup_path, SQLite::OPEN_READONLY);
    bak->setBusyTimeout(o.busy_timeout_ms);
    return Status::OK();
  }));
  BackupFacts facts;
  BARROT_TRY(check_backup(*bak, backup_path, &facts));
  // Months whose archive the backup records (none, before schema 2).
  std::set<std::string> backup_archives;
  (void)store::guarded("cannot read the backup's archives", [&]() -> Status {
    SQLite::Statement months(*bak, "SELECT month FROM archives");
    while (months.executeStep()) {
      backup_archives.insert(months.getColumn(0).getString());
    }
    return Status::OK();
  });
  // Past these, a row of the database replaced cannot be in the backup (0
  // when they cannot be read: then every row is looked at).
  std::int64_t backup_max_seq = 0;
  std::int64_t backup_max_ts = INT64_MIN;
  (void)store::guarded("cannot read the backup's newest seq", [&]() -> Status {
    SQLite::Statement newest(
        *bak, "SELECT coalesce(max(seq), 0), coalesce(max(ts_us), 0) FROM snapshots");
    if (newest.executeStep()) {
      backup_max_seq = newest.getColumn(0).getInt64();
      backup_max_ts = newest.getColumn(1).getInt64();
    }
    return Status::OK();
  });
  BARROT_TRY(
      store::check_backup_binding(o.snapshots_dir, facts.store_id, facts.mirror_id, backup_path));
  report.snapshots = facts.snapshots;
  report.newest = facts.newest;
  report.backup_schema = facts.schema;
  std::error_code ec;
  const std::string absolute = std::filesystem::absolute(backup_path, ec).string();
  const std::string marker_text = ec ? backup_path : absolute;

  // From the moment the database is the backup until the mirror's newer
  // snapshots are back in it, .barrot/restoring keeps writers out: a write
  // would take their place in the chain. A restore cut short is finished by
  // running it again.
  o.create = false;
  std::unique_ptr<Store> store;
  // A restore cut short leaves its mark: run again, the database is the
  // backup already (or none, if it was killed before it made one).
  const bool restore_cut_short =
      ::access((o.snapshots_dir + "/" + mirror::k_restoring_name).c_str(), F_OK) == 0;
  // No archive run or month restore in the middle of its steps, from
  // before the database changes to the end of the repair: it would go on
  // in the backup's database from where it was in the old one. (Taken
  // first, as they take it, then the gate and the lock.)
  util::UniqueFd archive_lock_fd;
  util::FileLock archive_lock;
  if (::access(db_path.c_str(), F_OK) == 0) {
    auto opened = OpenStore(o, /*restoring=*/true);
    if (!opened.ok()) {
      return opened.status().IsCorruption()
                 ? opened.status().WithContext(
                       "cannot open the database to restore into (it is damaged: stop every "
                       "barrot process, move it and its -wal and -shm aside, then restore again)")
                 : opened.status().WithContext("cannot open the database to restore into");
    }
    store = std::move(*opened);
    Impl& impl = *store->m_impl;
    BARROT_TRY(impl.mirror->lock_archiving(&archive_lock_fd, &archive_lock, o.busy_timeout_ms)
                   .WithContext("cannot restore now"));
    impl.holds_archive_lock = true; // the import and repair below take nothing more
    // The gate and the lock, both held until the import has the mirror's
    // snapshots back: no barrot writer is between its commit and its mirror
    // meanwhile, none writes before them, and nobody holds the gate while
    // waiting for the lock we hold (the import takes the two again, on the
    // same open files, and lets them go when it is done).
    util::FileLock gate;
    if (impl.mirror->gate_fd() >= 0) {
      BARROT_TRY(
          gate.lock(impl.mirror->gate_fd(), util::FileLock::Mode::exclusive, o.busy_timeout_ms));
    }
    util::FileLock lock;
    BARROT_TRY(
        lock.lock(impl.mirror->lock_fd(), util::FileLock::Mode::exclusive, o.busy_timeout_ms));
    std::unordered_set<std::string> barrot_ids;
    // Run again after being cut short, the database there is the backup
    // already: nothing of it is to be carried over, and a repair against it
    // would write over what only the mirror holds now (latest_periodic.json
    // the only copy of a periodic snapshot whose file was lost).
    if (!restore_cut_short) {
      BARROT_TRY(before_replacing(
          impl, o, backup_archives, backup_max_seq, backup_max_ts, &report, &barrot_ids));
    }
    BARROT_TRY(mark_restoring(o.snapshots_dir, marker_text, true));
    Status copied = store::guarded("cannot restore " + backup_path + " into " + db_path, [&]() {
      copy_database(impl.db->getHandle(), bak->getHandle(), o.busy_timeout_ms);
      return Status::OK();
    });
    if (!copied.ok()) { // one step: the database is as it was
      (void)mark_restoring(o.snapshots_dir, marker_text, false);
      return copied;
    }
    bak.reset();
    // The backup's schema, upgraded as an open would.
    BARROT_TRY(store::migrate(*impl.db, -1, &impl.schema_version));
    impl.head_seq = 0; // the chain's head is the backup's now
    report.replaced = true;
    BARROT_TRY_ASSIGN(report.imported, impl.import_dir(o.snapshots_dir, &barrot_ids));
  } else {
    BARROT_TRY(mark_restoring(o.snapshots_dir, marker_text, true));
    BARROT_TRY(create_from_backup(*bak, db_path, o.busy_timeout_ms, &report));
    bak.reset();
    BARROT_TRY_ASSIGN(store, OpenStore(o, /*restoring=*/true));
    BARROT_TRY_ASSIGN(report.imported, store->import_legacy(o.snapshots_dir));
  }
  BARROT_TRY(mark_restoring(o.snapshots_dir, marker_text, false));
  // With no database to ask (lost, or replaced by a run cut short), the
  // archive directory's own files say which months the backup lacks.
  add_unrecorded_archives(
      o.snapshots_dir + "/" + mirror::k_archive_dir, backup_archives, &report.archived_since);
  auto repaired = store->repair();
  if (!repaired.ok()) {
    return repaired.status().WithContext(
        "the backup is restored and the mirror's newer snapshots are back in it, but the mirror "
        "could not be brought in line (run `barrot repair`)");
  }
  report.repaired = std::move(*repaired);
  return report;
}

} // namespace barrot
