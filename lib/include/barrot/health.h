// Health checks over a store (the seed's "Monitoring and Alerting"), and the
// alerts raised when a check changes state.
//
// check_health() reads; it never writes. record_alerts() compares a report
// with the state each check had at its last alert (an action snapshot of
// type "alert"), records a new alert snapshot for each check that changed,
// and returns those changes; deliver_alert() runs an operator's command
// with one alert as JSON on its standard input.
//
// Thread-safety: as the Store used (one thread at a time).
#pragma once

#include <barrot/export.h>
#include <barrot/snapshot.h>
#include <barrot/status.h>
#include <barrot/store.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace barrot {

// The monitoring-plugin states; the values are the exit codes Nagios,
// Icinga and their kin expect. Combine two with worse(), not by value.
enum class HealthState { ok = 0, warning = 1, critical = 2, unknown = 3 };

// "OK", "WARNING", "CRITICAL", "UNKNOWN".
BARROT_EXPORT std::string_view to_string(HealthState state);
// The inverse of to_string, also accepting lower case; InvalidArgument otherwise.
BARROT_EXPORT Result<HealthState> parse_health_state(std::string_view text);
// The state to report for two checks together: CRITICAL over UNKNOWN over
// WARNING over OK.
BARROT_EXPORT HealthState worse(HealthState a, HealthState b);

inline constexpr TimeUs k_us_per_minute = 60LL * 1000 * 1000;
inline constexpr TimeUs k_us_per_hour = 60 * k_us_per_minute;

// Thresholds. The defaults suit the seed's 30-minute periodic schedule; a
// scheduler that runs late (GitHub's cron) wants the periodic ones wider.
struct HealthOptions {
  TimeUs now = 0; // the time checked at; 0: now_us()

  // Skip the two checks that read the whole store (mirror_files: the
  // disagreements `barrot verify` reports; integrity: SQLite's quick_check).
  // For stores of millions of snapshots checked every few minutes.
  bool quick = false;

  // periodic_gap: time since the newest periodic snapshot.
  TimeUs periodic_warning = 35 * k_us_per_minute;
  TimeUs periodic_critical = 90 * k_us_per_minute;

  // generation_rate: periodic snapshots recorded in the window against the
  // number expected at one per interval (the window shrinks to the store's
  // age when it is younger).
  TimeUs periodic_interval = 30 * k_us_per_minute;
  TimeUs rate_window = 24 * k_us_per_hour;
  double rate_warning = 0.75; // warn below this share of the expected count
  double rate_critical = 0.5;

  // error_rate: failed over ended (completed or failed) actions in the
  // window. Actions of type "alert", Barrot's own, are left out of this,
  // action_diversity and action_pattern; stale_actions does count an alert
  // whose delivery never ended.
  TimeUs error_window = 24 * k_us_per_hour;
  double error_warning = 0.10;
  double error_critical = 0.25;
  std::int64_t error_min_actions = 10; // fewer actions than this: no verdict (OK)

  // action_diversity: distinct action types in the window.
  TimeUs diversity_window = 24 * k_us_per_hour;
  std::int64_t diversity_min_types = 2;

  // disk_space: free share of the file systems holding the snapshots
  // directory and the database.
  double disk_warning = 0.10;
  double disk_critical = 0.05;

  // action_pattern: actions in the last hour against the hourly mean of the
  // baseline window before it. A spike is more than pattern_factor times the
  // mean and at least pattern_min_excess above it; silence is no action at
  // all in the hour when the mean is at least pattern_silence_mean.
  TimeUs pattern_baseline = 7 * 24 * k_us_per_hour;
  TimeUs pattern_min_baseline = 24 * k_us_per_hour; // shorter history: no verdict
  double pattern_factor = 5.0;
  double pattern_min_excess = 50;
  double pattern_silence_mean = 5.0;

  // stale_actions: actions Barrot recorded as started (executing) with no
  // end linked to them, started more than stale_after ago, within the
  // stale_window before that.
  TimeUs stale_after = 6 * k_us_per_hour;
  TimeUs stale_window = 7 * 24 * k_us_per_hour;
};

