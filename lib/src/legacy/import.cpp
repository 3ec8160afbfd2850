// Importing a legacy snapshots directory (the Python system's output).
#include "mirror/mirror.h"
#include "store/chain.h"
#include "store/database.h"
#include "store/render.h"
#include "store/store_impl.h"
#include "util/fs.h"
#include "util/json_parse.h"
#include "util/time.h"

#include <barrot/store.h>

#include <SQLiteCpp/Transaction.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace barrot {

Status row_from_document(const Json& doc, const std::string& expect_id, PendingRow* row) {
  if (!doc.is_object()) {
    return Status::InvalidArgument("not a JSON object");
  }
  // Details (or a periodic section) may nest 64 levels, as when recorded:
  // the document adds two around them (an action's "action" and "details").
  BARROT_TRY(validate_depth(doc, "the snapshot's values", 2));
  auto str = [&](const Json& obj, const char* key, std::string* out) -> Status {
    auto it = obj.find(key);
    if (it == obj.end() || !it->is_string()) {
      return Status::InvalidArgument(std::string("no string \"") + key + "\"");
    }
    *out = it->get<std::string>();
    return Status::OK();
  };
  std::string id;
  std::string type;
  std::string timestamp;
  BARROT_TRY(str(doc, "snapshot_id", &id));
  BARROT_TRY(validate_snapshot_id(id));
  if (!expect_id.empty() && id != expect_id) {
    return Status::InvalidArgument("file name does not match snapshot_id " + id);
  }
  BARROT_TRY(str(doc, "snapshot_type", &type));
  if (type != "action" && type != "periodic") {
    return Status::InvalidArgument("unknown snapshot_type \"" + type + "\"");
  }
  if (id.rfind(type + "_", 0) != 0) {
    return Status::InvalidArgument("snapshot_type \"" + type + "\" does not match id " + id);
  }
  BARROT_TRY(str(doc, "timestamp", &timestamp));
  BARROT_TRY_ASSIGN(row->ts, parse_iso8601(timestamp));
  row->id = id;
  row->origin = "import";
  if (type == "action") {
    row->type = SnapshotType::action;
    auto it = doc.find("action");
    if (it == doc.end() || !it->is_object()) {
      return Status::InvalidArgument("no \"action\" object");
    }
    BARROT_TRY(str(*it, "type", &row->action_type));
    BARROT_TRY(validate_action_type(row->action_type));
    BARROT_TRY(str(*it, "status", &row->status));
    BARROT_TRY(parse_action_status(row->status).status());
    auto details = it->find("details");
    if (details == it->end()) {
      return Status::InvalidArgument("no action details");
    }
    BARROT_TRY(validate_details(*details, &row->details).WithContext("action details"));
  } else {
    row->type = SnapshotType::periodic;
  }
  row->document = doc;
  // A chain record (from another store's mirror, or an archive line) is not
  // content: this store links the snapshot into its own chain.
  BARROT_TRY_ASSIGN(row->carried_chain, store::detach_chain(&row->document));
  try {
    row->compact = store::compact(row->document);
  } catch (const Json::exception& e) {
    return Status::InvalidArgument(e.what());
  }
  return Status::OK();
}

