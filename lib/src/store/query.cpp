// Store::query: read-only SQL for analytics, fenced by an authorizer.
#include "store/database.h"
#include "store/store_impl.h"
#include "util/sha256.h"

#include <barrot/store.h>

#include <sqlite3.h>

#include <cctype>
#include <cstring>
#include <set>
#include <string>

namespace barrot {

namespace {

// Pragmas that only read. Those in the first set take a table or index name;
// those in the second would change state if given a value, so they are
// allowed bare only. Everything else is refused.
bool readonly_pragma(const char* name, const char* arg) {
  static const std::set<std::string> k_with_name = {"table_info",
                                                    "table_xinfo",
                                                    "index_list",
                                                    "index_info",
                                                    "index_xinfo",
                                                    "foreign_key_list",
                                                    "table_list"};
  // Read-only whatever their argument: checks that report.
  static const std::set<std::string> k_checks = {
      "integrity_check", "quick_check", "foreign_key_check"};
  static const std::set<std::string> k_bare = {"data_version",
                                               "auto_vacuum",
                                               "encoding",
                                               "module_list",
                                               "user_version",
                                               "schema_version",
                                               "page_count",
                                               "page_size",
                                               "freelist_count",
                                               "compile_options",
                                               "function_list",
                                               "pragma_list",
                                               "collation_list",
                                               "database_list"};
  return name != nullptr && (k_with_name.count(name) != 0 || k_checks.count(name) != 0 ||
                             (arg == nullptr && k_bare.count(name) != 0));
}

struct Fence {
  std::string refused; // the first thing refused, for the error message
};

int authorize_or_throw(Fence* fence, int action, const char* a1, const char* a2) {
  auto refuse = [&](std::string what) {
    if (fence->refused.empty()) {
      fence->refused = std::move(what);
    }
    return SQLITE_DENY;
  };
  switch (action) {
  case SQLITE_SELECT:
  case SQLITE_READ:
  case SQLITE_RECURSIVE:
    return SQLITE_OK;
  case SQLITE_FUNCTION:
    if (a2 != nullptr && (std::strcmp(a2, "load_extension") == 0)) {
      return refuse("calls to load_extension()");
    }
    return SQLITE_OK;
  case SQLITE_PRAGMA:
    if (readonly_pragma(a1, a2)) {
      return SQLITE_OK;
    }
    return refuse(std::string("pragmas other than those that only read, such as PRAGMA ") +
                  (a1 ? a1 : "?") + (a2 ? " with a value," : ","));
  case SQLITE_ATTACH:
  case SQLITE_DETACH:
    return refuse("ATTACH/DETACH");
  case SQLITE_TRANSACTION:
  case SQLITE_SAVEPOINT:
    return refuse("transactions");
  case SQLITE_INSERT:
  case SQLITE_UPDATE:
  case SQLITE_DELETE:
    // FTS5 prepares such statements internally while answering a MATCH.
    // The statement given is refused below if it would write
    // (sqlite3_stmt_readonly), and the connection is read-only anyway.
    return SQLITE_OK;
  default:
    return refuse("statements that write");
  }
}

// SQLite's authorizer callback: an exception (out of memory) must not
// unwind through SQLite's C frames, so it denies.
int authorize(void* user, int action, const char* a1, const char* a2, const char*, const char*) {
  try {
    return authorize_or_throw(static_cast<Fence*>(user), action, a1, a2);
  } catch (...) {
    return SQLITE_DENY;
  }
}

Json column_value(sqlite3_stmt* st, int i) {
  switch (sqlite3_column_type(st, i)) {
  case SQLITE_INTEGER:
    return static_cast<std::int64_t>(sqlite3_column_int64(st, i));
  case SQLITE_FLOAT:
    return sqlite3_column_double(st, i);
  case SQLITE_NULL:
    return nullptr;
  case SQLITE_BLOB: {
    const auto* p = static_cast<const unsigned char*>(sqlite3_column_blob(st, i));
    const int n = sqlite3_column_bytes(st, i);
    std::string hex = "x'";
    util::append_hex(&hex, p, static_cast<std::size_t>(n));
    return hex + "'";
  }
  default: {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, i));
    std::string text(p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(st, i)));
    // Text columns hold what was stored; make sure it can be printed as JSON.
    Json j = text;
    return Json::parse(j.dump(-1, ' ', false, Json::error_handler_t::replace));
  }
  }
}

} // namespace

Status Store::query(const std::string& sql,
                    const std::function<void(const std::vector<std::string>&)>& header,
                    const std::function<bool(const std::vector<Json>&)>& row) {
  if (sql.find('\0') != std::string::npos) {
    return Status::InvalidArgument("the SQL contains a NUL byte");
  }
  sqlite3* db = m_impl->db->getHandle();
  Fence fence;
  sqlite3_set_authorizer(db, authorize, &fence);
  sqlite3_stmt* st = nullptr;
  // Whatever happens below (a callback may throw), the statement is
  // finalized and the connection loses its fence.
  struct Cleanup {
    sqlite3* db;
    sqlite3_stmt** st;
    ~Cleanup() {
      sqlite3_finalize(*st);
      sqlite3_set_authorizer(db, nullptr, nullptr);
    }
  } cleanup{db, &st};
  // An error of preparing or stepping: what the fence refused, if it did.
  // (A pragma table function, pragma_journal_mode, is refused while it
  // runs: the fence sees it then.)
  auto sql_error = [&]() {
    if (!fence.refused.empty()) {
      return Status::InvalidArgument("barrot sql is read-only: " + fence.refused +
                                     " are not allowed");
    }
    return Status::InvalidArgument(std::string("SQL error: ") + sqlite3_errmsg(db));
  };
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &st, &tail);
  Status result;
  if (rc != SQLITE_OK) {
    result = sql_error();
  } else if (st == nullptr) {
    result = Status::InvalidArgument("no SQL statement given");
  } else {
    // What follows may be spaces, semicolons and comments, nothing else:
    // SQLite's parser says so by preparing no statement from it.
    while (tail != nullptr && *tail != '\0') {
      sqlite3_stmt* next = nullptr;
      const char* rest = nullptr;
      const int next_rc = sqlite3_prepare_v2(db, tail, -1, &next, &rest);
      if (next_rc != SQLITE_OK || next != nullptr || rest == tail) {
        sqlite3_finalize(next);
        result = Status::InvalidArgument("one statement at a time (found more after the first)");
        break;
      }
      tail = rest;
    }
    if (result.ok() && sqlite3_stmt_readonly(st) == 0) {
      result = Status::InvalidArgument("barrot sql is read-only: this statement would write");
    }
  }
  if (result.ok()) {
    const int n = sqlite3_column_count(st);
    std::vector<std::string> columns;
    for (int i = 0; i < n; ++i) {
      const char* name = sqlite3_column_name(st, i);
      columns.emplace_back(name ? name : "");
    }
    header(columns);
    std::vector<Json> values(static_cast<std::size_t>(n));
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      for (int i = 0; i < n; ++i) {
        values[static_cast<std::size_t>(i)] = column_value(st, i);
      }
      if (!row(values)) {
        break;
      }
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
      result = rc == SQLITE_BUSY ? Status::Busy(sqlite3_errmsg(db)) : sql_error();
    }
  }
  return result;
}

} // namespace barrot
