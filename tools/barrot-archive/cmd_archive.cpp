// barrot-archive's commands: run, list, verify, restore.
#include "../barrot/cli.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>

namespace barrot::cli {

namespace {

void add_archive_dir(cxxopts::Options& o) {
  o.add_options()("archive-dir",
                  "where archives are kept (default DIR/archive; config archive.dir)",
                  cxxopts::value<std::string>(),
                  "PATH")("config",
                          "configuration file; its archive: section (env BARROT_CONFIG)",
                          cxxopts::value<std::string>(),
                          "FILE");
}

void add_run(cxxopts::Options& o) {
  add_archive_dir(o);
  o.add_options()("month",
                  "archive this complete month only (all of it, whatever the retention)",
                  cxxopts::value<std::string>(),
                  "YYYY-MM")("retain-periodic",
                             "keep periodic snapshots this long (default 30d)",
                             cxxopts::value<std::string>(),
                             "DAYS")("retain-actions",
                                     "keep action snapshots this long (default 90d)",
                                     cxxopts::value<std::string>(),
                                     "DAYS")(
      "level", "zstd level 1-19 (default 3)", cxxopts::value<std::string>(), "N")(
      "n,dry-run", "show what would move; change nothing")(
      "q,quiet", "print nothing on success (no progress bar either)");
}

// Options from the configuration file, then flags over them.
Status archive_options(const cxxopts::ParseResult& args, ArchiveOptions* o) {
  const std::string config = config_file(args);
  if (!config.empty()) {
    BARROT_TRY(load_archive_config(config, o));
  }
  if (args.count("archive-dir")) {
    o->archive_dir = args["archive-dir"].as<std::string>();
    if (o->archive_dir.empty()) {
      return Status::InvalidArgument("--archive-dir is empty");
    }
  }
  auto days = [&](const char* flag, std::int64_t* out) -> Status {
    if (args.count(flag)) {
      auto d = parse_retention_days(args[flag].as<std::string>());
      if (!d.ok()) {
        return d.status().WithContext(std::string("--") + flag);
      }
      *out = *d;
    }
    return Status::OK();
  };
  BARROT_TRY(days("retain-periodic", &o->retention.periodic_days));
  return days("retain-actions", &o->retention.action_days);
}

// A progress line on a terminal: month, phase, done/total, rate, ETA.
class ProgressBar {
public:
  explicit ProgressBar(bool enabled) : m_enabled(enabled) {}
  ~ProgressBar() { finish(); }

