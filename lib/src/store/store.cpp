// Store: opening, writing and reading snapshots.
#include "store/database.h"
#include "store/render.h"
#include "store/store_impl.h"
#include "util/fs.h"
#include "util/time.h"

#include <barrot/store.h>

#include <sqlite3.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cmath>
#include <map>
#include <new>
#include <span>

namespace barrot {

namespace {

// How often a long-lived writer moves the mirror checkpoint, so that the next
// open has little to reconcile. A minute costs nothing measurable and bounds
// the backlog a crash can leave to one minute of writes.
constexpr std::int64_t k_checkpoint_interval_us = 60'000'000;
// How soon an attempt that did not get the lock is made again.
constexpr std::int64_t k_checkpoint_retry_us = 1'000'000;

// Ids are taken at most this many times in a row before a write gives up;
// only a clock stuck far in the future of existing ids could reach it.
constexpr int k_max_id_attempts = 1'000'000;

// How long an open waits for other processes to let go of the mirror lock
// before it leaves reconciliation to them: long enough to slip between the
// commits of busy writers, short enough not to be noticed.
constexpr int k_open_reconcile_wait_ms = 250;

// JSON nesting deeper than this is refused: SQLite's JSON functions stop at
// 1000 levels, and nothing real needs more than a handful.
constexpr int k_max_details_depth = 64;

// Snapshot times must fall in years 0001 to 9999, so ids keep their shape.
constexpr TimeUs k_min_time_us = -62135596800LL * 1'000'000; // 0001-01-01T00:00:00Z
constexpr TimeUs k_max_time_us = 253402214400LL * 1'000'000; // 9999-12-31T00:00:00Z
// (a day short of the end, so moving a taken id forward can never leave 9999)

Status validate_time(std::optional<TimeUs> t, const char* what) {
  if (t && (*t < k_min_time_us || *t > k_max_time_us)) {
    return Status::InvalidArgument(std::string(what) +
                                   " is outside 0001-01-01 to 9999-12-31T00:00:00Z");
  }
  return Status::OK();
}

// The nesting of `j`, counted up to cap + 1; `*unwritable` (if set) is a
// value JSON text cannot hold, which dump() would write as something else:
// a NaN or infinite number (as null), a binary value (as an object).
int json_depth(const Json& j, int cap, const Json** unwritable = nullptr) {
  // Iterative, so a hostile document cannot overflow the stack here.
  int deepest = 0;
  std::vector<std::pair<const Json*, int>> stack{{&j, 1}};
  while (!stack.empty()) {
    auto [node, depth] = stack.back();
    stack.pop_back();
    deepest = std::max(deepest, depth);
    if (depth > cap) {
      break;
    }
    if (node->is_structured()) {
      for (const auto& child : *node) {
        stack.emplace_back(&child, depth + 1);
      }
    } else if (unwritable != nullptr && *unwritable == nullptr &&
               (node->is_binary() ||
                (node->is_number_float() && !std::isfinite(node->get<double>())))) {
      *unwritable = node;
    }
  }
  return deepest;
}

// Whether `path` exists; an error other than "no such file" (a folder on
// the way that may not be entered, say) is not taken for "no store".
Result<bool> path_exists(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    return true;
  }
  if (errno == ENOENT) {
    return false;
  }
  return util::errno_status("cannot reach the database", path, errno);
}

// Times the SQL view rebuilds exactly (strftime covers years 0000-9999;
// integer division truncates toward zero, so negative times are left out).
bool plain_time(TimeUs t) {
  constexpr TimeUs k_year_10000_us = 253'402'300'800LL * 1'000'000;
  return t >= 0 && t < k_year_10000_us;
}

Status prepare_action(const ActionInput& in, TimeUs default_ts, PendingRow* row) {
  BARROT_TRY(validate_action_type(in.type));
  BARROT_TRY(validate_time(in.at, "the snapshot time"));
  BARROT_TRY(validate_time(in.started_at, "started_at"));
  if (in.status != ActionStatus::executing && in.status != ActionStatus::completed &&
      in.status != ActionStatus::failed) {
    return Status::InvalidArgument("unknown action status " +
                                   std::to_string(static_cast<int>(in.status)));
  }
  if (in.started_at && in.at && *in.started_at > *in.at) {
    return Status::InvalidArgument("started_at is after the snapshot's own time");
  }
  BARROT_TRY(validate_details(in.details, &row->details));
  if (!in.start_snapshot_id.empty()) {
    BARROT_TRY(validate_snapshot_id(in.start_snapshot_id).WithContext("start snapshot id"));
  }
  row->type = SnapshotType::action;
  row->ts = in.at.value_or(default_ts);
  row->id = make_snapshot_id(SnapshotType::action, row->ts);
  row->action_type = in.type;
  row->status = std::string(to_string(in.status));
  row->document = store::action_document(row->id, row->ts, in);
  if (in.started_at && *in.started_at != row->ts) {
    row->started_us = in.started_at;
  }
  row->started_at_given = in.started_at.has_value();
  if (!in.start_snapshot_id.empty()) {
    row->start_snapshot_id = in.start_snapshot_id;
    row->ends_start = true;
  }
  // The standard form is the document's compact text, built without a second
  // walk of the document, when nothing in it needs escaping or a time the
  // SQL view cannot rebuild (the chain hash of every write checks the two agree).
  row->standard = in.type.find_first_of("\"\\") == std::string::npos && plain_time(row->ts) &&
                  plain_time(row->started_us.value_or(0));
  if (row->standard) {
    std::optional<std::string_view> start_id;
    if (row->start_snapshot_id) {
      start_id = *row->start_snapshot_id;
    }
    row->compact.clear();
    append_standard_action_text(&row->compact,
                                row->id,
                                row->ts,
                                row->action_type,
                                row->status,
                                row->details,
                                row->started_us,
                                start_id);
  } else {
    row->compact = store::compact(row->document);
  }
  return Status::OK();
}

} // namespace

