#include "archive/zstd_io.h"
#include "support/test_util.h"
#include "util/sha256.h"

#include <barrot/archive.h>

#include <SQLiteCpp/Database.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

using namespace barrot;
using namespace barrot::test;
using std::filesystem::file_size;

namespace {

TimeUs at(int year, int month, int day, int hour = 12) {
  auto t = parse_iso8601(std::to_string(year) + "-" + (month < 10 ? "0" : "") +
                         std::to_string(month) + "-" + (day < 10 ? "0" : "") + std::to_string(day) +
                         "T" + (hour < 10 ? "0" : "") + std::to_string(hour) + ":00:00Z");
  REQUIRE_OK(t.status());
  return *t;
}

Snapshot add_action(Store& store, TimeUs when, const std::string& type = "deploy") {
  ActionInput in = action(type, Json{{"n", when}});
  in.status = ActionStatus::completed;
  in.at = when;
  auto s = store.record_action(in);
  REQUIRE_OK(s.status());
  return *s;
}

Snapshot add_periodic(Store& store, TimeUs when) {
  PeriodicInput in;
  in.sections["system_state"] = Json{{"health", "operational"}};
  in.at = when;
  auto s = store.record_periodic(in);
  REQUIRE_OK(s.status());
  return *s;
}

// `n` actions of type `type`, a microsecond apart from `from`, each with
// `pad` bytes of padding in its details: a long log.
std::vector<ActionInput>
padded_actions(const std::string& type, TimeUs from, int n, std::size_t pad) {
  std::vector<ActionInput> out;
  for (int i = 0; i < n; ++i) {
    ActionInput in = action(type, Json{{"i", i}, {"pad", std::string(pad, type[0])}});
    in.at = from + i;
    out.push_back(in);
  }
  return out;
}

std::unique_ptr<Archiver> archiver_for(Store& store, ArchiveOptions o = {}) {
  auto a = Archiver::Open(store, o);
  REQUIRE_OK(a.status());
  return std::move(*a);
}

ArchiveRunReport run_at(Store& store, TimeUs now, ArchiveOptions o = {}) {
  o.now = now;
  auto a = archiver_for(store, o);
  auto r = a->run();
  REQUIRE_OK(r.status());
  REQUIRE_OK(r->unfinished);
  return *r;
}

// The lines of an archive file, decompressed.
std::vector<std::string> archive_lines(const std::string& path) {
  std::string data = read_text(path);
  std::vector<std::string> lines;
  REQUIRE_OK(archive::for_each_line(
      data,
      [&](std::string_view line) {
        lines.emplace_back(line);
        return true;
      },
      nullptr));
  return lines;
}

// Bytes this process has read with read(2) and its kin so far
// (/proc/self/io's rchar), or -1 where the kernel does not count them.
std::int64_t bytes_read_by_process() {
  if (file_exists("/proc/self/io")) {
    for (const std::string& line : read_lines("/proc/self/io")) {
      if (line.rfind("rchar: ", 0) == 0) {
        return std::stoll(line.substr(7));
      }
    }
  }
  WARN("no rchar in /proc/self/io: the bytes read are not checked");
  return -1;
}

std::int64_t rows(const TempDir& dir) {
  return query_int(dir / "snapshots/.barrot/barrot.db", "SELECT count(*) FROM snapshots");
}

void require_clean(Store& store) {
  auto v = store.verify();
  REQUIRE_OK(v.status());
  for (const Problem& p : v->problems) {
    INFO(std::string(to_string(p.kind)) + " " + p.id + " " + p.detail);
  }
  CHECK(v->clean());
  auto a = archiver_for(store)->verify("");
  REQUIRE_OK(a.status());
  for (const ArchiveProblem& p : a->problems) {
    INFO(p.month + ": " + p.detail);
  }
  CHECK(a->clean());
}

} // namespace

