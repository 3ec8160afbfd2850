#include "mirror/mirror.h"
#include "store/render.h"
#include "store/store_impl.h"
#include "support/test_util.h"
#include "util/fs.h"
#include "util/lines.h"

#include <SQLiteCpp/Database.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>
#include <tuple>

using namespace barrot;
using namespace barrot::test;
using std::filesystem::file_size;

namespace {

struct Fixture {
  TempDir dir;
  Options options = options_in(dir);
  std::vector<std::string> ids;
  std::string snaps = dir / "snapshots";
  std::string db = dir / "snapshots/.barrot/barrot.db";
  std::string log = dir / "snapshots/action_log.jsonl";

  // Records `n` actions and one periodic snapshot through a store that is closed again.
  explicit Fixture(int n = 3) {
    auto store = open_store(options);
    for (int i = 0; i < n; ++i) {
      auto s = store->record_action(action("step", Json{{"i", i}}));
      REQUIRE_OK(s.status());
      ids.push_back(s->id);
    }
    auto p = store->record_periodic(PeriodicInput{});
    REQUIRE_OK(p.status());
    ids.push_back(p->id);
  }

  std::string file(const std::string& id) const { return snaps + "/" + id + ".json"; }

  VerifyReport verify() {
    Options ro = options;
    ro.access = Access::read_only; // an open for writing would reconcile first
    auto r = open_store(ro)->verify();
    REQUIRE_OK(r.status());
    return *r;
  }

  std::multiset<std::string> kinds() {
    std::multiset<std::string> out;
    for (const Problem& p : verify().problems) {
      out.insert(std::string(to_string(p.kind)));
    }
    return out;
  }

  RepairReport repair() {
    Options o = options;
    o.reconcile_on_open = false; // let repair, not the open, do the work
    auto r = open_store(o)->repair();
    REQUIRE_OK(r.status());
    CHECK(verify().clean());
    return *r;
  }

  // Inserts a row as a writer that crashed right after its commit leaves it.
  std::string commit_without_mirror(TimeUs at) {
    const std::string id = make_snapshot_id(SnapshotType::action, at);
    ActionInput in = action("crashed");
    Json doc = store::action_document(id, at, in);
    const std::string prev = chain_head_hex(db);
    exec_sql(db,
             "INSERT INTO snapshot_rows (snapshot_id, snapshot_type, ts_us, action_type, status, "
             "details, document, chain_prev) VALUES ('" +
                 id + "', 'action', " + std::to_string(at) + ", 'crashed', 'executing', '" +
                 in.details.dump() + "', '" + doc.dump() + "', X'" + prev + "')");
    line_of[id] = with_chain(doc, query_int(db, "SELECT max(seq) FROM snapshot_rows"), prev).dump();
    return id;
  }

  // The log line of each snapshot commit_without_mirror added.
  std::map<std::string, std::string> line_of;
};

Options no_reconcile(Options o) {
  o.reconcile_on_open = false;
  return o;
}

} // namespace

TEST_CASE("a fresh store verifies clean", "[mirror]") {
  Fixture f;
  VerifyReport r = f.verify();
  CHECK(r.clean());
  CHECK(r.snapshots == 4);
  CHECK(r.files == 4);
  CHECK(r.lines == 3);
}

TEST_CASE("a valid file larger than the read limit once indented verifies clean", "[mirror]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  // 1 MiB of details, 62 arrays deep: indented, the file is over 64 MiB.
  Json inner = Json::array();
  for (int i = 0; i < 524'000; ++i) {
    inner.push_back(0);
  }
  for (int i = 0; i < 61; ++i) {
    inner = Json::array({std::move(inner)});
  }
  auto snap = store->record_action(action("wide", Json{{"a", std::move(inner)}}));
  REQUIRE_OK(snap.status());
  REQUIRE(std::filesystem::file_size(dir / ("snapshots/" + snap->id + ".json")) >
          util::k_max_read_bytes);
  auto r = store->verify();
  REQUIRE_OK(r.status());
  CHECK(r->clean());
}

TEST_CASE("a deleted mirror file is reported and rewritten", "[mirror][repair]") {
  Fixture f;
  REQUIRE(::unlink(f.file(f.ids[1]).c_str()) == 0);
  CHECK(f.kinds() == std::multiset<std::string>{"missing_file"});
  RepairReport r = f.repair();
  CHECK(r.files_written == 1);
  CHECK(file_exists(f.file(f.ids[1])));
}

TEST_CASE("an edited mirror file is reported, kept aside and rewritten", "[mirror][repair]") {
  Fixture f;
  std::string text = read_text(f.file(f.ids[0]));
  std::string edited = text;
  edited.replace(edited.find("\"step\""), 6, "\"STEP\"");
  write_text(f.file(f.ids[0]), edited);
  CHECK(f.kinds() == std::multiset<std::string>{"different_file"});
  RepairReport r = f.repair();
  CHECK(read_text(f.file(f.ids[0])) == text);
  REQUIRE_FALSE(r.quarantine_dir.empty());
  CHECK(read_text(f.snaps + "/" + r.quarantine_dir + "/" + f.ids[0] + ".json") == edited);
}

