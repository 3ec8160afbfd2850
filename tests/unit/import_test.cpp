#include "store/chain.h"
#include "store/render.h"
#include "support/test_util.h"

#include <barrot/archive.h>

#include <filesystem>

using namespace barrot;
using namespace barrot::test;

namespace {

const std::string k_legacy = std::string(BARROT_TEST_DATA) + "/legacy-snapshots";

// A writable copy of the legacy fixture.
std::string copy_legacy(const TempDir& dir) {
  const std::string to = dir / "legacy";
  std::filesystem::copy(k_legacy, to);
  return to;
}

nlohmann::json parse_file(const std::string& path) {
  return nlohmann::json::parse(read_text(path));
}

// A mirrored document without its chain record (which the legacy files lack).
nlohmann::json unchained(nlohmann::json doc) {
  REQUIRE(doc["metadata"].erase("chain") == 1);
  return doc;
}

} // namespace

TEST_CASE("the legacy export imports whole and re-exports equivalent files", "[import]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  auto r = store->import_legacy(k_legacy);
  REQUIRE_OK(r.status());
  CHECK(r->imported == 16);
  CHECK(r->skipped.empty());
  CHECK(r->files_read == 17);
  CHECK(r->lines_read == 15);
  for (const auto& name : list_dir(k_legacy)) {
    INFO(name);
    const std::string ours = dir / ("snapshots/" + name);
    REQUIRE(file_exists(ours));
    if (name == "action_log.jsonl") {
      auto a = read_lines(k_legacy + "/" + name);
      auto b = read_lines(ours);
      REQUIRE(a.size() == b.size());
      for (std::size_t i = 0; i < a.size(); ++i) {
        CHECK(nlohmann::json::parse(a[i]) == unchained(nlohmann::json::parse(b[i])));
      }
    } else {
      CHECK(parse_file(k_legacy + "/" + name) == unchained(parse_file(ours)));
    }
  }
  auto v = store->verify();
  REQUIRE_OK(v.status());
  CHECK(v->clean());
}

TEST_CASE("legacy statuses are kept as recorded and marked as imported", "[import]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  REQUIRE_OK(store->import_legacy(k_legacy).status());
  const std::string db = store->db_path();
  CHECK(query_int(db, "SELECT count(*) FROM snapshots WHERE origin = 'import'") == 16);
  CHECK(query_int(db, "SELECT count(*) FROM actions WHERE status = 'executing'") == 15);
}

TEST_CASE("a second import adds nothing", "[import]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  REQUIRE_OK(store->import_legacy(k_legacy).status());
  const std::string log = read_text(dir / "snapshots/action_log.jsonl");
  auto r = store->import_legacy(k_legacy);
  REQUIRE_OK(r.status());
  CHECK(r->imported == 0);
  CHECK(r->already_present == 16);
  CHECK(read_text(dir / "snapshots/action_log.jsonl") == log);
}

TEST_CASE("a second import uses up no sequence numbers", "[import]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  REQUIRE_OK(store->import_legacy(k_legacy).status());
  const std::string db = dir / "snapshots/.barrot/barrot.db";
  const auto seq = [&] {
    return query_int(db, "SELECT seq FROM sqlite_sequence WHERE name = 'snapshot_rows'");
  };
  const std::int64_t after_first = seq();
  CHECK(after_first == 16);
  REQUIRE_OK(store->import_legacy(k_legacy).status());
  CHECK(seq() == after_first);
}

