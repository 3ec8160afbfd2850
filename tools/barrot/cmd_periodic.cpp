// Periodic snapshots: `periodic` (one, for cron and timers) and `daemon`.
#include "cli.h"

#include <signal.h>

#include <atomic>
#include <iostream>

namespace barrot::cli {

namespace {

void add_collect_options(cxxopts::Options& o) {
  o.add_options("Periodic")("config",
                            "configuration file (YAML; env BARROT_CONFIG; see docs/operations.md)",
                            cxxopts::value<std::string>(),
                            "FILE")(
      "base-dir",
      "where the inputs below are found, given relative or not at all (default .)",
      cxxopts::value<std::string>(),
      "DIR")("manifest",
             "build manifest (default BASE/build_manifest.yaml)",
             cxxopts::value<std::string>(),
             "FILE")("workflows-dir",
                     "workflow files (default BASE/.github/workflows)",
                     cxxopts::value<std::string>(),
                     "DIR")(
      "registry",
      "protocol registry (default BASE/memory-bundles/protocols/registry.json)",
      cxxopts::value<std::string>(),
      "FILE")("outcome-relay",
              "outcome relay (default BASE/memory-bundles/outcome-relay.md)",
              cxxopts::value<std::string>(),
              "FILE")("process",
                      "report only processes named like this glob (repeatable)",
                      cxxopts::value<std::vector<std::string>>(),
                      "GLOB")("max-processes",
                              "list at most N processes (default 50)",
                              cxxopts::value<std::string>(),
                              "N")("interval",
                                   "time between snapshots, and the interval field: 90s, 30m, 1h "
                                   "(default 30m)",
                                   cxxopts::value<std::string>(),
                                   "DURATION");
}

// Defaults, then the configuration file, then flags. The file's archive:
// section belongs to barrot-archive: a mistake there is only warned about
// here (the snapshots go on), so that the daily job shows it before the
// monthly one fails on it.
Status periodic_config(Context& ctx, const cxxopts::ParseResult& args, PeriodicConfig* c) {
  const std::string file = config_file(args);
  if (!file.empty()) {
    BARROT_TRY(load_periodic_config(file, c));
    ArchiveOptions archive;
    if (Status a = load_archive_config(file, &archive); !a.ok()) {
      *ctx.err << "barrot: warning: " << a.message()
               << " (barrot-archive refuses this configuration)\n";
    }
  }
  auto text = [&](const char* name, std::string* out) {
    if (args.count(name)) {
      *out = args[name].as<std::string>();
    }
  };
  text("base-dir", &c->base_dir);
  text("manifest", &c->manifest_path);
  text("workflows-dir", &c->workflows_dir);
  text("registry", &c->registry_path);
  text("outcome-relay", &c->outcome_relay_path);
  if (args.count("process")) {
    c->process_patterns = args["process"].as<std::vector<std::string>>();
  }
  if (args.count("max-processes")) {
    BARROT_TRY_ASSIGN(
        c->max_processes,
        parse_whole_number("--max-processes", args["max-processes"].as<std::string>(), 0, 100000));
  }
  if (args.count("interval")) {
    BARROT_TRY_ASSIGN(c->interval_seconds, parse_duration(args["interval"].as<std::string>()));
  }
  return Status::OK();
}

void add_periodic(cxxopts::Options& o) {
  add_collect_options(o);
  o.add_options()("q,quiet", "print only the snapshot id");
}

int run_periodic(Context& ctx, const cxxopts::ParseResult& args) {
  PeriodicConfig config;
  Status s = periodic_config(ctx, args, &config);
  if (!s.ok()) {
    return fail(ctx, s);
  }
  auto store = open_store(ctx, Access::read_write);
  if (!store.ok()) {
    return fail(ctx, store.status());
  }
  auto snap = take_periodic_snapshot(**store, config);
  if (!snap.ok()) {
    return fail(ctx, snap.status());
  }
  for (const std::string& reason : health_reasons(*snap)) { // recorded, and said
    *ctx.err << "barrot: warning: " << reason << "\n";
  }
  return report(ctx, args, *snap, "Generated periodic snapshot: " + snap->id);
}

int run_daemon(Context& ctx, const cxxopts::ParseResult& args) {
  PeriodicConfig config;
  Status s = periodic_config(ctx, args, &config);
  if (!s.ok()) {
    return fail(ctx, s);
  }
  DaemonOptions d;
  d.stop = &stop_on_signals();
  // Its log goes to a pipe that may close (a log consumer restarting): a
  // write there then fails, instead of ending the daemon with SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  d.log = [&](const std::string& line) { *ctx.err << "barrot daemon: " << line << std::endl; };
  s = run_periodic_daemon(ctx.options, config, d);
  return s.ok() ? k_exit_ok : fail(ctx, s);
}

} // namespace

const std::vector<Command>& periodic_commands() {
  static const std::vector<Command> k_commands = {
      {"periodic",
       "",
       "record a periodic snapshot of the system state",
       {},
       add_periodic,
       run_periodic},
      {"daemon",
       "",
       "record periodic snapshots every --interval until SIGTERM/SIGINT",
       {},
       add_collect_options,
       run_daemon},
  };
  return k_commands;
}

} // namespace barrot::cli
