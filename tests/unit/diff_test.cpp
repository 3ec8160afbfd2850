#include "support/test_util.h"

using namespace barrot;
using namespace barrot::test;

namespace {

Snapshot periodic(const std::string& id, TimeUs t, Json sections) {
  Snapshot s;
  s.id = id;
  s.type = SnapshotType::periodic;
  s.timestamp = t;
  s.document = Json{{"snapshot_id", id}, {"snapshot_type", "periodic"}};
  for (auto& [k, v] : sections.items()) {
    s.document[k] = v;
  }
  return s;
}

Json procs(std::vector<std::string> names, std::int64_t count) {
  Json list = Json::array();
  for (const auto& n : names) {
    list.push_back(Json{{"pid", 1}, {"name", n}});
  }
  return Json{{"count", count}, {"processes", list}};
}

} // namespace

TEST_CASE("diff names appeared and gone processes, changed values and reboots", "[diff]") {
  Snapshot a = periodic("periodic_20250101_000000",
                        0,
                        Json{{"system_state",
                              {{"timestamp", "x"},
                               {"uptime_seconds", 5000},
                               {"snapshots_stored", 10},
                               {"load_average", Json::array({0.5, 0.4, 0.3})}}},
                             {"build_state", {{"build_signature", "BNDL-V2"}}},
                             {"rail_status", {{"deployment", "stable"}}},
                             {"active_processes", procs({"nginx", "nginx", "cron"}, 3)},
                             {"workflows",
                              {{"active", Json::array({Json{{"snapshot_id", "action_1"}}})},
                               {"scheduled", Json::array()}}}});
  Snapshot b = periodic("periodic_20250101_003000",
                        1'800'000'000,
                        Json{{"system_state",
                              {{"timestamp", "y"},
                               {"uptime_seconds", 60},
                               {"snapshots_stored", 25},
                               {"load_average", Json::array({0.5, 0.4, 0.3})}}},
                             {"build_state", {{"build_signature", "BNDL-V3"}}},
                             {"rail_status", {{"deployment", "stable"}, {"ingestion", "paused"}}},
                             {"active_processes", procs({"nginx", "postgres"}, 2)},
                             {"workflows",
                              {{"active", Json::array({Json{{"snapshot_id", "action_2"}}})},
                               {"scheduled", Json::array({Json{{"name", "snap"}}})}}}});
  auto d = diff_periodic(a, b);
  REQUIRE_OK(d.status());
  CHECK((*d)["seconds_between"] == 1800);
  CHECK((*d)["rebooted"] == true);
  CHECK((*d)["processes"]["appeared"] == Json{{"postgres", 1}});
  CHECK((*d)["processes"]["gone"] == Json{{"cron", 1}, {"nginx", 1}});
  CHECK((*d)["processes"]["complete_lists"] == true);
  CHECK((*d)["workflows"]["started"] == Json::array({"action_2"}));
  CHECK((*d)["workflows"]["ended"] == Json::array({"action_1"}));
  CHECK((*d)["workflows"]["scheduled_added"] == Json::array({Json{{"name", "snap"}}}));
  const Json& c = (*d)["changed"];
  CHECK(c["build_state.build_signature"] == Json{{"from", "BNDL-V2"}, {"to", "BNDL-V3"}});
  CHECK(c["rail_status.ingestion"] == Json{{"from", nullptr}, {"to", "paused"}});
  CHECK(c["system_state.snapshots_stored"]["delta"] == 15);
  CHECK_FALSE(c.contains("system_state.timestamp"));
  CHECK_FALSE(c.contains("system_state.uptime_seconds"));
  CHECK_FALSE(c.contains("system_state.load_average"));
  CHECK_FALSE(c.contains("rail_status.deployment"));
  const std::string text = format_diff(*d);
  CHECK(text.find("rebooted") != std::string::npos);
  CHECK(text.find("appeared: postgres") != std::string::npos);
  CHECK(text.find("build_state.build_signature: \"BNDL-V2\" -> \"BNDL-V3\"") != std::string::npos);
  CHECK(text.find("system_state.snapshots_stored: 10 -> 25 (+15)") != std::string::npos);
}

TEST_CASE("diff of identical snapshots says nothing changed", "[diff]") {
  Snapshot a = periodic("periodic_20250101_000000", 0, Json{{"rail_status", {{"x", "y"}}}});
  Snapshot b = a;
  b.id = "periodic_20250101_000001";
  auto d = diff_periodic(a, b);
  REQUIRE_OK(d.status());
  CHECK((*d)["changed"].empty());
  CHECK(format_diff(*d).find("nothing else changed") != std::string::npos);
}

