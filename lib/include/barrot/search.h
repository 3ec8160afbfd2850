// Searching snapshots by type, action type, status, time and words.
#pragma once

#include <barrot/export.h>
#include <barrot/snapshot.h>
#include <barrot/status.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace barrot {

// A condition on a field of an action's details (`barrot search --where`).
struct DetailCondition {
  enum class Op { exists, eq, ne, lt, le, gt, ge };
  // Keys, outermost first: {"build", "version"}. None may be empty or hold
  // a double quote (SQLite's JSON paths cannot name such a key).
  std::vector<std::string> path;
  Op op = Op::exists;
  // Compared as a number with numbers when it is a JSON number ("30",
  // "-2.5e3"); as true/false/null with those when it is one of them; else,
  // and also for =/!= in every case, as text with strings ("1.2" equals both
  // 1.2 and "1.2"). <, <=, >, >= compare numbers with numbers and text with
  // strings (byte order: ISO dates compare as times), never across.
  std::string value;
};

// "key" (exists), "key=value", "key!=value" (also true when the key is
// missing), "key>value", "key>=value", "key<value", "key<=value"; nested
// keys joined by dots: "build.version=1.2"; a key holding a dot or an
// operator in double quotes: "\"app.version\"=2" (one key), "meta.\"a=b\"".
// InvalidArgument naming the text for an empty key, a double quote inside a
// key or not closed, and a value that starts with =, <, > or ! ("n==1",
// "n<>1": a typo, not a value).
BARROT_EXPORT Result<DetailCondition> parse_detail_condition(std::string_view text);

struct SearchFilter {
  std::optional<SnapshotType> type;
  // Exact action type, or a glob when it holds * ? or [ ("deploy*"); a
  // type holding one of them exactly: bracket it, "deploy[[]1]" for
  // "deploy[1]".
  std::string action_type;
  std::optional<ActionStatus> status;
  std::optional<TimeUs> since; // inclusive
  std::optional<TimeUs> until; // exclusive
  // Words that must all occur in the action type or details (full-text;
  // matched as whole words, in the index and in the newest rows it has not
  // taken in yet alike: docs/sql.md). Each needs a letter or digit; they
  // are searched as plain text, never as FTS5 query syntax.
  std::vector<std::string> words;
  // Conditions on details fields, all of which must hold (actions only).
  std::vector<DetailCondition> where;
  // At most this many results. Default: 100.
  std::size_t limit = 100;
  // Oldest first instead of newest first.
  bool oldest_first = false;
  // A cursor: continue after this snapshot, in the order asked for (the
  // last id of the previous page). NotFound when the store does not hold it.
  std::string after_id;
};

// "2025-12-22T02:32:11Z" (any ISO 8601 time with a zone), "2025-12-22"
// (midnight UTC), "30s"/"15m"/"2h"/"7d" ago, "now", "today", "yesterday"
// (midnight UTC). InvalidArgument naming the text otherwise.
BARROT_EXPORT Result<TimeUs> parse_time_spec(std::string_view text, TimeUs now);

} // namespace barrot