struct HealthCheck {
  std::string name; // periodic_gap, generation_rate, ...
  HealthState state = HealthState::ok;
  // Not run (--quick): OK in the report, and left out of alerting, so that
  // quick and full runs of the same store do not undo each other's alerts.
  bool skipped = false;
  std::string summary;           // one line, why this state
  Json metrics = Json::object(); // the numbers behind it (snake_case keys, SI units)
};

struct HealthReport {
  TimeUs at = 0;
  HealthState state = HealthState::ok; // the worst of the checks
  std::vector<HealthCheck> checks;     // always in the same order
};

// Runs every check. A check that cannot be computed is UNKNOWN with the
// reason; the call fails only when the store cannot be read at all.
BARROT_EXPORT Result<HealthReport> check_health(Store& store, const HealthOptions& options);

// The names of the checks, in report order.
BARROT_EXPORT const std::vector<std::string>& health_check_names();

// One check that changed state since its last alert.
struct HealthAlert {
  std::string check;
  HealthState from = HealthState::ok; // OK when the check never alerted
  HealthState to = HealthState::ok;
  std::string summary;
  Json metrics;
  TimeUs at = 0;
  std::string snapshot_id; // the alert snapshot recording the change
  // OK, or why the alert snapshot's mirror files were not all written (it
  // is stored either way; Snapshot::mirror; with Options::background_mirror,
  // Store::flush() reports it instead).
  Status mirror;
};

// For each check of `report` (skipped ones aside) whose state differs from
// the `to` of the last alert recorded for it (OK when none), records an action snapshot of type
// "alert", status `status` (completed, or executing when a delivery follows),
// details {check, from, to, summary, metrics}; all in one transaction, and
// under a lock so that two concurrent runs do not both alert. Returns the
// changes, in report order.
BARROT_EXPORT Result<std::vector<HealthAlert>>
record_alerts(Store& store, const HealthReport& report, ActionStatus status);

// The alert as delivered: {"check", "from", "to", "summary", "metrics",
// "at", "snapshot_id", "store": {"snapshots_dir", "db_path"}}.
BARROT_EXPORT Json to_json(const HealthAlert& alert, const Store& store);

// What delivering an alert did: each part OK, or why not.
struct AlertDelivery {
  Status command;  // the command exited 0; else IOError naming the exit status, signal or timeout
  Status recorded; // the alert's end snapshot was recorded
  Status mirror;   // ... and its mirror files written (as Snapshot::mirror)
  // What the command wrote to its standard output and error, as it wrote
  // it, up to 64 KiB (a write past that fails in the command, EPERM; a line
  // here says the output was cut).
  std::string output;
  bool delivered() const { return command.ok(); }
};

// Runs `command` with /bin/sh -c, the alert's JSON on standard input, its
// standard output and error kept in AlertDelivery::output, and BARROT_ALERT_CHECK,
// BARROT_ALERT_FROM, BARROT_ALERT_TO and BARROT_ALERT_SNAPSHOT in its
// environment. Kills it (its whole process group) after `timeout_ms`. Then
// records the end of the alert snapshot (completed, or failed with the
// command's error), linked to it. The command inherits the process's signal
// dispositions (the barrot CLIs leave them at their defaults). When `stop`
// is set (by a SIGTERM handler, say) the command's process group is killed
// at once, or the command not started, and the delivery fails: the alert's
// end is recorded all the same, never left executing.
BARROT_EXPORT AlertDelivery deliver_alert(Store& store,
                                          const HealthAlert& alert,
                                          const std::string& command,
                                          int timeout_ms,
                                          const std::atomic<bool>* stop = nullptr);

// Renderings: readable text (a verdict line, then one line per check),
// JSON, and the Prometheus text exposition format (for node_exporter's
// textfile collector).
BARROT_EXPORT std::string format_health(const HealthReport& report);
BARROT_EXPORT Json to_json(const HealthReport& report);
BARROT_EXPORT std::string format_prometheus(const HealthReport& report);

} // namespace barrot
