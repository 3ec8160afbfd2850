#include "util/time.h"

#include <barrot/daemon.h>

#include <time.h>

#include <algorithm>

namespace barrot {

namespace {

// How often a sleeping daemon looks at its stop flag: a signal that lands
// just before a sleep begins is seen within this long.
constexpr std::int64_t k_stop_poll_us = 200'000;

void sleep_until(std::int64_t target_mono_us, const std::atomic<bool>& stop) {
  while (!stop.load()) {
    const std::int64_t now = util::monotonic_us();
    if (now >= target_mono_us) {
      return;
    }
    const std::int64_t step = std::min(target_mono_us - now, k_stop_poll_us);
    timespec ts{static_cast<time_t>(step / 1'000'000), static_cast<long>(step % 1'000'000) * 1000};
    ::nanosleep(&ts, nullptr); // EINTR (a signal) simply ends this step early
  }
}

} // namespace

std::vector<std::string> health_reasons(const Snapshot& snapshot) {
  std::vector<std::string> out;
  const Json& doc = snapshot.document;
  if (doc.contains("system_state") && doc["system_state"].contains("health_reasons")) {
    for (const Json& r : doc["system_state"]["health_reasons"]) {
      if (r.is_string()) {
        out.push_back(r.get<std::string>());
      }
    }
  }
  return out;
}

// What no later tick can get past without an operator: a directory that is
// not the store's mirror (or not usable at all), a damaged database or
// .barrot/mirror-id, a database of a newer barrot. A full disk or a busy
// store is worth the next try.
bool needs_operator(const Status& s) {
  return s.IsInvalidArgument() || s.IsCorruption() || s.IsSchemaTooNew();
}

Status run_periodic_daemon(const Options& store_options,
                           const PeriodicConfig& config,
                           const DaemonOptions& daemon) {
  if (daemon.stop == nullptr) {
    return Status::InvalidArgument("run_periodic_daemon needs a stop flag");
  }
  if (config.interval_seconds <= 0) {
    return Status::InvalidArgument("the interval must be positive");
  }
  auto log = [&](const std::string& line) {
    if (daemon.log) {
      daemon.log(line);
    }
  };
  const std::int64_t interval_us = config.interval_seconds * 1'000'000;
  const std::int64_t start = util::monotonic_us();
  std::int64_t taken = 0;
  Options options = store_options;
  bool opened_once = false;
  for (std::int64_t tick = 0; !daemon.stop->load(); ++tick) {
    { // The store is open only while a snapshot is taken, not while waiting:
      // its files stay free to move, and its file system to remount.
      auto store = Store::Open(options);
      if (!store.ok() && store.status().IsNotFound() && opened_once) {
        // Made or found before: a store that vanished since (the directory
        // deleted, a disk not mounted) is not started afresh unseen.
        store = Status::NotFound("the store at " + options.snapshots_dir +
                                 " is gone (deleted or moved while the daemon ran): put it back, "
                                 "or restart the daemon to begin a new one");
        log("error: " + store.status().message());
        return store.status();
      }
      if (!store.ok()) {
        log("error: " + store.status().message());
        if (needs_operator(store.status())) {
          return store.status();
        }
      } else {
        opened_once = true;
        options.create = false;
        auto snap = take_periodic_snapshot(**store, config);
        if (snap.ok()) {
          ++taken;
          log("snapshot " + snap->id +
              (snap->mirror.ok() ? "" : " (mirror incomplete: " + snap->mirror.message() + ")"));
          for (const std::string& reason : health_reasons(*snap)) {
            log("warning: " + reason);
          }
        } else {
          log("error: " + snap.status().message());
          if (needs_operator(snap.status())) {
            return snap.status();
          }
        }
      }
    }
    if (daemon.max_snapshots > 0 && taken >= daemon.max_snapshots) {
      break;
    }
    // The next slot on the fixed grid that is still ahead.
    const std::int64_t now = util::monotonic_us();
    std::int64_t next = start + (tick + 1) * interval_us;
    if (next <= now) {
      const std::int64_t missed = (now - next) / interval_us + 1;
      log("overran by " + std::to_string(missed) + " interval(s); skipping to the next slot");
      tick += missed;
      next = start + (tick + 1) * interval_us;
    }
    sleep_until(next, *daemon.stop);
  }
  log("stopped after " + std::to_string(taken) + " snapshot(s)");
  return Status::OK();
}

} // namespace barrot
