// Keeping the mirror in step with the database: the latest periodic copy,
// reconciliation after a crash, verify, repair and rebuild.
#include "mirror/mirror.h"
#include "store/database.h"
#include "store/render.h"
#include "store/store_impl.h"
#include "util/fs.h"
#include "util/json_check.h"
#include "util/lines.h"
#include "util/time.h"

#include <barrot/store.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace barrot {

using mirror::k_latest_name;
using mirror::k_log_name;
using util::FileLock;

std::string_view to_string(Problem::Kind kind) {
  switch (kind) {
  case Problem::Kind::missing_file:
    return "missing_file";
  case Problem::Kind::different_file:
    return "different_file";
  case Problem::Kind::torn_file:
    return "torn_file";
  case Problem::Kind::extra_file:
    return "extra_file";
  case Problem::Kind::missing_line:
    return "missing_line";
  case Problem::Kind::different_line:
    return "different_line";
  case Problem::Kind::torn_line:
    return "torn_line";
  case Problem::Kind::duplicate_line:
    return "duplicate_line";
  case Problem::Kind::extra_line:
    return "extra_line";
  case Problem::Kind::missing_latest:
    return "missing_latest";
  case Problem::Kind::stale_latest:
    return "stale_latest";
  case Problem::Kind::extra_latest:
    return "extra_latest";
  case Problem::Kind::temp_file:
    return "temp_file";
  case Problem::Kind::archive_cleanup:
    return "archive_cleanup";
  case Problem::Kind::not_the_mirror:
    return "not_the_mirror";
  }
  return "unknown";
}

namespace {

// The full-text index is brought up to date when this many actions wait, or
// this long after it last was: batches of ~1000 cost about what 10 single
// rows do, and a minute is as stale as a search ever sees it (the rest is
// scanned).
constexpr std::int64_t k_fts_batch_rows = 1000;
constexpr std::int64_t k_fts_batch_interval_us = 60'000'000;

// How a mirror file compares with the database's document.
//   unchained: the same snapshot, without its chain record (a file of the
//              legacy system imported in place, or one written before the
//              chain): rewritten, but nothing in it is lost, so not
//              quarantined.
enum class Match { same, missing, different, torn, unchained };

// Equal bytes, or equal JSON values (files written by the legacy Python
// system differ in spacing and escapes only).
Match compare_text(std::string_view actual, const std::string& expected) {
  if (actual == expected) {
    return Match::same;
  }
  nlohmann::json a = nlohmann::json::parse(actual, nullptr, false);
  if (a.is_discarded()) {
    return Match::torn;
  }
  nlohmann::json e = nlohmann::json::parse(expected, nullptr, false);
  if (e.is_discarded()) { // nothing expected (a row gone meanwhile)
    return Match::different;
  }
  if (a == e) {
    return Match::same;
  }
  auto meta = e.find("metadata");
  nlohmann::json& holder = meta != e.end() && meta->is_object() ? *meta : e;
  return holder.erase(store::k_chain_key) == 1 && a == e ? Match::unchained : Match::different;
}

const char* k_unchained_detail = "carries no chain record (written before the chain, or by the "
                                 "legacy system); the rest is the same";

Match compare_file(int dir_fd, const std::string& name, const std::string& expected) {
  std::string text;
  // Room for the expected text however large: 1 MiB of details nested deep
  // is far more once indented, and a valid file must not be called torn.
  const std::size_t limit = std::max(util::k_max_read_bytes, expected.size() * 2 + 4096);
  Status s = util::read_file(dir_fd, name, &text, /*nofollow=*/true, limit);
  if (s.IsNotFound()) {
    return Match::missing;
  }
  if (!s.ok()) {
    return Match::torn; // unreadable (e.g. a directory or a link in its place)
  }
  return compare_text(text, expected);
}

// The mirror forms of a row selected with its seq, document and chain_prev
// in columns `seq_col`, `doc_col` and `prev_col`.
Result<std::string> mirror_file_of(SQLite::Statement& st, int seq_col, int doc_col, int prev_col) {
  const std::string document = st.getColumn(doc_col).getString();
  BARROT_TRY_ASSIGN(store::ChainLink link, row_link(st, seq_col, prev_col, document));
  return store::mirror_file(document, link);
}

Result<std::string> mirror_line_of(SQLite::Statement& st, int seq_col, int doc_col, int prev_col) {
  const std::string document = st.getColumn(doc_col).getString();
  BARROT_TRY_ASSIGN(store::ChainLink link, row_link(st, seq_col, prev_col, document));
  return store::mirror_line(document, link);
}

std::string quarantine_stamp() {
  util::CivilTime t = util::to_civil(util::realtime_us());
  char buf[64];
  std::snprintf(buf,
                sizeof buf,
                "%04d%02d%02dT%02d%02d%02d.%06dZ-%d",
                t.year,
                t.month,
                t.day,
                t.hour,
                t.minute,
                t.second,
                t.micros,
                static_cast<int>(::getpid()));
  return buf;
}

struct RowRef {
  std::int64_t seq = 0;
  SnapshotType type = SnapshotType::action;
  bool seen_in_log = false;
};

bool is_snapshot_file_name(const std::string& name, std::string* id) {
  constexpr std::string_view k_ext = ".json";
  if (name.size() <= k_ext.size() ||
      name.compare(name.size() - k_ext.size(), k_ext.size(), k_ext) != 0) {
    return false;
  }
  *id = name.substr(0, name.size() - k_ext.size());
  return validate_snapshot_id(*id).ok();
}

// Temp names Barrot itself uses (util::temp_name_for of its own files); a
// user's ".notes.tmp" is not ours to delete.
bool is_our_temp_name(const std::string& name) {
  constexpr std::string_view k_tmp = ".tmp";
  if (name.size() < 6 || name[0] != '.' ||
      name.compare(name.size() - k_tmp.size(), k_tmp.size(), k_tmp) != 0) {
    return false;
  }
  const std::string inner = name.substr(1, name.size() - 1 - k_tmp.size());
  std::string id;
  return inner == k_latest_name || inner == k_log_name || is_snapshot_file_name(inner, &id);
}

// What a full scan found, with what repair needs to act on it.
struct Scan {
  VerifyReport report;
  std::vector<std::string> files_to_write;      // ids
  std::vector<std::string> files_to_replace;    // ids whose file is the same but unchained
  std::vector<std::string> files_to_quarantine; // ids whose current file is kept aside
  std::vector<std::string> temp_files;
  bool log_needs_rewrite = false;
  std::vector<std::int64_t> missing_line_seqs;
  bool latest_needs_write = false;
  // Files and lines of snapshots a finished archive holds (put back, or
  // left by a restore of a database backup): removed by repair.
  std::unordered_set<std::string> archived_copies;
};

// What a verify that lets writers in checks: the snapshots committed, and
// so mirrored, while it held the store's lock exclusive. Writers add newer
// rows, files and lines meanwhile; nothing older changes, since everything
// that rewrites or removes (repair, import, archive runs, restores) takes the
// lock exclusive and waits.
struct Horizon {
  std::int64_t seq = 0;       // the newest row then
  std::int64_t log_bytes = 0; // the log's size then (whole lines)
};

} // namespace

