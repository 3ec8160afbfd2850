#include "store/wal_vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

namespace barrot::store {

namespace {

constexpr const char* k_vfs_name = "barrot-wal";
constexpr int k_frame_header = 24;            // WAL_FRAME_HDRSIZE
constexpr std::size_t k_max_buffer = 1 << 20; // a bulk transaction writes as it goes
// The unix VFS writes at most 128 KiB - 1 per call (it masks the length
// with 0x1ffff and reports anything short as a full disk): the buffer goes
// out in pieces no larger than this.
constexpr std::size_t k_max_write = 1 << 16;

sqlite3_vfs* g_base = nullptr; // the default VFS, which does the work
sqlite3_vfs g_vfs;
sqlite3_io_methods g_methods;

// Our sqlite3_file. SQLite allocates szOsFile bytes for it: this struct,
// then the base VFS's file at `real`.
struct File {
  sqlite3_file base; // first: SQLite sees a File* as a sqlite3_file*
  sqlite3_file* real = nullptr;
  bool is_wal = false;
  File* wal = nullptr; // a database file's open WAL (the same connection)
  File* db = nullptr;  // a WAL's database file
  // A WAL's frames not yet written: `pending` bytes at `offset`.
  std::vector<char> pending;
  sqlite3_int64 offset = 0;
  // The end of what this write transaction has appended: a write below it
  // rewrites a frame in place (SQLite's checksum rewrite after a page was
  // written twice) and goes straight to the file.
  sqlite3_int64 end = 0;
  bool commit_frame = false; // the header just buffered ends a transaction
  int deferred_error = SQLITE_OK;
};

File* as_file(sqlite3_file* f) {
  return reinterpret_cast<File*>(f);
}

int flush(File* f) {
  if (f == nullptr || f->pending.empty()) {
    return SQLITE_OK;
  }
  int rc = SQLITE_OK;
  for (std::size_t done = 0; done < f->pending.size() && rc == SQLITE_OK;) {
    const std::size_t n = std::min(k_max_write, f->pending.size() - done);
    rc = f->real->pMethods->xWrite(f->real,
                                   f->pending.data() + done,
                                   static_cast<int>(n),
                                   f->offset + static_cast<sqlite3_int64>(done));
    done += n;
  }
  f->pending.clear();
  return rc;
}

// Flushes a WAL before an operation that must see it whole; an error a
// flush met where none could be returned surfaces here.
int settle(File* f) {
  if (f == nullptr) {
    return SQLITE_OK;
  }
  int rc = flush(f);
  if (rc == SQLITE_OK && f->deferred_error != SQLITE_OK) {
    rc = f->deferred_error;
    f->deferred_error = SQLITE_OK;
  }
  return rc;
}

// settle() for a WAL; nothing to do for any other file.
int settle_wal(File* f) {
  return settle(f->is_wal ? f : nullptr);
}

std::uint32_t big_endian32(const void* p) {
  const auto* b = static_cast<const unsigned char*>(p);
  return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
         std::uint32_t{b[3]};
}

int x_close(sqlite3_file* sf) {
  File* f = as_file(sf);
  int rc = f->is_wal ? settle(f) : SQLITE_OK;
  if (f->is_wal && f->db != nullptr) {
    f->db->wal = nullptr;
  }
  if (!f->is_wal && f->wal != nullptr) {
    f->wal->db = nullptr;
  }
  const int closed = f->real->pMethods->xClose(f->real);
  f->~File();
  return rc != SQLITE_OK ? rc : closed;
}

int x_read(sqlite3_file* sf, void* buf, int n, sqlite3_int64 off) {
  File* f = as_file(sf);
  if (const int rc = settle_wal(f); rc != SQLITE_OK) {
    return rc;
  }
  return f->real->pMethods->xRead(f->real, buf, n, off);
}

int x_write(sqlite3_file* sf, const void* buf, int n, sqlite3_int64 off) {
  File* f = as_file(sf);
  if (!f->is_wal) {
    return f->real->pMethods->xWrite(f->real, buf, n, off);
  }
  if (f->deferred_error != SQLITE_OK) {
    return settle(f);
  }
  if (off == 0) {
    f->end = 0; // the WAL header: the log starts again
  }
  if (off < f->end) {
    // A rewrite in place (it may be the commit frame's header, after which
    // SQLite publishes the commit): written now, its error returned.
    if (const int rc = flush(f); rc != SQLITE_OK) {
      return rc;
    }
    return f->real->pMethods->xWrite(f->real, buf, n, off);
  }
  f->end = off + n;
  if (!f->pending.empty() && off != f->offset + static_cast<sqlite3_int64>(f->pending.size())) {
    if (const int rc = flush(f); rc != SQLITE_OK) {
      return rc;
    }
  }
  if (f->pending.empty()) {
    f->offset = off;
  }
  const auto* bytes = static_cast<const char*>(buf);
  try {
    f->pending.insert(f->pending.end(), bytes, bytes + n);
  } catch (const std::bad_alloc&) {
    // No memory to buffer it (nothing may unwind through SQLite): what is
    // buffered, then this, go to the file now, in order, as the base VFS
    // would have written them.
    if (const int rc = flush(f); rc != SQLITE_OK) {
      return rc;
    }
    f->commit_frame = n == k_frame_header && big_endian32(bytes + 4) != 0;
    return f->real->pMethods->xWrite(f->real, buf, n, off);
  }
  if (n == k_frame_header) {
    // A frame header; bytes 4-7 hold the database size in pages in the
    // commit frame of a transaction, 0 in every other.
    f->commit_frame = big_endian32(bytes + 4) != 0;
    return SQLITE_OK;
  }
  // The page of a frame, or the WAL header: the frames so far go to the
  // file now if this completes a commit frame (before SQLite publishes the
  // commit, with the error returned to it), or if the buffer is large.
  if (f->commit_frame || f->pending.size() >= k_max_buffer) {
    f->commit_frame = false;
    return flush(f);
  }
  return SQLITE_OK;
}

int x_truncate(sqlite3_file* sf, sqlite3_int64 size) {
  File* f = as_file(sf);
  if (const int rc = settle_wal(f); rc != SQLITE_OK) {
    return rc;
  }
  f->end = std::min(f->end, size);
  return f->real->pMethods->xTruncate(f->real, size);
}

int x_sync(sqlite3_file* sf, int flags) {
  File* f = as_file(sf);
  if (const int rc = settle_wal(f); rc != SQLITE_OK) {
    return rc;
  }
  return f->real->pMethods->xSync(f->real, flags);
}

int x_file_size(sqlite3_file* sf, sqlite3_int64* size) {
  File* f = as_file(sf);
  if (const int rc = settle_wal(f); rc != SQLITE_OK) {
    return rc;
  }
  return f->real->pMethods->xFileSize(f->real, size);
}

// Any lock change of the database file first writes what its WAL holds: a
// writer that rolled back must not leave frames to be written later over
// frames another writer appended meanwhile.
int x_lock(sqlite3_file* sf, int level) {
  File* f = as_file(sf);
  if (const int rc = settle(f->wal); rc != SQLITE_OK) {
    return rc;
  }
  return f->real->pMethods->xLock(f->real, level);
}

// A lock is always let go, even when the write before it fails: SQLite
// ignores what an unlock returns and would take the lock for released. What
// such a write loses is frames of a transaction that did not commit (a
// commit's frames went out with its commit frame).
int x_unlock(sqlite3_file* sf, int level) {
  File* f = as_file(sf);
  const int flushed = settle(f->wal);
  const int rc = f->real->pMethods->xUnlock(f->real, level);
  return rc != SQLITE_OK ? rc : flushed;
}

int x_check_reserved_lock(sqlite3_file* sf, int* out) {
  File* f = as_file(sf);
  return f->real->pMethods->xCheckReservedLock(f->real, out);
}

int x_file_control(sqlite3_file* sf, int op, void* arg) {
  File* f = as_file(sf);
  if (const int rc = settle_wal(f); rc != SQLITE_OK) {
    return rc;
  }
  return f->real->pMethods->xFileControl(f->real, op, arg);
}

int x_sector_size(sqlite3_file* sf) {
  File* f = as_file(sf);
  return f->real->pMethods->xSectorSize(f->real);
}

int x_device_characteristics(sqlite3_file* sf) {
  File* f = as_file(sf);
  return f->real->pMethods->xDeviceCharacteristics(f->real);
}

int x_shm_map(sqlite3_file* sf, int region, int size, int extend, void volatile** out) {
  File* f = as_file(sf);
  return f->real->pMethods->xShmMap(f->real, region, size, extend, out);
}

int x_shm_lock(sqlite3_file* sf, int offset, int n, int flags) {
  File* f = as_file(sf);
  const int flushed = settle(f->wal);
  if ((flags & SQLITE_SHM_UNLOCK) != 0) {
    const int rc = f->real->pMethods->xShmLock(f->real, offset, n, flags);
    return rc != SQLITE_OK ? rc : flushed;
  }
  if (flushed != SQLITE_OK) {
    return flushed;
  }
  const int rc = f->real->pMethods->xShmLock(f->real, offset, n, flags);
  if (rc == SQLITE_OK && f->wal != nullptr && offset == 0 && n == 1 &&
      (flags & SQLITE_SHM_EXCLUSIVE) != 0) {
    f->wal->end = 0; // the WAL write lock: a write transaction begins
  }
  return rc;
}

// SQLite calls the barrier between the two copies of the WAL index header
// it writes at a commit. The commit frame has flushed the buffer by then;
// this is the last line, for a write pattern the frame test above did not
// recognise. Its error cannot be returned here: the next call returns it.
void x_shm_barrier(sqlite3_file* sf) {
  File* f = as_file(sf);
  if (f->wal != nullptr && f->wal->deferred_error == SQLITE_OK) {
    f->wal->deferred_error = flush(f->wal);
  }
  f->real->pMethods->xShmBarrier(f->real);
}

int x_shm_unmap(sqlite3_file* sf, int delete_flag) {
  File* f = as_file(sf);
  return f->real->pMethods->xShmUnmap(f->real, delete_flag);
}

int x_fetch(sqlite3_file* sf, sqlite3_int64 off, int n, void** out) {
  File* f = as_file(sf);
  return f->real->pMethods->xFetch(f->real, off, n, out);
}

int x_unfetch(sqlite3_file* sf, sqlite3_int64 off, void* p) {
  File* f = as_file(sf);
  return f->real->pMethods->xUnfetch(f->real, off, p);
}

std::size_t real_offset() {
  constexpr std::size_t a = alignof(std::max_align_t);
  return (sizeof(File) + a - 1) / a * a;
}

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* sf, int flags, int* out_flags) {
  auto* f = new (sf) File();
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(sf) + real_offset());
  std::memset(f->real, 0, static_cast<std::size_t>(g_base->szOsFile));
  const int rc = g_base->xOpen(g_base, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    if (f->real->pMethods != nullptr) {
      f->real->pMethods->xClose(f->real);
    }
    f->~File();
    sf->pMethods = nullptr;
    return rc;
  }
  if ((flags & SQLITE_OPEN_WAL) != 0 && name != nullptr) {
    f->is_wal = true;
    // The database file of the same connection: its lock changes flush
    // this WAL.
    File* db = as_file(sqlite3_database_file_object(name));
    if (db != nullptr && db->base.pMethods == &g_methods) {
      f->db = db;
      db->wal = f;
    }
  }
  sf->pMethods = &g_methods;
  return SQLITE_OK;
}

