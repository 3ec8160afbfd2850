// The hash chain: its definition, where it is carried, and tampering in the
// database, the files, the log and the archives caught by verify_chain.
#include "archive/zstd_io.h"
#include "store/chain.h"
#include "store/database.h"
#include "store/render.h"
#include "support/test_util.h"
#include "util/sha256.h"

#include <barrot/archive.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>

using namespace barrot;
using namespace barrot::test;

namespace {

TimeUs at_day(int month, int day) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "2025-%02d-%02dT12:00:00Z", month, day);
  return parse_iso8601(buf).value();
}

// A store with actions and periodic snapshots in January and March.
struct Fixture {
  TempDir dir;
  Options options = options_in(dir);
  std::unique_ptr<Store> store = open_store(options);
  std::vector<Snapshot> snaps;

  Fixture() {
    for (int d = 1; d <= 5; ++d) {
      add_action(1, d);
      add_periodic(1, d);
    }
    for (int d = 1; d <= 3; ++d) {
      add_action(3, d);
    }
    add_periodic(3, 4);
  }

  void add_action(int month, int day) {
    ActionInput in = action("deploy", Json{{"day", day}, {"ratio", 0.5 * day}});
    in.status = day % 2 ? ActionStatus::completed : ActionStatus::failed;
    in.at = at_day(month, day);
    auto s = store->record_action(in);
    REQUIRE_OK(s.status());
    snaps.push_back(*s);
  }

  void add_periodic(int month, int day) {
    PeriodicInput in;
    in.sections["system_state"] = Json{{"health", "operational"}, {"load", 0.0}};
    in.at = at_day(month, day) + 3'600'000'000LL;
    auto s = store->record_periodic(in);
    REQUIRE_OK(s.status());
    snaps.push_back(*s);
  }

  std::string db() const { return store->db_path(); }
  std::string file(const std::string& id) const { return dir / ("snapshots/" + id + ".json"); }
  std::string log() const { return dir / "snapshots/action_log.jsonl"; }

  ChainReport chain(const std::vector<ChainAnchor>& anchors = {}) {
    auto r = store->verify_chain(anchors);
    REQUIRE_OK(r.status());
    return *r;
  }
};

// The first break listed for `where`, or nullptr.
const ChainBreak* first(const ChainReport& r, const std::string& where) {
  for (const ChainBreak& b : r.breaks) {
    if (b.where == where) {
      return &b;
    }
  }
  return nullptr;
}

std::string describe(const ChainReport& r) {
  std::string s;
  for (const ChainBreak& b : r.breaks) {
    s += format_chain_break(b) + "\n";
  }
  return s;
}

// Recomputes chain_prev for every row from seq `from` on, as a forger who
// can write the database would after changing history.
void relink_from(const std::string& db_path, std::int64_t from) {
  SQLite::Database db(db_path, SQLite::OPEN_READWRITE);
  db.exec("DROP TRIGGER IF EXISTS snapshots_are_immutable");
  std::vector<std::pair<std::int64_t, std::string>> rows;
  std::string prev = k_genesis_hex;
  {
    SQLite::Statement st(
        db, "SELECT seq, document, lower(hex(chain_prev)) FROM snapshots ORDER BY seq");
    while (st.executeStep()) {
      const std::int64_t seq = st.getColumn(0).getInt64();
      if (seq < from) {
        prev = chain_hash_hex(st.getColumn(2).getString(), st.getColumn(1).getString());
        continue;
      }
      rows.emplace_back(seq, prev);
      prev = chain_hash_hex(prev, st.getColumn(1).getString());
    }
  }
  for (const auto& [seq, p] : rows) {
    db.exec("UPDATE snapshot_rows SET chain_prev = X'" + p +
            "' WHERE seq = " + std::to_string(seq));
  }
}

} // namespace

