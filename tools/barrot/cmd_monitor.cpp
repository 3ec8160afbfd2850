// Monitoring: `health` (checks, alerts, Prometheus) and `dashboard` (HTML).
#include "cli.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace barrot::cli {

namespace {

// The monitoring-plugin exit code for "could not check".
constexpr int k_exit_unknown = static_cast<int>(HealthState::unknown);

void add_health(cxxopts::Options& o) {
  o.add_options("Checks")("quick",
                          "skip the checks that read the whole store (verify, quick_check)")(
      "at",
      "check as of this time (as --since of search: ISO 8601, a date, 2h ago, yesterday; default "
      "now)",
      cxxopts::value<std::string>(),
      "TIME")("periodic-warning",
              "warn when the last periodic snapshot is older (default 35m)",
              cxxopts::value<std::string>(),
              "DURATION")("periodic-critical",
                          "critical when older still (default 90m)",
                          cxxopts::value<std::string>(),
                          "DURATION")("interval",
                                      "expected time between periodic snapshots (default 30m)",
                                      cxxopts::value<std::string>(),
                                      "DURATION")("window",
                                                  "window of the rate, error and diversity checks "
                                                  "(default 24h)",
                                                  cxxopts::value<std::string>(),
                                                  "DURATION")(
      "rate-warning",
      "warn below this share of the expected periodic snapshots (default 75%)",
      cxxopts::value<std::string>(),
      "SHARE")("rate-critical",
               "critical below (default 50%)",
               cxxopts::value<std::string>(),
               "SHARE")("error-warning",
                        "warn when this share of ended actions failed (default 10%)",
                        cxxopts::value<std::string>(),
                        "SHARE")(
      "error-critical", "critical at (default 25%)", cxxopts::value<std::string>(), "SHARE")(
      "min-types",
      "warn below this many action types in the window (default 2)",
      cxxopts::value<std::string>(),
      "N")("disk-warning",
           "warn below this share of free disk (default 10%)",
           cxxopts::value<std::string>(),
           "SHARE")(
      "disk-critical", "critical below (default 5%)", cxxopts::value<std::string>(), "SHARE")(
      "stale-after",
      "warn about actions still executing this long after their start (default 6h)",
      cxxopts::value<std::string>(),
      "DURATION");
  o.add_options("Output and alerts")(
      "format", "text (default), json or prometheus", cxxopts::value<std::string>(), "FORMAT")(
      "o,output",
      "write the report to FILE atomically (for node_exporter's textfile collector)",
      cxxopts::value<std::string>(),
      "FILE")("alert-cmd",
              "run CMD (with sh -c) with each state change as JSON on its standard input",
              cxxopts::value<std::string>(),
              "CMD")("alert-timeout",
                     "kill the alert command after this long (default 60s)",
                     cxxopts::value<std::string>(),
                     "DURATION")("no-record",
                                 "record no alert snapshots (read-only; no --alert-cmd)");
}

// "10%" or "0.1": a share from 0 to 1.
Result<double> parse_share(const std::string& name, const std::string& text) {
  const bool pct = !text.empty() && text.back() == '%';
  const std::string digits = pct ? text.substr(0, text.size() - 1) : text;
  char* end = nullptr;
  const double v = digits.empty() ? -1 : std::strtod(digits.c_str(), &end);
  const double share = pct ? v / 100 : v;
  if (digits.empty() || end == nullptr || *end != '\0' || !(share >= 0 && share <= 1)) {
    return Status::InvalidArgument("--" + name + " must be a share such as 10% or 0.1, not '" +
                                   text + "'");
  }
  return share;
}

Status health_options(const cxxopts::ParseResult& args, HealthOptions* o) {
  o->quick = args.count("quick") > 0;
  if (args.count("at")) {
    BARROT_TRY_ASSIGN(o->now, parse_time_spec(args["at"].as<std::string>(), now_us()));
  }
  auto duration = [&](const char* name, TimeUs* out) -> Status {
    if (args.count(name)) {
      auto s = parse_duration(args[name].as<std::string>());
      if (!s.ok()) {
        return s.status().WithContext(std::string("--") + name);
      }
      *out = *s * 1000000;
    }
    return Status::OK();
  };
  auto share = [&](const char* name, double* out) -> Status {
    if (args.count(name)) {
      BARROT_TRY_ASSIGN(*out, parse_share(name, args[name].as<std::string>()));
    }
    return Status::OK();
  };
  BARROT_TRY(duration("periodic-warning", &o->periodic_warning));
  BARROT_TRY(duration("periodic-critical", &o->periodic_critical));
  BARROT_TRY(duration("interval", &o->periodic_interval));
  BARROT_TRY(duration("window", &o->rate_window));
  o->error_window = o->diversity_window = o->rate_window;
  BARROT_TRY(duration("stale-after", &o->stale_after));
  BARROT_TRY(share("rate-warning", &o->rate_warning));
  BARROT_TRY(share("rate-critical", &o->rate_critical));
  BARROT_TRY(share("error-warning", &o->error_warning));
  BARROT_TRY(share("error-critical", &o->error_critical));
  BARROT_TRY(share("disk-warning", &o->disk_warning));
  BARROT_TRY(share("disk-critical", &o->disk_critical));
  if (args.count("min-types")) {
    BARROT_TRY_ASSIGN(
        o->diversity_min_types,
        parse_whole_number("--min-types", args["min-types"].as<std::string>(), 0, 1'000'000));
  }
  if (o->periodic_critical < o->periodic_warning) {
    return Status::InvalidArgument("--periodic-warning is past --periodic-critical (" +
                                   std::to_string(o->periodic_critical / 60000000) +
                                   " min): give a longer --periodic-critical too");
  }
  // Each pair in its order, the message naming the one given (or both) and
  // the other's value: "--error-warning 50%" meets the default critical 25%.
  auto order = [&](const char* low, double low_v, const char* high, double high_v, const char* why)
      -> Status {
    if (low_v <= high_v) {
      return Status::OK();
    }
    const bool low_given = args.count(low) > 0;
    const bool high_given = args.count(high) > 0;
    const char* adjust = !high_given ? high : !low_given ? low : nullptr;
    auto shown = [](double v, bool given) {
      char buf[48];
      std::snprintf(buf, sizeof buf, "%g%%%s", v * 100, given ? "" : ", the default");
      return std::string(buf);
    };
    return Status::InvalidArgument(
        std::string("--") + low + " (" + shown(low_v, low_given) + ") is above --" + high + " (" +
        shown(high_v, high_given) + "): " + why +
        (adjust != nullptr ? std::string("; give --") + adjust + " too" : std::string()));
  };
  BARROT_TRY(order("error-warning",
                   o->error_warning,
                   "error-critical",
                   o->error_critical,
                   "critical means more errors than the warning share"));
  // These two are "fewer than": the critical share is the smaller one.
  BARROT_TRY(order("rate-critical",
                   o->rate_critical,
                   "rate-warning",
                   o->rate_warning,
                   "critical means fewer periodic snapshots than the warning share"));
  BARROT_TRY(order("disk-critical",
                   o->disk_critical,
                   "disk-warning",
                   o->disk_warning,
                   "critical means less free space than the warning share"));
  return Status::OK();
}

// Any error: the monitoring plugin's UNKNOWN, with a status line.
int unknown(Context& ctx, const Status& status) {
  *ctx.out << "BARROT UNKNOWN - " << status.message() << "\n";
  *ctx.err << ctx.program << ": error: " << status.message() << "\n";
  return k_exit_unknown;
}

int run_health(Context& ctx, const cxxopts::ParseResult& args) {
  HealthOptions o;
  Status s = health_options(args, &o);
  const std::string format = args.count("format") ? args["format"].as<std::string>()
                             : ctx.json           ? "json"
                                                  : "text";
  if (s.ok() && format != "text" && format != "json" && format != "prometheus") {
    s = Status::InvalidArgument("unknown --format '" + format + "' (text, json or prometheus)");
  }
  // A check --at another time is a replay: it neither records nor sends alerts.
  bool record = args.count("no-record") == 0 && args.count("at") == 0;
  const std::string alert_cmd = args.count("alert-cmd") ? args["alert-cmd"].as<std::string>() : "";
  if (s.ok() && !record && args.count("alert-cmd")) {
    s = Status::InvalidArgument(
        "--alert-cmd needs the alerts recorded: it cannot go with --no-record or --at");
  }
  if (s.ok() && args.count("alert-cmd") && alert_cmd.empty()) {
    s = Status::InvalidArgument("--alert-cmd is empty");
  }
  TimeUs alert_timeout = 60 * 1000000LL;
  if (s.ok() && args.count("alert-timeout")) {
    auto t = parse_duration(args["alert-timeout"].as<std::string>());
    s = !t.ok()          ? t.status().WithContext("--alert-timeout")
        : *t > 24 * 3600 ? Status::InvalidArgument("--alert-timeout is at most a day (24h)")
                         : Status::OK();
    alert_timeout = t.ok() ? *t * 1000000 : alert_timeout;
  }
  if (!s.ok()) {
    return unknown(ctx, s);
  }
  // Never reconcile on open: the mirror check is to see what is behind.
  ctx.options.reconcile_on_open = false;
  // Read-only first, so that checking a place with no store creates none.
  auto store = open_store(ctx, Access::read_only);
  if (!store.ok()) {
    return unknown(ctx, store.status());
  }
  if (record) {
    auto writable = open_store(ctx, Access::read_write);
    if (writable.ok()) {
      store = std::move(writable);
    } else if (alert_cmd.empty()) { // checks still run; changes are not recorded
      *ctx.err << ctx.program << ": warning: alerts not recorded: " << writable.status().message()
               << "\n";
      record = false;
    } else {
      return unknown(ctx, writable.status());
    }
  }
  if (args.count("output") && args["output"].as<std::string>() != "-") {
    // Checked before the checks run and an alert is recorded.
    if (Status where = (*store)->check_output_path(args["output"].as<std::string>()); !where.ok()) {
      return unknown(ctx, where);
    }
  }
  auto report = check_health(**store, o);
  if (!report.ok()) {
    return unknown(ctx, report.status());
  }
  if (record) {
    // From here a SIGTERM (a monitoring system's timeout) ends the alert
    // commands and records their ends: none is left executing or running.
    const std::atomic<bool>* stop = alert_cmd.empty() ? nullptr : &stop_on_signals();
    auto alerts = record_alerts(
        **store, *report, alert_cmd.empty() ? ActionStatus::completed : ActionStatus::executing);
    if (!alerts.ok()) {
      *ctx.err << ctx.program << ": warning: alerts not recorded: " << alerts.status().message()
               << "\n";
    }
    for (const HealthAlert& a : alerts.ok() ? *alerts : std::vector<HealthAlert>()) {
      *ctx.err << ctx.program << ": alert: " << a.check << " " << to_string(a.from) << " -> "
               << to_string(a.to) << " (" << a.snapshot_id << ")\n";
      if (!a.mirror.ok()) {
        *ctx.err << ctx.program << ": warning: alert " << a.snapshot_id
                 << " is recorded, but its mirror is incomplete (" << a.mirror.message()
                 << "); 'barrot repair' completes it\n";
      }
      if (!alert_cmd.empty()) {
        const AlertDelivery d =
            deliver_alert(**store, a, alert_cmd, static_cast<int>(alert_timeout / 1000), stop);
        *ctx.err << d.output; // through the stream that makes control characters visible
        if (!d.delivered()) {
          *ctx.err << ctx.program << ": warning: alert " << a.snapshot_id
                   << " not delivered: " << d.command.message() << "\n";
        }
        if (!d.recorded.ok()) {
          *ctx.err << ctx.program << ": warning: alert " << a.snapshot_id
                   << ": its end not recorded: " << d.recorded.message() << "\n";
        } else if (!d.mirror.ok()) {
          *ctx.err << ctx.program << ": warning: alert " << a.snapshot_id
                   << ": its end is recorded, but its mirror is incomplete (" << d.mirror.message()
                   << "); 'barrot repair' completes it\n";
        }
      }
    }
  }
  const std::string text = format == "json"         ? dump_json(to_json(*report)) + "\n"
                           : format == "prometheus" ? format_prometheus(*report)
                                                    : format_health(*report);
  if (args.count("output") && args["output"].as<std::string>() != "-") {
    Status w = write_output_file(args["output"].as<std::string>(), text);
    if (!w.ok()) {
      return unknown(ctx, w);
    }
  } else {
    *ctx.out << text;
  }
  return static_cast<int>(report->state);
}

void add_dashboard(cxxopts::Options& o) {
  o.add_options()("o,output",
                  "write the page here, atomically (default snapshot_dashboard.html; - for "
                  "standard output)",
                  cxxopts::value<std::string>(),
                  "FILE")("actions",
                          "rows in the newest-actions table (default 50)",
                          cxxopts::value<std::string>(),
                          "N")(
      "window", "span of the charts (default 7d)", cxxopts::value<std::string>(), "DURATION")(
      "full-checks",
      "run every health check, also those that read the "
      "whole store")("at",
                     "compute the charts and checks at this time (as --at of health; default now)",
                     cxxopts::value<std::string>(),
                     "TIME");
}

Status dashboard_options(const cxxopts::ParseResult& args, DashboardOptions* o) {
  if (args.count("actions")) {
    BARROT_TRY_ASSIGN(const std::int64_t n,
                      parse_whole_number("--actions", args["actions"].as<std::string>(), 0, 10000));
    o->recent_actions = static_cast<std::size_t>(n);
  }
  if (args.count("window")) {
    auto d = parse_duration(args["window"].as<std::string>());
    if (!d.ok()) {
      return d.status().WithContext("--window");
    }
    if (*d > 366 * 86400) {
      return Status::InvalidArgument("--window is at most a year (366d)");
    }
    o->chart_window = *d * 1000000;
  }
  if (args.count("at")) {
    BARROT_TRY_ASSIGN(o->now, parse_time_spec(args["at"].as<std::string>(), now_us()));
  }
  o->health.quick = args.count("full-checks") == 0;
  return Status::OK();
}

int run_dashboard(Context& ctx, const cxxopts::ParseResult& args) {
  DashboardOptions o;
  Status s = dashboard_options(args, &o);
  if (!s.ok()) {
    return fail(ctx, s);
  }
  const std::string path =
      args.count("output") ? args["output"].as<std::string>() : "snapshot_dashboard.html";
  ctx.options.reconcile_on_open = false;
  return run_on_store(
      ctx,
      Access::read_only,
      [&](Store& store) -> Result<std::string> {
        if (path != "-") {
          BARROT_TRY(store.check_output_path(path));
        }
        return render_dashboard(store, o);
      },
      [&](const std::string& page) {
        if (path == "-") {
          *ctx.out << page;
          return k_exit_ok;
        }
        Status w = write_output_file(path, page);
        if (!w.ok()) {
          return fail(ctx, w);
        }
        if (!ctx.json) {
          *ctx.out << "Dashboard written to " << path << " ("
                   << format_bytes(static_cast<std::int64_t>(page.size())) << ")\n";
        } else {
          *ctx.out << dump_json(Json{{"path", path}, {"bytes", page.size()}}) << "\n";
        }
        return k_exit_ok;
      });
}

} // namespace

const std::vector<Command>& monitor_commands() {
  static const std::vector<Command> k_commands = {
      {"health",
       "",
       "check the store and what it records; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN",
       {},
       add_health,
       run_health,
       k_exit_unknown},
      {"dashboard",
       "",
       "write the HTML dashboard: health, totals, charts, newest actions",
       {},
       add_dashboard,
       run_dashboard},
  };
  return k_commands;
}

} // namespace barrot::cli