namespace {

bool same_json(const Json& a, const Json& b) {
  return nlohmann::json::parse(a.dump()) == nlohmann::json::parse(b.dump());
}

// An input turned into a row, or the reason it was skipped.
struct Parsed {
  PendingRow row;
  std::string source; // "file.json" or "action_log.jsonl:17"
  std::string skip;   // not empty: skipped, for this reason
  // It carries a chain record that matches it: a Barrot store recorded it,
  // as the carried_chain->seq'th snapshot of its chain.
  bool from_a_store = false;
};

Parsed parse_input(std::string_view text,
                   std::string source,
                   const std::string& expect_id,
                   bool last_line_cut) {
  Parsed p;
  p.source = std::move(source);
  util::JsonError error;
  Json doc = util::parse_json_unique(text, &error);
  if (error.kind == util::JsonError::Kind::invalid) {
    // "not valid JSON: parse error at line 1, column 57: ... last read: 'NaN'"
    p.skip = last_line_cut ? "not valid JSON (the last line is cut short)"
                           : "not valid JSON: " + error.message;
    return p;
  }
  if (error.kind != util::JsonError::Kind::none) {
    p.skip = util::describe(error);
    return p;
  }
  Status s = row_from_document(doc, expect_id, &p.row);
  if (!s.ok()) {
    p.skip = s.message();
    return p;
  }
  // The id names the snapshot's time (docs/formats.md, "Ids"): one that
  // names another time was edited, and would be filed and found by one time
  // while it sorts and is archived by the other. Not checked for a copy that
  // carries a chain record whose hash is its content's (a Barrot store's
  // mirror: a store that imported such a snapshot before this check keeps
  // it, and its mirror must still bring it back), nor on an archive's way
  // back.
  std::string id_of_time = make_snapshot_id(p.row.type, p.row.ts);
  const bool from_a_store =
      p.row.carried_chain &&
      store::chain_hash(p.row.carried_chain->prev, p.row.compact) == p.row.carried_chain->hash;
  p.from_a_store = from_a_store;
  if (!from_a_store && id_of_time != p.row.id) {
    p.skip = "snapshot_id " + p.row.id + " does not agree with its timestamp " +
             doc["timestamp"].get<std::string>() + " (which makes the id " + id_of_time + ")";
  }
  return p;
}

// Reads action_log.jsonl on a thread of its own, in batches of parsed lines,
// while the caller inserts the previous batches: parsing and checking a line
// costs about as much as inserting it.
class LogReader {
public:
  static constexpr std::size_t k_batch = 1024;
  static constexpr std::size_t k_queued_batches = 8;

  explicit LogReader(util::UniqueFd fd) : m_fd(std::move(fd)), m_thread([this] { run(); }) {}

  ~LogReader() {
    {
      std::lock_guard<std::mutex> lock(m_mu);
      m_stop = true;
    }
    m_cv.notify_all();
    m_thread.join();
  }

  // The next batch; empty at the end (then `status()` tells how it ended).
  std::vector<Parsed> next() {
    std::unique_lock<std::mutex> lock(m_mu);
    m_cv.wait(lock, [&] { return !m_queue.empty() || m_done; });
    if (m_queue.empty()) {
      return {};
    }
    std::vector<Parsed> batch = std::move(m_queue.front());
    m_queue.pop_front();
    m_cv.notify_all();
    return batch;
  }

  Status status() {
    std::lock_guard<std::mutex> lock(m_mu);
    return m_status;
  }

  std::int64_t lines_read() const { return m_lines; }

private:
  void run() {
    Status s;
    try {
      s = read_all();
    } catch (const std::exception& e) {
      s = Status::IOError(std::string("cannot read ") + mirror::k_log_name + ": " + e.what());
    }
    std::lock_guard<std::mutex> lock(m_mu);
    m_status = s;
    m_done = true;
    m_cv.notify_all();
  }

  // False when the consumer went away.
  bool push(std::vector<Parsed>* batch) {
    std::unique_lock<std::mutex> lock(m_mu);
    m_cv.wait(lock, [&] { return m_queue.size() < k_queued_batches || m_stop; });
    if (m_stop) {
      return false;
    }
    m_queue.push_back(std::move(*batch));
    batch->clear();
    m_cv.notify_all();
    return true;
  }

  // Lines longer than any snapshot can be (details are capped at 1 MiB)
  // are skipped without being held: a log whose tail is a crash's run of
  // NUL bytes must not fill memory.
  static constexpr std::size_t k_max_line = util::k_max_read_bytes;
  static constexpr std::size_t k_read_size = 1 << 20;

