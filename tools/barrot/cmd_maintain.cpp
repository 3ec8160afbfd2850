// Commands that keep the mirror right: verify, repair, mirror --rebuild, import.
#include "cli.h"

#include <iostream>

namespace barrot::cli {

namespace {

int print_repair(Context& ctx, const RepairReport& r) {
  if (ctx.json) {
    *ctx.out << dump_json(to_json(r)) << "\n";
    return k_exit_ok;
  }
  *ctx.out << "files written: " << r.files_written << ", log lines appended: " << r.lines_appended
           << ", dropped: " << r.lines_dropped << (r.log_rewritten ? " (log rewritten)" : "")
           << ", temp files removed: " << r.temp_files_removed
           << (r.latest_written ? ", latest_periodic.json written" : "") << "\n";
  if (!r.quarantine_dir.empty()) {
    *ctx.out << "replaced content kept in " << ctx.options.snapshots_dir << "/" << r.quarantine_dir
             << "\n";
  }
  for (const Problem& p : r.left_alone) {
    *ctx.out << "left alone: " << format_problem(p) << "\n";
  }
  return k_exit_ok;
}

int run_verify(Context& ctx, const cxxopts::ParseResult&) {
  return run_on_store(
      ctx,
      Access::read_only,
      [](Store& store) { return store.verify(); },
      [&](const VerifyReport& r) {
        if (ctx.json) {
          *ctx.out << dump_json(to_json(r)) << "\n";
        } else {
          for (const Problem& p : r.problems) {
            *ctx.out << format_problem(p) << "\n";
          }
          *ctx.out << (r.clean() ? "clean: " : "problems: ") << r.problems.size() << " problem(s); "
                   << r.snapshots << " snapshots, " << r.files << " files, " << r.lines
                   << " log lines checked\n";
        }
        return r.clean() ? k_exit_ok : k_exit_failure;
      });
}

int run_repair(Context& ctx, const cxxopts::ParseResult&) {
  ctx.options.reconcile_on_open = false; // the report should show all that was fixed
  return run_on_store(
      ctx,
      Access::read_write,
      [](Store& store) { return store.repair(); },
      [&](const RepairReport& r) { return print_repair(ctx, r); });
}

void add_mirror(cxxopts::Options& o) {
  o.add_options()("rebuild", "rewrite every mirror file and the log from the database");
}

int run_mirror(Context& ctx, const cxxopts::ParseResult& args) {
  if (!args.count("rebuild")) {
    return fail(ctx, Status::InvalidArgument("mirror needs --rebuild"));
  }
  ctx.options.reconcile_on_open = false;
  return run_on_store(
      ctx,
      Access::read_write,
      [](Store& store) { return store.rebuild_mirror(); },
      [&](const RepairReport& r) { return print_repair(ctx, r); });
}

int run_import(Context& ctx, const cxxopts::ParseResult& args) {
  if (!args.count("source")) {
    return fail(ctx, Status::InvalidArgument("missing DIR to import from"));
  }
  return run_on_store(
      ctx,
      Access::read_write,
      [&](Store& store) { return store.import_legacy(args["source"].as<std::string>()); },
      [&](const ImportReport& r) {
        if (ctx.json) {
          *ctx.out << dump_json(to_json(r)) << "\n";
          return k_exit_ok;
        }
        for (const auto& s : r.skipped) {
          *ctx.out << "skipped " << s.source << ": " << s.reason << "\n";
        }
        *ctx.out << "imported " << r.imported << ", already present " << r.already_present
                 << ", conflicts " << r.conflicts << ", skipped " << r.skipped.size() << " (read "
                 << r.files_read << " files, " << r.lines_read << " log lines)\n";
        return k_exit_ok;
      });
}

} // namespace

const std::vector<Command>& maintain_commands() {
  static const std::vector<Command> k_commands = {
      {"verify",
       "",
       "compare database, files and log; exit 1 on any disagreement",
       {},
       nullptr,
       run_verify},
      {"repair", "", "fix every disagreement from the database", {}, nullptr, run_repair},
      {"mirror",
       "--rebuild",
       "rewrite all mirror files and the log from the database",
       {},
       add_mirror,
       run_mirror},
      {"import",
       "DIR",
       "import a legacy snapshots directory (idempotent)",
       {"source"},
       nullptr,
       run_import},
  };
  return k_commands;
}

} // namespace barrot::cli