Status validate_details(const Json& details, std::string* compact_out) {
  if (!details.is_object()) {
    return Status::InvalidArgument(std::string("details must be a JSON object, not ") +
                                   details.type_name());
  }
  BARROT_TRY(validate_depth(details, "details"));
  try {
    *compact_out = details.dump();
  } catch (const Json::exception& e) {
    return Status::InvalidArgument(std::string("details cannot be serialized: ") + e.what());
  }
  if (compact_out->size() > k_max_details_bytes) {
    return Status::InvalidArgument("details are " + std::to_string(compact_out->size()) +
                                   " bytes (at most " + std::to_string(k_max_details_bytes) + ")");
  }
  return Status::OK();
}

Status validate_depth(const Json& doc, const char* what, int outer) {
  const Json* unwritable = nullptr;
  if (json_depth(doc, k_max_details_depth + outer, &unwritable) > k_max_details_depth + outer) {
    return Status::InvalidArgument(std::string(what) + " nest deeper than " +
                                   std::to_string(k_max_details_depth) + " levels" +
                                   (outer > 0 ? " (in its details or a section)" : ""));
  }
  if (unwritable != nullptr) {
    return Status::InvalidArgument(
        std::string(what) + " hold " +
        (unwritable->is_binary() ? std::string("a binary value, which JSON text cannot hold")
                                 : "the number " + std::to_string(unwritable->get<double>()) +
                                       ", which JSON text cannot hold (it would be stored as "
                                       "null)"));
  }
  return Status::OK();
}

void rerender_with_time(PendingRow* row, TimeUs ts) {
  const std::string old_iso = row->document["timestamp"].get<std::string>();
  const std::string iso = format_iso8601(ts);
  const TimeUs old_ts = row->ts;
  row->ts = ts;
  row->id = make_snapshot_id(row->type, ts);
  row->document["snapshot_id"] = row->id;
  row->document["timestamp"] = iso;
  if (row->type == SnapshotType::action) {
    Json& action = row->document["action"];
    if (action["started_at"] == old_iso) {
      if (row->started_at_given) { // an end at its start's time: the start's time stays
        row->started_us = old_ts;
      } else {
        action["started_at"] = iso;
      }
    }
  }
  row->compact = store::compact(row->document);
}