// --- latest_periodic.json -------------------------------------------------------

Status Store::Impl::write_latest_from_db(bool* written) {
  FileLock lock;
  BARROT_TRY(
      lock.lock(mirror->latest_lock_fd(), FileLock::Mode::exclusive, options.busy_timeout_ms));
  std::string text;
  BARROT_TRY(store::guarded("cannot read the latest periodic snapshot", [&]() -> Status {
    SQLite::Statement st(*db,
                         "SELECT seq, document, chain_prev FROM snapshot_rows WHERE "
                         "snapshot_type = 'periodic' ORDER BY ts_us DESC, seq DESC LIMIT 1");
    if (st.executeStep()) {
      BARROT_TRY_ASSIGN(text, mirror_file_of(st, 0, 1, 2));
    }
    return Status::OK();
  }));
  if (text.empty()) {
    return Status::OK();
  }
  BARROT_TRY(mirror->replace_file(k_latest_name, text));
  if (written != nullptr) {
    *written = true;
  }
  return Status::OK();
}

// --- Checkpoint and reconciliation ------------------------------------------------

void Store::Impl::index_fts_in_txn(TimeUs now) {
  // fts_text: the details as the index reads them (migrations/0007).
  db->exec("INSERT INTO snapshots_fts (rowid, action_type, details) "
           "SELECT seq, action_type, details FROM fts_text "
           "WHERE seq > (SELECT indexed_seq FROM fts_state WHERE id = 1) "
           "AND snapshot_type = 'action' ORDER BY seq");
  SQLite::Statement mark(*db,
                         "UPDATE fts_state SET indexed_seq = (SELECT coalesce(max(seq), 0) "
                         "FROM snapshot_rows), updated_us = ? WHERE id = 1");
  mark.bind(1, now);
  mark.exec();
}

Status Store::Impl::read_checkpoint(Checkpoint* cp) {
  return store::guarded("cannot read the mirror checkpoint", [&]() -> Status {
    if (!checkpoint_stmt) {
      checkpoint_stmt = std::make_unique<SQLite::Statement>(
          *db,
          "SELECT seq, log_offset, log_inode, updated_us, "
          "(SELECT coalesce(max(seq), 0) FROM snapshot_rows), store_id, mirror_id "
          "FROM mirror_checkpoint WHERE id = 1");
    }
    SQLite::Statement& st = *checkpoint_stmt;
    store::rewind(st);
    if (!st.executeStep()) {
      return Status::Corruption("the mirror_checkpoint row is missing");
    }
    cp->seq = st.getColumn(0).getInt64();
    cp->log_offset = st.getColumn(1).getInt64();
    cp->log_inode = st.getColumn(2).getInt64();
    cp->updated_us = st.getColumn(3).getInt64();
    cp->newest_seq = st.getColumn(4).getInt64();
    cp->store_id = st.getColumn(5).getString();
    cp->mirror_id = st.getColumn(6).getString();
    st.reset(); // not left open: it would hold a read transaction
    return Status::OK();
  });
}

void Store::Impl::rewind_checkpoint_in_txn(std::int64_t mirrored_upto) {
  SQLite::Statement st(*db,
                       "UPDATE mirror_checkpoint SET seq = min(seq, ?), log_offset = 0, "
                       "log_inode = 0 WHERE id = 1");
  st.bind(1, mirrored_upto);
  st.exec();
}

Status Store::Impl::advance_checkpoint(std::int64_t unchecked_rows, bool fts_now) {
  if (options.sync == Sync::full) {
    // What a power cut could still take must reach the disk before the
    // checkpoint says it is there. A few rows (a CLI write): fsync their files,
    // the log and the directory; many: one syncfs is cheaper.
    constexpr std::int64_t k_max_rows_to_fsync_one_by_one = 64;
    if (unchecked_rows > k_max_rows_to_fsync_one_by_one) {
      BARROT_TRY(mirror->sync_everything());
    } else {
      std::vector<std::string> names;
      BARROT_TRY(store::guarded("cannot list new snapshots", [&]() -> Status {
        SQLite::Statement st(*db,
                             "SELECT snapshot_id FROM snapshot_rows WHERE seq > "
                             "(SELECT seq FROM mirror_checkpoint WHERE id = 1)");
        while (st.executeStep()) {
          names.push_back(mirror::Mirror::file_name(st.getColumn(0).getString()));
        }
        return Status::OK();
      }));
      names.push_back(k_log_name);
      names.push_back(k_latest_name);
      BARROT_TRY(mirror->sync_files(names));
    }
  }
  mirror::LogIdentity log;
  BARROT_TRY(mirror->log_identity(&log));
  BARROT_TRY(store::guarded("cannot move the mirror checkpoint", [&]() -> Status {
    WriteTxn txn(*this);
    // A checkpoint describes this Store's directory only while that is the
    // store's mirror. (A step of the statement read_checkpoint prepared
    // already: cheaper than one more condition in the UPDATE below, which is
    // prepared afresh.)
    BARROT_TRY(check_bound_in_txn());
    // Full-text index: the actions it has not seen, in one batch, once enough
    // are waiting (or enough time passed) for a batch to pay off.
    const TimeUs now = util::realtime_us();
    SQLite::Statement due(*db,
                          "SELECT (SELECT coalesce(max(seq), 0) FROM snapshot_rows) - indexed_seq "
                          ">= ? OR ? - updated_us >= ? FROM fts_state WHERE id = 1");
    due.bind(1, k_fts_batch_rows);
    due.bind(2, now);
    due.bind(3, k_fts_batch_interval_us);
    if (fts_now || (due.executeStep() && due.getColumn(0).getInt() != 0)) {
      index_fts_in_txn(now);
    }
    SQLite::Statement st(*db,
                         "UPDATE mirror_checkpoint SET seq = (SELECT coalesce(max(seq), 0) FROM "
                         "snapshot_rows), log_offset = ?, log_inode = ?, updated_us = ? "
                         "WHERE id = 1");
    st.bind(1, log.size);
    st.bind(2, log.inode);
    st.bind(3, util::realtime_us());
    st.exec();
    txn.commit();
    return Status::OK();
  }));
  clear_self_mirrored();
  last_checkpoint_mono_us = util::monotonic_us();
  return Status::OK();
}

