// barrot_search_bench: search, full-text search, bulk import and database
// size on a generated store of a million actions, each against the tool a
// user would otherwise reach for (jq, grep, the sqlite3 shell), measured in
// the same run with equal answers; then the dashboard, health checks and
// viewer commands on it. See docs/performance.md.
//
//   barrot_search_bench [--n N] [--days D] [--runs R] [--dir DIR] [--smoke]
//                       [--cleanup] [--generate-only] [--reuse] [--no-jq]
//
// The data is generated reproducibly (fixed seed): N action snapshots spread
// over D days from 2025-01-01 (30 action types; 85% completed, 10% failed,
// 5% executing; details of 3-6 keys), written as DIR/log/action_log.jsonl in
// exactly the form Barrot writes. --generate-only stops there; --reuse
// measures the queries again on an earlier run's DIR (no generation, no
// import).
#include "bench_util.h"

#include <sqlite3.h>

#include <cinttypes>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace {

using bench::Clock;
using bench::seconds_since;

constexpr const char* k_program = "barrot_search_bench";
constexpr barrot::TimeUs k_start = 1735689600LL * 1000000; // 2025-01-01T00:00:00Z
constexpr barrot::TimeUs k_day = 86400LL * 1000000;

struct Config {
  long n = 1000000;
  long days = 90;
  int runs = 21;
  std::string dir;
  bool cleanup = false;
  bool generate_only = false;
  bool reuse = false; // DIR holds a previous run's log and store: measure the queries only
  bool jq = true;
};

void check(const barrot::Status& s) {
  bench::check(s, k_program);
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", k_program, what.c_str());
  std::exit(1);
}

std::vector<std::string> action_types() {
  static const char* verbs[] = {
      "deploy", "build", "test", "lint", "package", "release", "migrate", "backup", "scan", "sync"};
  static const char* objects[] = {"service", "module", "docs"};
  std::vector<std::string> types;
  for (const char* v : verbs) {
    for (const char* o : objects) {
      types.push_back(std::string(v) + "_" + o);
    }
  }
  return types;
}

// The log, one compact document per line in time order, as Barrot's store
// writes it. Returns its size in bytes.
std::int64_t generate_log(const std::string& path, long n, long days) {
  std::mt19937_64 rng(7);
  const std::vector<std::string> types = action_types();
  const barrot::TimeUs span = days * k_day;
  const barrot::TimeUs step = span / n;
  std::ofstream out(path, std::ios::binary);
  std::int64_t bytes = 0;
  for (long i = 0; i < n; ++i) {
    // Evenly spread, jittered within the step: ids stay unique.
    const barrot::TimeUs ts = k_start + i * step + static_cast<barrot::TimeUs>(rng() % step);
    const std::string iso = barrot::format_iso8601(ts);
    barrot::Json action = barrot::Json::object();
    action["type"] = types[rng() % types.size()];
    action["status"] = std::string(barrot::to_string(bench::action_status(rng)));
    action["details"] = bench::action_details(rng, i);
    action["started_at"] = iso;
    barrot::Json doc = barrot::Json::object();
    doc["snapshot_id"] = barrot::make_snapshot_id(barrot::SnapshotType::action, ts);
    doc["snapshot_type"] = "action";
    doc["timestamp"] = iso;
    doc["action"] = std::move(action);
    doc["metadata"] =
        barrot::Json{{"generated_by", "BarrotSnapshotGenerator"}, {"version", "1.0.0"}};
    const std::string line = doc.dump() + "\n";
    out << line;
    bytes += static_cast<std::int64_t>(line.size());
  }
  out.flush();
  if (!out) {
    die("cannot write " + path);
  }
  return bytes;
}

std::string read_all(const std::string& path) {
  std::string text;
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    char buf[65536];
    for (std::size_t got; (got = std::fread(buf, 1, sizeof buf, f)) > 0;) {
      text.append(buf, got);
    }
    std::fclose(f);
  }
  return text;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    lines.push_back(l);
  }
  return lines;
}

