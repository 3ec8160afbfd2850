#include "time.h"

#include <time.h>

namespace barrot::util {

namespace {

constexpr std::int64_t k_us_per_second = 1'000'000;
constexpr std::int64_t k_seconds_per_day = 86'400;

// Howard Hinnant's days_from_civil / civil_from_days algorithms.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, int* y, int* m, int* d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t yy = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned dd = doy - (153 * mp + 2) / 5 + 1;
  const unsigned mm = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int>(yy + (mm <= 2));
  *m = static_cast<int>(mm);
  *d = static_cast<int>(dd);
}

bool is_leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int days_in_month(int y, int m) {
  static constexpr int k_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : k_days[m - 1];
}

} // namespace

CivilTime to_civil(std::int64_t us) {
  std::int64_t secs = us / k_us_per_second;
  std::int64_t frac = us % k_us_per_second;
  if (frac < 0) {
    frac += k_us_per_second;
    secs -= 1;
  }
  std::int64_t days = secs / k_seconds_per_day;
  std::int64_t sod = secs % k_seconds_per_day;
  if (sod < 0) {
    sod += k_seconds_per_day;
    days -= 1;
  }
  CivilTime t;
  civil_from_days(days, &t.year, &t.month, &t.day);
  t.hour = static_cast<int>(sod / 3600);
  t.minute = static_cast<int>(sod % 3600 / 60);
  t.second = static_cast<int>(sod % 60);
  t.micros = static_cast<int>(frac);
  return t;
}

std::optional<std::int64_t> from_civil(const CivilTime& t) {
  if (t.year < 1 || t.year > 9999 || t.month < 1 || t.month > 12 || t.day < 1 ||
      t.day > days_in_month(t.year, t.month) || t.hour < 0 || t.hour > 23 || t.minute < 0 ||
      t.minute > 59 || t.second < 0 || t.second > 59 || t.micros < 0 || t.micros > 999'999) {
    return std::nullopt;
  }
  const std::int64_t days =
      days_from_civil(t.year, static_cast<unsigned>(t.month), static_cast<unsigned>(t.day));
  return (days * k_seconds_per_day + t.hour * 3600 + t.minute * 60 + t.second) * k_us_per_second +
         t.micros;
}

std::int64_t realtime_us() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * k_us_per_second + ts.tv_nsec / 1000;
}

std::int64_t monotonic_us() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * k_us_per_second + ts.tv_nsec / 1000;
}

} // namespace barrot::util