namespace {

// A checkpoint this old with rows past it suggests a writer died mid-write.
constexpr std::int64_t k_stale_checkpoint_us = 2'000'000;
// Past these, reconciliation from a rewound checkpoint streams (a full
// repair) rather than holding the rows and the whole log in memory.
constexpr std::int64_t k_max_rows_in_memory = 20'000;
constexpr std::int64_t k_max_log_tail_in_memory = 64LL << 20;

Status full_scan(Store::Impl& impl, Scan* scan, const Horizon* horizon = nullptr);
Status check_latest(Store::Impl& impl, Scan* scan);
Status apply_repair(Store::Impl& impl, Scan& scan, RepairReport* report);

} // namespace

Status Store::Impl::reconcile(int wait_ms, bool look_first) {
  return store::guarded("cannot reconcile the mirror", [&]() -> Status {
    bool stale = false;
    if (look_first) {
      // A look without the lock first: usually there is nothing to do, and
      // then no writer should be made to wait for us, nor we for them.
      Checkpoint cp;
      if (opened_checkpoint) {
        cp = *opened_checkpoint; // read a moment ago, by the open's binding check
        opened_checkpoint.reset();
      } else {
        BARROT_TRY(read_checkpoint(&cp));
      }
      mirror::LogIdentity log;
      BARROT_TRY(mirror->log_identity(&log));
      if (cp.newest_seq == cp.seq && log.size == cp.log_offset && log.inode == cp.log_inode &&
          !util::exists_at(mirror->dir_fd(), util::temp_name_for(k_log_name))) {
        return Status::OK(); // (the temporary log a killed repair or rebuild left goes below)
      }
      // Rows past a checkpoint that moved recently belong to live writers,
      // who will move it themselves: try once. A checkpoint that has not
      // moved for a while is what a crash leaves: worth waiting a little for.
      stale = util::realtime_us() - cp.updated_us > k_stale_checkpoint_us;
    }
    FileLock lock;
    if (!mirror->lock_store(&lock, FileLock::Mode::exclusive, stale ? wait_ms : 0).ok()) {
      return Status::OK(); // writers are active; they or a later open will do it
    }
    return reconcile_locked();
  });
}

Status Store::Impl::reconcile_locked() {
  // Left by a repair or rebuild killed while it wrote the new log: under
  // the store's lock nobody is writing it.
  ::unlinkat(mirror->dir_fd(), util::temp_name_for(k_log_name).c_str(), 0);
  Checkpoint cp;
  BARROT_TRY(read_checkpoint(&cp));
  prune_self_mirrored(cp.seq);
  mirror::LogIdentity log;
  BARROT_TRY(mirror->log_identity(&log));
  if (cp.log_offset > 0 && (log.inode != cp.log_inode || log.size < cp.log_offset)) {
    // The log was replaced or cut outside barrot: only a full scan can tell.
    RepairReport report;
    return repair_locked(&report);
  }
  if (cp.log_offset > 0 && log.inode == cp.log_inode &&
      only_self_mirrored(cp.seq, cp.newest_seq, log.size - cp.log_offset)) {
    // Every row past the checkpoint is one this process wrote and mirrored,
    // and the log grew by exactly the length of their lines: nothing to read
    // back (a CLI write's close). Another writer's row or line, any other
    // change to the log's length, or lines of this process's that another
    // process's checkpoint already covers take the full path below. (A
    // same-length edit of the new lines by hand is left to verify.)
    return advance_checkpoint(cp.newest_seq - cp.seq, /*fts_now=*/false);
  }
  if (cp.log_offset == 0 &&
      (cp.newest_seq - cp.seq > k_max_rows_in_memory || log.size > k_max_log_tail_in_memory)) {
    // A checkpoint rewound (by a rebuild or an in-place import that was
    // killed) on a large store: the path below would hold every row and the
    // whole log in memory, gigabytes. The full scan streams them. (A
    // backlog past a checkpoint that moves, writers' and imports', stays on
    // the path below: a full scan there would stall every writer.)
    RepairReport report;
    return repair_locked(&report);
  }

  struct Row {
    std::int64_t seq;
    std::string id;
    SnapshotType type;
    std::string line; // the log line (the document with its chain record)
    std::string file; // <id>.json
  };
  std::vector<Row> rows;
  std::unordered_map<std::string, std::size_t> row_by_id;
  BARROT_TRY(store::guarded("cannot read new snapshots", [&]() -> Status {
    SQLite::Statement st(*db,
                         std::string("SELECT seq, snapshot_id, snapshot_type, chain_prev, ") +
                             k_document_columns + " FROM snapshot_rows WHERE seq > ? ORDER BY seq");
    st.bind(1, cp.seq);
    std::string buffer;
    while (st.executeStep()) {
      Row row{st.getColumn(0).getInt64(),
              st.getColumn(1).getString(),
              st.getColumn(2).getString() == "periodic" ? SnapshotType::periodic
                                                        : SnapshotType::action,
              "",
              ""};
      if (!is_self_mirrored(row.seq)) {
        const std::string_view document = stored_document(st, 4, &buffer);
        BARROT_TRY_ASSIGN(store::ChainLink link, row_link(st, 0, 3, document));
        BARROT_TRY_ASSIGN(row.line, store::mirror_line(document, link));
        BARROT_TRY_ASSIGN(row.file, store::mirror_file(document, link));
      }
      row_by_id.emplace(row.id, rows.size());
      rows.push_back(std::move(row));
    }
    return Status::OK();
  }));
  if (rows.empty() && log.size == cp.log_offset) {
    return Status::OK();
  }

  // The log past the checkpoint: each line must be whole and, when it is one
  // of the new rows, hold exactly that row; anything else (a line torn by a
  // killed writer, then glued to the next append) needs a full repair.
  std::string tail;
  BARROT_TRY(mirror->read_log_from(cp.log_offset, &tail));
  std::unordered_set<std::string> tail_ids;
  bool tail_damaged = false;
  util::for_each_line(tail, [&](std::string_view line, std::int64_t, bool has_nl) {
    std::string id = has_nl ? mirror::log_line_id(line) : std::string();
    auto it = row_by_id.find(id);
    const bool ok = !id.empty() && (it == row_by_id.end() || rows[it->second].line.empty()
                                        ? util::is_json_object(line)
                                        : line == rows[it->second].line);
    if (!ok) {
      tail_damaged = true;
    } else {
      tail_ids.insert(std::move(id));
    }
  });

  const int dir_fd = mirror->dir_fd();
  bool any_periodic = false;
  std::string lines;
  std::string stamp;
  std::string folder;
  for (const Row& row : rows) {
    any_periodic = any_periodic || row.type == SnapshotType::periodic;
    if (is_self_mirrored(row.seq)) {
      continue;
    }
    const std::string name = mirror::Mirror::file_name(row.id);
    ::unlinkat(dir_fd, util::temp_name_for(name).c_str(), 0);
    const std::string& pretty = row.file;
    const Match m = compare_file(dir_fd, name, pretty);
    if (m == Match::different || m == Match::torn) {
      if (stamp.empty()) {
        stamp = quarantine_stamp();
      }
      BARROT_TRY(mirror->quarantine(name, stamp, &folder));
    }
    if (m == Match::unchained) { // the same snapshot: nothing to keep aside
      BARROT_TRY(mirror->replace_file(name, pretty));
    } else if (m != Match::same) {
      BARROT_TRY(mirror->write_snapshot_file(row.id, pretty));
    }
    if (row.type == SnapshotType::action && tail_ids.count(row.id) == 0) {
      lines += row.line;
      lines += '\n';
    }
  }
  ::unlinkat(dir_fd, util::temp_name_for(k_latest_name).c_str(), 0);
  if (any_periodic) {
    BARROT_TRY(write_latest_from_db());
  }
  if (tail_damaged) {
    RepairReport report;
    return repair_locked(&report);
  }
  if (!lines.empty()) {
    BARROT_TRY(mirror->append_log(lines));
  }
  return advance_checkpoint(static_cast<std::int64_t>(rows.size()), /*fts_now=*/false);
}

