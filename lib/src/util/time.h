// UTC calendar arithmetic on microsecond timestamps. Knows nothing about snapshots.
#pragma once

#include <cstdint>
#include <optional>

namespace barrot::util {

struct CivilTime {
  int year = 1970;
  int month = 1; // 1-12
  int day = 1;   // 1-31
  int hour = 0;
  int minute = 0;
  int second = 0;
  int micros = 0; // 0-999999
};

// Microseconds since the epoch to a UTC calendar time (proleptic Gregorian).
CivilTime to_civil(std::int64_t us);

// The inverse; nullopt when a field is out of range (Feb 30, hour 24, ...).
std::optional<std::int64_t> from_civil(const CivilTime& t);

// CLOCK_REALTIME in microseconds.
std::int64_t realtime_us();

// CLOCK_MONOTONIC in microseconds.
std::int64_t monotonic_us();

} // namespace barrot::util
