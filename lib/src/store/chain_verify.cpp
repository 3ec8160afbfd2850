// Store::verify_chain and Store::chain_head: the hash chain recomputed over
// the database and the archives, and every chain record the mirror carries
// checked against it (docs/integrity.md).
#include "mirror/mirror.h"
#include "store/chain.h"
#include "store/database.h"
#include "store/render.h"
#include "store/store_impl.h"
#include "util/fs.h"
#include "util/json_parse.h"

#include <barrot/store.h>

#include <SQLiteCpp/Transaction.h>

#include <algorithm>
#include <map>
#include <unordered_map>

namespace barrot {

namespace {

// Breaks listed per place; the rest are counted.
constexpr int k_max_listed = 20;

// One link of the chain, from the database or an archive.
struct Rec {
  std::int64_t seq = 0;
  std::string id;
  store::Digest prev{};
  store::Digest hash{};
  bool in_db = false;
  bool action = false;
};

class Breaks {
public:
  explicit Breaks(ChainReport* report) : m_report(report) {}

  void add(const std::string& where,
           std::string id,
           std::int64_t seq,
           std::string path,
           std::string detail) {
    if (where == "archive") {
      m_archive_breaks = true;
    }
    if (m_listed[where]++ < k_max_listed) {
      m_report->breaks.push_back({where, std::move(id), seq, std::move(path), std::move(detail)});
    } else {
      ++m_report->more_breaks;
    }
  }

  // Whether an archive was reported (missing, unreadable, damaged): the
  // links it holds are missing from the chain, and breaks at its edges are
  // its consequence, not another tampering.
  bool archive_breaks() const { return m_archive_breaks; }

private:
  ChainReport* m_report;
  std::map<std::string, int> m_listed;
  bool m_archive_breaks = false;
};

// Said of a break at the edge of an archive that could not be read.
const char* const k_archive_cause =
    " (an archive above could not be read: the links it holds are missing, which would "
    "explain this)";

std::string seq_text(std::int64_t seq) {
  return "seq " + std::to_string(seq);
}

// A copy whose record is newer than the chain as read: a snapshot written
// while the mirror was being checked (verify_chain lets writers go on once
// it has read the database), checked against its row at the end.
struct Later {
  std::string where;
  std::string id;
  std::string path;
  store::ChainLink link;
};

// The chain in seq order, with an index by seq.
struct Chain {
  std::vector<Rec> recs;
  std::unordered_map<std::int64_t, std::size_t> by_seq;
  std::int64_t newest = 0; // the largest seq read