// --- Full scan, verify, repair ---------------------------------------------------

namespace {

// The id of a log line that holds a whole snapshot, or "". A last line
// without its newline counts when it is a whole JSON object: a log cut just
// before its final newline, or a legacy log written without one. A line
// torn by a crash is no JSON object (the id's fast path alone would take
// one cut after a '}').
std::string whole_line_id(std::string_view line, bool has_nl) {
  return has_nl || util::is_json_object(line) ? mirror::log_line_id(line) : std::string();
}

// The inode of `name` in the directory, 0 when it is not there.
ino_t inode_at(int dir_fd, const std::string& name) {
  struct stat st {};
  return ::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 ? st.st_ino : 0;
}

Status full_scan(Store::Impl& impl, Scan* scan, const Horizon* horizon) {
  SQLite::Database& db = *impl.db;
  mirror::Mirror& m = *impl.mirror;
  VerifyReport& rep = scan->report;
  std::unordered_map<std::string, RowRef> rows;
  auto problem = [&](Problem::Kind kind, std::string id, std::string path, std::string detail) {
    rep.problems.push_back({kind, std::move(id), std::move(path), std::move(detail)});
  };

  // 1. Every row against its file.
  BARROT_TRY(store::guarded("cannot scan snapshots", [&]() -> Status {
    SQLite::Statement st(db,
                         "SELECT seq, snapshot_id, snapshot_type, document, chain_prev FROM "
                         "snapshots WHERE seq <= ? ORDER BY seq");
    st.bind(1, horizon ? horizon->seq : std::numeric_limits<std::int64_t>::max());
    while (st.executeStep()) {
      RowRef ref;
      ref.seq = st.getColumn(0).getInt64();
      std::string id = st.getColumn(1).getString();
      ref.type =
          st.getColumn(2).getString() == "periodic" ? SnapshotType::periodic : SnapshotType::action;
      BARROT_TRY_ASSIGN(std::string expected, mirror_file_of(st, 0, 3, 4));
      const std::string name = mirror::Mirror::file_name(id);
      ++rep.snapshots;
      switch (compare_file(m.dir_fd(), name, expected)) {
      case Match::same:
        ++rep.files;
        break;
      case Match::missing:
        problem(Problem::Kind::missing_file, id, name, "");
        scan->files_to_write.push_back(id);
        break;
      case Match::different:
        ++rep.files;
        problem(Problem::Kind::different_file, id, name, "content differs from the database");
        scan->files_to_quarantine.push_back(id);
        scan->files_to_write.push_back(id);
        break;
      case Match::torn:
        ++rep.files;
        problem(Problem::Kind::torn_file, id, name, "not valid JSON");
        scan->files_to_quarantine.push_back(id);
        scan->files_to_write.push_back(id);
        break;
      case Match::unchained:
        ++rep.files;
        problem(Problem::Kind::different_file, id, name, k_unchained_detail);
        scan->files_to_replace.push_back(id);
        break;
      }
      rows.emplace(std::move(id), ref);
    }
    return Status::OK();
  }));

  // Snapshots archived but whose files and lines are not yet removed: one
  // problem per month, not an extra file or line each.
  std::unordered_map<std::string, std::string> archived;
  std::vector<Problem> unreadable;
  BARROT_TRY(impl.pending_archive_ids(&archived, &unreadable));
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> archived_left; // files, lines

  // 2. Files the database does not know, and temp files. Past a horizon,
  // a file the rows read do not hold may be a writer's since: it is looked
  // up again at the end.
  std::vector<std::string> later;
  std::vector<std::pair<std::string, ino_t>> temps; // past a horizon: checked again at the end
  {
    std::vector<std::string> names;
    BARROT_TRY(util::list_dir(m.dir_fd(), m.dir(), &names));
    for (const std::string& name : names) {
      std::string id;
      if (is_snapshot_file_name(name, &id)) {
        if (rows.count(id) == 0 && archived.count(id) != 0) {
          ++archived_left[archived[id]].first;
        } else if (rows.count(id) == 0 && horizon) {
          later.push_back(std::move(id));
        } else if (rows.count(id) == 0) {
          problem(Problem::Kind::extra_file,
                  id,
                  name,
                  "not in the database (barrot import adds it, if it holds a valid snapshot; it "
                  "names why not)");
        }
      } else if (is_our_temp_name(name) && horizon) {
        temps.emplace_back(name, inode_at(m.dir_fd(), name));
      } else if (is_our_temp_name(name)) {
        problem(Problem::Kind::temp_file, "", name, "left by an interrupted write");
        scan->temp_files.push_back(name);
      }
    }
  }

  // 3. The log, line by line, read piece by piece: past a horizon, the
  // lines it held then (the rest are newer snapshots', and may be on their
  // way).
  BARROT_TRY(store::guarded("cannot check the action log", [&]() -> Status {
    SQLite::Statement doc_st(db, "SELECT seq, document, chain_prev FROM snapshots WHERE seq = ?");
    Status failed;
    BARROT_TRY(m.for_each_log_line(
        horizon ? horizon->log_bytes : -1,
        [&](std::string_view line, std::int64_t number, bool has_nl) {
          ++rep.lines;
          const std::string where = "line " + std::to_string(number);
          std::string id = whole_line_id(line, has_nl);
          if (id.empty()) {
            problem(Problem::Kind::torn_line,
                    "",
                    k_log_name,
                    where + (has_nl ? ": not a JSON snapshot" : ": no newline (cut short)"));
            scan->log_needs_rewrite = true;
            return true;
          }
          if (!has_nl) { // a whole line: repair adds its newline, and keeps it
            problem(Problem::Kind::torn_line,
                    id,
                    k_log_name,
                    where + ": a whole snapshot without its newline (repair adds it)");
            scan->log_needs_rewrite = true;
          }
          auto it = rows.find(id);
          if (it == rows.end() && !util::is_json_object(line)) {
            problem(Problem::Kind::torn_line,
                    id,
                    k_log_name,
                    where + ": not whole JSON (lines glued together?)");
            scan->log_needs_rewrite = true;
            return true;
          }
          if (it == rows.end() && archived.count(id) != 0) {
            ++archived_left[archived[id]].second;
            return true;
          }
          if (it == rows.end() || it->second.type != SnapshotType::action) {
            problem(Problem::Kind::extra_line,
                    id,
                    k_log_name,
                    where +
                        (it == rows.end() ? ": not in the database" : ": not an action snapshot"));
            return true;
          }
          if (it->second.seen_in_log) {
            problem(Problem::Kind::duplicate_line, id, k_log_name, where);
            scan->log_needs_rewrite = true;
            return true;
          }
          it->second.seen_in_log = true;
          doc_st.reset();
          doc_st.bind(1, it->second.seq);
          std::string expected;
          if (doc_st.executeStep()) {
            Result<std::string> text = mirror_line_of(doc_st, 0, 1, 2);
            if (!text.ok()) {
              failed = text.status();
              return false;
            }
            expected = std::move(*text);
          }
          Match match = compare_text(line, expected);
          if (match != Match::same) {
            problem(Problem::Kind::different_line,
                    id,
                    k_log_name,
                    where + (match == Match::torn        ? ": not valid JSON"
                             : match == Match::unchained ? std::string(": ") + k_unchained_detail
                                                         : ": content differs"));
            scan->log_needs_rewrite = true;
          }
          return true;
        }));
    return failed;
  }));
  {
    std::vector<std::pair<std::int64_t, std::string>> missing;
    for (const auto& [id, ref] : rows) {
      if (ref.type == SnapshotType::action && !ref.seen_in_log) {
        missing.emplace_back(ref.seq, id);
      }
    }
    std::sort(missing.begin(), missing.end());
    for (auto& [seq, id] : missing) {
      problem(Problem::Kind::missing_line, id, k_log_name, "");
      scan->missing_line_seqs.push_back(seq);
    }
  }

  // One archive_cleanup problem per month: "<files> files and <lines> log
  // lines <what> <month> <advice>".
  auto per_month = [&](const std::map<std::string, std::pair<std::int64_t, std::int64_t>>& left,
                       const char* what,
                       const char* advice) {
    for (const auto& [month, n] : left) {
      problem(Problem::Kind::archive_cleanup,
              "",
              "",
              std::to_string(n.first) + " files and " + std::to_string(n.second) + " log lines " +
                  what + " " + month + " " + advice);
    }
  };
  per_month(archived_left,
            "of snapshots archived in",
            "remain (barrot repair or barrot-archive run removes them)");
  for (Problem& p : unreadable) {
    rep.problems.push_back(std::move(p));
  }

  // Files of snapshots newer than the horizon: each against its row.
  if (!later.empty()) {
    BARROT_TRY(store::guarded("cannot check newer files", [&]() -> Status {
      SQLite::Statement st(db,
                           "SELECT seq, document, chain_prev FROM snapshots WHERE snapshot_id = ?");
      for (const std::string& id : later) {
        const std::string name = mirror::Mirror::file_name(id);
        st.reset();
        st.bind(1, id);
        if (!st.executeStep()) {
          problem(Problem::Kind::extra_file,
                  id,
                  name,
                  "not in the database (barrot import adds it, if it holds a valid snapshot; it "
                  "names why not)");
          continue;
        }
        BARROT_TRY_ASSIGN(std::string expected, mirror_file_of(st, 0, 1, 2));
        const Match match = compare_file(m.dir_fd(), name, expected);
        if (match == Match::different || match == Match::unchained) {
          problem(Problem::Kind::different_file,
                  id,
                  name,
                  match == Match::unchained ? k_unchained_detail
                                            : "content differs from the database");
        } else if (match == Match::torn) {
          problem(Problem::Kind::torn_file, id, name, "not valid JSON");
        }
      }
      return Status::OK();
    }));
  }

  // Past a horizon, a temp file may be a writer's on its way: it is left
  // when it is still there, the same file, at the end. The lock of
  // latest_periodic.json keeps that file's writers out for the look (the
  // other temp files are each snapshot's own, and gone within its write).
  if (!temps.empty()) {
    FileLock latest;
    if (m.latest_lock_fd() >= 0) {
      BARROT_TRY(
          latest.lock(m.latest_lock_fd(), FileLock::Mode::exclusive, impl.options.busy_timeout_ms));
    }
    for (const auto& [name, ino] : temps) {
      if (ino != 0 && inode_at(m.dir_fd(), name) == ino) {
        problem(Problem::Kind::temp_file, "", name, "left by an interrupted write");
      }
    }
  }

  // 4. Files and lines the database does not hold that an archive does:
  // copies of archived snapshots, not strangers. One problem per month.
  std::vector<std::string> unknown;
  for (const Problem& p : rep.problems) {
    if (p.kind == Problem::Kind::extra_file || p.kind == Problem::Kind::extra_line) {
      unknown.push_back(p.id);
    }
  }
  std::unordered_map<std::string, std::string> held;
  if (!unknown.empty()) {
    BARROT_TRY(impl.archived_copies(unknown, &held));
  }
  if (!held.empty()) {
    std::map<std::string, std::pair<std::int64_t, std::int64_t>> copies; // month: files, lines
    std::vector<Problem> kept;
    for (Problem& p : rep.problems) {
      auto it = p.id.empty() ? held.end() : held.find(p.id);
      if (it == held.end() ||
          (p.kind != Problem::Kind::extra_file && p.kind != Problem::Kind::extra_line)) {
        kept.push_back(std::move(p));
        continue;
      }
      auto& [files, lines] = copies[it->second];
      ++(p.kind == Problem::Kind::extra_file ? files : lines);
      scan->archived_copies.insert(p.id);
    }
    rep.problems = std::move(kept);
    per_month(copies,
              "are copies of snapshots archived in",
              "(barrot repair moves them to .barrot/quarantine: the archive holds those "
              "snapshots)");
  }

  // 5. latest_periodic.json (checked apart, under the exclusive lock, when
  // writers are let in).
  return horizon ? Status::OK() : check_latest(impl, scan);
}

Status check_latest(Store::Impl& impl, Scan* scan) {
  SQLite::Database& db = *impl.db;
  mirror::Mirror& m = *impl.mirror;
  auto problem = [&](Problem::Kind kind, std::string id, std::string path, std::string detail) {
    scan->report.problems.push_back({kind, std::move(id), std::move(path), std::move(detail)});
  };
  return store::guarded("cannot check latest_periodic.json", [&]() -> Status {
    SQLite::Statement st(db,
                         "SELECT snapshot_id, seq, document, chain_prev FROM snapshots WHERE "
                         "snapshot_type = 'periodic' ORDER BY ts_us DESC, seq DESC LIMIT 1");
    const bool have = st.executeStep();
    const bool exists = util::exists_at(m.dir_fd(), k_latest_name);
    if (!have) {
      if (exists) {
        problem(Problem::Kind::extra_latest,
                "",
                k_latest_name,
                "the database holds no periodic snapshot");
      }
      return Status::OK();
    }
    std::string id = st.getColumn(0).getString();
    BARROT_TRY_ASSIGN(std::string expected, mirror_file_of(st, 1, 2, 3));
    Match match = compare_file(m.dir_fd(), k_latest_name, expected);
    if (match == Match::missing) {
      problem(Problem::Kind::missing_latest, id, k_latest_name, "");
      scan->latest_needs_write = true;
    } else if (match != Match::same) {
      problem(Problem::Kind::stale_latest,
              id,
              k_latest_name,
              match == Match::torn ? "not a whole JSON file; should be a copy of " + id +
                                         ", the newest periodic snapshot"
                                   : "not a copy of " + id + ", the newest periodic snapshot");
      scan->latest_needs_write = true;
    }
    return Status::OK();
  });
}

// Rewrites the log: lines of database snapshots in their present order as
// the database holds them (first copy only), lines of unknown snapshots kept
// as they are, torn and duplicate lines moved to quarantine, missing lines
// appended in seq order. Atomic (temp file, rename).
Status rewrite_log(Store::Impl& impl, const std::string& stamp, RepairReport* report) {
  SQLite::Database& db = *impl.db;
  mirror::Mirror& m = *impl.mirror;
  util::AtomicWriter out; // the new log, written as it is built
  BARROT_TRY(m.open_replacement(k_log_name, &out));
  std::string rejected;
  std::unordered_set<std::string> written;
  BARROT_TRY(store::guarded("cannot rewrite the action log", [&]() -> Status {
    SQLite::Statement by_id(db,
                            "SELECT seq, document, chain_prev FROM snapshots WHERE snapshot_id = "
                            "? AND snapshot_type = 'action'");
    Status failed;
    // The old log is read piece by piece and the new one written so: neither
    // is held whole.
    BARROT_TRY(m.for_each_log_line(-1, [&](std::string_view line, std::int64_t, bool has_nl) {
      std::string id = whole_line_id(line, has_nl);
      if (id.empty() || written.count(id) != 0) {
        rejected.append(line);
        rejected += '\n';
        ++report->lines_dropped;
        return true;
      }
      by_id.reset();
      by_id.bind(1, id);
      if (by_id.executeStep()) {
        Result<std::string> text = mirror_line_of(by_id, 0, 1, 2);
        if (!text.ok()) {
          failed = text.status();
          return false;
        }
        const std::string& doc = *text;
        const Match match = compare_text(line, doc);
        if (match != Match::same && match != Match::unchained) {
          rejected.append(line);
          rejected += '\n';
          ++report->lines_dropped;
        }
        failed = out.append(doc);
      } else if (!util::is_json_object(line)) {
        // Whole lines glued by an append onto a line that lacked its
        // newline: not a snapshot as it stands, so kept aside.
        rejected.append(line);
        rejected += '\n';
        ++report->lines_dropped;
        return true;
      } else {
        failed = out.append(line); // not ours to judge: kept, reported by verify
      }
      if (failed.ok()) {
        failed = out.append("\n");
      }
      written.insert(std::move(id));
      return failed.ok();
    }));
    BARROT_TRY(failed);
    SQLite::Statement all(db,
                          "SELECT snapshot_id, seq, document, chain_prev FROM snapshots WHERE "
                          "snapshot_type = 'action' ORDER BY seq");
    while (all.executeStep()) {
      std::string id = all.getColumn(0).getString();
      if (written.count(id) == 0) {
        BARROT_TRY_ASSIGN(std::string text, mirror_line_of(all, 1, 2, 3));
        text += '\n';
        BARROT_TRY(out.append(text));
        ++report->lines_appended;
      }
    }
    return Status::OK();
  }));
  if (!rejected.empty()) {
    BARROT_TRY(
        m.quarantine_text("action_log.rejected.jsonl", rejected, stamp, &report->quarantine_dir));
  }
  BARROT_TRY(out.commit(util::Overwrite::yes));
  report->log_rewritten = true;
  return Status::OK();
}

// Moves aside the files a scan found damaged, into quarantine folder `stamp`.
Status quarantine_damaged(mirror::Mirror& m,
                          const Scan& scan,
                          const std::string& stamp,
                          RepairReport* report) {
  for (const std::string& id : scan.files_to_quarantine) {
    BARROT_TRY(m.quarantine(mirror::Mirror::file_name(id), stamp, &report->quarantine_dir));
  }
  return Status::OK();
}

// The end of every repair: temp files go, extra content is reported as left
// alone, and the checkpoint moves to the (now complete) end.
// `log_replaced`: the log was rebuilt from the database (its old lines, an
// extra one included, are in quarantine), not mended.
Status finish_repair(Store::Impl& impl,
                     const Scan& scan,
                     RepairReport* report,
                     bool log_replaced = false) {
  for (const std::string& name : scan.temp_files) {
    if (::unlinkat(impl.mirror->dir_fd(), name.c_str(), 0) == 0) {
      ++report->temp_files_removed;
    }
  }
  for (const Problem& p : scan.report.problems) {
    if (p.kind == Problem::Kind::extra_file || p.kind == Problem::Kind::extra_latest ||
        (p.kind == Problem::Kind::extra_line && !log_replaced)) {
      report->left_alone.push_back(p);
    }
  }
  if (impl.options.sync == Sync::full) {
    // Files of any row may have been rewritten, not only those past the
    // checkpoint that advance_checkpoint syncs: all of it on disk first.
    BARROT_TRY(impl.mirror->sync_everything());
  }
  return impl.advance_checkpoint(scan.report.snapshots, /*fts_now=*/true);
}

Status apply_repair(Store::Impl& impl, Scan& scan, RepairReport* report) {
  SQLite::Database& db = *impl.db;
  mirror::Mirror& m = *impl.mirror;
  const std::string stamp = quarantine_stamp();
  BARROT_TRY(quarantine_damaged(m, scan, stamp, report));
  BARROT_TRY(store::guarded("cannot repair snapshot files", [&]() -> Status {
    SQLite::Statement st(db,
                         "SELECT seq, document, chain_prev FROM snapshots WHERE snapshot_id = ?");
    for (const std::string& id : scan.files_to_write) {
      st.reset();
      st.bind(1, id);
      if (!st.executeStep()) {
        continue;
      }
      BARROT_TRY_ASSIGN(std::string text, mirror_file_of(st, 0, 1, 2));
      BARROT_TRY(m.write_snapshot_file(id, text));
      ++report->files_written;
    }
    for (const std::string& id : scan.files_to_replace) {
      st.reset();
      st.bind(1, id);
      if (!st.executeStep()) {
        continue;
      }
      BARROT_TRY_ASSIGN(std::string text, mirror_file_of(st, 0, 1, 2));
      BARROT_TRY(m.replace_file(mirror::Mirror::file_name(id), text));
      ++report->files_written;
    }
    return Status::OK();
  }));
  if (scan.log_needs_rewrite) {
    BARROT_TRY(rewrite_log(impl, stamp, report));
  } else if (!scan.missing_line_seqs.empty()) {
    std::string lines;
    BARROT_TRY(store::guarded("cannot read missing log lines", [&]() -> Status {
      SQLite::Statement st(db, "SELECT seq, document, chain_prev FROM snapshots WHERE seq = ?");
      for (std::int64_t seq : scan.missing_line_seqs) {
        st.reset();
        st.bind(1, seq);
        if (st.executeStep()) {
          BARROT_TRY_ASSIGN(std::string text, mirror_line_of(st, 0, 1, 2));
          lines += text;
          lines += '\n';
        }
      }
      return Status::OK();
    }));
    BARROT_TRY(m.append_log(lines));
    report->lines_appended += static_cast<std::int64_t>(scan.missing_line_seqs.size());
  }
  if (scan.latest_needs_write) {
    BARROT_TRY(impl.write_latest_from_db(&report->latest_written));
  }
  return finish_repair(impl, scan, report);
}

} // namespace

