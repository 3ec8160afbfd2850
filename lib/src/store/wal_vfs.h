// A VFS that is SQLite's default one except for how a transaction's frames
// reach the write-ahead log: SQLite writes each frame as two pwrite calls
// (its 24-byte header, then the page), six or seven frames for one
// snapshot, and on ext4 each call costs several microseconds of page-cache
// work. This VFS gathers the frames of a transaction and writes them in one
// call when the commit frame is complete, before SQLite publishes the
// commit in the WAL index. Nothing else changes: the same files, the same
// locks, the same on-disk format, and other processes using the plain
// default VFS (the sqlite3 shell) read and write the store as before.
//
// Why it is safe (docs/architecture.md has the long form):
// - Readers of other connections and processes find frames through the WAL
//   index header, which SQLite updates only after the commit frame is
//   written. The buffer is flushed inside that write, whose error is
//   returned to SQLite, so a commit never becomes visible without its
//   frames, and a failed flush fails the commit.
// - Frames of a transaction that does not commit (a rollback after a cache
//   spill) are written before the connection lets go of any lock, so they
//   can never land on top of frames another writer appends later.
// - Only appends are gathered: a frame rewritten in place goes to the file
//   at once.
// - Every call that reads, syncs, truncates or sizes the WAL writes the
//   buffer first.
// - A crash loses at most buffered frames of a transaction that had not
//   committed, exactly as if SQLite had been killed before writing them.
#pragma once

namespace barrot::store {

// The VFS's name for sqlite3_open_v2 (registered, not as the default, on
// the first call; thread-safe).
const char* coalescing_vfs_name();

} // namespace barrot::store