TEST_CASE("due months are archived, checked, and removed from the store and mirror", "[archive]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  std::vector<Snapshot> jan;
  for (int d = 1; d <= 31; d += 3) {
    jan.push_back(add_action(*store, at(2025, 1, d)));
    jan.push_back(add_periodic(*store, at(2025, 1, d, 18)));
  }
  Snapshot feb = add_action(*store, at(2025, 2, 10));
  Snapshot may = add_action(*store, at(2025, 5, 10));
  Snapshot newest = add_periodic(*store, at(2025, 6, 1));

  // June 15: periodic snapshots kept 30 days (to May 1), actions 90 (to Mar 1).
  ArchiveRunReport r = run_at(*store, at(2025, 6, 15));
  REQUIRE(r.months.size() == 2);
  CHECK(r.months[0].month == "2025-01");
  CHECK(r.months[0].actions == 11);
  CHECK(r.months[0].periodic == 11);
  CHECK(r.months[0].files_removed == 22);
  CHECK(r.months[0].lines_removed == 11);
  CHECK(r.months[1].month == "2025-02");
  CHECK(r.db_bytes_after <= r.db_bytes_before);

  // The archive: every document, compact, oldest first; readable by stock zstd.
  auto lines = archive_lines(dir / "snapshots/archive/2025-01.jsonl.zst");
  REQUIRE(lines.size() == jan.size());
  for (std::size_t i = 0; i < jan.size(); ++i) {
    CHECK(lines[i] == mirrored(jan[i]).dump());
  }
  Json manifest = Json::parse(read_text(dir / "snapshots/archive/2025-01.manifest.json"));
  CHECK(manifest["snapshots"] == 22);
  CHECK(manifest["counts"]["action"] == 11);
  CHECK(manifest["first"]["snapshot_id"] == jan.front().id);
  CHECK(manifest["last"]["snapshot_id"] == jan.back().id);
  CHECK(manifest["archive"]["sha256"] ==
        util::sha256_hex(read_text(dir / "snapshots/archive/2025-01.jsonl.zst")));

  // Gone from the store and the mirror; the rest untouched.
  CHECK(rows(dir) == 2);
  for (const Snapshot& s : jan) {
    CHECK_FALSE(file_exists(dir / ("snapshots/" + s.id + ".json")));
    CHECK(store->get(s.id).status().IsNotFound());
  }
  CHECK_FALSE(file_exists(dir / ("snapshots/" + feb.id + ".json")));
  CHECK(file_exists(dir / ("snapshots/" + may.id + ".json")));
  CHECK(read_lines(dir / "snapshots/action_log.jsonl") ==
        std::vector<std::string>{mirrored(may).dump()});
  auto latest = store->latest_periodic();
  REQUIRE_OK(latest.status());
  CHECK(latest->id == newest.id);
  require_clean(*store);

  // Nothing more is due.
  CHECK(run_at(*store, at(2025, 6, 15)).months.empty());
}

TEST_CASE("per-type retention: a month's actions are merged into its archive later", "[archive]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  Snapshot a1 = add_action(*store, at(2025, 1, 5));
  Snapshot p1 = add_periodic(*store, at(2025, 1, 6));
  Snapshot a2 = add_action(*store, at(2025, 1, 7));
  add_periodic(*store, at(2025, 3, 1));

  // A long log of actions not due.
  REQUIRE_OK(store->record_actions(padded_actions("march", at(2025, 3, 2), 300, 1000)).status());
  const std::string log = dir / "snapshots/action_log.jsonl";
  const std::string log_before = read_text(log);
  REQUIRE(log_before.size() > 300'000);
  // Closed and opened again: the close moves the mirror checkpoint past
  // them (else the run would read them to check them), and puts their
  // pages into the database.
  store.reset();
  store = open_store(options_in(dir));
  exec_sql(dir / "snapshots/.barrot/barrot.db", "PRAGMA wal_checkpoint(TRUNCATE)");
  const std::int64_t read_before = bytes_read_by_process();
  ArchiveRunReport first = run_at(*store, at(2025, 3, 15)); // periodic due, actions not
  const std::int64_t read_after = bytes_read_by_process();
  REQUIRE(first.months.size() == 1);
  CHECK(first.months[0].periodic == 1);
  CHECK(first.months[0].actions == 0);
  CHECK_FALSE(file_exists(dir / ("snapshots/" + p1.id + ".json")));
  // Periodic snapshots have no log lines: the log was not even read (but
  // for what lies past the mirror checkpoint: nothing here).
  if (read_before >= 0 && read_after >= 0) {
    CHECK(read_after - read_before < static_cast<std::int64_t>(log_before.size()) / 2);
  }
  CHECK(read_text(log) == log_before);
  CHECK(archive_lines(dir / "snapshots/archive/2025-01.jsonl.zst") ==
        std::vector<std::string>{mirrored(p1).dump()});
  require_clean(*store);

  ArchiveRunReport second = run_at(*store, at(2025, 5, 15)); // now the actions
  REQUIRE(second.months.size() == 1);
  CHECK(second.months[0].actions == 2);
  CHECK(second.months[0].in_archive == 3);
  CHECK(archive_lines(dir / "snapshots/archive/2025-01.jsonl.zst") ==
        std::vector<std::string>{mirrored(a1).dump(), mirrored(p1).dump(), mirrored(a2).dump()});
  auto list = archiver_for(*store)->list();
  REQUIRE_OK(list.status());
  REQUIRE(list->size() == 1);
  CHECK((*list)[0].snapshots == 3);
  CHECK((*list)[0].state == "archived");
  require_clean(*store);
}

TEST_CASE("the newest periodic snapshot stays, so latest_periodic.json stays right", "[archive]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  add_periodic(*store, at(2025, 1, 2));
  Snapshot last = add_periodic(*store, at(2025, 1, 20));
  ArchiveOptions o;
  o.month = "2025-01";
  ArchiveRunReport r = run_at(*store, at(2025, 6, 1), o);
  REQUIRE(r.months.size() == 1);
  CHECK(r.months[0].periodic == 1);
  CHECK(rows(dir) == 1);
  CHECK(read_text(dir / "snapshots/latest_periodic.json") == mirrored(last).dump(2));
  require_clean(*store);
}

TEST_CASE("a dry run reports the plan and changes nothing", "[archive]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  add_action(*store, at(2025, 1, 5));
  add_action(*store, at(2025, 1, 6));
  ArchiveOptions o;
  o.dry_run = true;
  ArchiveRunReport r = run_at(*store, at(2025, 6, 1), o);
  REQUIRE(r.months.size() == 1);
  CHECK(r.months[0].actions == 2);
  CHECK(r.months[0].bytes > 0);
  CHECK(rows(dir) == 2);
  CHECK_FALSE(file_exists(dir / "snapshots/archive"));
}

TEST_CASE("restore puts a month back, is idempotent, and a later run archives it again",
          "[archive]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  std::vector<Snapshot> jan;
  for (int d = 1; d <= 20; d += 2) {
    jan.push_back(add_action(*store, at(2025, 1, d)));
  }
  add_action(*store, at(2025, 6, 1));
  run_at(*store, at(2025, 6, 15));
  const std::string path = dir / "snapshots/archive/2025-01.jsonl.zst";
  const std::string before = util::sha256_hex(read_text(path));
  CHECK(rows(dir) == 1);

  auto a = archiver_for(*store);
  auto r = a->restore("2025-01");
  REQUIRE_OK(r.status());
  CHECK(r->restored == 10);
  CHECK(rows(dir) == 11);
  for (const Snapshot& s : jan) {
    CHECK(read_text(dir / ("snapshots/" + s.id + ".json")) == mirrored(s).dump(2));
  }
  CHECK(read_lines(dir / "snapshots/action_log.jsonl").size() == 11);
  require_clean(*store);

  auto again = a->restore("2025-01");
  REQUIRE_OK(again.status());
  CHECK(again->restored == 0);
  CHECK(again->already_present == 10);
  CHECK(read_lines(dir / "snapshots/action_log.jsonl").size() == 11);

  ArchiveRunReport rerun = run_at(*store, at(2025, 6, 15));
  REQUIRE(rerun.months.size() == 1);
  CHECK(rows(dir) == 1);
  CHECK(util::sha256_hex(read_text(path)) == before); // the same bytes
  require_clean(*store);
}

TEST_CASE("a damaged archive is reported, never merged into, and not restored", "[archive]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  for (int d = 1; d <= 20; d += 2) {
    add_action(*store, at(2025, 1, d));
  }
  run_at(*store, at(2025, 6, 15));
  const std::string path = dir / "snapshots/archive/2025-01.jsonl.zst";
  std::string data = read_text(path);
  data[data.size() / 2] ^= 0x20;
  write_text(path, data);

  auto v = archiver_for(*store)->verify("2025-01");
  REQUIRE_OK(v.status());
  CHECK_FALSE(v->clean());
  CHECK(archiver_for(*store)->restore("2025-01").status().IsCorruption());

  // A late snapshot of the month: the run refuses to rewrite the damaged
  // archive, and the snapshot stays in the store.
  Snapshot late = add_action(*store, at(2025, 1, 30));
  auto a = archiver_for(*store, [] {
    ArchiveOptions o;
    o.now = at(2025, 6, 15);
    return o;
  }());
  Status s = a->run().status();
  CHECK_FALSE(s.ok());
  CHECK(s.message().find("2025-01") != std::string::npos);
  CHECK(store->get(late.id).ok());
  CHECK(read_text(path) == data);
}

