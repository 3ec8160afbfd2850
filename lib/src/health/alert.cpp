// Alerts: state changes recorded as `alert` action snapshots, and delivered
// to an operator's command.
#include "mirror/mirror.h"
#include "util/fs.h"

#include <barrot/health.h>
#include <barrot/view.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <thread>

extern char** environ; // NOLINT: POSIX

namespace barrot {

namespace {

constexpr const char* k_alert_type = "alert";

// The state each check had at its last alert.
Result<std::map<std::string, HealthState>> last_alerted_states(Store& store) {
  std::map<std::string, HealthState> states;
  // One row per check: SQLite takes the bare columns from the row holding
  // max(). Only the alerts themselves: a delivery's end (linked to its
  // alert) may be recorded after a newer alert.
  BARROT_TRY(store.query(
      "SELECT json_extract(details, '$.check'), json_extract(details, '$.to'), max(seq) "
      "FROM actions WHERE action_type = 'alert' AND start_snapshot_id IS NULL GROUP BY 1",
      [](const std::vector<std::string>&) {},
      [&](const std::vector<Json>& row) {
        if (row[0].is_string() && row[1].is_string()) {
          auto state = parse_health_state(row[1].get<std::string>());
          states[row[0].get<std::string>()] = state.ok() ? *state : HealthState::unknown;
        }
        return true;
      }));
  return states;
}

Json alert_details(const HealthAlert& a) {
  return Json{{"check", a.check},
              {"from", to_string(a.from)},
              {"to", to_string(a.to)},
              {"summary", a.summary},
              {"metrics", a.metrics}};
}

// The environment of the alert command: ours, with the BARROT_ALERT_*
// variables set to this alert's values.
std::vector<std::string> alert_environment(const HealthAlert& a) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (std::strncmp(*e, "BARROT_ALERT_", 13) != 0) {
      env.emplace_back(*e);
    }
  }
  env.push_back("BARROT_ALERT_CHECK=" + a.check);
  env.push_back("BARROT_ALERT_FROM=" + std::string(to_string(a.from)));
  env.push_back("BARROT_ALERT_TO=" + std::string(to_string(a.to)));
  env.push_back("BARROT_ALERT_SNAPSHOT=" + a.snapshot_id);
  return env;
}

// The most of an alert command's output that is kept (AlertDelivery::output).
constexpr std::size_t k_max_output = 64 * 1024;

// What the command wrote into `fd` (its standard output and error, sharing
// one file offset with ours), a file of `capacity` bytes.
void read_output(int fd, std::size_t capacity, std::string* out) {
  const off_t end = ::lseek(fd, 0, SEEK_CUR);
  if (end <= 0) {
    return;
  }
  out->resize(std::min(static_cast<std::size_t>(end), capacity));
  std::size_t got = 0;
  while (got < out->size()) {
    const ssize_t n = ::pread(fd, out->data() + got, out->size() - got, static_cast<off_t>(got));
    if (n <= 0) {
      if (n < 0 && errno == EINTR) {
        continue;
      }
      break;
    }
    got += static_cast<std::size_t>(n);
  }
  out->resize(got);
  if (static_cast<std::size_t>(end) >= capacity) {
    *out += "\n[output cut at " +
            (capacity % 1024 == 0 ? std::to_string(capacity / 1024) + " KiB"
                                  : std::to_string(capacity) + " bytes") +
            "]\n";
  }
}

