// Periodic snapshots of the real system state: what they contain, where the
// inputs are read from, and the configuration file that says so.
#pragma once

#include <barrot/export.h>
#include <barrot/snapshot.h>
#include <barrot/status.h>
#include <barrot/store.h>

#include <cstdint>
#include <string>
#include <vector>

namespace barrot {

struct PeriodicConfig {
  // Where the inputs below are looked up when not given. Default: ".".
  std::string base_dir = ".";
  // The build manifest (YAML). Default: <base_dir>/build_manifest.yaml.
  std::string manifest_path;
  // GitHub Actions workflows (*.yml, *.yaml). Default: <base_dir>/.github/workflows.
  std::string workflows_dir;
  // Protocol registry (JSON). Default: <base_dir>/memory-bundles/protocols/registry.json.
  std::string registry_path;
  // Outcome relay (text, one entry per line). Default: <base_dir>/memory-bundles/outcome-relay.md.
  std::string outcome_relay_path;
  // Process names to report (shell globs, as fnmatch(3)); empty: all.
  std::vector<std::string> process_patterns;
  // At most this many processes are listed (the count covers all). Default: 50.
  std::int64_t max_processes = 50;
  // Seconds between periodic snapshots; also names the snapshot's
  // "interval" field ("30_minutes"). Default: 1800.
  std::int64_t interval_seconds = 1800;
};

// The paths `config` resolves to, defaults filled in from base_dir.
BARROT_EXPORT PeriodicConfig resolved(const PeriodicConfig& config);

// Reads a configuration file (YAML mapping) over `config`. Keys: base_dir,
// manifest, workflows_dir, registry, outcome_relay, process_patterns (list),
// max_processes, interval ("30m", "1h", "90s", "30_minutes"). An unknown key
// or a value of the wrong type is InvalidArgument naming the key and line.
BARROT_EXPORT Status load_periodic_config(const std::string& path, PeriodicConfig* config);

// Parses "90", "90s", "30m", "2h", "1d" or "30_minutes"-style durations into
// seconds (> 0). InvalidArgument otherwise.
BARROT_EXPORT Result<std::int64_t> parse_duration(std::string_view text);

// The snapshot's interval field for a duration: "30_minutes", "1_hours", "45_seconds".
BARROT_EXPORT std::string interval_name(std::int64_t seconds);

// Reads every section, in the seed's order: system_state, build_state,
// rail_status, active_processes, workflows, cognitive_state, task_progress.
// Never fails: a source that cannot be read puts {"error": "..."} (or a
// status such as "no_build_manifest" when it is simply absent) in its
// section, and the error is also listed in system_state.health_reasons.
BARROT_EXPORT PeriodicInput collect_periodic(Store& store, const PeriodicConfig& config);

// collect_periodic, then Store::record_periodic.
BARROT_EXPORT Result<Snapshot> take_periodic_snapshot(Store& store, const PeriodicConfig& config);

} // namespace barrot