Status Store::Impl::repair_locked(RepairReport* report, bool archived_copies, bool* scanned) {
  Scan scan;
  BARROT_TRY(full_scan(*this, &scan));
  if (scanned != nullptr) {
    *scanned = true;
  }
  BARROT_TRY(apply_repair(*this, scan, report));
  // With the mirror complete, the files and lines of archived months left
  // behind by an interrupted barrot-archive go. An archive that cannot be
  // read stops only this step (the scan reported it; nothing is removed).
  Status s = finish_archive_cleanups_locked(nullptr, &report->left_alone);
  if (!s.ok()) {
    report->left_alone.push_back({Problem::Kind::archive_cleanup, "", "", s.message()});
  }
  if (archived_copies && !scan.archived_copies.empty()) {
    BARROT_TRY(remove_archived_copies_locked(scan.archived_copies, quarantine_stamp(), report));
  }
  return Status::OK();
}

namespace {

Status require_writable(const Options& options) {
  if (options.access != Access::read_write) {
    return Status::InvalidArgument("the store was opened read-only");
  }
  return Status::OK();
}

} // namespace

Result<std::string> Store::Impl::exclusive_fingerprint() {
  std::string out;
  BARROT_TRY(store::guarded("cannot read the mirror checkpoint", [&]() -> Status {
    SQLite::Statement st(*db,
                         "SELECT (SELECT seq || ':' || updated_us FROM mirror_checkpoint WHERE id "
                         "= 1) || '/' || coalesce((SELECT group_concat(month || state || "
                         "archived_us) FROM archives), '')");
    out = st.executeStep() ? st.getColumn(0).getString() : "";
    return Status::OK();
  }));
  return out;
}

