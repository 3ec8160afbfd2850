// Store::search and Store::count: the filters as one indexed SQL query.
#include "store/database.h"
#include "store/render.h"
#include "store/store_impl.h"
#include "util/time.h"

#include <barrot/search.h>
#include <barrot/store.h>

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <memory>
#include <new>
#include <optional>
#include <variant>

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
  // Relative: a number and a unit, meaning that long ago ("2h", "2h ago").
  std::int64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if ((ec == std::errc() || ec == std::errc::result_out_of_range) && ptr != text.data() && n >= 0) {
    std::string_view unit = text.substr(static_cast<std::size_t>(ptr - text.data()));
    if (unit.size() > 4 && unit.substr(unit.size() - 4) == " ago") {
      unit.remove_suffix(4);
    }
    const std::int64_t scale = unit == "s"   ? 1
                               : unit == "m" ? 60
                               : unit == "h" ? 3600
                               : unit == "d" ? 86400
                               : unit == "w" ? 604800
                                             : 0;
    if (scale != 0 && ec == std::errc() && n <= 100LL * 365 * 86400 / scale) {
      return now - n * scale * 1'000'000;
    }
    if (scale != 0) {
      return Status::InvalidArgument("time '" + std::string(text) +
                                     "' is more than 100 years ago: give a date instead");
    }
  }
  if (text.size() == 10) { // YYYY-MM-DD: midnight UTC
    auto t = parse_iso8601(std::string(text) + "T00:00:00Z");
    if (t.ok()) {
      return t;
    }
  }
  auto t = parse_iso8601(text);
  if (t.ok() || (text.size() > 10 && text[4] == '-' && text[10] == 'T')) {
    return t; // a date and time: its own error says what is wrong ("add Z for UTC")
  }
  return Status::InvalidArgument(
      "unknown time '" + std::string(text) +
      "' (expected an ISO 8601 time with a zone, a date YYYY-MM-DD, "
      "a time ago such as 30m, 2h, 7d or 2w (or \"2h ago\"), now, today or yesterday)");
}

namespace {

// The operator that starts at text[i], if any (the longest: ">=" before ">").
std::optional<std::pair<DetailCondition::Op, std::size_t>> operator_at(std::string_view text,
                                                                       std::size_t i) {
  static constexpr std::pair<std::string_view, DetailCondition::Op> k_ops[] = {
      {"!=", DetailCondition::Op::ne},
      {">=", DetailCondition::Op::ge},
      {"<=", DetailCondition::Op::le},
      {"=", DetailCondition::Op::eq},
      {">", DetailCondition::Op::gt},
      {"<", DetailCondition::Op::lt},
  };
  for (const auto& [sym, op] : k_ops) {
    if (text.substr(i, sym.size()) == sym) {
      return std::pair(op, sym.size());
    }
  }
  return std::nullopt;
}

} // namespace