TEST_CASE("importing archived snapshots again adds nothing and archiving goes on", "[import]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  REQUIRE_OK(store->import_legacy(k_legacy).status());
  ArchiveOptions o;
  o.now = *parse_iso8601("2099-01-01T00:00:00Z");
  o.retention.periodic_days = 0;
  o.retention.action_days = 0;
  auto archiver = Archiver::Open(*store, o);
  REQUIRE_OK(archiver.status());
  auto run = (*archiver)->run();
  REQUIRE_OK(run.status());
  REQUIRE_OK(run->unfinished);
  const std::int64_t left =
      query_int(dir / "snapshots/.barrot/barrot.db", "SELECT count(*) FROM snapshots");
  REQUIRE(left < 16); // all but the newest periodic snapshot archived
  auto again = store->import_legacy(k_legacy);
  REQUIRE_OK(again.status());
  CHECK(again->imported == 0);
  CHECK(again->already_present == 16);
  CHECK(again->conflicts == 0);
  CHECK(query_int(dir / "snapshots/.barrot/barrot.db", "SELECT count(*) FROM snapshots") == left);
  auto v = (*archiver)->verify("");
  REQUIRE_OK(v.status());
  CHECK(v->clean());
  auto second = (*archiver)->run();
  REQUIRE_OK(second.status());
  CHECK(second->unfinished.ok());

  // A different snapshot under an archived id: a conflict, the archived one kept.
  const std::string legacy = copy_legacy(dir);
  std::string name;
  for (const auto& e : std::filesystem::directory_iterator(legacy)) {
    const std::string n = e.path().filename();
    if (n.rfind("action_", 0) == 0 && n.size() > 5 && n.substr(n.size() - 5) == ".json") {
      name = n;
    }
  }
  REQUIRE_FALSE(name.empty());
  nlohmann::json doc = parse_file(legacy + "/" + name);
  doc["action"]["details"]["changed"] = true;
  write_text(legacy + "/" + name, doc.dump(2));
  std::filesystem::remove(legacy + "/action_log.jsonl");
  auto changed = store->import_legacy(legacy);
  REQUIRE_OK(changed.status());
  CHECK(changed->imported == 0);
  CHECK(changed->conflicts == 1);
  bool named = false;
  for (const auto& s : changed->skipped) {
    named =
        named || (s.source == name && s.reason.find("is archived; kept it") != std::string::npos);
  }
  CHECK(named);
}

TEST_CASE("an import in place adds the chain record to the legacy files, nothing else",
          "[import]") {
  TempDir dir;
  const std::string legacy = copy_legacy(dir);
  Options o;
  o.snapshots_dir = legacy;
  auto store = open_store(o);
  auto r = store->import_legacy(legacy);
  REQUIRE_OK(r.status());
  CHECK(r->imported == 16);
  for (const auto& name : list_dir(k_legacy)) {
    INFO(name);
    if (name == "action_log.jsonl") {
      auto a = read_lines(k_legacy + "/" + name);
      auto b = read_lines(legacy + "/" + name);
      REQUIRE(a.size() == b.size());
      for (std::size_t i = 0; i < a.size(); ++i) {
        CHECK(nlohmann::json::parse(a[i]) == unchained(nlohmann::json::parse(b[i])));
      }
    } else {
      CHECK(parse_file(k_legacy + "/" + name) == unchained(parse_file(legacy + "/" + name)));
    }
  }
  // Nothing was lost, so nothing was kept aside.
  CHECK(!file_exists(legacy + "/.barrot/quarantine"));
  CHECK(store->verify()->clean());
}

TEST_CASE("damaged legacy inputs are named and skipped, the rest imported", "[import]") {
  TempDir dir;
  const std::string legacy = copy_legacy(dir);
  const std::string victim = legacy + "/action_20251222_022057_454420.json";
  std::string text = read_text(victim);
  write_text(victim, text.substr(0, text.size() / 2));
  write_text(legacy + "/action_20251222_999999_000000.json", "{}");     // impossible time
  write_text(legacy + "/action_20251223_000000_000000.json", "[1, 2]"); // not an object
  write_text(legacy + "/action_20251224_000000_000000.json",
             R"({"snapshot_id": "action_20251224_000000_000000", "snapshot_type": "action",
                 "timestamp": "2025-12-24T00:00:00Z",
                 "action": {"type": "x", "status": "bogus", "details": {}}})");
  std::string log = read_text(legacy + "/action_log.jsonl");
  write_text(legacy + "/action_log.jsonl", log + "{\"snapshot_id\": \"act");
  auto store = open_store(options_in(dir));
  auto r = store->import_legacy(legacy);
  REQUIRE_OK(r.status());
  // The truncated file's snapshot still arrives through its log line.
  CHECK(r->imported == 16);
  std::map<std::string, std::string> reasons;
  for (const auto& s : r->skipped) {
    reasons[s.source] = s.reason;
  }
  CHECK(reasons.size() == 5);
  CHECK(reasons["action_20251222_022057_454420.json"].find("not valid JSON") != std::string::npos);
  CHECK(reasons["action_20251223_000000_000000.json"] == "not a JSON object");
  CHECK(reasons["action_20251224_000000_000000.json"].find("bogus") != std::string::npos);
  CHECK(reasons["action_log.jsonl:16"].find("cut short") != std::string::npos);
  CHECK(store->verify()->clean());
}

