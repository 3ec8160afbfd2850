// BackgroundMirror: writes committed action snapshots' files and log lines
// on a thread of its own (Options::background_mirror), so that a writer's
// next transaction overlaps the file system work of its last one.
//
// The locking protocol is the synchronous one, stretched over two threads:
// the store's mirror lock is held shared from before a commit (hold()) until
// the snapshots it committed are mirrored, by counting holds. The first hold
// takes the lock, the last one the worker gives back releases it. Anything
// that needs the lock exclusive first drains the queue (Mirror calls drain()
// through its before-exclusive hook), so reconciliation, repair and verify
// never see a commit whose mirroring is still queued.
//
// Thread-safety: hold(), release(), submit() and drain() are called by the
// Store's one calling thread; the worker thread only writes files and lines.
#pragma once

#include "mirror/mirror.h"
#include "store/chain.h"

#include <barrot/snapshot.h>
#include <barrot/status.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace barrot::store {

// One committed action snapshot to mirror.
struct MirrorItem {
  std::string id;
  std::string compact; // the document, without its chain record
  ChainLink chain;     // seq, prev and hash set
};

class BackgroundMirror {
public:
  // `on_mirrored(seq, log_bytes)` is called on the worker thread for each
  // snapshot whose file and line (log_bytes long, newline included) were both
  // written. `mirror` must outlive this object.
  BackgroundMirror(mirror::Mirror* mirror,
                   int busy_timeout_ms,
                   std::function<void(std::int64_t, std::int64_t)> on_mirrored);
  // Drains the queue and stops the worker.
  ~BackgroundMirror();
  BackgroundMirror(const BackgroundMirror&) = delete;
  BackgroundMirror& operator=(const BackgroundMirror&) = delete;

  // Before a commit: holds the store's mirror lock shared, taking it (through
  // the gate, waiting at most the busy timeout) when nothing holds it yet.
  // Waits first while the queue is full, and lets the lock go between two
  // holds when it has been held without a break for a while, so that a
  // process waiting to take it exclusive gets its turn.
  Status hold();

  // The commit failed: gives back the hold taken for it.
  void release();

  // After a commit: queues its snapshots, in commit order; the hold taken
  // for the commit passes to them. Out of memory, gives the hold back and
  // returns false: the snapshots are left to reconciliation.
  bool submit(std::vector<MirrorItem> items);

  // Waits until every snapshot submitted is mirrored (and the lock, when no
  // hold remains, released). Returns the first error met since the last
  // drain: the snapshots concerned are committed, and reconciliation
  // (the next open, or barrot repair) writes what is missing.
  Status drain();

private:
  void run();
  void write(std::deque<std::vector<MirrorItem>>& jobs);
  // write() ran out of memory part way: what it did not note as mirrored
  // is left to reconciliation, and drain() reports it.
  void abandon(std::size_t jobs) noexcept;
  void unlock_if_unheld(); // REQUIRES: m_mu held

  mirror::Mirror* m_mirror;
  int m_busy_timeout_ms;
  std::function<void(std::int64_t, std::int64_t)> m_on_mirrored;

  std::mutex m_mu;
  std::condition_variable m_work;     // the worker waits for jobs
  std::condition_variable m_progress; // callers wait for room or an empty queue
  std::deque<std::vector<MirrorItem>> m_queue;
  // The worker's: what it took off the queue (made here, as a deque
  // allocates when made, and the worker may not throw).
  std::deque<std::vector<MirrorItem>> m_jobs;
  std::size_t m_queued_items = 0;
  bool m_busy = false; // the worker is writing a job it took off the queue
  bool m_stop = false;
  bool m_sleeping = false; // the worker waits to be woken (submit() must notify)
  int m_holds = 0;         // commits in flight plus jobs not yet written
  util::FileLock m_lock;
  std::int64_t m_locked_since_us = 0;
  Status m_error;
  std::thread m_thread;
};

} // namespace barrot::store
