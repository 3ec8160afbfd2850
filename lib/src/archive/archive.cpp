// Monthly archives: barrot-archive's run, list, verify, restore.
#include "archive/zstd_io.h"
#include "mirror/mirror.h"
#include "store/database.h"
#include "store/render.h"
#include "store/store_impl.h"
#include "util/fs.h"
#include "util/json_check.h"
#include "util/json_parse.h"
#include "util/sha256.h"
#include "util/time.h"

#include <barrot/archive.h>

#include <SQLiteCpp/Transaction.h>
#include <sqlite3.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_set>

namespace barrot {

namespace {

constexpr int k_format_version = 1;
constexpr const char* k_format_name = "barrot-archive";
constexpr const char* k_archive_ext = ".jsonl.zst";
constexpr const char* k_manifest_ext = ".manifest.json";
constexpr std::int64_t k_day_us = 86'400'000'000;
// Archives are read whole into memory; far above a month of snapshots.
constexpr std::size_t k_max_archive_bytes = std::size_t{1} << 36;
// Progress is reported every this many snapshots.
constexpr std::int64_t k_progress_every = 8192;

// --- Months -------------------------------------------------------------------

struct Month {
  int year = 0;
  int month = 0;
  bool operator<(const Month& o) const { return year != o.year ? year < o.year : month < o.month; }
  bool operator==(const Month& o) const = default;
};

Result<Month> parse_month(std::string_view s) {
  auto digits = [&](std::size_t from, std::size_t n) {
    int v = 0;
    for (std::size_t i = from; i < from + n; ++i) {
      if (s[i] < '0' || s[i] > '9') {
        return -1;
      }
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  Month m;
  if (s.size() == 7 && s[4] == '-') {
    m.year = digits(0, 4);
    m.month = digits(5, 2);
  }
  if (s.size() == 7 && s[4] == '-' && (m.year >= 0 && m.year < 1970) && m.month >= 1 &&
      m.month <= 12) {
    return Status::InvalidArgument("month " + std::string(s) +
                                   " is before 1970: archives hold 1970-01 to 9998-12 (older "
                                   "snapshots stay in the store)");
  }
  if (s.size() != 7 || s[4] != '-' || m.year < 1970 || m.year > 9998 || m.month < 1 ||
      m.month > 12) {
    std::string shown(s.substr(0, 40));
    for (char& c : shown) {
      c = (c < 0x20 || c == 0x7f) ? '?' : c;
    }
    return Status::InvalidArgument("bad month '" + shown + "' (expected YYYY-MM, e.g. 2026-01)");
  }
  return m;
}

std::string month_name(Month m) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d", m.year, m.month);
  return buf;
}

Month next_month(Month m) {
  return m.month == 12 ? Month{m.year + 1, 1} : Month{m.year, m.month + 1};
}

TimeUs month_start(Month m) {
  util::CivilTime t;
  t.year = m.year;
  t.month = m.month;
  return *util::from_civil(t);
}

Month month_of(TimeUs ts) {
  util::CivilTime t = util::to_civil(ts);
  return {t.year, t.month};
}

// The time a snapshot id names, to the second ("action_20250102_..." ->
// 2025-01-02T...). REQUIRES: a valid snapshot id.
Result<TimeUs> time_of_id(const std::string& id) {
  const std::string_view digits = std::string_view(id).substr(id.find('_') + 1);
  const std::string iso =
      std::string(digits.substr(0, 4)) + "-" + std::string(digits.substr(4, 2)) + "-" +
      std::string(digits.substr(6, 2)) + "T" + std::string(digits.substr(9, 2)) + ":" +
      std::string(digits.substr(11, 2)) + ":" + std::string(digits.substr(13, 2)) + "Z";
  return parse_iso8601(iso);
}

std::string archive_name(Month m) {
  return month_name(m) + k_archive_ext;
}

std::string manifest_name(Month m) {
  return month_name(m) + k_manifest_ext;
}

// A new archive is written under these names, and moved to the ones above
// only once the store has committed to it (see Archiver::Impl::archive_month).
std::string staged_archive_name(Month m) {
  return month_name(m) + ".next" + k_archive_ext;
}

std::string staged_manifest_name(Month m) {
  return month_name(m) + ".next" + k_manifest_ext;
}

// "2026-01.jsonl.zst" -> 2026-01.
std::optional<Month> month_of_archive_name(const std::string& name) {
  const std::string ext = k_archive_ext;
  if (name.size() != 7 + ext.size() || name.compare(7, ext.size(), ext) != 0) {
    return std::nullopt;
  }
  auto m = parse_month(std::string_view(name).substr(0, 7));
  return m.ok() ? std::optional<Month>(*m) : std::nullopt;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// --- Archive contents ---------------------------------------------------------

// One snapshot on its way into (or out of) an archive.
struct Entry {
  TimeUs ts = 0;
  std::string id;
  SnapshotType type = SnapshotType::action;
  std::string status; // actions only
  std::string text;   // the archive line: the compact document, with its chain record
  // The chain record the line carries; none in archives written before the
  // chain (schema 4), whose line is the document itself.
  std::optional<store::ChainLink> chain;
};

// Whether the store's copy of a snapshot (its content and chain link, as
// selected by `st` with seq, document and chain_prev in columns 0-2) is
// what archive entry `e` holds.
Result<bool> same_as_entry(SQLite::Statement& st, const Entry& e) {
  const std::string document = st.getColumn(1).getString();
  if (!e.chain) {
    return document == e.text;
  }
  BARROT_TRY_ASSIGN(store::ChainLink link, row_link(st, 0, 2, document));
  BARROT_TRY_ASSIGN(std::string line, store::mirror_line(document, link));
  return line == e.text;
}

// Parses an archive line of `month` into `e`; InvalidArgument naming the problem.
Status parse_line(std::string_view line, Month month, Entry* e, PendingRow* row_out) {
  Json doc = util::parse_json(line);
  if (doc.is_discarded()) {
    return Status::InvalidArgument("not valid JSON");
  }
  PendingRow row;
  BARROT_TRY(row_from_document(doc, "", &row));
  if (!(month_of(row.ts) == month)) {
    return Status::InvalidArgument("snapshot " + row.id + " is not of " + month_name(month));
  }
  e->ts = row.ts;
  e->id = row.id;
  e->type = row.type;
  e->status = row.status;
  e->text = std::string(line);
  e->chain = row.carried_chain;
  if (e->chain && store::chain_hash(e->chain->prev, row.compact) != e->chain->hash) {
    return Status::InvalidArgument("snapshot " + row.id +
                                   ": its chain hash does not match its content");
  }
  if (row_out != nullptr) {
    *row_out = std::move(row);
  }
  return Status::OK();
}

// What an archive file holds, checked line by line.
struct ArchiveContent {
  std::string file_sha256;
  std::int64_t file_bytes = 0;
  std::string content_sha256;
  std::int64_t content_bytes = 0;
  std::vector<Entry> entries;
  std::vector<PendingRow> rows; // when asked for
};

// Reads and checks the archive of `month`: zstd frames and checksums, every
// line a snapshot of the month, ascending, no id twice. NotFound when absent;
// Corruption naming the first problem.
Status read_archive_named(
    int dir_fd, Month month, const std::string& name, ArchiveContent* out, bool want_rows) {
  std::string data;
  Status s = util::read_file(dir_fd, name, &data, true, k_max_archive_bytes);
  if (!s.ok()) {
    return s;
  }
  out->file_bytes = static_cast<std::int64_t>(data.size());
  out->file_sha256 = util::sha256_hex(data);
  util::Sha256 content;
  std::int64_t number = 0;
  Status bad;
  s = archive::for_each_line(
      data,
      [&](std::string_view line) {
        ++number;
        content.update(line);
        content.update("\n");
        Entry e;
        PendingRow row;
        Status ls = parse_line(line, month, &e, want_rows ? &row : nullptr);
        if (ls.ok() && !out->entries.empty() && e.ts < out->entries.back().ts) {
          ls = Status::InvalidArgument("out of time order");
        }
        if (!ls.ok()) {
          bad = Status::Corruption(name + " line " + std::to_string(number) + ": " + ls.message());
          return false;
        }
        out->entries.push_back(std::move(e));
        if (want_rows) {
          out->rows.push_back(std::move(row));
        }
        return true;
      },
      &out->content_bytes);
  if (!bad.ok()) {
    return bad;
  }
  if (!s.ok()) {
    return Status::Corruption(name + ": " + s.message());
  }
  std::unordered_set<std::string_view> ids;
  ids.reserve(out->entries.size());
  for (const Entry& e : out->entries) {
    if (!ids.insert(e.id).second) {
      return Status::Corruption(name + ": a second copy of " + e.id);
    }
  }
  out->content_sha256 = content.hex_digest();
  return Status::OK();
}

Status read_archive(int dir_fd, Month month, ArchiveContent* out, bool want_rows) {
  return read_archive_named(dir_fd, month, archive_name(month), out, want_rows);
}

// Checks `c` against `manifest`; the first disagreement, or "".
std::string check_manifest(const ArchiveContent& c, const Json& manifest, Month month) {
  try {
    if (manifest.value("format", "") != k_format_name) {
      return "the manifest is not a barrot-archive manifest";
    }
    if (manifest.value("version", 0) != k_format_version) {
      return "the manifest's version is not " + std::to_string(k_format_version);
    }
    if (manifest.value("month", "") != month_name(month)) {
      return "the manifest is for month " + manifest.value("month", "?");
    }
    const Json& a = manifest.at("archive");
    if (a.at("sha256").get<std::string>() != c.file_sha256 ||
        a.at("bytes").get<std::int64_t>() != c.file_bytes) {
      return "the archive file's SHA-256 or size differs from its manifest";
    }
    const Json& content = manifest.at("content");
    if (content.at("sha256").get<std::string>() != c.content_sha256 ||
        content.at("bytes").get<std::int64_t>() != c.content_bytes) {
      return "the content's SHA-256 or size differs from its manifest";
    }
    std::int64_t actions = 0;
    for (const Entry& e : c.entries) {
      actions += e.type == SnapshotType::action ? 1 : 0;
    }
    const auto n = static_cast<std::int64_t>(c.entries.size());
    if (manifest.at("snapshots").get<std::int64_t>() != n ||
        manifest.at("counts").at("action").get<std::int64_t>() != actions ||
        manifest.at("counts").at("periodic").get<std::int64_t>() != n - actions) {
      return "the snapshot counts differ from the manifest";
    }
    if (n > 0 &&
        (manifest.at("first").at("snapshot_id").get<std::string>() != c.entries.front().id ||
         manifest.at("last").at("snapshot_id").get<std::string>() != c.entries.back().id)) {
      return "the first or last snapshot differs from the manifest";
    }
  } catch (const Json::exception& e) {
    return std::string("the manifest is malformed: ") + e.what();
  }
  return "";
}

// What a manifest says of an archive's snapshots, gathered as they are written.
struct Tally {
  std::int64_t snapshots = 0;
  std::int64_t actions = 0;
  std::map<std::string, std::int64_t, std::less<>> by_status{
      {"completed", 0}, {"executing", 0}, {"failed", 0}};
  std::string first_id, last_id;
  TimeUs first_ts = 0, last_ts = 0;

  void add(TimeUs ts, std::string_view id, SnapshotType type, std::string_view status) {
    if (snapshots++ == 0) {
      first_id.assign(id);
      first_ts = ts;
    }
    last_id.assign(id); // no allocation once it has room
    last_ts = ts;
    if (type == SnapshotType::action) {
      ++actions;
      auto it = by_status.find(status);
      if (it != by_status.end()) {
        ++it->second;
      } else {
        ++by_status[std::string(status)];
      }
    }
  }
};

Json make_manifest(Month month,
                   const Tally& t,
                   const std::string& content_sha,
                   std::int64_t content_bytes,
                   const std::string& file_sha,
                   std::int64_t file_bytes,
                   int level) {
  auto end_point = [](const std::string& id, TimeUs ts) {
    Json j = Json::object();
    j["snapshot_id"] = id;
    j["timestamp"] = format_iso8601(ts);
    return j;
  };
  Json m = Json::object();
  m["format"] = k_format_name;
  m["version"] = k_format_version;
  m["month"] = month_name(month);
  m["file"] = archive_name(month);
  m["snapshots"] = t.snapshots;
  m["counts"] = Json::object();
  m["counts"]["action"] = t.actions;
  m["counts"]["periodic"] = t.snapshots - t.actions;
  m["actions_by_status"] = Json::object();
  for (const auto& [status, n] : t.by_status) {
    m["actions_by_status"][status] = n;
  }
  m["first"] = end_point(t.first_id, t.first_ts);
  m["last"] = end_point(t.last_id, t.last_ts);
  m["content"] = Json::object();
  m["content"]["bytes"] = content_bytes;
  m["content"]["sha256"] = content_sha;
  m["archive"] = Json::object();
  m["archive"]["compression"] = "zstd";
  m["archive"]["level"] = level;
  m["archive"]["bytes"] = file_bytes;
  m["archive"]["sha256"] = file_sha;
  m["created_at"] = format_iso8601(util::realtime_us());
  m["created_by"] = std::string("barrot ") + BARROT_VERSION;
  return m;
}

Result<Json> read_manifest_file_named(int dir_fd, const std::string& name) {
  std::string text;
  BARROT_TRY(util::read_file(dir_fd, name, &text));
  Json j = util::parse_json(text);
  if (j.is_discarded() || !j.is_object()) {
    return Status::Corruption(name + " is not a JSON object");
  }
  return j;
}

Result<Json> read_manifest_file(int dir_fd, Month month) {
  return read_manifest_file_named(dir_fd, manifest_name(month));
}

// The store's record of one archive.
struct ArchiveRow {
  Month month;
  std::string file;
  std::string state;
  std::int64_t snapshots = 0;
  std::string manifest_text;
  Json manifest;
};

Status read_archive_rows(SQLite::Database& db, std::vector<ArchiveRow>* out) {
  return store::guarded("cannot read the archives table", [&]() -> Status {
    SQLite::Statement st(db,
                         "SELECT month, file, state, snapshots, manifest FROM archives "
                         "ORDER BY month");
    while (st.executeStep()) {
      ArchiveRow r;
      BARROT_TRY_ASSIGN(r.month, parse_month(st.getColumn(0).getString()));
      r.file = st.getColumn(1).getString();
      r.state = st.getColumn(2).getString();
      r.snapshots = st.getColumn(3).getInt64();
      r.manifest_text = st.getColumn(4).getString();
      r.manifest = Json::parse(r.manifest_text, nullptr, false);
      out->push_back(std::move(r));
    }
    return Status::OK();
  });
}

// The directory of an archive path recorded in the store. The path is
// relative to the snapshots directory `snapshots_dir` (archives inside it:
// the store can move) or absolute, and must end in the month's own archive
// name; a relative one may not climb out with "..".
Status recorded_dir(const ArchiveRow& row, const std::string& snapshots_dir, std::string* dir) {
  const std::string name = archive_name(row.month);
  const std::string& f = row.file;
  const bool named =
      f == name || (f.size() > name.size() &&
                    f.compare(f.size() - name.size() - 1, name.size() + 1, "/" + name) == 0);
  const bool climbs =
      f.front() != '/' && (f.rfind("../", 0) == 0 || f.find("/../") != std::string::npos);
  if (f.empty() || !named || climbs || f.find('\0') != std::string::npos) {
    return Status::Corruption("the archives table names an unexpected file for " +
                              month_name(row.month) + ": " + f);
  }
  *dir = f.size() == name.size() ? "." : f.substr(0, f.size() - name.size() - 1);
  if (dir->empty()) {
    *dir = "/";
  } else if (dir->front() != '/') {
    *dir = snapshots_dir + "/" + *dir;
  }
  return Status::OK();
}

// Whether descriptors `a` and `b` are the same directory.
bool same_dir(int a, int b) {
  struct stat sa {};
  struct stat sb {};
  return ::fstat(a, &sa) == 0 && ::fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

// Whether directory `fd` holds `month`'s archive, or its staged copy.
bool holds_archive(int fd, Month month) {
  return util::exists_at(fd, archive_name(month)) ||
         util::exists_at(fd, staged_archive_name(month));
}

constexpr char k_moved_hint[] = " (moved? 'barrot-archive run --archive-dir DIR' finds it there "
                                "and records its new place)";

// The recorded directory of `row`'s archive, opened. When it does not hold
// the month's archive but `archive_dir` (the archive directory given now:
// the archives were moved, or the mirror rebuilt elsewhere) does, that
// directory: the recorded manifest tells whether it is the same archive.
// `*shown` (if given) is set to the archive's path as messages name it.
Status open_recorded_dir(const ArchiveRow& row,
                         const std::string& snapshots_dir,
                         const std::string& archive_dir,
                         util::UniqueFd* fd,
                         std::string* shown = nullptr) {
  std::string dir;
  BARROT_TRY(recorded_dir(row, snapshots_dir, &dir));
  if (shown != nullptr) {
    *shown = row.file;
  }
  Status s = util::open_dir(dir, fd);
  if (s.ok() && holds_archive(fd->get(), row.month)) {
    return s;
  }
  util::UniqueFd moved;
  if (!archive_dir.empty() && util::open_dir(archive_dir, &moved).ok() &&
      holds_archive(moved.get(), row.month)) {
    *fd = std::move(moved);
    if (shown != nullptr) {
      *shown = archive_dir + "/" + archive_name(row.month);
    }
    return Status::OK();
  }
  if (s.ok()) {
    return s; // reading names the missing file
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 && errno == ENOENT) { // not unreadable: gone
    return Status::NotFound(row.file + ": the archive is missing, with its directory " + dir +
                            k_moved_hint);
  }
  return s;
}

// fsyncs the directory `fd`.
Status sync_dir(int fd, const std::string& what) {
  if (::fsync(fd) != 0) {
    return util::errno_status("cannot fsync", what, errno);
  }
  return Status::OK();
}

std::int64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::int64_t>(st.st_size) : 0;
}

// A recorded archive path as one to open: relative ones are relative to the
// snapshots directory.
std::string resolved_path(const ArchiveRow& row, const std::string& snapshots_dir) {
  return !row.file.empty() && row.file.front() == '/' ? row.file : snapshots_dir + "/" + row.file;
}

// Moves a staged archive (and its manifest) into place; fsyncs the directory.
Status promote_staged(int dir_fd, Month month) {
  if (::renameat(dir_fd, staged_archive_name(month).c_str(), dir_fd, archive_name(month).c_str()) !=
      0) {
    return util::errno_status("cannot rename", staged_archive_name(month), errno);
  }
  if (::renameat(
          dir_fd, staged_manifest_name(month).c_str(), dir_fd, manifest_name(month).c_str()) != 0 &&
      errno != ENOENT) {
    return util::errno_status("cannot rename", staged_manifest_name(month), errno);
  }
  return sync_dir(dir_fd, "the archive directory");
}

// The archive directory when none is given: <snapshots>/archive.
std::string default_dir(const Store::Impl& impl) {
  return impl.mirror->dir() + "/" + mirror::k_archive_dir;
}

// Reads the archive the store recorded for `row`'s month and checks it
// against the recorded manifest. After a run that committed but was stopped
// before it moved its new archive into place, that archive is the staged
// one: it is used, and moved into place when `promote`.
Status read_recorded_archive(Store::Impl& impl,
                             const ArchiveRow& row,
                             const std::string& archive_dir,
                             bool promote,
                             ArchiveContent* out,
                             bool want_rows) {
  util::UniqueFd dir;
  std::string shown;
  BARROT_TRY(open_recorded_dir(row, impl.mirror->dir(), archive_dir, &dir, &shown));
  Status s = read_archive(dir.get(), row.month, out, want_rows);
  std::string why = s.ok() ? check_manifest(*out, row.manifest, row.month) : s.message();
  if (s.ok() && why.empty()) {
    return Status::OK();
  }
  ArchiveContent staged;
  if (read_archive_named(dir.get(), row.month, staged_archive_name(row.month), &staged, want_rows)
          .ok() &&
      check_manifest(staged, row.manifest, row.month).empty()) {
    if (promote) {
      BARROT_TRY(promote_staged(dir.get(), row.month));
    }
    *out = std::move(staged);
    return Status::OK();
  }
  if (s.IsNotFound()) {
    return Status::NotFound(shown + ": the archive file is missing" + k_moved_hint);
  }
  return Status::Corruption(shown + ": " + why +
                            (shown == row.file ? " (the store's record of it)"
                                               : " (the store's record of " + row.file + ")"));
}

// Removes the mirror files and log lines of `ids` (snapshots no longer in
// the store). Files first, without the mirror lock (no writer touches the
// files of deleted snapshots); then, under the lock, the log.
Status remove_from_mirror(Store::Impl& impl,
                          const std::unordered_set<std::string>& ids,
                          bool lock_held,
                          MonthReport* report,
                          const std::function<void(std::int64_t, std::int64_t)>& progress) {
  mirror::Mirror& m = *impl.mirror;
  std::int64_t done = 0;
  const auto total = static_cast<std::int64_t>(ids.size());
  for (const std::string& id : ids) {
    const std::string name = mirror::Mirror::file_name(id);
    if (::unlinkat(m.dir_fd(), name.c_str(), 0) == 0) {
      ++report->files_removed;
    } else if (errno != ENOENT) {
      return util::errno_status("cannot remove", m.dir() + "/" + name, errno);
    }
    if (++done % k_progress_every == 0 && progress) {
      progress(done, total);
    }
  }
  BARROT_TRY(sync_dir(m.dir_fd(), m.dir()));
  util::FileLock lock;
  if (!lock_held) {
    BARROT_TRY(m.lock_store(&lock, util::FileLock::Mode::exclusive, impl.options.busy_timeout_ms));
    // Everything committed so far mirrored first, so that the checkpoint
    // moved below covers a complete log.
    BARROT_TRY(impl.reconcile_locked());
  }
  // Only actions have log lines: a month whose periodic snapshots alone
  // were archived (the default retentions do that every month) leaves the
  // log as it is, unread.
  const bool any_action = std::any_of(
      ids.begin(), ids.end(), [](const std::string& id) { return id.rfind("action_", 0) == 0; });
  if (!any_action) {
    if (progress) {
      progress(total, total);
    }
    return impl.advance_checkpoint(0, /*fts_now=*/false);
  }
  // The log read and the kept lines written piece by piece: neither is held
  // whole. fsynced: the archive is marked done only once the lines are gone
  // for good. Nothing dropped, the writer removes its file.
  util::AtomicWriter kept;
  BARROT_TRY(kept.open(m.dir_fd(), mirror::k_log_name, util::FsyncMode::fsync));
  std::int64_t dropped = 0;
  Status failed;
  BARROT_TRY(m.for_each_log_line(-1, [&](std::string_view line, std::int64_t, bool has_nl) {
    if (has_nl && ids.count(mirror::log_line_id(line)) != 0) {
      ++dropped;
      return true;
    }
    failed = kept.append(line);
    if (failed.ok() && has_nl) {
      failed = kept.append("\n");
    }
    return failed.ok();
  }));
  BARROT_TRY(failed);
  if (dropped > 0) {
    BARROT_TRY(kept.commit(util::Overwrite::yes));
    report->lines_removed += dropped;
  }
  if (progress) {
    progress(total, total);
  }
  return impl.advance_checkpoint(0, /*fts_now=*/false);
}

Status mark_archived(SQLite::Database& db, Month month) {
  return store::guarded("cannot record the archive", [&]() -> Status {
    SQLite::Statement st(db,
                         "UPDATE archives SET state = 'archived' WHERE month = ? AND state = "
                         "'cleaning'");
    st.bind(1, month_name(month));
    st.exec();
    return Status::OK();
  });
}

// Ids in `entries` that the store does not hold.
Status ids_not_in_store(SQLite::Database& db,
                        const std::vector<Entry>& entries,
                        std::unordered_set<std::string>* out) {
  return store::guarded("cannot look up archived snapshots", [&]() -> Status {
    SQLite::Statement st(db, "SELECT 1 FROM snapshots WHERE snapshot_id = ?");
    for (const Entry& e : entries) {
      st.reset();
      st.bind(1, e.id);
      if (!st.executeStep()) {
        out->insert(e.id);
      }
    }
    return Status::OK();
  });
}

// Checks the lines of a buffer as JSON on a second thread while the buffer
// is still being filled: ready(data, n) says data[0, n) is final.
class LineChecker {
public:
  LineChecker() : m_thread([this] { work(); }) {}
  ~LineChecker() {
    ready(nullptr, 0, true);
    if (m_thread.joinable()) {
      m_thread.join();
    }
  }
  LineChecker(const LineChecker&) = delete;
  LineChecker& operator=(const LineChecker&) = delete;

  void ready(const char* data, std::size_t n, bool done = false) {
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      if (data != nullptr) {
        m_data = data;
        m_ready = std::max(m_ready, n);
      }
      m_done = m_done || done;
    }
    m_cv.notify_one();
  }

  // Waits for the checks to finish (after ready(.., true)).
  util::LineCheck result() {
    if (m_thread.joinable()) {
      m_thread.join();
    }
    return m_result;
  }

private:
  void work() {
    std::size_t pos = 0;
    for (;;) {
      std::size_t ready = 0;
      bool done = false;
      const char* data = nullptr;
      {
        std::unique_lock<std::mutex> lock(m_mutex);
        m_cv.wait(lock, [&] { return m_done || m_ready > pos; });
        ready = m_ready;
        done = m_done;
        data = m_data;
      }
      // Whole lines only, unless the buffer is complete.
      std::size_t end = ready;
      if (!done) {
        const std::size_t nl = std::string_view(data, ready).rfind('\n');
        end = nl == std::string_view::npos || nl < pos ? pos : nl + 1;
      }
      if (end > pos) {
        const util::LineCheck c =
            util::check_json_lines(std::string_view(data + pos, end - pos), false);
        if (m_result.first_bad < 0 && c.first_bad >= 0) {
          m_result.first_bad = m_result.lines + c.first_bad;
        }
        m_result.lines += c.lines;
        pos = end;
      }
      if (done) {
        return;
      }
      if (end == pos) {
        std::unique_lock<std::mutex> lock(m_mutex);
        m_cv.wait(lock, [&] { return m_done || m_ready > ready; });
      }
    }
  }

  std::mutex m_mutex;
  std::condition_variable m_cv;
  const char* m_data = nullptr;
  std::size_t m_ready = 0;
  bool m_done = false;
  util::LineCheck m_result;
  std::thread m_thread; // last: starts once the rest is ready
};

} // namespace

// --- Store::Impl hooks (verify and repair) ---------------------------------------

namespace {

// Calls fn(row, ids) for each month left "cleaning", with the ids its
// archive holds that the store no longer does. A month whose archive cannot
// be read gets a problem in `unreadable` instead: without the archive there
// is no telling which files were archived, so they stay (they may be the
// only copy left) and the other months go on.
Status for_each_cleaning_month(
    Store::Impl& impl,
    bool promote,
    std::vector<Problem>* unreadable,
    const std::function<Status(const ArchiveRow&, const std::unordered_set<std::string>&)>& fn) {
  std::vector<ArchiveRow> rows;
  BARROT_TRY(read_archive_rows(*impl.db, &rows));
  for (const ArchiveRow& row : rows) {
    if (row.state != "cleaning") {
      continue;
    }
    ArchiveContent content;
    Status s = read_recorded_archive(impl, row, default_dir(impl), promote, &content, false);
    if (!s.ok()) {
      unreadable->push_back({Problem::Kind::archive_cleanup,
                             "",
                             row.file,
                             "the cleanup of " + month_name(row.month) +
                                 " cannot proceed: " + s.message() +
                                 " (put the archive back, e.g. from a backup, and run again)"});
      continue;
    }
    std::unordered_set<std::string> gone;
    BARROT_TRY(ids_not_in_store(*impl.db, content.entries, &gone));
    BARROT_TRY(fn(row, gone));
  }
  return Status::OK();
}

} // namespace

Status Store::Impl::pending_archive_ids(std::unordered_map<std::string, std::string>* out,
                                        std::vector<Problem>* unreadable) {
  return for_each_cleaning_month(
      *this,
      /*promote=*/false,
      unreadable,
      [&](const ArchiveRow& row, const std::unordered_set<std::string>& gone) {
        for (const std::string& id : gone) {
          out->emplace(id, month_name(row.month));
        }
        return Status::OK();
      });
}

Status Store::Impl::archived_copies(const std::vector<std::string>& ids,
                                    std::unordered_map<std::string, std::string>* held) {
  // The month each id names (the ids of files and lines are valid ones).
  std::map<std::string, std::vector<const std::string*>> by_month;
  for (const std::string& id : ids) {
    if (auto t = time_of_id(id); t.ok()) {
      by_month[month_name(month_of(*t))].push_back(&id);
    }
  }
  if (by_month.empty()) {
    return Status::OK();
  }
  std::vector<ArchiveRow> rows;
  BARROT_TRY(read_archive_rows(*db, &rows));
  for (const ArchiveRow& row : rows) {
    auto wanted = by_month.find(month_name(row.month));
    if (row.state != "archived" || wanted == by_month.end()) {
      continue;
    }
    ArchiveContent content;
    if (!read_recorded_archive(*this, row, default_dir(*this), false, &content, false).ok()) {
      continue; // verify and barrot-archive verify name it
    }
    std::unordered_set<std::string> in_archive;
    for (const Entry& e : content.entries) {
      in_archive.insert(e.id);
    }
    for (const std::string* id : wanted->second) {
      if (in_archive.count(*id) != 0) {
        held->emplace(*id, wanted->first);
      }
    }
  }
  return Status::OK();
}

Status Store::Impl::remove_archived_copies_locked(const std::unordered_set<std::string>& ids,
                                                  const std::string& stamp,
                                                  RepairReport* report) {
  mirror::Mirror& m = *mirror;
  std::string folder;
  for (const std::string& id : ids) {
    const std::string name = mirror::Mirror::file_name(id);
    if (util::exists_at(m.dir_fd(), name)) {
      BARROT_TRY(m.quarantine(name, stamp, &folder));
      ++report->archived_files_removed;
    }
  }
  std::string lines;
  BARROT_TRY(m.for_each_log_line(-1, [&](std::string_view line, std::int64_t, bool has_nl) {
    if (has_nl && ids.count(mirror::log_line_id(line)) != 0) {
      lines.append(line);
      lines += '\n';
    }
    return true;
  }));
  if (!lines.empty()) {
    BARROT_TRY(m.quarantine_text("action_log.archived-copies.jsonl", lines, stamp, &folder));
  }
  MonthReport removed; // the files are gone already; the lines go here
  BARROT_TRY(remove_from_mirror(*this, ids, /*lock_held=*/true, &removed, nullptr));
  report->archived_lines_removed += removed.lines_removed;
  if (!folder.empty()) {
    report->quarantine_dir = folder;
  }
  return Status::OK();
}

Status Store::Impl::archived_documents(TimeUs ts, std::unordered_map<std::string, Json>* out) {
  const Month month = month_of(ts);
  std::vector<ArchiveRow> rows;
  BARROT_TRY(read_archive_rows(*db, &rows));
  for (const ArchiveRow& row : rows) {
    if (!(row.month == month) || row.state == "restored") {
      continue;
    }
    ArchiveContent content;
    BARROT_TRY(read_recorded_archive(
        *this, row, default_dir(*this), /*promote=*/false, &content, /*want_rows=*/true));
    for (PendingRow& r : content.rows) {
      out->emplace(r.id, std::move(r.document));
    }
  }
  return Status::OK();
}

Status Store::Impl::for_each_archived_line(
    const std::function<void(const std::string& file, const ArchivedLine& line)>& fn,
    const std::function<void(const std::string& file, const std::string& problem)>& unreadable) {
  std::vector<ArchiveRow> rows;
  BARROT_TRY(read_archive_rows(*db, &rows));
  for (const ArchiveRow& row : rows) {
    ArchiveContent content;
    Status s =
        read_recorded_archive(*this, row, default_dir(*this), /*promote=*/false, &content, false);
    if (!s.ok()) {
      unreadable(row.file, s.message());
      // Its lines, if they still read, without the manifest: the chain
      // beyond the damage can still be followed.
      util::UniqueFd dir;
      content = ArchiveContent();
      if (!open_recorded_dir(row, mirror->dir(), "", &dir).ok() || // the recorded one only
          !read_archive(dir.get(), row.month, &content, false).ok()) {
        continue;
      }
    }
    for (const Entry& e : content.entries) {
      fn(row.file, ArchivedLine{e.id, e.chain});
    }
  }
  return Status::OK();
}

Status Store::Impl::finish_archive_cleanups_locked(std::vector<std::string>* months,
                                                   std::vector<Problem>* stuck) {
  return for_each_cleaning_month(
      *this,
      /*promote=*/true,
      stuck,
      [&](const ArchiveRow& row, const std::unordered_set<std::string>& gone) -> Status {
        MonthReport unused;
        BARROT_TRY(remove_from_mirror(*this, gone, /*lock_held=*/true, &unused, nullptr));
        BARROT_TRY(mark_archived(*db, row.month));
        if (months != nullptr) {
          months->push_back(month_name(row.month));
        }
        return Status::OK();
      });
}

// --- Archiver -------------------------------------------------------------------

struct Archiver::Impl {
  Store::Impl& store;
  ArchiveOptions options;
  std::optional<Month> only_month;
  std::string dir; // absolute, once opened
  util::UniqueFd dir_fd;
  util::UniqueFd lock_fd; // .barrot/archive.lock, while held

