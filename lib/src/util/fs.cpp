#include "fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace barrot::util {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    reset(other.release());
  }
  return *this;
}

int UniqueFd::release() {
  int fd = m_fd;
  m_fd = -1;
  return fd;
}

void UniqueFd::reset(int fd) {
  if (m_fd >= 0) {
    ::close(m_fd);
  }
  m_fd = fd;
}

Status errno_status(std::string_view what, std::string_view path, int err) {
  // ELOOP: O_NOFOLLOW met a symbolic link ("Too many levels of symbolic
  // links" would send the reader looking for a loop).
  std::string msg =
      std::string(what) + " " + std::string(path) + ": " +
      (err == ELOOP ? "a symbolic link, not followed (or a loop of them)" : std::strerror(err));
  if (err == EACCES || err == EROFS || err == ENOTDIR || err == EPERM) {
    return Status::InvalidArgument(msg);
  }
  return Status::IOError(msg);
}

std::string parent_dir(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

int rename_noreplace(int from_dir, const std::string& from, int to_dir, const std::string& to) {
  if (::renameat2(from_dir, from.c_str(), to_dir, to.c_str(), RENAME_NOREPLACE) == 0) {
    return 0;
  }
  if (errno != EINVAL && errno != ENOSYS) {
    return -1;
  }
  // A file system without RENAME_NOREPLACE (NFS, some FUSE): a link fails
  // on a taken name just the same; then the old name goes.
  if (::linkat(from_dir, from.c_str(), to_dir, to.c_str(), 0) != 0) {
    return -1;
  }
  (void)::unlinkat(from_dir, from.c_str(), 0);
  return 0;
}

Status make_dirs(const std::string& path) {
  if (path.empty()) {
    return Status::InvalidArgument("empty directory path");
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return Status::OK(); // the common case: one system call, not one per component
  }
  std::string prefix;
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    prefix = path.substr(0, pos);
    if (prefix.empty() || prefix == "/") {
      continue;
    }
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      return errno_status("cannot create directory", prefix, errno);
    }
  }
  if (::stat(path.c_str(), &st) != 0) {
    return errno_status("cannot stat", path, errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument("not a directory: " + path);
  }
  return Status::OK();
}

Status open_dir(const std::string& path, UniqueFd* out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return Status::InvalidArgument("no such directory: " + path);
    }
    return errno_status("cannot open directory", path, errno);
  }
  out->reset(fd);
  return Status::OK();
}

std::string temp_name_for(const std::string& name) {
  std::size_t slash = name.rfind('/');
  if (slash == std::string::npos) {
    return "." + name + ".tmp";
  }
  return name.substr(0, slash + 1) + "." + name.substr(slash + 1) + ".tmp";
}

Status write_all(int fd, std::string_view data, std::string_view path_for_errors) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return errno_status("cannot write", path_for_errors, errno);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return Status::OK();
}