std::string sql_quote(const char* text, int len) {
  std::string q = "'";
  for (int i = 0; i < len; ++i) {
    q += text[i];
    if (text[i] == '\'') {
      q += '\'';
    }
  }
  return q + "'";
}

// Every row of `db`'s snapshots table as INSERT statements into the stored
// (not generated) columns, in one transaction, then the full-text index
// built and recorded: the same end state `barrot import` leaves.
void write_insert_sql(const std::string& db_path, const std::string& out_path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    die("cannot open " + db_path);
  }
  std::vector<std::string> cols;
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT name FROM pragma_table_xinfo('snapshot_rows') WHERE hidden = 0 "
                     "AND name != 'seq' ORDER BY cid",
                     -1,
                     &st,
                     nullptr);
  while (sqlite3_step(st) == SQLITE_ROW) {
    cols.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
  }
  sqlite3_finalize(st);
  std::string list;
  for (const auto& c : cols) {
    list += (list.empty() ? "" : ", ") + c;
  }
  sqlite3_prepare_v2(
      db, ("SELECT " + list + " FROM snapshot_rows ORDER BY seq").c_str(), -1, &st, nullptr);
  std::ofstream out(out_path, std::ios::binary);
  out << "BEGIN;\n";
  const std::string head = "INSERT INTO snapshot_rows (" + list + ") VALUES (";
  while (sqlite3_step(st) == SQLITE_ROW) {
    std::string line = head;
    for (int i = 0; i < static_cast<int>(cols.size()); ++i) {
      line += i ? ", " : "";
      switch (sqlite3_column_type(st, i)) {
      case SQLITE_NULL:
        line += "NULL";
        break;
      case SQLITE_INTEGER:
        line += std::to_string(sqlite3_column_int64(st, i));
        break;
      case SQLITE_BLOB: { // chain_prev: X'<hex>'
        static constexpr char k_hex[] = "0123456789abcdef";
        const auto* b = static_cast<const unsigned char*>(sqlite3_column_blob(st, i));
        line += "X'";
        for (int k = 0; k < sqlite3_column_bytes(st, i); ++k) {
          line += k_hex[b[k] >> 4];
          line += k_hex[b[k] & 0xf];
        }
        line += '\'';
        break;
      }
      default:
        line += sql_quote(reinterpret_cast<const char*>(sqlite3_column_text(st, i)),
                          sqlite3_column_bytes(st, i));
      }
    }
    out << line << ");\n";
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  // As the store indexes (FTS5's 'rebuild' cannot read fts_text: its
  // json_tree is a virtual table too).
  out << "INSERT INTO snapshots_fts (rowid, action_type, details) SELECT seq, action_type, "
         "details FROM fts_text WHERE snapshot_type = 'action';\n"
         "UPDATE fts_state SET indexed_seq = (SELECT max(seq) FROM snapshots);\n"
         "COMMIT;\n";
}

// The database's size and where its pages go (after a checkpoint, so the
// WAL is in the file).
std::int64_t db_size(const std::string& db_path, std::string* breakdown) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
  sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name "
                     "ORDER BY bytes DESC LIMIT 8",
                     -1,
                     &st,
                     nullptr);
  while (sqlite3_step(st) == SQLITE_ROW) {
    char part[160];
    std::snprintf(part,
                  sizeof part,
                  "%s%s %.1f MB",
                  breakdown->empty() ? "" : ", ",
                  reinterpret_cast<const char*>(sqlite3_column_text(st, 0)),
                  static_cast<double>(sqlite3_column_int64(st, 1)) / 1e6);
    *breakdown += part;
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return bench::file_size(db_path);
}

void row(const char* what, const std::string& value, const std::string& note) {
  std::printf("%-50s %14s   %s\n", what, value.c_str(), note.c_str());
}

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

