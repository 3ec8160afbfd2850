#include "support/test_util.h"

#include <stdexcept>

using namespace barrot;
using namespace barrot::test;

TEST_CASE("the tracker records start, completion and failure truthfully", "[tracker]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  ActionTracker tracker(*store);
  auto start = tracker.track_start("deploy", Json{{"env", "prod"}});
  auto done = tracker.track_complete("deploy");
  auto failed = tracker.track_failure("deploy", "disk full", Json{{"env", "prod"}});
  REQUIRE_OK(start.status());
  REQUIRE_OK(done.status());
  REQUIRE_OK(failed.status());
  CHECK(store->get(*start)->document["action"]["status"] == "executing");
  CHECK(store->get(*done)->document["action"]["status"] == "completed");
  Json f = store->get(*failed)->document["action"];
  CHECK(f["status"] == "failed");
  CHECK(f["details"]["error"] == "disk full");
  CHECK(f["details"]["env"] == "prod");
  // Two errors for one failure: neither is dropped for the other.
  auto both = tracker.track_failure("deploy", "disk full", Json{{"error", "quota"}});
  CHECK(both.status().IsInvalidArgument());
  CHECK(store->summary()->total == 3);
}

TEST_CASE("a tracked scope that ends normally records completion with its duration", "[tracker]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  ActionTracker tracker(*store);
  std::string start_id;
  {
    TrackedAction scope(tracker, "build", Json{{"module", "core"}});
    REQUIRE_OK(scope.start().status());
    start_id = scope.start().value();
    scope.set("artifacts", 3);
  }
  auto snaps = store->latest(1, SnapshotType::action);
  REQUIRE_OK(snaps.status());
  const Json& a = (*snaps)[0].document["action"];
  CHECK(a["status"] == "completed");
  CHECK(a["start_snapshot_id"] == start_id);
  CHECK(a["details"]["module"] == "core");
  CHECK(a["details"]["artifacts"] == 3);
  CHECK(a["details"]["duration_seconds"].get<double>() >= 0.0);
  CHECK(a["started_at"] == store->get(start_id)->document["timestamp"]);
}

TEST_CASE("a tracked scope left by an exception records a failure", "[tracker]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  ActionTracker tracker(*store);
  try {
    TrackedAction scope(tracker, "migrate");
    throw std::runtime_error("boom");
  } catch (const std::runtime_error&) {
  }
  auto snaps = store->latest(1, SnapshotType::action);
  const Json& a = (*snaps)[0].document["action"];
  CHECK(a["status"] == "failed");
  CHECK(a["details"]["error"] == "exited by exception");
}

TEST_CASE("run_tracked records the exception's message and rethrows it", "[tracker]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  ActionTracker tracker(*store);
  CHECK(run_tracked(tracker, "ok", Json::object(), [] { return 42; }) == 42);
  CHECK_THROWS_AS(run_tracked(tracker,
                              "bad",
                              Json::object(),
                              []() -> int { throw std::invalid_argument("no such table"); }),
                  std::invalid_argument);
  auto snaps = store->latest(1, SnapshotType::action);
  const Json& a = (*snaps)[0].document["action"];
  CHECK(a["type"] == "bad");
  CHECK(a["status"] == "failed");
  CHECK(a["details"]["error"] == "no such table");
  CHECK(store->summary()->actions == 4);
}

TEST_CASE("an explicit fail() marks the scope failed without an exception", "[tracker]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  ActionTracker tracker(*store);
  {
    TrackedAction scope(tracker, "check");
    scope.fail("threshold exceeded");
    auto id = scope.finish();
    REQUIRE_OK(id.status());
    CHECK(store->get(*id)->document["action"]["details"]["error"] == "threshold exceeded");
    CHECK(scope.finish().status().IsInvalidArgument());
  }
  CHECK(store->summary()->actions == 2);
}

TEST_CASE("an end whose details are refused can be retried, and is recorded at scope exit",
          "[tracker]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  ActionTracker tracker(*store);
  std::string retried;
  {
    TrackedAction scope(tracker, "retry");
    scope.set("blob", std::string(k_max_details_bytes, 'x'));
    CHECK(scope.finish().status().IsInvalidArgument());
    scope.set("blob", "small");
    auto end = scope.finish();
    REQUIRE_OK(end.status());
    retried = *end;
    CHECK(scope.finish().status().IsInvalidArgument()); // now it is finished
  }
  CHECK(store->get(retried)->document["action"]["details"]["blob"] == "small");
  std::string start;
  {
    TrackedAction scope(tracker, "bad_utf8");
    start = scope.start().value();
    scope.set("k", std::string("\xff"));
  }
  // The end is there, linked to its start, without the refused details.
  auto ends = store->latest(1, SnapshotType::action);
  REQUIRE_OK(ends.status());
  const Json& action = (*ends)[0].document["action"];
  CHECK(action["type"] == "bad_utf8");
  CHECK(action["status"] == "completed");
  CHECK(action["start_snapshot_id"] == start);
  CHECK(action["details"]["details_refused"].get<std::string>().find("UTF-8") != std::string::npos);
  CHECK(action["details"].contains("duration_seconds"));
  CHECK(store->open_actions(10)->empty());
}

TEST_CASE("a tracked end refuses details set too deep, and is recorded without them", "[tracker]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  ActionTracker tracker(*store);
  Json abyss = Json::object();
  Json* cur = &abyss;
  for (int i = 0; i < 200'000; ++i) {
    (*cur)["d"] = Json::object();
    cur = &(*cur)["d"];
  }
  {
    TrackedAction scope(tracker, "deep_set");
    REQUIRE_OK(scope.start().status());
    scope.set("tree", std::move(abyss)); // refused, not kept: a copy would overflow the stack
    CHECK(scope.finish().status().IsInvalidArgument());
  }
  auto ends = store->latest(1, SnapshotType::action);
  REQUIRE_OK(ends.status());
  const Json& action = (*ends)[0].document["action"];
  CHECK(action["status"] == "completed");
  CHECK(action["details"]["details_refused"].get<std::string>().find("nest deeper") !=
        std::string::npos);
  CHECK(store->open_actions(10)->empty());
}