TEST_CASE("an input whose id disagrees with its time, or that repeats a key, is skipped",
          "[import]") {
  TempDir dir;
  const std::string legacy = copy_legacy(dir);
  // An edited time: the id says 02:20:57, the timestamp an hour later.
  const std::string edited = legacy + "/action_20251222_022057_454420.json";
  Json doc = Json::parse(read_text(edited));
  doc["timestamp"] = "2025-12-22T03:20:57.454420Z";
  write_text(edited, doc.dump(2));
  // The same instant written with an offset agrees.
  const std::string offset = legacy + "/action_20251222_022431_521952.json";
  Json doc2 = Json::parse(read_text(offset));
  doc2["timestamp"] = "2025-12-22T03:24:31.521952+01:00";
  write_text(offset, doc2.dump(2));
  // A periodic id names the second; the fraction is not in it.
  const std::string periodic = legacy + "/periodic_20251222_023211.json";
  Json doc3 = Json::parse(read_text(periodic));
  doc3["timestamp"] = "2025-12-22T02:32:12.000001Z";
  write_text(periodic, doc3.dump(2));
  // A copy from a Barrot store's mirror (it carries a chain record, the hash
  // of its content): kept as that store kept it, so that a mirror always
  // comes back whole.
  Json chained = Json::parse(read_text(edited));
  chained["snapshot_id"] = "action_20251223_000000_000000";
  chained["timestamp"] = "2025-12-23T01:00:00.000000Z";
  store::ChainLink link;
  link.seq = 7;
  link.hash = store::chain_hash(link.prev, store::compact(chained));
  store::attach_chain(&chained, link);
  write_text(legacy + "/action_20251223_000000_000000.json", chained.dump(2));
  // ... but not one whose chain record was made up: its hash is not its content's.
  Json forged = chained;
  forged["snapshot_id"] = "action_20251224_000000_000000";
  write_text(legacy + "/action_20251224_000000_000000.json", forged.dump(2));
  // A log line naming snapshot_id twice: which one would be meant? (Line 2
  // is the +01:00 file's snapshot: skipped here, it cannot also disagree with
  // that file's spelling of the same time.)
  std::string log = read_text(legacy + "/action_log.jsonl");
  log.insert(log.find('\n') + 2, "\"snapshot_id\": \"action_20251230_000000_000000\", ");
  write_text(legacy + "/action_log.jsonl", log);
  auto store = open_store(options_in(dir));
  auto r = store->import_legacy(legacy);
  REQUIRE_OK(r.status());
  std::map<std::string, std::string> reasons;
  for (const auto& s : r->skipped) {
    reasons[s.source] = s.reason;
  }
  CHECK(reasons["action_20251222_022057_454420.json"] ==
        "snapshot_id action_20251222_022057_454420 does not agree with its timestamp "
        "2025-12-22T03:20:57.454420Z (which makes the id action_20251222_032057_454420)");
  CHECK(reasons.count("action_20251222_022431_521952.json") == 0);
  CHECK(reasons["periodic_20251222_023211.json"].find("does not agree") != std::string::npos);
  CHECK(reasons["action_log.jsonl:2"] == "names the key \"snapshot_id\" twice in one object");
  CHECK(reasons["action_20251224_000000_000000.json"].find("does not agree") != std::string::npos);
  CHECK(reasons.size() == 4);
  // The log's own copy of the edited file's snapshot is whole: it is imported.
  CHECK(store->get("action_20251222_022057_454420").ok());
  CHECK(store->get("action_20251223_000000_000000").ok());
  CHECK(store->verify()->clean());
}