// The rest of the VFS is the base one's.
int x_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return g_base->xDelete(g_base, name, sync_dir);
}
int x_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_base->xAccess(g_base, name, flags, out);
}
int x_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_base->xFullPathname(g_base, name, n, out);
}
void* x_dl_open(sqlite3_vfs*, const char* name) {
  return g_base->xDlOpen(g_base, name);
}
void x_dl_error(sqlite3_vfs*, int n, char* out) {
  g_base->xDlError(g_base, n, out);
}
void (*x_dl_sym(sqlite3_vfs*, void* handle, const char* sym))(void) {
  return g_base->xDlSym(g_base, handle, sym);
}
void x_dl_close(sqlite3_vfs*, void* handle) {
  g_base->xDlClose(g_base, handle);
}
int x_randomness(sqlite3_vfs*, int n, char* out) {
  return g_base->xRandomness(g_base, n, out);
}
int x_sleep(sqlite3_vfs*, int us) {
  return g_base->xSleep(g_base, us);
}
int x_current_time(sqlite3_vfs*, double* out) {
  return g_base->xCurrentTime(g_base, out);
}
int x_get_last_error(sqlite3_vfs*, int n, char* out) {
  return g_base->xGetLastError(g_base, n, out);
}
int x_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_base->xCurrentTimeInt64(g_base, out);
}