Result<DetailCondition> parse_detail_condition(std::string_view text) {
  std::string shown(text.substr(0, 80));
  for (char& ch : shown) {
    ch = (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ? '?' : ch;
  }
  const auto bad_key = [&](const char* why) {
    return Status::InvalidArgument(
        "bad --where condition '" + shown + "': " + why +
        " (expected KEY, KEY=VALUE, KEY!=VALUE or KEY>VALUE (>=, <, <=); nested keys joined by "
        "dots; a key holding a dot or an operator in double quotes: '\"app.version\"=2')");
  };
  // The key: parts joined by dots, each bare (up to a dot or an operator)
  // or in double quotes (taken as is, dots and operators too).
  DetailCondition c;
  std::size_t i = 0;
  for (;;) {
    std::string part;
    if (i < text.size() && text[i] == '"') {
      const std::size_t close = text.find('"', i + 1);
      if (close == std::string_view::npos) {
        return bad_key("a double quote is not closed");
      }
      part = std::string(text.substr(i + 1, close - i - 1));
      i = close + 1;
      if (i < text.size() && text[i] != '.' && !operator_at(text, i)) {
        return bad_key("a quoted key is followed by neither a dot nor an operator");
      }
    } else {
      const std::size_t from = i;
      while (i < text.size() && text[i] != '.' && !operator_at(text, i)) {
        if (text[i] == '"') {
          return bad_key("a double quote inside a key (quote the whole key)");
        }
        ++i;
      }
      part = std::string(text.substr(from, i - from));
    }
    if (part.empty()) {
      return bad_key("a key is empty");
    }
    if (part.find('\0') != std::string::npos) {
      return bad_key("a key holds a NUL byte");
    }
    c.path.push_back(std::move(part));
    if (i < text.size() && text[i] == '.') {
      ++i;
      continue;
    }
    break;
  }
  if (i == text.size()) {
    return c; // KEY: present
  }
  const auto op = operator_at(text, i);
  c.op = op->first;
  c.value = std::string(text.substr(i + op->second));
  // "n==1", "n=>1", "n<>1": habits of other languages, which would compare
  // with "=1", ">1" or ">1" and match nothing (or the wrong rows) silently.
  if (!c.value.empty() && std::string_view("=<>!").find(c.value[0]) != std::string_view::npos) {
    return Status::InvalidArgument("bad --where condition '" + shown +
                                   "': the value starts with '" + c.value[0] +
                                   "' (the operators are =, !=, >, >=, <, <=; a value may not "
                                   "start with one of their characters)");
  }
  return c;
}

namespace {

struct Query {
  std::string where;
  std::vector<std::variant<std::int64_t, double, std::string>> params; // bound in order
};

// The value of a condition as a JSON number, if it is one (strict JSON
// grammar, so "1e", "0x10" and " 1" are text).
std::optional<std::variant<std::int64_t, double>> number_of(const std::string& v) {
  // Numbers only: never an array or object handed to the parser.
  if (v.empty() || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) || !nlohmann::json::accept(v)) {
    return std::nullopt;
  }
  Json j = Json::parse(v);
  // Unsigned first: is_number_integer() holds for 2^63 to 2^64-1 too, which
  // get<int64_t> would wrap to negative.
  if (j.is_number_unsigned()) {
    const auto u = j.get<std::uint64_t>();
    if (u <= static_cast<std::uint64_t>(INT64_MAX)) {
      return std::variant<std::int64_t, double>(static_cast<std::int64_t>(u));
    }
    return std::variant<std::int64_t, double>(static_cast<double>(u));
  }
  if (j.is_number_integer()) {
    return std::variant<std::int64_t, double>(j.get<std::int64_t>());
  }
  if (j.is_number_float()) {
    return std::variant<std::int64_t, double>(j.get<double>());
  }
  return std::nullopt;
}

// SQLite's JSON path for `keys`: $."a"."b".
std::string json_path(const std::vector<std::string>& keys) {
  std::string p = "$";
  for (const std::string& k : keys) {
    p += ".\"" + k + "\"";
  }
  return p;
}

// SQL for one condition, appending its parameters to `q`.
std::string condition_sql(const DetailCondition& c, Query* q) {
  const std::string path = json_path(c.path);
  auto type = [&] {
    q->params.emplace_back(path);
    return std::string("json_type(details, ?)");
  };
  auto value = [&] {
    q->params.emplace_back(path);
    return std::string("json_extract(details, ?)");
  };
  const auto number = number_of(c.value);
  auto bind_number = [&] { std::visit([&](auto n) { q->params.emplace_back(n); }, *number); };
  using Op = DetailCondition::Op;
  if (c.op == Op::exists) {
    return type() + " IS NOT NULL";
  }
  if (c.op == Op::eq || c.op == Op::ne) {
    std::string e = "(" + type() + " = 'text' AND " + value() + " = ?";
    q->params.emplace_back(c.value);
    e += ")";
    if (number) {
      e += " OR (" + type() + " IN ('integer', 'real') AND " + value() + " = ?)";
      bind_number();
    } else if (c.value == "true" || c.value == "false" || c.value == "null") {
      e += " OR " + type() + " = '" + c.value + "'";
    }
    // A missing key makes json_type NULL: "not equal" holds then.
    return c.op == Op::eq ? "(" + e + ")" : "NOT coalesce((" + e + "), 0)";
  }
  const char* op = c.op == Op::lt ? "<" : c.op == Op::le ? "<=" : c.op == Op::gt ? ">" : ">=";
  if (number) {
    std::string e = "(" + type() + " IN ('integer', 'real') AND " + value() + " " + op + " ?)";
    bind_number();
    return e;
  }
  std::string e = "(" + type() + " = 'text' AND " + value() + " " + op + " ?)";
  q->params.emplace_back(c.value);
  return e;
}

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

// Rows the full-text index has not taken in yet are matched by
// barrot_words(action_type, details, word): the word's tokens, in order,
// among the tokens of one of the two, as the index's phrase query matches
// them. Both tokenize with FTS5's own unicode61 tokenizer, the index's, so a
// search finds the same rows before and after they are indexed (a LIKE on
// the text had matched "deploy" inside "deployment" until the index
// caught up, and then no longer).
class WordMatcher {
public:
  // Null when FTS5 or its tokenizer is missing (never, with the schema's
  // full-text index).
  static std::unique_ptr<WordMatcher> For(sqlite3* db) {
    fts5_api* api = nullptr;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, nullptr) == SQLITE_OK) {
      sqlite3_bind_pointer(st, 1, static_cast<void*>(&api), "fts5_api_ptr", nullptr);
      sqlite3_step(st);
    }
    sqlite3_finalize(st);
    auto m = std::make_unique<WordMatcher>();
    void* user = nullptr;
    if (api == nullptr || api->xFindTokenizer(api, "unicode61", &user, &m->m_api) != SQLITE_OK ||
        m->m_api.xCreate(user, nullptr, 0, &m->m_tokenizer) != SQLITE_OK) {
      return nullptr;
    }
    return m;
  }

  WordMatcher() = default;
  WordMatcher(const WordMatcher&) = delete;
  WordMatcher& operator=(const WordMatcher&) = delete;
  ~WordMatcher() {
    if (m_tokenizer != nullptr) {
      m_api.xDelete(m_tokenizer);
    }
  }

  // Throws std::bad_alloc when memory runs out (never from inside the
  // tokenizer's C frames: its callback reports it, and it is thrown here).
  std::vector<std::string> tokens(std::string_view text, int flags) const {
    std::vector<std::string> out;
    const int rc = m_api.xTokenize(m_tokenizer,
                                   &out,
                                   flags,
                                   text.data(),
                                   static_cast<int>(text.size()),
                                   [](void* ctx, int, const char* token, int n, int, int) {
                                     try {
                                       static_cast<std::vector<std::string>*>(ctx)->emplace_back(
                                           token, static_cast<std::size_t>(n));
                                       return SQLITE_OK;
                                     } catch (...) {
                                       return SQLITE_NOMEM;
                                     }
                                   });
    if (rc == SQLITE_NOMEM) {
      throw std::bad_alloc();
    }
    return out;
  }

  // SQL: barrot_words(action_type, details, word). Out of memory, it says so
  // to SQLite: nothing may unwind through SQLite's C frames.
  static void call(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    try {
      call_or_throw(ctx, argc, argv);
    } catch (...) {
      sqlite3_result_error_nomem(ctx);
    }
  }