Result<bool> Store::Impl::downgrade_unchanged(FileLock* lock) {
  BARROT_TRY_ASSIGN(const std::string before, exclusive_fingerprint());
  if (!lock->downgrade()) {
    return false;
  }
  BARROT_TRY_ASSIGN(const std::string after, exclusive_fingerprint());
  return after == before;
}

namespace {

// One pass of Store::verify. With `let_writers_in`, the lock goes from
// exclusive to shared once the horizon is read; `*redo` is set when an
// exclusive holder may have slipped in as it changed hands.
Status verify_once(Store::Impl& impl, bool let_writers_in, Scan* scan, bool* redo) {
  return store::guarded("cannot verify", [&]() -> Status {
    FileLock lock;
    const bool locking = impl.mirror->lock_fd() >= 0;
    if (locking) {
      BARROT_TRY(
          impl.mirror->lock_store(&lock, FileLock::Mode::exclusive, impl.options.busy_timeout_ms));
    }
    if (!locking || !let_writers_in) {
      return full_scan(impl, scan);
    }
    Horizon h;
    Store::Impl::Checkpoint cp;
    BARROT_TRY(impl.read_checkpoint(&cp));
    h.seq = cp.newest_seq;
    struct stat log_st {};
    if (::fstatat(impl.mirror->dir_fd(), k_log_name, &log_st, AT_SYMLINK_NOFOLLOW) == 0) {
      h.log_bytes = static_cast<std::int64_t>(log_st.st_size);
    }
    BARROT_TRY(check_latest(impl, scan));
    BARROT_TRY_ASSIGN(const bool unchanged, impl.downgrade_unchanged(&lock));
    if (!unchanged) {
      *redo = true;
      return Status::OK();
    }
    return full_scan(impl, scan, &h);
  });
}

} // namespace

