// Helpers shared by the benchmark programs: timing, child processes, file
// sizes and the generated action details. Not part of the library.
#pragma once

#include <barrot/barrot.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <spawn.h>
#include <string>
#include <vector>

extern char** environ;

namespace bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Exits with a message naming the program when `s` is an error.
inline void check(const barrot::Status& s, const char* program) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", program, s.ToString().c_str());
    std::exit(1);
  }
}

// Runs argv (searched on PATH) with stdin from `in` and stdout to `out`
// (paths; empty: inherited), stderr inherited. The wall time in seconds, or
// -1 when it could not start or did not exit 0.
inline double run_process(const std::vector<std::string>& argv,
                          const std::string& in = "",
                          const std::string& out = "") {
  std::vector<char*> args;
  for (const auto& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (!in.empty()) {
    posix_spawn_file_actions_addopen(&fa, 0, in.c_str(), O_RDONLY, 0);
  }
  if (!out.empty()) {
    posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  }
  const auto t0 = Clock::now();
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    return -1;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  const double s = seconds_since(t0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? s : -1;
}

inline std::int64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::int64_t>(st.st_size) : -1;
}

inline double median(std::vector<double> v) {
  if (v.empty()) {
    return 0;
  }
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// One action's details: 3 to 6 keys, values like real ones. Every 200th
// message holds the word "quarantined" (the full-text benchmark's word).
inline barrot::Json action_details(std::mt19937_64& rng, long i) {
  static const char* envs[] = {"production", "staging", "development"};
  static const char* regions[] = {"eu-west-1", "us-east-1", "ap-south-1"};
  static const char* words[] = {"finished", "retried", "skipped", "cached", "uploaded"};
  barrot::Json d = barrot::Json::object();
  d["environment"] = envs[rng() % 3];
  d["duration_seconds"] = static_cast<double>(rng() % 60000) / 100.0;
  d["run"] = i;
  const int extra = static_cast<int>(rng() % 4);
  if (extra > 0) {
    d["region"] = regions[rng() % 3];
  }
  if (extra > 1) {
    d["commit"] = std::to_string(rng() % 100000000);
  }
  if (extra > 2) {
    d["message"] = "step " + std::to_string(rng() % 1000) + " " +
                   (rng() % 200 == 0 ? "quarantined" : words[rng() % 5]);
  }
  return d;
}

// 85% completed, 10% failed, 5% executing.
inline barrot::ActionStatus action_status(std::mt19937_64& rng) {
  const auto r = rng() % 100;
  return r < 85   ? barrot::ActionStatus::completed
         : r < 95 ? barrot::ActionStatus::failed
                  : barrot::ActionStatus::executing;
}

} // namespace bench