private:
  static void call_or_throw(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    const auto* m = static_cast<const WordMatcher*>(sqlite3_user_data(ctx));
    // The word's tokens, kept with the statement while the word stays.
    if (const auto* kept =
            static_cast<const std::vector<std::string>*>(sqlite3_get_auxdata(ctx, 2))) {
      sqlite3_result_int(ctx, m->in_either(argv, argc, *kept) ? 1 : 0);
      return;
    }
    const auto* w = reinterpret_cast<const char*>(sqlite3_value_text(argv[2]));
    auto phrase = std::make_unique<std::vector<std::string>>(
        m->tokens(w != nullptr ? w : "", FTS5_TOKENIZE_QUERY));
    sqlite3_result_int(ctx, m->in_either(argv, argc, *phrase) ? 1 : 0);
    // Handed over after use: SQLite may free it at once.
    sqlite3_set_auxdata(ctx, 2, phrase.release(), [](void* p) {
      delete static_cast<std::vector<std::string>*>(p);
    });
  }

  bool in_either(sqlite3_value** argv, int argc, const std::vector<std::string>& phrase) const {
    if (phrase.empty()) {
      return false;
    }
    for (int i = 0; i < 2 && i < argc; ++i) {
      const auto* t = reinterpret_cast<const char*>(sqlite3_value_text(argv[i]));
      if (t == nullptr) {
        continue;
      }
      const std::vector<std::string> text = tokens(
          {t, static_cast<std::size_t>(sqlite3_value_bytes(argv[i]))}, FTS5_TOKENIZE_DOCUMENT);
      if (std::search(text.begin(), text.end(), phrase.begin(), phrase.end()) != text.end()) {
        return true;
      }
    }
    return false;
  }

  fts5_tokenizer m_api{};
  Fts5Tokenizer* m_tokenizer = nullptr;
};