TEST_CASE("snapshots cannot be deleted except by archiving", "[archive]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  add_action(*store, at(2025, 1, 5));
  CHECK_THROWS(exec_sql(dir / "snapshots/.barrot/barrot.db", "DELETE FROM snapshot_rows"));
  CHECK(rows(dir) == 1);
}

TEST_CASE("an unfinished cleanup is reported by verify and finished by repair", "[archive]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  Snapshot s1 = add_action(*store, at(2025, 1, 5));
  add_action(*store, at(2025, 6, 1));
  run_at(*store, at(2025, 6, 15));
  // What a crash after the delete transaction leaves: the row gone, the
  // month "cleaning", its file and log line still there.
  write_text(dir / ("snapshots/" + s1.id + ".json"), mirrored(s1).dump(2));
  std::string log = read_text(dir / "snapshots/action_log.jsonl");
  write_text(dir / "snapshots/action_log.jsonl", mirrored(s1).dump() + "\n" + log);
  exec_sql(dir / "snapshots/.barrot/barrot.db", "UPDATE archives SET state = 'cleaning'");
  store.reset();
  store = open_store(options_in(dir));

  auto v = store->verify();
  REQUIRE_OK(v.status());
  REQUIRE(v->problems.size() == 1);
  CHECK(v->problems[0].kind == Problem::Kind::archive_cleanup);

  REQUIRE_OK(store->repair().status());
  CHECK_FALSE(file_exists(dir / ("snapshots/" + s1.id + ".json")));
  CHECK(read_text(dir / "snapshots/action_log.jsonl") == log);
  CHECK(query_int(dir / "snapshots/.barrot/barrot.db",
                  "SELECT count(*) FROM archives WHERE state = 'archived'") == 1);
  require_clean(*store);
}