Status append_once(int fd, std::string_view data, std::string_view path_for_errors) {
  ssize_t n = 0;
  do {
    n = ::write(fd, data.data(), data.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    return errno_status("cannot append to", path_for_errors, errno);
  }
  if (static_cast<std::size_t>(n) != data.size()) {
    return Status::IOError("short write to " + std::string(path_for_errors) + " (" +
                           std::to_string(n) + " of " + std::to_string(data.size()) +
                           " bytes: the disk is full, or a file size limit was reached)");
  }
  return Status::OK();
}

namespace {

Status sync_fd(int fd, const std::string& path) {
  if (::fsync(fd) != 0) {
    return errno_status("cannot fsync", path, errno);
  }
  return Status::OK();
}

} // namespace

Status sync_dir_of(int dir_fd, const std::string& name) {
  const std::size_t slash = name.rfind('/');
  if (slash == std::string::npos) {
    return sync_fd(dir_fd, "directory of " + name);
  }
  UniqueFd parent(
      ::openat(dir_fd, name.substr(0, slash).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!parent.valid()) {
    return errno_status("cannot open the directory of", name, errno);
  }
  return sync_fd(parent.get(), "directory of " + name);
}

namespace {

Status write_via_rename(int dir_fd,
                        const std::string& name,
                        std::string_view data,
                        Overwrite overwrite,
                        FsyncMode fsync_mode) {
  AtomicWriter w;
  BARROT_TRY(w.open(dir_fd, name, fsync_mode));
  BARROT_TRY(w.append(data));
  return w.commit(overwrite);
}

} // namespace

// --- AtomicWriter ----------------------------------------------------------------

namespace {
// Appends are gathered up to this much before a write.
constexpr std::size_t k_writer_buffer = 1 << 20;
} // namespace

AtomicWriter::~AtomicWriter() {
  abandon();
}

void AtomicWriter::abandon() {
  if (m_fd.valid()) {
    m_fd.reset();
    ::unlinkat(m_dir_fd, m_tmp.c_str(), 0);
  }
}

Status AtomicWriter::open(int dir_fd, const std::string& name, FsyncMode fsync_mode) {
  abandon(); // a file this writer was building before
  m_failed = false;
  m_dir_fd = dir_fd;
  m_name = name;
  m_tmp = temp_name_for(name);
  m_fsync = fsync_mode;
  m_buffer.clear();
  // A leftover (or planted) temp file is removed, never written through: a
  // hard link planted there must not let us truncate its target.
  ::unlinkat(dir_fd, m_tmp.c_str(), 0);
  m_fd.reset(
      ::openat(dir_fd, m_tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!m_fd.valid()) {
    return errno_status("cannot create", m_tmp, errno);
  }
  return Status::OK();
}

Status AtomicWriter::usable() const {
  if (!m_fd.valid()) {
    return Status::InvalidArgument("no file is being written (" + m_name + ")");
  }
  if (m_failed) {
    // Part of what was appended may be missing: never committed.
    return Status::IOError("an earlier write to " + m_tmp + " failed; " + m_name +
                           " was left as it was");
  }
  return Status::OK();
}

Status AtomicWriter::write_out(std::string_view data) {
  Status s = write_all(m_fd.get(), data, m_tmp);
  m_failed = !s.ok();
  return s;
}

Status AtomicWriter::append(std::string_view data) {
  BARROT_TRY(usable());
  if (m_buffer.size() + data.size() > k_writer_buffer) {
    BARROT_TRY(flush());
    if (data.size() >= k_writer_buffer) {
      return write_out(data);
    }
  }
  m_buffer.append(data);
  return Status::OK();
}

Status AtomicWriter::flush() {
  BARROT_TRY(usable());
  Status s = write_out(m_buffer);
  m_buffer.clear();
  return s;
}

Status AtomicWriter::commit(Overwrite overwrite) {
  BARROT_TRY(flush());
  if (m_fsync == FsyncMode::fsync) {
    BARROT_TRY(sync_fd(m_fd.get(), m_tmp));
  }
  m_fd.reset();
  Status s;
  if (overwrite == Overwrite::no) {
    // renameat2(RENAME_NOREPLACE) keeps the never-overwrite promise here too.
    if (rename_noreplace(m_dir_fd, m_tmp, m_dir_fd, m_name) != 0) {
      s = errno == EEXIST ? Status::InvalidArgument("file exists: " + m_name)
                          : errno_status("cannot rename to", m_name, errno);
    }
  } else if (::renameat(m_dir_fd, m_tmp.c_str(), m_dir_fd, m_name.c_str()) != 0) {
    s = errno_status("cannot rename to", m_name, errno);
  }
  if (!s.ok()) {
    ::unlinkat(m_dir_fd, m_tmp.c_str(), 0);
    return s;
  }
  if (m_fsync == FsyncMode::fsync) {
    return sync_dir_of(m_dir_fd, m_name);
  }
  return Status::OK();
}

Status write_file_atomic(int dir_fd,
                         const std::string& name,
                         std::string_view data,
                         Overwrite overwrite,
                         FsyncMode fsync_mode) {
  if (overwrite == Overwrite::yes) {
    return write_via_rename(dir_fd, name, data, overwrite, fsync_mode);
  }
  UniqueFd fd(::openat(dir_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644));
  if (!fd.valid()) {
    if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL || errno == ENOENT) {
      return write_via_rename(dir_fd, name, data, overwrite, fsync_mode);
    }
    return errno_status("cannot create a file in the directory of", name, errno);
  }
  BARROT_TRY(write_all(fd.get(), data, name));
  if (fsync_mode == FsyncMode::fsync) {
    BARROT_TRY(sync_fd(fd.get(), name));
  }
  // linkat through /proc needs no privilege, unlike AT_EMPTY_PATH.
  char proc_path[64];
  std::snprintf(proc_path, sizeof proc_path, "/proc/self/fd/%d", fd.get());
  if (::linkat(AT_FDCWD, proc_path, dir_fd, name.c_str(), AT_SYMLINK_FOLLOW) != 0) {
    int err = errno;
    if (err == EEXIST) {
      return Status::InvalidArgument("file exists: " + name);
    }
    if (err == ENOENT) { // no /proc: fall back
      return write_via_rename(dir_fd, name, data, overwrite, fsync_mode);
    }
    return errno_status("cannot link", name, err);
  }
  if (fsync_mode == FsyncMode::fsync) {
    return sync_dir_of(dir_fd, name);
  }
  return Status::OK();
}

Status open_regular_file(
    int dir_fd, const std::string& name, bool nofollow, UniqueFd* out, std::int64_t* size) {
  // O_NONBLOCK: opening a FIFO planted in the directory must not hang us.
  int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | (nofollow ? O_NOFOLLOW : 0);
  UniqueFd fd(::openat(dir_fd, name.c_str(), flags));
  if (!fd.valid()) {
    if (errno == ENOENT) {
      return Status::NotFound("no such file: " + name);
    }
    return errno_status("cannot open", name, errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return errno_status("cannot stat", name, errno);
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::InvalidArgument("not a regular file: " + name);
  }
  *size = static_cast<std::int64_t>(st.st_size);
  *out = std::move(fd);
  return Status::OK();
}

Status read_some(int fd, char* buf, std::size_t len, std::size_t* got, std::string_view path) {
  for (;;) {
    const ssize_t n = ::read(fd, buf, len);
    if (n >= 0) {
      *got = static_cast<std::size_t>(n);
      return Status::OK();
    }
    if (errno != EINTR) {
      return errno_status("cannot read", path, errno);
    }
  }
}

Status read_file(
    int dir_fd, const std::string& name, std::string* out, bool nofollow, std::size_t max_bytes) {
  UniqueFd fd;
  std::int64_t size = 0;
  BARROT_TRY(open_regular_file(dir_fd, name, nofollow, &fd, &size));
  if (static_cast<std::size_t>(size) > max_bytes) {
    return Status::InvalidArgument(name + " is larger than " + std::to_string(max_bytes) +
                                   " bytes");
  }
  out->clear();
  out->reserve(static_cast<std::size_t>(size));
  char buf[1 << 16];
  for (;;) {
    std::size_t n = 0;
    BARROT_TRY(read_some(fd.get(), buf, sizeof buf, &n, name));
    if (n == 0) {
      break;
    }
    if (out->size() + n > max_bytes) {
      return Status::InvalidArgument(name + " is larger than " + std::to_string(max_bytes) +
                                     " bytes");
    }
    out->append(buf, n);
  }
  return Status::OK();
}

Status list_dir(int dir_fd, const std::string& path, std::vector<std::string>* names) {
  // A descriptor of our own: closedir() closes it, and the caller's stays open.
  const int fd = dir_fd == AT_FDCWD ? ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                                    : ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return errno == ENOENT ? Status::NotFound("no such directory: " + path)
                           : errno_status("cannot list", path, errno);
  }
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    ::close(fd);
    return errno_status("cannot list", path, errno);
  }
  names->clear();
  while (dirent* e = ::readdir(dir)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") {
      names->push_back(name);
    }
  }
  ::closedir(dir);
  return Status::OK();
}

