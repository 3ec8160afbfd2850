#include "store/background_mirror.h"

#include "store/render.h"
#include "util/time.h"

#include <chrono>
#include <exception>
#include <new>
#include <utility>

namespace barrot::store {

namespace {

// Snapshots queued at most before hold() waits: bounds the memory a fast
// writer can pile up ahead of a slow disk, and how long a drain can take
// (a few tens of milliseconds).
constexpr std::size_t k_max_queued_items = 256;

// The lock is let go between two holds once it has been held this long
// without a break, so an exclusive waiter (repair, an archive run, another
// process's reconciliation) is not starved by a writer that never pauses.
constexpr std::int64_t k_max_hold_us = 50'000;

// How long the worker, out of work, looks again before it sleeps until woken.
// A writer that keeps writing submits within it, and then need not wake the
// worker (a futex wake and a cross-CPU interrupt per commit cost the writer
// ~6% of a single-row write); files follow commits by at most this much more.
constexpr std::chrono::microseconds k_linger{500};

} // namespace

BackgroundMirror::BackgroundMirror(mirror::Mirror* mirror,
                                   int busy_timeout_ms,
                                   std::function<void(std::int64_t, std::int64_t)> on_mirrored)
    : m_mirror(mirror), m_busy_timeout_ms(busy_timeout_ms), m_on_mirrored(std::move(on_mirrored)),
      m_thread([this] { run(); }) {}

BackgroundMirror::~BackgroundMirror() {
  {
    std::lock_guard<std::mutex> lock(m_mu);
    m_stop = true;
  }
  m_work.notify_all();
  m_thread.join(); // the worker empties the queue before it stops
  std::lock_guard<std::mutex> lock(m_mu);
  m_lock.unlock();
}

Status BackgroundMirror::hold() {
  std::unique_lock<std::mutex> lock(m_mu);
  m_progress.wait(lock, [this] { return m_queued_items < k_max_queued_items; });
  if (m_holds > 0 && util::monotonic_us() - m_locked_since_us > k_max_hold_us) {
    // Let the lock go once everything queued is written; take it again
    // below, behind whoever closed the gate meanwhile.
    m_progress.wait(lock, [this] { return m_holds == 0; });
  }
  if (m_holds == 0 && !m_lock.held()) {
    BARROT_TRY(m_mirror->lock_store(&m_lock, util::FileLock::Mode::shared, m_busy_timeout_ms));
    m_locked_since_us = util::monotonic_us();
  }
  ++m_holds;
  return Status::OK();
}

void BackgroundMirror::release() {
  std::lock_guard<std::mutex> lock(m_mu);
  --m_holds;
  unlock_if_unheld();
}

bool BackgroundMirror::submit(std::vector<MirrorItem> items) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(m_mu);
    try {
      m_queue.push_back(std::move(items));
    } catch (const std::bad_alloc&) {
      --m_holds;
      unlock_if_unheld();
      return false;
    }
    m_queued_items += m_queue.back().size();
    wake = m_sleeping;
  }
  if (wake) {
    m_work.notify_one();
  }
  return true;
}

Status BackgroundMirror::drain() {
  std::unique_lock<std::mutex> lock(m_mu);
  m_work.notify_one(); // no need to linger
  m_progress.wait(lock, [this] { return m_queue.empty() && !m_busy; });
  return std::exchange(m_error, Status::OK());
}

void BackgroundMirror::unlock_if_unheld() {
  if (m_holds == 0) {
    m_lock.unlock();
  }
}

void BackgroundMirror::run() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(m_mu);
      auto ready = [this] { return m_stop || !m_queue.empty(); };
      if (!m_work.wait_for(lock, k_linger, ready)) {
        m_sleeping = true;
        m_work.wait(lock, ready);
        m_sleeping = false;
      }
      if (m_queue.empty()) {
        return; // stopping, and nothing left to write
      }
      m_jobs.swap(m_queue);
      m_queued_items = 0;
      m_busy = true;
    }
    m_progress.notify_all(); // room in the queue
    try {
      write(m_jobs);
    } catch (...) { // out of memory: nothing may end the program from here
      abandon(m_jobs.size());
    }
    m_jobs.clear();
  }
}

void BackgroundMirror::abandon(std::size_t jobs) noexcept {
  {
    std::lock_guard<std::mutex> lock(m_mu);
    if (m_error.ok()) {
      m_error = Status::IOError("out of memory"); // short: no allocation
    }
    m_holds -= static_cast<int>(jobs);
    m_busy = false;
    unlock_if_unheld();
  }
  m_progress.notify_all();
}

void BackgroundMirror::write(std::deque<std::vector<MirrorItem>>& jobs) {
  // Everything taken at once: its files, then its lines in one append, in
  // commit order.
  Status first_error;
  struct Written {
    std::int64_t seq;
    std::int64_t log_bytes; // its line's, newline included
    bool ok;                // file written and line rendered
  };
  std::vector<Written> written;
  std::string lines;
  for (const auto& job : jobs) {
    for (const MirrorItem& item : job) {
      // A message for what went wrong with this one. (The text is the
      // writer's own compact(), so no error is expected; run() catches
      // what escapes: running out of memory.)
      Status s;
      std::int64_t log_bytes = 0;
      try {
        Result<std::string> line = mirror_line(item.compact, item.chain);
        s = line.status();
        if (line.ok()) {
          s = m_mirror->write_snapshot_file(item.id, pretty_compact(*line));
          lines += *line;
          lines += '\n';
          log_bytes = static_cast<std::int64_t>(line->size()) + 1;
        }
      } catch (const std::exception& e) {
        s = Status::IOError(std::string("cannot mirror ") + item.id + ": " + e.what());
      }
      if (!s.ok() && first_error.ok()) {
        first_error = s;
      }
      written.push_back(Written{item.chain.seq, log_bytes, s.ok()});
    }
  }
  Status logged = lines.empty() ? Status::OK() : m_mirror->append_log(lines);
  if (!logged.ok() && first_error.ok()) {
    first_error = logged;
  }
  if (logged.ok()) {
    for (const Written& w : written) {
      if (w.ok) {
        m_on_mirrored(w.seq, w.log_bytes);
      }
    }
  }
  {
    std::lock_guard<std::mutex> lock(m_mu);
    if (!first_error.ok() && m_error.ok()) {
      m_error = first_error;
    }
    m_holds -= static_cast<int>(jobs.size());
    m_busy = false;
    unlock_if_unheld();
  }
  m_progress.notify_all();
}

} // namespace barrot::store