// The median wall time of `runs` runs of argv, its output kept in `out`;
// dies when one fails.
double median_process(const std::vector<std::string>& argv, const std::string& out, int runs) {
  std::vector<double> t;
  for (int r = 0; r < runs; ++r) {
    const double s = bench::run_process(argv, "", out);
    if (s < 0) {
      die("failed: " + argv[0] + " " + (argv.size() > 1 ? argv.back() : ""));
    }
    t.push_back(s);
  }
  return bench::median(t);
}

std::vector<std::string> ids_of_jsonl(const std::string& text) {
  std::vector<std::string> ids;
  for (const std::string& l : lines_of(text)) {
    auto j = barrot::Json::parse(l, nullptr, false);
    ids.push_back(j.is_object() ? j.value("snapshot_id", "?") : "?");
  }
  return ids;
}

// Periodic snapshots every 30 minutes over the data's days (one run in 97
// dropped, as a late scheduler would), recorded once per store.
void add_periodic_snapshots(const std::string& store_dir, long days) {
  barrot::Options o;
  o.snapshots_dir = store_dir;
  auto store = barrot::Store::Open(o);
  check(store.status());
  auto sum = (*store)->summary();
  check(sum.status());
  if (sum->periodic > 0) {
    return;
  }
  for (long i = 0; i < days * 48; ++i) {
    if (i % 97 == 5) {
      continue;
    }
    barrot::PeriodicInput in;
    in.at = k_start + 10 * 60 * 1000000LL + i * 30 * 60 * 1000000LL;
    in.sections = barrot::Json{
        {"system_state", {{"uptime", "active"}, {"health", "operational"}}},
        {"build_state", {{"build_signature", "BNDL-V2"}, {"modules", {"core", "api"}}}},
        {"rail_status", {{"ingestion", "active"}, {"deployment", "stable"}}},
        {"active_processes", {{"count", 1}, {"processes", {{{"pid", 1}, {"name", "barrot"}}}}}}};
    check((*store)->record_periodic(in).status());
  }
}

