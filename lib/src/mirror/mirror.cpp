#include "mirror/mirror.h"

#include "util/lines.h"

#include <barrot/snapshot.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace barrot::mirror {

using util::errno_status;

Status
Mirror::Open(const std::string& dir, Sync sync, Access access, std::unique_ptr<Mirror>* out) {
  std::unique_ptr<Mirror> m(new Mirror());
  m->m_dir = dir;
  m->m_sync = sync;
  m->m_access = access;
  if (access == Access::read_write) {
    BARROT_TRY(util::make_dirs(dir).WithContext("snapshots directory"));
    BARROT_TRY(util::make_dirs(dir + "/" + k_state_dir).WithContext("snapshots directory"));
  }
  BARROT_TRY(util::open_dir(dir, &m->m_dir_fd).WithContext("snapshots directory"));
  if (access == Access::read_write) {
    // Fail now, before anything is committed, if the directory is not writable.
    if (::faccessat(m->m_dir_fd.get(), ".", W_OK, AT_EACCESS) != 0) {
      return Status::InvalidArgument("snapshots directory " + dir + " is not writable");
    }
    // The lock files: created if missing, never through a symlink.
    for (auto [name, fd] : {std::pair{k_lock_name, &m->m_lock_fd},
                            std::pair{k_latest_lock_name, &m->m_latest_lock_fd},
                            std::pair{k_gate_name, &m->m_gate_fd}}) {
      fd->reset(::openat(
          m->m_dir_fd.get(), name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644));
      if (!fd->valid()) {
        return errno_status("cannot open lock file in", dir, errno);
      }
    }
    BARROT_TRY(m->ensure_log_open());
  } else {
    // Read-only: the locks that exist (a store never written has none).
    for (auto [name, fd] : {std::pair{k_lock_name, &m->m_lock_fd},
                            std::pair{k_latest_lock_name, &m->m_latest_lock_fd},
                            std::pair{k_gate_name, &m->m_gate_fd}}) {
      fd->reset(::openat(m->m_dir_fd.get(), name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    }
  }
  *out = std::move(m);
  return Status::OK();
}

Status Mirror::lock_archiving(util::UniqueFd* fd, util::FileLock* lock, int timeout_ms) const {
  util::UniqueFd opened(::openat(
      m_dir_fd.get(), k_archive_lock_name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!opened.valid()) {
    return errno_status("cannot open", m_dir + "/" + k_archive_lock_name, errno);
  }
  Status s = lock->lock(opened.get(), util::FileLock::Mode::exclusive, timeout_ms);
  if (s.IsBusy()) {
    return Status::Busy(
        "another barrot-archive run or month restore, or a verify, repair or import of the "
        "whole store, is working on this store");
  }
  BARROT_TRY(s);
  *fd = std::move(opened);
  return Status::OK();
}

Status Mirror::hold_off_archiving(util::UniqueFd* fd, util::FileLock* lock, int timeout_ms) const {
  const int flags = m_access == Access::read_write ? O_RDWR | O_CREAT : O_RDONLY;
  util::UniqueFd opened(
      ::openat(m_dir_fd.get(), k_archive_lock_name, flags | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!opened.valid()) {
    return Status::OK();
  }
  Status s = lock->lock(opened.get(), util::FileLock::Mode::shared, timeout_ms);
  if (s.IsBusy()) {
    return Status::Busy(
        "a barrot-archive run or month restore is working on this store; try again when it is "
        "done");
  }
  BARROT_TRY(s);
  *fd = std::move(opened);
  return Status::OK();
}

bool Mirror::file_exists(const std::string& id) const {
  return util::exists_at(m_dir_fd.get(), file_name(id));
}

Status Mirror::write_snapshot_file(const std::string& id, std::string_view text) {
  // Each file is not fsynced on its own even with Sync::full: the database
  // commit is, and a file lost to a power cut is rewritten from it by the
  // next reconciliation (which fsyncs before it moves its checkpoint).
  return util::write_file_atomic(
      m_dir_fd.get(), file_name(id), text, util::Overwrite::no, util::FsyncMode::none);
}

Status Mirror::replace_file(const std::string& name, std::string_view text) {
  return util::write_file_atomic(m_dir_fd.get(),
                                 name,
                                 text,
                                 util::Overwrite::yes,
                                 m_sync == Sync::full ? util::FsyncMode::fsync
                                                      : util::FsyncMode::none);
}

Status Mirror::open_replacement(const std::string& name, util::AtomicWriter* w) const {
  return w->open(
      m_dir_fd.get(), name, m_sync == Sync::full ? util::FsyncMode::fsync : util::FsyncMode::none);
}

Status Mirror::ensure_log_open() {
  struct stat st {};
  if (m_log_fd.valid() && ::fstatat(m_dir_fd.get(), k_log_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
      static_cast<std::int64_t>(st.st_ino) == m_log_inode) {
    return Status::OK();
  }
  int fd = ::openat(m_dir_fd.get(),
                    k_log_name,
                    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
                    0644);
  if (fd < 0) {
    return errno_status("cannot open", m_dir + "/" + k_log_name, errno);
  }
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::InvalidArgument(m_dir + "/" + k_log_name + " is not a regular file");
  }
  m_log_fd.reset(fd);
  m_log_inode = static_cast<std::int64_t>(st.st_ino);
  return Status::OK();
}

Status Mirror::append_log(std::string_view lines) {
  BARROT_TRY(ensure_log_open());
  return util::append_once(m_log_fd.get(), lines, k_log_name);
}

Status Mirror::log_identity(LogIdentity* out) const {
  struct stat st {};
  if (::fstatat(m_dir_fd.get(), k_log_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) {
      *out = LogIdentity{};
      return Status::OK();
    }
    return errno_status("cannot stat", k_log_name, errno);
  }
  out->size = static_cast<std::int64_t>(st.st_size);
  out->inode = static_cast<std::int64_t>(st.st_ino);
  return Status::OK();
}

Status Mirror::read_log_chunks(std::int64_t offset,
                               std::int64_t limit,
                               const std::function<bool(std::string_view)>& fn) const {
  util::UniqueFd fd(
      ::openat(m_dir_fd.get(), k_log_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd.valid()) {
    return errno == ENOENT ? Status::OK() : errno_status("cannot open", k_log_name, errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Status::InvalidArgument(m_dir + "/" + k_log_name + " is not a regular file");
  }
  // Pieces of up to 64 KiB, but no larger than what is there to read (plus
  // a little, for what is appended meanwhile): a CLI write reads a tail of
  // one line, and every page of a fresh buffer costs a page fault.
  constexpr std::int64_t k_piece = 1 << 16;
  const std::int64_t end = limit >= 0 ? std::min<std::int64_t>(limit, st.st_size) : st.st_size;
  const auto size =
      static_cast<std::size_t>(std::clamp<std::int64_t>(end - offset + 4096, 4096, k_piece));
  const std::unique_ptr<char[]> buf = std::make_unique_for_overwrite<char[]>(size);
  for (off_t pos = offset; limit < 0 || pos < limit;) {
    std::size_t want = size;
    if (limit >= 0) {
      want = std::min<std::size_t>(want, static_cast<std::size_t>(limit - pos));
    }
    ssize_t n = ::pread(fd.get(), buf.get(), want, pos);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return errno_status("cannot read", k_log_name, errno);
    }
    if (n == 0 || !fn(std::string_view(buf.get(), static_cast<std::size_t>(n)))) {
      break;
    }
    pos += n;
  }
  return Status::OK();
}

Status Mirror::read_log_from(std::int64_t offset, std::string* out) const {
  out->clear();
  return read_log_chunks(offset, -1, [&](std::string_view chunk) {
    out->append(chunk);
    return true;
  });
}

Result<bool> Mirror::log_equals(int fd) const {
  struct stat other {};
  if (::fstat(fd, &other) != 0) {
    return errno_status("cannot stat the file compared with", k_log_name, errno);
  }
  LogIdentity log;
  BARROT_TRY(log_identity(&log));
  if (log.size != static_cast<std::int64_t>(other.st_size)) {
    return false; // (a missing log has size 0)
  }
  bool same = true;
  off_t pos = 0;
  std::vector<char> theirs;
  Status failed;
  BARROT_TRY(read_log_chunks(0, log.size, [&](std::string_view piece) {
    theirs.resize(piece.size());
    ssize_t n;
    do {
      n = ::pread(fd, theirs.data(), piece.size(), pos);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      failed = errno_status("cannot read the file compared with", k_log_name, errno);
      return false;
    }
    same = static_cast<std::size_t>(n) == piece.size() &&
           std::memcmp(theirs.data(), piece.data(), piece.size()) == 0;
    pos += n;
    return same;
  }));
  BARROT_TRY(failed);
  return same && pos == log.size;
}

Status Mirror::for_each_log_line(
    std::int64_t limit, const std::function<bool(std::string_view, std::int64_t, bool)>& fn) const {
  util::LineSplitter lines;
  std::int64_t number = 0;
  const auto on_line = [&](std::string_view line) { return fn(line, ++number, true); };
  bool go_on = true;
  BARROT_TRY(read_log_chunks(0, limit, [&](std::string_view chunk) {
    go_on = lines.feed(chunk, on_line);
    return go_on;
  }));
  if (go_on && !lines.rest().empty()) {
    fn(lines.rest(), ++number, false);
  }
  return Status::OK();
}

Status Mirror::sync_everything() const {
  if (::syncfs(m_dir_fd.get()) != 0) {
    return errno_status("cannot sync the filesystem of", m_dir, errno);
  }
  return Status::OK();
}

Status Mirror::sync_files(const std::vector<std::string>& names) const {
  for (const std::string& name : names) {
    util::UniqueFd fd(
        ::openat(m_dir_fd.get(), name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    if (!fd.valid()) {
      if (errno == ENOENT) {
        continue;
      }
      return errno_status("cannot open for fsync", name, errno);
    }
    if (::fsync(fd.get()) != 0) {
      return errno_status("cannot fsync", name, errno);
    }
  }
  if (::fsync(m_dir_fd.get()) != 0) {
    return errno_status("cannot fsync", m_dir, errno);
  }
  return Status::OK();
}

Status Mirror::ensure_quarantine(const std::string& stamp, std::string* folder) {
  *folder = std::string(k_quarantine_dir) + "/" + stamp;
  // Step by step from the directory, never through a symbolic link: a link
  // planted as .barrot/quarantine would have repair move snapshots, and
  // write what it rejects, wherever it points.
  std::string path;
  for (const std::string& part : {std::string(k_state_dir), std::string("quarantine"), stamp}) {
    path += (path.empty() ? "" : "/") + part;
    const bool made = ::mkdirat(m_dir_fd.get(), path.c_str(), 0755) == 0;
    if (!made && errno != EEXIST) {
      return errno_status("cannot create", m_dir + "/" + path, errno);
    }
    struct stat st {};
    if (::fstatat(m_dir_fd.get(), path.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return errno_status("cannot read", m_dir + "/" + path, errno);
    }
    if (!S_ISDIR(st.st_mode)) {
      return Status::InvalidArgument(
          m_dir + "/" + path +
          (S_ISLNK(st.st_mode) ? " is a symbolic link" : " is not a directory") +
          ": nothing is moved there; make it a directory");
    }
    if (made && m_sync == Sync::full) { // what is kept there outlives a power cut
      BARROT_TRY(util::sync_dir_of(m_dir_fd.get(), path));
    }
  }
  return Status::OK();
}

Status Mirror::quarantine(const std::string& name, const std::string& stamp, std::string* folder) {
  BARROT_TRY(ensure_quarantine(stamp, folder));
  const std::string base = *folder + "/" + name;
  std::string target = base;
  for (int n = 1;; ++n) {
    if (util::rename_noreplace(m_dir_fd.get(), name, m_dir_fd.get(), target) == 0) {
      if (m_sync == Sync::full) { // the move, both ends, before anything replaces it
        BARROT_TRY(util::sync_dir_of(m_dir_fd.get(), target));
        BARROT_TRY(util::sync_dir_of(m_dir_fd.get(), name));
      }
      return Status::OK();
    }
    if (errno != EEXIST || n > 1000) {
      const int err = errno;
      drop_if_empty(*folder);
      return errno_status("cannot move to quarantine", name, err);
    }
    target = base + "." + std::to_string(n);
  }
}

Status Mirror::quarantine_log_copy(const std::string& stamp, std::string* folder) {
  BARROT_TRY(ensure_quarantine(stamp, folder));
  const std::string base = *folder + "/" + k_log_name;
  std::string target = base;
  for (int n = 1; util::exists_at(m_dir_fd.get(), target); ++n) {
    target = base + "." + std::to_string(n);
  }
  Status s = [&]() -> Status {
    util::AtomicWriter copy;
    BARROT_TRY(copy.open(m_dir_fd.get(), target, quarantine_fsync()));
    Status failed;
    BARROT_TRY(read_log_chunks(0, -1, [&](std::string_view piece) {
      failed = copy.append(piece);
      return failed.ok();
    }));
    BARROT_TRY(failed);
    return copy.commit(util::Overwrite::no);
  }();
  if (!s.ok()) {
    drop_if_empty(*folder);
  }
  return s;
}

void Mirror::drop_if_empty(const std::string& folder) {
  // Fails, harmlessly, when something was kept there.
  (void)::unlinkat(m_dir_fd.get(), folder.c_str(), AT_REMOVEDIR);
}

Status Mirror::quarantine_text(const std::string& name,
                               std::string_view text,
                               const std::string& stamp,
                               std::string* folder) {
  BARROT_TRY(ensure_quarantine(stamp, folder));
  const std::string base = *folder + "/" + name;
  std::string target = base;
  for (int n = 1; util::exists_at(m_dir_fd.get(), target); ++n) {
    target = base + "." + std::to_string(n);
  }
  Status s = util::write_file_atomic(
      m_dir_fd.get(), target, text, util::Overwrite::no, quarantine_fsync());
  if (!s.ok()) {
    drop_if_empty(*folder); // a full disk: no empty folder left per attempt
  }
  return s;
}

std::string log_line_id(std::string_view line) {
  constexpr std::string_view k_prefix = "{\"snapshot_id\":\"";
  if (line.substr(0, k_prefix.size()) == k_prefix && line.back() == '}') {
    std::size_t end = line.find('"', k_prefix.size());
    if (end != std::string_view::npos) {
      std::string_view id = line.substr(k_prefix.size(), end - k_prefix.size());
      if (validate_snapshot_id(id).ok()) {
        return std::string(id);
      }
    }
  }
  nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("snapshot_id") ||
      !j["snapshot_id"].is_string()) {
    return "";
  }
  return j["snapshot_id"].get<std::string>();
}

} // namespace barrot::mirror
