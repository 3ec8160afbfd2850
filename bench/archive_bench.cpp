// barrot_archive_bench: archiving one month with barrot-archive's library
// against `zstd -LEVEL` compressing the same month as plain JSONL, measured
// in the same run on the same disk. See docs/performance.md.
//
//   barrot_archive_bench [--n N] [--level L] [--dir DIR] [--smoke] [--cleanup]
//                        [--generate-only]
//
// --generate-only writes the store (DIR/snapshots) and stops: the data for
// trying barrot-archive, or a profiler, by hand.
// The store is generated reproducibly (fixed seed): N action snapshots spread
// over January 2025 (30 action types; 85% completed, 10% failed, 5%
// executing; details of 3-6 keys) plus a periodic snapshot every 30 minutes.
#include "bench_util.h"

#include <cstring>
#include <filesystem>
#include <fstream>

namespace {

using bench::Clock;
using bench::file_size;
using bench::run_process;
using bench::seconds_since;

void check(const barrot::Status& s) {
  bench::check(s, "barrot_archive_bench");
}

struct Config {
  long n = 333000;
  int level = 3;
  std::string dir;
  bool cleanup = false;
  bool generate_only = false;
};

constexpr barrot::TimeUs k_month_start = 1735689600LL * 1000000; // 2025-01-01T00:00:00Z
constexpr barrot::TimeUs k_month_us = 31LL * 86400 * 1000000;

void generate(barrot::Store& store, long n) {
  std::mt19937_64 rng(42);
  std::vector<std::string> types;
  for (int t = 0; t < 30; ++t) {
    types.push_back("task_" + std::to_string(t));
  }
  std::vector<barrot::TimeUs> times;
  for (long i = 0; i < n; ++i) {
    times.push_back(k_month_start + static_cast<barrot::TimeUs>(rng() % k_month_us));
  }
  std::sort(times.begin(), times.end());
  std::vector<barrot::ActionInput> batch;
  for (long i = 0; i < n; ++i) {
    barrot::ActionInput in;
    in.type = types[rng() % types.size()];
    in.status = bench::action_status(rng);
    in.details = bench::action_details(rng, i);
    in.at = times[static_cast<std::size_t>(i)];
    batch.push_back(std::move(in));
    if (batch.size() == 2000 || i + 1 == n) {
      check(store.record_actions(batch).status());
      batch.clear();
    }
  }
  for (barrot::TimeUs t = k_month_start; t < k_month_start + k_month_us; t += 1800LL * 1000000) {
    barrot::PeriodicInput p;
    p.sections["system_state"] = barrot::Json{{"health", "operational"}, {"load", 0.5}};
    p.at = t;
    check(store.record_periodic(p).status());
  }
  // One newer periodic snapshot, so that January's last one is archived too.
  barrot::PeriodicInput p;
  p.sections["system_state"] = barrot::Json{{"health", "operational"}};
  p.at = k_month_start + k_month_us + 86400LL * 1000000;
  check(store.record_periodic(p).status());
}

void row(const char* what, double value, const char* unit, const std::string& note) {
  std::printf("%-44s %10.2f %-5s %s\n", what, value, unit, note.c_str());
}

int usage() {
  std::fprintf(stderr,
               "usage: barrot_archive_bench [--n N] [--level L] [--dir DIR] [--smoke] "
               "[--cleanup] [--generate-only]\n");
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  Config c;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "--n" && i + 1 < argc) {
      c.n = std::atol(next());
    } else if (a == "--level" && i + 1 < argc) {
      c.level = std::atoi(next());
    } else if (a == "--dir" && i + 1 < argc) {
      c.dir = next();
    } else if (a == "--smoke") {
      c.n = 3000;
    } else if (a == "--cleanup") {
      c.cleanup = true;
    } else if (a == "--generate-only") {
      c.generate_only = true;
    } else {
      return usage();
    }
  }
  if (c.n <= 0 || c.level < 1 || c.level > 19) {
    return usage();
  }
  if (c.dir.empty()) {
    char tmpl[] = "bench-archive-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    c.dir = tmpl;
  }
  const std::string snapshots = c.dir + "/snapshots";
  barrot::Options o;
  o.snapshots_dir = snapshots;

  std::printf("barrot_archive_bench: %ld actions + periodic snapshots of 2025-01, zstd level %d, "
              "in %s\n",
              c.n,
              c.level,
              c.dir.c_str());
  auto t0 = Clock::now();
  {
    auto store = barrot::Store::Open(o);
    check(store.status());
    generate(**store, c.n);
  }
  // The month is old when it is archived: its files were written back to
  // disk long ago. (Right after creating them, deleting them waits for
  // their writeback.)
  ::sync();
  std::printf("generated in %.1f s\n\n", seconds_since(t0));
  if (c.generate_only) {
    return 0;
  }

  // Baseline for deleting the mirror files: unlinking small files made the
  // same way (created, then synced) on the same disk.
  const long unlink_n = std::min<long>(c.n, 20000);
  double unlink_us = 0;
  {
    const std::string d = c.dir + "/unlink-baseline";
    std::filesystem::create_directories(d);
    for (long i = 0; i < unlink_n; ++i) {
      std::ofstream(d + "/f" + std::to_string(i) + ".json") << "{}";
    }
    ::sync();
    const auto u0 = Clock::now();
    for (long i = 0; i < unlink_n; ++i) {
      ::unlink((d + "/f" + std::to_string(i) + ".json").c_str());
    }
    unlink_us = seconds_since(u0) * 1e6 / static_cast<double>(unlink_n);
    std::filesystem::remove_all(d);
  }

  barrot::ArchiveRunReport report;
  {
    auto store = barrot::Store::Open(o);
    check(store.status());
    barrot::ArchiveOptions ao;
    ao.month = "2025-01";
    ao.level = c.level;
    auto archiver = barrot::Archiver::Open(**store, ao);
    check(archiver.status());
    auto r = (*archiver)->run();
    check(r.status());
    check(r->unfinished);
    report = *r;
  }
  if (report.months.size() != 1) {
    std::fprintf(stderr, "barrot_archive_bench: expected one month archived\n");
    return 1;
  }
  const barrot::MonthReport& m = report.months[0];
  if (file_size(m.file) != m.archive_bytes) {
    std::fprintf(stderr, "barrot_archive_bench: archive size mismatch\n");
    return 1;
  }

  // Baseline: zstd on the same content as a JSONL file (page-cached, as the
  // store is), best of three. The content is the archive's own, taken back
  // out of it: the lines as the log holds them, chain records included.
  const std::string jsonl = c.dir + "/month.jsonl";
  if (run_process({"zstd", "-q", "-d", "-c", m.file}, "", jsonl) < 0) {
    std::fprintf(stderr, "barrot_archive_bench: zstd failed (is it installed?)\n");
    return 1;
  }
  const std::int64_t content = file_size(jsonl);
  double zstd_s = 1e9;
  std::string level_flag = "-";
  level_flag += std::to_string(c.level);
  for (int r = 0; r < 3; ++r) {
    const double s = run_process({"zstd", "-q", "-f", level_flag, jsonl, "-o", jsonl + ".zst"});
    if (s < 0) {
      std::fprintf(stderr, "barrot_archive_bench: zstd failed\n");
      return 1;
    }
    zstd_s = std::min(zstd_s, s);
  }
  const std::int64_t zstd_bytes = file_size(jsonl + ".zst");
  const double mb = static_cast<double>(content) / 1e6;
  const double zstd_rate = mb / zstd_s;
  const double ours_rate = mb / m.archive_seconds;
  const double zstd_ratio = static_cast<double>(content) / static_cast<double>(zstd_bytes);
  const double ours_ratio = static_cast<double>(content) / static_cast<double>(m.archive_bytes);
  char note[200];
  std::printf(
      "month: %lld snapshots, %.1f MB of JSONL\n\n", static_cast<long long>(m.in_archive), mb);
  std::snprintf(note, sizeof note, "%.2f s, ratio %.2f", zstd_s, zstd_ratio);
  row("zstd CLI on the month's JSONL (baseline)", zstd_rate, "MB/s", note);
  std::snprintf(note,
                sizeof note,
                "%.2f s, ratio %.2f; %.2fx zstd's speed (goal >= 0.5x), %.2fx its ratio "
                "(goal >= 1)",
                m.archive_seconds,
                ours_ratio,
                ours_rate / zstd_rate,
                ours_ratio / zstd_ratio);
  row("archive: read, compress, fsync, verify", ours_rate, "MB/s", note);
  std::snprintf(note,
                sizeof note,
                "one transaction, %lld rows",
                static_cast<long long>(m.actions + m.periodic));
  row("delete the month from the database", m.delete_seconds, "s", note);
  std::snprintf(note, sizeof note, "%ld files created, synced, unlinked", unlink_n);
  row("baseline: unlink one small file", unlink_us, "us", note);
  const double per_file =
      m.files_removed > 0 ? m.cleanup_seconds * 1e6 / static_cast<double>(m.files_removed) : 0;
  std::snprintf(note,
                sizeof note,
                "%.2f s for %lld files and %lld log lines; %.2fx the baseline per file",
                m.cleanup_seconds,
                static_cast<long long>(m.files_removed),
                static_cast<long long>(m.lines_removed),
                unlink_us > 0 ? per_file / unlink_us : 0.0);
  row("delete its mirror files and log lines", per_file, "us", note);
  std::snprintf(note,
                sizeof note,
                "%.1f MB -> %.1f MB",
                static_cast<double>(report.db_bytes_before) / 1e6,
                static_cast<double>(report.db_bytes_after) / 1e6);
  row("reclaim database space", report.vacuum_seconds, "s", note);
  row("space reclaimed",
      static_cast<double>(report.db_bytes_before - report.db_bytes_after) / 1e6,
      "MB",
      "");
  if (c.cleanup) {
    std::filesystem::remove_all(c.dir);
  }
  return 0;
}