TEST_CASE("repair never moves content through a symbolic link planted as the quarantine",
          "[mirror][repair]") {
  Fixture f;
  TempDir elsewhere;
  std::filesystem::create_directories(f.snaps + "/.barrot");
  std::filesystem::remove_all(f.snaps + "/.barrot/quarantine");
  std::filesystem::create_directory_symlink(elsewhere.path(), f.snaps + "/.barrot/quarantine");
  write_text(f.file(f.ids[0]), "{\"edited\": true}");
  Options o = f.options;
  o.reconcile_on_open = false;
  auto r = open_store(o)->repair();
  CHECK(r.status().IsInvalidArgument());
  CHECK(r.status().message().find("is a symbolic link") != std::string::npos);
  CHECK(list_dir(elsewhere.path()).empty());
  CHECK(read_text(f.file(f.ids[0])) == "{\"edited\": true}"); // left where it was
}

TEST_CASE("a reformatted but equal file is not a disagreement", "[mirror]") {
  Fixture f;
  Json doc = Json::parse(read_text(f.file(f.ids[0])));
  write_text(f.file(f.ids[0]), doc.dump(4));
  CHECK(f.verify().clean());
}

TEST_CASE("a truncated mirror file is reported as torn", "[mirror][repair]") {
  Fixture f;
  std::string text = read_text(f.file(f.ids[2]));
  write_text(f.file(f.ids[2]), text.substr(0, text.size() / 2));
  CHECK(f.kinds() == std::multiset<std::string>{"torn_file"});
  f.repair();
  CHECK(read_text(f.file(f.ids[2])) == text);
}

TEST_CASE("a torn last log line is reported and replaced", "[mirror][repair]") {
  Fixture f;
  std::string log = read_text(f.log);
  write_text(f.log, log.substr(0, log.size() - 40));
  auto kinds = f.kinds();
  CHECK(kinds.count("torn_line") == 1);
  CHECK(kinds.count("missing_line") == 1);
  RepairReport r = f.repair();
  CHECK(r.log_rewritten);
  CHECK(read_text(f.log) == log);
}

TEST_CASE("duplicate and edited log lines are fixed, unknown lines kept", "[mirror][repair]") {
  Fixture f;
  auto lines = read_lines(f.log);
  const std::string foreign =
      R"({"snapshot_id": "action_20200101_000000_000000", "snapshot_type": "action"})";
  std::string edited = lines[1];
  edited.replace(edited.find("\"step\""), 6, "\"STEP\"");
  write_text(f.log,
             lines[0] + "\n" + lines[0] + "\n" + edited + "\n" + foreign + "\n" + lines[2] + "\n");
  CHECK(f.kinds() == std::multiset<std::string>{"duplicate_line", "different_line", "extra_line"});
  auto r = open_store(no_reconcile(f.options))->repair();
  REQUIRE_OK(r.status());
  REQUIRE(r->left_alone.size() == 1);
  CHECK(r->left_alone[0].kind == Problem::Kind::extra_line);
  CHECK(f.kinds() == std::multiset<std::string>{"extra_line"}); // left alone, still reported
  CHECK(read_lines(f.log) == std::vector<std::string>{lines[0], lines[1], foreign, lines[2]});
}

TEST_CASE("a missing log line is appended once", "[mirror][repair]") {
  Fixture f;
  auto lines = read_lines(f.log);
  write_text(f.log, lines[0] + "\n" + lines[2] + "\n");
  CHECK(f.kinds() == std::multiset<std::string>{"missing_line"});
  RepairReport r = f.repair();
  CHECK(r.lines_appended == 1);
  CHECK_FALSE(r.log_rewritten);
  CHECK(read_lines(f.log).size() == 3);
}

TEST_CASE("stale, missing and orphan latest_periodic.json are told apart", "[mirror]") {
  Fixture f;
  const std::string latest = f.snaps + "/latest_periodic.json";
  SECTION("stale") {
    write_text(latest, "{\"snapshot_id\":\"periodic_20000101_000000\"}");
    CHECK(f.kinds() == std::multiset<std::string>{"stale_latest"});
  }
  SECTION("missing") {
    REQUIRE(::unlink(latest.c_str()) == 0);
    CHECK(f.kinds() == std::multiset<std::string>{"missing_latest"});
  }
  f.repair();
  CHECK(read_text(latest) == read_text(f.file(f.ids[3])));
}

TEST_CASE("a latest_periodic.json without periodic snapshots is reported", "[mirror]") {
  TempDir dir;
  Options o = options_in(dir);
  REQUIRE_OK(open_store(o)->record_action(action("only")).status());
  write_text(dir / "snapshots/latest_periodic.json", "{}");
  o.access = Access::read_only;
  auto r = open_store(o)->verify();
  REQUIRE_OK(r.status());
  REQUIRE(r->problems.size() == 1);
  CHECK(r->problems[0].kind == Problem::Kind::extra_latest);
}

TEST_CASE("extra snapshot files are reported and never deleted", "[mirror]") {
  Fixture f;
  const std::string extra = f.snaps + "/action_20200101_000000_000000.json";
  write_text(extra, "{}");
  write_text(f.snaps + "/notes.json", "{}"); // not snapshot-named: not ours
  CHECK(f.kinds() == std::multiset<std::string>{"extra_file"});
  auto r = open_store(f.options)->repair();
  REQUIRE_OK(r.status());
  CHECK(r->left_alone.size() == 1);
  CHECK(file_exists(extra));
}