void register_vfs() {
  // Before SQLite initializes (sqlite3_vfs_find does): no global memory
  // statistics, which Barrot never reads and which cost every allocation a
  // mutex and two counters (a sixth of the instructions a `barrot track`
  // spends in SQLite's allocator). Refused, harmlessly, when the program
  // initialized SQLite itself before.
  (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  g_base = sqlite3_vfs_find(nullptr);
  if (g_base == nullptr || g_base->iVersion < 2 || g_base->xCurrentTimeInt64 == nullptr) {
    return;
  }
  g_methods = sqlite3_io_methods{};
  g_methods.iVersion = 3;
  g_methods.xClose = x_close;
  g_methods.xRead = x_read;
  g_methods.xWrite = x_write;
  g_methods.xTruncate = x_truncate;
  g_methods.xSync = x_sync;
  g_methods.xFileSize = x_file_size;
  g_methods.xLock = x_lock;
  g_methods.xUnlock = x_unlock;
  g_methods.xCheckReservedLock = x_check_reserved_lock;
  g_methods.xFileControl = x_file_control;
  g_methods.xSectorSize = x_sector_size;
  g_methods.xDeviceCharacteristics = x_device_characteristics;
  g_methods.xShmMap = x_shm_map;
  g_methods.xShmLock = x_shm_lock;
  g_methods.xShmBarrier = x_shm_barrier;
  g_methods.xShmUnmap = x_shm_unmap;
  g_methods.xFetch = x_fetch;
  g_methods.xUnfetch = x_unfetch;

  g_vfs = sqlite3_vfs{};
  g_vfs.iVersion = 2;
  g_vfs.szOsFile = static_cast<int>(real_offset()) + g_base->szOsFile;
  g_vfs.mxPathname = g_base->mxPathname;
  g_vfs.zName = k_vfs_name;
  g_vfs.xOpen = x_open;
  g_vfs.xDelete = x_delete;
  g_vfs.xAccess = x_access;
  g_vfs.xFullPathname = x_full_pathname;
  g_vfs.xDlOpen = x_dl_open;
  g_vfs.xDlError = x_dl_error;
  g_vfs.xDlSym = x_dl_sym;
  g_vfs.xDlClose = x_dl_close;
  g_vfs.xRandomness = x_randomness;
  g_vfs.xSleep = x_sleep;
  g_vfs.xCurrentTime = x_current_time;
  g_vfs.xGetLastError = x_get_last_error;
  g_vfs.xCurrentTimeInt64 = x_current_time_int64;
  if (sqlite3_vfs_register(&g_vfs, 0) != SQLITE_OK) {
    g_base = nullptr;
  }
}

} // namespace

const char* coalescing_vfs_name() {
  static std::once_flag once;
  std::call_once(once, register_vfs);
  return g_base != nullptr ? k_vfs_name : nullptr;
}

} // namespace barrot::store
