#include "store/render.h"
#include "support/test_util.h"

#include <random>

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

TEST_CASE("details with an integer beyond 64 bits are refused; other numbers keep their value",
          "[snapshot]") {
  // nlohmann would keep 1.2345678901234568e+29: other digits than given.
  auto big = parse_details_json(R"({"id":123456789012345678901234567890})");
  CHECK(big.status().IsInvalidArgument());
  CHECK(big.status().message() ==
        "details hold the integer 123456789012345678901234567890, beyond 64 bits: it would be "
        "kept changed (write it as a string)");
  CHECK(parse_details_json(R"({"n":18446744073709551616})").status().IsInvalidArgument());
  CHECK(parse_details_json(R"({"n":-9223372036854775809})").status().IsInvalidArgument());
  auto ok = parse_details_json(
      R"({"u":18446744073709551615,"i":-9223372036854775808,"f":1.5,"e":1E2,"z":-0})");
  REQUIRE(ok.ok());
  CHECK((*ok)["u"].get<std::uint64_t>() == 18446744073709551615ULL);
  CHECK((*ok)["i"].get<std::int64_t>() == INT64_MIN);
  CHECK((*ok)["e"].get<double>() == 100.0);
  // Invalid text still names the place.
  CHECK(parse_details_json(R"({"a":NaN})").status().message().find("parse error at line 1") !=
        std::string::npos);
}

TEST_CASE("details that name a key twice are refused, naming the key", "[snapshot]") {
  // nlohmann keeps the last of the values: the others would be lost unseen.
  auto top = parse_details_json(R"({"a":1,"b":2,"a":3})");
  CHECK(top.status().IsInvalidArgument());
  CHECK(top.status().message() ==
        "details name the key \"a\" twice in one object (only one value could be kept)");
  // Nested, after a discarded value that is itself an object, and an escaped
  // spelling of the same key.
  auto nested = parse_details_json(R"({"x":{"k":{"q":1},"k":{"r":2}},"y":0})");
  CHECK(nested.status().message().find("\"k\"") != std::string::npos);
  CHECK(parse_details_json(R"({"o":{"\u0061":1,"a":2}})").status().IsInvalidArgument());
  CHECK(parse_details_json(R"({"":1,"":2})").status().message().find("key \"\" twice") !=
        std::string::npos);
  // Stopped at the first repeat, in an array of objects too.
  CHECK(parse_details_json(R"({"l":[{"a":1},{"b":1,"b":2}],"a":1,"a":2})").status().message() ==
        "details name the key \"b\" twice in one object (only one value could be kept)");
  // The same key in different objects, or as a value, is fine.
  auto ok = parse_details_json(R"({"a":{"a":1},"b":[{"a":1},{"a":2}],"c":"a"})");
  REQUIRE(ok.ok());
  CHECK(ok->dump() == R"({"a":{"a":1},"b":[{"a":1},{"a":2}],"c":"a"})");
}

namespace {

// A random JSON value: every kind, the strings and numbers that are hardest
// to indent around (quotes, backslashes, braces, commas and colons inside
// strings; control characters; non-ASCII; exponents; empty containers).
Json random_json(std::mt19937& rng, int depth) {
  static const std::vector<std::string> strings = {"",
                                                   "plain",
                                                   "a\"quote",
                                                   "back\\slash",
                                                   "{not:an,object}",
                                                   "[1,2]",
                                                   "tab\there",
                                                   "nl\nx",
                                                   "\x01",
                                                   "caf\xc3\xa9",
                                                   "\xf0\x9f\x98\x80",
                                                   "\\\"",
                                                   "end\\",
                                                   ": , {"};
  const int kind = static_cast<int>(rng() % (depth > 4 ? 6 : 9));
  switch (kind) {
  case 0:
    return nullptr;
  case 1:
    return rng() % 2 == 0;
  case 2:
    return static_cast<std::int64_t>(rng()) - (1LL << 31);
  case 3: {
    static const std::vector<double> doubles = {0.5, -0.0, 1e300, 1.0, -2.25e-8, 3.14159};
    return doubles[rng() % doubles.size()];
  }
  case 4:
  case 5:
    return strings[rng() % strings.size()];
  case 6:
  case 7: {
    Json o = Json::object();
    const int n = static_cast<int>(rng() % 4);
    for (int i = 0; i < n; ++i) {
      o[strings[rng() % strings.size()] + std::to_string(i)] = random_json(rng, depth + 1);
    }
    return o;
  }
  default: {
    Json a = Json::array();
    const int n = static_cast<int>(rng() % 4);
    for (int i = 0; i < n; ++i) {
      a.push_back(random_json(rng, depth + 1));
    }
    return a;
  }
  }
}

} // namespace

TEST_CASE("pretty_compact indents a compact document exactly as dump(2) does", "[snapshot]") {
  std::mt19937 rng(20261126);
  for (int i = 0; i < 5000; ++i) {
    Json doc = Json::object();
    doc["snapshot_id"] = "action_20261126_000000_000000";
    doc["details"] = random_json(rng, 0);
    doc["more"] = random_json(rng, 0);
    const std::string compact = doc.dump();
    INFO(compact);
    REQUIRE(store::pretty_compact(compact) == doc.dump(2));
  }
  // The legacy export, as found.
  for (const std::string& name :
       test::list_dir(std::string(BARROT_TEST_DATA) + "/legacy-snapshots")) {
    if (name.size() > 5 && name.substr(name.size() - 5) == ".json") {
      const Json doc =
          Json::parse(test::read_text(std::string(BARROT_TEST_DATA) + "/legacy-snapshots/" + name));
      CHECK(store::pretty_compact(doc.dump()) == doc.dump(2));
    }
  }
  // Whitespace outside strings is not compact()'s form: parsed, then dumped.
  CHECK(store::pretty_compact("{\"a\": [1, {}]}") == "{\n  \"a\": [\n    1,\n    {}\n  ]\n}");
  CHECK(store::pretty_compact("{\"a\":[],\"b\":{}}") == "{\n  \"a\": [],\n  \"b\": {}\n}");
}
