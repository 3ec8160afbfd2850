#include "health/report_util.h"

#include <barrot/health.h>

#include <cmath>
#include <cstdio>

namespace barrot::report {

Result<Rows> select(Store& store, const std::string& sql) {
  Rows rows;
  BARROT_TRY(store.query(
      sql,
      [](const std::vector<std::string>&) {},
      [&](const std::vector<Json>& values) {
        rows.push_back(values);
        return true;
      }));
  return rows;
}

std::int64_t as_int(const Json& v) {
  return v.is_number() ? v.get<std::int64_t>() : 0;
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string short_number(double v) {
  return fixed(v, std::fabs(v - std::round(v)) < 0.05 ? 0 : 1);
}

std::string human_duration(TimeUs us) {
  const double minutes = static_cast<double>(us) / static_cast<double>(k_us_per_minute);
  if (minutes < 2) { // a threshold of 1 s read "past 0 min"
    return short_number(static_cast<double>(us) / 1e6) + " s";
  }
  if (minutes < 120) { // whole seconds: "35 min 1 s ago (warning past 35 min)"
    const std::int64_t s = us / 1'000'000;
    std::string out = std::to_string(s / 60);
    out += " min";
    if (s % 60 != 0) {
      out += ' ';
      out += std::to_string(s % 60);
      out += " s";
    }
    return out;
  }
  if (minutes < 48 * 60) {
    return short_number(minutes / 60) + " h";
  }
  return short_number(minutes / 1440) + " d";
}

} // namespace barrot::report