Result<VerifyReport> Store::verify() {
  // A directory that is not this store's mirror would show every file as
  // missing; what matters is that writes are refused there.
  if (Status bound = mirror_binding(); !bound.ok()) {
    if (!bound.IsInvalidArgument() && !bound.IsCorruption()) {
      return bound;
    }
    VerifyReport report;
    report.problems.push_back(
        {Problem::Kind::not_the_mirror, "", mirror::k_mirror_id_name, bound.message()});
    return report;
  }
  // The newest seq, the log's size and latest_periodic.json are read under
  // the store's lock held exclusive, when no writer is between its commit
  // and its mirror; everything up to there is then checked under the lock
  // held shared. Writers go on meanwhile (a scan of a million snapshots
  // takes most of a minute, longer than their busy timeout); repairs,
  // imports and archive runs wait. Should one of those slip in as the lock
  // changes hands, the scan runs again, exclusive throughout. An archive
  // run, which moves rows and files out of the store, waits for it, and
  // it for one in progress.
  Store::Impl::ArchiveHold hold;
  BARROT_TRY(m_impl->hold_off_archiving(&hold).WithContext("cannot verify"));
  Scan scan;
  for (bool let_writers_in : {true, false}) {
    scan = Scan();
    bool redo = false;
    BARROT_TRY(verify_once(*m_impl, let_writers_in, &scan, &redo));
    if (!redo) {
      break;
    }
  }
  return std::move(scan.report);
}

