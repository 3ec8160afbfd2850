// Readable and JSON renderings of snapshots and reports, for the CLI and for
// any program that shows them. Pure functions of their arguments.
#pragma once

#include <barrot/export.h>
#include <barrot/snapshot.h>
#include <barrot/store.h>

#include <string>

namespace barrot {

// "✓" completed, "✗" failed, "…" executing, "◆" periodic.
BARROT_EXPORT std::string_view status_mark(std::string_view status);

// One line: mark, timestamp, id, type and status (actions) and details.
BARROT_EXPORT std::string format_line(const Snapshot& snapshot);
BARROT_EXPORT std::string format_line(const SnapshotInfo& info);

// A multi-line readable view: sections of a periodic snapshot, or the fields
// of an action.
BARROT_EXPORT std::string format_snapshot(const Snapshot& snapshot);

BARROT_EXPORT std::string format_summary(const Summary& summary);
BARROT_EXPORT std::string format_problem(const Problem& problem);

// `j` as text (compact for indent < 0); invalid UTF-8 in strings (e.g. file
// names from disk) is replaced by U+FFFD rather than failing.
BARROT_EXPORT std::string dump_json(const Json& j, int indent = 2);

BARROT_EXPORT Json to_json(const Summary& summary);
BARROT_EXPORT Json to_json(const SnapshotInfo& info);
BARROT_EXPORT Json to_json(const VerifyReport& report);
BARROT_EXPORT Json to_json(const RepairReport& report);
BARROT_EXPORT Json to_json(const ImportReport& report);

} // namespace barrot
