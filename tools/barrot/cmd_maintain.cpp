// Commands that keep the mirror right: verify, repair, mirror --rebuild,
// import, and the hash chain's head.
#include "cli.h"

#include <filesystem>
#include <iostream>
#include <optional>

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
  if (r.archived_files_removed + r.archived_lines_removed > 0) {
    *ctx.out << "copies of archived snapshots moved to quarantine: " << r.archived_files_removed
             << " files, " << r.archived_lines_removed << " log lines\n";
  }
  if (!r.quarantine_dir.empty()) {
    *ctx.out << "replaced content kept in " << ctx.options.snapshots_dir << "/" << r.quarantine_dir
             << "\n";
  }
  for (const Problem& p : r.left_alone) {
    *ctx.out << "left alone: " << format_problem(p) << "\n";
  }
  return k_exit_ok;
}

// `lead` goes before the summary line, after the skipped inputs.
void print_import(Context& ctx, const ImportReport& r, const char* lead = "") {
  for (const auto& s : r.skipped) {
    *ctx.out << "skipped " << s.source << ": " << s.reason << "\n";
  }
  *ctx.out << lead << "imported " << r.imported << ", already present " << r.already_present
           << ", conflicts " << r.conflicts << ", skipped " << r.skipped.size() << " (read "
           << r.files_read << " files, " << r.lines_read << " log lines)\n";
}

// Warnings on stderr after an import; the exit code.
int import_warnings(Context& ctx, const ImportReport& r) {
  if (r.future > 0) {
    *ctx.err << "barrot: warning: " << r.future
             << " imported snapshot(s) are dated in the future, the newest " << r.newest_future
             << " (a wrong clock?): they sort after all that is recorded until then\n";
  }
  if (!r.mirror.ok()) {
    *ctx.err << "barrot: warning: " << r.mirror.message()
             << "; 'barrot repair' completes the mirror\n";
    return k_exit_mirror_behind;
  }
  return k_exit_ok;
}

void add_verify(cxxopts::Options& o) {
  o.add_options()("chain",
                  "also recompute the hash chain over the database and the archives and check "
                  "every chain record in the files and the log (docs/integrity.md)")(
      "anchor",
      "with --chain: SEQ:HASH, or a file barrot chain-head wrote, that the chain must still "
      "hold (repeatable)",
      cxxopts::value<std::vector<std::string>>(),
      "A");
}

void print_chain(Context& ctx, const ChainReport& r) {
  for (const ChainBreak& b : r.breaks) {
    *ctx.out << "chain break: " << format_chain_break(b) << "\n";
  }
  if (r.more_breaks > 0) {
    *ctx.out << "chain break: ... and " << r.more_breaks << " more\n";
  }
  *ctx.out << (r.clean() ? "chain intact: " : "chain broken: ") << r.snapshots
           << " snapshots in the database, " << r.archived << " in archives";
  if (r.archived_unchained > 0) {
    *ctx.out << " (+" << r.archived_unchained << " archived before the chain)";
  }
  *ctx.out << ", " << r.files << " files, " << r.lines << " log lines";
  if (r.anchors > 0) {
    *ctx.out << ", " << r.anchors << " anchor(s) held";
  }
  *ctx.out << "\n";
  if (r.head) {
    *ctx.out << "head: seq " << r.head->record.seq << " " << r.head->id << " "
             << r.head->record.hash << "\n";
  }
}

