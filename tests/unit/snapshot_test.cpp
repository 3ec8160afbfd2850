#include "support/test_util.h"

using namespace barrot;

TEST_CASE("snapshot ids of the seed's two forms are accepted", "[snapshot]") {
  CHECK(validate_snapshot_id("action_20251222_023211_483890").ok());
  CHECK(validate_snapshot_id("periodic_20251222_023211").ok());
  CHECK(validate_snapshot_id("periodic_20240229_235959").ok());
}

TEST_CASE("anything else is rejected as a snapshot id, paths above all", "[snapshot]") {
  const std::vector<std::string> bad = {
      "",
      "../../etc/passwd",
      "/etc/passwd",
      "action_20251222_023211_483890/../../x",
      "action_20251222_023211_48389",
      "action_20251222_023211_4838901",
      "action_20251322_023211_483890", // month 13
      "periodic_20230229_000000",      // not a leap year
      "periodic_20251222_246000",
      std::string("action_20251222_023211_48389\0", 30),
      "ACTION_20251222_023211_483890",
      "action_20251222_023211_483890.json",
      "snapshot_20251222_023211",
  };
  for (const auto& id : bad) {
    INFO(id);
    Status s = validate_snapshot_id(id);
    CHECK(s.IsInvalidArgument());
  }
  CHECK(validate_snapshot_id(std::string("action_\0", 8)).message().find("\\x00") !=
        std::string::npos);
}

TEST_CASE("action types must be short printable UTF-8", "[snapshot]") {
  CHECK(validate_action_type("deployment").ok());
  CHECK(validate_action_type("déploiement ✓").ok());
  CHECK(validate_action_type("").IsInvalidArgument());
  CHECK(validate_action_type(std::string(129, 'a')).IsInvalidArgument());
  CHECK(validate_action_type(std::string(128, 'a')).ok());
  CHECK(validate_action_type("a\nb").IsInvalidArgument());
  CHECK(validate_action_type("a\tb").IsInvalidArgument());
  CHECK(validate_action_type("\x7f").IsInvalidArgument());
  CHECK(validate_action_type("\xc3\x28").IsInvalidArgument());
  CHECK(validate_action_type("\xed\xa0\x80").IsInvalidArgument()); // surrogate
  CHECK(validate_action_type("\xc0\xaf").IsInvalidArgument());     // overlong
}

TEST_CASE("statuses parse from their three names only", "[snapshot]") {
  CHECK(parse_action_status("executing").value() == ActionStatus::executing);
  CHECK(parse_action_status("completed").value() == ActionStatus::completed);
  CHECK(parse_action_status("failed").value() == ActionStatus::failed);
  CHECK(parse_action_status("done").status().IsInvalidArgument());
  CHECK(parse_action_status("Failed").status().IsInvalidArgument());
}

TEST_CASE("timestamps format with six digits and parse back", "[snapshot]") {
  const TimeUs t = 1766370731483890; // 2025-12-22T02:32:11.483890Z
  CHECK(format_iso8601(t) == "2025-12-22T02:32:11.483890Z");
  CHECK(parse_iso8601("2025-12-22T02:32:11.483890Z").value() == t);
  CHECK(make_snapshot_id(SnapshotType::action, t) == "action_20251222_023211_483890");
  CHECK(make_snapshot_id(SnapshotType::periodic, t) == "periodic_20251222_023211");
  CHECK(format_iso8601(0) == "1970-01-01T00:00:00.000000Z");
  CHECK(format_iso8601(-1) == "1969-12-31T23:59:59.999999Z");
}

TEST_CASE("ISO 8601 parsing accepts offsets and short fractions", "[snapshot]") {
  const TimeUs t = parse_iso8601("2025-12-06T03:15:00Z").value();
  CHECK(format_iso8601(t) == "2025-12-06T03:15:00.000000Z");
  CHECK(parse_iso8601("2025-12-06T05:15:00+02:00").value() == t);
  CHECK(parse_iso8601("2025-12-06T03:15:00.5Z").value() == t + 500000);
  CHECK(parse_iso8601("2025-12-06T03:15:00.123456789Z").value() == t + 123456);
  CHECK(parse_iso8601("2025-12-06 03:15:00Z").value() == t);
}

TEST_CASE("malformed timestamps are rejected with the reason", "[snapshot]") {
  for (const char* bad : {"",
                          "2025-12-06",
                          "2025-12-06T03:15:00",
                          "2025-02-30T00:00:00Z",
                          "2025-12-06T25:00:00Z",
                          "2025-12-06T03:15:00.Z",
                          "2025-12-06T03:15:00Zjunk",
                          "yesterday"}) {
    INFO(bad);
    auto r = parse_iso8601(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().IsInvalidArgument());
  }
  CHECK(parse_iso8601("2025-12-06T03:15:00").status().message().find("time zone") !=
        std::string::npos);
}

TEST_CASE("details must be a JSON object and keep their key order", "[snapshot]") {
  auto ok = parse_details_json(R"({"z":1,"a":{"y":2,"b":3}})");
  REQUIRE(ok.ok());
  CHECK(ok->dump() == R"({"z":1,"a":{"y":2,"b":3}})");
  auto syntax = parse_details_json("{\"a\":");
  CHECK(syntax.status().IsInvalidArgument());
  CHECK(syntax.status().message().find("not valid JSON") != std::string::npos);
  CHECK(parse_details_json("[1,2]").status().message() ==
        "details must be a JSON object, not array");
  CHECK(parse_details_json("\"text\"").status().IsInvalidArgument());
  // A number no double holds (found by fuzz_details: it escaped as an exception).
  auto overflow = parse_details_json(R"({"a":-3e3333})");
  CHECK(overflow.status().IsInvalidArgument());
  CHECK(overflow.status().message().find("number overflow") != std::string::npos);
  CHECK(parse_details_json("{\"a\":\"\xff\"}").status().IsInvalidArgument());
  CHECK(parse_details_json("{} {}").status().IsInvalidArgument());
}
