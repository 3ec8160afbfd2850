// barrot_bench: Barrot's write path against baselines measured in the same
// run, on the same disk, with the same details and no fsync on either side
// (except the rows that say fsync). Prints rates and ratios; see
// docs/performance.md for how to read them.
//
//   barrot_bench [--n N] [--batch B] [--full-n N] [--rounds K] [--runs R] [--dir DIR]
//                [--baseline PY] [--python EXE] [--only GROUPS] [--smoke] [--cleanup]
//
// Outputs are kept (in ./bench-out-XXXXXX unless --dir) unless --cleanup:
// on ext4, creating files within minutes of deleting many is 2-4x slower, so
// deleting a run's output right before the next run would skew it.
#include <barrot/barrot.h>

#include <sqlite3.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <spawn.h>
#include <string>
#include <vector>

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Config {
  long n = 20000;     // snapshots per in-process row
  long batch = 100;   // batch size for record_actions
  long full_n = 2000; // writes in the fsync rows
  int runs = 15;      // process starts per process row
  int rounds = 3;     // interleaved rounds of the in-process rows
  std::string dir;    // base directory; default: a new one under the cwd
  std::string baseline = BARROT_DEFAULT_BASELINE;
  std::string python = "/usr/bin/python3";
  std::string only; // comma-separated row groups; empty: all
  bool wants(const char* group) const {
    if (only.empty()) {
      return true;
    }
    const std::string list = "," + only + ",";
    return list.find("," + std::string(group) + ",") != std::string::npos;
  }
};

barrot::Json details_for(long i) {
  // The baseline's details: same keys, same values.
  return barrot::Json{{"environment", "production"}, {"version", "1.0.0"}, {"n", i}};
}

void row(const char* what, double rate, const std::string& note) {
  std::printf("%-46s %12.0f/s %9.1f us   %s\n", what, rate, 1e6 / rate, note.c_str());
}

std::string ratio(double x, const char* against, const char* goal) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%.2fx %s%s%s", x, against, goal[0] ? "  goal " : "", goal);
  return buf;
}

// Runs argv with the given environment additions, stdout/stderr to /dev/null;
// returns wall seconds, or -1 on failure.
double time_process(const std::vector<std::string>& argv, const std::string& env_dir) {
  std::vector<char*> args;
  for (const auto& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "BARROT_SNAPSHOTS_DIR=", 21) != 0) {
      env_store.emplace_back(*e);
    }
  }
  env_store.push_back("BARROT_SNAPSHOTS_DIR=" + env_dir);
  std::vector<char*> envp;
  for (auto& e : env_store) {
    envp.push_back(e.data());
  }
  envp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  auto t0 = Clock::now();
  int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    return -1;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  double s = seconds_since(t0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? s : -1;
}

struct Command {
  std::vector<std::string> argv;
  std::string dir; // its BARROT_SNAPSHOTS_DIR
};

// The median wall time of each command over `runs` starts, the commands
// taking turns (so that the machine's drift is shared alike); -1 for one
// that failed.
std::vector<double> median_processes(const std::vector<Command>& commands, int runs) {
  std::vector<std::vector<double>> t(commands.size());
  std::vector<bool> failed(commands.size(), false);
  for (int i = 0; i < runs; ++i) {
    for (std::size_t k = 0; k < commands.size(); ++k) {
      if (!failed[k]) {
        const double s = time_process(commands[k].argv, commands[k].dir);
        failed[k] = s < 0;
        t[k].push_back(s);
      }
    }
  }
  std::vector<double> out;
  for (std::size_t k = 0; k < commands.size(); ++k) {
    std::sort(t[k].begin(), t[k].end());
    out.push_back(failed[k] ? -1 : t[k][t[k].size() / 2]);
  }
  return out;
}

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