  void update(const ArchiveProgress& p) {
    if (!m_enabled) {
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (p.month != m_month || p.phase != m_phase) {
      m_month = p.month;
      m_phase = p.phase;
      m_start = now;
    } else if (now - m_last < std::chrono::milliseconds(100) && p.done != p.total) {
      return;
    }
    m_last = now;
    const double secs = std::chrono::duration<double>(now - m_start).count();
    const double rate = secs > 0 ? static_cast<double>(p.done) / secs : 0;
    const double eta = rate > 0 ? static_cast<double>(p.total - p.done) / rate : 0;
    const int pct = p.total > 0 ? static_cast<int>(100 * p.done / p.total) : 100;
    constexpr int k_width = 24;
    std::string bar(static_cast<std::size_t>(pct * k_width / 100), '#');
    bar.resize(k_width, '.');
    std::fprintf(stderr,
                 "\r%s %-9s [%s] %lld/%lld %3d%% %8.0f/s ETA %4.0fs ",
                 p.month.c_str(),
                 p.phase,
                 bar.c_str(),
                 static_cast<long long>(p.done),
                 static_cast<long long>(p.total),
                 pct,
                 rate,
                 eta);
    m_drawn = true;
  }

  void finish() {
    if (m_drawn) {
      std::fprintf(stderr, "\r\033[K");
      m_drawn = false;
    }
  }

private:
  bool m_enabled;
  bool m_drawn = false;
  std::string m_month;
  std::string m_phase;
  std::chrono::steady_clock::time_point m_start{};
  std::chrono::steady_clock::time_point m_last{};
};

// Opens the store and an Archiver, runs `op(Archiver&)`, prints.
template <typename Op, typename Print>
int run_on_archiver(
    Context& ctx, Access access, const ArchiveOptions& options, Op&& op, Print&& print) {
  return run_on_store(
      ctx,
      access,
      [&](Store& store) -> decltype(op(std::declval<Archiver&>())) {
        auto archiver = Archiver::Open(store, options);
        if (!archiver.ok()) {
          return archiver.status();
        }
        return op(**archiver);
      },
      print);
}

std::string ratio(std::int64_t content, std::int64_t archive) {
  char buf[32];
  std::snprintf(buf,
                sizeof buf,
                "%.1fx",
                archive > 0 ? static_cast<double>(content) / static_cast<double>(archive) : 0.0);
  return buf;
}

// The archive directory, as the user would name it.
std::string shown_archive_dir(const Context& ctx, const ArchiveOptions& o) {
  return o.archive_dir.empty() ? ctx.options.snapshots_dir + "/archive" : o.archive_dir;
}

int run_run(Context& ctx, const cxxopts::ParseResult& args) {
  ArchiveOptions o;
  Status s = archive_options(args, &o);
  if (!s.ok()) {
    return fail(ctx, s);
  }
  if (args.count("month")) {
    o.month = args["month"].as<std::string>();
    if (o.month.empty()) { // an unset variable in a script, not "every month"
      return fail(ctx, Status::InvalidArgument("--month is empty (expected YYYY-MM)"));
    }
  }
  if (args.count("level")) {
    auto level = parse_whole_number("--level", args["level"].as<std::string>(), 1, 19);
    if (!level.ok()) {
      return fail(ctx, level.status());
    }
    o.level = static_cast<int>(*level);
  }
  o.dry_run = args.count("dry-run") > 0;
  const bool quiet = args.count("quiet") > 0;
  const std::string archive_dir = shown_archive_dir(ctx, o);
  ProgressBar bar(!quiet && !ctx.json && ::isatty(STDERR_FILENO) == 1);
  o.progress = [&](const ArchiveProgress& p) { bar.update(p); };
  ctx.options.create = false; // a mistyped --dir is not an empty store with nothing to archive
  return run_on_archiver(
      ctx,
      o.dry_run ? Access::read_only : Access::read_write,
      o,
      [](Archiver& a) { return a.run(); },
      [&](const ArchiveRunReport& r) {
        bar.finish();
        // Stopped part way by a full disk or a busy store: the next run
        // finishes (3). By anything else: the operator must act first (1).
        const bool passes = r.unfinished.IsIOError() || r.unfinished.IsBusy();
        const int code = !r.problems.empty() || (!r.unfinished.ok() && !passes) ? k_exit_failure
                         : !r.unfinished.ok()                                   ? k_exit_partial
                                                                                : k_exit_ok;
        if (passes) {
          *ctx.err << "barrot-archive: warning: " << r.unfinished.message()
                   << "; the next run finishes it\n";
        } else if (!r.unfinished.ok()) {
          *ctx.err << "barrot-archive: error: " << r.unfinished.message() << "\n";
        }
        if (ctx.json) {
          *ctx.out << dump_json(to_json(r)) << "\n";
          return code;
        }
        if (quiet) {
          for (const ArchiveProblem& p : r.problems) {
            *ctx.err << "barrot-archive: error: " << p.file << ": " << p.detail << "\n";
          }
          return code;
        }
        for (const std::string& m : r.relocated) {
          *ctx.out << m << ": archive found in " << archive_dir << ", recorded there\n";
        }
        for (const std::string& m : r.resumed) {
          *ctx.out << m << ": finished an interrupted cleanup\n";
        }
        for (const ArchiveProblem& p : r.problems) {
          *ctx.err << "barrot-archive: error: " << p.file << ": " << p.detail << "\n";
        }
        if (r.months.empty()) {
          *ctx.out << "nothing to archive\n";
        }
        std::int64_t moved = 0;
        for (const MonthReport& m : r.months) {
          moved += m.actions + m.periodic;
          *ctx.out << m.month << ": " << (r.dry_run ? "would move " : "moved ") << m.actions
                   << " actions and " << m.periodic << " periodic snapshots ("
                   << format_bytes(m.bytes) << ")";
          if (!r.dry_run) {
            *ctx.out << " to " << m.file << ": " << m.in_archive << " snapshots, "
                     << format_bytes(m.archive_bytes) << "; removed " << m.files_removed
                     << " files and " << m.lines_removed << " log lines";
          } else {
            *ctx.out << " to " << m.file;
          }
          *ctx.out << "\n";
        }
        if (!r.dry_run && (moved > 0 || !r.resumed.empty())) {
          *ctx.out << "database: " << format_bytes(r.db_bytes_before) << " -> "
                   << format_bytes(r.db_bytes_after) << " ("
                   << format_bytes(std::max<std::int64_t>(0, r.db_bytes_before - r.db_bytes_after))
                   << " freed)\n";
        }
        return code;
      });
}

int run_list(Context& ctx, const cxxopts::ParseResult& args) {
  ArchiveOptions o;
  Status s = archive_options(args, &o);
  if (!s.ok()) {
    return fail(ctx, s);
  }
  return run_on_archiver(
      ctx,
      Access::read_only,
      o,
      [](Archiver& a) { return a.list(); },
      [&](const std::vector<ArchiveInfo>& list) {
        // Listed all the same ("missing"), and each named: exit 1, as every
        // other reader of a missing archive.
        auto missing = [&]() {
          int code = k_exit_ok;
          for (const ArchiveInfo& a : list) {
            if (a.archive_bytes == 0) {
              *ctx.err << "barrot-archive: error: the archive of " << a.month << ", " << a.file
                       << ", is missing\n";
              code = k_exit_failure;
            }
          }
          return code;
        };
        if (ctx.json) {
          Json j = Json::array();
          for (const ArchiveInfo& a : list) {
            j.push_back(to_json(a));
          }
          *ctx.out << dump_json(j) << "\n";
          return missing();
        }
        RowWriter w(*ctx.out, OutputFormat::table);
        w.header({"month",
                  "state",
                  "snapshots",
                  "actions",
                  "periodic",
                  "first",
                  "last",
                  "size",
                  "archive",
                  "ratio"});
        for (const ArchiveInfo& a : list) {
          w.row({a.month,
                 a.state,
                 a.snapshots,
                 a.actions,
                 a.periodic,
                 a.first_timestamp,
                 a.last_timestamp,
                 format_bytes(a.content_bytes),
                 a.archive_bytes > 0 ? format_bytes(a.archive_bytes) : "missing",
                 ratio(a.content_bytes, a.archive_bytes)});
        }
        w.finish();
        return missing();
      });
}

int run_verify(Context& ctx, const cxxopts::ParseResult& args) {
  ArchiveOptions o;
  Status s = archive_options(args, &o);
  if (!s.ok()) {
    return fail(ctx, s);
  }
  const std::string month = positional(args, "month");
  if (args.count("month") && month.empty()) {
    return fail(ctx, Status::InvalidArgument("MONTH is empty (expected YYYY-MM, or none for all)"));
  }
  return run_on_archiver(
      ctx,
      Access::read_only,
      o,
      [&](Archiver& a) { return a.verify(month); },
      [&](const ArchiveVerifyReport& r) {
        if (ctx.json) {
          *ctx.out << dump_json(to_json(r)) << "\n";
        } else {
          for (const ArchiveProblem& p : r.problems) {
            *ctx.out << p.month << ": " << p.file << ": " << p.detail << "\n";
          }
          *ctx.out << (r.clean() ? "clean: " : "problems: ") << r.problems.size() << " problem(s); "
                   << r.archives << " archives, " << r.snapshots << " snapshots checked\n";
        }
        return r.clean() ? k_exit_ok : k_exit_failure;
      });
}

int run_restore(Context& ctx, const cxxopts::ParseResult& args) {
  ArchiveOptions o;
  Status s = archive_options(args, &o);
  if (!s.ok()) {
    return fail(ctx, s);
  }
  const std::string month = positional(args, "month");
  if (month.empty()) {
    return fail(ctx, Status::InvalidArgument("restore needs a MONTH (YYYY-MM)"));
  }
  const std::string archive_dir = shown_archive_dir(ctx, o);
  ctx.options.create = false;
  return run_on_archiver(
      ctx,
      Access::read_write,
      o,
      [&](Archiver& a) { return a.restore(month); },
      [&](const RestoreReport& r) {
        if (ctx.json) {
          *ctx.out << dump_json(to_json(r)) << "\n";
        } else {
          for (const std::string& m : r.relocated) {
            *ctx.out << m << ": archive found in " << archive_dir << ", recorded there\n";
          }
          *ctx.out << r.month << ": restored " << r.restored << " snapshots, " << r.already_present
                   << " already in the store";
          if (r.conflicts > 0) {
            *ctx.out << ", " << r.conflicts << " differ from the stored copy (kept the stored one)";
          }
          *ctx.out << "\n";
        }
        if (!r.mirror.ok()) {
          *ctx.err << "barrot-archive: warning: " << r.mirror.message()
                   << "; 'barrot repair' completes the mirror\n";
        }
        if (r.conflicts > 0) {
          return k_exit_failure;
        }
        return r.mirror.ok() ? k_exit_ok : k_exit_mirror_behind;
      });
}

} // namespace

const std::vector<Command>& archive_commands() {
  static const std::vector<Command> commands = {
      {"run",
       "[--month YYYY-MM] [--dry-run]",
       "archive every complete month past retention, then delete it from the store",
       {},
       add_run,
       run_run},
      {"list",
       "",
       "list archives: counts, time range, sizes, ratio",
       {},
       add_archive_dir,
       run_list},
      {"verify",
       "[MONTH]",
       "re-check archives against their manifests and the store",
       {"month"},
       add_archive_dir,
       run_verify},
      {"restore",
       "MONTH",
       "put an archived month back into the store and mirror (idempotent)",
       {"month"},
       add_archive_dir,
       run_restore},
  };
  return commands;
}

} // namespace barrot::cli