TEST_CASE("temp files left by an interrupted write are removed, others' are not", "[mirror]") {
  Fixture f;
  write_text(f.snaps + "/.latest_periodic.json.tmp", "{\"half");
  write_text(f.snaps + "/." + f.ids[0] + ".json.tmp", "{\"half");
  write_text(f.snaps + "/.notes.tmp", "mine");
  CHECK(f.kinds() == std::multiset<std::string>{"temp_file", "temp_file"});
  RepairReport r = f.repair();
  CHECK(r.temp_files_removed == 2);
  CHECK(read_text(f.snaps + "/.notes.tmp") == "mine");
}

TEST_CASE("a checkpoint far behind is reconciled by the streaming scan", "[mirror][crash]") {
  TempDir dir;
  const Options o = options_in(dir);
  {
    auto store = open_store(o);
    std::vector<ActionInput> batch(1000, action("bulk"));
    for (int i = 0; i < 21; ++i) {
      REQUIRE_OK(store->record_actions(batch).status());
    }
  }
  // As a rebuild or an in-place import killed after rewinding it leaves it,
  // with one line lost from the log's end.
  const std::string db = dir / "snapshots/.barrot/barrot.db";
  exec_sql(db, "UPDATE mirror_checkpoint SET seq = 0, log_offset = 0, log_inode = 0");
  const std::string log = dir / "snapshots/action_log.jsonl";
  std::string text = read_text(log);
  text.erase(text.rfind('\n', text.size() - 2) + 1);
  write_text(log, text);
  auto store = open_store(o); // its reconciliation
  auto r = store->verify();
  REQUIRE_OK(r.status());
  CHECK(r->clean());
  CHECK(r->lines == 21000);
}

TEST_CASE("the temporary log a killed repair left goes at the next open", "[mirror][crash]") {
  Fixture f;
  const std::string tmp = f.snaps + "/" + util::temp_name_for("action_log.jsonl");
  write_text(tmp, read_text(f.log));
  CHECK(f.kinds() == std::multiset<std::string>{"temp_file"});
  open_store(f.options); // a writer's open: its reconciliation finds it
  CHECK_FALSE(file_exists(tmp));
  CHECK(f.verify().clean());
}

TEST_CASE("a line torn by a killed writer and glued to the next append is healed",
          "[mirror][crash]") {
  Fixture f;
  const TimeUs at = parse_iso8601("2030-01-01T00:00:00Z").value();
  const std::string torn_id = f.commit_without_mirror(at);
  const std::string next_id = f.commit_without_mirror(at + 1);
  const std::string torn = f.line_of[torn_id];
  const std::string next = f.line_of[next_id];
  // The first writer died inside its write(); the second appended after it.
  std::ofstream(f.log, std::ios::app) << torn.substr(0, torn.size() / 2) << next << "\n";
  { open_store(f.options); }
  CHECK(f.verify().clean());
  auto lines = read_lines(f.log);
  CHECK(lines.size() == 5);
  CHECK(std::count(lines.begin(), lines.end(), next) == 1);
  CHECK(std::count(lines.begin(), lines.end(), torn) == 1);
}

TEST_CASE("a FIFO planted as a snapshot file does not hang the store", "[mirror][hostile]") {
  Fixture f;
  REQUIRE(::unlink(f.file(f.ids[0]).c_str()) == 0);
  REQUIRE(::mkfifo(f.file(f.ids[0]).c_str(), 0644) == 0);
  CHECK(f.kinds() == std::multiset<std::string>{"torn_file"});
  RepairReport r = f.repair();
  CHECK(r.files_written == 1);
  CHECK(read_text(f.file(f.ids[0])).find(f.ids[0]) != std::string::npos);
}

TEST_CASE("quarantine never replaces what it already kept", "[mirror][repair]") {
  // (With Sync::full each move and each new folder is also fsynced.)
  const Sync sync = GENERATE(Sync::normal, Sync::full);
  TempDir dir;
  std::unique_ptr<mirror::Mirror> m;
  REQUIRE_OK(mirror::Mirror::Open(dir.path(), sync, Access::read_write, &m));
  std::string folder;
  for (const char* text : {"one", "two"}) {
    write_text(dir / "x.json", text);
    REQUIRE_OK(m->quarantine("x.json", "same-stamp", &folder));
    REQUIRE_OK(m->quarantine_text("lines", text, "same-stamp", &folder));
  }
  const std::string kept = dir / (folder + "/");
  CHECK(read_text(kept + "x.json") == "one");
  CHECK(read_text(kept + "x.json.1") == "two");
  CHECK(read_text(kept + "lines") == "one");
  CHECK(read_text(kept + "lines.1") == "two");
  CHECK_FALSE(file_exists(dir / "x.json"));
}

TEST_CASE("a FIFO planted as the log does not hang the store", "[mirror][hostile]") {
  Fixture f;
  REQUIRE(::unlink(f.log.c_str()) == 0);
  REQUIRE(::mkfifo(f.log.c_str(), 0644) == 0);
  auto store = Store::Open(f.options); // the log's inode changed: a full scan
  CHECK_FALSE(store.ok());
  CHECK(store.status().message().find("action_log.jsonl") != std::string::npos);
}