// Makes barrot_words() available on `db` (for a filter with words).
Status register_word_matcher(SQLite::Database& db) {
  std::unique_ptr<WordMatcher> m = WordMatcher::For(db.getHandle());
  if (!m) {
    return Status::IOError("cannot search words: SQLite's full-text search is missing");
  }
  const int rc = sqlite3_create_function_v2(db.getHandle(),
                                            "barrot_words",
                                            3,
                                            SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY,
                                            m.release(),
                                            WordMatcher::call,
                                            nullptr,
                                            nullptr,
                                            [](void* p) { delete static_cast<WordMatcher*>(p); });
  return rc == SQLITE_OK
             ? Status::OK()
             : Status::IOError(std::string("cannot search words: ") + sqlite3_errstr(rc));
}

constexpr std::size_t k_max_words = 200;
constexpr std::size_t k_max_conditions = 200;

Result<Query> build(const SearchFilter& f) {
  Query q;
  auto text = [&](std::string v) { q.params.emplace_back(std::move(v)); };
  auto num = [&](std::int64_t v) { q.params.emplace_back(v); };
  std::string w = "1";
  // An action type, a status or words imply an action: the type is then
  // left out, or a count would read every row to check it (no index that
  // serves those holds the type).
  const bool implies_action = !f.words.empty() || !f.action_type.empty() || f.status.has_value();
  if (f.type && !(*f.type == SnapshotType::action && implies_action)) {
    // A literal, not a parameter: only then may the planner use the partial
    // index of periodic snapshots (migration 0005).
    w += " AND snapshot_type = '" + std::string(to_string(*f.type)) + "'";
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
  // Each word and condition deepens the query's expression, which SQLite
  // caps at 1000 levels: refused here, with the limit named.
  if (f.words.size() > k_max_words) {
    return Status::InvalidArgument("at most " + std::to_string(k_max_words) +
                                   " search words are allowed, not " +
                                   std::to_string(f.words.size()));
  }
  if (f.where.size() > k_max_conditions) {
    return Status::InvalidArgument("at most " + std::to_string(k_max_conditions) +
                                   " --where conditions are allowed, not " +
                                   std::to_string(f.where.size()));
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
    // One IN list, so that the rows are looked up by seq rather than every
    // row tested.
    // The tail through fts_text (migrations/0007), the index's own reading
    // of the details: both see the same words.
    w += " AND +snapshot_type = 'action' AND seq IN (SELECT rowid FROM snapshots_fts WHERE "
         "snapshots_fts MATCH ? UNION ALL SELECT seq FROM fts_text WHERE seq > (SELECT "
         "indexed_seq FROM fts_state WHERE id = 1) AND +snapshot_type = 'action'";
    text(fts_query(f.words));
    for (const std::string& word : f.words) {
      w += " AND barrot_words(action_type, details, ?)";
      text(word);
    }
    w += ")";
  }
  if (!f.where.empty()) {
    w += " AND snapshot_type = 'action'";
    for (const DetailCondition& c : f.where) {
      if (c.path.empty()) {
        return Status::InvalidArgument("a --where condition names no key");
      }
      for (const std::string& k : c.path) {
        if (k.empty() || k.find('"') != std::string::npos) {
          return Status::InvalidArgument("a --where key is empty or holds a double quote");
        }
      }
      w += " AND " + condition_sql(c, &q);
    }
  }
  q.where = w;
  return q;
}

void bind_all(SQLite::Statement& st, const Query& q) {
  for (std::size_t i = 0; i < q.params.size(); ++i) {
    const int n = static_cast<int>(i + 1);
    std::visit([&](const auto& v) { st.bind(n, v); }, q.params[i]);
  }
}

} // namespace