TEST_CASE("archiver input is checked", "[archive]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  for (const char* bad : {"2025-13", "2025-1", "25-01", "2025/01", "2025-00", "abcd-ef", ""}) {
    ArchiveOptions o;
    o.month = bad;
    if (std::string(bad).empty()) {
      continue; // empty means every due month
    }
    INFO(bad);
    CHECK(Archiver::Open(*store, o).status().IsInvalidArgument());
  }
  ArchiveOptions early;
  early.month = "1960-01"; // a month, but none an archive holds: said so
  CHECK(Archiver::Open(*store, early).status().message() ==
        "month 1960-01 is before 1970: archives hold 1970-01 to 9998-12 (older snapshots stay in "
        "the store)");
  ArchiveOptions level;
  level.level = 20;
  CHECK(Archiver::Open(*store, level).status().IsInvalidArgument());
  ArchiveOptions current;
  current.month = "2025-06";
  current.now = at(2025, 6, 15);
  CHECK(archiver_for(*store, current)->run().status().IsInvalidArgument());
  CHECK(archiver_for(*store)->restore("2025-01").status().IsNotFound());
  CHECK(archiver_for(*store)->restore("../../etc").status().IsInvalidArgument());

  CHECK(*parse_retention_days("30d") == 30);
  CHECK(*parse_retention_days("12w") == 84);
  CHECK(*parse_retention_days("90") == 90);
  for (const char* bad : {"", "d", "-1d", "30x", "1.5d", "99999999d"}) {
    INFO(bad);
    CHECK(parse_retention_days(bad).status().IsInvalidArgument());
  }
}

TEST_CASE("the archive section of the configuration file", "[archive]") {
  TempDir dir;
  const std::string path = dir / "barrot.yaml";
  write_text(path,
             "interval: 30m\narchive:\n  dir: /srv/archive\n  retain_periodic: 2w\n"
             "  retain_actions: 180d\n  level: 9\n");
  ArchiveOptions o;
  REQUIRE_OK(load_archive_config(path, &o));
  CHECK(o.archive_dir == "/srv/archive");
  CHECK(o.retention.periodic_days == 14);
  CHECK(o.retention.action_days == 180);
  CHECK(o.level == 9);
  PeriodicConfig pc;
  REQUIRE_OK(load_periodic_config(path, &pc)); // the periodic reader skips the section

  write_text(path, "archive:\n  retain_forever: yes\n");
  Status s = load_archive_config(path, &o);
  CHECK(s.IsInvalidArgument());
  CHECK(s.message().find("line 2") != std::string::npos);
  CHECK(s.message().find("archive.retain_forever") != std::string::npos);
  write_text(path, "archive:\n  level: 40\n");
  CHECK(load_archive_config(path, &o).IsInvalidArgument());
  write_text(path, "archive: 3\n");
  CHECK(load_archive_config(path, &o).IsInvalidArgument());
  write_text(path, "archive:\n  retain_actions: 30d\n  retain_actions: 365d\n");
  s = load_archive_config(path, &o);
  CHECK(s.IsInvalidArgument());
  CHECK(s.message().find("'archive.retain_actions' is set twice") != std::string::npos);
}

TEST_CASE("archived months overlapping a time range", "[archive]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  add_action(*store, at(2025, 1, 5));
  add_action(*store, at(2025, 3, 5));
  add_action(*store, at(2025, 9, 5));
  run_at(*store, at(2025, 9, 15));
  auto all = Archiver::archived_months(*store, at(2024, 1, 1), at(2026, 1, 1));
  REQUIRE_OK(all.status());
  CHECK(*all == std::vector<std::string>{"2025-01", "2025-03"});
  auto some = Archiver::archived_months(*store, at(2025, 2, 1), at(2025, 3, 2));
  REQUIRE_OK(some.status());
  CHECK(*some == std::vector<std::string>{"2025-03"});
}

TEST_CASE("one archiver at a time", "[archive]") {
  TempDir dir;
  Options o = options_in(dir);
  o.busy_timeout_ms = 100;
  auto store = open_store(o);
  add_action(*store, at(2025, 1, 5));
  const std::string lock_path = dir / "snapshots/.barrot/archive.lock";
  write_text(lock_path, "");
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX) == 0);
  ArchiveOptions ao;
  ao.now = at(2025, 6, 15);
  Status s = archiver_for(*store, ao)->run().status();
  CHECK(s.IsBusy());
  CHECK(archiver_for(*store)->restore("2025-01").status().IsBusy());
  CHECK(rows(dir) == 1);
  ::close(fd);
  CHECK(run_at(*store, at(2025, 6, 15)).months.size() == 1);
}

TEST_CASE("an archive file the store did not record is never merged or overwritten", "[archive]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  add_action(*store, at(2025, 1, 5));
  REQUIRE(::mkdir((dir / "snapshots/archive").c_str(), 0755) == 0);
  write_text(dir / "snapshots/archive/2025-01.jsonl.zst", "someone else's");
  ArchiveOptions o;
  o.now = at(2025, 6, 15);
  Status s = archiver_for(*store, o)->run().status();
  CHECK(s.IsCorruption());
  CHECK(s.message().find("no record of it") != std::string::npos);
  CHECK(rows(dir) == 1);
  CHECK(read_text(dir / "snapshots/archive/2025-01.jsonl.zst") == "someone else's");
}