// The dashboard, health checks and viewer commands on the million, against
// the sqlite3 shell answering the queries the dashboard's page needs.
void measure_monitoring(const Config& c,
                        const std::string& dir,
                        const std::string& store_dir,
                        const std::string& cli) {
  const auto t0 = Clock::now();
  add_periodic_snapshots(store_dir, c.days);
  std::printf("\n(periodic snapshots every 30 minutes added in %.1f s)\n", seconds_since(t0));
  const barrot::TimeUs now = k_start + c.days * k_day - 10 * 60 * 1000000LL;
  const barrot::TimeUs week = 7 * k_day;
  const barrot::TimeUs hour = 3600LL * 1000000;
  const barrot::TimeUs chart_end = (now / hour + 1) * hour;
  const std::string at = barrot::format_iso8601(now);
  const std::string db = store_dir + "/.barrot/barrot.db";
  auto n = [](barrot::TimeUs v) { return std::to_string(v); };
  std::ofstream(dir + "/dashboard.sql")
      << "SELECT action_type, status, count(*) FROM snapshot_rows WHERE action_type IS NOT NULL "
         "GROUP BY 1, 2;\n"
      << "SELECT count(*) FROM snapshot_rows WHERE snapshot_type = 'periodic';\n"
      << "SELECT (ts_us - " << n(chart_end - week) << ") / " << n(hour)
      << ", status, count(*) FROM snapshots WHERE snapshot_type = 'action' AND ts_us >= "
      << n(chart_end - week) << " AND ts_us < " << n(chart_end) << " GROUP BY 1, 2;\n"
      << "SELECT action_type, sum(status = 'failed'), sum(status IN ('completed', 'failed')) "
         "FROM snapshots WHERE snapshot_type = 'action' AND ts_us > "
      << n(now - week) << " AND ts_us <= " << n(now) << " GROUP BY 1;\n"
      << "SELECT ts_us FROM snapshots WHERE snapshot_type = 'periodic' AND ts_us > "
      << n(now - week) << " AND ts_us <= " << n(now) << " ORDER BY ts_us;\n"
      << "SELECT document FROM snapshots WHERE snapshot_type = 'action' ORDER BY ts_us DESC "
         "LIMIT 50;\n"
      << "SELECT document FROM snapshots WHERE snapshot_type = 'periodic' ORDER BY ts_us DESC "
         "LIMIT 1;\n";
  const int runs = std::max(3, c.runs / 3);
  std::vector<double> shell_t;
  for (int r = 0; r < runs; ++r) {
    const double s = bench::run_process({"sqlite3", db}, dir + "/dashboard.sql", "/dev/null");
    if (s < 0) {
      die("the sqlite3 shell failed on the dashboard's queries");
    }
    shell_t.push_back(s);
  }
  const double shell_s = bench::median(shell_t);
  char note[300];
  std::snprintf(note, sizeof note, "median of %d (baseline)", runs);
  row("sqlite3 shell: the dashboard's queries", fmt("%.0f ms", shell_s * 1e3), note);
  const std::string page = dir + "/dashboard.html";
  const double dash_s = median_process(
      {cli, "--dir", store_dir, "--json", "dashboard", "--at", at, "-o", page}, "/dev/null", runs);
  std::snprintf(note,
                sizeof note,
                "%.1f kB page, quick health included; %.2fx the shell's time",
                static_cast<double>(bench::file_size(page)) / 1e3,
                dash_s / shell_s);
  row("process: barrot dashboard", fmt("%.0f ms", dash_s * 1e3), note);
  // Thresholds that make this data OK (10% of it fails; tmpfs may be full),
  // so that a non-zero exit means a real failure.
  const std::vector<std::string> health = {cli,
                                           "--dir",
                                           store_dir,
                                           "health",
                                           "--no-record",
                                           "--at",
                                           at,
                                           "--error-warning",
                                           "50%",
                                           "--error-critical",
                                           "60%",
                                           "--disk-warning",
                                           "0%",
                                           "--disk-critical",
                                           "0%"};
  std::vector<std::string> quick = health;
  quick.push_back("--quick");
  const double quick_s = median_process(quick, "/dev/null", runs);
  std::snprintf(
      note, sizeof note, "10 checks, 2 skipped; %.2fx the shell's time", quick_s / shell_s);
  row("process: barrot health --quick", fmt("%.0f ms", quick_s * 1e3), note);
  const double full_s = median_process(health, "/dev/null", 1);
  row("process: barrot health (verify + quick_check)",
      fmt("%.1f s", full_s),
      "one run: reads every file, line and page");
  const double summary_s = median_process({cli, "--dir", store_dir, "summary"}, "/dev/null", runs);
  row("process: barrot summary", fmt("%.0f ms", summary_s * 1e3), "index-only counts");
  const double actions_s =
      median_process({cli, "--dir", store_dir, "actions", "10"}, "/dev/null", c.runs);
  row("process: barrot actions 10", fmt("%.2f ms", actions_s * 1e3), "one indexed lookup");
  const double latest_s = median_process({cli, "--dir", store_dir, "latest"}, "/dev/null", c.runs);
  row("process: barrot latest", fmt("%.2f ms", latest_s * 1e3), "one indexed lookup");
}

