#include "support/test_util.h"

#include <limits>
#include <sstream>

using namespace barrot;
using namespace barrot::test;

namespace {

struct Rows {
  std::vector<std::string> columns;
  std::vector<std::vector<Json>> rows;
};

Status run(Store& store, const std::string& sql, Rows* out) {
  return store.query(
      sql,
      [&](const std::vector<std::string>& c) { out->columns = c; },
      [&](const std::vector<Json>& v) {
        out->rows.push_back(v);
        return true;
      });
}

} // namespace

TEST_CASE("sql answers read-only queries over the views", "[query]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  ActionInput failed = action("deploy", Json{{"env", "prod"}});
  failed.status = ActionStatus::failed;
  REQUIRE_OK(store->record_action(failed).status());
  REQUIRE_OK(store->record_action(action("build")).status());
  Rows r;
  REQUIRE_OK(run(*store,
                 "SELECT action_type, status, json_extract(details, '$.env') AS env, 1.5 AS f, "
                 "NULL AS n FROM actions WHERE status = 'failed';",
                 &r));
  CHECK(r.columns == std::vector<std::string>{"action_type", "status", "env", "f", "n"});
  REQUIRE(r.rows.size() == 1);
  CHECK(r.rows[0] == std::vector<Json>{"deploy", "failed", "prod", 1.5, nullptr});
  Rows p;
  REQUIRE_OK(run(*store, "PRAGMA table_info(snapshots)", &p));
  CHECK(p.rows.size() >= 8);
  for (const char* check : {"PRAGMA integrity_check", "PRAGMA quick_check(5)"}) {
    Rows c;
    REQUIRE_OK(run(*store, check, &c));
    CHECK(c.rows == std::vector<std::vector<Json>>{{"ok"}});
  }
  Rows fts; // FTS5 prepares statements of its own: they must pass the fence
  REQUIRE_OK(open_store(options_in(dir))->repair().status()); // index everything
  REQUIRE_OK(
      run(*store, "SELECT count(*) FROM snapshots_fts WHERE snapshots_fts MATCH 'prod'", &fts));
  CHECK(fts.rows[0][0] == 1);
  Rows cte;
  REQUIRE_OK(run(*store,
                 "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM n "
                 "WHERE x < 3) SELECT sum(x) FROM n",
                 &cte));
  CHECK(cte.rows[0][0] == 6);
  // What follows the statement may be semicolons, spaces and comments.
  for (const char* sql : {"SELECT 7; -- the answer", "SELECT 7 /* c */ ;; /* d */\n -- e"}) {
    INFO(sql);
    Rows t;
    REQUIRE_OK(run(*store, sql, &t));
    CHECK(t.rows[0][0] == 7);
  }
}

TEST_CASE("sql refuses anything that writes or reaches outside", "[query][hostile]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  REQUIRE_OK(store->record_action(action("keep")).status());
  for (const char* sql : {
           "DELETE FROM snapshot_rows",
           "UPDATE mirror_checkpoint SET seq = 0",
           "INSERT INTO fts_state VALUES (2, 0, 0)",
           "DROP TABLE snapshots",
           "CREATE TABLE x (a)",
           "ATTACH DATABASE '/tmp/other.db' AS other",
           "PRAGMA journal_mode = DELETE",
           "PRAGMA user_version = 99",
           "PRAGMA writable_schema = 1",
           "PRAGMA wal_checkpoint",
           "PRAGMA optimize",
           "PRAGMA journal_mode",
           "SELECT load_extension('/tmp/evil.so')",
           "SELECT 1; DELETE FROM snapshot_rows",
           "SELECT 1; SELECT 2",
           "SELECT 1; -- c\n SELECT 2",
           "BEGIN",
           "VACUUM",
           "",
           "SELEC 1",
       }) {
    INFO(sql);
    Rows r;
    Status s = run(*store, sql, &r);
    CHECK(s.IsInvalidArgument());
    CHECK(r.rows.empty());
  }
  CHECK(store->summary()->total == 1);
  CHECK(query_int(store->db_path(), "PRAGMA user_version") == Store::latest_schema_version());
  // Refusals say why, also for a pragma table function (refused as it runs).
  Rows r;
  CHECK(run(*store, "SELECT * FROM pragma_journal_mode", &r).message() ==
        "barrot sql is read-only: pragmas other than those that only read, such as PRAGMA "
        "journal_mode, are not allowed");
  CHECK(run(*store, "SELECT load_extension('x')", &r).message() ==
        "barrot sql is read-only: calls to load_extension() are not allowed");
  // The fence is lifted afterwards: the store still writes.
  REQUIRE_OK(store->record_action(action("after")).status());
}

TEST_CASE("rows print as table, json, jsonl and csv", "[query][view]") {
  auto write = [](OutputFormat f) {
    std::ostringstream out;
    RowWriter w(out, f);
    w.header({"type", "n"});
    w.row({"deploy, \"prod\"", 2});
    w.row({"build", nullptr});
    w.finish();
    return out.str();
  };
  CHECK(write(OutputFormat::csv) == "type,n\r\n\"deploy, \"\"prod\"\"\",2\r\nbuild,\r\n");
  CHECK(write(OutputFormat::jsonl) ==
        "{\"type\":\"deploy, \\\"prod\\\"\",\"n\":2}\n{\"type\":\"build\",\"n\":null}\n");
  CHECK(Json::parse(write(OutputFormat::json)).size() == 2);
  CHECK(write(OutputFormat::table) == "type            n\ndeploy, \"prod\"  2\nbuild\n(2 rows)\n");
  CHECK(parse_output_format("yaml").status().IsInvalidArgument());
}

TEST_CASE("json rows keep repeated column names apart; csv keeps Inf apart from NULL",
          "[query][view]") {
  std::ostringstream json;
  RowWriter j(json, OutputFormat::jsonl);
  j.header({"a", "a", "a:2", "b"});
  j.row({1, 2, 3, 4});
  j.finish();
  CHECK(json.str() == "{\"a\":1,\"a:2\":2,\"a:2:2\":3,\"b\":4}\n");
  std::ostringstream csv;
  RowWriter c(csv, OutputFormat::csv);
  c.header({"x", "y", "z"});
  c.row(
      {std::numeric_limits<double>::infinity(), nullptr, -std::numeric_limits<double>::infinity()});
  c.finish();
  CHECK(csv.str() == "x,y,z\r\nInf,,-Inf\r\n");
}
