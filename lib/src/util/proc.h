// Processes from /proc. Knows nothing about snapshots. Reads only
// /proc/<pid>/stat: never command lines or environments (they carry secrets).
#pragma once

#include <barrot/status.h>

#include <cstdint>
#include <functional>
#include <string>

namespace barrot::util {

struct ProcessInfo {
  std::int64_t pid = 0;
  std::string name; // comm: at most 15 bytes, may hold any byte but NUL
  char state = '?'; // R, S, D, Z, T, ...
  std::int64_t rss_kb = 0;
  double cpu_seconds = 0; // user + system
};

// Calls `fn` for each process that could be read; processes that exit while
// being read are skipped. IOError when /proc cannot be listed.
Status for_each_process(const std::function<void(const ProcessInfo&)>& fn);

} // namespace barrot::util
