// The long-running periodic snapshot loop (`barrot daemon`).
#pragma once

#include <barrot/export.h>
#include <barrot/options.h>
#include <barrot/periodic.h>
#include <barrot/status.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace barrot {

struct DaemonOptions {
  // Set (e.g. by a SIGTERM handler) to stop; checked at least every 200 ms.
  // REQUIRES: not null.
  const std::atomic<bool>* stop = nullptr;
  // One line per event (snapshot taken, error); default: discarded.
  std::function<void(const std::string&)> log;
  // Stop after this many snapshots; 0: run until `stop`. For tests.
  std::int64_t max_snapshots = 0;
};

// The reasons a periodic snapshot gave for a degraded health (a source that
// failed, low disk, unmirrored snapshots); empty when operational.
BARROT_EXPORT std::vector<std::string> health_reasons(const Snapshot& snapshot);

// Takes a periodic snapshot now and then every `config.interval_seconds` (at
// most a year), on a fixed schedule (start + k * interval, so it never
// drifts; a tick that overran skips to the next slot). Each tick opens the
// store afresh, so a failing tick (store busy, disk full) is logged and the
// next one tries again. Returns OK when stopped; InvalidArgument for an
// unusable configuration found before the first tick. A tick that fails for
// what only an operator can fix (InvalidArgument: a snapshots directory that
// is not the store's mirror, say; Corruption; SchemaTooNew) is logged, and
// the daemon returns that error.
BARROT_EXPORT Status run_periodic_daemon(const Options& store_options,
                                         const PeriodicConfig& config,
                                         const DaemonOptions& daemon);

} // namespace barrot
