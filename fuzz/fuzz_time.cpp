// The time and filter parsers: --since/--until/--at (ISO 8601, relative
// times), durations (--interval, health windows), retention days, --where
// conditions, snapshot ids and action types.
#include "fuzz_util.h"

#include <barrot/archive.h>
#include <barrot/periodic.h>
#include <barrot/search.h>
#include <barrot/snapshot.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace barrot;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto t = parse_iso8601(text); t.ok()) {
    // What parses formats back to a time that parses to the same instant.
    auto again = parse_iso8601(format_iso8601(*t));
    FUZZ_CHECK(again.ok() && *again == *t);
  }
  (void)parse_time_spec(text, 1'735'689'600'000'000);
  if (auto d = parse_duration(text); d.ok()) {
    FUZZ_CHECK(*d > 0);
  }
  (void)parse_retention_days(text);
  if (auto c = parse_detail_condition(text); c.ok()) {
    FUZZ_CHECK(!c->path.empty());
  }
  if (validate_snapshot_id(text).ok()) {
    // An id is never a path: no separator, no dot, no NUL.
    FUZZ_CHECK(text.find_first_of("/.\\") == std::string_view::npos);
    FUZZ_CHECK(text.find('\0') == std::string_view::npos);
  }
  (void)validate_action_type(text);
  (void)parse_action_status(text);
  return 0;
}