TEST_CASE("diff shows a value that changes every time only when it changes kind", "[diff]") {
  Snapshot a = periodic("periodic_20250101_000000",
                        0,
                        Json{{"system_state", {{"uptime", "active"}, {"timestamp", "x"}}}});
  Snapshot b =
      periodic("periodic_20250101_003000",
               1800000000,
               Json{{"system_state",
                     {{"uptime", {{"seconds", 90}}}, {"timestamp", "y"}, {"uptime_seconds", 90}}}});
  auto d = diff_periodic(a, b);
  REQUIRE_OK(d.status());
  const Json& c = (*d)["changed"];
  CHECK(c["system_state.uptime"] == Json{{"from", "active"}, {"to", {{"seconds", 90}}}});
  CHECK(c["system_state.uptime_seconds"] == Json{{"from", nullptr}, {"to", 90}});
  CHECK_FALSE(c.contains("system_state.timestamp")); // a string both times
  CHECK((*d)["rebooted"].is_null());                 // unknown: the first gives no uptime_seconds
  CHECK(format_diff(*d).find("reboot in between unknown") != std::string::npos);
  // An integer against a float is the same kind: a volatile value stays hidden.
  Snapshot c1 = periodic(
      "periodic_20250101_010000", 3600000000, Json{{"system_state", {{"uptime_seconds", 100}}}});
  Snapshot c2 = periodic(
      "periodic_20250101_013000", 5400000000, Json{{"system_state", {{"uptime_seconds", 1900.5}}}});
  auto same_kind = diff_periodic(c1, c2);
  REQUIRE_OK(same_kind.status());
  CHECK((*same_kind)["changed"].empty());
  CHECK((*same_kind)["rebooted"] == false);
  CHECK((*diff_periodic(c2, c1))["rebooted"] == false); // the same pair, the other way
  CHECK(format_diff(*d).find("system_state.uptime: \"active\" -> {\"seconds\":90}") !=
        std::string::npos);
}

TEST_CASE("diff refuses action snapshots and flags truncated process lists", "[diff]") {
  Snapshot a = periodic("periodic_20250101_000000", 0, Json{{"active_processes", procs({"a"}, 9)}});
  Snapshot b = periodic("periodic_20250101_000001", 1, Json{{"active_processes", procs({"b"}, 9)}});
  CHECK((*diff_periodic(a, b))["processes"]["complete_lists"] == false);
  Snapshot act = a;
  act.type = SnapshotType::action;
  act.id = "action_20250101_000000_000000";
  CHECK(diff_periodic(act, b).status().IsInvalidArgument());
}

TEST_CASE("the store diffs its last two periodic snapshots", "[diff][store]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  PeriodicConfig c;
  c.base_dir = dir.path();
  REQUIRE_OK(take_periodic_snapshot(*store, c).status());
  REQUIRE_OK(store->record_action(action("between")).status());
  PeriodicInput later = collect_periodic(*store, c);
  *later.at += 2'000'000;
  auto b = store->record_periodic(later);
  REQUIRE_OK(b.status());
  auto both = store->latest(2, SnapshotType::periodic);
  auto d = diff_periodic((*both)[1], (*both)[0]);
  REQUIRE_OK(d.status());
  CHECK((*d)["changed"]["system_state.snapshots_stored"]["delta"] == 2);
  CHECK((*d)["workflows"]["started"] ==
        Json::array({(*store->latest(1, SnapshotType::action))[0].id}));
}

TEST_CASE("diff text shows control characters in names escaped, never raw", "[diff][hostile]") {
  const std::string evil = "\x1b]0;pwned\x07\x1b[2J";
  Snapshot a = periodic("periodic_20250101_000000",
                        0,
                        Json{{"active_processes", procs({"a"}, 1)}, {"x", Json{{evil, 1}}}});
  Snapshot b = periodic("periodic_20250101_000001",
                        1'000'000,
                        Json{{"active_processes", procs({"a", evil}, 2)}, {"x", Json{{evil, 2}}}});
  auto d = diff_periodic(a, b);
  REQUIRE_OK(d.status());
  const std::string text = format_diff(*d);
  CHECK(text.find('\x1b') == std::string::npos);
  CHECK(text.find("\\u001b]0;pwned") != std::string::npos);
}

TEST_CASE("diff gives the exact time between, and says earlier for a reversed pair", "[diff]") {
  Snapshot a = periodic("periodic_20250101_000000", 0, Json{{"active_processes", procs({"a"}, 1)}});
  Snapshot b =
      periodic("periodic_20250101_000003", 3'995'500, Json{{"active_processes", procs({"a"}, 1)}});
  auto d = diff_periodic(a, b);
  REQUIRE_OK(d.status());
  CHECK((*d)["seconds_between"] == 3.9955);
  CHECK(format_diff(*d).find("(4s later)") != std::string::npos);
  auto r = diff_periodic(b, a);
  REQUIRE_OK(r.status());
  CHECK((*r)["seconds_between"] == -3.9955);
  CHECK(format_diff(*r).find("(4s earlier)") != std::string::npos);
  // Long gaps in days, not in hundreds of thousands of minutes.
  Snapshot far = periodic("periodic_20251127_211412",
                          (340LL * 86400 + 21 * 3600 + 14 * 60 + 12) * 1'000'000,
                          Json{{"active_processes", procs({"a"}, 1)}});
  CHECK(format_diff(*diff_periodic(a, far)).find("(340d 21h 14m 12s later)") != std::string::npos);
  Snapshot hour = periodic(
      "periodic_20250101_010000", 3600LL * 1'000'000, Json{{"active_processes", procs({"a"}, 1)}});
  CHECK(format_diff(*diff_periodic(a, hour)).find("(1h 0m 0s later)") != std::string::npos);
}