  Status read_all() {
    std::string buf;
    std::vector<Parsed> batch;
    std::int64_t number = 0;
    std::size_t begin = 0;   // first byte of the current line in buf
    std::size_t scanned = 0; // no newline in buf[begin, scanned)
    bool too_long = false;   // dropping the rest of an overlong line
    bool eof = false;
    auto source = [&] { return std::string(mirror::k_log_name) + ":" + std::to_string(number); };
    while (!eof || begin < buf.size()) {
      const std::size_t nl = buf.find('\n', std::max(begin, scanned));
      if (nl == std::string::npos && !eof) {
        if (buf.size() - begin > k_max_line) {
          too_long = true; // keep counting lines, not bytes
          begin = buf.size();
        }
        buf.erase(0, begin);
        begin = 0;
        scanned = buf.size();
        const std::size_t old = buf.size();
        buf.resize(old + k_read_size);
        std::size_t got = 0;
        BARROT_TRY(
            util::read_some(m_fd.get(), buf.data() + old, k_read_size, &got, mirror::k_log_name));
        buf.resize(old + got);
        eof = got == 0;
        continue;
      }
      const bool has_nl = nl != std::string::npos;
      const std::size_t end = has_nl ? nl : buf.size();
      std::string_view line(buf.data() + begin, end - begin);
      begin = has_nl ? nl + 1 : buf.size();
      scanned = begin;
      ++number;
      if (too_long || line.size() > k_max_line) {
        too_long = false;
        ++m_lines;
        Parsed p;
        p.source = source();
        p.skip = "longer than " + std::to_string(k_max_line) + " bytes";
        batch.push_back(std::move(p));
      } else if (!line.empty()) {
        ++m_lines;
        batch.push_back(parse_input(line, source(), "", !has_nl));
      }
      if (batch.size() >= k_batch && !push(&batch)) {
        return Status::OK();
      }
    }
    if (!batch.empty()) {
      push(&batch);
    }
    return Status::OK();
  }

  util::UniqueFd m_fd;
  std::mutex m_mu;
  std::condition_variable m_cv;
  std::deque<std::vector<Parsed>> m_queue;
  bool m_done = false;
  bool m_stop = false;
  Status m_status;
  std::atomic<std::int64_t> m_lines{0};
  std::thread m_thread; // last: starts once the rest is built
};

// Inserts parsed inputs in the import's transaction. A snapshot id already
// stored is compared: before the import began it is "already present" (or a
// conflict, the stored one kept); inserted earlier in this import (a file
// and its log line, say) it is merged silently when equal, else a conflict.
//
// With `in_chain_order` (an import of the store's own snapshots directory: a
// restore, or a lost database taken over), snapshots a store recorded are
// linked in the order that store committed them (their chain records' seq),
// not in the order they are read (files by time, then the log): the chain
// then comes out as it was, hashes and seqs, and an anchor taken before
// still holds. Up to k_reorder_window of them wait to be put in order; a
// snapshot further out of place (its file lost, its log line read last)
// joins where it is read.
class Inserter {
public:
  static constexpr std::size_t k_reorder_window = 4096;

  Inserter(Store::Impl& impl,
           ImportReport& report,
           bool in_chain_order,
           const std::unordered_set<std::string>* barrot_ids)
      : m_impl(impl), m_report(report), m_in_chain_order(in_chain_order), m_barrot_ids(barrot_ids),
        m_existing(*impl.db, "SELECT document, seq FROM snapshots WHERE snapshot_id = ?") {
    m_base_seq = impl.db->execAndGet("SELECT coalesce(max(seq), 0) FROM snapshot_rows").getInt64();
    Status s = impl.chain_head_in_txn(&m_prev);
    if (!s.ok()) {
      throw std::runtime_error(s.message());
    }
  }