bool exists_at(int dir_fd, const std::string& name) {
  struct stat st {};
  return ::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

Status FileLock::lock(int fd, Mode mode, int timeout_ms) {
  unlock();
  const int op = (mode == Mode::shared ? LOCK_SH : LOCK_EX) | LOCK_NB;
  // Poll rather than block, so a stuck holder turns into Busy, not a hang.
  // Back off from 0.1 ms to 20 ms: short waits (another writer's commit)
  // stay short, long ones cost little CPU.
  long waited_us = 0;
  long step_us = 100;
  for (;;) {
    if (::flock(fd, op) == 0) {
      m_fd = fd;
      return Status::OK();
    }
    if (errno != EWOULDBLOCK && errno != EINTR) {
      return errno_status("cannot lock", "the store's lock file", errno);
    }
    if (waited_us >= static_cast<long>(timeout_ms) * 1000) {
      return Status::Busy("another process held the store's lock for " +
                          std::to_string(timeout_ms) + " ms (a long verify, repair or import?)");
    }
    ::usleep(static_cast<useconds_t>(step_us));
    waited_us += step_us;
    step_us = std::min(step_us * 2, 20'000L);
  }
}

Status FileLock::lock_through(int gate_fd, int fd, Mode mode, int timeout_ms) {
  if (gate_fd < 0) {
    return lock(fd, mode, timeout_ms);
  }
  FileLock gate;
  BARROT_TRY(gate.lock(gate_fd, mode, timeout_ms));
  return lock(fd, mode, timeout_ms);
}

bool FileLock::try_lock(int fd, Mode mode) {
  unlock();
  int op = (mode == Mode::shared ? LOCK_SH : LOCK_EX) | LOCK_NB;
  if (::flock(fd, op) != 0) {
    return false;
  }
  m_fd = fd;
  return true;
}

bool FileLock::downgrade() {
  if (m_fd < 0) {
    return false;
  }
  if (::flock(m_fd, LOCK_SH | LOCK_NB) != 0) {
    m_fd = -1;
    return false;
  }
  return true;
}

void FileLock::unlock() {
  if (m_fd >= 0) {
    ::flock(m_fd, LOCK_UN);
    m_fd = -1;
  }
}

} // namespace barrot::util