TEST_CASE("each snapshot's hash is sha256 of the previous hash and its document", "[chain]") {
  Fixture f;
  std::string prev = k_genesis_hex;
  for (std::size_t i = 0; i < f.snaps.size(); ++i) {
    const Snapshot& s = f.snaps[i];
    INFO(s.id);
    REQUIRE(s.chain.has_value());
    CHECK(s.chain->seq == static_cast<std::int64_t>(i + 1));
    CHECK(s.chain->prev == prev);
    CHECK(s.chain->hash == chain_hash_hex(prev, s.document.dump()));
    // The file carries it in metadata.chain, the rest as the seed has it.
    CHECK(read_text(f.file(s.id)) == with_chain(s.document, s.chain->seq, prev).dump(2));
    prev = s.chain->hash;
  }
  // The log's lines: the same records, compact.
  std::vector<std::string> expected;
  for (const Snapshot& s : f.snaps) {
    if (s.type == SnapshotType::action) {
      expected.push_back(mirrored(s).dump());
    }
  }
  CHECK(read_lines(f.log()) == expected);
  CHECK(query_int(f.db(),
                  "SELECT count(*) FROM snapshot_chain WHERE prev = '" + k_genesis_hex + "'") == 1);

  ChainReport r = f.chain();
  INFO(describe(r));
  CHECK(r.clean());
  CHECK(r.snapshots == 14);
  CHECK(r.files == 15); // latest_periodic.json too
  CHECK(r.lines == 8);
  REQUIRE(r.head.has_value());
  CHECK(r.head->id == f.snaps.back().id);
  CHECK(r.head->record.hash == prev);
  auto head = f.store->chain_head();
  REQUIRE_OK(head.status());
  REQUIRE(head->has_value());
  CHECK((*head)->record.hash == prev);
  CHECK((*head)->record.seq == 14);
}

TEST_CASE("the record goes in textually or through the parser, with the same bytes", "[chain]") {
  store::ChainLink link;
  link.seq = 42;
  link.prev[0] = 0xab;
  link.hash[31] = 0x01;
  ActionInput in = action("deploy", Json{{"a", 1.5}, {"s", "x\"y"}});
  const Json doc = store::action_document("action_20250101_000000_000001", 1, in);
  const std::string content = doc.dump();
  Json parsed = doc;
  store::attach_chain(&parsed, link);
  auto line = store::mirror_line(content, link); // the textual path (standard metadata)
  REQUIRE_OK(line.status());
  CHECK(*line == parsed.dump());
  auto file = store::mirror_file(content, link); // indented textually
  REQUIRE_OK(file.status());
  CHECK(*file == parsed.dump(2));
  // A stored document that is not JSON is refused, textual path or not.
  CHECK(
      store::mirror_file(content.substr(0, 40) + content.substr(60), link).status().IsCorruption());

  // No metadata object: the record is a top-level key.
  const std::string foreign = R"({"snapshot_id":"x","metadata":"old"})";
  auto foreign_line = store::mirror_line(foreign, link);
  REQUIRE_OK(foreign_line.status());
  Json back = Json::parse(*foreign_line);
  CHECK(back.contains("chain"));
  auto detached = store::detach_chain(&back);
  REQUIRE_OK(detached.status());
  REQUIRE(detached->has_value());
  CHECK((*detached)->seq == 42);
  CHECK((*detached)->prev == link.prev);
  CHECK(back.dump() == foreign);

  // A key in the way that is not a record is refused, not overwritten.
  Json bad = Json::parse(R"({"metadata":{"chain":"mine"}})");
  CHECK(store::detach_chain(&bad).status().IsInvalidArgument());
  CHECK(bad["metadata"]["chain"] == "mine");
}