  void add(Parsed& p) {
    if (!p.skip.empty()) {
      m_report.skipped.push_back({p.source, p.skip});
      return;
    }
    // A copy of a snapshot waiting to be put in order: merged, or a conflict.
    if (auto waiting = m_waiting_ids.find(p.row.id); waiting != m_waiting_ids.end()) {
      const Parsed& first = m_waiting.at({waiting->second, p.row.id});
      if (!same_json(first.row.document, p.row.document)) {
        conflict(p, /*earlier_in_import=*/true);
      }
      return;
    }
    // Looked up before inserting: an insert that finds the id taken still
    // uses up a sequence number (AUTOINCREMENT), a gap in the chain's seq.
    m_existing.reset();
    m_existing.bind(1, p.row.id);
    if (!m_existing.executeStep()) {
      if (m_in_chain_order && p.from_a_store) {
        const std::int64_t seq = p.row.carried_chain->seq;
        m_waiting_ids.emplace(p.row.id, seq);
        m_waiting.emplace(std::pair(seq, p.row.id), std::move(p));
        if (m_waiting.size() > k_reorder_window) {
          insert_first_waiting();
        }
        return;
      }
      insert(p);
      return;
    }
    compare(p);
  }

  // Inserts what waits to be put in order. Call before the transaction
  // commits, once every input was added.
  void finish() {
    while (!m_waiting.empty()) {
      insert_first_waiting();
    }
  }

private:
  void insert_first_waiting() {
    auto first = m_waiting.begin();
    Parsed p = std::move(first->second);
    m_waiting.erase(first);
    m_waiting_ids.erase(p.row.id);
    insert(p);
  }

  // `p`, whose id is not stored: inserted at the chain's end.
  void insert(Parsed& p) {
    if (archived(p)) {
      return;
    }
    // Recorded by Barrot (the database a restore replaces says so): its
    // status is true, unlike the legacy tracker's.
    if (m_barrot_ids != nullptr && m_barrot_ids->contains(p.row.id)) {
      p.row.origin = "barrot";
    }
    p.row.chain.prev = m_prev;
    bind_insert(*m_impl.insert_stmt, p.row);
    m_impl.insert_stmt->exec();
    if (m_impl.db->getChanges() != 1) {
      throw std::runtime_error("snapshot " + p.row.id + " is neither stored nor insertable");
    }
    m_prev = store::chain_hash(m_prev, p.row.compact);
    ++m_report.imported;
    if (p.row.ts > m_future_after) {
      ++m_report.future;
      if (p.row.ts > m_newest_future) {
        m_newest_future = p.row.ts;
        m_report.newest_future = p.row.id;
      }
    }
  }

  // Counted once per snapshot; every disagreeing copy is named.
  void conflict(const Parsed& p, bool earlier_in_import) {
    m_report.conflicts += m_conflicting.insert(p.row.id).second ? 1 : 0;
    m_report.skipped.push_back(
        {p.source,
         earlier_in_import
             ? "differs from an earlier copy of " + p.row.id + " in the import; kept that one"
             : "a different snapshot " + p.row.id + " is stored; kept it"});
  }

  // `p`, whose id m_existing found stored.
  void compare(const Parsed& p) {
    Json stored = Json::parse(m_existing.getColumn(0).getString(), nullptr, false);
    const bool same = !stored.is_discarded() && same_json(stored, p.row.document);
    const bool earlier_in_import = m_existing.getColumn(1).getInt64() > m_base_seq;
    if (same) {
      // Counted once per snapshot, however many copies the input holds.
      if (!earlier_in_import && m_counted.insert(p.row.id).second) {
        ++m_report.already_present;
      }
    } else {
      conflict(p, earlier_in_import);
    }
  }

  // Whether `p` is a snapshot of an archived month (counted as already
  // present, or a conflict, as for one in the store): importing it again
  // would store it twice, and stop the month's next archive run.
  bool archived(const Parsed& p) {
    const util::CivilTime t = util::to_civil(p.row.ts);
    const int key = t.year * 100 + t.month;
    auto month = m_archived.find(key);
    if (month == m_archived.end()) {
      ArchivedMonth m;
      m.status = m_impl.archived_documents(p.row.ts, &m.documents);
      month = m_archived.emplace(key, std::move(m)).first;
    }
    if (!month->second.status.ok()) {
      m_report.skipped.push_back({p.source,
                                  "cannot tell whether it is archived, so not imported: " +
                                      month->second.status.message()});
      return true;
    }
    auto it = month->second.documents.find(p.row.id);
    if (it == month->second.documents.end()) {
      return false;
    }
    if (same_json(it->second, p.row.document)) {
      if (m_counted.insert(p.row.id).second) {
        ++m_report.already_present;
      }
    } else {
      m_report.conflicts += m_conflicting.insert(p.row.id).second ? 1 : 0;
      m_report.skipped.push_back(
          {p.source, "a different snapshot " + p.row.id + " is archived; kept it"});
    }
    return true;
  }