TEST_CASE("a recorded archive that went missing stops its month, nothing else is lost",
          "[archive]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  add_periodic(*store, at(2025, 1, 5));
  Snapshot action = add_action(*store, at(2025, 1, 6));
  add_periodic(*store, at(2025, 3, 1));
  run_at(*store, at(2025, 3, 15)); // January's periodic snapshot archived
  std::rename((dir / "snapshots/archive/2025-01.jsonl.zst").c_str(), (dir / "moved.zst").c_str());
  ArchiveOptions o;
  o.now = at(2025, 6, 15); // now the action is due, and would be merged
  CHECK_FALSE(archiver_for(*store, o)->run().ok());
  CHECK(store->get(action.id).ok());
  auto v = archiver_for(*store)->verify("2025-01");
  REQUIRE_OK(v.status());
  CHECK_FALSE(v->clean());
}

TEST_CASE("a run stopped between its commit and moving the new archive into place", "[archive]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  Snapshot a = add_action(*store, at(2025, 1, 5));
  add_action(*store, at(2025, 6, 1));
  run_at(*store, at(2025, 6, 15));
  // As if the renames after the delete transaction never happened.
  const std::string arch = dir / "snapshots/archive/";
  std::rename((arch + "2025-01.jsonl.zst").c_str(), (arch + "2025-01.next.jsonl.zst").c_str());
  std::rename((arch + "2025-01.manifest.json").c_str(),
              (arch + "2025-01.next.manifest.json").c_str());
  // Readers use the staged archive (the one recorded); verify names it.
  auto v = archiver_for(*store)->verify("");
  REQUIRE_OK(v.status());
  REQUIRE(v->problems.size() >= 1);
  SearchFilter f;
  auto n = archiver_for(*store)->count(f);
  REQUIRE_OK(n.status());
  CHECK(*n == 1);
  // The next run settles it.
  run_at(*store, at(2025, 6, 15));
  CHECK(file_exists(arch + "2025-01.jsonl.zst"));
  CHECK_FALSE(file_exists(arch + "2025-01.next.jsonl.zst"));
  CHECK(archive_lines(arch + "2025-01.jsonl.zst") == std::vector<std::string>{mirrored(a).dump()});
  require_clean(*store);

  // A staged archive the store never committed to is removed.
  write_text(arch + "2025-02.next.jsonl.zst", "half");
  write_text(arch + "2025-02.next.manifest.json", "{}");
  run_at(*store, at(2025, 6, 15));
  CHECK_FALSE(file_exists(arch + "2025-02.next.jsonl.zst"));
  CHECK_FALSE(file_exists(arch + "2025-02.next.manifest.json"));
}

TEST_CASE("a restored month archived again holds each snapshot once", "[archive]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  add_periodic(*store, at(2025, 1, 5));
  add_action(*store, at(2025, 1, 6));
  add_periodic(*store, at(2025, 6, 1));
  run_at(*store, at(2025, 6, 15)); // both January snapshots archived
  REQUIRE_OK(archiver_for(*store)->restore("2025-01").status());
  // Only periodic snapshots are due: the restored action stays in the store
  // and out of the archive.
  ArchiveOptions o;
  o.retention.action_days = 36600;
  run_at(*store, at(2025, 6, 15), o);
  CHECK(archive_lines(dir / "snapshots/archive/2025-01.jsonl.zst").size() == 1);
  CHECK(rows(dir) == 2);
  SearchFilter f;
  auto in_archives = archiver_for(*store)->count(f);
  REQUIRE_OK(in_archives.status());
  CHECK(*in_archives == 1);
  require_clean(*store);
}

TEST_CASE("archives inside the snapshots directory move with it", "[archive]") {
  TempDir dir;
  {
    auto store = open_store(options_in(dir));
    add_action(*store, at(2025, 1, 5));
    add_action(*store, at(2025, 6, 1));
    run_at(*store, at(2025, 6, 15));
  }
  REQUIRE(std::rename((dir / "snapshots").c_str(), (dir / "moved").c_str()) == 0);
  Options o;
  o.snapshots_dir = dir / "moved";
  auto store = open_store(o);
  auto list = archiver_for(*store)->list();
  REQUIRE_OK(list.status());
  REQUIRE(list->size() == 1);
  CHECK((*list)[0].archive_bytes > 0);
  require_clean(*store);
  auto r = archiver_for(*store)->restore("2025-01");
  REQUIRE_OK(r.status());
  CHECK(r->restored == 1);
}