// The Python baseline's in-process rate, or -1 when it cannot run here.
double python_rate(const Config& c, const std::string& dir) {
  if (!exists(c.python) || !exists(c.baseline)) {
    return -1;
  }
  std::filesystem::create_directories(dir);
  std::string cmd = "cd '" + dir + "' && BARROT_SNAPSHOTS_DIR='" + dir + "/snapshots' '" +
                    c.python + "' '" + c.baseline + "' bench " + std::to_string(c.n);
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) {
    return -1;
  }
  char buf[512] = {};
  size_t got = std::fread(buf, 1, sizeof buf - 1, p);
  buf[got] = '\0';
  if (::pclose(p) != 0) {
    return -1;
  }
  barrot::Json j = barrot::Json::parse(buf, nullptr, false);
  return j.is_object() && j.contains("actions_per_s") ? j["actions_per_s"].get<double>() : -1;
}

std::unique_ptr<barrot::Store>
open(const std::string& dir, barrot::Sync sync, bool background = false) {
  barrot::Options o;
  o.snapshots_dir = dir;
  o.sync = sync;
  o.background_mirror = background;
  auto s = barrot::Store::Open(o);
  if (!s.ok()) {
    std::fprintf(stderr, "barrot_bench: %s\n", s.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(s).value();
}

void check(const barrot::Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "barrot_bench: %s\n", s.ToString().c_str());
    std::exit(1);
  }
}

// With `background`, the clock stops once flush() has seen every file and
// line written: the same work as without.
double barrot_single(const std::string& dir, long n, barrot::Sync sync, bool background) {
  auto store = open(dir, sync, background);
  barrot::ActionInput in;
  in.type = "deployment";
  auto t0 = Clock::now();
  for (long i = 0; i < n; ++i) {
    in.details = details_for(i);
    auto r = store->record_action(in);
    check(r.status());
    check(r->mirror);
  }
  check(store->flush());
  return n / seconds_since(t0);
}

double barrot_batched(const std::string& dir, long n, long batch, bool background) {
  auto store = open(dir, barrot::Sync::normal, background);
  std::vector<barrot::ActionInput> inputs;
  auto t0 = Clock::now();
  for (long i = 0; i < n;) {
    inputs.clear();
    for (long k = 0; k < batch && i < n; ++k, ++i) {
      barrot::ActionInput in;
      in.type = "deployment";
      in.details = details_for(i);
      inputs.push_back(std::move(in));
    }
    auto r = store->record_actions(inputs);
    check(r.status());
  }
  check(store->flush());
  return n / seconds_since(t0);
}