namespace store {

namespace {

// The columns read_row reads: the type, then a document's (k_document_columns).
const std::string k_row_columns = std::string("snapshot_type, ") + k_document_columns;
constexpr int k_row_column_count = 9;

// A row of k_row_columns; `buffer` holds a rebuilt document.
SnapshotRow read_row(SQLite::Statement& st, std::string* buffer) {
  auto text = [&](int i) {
    SQLite::Column c = st.getColumn(i);
    return std::string_view(static_cast<const char*>(c.getBlob()),
                            static_cast<std::size_t>(c.getBytes()));
  };
  SnapshotRow r;
  r.type = text(0) == "periodic" ? SnapshotType::periodic : SnapshotType::action;
  r.document = stored_document(st, 1, buffer);
  r.id = text(2);
  r.timestamp = st.getColumn(3).getInt64();
  r.action_type = text(4);
  r.status = text(5);
  r.details = text(6);
  return r;
}

Result<Snapshot> snapshot_of(const SnapshotRow& r) {
  Snapshot s;
  s.id = std::string(r.id);
  s.type = r.type;
  s.timestamp = r.timestamp;
  BARROT_TRY_ASSIGN(s.document, parse_document(std::string(r.document), s.id));
  return s;
}

// The cursor's condition: past the snapshot `f.after_id` in f's order.
Status add_cursor(SQLite::Database& db, const SearchFilter& f, Query* q) {
  if (f.after_id.empty()) {
    return Status::OK();
  }
  BARROT_TRY(validate_snapshot_id(f.after_id).WithContext("--after"));
  return guarded("cannot find the cursor's snapshot", [&]() -> Status {
    SQLite::Statement st(db, "SELECT ts_us, seq FROM snapshots WHERE snapshot_id = ?");
    st.bind(1, f.after_id);
    if (!st.executeStep()) {
      return Status::NotFound("no snapshot " + f.after_id + " to continue after (archived?)");
    }
    const std::int64_t ts = st.getColumn(0).getInt64();
    const std::int64_t seq = st.getColumn(1).getInt64();
    const char* cmp = f.oldest_first ? ">" : "<";
    q->where += std::string(" AND (ts_us ") + cmp + " ? OR (ts_us = ? AND seq " + cmp + " ?))";
    q->params.emplace_back(ts);
    q->params.emplace_back(ts);
    q->params.emplace_back(seq);
    return Status::OK();
  });
}

} // namespace

Status search_rows_db(SQLite::Database& db,
                      const SearchFilter& filter,
                      const std::function<bool(const SnapshotRow&)>& fn) {
  BARROT_TRY_ASSIGN(Query q, build(filter));
  BARROT_TRY(add_cursor(db, filter, &q));
  if (!filter.words.empty()) {
    BARROT_TRY(register_word_matcher(db));
  }
  return guarded("cannot search", [&]() -> Status {
    const std::string order = filter.oldest_first ? "ASC" : "DESC";
    SQLite::Statement st(db,
                         "SELECT " + k_row_columns + " FROM snapshot_rows WHERE " + q.where +
                             " ORDER BY ts_us " + order + ", seq " + order + " LIMIT ?");
    bind_all(st, q);
    st.bind(static_cast<int>(q.params.size() + 1),
            static_cast<std::int64_t>(std::min<std::size_t>(filter.limit, INT64_MAX)));
    std::string buffer;
    while (st.executeStep()) {
      if (!fn(read_row(st, &buffer))) {
        break;
      }
    }
    return Status::OK();
  });
}

Status search_db(SQLite::Database& db,
                 const SearchFilter& filter,
                 const std::function<bool(const Snapshot&)>& fn) {
  Status failed;
  BARROT_TRY(search_rows_db(db, filter, [&](const SnapshotRow& row) {
    Result<Snapshot> s = snapshot_of(row);
    if (!s.ok()) {
      failed = s.status();
      return false;
    }
    return fn(*s);
  }));
  return failed;
}

Result<std::int64_t> count_db(SQLite::Database& db, const SearchFilter& filter) {
  BARROT_TRY_ASSIGN(Query q, build(filter));
  BARROT_TRY(add_cursor(db, filter, &q));
  if (!filter.words.empty()) {
    BARROT_TRY(register_word_matcher(db));
  }
  std::int64_t n = 0;
  BARROT_TRY(guarded("cannot count", [&]() -> Status {
    SQLite::Statement st(db, "SELECT count(*) FROM snapshot_rows WHERE " + q.where);
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

Status Store::search_rows(const SearchFilter& filter,
                          const std::function<bool(const SnapshotRow&)>& fn) {
  return store::search_rows_db(*m_impl->db, filter, fn);
}

Result<std::int64_t> Store::count(const SearchFilter& filter) {
  return store::count_db(*m_impl->db, filter);
}

Result<std::int64_t> Store::newest_seq() {
  std::int64_t n = 0;
  BARROT_TRY(store::guarded("cannot read the store", [&]() -> Status {
    n = m_impl->db->execAndGet("SELECT coalesce(max(seq), 0) FROM snapshot_rows").getInt64();
    return Status::OK();
  }));
  return n;
}

Result<std::string> Store::id_at_seq(std::int64_t seq) {
  std::string id;
  BARROT_TRY(store::guarded("cannot read the store", [&]() -> Status {
    SQLite::Statement st(*m_impl->db, "SELECT snapshot_id FROM snapshot_rows WHERE seq = ?");
    st.bind(1, seq);
    if (st.executeStep()) {
      id = st.getColumn(0).getString();
    }
    return Status::OK();
  }));
  return id;
}

Result<bool> Store::moved() {
  int moved = 0;
  const int rc = sqlite3_file_control(
      m_impl->db->getHandle(), "main", SQLITE_FCNTL_HAS_MOVED, static_cast<void*>(&moved));
  if (rc != SQLITE_OK) {
    return Status::IOError("cannot check whether " + m_impl->db_path +
                           " was moved: " + sqlite3_errstr(rc));
  }
  return moved != 0;
}

Status Store::search_inserted_after(const SearchFilter& filter,
                                    std::int64_t* seq,
                                    const std::function<bool(const Snapshot&)>& fn) {
  SearchFilter f = filter;
  f.after_id.clear();
  BARROT_TRY_ASSIGN(Query q, build(f));
  if (!f.words.empty()) {
    BARROT_TRY(register_word_matcher(*m_impl->db));
  }
  return store::guarded("cannot search", [&]() -> Status {
    SQLite::Statement st(*m_impl->db,
                         "SELECT " + store::k_row_columns + ", seq FROM snapshot_rows WHERE " +
                             q.where + " AND seq > ? ORDER BY seq");
    bind_all(st, q);
    st.bind(static_cast<int>(q.params.size() + 1), *seq);
    std::string buffer;
    while (st.executeStep()) {
      BARROT_TRY_ASSIGN(Snapshot s, store::snapshot_of(store::read_row(st, &buffer)));
      *seq = st.getColumn(store::k_row_column_count).getInt64();
      if (!fn(s)) {
        break;
      }
    }
    return Status::OK();
  });
}

} // namespace barrot