  explicit Impl(Store::Impl& s) : store(s) {}

  SQLite::Database& db() { return *store.db; }

  TimeUs now() const { return options.now != 0 ? options.now : util::realtime_us(); }

  void
  progress(const std::string& month, const char* phase, std::int64_t done, std::int64_t total) {
    if (options.progress) {
      options.progress(ArchiveProgress{month, phase, done, total});
    }
  }

  Status require_writable() const {
    if (store.options.access != Access::read_write) {
      return Status::InvalidArgument("the store was opened read-only");
    }
    return Status::OK();
  }

  // Opens the archive directory (creating it when `create`).
  Status open_dir(bool create) {
    if (dir_fd.valid()) {
      return Status::OK();
    }
    if (create) {
      BARROT_TRY(util::make_dirs(options.archive_dir));
    }
    Status s = util::open_dir(options.archive_dir, &dir_fd);
    if (!s.ok()) {
      return s.WithContext("archive directory");
    }
    char* real = ::realpath(options.archive_dir.c_str(), nullptr);
    if (real == nullptr) {
      return util::errno_status("cannot resolve", options.archive_dir, errno);
    }
    dir = real;
    std::free(real);
    return Status::OK();
  }

  // Holds `lock` on .barrot/archive.lock: two archivers at once could each
  // rewrite a month's archive from a different view of it.
  Status lock_archiver(util::FileLock* lock) {
    return store.mirror->lock_archiving(&lock_fd, lock, store.options.busy_timeout_ms);
  }