TEST_CASE("a stale latest_periodic.json copy never wins over the original", "[import]") {
  TempDir dir;
  const std::string legacy = copy_legacy(dir);
  Json latest = Json::parse(read_text(legacy + "/latest_periodic.json"));
  latest["interval"] = "stale";
  write_text(legacy + "/latest_periodic.json", latest.dump(2));
  auto store = open_store(options_in(dir));
  auto r = store->import_legacy(legacy);
  REQUIRE_OK(r.status());
  CHECK(r->conflicts == 1);
  CHECK(store->get("periodic_20251222_023211")->document["interval"] == "30_minutes");
}

TEST_CASE("importing from a directory that does not exist fails cleanly", "[import]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  auto r = store->import_legacy(dir / "nope");
  CHECK_FALSE(r.ok());
  CHECK(r.status().message().find("nope") != std::string::npos);
  CHECK(store->summary()->total == 0);
}

TEST_CASE("a stored snapshot is never replaced by a different imported one", "[import]") {
  TempDir dir;
  const std::string legacy = copy_legacy(dir);
  auto store = open_store(options_in(dir));
  REQUIRE_OK(store->import_legacy(legacy).status());
  const std::string id = "action_20251222_023615_449526";
  Json doc = Json::parse(read_text(legacy + "/" + id + ".json"));
  doc["action"]["status"] = "completed";
  write_text(legacy + "/" + id + ".json", doc.dump(2));
  auto r = store->import_legacy(legacy);
  REQUIRE_OK(r.status());
  CHECK(r->conflicts >= 1);
  CHECK(store->get(id)->document["action"]["status"] == "executing");
}

TEST_CASE("a snapshot whose copies all differ from the stored one is one conflict", "[import]") {
  TempDir dir;
  const std::string legacy = copy_legacy(dir);
  auto store = open_store(options_in(dir));
  REQUIRE_OK(store->import_legacy(legacy).status());
  // The file and its log line agree with each other, not with the store.
  const std::string id = "action_20251222_023615_449526";
  Json doc = Json::parse(read_text(legacy + "/" + id + ".json"));
  doc["action"]["status"] = "failed";
  write_text(legacy + "/" + id + ".json", doc.dump(2));
  std::string log;
  for (const std::string& line : read_lines(legacy + "/action_log.jsonl")) {
    log += (line.find(id) != std::string::npos ? doc.dump() : line) + "\n";
  }
  write_text(legacy + "/action_log.jsonl", log);
  auto r = store->import_legacy(legacy);
  REQUIRE_OK(r.status());
  CHECK(r->conflicts == 1);
  CHECK(r->skipped.size() == 2); // both copies named
  CHECK(r->imported == 0);
}

TEST_CASE("an overlong log line is skipped without being held, the rest imported", "[import]") {
  TempDir dir;
  const std::string legacy = dir / "legacy";
  std::filesystem::create_directories(legacy);
  const std::string good =
      R"({"snapshot_id":"action_20251222_022057_454420","snapshot_type":"action",)"
      R"("timestamp":"2025-12-22T02:20:57.454420Z","action":{"type":"x","status":"executing",)"
      R"("details":{}},"metadata":{}})";
  // A crash's run of NUL bytes, longer than any snapshot, then one more line.
  std::string log = good + "\n" + std::string((64u << 20) + 4096, '\0') + "\n" +
                    R"({"snapshot_id":"action_20251222_022058_000000","snapshot_type":"action",)"
                    R"("timestamp":"2025-12-22T02:20:58.000000Z","action":{"type":"y",)"
                    R"("status":"executing","details":{}},"metadata":{}})" +
                    "\n" + std::string(3u << 20, '\0'); // and a torn tail
  write_text(legacy + "/action_log.jsonl", log);
  log = std::string();
  auto store = open_store(options_in(dir));
  auto r = store->import_legacy(legacy);
  REQUIRE_OK(r.status());
  CHECK(r->imported == 2);
  CHECK(r->lines_read == 4);
  REQUIRE(r->skipped.size() == 2);
  CHECK(r->skipped[0].source == "action_log.jsonl:2");
  CHECK(r->skipped[0].reason.find("longer than") != std::string::npos);
  CHECK(r->skipped[1].source == "action_log.jsonl:4");
}