  const Rec* find(std::int64_t seq) const {
    auto it = by_seq.find(seq);
    return it == by_seq.end() ? nullptr : &recs[it->second];
  }
};

// Reads the database's links (oldest first), then the archives'.
Status load_chain(Store::Impl& impl, Chain* chain, ChainReport* rep, Breaks* breaks) {
  BARROT_TRY(store::guarded("cannot read the chain", [&]() -> Status {
    SQLite::Statement st(*impl.db,
                         std::string("SELECT seq, snapshot_id, snapshot_type, chain_prev, ") +
                             k_document_columns + " FROM snapshot_rows ORDER BY seq");
    std::string buffer;
    while (st.executeStep()) {
      Rec r;
      r.seq = st.getColumn(0).getInt64();
      r.id = st.getColumn(1).getString();
      r.action = st.getColumn(2).getString() == "action";
      r.in_db = true;
      SQLite::Column prev = st.getColumn(3);
      if (!store::from_blob(prev.getBlob(), prev.getBytes(), &r.prev)) {
        breaks->add("database", r.id, r.seq, "", "the row has no chain link (chain_prev)");
      }
      r.hash = store::chain_hash(r.prev, stored_document(st, 4, &buffer));
      ++rep->snapshots;
      chain->recs.push_back(std::move(r));
    }
    return Status::OK();
  }));
  for (std::size_t i = 0; i < chain->recs.size(); ++i) {
    chain->by_seq.emplace(chain->recs[i].seq, i);
  }
  BARROT_TRY(store::guarded("cannot read the chain", [&]() -> Status {
    // Every seq ever given, rows archived or not: copies beyond it are new.
    SQLite::Statement st(*impl.db,
                         "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = "
                         "'snapshot_rows'), 0)");
    chain->newest = st.executeStep() ? st.getColumn(0).getInt64() : 0;
    return Status::OK();
  }));

  // Archived links. A month restored into the store holds the same links
  // as the rows: they must agree.
  std::vector<Rec> archived;
  std::unordered_map<std::int64_t, std::string> archived_where;
  BARROT_TRY(impl.for_each_archived_line(
      [&](const std::string& file, const Store::Impl::ArchivedLine& line) {
        if (!line.chain) {
          ++rep->archived_unchained;
          return;
        }
        const store::ChainLink& link = *line.chain;
        if (const Rec* db = chain->find(link.seq)) {
          if (db->id != line.id || db->prev != link.prev || db->hash != link.hash) {
            breaks->add("archive",
                        line.id,
                        link.seq,
                        file,
                        db->id != line.id ? "the database holds " + db->id + " at this seq"
                                          : "its chain record differs from the database's");
          }
          return;
        }
        if (auto [it, fresh] = archived_where.emplace(link.seq, file); !fresh) {
          breaks->add("archive", line.id, link.seq, file, "its seq is in " + it->second + " too");
          return;
        }
        Rec r;
        r.seq = link.seq;
        r.id = line.id;
        r.prev = link.prev;
        r.hash = link.hash;
        r.action = line.id.rfind("action_", 0) == 0;
        archived.push_back(std::move(r));
      },
      [&](const std::string& file, const std::string& problem) {
        breaks->add("archive", "", 0, file, problem);
      }));
  rep->archived = static_cast<std::int64_t>(archived.size());
  if (!archived.empty()) {
    chain->recs.insert(chain->recs.end(),
                       std::make_move_iterator(archived.begin()),
                       std::make_move_iterator(archived.end()));
    std::sort(chain->recs.begin(), chain->recs.end(), [](const Rec& a, const Rec& b) {
      return a.seq < b.seq;
    });
    chain->by_seq.clear();
    for (std::size_t i = 0; i < chain->recs.size(); ++i) {
      chain->by_seq.emplace(chain->recs[i].seq, i);
    }
  }
  return Status::OK();
}

// Each link's prev must be the hash of the link before it.
void walk(const Chain& chain, Breaks* breaks) {
  const Rec* before = nullptr;
  for (const Rec& r : chain.recs) {
    const store::Digest& expected = before != nullptr ? before->hash : store::k_genesis;
    if (r.prev != expected) {
      breaks->add("chain",
                  r.id,
                  r.seq,
                  "",
                  before != nullptr
                      ? "its prev is not the hash of " + before->id + " (" + seq_text(before->seq) +
                            "): that snapshot was changed, or snapshots between the two were "
                            "deleted, inserted or moved" +
                            (breaks->archive_breaks() ? k_archive_cause : "")
                      : std::string("it is the first link but its prev is not the genesis "
                                    "(64 zeros): snapshots before it were deleted") +
                            (breaks->archive_breaks() ? k_archive_cause : ""));
    }
    before = &r;
  }
}

// Checks a chain record a mirror copy carries (a file, latest_periodic.json
// or a log line) against its own content and against the chain. Returns the
// chain's link it is a copy of, or nullptr. `claimed`: the link the copy
// names (its seq holds its id), even when the copy breaks it (edited), so
// that the caller does not report that link's copy missing as well.
const Rec* check_copy(const Chain& chain,
                      std::string_view text,
                      const std::string& where,
                      const std::string& path,
                      Breaks* breaks,
                      std::vector<Later>* later,
                      const Rec** claimed) {
  *claimed = nullptr;
  Json doc = util::parse_json(text);
  if (doc.is_discarded() || !doc.is_object()) {
    breaks->add(where, "", 0, path, "not a JSON object");
    return nullptr;
  }
  std::string id;
  if (auto it = doc.find("snapshot_id"); it != doc.end() && it->is_string()) {
    id = it->get<std::string>();
  }
  Result<std::optional<store::ChainLink>> link = store::detach_chain(&doc);
  if (!link.ok()) {
    breaks->add(where, id, 0, path, link.status().message());
    return nullptr;
  }
  if (!link->has_value()) {
    breaks->add(where, id, 0, path, "carries no chain record");
    return nullptr;
  }
  const store::ChainLink& l = **link;
  if (const Rec* named = chain.find(l.seq); named != nullptr && named->id == id) {
    *claimed = named;
  }
  std::string content;
  try {
    content = store::compact(doc);
  } catch (const Json::exception& e) {
    breaks->add(where, id, l.seq, path, std::string("cannot be serialized: ") + e.what());
    return nullptr;
  }
  if (store::chain_hash(l.prev, content) != l.hash) {
    breaks->add(where, id, l.seq, path, "its content does not hash to its chain record: edited");
    return nullptr;
  }
  const Rec* r = chain.find(l.seq);
  if (r == nullptr && l.seq > chain.newest) {
    later->push_back({where, id, path, l});
    return nullptr;
  }
  if (r == nullptr) {
    breaks->add(where,
                id,
                l.seq,
                path,
                "its seq is not in the chain: added to the mirror, or deleted from the database");
    return nullptr;
  }
  if (r->id != id) {
    breaks->add(
        where, id, l.seq, path, "the chain holds " + r->id + " at its seq: moved or inserted");
    return nullptr;
  }
  if (r->prev != l.prev || r->hash != l.hash) {
    breaks->add(where,
                id,
                l.seq,
                path,
                "its chain record differs from the chain's: it, or the database, was rewritten");
    return nullptr;
  }
  return r;
}

Status check_files(Store::Impl& impl,
                   const Chain& chain,
                   ChainReport* rep,
                   Breaks* breaks,
                   std::vector<Later>* later) {
  mirror::Mirror& m = *impl.mirror;
  std::vector<std::string> names;
  BARROT_TRY(util::list_dir(m.dir_fd(), m.dir(), &names));
  std::sort(names.begin(), names.end());
  std::vector<bool> seen(chain.recs.size(), false);
  for (const std::string& name : names) {
    constexpr std::string_view k_ext = ".json";
    if (name.size() <= k_ext.size() || name.compare(name.size() - k_ext.size(), 5, k_ext) != 0) {
      continue;
    }
    const std::string id = name.substr(0, name.size() - k_ext.size());
    const bool latest = name == mirror::k_latest_name;
    if (!latest && !validate_snapshot_id(id).ok()) {
      continue;
    }
    std::string text;
    Status s = util::read_file(m.dir_fd(), name, &text);
    if (!s.ok()) {
      breaks->add(latest ? "latest" : "file", latest ? "" : id, 0, name, s.message());
      continue;
    }
    ++rep->files;
    const Rec* claimed = nullptr;
    const Rec* r =
        check_copy(chain, text, latest ? "latest" : "file", name, breaks, later, &claimed);
    if (r != nullptr && !latest) {
      if (r->id != id) {
        breaks->add("file", id, r->seq, name, "holds " + r->id);
      }
      seen[static_cast<std::size_t>(r - chain.recs.data())] = true;
    } else if (claimed != nullptr && !latest && claimed->id == id) {
      seen[static_cast<std::size_t>(claimed - chain.recs.data())] = true; // reported above
    }
  }
  for (std::size_t i = 0; i < chain.recs.size(); ++i) {
    const Rec& r = chain.recs[i];
    if (r.in_db && !seen[i] && !util::exists_at(m.dir_fd(), mirror::Mirror::file_name(r.id))) {
      breaks->add(
          "file", r.id, r.seq, mirror::Mirror::file_name(r.id), "missing: deleted from the mirror");
    }
  }
  return Status::OK();
}

Status check_log(Store::Impl& impl,
                 const Chain& chain,
                 ChainReport* rep,
                 Breaks* breaks,
                 std::vector<Later>* later) {
  std::vector<bool> seen(chain.recs.size(), false);
  std::int64_t cut_at = -1; // the offset of a last line without its newline
  std::string cut_where;
  auto check_line = [&](std::string_view line, const std::string& where) {
    const Rec* claimed = nullptr;
    const Rec* r = check_copy(chain, line, "log", where, breaks, later, &claimed);
    if (r == nullptr) {
      if (claimed != nullptr) {
        // Its line is there, broken (reported above): not also "no line".
        seen[static_cast<std::size_t>(claimed - chain.recs.data())] = true;
      }
      return;
    }
    const std::size_t i = static_cast<std::size_t>(r - chain.recs.data());
    if (!r->action) {
      breaks->add("log", r->id, r->seq, where, "a periodic snapshot has no place in the log");
    } else if (seen[i]) {
      breaks->add("log", r->id, r->seq, where, "a second line for it: inserted");
    }
    seen[i] = true;
  };
  std::int64_t at = 0; // the offset of the line in hand
  // Read piece by piece (a million-line log is not held whole), up to its
  // length now: every row read above has its line before that, and writers
  // let in append faster than lines are checked, so "up to the end" might
  // never come. A line cut by that length is read whole below.
  mirror::LogIdentity now;
  BARROT_TRY(impl.mirror->log_identity(&now));
  BARROT_TRY(impl.mirror->for_each_log_line(
      now.size, [&](std::string_view line, std::int64_t number, bool has_nl) {
        ++rep->lines;
        const std::string where = std::string(mirror::k_log_name) + ":" + std::to_string(number);
        if (!has_nl) { // the last line: being appended right now, or cut short
          cut_at = at;
          cut_where = where;
          return true;
        }
        check_line(line, where);
        at += static_cast<std::int64_t>(line.size()) + 1;
        return true;
      }));
  if (cut_at >= 0) {
    std::string tail; // from cut_at to the first newline, if one came since
    BARROT_TRY(impl.mirror->read_log_chunks(cut_at, -1, [&](std::string_view piece) {
      tail.append(piece);
      return piece.find('\n') == std::string_view::npos;
    }));
    const std::size_t nl = tail.find('\n');
    if (nl == std::string::npos) {
      breaks->add("log", "", 0, cut_where, "no newline: cut short");
    } else {
      check_line(std::string_view(tail).substr(0, nl), cut_where);
    }
  }
  for (std::size_t i = 0; i < chain.recs.size(); ++i) {
    const Rec& r = chain.recs[i];
    if (r.in_db && r.action && !seen[i]) {
      breaks->add("log", r.id, r.seq, mirror::k_log_name, "no line: deleted from the log");
    }
  }
  return Status::OK();
}

// The copies written while the mirror was checked, each against its row.
Status check_later(Store::Impl& impl, const std::vector<Later>& later, Breaks* breaks) {
  return store::guarded("cannot read new snapshots", [&]() -> Status {
    SQLite::Statement st(*impl.db,
                         std::string("SELECT snapshot_id, chain_prev, ") + k_document_columns +
                             " FROM snapshot_rows WHERE seq = ?");
    std::unordered_map<std::int64_t, int> lines; // log lines per seq
    std::string buffer;
    for (const Later& c : later) {
      st.reset();
      st.bind(1, c.link.seq);
      if (!st.executeStep()) {
        breaks->add(c.where,
                    c.id,
                    c.link.seq,
                    c.path,
                    "its seq is not in the chain: added to the mirror, or deleted from the "
                    "database");
        continue;
      }
      const std::string id = st.getColumn(0).getString();
      store::Digest prev;
      SQLite::Column stored = st.getColumn(1);
      const bool linked = store::from_blob(stored.getBlob(), stored.getBytes(), &prev);
      if (id != c.id) {
        breaks->add(
            c.where, c.id, c.link.seq, c.path, "the chain holds " + id + " at its seq: inserted");
      } else if (!linked || prev != c.link.prev ||
                 store::chain_hash(prev, stored_document(st, 2, &buffer)) != c.link.hash) {
        breaks->add(c.where,
                    c.id,
                    c.link.seq,
                    c.path,
                    "its chain record differs from the chain's: it, or the database, was "
                    "rewritten");
      } else if (c.where == "log" && ++lines[c.link.seq] > 1) {
        breaks->add("log", c.id, c.link.seq, c.path, "a second line for it: inserted");
      }
    }
    return Status::OK();
  });
}

// The newest link: the newest row's, or the archived one chain_tail names
// when that is newer.
Status read_tail(SQLite::Database& db, std::optional<ChainHead>* tail) {
  return store::guarded("cannot read chain_tail", [&]() -> Status {
    SQLite::Statement st(db, "SELECT seq, snapshot_id, hash FROM chain_tail WHERE id = 1");
    if (st.executeStep()) {
      ChainHead h;
      h.record.seq = st.getColumn(0).getInt64();
      h.id = st.getColumn(1).getString();
      store::Digest d;
      SQLite::Column hash = st.getColumn(2);
      if (!store::from_blob(hash.getBlob(), hash.getBytes(), &d)) {
        return Status::Corruption("chain_tail holds no 32-byte hash");
      }
      h.record.hash = store::to_hex(d);
      *tail = std::move(h);
    }
    return Status::OK();
  });
}

// One pass of verify_chain. With `let_writers_in`, the lock goes from
// exclusive to shared once the database is read; `*redo` is set when an
// exclusive holder may have slipped in as it changed hands.
Status verify_chain_once(Store::Impl& impl,
                         const std::vector<ChainAnchor>& anchors,
                         bool let_writers_in,
                         ChainReport* rep,
                         bool* redo) {
  Breaks breaks(rep);
  return store::guarded("cannot verify the chain", [&]() -> Status {
    util::FileLock lock;
    const bool locking = impl.mirror->lock_fd() >= 0;
    if (locking) {
      BARROT_TRY(impl.mirror->lock_store(
          &lock, util::FileLock::Mode::exclusive, impl.options.busy_timeout_ms));
    }
    Chain chain;
    BARROT_TRY(load_chain(impl, &chain, rep, &breaks));
    walk(chain, &breaks);
    std::optional<ChainHead> tail;
    BARROT_TRY(read_tail(*impl.db, &tail));
    if (!chain.recs.empty()) {
      const Rec& last = chain.recs.back();
      rep->head =
          ChainHead{last.id, {last.seq, store::to_hex(last.prev), store::to_hex(last.hash)}};
    }
    if (tail && (chain.find(tail->record.seq) == nullptr ||
                 store::to_hex(chain.find(tail->record.seq)->hash) != tail->record.hash)) {
      breaks.add("archive",
                 tail->id,
                 tail->record.seq,
                 "",
                 std::string("the newest archived snapshot (chain_tail) is not in the archives "
                             "as recorded") +
                     (breaks.archive_breaks() ? k_archive_cause : ""));
    }
    if (locking && let_writers_in) {
      BARROT_TRY_ASSIGN(const bool unchanged, impl.downgrade_unchanged(&lock));
      if (!unchanged) {
        *redo = true;
        return Status::OK();
      }
    }
    std::vector<Later> later;
    BARROT_TRY(check_files(impl, chain, rep, &breaks, &later));
    BARROT_TRY(check_log(impl, chain, rep, &breaks, &later));
    BARROT_TRY(check_later(impl, later, &breaks));
    for (const ChainAnchor& a : anchors) {
      const Rec* r = chain.find(a.seq);
      if (r == nullptr) {
        breaks.add("anchor", "", a.seq, "", "no snapshot at " + seq_text(a.seq) + " in the chain");
      } else if (store::to_hex(r->hash) != a.hash) {
        breaks.add("anchor",
                   r->id,
                   a.seq,
                   "",
                   "its hash is " + store::to_hex(r->hash) + ", the anchor says " + a.hash +
                       ": the history up to it was rewritten");
      } else if (!a.snapshot_id.empty() && a.snapshot_id != r->id) {
        // The hash held, so the anchor file's id is what is wrong.
        breaks.add("anchor",
                   r->id,
                   a.seq,
                   "",
                   "the anchor names " + a.snapshot_id + " at " + seq_text(a.seq) +
                       ", but the chain holds " + r->id +
                       " there: the anchor file is not "
                       "this chain's");
      } else {
        ++rep->anchors;
      }
    }
    return Status::OK();
  });
}

} // namespace

Result<ChainReport> Store::verify_chain(const std::vector<ChainAnchor>& anchors) {
  // The database is read under the store's lock held exclusive, so that no
  // writer is between its commit and its mirror; the mirror is then checked
  // under the lock held shared: writers go on (the copies they add meanwhile
  // are checked against their rows at the end), while archive runs,
  // restores and repairs wait. Should one of those slip in as the lock
  // changes hands, everything is read again, exclusive throughout.
  Store::Impl::ArchiveHold hold; // (as verify)
  BARROT_TRY(m_impl->hold_off_archiving(&hold).WithContext("cannot verify the chain"));
  ChainReport rep;
  for (bool let_writers_in : {true, false}) {
    rep = ChainReport();
    bool redo = false;
    BARROT_TRY(verify_chain_once(*m_impl, anchors, let_writers_in, &rep, &redo));
    if (!redo) {
      break;
    }
  }
  return rep;
}

Result<std::optional<ChainHead>> Store::chain_head() {
  std::optional<ChainHead> head;
  BARROT_TRY(store::guarded("cannot read the chain head", [&]() -> Status {
    SQLite::Transaction txn(*m_impl->db, SQLite::TransactionBehavior::DEFERRED);
    SQLite::Statement st(*m_impl->db,
                         std::string("SELECT seq, snapshot_id, chain_prev, ") + k_document_columns +
                             " FROM snapshot_rows ORDER BY seq DESC LIMIT 1");
    if (st.executeStep()) {
      std::string buffer;
      const std::string_view content = stored_document(st, 3, &buffer);
      BARROT_TRY_ASSIGN(store::ChainLink link, row_link(st, 0, 2, content));
      head = ChainHead{st.getColumn(1).getString(),
                       {link.seq, store::to_hex(link.prev), store::to_hex(link.hash)}};
    }
    std::optional<ChainHead> tail;
    BARROT_TRY(read_tail(*m_impl->db, &tail));
    if (tail && (!head || tail->record.seq > head->record.seq)) {
      head = std::move(tail);
    }
    return Status::OK();
  }));
  return head;
}

} // namespace barrot