// Floor rows: the same rows inserted with plain SQLite (prepared statement,
// WAL, synchronous=NORMAL, Barrot's schema and indexes, no mirror), `batch`
// rows per transaction. What one transaction per snapshot costs here, on
// SQLite's default VFS or (`vfs`) on Barrot's, which writes a commit's WAL
// frames in one call (docs/architecture.md).
double raw_sqlite(const std::string& dir, long n, long batch, const char* vfs = nullptr) {
  { open(dir, barrot::Sync::normal); } // creates the schema (and registers Barrot's VFS)
  sqlite3* db = nullptr;
  if (sqlite3_open_v2((dir + "/.barrot/barrot.db").c_str(), &db, SQLITE_OPEN_READWRITE, vfs) !=
      SQLITE_OK) {
    std::fprintf(stderr, "barrot_bench: cannot open raw database\n");
    std::exit(1);
  }
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO snapshot_rows (snapshot_id, snapshot_type, ts_us, action_type, "
                     "status, details) VALUES (?, 'action', ?, 'deployment', 'executing', ?)",
                     -1,
                     &st,
                     nullptr);
  const barrot::TimeUs t0_us = barrot::now_us();
  auto t0 = Clock::now();
  for (long i = 0; i < n;) {
    sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    for (long k = 0; k < batch && i < n; ++k, ++i) {
      const barrot::TimeUs ts = t0_us + i;
      const std::string id = barrot::make_snapshot_id(barrot::SnapshotType::action, ts);
      const std::string text = details_for(i).dump();
      sqlite3_bind_text(st, 1, id.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(st, 2, ts);
      sqlite3_bind_text(st, 3, text.c_str(), -1, SQLITE_TRANSIENT);
      if (sqlite3_step(st) != SQLITE_DONE) {
        std::fprintf(stderr, "barrot_bench: %s\n", sqlite3_errmsg(db));
        std::exit(1);
      }
      sqlite3_reset(st);
    }
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  const double rate = n / seconds_since(t0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rate;
}

// Ceiling rows: what one small file per snapshot costs on this disk.
double small_files(const std::string& dir, long n, bool rename_too) {
  std::filesystem::create_directories(dir);
  const std::string text(420, 'x');
  auto t0 = Clock::now();
  for (long i = 0; i < n; ++i) {
    std::string name = dir + "/f" + std::to_string(i) + ".json";
    std::string target = rename_too ? dir + "/.f" + std::to_string(i) + ".tmp" : name;
    int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || ::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
      std::perror("small file");
      std::exit(1);
    }
    ::close(fd);
    if (rename_too && ::rename(target.c_str(), name.c_str()) != 0) {
      std::perror("rename");
      std::exit(1);
    }
  }
  return n / seconds_since(t0);
}

double append_fsync(const std::string& dir, long n) {
  std::filesystem::create_directories(dir);
  int fd = ::open((dir + "/log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const std::string line(380, 'x');
  auto t0 = Clock::now();
  for (long i = 0; i < n; ++i) {
    if (::write(fd, line.data(), line.size()) < 0 || ::fsync(fd) != 0) {
      std::perror("append+fsync");
      std::exit(1);
    }
  }
  double rate = n / seconds_since(t0);
  ::close(fd);
  return rate;
}

// Milliseconds to take one periodic snapshot (collect every source, record
// it), median of `runs`; `processes` gets how many processes it listed.
double periodic_ms(const std::string& dir, int runs, std::int64_t* processes) {
  auto store = open(dir, barrot::Sync::normal);
  barrot::PeriodicConfig config;
  config.base_dir = dir;
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    auto t0 = Clock::now();
    auto snap = barrot::take_periodic_snapshot(*store, config);
    t.push_back(seconds_since(t0) * 1e3);
    check(snap.status());
    *processes = snap->document["active_processes"]["count"].get<std::int64_t>();
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

int usage() {
  std::fprintf(stderr,
               "usage: barrot_bench [--n N] [--batch B] [--full-n N] [--rounds K] [--runs R]\n"
               "                    [--dir DIR]\n"
               "                    [--baseline PY] [--python EXE] [--only GROUPS] [--smoke]\n"
               "                    [--cleanup]\n"
               "GROUPS: comma-separated, of python,single,batch,sqlite,files,full,periodic,"
               "process\n");
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  Config c;
  bool cleanup = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--n") {
      c.n = std::atol(next().c_str());
    } else if (a == "--batch") {
      c.batch = std::atol(next().c_str());
    } else if (a == "--full-n") {
      c.full_n = std::atol(next().c_str());
    } else if (a == "--rounds") {
      c.rounds = std::atoi(next().c_str());
    } else if (a == "--runs") {
      c.runs = std::atoi(next().c_str());
    } else if (a == "--dir") {
      c.dir = next();
    } else if (a == "--baseline") {
      c.baseline = next();
    } else if (a == "--python") {
      c.python = next();
    } else if (a == "--only") {
      c.only = next();
    } else if (a == "--cleanup") {
      cleanup = true;
    } else if (a == "--smoke") {
      c.n = 500;
      c.full_n = 50;
      c.runs = 3;
      c.rounds = 1;
    } else {
      return usage();
    }
  }
  if (c.n <= 0 || c.batch <= 0 || c.full_n <= 0 || c.runs <= 0 || c.rounds <= 0) {
    return usage();
  }
  if (c.dir.empty()) {
    char templ[] = "./bench-out-XXXXXX";
    if (::mkdtemp(templ) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    c.dir = templ;
  }
  c.dir = std::filesystem::absolute(c.dir).string();
  std::printf("barrot_bench: n=%ld batch=%ld full_n=%ld rounds=%d runs=%d dir=%s\n",
              c.n,
              c.batch,
              c.full_n,
              c.rounds,
              c.runs,
              c.dir.c_str());
  std::printf("%-46s %14s %12s   %s\n", "what", "rate", "each", "ratio");

  // The in-process rows run in `rounds` interleaved rounds, each in a
  // directory of its own: a row's rate is its median over the rounds, and a
  // ratio the median of the ratios measured within each round, so that the
  // machine's drift from one minute to the next (1.5-2x here) does not land
  // on one side of a ratio. A row group not asked for (--only) is not run.
  enum Row {
    py,
    one,
    one_bg,
    bat,
    bat_bg,
    raw1,
    raw1_vfs,
    rawb,
    cw,
    cwr,
    full,
    full_bg,
    fs,
    k_rows
  };
  std::array<std::vector<double>, k_rows> rates;
  for (int r = 1; r <= c.rounds; ++r) {
    const std::string d = c.dir + "/round" + std::to_string(r);
    auto run = [&](Row which, const char* group, auto f) {
      if (c.wants(group)) {
        rates[which].push_back(f());
      }
    };
    run(py, "python", [&] { return python_rate(c, d + "/py"); });
    run(one, "single", [&] {
      return barrot_single(d + "/single", c.n, barrot::Sync::normal, false);
    });
    run(one_bg, "single", [&] {
      return barrot_single(d + "/single_bg", c.n, barrot::Sync::normal, true);
    });
    run(bat, "batch", [&] { return barrot_batched(d + "/batch", c.n, c.batch, false); });
    run(bat_bg, "batch", [&] { return barrot_batched(d + "/batch_bg", c.n, c.batch, true); });
    run(raw1, "sqlite", [&] { return raw_sqlite(d + "/raw1", c.n, 1); });
    run(raw1_vfs, "sqlite", [&] { return raw_sqlite(d + "/raw1_vfs", c.n, 1, "barrot-wal"); });
    run(rawb, "sqlite", [&] { return raw_sqlite(d + "/rawb", c.n, c.batch); });
    run(cw, "files", [&] { return small_files(d + "/files_cw", c.n, false); });
    run(cwr, "files", [&] { return small_files(d + "/files_cwr", c.n, true); });
    run(full, "full", [&] {
      return barrot_single(d + "/full", c.full_n, barrot::Sync::full, false);
    });
    run(full_bg, "full", [&] {
      return barrot_single(d + "/full_bg", c.full_n, barrot::Sync::full, true);
    });
    run(fs, "full", [&] { return append_fsync(d + "/fsync", c.full_n); });
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? -1.0 : v[v.size() / 2];
  };
  auto rate = [&](Row which) { return median(rates[which]); };
  // The median ratio x/y over the rounds that measured both, with its range.
  auto against = [&](Row x, Row y, const char* what, const char* goal) {
    std::vector<double> r;
    for (std::size_t i = 0; i < rates[x].size() && i < rates[y].size(); ++i) {
      if (rates[x][i] > 0 && rates[y][i] > 0) {
        r.push_back(rates[x][i] / rates[y][i]);
      }
    }
    if (r.empty()) {
      return std::string();
    }
    std::string out = ratio(median(r), what, goal);
    if (r.size() > 1) {
      char range[64];
      std::snprintf(range,
                    sizeof range,
                    "  (rounds %.2f-%.2f)",
                    *std::min_element(r.begin(), r.end()),
                    *std::max_element(r.begin(), r.end()));
      out += range;
    }
    return out;
  };
  auto show = [&](Row which, const char* what, const std::string& note) {
    if (!rates[which].empty()) {
      row(what, rate(which), note);
    }
  };
  if (rate(py) > 0) {
    row("python baseline (legacy write path)", rate(py), "1.00x baseline");
  } else if (c.wants("python")) {
    std::printf(
        "python baseline: not run (%s or %s missing)\n", c.python.c_str(), c.baseline.c_str());
  }
  show(one, "barrot record_action (one call each)", against(one, py, "baseline", ">= 1.5x"));
  show(one_bg, "  the same, background mirror", against(one_bg, py, "baseline", ">= 1.5x"));
  show(bat, "barrot record_actions (batches)", against(bat, py, "baseline", ">= 3x"));
  show(bat_bg, "  the same, background mirror", against(bat_bg, py, "baseline", ">= 3x"));
  show(raw1,
       "floor: plain SQLite, 1 row per transaction",
       against(one, raw1, "(record_action / this)", ""));
  show(raw1_vfs,
       "  the same, Barrot's VFS (one WAL write a commit)",
       against(raw1_vfs, raw1, "the plain floor's rate", ""));
  show(rawb, "floor: plain SQLite, batches", against(bat, rawb, "(record_actions / this)", ""));
  show(cw, "ceiling: create+write a small file", against(one, cw, "(record_action / this)", ""));
  show(cwr,
       "ceiling: create+write+rename a small file",
       against(one, cwr, "(record_action / this)", ""));
  show(fs, "append+fsync loop", "1.00x fsync baseline");
  show(full, "barrot record_action, sync=full", against(full, fs, "append+fsync", ">= 0.5x"));
  show(full_bg, "  the same, background mirror", against(full_bg, fs, "append+fsync", ">= 0.5x"));

  if (c.wants("periodic")) {
    std::int64_t processes = 0;
    const double periodic = periodic_ms(c.dir + "/periodic", c.runs, &processes);
    std::printf("%-46s %12.2f ms   (%lld processes; goal < 20 ms)\n",
                "periodic snapshot, collect + record (median)",
                periodic,
                static_cast<long long>(processes));
  }
  if (c.wants("process")) {
    const std::string cli = BARROT_CLI_PATH;
    const std::string details = R"({"environment":"production","version":"1.0.0"})";
    // The floor commits one row into a store of its own, made by Barrot
    // (and so of its schema), with plain SQLite in a process of its own.
    const std::string floor_dir = c.dir + "/proc_floor";
    { open(floor_dir, barrot::Sync::normal); }
    std::vector<Command> commands = {
        {{cli, "track", "deployment", details}, c.dir + "/proc_barrot"},
        {{"/bin/true"}, c.dir},
        {{BARROT_FLOOR_PATH, floor_dir + "/.barrot/barrot.db"}, c.dir},
    };
    const bool with_python = exists(c.python) && exists(c.baseline);
    if (with_python) {
      commands.push_back(
          {{c.python, c.baseline, "action", "deployment", details}, c.dir + "/proc_py"});
    }
    const std::vector<double> t = median_processes(commands, c.runs);
    const double t_barrot = t[0];
    const double t_true = t[1];
    const double t_floor = t[2];
    const double t_py = with_python ? t[3] : -1;
    std::printf("%-46s %12.2f ms\n", "process: true (median)", t_true * 1e3);
    if (t_py > 0) {
      std::printf("%-46s %12.2f ms   1.00x baseline\n",
                  "process: python py_baseline.py action",
                  t_py * 1e3);
    }
    auto faster = [&](double t_this, const char* goal) {
      char buf[96] = "";
      if (t_py > 0 && t_this > 0) {
        std::snprintf(buf, sizeof buf, "%.1fx faster than python%s", t_py / t_this, goal);
      }
      return std::string(buf);
    };
    std::printf("%-46s %12.2f ms   %s\n",
                "floor: plain SQLite process, 1 row (median)",
                t_floor * 1e3,
                faster(t_floor, "").c_str());
    std::printf("%-46s %12.2f ms   %s\n",
                "process: barrot track (median)",
                t_barrot * 1e3,
                faster(t_barrot, "  goal >= 10x").c_str());
  }
  if (cleanup) {
    std::error_code ec;
    std::filesystem::remove_all(c.dir, ec);
  } else {
    std::printf("outputs kept in %s (remove them when done; see docs/performance.md)\n",
                c.dir.c_str());
  }
  return 0;
}