  // Staged archives a killed run left in the archive directory: moved into
  // place when the store committed to them, else removed (the store still
  // holds their snapshots). REQUIRES: lock_archiver.
  Status settle_staged();

  // Archives no longer where the store recorded them but in the archive
  // directory (moved there), each checked against the store's copy of its
  // manifest: their new place is recorded, so that every reader (import,
  // verify --chain, repair) finds them. Their months go to `*moved`.
  // REQUIRES: lock_archiver, open_dir.
  Status record_moved_archives(std::vector<std::string>* moved);

  // How the store records `name` in the archive directory: relative to the
  // snapshots directory when inside it (so the two move together), else
  // absolute.
  std::string record_path(const std::string& name) const {
    char* real = ::realpath(store.mirror->dir().c_str(), nullptr);
    std::string snapshots = real != nullptr ? real : "";
    std::free(real);
    if (!snapshots.empty() && dir.size() > snapshots.size() &&
        dir.compare(0, snapshots.size() + 1, snapshots + "/") == 0) {
      return dir.substr(snapshots.size() + 1) + "/" + name;
    }
    return dir + "/" + name;
  }

  struct Plan {
    Month month;
    bool actions = false;  // action snapshots of the month are due
    bool periodic = false; // periodic snapshots of the month are due
    MonthReport report;
  };

