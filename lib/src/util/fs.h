// POSIX file helpers: RAII descriptors, atomic file writes, appends, locks.
// Knows nothing about snapshots.
//
// Thread-safety: functions are thread-safe; objects are used by one thread.
#pragma once

#include <barrot/status.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace barrot::util {

// An owned file descriptor; closed on destruction.
class UniqueFd {
public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : m_fd(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : m_fd(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return m_fd; }
  bool valid() const { return m_fd >= 0; }
  int release();
  void reset(int fd = -1);

private:
  int m_fd = -1;
};

enum class FsyncMode { none, fsync };
enum class Overwrite { no, yes };

// "<what> <path>: <strerror(errno)>" as an IOError (InvalidArgument for
// EACCES/EROFS/ENOTDIR, which mean the place given cannot be used).
Status errno_status(std::string_view what, std::string_view path, int err);

// renameat2(RENAME_NOREPLACE), or where the file system lacks it, link then
// unlink: fails (-1, errno EEXIST) rather than replace `to`. 0 on success.
int rename_noreplace(int from_dir, const std::string& from, int to_dir, const std::string& to);

// Creates `path` and its parents (mode 0755) if missing.
Status make_dirs(const std::string& path);

// The directory part of `path`: "a/b" for "a/b/c", "/" for "/c", "." for "c".
std::string parent_dir(const std::string& path);

// Opens a directory for use with the *at() calls.
Status open_dir(const std::string& path, UniqueFd* out);

// Writes `data` to `name` in `dir_fd` so that the name never holds a partial
// file. With Overwrite::no the file is built unnamed (O_TMPFILE) and linked
// in, failing with EEXIST semantics (InvalidArgument "exists") if `name` is
// taken, and a crash leaves nothing behind; where O_TMPFILE is unsupported,
// or with Overwrite::yes, it is written to ".<name>.tmp" and renamed. With
// FsyncMode::fsync the file and the directory holding it are fsynced before
// returning.
Status write_file_atomic(int dir_fd,
                         const std::string& name,
                         std::string_view data,
                         Overwrite overwrite,
                         FsyncMode fsync_mode);

// fsyncs the directory that holds `name` (a path relative to `dir_fd`, which
// may name a file in a folder below it), so that its entry is durable.
Status sync_dir_of(int dir_fd, const std::string& name);

// The temporary name write_file_atomic uses for `name`.
std::string temp_name_for(const std::string& name);

// Builds a file piece by piece under temp_name_for(name), then renames it
// over `name`: a reader sees the old file or the whole new one, and memory
// holds one buffer, not the file (a rewritten log of a million lines). Not
// committed, the temporary is removed when the writer goes (or opens
// another); a crash leaves it for the next repair. After a failed write
// every call fails: a file with a gap is never committed.
class AtomicWriter {
public:
  AtomicWriter() = default;
  ~AtomicWriter();
  AtomicWriter(const AtomicWriter&) = delete;
  AtomicWriter& operator=(const AtomicWriter&) = delete;

  Status open(int dir_fd, const std::string& name, FsyncMode fsync_mode);
  Status append(std::string_view data);
  // Everything appended so far, written out; then the file can be read
  // back through fd() (opened for reading and writing).
  Status flush();
  int fd() const { return m_fd.get(); }
  // Flushes, syncs (FsyncMode::fsync) and renames over `name` (with
  // Overwrite::no, fails "exists" if `name` is there, leaving it be).
  Status commit(Overwrite overwrite);

private:
  void abandon();
  Status usable() const;
  Status write_out(std::string_view data);

  int m_dir_fd = -1;
  std::string m_name;
  std::string m_tmp;
  UniqueFd m_fd;
  std::string m_buffer;
  FsyncMode m_fsync = FsyncMode::none;
  bool m_failed = false;
};

// Writes all of `data`, looping on short writes.
Status write_all(int fd, std::string_view data, std::string_view path_for_errors);

// Appends `data` with exactly one write() to a descriptor opened O_APPEND, so
// that concurrent appenders never interleave. A short write (full disk, or a
// fatal signal between pages) is an IOError: the tail it leaves is torn and
// is found by the next reconciliation; retrying could interleave with
// another process's append.
Status append_once(int fd, std::string_view data, std::string_view path_for_errors);

// The largest file read_file reads by default: far above any snapshot
// (details are capped at 1 MiB), small enough that a planted huge file
// cannot exhaust memory.
inline constexpr std::size_t k_max_read_bytes = 64u << 20;

// Reads a whole regular file relative to `dir_fd` (AT_FDCWD for a plain
// path). NotFound when it does not exist; InvalidArgument for anything that
// is not a regular file (FIFOs and devices are never opened for blocking
// reads) or is larger than `max_bytes`. Does not follow a symlink at the
// last component when `nofollow`.
Status read_file(int dir_fd,
                 const std::string& name,
                 std::string* out,
                 bool nofollow = true,
                 std::size_t max_bytes = k_max_read_bytes);

// Opens a regular file relative to `dir_fd` for reading, and gives its size:
// read_file's checks (NotFound; InvalidArgument for anything not a regular
// file; no symlink followed at the last component when `nofollow`).
Status open_regular_file(
    int dir_fd, const std::string& name, bool nofollow, UniqueFd* out, std::int64_t* size);

// One read() of at most `len` bytes, retried on EINTR; `*got` is 0 at the end.
Status read_some(int fd, char* buf, std::size_t len, std::size_t* got, std::string_view path);

// The names in the directory `dir_fd` (AT_FDCWD: `path`), without "." and
// "..", in no particular order. NotFound when the directory does not exist.
Status list_dir(int dir_fd, const std::string& path, std::vector<std::string>* names);

// True when `name` exists in `dir_fd` (any type, not following links).
bool exists_at(int dir_fd, const std::string& name);

// An advisory lock on a file (flock), released on destruction or unlock().
class FileLock {
public:
  enum class Mode { shared, exclusive };
  FileLock() = default;
  ~FileLock() { unlock(); }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  // Waits until the lock is held, at most `timeout_ms` (Busy after that).
  Status lock(int fd, Mode mode, int timeout_ms);
  // lock(), through the turnstile `gate_fd` (-1: none): the gate is held in
  // the same mode only while `fd` is being taken. A process waiting for an
  // exclusive lock thus closes the gate to newcomers and gets its turn,
  // instead of starving behind a stream of shared holders (flock is not
  // fair). Each of the two waits is bounded by `timeout_ms`.
  Status lock_through(int gate_fd, int fd, Mode mode, int timeout_ms);
  // Returns true when the lock was taken without waiting.
  bool try_lock(int fd, Mode mode);
  // Turns a held exclusive lock into a shared one, without waiting. flock
  // converts by releasing and re-taking: another process may take the lock
  // in between, and then this returns false with nothing held.
  bool downgrade();
  void unlock();
  bool held() const { return m_fd >= 0; }

private:
  int m_fd = -1; // not owned
};

} // namespace barrot::util