int run_verify(Context& ctx, const cxxopts::ParseResult& args) {
  const bool chain = args.count("chain") > 0;
  std::vector<ChainAnchor> anchors;
  if (args.count("anchor")) {
    if (!chain) {
      return fail(ctx, Status::InvalidArgument("--anchor needs --chain"));
    }
    for (const std::string& a : args["anchor"].as<std::vector<std::string>>()) {
      auto anchor = read_chain_anchor(a);
      if (!anchor.ok()) {
        return fail(ctx, Status::InvalidArgument(anchor.status().message()));
      }
      anchors.push_back(*anchor);
    }
  }
  auto store = open_store(ctx, Access::read_only);
  if (!store.ok()) {
    return fail(ctx, store.status());
  }
  auto r = (*store)->verify();
  if (!r.ok()) {
    return fail(ctx, r.status());
  }
  std::optional<ChainReport> c;
  if (chain) {
    auto cr = (*store)->verify_chain(anchors);
    if (!cr.ok()) {
      return fail(ctx, cr.status());
    }
    c = std::move(*cr);
  }
  if (ctx.json) {
    Json j = to_json(*r);
    if (c) {
      j["chain"] = to_json(*c);
      j["clean"] = r->clean() && c->clean();
    }
    *ctx.out << dump_json(j) << "\n";
  } else {
    for (const Problem& p : r->problems) {
      *ctx.out << format_problem(p) << "\n";
    }
    *ctx.out << (r->clean() ? "clean: " : "problems: ") << r->problems.size() << " problem(s); "
             << r->snapshots << " snapshots, " << r->files << " files, " << r->lines
             << " log lines checked\n";
    if (c) {
      print_chain(ctx, *c);
    }
  }
  return r->clean() && (!c || c->clean()) ? k_exit_ok : k_exit_failure;
}

void add_chain_head(cxxopts::Options& o) {
  o.add_options()("o,output",
                  "write it to FILE atomically (e.g. snapshots/chain_head.json, committed to git "
                  "as an anchor; - for standard output)",
                  cxxopts::value<std::string>(),
                  "FILE");
}

int run_chain_head(Context& ctx, const cxxopts::ParseResult& args) {
  return run_on_store(
      ctx,
      Access::read_only,
      [&](Store& store) -> Result<std::optional<ChainHead>> {
        if (args.count("output") && args["output"].as<std::string>() != "-") {
          BARROT_TRY(store.check_output_path(args["output"].as<std::string>()));
        }
        return store.chain_head();
      },
      [&](const std::optional<ChainHead>& head) {
        if (!head) {
          return fail(ctx, Status::NotFound("the store holds no snapshot yet"));
        }
        const std::string text = dump_json(to_json(*head)) + "\n";
        if (args.count("output") && args["output"].as<std::string>() != "-") {
          Status w = write_output_file(args["output"].as<std::string>(), text);
          if (!w.ok()) {
            return fail(ctx, w);
          }
        } else {
          *ctx.out << text;
        }
        return k_exit_ok;
      });
}

int run_repair(Context& ctx, const cxxopts::ParseResult&) {
  ctx.options.reconcile_on_open = false; // the report should show all that was fixed
  ctx.options.create = false;            // nothing to repair where there is no store
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
  ctx.options.adopt_mirror = Adopt::yes; // this directory becomes the store's mirror
  ctx.options.create = false;            // a mistyped --db would give an empty mirror
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
  // Checked before the store is opened, so that a mistyped DIR creates none.
  const std::string source = args["source"].as<std::string>();
  std::error_code ec;
  if (!std::filesystem::is_directory(source, ec)) {
    return fail(
        ctx,
        Status::InvalidArgument("import: " + source +
                                (ec ? ": " + ec.message() : std::string(" is not a directory"))));
  }
  // Importing the snapshots directory itself into a new database (after
  // losing the old one) makes it the new store's mirror.
  if (std::filesystem::equivalent(source, ctx.options.snapshots_dir, ec)) {
    ctx.options.adopt_mirror = Adopt::if_empty;
    // The import reads the directory as it is, and names each line it skips;
    // the repair after it settles the rest. A repair at open would first
    // move aside what it judged torn, unreported.
    ctx.options.reconcile_on_open = false;
  }
  return run_on_store(
      ctx,
      Access::read_write,
      [&](Store& store) { return store.import_legacy(source); },
      [&](const ImportReport& r) {
        done_anyway(ctx,
                    "the import is done all the same (" + std::to_string(r.imported) +
                        " imported; run again, it adds nothing)");
        if (ctx.json) {
          *ctx.out << dump_json(to_json(r)) << "\n";
        } else {
          print_import(ctx, r);
        }
        return import_warnings(ctx, r);
      });
}