TEST_CASE("a commit whose mirror a crash cut off is mirrored on the next open", "[mirror][crash]") {
  Fixture f;
  const std::string id = f.commit_without_mirror(parse_iso8601("2030-01-01T00:00:00Z").value());
  CHECK(f.kinds() == std::multiset<std::string>{"missing_file", "missing_line"});
  { open_store(f.options); } // reconciles
  CHECK(f.verify().clean());
  CHECK(file_exists(f.file(id)));
  CHECK(read_lines(f.log).size() == 4);
}

TEST_CASE("reconciliation does not append a line the crashed writer already wrote",
          "[mirror][crash]") {
  Fixture f;
  const TimeUs at = parse_iso8601("2030-01-01T00:00:00Z").value();
  const std::string id = f.commit_without_mirror(at);
  // The writer got as far as the log line, not the file (order in a batch).
  std::ofstream(f.log, std::ios::app) << f.line_of[id] << "\n";
  { open_store(f.options); }
  CHECK(f.verify().clean());
  CHECK(read_lines(f.log).size() == 4);
}

TEST_CASE("reconciliation replaces a torn tail left by a crash", "[mirror][crash]") {
  Fixture f;
  const std::string id = f.commit_without_mirror(parse_iso8601("2030-01-01T00:00:00Z").value());
  std::ofstream(f.log, std::ios::app) << "{\"snapshot_id\":\"" << id << "\",\"snaps";
  { open_store(f.options); }
  CHECK(f.verify().clean());
}

TEST_CASE("a writer's close reads the log back when it did not grow by exactly its lines",
          "[mirror][crash]") {
  // A close whose rows are all its own and whose lines are all the log grew
  // by moves the checkpoint without reading anything back; any other change
  // to the log must still be looked at.
  Fixture f;
  Options o = f.options;
  o.background_mirror = GENERATE(false, true);
  const auto before = static_cast<off_t>(std::filesystem::file_size(f.log));
  std::string id;
  {
    auto store = open_store(o);
    auto s = store->record_action(action("cut"));
    REQUIRE_OK(s.status());
    id = s->id;
    REQUIRE_OK(store->flush());
    const auto after = static_cast<off_t>(std::filesystem::file_size(f.log));
    REQUIRE(after > before);
    // Cut in half behind the writer's back: the log is now shorter than
    // what the writer appended, and its last line torn.
    REQUIRE(::truncate(f.log.c_str(), before + (after - before) / 2) == 0);
  } // the close's reconciliation
  CHECK(f.verify().clean());
  const auto lines = read_lines(f.log);
  REQUIRE(lines.size() == 4);
  CHECK(mirror::log_line_id(lines.back()) == id);
}

TEST_CASE("verify changes nothing", "[mirror]") {
  Fixture f;
  REQUIRE(::unlink(f.file(f.ids[0]).c_str()) == 0);
  const std::string log = read_text(f.log);
  Options ro = f.options;
  ro.access = Access::read_only;
  for (int i = 0; i < 2; ++i) {
    auto r = open_store(ro)->verify();
    REQUIRE_OK(r.status());
    CHECK(r->problems.size() == 1);
  }
  CHECK_FALSE(file_exists(f.file(f.ids[0])));
  CHECK(read_text(f.log) == log);
}

TEST_CASE("lines glued by an append after a missing newline are named and kept aside", "[mirror]") {
  Fixture f;
  // A foreign line without its newline, then a whole one appended onto it.
  const std::string glued = R"({"snapshot_id":"action_20200101_000000_000001","a":1})"
                            R"({"snapshot_id":"action_20200101_000000_000002","a":2})";
  write_text(f.log, read_text(f.log) + glued + "\n");
  auto v = f.verify();
  REQUIRE(v.problems.size() == 1);
  CHECK(v.problems[0].kind == Problem::Kind::torn_line);
  CHECK(v.problems[0].detail.find("not whole JSON") != std::string::npos);
  auto store = open_store(no_reconcile(f.options));
  auto r = store->repair();
  REQUIRE_OK(r.status());
  CHECK(r->lines_dropped == 1);
  CHECK(read_text(f.snaps + "/" + r->quarantine_dir + "/action_log.rejected.jsonl") ==
        glued + "\n");
  CHECK(f.verify().clean());
}

TEST_CASE("rebuild rewrites every file and the log from the database", "[mirror]") {
  Fixture f;
  write_text(f.log, "garbage\n");
  REQUIRE(::unlink(f.file(f.ids[3]).c_str()) == 0);
  auto store = open_store(no_reconcile(f.options));
  auto r = store->rebuild_mirror();
  REQUIRE_OK(r.status());
  CHECK(r->files_written == 4);
  CHECK(r->log_rewritten);
  CHECK(r->latest_written);
  CHECK(f.verify().clean());
  CHECK(read_text(f.snaps + "/" + r->quarantine_dir + "/action_log.jsonl") == "garbage\n");
}

TEST_CASE("rebuild of a store without a periodic snapshot writes no latest_periodic.json",
          "[mirror]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  REQUIRE_OK(store->record_action(action("step", Json::object())).status());
  auto r = store->rebuild_mirror();
  REQUIRE_OK(r.status());
  CHECK_FALSE(r->latest_written); // it said "latest_periodic.json written"
  CHECK_FALSE(file_exists(dir / "snapshots/latest_periodic.json"));
}

