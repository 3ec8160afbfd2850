// Store::search and Store::count: the filters as one indexed SQL query.
#include "store/database.h"
#include "store/render.h"
#include "store/store_impl.h"
#include "util/time.h"

#include <barrot/search.h>
#include <barrot/store.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace barrot {

Result<TimeUs> parse_time_spec(std::string_view text, TimeUs now) {
  const util::CivilTime today = util::to_civil(now);
  auto midnight = [&](int days_back) {
    util::CivilTime t{today.year, today.month, today.day, 0, 0, 0, 0};
    return *util::from_civil(t) - static_cast<TimeUs>(days_back) * 86'400'000'000;
  };
  if (text == "now") {
    return now;
  }
  if (text == "today") {
    return midnight(0);
  }
  if (text == "yesterday") {
    return midnight(1);
  }
  // Relative: a number and a unit, meaning that long ago.
  std::int64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec == std::errc() && ptr != text.data() && n >= 0) {
    const std::string_view unit = text.substr(static_cast<std::size_t>(ptr - text.data()));
    const std::int64_t scale = unit == "s"   ? 1
                               : unit == "m" ? 60
                               : unit == "h" ? 3600
                               : unit == "d" ? 86400
                               : unit == "w" ? 604800
                                             : 0;
    if (scale != 0 && n <= 100LL * 365 * 86400 / scale) {
      return now - n * scale * 1'000'000;
    }
  }
  if (text.size() == 10) { // YYYY-MM-DD: midnight UTC
    auto t = parse_iso8601(std::string(text) + "T00:00:00Z");
    if (t.ok()) {
      return t;
    }
  }
  auto t = parse_iso8601(text);
  if (t.ok()) {
    return t;
  }
  return Status::InvalidArgument("unknown time '" + std::string(text) +
                                 "' (expected an ISO 8601 time with a zone, a date YYYY-MM-DD, "
                                 "30m/2h/7d ago, now, today or yesterday)");
}

namespace {

struct Query {
  std::string where;
  std::vector<std::string> texts; // bound in order
  std::vector<std::int64_t> ints;
  std::vector<bool> is_int; // per bind, which list it comes from
};

bool is_glob(const std::string& s) {
  return s.find_first_of("*?[") != std::string::npos;
}

// One FTS5 phrase per word, quotes doubled: the user's text is never FTS
// syntax.
std::string fts_query(const std::vector<std::string>& words) {
  std::string q;
  for (const std::string& w : words) {
    if (!q.empty()) {
      q += " AND ";
    }
    q += '"';
    for (char c : w) {
      q += c;
      if (c == '"') {
        q += '"';
      }
    }
    q += '"';
  }
  return q;
}

std::string like_pattern(const std::string& word) {
  std::string p = "%";
  for (char c : word) {
    if (c == '%' || c == '_' || c == '\\') {
      p += '\\';
    }
    p += c;
  }
  return p + "%";
}

Result<Query> build(const SearchFilter& f) {
  Query q;
  auto text = [&](std::string v) {
    q.texts.push_back(std::move(v));
    q.is_int.push_back(false);
  };
  auto num = [&](std::int64_t v) {
    q.ints.push_back(v);
    q.is_int.push_back(true);
  };
  std::string w = "1";
  if (f.type) {
    w += " AND snapshot_type = ?";
    text(std::string(to_string(*f.type)));
  }
  if (!f.action_type.empty()) {
    w += is_glob(f.action_type) ? " AND action_type GLOB ?" : " AND action_type = ?";
    text(f.action_type);
  }
  if (f.status) {
    w += " AND status = ?";
    text(std::string(to_string(*f.status)));
  }
  if (f.since) {
    w += " AND ts_us >= ?";
    num(*f.since);
  }
  if (f.until) {
    w += " AND ts_us < ?";
    num(*f.until);
  }
  if (!f.words.empty()) {
    for (const std::string& word : f.words) {
      // The index sees only letters and digits: a word without any would
      // match everything there and something else in the unindexed rows.
      const bool has_alnum = std::any_of(word.begin(), word.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || (c & 0x80);
      });
      if (!has_alnum) {
        return Status::InvalidArgument("search word '" + word +
                                       "' has no letter or digit to search for");
      }
    }
    // Indexed rows through the index; the unindexed tail by scanning it.
    w += " AND snapshot_type = 'action' AND (seq IN (SELECT rowid FROM snapshots_fts WHERE "
         "snapshots_fts MATCH ?) OR (seq > (SELECT indexed_seq FROM fts_state WHERE id = 1)";
    text(fts_query(f.words));
    for (const std::string& word : f.words) {
      w += " AND (action_type || ' ' || details) LIKE ? ESCAPE '\\'";
      text(like_pattern(word));
    }
    w += "))";
  }
  q.where = w;
  return q;
}

void bind_all(SQLite::Statement& st, const Query& q) {
  std::size_t t = 0;
  std::size_t n = 0;
  for (std::size_t i = 0; i < q.is_int.size(); ++i) {
    if (q.is_int[i]) {
      st.bind(static_cast<int>(i + 1), q.ints[n++]);
    } else {
      st.bind(static_cast<int>(i + 1), q.texts[t++]);
    }
  }
}

} // namespace

namespace store {

Status search_db(SQLite::Database& db,
                 const SearchFilter& filter,
                 const std::function<bool(const Snapshot&)>& fn) {
  BARROT_TRY_ASSIGN(Query q, build(filter));
  return guarded("cannot search", [&]() -> Status {
    const std::string order = filter.oldest_first ? "ASC" : "DESC";
    SQLite::Statement st(
        db,
        "SELECT snapshot_id, snapshot_type, ts_us, document FROM snapshots WHERE " + q.where +
            " ORDER BY ts_us " + order + ", seq " + order + " LIMIT ?");
    bind_all(st, q);
    st.bind(static_cast<int>(q.is_int.size() + 1),
            static_cast<std::int64_t>(std::min<std::size_t>(filter.limit, INT64_MAX)));
    while (st.executeStep()) {
      Snapshot s;
      s.id = st.getColumn(0).getString();
      s.type =
          st.getColumn(1).getString() == "periodic" ? SnapshotType::periodic : SnapshotType::action;
      s.timestamp = st.getColumn(2).getInt64();
      BARROT_TRY_ASSIGN(s.document, parse_document(st.getColumn(3).getString(), s.id));
      if (!fn(s)) {
        break;
      }
    }
    return Status::OK();
  });
}

Result<std::int64_t> count_db(SQLite::Database& db, const SearchFilter& filter) {
  BARROT_TRY_ASSIGN(Query q, build(filter));
  std::int64_t n = 0;
  BARROT_TRY(guarded("cannot count", [&]() -> Status {
    SQLite::Statement st(db, "SELECT count(*) FROM snapshots WHERE " + q.where);
    bind_all(st, q);
    n = st.executeStep() ? st.getColumn(0).getInt64() : 0;
    return Status::OK();
  }));
  return n;
}

} // namespace store

Status Store::search(const SearchFilter& filter, const std::function<bool(const Snapshot&)>& fn) {
  return store::search_db(*m_impl->db, filter, fn);
}

Result<std::int64_t> Store::count(const SearchFilter& filter) {
  return store::count_db(*m_impl->db, filter);
}

} // namespace barrot