// Runs `command` under /bin/sh with `input` on its standard input; what it
// writes to its standard output and error goes to `output`.
Status run_command(const std::string& command,
                   const std::string& input,
                   const std::vector<std::string>& env,
                   int timeout_ms,
                   const std::atomic<bool>* stop,
                   std::string* output) {
  auto stopped = [&] { return stop != nullptr && stop->load(); };
  if (stopped()) {
    return Status::IOError("the alert command was not run: barrot was interrupted");
  }
  // The input goes through a memory file, not a pipe: a command that never
  // reads it can neither block us nor kill us with SIGPIPE.
  util::UniqueFd in(::memfd_create("barrot-alert", MFD_CLOEXEC));
  if (!in.valid()) {
    return util::errno_status("cannot create the alert's input", "memfd", errno);
  }
  BARROT_TRY(util::write_all(in.get(), input, "the alert's input"));
  if (::lseek(in.get(), 0, SEEK_SET) != 0) {
    return util::errno_status("cannot rewind the alert's input", "memfd", errno);
  }
  // Its output into a memory file, not straight to our standard error: the
  // caller shows it with its control characters made visible. Not a pipe:
  // the command's background jobs may write after it exits, and a closed
  // pipe would kill them (SIGPIPE); nor can a command that writes without
  // end fill memory or keep us reading: the file is sized and sealed, and a
  // write past its end fails (EPERM) in the command.
  // (A file size limit, which the command inherits, caps it too: sizing it
  // past the limit would fail.)
  std::size_t capacity = k_max_output;
  rlimit limit{};
  if (::getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    capacity = std::min<std::size_t>(capacity, limit.rlim_cur);
  }
  util::UniqueFd out(::memfd_create("barrot-alert-output", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!out.valid() || ::ftruncate(out.get(), static_cast<off_t>(capacity)) != 0 ||
      ::fcntl(out.get(), F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0) {
    return util::errno_status("cannot create the alert's output", "memfd", errno);
  }
  // Everything the child needs is built before fork(): after it, only
  // async-signal-safe calls.
  std::vector<char*> envp;
  for (const std::string& e : env) {
    envp.push_back(const_cast<char*>(e.c_str()));
  }
  envp.push_back(nullptr);
  const char* argv[] = {"sh", "-c", command.c_str(), nullptr};
  const pid_t pid = ::fork();
  if (pid < 0) {
    return util::errno_status("cannot start the alert command", command, errno);
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    if (::dup2(in.get(), STDIN_FILENO) < 0 || ::dup2(out.get(), STDOUT_FILENO) < 0 ||
        ::dup2(out.get(), STDERR_FILENO) < 0) {
      ::_exit(126);
    }
    ::execve("/bin/sh", const_cast<char* const*>(argv), envp.data());
    ::_exit(127);
  }
  ::setpgid(pid, pid); // also in the parent: whichever runs first
  struct Collect {     // however the wait ends
    int fd;
    std::size_t capacity;
    std::string* output;
    ~Collect() { read_output(fd, capacity, output); }
  } collect{out.get(), capacity, output};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int wstatus = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &wstatus, WNOHANG);
    if (r == pid) {
      break;
    }
    if (r < 0 && errno != EINTR) {
      const int err = errno;
      ::kill(-pid, SIGKILL);
      return util::errno_status("cannot wait for the alert command", command, err);
    }
    const bool late = std::chrono::steady_clock::now() >= deadline;
    if (late || stopped()) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
      }
      return Status::IOError(late ? "the alert command did not finish within " +
                                        std::to_string(timeout_ms) + " ms and was killed"
                                  : std::string("the alert command was killed: barrot was "
                                                "interrupted"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) {
    return Status::OK();
  }
  if (WIFSIGNALED(wstatus)) {
    return Status::IOError("the alert command was killed by signal " +
                           std::to_string(WTERMSIG(wstatus)));
  }
  return Status::IOError("the alert command exited with status " +
                         std::to_string(WEXITSTATUS(wstatus)));
}

} // namespace

Result<std::vector<HealthAlert>>
record_alerts(Store& store, const HealthReport& report, ActionStatus status) {
  // Two runs at once must not both see the same change: hold a lock from
  // reading the last states until the new ones are committed.
  util::UniqueFd dir;
  BARROT_TRY(util::open_dir(store.options().snapshots_dir + "/" + mirror::k_state_dir, &dir)
                 .WithContext("alert state"));
  util::UniqueFd lock_fd(
      ::openat(dir.get(), "health.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!lock_fd.valid()) {
    return util::errno_status(
        "cannot open the alert lock in", store.options().snapshots_dir, errno);
  }
  util::FileLock lock;
  BARROT_TRY(
      lock.lock(lock_fd.get(), util::FileLock::Mode::exclusive, store.options().busy_timeout_ms));

  BARROT_TRY_ASSIGN(auto last, last_alerted_states(store));
  std::vector<HealthAlert> alerts;
  std::vector<ActionInput> inputs;
  for (const HealthCheck& c : report.checks) {
    if (c.skipped) {
      continue;
    }
    auto it = last.find(c.name);
    const HealthState before = it == last.end() ? HealthState::ok : it->second;
    if (before == c.state) {
      continue;
    }
    HealthAlert a;
    a.check = c.name;
    a.from = before;
    a.to = c.state;
    a.summary = c.summary;
    a.metrics = c.metrics;
    ActionInput in;
    in.type = k_alert_type;
    in.details = alert_details(a);
    in.status = status;
    inputs.push_back(std::move(in));
    alerts.push_back(std::move(a));
  }
  if (inputs.empty()) {
    return alerts;
  }
  BARROT_TRY_ASSIGN(std::vector<Snapshot> recorded, store.record_actions(inputs));
  for (std::size_t i = 0; i < alerts.size(); ++i) {
    alerts[i].snapshot_id = recorded[i].id;
    alerts[i].at = recorded[i].timestamp;
    alerts[i].mirror = recorded[i].mirror;
  }
  return alerts;
}

Json to_json(const HealthAlert& alert, const Store& store) {
  Json j = alert_details(alert);
  j["at"] = format_iso8601(alert.at);
  j["snapshot_id"] = alert.snapshot_id;
  j["store"] = Json{{"snapshots_dir", store.options().snapshots_dir}, {"db_path", store.db_path()}};
  return j;
}

AlertDelivery deliver_alert(Store& store,
                            const HealthAlert& alert,
                            const std::string& command,
                            int timeout_ms,
                            const std::atomic<bool>* stop) {
  AlertDelivery out;
  out.command = run_command(command,
                            dump_json(to_json(alert, store)) + "\n",
                            alert_environment(alert),
                            timeout_ms,
                            stop,
                            &out.output);
  ActionInput end;
  end.type = k_alert_type;
  end.details = alert_details(alert);
  end.details["delivered"] = out.command.ok();
  if (!out.command.ok()) {
    end.details["error"] = out.command.message();
  }
  end.status = out.command.ok() ? ActionStatus::completed : ActionStatus::failed;
  end.started_at = alert.at;
  end.start_snapshot_id = alert.snapshot_id;
  auto recorded = store.record_action(end);
  out.recorded = recorded.status();
  if (recorded.ok()) {
    out.mirror = recorded->mirror;
  }
  return out;
}

} // namespace barrot
