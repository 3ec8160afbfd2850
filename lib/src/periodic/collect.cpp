#include "util/fs.h"
#include "util/utf8.h"

#include <barrot/periodic.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace barrot {

namespace {

std::string human_duration(std::int64_t seconds) {
  const std::int64_t d = seconds / 86400;
  const std::int64_t h = seconds % 86400 / 3600;
  const std::int64_t m = seconds % 3600 / 60;
  char buf[64];
  if (d > 0) {
    std::snprintf(buf,
                  sizeof buf,
                  "%lldd %lldh %lldm",
                  static_cast<long long>(d),
                  static_cast<long long>(h),
                  static_cast<long long>(m));
  } else {
    std::snprintf(
        buf, sizeof buf, "%lldh %lldm", static_cast<long long>(h), static_cast<long long>(m));
  }
  return buf;
}

Json system_state(Store& store, TimeUs now) {
  Json s = Json::object();
  s["timestamp"] = format_iso8601(now);
  std::string text;
  Status st = util::read_file(AT_FDCWD, "/proc/uptime", &text, /*nofollow=*/false);
  double up = 0;
  if (st.ok() && std::sscanf(text.c_str(), "%lf", &up) == 1) {
    s["uptime"] = human_duration(static_cast<std::int64_t>(up));
    s["uptime_seconds"] = static_cast<std::int64_t>(up);
  } else {
    s["uptime"] = "unknown";
    s["uptime_error"] = st.ok() ? "cannot parse /proc/uptime" : st.message();
  }
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) == 0 && util::is_valid_utf8(host)) {
    s["hostname"] = host;
  }
  auto sum = store.summary();
  if (sum.ok()) {
    s["snapshots_stored"] = sum->total;
    s["health"] = "operational";
  } else {
    s["health"] = "degraded";
    s["health_reasons"] = Json::array({sum.status().message()});
  }
  return s;
}

Json not_collected() {
  // Filled from the build manifest, /proc, workflows and memory bundles by the
  // periodic-state collector (issue 3); until then the section says so.
  return Json{{"status", "not_collected"}};
}

} // namespace

PeriodicInput collect_periodic(Store& store, const PeriodicConfig& config) {
  PeriodicInput in;
  in.interval = config.interval;
  in.at = now_us();
  in.sections["system_state"] = system_state(store, *in.at);
  in.sections["build_state"] = not_collected();
  in.sections["rail_status"] = not_collected();
  in.sections["active_processes"] = not_collected();
  in.sections["workflows"] = not_collected();
  in.sections["cognitive_state"] = not_collected();
  in.sections["task_progress"] = not_collected();
  return in;
}

Result<Snapshot> take_periodic_snapshot(Store& store, const PeriodicConfig& config) {
  return store.record_periodic(collect_periodic(store, config));
}

} // namespace barrot
