// What the health checks and the dashboard share: rows from a read-only
// query, and numbers and durations for people.
#pragma once

#include <barrot/snapshot.h>
#include <barrot/status.h>
#include <barrot/store.h>

#include <cstdint>
#include <string>
#include <vector>

namespace barrot::report {

using Rows = std::vector<std::vector<Json>>;

// All rows of `sql` through Store::query (read-only, fenced). The SQL's only
// parameters are integers the caller inlined.
Result<Rows> select(Store& store, const std::string& sql);

// An integer column's value; 0 for NULL.
std::int64_t as_int(const Json& v);

// `v` with `digits` decimals: fixed(2.345, 1) is "2.3".
std::string fixed(double v, int digits);

// One decimal, none when it would be ".0": "2.5", "24".
std::string short_number(double v);

// Minutes, hours or days, whichever reads best: "35 min", "2.5 h", "7 d".
std::string human_duration(TimeUs us);

} // namespace barrot::report