TEST_CASE("an edit in the database breaks the chain at the next snapshot", "[chain]") {
  Fixture f;
  exec_sql(f.db(),
           "DROP TRIGGER snapshots_are_immutable; UPDATE snapshot_rows SET details = "
           "'{\"day\":99}' WHERE seq = 3");
  ChainReport r = f.chain();
  INFO(describe(r));
  const ChainBreak* b = first(r, "chain");
  REQUIRE(b != nullptr);
  CHECK(b->id == f.snaps[3].id);
  CHECK(b->seq == 4);
  CHECK(b->detail.find(f.snaps[2].id) != std::string::npos);
  // The edited row's file still holds the old record: it disagrees.
  const ChainBreak* file = first(r, "file");
  REQUIRE(file != nullptr);
  CHECK(file->id == f.snaps[2].id);
}

TEST_CASE("a deletion, an insertion and a reordering in the database are each caught", "[chain]") {
  SECTION("deletion") {
    Fixture f;
    exec_sql(
        f.db(),
        "DROP TRIGGER snapshots_leave_only_by_archive; DELETE FROM snapshot_rows WHERE seq = 5");
    ChainReport r = f.chain();
    INFO(describe(r));
    const ChainBreak* b = first(r, "chain");
    REQUIRE(b != nullptr);
    CHECK(b->seq == 6);
    CHECK(b->detail.find(f.snaps[3].id) != std::string::npos); // its predecessor now
  }
  SECTION("deletion of the first") {
    Fixture f;
    exec_sql(
        f.db(),
        "DROP TRIGGER snapshots_leave_only_by_archive; DELETE FROM snapshot_rows WHERE seq = 1");
    ChainReport r = f.chain();
    INFO(describe(r));
    const ChainBreak* b = first(r, "chain");
    REQUIRE(b != nullptr);
    CHECK(b->seq == 2);
    CHECK(b->detail.find("genesis") != std::string::npos);
  }
  SECTION("insertion") {
    Fixture f;
    // A forged action added after the rest, with a made-up link: it does
    // not link to the newest snapshot.
    const std::string prev = chain_hash_hex(k_genesis_hex, f.snaps[0].document.dump());
    exec_sql(f.db(),
             "INSERT INTO snapshot_rows (seq, snapshot_id, snapshot_type, ts_us, action_type, "
             "status, details, chain_prev) SELECT 100, 'action_20250102_000000_000000', "
             "'action', 1735776000000000, 'forged', 'completed', '{}', X'" +
                 prev + "'");
    ChainReport r = f.chain();
    INFO(describe(r));
    const ChainBreak* b = first(r, "chain");
    REQUIRE(b != nullptr);
    CHECK(b->id == "action_20250102_000000_000000");
  }
  SECTION("reordering") {
    Fixture f;
    exec_sql(
        f.db(),
        "DROP TRIGGER snapshots_are_immutable; UPDATE snapshot_rows SET seq = 1000 WHERE seq = "
        "3; UPDATE snapshot_rows SET seq = 3 WHERE seq = 4; UPDATE snapshot_rows SET seq = 4 "
        "WHERE seq = 1000");
    ChainReport r = f.chain();
    INFO(describe(r));
    const ChainBreak* b = first(r, "chain");
    REQUIRE(b != nullptr);
    CHECK(b->seq == 3);
    CHECK(b->id == f.snaps[3].id);
  }
}