TEST_CASE("rebuild reports the lines it dropped, and leaves none of them alone", "[mirror]") {
  Fixture f(3);
  const std::string extra = R"({"snapshot_id":"action_20200101_000000_000000"})";
  write_text(f.log, read_text(f.log) + extra + "\n" + "torn");
  auto r = open_store(no_reconcile(f.options))->rebuild_mirror();
  REQUIRE_OK(r.status());
  CHECK(r->log_rewritten);
  CHECK(r->lines_dropped == 2);
  CHECK(r->left_alone.empty()); // the extra line is in quarantine, not in the log
  CHECK(f.verify().clean());
  CHECK(read_text(f.snaps + "/" + r->quarantine_dir + "/action_log.jsonl").find(extra) !=
        std::string::npos);
}

TEST_CASE("rebuild leaves a log that is already right as it is", "[mirror]") {
  Fixture f(5);
  struct stat before {};
  REQUIRE(::stat(f.log.c_str(), &before) == 0);
  const std::string text = read_text(f.log);
  auto r = open_store(no_reconcile(f.options))->rebuild_mirror();
  REQUIRE_OK(r.status());
  CHECK_FALSE(r->log_rewritten);
  struct stat after {};
  REQUIRE(::stat(f.log.c_str(), &after) == 0);
  CHECK(after.st_ino == before.st_ino);
  CHECK(read_text(f.log) == text);
  CHECK_FALSE(file_exists(f.snaps + "/" + util::temp_name_for("action_log.jsonl")));
  CHECK(f.verify().clean());
}

TEST_CASE("a log rewritten by repair is written piece by piece and whole", "[mirror][repair]") {
  // More lines than the writer's buffer holds, one of them edited: the new
  // log must be every line, in order, the edited one mended.
  Fixture f(0);
  {
    auto store = open_store(f.options);
    std::vector<ActionInput> batch;
    for (int i = 0; i < 3000; ++i) {
      batch.push_back(action("bulk", Json{{"i", i}, {"pad", std::string(400, 'x')}}));
    }
    auto written = store->record_actions(batch);
    REQUIRE_OK(written.status());
  }
  const std::vector<std::string> good = read_lines(f.log);
  REQUIRE(good.size() == 3000);
  REQUIRE(std::filesystem::file_size(f.log) > (1u << 20));
  std::vector<std::string> bad = good;
  bad[1234].replace(bad[1234].find("bulk"), 4, "BULK");
  std::string text;
  for (const std::string& line : bad) {
    text += line + "\n";
  }
  write_text(f.log, text);
  RepairReport r = f.repair();
  CHECK(r.log_rewritten);
  CHECK(r.lines_dropped == 1);
  CHECK(read_lines(f.log) == good);
  CHECK_FALSE(file_exists(f.snaps + "/" + util::temp_name_for("action_log.jsonl")));
}

TEST_CASE("a log replaced behind the store's back is fully reconciled", "[mirror][crash]") {
  Fixture f;
  std::string log = read_text(f.log);
  REQUIRE(::unlink(f.log.c_str()) == 0);
  write_text(f.log, log.substr(0, log.find('\n') + 1)); // a new, shorter file
  { open_store(f.options); }
  CHECK(f.verify().clean());
  CHECK(read_text(f.log).size() == log.size());
}

TEST_CASE("writes go on into a log that repair replaced", "[mirror]") {
  Fixture f;
  auto writer = open_store(f.options);
  REQUIRE_OK(writer->record_action(action("before")).status());
  std::string log = read_text(f.log);
  write_text(f.log + ".tmp", log + "torn");
  REQUIRE(::rename((f.log + ".tmp").c_str(), f.log.c_str()) == 0);
  f.repair(); // rewrites (replaces) the log
  REQUIRE_OK(writer->record_action(action("after")).status());
  CHECK(f.verify().clean());
  CHECK(read_lines(f.log).size() == 5);
}

TEST_CASE("verify lets writers in while it scans, and finds nothing wrong in what they add",
          "[mirror][concurrency]") {
  Fixture f(0);
  {
    auto store = open_store(f.options);
    std::vector<ActionInput> batch(500, action("before_verify", {{"k", "v"}}));
    for (int i = 0; i < 8; ++i) {
      REQUIRE_OK(store->record_actions(batch).status());
    }
  }
  // Another Store (its own lock file description, as another process) writes
  // actions and now and then a periodic snapshot until the verify is over.
  std::atomic<bool> verifying{false};
  std::atomic<bool> done{false};
  std::atomic<int> written{0};
  std::atomic<int> during{0};
  std::string error; // read after join
  std::thread writer([&] {
    auto w = Store::Open(f.options);
    if (!w.ok()) {
      error = w.status().ToString();
      return;
    }
    for (int i = 0; !done; ++i) {
      Status s = i % 40 == 39 ? (*w)->record_periodic(PeriodicInput{}).status()
                              : (*w)->record_action(action("during_verify")).status();
      if (!s.ok()) {
        error = s.ToString();
        return;
      }
      ++written;
      if (verifying) {
        ++during;
      }
    }
  });
  while (written < 5 && error.empty()) {
    std::this_thread::yield();
  }
  verifying = true;
  auto report = open_store(f.options)->verify();
  verifying = false;
  done = true;
  writer.join();
  REQUIRE(error.empty());
  REQUIRE_OK(report.status());
  INFO(report->problems.size() << " problems, the first: "
                               << (report->problems.empty() ? ""
                                                            : report->problems[0].path + " " +
                                                                  report->problems[0].detail));
  CHECK(report->clean());
  CHECK(report->snapshots >= 4000);
  // With the lock held exclusive throughout, a writer gets one write in at
  // most (the one under way when the verify asked for the lock).
  CHECK(during >= 10);
  CHECK(f.verify().clean()); // and all that was written is mirrored
}

