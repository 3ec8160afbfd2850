// Snapshot values, their validation, and timestamps.
//
// A snapshot is a JSON document in the seed's schema (see docs/formats.md).
// Timestamps are UTC microseconds since the Unix epoch.
//
// Thread-safety: values and pure functions; safe from any thread.
#pragma once

#include <barrot/export.h>
#include <barrot/status.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace barrot {

// Key order is preserved, so documents keep the seed's key order on output.
using Json = nlohmann::ordered_json;

// UTC microseconds since 1970-01-01T00:00:00Z.
using TimeUs = std::int64_t;

enum class SnapshotType { action, periodic };
enum class ActionStatus { executing, completed, failed };

BARROT_EXPORT std::string_view to_string(SnapshotType type);
BARROT_EXPORT std::string_view to_string(ActionStatus status);

// "executing", "completed" or "failed"; anything else is InvalidArgument.
BARROT_EXPORT Result<ActionStatus> parse_action_status(std::string_view text);

// The longest action type accepted, in bytes.
inline constexpr std::size_t k_max_action_type_bytes = 128;
// The largest details object accepted, serialized compactly, in bytes. Large
// enough for stack traces and logs excerpts; small enough that one snapshot
// stays one atomic append to the log.
inline constexpr std::size_t k_max_details_bytes = 1 << 20;

// OK for a non-empty type of at most k_max_action_type_bytes of valid UTF-8
// with no control characters; otherwise InvalidArgument naming the problem.
BARROT_EXPORT Status validate_action_type(std::string_view type);

// OK for an id of the form action_YYYYMMDD_HHMMSS_ffffff or
// periodic_YYYYMMDD_HHMMSS naming a valid date and time. Such an id is safe as
// a file name: ids that pass never contain '/', '.', NUL or anything but
// [a-z0-9_].
BARROT_EXPORT Status validate_snapshot_id(std::string_view id);

// Parses `text` as the details of an action: a JSON object (keys keep their
// order). InvalidArgument naming the position of a syntax error, or the type
// when it is not an object.
BARROT_EXPORT Result<Json> parse_details_json(std::string_view text);

// The current time.
BARROT_EXPORT TimeUs now_us();

// "2025-12-22T02:32:11.483890Z" (always six fraction digits).
BARROT_EXPORT std::string format_iso8601(TimeUs t);

// Parses "YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+HH:MM|-HH:MM)" (also with a space for
// 'T'); the result is truncated to microseconds. InvalidArgument on anything else.
BARROT_EXPORT Result<TimeUs> parse_iso8601(std::string_view text);

// The id a snapshot taken at `t` is given, before collision handling:
// action_YYYYMMDD_HHMMSS_ffffff or periodic_YYYYMMDD_HHMMSS.
BARROT_EXPORT std::string make_snapshot_id(SnapshotType type, TimeUs t);

// What to record for one action.
struct ActionInput {
  std::string type;              // REQUIRES: validate_action_type(type).ok()
  Json details = Json::object(); // REQUIRES: a JSON object
  ActionStatus status = ActionStatus::executing;
  std::optional<TimeUs> at;         // snapshot time; default: now
  std::optional<TimeUs> started_at; // when the action began; default: the snapshot time
  // The id of the snapshot that recorded the start, if any: a start is ended
  // once, and recording a second end of it is InvalidArgument (checked in the
  // write transaction, so two writers racing to end it cannot both succeed).
  std::string start_snapshot_id;
};

// What to record for one periodic snapshot. `sections` holds the state
// sections in the order they are to appear (system_state, build_state, ...);
// the store adds snapshot_id, snapshot_type, timestamp, interval and metadata.
struct PeriodicInput {
  Json sections = Json::object();
  std::string interval = "30_minutes";
  std::optional<TimeUs> at; // default: now
};

// One stored snapshot.
// A snapshot's link in the store's hash chain (docs/integrity.md): its
// insertion counter, the previous snapshot's hash and its own, as 64
// lowercase hex digits. hash = sha256(prev + compact document).
struct ChainRecord {
  std::int64_t seq = 0;
  std::string prev;
  std::string hash;
};

struct Snapshot {
  std::string id;
  SnapshotType type = SnapshotType::action;
  TimeUs timestamp = 0;
  // The whole snapshot: its mirror files hold it with `chain` (the record
  // below) added as the last key of "metadata".
  Json document;

  // Set by the write calls only: OK when the mirror files were written, else
  // why not. The snapshot is committed to the database either way, and the
  // next open or `barrot repair` writes the missing mirror files. With
  // Options::background_mirror an action's files are written after the call
  // returns: OK here, and Store::flush() reports what failed.
  Status mirror;
  // Set by the write calls only.
  std::optional<ChainRecord> chain;
};

// A snapshot as stored, its JSON not parsed: what Store::search_rows gives
// (valid only during the callback). For printing many results quickly.
struct SnapshotRow {
  std::string_view id;
  SnapshotType type = SnapshotType::action;
  TimeUs timestamp = 0;
  std::string_view action_type; // actions only
  std::string_view status;      // actions only
  std::string_view details;     // compact JSON; actions only
  std::string_view document; // the whole snapshot, compact: its log line without the chain record
};

} // namespace barrot