int usage() {
  std::fprintf(stderr,
               "usage: %s [--n N] [--days D] [--runs R] [--dir DIR] [--smoke] "
               "[--cleanup] [--generate-only] [--reuse] [--no-jq]\n",
               k_program);
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  Config c;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : "0"; };
    if (a == "--n") {
      c.n = std::atol(next());
    } else if (a == "--days") {
      c.days = std::atol(next());
    } else if (a == "--runs") {
      c.runs = std::atoi(next());
    } else if (a == "--dir") {
      c.dir = next();
    } else if (a == "--smoke") {
      c.n = 20000;
      c.runs = 3;
    } else if (a == "--cleanup") {
      c.cleanup = true;
    } else if (a == "--generate-only") {
      c.generate_only = true;
    } else if (a == "--reuse") {
      c.reuse = true;
    } else if (a == "--no-jq") {
      c.jq = false;
    } else {
      return usage();
    }
  }
  if (c.n < 1000 || c.days < 8 || c.runs < 1) {
    return usage();
  }
  if (c.dir.empty()) {
    char tmpl[] = "bench-search-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      die("cannot create a directory here");
    }
    c.dir = tmpl;
  }
  const std::string dir = std::filesystem::absolute(c.dir).string();
  const std::string log_dir = dir + "/log";
  const std::string log = log_dir + "/action_log.jsonl";
  const std::string store_dir = dir + "/snapshots";
  const std::string db_path = store_dir + "/.barrot/barrot.db";
  const std::string cli = BARROT_CLI_PATH;
  std::filesystem::create_directories(log_dir);
  std::printf("%s: %ld actions over %ld days in %s\n", k_program, c.n, c.days, dir.c_str());

  auto t0 = Clock::now();
  const std::int64_t log_bytes = c.reuse ? bench::file_size(log) : generate_log(log, c.n, c.days);
  if (c.reuse && (log_bytes <= 0 || bench::file_size(db_path) <= 0)) {
    die("--reuse: no log and store of an earlier run in " + dir);
  }
  std::printf("%s %.1f MB of JSONL in %.1f s\n\n",
              c.reuse ? "reused" : "generated",
              static_cast<double>(log_bytes) / 1e6,
              seconds_since(t0));
  if (c.generate_only) {
    return 0;
  }
  const auto mb = [](std::int64_t b) { return static_cast<double>(b) / 1e6; };
  const double n = static_cast<double>(c.n);
  char note[300];

  // --- Bulk import, against the sqlite3 shell inserting the same rows. -----
  if (!c.reuse) {
    std::filesystem::remove_all(store_dir);
    const double import_s = bench::run_process(
        {cli, "--dir", store_dir, "--json", "import", log_dir}, "", dir + "/import.json");
    if (import_s < 0) {
      die("barrot import failed");
    }
    const barrot::Json report = barrot::Json::parse(read_all(dir + "/import.json"), nullptr, false);
    if (!report.is_object() || report.value("imported", 0L) != c.n) {
      die("barrot import did not import every line: " + read_all(dir + "/import.json"));
    }
    const barrot::Json phases = report.value("seconds", barrot::Json::object());
    const double db_phase_s = phases.value("database", import_s);
    const std::string shell_dir = dir + "/shell";
    std::filesystem::remove_all(shell_dir);
    {
      barrot::Options o;
      o.snapshots_dir = shell_dir;
      check(barrot::Store::Open(o).status()); // the same schema, empty
    }
    write_insert_sql(db_path, dir + "/inserts.sql");
    const double shell_s = bench::run_process(
        {"sqlite3", shell_dir + "/.barrot/barrot.db"}, dir + "/inserts.sql", "/dev/null");
    if (shell_s < 0) {
      die("the sqlite3 shell failed to insert the rows (is sqlite3 installed?)");
    }
    row("sqlite3 shell: insert the rows, one transaction",
        fmt("%.0f rows/s", n / shell_s),
        fmt("%.2f s, full-text index built (baseline)", shell_s));
    std::snprintf(note,
                  sizeof note,
                  "%.2f s; %.2fx the shell's rate (goal >= 0.5x)",
                  db_phase_s,
                  shell_s / db_phase_s);
    row("barrot import: into the database", fmt("%.0f rows/s", n / db_phase_s), note);
    std::snprintf(note,
                  sizeof note,
                  "%.2f s with the mirror files and log; %.2fx the shell's rate",
                  import_s,
                  shell_s / import_s);
    row("barrot import: whole process", fmt("%.0f rows/s", n / import_s), note);
  }

  // --- Database size. -------------------------------------------------------
  std::string breakdown;
  const std::int64_t db_bytes = db_size(db_path, &breakdown);
  std::snprintf(note,
                sizeof note,
                "%.2fx the JSONL's %.1f MB (goal <= 1.3x)",
                static_cast<double>(db_bytes) / static_cast<double>(log_bytes),
                mb(log_bytes));
  row("database size, full-text index included", fmt("%.1f MB", mb(db_bytes)), note);
  std::printf("  %s\n", breakdown.c_str());

  // --- The indexed query: newest 100 failed of one type in 7 days + count. --
  auto store = barrot::Store::Open([&] {
    barrot::Options o;
    o.snapshots_dir = store_dir;
    o.access = barrot::Access::read_only;
    return o;
  }());
  check(store.status());
  const std::vector<std::string> types = action_types();
  auto filter_for = [&](int r) {
    barrot::SearchFilter f;
    f.action_type = types[static_cast<std::size_t>(r * 7) % types.size()];
    f.status = barrot::ActionStatus::failed;
    f.since = k_start + (r % (c.days - 7)) * k_day;
    f.until = *f.since + 7 * k_day;
    f.limit = 100;
    return f;
  };
  // The rows as stored (Store::search_rows, what barrot search prints), and
  // parsed into JSON documents (Store::search).
  std::vector<double> rows_times;
  std::vector<double> parsed_times;
  for (int r = 0; r < 400; ++r) {
    const barrot::SearchFilter f = filter_for(r / 2);
    const bool parsed = r % 2 == 1;
    const auto q0 = Clock::now();
    std::size_t found = 0;
    if (parsed) {
      check((*store)->search(f, [&](const barrot::Snapshot&) { return ++found, true; }));
    } else {
      check((*store)->search_rows(f, [&](const barrot::SnapshotRow&) { return ++found, true; }));
    }
    auto count = (*store)->count(f);
    check(count.status());
    (parsed ? parsed_times : rows_times).push_back(seconds_since(q0));
    if (found != std::min<std::size_t>(100, static_cast<std::size_t>(*count))) {
      die("search and count disagree");
    }
  }
  const barrot::SearchFilter f = filter_for(3);
  const std::string since = barrot::format_iso8601(*f.since);
  const std::string until = barrot::format_iso8601(*f.until);
  row("in process: Store::search_rows + Store::count",
      fmt("%.3f ms", bench::median(rows_times) * 1e3),
      "median of 200 (types and windows vary) (goal < 1 ms)");
  row("in process: Store::search + Store::count",
      fmt("%.3f ms", bench::median(parsed_times) * 1e3),
      "the same, each document parsed into JSON");

  const std::vector<std::string> search = {cli,
                                           "--dir",
                                           store_dir,
                                           "search",
                                           "--action",
                                           f.action_type,
                                           "--status",
                                           "failed",
                                           "--since",
                                           since,
                                           "--until",
                                           until};
  auto with = [](std::vector<std::string> v, std::initializer_list<std::string> more) {
    v.insert(v.end(), more);
    return v;
  };
  const double ours_rows = median_process(with(search, {"-o", "jsonl"}), dir + "/q.ours", c.runs);
  const double ours_count =
      median_process(with(search, {"--count"}), dir + "/q.ours.count", c.runs);
  // Exactly the SQL barrot search runs (lib/src/store/search.cpp).
  const std::string where = "action_type = '" + f.action_type +
                            "' AND status = 'failed' AND ts_us >= " + std::to_string(*f.since) +
                            " AND ts_us < " + std::to_string(*f.until);
  const double shell_rows = median_process({"sqlite3",
                                            "-readonly",
                                            db_path,
                                            "SELECT document FROM snapshots WHERE " + where +
                                                " ORDER BY ts_us DESC, seq DESC LIMIT 100"},
                                           dir + "/q.shell",
                                           c.runs);
  const double shell_count = median_process(
      {"sqlite3", "-readonly", db_path, "SELECT count(*) FROM snapshots WHERE " + where},
      dir + "/q.shell.count",
      c.runs);
  const std::string ours_out = read_all(dir + "/q.ours");
  const std::string count_out = read_all(dir + "/q.ours.count");
  if (ours_out != read_all(dir + "/q.shell") || count_out != read_all(dir + "/q.shell.count")) {
    die("barrot search and the sqlite3 shell answered differently");
  }
  const std::vector<std::string> ours_ids = ids_of_jsonl(ours_out);
  std::snprintf(
      note, sizeof note, "%zu rows; median of %d (goal < 15 ms)", ours_ids.size(), c.runs);
  row("process: barrot search -o jsonl", fmt("%.2f ms", ours_rows * 1e3), note);
  std::snprintf(note, sizeof note, "count %s", count_out.substr(0, count_out.size() - 1).c_str());
  row("process: barrot search --count", fmt("%.2f ms", ours_count * 1e3), note);
  std::snprintf(note,
                sizeof note,
                "the same query; barrot takes %.2fx its time (goal <= 1.2x)",
                ours_rows / shell_rows);
  row("process: sqlite3 shell, rows", fmt("%.2f ms", shell_rows * 1e3), note);
  std::snprintf(
      note, sizeof note, "barrot takes %.2fx its time (goal <= 1.2x)", ours_count / shell_count);
  row("process: sqlite3 shell, count", fmt("%.2f ms", shell_count * 1e3), note);
  if (c.jq) {
    const double jq_s = bench::run_process(
        {"jq",
         "-r",
         "--arg",
         "t",
         f.action_type,
         "--arg",
         "a",
         since,
         "--arg",
         "b",
         until,
         "select(.action.type == $t and .action.status == \"failed\" and .timestamp >= $a and "
         ".timestamp < $b) | .snapshot_id",
         log},
        "",
        dir + "/q.jq");
    if (jq_s < 0) {
      die("jq failed (is it installed?)");
    }
    std::vector<std::string> jq_ids = lines_of(read_all(dir + "/q.jq"));
    const std::string jq_count = std::to_string(jq_ids.size()) + "\n";
    std::reverse(jq_ids.begin(), jq_ids.end());
    jq_ids.resize(std::min<std::size_t>(jq_ids.size(), 100));
    if (jq_ids != ours_ids || jq_count != count_out) {
      die("barrot search and jq answered differently");
    }
    std::snprintf(note,
                  sizeof note,
                  "rows and count in one pass; barrot's two processes are "
                  "%.0fx faster (goal >= 300x)",
                  jq_s / (ours_rows + ours_count));
    row("jq over action_log.jsonl", fmt("%.2f s", jq_s), note);
  }

  // --- Full text: one word in details, against grep -w over the log. --------
  const std::string word = "quarantined";
  const double fts_s = median_process(
      {cli, "--dir", store_dir, "search", word, "--reverse", "--limit", "100000000", "-o", "jsonl"},
      dir + "/w.ours",
      c.runs);
  const double grep_s = median_process({"grep", "-w", word, log}, dir + "/w.grep", c.runs);
  const std::string fts_out = read_all(dir + "/w.ours");
  if (fts_out != read_all(dir + "/w.grep")) {
    die("barrot search and grep -w found different lines");
  }
  std::snprintf(
      note, sizeof note, "%zu lines; median of %d (baseline)", lines_of(fts_out).size(), c.runs);
  row("grep -w WORD action_log.jsonl", fmt("%.2f ms", grep_s * 1e3), note);
  std::snprintf(
      note, sizeof note, "the same lines; %.1fx faster than grep (goal >= 10x)", grep_s / fts_s);
  row("process: barrot search WORD -o jsonl", fmt("%.2f ms", fts_s * 1e3), note);

  store->reset();
  measure_monitoring(c, dir, store_dir, cli);
  if (c.cleanup) {
    std::filesystem::remove_all(dir);
  }
  return 0;
}
