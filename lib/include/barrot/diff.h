// What changed between two periodic snapshots.
#pragma once

#include <barrot/export.h>
#include <barrot/snapshot.h>

#include <string>

namespace barrot {

// The differences from `a` to `b` (both periodic snapshots, `a` usually the
// older):
//   {"from": id, "to": id, "seconds_between": n, "rebooted": bool,
//    "processes": {"count": {"from", "to"}, "appeared": {name: n}, "gone": {name: n},
//                  "complete_lists": bool (false: a list held only the largest)},
//    "workflows": {"started": [ids], "ended": [ids], "scheduled_added": [...],
//                  "scheduled_removed": [...]},
//    "changed": {"section.key.path": {"from": x, "to": y, "delta": d?}, ...}}
// `changed` covers every other value in every section (build_state,
// rail_status, system_state figures, cognitive_state, task_progress...),
// with `delta` for numbers; values that change every time (timestamps,
// uptime) are left out. InvalidArgument when either is not periodic.
BARROT_EXPORT Result<Json> diff_periodic(const Snapshot& a, const Snapshot& b);

// A readable rendering of diff_periodic's result, one change per line.
BARROT_EXPORT std::string format_diff(const Json& diff);

} // namespace barrot