TEST_CASE("archives moved away are found in the archive directory given, and recorded there",
          "[archive]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  Snapshot jan = add_action(*store, at(2025, 1, 5));
  add_action(*store, at(2025, 2, 5));
  add_action(*store, at(2025, 6, 1));
  run_at(*store, at(2025, 6, 15));
  const std::string moved = dir / "elsewhere";
  REQUIRE(std::rename((dir / "snapshots/archive").c_str(), moved.c_str()) == 0);
  // As if the run that archived February was stopped before its move into
  // place: the staged copy is the only one.
  REQUIRE(std::rename((moved + "/2025-02.jsonl.zst").c_str(),
                      (moved + "/2025-02.next.jsonl.zst").c_str()) == 0);
  // Readers without the new place: missing (NotFound), with the way on.
  auto missing = archiver_for(*store)->restore("2025-01");
  CHECK(missing.status().IsNotFound());
  CHECK(missing.status().message().find("barrot-archive run --archive-dir") != std::string::npos);
  ArchiveOptions there;
  there.archive_dir = moved;
  // Read-only users given the place read it (verify names the staged copy).
  auto v = archiver_for(*store, there)->verify("2025-01");
  REQUIRE_OK(v.status());
  CHECK(v->clean());
  // A run records the new place of both, and settles the staged one there:
  // it is the store's only copy of February, never to be deleted.
  ArchiveRunReport r = run_at(*store, at(2025, 6, 15), there);
  CHECK(r.relocated == std::vector<std::string>{"2025-01", "2025-02"});
  CHECK(file_exists(moved + "/2025-02.jsonl.zst"));
  CHECK_FALSE(file_exists(moved + "/2025-02.next.jsonl.zst"));
  CHECK(query_int(dir / "snapshots/.barrot/barrot.db",
                  "SELECT count(*) FROM archives WHERE file LIKE '" + moved + "/%'") == 2);
  // Now every reader finds them without being told: the store's own checks,
  // the chain through the archives, and import's look into archived months.
  require_clean(*store);
  auto chain = store->verify_chain({});
  REQUIRE_OK(chain.status());
  CHECK(chain->breaks.empty());
  REQUIRE_OK(archiver_for(*store)->restore("2025-01").status());
  CHECK(store->get(jan.id).ok());
}

TEST_CASE("a dry run stops where the run would: a month whose archive to extend is missing",
          "[archive]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  add_periodic(*store, at(2025, 1, 5));
  add_action(*store, at(2025, 1, 6));
  add_periodic(*store, at(2025, 6, 1));
  ArchiveOptions periodic_only;
  periodic_only.retention.action_days = 36600;
  run_at(*store, at(2025, 6, 15), periodic_only); // January's periodic snapshot only
  REQUIRE(std::rename((dir / "snapshots/archive").c_str(), (dir / "away").c_str()) == 0);
  for (bool dry : {true, false}) {
    ArchiveOptions o;
    o.dry_run = dry;
    o.now = at(2025, 6, 15);
    auto r = archiver_for(*store, o)->run();
    INFO(dry);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("the archive of 2025-01 cannot be extended") !=
          std::string::npos);
  }
  CHECK(rows(dir) == 2); // January's action is still in the store
}

TEST_CASE("a staged archive that is the only good copy of a month is never removed", "[archive]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  add_action(*store, at(2025, 1, 5));
  add_action(*store, at(2025, 6, 1));
  run_at(*store, at(2025, 6, 15));
  const std::string arch = dir / "snapshots/archive/";
  const std::string other = dir / "other";
  // The recorded archive damaged; another directory holds a staged copy of
  // it (a run there committed, then stopped before its move into place).
  REQUIRE(::mkdir(other.c_str(), 0755) == 0);
  write_text(other + "/2025-01.next.jsonl.zst", read_text(arch + "2025-01.jsonl.zst"));
  write_text(arch + "2025-01.jsonl.zst", "damaged");
  ArchiveOptions o;
  o.archive_dir = other;
  ArchiveRunReport r = run_at(*store, at(2025, 6, 15), o);
  // Recorded in its place and moved into place there, never removed.
  CHECK(r.relocated == std::vector<std::string>{"2025-01"});
  CHECK(file_exists(other + "/2025-01.jsonl.zst"));
  CHECK_FALSE(file_exists(other + "/2025-01.next.jsonl.zst"));
  auto back = archiver_for(*store, o)->restore("2025-01");
  REQUIRE_OK(back.status());
  CHECK(back->restored == 1);
}

