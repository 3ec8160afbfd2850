// Options for Store::Open.
#pragma once

#include <string>

namespace barrot {

// How much a write waits for the disk before it returns.
enum class Sync {
  // Survives a crash of the process (kill -9): the database commit is in the
  // OS page cache. After a power loss the newest commits may be lost; the
  // database stays consistent. The default.
  normal,
  // Also survives a power loss: each commit is fsynced before the write
  // returns. Mirror files are rebuilt from the database on the next open.
  full,
};

// What a read-write open does with a snapshots directory that is not the
// store's mirror (Options::adopt_mirror).
enum class Adopt {
  // Refuses it. The default.
  no,
  // Takes it over while the store holds no snapshot: a database made anew
  // for a directory whose own was lost (`barrot import` of the directory
  // itself); refuses it otherwise.
  if_empty,
  // Takes it over (`barrot mirror --rebuild`).
  yes,
};

enum class Access {
  read_write,
  // No schema upgrade, no reconciliation, no write; fails on a missing store.
  read_only,
};

struct Options {
  // Directory for the mirror files. Created (with parents) on a read-write
  // open. Default: "snapshots".
  std::string snapshots_dir = "snapshots";

  // The SQLite database. Default (empty): <snapshots_dir>/.barrot/barrot.db.
  std::string db_path;

  // Default: Sync::normal.
  Sync sync = Sync::normal;

  // Default: Access::read_write.
  Access access = Access::read_write;

  // How long a write waits for another process's write lock before failing
  // with Busy. 30 s: long enough that eight busy writers never see it, short
  // enough that a stuck lock is reported. Default: 30000.
  int busy_timeout_ms = 30000;

  // A read-write open where there is no database: create one (a writer), or
  // fail with NotFound as a read-only open does (maintenance: repair,
  // mirror --rebuild, the archive job, which have nothing to do on a new
  // store and would only hide a mistyped path). Default: true.
  bool create = true;

  // On a read-write open, bring the mirror files up to date with snapshots
  // committed since the last reconciliation (a crash between commit and
  // mirror). Cheap: it looks only past the last checkpoint. Default: true.
  bool reconcile_on_open = true;

  // Write action snapshots' mirror files and log lines on a background
  // thread: record_action and record_actions return once the snapshots are
  // committed (as durable as ever: the database is the source of truth), and
  // the next write's transaction overlaps the file system work of the last.
  // Their files and lines follow within milliseconds, in commit order;
  // Store::flush() waits for them, and closing the Store flushes. For
  // long-lived writers that record many snapshots; a process that writes one
  // snapshot and exits gains nothing. Periodic snapshots are mirrored in the
  // call, as without it. Default: false.
  bool background_mirror = false;

  // A snapshots directory is the mirror of one store, and a store mirrors to
  // one directory: both hold the store's ids (docs/formats.md, "The .barrot
  // folder"). A read-write open with a directory that mirrors another store,
  // or with another directory than the one this store mirrors to, or with a
  // directory that mirrors a store when there is no database yet, fails with
  // InvalidArgument and creates nothing. With adopt_mirror, the directory
  // becomes this store's mirror instead (see Adopt), and the next
  // reconciliation checks every snapshot against it. Default: Adopt::no.
  Adopt adopt_mirror = Adopt::no;
};

} // namespace barrot
