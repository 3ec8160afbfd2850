// Collecting the system state for a periodic snapshot.
#pragma once

#include <barrot/export.h>
#include <barrot/snapshot.h>
#include <barrot/store.h>

#include <string>

namespace barrot {

struct PeriodicConfig {
  // The "interval" field of each snapshot. Default: "30_minutes" (the seed's).
  std::string interval = "30_minutes";
};

// Reads the state sections in the seed's order: system_state (time, uptime,
// hostname, health), build_state, rail_status, active_processes, workflows,
// cognitive_state, task_progress. A source that fails never fails the
// snapshot: its section says why.
BARROT_EXPORT PeriodicInput collect_periodic(Store& store, const PeriodicConfig& config);

// collect_periodic, then Store::record_periodic.
BARROT_EXPORT Result<Snapshot> take_periodic_snapshot(Store& store, const PeriodicConfig& config);

} // namespace barrot