TEST_CASE("details as deep as a write takes come back through an import of the mirror",
          "[import]") {
  TempDir dir;
  // 64 levels: the deepest details a write records.
  auto nested = [](int levels) {
    Json j = Json::object();
    for (int i = 1; i < levels; ++i) {
      j = Json{{"k", j}};
    }
    return j;
  };
  Options first = options_in(dir);
  first.snapshots_dir = dir / "first";
  std::string id;
  {
    auto store = open_store(first);
    auto s = store->record_action(action("deep", nested(64)));
    REQUIRE_OK(s.status());
    id = s->id;
    CHECK(store->record_action(action("deeper", nested(65))).status().IsInvalidArgument());
  }
  auto second = open_store(options_in(dir));
  auto r = second->import_legacy(first.snapshots_dir);
  REQUIRE_OK(r.status());
  CHECK(r->skipped.empty());
  CHECK(r->imported == 1);
  REQUIRE_OK(second->get(id).status());
  // A periodic snapshot as deep as a write takes comes back too; one that
  // could not is refused when recorded.
  {
    auto store = open_store(first);
    PeriodicInput deep;
    deep.sections = Json{{"build_state", nested(65)}};
    auto p = store->record_periodic(deep);
    REQUIRE_OK(p.status());
    deep.sections = Json{{"build_state", nested(66)}};
    CHECK(store->record_periodic(deep).status().IsInvalidArgument());
    auto again = second->import_legacy(first.snapshots_dir);
    REQUIRE_OK(again.status());
    CHECK(again->skipped.empty());
    REQUIRE_OK(second->get(p->id).status());
  }
  // One level more is refused on import too, naming the limit.
  const std::string legacy = dir / "legacy";
  std::filesystem::create_directories(legacy);
  Json doc = Json::parse(read_text(first.snapshots_dir + "/" + id + ".json"));
  doc["action"]["details"] = nested(65);
  write_text(legacy + "/" + id + ".json", doc.dump());
  Options fresh = options_in(dir);
  fresh.snapshots_dir = dir / "third";
  auto third = open_store(fresh)->import_legacy(legacy);
  REQUIRE_OK(third.status());
  REQUIRE(third->skipped.size() == 1);
  INFO(third->skipped[0].reason);
  CHECK(third->skipped[0].reason.find("nest deeper than 64 levels") != std::string::npos);
}

TEST_CASE("input nested deeper than the parser can take is skipped, not a crash", "[import]") {
  TempDir dir;
  const std::string legacy = dir / "legacy";
  std::filesystem::create_directories(legacy);
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  const auto line = [&](const std::string& us, const std::string& details) {
    return R"({"snapshot_id":"action_20250101_000000_)" + us +
           R"(","snapshot_type":"action","timestamp":"2025-01-01T00:00:00.)" + us +
           R"(Z","action":{"type":"x","status":"completed","details":)" + details +
           R"(},"metadata":{}})";
  };
  write_text(legacy + "/action_log.jsonl",
             line("000001", "{\"a\":" + deep + "}") + "\n" + line("000002", "{}") + "\n");
  write_text(legacy + "/action_20250101_000000_000003.json",
             line("000003", "{\"a\":" + deep + "}"));
  auto store = open_store(options_in(dir));
  auto r = store->import_legacy(legacy);
  REQUIRE_OK(r.status());
  CHECK(r->imported == 1);
  REQUIRE(r->skipped.size() == 2);
  for (const auto& s : r->skipped) {
    CHECK(s.reason == "nests deeper than 512 levels");
  }
  // Details given to a write, the same.
  Status s = parse_details_json("{\"a\":" + deep + "}").status();
  CHECK(s.IsInvalidArgument());
  CHECK(s.message() == "details nest deeper than 512 levels");
}