TEST_CASE("the log read piece by piece gives the lines the whole text gives", "[mirror]") {
  TempDir dir;
  std::unique_ptr<mirror::Mirror> m;
  REQUIRE_OK(mirror::Mirror::Open(dir.path(), Sync::normal, Access::read_write, &m));
  // Lines short and long (one past the 64 KiB piece, one exactly a piece),
  // an empty one, and a last one cut short.
  std::string text;
  for (int i = 0; i < 3000; ++i) {
    text += std::string(static_cast<std::size_t>(i * 37 % 501), static_cast<char>('a' + i % 26));
    text += '\n';
    if (i == 1000) {
      text += std::string(100000, 'L') + "\n\n";
    }
    if (i == 2000) {
      text += std::string(65535, 'P') + "\n";
    }
  }
  text += "{\"cut";
  write_text(dir / "action_log.jsonl", text);
  using Line = std::tuple<std::string, std::int64_t, bool>;
  for (const std::int64_t limit : {std::int64_t{-1},
                                   static_cast<std::int64_t>(text.size()),
                                   std::int64_t{65536},
                                   std::int64_t{131072 + 17},
                                   std::int64_t{0}}) {
    INFO("limit " << limit);
    const std::string_view head =
        limit < 0 ? std::string_view(text) : std::string_view(text).substr(0, limit);
    std::vector<Line> expected;
    util::for_each_line(head, [&](std::string_view line, std::int64_t n, bool nl) {
      expected.emplace_back(std::string(line), n, nl);
    });
    std::vector<Line> got;
    REQUIRE_OK(m->for_each_log_line(limit, [&](std::string_view line, std::int64_t n, bool nl) {
      got.emplace_back(std::string(line), n, nl);
      return true;
    }));
    CHECK(got == expected);
  }
  // Stopping early.
  int seen = 0;
  REQUIRE_OK(
      m->for_each_log_line(-1, [&](std::string_view, std::int64_t, bool) { return ++seen < 10; }));
  CHECK(seen == 10);
}

TEST_CASE("an atomic writer builds its file in pieces and replaces the old one only at commit",
          "[mirror][fs]") {
  TempDir dir;
  util::UniqueFd dfd;
  REQUIRE_OK(util::open_dir(dir.path(), &dfd));
  write_text(dir / "f", "old");
  // A hard link planted at the temporary name must not be written through.
  write_text(dir / "victim", "keep");
  REQUIRE(::link((dir / "victim").c_str(), (dir / util::temp_name_for("f")).c_str()) == 0);
  std::string want;
  {
    util::AtomicWriter w;
    REQUIRE_OK(w.open(dfd.get(), "f", util::FsyncMode::fsync));
    for (std::size_t n : {std::size_t{1},
                          (std::size_t{1} << 20) + 3,
                          std::size_t{10},
                          std::size_t{2} << 20,
                          std::size_t{7}}) {
      const std::string piece(n, static_cast<char>('a' + want.size() % 26));
      REQUIRE_OK(w.append(piece));
      want += piece;
      CHECK(read_text(dir / "f") == "old"); // nothing shows before the commit
    }
    REQUIRE_OK(w.commit(util::Overwrite::yes));
  }
  CHECK(read_text(dir / "f") == want);
  CHECK(read_text(dir / "victim") == "keep");
  {
    util::AtomicWriter w; // given up: the file stays, the temporary goes
    REQUIRE_OK(w.open(dfd.get(), "f", util::FsyncMode::none));
    REQUIRE_OK(w.append("never"));
    REQUIRE_OK(w.flush());
  }
  CHECK(read_text(dir / "f") == want);
  CHECK_FALSE(file_exists(dir / util::temp_name_for("f")));
  util::AtomicWriter w;
  REQUIRE_OK(w.open(dfd.get(), "f", util::FsyncMode::none));
  CHECK(w.commit(util::Overwrite::no).message().find("exists") != std::string::npos);
  CHECK(read_text(dir / "f") == want);
}

TEST_CASE("an atomic writer whose write failed never commits", "[mirror][fs]") {
  TempDir dir;
  util::UniqueFd dfd;
  REQUIRE_OK(util::open_dir(dir.path(), &dfd));
  write_text(dir / "f", "old");
  // A file size limit makes the write fail part way (EFBIG), as a full disk
  // would.
  FileSizeLimit limit(256 * 1024);
  util::AtomicWriter w;
  Status opened = w.open(dfd.get(), "f", util::FsyncMode::none);
  Status big = opened.ok() ? w.append(std::string(2u << 20, 'x')) : opened;
  limit.lift();
  // The disk has room again: what follows would succeed, were it not for
  // the part of the file that is missing.
  Status after = w.append("more");
  Status committed = w.commit(util::Overwrite::yes);
  REQUIRE_OK(opened);
  CHECK_FALSE(big.ok());
  CHECK_FALSE(after.ok());
  CHECK_FALSE(committed.ok());
  CHECK(read_text(dir / "f") == "old");
}