  Status newest_periodic_seq(std::int64_t* seq);
  // OK when `month` has no archive yet, or its recorded one (or a copy in
  // the archive directory) is there to be extended; else the run's error.
  Status find_archive_to_extend(Month month);
  // The archived months `filter` may match, loaded into an in-memory
  // database with the store's schema and full-text index.
  Status load_for_search(const SearchFilter& filter, std::unique_ptr<SQLite::Database>* out);
  Status make_plan(std::vector<Plan>* plans);
  // Archives one month. An error means the store still holds it; an error
  // after the month left the store goes to `*unfinished` instead.
  Status archive_month(Plan& plan, std::int64_t newest_periodic, Status* unfinished);
  Status reclaim(ArchiveRunReport* report);
  // Whether the store gives space back incrementally and has free pages.
  bool free_pages_to_give_back();
};

Archiver::Archiver(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Archiver::~Archiver() = default;

Result<std::unique_ptr<Archiver>> Archiver::Open(Store& store, const ArchiveOptions& options) {
  auto impl = std::make_unique<Impl>(*store.m_impl);
  impl->options = options;
  if (impl->options.archive_dir.empty()) {
    impl->options.archive_dir = default_dir(*store.m_impl);
  }
  if (impl->options.archive_dir.find('\0') != std::string::npos) {
    return Status::InvalidArgument("the archive directory contains a NUL byte");
  }
  if (options.dry_run) {
    // The store is open read-only, unchecked: refuse what the run would.
    BARROT_TRY(store.mirror_binding());
  }
  if (!options.month.empty()) {
    BARROT_TRY_ASSIGN(Month m, parse_month(options.month));
    impl->only_month = m;
  }
  if (options.level < 1 || options.level > 19) {
    return Status::InvalidArgument("zstd level " + std::to_string(options.level) +
                                   " is not in 1..19");
  }
  constexpr std::int64_t k_max_days = 100 * 366;
  for (std::int64_t days : {options.retention.periodic_days, options.retention.action_days}) {
    if (days < 0 || days > k_max_days) {
      return Status::InvalidArgument("retention of " + std::to_string(days) +
                                     " days is not in 0.." + std::to_string(k_max_days));
    }
  }
  // Archiving reads a month of documents once: through a memory map, not
  // read() into the page cache and copies out of it.
  BARROT_TRY(store::guarded("cannot configure the database", [&]() -> Status {
    store.m_impl->db->exec("PRAGMA mmap_size = 4294967296");
    return Status::OK();
  }));
  return std::unique_ptr<Archiver>(new Archiver(std::move(impl)));
}

Status Archiver::Impl::newest_periodic_seq(std::int64_t* seq) {
  return store::guarded("cannot find the newest periodic snapshot", [&]() -> Status {
    SQLite::Statement st(db(),
                         "SELECT seq FROM snapshots WHERE snapshot_type = 'periodic' "
                         "ORDER BY ts_us DESC, seq DESC LIMIT 1");
    *seq = st.executeStep() ? st.getColumn(0).getInt64() : -1;
    return Status::OK();
  });
}

Status Archiver::Impl::make_plan(std::vector<Plan>* plans) {
  // Snapshots of type T are due when their whole month lies before now
  // minus T's retention: before the start of the month that instant is in.
  const TimeUs t = now();
  TimeUs cut_periodic = month_start(month_of(t - options.retention.periodic_days * k_day_us));
  TimeUs cut_actions = month_start(month_of(t - options.retention.action_days * k_day_us));
  TimeUs from = LLONG_MIN;
  if (only_month) {
    const TimeUs end = month_start(next_month(*only_month));
    if (end > t) {
      return Status::InvalidArgument("month " + month_name(*only_month) +
                                     " has not ended yet; only complete months are archived");
    }
    from = month_start(*only_month);
    cut_periodic = cut_actions = end;
  }
  std::int64_t newest = 0;
  BARROT_TRY(newest_periodic_seq(&newest));
  std::map<Month, Plan> by_month;
  BARROT_TRY(store::guarded("cannot plan the archive run", [&]() -> Status {
    SQLite::Statement st(
        db(),
        "SELECT strftime('%Y-%m', ts_us / 1000000, 'unixepoch'), snapshot_type, count(*), "
        "sum(" +
            std::string(k_document_bytes_sql) +
            ") FROM snapshot_rows "
            "WHERE ((snapshot_type = 'periodic' AND ts_us >= ?1 AND ts_us < ?2) "
            "    OR (snapshot_type = 'action' AND ts_us >= ?1 AND ts_us < ?3)) AND seq <> ?4 "
            "GROUP BY 1, 2");
    st.bind(1, from);
    st.bind(2, cut_periodic);
    st.bind(3, cut_actions);
    st.bind(4, newest);
    while (st.executeStep()) {
      auto month = parse_month(st.getColumn(0).getString());
      if (!month.ok()) {
        continue; // before 1970: not a time Barrot writes
      }
      Plan& p = by_month[*month];
      p.month = *month;
      p.report.month = month_name(*month);
      const std::int64_t n = st.getColumn(2).getInt64();
      if (st.getColumn(1).getString() == "action") {
        p.actions = true;
        p.report.actions = n;
      } else {
        p.periodic = true;
        p.report.periodic = n;
      }
      p.report.bytes += st.getColumn(3).getInt64();
    }
    return Status::OK();
  }));
  for (auto& [m, p] : by_month) {
    p.report.file = (dir.empty() ? options.archive_dir : dir) + "/" + archive_name(m);
    plans->push_back(std::move(p));
  }
  return Status::OK();
}

Status Archiver::Impl::find_archive_to_extend(Month month) {
  std::vector<ArchiveRow> rows;
  BARROT_TRY(read_archive_rows(db(), &rows));
  for (const ArchiveRow& row : rows) {
    if (!(row.month == month)) {
      continue;
    }
    util::UniqueFd fd;
    std::string shown;
    Status s = open_recorded_dir(row, store.mirror->dir(), options.archive_dir, &fd, &shown);
    if (s.ok() && !holds_archive(fd.get(), month)) {
      s = Status::NotFound(shown + ": the archive file is missing" + k_moved_hint);
    }
    if (!s.ok()) {
      return s.WithContext(
          "the archive of " + month_name(month) +
          " cannot be extended; that month is left as it was (see barrot-archive verify)");
    }
  }
  return Status::OK();
}

Status Archiver::Impl::archive_month(Plan& plan, std::int64_t newest_periodic, Status* unfinished) {
  const std::string mname = month_name(plan.month);
  MonthReport& rep = plan.report;
  const auto t0 = std::chrono::steady_clock::now();
  const TimeUs start = month_start(plan.month);
  const TimeUs end = month_start(next_month(plan.month));
  const std::int64_t expected = rep.actions + rep.periodic;

  // 1. The month's archive, if one exists (an earlier run archived other
  //    types, or the month was restored): merged with the rows below.
  //    The one the store recorded, checked against its manifest: never a
  //    file merely found in the directory.
  ArchiveContent old;
  std::optional<std::string> recorded; // the recorded manifest, if any
  {
    std::vector<ArchiveRow> rows;
    BARROT_TRY(read_archive_rows(db(), &rows));
    for (const ArchiveRow& row : rows) {
      if (row.month == plan.month) {
        Status s =
            read_recorded_archive(store, row, options.archive_dir, /*promote=*/true, &old, false);
        if (!s.ok()) {
          return s.WithContext(
              "the archive of " + mname +
              " cannot be extended; that month is left as it was (see barrot-archive verify)");
        }
        recorded = row.manifest_text;
      }
    }
    if (!recorded && util::exists_at(dir_fd.get(), archive_name(plan.month))) {
      return Status::Corruption(dir + "/" + archive_name(plan.month) +
                                " exists but the store has no record of it (a copy, another "
                                "store's, or archived after the backup this store was restored "
                                "from: then `barrot-archive restore " +
                                month_name(plan.month) +
                                "` first brings back what the store lacks of it): move it away; "
                                "that month is left as it was");
    }
  }

  // 2. The month's due rows, read in one transaction (a consistent view:
  //    rows committed later have larger seqs, and stay), each type in
  //    (time, id) order, merged with the old archive into one stream that is
  //    hashed (here: this thread would otherwise wait for zstd) and
  //    compressed (on zstd's worker threads) as it is read.
  std::unique_ptr<archive::Compressor> zc;
  BARROT_TRY(archive::Compressor::Create(options.level, 2, &zc));
  util::Sha256 content_hash;
  std::int64_t content_bytes = 0;
  Tally tally;
  std::vector<std::string> gone; // ids of the rows to delete
  gone.reserve(static_cast<std::size_t>(expected));
  std::int64_t max_seq = 0;
  store::Digest max_hash{}; // the chain hash and id of the row with max_seq
  std::string max_id;
  rep.actions = rep.periodic = rep.bytes = 0;
  progress(mname, "writing", 0, expected);
  BARROT_TRY(store::guarded("cannot read " + mname, [&]() -> Status {
    SQLite::Transaction txn(db(), SQLite::TransactionBehavior::DEFERRED);
    // Raw statements: SQLiteCpp's per-column objects cost as much as a row
    // here (334,000 rows a month).
    struct Cursor {
      std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> st{nullptr, sqlite3_finalize};
      SnapshotType type = SnapshotType::action;
      bool has = false;
      TimeUs ts = 0;
      std::string_view id;
    };
    sqlite3* handle = db().getHandle();
    auto check = [&](int rc) {
      if (rc != SQLITE_OK) {
        throw SQLite::Exception(handle, rc);
      }
    };
    std::vector<Cursor> cursors;
    for (SnapshotType type : {SnapshotType::periodic, SnapshotType::action}) {
      if (!(type == SnapshotType::action ? plan.actions : plan.periodic)) {
        continue;
      }
      Cursor c;
      c.type = type;
      // The type as a literal: periodic rows are read through their partial
      // index (migration 0005), actions through the time index.
      const std::string sql =
          std::string("SELECT seq, snapshot_id, ts_us, status, ") + k_document_columns +
          ", chain_prev FROM snapshot_rows WHERE snapshot_type = '" + std::string(to_string(type)) +
          "' AND ts_us >= ? AND ts_us < ? AND seq <> ? ORDER BY ts_us";
      sqlite3_stmt* raw = nullptr;
      check(sqlite3_prepare_v2(handle, sql.c_str(), -1, &raw, nullptr));
      c.st.reset(raw);
      check(sqlite3_bind_int64(raw, 1, start));
      check(sqlite3_bind_int64(raw, 2, end));
      check(sqlite3_bind_int64(raw, 3, newest_periodic));
      cursors.push_back(std::move(c));
    }
    auto column_text = [](sqlite3_stmt* st, int i) {
      return std::string_view(static_cast<const char*>(sqlite3_column_blob(st, i)),
                              static_cast<std::size_t>(sqlite3_column_bytes(st, i)));
    };
    auto step = [&](Cursor& c) {
      const int rc = sqlite3_step(c.st.get());
      if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        throw SQLite::Exception(handle, rc);
      }
      c.has = rc == SQLITE_ROW;
      if (c.has) {
        c.ts = sqlite3_column_int64(c.st.get(), 2);
        c.id = column_text(c.st.get(), 1);
      }
    };
    for (Cursor& c : cursors) {
      step(c);
    }
    auto before = [](TimeUs ts_a, std::string_view id_a, TimeUs ts_b, std::string_view id_b) {
      return ts_a != ts_b ? ts_a < ts_b : id_a < id_b;
    };
    auto emit = [&](std::string_view text) -> Status {
      content_bytes += static_cast<std::int64_t>(text.size()) + 1;
      BARROT_TRY(zc->add(text));
      BARROT_TRY(zc->add("\n"));
      content_hash.update(text);
      content_hash.update("\n");
      if (tally.snapshots % k_progress_every == 0) {
        progress(mname, "writing", tally.snapshots, expected);
      }
      return Status::OK();
    };
    // The old archive's snapshots that are in the store too (a restored
    // month) are left out: the store's copy is written if it is due now, and
    // kept out of the archive (in the store only) if not.
    std::vector<bool> old_done(old.entries.size(), false);
    {
      SQLite::Statement in_store(
          db(), "SELECT seq, document, chain_prev FROM snapshots WHERE snapshot_id = ?");
      for (std::size_t i = 0; i < old.entries.size(); ++i) {
        in_store.reset();
        in_store.bind(1, old.entries[i].id);
        if (in_store.executeStep()) {
          BARROT_TRY_ASSIGN(bool same, same_as_entry(in_store, old.entries[i]));
          if (!same) {
            return Status::Corruption("snapshot " + old.entries[i].id +
                                      " differs between the store and " + archive_name(plan.month) +
                                      "; that month is left as it was");
          }
          old_done[i] = true;
        }
      }
    }
    std::size_t j = 0;   // next old archive entry
    std::string rebuilt; // a document stored as columns
    for (;;) {
      while (j < old.entries.size() && old_done[j]) {
        ++j;
      }
      Cursor* next = nullptr;
      for (Cursor& c : cursors) {
        if (c.has && (next == nullptr || before(c.ts, c.id, next->ts, next->id))) {
          next = &c;
        }
      }
      if (j < old.entries.size() &&
          (next == nullptr || before(old.entries[j].ts, old.entries[j].id, next->ts, next->id))) {
        const Entry& e = old.entries[j++];
        tally.add(e.ts, e.id, e.type, e.status);
        BARROT_TRY(emit(e.text));
        continue;
      }
      if (next == nullptr) {
        break;
      }
      sqlite3_stmt* row = next->st.get();
      const std::string_view document = stored_document(row, 4, &rebuilt);
      tally.add(next->ts,
                next->id,
                next->type,
                next->type == SnapshotType::action ? column_text(row, 3) : std::string_view());
      store::ChainLink link;
      link.seq = sqlite3_column_int64(row, 0);
      if (!store::from_blob(
              sqlite3_column_blob(row, 12), sqlite3_column_bytes(row, 12), &link.prev)) {
        return Status::Corruption("snapshot seq " + std::to_string(link.seq) +
                                  " has no chain link; that month is left as it was");
      }
      link.hash = store::chain_hash(link.prev, document);
      BARROT_TRY_ASSIGN(std::string line, store::mirror_line(document, link));
      BARROT_TRY(emit(line));
      (next->type == SnapshotType::action ? rep.actions : rep.periodic) += 1;
      rep.bytes += static_cast<std::int64_t>(document.size());
      if (link.seq > max_seq) {
        max_seq = link.seq;
        max_hash = link.hash;
        max_id = next->id;
      }
      gone.emplace_back(next->id);
      step(*next);
    }
    txn.commit();
    return Status::OK();
  }));
  const auto from_store = static_cast<std::int64_t>(gone.size());
  if (from_store == 0) {
    return Status::OK(); // archived by another run meanwhile
  }
  old = ArchiveContent();
  const std::int64_t total = tally.snapshots;

  // 3. Write the archive under its staged name (temp file, fsync, rename):
  //    the month's current archive stays until the store commits to this one.
  std::string compressed;
  BARROT_TRY(zc->finish(&compressed));
  zc.reset();
  const std::string file_sha = util::sha256_hex(compressed);
  const std::string aname = staged_archive_name(plan.month);
  BARROT_TRY(util::write_file_atomic(
      dir_fd.get(), aname, compressed, util::Overwrite::yes, util::FsyncMode::fsync));
  const auto file_bytes = static_cast<std::int64_t>(compressed.size());
  compressed = std::string();

  // 4. Verify what is on disk against what was read: the file's checksum;
  //    decompressed, zstd's checksum of the content (computed over the bytes
  //    read from the store as they were compressed), its size, the count,
  //    and every line parsed (on a second thread, as it is decompressed).
  //    zstd's checksum shows the content decompressed is the content hashed
  //    while reading, so the manifest's SHA-256 is that hash.
  progress(mname, "verifying", 0, total);
  const std::string content_sha = content_hash.hex_digest();
  {
    std::string data;
    BARROT_TRY(util::read_file(dir_fd.get(), aname, &data, true, k_max_archive_bytes));
    if (static_cast<std::int64_t>(data.size()) != file_bytes ||
        util::sha256_hex(data) != file_sha) {
      return Status::IOError(aname + " reads back different from what was written; nothing "
                                     "deleted");
    }
    std::string content;
    // This thread decompresses; the checker parses behind it.
    LineChecker checker;
    Status ds = archive::decompress(data,
                                    static_cast<std::size_t>(content_bytes),
                                    &content,
                                    [&](std::size_t n) { checker.ready(content.data(), n); });
    checker.ready(ds.ok() ? content.data() : nullptr, content.size(), /*done=*/true);
    const util::LineCheck check = checker.result();
    if (!ds.ok()) {
      return Status::IOError(aname + " failed verification (" + ds.message() +
                             "); nothing deleted");
    }
    std::string why;
    if (static_cast<std::int64_t>(content.size()) != content_bytes) {
      why = std::to_string(content.size()) + " bytes, not " + std::to_string(content_bytes);
    } else if (check.lines != total) {
      why = std::to_string(check.lines) + " lines, not " + std::to_string(total);
    } else if (check.first_bad >= 0) {
      why = "line " + std::to_string(check.first_bad) + " is not valid JSON";
    }
    if (!why.empty()) {
      return Status::IOError(aname + " failed verification (" + why + "); nothing deleted");
    }
  }

  // 5. The manifest, staged too: temp file, fsync, rename.
  Json manifest = make_manifest(
      plan.month, tally, content_sha, content_bytes, file_sha, file_bytes, options.level);
  BARROT_TRY(util::write_file_atomic(dir_fd.get(),
                                     staged_manifest_name(plan.month),
                                     manifest.dump(2) + "\n",
                                     util::Overwrite::yes,
                                     util::FsyncMode::fsync));
  rep.in_archive = total;
  rep.archive_bytes = file_bytes;
  rep.archive_seconds = seconds_since(t0);

  // 6. One transaction: record the archive, delete exactly the rows read.
  //    Then move the staged files into place (a run killed in between:
  //    settle_staged and read_recorded_archive finish the move).
  const auto t1 = std::chrono::steady_clock::now();
  progress(mname, "deleting", 0, from_store);
  BARROT_TRY(store::guarded("cannot delete the archived snapshots of " + mname, [&]() -> Status {
    SQLite::Transaction txn(db(), SQLite::TransactionBehavior::IMMEDIATE);
    BARROT_TRY(store.check_bound_in_txn()); // its files are cleaned from this directory
    SQLite::Statement now_recorded(db(), "SELECT manifest FROM archives WHERE month = ?");
    now_recorded.bind(1, mname);
    const bool has = now_recorded.executeStep();
    if (has != recorded.has_value() ||
        (has && now_recorded.getColumn(0).getString() != *recorded)) {
      return Status::Busy("the archive of " + mname +
                          " changed while it was being extended; "
                          "nothing deleted (run again)");
    }
    SQLite::Statement rec(db(),
                          "INSERT INTO archives (month, file, snapshots, manifest, archived_us, "
                          "state) VALUES (?, ?, ?, ?, ?, 'cleaning') ON CONFLICT (month) DO "
                          "UPDATE SET file = excluded.file, snapshots = excluded.snapshots, "
                          "manifest = excluded.manifest, archived_us = excluded.archived_us, "
                          "state = 'cleaning'");
    rec.bind(1, mname);
    rec.bind(2, record_path(archive_name(plan.month)));
    rec.bind(3, total);
    rec.bind(4, manifest.dump());
    rec.bind(5, util::realtime_us());
    rec.exec();
    std::int64_t deleted = 0;
    for (SnapshotType type : {SnapshotType::periodic, SnapshotType::action}) {
      if (!(type == SnapshotType::action ? plan.actions : plan.periodic)) {
        continue;
      }
      // A literal type, as for the cursors above.
      SQLite::Statement del(db(),
                            "DELETE FROM snapshot_rows WHERE snapshot_type = '" +
                                std::string(to_string(type)) +
                                "' AND ts_us >= ? AND ts_us < ? AND seq <= ? AND seq <> ?");
      del.bind(1, start);
      del.bind(2, end);
      del.bind(3, max_seq);
      del.bind(4, newest_periodic);
      deleted += del.exec();
    }
    if (deleted != from_store) {
      return Status::Corruption("expected to delete " + std::to_string(from_store) +
                                " snapshots of " + mname + " but found " + std::to_string(deleted) +
                                "; that month is left as it was");
    }
    // The next snapshot links to the newest archived one when it is newer
    // than every row left.
    SQLite::Statement tail(db(),
                           "INSERT INTO chain_tail (id, seq, snapshot_id, hash) VALUES (1, ?, ?, "
                           "?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, snapshot_id = "
                           "excluded.snapshot_id, hash = excluded.hash WHERE excluded.seq > "
                           "chain_tail.seq");
    tail.bind(1, max_seq);
    tail.bind(2, max_id);
    tail.bind(3, max_hash.data(), static_cast<int>(max_hash.size()));
    tail.exec();
    txn.commit();
    return Status::OK();
  }));
  rep.delete_seconds = seconds_since(t1);

  // From here on the month is archived: the store no longer holds it and
  // the archive is recorded. What fails now goes to `*unfinished`, not to
  // the month's result: the next run (or barrot repair) finishes it.
  const auto t2 = std::chrono::steady_clock::now();
  *unfinished = [&]() -> Status {
    BARROT_TRY(promote_staged(dir_fd.get(), plan.month));
    // 7. The mirror: files and log lines of the deleted rows.
    const std::unordered_set<std::string> gone_set(gone.begin(), gone.end());
    gone = std::vector<std::string>();
    BARROT_TRY(remove_from_mirror(
        store, gone_set, /*lock_held=*/false, &rep, [&](std::int64_t d, std::int64_t t) {
          progress(mname, "cleaning", d, t);
        }));
    return mark_archived(db(), plan.month);
  }();
  rep.cleanup_seconds = seconds_since(t2);
  return Status::OK();
}

Status Archiver::Impl::record_moved_archives(std::vector<std::string>* moved) {
  std::vector<ArchiveRow> rows;
  BARROT_TRY(read_archive_rows(db(), &rows));
  for (const ArchiveRow& row : rows) {
    std::string recorded;
    util::UniqueFd fd;
    if (!recorded_dir(row, store.mirror->dir(), &recorded).ok()) {
      continue; // a damaged record: verify names it
    }
    if (util::open_dir(recorded, &fd).ok() && holds_archive(fd.get(), row.month)) {
      // Where recorded. Another copy here takes its place only when the
      // recorded one is damaged (read only then: it may be large).
      if (same_dir(fd.get(), dir_fd.get()) || !holds_archive(dir_fd.get(), row.month)) {
        continue;
      }
      ArchiveContent content;
      const bool good =
          (read_archive(fd.get(), row.month, &content, false).ok() &&
           check_manifest(content, row.manifest, row.month).empty()) ||
          (read_archive_named(fd.get(), row.month, staged_archive_name(row.month), &content, false)
               .ok() &&
           check_manifest(content, row.manifest, row.month).empty());
      if (good) {
        continue;
      }
    }
    for (const std::string& name : {archive_name(row.month), staged_archive_name(row.month)}) {
      ArchiveContent content;
      if (!util::exists_at(dir_fd.get(), name) ||
          !read_archive_named(dir_fd.get(), row.month, name, &content, false).ok() ||
          !check_manifest(content, row.manifest, row.month).empty()) {
        continue;
      }
      BARROT_TRY(store::guarded("cannot record where an archive moved", [&]() -> Status {
        SQLite::Transaction txn(db(), SQLite::TransactionBehavior::IMMEDIATE);
        BARROT_TRY(store.check_bound_in_txn());
        SQLite::Statement st(db(), "UPDATE archives SET file = ? WHERE month = ?");
        st.bind(1, record_path(archive_name(row.month)));
        st.bind(2, month_name(row.month));
        st.exec();
        txn.commit();
        return Status::OK();
      }));
      moved->push_back(month_name(row.month));
      break;
    }
  }
  return Status::OK();
}

Status Archiver::Impl::settle_staged() {
  std::vector<std::string> names;
  BARROT_TRY(util::list_dir(dir_fd.get(), dir, &names));
  std::vector<ArchiveRow> rows;
  BARROT_TRY(read_archive_rows(db(), &rows));
  for (const std::string& name : names) {
    // A staged manifest without its archive: the move into place was cut
    // between the two renames (keep it if it is the recorded one).
    const std::string msuffix = std::string(".next") + k_manifest_ext;
    if (name.size() == 7 + msuffix.size() && name.compare(7, msuffix.size(), msuffix) == 0) {
      auto month = parse_month(std::string_view(name).substr(0, 7));
      if (month.ok() && !util::exists_at(dir_fd.get(), staged_archive_name(*month))) {
        auto staged = read_manifest_file_named(dir_fd.get(), name);
        bool recorded = false;
        for (const ArchiveRow& row : rows) {
          recorded = recorded || (row.month == *month && staged.ok() && *staged == row.manifest);
        }
        const int rc =
            recorded ? ::renameat(
                           dir_fd.get(), name.c_str(), dir_fd.get(), manifest_name(*month).c_str())
                     : ::unlinkat(dir_fd.get(), name.c_str(), 0);
        if (rc != 0 && errno != ENOENT) {
          return util::errno_status("cannot settle", dir + "/" + name, errno);
        }
      }
      continue;
    }
    const std::string suffix = std::string(".next") + k_archive_ext;
    if (name.size() != 7 + suffix.size() || name.compare(7, suffix.size(), suffix) != 0) {
      continue;
    }
    auto month = parse_month(std::string_view(name).substr(0, 7));
    if (!month.ok()) {
      continue;
    }
    bool committed = false;
    bool only_copy = false; // the recorded archive unreadable, and this is it
    for (const ArchiveRow& row : rows) {
      if (row.month == *month) {
        ArchiveContent content; // moves the staged file into place if it is the recorded one
        const bool readable =
            read_recorded_archive(
                store, row, options.archive_dir, /*promote=*/true, &content, false)
                .ok();
        committed = readable && !util::exists_at(dir_fd.get(), name);
        ArchiveContent staged;
        only_copy = !readable &&
                    read_archive_named(dir_fd.get(), *month, name, &staged, false).ok() &&
                    check_manifest(staged, row.manifest, *month).empty();
      }
    }
    if (only_copy) {
      continue; // never deleted (record_moved_archives records it, when it can)
    }
    if (!committed) {
      for (const std::string& n : {name, staged_manifest_name(*month)}) {
        if (::unlinkat(dir_fd.get(), n.c_str(), 0) != 0 && errno != ENOENT) {
          return util::errno_status("cannot remove", dir + "/" + n, errno);
        }
      }
    }
  }
  return Status::OK();
}

Status Archiver::Impl::reclaim(ArchiveRunReport* report) {
  const auto t0 = std::chrono::steady_clock::now();
  BARROT_TRY(store::guarded("cannot reclaim space", [&]() -> Status {
    const int mode = db().execAndGet("PRAGMA auto_vacuum").getInt();
    if (mode == 2) {
      db().exec("PRAGMA incremental_vacuum");
    } else {
      // A store made before archives existed: one VACUUM rewrites it with
      // incremental vacuum on, so later runs give space back cheaply.
      db().exec("PRAGMA auto_vacuum = INCREMENTAL");
      db().exec("VACUUM");
    }
    db().exec("PRAGMA wal_checkpoint(TRUNCATE)");
    return Status::OK();
  }));
  report->vacuum_seconds = seconds_since(t0);
  return Status::OK();
}

bool Archiver::Impl::free_pages_to_give_back() {
  bool any = false;
  (void)store::guarded("cannot read the free page count", [&]() -> Status {
    any = db().execAndGet("PRAGMA auto_vacuum").getInt() == 2 &&
          db().execAndGet("PRAGMA freelist_count").getInt64() > 0;
    return Status::OK();
  });
  return any;
}

Result<ArchiveRunReport> Archiver::run() {
  Impl& a = *m_impl;
  ArchiveRunReport report;
  report.dry_run = a.options.dry_run;
  const std::string db_path = a.store.db_path;
  auto db_bytes = [&] { return file_size(db_path) + file_size(db_path + "-wal"); };
  report.db_bytes_before = db_bytes();
  util::FileLock run_lock; // one archiver at a time, for the whole run
  if (!a.options.dry_run) {
    BARROT_TRY(a.require_writable());
    BARROT_TRY(a.open_dir(true));
    BARROT_TRY(a.lock_archiver(&run_lock));
    BARROT_TRY(a.record_moved_archives(&report.relocated));
    BARROT_TRY(a.settle_staged());
    util::FileLock lock;
    BARROT_TRY(a.store.mirror->lock_store(
        &lock, util::FileLock::Mode::exclusive, a.store.options.busy_timeout_ms));
    BARROT_TRY(a.store.reconcile_locked());
    std::vector<Problem> stuck;
    BARROT_TRY(a.store.finish_archive_cleanups_locked(&report.resumed, &stuck));
    for (const Problem& p : stuck) {
      report.problems.push_back({"", p.path, p.detail});
    }
  } else {
    (void)a.open_dir(false); // to show real paths when it exists
  }
  std::vector<Impl::Plan> plans;
  BARROT_TRY(a.make_plan(&plans));
  std::int64_t newest = 0;
  BARROT_TRY(a.newest_periodic_seq(&newest));
  for (Impl::Plan& plan : plans) {
    if (!a.options.dry_run) {
      // After a failure the later months wait for the next run: they would
      // most likely meet the same trouble (a full disk, say).
      Status unfinished;
      Status s = a.archive_month(plan, newest, &unfinished);
      if (!s.ok()) {
        if (report.months.empty()) {
          return s.WithContext("archiving " + plan.report.month);
        }
        report.unfinished = s.WithContext("could not archive " + plan.report.month);
        break;
      }
      report.months.push_back(plan.report);
      if (!unfinished.ok()) {
        report.unfinished = unfinished.WithContext("archived " + plan.report.month +
                                                   " but could not finish its cleanup");
        break;
      }
      continue;
    }
    // What the run would stop at without reading anything big: a month to
    // be merged into an archive that is not where the store recorded it.
    if (Status s = a.find_archive_to_extend(plan.month); !s.ok()) {
      if (report.months.empty()) {
        return s.WithContext("archiving " + plan.report.month);
      }
      report.unfinished = s.WithContext("could not archive " + plan.report.month);
      break;
    }
    report.months.push_back(plan.report);
  }
  // Space is given back after a month moved or a cleanup finished, and by
  // the next run when giving it back failed (the free pages are still there).
  if (!a.options.dry_run &&
      (!plans.empty() || !report.resumed.empty() || a.free_pages_to_give_back())) {
    Status s = a.reclaim(&report);
    if (!s.ok() && report.unfinished.ok()) {
      report.unfinished = s;
    }
  }
  report.db_bytes_after = a.options.dry_run ? report.db_bytes_before : db_bytes();
  return report;
}

Result<std::vector<ArchiveInfo>> Archiver::list() {
  Impl& a = *m_impl;
  std::vector<ArchiveRow> rows;
  BARROT_TRY(read_archive_rows(a.db(), &rows));
  std::vector<ArchiveInfo> out;
  for (const ArchiveRow& row : rows) {
    ArchiveInfo info;
    info.month = month_name(row.month);
    info.file = resolved_path(row, a.store.mirror->dir());
    const std::string moved = a.options.archive_dir + "/" + archive_name(row.month);
    if (!util::exists_at(AT_FDCWD, info.file) && util::exists_at(AT_FDCWD, moved)) {
      info.file = moved; // where open_recorded_dir finds it
    }
    info.state = row.state;
    info.manifest = row.manifest;
    info.snapshots = row.snapshots;
    info.archive_bytes = file_size(info.file);
    if (row.manifest.is_object()) {
      const Json& m = row.manifest;
      auto get_int = [](const Json& j, const char* k) {
        return j.is_object() && j.contains(k) && j[k].is_number_integer() ? j[k].get<std::int64_t>()
                                                                          : 0;
      };
      auto get_str = [](const Json& j, const char* k) {
        return j.is_object() && j.contains(k) && j[k].is_string() ? j[k].get<std::string>()
                                                                  : std::string();
      };
      if (m.contains("counts")) {
        info.actions = get_int(m["counts"], "action");
        info.periodic = get_int(m["counts"], "periodic");
      }
      if (m.contains("content")) {
        info.content_bytes = get_int(m["content"], "bytes");
      }
      if (m.contains("first")) {
        info.first_id = get_str(m["first"], "snapshot_id");
        info.first_timestamp = get_str(m["first"], "timestamp");
      }
      if (m.contains("last")) {
        info.last_id = get_str(m["last"], "snapshot_id");
        info.last_timestamp = get_str(m["last"], "timestamp");
      }
    }
    out.push_back(std::move(info));
  }
  return out;
}

Result<ArchiveVerifyReport> Archiver::verify(const std::string& month) {
  Impl& a = *m_impl;
  std::optional<Month> only;
  if (!month.empty()) {
    BARROT_TRY_ASSIGN(only, parse_month(month));
  }
  std::vector<ArchiveRow> rows;
  BARROT_TRY(read_archive_rows(a.db(), &rows));
  ArchiveVerifyReport report;
  std::map<Month, const ArchiveRow*> recorded;
  for (const ArchiveRow& r : rows) {
    recorded[r.month] = &r;
  }
  // Archive files present in the archive directory but not recorded.
  std::map<Month, std::string> unrecorded;
  if (a.open_dir(false).ok()) {
    std::vector<std::string> names;
    BARROT_TRY(util::list_dir(a.dir_fd.get(), a.dir, &names));
    for (const std::string& name : names) {
      auto m = month_of_archive_name(name);
      if (m && recorded.count(*m) == 0) {
        unrecorded[*m] = a.dir + "/" + name;
      }
    }
  }
  auto problem = [&](Month m, const std::string& file, std::string detail) {
    report.problems.push_back({month_name(m), file, std::move(detail)});
  };
  for (const auto& [m, file] : unrecorded) {
    if (only && !(*only == m)) {
      continue;
    }
    ++report.archives;
    problem(m,
            file,
            "not recorded in the store (another store's archive, or this store's database "
            "restored from an older backup): runs leave it alone and will not archive the "
            "month while it is there. If it is this store's, `barrot-archive restore " +
                month_name(m) +
                "` first brings back what the store lacks of it; then move it away");
  }
  if (only && recorded.count(*only) == 0 && unrecorded.count(*only) == 0) {
    return Status::NotFound("no archive of " + month_name(*only));
  }
  for (const auto& [m, row] : recorded) {
    if (only && !(*only == m)) {
      continue;
    }
    ++report.archives;
    ArchiveContent content;
    Status s = read_recorded_archive(
        a.store, *row, a.options.archive_dir, /*promote=*/false, &content, false);
    if (!s.ok()) {
      std::string why = s.message(); // "<file>: <why>": the file is named once
      if (why.rfind(row->file + ": ", 0) == 0) {
        why.erase(0, row->file.size() + 2);
      }
      problem(m, row->file, why);
      continue;
    }
    report.snapshots += static_cast<std::int64_t>(content.entries.size());
    util::UniqueFd dir;
    BARROT_TRY(open_recorded_dir(*row, a.store.mirror->dir(), a.options.archive_dir, &dir));
    if (util::exists_at(dir.get(), staged_archive_name(m))) {
      problem(
          m, staged_archive_name(m), "left by an interrupted run (barrot-archive run settles it)");
    }
    auto file_manifest = read_manifest_file(dir.get(), m);
    if (!file_manifest.ok()) {
      problem(m, manifest_name(m), file_manifest.status().message());
    } else if (std::string w = check_manifest(content, *file_manifest, m); !w.empty()) {
      problem(m, manifest_name(m), w);
    }
    if (row->state != "restored") {
      std::unordered_set<std::string> gone;
      BARROT_TRY(ids_not_in_store(a.db(), content.entries, &gone));
      const auto both = static_cast<std::int64_t>(content.entries.size() - gone.size());
      if (both > 0) {
        problem(m,
                row->file,
                std::to_string(both) +
                    " archived snapshots are also in the store (an interrupted run: "
                    "barrot-archive run finishes it)");
      }
    }
    if (row->state == "cleaning") {
      problem(m,
              row->file,
              "cleanup unfinished: mirror files and log lines remain "
              "(barrot-archive run or barrot repair finishes it)");
    }
  }
  return report;
}

Result<RestoreReport> Archiver::restore(const std::string& month) {
  Impl& a = *m_impl;
  BARROT_TRY(a.require_writable());
  BARROT_TRY_ASSIGN(Month m, parse_month(month));
  RestoreReport report;
  report.month = month_name(m);
  util::FileLock run_lock;
  BARROT_TRY(a.lock_archiver(&run_lock));
  if (a.open_dir(false).ok()) {
    BARROT_TRY(a.record_moved_archives(&report.relocated));
  }
  std::vector<ArchiveRow> rows;
  BARROT_TRY(read_archive_rows(a.db(), &rows));
  const ArchiveRow* row = nullptr;
  for (const ArchiveRow& r : rows) {
    row = r.month == m ? &r : row;
  }
  // The archive: the recorded one, checked against the store's copy of its
  // manifest; else one found in the archive directory (another store's, or
  // a backup), checked against the manifest beside it.
  ArchiveContent content;
  if (row != nullptr) {
    BARROT_TRY(read_recorded_archive(
                   a.store, *row, a.options.archive_dir, /*promote=*/true, &content, true)
                   .WithContext("nothing restored"));
  } else {
    if (!a.open_dir(false).ok()) {
      return Status::NotFound("no archive of " + month_name(m));
    }
    Status s = read_archive(a.dir_fd.get(), m, &content, true);
    if (s.IsNotFound()) {
      return Status::NotFound("no archive of " + month_name(m));
    }
    BARROT_TRY(s);
    BARROT_TRY_ASSIGN(Json manifest, read_manifest_file(a.dir_fd.get(), m));
    if (std::string why = check_manifest(content, manifest, m); !why.empty()) {
      return Status::Corruption(archive_name(m) + ": " + why + "; nothing restored");
    }
  }

  util::FileLock lock;
  BARROT_TRY(a.store.mirror->lock_store(
      &lock, util::FileLock::Mode::exclusive, a.store.options.busy_timeout_ms));
  BARROT_TRY(a.store.reconcile_locked());
  // A cleanup left unfinished would leave old log lines beside the new ones.
  std::vector<Problem> stuck;
  BARROT_TRY(a.store.finish_archive_cleanups_locked(nullptr, &stuck));
  if (!stuck.empty()) {
    return Status::Corruption(stuck.front().detail + "; nothing restored");
  }
  BARROT_TRY(store::guarded("cannot restore " + report.month, [&]() -> Status {
    SQLite::Transaction txn(a.db(), SQLite::TransactionBehavior::IMMEDIATE);
    BARROT_TRY(a.store.check_bound_in_txn()); // its files are written into this directory
    SQLite::Statement existing(
        a.db(), "SELECT seq, document, chain_prev FROM snapshots WHERE snapshot_id = ?");
    SQLite::Statement& insert = *a.store.insert_stmt;
    SQLite::Statement index_fts(a.db(),
                                "INSERT INTO snapshots_fts (rowid, action_type, details) SELECT "
                                "seq, action_type, details FROM fts_text WHERE seq = ? AND seq "
                                "<= (SELECT indexed_seq FROM fts_state WHERE id = 1)");
    store::Digest head;
    BARROT_TRY(a.store.chain_head_in_txn(&head));
    std::int64_t lowest_kept_seq = 0;
    std::int64_t done = 0;
    const auto total = static_cast<std::int64_t>(content.rows.size());
    for (std::size_t i = 0; i < content.rows.size(); ++i) {
      PendingRow& r = content.rows[i];
      existing.reset();
      existing.bind(1, r.id);
      if (existing.executeStep()) {
        BARROT_TRY_ASSIGN(bool same, same_as_entry(existing, content.entries[i]));
        ++(same ? report.already_present : report.conflicts);
        continue;
      }
      if (r.carried_chain && row != nullptr) {
        // Back to its own place in this store's chain (parse_line checked
        // its hash): the chain reads as it did before the month was archived.
        r.keep_seq = true;
        r.seq = r.carried_chain->seq;
        r.chain.prev = r.carried_chain->prev;
        lowest_kept_seq = lowest_kept_seq == 0 ? r.seq : std::min(lowest_kept_seq, r.seq);
      } else {
        // An archive written before the chain, or another store's: the
        // snapshot joins the end of the chain, like an import. The line of
        // an archive from before the chain, byte for byte, is the document.
        if (!r.carried_chain) {
          r.compact = content.entries[i].text;
        }
        r.chain.prev = head;
      }
      bind_insert(insert, r);
      insert.exec();
      if (r.keep_seq) {
        if (r.type == SnapshotType::action) {
          // Its seq is below the full-text index's mark: index it now.
          index_fts.reset();
          index_fts.bind(1, r.seq);
          index_fts.exec();
        }
      } else {
        head = store::chain_hash(head, r.compact);
      }
      ++report.restored;
      if (++done % k_progress_every == 0) {
        a.progress(report.month, "restoring", done, total);
      }
    }
    if (row != nullptr) {
      SQLite::Statement st(a.db(), "UPDATE archives SET state = 'restored' WHERE month = ?");
      st.bind(1, report.month);
      st.exec();
    }
    if (lowest_kept_seq > 0) {
      // Rows now stand below the mirror checkpoint, which says everything
      // there is mirrored: move it back before them, and make the next
      // reconciliation read the whole log (lines of rows between them and
      // the old checkpoint lie anywhere in it). A crash after this commit
      // leaves the next open to mirror them.
      a.store.rewind_checkpoint_in_txn(lowest_kept_seq - 1);
    }
    txn.commit();
    return Status::OK();
  }));
  // Files, log lines and latest_periodic.json for the rows just added.
  const Status mirrored = a.store.reconcile_locked();
  if (!mirrored.ok()) {
    report.mirror = mirrored.WithContext("restored " + std::to_string(report.restored) +
                                         " snapshots, but mirroring them failed");
  }
  return report;
}

Status Archiver::Impl::load_for_search(const SearchFilter& filter,
                                       std::unique_ptr<SQLite::Database>* out) {
  const TimeUs from = filter.since.value_or(LLONG_MIN);
  const TimeUs to = filter.until.value_or(LLONG_MAX);
  std::vector<ArchiveRow> rows;
  BARROT_TRY(read_archive_rows(db(), &rows));
  return store::guarded("cannot search the archives", [&]() -> Status {
    auto mem = std::make_unique<SQLite::Database>(":memory:",
                                                  SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    int version = 0;
    BARROT_TRY(store::migrate(*mem, -1, &version));
    SQLite::Transaction txn(*mem);
    SQLite::Statement insert(*mem, k_insert_row_sql);
    for (const ArchiveRow& row : rows) {
      if (row.state == "restored" || !(month_start(row.month) < to) ||
          !(from < month_start(next_month(row.month)))) {
        continue;
      }
      ArchiveContent content;
      BARROT_TRY(read_recorded_archive(
          store, row, options.archive_dir, /*promote=*/false, &content, true));
      for (std::size_t i = 0; i < content.rows.size(); ++i) {
        if (!content.rows[i].carried_chain) {
          content.rows[i].compact = content.entries[i].text; // from before the chain
        }
        bind_insert(insert, content.rows[i]);
        insert.exec();
      }
    }
    mem->exec("INSERT INTO snapshots_fts (rowid, action_type, details) SELECT seq, action_type, "
              "details FROM fts_text WHERE snapshot_type = 'action'");
    mem->exec("UPDATE fts_state SET indexed_seq = (SELECT coalesce(max(seq), 0) FROM snapshots)");
    txn.commit();
    *out = std::move(mem);
    return Status::OK();
  });
}

Status Archiver::search(const SearchFilter& filter,
                        const std::function<bool(const Snapshot&)>& fn) {
  std::unique_ptr<SQLite::Database> mem;
  BARROT_TRY(m_impl->load_for_search(filter, &mem));
  return store::search_db(*mem, filter, fn);
}

Result<std::int64_t> Archiver::count(const SearchFilter& filter) {
  std::unique_ptr<SQLite::Database> mem;
  BARROT_TRY(m_impl->load_for_search(filter, &mem));
  return store::count_db(*mem, filter);
}

namespace {

// Time order, ties by id; newest first unless `oldest_first`.
bool comes_before(const Snapshot& a, const Snapshot& b, bool oldest_first) {
  if (a.timestamp != b.timestamp) {
    return oldest_first ? a.timestamp < b.timestamp : a.timestamp > b.timestamp;
  }
  return oldest_first ? a.id < b.id : a.id > b.id;
}

} // namespace

Result<Snapshot> Archiver::find_cursor(const std::string& id) {
  BARROT_TRY(validate_snapshot_id(id).WithContext("--after"));
  std::optional<Snapshot> cursor;
  BARROT_TRY(store::guarded("cannot find the cursor's snapshot", [&]() -> Status {
    SQLite::Statement st(m_impl->db(), "SELECT ts_us FROM snapshot_rows WHERE snapshot_id = ?");
    st.bind(1, id);
    if (st.executeStep()) {
      cursor = Snapshot{};
      cursor->id = id;
      cursor->timestamp = st.getColumn(0).getInt64();
    }
    return Status::OK();
  }));
  auto find = [&](const Snapshot& s) {
    if (s.id != id) {
      return true;
    }
    cursor = s;
    return false;
  };
  if (!cursor) {
    // In an archive: first near the time its id names (docs/formats.md,
    // "Ids": a day either side covers every rule that moves one), then, for
    // an imported id that names another time, in all of them.
    constexpr TimeUs k_day = 86'400'000'000;
    BARROT_TRY_ASSIGN(TimeUs named, time_of_id(id));
    SearchFilter near;
    near.limit = SIZE_MAX;
    near.since = named - k_day;
    near.until = named + 2 * k_day;
    BARROT_TRY(search(near, find));
    if (!cursor) {
      SearchFilter anywhere;
      anywhere.limit = SIZE_MAX;
      BARROT_TRY(search(anywhere, find));
    }
  }
  if (!cursor) {
    return Status::NotFound("no snapshot " + id +
                            " in the store or its archives to continue after");
  }
  return *cursor;
}

Status Archiver::search_with_store(const SearchFilter& filter,
                                   const std::function<bool(const Snapshot&)>& fn) {
  SearchFilter f = filter;
  f.after_id.clear();
  std::optional<Snapshot> cursor;
  if (!filter.after_id.empty()) {
    BARROT_TRY_ASSIGN(cursor, find_cursor(filter.after_id));
    // What follows it lies on its side of its time, or at its time (ties,
    // ordered by id). Each source cuts its rows in (time, seq) order, merged
    // here in (time, id) order: a few rows more than the limit leave room
    // for the ties at the edges (a handful at most: ids are unique to the
    // microsecond).
    if (filter.oldest_first) {
      f.since = std::max(f.since.value_or(INT64_MIN), cursor->timestamp);
    } else {
      f.until = std::min(f.until.value_or(INT64_MAX), cursor->timestamp + 1);
    }
  }
  constexpr std::size_t k_room = 64;
  f.limit = filter.limit > SIZE_MAX - k_room ? SIZE_MAX : filter.limit + k_room;
  std::vector<Snapshot> found;
  auto keep = [&](const Snapshot& s) {
    if (!cursor || comes_before(*cursor, s, filter.oldest_first)) {
      found.push_back(s);
    }
    return true;
  };
  BARROT_TRY(store::search_db(m_impl->db(), f, keep));
  BARROT_TRY(search(f, keep));
  std::sort(found.begin(), found.end(), [&](const Snapshot& a, const Snapshot& b) {
    return comes_before(a, b, filter.oldest_first);
  });
  // A snapshot in both (a month restored while a run archives it) once.
  found.erase(std::unique(found.begin(),
                          found.end(),
                          [](const Snapshot& a, const Snapshot& b) { return a.id == b.id; }),
              found.end());
  for (std::size_t i = 0; i < found.size() && i < filter.limit; ++i) {
    if (!fn(found[i])) {
      break;
    }
  }
  return Status::OK();
}

Result<std::int64_t> Archiver::count_with_store(const SearchFilter& filter) {
  auto both = [&](const SearchFilter& f) -> Result<std::int64_t> {
    BARROT_TRY_ASSIGN(std::int64_t in_store, store::count_db(m_impl->db(), f));
    BARROT_TRY_ASSIGN(std::int64_t archived, count(f));
    return in_store + archived;
  };
  if (filter.after_id.empty()) {
    return both(filter);
  }
  BARROT_TRY_ASSIGN(Snapshot cursor, find_cursor(filter.after_id));
  // Counted, not read: those strictly past its time, then those at its time
  // that come after it (by id).
  SearchFilter beyond = filter;
  beyond.after_id.clear();
  SearchFilter at = beyond;
  if (filter.oldest_first) {
    beyond.since = std::max(beyond.since.value_or(INT64_MIN), cursor.timestamp + 1);
  } else {
    beyond.until = std::min(beyond.until.value_or(INT64_MAX), cursor.timestamp);
  }
  BARROT_TRY_ASSIGN(std::int64_t n, both(beyond));
  at.since = std::max(at.since.value_or(INT64_MIN), cursor.timestamp);
  at.until = std::min(at.until.value_or(INT64_MAX), cursor.timestamp + 1);
  at.limit = SIZE_MAX;
  auto tie = [&](const Snapshot& s) {
    n += comes_before(cursor, s, filter.oldest_first) ? 1 : 0;
    return true;
  };
  BARROT_TRY(store::search_db(m_impl->db(), at, tie));
  BARROT_TRY(search(at, tie));
  return n;
}

Result<std::vector<std::string>> Archiver::archived_months(Store& store, TimeUs from, TimeUs to) {
  std::vector<ArchiveRow> rows;
  BARROT_TRY(read_archive_rows(*store.m_impl->db, &rows));
  std::vector<std::string> out;
  for (const ArchiveRow& r : rows) {
    if (r.state == "restored") {
      continue;
    }
    if (month_start(r.month) < to && from < month_start(next_month(r.month))) {
      out.push_back(month_name(r.month));
    }
  }
  return out;
}

} // namespace barrot