TEST_CASE("edits, deletions, insertions and reorderings in the files are each caught", "[chain]") {
  Fixture f;
  SECTION("edit") {
    Json doc = Json::parse(read_text(f.file(f.snaps[4].id)));
    doc["action"]["details"]["day"] = 7;
    write_text(f.file(f.snaps[4].id), doc.dump(2));
    ChainReport r = f.chain();
    INFO(describe(r));
    const ChainBreak* b = first(r, "file");
    REQUIRE(b != nullptr);
    CHECK(b->id == f.snaps[4].id);
    CHECK(b->detail.find("edited") != std::string::npos);
  }
  SECTION("deletion") {
    REQUIRE(::unlink(f.file(f.snaps[6].id).c_str()) == 0);
    ChainReport r = f.chain();
    INFO(describe(r));
    const ChainBreak* b = first(r, "file");
    REQUIRE(b != nullptr);
    CHECK(b->id == f.snaps[6].id);
    CHECK(b->detail.find("deleted") != std::string::npos);
  }
  SECTION("insertion") {
    // A copy of a snapshot under a new id, its record kept: its content no
    // longer hashes to it. With the hash recomputed too, its seq holds
    // another snapshot.
    Json doc = Json::parse(read_text(f.file(f.snaps[0].id)));
    doc["snapshot_id"] = "action_20250101_130000_000000";
    write_text(f.file("action_20250101_130000_000000"), doc.dump(2));
    Json forged = doc;
    forged["metadata"].erase("chain");
    forged["snapshot_id"] = "action_20250101_140000_000000";
    write_text(f.file("action_20250101_140000_000000"),
               with_chain(forged, 1, k_genesis_hex).dump(2));
    ChainReport r = f.chain();
    INFO(describe(r));
    std::vector<std::string> ids;
    for (const ChainBreak& b : r.breaks) {
      ids.push_back(b.id);
    }
    CHECK(std::count(ids.begin(), ids.end(), "action_20250101_130000_000000") == 1);
    CHECK(std::count(ids.begin(), ids.end(), "action_20250101_140000_000000") == 1);
  }
  SECTION("reordering") {
    // Two files' chain records swapped.
    Json a = Json::parse(read_text(f.file(f.snaps[0].id)));
    Json b = Json::parse(read_text(f.file(f.snaps[2].id)));
    std::swap(a["metadata"]["chain"], b["metadata"]["chain"]);
    write_text(f.file(f.snaps[0].id), a.dump(2));
    write_text(f.file(f.snaps[2].id), b.dump(2));
    ChainReport r = f.chain();
    INFO(describe(r));
    CHECK(std::count_if(r.breaks.begin(), r.breaks.end(), [](const ChainBreak& x) {
            return x.where == "file";
          }) == 2);
  }
}

TEST_CASE("edits, deletions, insertions and reorderings in the log are each caught", "[chain]") {
  Fixture f;
  std::vector<std::string> lines = read_lines(f.log());
  auto write_log = [&] {
    std::string text;
    for (const std::string& l : lines) {
      text += l + "\n";
    }
    write_text(f.log(), text);
  };
  SECTION("edit") {
    const std::size_t at = lines[2].find("\"deploy\"");
    lines[2].replace(at, 8, "\"deplox\"");
    write_log();
    ChainReport r = f.chain();
    INFO(describe(r));
    const ChainBreak* b = first(r, "log");
    REQUIRE(b != nullptr);
    CHECK(b->id == f.snaps[4].id);
    CHECK(b->path == "action_log.jsonl:3");
    CHECK(b->detail.find("edited") != std::string::npos);
    // Reported once: its line is there, edited, not also missing.
    CHECK(r.breaks.size() == 1);
  }
  SECTION("deletion") {
    lines.erase(lines.begin() + 1);
    write_log();
    ChainReport r = f.chain();
    INFO(describe(r));
    const ChainBreak* b = first(r, "log");
    REQUIRE(b != nullptr);
    CHECK(b->id == f.snaps[2].id);
    CHECK(b->detail.find("deleted") != std::string::npos);
  }
  SECTION("insertion") {
    lines.push_back(lines[0]);
    write_log();
    ChainReport r = f.chain();
    INFO(describe(r));
    const ChainBreak* b = first(r, "log");
    REQUIRE(b != nullptr);
    CHECK(b->id == f.snaps[0].id);
    CHECK(b->detail.find("inserted") != std::string::npos);
  }
  SECTION("reordering") {
    // Lines moved to another place in the chain: their seqs swapped.
    Json a = Json::parse(lines[0]);
    Json b = Json::parse(lines[1]);
    std::swap(a["metadata"]["chain"]["seq"], b["metadata"]["chain"]["seq"]);
    lines[0] = a.dump();
    lines[1] = b.dump();
    write_log();
    ChainReport r = f.chain();
    INFO(describe(r));
    const ChainBreak* first_log = first(r, "log");
    REQUIRE(first_log != nullptr);
    CHECK(first_log->id == f.snaps[0].id);
    CHECK(first_log->detail.find("moved") != std::string::npos);
  }
  SECTION("a last line cut short") {
    std::string text;
    for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
      text += lines[i] + "\n";
    }
    text += lines.back().substr(0, lines.back().size() / 2);
    write_text(f.log(), text);
    ChainReport r = f.chain();
    INFO(describe(r));
    const std::string where = "action_log.jsonl:" + std::to_string(lines.size());
    CHECK(std::any_of(r.breaks.begin(), r.breaks.end(), [&](const ChainBreak& b) {
      return b.where == "log" && b.path == where && b.detail == "no newline: cut short";
    }));
  }
}