namespace {

// format_iso8601 without snprintf: this runs once per row read.
void append_iso8601(std::string* out, TimeUs t) {
  const util::CivilTime c = util::to_civil(t);
  char buf[27];
  auto put = [&](int at, int width, int value) {
    for (int i = width - 1; i >= 0; --i) {
      buf[at + i] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
  };
  put(0, 4, c.year);
  buf[4] = '-';
  put(5, 2, c.month);
  buf[7] = '-';
  put(8, 2, c.day);
  buf[10] = 'T';
  put(11, 2, c.hour);
  buf[13] = ':';
  put(14, 2, c.minute);
  buf[16] = ':';
  put(17, 2, c.second);
  buf[19] = '.';
  put(20, 6, c.micros);
  buf[26] = 'Z';
  out->append(buf, sizeof buf);
}

} // namespace

void append_standard_action_text(std::string* out,
                                 std::string_view id,
                                 TimeUs ts,
                                 std::string_view action_type,
                                 std::string_view status,
                                 std::string_view details,
                                 std::optional<TimeUs> started,
                                 std::optional<std::string_view> start_snapshot_id) {
  std::string& t = *out;
  t.reserve(t.size() + details.size() + 300);
  t += "{\"snapshot_id\":\"";
  t += id;
  t += "\",\"snapshot_type\":\"action\",\"timestamp\":\"";
  const std::size_t ts_at = t.size();
  append_iso8601(out, ts);
  t += "\",\"action\":{\"type\":\"";
  t += action_type;
  t += "\",\"status\":\"";
  t += status;
  t += "\",\"details\":";
  t += details;
  t += ",\"started_at\":\"";
  if (started && *started != ts) {
    append_iso8601(out, *started);
  } else {
    t.append(t, ts_at, 27); // the timestamp again
  }
  t += '"';
  if (start_snapshot_id) {
    t += ",\"start_snapshot_id\":\"";
    t += *start_snapshot_id;
    t += '"';
  }
  t += "},\"metadata\":{\"generated_by\":\"";
  t += store::k_generator_name;
  t += "\",\"version\":\"";
  t += store::k_format_version;
  t += "\"}}";
}

namespace {

// stored_document over any column access: text(i), is_null(i), integer(i)
// for column first + i.
template <typename Text, typename IsNull, typename Integer>
std::string_view rebuild_document(Text text, IsNull is_null, Integer integer, std::string* buffer) {
  if (!is_null(0)) {
    return text(0);
  }
  std::optional<TimeUs> started;
  if (!is_null(6)) {
    started = integer(6);
  }
  std::optional<std::string_view> start_id; // NULL: no key; "": the key, empty
  if (!is_null(7)) {
    start_id = text(7);
  }
  buffer->clear();
  append_standard_action_text(
      buffer, text(1), integer(2), text(3), text(4), text(5), started, start_id);
  return *buffer;
}

} // namespace

std::string_view stored_document(SQLite::Statement& st, int first, std::string* buffer) {
  return rebuild_document(
      [&](int i) {
        SQLite::Column c = st.getColumn(first + i);
        return std::string_view(static_cast<const char*>(c.getBlob()),
                                static_cast<std::size_t>(c.getBytes()));
      },
      [&](int i) { return st.getColumn(first + i).isNull(); },
      [&](int i) { return static_cast<TimeUs>(st.getColumn(first + i).getInt64()); },
      buffer);
}

std::string_view stored_document(sqlite3_stmt* st, int first, std::string* buffer) {
  return rebuild_document(
      [&](int i) {
        const void* p = sqlite3_column_blob(st, first + i);
        return std::string_view(static_cast<const char*>(p),
                                static_cast<std::size_t>(sqlite3_column_bytes(st, first + i)));
      },
      [&](int i) { return sqlite3_column_type(st, first + i) == SQLITE_NULL; },
      [&](int i) { return static_cast<TimeUs>(sqlite3_column_int64(st, first + i)); },
      buffer);
}

void bind_insert(SQLite::Statement& st, const PendingRow& row) {
  store::rewind(st);
  st.bind(1, row.id);
  st.bind(2, std::string(to_string(row.type)));
  st.bind(3, row.ts);
  st.bind(6, row.origin);
  bool whole = true;
  if (row.type == SnapshotType::action) {
    st.bind(4, row.action_type);
    st.bind(5, row.status);
    // Serialized once, by whoever built the row (prepare_action,
    // row_from_document).
    assert(!row.details.empty());
    st.bind(7, row.details);
    // action.started_at and action.start_snapshot_id: known to
    // prepare_action for a row in the standard form, else read off the
    // document (an import).
    std::optional<TimeUs> started = row.started_us;
    std::optional<std::string> start_id = row.start_snapshot_id;
    if (!row.standard) {
      const Json& action = row.document.at("action");
      auto it = action.find("started_at");
      if (it != action.end() && it->is_string()) {
        auto t = parse_iso8601(it->get_ref<const std::string&>());
        if (t.ok()) {
          started = *t;
        }
      }
      it = action.find("start_snapshot_id");
      if (it != action.end() && it->is_string()) {
        start_id = it->get<std::string>();
      }
    }
    if (started == row.ts) {
      started.reset(); // the column holds it only when it differs
    }
    if (started) {
      st.bind(8, *started);
    } else {
      st.bind(8);
    }
    if (start_id) {
      st.bind(9, *start_id);
    } else {
      st.bind(9);
    }
    if (row.standard) {
      whole = false;
    } else {
      // Stored as columns only when they rebuild the document exactly.
      std::string standard;
      if (plain_time(row.ts) && plain_time(started.value_or(0))) {
        std::optional<std::string_view> start_view;
        if (start_id) {
          start_view = *start_id;
        }
        append_standard_action_text(&standard,
                                    row.id,
                                    row.ts,
                                    row.action_type,
                                    row.status,
                                    row.details,
                                    started,
                                    start_view);
      }
      whole = standard != row.compact;
    }
  } else {
    st.bind(4);
    st.bind(5);
    st.bind(7);
    st.bind(8);
    st.bind(9);
  }
  if (whole) {
    st.bindNoCopy(10, row.compact);
  } else {
    st.bind(10);
  }
  if (row.keep_seq) {
    st.bind(11, row.seq);
  } else {
    st.bind(11);
  }
  st.bindNoCopy(12, row.chain.prev.data(), static_cast<int>(row.chain.prev.size()));
}

Result<store::ChainLink>
row_link(SQLite::Statement& st, int seq_col, int prev_col, std::string_view content) {
  store::ChainLink link;
  link.seq = st.getColumn(seq_col).getInt64();
  SQLite::Column prev = st.getColumn(prev_col);
  if (!store::from_blob(prev.getBlob(), prev.getBytes(), &link.prev)) {
    return Status::Corruption("snapshot seq " + std::to_string(link.seq) +
                              " has no chain link (chain_prev)");
  }
  link.hash = store::chain_hash(link.prev, content);
  return link;
}

Status Store::Impl::chain_head_in_txn(store::Digest* out) {
  // Two plain statements: a single one joining both costs three times as
  // much to prepare, and a CLI process prepares it once per run.
  if (!chain_head_stmt) {
    chain_head_stmt = std::make_unique<SQLite::Statement>(
        *db,
        std::string("SELECT seq, chain_prev, ") + k_document_columns +
            " FROM snapshot_rows ORDER BY seq DESC LIMIT 1");
    chain_tail_stmt =
        std::make_unique<SQLite::Statement>(*db, "SELECT seq, hash FROM chain_tail WHERE id = 1");
  }
  // Reset on the way out: a statement left open holds its table (an
  // incremental_vacuum would fail with "table is locked").
  struct Reset {
    SQLite::Statement& st;
    ~Reset() { st.tryReset(); }
  } reset_row{*chain_head_stmt}, reset_tail{*chain_tail_stmt};
  SQLite::Statement& row = *chain_head_stmt;
  SQLite::Statement& tail = *chain_tail_stmt;
  store::rewind(row);
  store::rewind(tail);
  const bool have_row = row.executeStep();
  const std::int64_t seq = have_row ? row.getColumn(0).getInt64() : 0;
  if (tail.executeStep() && tail.getColumn(0).getInt64() > seq) {
    SQLite::Column hash = tail.getColumn(1);
    if (!store::from_blob(hash.getBlob(), hash.getBytes(), out)) {
      return Status::Corruption("chain_tail holds no 32-byte hash");
    }
  } else if (!have_row) {
    *out = store::k_genesis;
  } else if (seq == head_seq && head_id == row.getColumn(3).getText()) {
    // The row this Store wrote last (the id too: a restore reissues seqs).
    *out = head_hash;
  } else {
    store::Digest prev;
    SQLite::Column stored = row.getColumn(1);
    if (!store::from_blob(stored.getBlob(), stored.getBytes(), &prev)) {
      return Status::Corruption("snapshot seq " + std::to_string(seq) + " has no chain link");
    }
    std::string buffer;
    *out = store::chain_hash(prev, stored_document(row, 2, &buffer));
  }
  return Status::OK();
}

// --- Store::Impl --------------------------------------------------------------

Store::Impl::WriteTxn::WriteTxn(Impl& impl) : m_impl(impl) {
  if (!impl.begin_stmt) {
    impl.begin_stmt = std::make_unique<SQLite::Statement>(*impl.db, "BEGIN IMMEDIATE");
    impl.commit_stmt = std::make_unique<SQLite::Statement>(*impl.db, "COMMIT");
  }
  store::rewind(*impl.begin_stmt);
  impl.begin_stmt->exec();
}

Store::Impl::WriteTxn::~WriteTxn() {
  if (m_open) {
    // A failed COMMIT or an exception left the transaction open.
    sqlite3_exec(m_impl.db->getHandle(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

void Store::Impl::WriteTxn::commit() {
  store::rewind(*m_impl.commit_stmt);
  m_impl.commit_stmt->exec();
  m_open = false;
}

TimeUs Store::Impl::next_action_time() {
  last_action_ts = std::max(now_us(), last_action_ts + 1);
  return last_action_ts;
}

void Store::Impl::note_self_mirrored(std::int64_t seq, std::int64_t log_bytes, bool periodic) {
  std::lock_guard<std::mutex> lock(self_mirrored_mu);
  self_log_bytes += log_bytes;
  self_periodic = self_periodic || periodic;
  if (!self_mirrored.empty() && self_mirrored.back().second + 1 == seq) {
    self_mirrored.back().second = seq;
  } else {
    self_mirrored.emplace_back(seq, seq);
  }
}

bool Store::Impl::any_self_mirrored() const {
  std::lock_guard<std::mutex> lock(self_mirrored_mu);
  return !self_mirrored.empty();
}

void Store::Impl::clear_self_mirrored() {
  std::lock_guard<std::mutex> lock(self_mirrored_mu);
  self_mirrored.clear();
  self_log_bytes = 0;
  self_periodic = false;
}

void Store::Impl::prune_self_mirrored(std::int64_t seq) {
  std::lock_guard<std::mutex> lock(self_mirrored_mu);
  auto keep = std::find_if(self_mirrored.begin(), self_mirrored.end(), [&](const auto& range) {
    return range.second > seq;
  });
  self_mirrored.erase(self_mirrored.begin(), keep);
}

bool Store::Impl::only_self_mirrored(std::int64_t after,
                                     std::int64_t upto,
                                     std::int64_t log_bytes) const {
  std::lock_guard<std::mutex> lock(self_mirrored_mu);
  if (upto <= after || self_periodic || self_log_bytes != log_bytes) {
    return false;
  }
  std::int64_t covered = 0; // of (after, upto]
  for (const auto& [first, last] : self_mirrored) {
    covered += std::max<std::int64_t>(0, std::min(last, upto) - std::max(first, after + 1) + 1);
  }
  return covered == upto - after;
}

void Store::Impl::drain_background() {
  if (background) {
    Status s = background->drain();
    if (!s.ok() && background_error.ok()) {
      background_error = std::move(s);
    }
  }
}

bool Store::Impl::is_self_mirrored(std::int64_t seq) const {
  std::lock_guard<std::mutex> lock(self_mirrored_mu);
  auto it = std::upper_bound(self_mirrored.begin(),
                             self_mirrored.end(),
                             seq,
                             [](std::int64_t s, const auto& range) { return s < range.first; });
  if (it == self_mirrored.begin()) {
    return false;
  }
  --it;
  return seq >= it->first && seq <= it->second;
}

Status Store::Impl::check_start_open_in_txn(const std::string& start_id,
                                            const std::set<std::string_view>& batch_ended) {
  const std::string already = "the start snapshot " + start_id + " already ended (";
  if (batch_ended.contains(start_id)) {
    return Status::InvalidArgument(already + "an earlier snapshot of this batch ends it)");
  }
  SQLite::Statement st(*db,
                       "SELECT snapshot_id FROM snapshot_rows WHERE start_snapshot_id = ? LIMIT 1");
  st.bind(1, start_id);
  if (st.executeStep()) {
    return Status::InvalidArgument(already + st.getColumn(0).getString() + ")");
  }
  return Status::OK();
}

Status Store::Impl::commit_and_mirror(std::vector<PendingRow>* rows,
                                      std::vector<Status>* mirror_status) {
  const bool in_background =
      background && std::all_of(rows->begin(), rows->end(), [](const PendingRow& row) {
        return row.type == SnapshotType::action;
      });
  // latest_periodic.json is written from the database, by this thread: the
  // background mirror's snapshots go first.
  if (!in_background) {
    drain_background();
  }
  util::FileLock lock;
  if (in_background) {
    BARROT_TRY(background->hold());
  } else {
    BARROT_TRY(mirror->lock_store(&lock, util::FileLock::Mode::shared, options.busy_timeout_ms));
  }
  Status committed = store::guarded("cannot record snapshot", [&]() -> Status {
    WriteTxn txn(*this);
    BARROT_TRY(check_bound_in_txn());
    SQLite::Statement& st = *insert_stmt;
    store::Digest prev;
    BARROT_TRY(chain_head_in_txn(&prev));
    // Within the batch, where the last row asking for a time ended up:
    // many rows of one time (a back-fill with second-resolution times)
    // start their search there, not each from the taken time again.
    std::map<std::pair<SnapshotType, TimeUs>, TimeUs> taken_up_to;
    std::set<std::string_view> starts_ended; // by earlier rows of this batch
    for (PendingRow& row : *rows) {
      if (row.ends_start) {
        // In the transaction: two processes ending one start at once must
        // not both succeed (a check before it cannot see the other's end).
        BARROT_TRY(check_start_open_in_txn(*row.start_snapshot_id, starts_ended));
        starts_ended.insert(*row.start_snapshot_id);
      }
      row.chain.prev = prev;
      const auto asked = std::pair(row.type, row.ts);
      if (auto it = taken_up_to.find(asked); it != taken_up_to.end()) {
        rerender_with_time(&row, it->second);
      }
      for (int attempt = 0;; ++attempt) {
        if (attempt == k_max_id_attempts) {
          return Status::IOError("no free snapshot id near " + row.id);
        }
        if (!mirror->file_exists(row.id)) {
          bind_insert(st, row);
          st.exec();
          if (db->getChanges() == 1) {
            row.seq = db->getLastInsertRowid();
            break;
          }
        }
        // Taken: the next id of the same resolution (docs/formats.md, "Ids").
        rerender_with_time(&row, row.ts + (row.type == SnapshotType::action ? 1 : 1'000'000));
      }
      taken_up_to[asked] = row.ts + (row.type == SnapshotType::action ? 1 : 1'000'000);
      row.chain.seq = row.seq;
      row.chain.hash = store::chain_hash(prev, row.compact);
      prev = row.chain.hash;
    }
    txn.commit();
    if (!rows->empty()) {
      head_seq = rows->back().seq;
      head_id = rows->back().id;
      head_hash = prev;
    }
    return Status::OK();
  });
  if (in_background) {
    if (!committed.ok()) {
      background->release();
      return committed;
    }
    // Committed: from here on, running out of memory leaves the mirror to
    // reconciliation (the close's, the next open's), as a full disk would.
    bool queued = false;
    try {
      std::vector<store::MirrorItem> items;
      items.reserve(rows->size());
      for (const PendingRow& row : *rows) {
        items.push_back(store::MirrorItem{row.id, row.compact, row.chain});
      }
      queued = background->submit(std::move(items)); // false: it gave the hold back
    } catch (const std::bad_alloc&) {
      background->release();
    }
    mirror_status->assign(rows->size(), queued ? Status::OK() : Status::IOError("out of memory"));
    try_periodic_reconcile();
    return Status::OK();
  }
  BARROT_TRY(committed);

  mirror_status->assign(rows->size(), Status::OK());
  std::string lines;
  std::vector<std::int64_t> line_bytes(rows->size(), 0);
  bool any_periodic = false;
  for (std::size_t i = 0; i < rows->size(); ++i) {
    PendingRow& row = (*rows)[i];
    BARROT_TRY_ASSIGN(std::string line, store::mirror_line(row.compact, row.chain));
    (*mirror_status)[i] = mirror->write_snapshot_file(row.id, store::pretty_compact(line));
    if (row.type == SnapshotType::action) {
      lines += line;
      lines += '\n';
      line_bytes[i] = static_cast<std::int64_t>(line.size()) + 1;
    } else {
      any_periodic = true;
    }
  }
  if (!lines.empty()) {
    Status s = mirror->append_log(lines);
    if (!s.ok()) {
      for (std::size_t i = 0; i < rows->size(); ++i) {
        if ((*rows)[i].type == SnapshotType::action && (*mirror_status)[i].ok()) {
          (*mirror_status)[i] = s;
        }
      }
    }
  }
  if (any_periodic) {
    Status s = write_latest_from_db();
    for (std::size_t i = 0; i < rows->size(); ++i) {
      if ((*rows)[i].type == SnapshotType::periodic && (*mirror_status)[i].ok()) {
        (*mirror_status)[i] = s;
      }
    }
  }
  for (std::size_t i = 0; i < rows->size(); ++i) {
    if ((*mirror_status)[i].ok()) {
      note_self_mirrored((*rows)[i].seq, line_bytes[i], (*rows)[i].type == SnapshotType::periodic);
    }
  }
  lock.unlock();
  try_periodic_reconcile();
  return Status::OK();
}

void Store::Impl::try_periodic_reconcile() {
  const std::int64_t now = util::monotonic_us();
  if (now - last_checkpoint_mono_us > k_checkpoint_interval_us) {
    // When this attempt does not get the lock (other writers hold it), the
    // next is a second later, not at the next write: each attempt drains the
    // background mirror. Moving the checkpoint resets the clock. Best effort:
    // a failure here leaves work for the next open, nothing more.
    last_checkpoint_mono_us = now - k_checkpoint_interval_us + k_checkpoint_retry_us;
    (void)reconcile(/*wait_ms=*/0);
  }
}

// --- Store --------------------------------------------------------------------

Store::Store(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

Store::~Store() {
  if (m_impl && m_impl->options.access == Access::read_write) {
    const bool had_background = m_impl->background != nullptr;
    m_impl->background.reset(); // writes everything queued
    // Files or lines the background mirror could not write (a full disk)
    // are not noted as mirrored: a look past the checkpoint finds them, and
    // the close writes them if it can, as it promises.
    if (had_background && !m_impl->any_self_mirrored()) {
      (void)m_impl->reconcile(/*wait_ms=*/0);
    }
    if (m_impl->any_self_mirrored()) {
      // Leave a fresh checkpoint so the next open has nothing to look at.
      (void)m_impl->reconcile(/*wait_ms=*/0, /*look_first=*/false);
    }
    try {
      store::checkpoint_if_long(*m_impl->db, m_impl->wal, m_impl->options.busy_timeout_ms);
    } catch (...) { // a destructor cannot report; the next close tries again
    }
  }
}

Result<std::unique_ptr<Store>> Store::Open(const Options& options) {
  return OpenStore(options, /*restoring=*/false);
}

Result<std::unique_ptr<Store>> Store::OpenStore(const Options& options, bool restoring) {
  if (options.snapshots_dir.empty()) {
    return Status::InvalidArgument("the snapshots directory is empty");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->db_path = options.db_path.empty()
                      ? options.snapshots_dir + "/" + mirror::k_state_dir + "/barrot.db"
                      : options.db_path;
  const bool rw = options.access == Access::read_write;
  if (rw && !restoring) {
    // A restore cut short: the database is the backup (or none yet),
    // without the snapshots recorded after it that only the mirror still
    // holds. A write now would take their place in the chain. Checked
    // first, before a database is made or upgraded.
    std::string from;
    if (util::read_file(AT_FDCWD, options.snapshots_dir + "/" + mirror::k_restoring_name, &from)
            .ok()) {
      while (!from.empty() && from.back() == '\n') {
        from.pop_back();
      }
      // A writer cannot tell a restore at work from one killed part way.
      return Status::IOError("a restore of this store from " + from +
                             " is at work, or was interrupted (then run `barrot restore " + from +
                             "` again, which finishes it); nothing was written");
    }
  }
  BARROT_TRY_ASSIGN(const bool db_exists, path_exists(impl->db_path));
  if ((!rw || !options.create) && !db_exists) {
    return Status::NotFound("no barrot store at " + impl->db_path +
                            " (record a snapshot first, or pass --dir / --db)");
  }
  // The database first: a file that is not a store (or is too new) is
  // refused before anything is created in the snapshots directory.
  if (rw && impl->db_path == options.snapshots_dir) {
    return Status::InvalidArgument("the database path " + impl->db_path +
                                   " is the snapshots directory: --db names a file");
  }
  if (rw && !db_exists) {
    BARROT_TRY(impl->check_new_database());
  }
  if (rw) {
    const std::size_t slash = impl->db_path.rfind('/');
    if (slash != std::string::npos && slash > 0) {
      BARROT_TRY(util::make_dirs(impl->db_path.substr(0, slash)).WithContext("database directory"));
    }
  }
  BARROT_TRY(
      store::open_database(impl->db_path, options, &impl->db, &impl->schema_version, &impl->wal));
  // A directory that is another store's mirror, or not this store's, is
  // refused before anything is created in it.
  bool bind = false;
  if (rw) {
    Store::Impl::Checkpoint cp;
    BARROT_TRY(impl->check_mirror_binding(options.adopt_mirror, &bind, &cp));
    if (!bind) {
      impl->mirror_id = cp.mirror_id;
      if (options.reconcile_on_open) {
        impl->opened_checkpoint = cp; // the reconciliation below need not read it again
      }
    }
  }
  BARROT_TRY(
      mirror::Mirror::Open(options.snapshots_dir, options.sync, options.access, &impl->mirror));
  if (bind) {
    BARROT_TRY(impl->bind_mirror());
  }
  if (rw) {
    BARROT_TRY(store::guarded("cannot prepare statements", [&]() -> Status {
      impl->insert_stmt = std::make_unique<SQLite::Statement>(*impl->db, k_insert_row_sql);
      return Status::OK();
    }));
    impl->last_checkpoint_mono_us = util::monotonic_us();
    if (options.background_mirror) {
      Impl* raw = impl.get();
      try { // its thread may not start (a process out of threads)
        impl->background = std::make_unique<store::BackgroundMirror>(
            impl->mirror.get(),
            options.busy_timeout_ms,
            [raw](std::int64_t seq, std::int64_t log_bytes) {
              raw->note_self_mirrored(seq, log_bytes, /*periodic=*/false);
            });
      } catch (const std::exception& e) {
        return Status::IOError(std::string("cannot start the background mirror: ") + e.what());
      }
      impl->mirror->set_before_exclusive([raw] { raw->drain_background(); });
    }
    if (options.reconcile_on_open) {
      BARROT_TRY(impl->reconcile(k_open_reconcile_wait_ms));
    }
    impl->opened_checkpoint.reset(); // later reconciliations read it afresh
  }
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

namespace {

Status require_writable(const Options& options) {
  if (options.access != Access::read_write) {
    return Status::InvalidArgument("the store was opened read-only");
  }
  return Status::OK();
}

Snapshot to_snapshot(PendingRow&& row, Status mirror) {
  Snapshot s;
  s.id = std::move(row.id);
  s.type = row.type;
  s.timestamp = row.ts;
  s.document = std::move(row.document);
  s.mirror = std::move(mirror);
  s.chain =
      ChainRecord{row.chain.seq, store::to_hex(row.chain.prev), store::to_hex(row.chain.hash)};
  return s;
}

// record_action and record_actions: each input checked (before anything
// copies it), then all in one transaction, then mirrored.
Result<std::vector<Snapshot>> record_inputs(Store::Impl& impl,
                                            std::span<const ActionInput> inputs) {
  BARROT_TRY(require_writable(impl.options));
  std::vector<PendingRow> rows(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const TimeUs ts = inputs[i].at ? *inputs[i].at : impl.next_action_time();
    Status s = prepare_action(inputs[i], ts, &rows[i]);
    if (!s.ok()) {
      return inputs.size() == 1 ? s : s.WithContext("action " + std::to_string(i + 1));
    }
  }
  std::vector<Status> mirror_status;
  BARROT_TRY(impl.commit_and_mirror(&rows, &mirror_status));
  std::vector<Snapshot> out;
  out.reserve(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    out.push_back(to_snapshot(std::move(rows[i]), std::move(mirror_status[i])));
  }
  return out;
}

} // namespace

Status Store::flush() {
  m_impl->drain_background();
  return std::exchange(m_impl->background_error, Status::OK());
}

Result<Snapshot> Store::record_action(const ActionInput& input) {
  // The input as it is, not a copy in a vector: copying details nested
  // 100,000 deep would overflow the stack before their depth is checked.
  BARROT_TRY_ASSIGN(auto snapshots, record_inputs(*m_impl, {&input, 1}));
  return std::move(snapshots.front());
}

Result<std::vector<Snapshot>> Store::record_actions(const std::vector<ActionInput>& inputs) {
  return record_inputs(*m_impl, inputs);
}

Result<Snapshot> Store::record_periodic(const PeriodicInput& input) {
  BARROT_TRY(require_writable(m_impl->options));
  if (!input.sections.is_object()) {
    return Status::InvalidArgument("periodic sections must be a JSON object");
  }
  if (input.interval.empty() || input.interval.size() > 64) {
    return Status::InvalidArgument("periodic interval must be 1 to 64 characters");
  }
  for (const char ch : input.interval) {
    const auto u = static_cast<unsigned char>(ch);
    if (u < 0x20 || u == 0x7f) {
      return Status::InvalidArgument("the periodic interval holds a control character");
    }
  }
  BARROT_TRY(validate_time(input.at, "the snapshot time"));
  // Before the sections are copied into the document (a deep copy
  // recurses), and what the document would not keep.
  BARROT_TRY(validate_depth(input.sections, "the periodic snapshot's values", 2));
  for (const char* own : {"snapshot_id", "snapshot_type", "timestamp", "interval", "metadata"}) {
    if (input.sections.contains(own)) {
      return Status::InvalidArgument(std::string("a periodic section may not be named \"") + own +
                                     "\": the store sets it");
    }
  }
  std::vector<PendingRow> rows(1);
  PendingRow& row = rows[0];
  row.type = SnapshotType::periodic;
  row.ts = input.at.value_or(now_us());
  row.id = make_snapshot_id(SnapshotType::periodic, row.ts);
  row.document = store::periodic_document(row.id, row.ts, input);
  // No deeper than an import (of the mirror, or an archive's way back) takes:
  // what is recorded must come back.
  BARROT_TRY(validate_depth(row.document, "the periodic snapshot's values", 2));
  try {
    row.compact = store::compact(row.document);
  } catch (const Json::exception& e) {
    return Status::InvalidArgument(std::string("periodic snapshot cannot be serialized: ") +
                                   e.what());
  }
  std::vector<Status> mirror_status;
  BARROT_TRY(m_impl->commit_and_mirror(&rows, &mirror_status));
  return to_snapshot(std::move(row), std::move(mirror_status[0]));
}

// --- Reading ------------------------------------------------------------------

namespace {

Result<Snapshot> snapshot_from_row(const std::string& id,
                                   const std::string& type,
                                   std::int64_t ts,
                                   const std::string& document) {
  BARROT_TRY_ASSIGN(Json doc, store::parse_document(document, id));
  Snapshot s;
  s.id = id;
  s.type = type == "periodic" ? SnapshotType::periodic : SnapshotType::action;
  s.timestamp = ts;
  s.document = std::move(doc);
  return s;
}

// Runs `sql` with `bind` and collects each row as a Snapshot. Columns:
// snapshot_id, snapshot_type, ts_us, document.
template <typename Bind>
Status query_snapshots(SQLite::Database& db,
                       const std::string& sql,
                       Bind&& bind,
                       std::vector<Snapshot>* out) {
  return store::guarded("cannot read snapshots", [&]() -> Status {
    SQLite::Statement st(db, sql);
    bind(st);
    while (st.executeStep()) {
      BARROT_TRY_ASSIGN(Snapshot s,
                        snapshot_from_row(st.getColumn(0).getString(),
                                          st.getColumn(1).getString(),
                                          st.getColumn(2).getInt64(),
                                          st.getColumn(3).getString()));
      out->push_back(std::move(s));
    }
    return Status::OK();
  });
}

} // namespace

Result<Snapshot> Store::get(std::string_view id) {
  BARROT_TRY(validate_snapshot_id(id));
  std::vector<Snapshot> found;
  BARROT_TRY(query_snapshots(
      *m_impl->db,
      "SELECT snapshot_id, snapshot_type, ts_us, document FROM snapshots WHERE snapshot_id = ?",
      [&](SQLite::Statement& st) { st.bind(1, std::string(id)); },
      &found));
  if (found.empty()) {
    // The month the id names may have been archived (barrot-archive): say so,
    // or a user takes "no snapshot" for "never happened".
    const std::string_view digits = id.substr(id.find('_') + 1);
    const std::string month =
        std::string(digits.substr(0, 4)) + "-" + std::string(digits.substr(4, 2));
    bool archived = false;
    BARROT_TRY(store::guarded("cannot read the archives table", [&]() -> Status {
      SQLite::Statement st(*m_impl->db,
                           "SELECT 1 FROM archives WHERE month = ? AND state != 'restored'");
      st.bind(1, month);
      archived = st.executeStep();
      return Status::OK();
    }));
    return Status::NotFound(
        "no snapshot " + std::string(id) +
        (archived ? " in the store; its month " + month +
                        " is archived (barrot search --archives finds it; barrot-archive "
                        "restore " +
                        month + " puts the month back)"
                  : ""));
  }
  return std::move(found.front());
}

Result<Snapshot> Store::latest_periodic() {
  BARROT_TRY_ASSIGN(auto found, latest(1, SnapshotType::periodic));
  if (found.empty()) {
    return Status::NotFound("no periodic snapshot yet");
  }
  return std::move(found.front());
}

Result<std::vector<Snapshot>> Store::latest(std::size_t count, std::optional<SnapshotType> type) {
  std::vector<Snapshot> out;
  const auto limit = static_cast<std::int64_t>(std::min<std::size_t>(count, INT64_MAX));
  if (type) {
    // The type as a literal: only then may the planner use the partial
    // index of periodic snapshots (migration 0005).
    BARROT_TRY(query_snapshots(
        *m_impl->db,
        std::string("SELECT snapshot_id, snapshot_type, ts_us, document FROM snapshots "
                    "WHERE snapshot_type = '") +
            std::string(to_string(*type)) + "' ORDER BY ts_us DESC, seq DESC LIMIT ?",
        [&](SQLite::Statement& st) { st.bind(1, limit); },
        &out));
  } else {
    // The periodic arm walks its partial index backwards, the action arm the
    // time index (nearly every row is an action).
    BARROT_TRY(query_snapshots(
        *m_impl->db,
        "SELECT snapshot_id, snapshot_type, ts_us, document FROM ("
        " SELECT * FROM (SELECT seq, snapshot_id, snapshot_type, ts_us, document FROM snapshots"
        "  WHERE snapshot_type = 'action' ORDER BY ts_us DESC, seq DESC LIMIT ?1)"
        " UNION ALL"
        " SELECT * FROM (SELECT seq, snapshot_id, snapshot_type, ts_us, document FROM snapshots"
        "  WHERE snapshot_type = 'periodic' ORDER BY ts_us DESC, seq DESC LIMIT ?1))"
        " ORDER BY ts_us DESC, seq DESC LIMIT ?1",
        [&](SQLite::Statement& st) { st.bind(1, limit); },
        &out));
  }
  return out;
}

Status Store::list(const std::function<bool(const SnapshotInfo&)>& fn) {
  return store::guarded("cannot list snapshots", [&]() -> Status {
    // The time index is in (ts_us, seq) order: every snapshot oldest first
    // without sorting the table.
    SQLite::Statement st(*m_impl->db,
                         "SELECT snapshot_id, ts_us, snapshot_type, action_type, status "
                         "FROM snapshot_rows ORDER BY ts_us, seq");
    SnapshotInfo info;
    while (st.executeStep()) {
      info.id = st.getColumn(0).getString();
      info.timestamp = st.getColumn(1).getInt64();
      info.type = std::string_view(st.getColumn(2).getText()) == "periodic" ? SnapshotType::periodic
                                                                            : SnapshotType::action;
      info.action_type = st.getColumn(3).getString();
      info.status = st.getColumn(4).getString();
      if (!fn(info)) {
        break;
      }
    }
    return Status::OK();
  });
}

Result<Summary> Store::summary() {
  // Index-only passes, no table scan (0.77 s -> about 0.25 s on a million
  // actions): one over (action_type, status, ts_us) for the action counts,
  // the periodic snapshots' partial index for their count and ends, and the
  // ends of the action range read off the time index.
  Summary sum;
  BARROT_TRY(store::guarded("cannot summarize snapshots", [&]() -> Status {
    SQLite::Database& db = *m_impl->db;
    SQLite::Statement counts(db,
                             "SELECT action_type, status, count(*) FROM snapshot_rows "
                             "WHERE action_type IS NOT NULL GROUP BY action_type, status");
    while (counts.executeStep()) {
      const std::int64_t n = counts.getColumn(2).getInt64();
      sum.actions_by_type[counts.getColumn(0).getString()] += n;
      sum.actions_by_status[counts.getColumn(1).getString()] += n;
      sum.actions += n;
    }
    SQLite::Statement periodic(
        db, "SELECT count(*) FROM snapshot_rows WHERE snapshot_type = 'periodic'");
    sum.periodic = periodic.executeStep() ? periodic.getColumn(0).getInt64() : 0;
    sum.total = sum.actions + sum.periodic;
    for (const char* type : {"action", "periodic"}) {
      std::optional<TimeUs> ends[2];
      for (int newest = 0; newest < 2; ++newest) {
        SQLite::Statement edge(
            db,
            std::string("SELECT ts_us FROM snapshot_rows WHERE snapshot_type = '") + type +
                "' ORDER BY ts_us " + (newest ? "DESC" : "ASC") + " LIMIT 1");
        if (edge.executeStep()) {
          ends[newest] = edge.getColumn(0).getInt64();
        }
      }
      if (!ends[0]) {
        continue;
      }
      (std::string_view(type) == "action" ? sum.latest_action : sum.latest_periodic) = ends[1];
      sum.first = sum.first ? std::min(*sum.first, *ends[0]) : ends[0];
      sum.last = sum.last ? std::max(*sum.last, *ends[1]) : ends[1];
    }
    return Status::OK();
  }));
  return sum;
}

namespace {

Status collect_infos(SQLite::Statement& st, std::vector<SnapshotInfo>* out) {
  while (st.executeStep()) {
    SnapshotInfo info;
    info.id = st.getColumn(0).getString();
    info.type = SnapshotType::action;
    info.timestamp = st.getColumn(1).getInt64();
    info.action_type = st.getColumn(2).getString();
    info.status = st.getColumn(3).getString();
    out->push_back(std::move(info));
  }
  return Status::OK();
}

std::int64_t clamp_limit(std::size_t limit) {
  return static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX));
}

} // namespace

Result<std::vector<SnapshotInfo>> Store::open_actions(std::size_t limit) {
  std::vector<SnapshotInfo> out;
  BARROT_TRY(store::guarded("cannot list open actions", [&]() -> Status {
    SQLite::Statement st(*m_impl->db,
                         "SELECT s.snapshot_id, s.ts_us, s.action_type, s.status FROM actions s "
                         "WHERE s.status = 'executing' AND s.origin = 'barrot' AND NOT EXISTS "
                         "(SELECT 1 FROM actions e WHERE e.start_snapshot_id = s.snapshot_id) "
                         "ORDER BY s.ts_us DESC LIMIT ?");
    st.bind(1, clamp_limit(limit));
    return collect_infos(st, &out);
  }));
  return out;
}

Result<std::vector<SnapshotInfo>>
Store::ended_actions(TimeUs after, TimeUs until, std::size_t limit, std::int64_t* total) {
  std::vector<SnapshotInfo> out;
  BARROT_TRY(store::guarded("cannot list ended actions", [&]() -> Status {
    const std::string where =
        " FROM snapshots WHERE status IN ('completed', 'failed') AND ts_us > ? AND ts_us <= ?";
    if (total != nullptr) {
      SQLite::Statement count(*m_impl->db, "SELECT count(*)" + where);
      count.bind(1, after);
      count.bind(2, until);
      *total = count.executeStep() ? count.getColumn(0).getInt64() : 0;
    }
    SQLite::Statement st(*m_impl->db,
                         "SELECT snapshot_id, ts_us, action_type, status" + where +
                             " ORDER BY ts_us DESC LIMIT ?");
    st.bind(1, after);
    st.bind(2, until);
    st.bind(3, clamp_limit(limit));
    return collect_infos(st, &out);
  }));
  return out;
}

Result<std::int64_t> Store::mirror_backlog() {
  std::int64_t n = 0;
  BARROT_TRY(store::guarded("cannot read the mirror checkpoint", [&]() -> Status {
    // Live writers move the checkpoint at least every minute; rows past a
    // checkpoint older than two are what a crash or a stuck writer left.
    SQLite::Statement st(*m_impl->db,
                         "SELECT seq FROM snapshot_rows WHERE seq > "
                         "(SELECT seq FROM mirror_checkpoint WHERE id = 1) AND "
                         "(SELECT updated_us FROM mirror_checkpoint WHERE id = 1) < ?");
    st.bind(1, now_us() - 2 * k_checkpoint_interval_us);
    while (st.executeStep()) {
      n += m_impl->is_self_mirrored(st.getColumn(0).getInt64()) ? 0 : 1;
    }
    return Status::OK();
  }));
  return n;
}

Result<std::vector<std::string>> Store::integrity_check() {
  std::vector<std::string> errors;
  BARROT_TRY(store::guarded("cannot check the database", [&]() -> Status {
    SQLite::Statement st(*m_impl->db, "PRAGMA quick_check(20)");
    while (st.executeStep()) {
      std::string message = st.getColumn(0).getString();
      if (message != "ok") {
        errors.push_back(std::move(message));
      }
    }
    return Status::OK();
  }));
  return errors;
}

const Options& Store::options() const {
  return m_impl->options;
}
const std::string& Store::db_path() const {
  return m_impl->db_path;
}
int Store::schema_version() const {
  return m_impl->schema_version;
}
int Store::latest_schema_version() {
  return store::latest_version();
}

} // namespace barrot