TEST_CASE("a snapshot whose log line finds no room is stored, says so, and is mirrored later",
          "[mirror][fs]") {
  for (const bool batch : {false, true}) {
    INFO("batch " << batch);
    Fixture f(0);
    auto store = open_store(f.options);
    // A log much larger than the WAL: a file size limit at the log's size
    // lets a commit through and stops the log's append.
    REQUIRE_OK(
        store->record_action(action("big", Json{{"blob", std::string(200000, 'x')}})).status());
    exec_sql(f.db, "PRAGMA wal_checkpoint(TRUNCATE)");
    REQUIRE(file_size(f.log) > file_size(f.db + "-wal") + 64 * 1024);
    const auto lines_before = read_lines(f.log);
    std::vector<Snapshot> written;
    Status status;
    {
      FileSizeLimit limit(file_size(f.log));
      if (batch) {
        auto many = store->record_actions({action("one"), action("two")});
        status = many.status();
        if (many.ok()) {
          written = *many;
        }
      } else {
        auto one = store->record_action(action("one"));
        status = one.status();
        if (one.ok()) {
          written.push_back(*one);
        }
      }
    }
    REQUIRE_OK(status);
    for (const Snapshot& s : written) {
      CHECK_FALSE(s.mirror.ok());
      CHECK(s.mirror.message().find("action_log.jsonl") != std::string::npos);
    }
    CHECK(read_lines(f.log) == lines_before);
    CHECK(query_int(f.db, "SELECT count(*) FROM snapshot_rows") ==
          2 + static_cast<std::int64_t>(written.size()));
    store.reset(); // the close reconciles
    CHECK(f.verify().clean());
    const auto lines = read_lines(f.log);
    REQUIRE(lines.size() == 1 + written.size());
    for (std::size_t i = 0; i < written.size(); ++i) {
      CHECK(lines[1 + i] == mirrored(written[i]).dump());
    }
  }
}

// --- Binding: one store, one snapshots directory ---------------------------------

namespace {

std::string checkpoint_text(const std::string& db, const std::string& column) {
  SQLite::Database d(db, SQLite::OPEN_READONLY);
  return d.execAndGet("SELECT " + column + " FROM mirror_checkpoint").getString();
}

// What .barrot/mirror-id must hold for the store of `db`.
std::string binding_of(const std::string& db) {
  return checkpoint_text(db, "store_id") + " " + checkpoint_text(db, "mirror_id") + "\n";
}

} // namespace

TEST_CASE("a store and its snapshots directory hold the same ids", "[mirror][binding]") {
  Fixture f;
  CHECK(checkpoint_text(f.db, "store_id").size() == 32);
  CHECK(checkpoint_text(f.db, "mirror_id").size() == 32);
  CHECK(read_text(f.snaps + "/.barrot/mirror-id") == binding_of(f.db));
  TempDir other;
  auto again = open_store(options_in(other));
  CHECK(checkpoint_text(again->db_path(), "store_id") != checkpoint_text(f.db, "store_id"));
}

TEST_CASE("a database is not mirrored into a second directory", "[mirror][binding]") {
  Fixture f;
  Options o = f.options;
  o.db_path = f.db;
  o.snapshots_dir = f.dir / "elsewhere";
  auto s = Store::Open(o);
  REQUIRE(s.status().IsInvalidArgument());
  CHECK(s.status().message().find("is the store of another snapshots directory") !=
        std::string::npos);
  CHECK(s.status().message().find(o.snapshots_dir) != std::string::npos);
  CHECK_FALSE(file_exists(o.snapshots_dir)); // refused before anything was created
  // Reading does not write the mirror: a read-only open is let through.
  std::filesystem::create_directories(o.snapshots_dir);
  o.access = Access::read_only;
  REQUIRE_OK(Store::Open(o).status());
}

TEST_CASE("a directory that mirrors one store is refused to another", "[mirror][binding]") {
  Fixture f;
  const auto before = list_dir(f.snaps);
  const auto state_before = list_dir(f.snaps + "/.barrot");
  Options o = f.options;
  // No database yet: refused before one is created (its own was lost, or
  // --db is mistyped), pointing at the import that rebuilds one.
  o.db_path = f.dir / "new.db";
  auto s = Store::Open(o);
  REQUIRE(s.status().IsInvalidArgument());
  CHECK(s.status().message().find("there is no database at " + o.db_path) != std::string::npos);
  CHECK(s.status().message().find("barrot import") != std::string::npos);
  CHECK_FALSE(file_exists(o.db_path));
  // Another store's database.
  Options other = f.options;
  other.snapshots_dir = f.dir / "other";
  other.db_path = f.dir / "other.db";
  REQUIRE_OK(open_store(other)->record_action(action("elsewhere")).status());
  o.db_path = other.db_path;
  s = Store::Open(o);
  REQUIRE(s.status().IsInvalidArgument());
  CHECK(s.status().message().find("is the mirror of another store") != std::string::npos);
  CHECK(list_dir(f.snaps) == before);
  CHECK(list_dir(f.snaps + "/.barrot") == state_before);
  CHECK(f.verify().clean());
  // An import of the directory itself takes it over only into an empty store.
  o.adopt_mirror = Adopt::if_empty;
  CHECK(Store::Open(o).status().IsInvalidArgument());
  CHECK(list_dir(f.snaps + "/.barrot") == state_before);
  o.db_path = f.dir / "new.db";
  auto fresh = open_store(o);
  CHECK(read_text(f.snaps + "/.barrot/mirror-id") == binding_of(o.db_path));
}