  struct ArchivedMonth {
    Status status;
    std::unordered_map<std::string, Json> documents;
  };

  Store::Impl& m_impl;
  ImportReport& m_report;
  const bool m_in_chain_order;
  const std::unordered_set<std::string>* m_barrot_ids;
  SQLite::Statement m_existing;
  // Snapshots waiting to be put in chain order, by (carried seq, id), and
  // their ids.
  std::map<std::pair<std::int64_t, std::string>, Parsed> m_waiting;
  std::unordered_map<std::string, std::int64_t> m_waiting_ids;
  std::unordered_map<int, ArchivedMonth> m_archived; // by year * 100 + month
  std::int64_t m_base_seq = 0;
  // Later than this is "in the future" (ImportReport::future).
  const TimeUs m_future_after = util::realtime_us() + 5 * 60 * 1'000'000LL;
  TimeUs m_newest_future = INT64_MIN;
  store::Digest m_prev{}; // the chain's head: what the next row inserted links to
  std::unordered_set<std::string> m_counted;     // ids counted as already present
  std::unordered_set<std::string> m_conflicting; // ids counted as conflicts
};

// The time a snapshot file's name says, for reading files in time order
// ("action_20251222_022057_454420.json" -> "20251222_022057_454420").
std::string_view time_part(const std::string& name) {
  const std::size_t us = name.find('_');
  return us == std::string::npos ? std::string_view(name) : std::string_view(name).substr(us + 1);
}

Status import_into(Store::Impl& impl,
                   const std::string& dir,
                   const std::unordered_set<std::string>* barrot_ids,
                   ImportReport& report) {
  util::UniqueFd src;
  BARROT_TRY(util::open_dir(dir, &src).WithContext("import"));
  std::vector<std::string> names;
  BARROT_TRY(util::list_dir(src.get(), dir, &names));
  std::erase_if(names, [](const std::string& name) {
    return name.size() <= 5 || name.compare(name.size() - 5, 5, ".json") != 0 || name[0] == '.';
  });
  // Oldest first; latest_periodic.json last: it is a copy, and the original
  // file should win if the two disagree.
  std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
    const bool la = a == mirror::k_latest_name;
    const bool lb = b == mirror::k_latest_name;
    if (la != lb) {
      return lb;
    }
    return time_part(a) != time_part(b) ? time_part(a) < time_part(b) : a < b;
  });
  util::UniqueFd log_fd;
  std::int64_t log_size = 0;
  Status ls = util::open_regular_file(src.get(), mirror::k_log_name, true, &log_fd, &log_size);
  if (!ls.ok() && !ls.IsNotFound()) {
    report.skipped.push_back({mirror::k_log_name, ls.message()});
  }

  // An import in place reads the snapshots directory itself.
  struct stat a {};
  struct stat b {};
  const bool in_place = ::fstat(src.get(), &a) == 0 && ::fstat(impl.mirror->dir_fd(), &b) == 0 &&
                        a.st_dev == b.st_dev && a.st_ino == b.st_ino;

  util::FileLock lock;
  BARROT_TRY(impl.mirror->lock_store(
      &lock, util::FileLock::Mode::exclusive, impl.options.busy_timeout_ms));
  const auto t0 = std::chrono::steady_clock::now();
  // Everything in one transaction: an import is all there or not at all.
  // Files first, then the log (files win a conflict, being the complete
  // per-snapshot record), then latest_periodic.json, then what waits to be
  // put in chain order.
  BARROT_TRY(store::guarded("cannot import", [&]() -> Status {
    SQLite::Transaction txn(*impl.db, SQLite::TransactionBehavior::IMMEDIATE);
    BARROT_TRY(impl.check_bound_in_txn());
    Inserter inserter(impl, report, /*in_chain_order=*/in_place, barrot_ids);
    auto add_file = [&](const std::string& name) {
      std::string text;
      Status s = util::read_file(src.get(), name, &text);
      if (!s.ok()) {
        report.skipped.push_back({name, s.message()});
        return;
      }
      ++report.files_read;
      const bool latest = name == mirror::k_latest_name;
      const std::string expect = latest ? "" : name.substr(0, name.size() - 5);
      if (!latest && !validate_snapshot_id(expect).ok()) {
        // Beside a store's own mirror such files are the operator's (a
        // chain_head.json, an `-o` report), not input left out.
        if (!in_place) {
          report.skipped.push_back({name, "not named after a snapshot id"});
        }
        return;
      }
      Parsed p = parse_input(text, name, expect, false);
      inserter.add(p);
    };
    const bool has_latest = !names.empty() && names.back() == mirror::k_latest_name;
    for (std::size_t i = 0; i < names.size() - (has_latest ? 1 : 0); ++i) {
      add_file(names[i]);
    }
    if (log_fd.valid()) {
      LogReader reader(std::move(log_fd));
      for (std::vector<Parsed> batch = reader.next(); !batch.empty(); batch = reader.next()) {
        for (Parsed& p : batch) {
          inserter.add(p);
        }
      }
      BARROT_TRY(reader.status());
      report.lines_read = reader.lines_read();
    }
    // A copy, after every original (which wins), but before the snapshots
    // waiting to be put in order: it may be the only copy of one of them.
    if (has_latest) {
      add_file(names.back());
    }
    inserter.finish();
    if (report.imported > 0) {
      impl.index_fts_in_txn(util::realtime_us());
      if (in_place) {
        // The new rows' lines are already in the log, perhaps before the
        // checkpoint's offset (an open before the import set it past the
        // legacy lines): make the next reconciliation read the whole log,
        // should this process die before its repair below.
        impl.rewind_checkpoint_in_txn(INT64_MAX);
      }
    }
    txn.commit();
    return Status::OK();
  }));
  const auto t1 = std::chrono::steady_clock::now();
  report.database_seconds = std::chrono::duration<double>(t1 - t0).count();
  if (report.imported > 0 || in_place) {
    // An import in place (the snapshots directory itself): its files and
    // lines are already there, so mirror through a full repair, which
    // accepts what already holds the same snapshot and appends only the
    // lines the whole log lacks; with nothing new, the reconciliation an
    // open does (the CLI skips it at open, to read the directory as it
    // was). From anywhere else the new rows are past the checkpoint and
    // nothing of theirs is in our files: reconcile just them, like any write
    // (a full repair would read the whole store: 38 s for 10 files into a
    // million-snapshot store).
    RepairReport repaired;
    Status s =
        in_place && report.imported > 0 ? impl.repair_locked(&repaired) : impl.reconcile_locked();
    report.mirror_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    if (!s.ok()) {
      report.mirror = s.WithContext("imported " + std::to_string(report.imported) +
                                    " snapshots, but mirroring them failed");
    }
  }
  return Status::OK();
}

} // namespace

Result<ImportReport> Store::import_legacy(const std::string& dir) {
  return m_impl->import_dir(dir, nullptr);
}

Result<ImportReport> Store::Impl::import_dir(const std::string& dir,
                                             const std::unordered_set<std::string>* barrot_ids) {
  if (options.access != Access::read_write) {
    return Status::InvalidArgument("the store was opened read-only");
  }
  ImportReport report;
  // Whether a snapshot is archived decides whether it is imported: no
  // archive run changes that meanwhile.
  ArchiveHold hold;
  BARROT_TRY(hold_off_archiving(&hold).WithContext("cannot import " + dir));
  BARROT_TRY(store::guarded("cannot import " + dir, [&]() -> Status {
    return import_into(*this, dir, barrot_ids, report);
  }));
  return report;
}

} // namespace barrot