TEST_CASE("an archive that cannot be written for want of room removes nothing", "[archive][fs]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  // January's details barely compress (hex digests, all different): its
  // archive needs more room than the file size limit below leaves, and the
  // run's database writes before the archive fit in that room.
  std::vector<Snapshot> jan;
  for (int i = 0; i < 40; ++i) {
    std::string blob;
    for (int k = 0; k < 64; ++k) {
      blob += util::sha256_hex(std::to_string(i * 1000 + k));
    }
    ActionInput in = action("deploy", Json{{"blob", blob}});
    in.status = ActionStatus::completed;
    in.at = at(2025, 1, 1) + TimeUs{i} * 3'600'000'000;
    auto s = store->record_action(in);
    REQUIRE_OK(s.status());
    jan.push_back(*s);
  }
  Snapshot may = add_action(*store, at(2025, 5, 10));
  // A repair first brings the full-text index up to date, which the run
  // would otherwise do first, in a transaction larger than the room.
  REQUIRE_OK(store->repair().status());
  const std::string db = dir / "snapshots/.barrot/barrot.db";
  exec_sql(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  const std::string log_before = read_text(dir / "snapshots/action_log.jsonl");
  const auto files_before = list_dir(dir / "snapshots");
  const std::string month_file = dir / "snapshots/archive/2025-01.jsonl.zst";
  Status failed;
  {
    ArchiveOptions o;
    o.now = at(2025, 6, 15);
    auto a = archiver_for(*store, o);
    FileSizeLimit limit(64 * 1024);
    failed = a->run().status();
  }
  REQUIRE_FALSE(failed.ok());
  INFO(failed.ToString());
  CHECK(failed.message().find("2025-01") != std::string::npos);
  CHECK(rows(dir) == 41);
  CHECK(read_text(dir / "snapshots/action_log.jsonl") == log_before);
  for (const Snapshot& s : jan) {
    CHECK(file_exists(dir / ("snapshots/" + s.id + ".json")));
  }
  CHECK_FALSE(file_exists(month_file));
  if (file_exists(dir / "snapshots/archive")) {
    CHECK(list_dir(dir / "snapshots/archive").empty()); // no temporary left
  }
  auto files_after = list_dir(dir / "snapshots");
  files_after.erase(std::remove(files_after.begin(), files_after.end(), "archive"),
                    files_after.end());
  CHECK(files_after == files_before);
  require_clean(*store);

  // With room again, the very next run archives the month whole.
  ArchiveRunReport r = run_at(*store, at(2025, 6, 15));
  REQUIRE(r.months.size() == 1);
  CHECK(r.months[0].actions == 40);
  CHECK(file_size(month_file) > 64 * 1024);
  CHECK(rows(dir) == 1);
  auto lines = archive_lines(month_file);
  REQUIRE(lines.size() == jan.size());
  for (std::size_t i = 0; i < jan.size(); ++i) {
    CHECK(lines[i] == mirrored(jan[i]).dump());
  }
  CHECK(read_lines(dir / "snapshots/action_log.jsonl") ==
        std::vector<std::string>{mirrored(may).dump()});
  require_clean(*store);
}

TEST_CASE("a restore that runs out of room puts back all of the month or none of it",
          "[archive][fs]") {
  std::map<std::string, int> outcomes;
  // Limits from none to around the end of a log longer than the restore's
  // commit: there the commit goes through and the mirror's append is cut.
  for (const std::int64_t past_log_end : {-100000000, -10, 0, 300, 100000000}) {
    INFO(past_log_end << " bytes past the log's end");
    TempDir dir;
    auto store = open_store(options_in(dir));
    std::vector<Snapshot> jan;
    for (int d = 1; d <= 20; d += 2) {
      jan.push_back(add_action(*store, at(2025, 1, d)));
    }
    REQUIRE_OK(store->record_actions(padded_actions("june", at(2025, 6, 1), 200, 1500)).status());
    run_at(*store, at(2025, 6, 15));
    REQUIRE(rows(dir) == 200);
    const std::string db = dir / "snapshots/.barrot/barrot.db";
    const std::string log = dir / "snapshots/action_log.jsonl";
    exec_sql(db, "PRAGMA wal_checkpoint(TRUNCATE)");
    const std::int64_t limit =
        std::max<std::int64_t>(0, static_cast<std::int64_t>(file_size(log)) + past_log_end);
    auto a = archiver_for(*store);
    Status s;
    Status mirror;
    {
      FileSizeLimit room(static_cast<std::uint64_t>(limit));
      auto r = a->restore("2025-01");
      s = r.status();
      mirror = r.ok() ? r->mirror : Status::OK();
    }
    const std::int64_t back = rows(dir) - 200;
    if (!s.ok()) {
      ++outcomes["none"];
      CHECK(back == 0);
    } else if (!mirror.ok()) {
      ++outcomes["all, mirror cut"];
      CHECK(back == 10);
      CHECK(mirror.message().find("restored 10 snapshots, but mirroring them failed") !=
            std::string::npos);
    } else {
      ++outcomes["all"];
      CHECK(back == 10);
    }
    // With room again: repair completes the mirror, and a restore puts back
    // what is still missing.
    REQUIRE_OK(store->repair().status());
    auto again = a->restore("2025-01");
    REQUIRE_OK(again.status());
    CHECK(again->restored == 10 - back);
    CHECK(rows(dir) == 210);
    for (const Snapshot& snap : jan) {
      CHECK(read_text(dir / ("snapshots/" + snap.id + ".json")) == mirrored(snap).dump(2));
    }
    require_clean(*store);
  }
  CHECK(outcomes["none"] > 0);
  CHECK(outcomes["all, mirror cut"] > 0);
  CHECK(outcomes["all"] > 0);
}

TEST_CASE("a run cut short after a month left the store says so and the next run finishes",
          "[archive][fs]") {
  std::map<std::string, int> outcomes;
  // Limits around the size of a log far longer than a month's archive:
  // the archives and the delete transactions fit, while the log rewritten
  // without a month's lines, or giving space back, may not.
  for (const std::int64_t past_log_end :
       {-100000000, -200000, -20000, -6000, -3000, -1000, 0, 3000, 100000000}) {
    INFO(past_log_end << " bytes past the log's end");
    TempDir dir;
    auto store = open_store(options_in(dir));
    std::vector<Snapshot> old;
    for (int month : {1, 2}) {
      for (int d = 1; d <= 20; d += 2) {
        old.push_back(add_action(*store, at(2025, month, d)));
      }
    }
    REQUIRE_OK(store->record_actions(padded_actions("june", at(2025, 6, 1), 200, 1500)).status());
    REQUIRE_OK(store->repair().status()); // the full-text index brought up to date
    const std::string db = dir / "snapshots/.barrot/barrot.db";
    const std::string log = dir / "snapshots/action_log.jsonl";
    exec_sql(db, "PRAGMA wal_checkpoint(TRUNCATE)");
    const std::int64_t limit =
        std::max<std::int64_t>(0, static_cast<std::int64_t>(file_size(log)) + past_log_end);
    ArchiveOptions o;
    o.now = at(2025, 6, 15);
    auto a = archiver_for(*store, o);
    Result<ArchiveRunReport> r = Status::OK();
    {
      FileSizeLimit room(static_cast<std::uint64_t>(limit));
      r = a->run();
    }
    const std::int64_t left = rows(dir) - 200;
    std::string outcome;
    if (!r.ok()) {
      outcome = "failed, nothing moved";
      INFO(r.status().ToString());
      CHECK(left == 20);
    } else if (!r->unfinished.ok()) {
      INFO(r->unfinished.ToString());
      const std::string& m = r->unfinished.message();
      // The months reported are out of the store; the others are in it.
      CHECK(left == 20 - 10 * static_cast<std::int64_t>(r->months.size()));
      REQUIRE_FALSE(r->months.empty());
      if (m.find("could not finish its cleanup") != std::string::npos) {
        outcome = "cleanup unfinished";
        CHECK(m.find("archived " + r->months.back().month) != std::string::npos);
      } else if (m.find("could not archive 2025-02") != std::string::npos) {
        outcome = "second month not archived";
        CHECK(r->months.size() == 1);
      } else {
        outcome = "space not given back";
        CHECK(m.find("cannot reclaim space") != std::string::npos);
        CHECK(r->months.size() == 2);
      }
    } else {
      outcome = "whole";
      CHECK(left == 0);
      CHECK(r->months.size() == 2);
    }
    ++outcomes[outcome];
    // With room again, the next run finishes what this one left, the space
    // given back included.
    ArchiveRunReport again = run_at(*store, at(2025, 6, 15));
    CHECK(query_int(db, "PRAGMA freelist_count") == 0);
    CHECK(rows(dir) == 200);
    for (const Snapshot& s : old) {
      CHECK_FALSE(file_exists(dir / ("snapshots/" + s.id + ".json")));
    }
    CHECK(read_lines(log).size() == 200);
    CHECK(archive_lines(dir / "snapshots/archive/2025-01.jsonl.zst").size() == 10);
    CHECK(archive_lines(dir / "snapshots/archive/2025-02.jsonl.zst").size() == 10);
    require_clean(*store);
  }
  std::string seen;
  for (const auto& [outcome, n] : outcomes) {
    seen += outcome + ": " + std::to_string(n) + "; ";
  }
  INFO(seen);
  CHECK(outcomes["failed, nothing moved"] > 0);
  CHECK(outcomes["cleanup unfinished"] > 0);
  CHECK(outcomes["whole"] > 0);
}

TEST_CASE("a later month that needs the operator stops the run after the months before it",
          "[archive]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  Snapshot jan = add_action(*store, at(2025, 1, 5));
  Snapshot feb = add_action(*store, at(2025, 2, 5));
  REQUIRE(::mkdir((dir / "snapshots/archive").c_str(), 0755) == 0);
  write_text(dir / "snapshots/archive/2025-02.jsonl.zst", "someone else's");
  ArchiveOptions o;
  o.now = at(2025, 6, 15);
  auto r = archiver_for(*store, o)->run();
  REQUIRE_OK(r.status());
  REQUIRE(r->months.size() == 1);
  CHECK(r->months[0].month == "2025-01");
  CHECK(r->unfinished.IsCorruption()); // not a full disk: another run would not pass
  CHECK(r->unfinished.message().find("could not archive 2025-02") != std::string::npos);
  CHECK_FALSE(store->get(jan.id).ok());
  CHECK(store->get(feb.id).ok());
  CHECK(read_text(dir / "snapshots/archive/2025-02.jsonl.zst") == "someone else's");
  // Once the file is moved away, the next run archives February.
  std::filesystem::remove(dir / "snapshots/archive/2025-02.jsonl.zst");
  ArchiveRunReport again = run_at(*store, at(2025, 6, 15));
  REQUIRE(again.months.size() == 1);
  CHECK(again.months[0].month == "2025-02");
  require_clean(*store);
}

TEST_CASE("a run with nothing due still gives back space an earlier run could not", "[archive]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  add_action(*store, at(2025, 1, 5));
  run_at(*store, at(2025, 6, 15)); // the store now gives space back incrementally
  // Free pages, as a run that could not give them back leaves them.
  const std::string db = dir / "snapshots/.barrot/barrot.db";
  exec_sql(db,
           "CREATE TABLE filler(x); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
           "FROM n WHERE i < 100) INSERT INTO filler SELECT randomblob(3000) FROM n; DROP TABLE "
           "filler");
  REQUIRE(query_int(db, "PRAGMA freelist_count") > 50);
  ArchiveRunReport r = run_at(*store, at(2025, 6, 15));
  CHECK(r.months.empty());
  CHECK(query_int(db, "PRAGMA freelist_count") == 0);
  CHECK(r.db_bytes_after < r.db_bytes_before);
}
