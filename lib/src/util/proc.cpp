#include "util/proc.h"

#include "util/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace barrot::util {

namespace {

bool parse_stat(const std::string& text, ProcessInfo* p) {
  // "pid (comm) state ppid ..." where comm may contain spaces and ')'.
  const std::size_t open = text.find('(');
  const std::size_t close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open ||
      close + 2 >= text.size()) {
    return false;
  }
  p->name = text.substr(open + 1, close - open - 1);
  p->state = text[close + 2];
  // Fields after the state, 1-based from the state: utime is field 14 of the
  // whole line (12th after state), stime 15, rss 24.
  std::vector<std::string> fields;
  std::size_t pos = close + 2;
  while (pos < text.size() && fields.size() < 23) {
    std::size_t end = text.find(' ', pos);
    if (end == std::string::npos) {
      end = text.size();
    }
    fields.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  if (fields.size() < 22) {
    return false;
  }
  static const long k_ticks = ::sysconf(_SC_CLK_TCK);
  static const long k_page_kb = ::sysconf(_SC_PAGESIZE) / 1024;
  const double utime = std::strtod(fields[11].c_str(), nullptr);
  const double stime = std::strtod(fields[12].c_str(), nullptr);
  p->cpu_seconds = k_ticks > 0 ? (utime + stime) / static_cast<double>(k_ticks) : 0;
  p->rss_kb = std::strtoll(fields[21].c_str(), nullptr, 10) * k_page_kb;
  return true;
}

} // namespace

Status for_each_process(const std::function<void(const ProcessInfo&)>& fn) {
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) {
    return errno_status("cannot list", "/proc", errno);
  }
  std::string text;
  while (dirent* e = ::readdir(dir)) {
    char* end = nullptr;
    const long long pid = std::strtoll(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || pid <= 0) {
      continue;
    }
    ProcessInfo p;
    p.pid = pid;
    const std::string path = "/proc/" + std::string(e->d_name) + "/stat";
    if (!read_file(AT_FDCWD, path, &text, /*nofollow=*/false, /*max_bytes=*/4096).ok() ||
        !parse_stat(text, &p)) {
      continue; // exited meanwhile, or not ours to read
    }
    fn(p);
  }
  ::closedir(dir);
  return Status::OK();
}

} // namespace barrot::util