TEST_CASE("the chain runs through the archives, and restore puts it back as it was",
          "[chain][archive]") {
  Fixture f;
  const std::string jan_file = f.file(f.snaps[0].id);
  const std::string jan_text = read_text(jan_file);
  ArchiveOptions o;
  o.now = at_day(6, 1);
  o.month = "2025-01";
  auto archiver = Archiver::Open(*f.store, o);
  REQUIRE_OK(archiver.status());
  auto run = (*archiver)->run();
  REQUIRE_OK(run.status());
  REQUIRE(run->months.size() == 1);

  ChainReport r = f.chain();
  INFO(describe(r));
  CHECK(r.clean());
  CHECK(r.archived == 10);
  CHECK(r.snapshots == 4);
  CHECK(r.head->id == f.snaps.back().id);

  // A new snapshot links to the newest one, whatever was archived.
  f.add_action(3, 20);
  CHECK(f.snaps.back().chain->prev == f.snaps[f.snaps.size() - 2].chain->hash);

  auto restored = (*archiver)->restore("2025-01");
  REQUIRE_OK(restored.status());
  CHECK(restored->restored == 10);
  CHECK(read_text(jan_file) == jan_text); // the same record, byte for byte
  r = f.chain();
  INFO(describe(r));
  CHECK(r.clean());
  CHECK(r.snapshots == 15);
  auto v = f.store->verify();
  REQUIRE_OK(v.status());
  CHECK(v->clean());
  // Restored rows are found by a word search (indexed below the mark).
  SearchFilter filter;
  filter.words = {"deploy"};
  auto n = f.store->count(filter);
  REQUIRE_OK(n.status());
  CHECK(*n == 9);
}

TEST_CASE("when everything newer was archived, the next snapshot links to chain_tail",
          "[chain][archive]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  ActionInput late = action("old");
  late.at = at_day(1, 9);
  PeriodicInput p;
  p.at = at_day(1, 2);
  REQUIRE_OK(store->record_periodic(p).status()); // the newest periodic stays
  auto last = store->record_action(late);         // the newest seq, archived
  REQUIRE_OK(last.status());
  ArchiveOptions o;
  o.now = at_day(6, 1);
  auto archiver = Archiver::Open(*store, o);
  REQUIRE_OK(archiver.status());
  REQUIRE_OK((*archiver)->run().status());
  CHECK(query_int(store->db_path(), "SELECT count(*) FROM snapshot_rows") == 1);
  auto next = store->record_action(action("after"));
  REQUIRE_OK(next.status());
  CHECK(next->chain->prev == last->chain->hash);
  auto r = store->verify_chain({});
  REQUIRE_OK(r.status());
  INFO(describe(*r));
  CHECK(r->clean());
}