Result<RepairReport> Store::repair() {
  BARROT_TRY(require_writable(m_impl->options));
  RepairReport report;
  Store::Impl::ArchiveHold hold;
  BARROT_TRY(m_impl->hold_off_archiving(&hold).WithContext("cannot repair"));
  BARROT_TRY(store::guarded("cannot repair", [&]() -> Status {
    FileLock lock;
    BARROT_TRY(m_impl->mirror->lock_store(
        &lock, FileLock::Mode::exclusive, m_impl->options.busy_timeout_ms));
    return m_impl->repair_locked(&report, /*archived_copies=*/true);
  }));
  return report;
}

Result<RepairReport> Store::rebuild_mirror() {
  BARROT_TRY(require_writable(m_impl->options));
  RepairReport report;
  Store::Impl::ArchiveHold hold;
  BARROT_TRY(m_impl->hold_off_archiving(&hold).WithContext("cannot rebuild the mirror"));
  BARROT_TRY(store::guarded("cannot rebuild the mirror", [&]() -> Status {
    FileLock lock;
    BARROT_TRY(m_impl->mirror->lock_store(
        &lock, FileLock::Mode::exclusive, m_impl->options.busy_timeout_ms));
    Scan scan;
    BARROT_TRY(full_scan(*m_impl, &scan));
    mirror::Mirror& m = *m_impl->mirror;
    const std::string stamp = quarantine_stamp();
    BARROT_TRY(quarantine_damaged(m, scan, stamp, &report));
    SQLite::Statement st(*m_impl->db,
                         "SELECT snapshot_id, snapshot_type, document, seq, chain_prev FROM "
                         "snapshots ORDER BY seq");
    util::AtomicWriter log; // the new log, written as it is built
    BARROT_TRY(m.open_replacement(k_log_name, &log));
    while (st.executeStep()) {
      std::string id = st.getColumn(0).getString();
      const std::string document = st.getColumn(2).getString();
      BARROT_TRY_ASSIGN(store::ChainLink link, row_link(st, 3, 4, document));
      BARROT_TRY_ASSIGN(std::string file, store::mirror_file(document, link));
      BARROT_TRY(m.replace_file(mirror::Mirror::file_name(id), file));
      ++report.files_written;
      if (st.getColumn(1).getString() == "action") {
        BARROT_TRY_ASSIGN(std::string line, store::mirror_line(document, link));
        line += '\n';
        BARROT_TRY(log.append(line));
      }
    }
    BARROT_TRY(log.flush());
    BARROT_TRY_ASSIGN(const bool same, m.log_equals(log.fd()));
    if (!same) { // (else the writer removes its file)
      mirror::LogIdentity old;
      BARROT_TRY(m.log_identity(&old));
      if (old.size > 0) {
        BARROT_TRY(m.quarantine_log_copy(stamp, &report.quarantine_dir));
      }
      BARROT_TRY(log.commit(util::Overwrite::yes));
      report.log_rewritten = true;
      // The old lines not in the new log: each a problem the scan named.
      for (const Problem& p : scan.report.problems) {
        if (p.kind == Problem::Kind::torn_line || p.kind == Problem::Kind::duplicate_line ||
            p.kind == Problem::Kind::extra_line || p.kind == Problem::Kind::different_line) {
          ++report.lines_dropped;
        }
      }
    }
    BARROT_TRY(m_impl->write_latest_from_db(&report.latest_written));
    return finish_repair(*m_impl, scan, &report, report.log_rewritten);
  }));
  return report;
}

} // namespace barrot