void add_backup(cxxopts::Options& o) {
  o.add_options()("q,quiet", "print nothing on success");
}

int run_backup(Context& ctx, const cxxopts::ParseResult& args) {
  if (!args.count("file")) {
    return fail(ctx, Status::InvalidArgument("missing FILE to write the backup to"));
  }
  const std::string file = args["file"].as<std::string>();
  auto store = open_store(ctx, Access::read_only);
  if (!store.ok()) {
    return fail(ctx, store.status());
  }
  Status s = (*store)->backup(file);
  if (!s.ok()) {
    return fail(ctx, s);
  }
  if (ctx.json) {
    *ctx.out << dump_json(Json{{"backup", file}}) << "\n";
  } else if (!args.count("quiet")) {
    *ctx.out << "backup written to " << file << "\n";
  }
  return k_exit_ok;
}

int run_restore(Context& ctx, const cxxopts::ParseResult& args) {
  if (!args.count("file")) {
    return fail(ctx, Status::InvalidArgument("missing FILE, the backup to restore"));
  }
  auto r = Store::Restore(ctx.options, args["file"].as<std::string>());
  if (!r.ok()) {
    return fail(ctx, r.status());
  }
  done_anyway(ctx, "the backup is restored all the same: do not restore it again");
  for (const auto& a : r->archived_since) {
    *ctx.err << "barrot: warning: " << a.month << " was archived (to " << a.file
             << ") after the backup was taken: what the backup lacks of it is only in that "
                "archive; `barrot-archive restore "
             << a.month << "` brings it back into the store (keep the file until then)\n";
  }
  if (ctx.json) {
    *ctx.out << dump_json(to_json(*r)) << "\n";
  } else {
    for (const std::string& p : r->set_aside) {
      *ctx.out << "set aside " << p << " (left by the lost database)\n";
    }
    *ctx.out << "restored " << r->snapshots << " snapshots"
             << (r->newest.empty() ? std::string() : ", the newest " + r->newest)
             << (r->replaced ? "" : ", as a new database") << " (backup schema " << r->backup_schema
             << ")\n";
    const RepairReport& b = r->repaired_before;
    if (b.files_written + b.lines_appended + b.lines_dropped + b.temp_files_removed > 0 ||
        b.latest_written || !b.quarantine_dir.empty()) {
      *ctx.out << "before it, the mirror brought in line with the database it replaced: ";
      print_repair(ctx, b);
    }
    print_import(ctx, r->imported, "from the mirror, recorded after the backup: ");
    *ctx.out << "repair: ";
    print_repair(ctx, r->repaired);
  }
  return import_warnings(ctx, r->imported);
}

} // namespace

const std::vector<Command>& maintain_commands() {
  static const std::vector<Command> k_commands = {
      {"verify",
       "[--chain [--anchor A]...]",
       "compare database, files and log (--chain: and the hash chain); exit 1 on any "
       "disagreement",
       {},
       add_verify,
       run_verify},
      {"chain-head",
       "[-o FILE]",
       "print the newest link of the hash chain as JSON (an anchor for verify --chain)",
       {},
       add_chain_head,
       run_chain_head},
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
      {"backup",
       "FILE",
       "write a copy of the database as of now to FILE (atomically; writers go on)",
       {"file"},
       add_backup,
       run_backup},
      {"restore",
       "FILE",
       "put the backup FILE in place of the database, bring back from the mirror what was "
       "recorded after it, and repair",
       {"file"},
       nullptr,
       run_restore},
  };
  return k_commands;
}

} // namespace barrot::cli