TEST_CASE("an anchor catches history rewritten consistently everywhere", "[chain]") {
  Fixture f;
  auto head = f.store->chain_head();
  REQUIRE_OK(head.status());
  const ChainAnchor anchor{(*head)->record.seq, (*head)->record.hash, (*head)->id};
  CHECK(f.chain({anchor}).clean());
  CHECK(f.chain({anchor}).anchors == 1);
  // The right seq and hash under another snapshot's id: not this chain's anchor.
  ChainReport other = f.chain({{anchor.seq, anchor.hash, "action_20200101_000000_000000"}});
  REQUIRE(other.breaks.size() == 1);
  CHECK(other.breaks[0].detail.find("not this chain's") != std::string::npos);

  // The forger edits seq 2, relinks every later row and rewrites the mirror.
  exec_sql(f.db(),
           "DROP TRIGGER snapshots_are_immutable; UPDATE snapshot_rows SET document = "
           "replace(document, 'operational', 'degraded') WHERE seq = 2");
  relink_from(f.db(), 3);
  REQUIRE_OK(f.store->rebuild_mirror().status());
  ChainReport r = f.chain({anchor});
  INFO(describe(r));
  REQUIRE(r.breaks.size() == 1);
  CHECK(r.breaks[0].where == "anchor");
  CHECK(r.breaks[0].seq == anchor.seq);
  CHECK(f.chain({{anchor.seq + 100, anchor.hash, ""}}).breaks.size() == 1);
}

TEST_CASE("an upgrade chains the rows already stored, oldest first", "[chain][schema]") {
  TempDir dir;
  Options o = options_in(dir);
  o.db_path = dir / "old.db";
  std::vector<std::string> docs;
  {
    SQLite::Database db(o.db_path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    int version = 0;
    REQUIRE_OK(store::migrate(db, 3, &version));
    for (int i = 0; i < 5; ++i) {
      const TimeUs t = at_day(2, 1 + i);
      const std::string id = make_snapshot_id(SnapshotType::action, t);
      ActionInput in = action("old", Json{{"i", i}});
      const std::string doc = store::action_document(id, t, in).dump();
      db.exec("INSERT INTO snapshot_rows (snapshot_id, snapshot_type, ts_us, action_type, "
              "status, details, document) VALUES ('" +
              id + "', 'action', " + std::to_string(t) +
              ", 'old', 'executing', '{\"i\":" + std::to_string(i) + "}', '" + doc + "')");
      docs.push_back(doc);
    }
  }
  auto store = open_store(o);
  std::string prev = k_genesis_hex;
  SQLite::Database db(o.db_path, SQLite::OPEN_READONLY);
  SQLite::Statement st(db, "SELECT prev FROM snapshot_chain ORDER BY seq");
  for (const std::string& doc : docs) {
    REQUIRE(st.executeStep());
    CHECK(st.getColumn(0).getString() == prev);
    prev = chain_hash_hex(prev, doc);
  }
  auto next = store->record_action(action("new"));
  REQUIRE_OK(next.status());
  CHECK(next->chain->prev == prev);
  REQUIRE_OK(store->repair().status()); // the mirror of the old rows
  auto r = store->verify_chain({});
  REQUIRE_OK(r.status());
  INFO(describe(*r));
  CHECK(r->clean());
  // Rows stay immutable once linked.
  CHECK_THROWS(exec_sql(o.db_path, "UPDATE snapshot_rows SET chain_prev = zeroblob(32)"));
}

TEST_CASE("verify_chain lets writers go on once it has read the database, and stays exact",
          "[chain]") {
  Fixture f;
  std::vector<ActionInput> many(4000, action("bulk", Json{{"k", "v"}}));
  REQUIRE_OK(f.store->record_actions(many).status());
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::atomic<int> failed{0};
  std::thread writer([&] {
    auto other = open_store(f.options);
    while (!stop) {
      if (other->record_action(action("during")).ok()) {
        ++written;
      } else {
        ++failed;
      }
    }
  });
  int written_during = 0;
  for (int i = 0; i < 3; ++i) {
    const int before = written;
    ChainReport r = f.chain();
    written_during += written - before;
    INFO(describe(r));
    CHECK(r.clean());
  }
  stop = true;
  writer.join();
  CHECK(failed == 0);
  // With the lock held exclusive throughout, a writer waits for the whole
  // check: at most one write would land during each.
  CHECK(written_during > 10);
  CHECK(f.chain().clean());
}
