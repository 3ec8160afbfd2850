// Options::background_mirror: action snapshots' files and lines written on a
// thread of the Store's own, after their commit.
#include "support/test_util.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>

using namespace barrot;
using namespace barrot::test;

namespace {

struct Background {
  TempDir dir;
  Options options = options_in(dir);
  std::string snaps = dir / "snapshots";
  std::string log = dir / "snapshots/action_log.jsonl";

  Background() { options.background_mirror = true; }

  // Records `singles` actions one call each, then `batches` batches of 50;
  // returns what the calls returned, in commit order.
  std::vector<Snapshot> write(Store& store, int singles, int batches) {
    std::vector<Snapshot> out;
    for (int i = 0; i < singles; ++i) {
      auto s = store.record_action(action("bg", Json{{"i", i}}));
      REQUIRE_OK(s.status());
      REQUIRE_OK(s->mirror);
      out.push_back(std::move(*s));
    }
    for (int b = 0; b < batches; ++b) {
      std::vector<ActionInput> inputs;
      for (int i = 0; i < 50; ++i) {
        inputs.push_back(action("bg_batch", Json{{"b", b}, {"i", i}}));
      }
      auto s = store.record_actions(inputs);
      REQUIRE_OK(s.status());
      for (Snapshot& snap : *s) {
        out.push_back(std::move(snap));
      }
    }
    return out;
  }

  // Every snapshot has its file, exactly as mirrored, and the log holds their
  // lines in commit order and nothing else.
  void check_mirrored(const std::vector<Snapshot>& written) {
    std::vector<std::string> lines = read_lines(log);
    REQUIRE(lines.size() == written.size());
    for (std::size_t i = 0; i < written.size(); ++i) {
      const Json expected = mirrored(written[i]);
      CHECK(Json::parse(read_text(snaps + "/" + written[i].id + ".json")) == expected);
      CHECK(lines[i] == expected.dump());
    }
  }

  VerifyReport verify() {
    Options ro = options;
    ro.access = Access::read_only;
    ro.background_mirror = false;
    auto r = open_store(ro)->verify();
    REQUIRE_OK(r.status());
    return *r;
  }
};

} // namespace

TEST_CASE("the background mirror writes every file and line in commit order by flush()",
          "[background]") {
  Background f;
  auto store = open_store(f.options);
  // More than the queue holds (256), so writes wait for room too.
  const std::vector<Snapshot> written = f.write(*store, 300, 6);
  REQUIRE_OK(store->flush());
  f.check_mirrored(written);
  CHECK(f.verify().clean());
  // Chained in commit order, each to the one before.
  for (std::size_t i = 1; i < written.size(); ++i) {
    CHECK(written[i].chain->prev == written[i - 1].chain->hash);
  }
}

TEST_CASE("closing a store writes what its background mirror still had queued", "[background]") {
  Background f;
  std::vector<Snapshot> written;
  {
    auto store = open_store(f.options);
    written = f.write(*store, 120, 2);
  }
  f.check_mirrored(written);
  // The close also moved the checkpoint: the next open has nothing to do.
  Options o = f.options;
  o.reconcile_on_open = false;
  auto r = open_store(o)->repair();
  REQUIRE_OK(r.status());
  CHECK(r->files_written == 0);
  CHECK(r->lines_appended == 0);
  CHECK(r->lines_dropped == 0);
  CHECK_FALSE(r->log_rewritten);
}

TEST_CASE("verify in the same process waits for the background mirror", "[background]") {
  Background f;
  auto store = open_store(f.options);
  const std::vector<Snapshot> written = f.write(*store, 200, 2);
  // No flush: verify takes the store's lock exclusive, which first lets the
  // queue drain (else it would find files missing, or wait for itself).
  auto report = store->verify();
  REQUIRE_OK(report.status());
  CHECK(report->clean());
  CHECK(report->snapshots == static_cast<std::int64_t>(written.size()));
}

TEST_CASE("another Store's repair waits for this Store's queued snapshots", "[background]") {
  Background f;
  auto writer = open_store(f.options);
  const std::vector<Snapshot> written = f.write(*writer, 250, 2);
  // A second connection, as another process would hold: its exclusive lock
  // conflicts with the writer's shared hold until the queue is written, so
  // it never sees a commit whose files are still on their way.
  Options o = f.options;
  o.background_mirror = false;
  auto other = open_store(o);
  auto r = other->repair();
  REQUIRE_OK(r.status());
  CHECK(r->files_written == 0);
  CHECK(r->lines_appended == 0);
  REQUIRE_OK(writer->flush());
  f.check_mirrored(written);
}

TEST_CASE("a periodic snapshot with the background mirror is mirrored in the call",
          "[background]") {
  Background f;
  auto store = open_store(f.options);
  std::vector<Snapshot> written = f.write(*store, 30, 0);
  auto p = store->record_periodic(PeriodicInput{});
  REQUIRE_OK(p.status());
  REQUIRE_OK(p->mirror);
  // Written before record_periodic returned, after the actions queued before it.
  CHECK(Json::parse(read_text(f.snaps + "/latest_periodic.json")) == mirrored(*p));
  CHECK(file_exists(f.snaps + "/" + p->id + ".json"));
  CHECK(read_lines(f.log).size() == written.size());
  CHECK(p->chain->prev == written.back().chain->hash);
}

TEST_CASE("a background mirror error is reported by flush() and healed by the close",
          "[background]") {
  Background f;
  std::vector<Snapshot> written;
  {
    auto store = open_store(f.options);
    written = f.write(*store, 5, 0);
    REQUIRE_OK(store->flush());
    // The log replaced by a directory: the next appends fail.
    REQUIRE(std::rename(f.log.c_str(), (f.log + ".away").c_str()) == 0);
    REQUIRE(::mkdir(f.log.c_str(), 0755) == 0);
    std::vector<Snapshot> more = f.write(*store, 3, 0);
    written.insert(written.end(), more.begin(), more.end());
    Status s = store->flush();
    CHECK(s.IsIOError());
    CHECK(s.ToString().find("action_log.jsonl") != std::string::npos);
    // Reported once: the next flush has nothing new to say.
    REQUIRE_OK(store->flush());
    // Every snapshot is committed and has its file; only the lines are missing.
    for (const Snapshot& snap : written) {
      CHECK(file_exists(f.snaps + "/" + snap.id + ".json"));
    }
    REQUIRE(::rmdir(f.log.c_str()) == 0);
    REQUIRE(std::rename((f.log + ".away").c_str(), f.log.c_str()) == 0);
  }
  // The close reconciled: the three lines that failed are there, once.
  f.check_mirrored(written);
  CHECK(f.verify().clean());
}