TEST_CASE("a damaged mirror-id is named, and a rebuild binds the directory again",
          "[mirror][binding]") {
  Fixture f;
  for (const std::string& text :
       {std::string("not an id\n"), std::string(""), binding_of(f.db).substr(0, 40)}) {
    INFO(text);
    write_text(f.snaps + "/.barrot/mirror-id", text);
    auto s = Store::Open(f.options);
    REQUIRE(s.status().IsCorruption());
    CHECK(s.status().message().find(".barrot/mirror-id") != std::string::npos);
    CHECK(s.status().message().find("mirror --rebuild") != std::string::npos);
  }
  Options o = f.options;
  o.adopt_mirror = Adopt::yes;
  open_store(o);
  CHECK(read_text(f.snaps + "/.barrot/mirror-id") == binding_of(f.db));
  open_store(f.options);
}

TEST_CASE("a store open before its mirror moved writes nothing afterwards", "[mirror][binding]") {
  Fixture f;
  auto before = open_store(f.options); // bound to the first directory
  Options o = f.options;
  o.db_path = f.db;
  o.snapshots_dir = f.dir / "moved";
  o.adopt_mirror = Adopt::yes;
  open_store(o);
  const std::int64_t rows = query_int(f.db, "SELECT count(*) FROM snapshots");
  auto w = before->record_action(action("too_late"));
  REQUIRE(w.status().IsInvalidArgument());
  CHECK(w.status().message().find("bound to another snapshots directory") != std::string::npos);
  CHECK(query_int(f.db, "SELECT count(*) FROM snapshots") == rows);
  const std::string cp = checkpoint_text(f.db, "seq") + checkpoint_text(f.db, "log_offset");
  before.reset(); // its close does not move the checkpoint for its old directory
  CHECK(checkpoint_text(f.db, "seq") + checkpoint_text(f.db, "log_offset") == cp);
}

TEST_CASE("adopting a directory makes it the store's mirror and fills it in", "[mirror][binding]") {
  Fixture f;
  Options o = f.options;
  o.db_path = f.db;
  o.snapshots_dir = f.dir / "elsewhere";
  o.adopt_mirror = Adopt::yes;
  o.reconcile_on_open = false;
  {
    auto store = open_store(o);
    CHECK(read_text(o.snapshots_dir + "/.barrot/mirror-id") == binding_of(f.db));
    // The checkpoint no longer vouches for the directory.
    CHECK(query_int(f.db, "SELECT seq FROM mirror_checkpoint") == 0);
  }
  o.adopt_mirror = Adopt::no;
  o.reconcile_on_open = true;
  open_store(o); // the open's reconciliation writes every file and line
  o.access = Access::read_only;
  auto v = open_store(o)->verify();
  REQUIRE_OK(v.status());
  CHECK(v->clean());
  CHECK(v->files == static_cast<std::int64_t>(f.ids.size()));
  // The old directory is no longer the store's mirror.
  auto old = Store::Open(f.options);
  REQUIRE(old.status().IsInvalidArgument());
  CHECK(old.status().message().find("has since been bound to another directory") !=
        std::string::npos);
  // Adopting what is already bound changes nothing.
  const std::string bound = binding_of(f.db);
  o.access = Access::read_write;
  o.adopt_mirror = Adopt::yes;
  open_store(o);
  CHECK(binding_of(f.db) == bound);
  CHECK(query_int(f.db, "SELECT seq FROM mirror_checkpoint") > 0);
}

TEST_CASE("a store from before mirror ids binds to the directory it is opened with",
          "[mirror][binding]") {
  Fixture f;
  exec_sql(f.db, "UPDATE mirror_checkpoint SET mirror_id = ''");
  std::filesystem::remove(f.snaps + "/.barrot/mirror-id");
  auto store = open_store(f.options);
  CHECK(checkpoint_text(f.db, "mirror_id").size() == 32);
  CHECK(read_text(f.snaps + "/.barrot/mirror-id") == binding_of(f.db));
  CHECK(query_int(f.db, "SELECT seq FROM mirror_checkpoint") > 0); // not rewound
}

TEST_CASE("a binding cut short after its file was written is completed", "[mirror][binding]") {
  Fixture f;
  const std::string file = read_text(f.snaps + "/.barrot/mirror-id");
  exec_sql(f.db, "UPDATE mirror_checkpoint SET mirror_id = ''");
  open_store(f.options);
  CHECK(binding_of(f.db) == file);
  CHECK(read_text(f.snaps + "/.barrot/mirror-id") == file);
}

TEST_CASE("stores opened at once bind their directory once", "[mirror][binding]") {
  TempDir dir;
  Options o = options_in(dir);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      auto s = Store::Open(o);
      if (!s.ok() || !(*s)->record_action(action("t")).ok()) {
        ++failures;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  CHECK(failures == 0);
  CHECK(read_text(o.snapshots_dir + "/.barrot/mirror-id") ==
        binding_of(o.snapshots_dir + "/.barrot/barrot.db"));
}
