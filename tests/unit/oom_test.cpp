// Running out of memory where Barrot cannot hand the error to its caller:
// on the background mirror's thread, and inside SQLite's calls into
// Barrot's VFS. Each allocation there, one at a time, is made to fail
// (std::bad_alloc). The program must not end (an exception out of a thread,
// or through SQLite's C frames, ends it) and the store must stay
// consistent: what a call acknowledged is kept, and the next open leaves
// database and mirror in agreement. (Not every allocation of a write: an
// nlohmann::json value allocates while it is destroyed, and ends the
// program there, whoever uses it.) A binary of its own: it replaces the
// global operator new.
#include "support/test_util.h"

#include <atomic>
#include <cstdlib>
#include <new>
#include <thread>

namespace {

// Which allocations may be made to fail.
enum class Target {
  off_main_thread, // made by a thread other than the one that armed it
  large,           // of 4 KiB or more: the VFS's buffer of WAL frames, not json's
};
constexpr std::size_t k_large = 4096;

// < 0: no failure armed; n >= 0: the targeted allocation n + 1 from now fails.
std::atomic<long> g_countdown{-1};
std::atomic<long> g_failures{0};
Target g_target = Target::large; // set before g_countdown is armed
std::thread::id g_arming_thread; // likewise

bool targeted(std::size_t n) {
  return g_target == Target::large ? n >= k_large : std::this_thread::get_id() != g_arming_thread;
}

void* allocate(std::size_t n, std::size_t alignment = 0) {
  if (g_countdown.load(std::memory_order_acquire) >= 0 && targeted(n) &&
      g_countdown.fetch_sub(1, std::memory_order_relaxed) == 0) {
    g_failures.fetch_add(1, std::memory_order_relaxed);
    throw std::bad_alloc();
  }
  n = n == 0 ? 1 : n;
  void* p = alignment == 0
                ? std::malloc(n)
                : std::aligned_alloc(alignment, (n + alignment - 1) / alignment * alignment);
  if (p == nullptr) {
    throw std::bad_alloc();
  }
  return p;
}

void* allocate_or_null(std::size_t n, std::size_t alignment = 0) noexcept {
  try {
    return allocate(n, alignment);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}

} // namespace

// Every replaceable form, so that none comes from elsewhere (the
// sanitizers' own) to be freed here.
void* operator new(std::size_t n) {
  return allocate(n);
}
void* operator new[](std::size_t n) {
  return allocate(n);
}
void* operator new(std::size_t n, std::align_val_t a) {
  return allocate(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return allocate(n, static_cast<std::size_t>(a));
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return allocate_or_null(n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return allocate_or_null(n);
}
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return allocate_or_null(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return allocate_or_null(n, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  std::free(p);
}

namespace barrot::test {
namespace {

// Arms the failure of the targeted allocation `n` + 1 from now, for the scope.
class FailAllocation {
public:
  FailAllocation(Target target, long n) : m_before(g_failures.load()) {
    g_target = target;
    g_arming_thread = std::this_thread::get_id();
    g_countdown.store(n, std::memory_order_release);
  }
  ~FailAllocation() { g_countdown.store(-1); }
  FailAllocation(const FailAllocation&) = delete;
  FailAllocation& operator=(const FailAllocation&) = delete;
  bool failed() const { return g_failures.load() != m_before; }

private:
  long m_before;
};

// Runs `step(n)` with allocation n + 1 failing, for n = 0, 1, ... until a
// run meets no failure (every allocation the step makes has failed once);
// `check()` after each, with nothing failing. Returns the number of runs.
template <typename Step, typename Check>
long sweep(Target target, Step step, Check check) {
  constexpr long k_max_runs = 20'000;
  long n = 0;
  for (; n < k_max_runs; ++n) {
    bool failed = false;
    {
      FailAllocation fail(target, n);
      try {
        step(n);
      } catch (const std::bad_alloc&) { // the caller's own thread: allowed
      }
      failed = fail.failed();
    }
    check(n);
    if (!failed) {
      break;
    }
  }
  REQUIRE(n < k_max_runs);
  return n + 1;
}

// A clean store (the open reconciles what a failed write left) holding
// `acknowledged` among its snapshots.
void check_consistent(const Options& o, const std::vector<std::string>& acknowledged) {
  auto store = open_store(o);
  auto report = store->verify();
  REQUIRE(report.ok());
  if (!report->clean()) {
    const Problem& first = report->problems[0];
    FAIL_CHECK(report->problems.size() << " disagreements, first: " << to_string(first.kind) << " "
                                       << first.id << " " << first.path);
  }
  for (const std::string& id : acknowledged) {
    CHECK(store->get(id).ok());
  }
}

long sweep_writes(Target target, bool background) {
  TempDir dir;
  Options o = options_in(dir);
  o.background_mirror = background;
  open_store(o)->record_action(action("seed")).value(); // the files exist
  std::vector<std::string> acknowledged;
  acknowledged.reserve(100'000); // no allocation to fail once a write is acknowledged
  const long runs = sweep(
      target,
      [&](long n) {
        auto opened = Store::Open(o);
        if (!opened.ok()) {
          return;
        }
        std::unique_ptr<Store> store = std::move(*opened);
        Json details = {{"n", n}, {"text", std::string(300, 'x')}};
        auto one = store->record_action(action("deploy", details));
        if (one.ok()) {
          acknowledged.push_back(std::move(one->id));
        }
        auto batch = store->record_actions({action("a", details), action("b", details)});
        if (batch.ok()) {
          for (Snapshot& s : *batch) {
            acknowledged.push_back(std::move(s.id));
          }
        }
        (void)store->flush();
      },
      [&](long) { check_consistent(o, acknowledged); });
  CHECK(acknowledged.size() > 0);
  return runs;
}

TEST_CASE("out of memory in the background mirror's thread does not end the program", "[oom]") {
  // Each run fails one more of the worker's allocations.
  CHECK(sweep_writes(Target::off_main_thread, /*background=*/true) > 10);
}

TEST_CASE("out of memory while buffering a commit's WAL frames is no error", "[oom]") {
  // The buffer grows past 4 KiB with a commit's first page.
  CHECK(sweep_writes(Target::large, /*background=*/false) > 1);
}

} // namespace
} // namespace barrot::test
